/*
 * dtx/zsvc.h — write a ZeroMQ service behind dtx-gateway: a pool whose
 * targets are `zmq+tcp://host:port` turns each HTTP request into one
 * "DTXGW/1" message to the service and the service's reply into the HTTP
 * answer (docs/gateway.md "ZeroMQ pools" has the format, for services in
 * other languages). This helper binds the service's ROUTER socket,
 * checks and splits requests, and builds replies:
 *
 *     dtx_zsvc_t *svc = dtx_zsvc_new("tcp://0.0.0.0:7100");
 *     for (;;) {
 *         dtx_zsvc_request_t *rq;
 *         int rc = dtx_zsvc_recv(svc, &rq, 1000);     // 1 s at most
 *         if (rc == DTX_ETIMEOUT) continue;
 *         if (rc < 0) break;
 *         dtx_zsvc_header_t h[] = { { "Content-Type", "text/plain" } };
 *         dtx_zsvc_reply(svc, &rq, 200, h, 1, "hello\n", 6);
 *     }
 *     dtx_zsvc_destroy(&svc);
 *
 * A request that breaks the format is answered 400 (when its id can be
 * read) and logged through dtx/logging.h's handler; dtx_zsvc_recv then
 * waits for the next one. Replies may go in any order: each carries its
 * request's id. One service object is used by one thread at a time.
 */
#ifndef DTX_ZSVC_H
#define DTX_ZSVC_H

#include <stddef.h>

#include "dtx/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dtx_zsvc dtx_zsvc_t;

typedef struct dtx_zsvc_header {
    const char *name;
    const char *value;
} dtx_zsvc_header_t;

/* One request: every string NUL-terminated, owned by the request. */
typedef struct dtx_zsvc_request {
    const char *method;
    const char *path;          /* starts with '/', no query */
    const char *query;         /* without '?', "" when none */
    const char *gid;           /* the transaction's gid on a transactional route, else "" */
    const dtx_zsvc_header_t *headers;
    int         nheaders;
    const char *body;          /* NUL-terminated too (not counted in body_len) */
    size_t      body_len;
} dtx_zsvc_request_t;

/* A service bound to endpoint (a ZeroMQ endpoint, e.g. "tcp://0.0.0.0:7100";
 * "tcp://127.0.0.1:*" picks a free port: see dtx_zsvc_endpoint). NULL on
 * failure (logged). */
DTX_EXPORT dtx_zsvc_t *dtx_zsvc_new(const char *endpoint);
/* The endpoint actually bound ("tcp://127.0.0.1:40123"). */
DTX_EXPORT const char *dtx_zsvc_endpoint(const dtx_zsvc_t *self);

/* Waits up to timeout_ms (-1: forever) for a request. 0 with *out set (to
 * answer with dtx_zsvc_reply, or drop with dtx_zsvc_request_free),
 * DTX_ETIMEOUT, DTX_EIO (the socket failed; EINTR included: a signal). */
DTX_EXPORT int dtx_zsvc_recv(dtx_zsvc_t *self, dtx_zsvc_request_t **out, int timeout_ms);

/* The first value of a request header (case-insensitive name), or NULL. */
DTX_EXPORT const char *dtx_zsvc_header(const dtx_zsvc_request_t *req, const char *name);

/* Answers *req and frees it (*req_p set to NULL, even on failure).
 * status 200..599; headers: nheaders name/value pairs (names RFC 9110
 * tokens, values without CR/LF; Content-Length is the gateway's); body
 * may be NULL when len is 0. Returns 0, DTX_EINVAL (bad status or header:
 * nothing sent), DTX_EIO. */
DTX_EXPORT int dtx_zsvc_reply(dtx_zsvc_t *self, dtx_zsvc_request_t **req_p, int status,
                              const dtx_zsvc_header_t *headers, int nheaders,
                              const char *body, size_t len);

/* Drops a request without answering (the gateway's call times out). */
DTX_EXPORT void dtx_zsvc_request_free(dtx_zsvc_request_t **req_p);

/* Closes the socket and frees the service. Sets *self_p to NULL. */
DTX_EXPORT void dtx_zsvc_destroy(dtx_zsvc_t **self_p);

#ifdef __cplusplus
}
#endif

#endif
