/*
 * participants.h — the participant side: REGISTER, HEARTBEAT, expiry (participants.c).
 */
#ifndef DTX_COORD_PARTICIPANTS_H
#define DTX_COORD_PARTICIPANTS_H

#include "coord.h"

void dtx_participants_on_register(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_ident_t *id,
                            const dtx_msg_t *msg);
void dtx_participants_on_heartbeat(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_ident_t *id,
                             const dtx_msg_t *msg);
/* After an allow-list reload: drops the instances whose key may no longer
 * serve one of their resources (they are told to register again, and are
 * refused). Returns how many. */
int  dtx_participants_revoke(dtx_coord_t *co);
/* Periodic duties: expire silent instances. */
void dtx_participants_tick(dtx_coord_t *co, int64_t now_ms);

#endif
