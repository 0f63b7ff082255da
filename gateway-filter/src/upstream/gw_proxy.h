/*
 * gw_proxy.h — the upstream call: target choice, retries, failover and
 * the HTTP/1.1 exchange over keep-alive connections, driven without
 * blocking by the event loop of one worker (gw_server.c).
 *
 * Each worker owns one dtx_gw_upstreams_t: its connections to the
 * upstreams (gw_upconn.h: every socket in the worker's epoll set, idle
 * keep-alive connections reused by every call of the worker), a heap of
 * call deadlines (dtx/heap.h) and one read buffer. The wire format is
 * gw_http1.h (answers) and gw_upreq.h (requests). Nothing in it is shared
 * between workers, so nothing in it is locked.
 *
 * Lifecycle of one call (all on the worker's thread):
 *  1. dtx_gw_upstream_start: takes the plan's pool (the caller picked it:
 *     fallback pool, else the route's weighted split), picks a target
 *     (the pool's policy) and sends
 *     the request. A failed connect is retried on another target of the
 *     pool (up to its `retries`), then on the route's backup pool; a pool
 *     with no available target (all ejected or unhealthy) hands over to
 *     the backup pool at once, and without one falls back to any target
 *     ("panic", as Envoy does);
 *  2. the call's `ready` callback runs (from dtx_gw_upstreams_dispatch,
 *     never from inside the I/O handlers) once the answer's headers are in — with
 *     `buffer_whole`, once the whole answer is in — or the call failed:
 *     dtx_gw_upstream_result tells which;
 *  3. dtx_gw_upstream_read hands out the body; when nothing is there yet
 *     it answers DTX_GW_UPSTREAM_AGAIN and `ready` runs again when there
 *     is (backpressure: the transfer pauses with 256 KiB unread);
 *  4. dtx_gw_upstream_end: feeds the outcome to the pool (ejection); a
 *     connection whose exchange is unfinished is closed, a finished one
 *     went back to the worker's cache when the answer completed.
 *
 * A kept connection that turns out dead before any answer byte (the
 * upstream closed it as the request left) is replaced once by a new
 * connection to the same target (not when streamed body bytes already
 * left). Answers: Content-Length, chunked (decoded) or until close; 1xx
 * heads are skipped; a malformed head, a head over 16 KiB or broken
 * chunk framing fail the call (502).
 *
 * Request headers go upstream as received except hop-by-hop ones
 * (Connection and the headers it names, Keep-Alive, Proxy-*, TE,
 * Trailer, Transfer-Encoding, Upgrade) and Content-Length (recomputed);
 * X-Request-Id is added when absent, X-Forwarded-For extended, and on
 * transactional routes Dtx-Gid and Dtx-Deadline set. A call still waiting
 * after 50 ms also watches the client socket, so a client that goes away
 * ends it (req->client_gone, DTX_GW_UPERR_CLIENT_GONE).
 */
#ifndef DTX_GW_PROXY_H
#define DTX_GW_PROXY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dtx/types.h"
#include "core/gw_chain.h"
#include "core/gw_event.h"
#include "core/gw_http1.h"
#include "upstream/gw_lb.h"

/* _read / _write: nothing yet. Below every DTX_E* code, so never taken
 * for an error. */
#define DTX_GW_UPSTREAM_AGAIN (DTX_ERR_MIN - 1)

/* The same three declarations as gw_upcall.h (which defines the structs);
 * C11 allows the repetition, so this header needs nothing of that one. */
typedef struct dtx_gw_upstreams dtx_gw_upstreams_t;
typedef struct dtx_gw_upstream dtx_gw_upstream_t;
typedef void (*dtx_gw_upstream_ready_fn)(void *arg);

/* Where a call goes, decided by the caller (the front, from the route):
 * the first pool, the pool failed connects fall back to, and the call's
 * timeout. */
typedef struct dtx_gw_upstream_plan {
    dtx_gw_pool_t *pool;        /* first pool (the route's split, or a fallback pool) */
    dtx_gw_pool_t *backup;      /* failover pool, or NULL */
    int64_t        timeout_ms;  /* whole call; 0: the pool's timeout_ms */
} dtx_gw_upstream_plan_t;

/* A worker's upstream side, registering its sockets in epoll_fd. NULL on
 * failure. _destroy cuts every call still running (their `ready` never
 * runs again) and frees what the worker owns. */
dtx_gw_upstreams_t *dtx_gw_upstreams_new(int epoll_fd);
void dtx_gw_upstreams_destroy(dtx_gw_upstreams_t **self_p);
/* The worker's send ring (core/gw_uring.h): requests are written and
 * connections closed through it from now on. */
