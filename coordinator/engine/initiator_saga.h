/* initiator_saga.h — SAGA, the submit of a Saga's plan (initiator_saga.c). */
#ifndef DTX_COORD_INITIATOR_SAGA_H
#define DTX_COORD_INITIATOR_SAGA_H

#include "coord.h"

/* Handles a SAGA whose sender initiator.c checked (role, cell). */
void dtx_initiator_saga(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_ident_t *id,
                        const dtx_msg_t *msg);

#endif
