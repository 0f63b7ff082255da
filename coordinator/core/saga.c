/* saga.c — a Saga's next moves, pure; see saga.h and txn.h. */
#include "saga.h"
#include "txntable.h"

int dtx_saga_deps_done(const dtx_txn_t *txn, const dtx_branch_t *br)
{
    for (int i = 0; i < br->step->nafter; i++) {
        const dtx_branch_t *dep = dtx_txn_branch((dtx_txn_t *)txn, br->step->after[i]);
        if (!dep || dep->state != DTX_BRANCH_CONFIRMED)
            return 0;
    }
    return 1;
}

int dtx_saga_dependents_undone(const dtx_txn_t *txn, const dtx_branch_t *br)
{
    for (int i = 0; i < txn->nbranches; i++) {
        const dtx_branch_t *o = txn->branches[i];
        if (o == br || !o->step || o->state == DTX_BRANCH_CANCELLED)
            continue;
        for (int k = 0; k < o->step->nafter; k++)
            if (o->step->after[k] == br->no)
                return 0;
    }
    return 1;
}

int dtx_saga_may_have_run(const dtx_branch_t *br)
{
    return br->state != DTX_BRANCH_TRYING || !br->never_sent;
}

int dtx_saga_all_in(const dtx_txn_t *txn, int state)
{
    for (int i = 0; i < txn->nbranches; i++)
        if (txn->branches[i]->state != state)
            return 0;
    return 1;
}

void dtx_saga_mark_loaded(dtx_txn_t *txn)
{
    for (int i = 0; i < txn->nbranches; i++) {
        dtx_branch_t *br = txn->branches[i];
        br->never_sent = br->state == DTX_BRANCH_TRYING && !dtx_saga_deps_done(txn, br);
    }
}
