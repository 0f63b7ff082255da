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
 * (driver_saga.c, reached through the hooks saga_drive and saga_reply.)
 *
 * A transactional message (core/tmsg.h) is driven here like a TCC
 * transaction whose branches all voted yes (DELIVER is its confirm; its
 * abort sends nothing); its check-back is driver_msg.c's.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/backoff.h"
#include "coord.h"
#include "dtx/clock.h"
#include "dtx/decimal.h"
#include "dtx/id.h"
#include "dtx/log.h"
#include "core/fault.h"
#include "core/saga.h"
#include "core/tmsg.h"
#include "core/txn.h"
#include "driver.h"
#include "driver_finish.h"
#include "driver_internal.h"
#include "outbox.h"
#include "log/sql.h"
#include "core/txntable.h"
#include "wctx.h"

#define S_NO_INSTANCE_POLL_MS 200

static void s_send_phase(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br, int64_t now);

void dtx_driver_instance_done(dtx_coord_t *co, dtx_branch_t *br)
{
    if (!br->inst_serial)
        return;
    dtx_instance_t *in = dtx_registry_find_serial(co->registry, br->inst_serial);
    if (in && in->inflight > 0)
        in->inflight--;
    br->inst_serial = 0;
}

/* A new op starts on br: replies to the old one's sends no longer count. */
void dtx_driver_new_op(dtx_branch_t *br, int op)
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
     * the pivot's answer moves it, not the clock), nor once a message
     * passed it (its check-back's own due time takes over). */
    if (txn->state == DTX_STATE_ACTIVE && !txn->loading && !txn->writing &&
        !(txn->mode == DTX_MODE_SAGA && dtx_clock_mono_ms() > txn->deadline_mono) &&
        !(txn->mode == DTX_MODE_MSG && dtx_clock_mono_ms() >= txn->deadline_mono))
        due = txn->deadline_mono;
    if (txn->checkback)
        due = dtx_tmsg_due(txn, due);
    for (int i = 0; i < txn->nbranches; i++) {
        int64_t d = txn->branches[i]->due_ms;
        if (d > 0 && (due == 0 || d < due))
            due = d;
    }
    if (txn->progress_due_ms > 0 && (due == 0 || txn->progress_due_ms < due))
        due = txn->progress_due_ms;
    dtx_timer_set(co->txns, txn, due);
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
    if (br == txn->checkback)
        return; /* no row: its attempts live in memory (a restart gives a fresh budget) */
    dtx_wctx_t *w = dtx_wctx_get(co, txn);
    if (!w)
        return;
    char no[DTX_DEC_SIZE], att[DTX_DEC_SIZE];
    dtx_dec_u64(no, br->no);
    dtx_dec_u64(att, br->attempt);
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
        } else if (br->state == DTX_BRANCH_TRIED) {
            /* A TCC_RUN's yes vote, kept for this decision (written with it
             * when it is commit). */
            dtx_outbox_try_ok(co, &br->waiter, txn, br, DTX_OUTCOME_OK);
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
    char mode[DTX_DEC_SIZE], deadline[DTX_DEC_SIZE];
    dtx_dec_i64(mode, txn->mode);
    dtx_dec_i64(deadline, txn->deadline_wall);
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
    char st[DTX_DEC_SIZE], from[DTX_DEC_SIZE];
    dtx_dec_i64(st, decision);
    dtx_dec_i64(from, DTX_STATE_ACTIVE);
    /* A 2PC commit's or a TCC_RUN's yes votes were kept in memory: the
     * commit decision records them (the log's view dtx_branch_now). */
    char nb[DTX_DEC_SIZE];
    dtx_dec_i64(nb, txn->nbranches);
    const char *vals[7] = { txn->gid, st, from, co->cfg.node_id, co->epoch_str, txn->gen, nb };
    if (txn->unlogged)
        s_log_begun(co, txn);
    dtx_store_submit(co->store, txn->shard, DTX_SQL_DECIDE, 7, vals, NULL, NULL, s_on_decide, w);
}

/* --- driving --- */

void dtx_driver_drive(dtx_coord_t *co, dtx_txn_t *txn)
{
    if (!txn->dead && txn->mode == DTX_MODE_SAGA) {
        co->hooks.saga_drive(co, txn); /* driver_saga.c */
        return;
    }
    if (!txn->dead && txn->mode == DTX_MODE_MSG && txn->state == DTX_STATE_ACTIVE) {
        co->hooks.msg_turn(co, txn, dtx_clock_mono_ms());
        return;
    }
    if (txn->dead || (txn->state != DTX_STATE_COMMITTING && txn->state != DTX_STATE_ABORTING))
        return;
    if (txn->checkback && txn->checkback->inflight)
        dtx_driver_call_done(co, txn->checkback, 0); /* decided: its answer no longer counts */
    int op = dtx_op_for_decision(txn->mode, txn->state);
    int64_t now = dtx_clock_mono_ms();
    for (int i = 0; i < txn->nbranches && !txn->dead; i++) {
        dtx_branch_t *br = txn->branches[i];
        if (dtx_driver_is_final_branch(br) || br->writing)
            continue;
        if (br->op != op) {
            /* A Try still in flight is abandoned: its reply will not match. */
            if (br->inflight)
                dtx_driver_instance_done(co, br);
            dtx_driver_new_op(br, op);
            br->inflight = 0;
            br->first_wait_ms = 0;
        }
        if (dtx_op_done_state(op) == DTX_BRANCH_CANCELLED &&
            (txn->mode == DTX_MODE_MSG || (br->never_sent && br->state != DTX_BRANCH_TRIED))) {
            /* Its Try/Prepare never left this process, or it is an aborted
             * message's destination (nothing was delivered): nothing to undo. */
            dtx_driver_branch_acked(co, txn, br);
            continue;
        }
        if (!br->inflight)
            s_send_phase(co, txn, br, now);
    }
    if (!txn->dead) {
        dtx_driver_check_done(co, txn);
        dtx_driver_reschedule(co, txn);
    }
}