struct dtx_gw_uring;
void dtx_gw_upstreams_set_ring(dtx_gw_upstreams_t *self, struct dtx_gw_uring *ring);
/* An epoll event whose source kind is DTX_GW_EV_UPSTREAM or _CLIENT. */
void dtx_gw_upstreams_on_event(dtx_gw_upstreams_t *self, dtx_gw_event_source_t *src,
                               uint32_t events);
/* Milliseconds until the next deadline (a call's, or the client-watch delay);
 * -1 when none. */
int  dtx_gw_upstreams_timeout_ms(dtx_gw_upstreams_t *self, int64_t now_us);
/* Frees the upstream connections closed since the last call (an epoll
 * event handled by dtx_gw_upstreams_on_event may close a connection whose
 * own event comes later in the same batch: it is dropped, not read from
 * freed memory), runs the timers that are due, collects finished
 * transfers (retrying failed connects) and calls `ready` of every call
 * whose wait is over. Call it between epoll batches only. Returns how
 * many `ready` callbacks ran. */
int  dtx_gw_upstreams_dispatch(dtx_gw_upstreams_t *self, int64_t now_us);

/* Ends every call still running as failed (DTX_GW_UPERR_IO); their
 * `ready` runs at the next dispatch. For the stop. */
void dtx_gw_upstreams_cancel(dtx_gw_upstreams_t *self);

/* Starts the call for req (body complete) as plan says. client_fd:
 * the client's socket, or -1. buffer_whole: 0 to stream, else the most
 * body bytes kept (the answer is then complete when `ready` runs).
 * Returns 0 when started (ready(arg) will run), DTX_ENOMEM / DTX_EIO when it failed at once
 * (req->upstream_error set; ready never runs). *out is set either way and
 * must be ended. */
int dtx_gw_upstream_start(dtx_gw_upstream_t **out, dtx_gw_upstreams_t *loop,
                          dtx_gw_req_t *req, const dtx_gw_upstream_plan_t *plan,
                          int client_fd, size_t buffer_whole,
                          dtx_gw_upstream_ready_fn ready, void *arg);
/* A streamed request body (req->body_streaming set before _start; the
 * body goes upstream with req->content_length, or chunked when it is -1):
 * _write queues bytes and returns how many it took (> 0), DTX_EIO when the
 * call failed (req->upstream_error set), or DTX_GW_UPSTREAM_AGAIN when
 * S_STREAM_WINDOW (256 KiB) wait to be sent: `ready` runs when there is
 * room. Once the answer's headers are in, the rest of the body is taken
 * and dropped. _write_end closes the body (0, or a negative DTX_E* code on failure).
 * _wait: after _write_end, 1 when the answer is not there yet (`ready`
 * runs when it is), 0 when _result can be asked now. */
ssize_t dtx_gw_upstream_write(dtx_gw_upstream_t *self, const char *data, size_t len);
int dtx_gw_upstream_write_end(dtx_gw_upstream_t *self);
int dtx_gw_upstream_wait(dtx_gw_upstream_t *self);

/* After `ready`: 0 when the answer's headers are in (req->upstream_status
 * set), DTX_EIO when the call failed (req->upstream_error set). */
int dtx_gw_upstream_result(const dtx_gw_upstream_t *self);

/* Response headers to pass on (hop-by-hop and Content-Length removed). */
const dtx_gw_resp_header_t *dtx_gw_upstream_headers(const dtx_gw_upstream_t *self, int *n);
/* Content-Length of the answer, or -1 when not given. */
int64_t dtx_gw_upstream_content_length(const dtx_gw_upstream_t *self);

/* Copies up to max body bytes into buf. Returns the count, 0 at the end
 * of the body, DTX_EIO on failure (req->upstream_error set), or
 * DTX_GW_UPSTREAM_AGAIN when nothing is there yet: `ready` runs when
 * there is. */
ssize_t dtx_gw_upstream_read(dtx_gw_upstream_t *self, char *buf, size_t max);

/* 1 when the transfer is over and succeeded (body fully received). */
int dtx_gw_upstream_complete(const dtx_gw_upstream_t *self);
/* The body received and not yet read. */
const char *dtx_gw_upstream_body(const dtx_gw_upstream_t *self, size_t *len);

/* The client left (its front saw it): the call ends as failed with
 * DTX_GW_UPERR_CLIENT_GONE (req->client_gone set), as when the call's own
 * client watch sees it; `ready` runs at the next dispatch. Nothing when
 * the call is over. */
void dtx_gw_upstream_client_gone(dtx_gw_upstream_t *self);

/* Ends the call: records the outcome (uses req), returns the handle.
 * Sets *self_p to NULL. Safe on NULL. */
void dtx_gw_upstream_end(dtx_gw_upstream_t **self_p);

#endif
