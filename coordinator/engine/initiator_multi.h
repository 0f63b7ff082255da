/*
 * initiator_multi.h — TRY_MANY: several branches' Tries in one initiator
 * request (docs/protocol.md §18). initiator.c hands it TRY_MANY requests
 * through co->hooks.try_many; outbox.c hands it the answers of the
 * branches through co->hooks.multi_reply.
 */
#ifndef DTX_COORD_INITIATOR_MULTI_H
#define DTX_COORD_INITIATOR_MULTI_H

#include "coord.h"

/* Registers the hooks (after dtx_initiator_init). */
void dtx_multi_init(dtx_coord_t *co);
/* Frees the requests still collecting answers (at shutdown; unanswered). */
void dtx_multi_fini(dtx_coord_t *co);

#endif
