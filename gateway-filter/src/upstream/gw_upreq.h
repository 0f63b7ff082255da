/*
 * gw_upreq.h — the request head the gateway sends upstream, built from
 * the client's request. Pure: no sockets (tests/unit/test_gw_upreq.c).
 *
 *   METHOD base+path[?query] HTTP/1.1
 *   the client's headers, minus hop-by-hop ones (Connection and the
 *     headers it names, Keep-Alive, Proxy-*, TE, Trailer, Transfer-Encoding,
 *     Upgrade), Content-Length and Expect (recomputed / not relayed), the
 *     gateway's own (X-Forwarded-For, Dtx-Gid, Dtx-Deadline, traceparent,
 *     the consumer header req->consumer_header), req->drop_header (an API
 *     key), tracestate when the gateway restarted the trace (the client's
 *     traceparent absent or invalid), and any value holding CR or LF
 *   Host: the target's host[:port] when the client sent none
 *   X-Forwarded-For: the client's list, then the client's address
 *   X-Request-Id: the request id, when the client sent none
 *   traceparent: req->traceparent (the gateway's span in the client's
 *     trace, or a new trace), when set
 *   req->consumer_header: req->consumer, when the caller was identified
 *   the route transform's request headers: its "remove" and "set" names
 *     dropped from the client's, then "set" and "add" (templates expanded)
 *   Dtx-Gid, Dtx-Deadline: on a transaction begun by the gateway
 *   Content-Length: N, or Transfer-Encoding: chunked for a streamed body
 *     of unknown length
 */
#ifndef DTX_GW_UPREQ_H
#define DTX_GW_UPREQ_H

#include <stdint.h>

#include "core/gw_chain.h"
#include "core/gw_http1.h"
#include "upstream/gw_lb.h"

/* body_length: the body's length, or -1 when it streams with no length
 * known (chunked); a request without a body gets no framing header unless
 * its method carries one (POST, PUT, PATCH: Content-Length: 0).
 * Returns 0, or DTX_ENOMEM. out is rewritten. */
int dtx_gw_upreq_head(dtx_gw_buf_t *out, const dtx_gw_req_t *req, const dtx_gw_target_t *t,
                      int64_t body_length);

/* 1 when name is a hop-by-hop header (never relayed, either way). */
int dtx_gw_hop_by_hop(const char *name);
/* The same for a name of known length len (NUL-terminated too). */
int dtx_gw_hop_by_hop_n(const char *name, size_t len);

/* 1 when name is one of the comma-separated tokens of list (a Connection
 * header's value: the headers it names are hop-by-hop too), else 0. */
int dtx_gw_header_listed(const char *list, const char *name);

#endif
