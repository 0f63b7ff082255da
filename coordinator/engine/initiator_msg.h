/* initiator_msg.h — TMSG, the prepare of a transactional message
 * (initiator_msg.c). */
#ifndef DTX_COORD_INITIATOR_MSG_H
#define DTX_COORD_INITIATOR_MSG_H

#include "coord.h"

/* Handles a TMSG whose sender initiator.c checked (role, cell). */
void dtx_initiator_tmsg(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_ident_t *id,
                        const dtx_msg_t *msg);

#endif
