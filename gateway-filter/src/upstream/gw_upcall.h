/*
 * gw_upcall.h — one upstream call's state and its bookkeeping
 * (gw_upcall.c: the worker's ready and waiting lists, the call's deadline,
 * the client watch, the end of an attempt, a failed call), shared by the
 * two files above it and nothing else:
 *
 *   gw_proxy.c     the call: target choice, retries, failover, dispatch
 *        │         and the public API of gw_proxy.h
 *        ▼
 *   gw_exchange.c  the HTTP/1.1 exchange of one attempt on one connection:
 *        │         send the request, read and parse the answer; it returns
 *        ▼         DTX_GW_EXCHANGE_NEXT_TARGET when the attempt could not
 *   gw_upcall.c    connect, and the proxy moves on to the next target
 *
 * Arrows point down only: the exchange never calls the proxy.
 */
#ifndef DTX_GW_UPCALL_H
#define DTX_GW_UPCALL_H

#include <stddef.h>
#include <stdint.h>

#include "core/gw_chain.h"
#include "dtx/heap.h"
#include "core/gw_event.h"
#include "core/gw_http1.h"
#include "upstream/gw_lb.h"
#include "upstream/gw_upconn.h"

#define S_PAUSE_AT       (256 * 1024)  /* stop reading with this much unread */
#define S_HDRS_INLINE    16            /* answer headers kept without a malloc (16 of 24
                                          bytes: the call stays within glibc's tcache,
                                          1,032 bytes) */
#define S_MAX_IDLE_CONNS 1024          /* keep-alive connections kept per worker */
#define S_WATCH_AFTER_US 50000         /* watch the client of a call this old */
#define S_READ_SIZE      (64 * 1024)   /* one recv at most */
#define S_SPARE_CALLS    64            /* ended calls a worker keeps for the next ones */
#define S_SPARE_BUF      4096          /* their head buffers kept up to this capacity */
#define S_SPARE_BODY     16384         /* and their body buffer up to this one */
#define S_STREAM_WINDOW  (256 * 1024)  /* streamed body bytes queued at most */

#define S_PHASE_HEADERS 0
#define S_PHASE_BODY    1

/* As in gw_proxy.h (repeated, as C11 allows). */
typedef struct dtx_gw_upstreams dtx_gw_upstreams_t;
typedef struct dtx_gw_upstream dtx_gw_upstream_t;
typedef void (*dtx_gw_upstream_ready_fn)(void *arg);

/* A slot of the worker's zmq attempts (gw_zmq.h): the request id names
 * the slot and its serial. */
typedef struct dtx_gw_zslot {
    dtx_gw_upstream_t *up;           /* NULL: free */
    uint32_t           serial;       /* bumped when freed */
    uint32_t           next_free;    /* 1 + index, 0: end */
} dtx_gw_zslot_t;

struct dtx_gw_upstreams {
    int                epfd;
    dtx_gw_conns_t    *conns;
    char              *rbuf;          /* S_READ_SIZE: what one recv brings */
    dtx_heap_t         deadlines;     /* calls by deadline (key: due, µs) */
    dtx_gw_upstream_t *ready_head, *ready_tail;     /* armed calls whose wait is over */
    dtx_gw_upstream_t *waiting_head, *waiting_tail; /* HEADERS, client not watched */
    dtx_gw_upstream_t *all;           /* every call not ended */
    int                calls;         /* how many */
    dtx_gw_upstream_t *spare;         /* ended calls kept, with their head buffers'
                                         memory (linked by all_next) */
    int                nspare;
    /* zmq pools (gw_zmq.c) */
    struct dtx_gw_zmq *zmq;           /* its sockets; NULL until the first zmq call */
    dtx_gw_zslot_t    *zslots;
    uint32_t           nzslots, zfree;
    dtx_gw_upstream_t *zwait_head, *zwait_tail; /* attempts waiting to be sent */
};

