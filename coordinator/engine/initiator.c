/*
 * initiator.c — initiator requests.
 *
 *   BEGIN     the transaction (ACTIVE) in memory → BEGIN_OK; its row goes
 *             to the log with its first branch (nothing to undo before)
 *   TRY       record the branch (TRYING; the first one with the global
 *             row) → send Try → record the vote →
 *             TRY_OK; a no vote also records the abort decision first
 *             (initiator_try.c)
 *   COMMIT    record COMMITTING (or ABORTING when a vote was no/lost) →
 *             STATE; the driver then confirms every branch
 *   ROLLBACK  record ABORTING → STATE; the driver cancels every branch
 *   STATUS    STATE from memory, or from the log
 *   RESUME    a STUCK transaction goes back to its decision (operator)
 *   TRY_MANY  several TRYs in one request: initiator_multi.c runs each
 *             through dtx_initiator_try (co->hooks.try_many), or, when BEGIN
 *             wrote nothing, writes them all with the global row in one
 *             statement (as TCC_RUN), and answers once
 *   TCC_RUN   BEGIN (dtx_initiator_open) + TRY_MANY, every branch written
 *             with the global row in one statement, + a commit the driver
 *             decides itself once every vote is yes (initiator_multi.c);
 *             with the initiator's gid (flag bit 1) a repeat — the gid in
 *             memory (initiator_handle.c) or found by that write
 *             (initiator_multi.c) — begins nothing and runs as a COMMIT
 *             of that gid
 *   SAGA      insert the transaction (mode saga, ACTIVE) with its whole
 *             plan, one statement → BEGIN_OK (initiator_saga.c); the
 *             driver then runs the actions (docs/sagas.md). TRY and COMMIT
 *             of a Saga are refused (its plan is fixed, it ends by
 *             itself); ROLLBACK compensates what ran, unless the pivot may
 *             be running.
 *   TMSG      prepare a transactional message (initiator_msg.c): insert it
 *             (mode msg, ACTIVE, destinations TRIED) → BEGIN_OK; COMMIT
 *             submits it, ROLLBACK drops it, TRY is refused.
 *
 * A request for a gid not in memory loads it from the log first; a request
 * that arrives while a decision write is in flight is parked and replayed
 * when the write completes.
 *
 * Who may ask (checked here, on the transaction as the log has it, also
 * when a parked request is replayed): BEGIN, TRY, COMMIT, ROLLBACK and
 * STATUS need the initiator role; TRY, COMMIT and ROLLBACK of a gid only
 * from the principal that began it (its CURVE name, or without CURVE the
 * process whose connection began it) or an operator; RESUME only from an
 * operator (docs/protocol.md, "Security"). Limits (branches and payload per
 * transaction, payload and transactions in memory, requests parked on one
 * transaction) answer DTX_ELIMIT before anything is written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord.h"
#include "dtx/clock.h"
#include "dtx/decimal.h"
#include "core/cell.h"
#include "dtx/id.h"
#include "dtx/log.h"
#include "dtx/saga.h"
#include "dtx/trace.h"
#include "core/fault.h"
#include "core/txn.h"
#include "initiator.h"
#include "initiator_internal.h"
#include "initiator_msg.h"
#include "initiator_saga.h"
#include "driver.h"
#include "admit.h"
#include "outbox.h"
#include "recovery.h"
#include "log/sql.h"
#include "core/txntable.h"
#include "wctx.h"

/* --- BEGIN --- */

/* May the sender of req change txn? The log's initiator, or an operator.
 * A transaction logged before initiators were recorded ("") is open to
 * every initiator, as it was then. */
int dtx_initiator_allowed(const dtx_txn_t *txn, const dtx_request_t *req)
{
    if (req->roles & DTX_ROLE_OPERATOR)
        return 1;
    return (req->roles & DTX_ROLE_INITIATOR) &&
           (!txn->initiator[0] || strcmp(txn->initiator, req->principal) == 0);
}

int dtx_initiator_may_change(dtx_coord_t *co, const dtx_txn_t *txn, const dtx_request_t *req)
{
    if (dtx_initiator_allowed(txn, req))
        return 1;
    dtx_outbox_refuse_access(co, &req->peer, DTX_DENY_GID,
             "transaction %s was begun by another initiator; only it or an operator may change it",
             txn->gid);
    return 0;
}