void dtx_driver_start_try(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br)
{
    dtx_driver_new_op(br, DTX_OP_TRY);
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
        dtx_driver_new_op(br, DTX_OP_PREPARE);
        br->first_wait_ms = 0;
        s_send_phase(co, txn, br, now);
    }
    if (!txn->dead) {
        dtx_driver_prepared_check(co, txn);
        dtx_driver_reschedule(co, txn);
    }
}

/* Every branch voted yes: decide commit (2PC, or a TCC_RUN that commits by
 * itself — once all its branches are recorded). */
void dtx_driver_prepared_check(dtx_coord_t *co, dtx_txn_t *txn)
{
    if (!txn->preparing || txn->writing || txn->state != DTX_STATE_ACTIVE ||
        (txn->mode == DTX_MODE_TCC && txn->pending_branches > 0))
        return;
    for (int i = 0; i < txn->nbranches; i++)
        if (txn->branches[i]->state != DTX_BRANCH_TRIED)
            return;
    if (txn->mode == DTX_MODE_TCC && txn->nbranches < txn->run_branches) {
        /* A branch of the TCC_RUN was refused before it was recorded:
         * the batch commits whole or not at all (protocol.md §19). */
        dtx_driver_raise(co, txn, DTX_EV_TRY_REFUSED, "a branch of the batch was not recorded");
        return;
    }
    dtx_fault_point("after-all-voted");
    dtx_driver_raise(co, txn, DTX_EV_COMMIT, "every branch voted yes"); /* no vote missing */
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
    if (dtx_driver_no_rows(res)) {
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

void dtx_driver_submit_vote(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br, int vote)
{
    dtx_wctx_t *w = dtx_wctx_get(co, txn);
    if (!w) {
        dtx_outbox_drop(co, txn, DTX_ENOMEM, "out of memory");
        return;
    }
    w->branch = br->no;
    w->arg = vote;
    br->writing = 1;
    char no[DTX_DEC_SIZE], st[DTX_DEC_SIZE];
    dtx_dec_u64(no, br->no);
    dtx_dec_i64(st, vote);
    const char *vals[7] = { txn->gid, no, st, vote == DTX_BRANCH_REFUSED ? br->last_error : NULL,
                            co->cfg.node_id, co->epoch_str, txn->gen };
    dtx_store_submit(co->store, txn->shard, DTX_SQL_BRANCH_VOTE, 7, vals, NULL, NULL, s_on_vote,
                     w);
}

void dtx_driver_try_refused(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br, const char *why)
{
    snprintf(br->last_error, sizeof br->last_error, "%s", why);
    dtx_log_info("try refused", "gid=%s branch=%u resource=%s trace=%.32s reason=\"%s\"",
                 txn->gid, br->no, br->resource, DTX_TXN_TRACE(txn), DTX_Q(why));
    dtx_branch_enter(br, DTX_BRANCH_REFUSED);
    br->due_ms = 0;
    dtx_driver_submit_vote(co, txn, br, DTX_BRANCH_REFUSED);
    if (txn->dead)
        return;
    /* Same batch as the vote: both durable, or neither. */
    dtx_driver_raise(co, txn, DTX_EV_TRY_REFUSED, "try refused");
}

/* --- sending and failures --- */

static void s_phase_failed(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br, int64_t now,
                           const char *why)
{
    br->inflight = 0;
    dtx_driver_instance_done(co, br);
    if (dtx_op_is_vote(br->op)) {
        dtx_driver_try_refused(co, txn, br, why);
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
    txn->slow = 1; /* from now on each acknowledgement is written as it comes */
    dtx_driver_log_progress(co, txn); /* it may take a while: the log shows what is done */
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
    dtx_driver_mark_stuck(co, txn, br);
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
        /* The first PHASE to a connection in a loop turn leaves at once
         * (a peer gone answers DTX_ENOPARTICIPANT here), later ones may
         * wait in its BUNDLE until the turn ends (outbox.h). */
        int rc = dtx_outbox_send_phase(co, in->rid, in->rid_len, &m, in->bundle);
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
        if (br->op == DTX_OP_TRY || br->op == DTX_OP_PREPARE) {
            const char *point = br->op == DTX_OP_TRY ? "after-try-sent" : "after-prepare-sent";
            /* A bundled PHASE is still pending here: a crash at this point
             * must come after it left, as after a plain one. */
            if (dtx_fault_armed(point))
                dtx_outbox_flush(co);
            dtx_fault_point(point);
        }
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
            dtx_driver_try_refused(co, txn, br, why);
            return;
        }
        br->due_ms = now + S_NO_INSTANCE_POLL_MS < limit ? now + S_NO_INSTANCE_POLL_MS : limit;
        return;
    }
    /* A round without any live instance counts against the retry budget. */
    br->attempt++;
    s_phase_failed(co, txn, br, now, why);
}


/* --- for driver_saga.c and driver_msg.c (driver_internal.h) --- */

void dtx_driver_send_phase(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br, int64_t now)
{
    s_send_phase(co, txn, br, now);
}

void dtx_driver_phase_failed(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br, int64_t now,
                             const char *why)
{
    s_phase_failed(co, txn, br, now, why);
}

void dtx_driver_call_done(dtx_coord_t *co, dtx_branch_t *br, int op)
{
    dtx_driver_instance_done(co, br);
    br->inflight = 0;
    br->due_ms = 0;
    if (op && br->op != op) {
        dtx_driver_new_op(br, op);
        br->first_wait_ms = 0;
    }
}
