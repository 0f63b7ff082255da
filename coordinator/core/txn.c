/* txn.c — pure transition functions; see txn.h for the diagram. */
#include <stddef.h>

#include "dtx/types.h"
#include "txn.h"

int dtx_state_is_final(int state)
{
    return state == DTX_STATE_COMMITTED || state == DTX_STATE_ABORTED;
}

static int s_commit(int state, const dtx_txn_votes_t *votes, int *next)
{
    switch (state) {
    case DTX_STATE_ACTIVE:
        if (votes && votes->trying > 0)
            return DTX_EBUSY;
        /* A no vote, or a vote lost in a crash, can only end in abort. */
        *next = (votes && (votes->refused > 0 || votes->unknown > 0)) ? DTX_STATE_ABORTING
                                                                    : DTX_STATE_COMMITTING;
        return 0;
    case DTX_STATE_COMMITTING:
    case DTX_STATE_COMMITTED:
        *next = state;
        return 0;
    case DTX_STATE_ABORTING:
    case DTX_STATE_ABORTED:
        return DTX_EABORTED;
    default:
        return DTX_ESTATE;
    }
}

int dtx_txn_next(int state, dtx_txn_event_t ev, const dtx_txn_votes_t *votes, int decision,
                 int *next)
{
    int out = state;
    int rc = 0;
    switch (ev) {
    case DTX_EV_COMMIT:
        rc = s_commit(state, votes, &out);
        break;
    case DTX_EV_ROLLBACK:
        if (state == DTX_STATE_ACTIVE)
            out = DTX_STATE_ABORTING;
        else if (state == DTX_STATE_ABORTING || state == DTX_STATE_ABORTED)
            out = state;
        else if (state == DTX_STATE_STUCK && decision == DTX_STATE_ABORTING)
            out = state;
        else
            rc = DTX_ESTATE;
        break;
    case DTX_EV_TRY_REFUSED:
    case DTX_EV_DEADLINE:
        if (state == DTX_STATE_ACTIVE)
            out = DTX_STATE_ABORTING;
        else if (state == DTX_STATE_ABORTING || state == DTX_STATE_ABORTED)
            out = state;
        else
            rc = DTX_ESTATE;
        break;
    case DTX_EV_ALL_DONE:
        if (state == DTX_STATE_COMMITTING)
            out = DTX_STATE_COMMITTED;
        else if (state == DTX_STATE_ABORTING)
            out = DTX_STATE_ABORTED;
        else if (state == DTX_STATE_STUCK && decision == DTX_STATE_COMMITTING)
            out = DTX_STATE_COMMITTED;
        else if (state == DTX_STATE_STUCK && decision == DTX_STATE_ABORTING)
            out = DTX_STATE_ABORTED;
        else
            rc = DTX_ESTATE;
        break;
    case DTX_EV_BUDGET_SPENT:
        if (state == DTX_STATE_COMMITTING || state == DTX_STATE_ABORTING || state == DTX_STATE_STUCK)
            out = DTX_STATE_STUCK;
        else
            rc = DTX_ESTATE;
        break;
    case DTX_EV_RESUME:
        if (state == DTX_STATE_STUCK &&
            (decision == DTX_STATE_COMMITTING || decision == DTX_STATE_ABORTING))
            out = decision;
        else
            rc = DTX_ESTATE;
        break;
    default:
        rc = DTX_EINVAL;
    }
    if (rc == 0 && next)
        *next = out;
    return rc;
}

int dtx_branch_transition_ok(int from, int to)
{
    switch (from) {
    case DTX_BRANCH_TRYING:
        return to == DTX_BRANCH_TRIED || to == DTX_BRANCH_REFUSED || to == DTX_BRANCH_CANCELLED;
    case DTX_BRANCH_TRIED:
        return to == DTX_BRANCH_CONFIRMED || to == DTX_BRANCH_CANCELLED;
    case DTX_BRANCH_REFUSED:
        return to == DTX_BRANCH_CANCELLED;
    default:
        return 0; /* confirmed and cancelled are final */
    }
}

const char *dtx_branch_state_name(int state)
{
    static const char *const names[] = { "unknown", "trying", "tried", "refused", "confirmed",
                                         "cancelled" };
    return (state >= 1 && state <= 5) ? names[state] : names[0];
}

int dtx_op_for_decision(int mode, int state)
{
    int commit = state == DTX_STATE_COMMITTING;
    if (mode == DTX_MODE_2PC)
        return commit ? DTX_OP_COMMIT : DTX_OP_ABORT;
    return commit ? DTX_OP_CONFIRM : DTX_OP_CANCEL;
}

int dtx_op_is_vote(int op)
{
    return op == DTX_OP_TRY || op == DTX_OP_PREPARE;
}

int dtx_op_done_state(int op)
{
    if (op == DTX_OP_CONFIRM || op == DTX_OP_COMMIT)
        return DTX_BRANCH_CONFIRMED;
    if (op == DTX_OP_CANCEL || op == DTX_OP_ABORT)
        return DTX_BRANCH_CANCELLED;
    return 0;
}
