/*
 * driver.c — decisions and phase driving.
 *
 * Lifecycle of one branch call (Try, Confirm or Cancel):
 *   1. pick a live instance of the branch's resource (none: wait — Try up
 *      to its timeout, Confirm/Cancel with backoff; a REGISTER of that
 *      resource wakes the branch at once);
 *   2. send PHASE(gid, branch, op, attempt) with ZMQ_ROUTER_MANDATORY: an
 *      unknown or vanished peer is an immediate failure, never a silent
 *      drop; a full queue (high-water mark) is a failure too;
 *   3. wait for PHASE_REPLY matching (gid, branch, op, attempt) up to the
 *      timeout; a reply that does not match what the branch waits for now
 *      is ignored, so a late or duplicated reply never changes another
 *      transaction or a newer attempt. (An OK of an older Confirm/Cancel
 *      attempt is accepted: the participant did apply it, and those
 *      operations are idempotent.);
 *   4. record the outcome in the log, then act on it.
 * Failures of Try are a no vote; failures of Confirm/Cancel are retried
 * with exponential backoff and jitter, each attempt recorded.
 *
 * The decision is written (DTX_SQL_DECIDE) before any Confirm/Cancel is
 * sent and before anyone is told; the final state is written once every
 * branch has acknowledged, and then the transaction leaves memory.
 *
 * A Saga (core/txn.h has its states, core/saga.h what may run next) is
 * driven by the same calls with its own ops: while ACTIVE and COMMITTING
 * the ACTION of every step whose dependencies are done; an action's OK is
 * recorded (step CONFIRMED) before any step that waits for it is sent; a
 * refusal while ACTIVE is recorded with the abort decision; a failure or
 * timeout is retried with backoff, and past the retry budget aborts while
 * ACTIVE (never the pivot's: it is retried until it answers) and goes
 * STUCK once forward-only. While ABORTING, the COMPENSATE of every step
 * that ran or may have run, each once every step after it is compensated;
 * a step whose action never left is recorded compensated without a call.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/backoff.h"
#include "coord.h"
#include "dtx/clock.h"
#include "dtx/id.h"
#include "dtx/log.h"
#include "core/fault.h"
#include "core/saga.h"
#include "core/txn.h"
#include "driver.h"
#include "outbox.h"
#include "log/sql.h"
#include "core/txntable.h"
#include "wctx.h"

#define S_NO_INSTANCE_POLL_MS 200

static void s_check_done(dtx_coord_t *co, dtx_txn_t *txn);
static void s_branch_acked(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br);
static void s_send_phase(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br, int64_t now);
static void s_prepared_check(dtx_coord_t *co, dtx_txn_t *txn);
static void s_saga_drive(dtx_coord_t *co, dtx_txn_t *txn);

/* A write that matched no row: the copy in memory is stale or fenced off.
 * (A write that ran in a set statement answers with its rows.) */
static int s_no_rows(const PGresult *res)
{
    if (PQresultStatus(res) == PGRES_TUPLES_OK)
        return PQntuples(res) == 0;
    const char *n = PQcmdTuples((PGresult *)res);
    return n[0] == '0' && n[1] == '\0';
}

static void s_instance_done(dtx_coord_t *co, dtx_branch_t *br)
{
    if (!br->inst_serial)
        return;
    dtx_instance_t *in = dtx_registry_find_serial(co->registry, br->inst_serial);
    if (in && in->inflight > 0)
        in->inflight--;
    br->inst_serial = 0;
}

/* A new op starts on br: replies to the old one's sends no longer count. */
static void s_new_op(dtx_branch_t *br, int op)
{
    br->op = op;
    br->attempt = 0;
    memset(br->sent, 0, sizeof br->sent);
}

void dtx_driver_reschedule(dtx_coord_t *co, dtx_txn_t *txn)
{
    if (txn->dead)
        return;
    int64_t due = 0;
    /* While a decision write is in flight the deadline has nothing to do;
     * nor once a Saga passed it still active (its pivot may be running:
     * the pivot's answer moves it, not the clock). */
    if (txn->state == DTX_STATE_ACTIVE && !txn->loading && !txn->writing &&
        !(txn->mode == DTX_MODE_SAGA && dtx_clock_mono_ms() > txn->deadline_mono))
        due = txn->deadline_mono;
    for (int i = 0; i < txn->nbranches; i++) {
        int64_t d = txn->branches[i]->due_ms;
        if (d > 0 && (due == 0 || d < due))
            due = d;
    }
    dtx_timer_set(co->txns, txn, due);
}

static int s_is_final_branch(const dtx_branch_t *br)
{
    return br->state == DTX_BRANCH_CONFIRMED || br->state == DTX_BRANCH_CANCELLED;
}

