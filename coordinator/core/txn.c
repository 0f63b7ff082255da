/* txn.c — pure transition functions; see txn.h for the diagram. */
#include <assert.h>
#include <stddef.h>
#include <string.h>

#include "dtx/saga.h"
#include "dtx/types.h"
#include "txn.h"

int dtx_state_is_final(int state)
{
    return state == DTX_STATE_COMMITTED || state == DTX_STATE_ABORTED;
}

void dtx_txn_votes(const dtx_txn_t *txn, dtx_txn_votes_t *v)
{
    memset(v, 0, sizeof *v);
    for (int i = 0; i < txn->nbranches; i++) {
        const dtx_branch_t *br = txn->branches[i];
        if (br->unknown_vote)
            v->unknown++;
        else if (br->state == DTX_BRANCH_TRYING && txn->mode == DTX_MODE_TCC)
            v->trying++;
        else if (br->state == DTX_BRANCH_REFUSED)
            v->refused++;
        /* The pivot may be running, or is done while the Saga is still
         * active (FORWARD not yet recorded: a crash between the step's
         * write and the decision's, then a deadline at recovery): either
         * way nothing may abort it. */
        if (br->step && (br->step->flags & DTX_SAGA_STEP_PIVOT) &&
            ((br->state == DTX_BRANCH_TRYING && !br->never_sent) ||
             br->state == DTX_BRANCH_CONFIRMED))
            v->pivot_open++;
    }
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
        if (state == DTX_STATE_ACTIVE && votes && votes->pivot_open > 0)
            rc = DTX_EBUSY;
        else if (state == DTX_STATE_ACTIVE)
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
    case DTX_EV_PREPARE_LOST:
        if (state == DTX_STATE_ACTIVE && votes && votes->pivot_open > 0)
            out = state; /* the pivot may have run: only forward from here */
        else if (state == DTX_STATE_ACTIVE)
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
    case DTX_EV_FORWARD:
        if (state == DTX_STATE_ACTIVE)
            out = DTX_STATE_COMMITTING;
        else if (state == DTX_STATE_COMMITTING || state == DTX_STATE_COMMITTED ||
                 (state == DTX_STATE_STUCK && decision == DTX_STATE_COMMITTING))
            out = state;
        else
            rc = DTX_ESTATE;
        break;
    case DTX_EV_RESUME:
        /* ACTIVE: a message whose check-back spent its budget asks again. */
        if (state == DTX_STATE_STUCK &&
            (decision == DTX_STATE_COMMITTING || decision == DTX_STATE_ABORTING ||
             decision == DTX_STATE_ACTIVE))
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

int dtx_step_transition_ok(int from, int to)
{
    switch (from) {
    case DTX_BRANCH_TRYING:
        return to == DTX_BRANCH_CONFIRMED || to == DTX_BRANCH_REFUSED ||
               to == DTX_BRANCH_CANCELLED;
    case DTX_BRANCH_CONFIRMED:
    case DTX_BRANCH_REFUSED:
        return to == DTX_BRANCH_CANCELLED;
    default:
        return 0; /* cancelled is final; tried is not a step state */
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
    if (mode == DTX_MODE_SAGA)
        return commit ? DTX_OP_ACTION : DTX_OP_COMPENSATE;
    if (mode == DTX_MODE_MSG)
        return commit ? DTX_OP_DELIVER : DTX_OP_CANCEL; /* a message's cancel is never sent */
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
    if (op == DTX_OP_CONFIRM || op == DTX_OP_COMMIT || op == DTX_OP_ACTION || op == DTX_OP_DELIVER)
        return DTX_BRANCH_CONFIRMED;
    if (op == DTX_OP_CANCEL || op == DTX_OP_ABORT || op == DTX_OP_COMPENSATE)
        return DTX_BRANCH_CANCELLED;
    return 0;
}

/* --- the only writer of states --- */

static int s_is_decision(int s)
{
    return s == DTX_STATE_COMMITTING || s == DTX_STATE_ABORTING;
}

void dtx_txn_check(const dtx_txn_t *txn)
{
    (void)txn;
    assert(txn->state >= DTX_STATE_ACTIVE && txn->state <= DTX_STATE_STUCK);
    assert(txn->state != DTX_STATE_ACTIVE || txn->decision == 0);
    assert(!s_is_decision(txn->state) || txn->decision == txn->state);
    assert(txn->state != DTX_STATE_STUCK || s_is_decision(txn->decision) ||
           (txn->mode == DTX_MODE_MSG && txn->decision == DTX_STATE_ACTIVE));
    assert(!txn->preparing || ((txn->mode == DTX_MODE_2PC || txn->mode == DTX_MODE_TCC) &&
                               txn->state == DTX_STATE_ACTIVE));
}

void dtx_txn_start(dtx_txn_t *txn, int mode)
{
    txn->mode = mode;
    txn->state = DTX_STATE_ACTIVE;
    txn->decision = 0;
    txn->preparing = 0;
    dtx_txn_check(txn);
}

int dtx_txn_restore(dtx_txn_t *txn, int mode, int state, int decision, int preparing)
{
    if ((mode != DTX_MODE_TCC && mode != DTX_MODE_2PC && mode != DTX_MODE_SAGA &&
         mode != DTX_MODE_MSG) ||
        state < DTX_STATE_ACTIVE ||
        state > DTX_STATE_STUCK ||
        (decision != 0 && !s_is_decision(decision) &&
         !(mode == DTX_MODE_MSG && decision == DTX_STATE_ACTIVE)))
        return DTX_EPROTO;
    if (state == DTX_STATE_ACTIVE)
        decision = 0;
    else if (s_is_decision(state))
        decision = state;
    else if (state == DTX_STATE_STUCK && !s_is_decision(decision) &&
             !(mode == DTX_MODE_MSG && decision == DTX_STATE_ACTIVE))
        return DTX_EPROTO; /* resume would not know where to go */
    txn->mode = mode;
    txn->state = state;
    txn->decision = decision;
    txn->preparing = preparing && (mode == DTX_MODE_2PC || mode == DTX_MODE_TCC) &&
                     state == DTX_STATE_ACTIVE;
    dtx_txn_check(txn);
    return 0;
}

int dtx_txn_can_enter(const dtx_txn_t *txn, int next)
{
    if (next == txn->state)
        return 1;
    switch (txn->state) {
    case DTX_STATE_ACTIVE:
        return s_is_decision(next);
    case DTX_STATE_COMMITTING:
        return next == DTX_STATE_COMMITTED || next == DTX_STATE_STUCK;
    case DTX_STATE_ABORTING:
        return next == DTX_STATE_ABORTED || next == DTX_STATE_STUCK;
    case DTX_STATE_STUCK:
        /* resume goes back to the decision; or every branch got done */
        if (txn->decision == DTX_STATE_ACTIVE)
            return next == DTX_STATE_ACTIVE; /* a message asks its check-back again */
        return next == txn->decision ||
               next == (txn->decision == DTX_STATE_COMMITTING ? DTX_STATE_COMMITTED
                                                              : DTX_STATE_ABORTED);
    default:
        return 0; /* committed and aborted are final */
    }
}

void dtx_txn_enter(dtx_txn_t *txn, int next)
{
    assert(!txn->dead);
    assert(dtx_txn_can_enter(txn, next));
    if (s_is_decision(next)) {
        txn->decision = next;
        txn->preparing = 0;
    } else if (next == DTX_STATE_ACTIVE) {
        txn->decision = 0; /* a message resumed to ask its check-back again */
    }
    txn->state = next;
    dtx_txn_check(txn);
}

void dtx_txn_set_preparing(dtx_txn_t *txn, int on)
{
    assert(!on || ((txn->mode == DTX_MODE_2PC || txn->mode == DTX_MODE_TCC) &&
                   txn->state == DTX_STATE_ACTIVE));
    txn->preparing = on;
    dtx_txn_check(txn);
}

void dtx_branch_start(dtx_branch_t *br)
{
    br->state = DTX_BRANCH_TRYING;
}

int dtx_branch_restore(dtx_branch_t *br, int state)
{
    if (state < DTX_BRANCH_TRYING || state > DTX_BRANCH_CANCELLED ||
        (br->step && state == DTX_BRANCH_TRIED))
        return DTX_EPROTO;
    br->state = state;
    return 0;
}

void dtx_branch_enter(dtx_branch_t *br, int next)
{
    assert(next == br->state || (br->step ? dtx_step_transition_ok(br->state, next)
                                          : dtx_branch_transition_ok(br->state, next)));
    assert(next != DTX_BRANCH_CONFIRMED || !br->unknown_vote);
    br->state = next;
}
