/*
 * outbox.h — what leaves the coordinator for a peer (outbox.c).
 */
#ifndef DTX_COORD_OUTBOX_H
#define DTX_COORD_OUTBOX_H

#include "coord.h"

/* Sends msg to peer (routing id + frame). Returns 0 or DTX_EIO /
 * DTX_ENOPARTICIPANT (peer unknown: disconnected) / DTX_EBUSY (HWM). */
int  dtx_outbox_send(dtx_coord_t *co, const uint8_t *rid, size_t rid_len, dtx_msg_t *msg);
/* Sends a PHASE to peer rid. may_bundle: the connection accepts BUNDLEs
 * (its latest REGISTER carried tag 2). Then, when something already went
 * to rid in this loop turn, the frame joins rid's pending BUNDLE and 0 is
 * returned; dtx_outbox_flush sends it at the end of the turn (a failure
 * then loses it: the phase's timeout re-sends it). Otherwise, and for the
 * first PHASE to rid in the turn, as dtx_outbox_send. */
int  dtx_outbox_send_phase(dtx_coord_t *co, const uint8_t *rid, size_t rid_len, dtx_msg_t *msg,
                           int may_bundle);
/* End of a loop turn: sends every pending BUNDLE (one entry: plain). */
void dtx_outbox_flush(dtx_coord_t *co);
/* The pending-BUNDLE table: 0 or DTX_ENOMEM; _fini frees it (idempotent). */
int  dtx_outbox_init(dtx_coord_t *co);
void dtx_outbox_fini(dtx_coord_t *co);
/* Answers a request: msg->corr is set from peer, and for a ZeroMQ peer
 * msg->version too (the request's: a version-1 request gets a version-1
 * answer, its traceparent dropped). Returns as dtx_outbox_send. */
int  dtx_outbox_reply(dtx_coord_t *co, const dtx_peer_t *peer, dtx_msg_t *msg);
void dtx_outbox_error(dtx_coord_t *co, const dtx_peer_t *peer, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void dtx_outbox_state(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_txn_t *txn);
/* Answers BEGIN, SAGA or TMSG: BEGIN_OK with txn's gid, deadline and
 * traceparent. */
void dtx_outbox_begun(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_txn_t *txn);
/* Answers a TRY: TRY_OK for branch br of txn with outcome (DTX_OUTCOME_OK,
 * or _REFUSED once the abort decision is durable) and txn's state now. */
void dtx_outbox_try_ok(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_txn_t *txn,
                       const dtx_branch_t *br, int outcome);
/* Refusals (docs/protocol.md §14): counted (dtx_limit_refusals_total by
 * DTX_LIMIT_*, dtx_auth_refusals_total by DTX_DENY_*), logged at debug (a
 * peer repeating them must not flood the log: the metrics show them), and
 * answered ERROR 22 / ERROR 21 with the text. */
void dtx_outbox_refuse_limit(dtx_coord_t *co, const dtx_peer_t *peer, int which,
                             const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void dtx_outbox_refuse_access(dtx_coord_t *co, const dtx_peer_t *peer, int why,
                              const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Answers everyone waiting on txn (its COMMIT/ROLLBACK waiter, a TRY's
 * waiter, every parked request) with err and why — DTX_EUNKNOWN where the
 * request may have taken effect — then drops txn from memory
 * (dtx_txn_evict). err 0: nobody is answered. */
void dtx_outbox_drop(dtx_coord_t *co, dtx_txn_t *txn, int err, const char *why);

#endif