/* --- simple callbacks --- */

static void s_on_fire_and_forget(void *p, int rc, const PGresult *res)
{
    dtx_wctx_t *w = p;
    (void)res;
    (void)rc; /* bookkeeping only (attempts, last error): losing it is harmless */
    dtx_wctx_put(w);
}

static void s_record_attempt(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br)
{
    dtx_wctx_t *w = dtx_wctx_get(co, txn);
    if (!w)
        return;
    char no[16], att[16];
    snprintf(no, sizeof no, "%u", br->no);
    snprintf(att, sizeof att, "%u", br->attempt);
    const char *vals[7] = { txn->gid, no, att, br->last_error,
                            co->cfg.node_id, co->epoch_str, txn->gen };
    dtx_store_submit(co->store, txn->shard, DTX_SQL_BRANCH_ATTEMPT, 7, vals, NULL, NULL,
                     s_on_fire_and_forget, w);
}

/* --- decision --- */

static void s_on_decide(void *p, int rc, const PGresult *res)
{
    dtx_wctx_t w;
    if (!dtx_wctx_take(p, &w))
        return;
    dtx_coord_t *co = w.co;
    dtx_txn_t *txn = w.txn;
    int decision = w.arg;
    txn->writing = 0;
    if (rc != 0) {
        co->hooks.forget(co, txn, "the decision write failed");
        return;
    }
    if (PQntuples(res) != 1) {
        /* Stale copy (another coordinator moved it on): read the log again
         * and answer from there. */
        co->hooks.forget(co, txn, "the log changed under this coordinator");
        return;
    }
    dtx_txn_enter(txn, decision);
    if (txn->mode == DTX_MODE_2PC && decision == DTX_STATE_COMMITTING)
        for (int i = 0; i < txn->nbranches; i++)
            if (txn->branches[i]->state == DTX_BRANCH_TRYING)
                dtx_branch_enter(txn->branches[i], DTX_BRANCH_TRIED); /* prepared */
    dtx_fault_point("after-decision-write");
    dtx_log_info(decision == DTX_STATE_COMMITTING ? "decided commit" : "decided abort",
                 "gid=%s branches=%d", txn->gid, txn->nbranches);
    if (txn->has_decision_waiter) {
        txn->has_decision_waiter = 0;
        dtx_outbox_state(co, &txn->decision_waiter, txn);
    }
    for (int i = 0; i < txn->nbranches; i++) {
        dtx_branch_t *br = txn->branches[i];
        if (!br->has_waiter)
            continue;
        br->has_waiter = 0;
        if (br->state == DTX_BRANCH_REFUSED && br->never_sent) {
            /* Nobody was there to ask: the initiator hears why (ERROR 9),
             * and that the transaction was decided abort. */
            dtx_outbox_error(co, &br->waiter, DTX_ENOPARTICIPANT,
                             "%s within the try timeout; transaction %s was decided abort",
                             br->last_error, txn->gid);
        } else if (br->state == DTX_BRANCH_REFUSED) {
            dtx_outbox_try_ok(co, &br->waiter, txn, br, DTX_OUTCOME_REFUSED);
        } else {
            dtx_outbox_error(co, &br->waiter, DTX_ESTATE,
                             "transaction %s was decided abort while branch %u was trying",
                             txn->gid, br->no);
        }
    }
    dtx_fault_point("after-decision-reply");
    dtx_driver_drive(co, txn);
    co->hooks.replay_parked(co, txn);
}

void dtx_driver_raise(dtx_coord_t *co, dtx_txn_t *txn, dtx_txn_event_t ev, const char *reason)
{
    dtx_txn_votes_t votes;
    dtx_txn_votes(txn, &votes);
    int next = 0;
    if (dtx_txn_next(txn->state, ev, &votes, txn->decision, &next) != 0 || next == txn->state)
        return;
    dtx_driver_decide(co, txn, next, reason);
}

/* A transaction decided before its first branch has no row yet: it goes
 * in the decision's batch, ahead of it (both commit, or neither). */
static void s_log_begun(dtx_coord_t *co, dtx_txn_t *txn)
{
    dtx_wctx_t *w = dtx_wctx_get(co, txn);
    if (!w)
        return; /* the decision then matches no row: the transaction is forgotten */
    txn->unlogged = 0;
    char mode[4], deadline[24];
    snprintf(mode, sizeof mode, "%d", txn->mode);
    snprintf(deadline, sizeof deadline, "%lld", (long long)txn->deadline_wall);
    const char *vals[7] = { txn->gid,      mode,           deadline,        co->cfg.node_id,
                            co->epoch_str, txn->initiator, txn->traceparent };
    dtx_store_submit(co->store, txn->shard, DTX_SQL_BEGIN, 7, vals, NULL, NULL,
                     s_on_fire_and_forget, w);
}

