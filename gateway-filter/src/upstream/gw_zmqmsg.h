/*
 * gw_zmqmsg.h — the gateway's side of the zmq request message (dtx/zgw.h):
 * the request's frames from the client's request, pure (no sockets;
 * tests/unit/test_gw_zmq.c holds its golden bytes).
 *
 * The headers are those an HTTP upstream gets (gw_upreq.c: hop-by-hop ones
 * dropped, X-Forwarded-For, X-Request-Id, traceparent, the consumer
 * header, the route's transform, Dtx-Gid / Dtx-Deadline), minus the
 * framing ones (Content-Length, Transfer-Encoding): the body frame has its
 * own length.
 */
#ifndef DTX_GW_ZMQMSG_H
#define DTX_GW_ZMQMSG_H

#include <stddef.h>
#include <stdint.h>

#include "dtx/zgw.h"
#include "core/gw_chain.h"
#include "core/gw_http1.h"

/* Rewrites head (an HTTP request head from dtx_gw_upreq_head) in place
 * into the message's header block: its header lines, minus the request
 * line, the framing headers and the final empty line. */
void dtx_gw_zmqmsg_headers(dtx_gw_buf_t *head);

/* The request id of slot / serial: 16 lower-case hex digits (+ NUL). */
void dtx_gw_zmqmsg_id(char out[17], uint32_t slot, uint32_t serial);
/* The slot and serial an id names: 0, or -1 when it is not such an id. */
int  dtx_gw_zmqmsg_id_parse(const char *id, size_t len, uint32_t *slot, uint32_t *serial);

/* The 9 frames of req's message (pointing into req, id, block and body):
 * the gid frame is req->gid on a transaction the gateway began, else
 * empty. */
void dtx_gw_zmqmsg_request(dtx_zgw_frame_t f[DTX_ZGW_REQUEST_FRAMES], const dtx_gw_req_t *req,
                           const char *id, const dtx_gw_buf_t *block, const char *body,
                           size_t body_len);

#endif