dtx_txn_t *dtx_initiator_open(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_ident_t *id,
                              const dtx_msg_t *msg, int mode)
{
    if (dtx_admit_new_txn(co, peer) != 0)
        return NULL;
    if (mode != DTX_MODE_TCC && mode != DTX_MODE_2PC) {
        dtx_outbox_error(co, peer, DTX_EUNSUPPORTED,
                         "mode %d is not supported; use 1 (tcc) or 2 (2pc)", mode);
        return NULL;
    }
    int64_t timeout = msg->timeout_ms ? (int64_t)msg->timeout_ms : co->cfg.default_timeout_ms;
    if (dtx_admit_timeout(co, peer, timeout) != 0)
        return NULL;
    char gid[DTX_NAME_SIZE];
    int keyed = msg->type == DTX_MSG_TCC_RUN && (msg->flags & DTX_TCC_RUN_GID);
    if (dtx_admit_gid(co, peer, keyed ? msg->gid : NULL, gid) != 0)
        return NULL;
    dtx_txn_t *txn = dtx_txn_create(co->txns, gid);
    if (!txn) {
        dtx_outbox_error(co, peer, DTX_ENOMEM, "out of memory");
        return NULL;
    }
    _Static_assert(sizeof txn->initiator == sizeof id->principal, "one size of principal");
    strcpy(txn->initiator, id->principal);
    /* The BEGIN's trace context (the decoder let only a valid one in), or
     * a new trace: every transaction dtxd logs has one. */
    if (msg->traceparent[0])
        memcpy(txn->traceparent, msg->traceparent, sizeof txn->traceparent);
    else
        dtx_trace_new(txn->traceparent);
    dtx_txn_start(txn, mode);
    txn->owned = 1;
    strcpy(txn->gen, "0");
    /* Nothing to undo yet, so nothing to write: the global row goes to the
     * log with the first branch (DTX_SQL_BRANCH_FIRST), or with the
     * decision of a transaction that never had one. */
    txn->unlogged = 1;
    txn->keyed = keyed;
    txn->deadline_wall = dtx_clock_wall_ms() + timeout;
    txn->deadline_mono = dtx_clock_mono_ms() + timeout;
    txn->begun_ms = dtx_clock_mono_ms();
    co->stats.begun++;
    return txn;
}

void dtx_initiator_begin(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_ident_t *id,
                         const dtx_msg_t *msg)
{
    dtx_txn_t *txn = dtx_initiator_open(co, peer, id, msg, msg->mode);
    if (!txn)
        return;
    dtx_fault_point("after-begin-write");
    dtx_outbox_begun(co, peer, txn);
    dtx_log_debug("begun", "gid=%s deadline_ms=%lld trace=%.32s traceparent=%s", txn->gid,
                  (long long)txn->deadline_wall, DTX_TXN_TRACE(txn), txn->traceparent);
    dtx_driver_reschedule(co, txn);
}

/* --- COMMIT / ROLLBACK --- */