void dtx_driver_decide(dtx_coord_t *co, dtx_txn_t *txn, int decision, const char *reason)
{
    if (txn->writing || txn->state != DTX_STATE_ACTIVE)
        return;
    assert(dtx_txn_can_enter(txn, decision));
    dtx_wctx_t *w = dtx_wctx_get(co, txn);
    if (!w) {
        dtx_outbox_drop(co, txn, DTX_ENOMEM, "out of memory");
        return;
    }
    dtx_log_debug("deciding", "gid=%s decision=%s reason=\"%s\"", txn->gid,
                  dtx_state_name(decision), DTX_Q(reason));
    txn->writing = 1;
    w->arg = decision;
    char st[4], from[4];
    snprintf(st, sizeof st, "%d", decision);
    snprintf(from, sizeof from, "%d", DTX_STATE_ACTIVE);
    int mark = txn->mode == DTX_MODE_2PC && decision == DTX_STATE_COMMITTING;
    char nb[16];
    snprintf(nb, sizeof nb, "%d", txn->nbranches);
    const char *vals[8] = { txn->gid, st, from, co->cfg.node_id, co->epoch_str,
                            mark ? "true" : "false", txn->gen, nb };
    if (txn->unlogged)
        s_log_begun(co, txn);
    dtx_store_submit(co->store, txn->shard, DTX_SQL_DECIDE, 8, vals, NULL, NULL, s_on_decide, w);
}

/* --- driving --- */

void dtx_driver_drive(dtx_coord_t *co, dtx_txn_t *txn)
{
    if (!txn->dead && txn->mode == DTX_MODE_SAGA) {
        s_saga_drive(co, txn);
        return;
    }
    if (txn->dead || (txn->state != DTX_STATE_COMMITTING && txn->state != DTX_STATE_ABORTING))
        return;
    int op = dtx_op_for_decision(txn->mode, txn->state);
    int64_t now = dtx_clock_mono_ms();
    for (int i = 0; i < txn->nbranches && !txn->dead; i++) {
        dtx_branch_t *br = txn->branches[i];
        if (s_is_final_branch(br) || br->writing)
            continue;
        if (br->op != op) {
            /* A Try still in flight is abandoned: its reply will not match. */
            if (br->inflight)
                s_instance_done(co, br);
            s_new_op(br, op);
            br->inflight = 0;
            br->first_wait_ms = 0;
        }
        if (dtx_op_done_state(op) == DTX_BRANCH_CANCELLED && br->never_sent &&
            br->state != DTX_BRANCH_TRIED) {
            /* Its Try/Prepare never left this process: nothing to undo. */
            s_branch_acked(co, txn, br);
            continue;
        }
        if (!br->inflight)
            s_send_phase(co, txn, br, now);
    }
    if (!txn->dead) {
        s_check_done(co, txn);
        dtx_driver_reschedule(co, txn);
    }
}

void dtx_driver_start_try(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br)
{
    s_new_op(br, DTX_OP_TRY);
    s_send_phase(co, txn, br, dtx_clock_mono_ms());
    dtx_driver_reschedule(co, txn);
}

/* --- 2PC prepare phase --- */

void dtx_driver_start_prepare(dtx_coord_t *co, dtx_txn_t *txn)
{
    dtx_wctx_t *w = dtx_wctx_get(co, txn);
    if (!w) {
        dtx_outbox_drop(co, txn, DTX_ENOMEM, "out of memory");
        return;
    }
    /* The marker lets recovery abort at once if this coordinator dies now;
     * the Prepares need not wait for it (without it, the deadline still
     * ends the transaction), so both leave in this same turn. */
    const char *vals[4] = { txn->gid, co->cfg.node_id, co->epoch_str, txn->gen };
    dtx_store_submit(co->store, txn->shard, DTX_SQL_PREPARING, 4, vals, NULL, NULL,
                     s_on_fire_and_forget, w);
    dtx_txn_set_preparing(txn, 1);
    int64_t now = dtx_clock_mono_ms();
    for (int i = 0; i < txn->nbranches && !txn->dead && txn->preparing; i++) {
        dtx_branch_t *br = txn->branches[i];
        s_new_op(br, DTX_OP_PREPARE);
        br->first_wait_ms = 0;
        s_send_phase(co, txn, br, now);
    }
    if (!txn->dead) {
        s_prepared_check(co, txn);
        dtx_driver_reschedule(co, txn);
    }
}

