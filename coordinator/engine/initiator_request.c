/*
 * initiator_request.c — an initiator request kept beyond the message it came
 * in: copied (payload included), freed, and parked on a transaction that is
 * loading or writing (in arrival order; a parked TRY's payload counts
 * against the limits while it waits). Running parked requests again is
 * initiator.c's; this file calls nothing of the initiator side.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord.h"
#include "core/txn.h"
#include "core/txntable.h"
#include "initiator_request.h"

void dtx_request_repeat_msg(dtx_msg_t *as, uint8_t version, uint64_t corr, const char *gid)
{
    memset(as, 0, sizeof *as);
    as->version = version;
    as->type = DTX_MSG_COMMIT;
    as->flags = DTX_TCC_RUN_GID;
    as->corr = corr;
    snprintf(as->gid, sizeof as->gid, "%s", gid);
}

int dtx_request_is_repeat(const dtx_msg_t *msg)
{
    return msg->type == DTX_MSG_COMMIT && (msg->flags & DTX_TCC_RUN_GID);
}

void dtx_request_init(dtx_request_t *r, const dtx_peer_t *peer, const dtx_ident_t *id,
                      const dtx_msg_t *msg)
{
    memset(r, 0, sizeof *r);
    r->peer = *peer;
    r->roles = id->roles;
    _Static_assert(sizeof r->principal == sizeof id->principal, "one size of principal");
    strcpy(r->principal, id->principal);
    r->type = msg->type;
    r->repeat = dtx_request_is_repeat(msg);
    strcpy(r->gid, msg->gid);
    strcpy(r->resource, msg->resource);
    strcpy(r->action, msg->action);
}

dtx_request_t *dtx_request_new(const dtx_peer_t *peer, const dtx_ident_t *id,
                               const dtx_msg_t *msg)
{
    dtx_request_t *r = malloc(sizeof *r);
    if (!r)
        return NULL;
    dtx_request_init(r, peer, id, msg);
    if (msg->payload_len) {
        r->payload = malloc(msg->payload_len);
        if (!r->payload) {
            free(r);
            return NULL;
        }
        memcpy(r->payload, msg->payload, msg->payload_len);
        r->payload_len = msg->payload_len;
    }
    return r;
}

void dtx_request_free(dtx_request_t *req)
{
    if (!req)
        return;
    free(req->payload);
    free(req);
}

/* Takes r. A parked TRY's payload counts against the limits while it
 * waits. */
void dtx_initiator_park_request(dtx_coord_t *co, dtx_txn_t *txn, dtx_request_t *r)
{
    r->next = NULL;
    if (txn->parked_tail)
        txn->parked_tail->next = r;
    else
        txn->parked = r;
    txn->parked_tail = r;
    txn->nparked++;
    dtx_txn_payload_add(co->txns, txn, r->payload_len);
}

int dtx_initiator_park(dtx_coord_t *co, dtx_txn_t *txn, const dtx_peer_t *peer, const dtx_ident_t *id,
                 const dtx_msg_t *msg)
{
    if (txn->nparked >= DTX_PARKED_MAX)
        return DTX_ELIMIT;
    dtx_request_t *r = dtx_request_new(peer, id, msg);
    if (!r)
        return DTX_ENOMEM;
    dtx_initiator_park_request(co, txn, r);
    return 0;
}