void dtx_initiator_decide_request(dtx_coord_t *co, dtx_txn_t *txn, const dtx_request_t *req)
{
    const dtx_peer_t *peer = &req->peer;
    int type = req->type;
    if (!dtx_initiator_may_change(co, txn, req))
        return;
    if (req->repeat) {
        /* A TCC_RUN's repeat (docs/protocol.md §19.3) names only what a
         * TCC_RUN that commits by itself began, and changes nothing: its
         * state once decided (stuck included), "later" while another node
         * decides it; while this node decides it, it waits (parked). */
        if (txn->mode != DTX_MODE_TCC || !txn->run) {
            dtx_outbox_error(co, peer, DTX_EINVAL, "id %s names a transaction no TCC_RUN "
                             "began (a BEGIN's, a Saga's, a message's): nothing done",
                             txn->gid);
            return;
        }
        if (txn->state != DTX_STATE_ACTIVE) {
            dtx_outbox_state(co, peer, txn);
            return;
        }
        if (!txn->owned) {
            dtx_outbox_error(co, peer, DTX_EBUSY, "transaction %s is being decided by another "
                             "coordinator: repeat the request later", txn->gid);
            return;
        }
    }
    if (txn->mode == DTX_MODE_SAGA && type == DTX_MSG_COMMIT) {
        if (dtx_state_is_final(txn->state) || txn->state == DTX_STATE_COMMITTING)
            dtx_outbox_state(co, peer, txn);
        else
            dtx_outbox_error(co, peer, DTX_ESTATE,
                             "transaction %s is a saga: it commits by itself once its steps "
                             "are done (it is %s)", txn->gid, dtx_state_name(txn->state));
        return;
    }
    dtx_txn_votes_t votes;
    dtx_txn_votes(txn, &votes);
    int next = 0;
    int rc = dtx_txn_next(txn->state, type == DTX_MSG_COMMIT ? DTX_EV_COMMIT : DTX_EV_ROLLBACK,
                          &votes, 0, &next);
    if (rc == DTX_EBUSY && votes.pivot_open) {
        dtx_outbox_error(co, peer, DTX_EBUSY,
                         "saga %s: its pivot step may be running and cannot be undone; "
                         "it goes on forward until the pivot answers", txn->gid);
        return;
    }
    if (rc == DTX_EBUSY) {
        dtx_outbox_error(co, peer, DTX_EBUSY, "transaction %s has %d branch(es) still trying",
                         txn->gid, votes.trying);
        return;
    }
    if (rc == DTX_EABORTED) {
        dtx_outbox_state(co, peer, txn); /* the initiator learns it aborted */
        return;
    }
    if (rc != 0) {
        dtx_outbox_error(co, peer, rc, "cannot %s transaction %s: it is %s",
                         type == DTX_MSG_COMMIT ? "commit" : "roll back", txn->gid,
                         dtx_state_name(txn->state));
        return;
    }
    if (next == txn->state) {
        dtx_outbox_state(co, peer, txn);
        return;
    }
    if (!txn->owned) {
        dtx_outbox_error(co, peer, DTX_ESTATE,
                         "transaction %s is driven by another coordinator", txn->gid);
        return;
    }
    txn->decision_waiter = *peer;
    txn->decision_waiter_type = (uint8_t)type;
    txn->decision_waiter_roles = req->roles;
    _Static_assert(sizeof txn->decision_waiter_principal == sizeof req->principal,
                   "one size of principal");
    strcpy(txn->decision_waiter_principal, req->principal);
    txn->decision_waiter_reloaded = req->reloaded; /* the rerun stays once-only */
    txn->has_decision_waiter = 1;
    if (txn->mode == DTX_MODE_2PC && next == DTX_STATE_COMMITTING) {
        /* Commit is only decided once every branch prepared. */
        dtx_driver_start_prepare(co, txn);
        return;
    }
    dtx_driver_decide(co, txn, next,
                      type == DTX_MSG_ROLLBACK ? "rollback requested"
                      : next == DTX_STATE_ABORTING ? "commit with a refused or unknown vote"
                                                   : "commit requested");
}

/* --- RESUME --- */

void dtx_initiator_resume_request(dtx_coord_t *co, dtx_txn_t *txn, const dtx_request_t *req)
{
    const dtx_peer_t *peer = &req->peer;
    int next = 0;
    int rc = dtx_txn_next(txn->state, DTX_EV_RESUME, NULL, txn->decision, &next);
    if (rc != 0) {
        if (txn->state == DTX_STATE_COMMITTING || txn->state == DTX_STATE_ABORTING ||
            dtx_state_is_final(txn->state)) {
            dtx_outbox_state(co, peer, txn); /* nothing stuck: say where it is */
            return;
        }
        dtx_outbox_error(co, peer, DTX_ESTATE, "transaction %s is %s: nothing to resume",
                         txn->gid, dtx_state_name(txn->state));
        return;
    }
    if (!txn->owned) {
        dtx_outbox_error(co, peer, DTX_ESTATE,
                         "transaction %s is driven by another coordinator", txn->gid);
        return;
    }
    dtx_driver_resume(co, txn, peer);
}

/* Takes ownership of req. */
void dtx_initiator_replay(dtx_coord_t *co, dtx_txn_t *txn, dtx_request_t *req)
{
    switch (req->type) {
    case DTX_MSG_TRY:
        co->hooks.try_one(co, txn, req);
        return; /* it owns req (initiator_try.c) */
    case DTX_MSG_TRY_MANY:
        if (co->hooks.try_many) {
            co->hooks.try_many(co, txn, req);
            return; /* it owns req */
        }
        dtx_outbox_error(co, &req->peer, DTX_EUNSUPPORTED, "TRY_MANY is not served here");
        break;
    case DTX_MSG_COMMIT:
    case DTX_MSG_ROLLBACK:
        dtx_initiator_decide_request(co, txn, req);
        break;
    case DTX_MSG_STATUS:
        dtx_outbox_state(co, &req->peer, txn);
        break;
    case DTX_MSG_RESUME:
        dtx_initiator_resume_request(co, txn, req);
        break;
    default:
        break;
    }
    dtx_request_free(req);
}