/* Every branch voted yes: decide commit. */
static void s_prepared_check(dtx_coord_t *co, dtx_txn_t *txn)
{
    if (!txn->preparing || txn->writing || txn->state != DTX_STATE_ACTIVE)
        return;
    for (int i = 0; i < txn->nbranches; i++)
        if (txn->branches[i]->state != DTX_BRANCH_TRIED)
            return;
    dtx_driver_raise(co, txn, DTX_EV_COMMIT, "every branch prepared"); /* no vote missing */
}

/* --- Try votes --- */

static void s_on_vote(void *p, int rc, const PGresult *res)
{
    dtx_wctx_t w;
    if (!dtx_wctx_take(p, &w))
        return;
    dtx_coord_t *co = w.co;
    dtx_txn_t *txn = w.txn;
    int vote = w.arg;
    dtx_branch_t *br = dtx_txn_branch(txn, w.branch);
    if (br)
        br->writing = 0;
    if (rc != 0) {
        co->hooks.forget(co, txn, "could not record the vote");
        return;
    }
    if (s_no_rows(res)) {
        co->hooks.forget(co, txn, "another coordinator took the transaction over");
        return;
    }
    dtx_fault_point("after-vote-write");
    if (!br)
        return;
    if (vote == DTX_BRANCH_TRIED && br->state == DTX_BRANCH_TRYING)
        dtx_branch_enter(br, DTX_BRANCH_TRIED);
    if (txn->state != DTX_STATE_ACTIVE) {
        /* Decided abort meanwhile: the decision answered the waiter; cancel. */
        dtx_driver_drive(co, txn);
        return;
    }
    if (vote != DTX_BRANCH_TRIED || !br->has_waiter)
        return; /* a no vote is answered by the abort decision */
    br->has_waiter = 0;
    dtx_outbox_try_ok(co, &br->waiter, txn, br, DTX_OUTCOME_OK);
}

static void s_submit_vote(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br, int vote)
{
    dtx_wctx_t *w = dtx_wctx_get(co, txn);
    if (!w) {
        dtx_outbox_drop(co, txn, DTX_ENOMEM, "out of memory");
        return;
    }
    w->branch = br->no;
    w->arg = vote;
    br->writing = 1;
    char no[16], st[4];
    snprintf(no, sizeof no, "%u", br->no);
    snprintf(st, sizeof st, "%d", vote);
    const char *vals[7] = { txn->gid, no, st, vote == DTX_BRANCH_REFUSED ? br->last_error : NULL,
                            co->cfg.node_id, co->epoch_str, txn->gen };
    dtx_store_submit(co->store, txn->shard, DTX_SQL_BRANCH_VOTE, 7, vals, NULL, NULL, s_on_vote,
                     w);
}

static void s_try_refused(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br, const char *why)
{
    snprintf(br->last_error, sizeof br->last_error, "%s", why);
    dtx_log_info("try refused", "gid=%s branch=%u resource=%s trace=%.32s reason=\"%s\"",
                 txn->gid, br->no, br->resource, DTX_TXN_TRACE(txn), DTX_Q(why));
    dtx_branch_enter(br, DTX_BRANCH_REFUSED);
    br->due_ms = 0;
    s_submit_vote(co, txn, br, DTX_BRANCH_REFUSED);
    if (txn->dead)
        return;
    /* Same batch as the vote: both durable, or neither. */
    dtx_driver_raise(co, txn, DTX_EV_TRY_REFUSED, "try refused");
}

/* --- Confirm / Cancel acknowledgements --- */

static void s_on_branch_done(void *p, int rc, const PGresult *res)
{
    dtx_wctx_t w;
    if (!dtx_wctx_take(p, &w))
        return;
    dtx_coord_t *co = w.co;
    dtx_txn_t *txn = w.txn;
    int state = w.arg;
    dtx_branch_t *br = dtx_txn_branch(txn, w.branch);
    if (!br)
        return;
    br->writing = 0;
    if (rc != 0 || s_no_rows(res)) {
        /* Unknown outcome, or no longer ours: forget the in-memory copy;
         * whoever owns it re-drives it from the log. */
        co->hooks.forget(co, txn, "a branch write failed or matched nothing");
        return;
    }
    dtx_branch_enter(br, state);
    for (int i = 0; i < txn->nbranches; i++)
        if (!s_is_final_branch(txn->branches[i])) {
            dtx_fault_point("between-phases");
            break;
        }
    s_check_done(co, txn);
}

