/*
 * driver_saga.c — driving a Saga (core/txn.h has its states, core/saga.h
 * what may run next): the same calls as every branch's (driver.c), with
 * its own ops. While ACTIVE and COMMITTING the ACTION of every step whose
 * dependencies are done; an action's OK is recorded (step CONFIRMED)
 * before any step that waits for it is sent; a refusal while ACTIVE is
 * recorded with the abort decision; a failure or timeout is retried with
 * backoff (driver.c's budget rules). While ABORTING, the COMPENSATE of
 * every step that ran or may have run, each once every step after it is
 * compensated; a step whose action never left is recorded compensated
 * without a call. driver.c reaches it through the hooks saga_drive and
 * saga_reply (coord.h), registered by dtx_driver_saga_init.
 */
#include <stdio.h>
#include <string.h>

#include "core/fault.h"
#include "core/saga.h"
#include "core/txn.h"
#include "coord.h"
#include "dtx/clock.h"
#include "dtx/log.h"
#include "driver.h"
#include "driver_internal.h"
#include "log/sql.h"
#include "outbox.h"
#include "wctx.h"
#include "driver_finish.h"

static void s_saga_drive(dtx_coord_t *co, dtx_txn_t *txn);

static void s_on_step_set(void *p, int rc, const PGresult *res)
{
    dtx_wctx_t w;
    if (!dtx_wctx_take(p, &w))
        return;
    dtx_coord_t *co = w.co;
    dtx_txn_t *txn = w.txn;
    dtx_branch_t *br = dtx_txn_branch(txn, w.branch);
    if (!br)
        return;
    br->writing = 0;
    if (rc != 0 || dtx_driver_no_rows(res)) {
        co->hooks.forget(co, txn, "a saga step write failed or matched nothing");
        return;
    }
    dtx_branch_enter(br, w.arg);
    dtx_log_debug("saga step", "gid=%s step=%u state=%s", txn->gid, br->no,
                  dtx_branch_state_name(br->state));
    if (w.arg == DTX_BRANCH_CONFIRMED)
        dtx_fault_point("after-step-done");
    else if (w.arg == DTX_BRANCH_CANCELLED)
        dtx_fault_point("after-step-compensated");
    s_saga_drive(co, txn);
}

/* Records br moving to state `to` (from the state memory holds now); a
 * refusal (TRYING -> REFUSED) as a vote, with its reason. */
static void s_step_write(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br, int to)
{
    dtx_wctx_t *w = dtx_wctx_get(co, txn);
    if (!w) {
        dtx_outbox_drop(co, txn, 0, NULL);
        return;
    }
    w->branch = br->no;
    w->arg = to;
    br->writing = 1;
    br->due_ms = 0;
    char no[16], st[4], att[16], from[4];
    snprintf(no, sizeof no, "%u", br->no);
    snprintf(st, sizeof st, "%d", to);
    if (to == DTX_BRANCH_REFUSED) {
        const char *vals[7] = { txn->gid, no, st, br->last_error, co->cfg.node_id,
                                co->epoch_str, txn->gen };
        dtx_store_submit(co->store, txn->shard, DTX_SQL_BRANCH_VOTE, 7, vals, NULL, NULL,
                         s_on_step_set, w);
        return;
    }
    /* The count of the op now due: a done action leaves its compensation
     * a whole budget. */
    snprintf(att, sizeof att, "%u", to == DTX_BRANCH_CONFIRMED ? 0u : br->attempt);
    snprintf(from, sizeof from, "%d", br->state);
    const char *vals[8] = { txn->gid, no, st, att, co->cfg.node_id, co->epoch_str, txn->gen,
                            from };
    dtx_store_submit(co->store, txn->shard, DTX_SQL_STEP_SET, 8, vals, NULL, NULL,
                     s_on_step_set, w);
}

/* A step's op changes: the old one's calls no longer count. */
static void s_step_switch(dtx_coord_t *co, dtx_branch_t *br, int op)
{
    if (br->op == op)
        return;
    dtx_driver_call_done(co, br, op);
}

/* ACTIVE and COMMITTING: send the action of every step that may run now. */
static void s_saga_forward(dtx_coord_t *co, dtx_txn_t *txn, int64_t now)
{
    for (int i = 0; i < txn->nbranches && !txn->dead; i++) {
        dtx_branch_t *br = txn->branches[i];
        if (br->state != DTX_BRANCH_TRYING || br->writing)
            continue;
        s_step_switch(co, br, DTX_OP_ACTION);
        if (br->inflight || br->due_ms > 0 || !dtx_saga_deps_done(txn, br))
            continue;
        dtx_driver_send_phase(co, txn, br, now);
    }
}

