/*
 * gw_proxy.h — the upstream call: target choice, retries, failover and
 * the HTTP exchange over pooled keep-alive connections (libcurl).
 *
 * Lifecycle of one call:
 *  1. dtx_gw_upstream_start: picks the pool (fallback pool, else the
 *     route's weighted split) and a target (the pool's policy), sends the
 *     request and waits for the answer's headers. A failed connect is
 *     retried on another target of the pool (up to its `retries`), then
 *     on the route's backup pool; a pool with no available target (all
 *     ejected or unhealthy) hands over to the backup pool at once, and
 *     without one falls back to any target ("panic", as Envoy does);
 *  2. dtx_gw_upstream_read / _finish: the body, streamed in pieces or
 *     buffered whole;
 *  3. dtx_gw_upstream_end: feeds the outcome to the pool (ejection) and
 *     returns the connection handles to the pool of handles.
 *
 * Request headers go upstream as received except hop-by-hop ones
 * (Connection and the headers it names, Keep-Alive, Proxy-*, TE,
 * Trailer, Transfer-Encoding, Upgrade) and Content-Length (recomputed);
 * X-Request-Id is added when absent, X-Forwarded-For extended, and on
 * transactional routes Dtx-Gid and Dtx-Deadline set. While waiting, the
 * client socket is watched so a client that goes away ends the call.
 */
#ifndef DTX_GW_PROXY_H
#define DTX_GW_PROXY_H

#include <stddef.h>
#include <sys/types.h>

#include "gw_chain.h"

typedef struct dtx_gw_upstream dtx_gw_upstream_t;

/* One response header kept for the client. */
typedef struct dtx_gw_resp_header {
    char *name;
    char *value;
} dtx_gw_resp_header_t;

/* Process-wide set-up and tear-down (curl_global_*, the handle pool). */
int  dtx_gw_proxy_init(void);
void dtx_gw_proxy_shutdown(void);

/* Starts the call for req (its route chosen, body complete). client_fd:
 * the client's socket to watch, or -1. Returns 0 once the answer's
 * headers are in (req->upstream_status set, req->sent = 1), or -1 with
 * req->upstream_error set (*out is still set and must be ended). */
int dtx_gw_upstream_start(dtx_gw_upstream_t **out, dtx_gw_req_t *req, int client_fd);

/* Response headers to pass on (hop-by-hop and Content-Length removed). */
const dtx_gw_resp_header_t *dtx_gw_upstream_headers(const dtx_gw_upstream_t *self, int *n);
/* Content-Length of the answer, or -1 when not given. */
int64_t dtx_gw_upstream_content_length(const dtx_gw_upstream_t *self);

/* Copies up to max body bytes into buf. Returns the count, 0 at the end
 * of the body, -1 on failure (req->upstream_error set). */
ssize_t dtx_gw_upstream_read(dtx_gw_upstream_t *self, char *buf, size_t max);

/* Reads the whole body into memory (at most limit bytes). Returns 0, -1
 * on failure or when larger than limit. */
int dtx_gw_upstream_finish(dtx_gw_upstream_t *self, size_t limit);
/* 1 when the transfer is over (body fully received). */
int dtx_gw_upstream_complete(const dtx_gw_upstream_t *self);
/* The body received and not yet read (after _finish: all of it). */
const char *dtx_gw_upstream_body(const dtx_gw_upstream_t *self, size_t *len);

/* Ends the call: records the outcome (uses req), returns the handles.
 * Sets *self_p to NULL. Safe on NULL. */
void dtx_gw_upstream_end(dtx_gw_upstream_t **self_p);

#endif
