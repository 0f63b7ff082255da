/*
 * initiator_internal.h — what initiator.c lends initiator_handle.c: the
 * code of each request once it may run. Not for the rest of the
 * coordinator: it goes through initiator.h.
 */
#ifndef DTX_COORD_INITIATOR_INTERNAL_H
#define DTX_COORD_INITIATOR_INTERNAL_H

#include "coord.h"

/* May the sender of req change txn? 1, or 0 with req refused. */
int dtx_initiator_may_change(dtx_coord_t *co, const dtx_txn_t *txn, const dtx_request_t *req);
/* BEGIN: the transaction (ACTIVE) in memory, BEGIN_OK. */
void dtx_initiator_begin(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_ident_t *id,
                         const dtx_msg_t *msg);
/* TRY on txn; takes req. */
void dtx_initiator_try(dtx_coord_t *co, dtx_txn_t *txn, dtx_request_t *req);
/* COMMIT or ROLLBACK of txn. */
void dtx_initiator_decide_request(dtx_coord_t *co, dtx_txn_t *txn, const dtx_request_t *req);
/* RESUME of a stuck txn (operator). */
void dtx_initiator_resume_request(dtx_coord_t *co, dtx_txn_t *txn, const dtx_request_t *req);

#endif