void dtx_initiator_rerun(dtx_coord_t *co, dtx_request_t *r, const char *why)
{
    dtx_txn_t *fresh = NULL;
    if (!r->reloaded) {
        r->reloaded = 1;
        fresh = dtx_txn_find(co->txns, r->gid);
        if (!fresh)
            fresh = dtx_recovery_load(co, r->gid, r->type != DTX_MSG_STATUS,
                                      r->roles & DTX_ROLE_OPERATOR ? NULL : r->principal);
    }
    if (fresh && fresh->nparked < DTX_PARKED_MAX && (fresh->loading || fresh->writing)) {
        dtx_initiator_park_request(co, fresh, r);
        return;
    }
    if (fresh && !fresh->dead && !fresh->loading && !fresh->writing) {
        dtx_initiator_replay(co, fresh, r);
        return;
    }
    dtx_outbox_error(co, &r->peer, r->maybe_done ? DTX_EUNKNOWN : DTX_ESTATE,
                     "%s (gid %s); %s", why, r->gid,
                     r->maybe_done ? "the request may have taken effect: ask STATUS"
                                   : "nothing was done: retry");
    dtx_request_free(r);
}

void dtx_initiator_forget(dtx_coord_t *co, dtx_txn_t *txn, const char *why)
{
    dtx_initiator_forget_as(co, txn, DTX_EUNKNOWN, why);
}

void dtx_initiator_forget_as(dtx_coord_t *co, dtx_txn_t *txn, int err, const char *why)
{
    if (txn->dead)
        return;
    /* Collect what must run again, in arrival order: the decision waiter
     * first (it came before anything parked behind its write). */
    dtx_request_t *head = NULL, **tail = &head;
    if (txn->has_decision_waiter) {
        dtx_request_t *r = calloc(1, sizeof *r);
        if (r) {
            r->peer = txn->decision_waiter;
            r->type = txn->decision_waiter_type;
            r->roles = txn->decision_waiter_roles;
            snprintf(r->principal, sizeof r->principal, "%s", txn->decision_waiter_principal);
            strcpy(r->gid, txn->gid);
            /* A waiter that is itself a rerun is not run a second time:
             * two coordinators given the same COMMIT would otherwise take
             * the transaction from each other forever, each claim fencing
             * off the other's DECIDE (verify/README.md, the ping-pong). */
            r->reloaded = txn->decision_waiter_reloaded;
            r->maybe_done = 1; /* its decision write may be durable */
            *tail = r;
            tail = &r->next;
            txn->has_decision_waiter = 0;
        }
    }
    *tail = txn->parked;
    txn->parked = txn->parked_tail = NULL;
    txn->nparked = 0;
    /* TRYs whose call went out are answered err by the eviction. */
    dtx_outbox_drop(co, txn, err, why);
    while (head) {
        dtx_request_t *r = head;
        head = r->next;
        r->next = NULL;
        if (co->stop) {
            /* Shutting down: the store takes no new reads. */
            dtx_outbox_error(co, &r->peer, DTX_EUNKNOWN,
                             "coordinator stopping (gid %s): ask STATUS", r->gid);
            dtx_request_free(r);
            continue;
        }
        dtx_initiator_rerun(co, r, why);
    }
}

void dtx_initiator_replay_parked(dtx_coord_t *co, dtx_txn_t *txn)
{
    /* Replay in arrival order until one parks again (a new decision
     * write, or a 2PC prepare phase that a COMMIT started here: the log's
     * preparing flag of a transaction that ended, or that another node
     * drives, holds nothing up). A replayed
     * request may end the transaction (a failed write forgets it): the
     * reference keeps txn readable until the loop has looked. */
    dtx_txn_ref(txn);
    while (txn->parked && !txn->loading && !txn->writing && !txn->dead &&
           !(txn->preparing && txn->owned && txn->state == DTX_STATE_ACTIVE)) {
        dtx_request_t *r = txn->parked;
        txn->parked = r->next;
        if (!txn->parked)
            txn->parked_tail = NULL;
        txn->nparked--;
        dtx_txn_payload_add(co->txns, txn, -(int64_t)r->payload_len);
        r->next = NULL;
        dtx_initiator_replay(co, txn, r);
    }
    dtx_txn_unref(txn);
}

void dtx_initiator_init(dtx_coord_t *co)
{
    co->hooks.replay_parked = dtx_initiator_replay_parked;
    co->hooks.forget = dtx_initiator_forget;
    dtx_driver_saga_init(co);
    dtx_driver_msg_init(co);
}