static void s_on_finish(void *p, int rc, const PGresult *res)
{
    dtx_wctx_t w;
    if (!dtx_wctx_take(p, &w))
        return;
    dtx_coord_t *co = w.co;
    dtx_txn_t *txn = w.txn;
    int final = w.arg;
    txn->finishing = 0;
    if (rc == 0 && !s_no_rows(res)) {
        dtx_fault_point("after-finish-write");
        dtx_txn_enter(txn, final);
        dtx_metrics_finished(&co->metrics, final, txn->begun_ms);
        if (final == DTX_STATE_COMMITTED)
            co->stats.committed++;
        else
            co->stats.aborted++;
        dtx_log_info(final == DTX_STATE_COMMITTED ? "committed" : "aborted",
                     "gid=%s branches=%d trace=%.32s", txn->gid, txn->nbranches,
                     DTX_TXN_TRACE(txn));
    }
    /* Done (or unknown: recovery finishes it). Either way it leaves memory. */
    co->hooks.forget(co, txn, "the transaction left memory");
}

/* Confirm/Cancel of br is done at the participant: record it. */
static void s_branch_acked(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br)
{
    dtx_wctx_t *w = dtx_wctx_get(co, txn);
    if (!w) {
        dtx_outbox_drop(co, txn, 0, NULL);
        return;
    }
    int target = dtx_op_done_state(br->op);
    w->branch = br->no;
    w->arg = target;
    br->writing = 1;
    br->due_ms = 0;
    char no[16], st[4], att[16];
    snprintf(no, sizeof no, "%u", br->no);
    snprintf(st, sizeof st, "%d", target);
    snprintf(att, sizeof att, "%u", br->attempt);
    const char *vals[7] = { txn->gid, no, st, att, co->cfg.node_id, co->epoch_str, txn->gen };
    dtx_store_submit(co->store, txn->shard, DTX_SQL_BRANCH_DONE, 7, vals, NULL, NULL,
                     s_on_branch_done, w);
}

static void s_check_done(dtx_coord_t *co, dtx_txn_t *txn)
{
    if (txn->dead || txn->writing || txn->finishing || txn->loading)
        return;
    if (txn->state != DTX_STATE_COMMITTING && txn->state != DTX_STATE_ABORTING)
        return;
    for (int i = 0; i < txn->nbranches; i++)
        if (!s_is_final_branch(txn->branches[i]) || txn->branches[i]->writing)
            return;
    /* A Saga commits with every step done, aborts with every step undone. */
    if (txn->mode == DTX_MODE_SAGA &&
        !dtx_saga_all_in(txn, txn->state == DTX_STATE_COMMITTING ? DTX_BRANCH_CONFIRMED
                                                                  : DTX_BRANCH_CANCELLED))
        return;
    int final = 0;
    if (dtx_txn_next(txn->state, DTX_EV_ALL_DONE, NULL, txn->state, &final) != 0)
        return;
    dtx_wctx_t *w = dtx_wctx_get(co, txn);
    if (!w)
        return;
    txn->finishing = 1;
    w->arg = final;
    char st[4], from[4];
    snprintf(st, sizeof st, "%d", final);
    snprintf(from, sizeof from, "%d", txn->state);
    const char *vals[6] = { txn->gid, st, from, co->cfg.node_id, co->epoch_str, txn->gen };
    dtx_store_submit(co->store, txn->shard, DTX_SQL_FINISH, 6, vals, NULL, NULL, s_on_finish, w);
    dtx_fault_point("before-finish-write");
}

/* --- sending and failures --- */

static void s_on_stuck(void *p, int rc, const PGresult *res)
{
    dtx_wctx_t w;
    if (!dtx_wctx_take(p, &w))
        return;
    dtx_coord_t *co = w.co;
    dtx_txn_t *txn = w.txn;
    txn->writing = 0;
    dtx_metrics_stuck(&co->metrics, rc == 0 && !s_no_rows(res));
    if (rc == 0 && !s_no_rows(res))
        dtx_log_error("transaction stuck: an operator must resume it",
                      "gid=%s decision=%s trace=%.32s", txn->gid,
                      dtx_state_name(txn->decision), DTX_TXN_TRACE(txn));
    /* Stuck (or unknown): nothing more is driven from memory. */
    co->hooks.forget(co, txn, "the transaction left memory");
}

/* A branch spent its retry budget: the transaction goes STUCK. */
static void s_mark_stuck(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br)
{
    if (txn->writing || txn->finishing)
        return;
    dtx_wctx_t *w = dtx_wctx_get(co, txn);
    if (!w)
        return;
    dtx_log_warn("retry budget spent",
                 "gid=%s branch=%u op=%s attempts=%u trace=%.32s error=\"%s\"", txn->gid,
                 br->no, dtx_op_name(br->op), br->attempt, DTX_TXN_TRACE(txn),
                 DTX_Q(br->last_error));
    txn->writing = 1;
    for (int i = 0; i < txn->nbranches; i++)
        txn->branches[i]->due_ms = 0;
    char st[4];
    snprintf(st, sizeof st, "%d", txn->state);
    const char *vals[5] = { txn->gid, st, co->cfg.node_id, co->epoch_str, txn->gen };
    dtx_store_submit(co->store, txn->shard, DTX_SQL_STUCK, 5, vals, NULL, NULL, s_on_stuck, w);
}

