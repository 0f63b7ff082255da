/*
 * initiator_multi.h — TRY_MANY: several branches' Tries in one initiator
 * request (docs/protocol.md §18). initiator.c hands it TRY_MANY requests
 * through co->hooks.try_many; outbox.c hands it the answers of the
 * branches through co->hooks.multi_reply.
 */
#ifndef DTX_COORD_INITIATOR_MULTI_H
#define DTX_COORD_INITIATOR_MULTI_H

#include "coord.h"

/* TCC_RUN (docs/protocol.md §19): a new TCC transaction (BEGIN's checks),
 * the batch's branches as a TRY_MANY's, and with DTX_TCC_RUN_COMMIT the
 * commit decided by the coordinator once every branch voted yes; one
 * TRY_MANY_OK (or one ERROR) answers it. Refused before any branch is
 * submitted: nothing is kept. */
void dtx_multi_tcc_run(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_ident_t *id,
                       const dtx_msg_t *msg);
/* Registers the hooks (after dtx_initiator_init). 0 or DTX_ENOMEM. */
int  dtx_multi_init(dtx_coord_t *co);
/* Frees the requests still collecting answers (at shutdown; unanswered). */
void dtx_multi_fini(dtx_coord_t *co);

#endif
