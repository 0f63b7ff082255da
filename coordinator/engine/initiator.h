/*
 * initiator.h — initiator requests (initiator.c; where they come in:
 * initiator_handle.c; requests kept and parked: initiator_request.h).
 */
#ifndef DTX_COORD_INITIATOR_H
#define DTX_COORD_INITIATOR_H

#include "coord.h"
#include "initiator_request.h" /* dtx_request_new/free, dtx_initiator_park */

/* Registers the initiator side's hooks (co->hooks) before any message. */
void dtx_initiator_init(dtx_coord_t *co);
/* Registers co->hooks.try_one, the TRY (initiator_try.c). */
void dtx_initiator_try_init(dtx_coord_t *co);
/* Serves an initiator request from peer, sent by id (auth.c). */
void dtx_initiator_handle(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_ident_t *id,
                    const dtx_msg_t *msg);
/* BEGIN's checks (transactions in memory, timeout_ms, a free gid) and the
 * new transaction, ACTIVE in mode, in memory only (its row goes to the log
 * with its first branch); msg gives timeout_ms and traceparent. NULL when
 * refused: peer was answered. Also TCC_RUN's first step. */
dtx_txn_t *dtx_initiator_open(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_ident_t *id,
                              const dtx_msg_t *msg, int mode);
/* Runs a parked request against its (now loaded / written) transaction. */
void dtx_initiator_replay(dtx_coord_t *co, dtx_txn_t *txn, dtx_request_t *req);
void dtx_initiator_replay_parked(dtx_coord_t *co, dtx_txn_t *txn);
/* Drops txn from memory because the log may have moved on under it (lease
 * lapsed, a write matched no row, claimed elsewhere, a decision write
 * failed). Every request waiting on it gets an exact answer: a COMMIT or
 * ROLLBACK awaiting its decision and every parked request are run again
 * against a fresh read of the log (once per request: one already run again
 * is answered DTX_EUNKNOWN, ask STATUS); a TRY whose call went out is
 * answered DTX_EUNKNOWN (its branch may have run: ask STATUS). */
void dtx_initiator_forget(dtx_coord_t *co, dtx_txn_t *txn, const char *why);


#endif
