/*
 * driver_events.c — what wakes the driver for a transaction: its timer
 * (deadline, a reply not in time, a branch due again), a PHASE_REPLY, and
 * an operator's RESUME of a stuck transaction (its RESUME write first).
 * A reply counts only when it answers a call this node sent to that very
 * connection, for the op the branch runs now (see driver.c's lifecycle).
 * It acts through driver.c (driver_internal.h) and driver_finish.c; neither
 * calls it.
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
#include "core/tmsg.h"
#include "core/txn.h"
#include "driver.h"
#include "driver_internal.h"
#include "outbox.h"
#include "log/sql.h"
#include "core/txntable.h"
#include "wctx.h"

/* --- events --- */

void dtx_driver_on_timer(dtx_coord_t *co, dtx_txn_t *txn, int64_t now)
{
    if (txn->dead || txn->loading)
        return;
    if (txn->mode == DTX_MODE_MSG && txn->state == DTX_STATE_ACTIVE) {
        co->hooks.msg_turn(co, txn, now); /* no abort: the check-back decides */
        return;
    }
    if (txn->progress_due_ms && now >= txn->progress_due_ms)
        dtx_driver_log_progress(co, txn);
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
            dtx_driver_phase_failed(co, txn, br, now, why);
        } else if (!dtx_op_is_vote(br->op) || txn->state == DTX_STATE_ACTIVE) {
            dtx_driver_send_phase(co, txn, br, now);
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
        dtx_driver_new_op(br, op); /* a fresh budget, as written in the log */
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
    if (txn && !txn->loading && msg->branch == 0)
        br = txn->checkback; /* a message's check-back (NULL for other modes) */
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
        co->hooks.saga_reply(co, txn, br, msg, now); /* driver_saga.c */
        return;
    }
    if (br == txn->checkback) {
        co->hooks.msg_reply(co, txn, msg, now);
        return;
    }
    if (msg->outcome != DTX_OUTCOME_OK) {
        char why[128];
        snprintf(why, sizeof why, "participant %s %s",
                 msg->outcome == DTX_OUTCOME_REFUSED ? "refused" : "failed", dtx_op_name(msg->op));
        if (!dtx_op_is_vote(msg->op)) {
            dtx_driver_phase_failed(co, txn, br, now, why);
            dtx_driver_reschedule(co, txn);
            return;
        }
        br->inflight = 0;
        dtx_driver_instance_done(co, br);
        dtx_driver_try_refused(co, txn, br, why);
        if (!txn->dead)
            dtx_driver_reschedule(co, txn);
        return;
    }
    br->inflight = 0;
    br->due_ms = 0;
    dtx_driver_instance_done(co, br);
    if (msg->op == DTX_OP_TRY && !txn->preparing) {
        dtx_driver_submit_vote(co, txn, br, DTX_BRANCH_TRIED);
    } else if (dtx_op_is_vote(msg->op)) {
        /* A 2PC prepare, or a TCC_RUN's Try (it commits by itself): recorded
         * with the commit decision, not one by one. Nobody hears of it
         * before that decision is durable. */
        dtx_branch_enter(br, DTX_BRANCH_TRIED);
        dtx_driver_prepared_check(co, txn);
    } else {
        dtx_driver_branch_acked(co, txn, br);
    }
    if (!txn->dead)
        dtx_driver_reschedule(co, txn);
}