static void s_phase_failed(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br, int64_t now,
                           const char *why)
{
    br->inflight = 0;
    s_instance_done(co, br);
    if (dtx_op_is_vote(br->op)) {
        s_try_refused(co, txn, br, why);
        return;
    }
    snprintf(br->last_error, sizeof br->last_error, "%s", why);
    int64_t delay = dtx_backoff_delay(co->cfg.retry_base_ms, co->cfg.retry_max_ms,
                                      br->attempt + 1, dtx_random_u64());
    br->due_ms = now + delay;
    /* A branch that keeps failing (its participant or the participant's
     * database away) is reported at its first failure and then at
     * attempts 2, 4, 8, ...: with the backoff doubling too, a long outage
     * costs a few lines per branch, not one per retry. */
    int loud = (br->attempt & (br->attempt - 1)) == 0;
    dtx_log(loud ? DTX_LOG_WARN : DTX_LOG_DEBUG, "phase failed",
            "gid=%s branch=%u op=%s attempt=%u retry_in_ms=%lld trace=%.32s error=\"%s\"",
            txn->gid, br->no, dtx_op_name(br->op), br->attempt, (long long)delay,
            DTX_TXN_TRACE(txn), DTX_Q(why));
    s_record_attempt(co, txn, br);
    if (co->cfg.max_attempts <= 0 || br->attempt < (uint32_t)co->cfg.max_attempts)
        return;
    if (br->step && txn->state == DTX_STATE_ACTIVE) {
        /* A Saga's action without an answer in its budget: abort — but
         * never while the pivot may have run (it is retried until it
         * answers: dtx_txn_next leaves the state alone then). */
        if (!(br->step->flags & DTX_SAGA_STEP_PIVOT))
            dtx_driver_raise(co, txn, DTX_EV_TRY_REFUSED, "a saga step spent its retry budget");
        return;
    }
    s_mark_stuck(co, txn, br);
}

static void s_send_phase(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br, int64_t now)
{
    br->due_ms = 0;
    for (int tries = 0; tries < 4; tries++) {
        dtx_instance_t *in = dtx_registry_pick(co->registry, br->resource);
        if (!in)
            break;
        dtx_msg_t m;
        memset(&m, 0, sizeof m);
        m.type = DTX_MSG_PHASE;
        m.corr = ++co->next_corr; /* unique among every call in flight (protocol.md §2) */
        strcpy(m.gid, txn->gid);
        m.branch = br->no;
        m.op = (uint8_t)br->op;
        m.attempt = br->attempt + 1;
        strcpy(m.resource, br->resource);
        strcpy(m.action, br->op == DTX_OP_COMPENSATE ? br->step->undo : br->action);
        m.deadline_ms = (uint64_t)txn->deadline_wall;
        m.payload = br->payload;
        m.payload_len = br->payload_len;
        m.version = in->version ? in->version : DTX_PROTO_V1;
        if (m.version >= DTX_PROTO_V2)
            memcpy(m.traceparent, txn->traceparent, sizeof m.traceparent);
        int rc = dtx_outbox_send(co, in->rid, in->rid_len, &m);
        if (rc == DTX_ENOPARTICIPANT) {
            /* The peer is gone: drop it and try another instance. */
            dtx_log_warn("instance unreachable", "instance=%s resource=%s", in->name,
                         br->resource);
            dtx_registry_drop(co->registry, in->rid, in->rid_len);
            continue;
        }
        br->attempt++;
        co->stats.phase_sent++;
        if (rc == 0)
            br->never_sent = 0;
        if (br->attempt > 1)
            co->stats.phase_retries++;
        if (rc != 0) {
            co->stats.send_failures++;
            s_phase_failed(co, txn, br, now, rc == DTX_EBUSY ? "send queue full (high-water mark)"
                                                             : "send failed");
            return;
        }
        br->inst_serial = in->serial;
        /* Remembered so that only this instance's reply, repeating this
         * corr, answers this attempt. */
        int slot = (int)(br->attempt % DTX_SENT_RING);
        br->sent[slot].serial = in->serial;
        br->sent[slot].corr = m.corr;
        br->sent[slot].attempt = br->attempt;
        in->inflight++;
        in->calls++;
        br->inflight = 1;
        br->sent_ms = now;
        br->first_wait_ms = 0;
        if (br->op == DTX_OP_TRY)
            dtx_fault_point("after-try-sent");
        else if (br->op == DTX_OP_PREPARE)
            dtx_fault_point("after-prepare-sent");
        int64_t timeout = co->cfg.phase_timeout_ms;
        if (dtx_op_is_vote(br->op)) {
            timeout = co->cfg.try_timeout_ms;
            if (txn->deadline_mono - now < timeout)
                timeout = txn->deadline_mono - now;
            if (timeout < 1)
                timeout = 1;
        }
        br->due_ms = now + timeout;
        return;
    }
    /* No live instance of the resource. */
    char why[128];
    snprintf(why, sizeof why, "no live instance of resource %s", br->resource);
    if (!br->first_wait_ms)
        br->first_wait_ms = now;
    if (dtx_op_is_vote(br->op)) {
        int64_t limit = br->first_wait_ms + co->cfg.try_timeout_ms;
        if (limit > txn->deadline_mono)
            limit = txn->deadline_mono;
        if (now >= limit) {
            s_try_refused(co, txn, br, why);
            return;
        }
        br->due_ms = now + S_NO_INSTANCE_POLL_MS < limit ? now + S_NO_INSTANCE_POLL_MS : limit;
        return;
    }
    /* A round without any live instance counts against the retry budget. */
    br->attempt++;
    s_phase_failed(co, txn, br, now, why);
}


