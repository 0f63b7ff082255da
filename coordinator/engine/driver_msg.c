/*
 * driver_msg.c — a transactional message's check-back (core/tmsg.h has
 * its whole life; the rest of it, delivery and abort, is driver.c's TCC
 * path).
 *
 * The check-back is one call held beside the branches (txn->checkback,
 * branch number 0, op QUERY_PREPARED, sent to the message's check-back
 * resource). Lifecycle, while the message is ACTIVE:
 *   1. the deadline passes without COMMIT or ROLLBACK: QUERY_PREPARED
 *      leaves (a live instance of the check-back resource; none: a failed
 *      round, retried with backoff);
 *   2. the answer: OK (the local transaction committed) → the commit
 *      decision is written, then every destination gets its DELIVER;
 *      REFUSED (rolled back) → the abort decision, nothing delivered;
 *      FAILED (unknown: the transaction may still be running, the
 *      database is away) or no answer in time → asked again with backoff;
 *   3. over the retry budget: STUCK, decision ACTIVE (an operator's resume
 *      asks again with a fresh budget).
 * Its attempts are not in the log: a coordinator that loads the message
 * (restart, take-over) starts the check-back with a fresh budget.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tmsg.h"
#include "core/txn.h"
#include "coord.h"
#include "dtx/log.h"
#include "dtx/proto.h"
#include "driver.h"
#include "driver_internal.h"

static void s_turn(dtx_coord_t *co, dtx_txn_t *txn, int64_t now)
{
    dtx_branch_t *cb = txn->checkback;
    if (!dtx_tmsg_checkback_due(txn, now)) {
        dtx_driver_reschedule(co, txn);
        return;
    }
    if (cb->op != DTX_OP_QUERY_PREPARED)
        dtx_driver_call_done(co, cb, DTX_OP_QUERY_PREPARED); /* resumed: a fresh budget */
    if (cb->inflight && cb->due_ms > 0 && now >= cb->due_ms) {
        char why[96];
        snprintf(why, sizeof why, "no answer to query_prepared attempt %u in time", cb->attempt);
        dtx_driver_phase_failed(co, txn, cb, now, why);
    } else if (!cb->inflight && (cb->due_ms == 0 || now >= cb->due_ms)) {
        if (cb->attempt == 0)
            dtx_log_info("message not submitted by its deadline: asking its check-back",
                         "gid=%s resource=%s trace=%.32s", txn->gid, cb->resource,
                         DTX_TXN_TRACE(txn));
        dtx_driver_send_phase(co, txn, cb, now);
    }
    if (!txn->dead)
        dtx_driver_reschedule(co, txn);
}

static void s_reply(dtx_coord_t *co, dtx_txn_t *txn, const dtx_msg_t *msg, int64_t now)
{
    dtx_branch_t *cb = txn->checkback;
    if (txn->state != DTX_STATE_ACTIVE || txn->writing) {
        dtx_driver_call_done(co, cb, 0); /* decided meanwhile (a COMMIT or ROLLBACK came) */
        dtx_driver_reschedule(co, txn);
        return;
    }
    int decision = dtx_tmsg_answer(msg->outcome);
    if (decision == 0) {
        dtx_driver_phase_failed(co, txn, cb, now,
                                "the check-back could not tell (the local transaction's "
                                "outcome is unknown yet)");
        if (!txn->dead)
            dtx_driver_reschedule(co, txn);
        return;
    }
    dtx_driver_call_done(co, cb, 0);
    dtx_log_info("check-back answered", "gid=%s answer=%s trace=%.32s", txn->gid,
                 decision == DTX_STATE_COMMITTING ? "committed" : "rolled-back",
                 DTX_TXN_TRACE(txn));
    dtx_driver_decide(co, txn, decision,
                      decision == DTX_STATE_COMMITTING ? "check-back: the local transaction committed"
                                                       : "check-back: the local transaction rolled back");
}

void dtx_driver_msg_init(dtx_coord_t *co)
{
    co->hooks.msg_turn = s_turn;
    co->hooks.msg_reply = s_reply;
}