struct dtx_gw_upstream {
    dtx_gw_upstreams_t *loop;
    dtx_gw_req_t      *req;
    dtx_gw_upstream_ready_fn ready;
    void              *arg;
    int                armed;
    int                phase;        /* S_PHASE_* */
    size_t             buffer_whole; /* 0: stream */
    /* lists */
    int                in_ready, in_waiting;
    dtx_gw_upstream_t *ready_prev, *ready_next;
    dtx_gw_upstream_t *wait_prev, *wait_next;
    dtx_gw_upstream_t *all_prev, *all_next;
    /* client watch */
    dtx_gw_event_source_t client_src; /* DTX_GW_EV_CLIENT; first: container_of */
    int                client_fd;
    int                watching;
    /* target choice */
    dtx_gw_pool_t     *pool;         /* pool of the current attempt */
    dtx_gw_pool_t     *backup;       /* still to try, or NULL */
    int64_t            timeout_ms;   /* the plan's; 0: each pool's own */
    int                target;       /* its target, -1 none */
    unsigned char      tried[DTX_GW_MAX_TARGETS];
    int                attempts;
    int                last_error;
    int64_t            started_us;
    /* the exchange */
    dtx_gw_conn_t     *conn;         /* NULL between attempts and once complete */
    int                fresh_retry;  /* the attempt already moved to a new connection */
    dtx_gw_buf_t       out;          /* request head */
    size_t             sent;         /* bytes of head + body sent */
    int                sending;      /* request not all sent */
    /* a streamed request body (req->body_streaming) */
    int                streaming;
    int                chunked;      /* framed as chunks (no length known) */
    int                body_open;    /* more body bytes are to come */
    int                body_sent_any;/* a body byte left: no other attempt */
    int                want_write;   /* armed for room to write */
    dtx_gw_buf_t       sbuf;         /* body bytes not sent yet (from sbase) */
    size_t             sbase;        /* body bytes dropped from sbuf, sent */
    int                got_bytes;    /* answer bytes came on this attempt */
    dtx_heap_node_t    deadline;     /* the one in force (connect or call); key: due, µs */
    int64_t            connect_due_us, call_due_us;
    dtx_gw_buf_t       head;         /* the answer's head (headers point in it) */
    dtx_gw_http1_resp_t resp;
    /* answer */
    int                status;
    int                headers_done;
    int                done;         /* exchange over (failed says how) */
    int                failed;       /* the call failed (req->upstream_error) */
    int                cut;          /* the body was cut short */
    int64_t            content_length;
    dtx_gw_resp_header_t *hdrs;      /* hdrs_inline, or malloc'ed when more */
    dtx_gw_resp_header_t hdrs_inline[S_HDRS_INLINE];
    int                nhdrs, caphdrs;
    int                hdrs_oom;     /* a header could not be kept */
    char              *body;         /* received, unread bytes at body + off */
    size_t             len, off, cap;
    int                paused;       /* not reading: S_PAUSE_AT unread */
    /* a zmq attempt (gw_zmq.c) */
    uint32_t           zslot;        /* 1 + its slot index; 0: none */
    struct dtx_gw_zsock *zsock;      /* its socket */
    int                zwaiting;     /* on the worker's send-wait list */
    dtx_gw_upstream_t *zw_prev, *zw_next;
    int                zbuffer;      /* a streamed body is gathered whole first */
};

/* ---- the call's bookkeeping (gw_upcall.c) ---- */

/* Queues the call for its `ready` when it is armed and its wait is over. */
void dtx_gw_call_check(dtx_gw_upstream_t *up);
/* The call failed with error (DTX_GW_UPERR_*), or its streamed answer was
 * cut: the connection closes, the deadline and the client watch go. */
void dtx_gw_call_fail(dtx_gw_upstream_t *up, int error);
/* Ends the attempt on the current target, feeding the pool. */
void dtx_gw_call_attempt_over(dtx_gw_upstream_t *up, int outcome);
/* Sets the call's deadline (0 or DTX_ENOMEM) / takes it out. */
int  dtx_gw_call_deadline(dtx_gw_upstream_t *up, int64_t due_us);
void dtx_gw_call_deadline_clear(dtx_gw_upstream_t *up);
/* Stops watching the client socket (and leaves the waiting list). */
void dtx_gw_call_unwatch(dtx_gw_upstream_t *up);
/* Lets go of the connection: back to the cache when keep, else closed;
 * and of a zmq attempt's slot and wait (a later reply matches nothing). */
void dtx_gw_call_release(dtx_gw_upstream_t *up, int keep);
/* The worker's send-wait list of zmq attempts: join / leave it. */
void dtx_gw_call_zwait_push(dtx_gw_upstream_t *up);
void dtx_gw_call_zwait_remove(dtx_gw_upstream_t *up);
/* Body bytes sent on this attempt. */
size_t dtx_gw_call_body_sent(const dtx_gw_upstream_t *up);
/* The worker's list of calls whose `ready` is due: leave it. */
void dtx_gw_call_ready_remove(dtx_gw_upstream_t *up);
/* The worker's list of calls waiting for their answer's head, oldest
 * first, whose client is not watched yet: join (when it has a client
 * socket and is not watched) / leave it. */
void dtx_gw_call_waiting_push(dtx_gw_upstream_t *up);
void dtx_gw_call_waiting_remove(dtx_gw_upstream_t *up);

/* ---- the exchange (gw_exchange.c) ---- */

/* What _on_event and _on_deadline return besides 0 (nothing for the call
 * to do): the attempt could not connect; its connection is released, the
 * pool fed and up->last_error set. The caller tries the next target. */
#define DTX_GW_EXCHANGE_NEXT_TARGET 1

/* Starts the attempt on a connection to up->target (up->out holds the
 * request head). 0, or DTX_EIO (errno says why) or DTX_ENOMEM when no connection could be had. */
int  dtx_gw_exchange_open(dtx_gw_upstream_t *up);
/* An epoll event on the call's connection: 0 or DTX_GW_EXCHANGE_NEXT_TARGET. */
int  dtx_gw_exchange_on_event(dtx_gw_upstream_t *up, uint32_t events);
/* The call's deadline passed: 0 or DTX_GW_EXCHANGE_NEXT_TARGET. */
int  dtx_gw_exchange_on_deadline(dtx_gw_upstream_t *up, int64_t now_us);
/* Queues streamed body bytes and sends what the connection takes.
 * 0, DTX_ENOMEM, or DTX_EIO when the call failed. */
int  dtx_gw_exchange_queue(dtx_gw_upstream_t *up, const char *data, size_t len);
/* Logs a failed attempt with its pool and target. */
void dtx_gw_exchange_log(const dtx_gw_upstream_t *up, const char *what, const char *why);

#endif