/* --- Saga --- */

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
    if (rc != 0 || s_no_rows(res)) {
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
    if (br->inflight)
        s_instance_done(co, br);
    s_new_op(br, op);
    br->inflight = 0;
    br->due_ms = 0;
    br->first_wait_ms = 0;
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
        s_send_phase(co, txn, br, now);
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
        s_send_phase(co, txn, br, now);
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
        s_check_done(co, txn);
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
        br->inflight = 0;
        br->due_ms = 0;
        s_instance_done(co, br);
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
        s_phase_failed(co, txn, br, now, why);
        if (!txn->dead)
            dtx_driver_reschedule(co, txn);
        return;
    }
    br->inflight = 0;
    br->due_ms = 0;
    s_instance_done(co, br);
    if (msg->op == DTX_OP_ACTION && br->state == DTX_BRANCH_TRYING)
        s_step_write(co, txn, br, DTX_BRANCH_CONFIRMED);
    else if (msg->op == DTX_OP_COMPENSATE && br->state != DTX_BRANCH_CANCELLED)
        s_step_write(co, txn, br, DTX_BRANCH_CANCELLED);
    if (!txn->dead)
        dtx_driver_reschedule(co, txn);
}

/* --- events --- */

void dtx_driver_on_timer(dtx_coord_t *co, dtx_txn_t *txn, int64_t now)
{
    if (txn->dead || txn->loading)
        return;
    if (txn->state == DTX_STATE_ACTIVE && now >= txn->deadline_mono && !txn->writing) {
        dtx_log_info("deadline passed", "gid=%s trace=%.32s", txn->gid, DTX_TXN_TRACE(txn));
        dtx_driver_raise(co, txn, DTX_EV_DEADLINE, "deadline passed");
    }
    for (int i = 0; i < txn->nbranches && !txn->dead; i++) {
        dtx_branch_t *br = txn->branches[i];
        if (br->due_ms == 0 || br->due_ms > now || br->writing)
            continue;
        if (br->inflight) {
            char why[96];
            snprintf(why, sizeof why, "no reply to %s attempt %u in time", dtx_op_name(br->op),
                     br->attempt);
            s_phase_failed(co, txn, br, now, why);
        } else if (!dtx_op_is_vote(br->op) || txn->state == DTX_STATE_ACTIVE) {
            s_send_phase(co, txn, br, now);
        } else {
            br->due_ms = 0;
        }
    }
    if (!txn->dead)
        dtx_driver_reschedule(co, txn);
}

static void s_on_resume(void *p, int rc, const PGresult *res)
{
    dtx_wctx_t w;
    if (!dtx_wctx_take(p, &w))
        return;
    dtx_coord_t *co = w.co;
    dtx_txn_t *txn = w.txn;
    const dtx_peer_t *peer = &w.peer;
    txn->writing = 0;
    if (rc != 0 || PQntuples(res) != 1) {
        dtx_outbox_error(co, peer, rc != 0 ? DTX_EUNKNOWN : DTX_ESTATE,
                         rc != 0 ? "could not confirm the resume of %s; ask STATUS"
                                 : "transaction %s was not stuck any more; ask STATUS",
                         txn->gid);
        co->hooks.forget(co, txn, "the log changed under this coordinator");
        return;
    }
    int next = atoi(PQgetvalue(res, 0, 0));
    if (!dtx_txn_can_enter(txn, next)) {
        dtx_outbox_error(co, peer, DTX_EUNKNOWN,
                         "the log resumed %s to an unexpected state; ask STATUS", txn->gid);
        co->hooks.forget(co, txn, "the log changed under this coordinator");
        return;
    }
    dtx_txn_enter(txn, next);
    int op = dtx_op_for_decision(txn->mode, txn->state);
    for (int i = 0; i < txn->nbranches; i++) {
        dtx_branch_t *br = txn->branches[i];
        s_new_op(br, op); /* a fresh budget, as written in the log */
        br->inflight = 0;
    }
    dtx_log_info("resumed", "gid=%s state=%s trace=%.32s", txn->gid,
                 dtx_state_name(txn->state), DTX_TXN_TRACE(txn));
    dtx_outbox_state(co, peer, txn);
    dtx_driver_drive(co, txn);
    if (!txn->dead)
        co->hooks.replay_parked(co, txn);
}

