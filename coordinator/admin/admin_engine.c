/*
 * admin_engine.c — the admin API's one door into the engine: an HTTP
 * request becomes an engine request from an HTTP peer (corr = its
 * handle, the identity of an operator whose token was checked), and the
 * engine's reply (co->http_reply) finds its request by handle and goes to
 * the reply function the handler named; a reply for a request that is gone
 * is dropped.
 */
#include <string.h>

#include "admin_internal.h"
#include "engine/initiator.h"
#include "engine/auth.h"
#include "dtx/log.h"

void dtx_admin_engine(dtx_admin_req_t *r, dtx_msg_t *msg, dtx_admin_reply_fn on_reply)
{
    r->on_reply = on_reply;
    dtx_peer_t peer;
    memset(&peer, 0, sizeof peer);
    peer.kind = DTX_PEER_HTTP;
    peer.corr = r->handle;
    msg->corr = r->handle;
    dtx_ident_t id; /* the token was checked: an operator */
    dtx_auth_http_ident(&id);
    dtx_initiator_handle(r->admin->co, &peer, &id, msg);
}

void dtx_admin_on_engine_reply(dtx_coord_t *co, uint64_t handle, const dtx_msg_t *msg)
{
    dtx_admin_req_t *r = dtx_admin_find(co->admin, handle);
    if (!r || r->status) {
        dtx_log_debug("http reply dropped: the request is gone", "type=%s",
                      dtx_msg_type_name(msg->type));
        return;
    }
    if (r->on_reply)
        r->on_reply(r, msg);
}
