/*
 * initiator_request.h — initiator requests kept beyond their message, and
 * parked on a transaction (initiator_request.c).
 */
#ifndef DTX_COORD_INITIATOR_REQUEST_H
#define DTX_COORD_INITIATOR_REQUEST_H

#include "coord.h"

/* The COMMIT a TCC_RUN's repeat is answered as (docs/protocol.md §19.3):
 * type COMMIT, gid, corr and version as given, marked with the run's flag
 * (a COMMIT has no flags on the wire, so only the engine makes one). */
void dtx_request_repeat_msg(dtx_msg_t *as, uint8_t version, uint64_t corr, const char *gid);
/* 1 when msg is such a COMMIT. */
int  dtx_request_is_repeat(const dtx_msg_t *msg);
/* Fills r from msg (no payload: r borrows nothing, owns nothing). */
void dtx_request_init(dtx_request_t *r, const dtx_peer_t *peer, const dtx_ident_t *id,
                      const dtx_msg_t *msg);
/* Copies msg into a new request (payload copied). NULL on ENOMEM. */
dtx_request_t *dtx_request_new(const dtx_peer_t *peer, const dtx_ident_t *id,
                               const dtx_msg_t *msg);
void dtx_request_free(dtx_request_t *req);
/* Parks r on txn (takes r), after what is parked already. */
void dtx_initiator_park_request(dtx_coord_t *co, dtx_txn_t *txn, dtx_request_t *r);
/* Parks a copy of a request on txn. 0, DTX_ENOMEM or DTX_ELIMIT (too many
 * parked on it already). */
int  dtx_initiator_park(dtx_coord_t *co, dtx_txn_t *txn, const dtx_peer_t *peer, const dtx_ident_t *id,
                  const dtx_msg_t *msg);

#endif