void dtx_driver_resume(dtx_coord_t *co, dtx_txn_t *txn, const dtx_peer_t *peer)
{
    dtx_wctx_t *w = dtx_wctx_get(co, txn);
    if (!w) {
        dtx_outbox_error(co, peer, DTX_ENOMEM, "out of memory");
        return;
    }
    w->peer = *peer;
    w->has_peer = 1;
    txn->writing = 1;
    const char *vals[4] = { txn->gid, co->cfg.node_id, co->epoch_str, txn->gen };
    dtx_store_submit(co->store, txn->shard, DTX_SQL_RESUME, 4, vals, NULL, NULL, s_on_resume, w);
}

/* Was this reply's (attempt, corr) sent to the instance it comes from? */
static int s_sent_to(const dtx_branch_t *br, uint64_t serial, const dtx_msg_t *msg)
{
    for (int i = 0; i < DTX_SENT_RING; i++)
        if (br->sent[i].serial == serial && br->sent[i].corr == msg->corr &&
            br->sent[i].attempt == msg->attempt)
            return 1;
    return 0;
}

void dtx_driver_on_phase_reply(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_ident_t *id,
                               const dtx_msg_t *msg)
{
    dtx_instance_t *from = dtx_registry_find(co->registry, peer->rid, peer->rid_len);
    if (from && strcmp(from->owner, id->owner) != 0)
        from = NULL; /* not the peer that registered on this routing id */
    if (from)
        from->last_seen_ms = dtx_clock_mono_ms();
    dtx_txn_t *txn = dtx_txn_find(co->txns, msg->gid);
    dtx_branch_t *br = txn && !txn->loading ? dtx_txn_branch(txn, msg->branch) : NULL;
    /* A reply counts only when it answers a call this node sent to this
     * very connection (an initiator cannot vote for a participant), for
     * the op the branch runs now; a vote only for the latest attempt, a
     * Confirm/Cancel acknowledgement for any attempt of it (they are
     * idempotent: the participant did apply it). */
    if (!br || !from || !br->inflight || br->op != msg->op || msg->attempt > br->attempt ||
        !s_sent_to(br, from->serial, msg) ||
        (msg->attempt < br->attempt && (dtx_op_is_vote(msg->op) || msg->outcome != DTX_OUTCOME_OK))) {
        co->stats.ignored_replies++;
        dtx_log_debug("phase reply ignored", "gid=%s branch=%u op=%s attempt=%u known_sender=%d",
                      msg->gid, msg->branch, dtx_op_name(msg->op), msg->attempt, from != NULL);
        return;
    }
    int64_t now = dtx_clock_mono_ms();
    dtx_metrics_phase(&co->metrics, msg->op, now - br->sent_ms);
    if (br->step) {
        s_saga_reply(co, txn, br, msg, now);
        return;
    }
    if (msg->outcome != DTX_OUTCOME_OK) {
        char why[128];
        snprintf(why, sizeof why, "participant %s %s",
                 msg->outcome == DTX_OUTCOME_REFUSED ? "refused" : "failed", dtx_op_name(msg->op));
        if (!dtx_op_is_vote(msg->op)) {
            s_phase_failed(co, txn, br, now, why);
            dtx_driver_reschedule(co, txn);
            return;
        }
        br->inflight = 0;
        s_instance_done(co, br);
        s_try_refused(co, txn, br, why);
        if (!txn->dead)
            dtx_driver_reschedule(co, txn);
        return;
    }
    br->inflight = 0;
    br->due_ms = 0;
    s_instance_done(co, br);
    if (msg->op == DTX_OP_TRY) {
        s_submit_vote(co, txn, br, DTX_BRANCH_TRIED);
    } else if (msg->op == DTX_OP_PREPARE) {
        /* Recorded with the commit decision itself, not one by one. */
        dtx_branch_enter(br, DTX_BRANCH_TRIED);
        s_prepared_check(co, txn);
    } else {
        s_branch_acked(co, txn, br);
    }
    if (!txn->dead)
        dtx_driver_reschedule(co, txn);
}