/* ABORTING: compensate, last steps first. */
static void s_saga_backward(dtx_coord_t *co, dtx_txn_t *txn, int64_t now)
{
    for (int i = txn->nbranches - 1; i >= 0 && !txn->dead; i--) {
        dtx_branch_t *br = txn->branches[i];
        if (br->state == DTX_BRANCH_CANCELLED || br->writing)
            continue;
        s_step_switch(co, br, DTX_OP_COMPENSATE);
        if (br->inflight || br->due_ms > 0 || !dtx_saga_dependents_undone(txn, br))
            continue;
        if (!dtx_saga_may_have_run(br) || !br->step->undo[0]) {
            /* Its action never left (or it is a pivot that never ran, or
             * was refused): nothing to undo. */
            if (br->state == DTX_BRANCH_CONFIRMED)
                dtx_log_error("a done pivot in an aborting saga: not undone", "gid=%s step=%u",
                              txn->gid, br->no);
            s_step_write(co, txn, br, DTX_BRANCH_CANCELLED);
            continue;
        }
        dtx_driver_send_phase(co, txn, br, now);
    }
}

static void s_saga_drive(dtx_coord_t *co, dtx_txn_t *txn)
{
    if (txn->dead || txn->loading || txn->writing || txn->finishing || !txn->owned)
        return;
    int64_t now = dtx_clock_mono_ms();
    switch (txn->state) {
    case DTX_STATE_ACTIVE:
        for (int i = 0; i < txn->nbranches; i++) {
            const dtx_branch_t *br = txn->branches[i];
            if ((br->step->flags & DTX_SAGA_STEP_PIVOT) && br->state == DTX_BRANCH_CONFIRMED) {
                dtx_driver_raise(co, txn, DTX_EV_FORWARD, "the pivot step is done");
                return;
            }
        }
        if (dtx_saga_all_in(txn, DTX_BRANCH_CONFIRMED)) {
            dtx_driver_raise(co, txn, DTX_EV_FORWARD, "every step is done");
            return;
        }
        s_saga_forward(co, txn, now);
        break;
    case DTX_STATE_COMMITTING:
        s_saga_forward(co, txn, now);
        break;
    case DTX_STATE_ABORTING:
        s_saga_backward(co, txn, now);
        break;
    default:
        return;
    }
    if (!txn->dead) {
        dtx_driver_check_done(co, txn);
        dtx_driver_reschedule(co, txn);
    }
}

/* A reply that counts, to a Saga step's call. */
static void s_saga_reply(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br, const dtx_msg_t *msg,
                         int64_t now)
{
    if (msg->outcome == DTX_OUTCOME_REFUSED && msg->op == DTX_OP_ACTION &&
        txn->state == DTX_STATE_ACTIVE) {
        /* A definitive no: recorded with the abort decision (same batch). */
        dtx_driver_call_done(co, br, 0);
        snprintf(br->last_error, sizeof br->last_error, "participant refused action %s",
                 br->action);
        dtx_log_info("saga step refused", "gid=%s step=%u resource=%s trace=%.32s", txn->gid,
                     br->no, br->resource, DTX_TXN_TRACE(txn));
        s_step_write(co, txn, br, DTX_BRANCH_REFUSED);
        if (txn->dead)
            return;
        dtx_branch_enter(br, DTX_BRANCH_REFUSED); /* the pivot is no longer open */
        dtx_driver_raise(co, txn, DTX_EV_TRY_REFUSED, "a saga step was refused");
        return;
    }
    if (msg->outcome != DTX_OUTCOME_OK) {
        char why[128];
        snprintf(why, sizeof why, "participant %s %s",
                 msg->outcome == DTX_OUTCOME_REFUSED ? "refused" : "failed", dtx_op_name(msg->op));
        dtx_driver_phase_failed(co, txn, br, now, why);
        if (!txn->dead)
            dtx_driver_reschedule(co, txn);
        return;
    }
    dtx_driver_call_done(co, br, 0);
    if (msg->op == DTX_OP_ACTION && br->state == DTX_BRANCH_TRYING)
        s_step_write(co, txn, br, DTX_BRANCH_CONFIRMED);
    else if (msg->op == DTX_OP_COMPENSATE && br->state != DTX_BRANCH_CANCELLED)
        s_step_write(co, txn, br, DTX_BRANCH_CANCELLED);
    if (!txn->dead)
        dtx_driver_reschedule(co, txn);
}

void dtx_driver_saga_init(dtx_coord_t *co)
{
    co->hooks.saga_drive = s_saga_drive;
    co->hooks.saga_reply = s_saga_reply;
}
