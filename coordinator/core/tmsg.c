/* tmsg.c — a transactional message's pure questions; see tmsg.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/name.h"
#include "dtx/types.h"
#include "tmsg.h"

int dtx_tmsg_answer(int outcome)
{
    if (outcome == DTX_OUTCOME_OK)
        return DTX_STATE_COMMITTING;
    if (outcome == DTX_OUTCOME_REFUSED)
        return DTX_STATE_ABORTING;
    return 0;
}

int dtx_tmsg_checkback_due(const dtx_txn_t *txn, int64_t now_ms)
{
    return txn->mode == DTX_MODE_MSG && txn->state == DTX_STATE_ACTIVE && txn->owned &&
           !txn->dead && !txn->loading && !txn->writing && txn->checkback &&
           now_ms >= txn->deadline_mono;
}

int dtx_tmsg_attach(dtx_txn_t *txn, const char *resource)
{
    if (!dtx_name_valid(resource))
        return DTX_EPROTO;
    if (!txn->checkback && !(txn->checkback = calloc(1, sizeof *txn->checkback)))
        return DTX_ENOMEM;
    dtx_branch_t *cb = txn->checkback;
    dtx_branch_start(cb); /* TRYING for good: the transaction's state tells the answer */
    cb->no = 0;
    cb->op = DTX_OP_QUERY_PREPARED;
    cb->never_sent = 1;
    snprintf(cb->resource, sizeof cb->resource, "%s", resource);
    strcpy(cb->action, "query_prepared");
    return 0;
}

int64_t dtx_tmsg_due(const dtx_txn_t *txn, int64_t due)
{
    const dtx_branch_t *cb = txn->checkback;
    if (!cb || txn->state != DTX_STATE_ACTIVE || txn->writing || txn->loading || cb->due_ms <= 0)
        return due;
    return due == 0 || cb->due_ms < due ? cb->due_ms : due;
}
