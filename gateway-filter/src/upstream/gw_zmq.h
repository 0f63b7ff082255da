/*
 * gw_zmq.h — the attempts of upstream calls to a pool of zmq+tcp://
 * targets (docs/gateway.md "ZeroMQ pools"; the message: dtx/zgw.h).
 *
 * Each worker keeps one DEALER socket per target endpoint it has called,
 * connected to the service's ROUTER, made on first use and kept until the
 * worker stops (ZMQ_IMMEDIATE: a send waits for a completed connection;
 * ZMQ_LINGER 0). Its ZMQ_FD is in the worker's epoll set (an event source
 * of kind DTX_GW_EV_ZMQ). That descriptor only says "ZMQ_EVENTS may have
 * changed", and is reset by any zmq call on the socket: so after every
 * event AND every send, the socket is drained — ZMQ_EVENTS read, waiting
 * requests sent while POLLOUT, replies read while POLLIN — until neither
 * moves; no reply or room can be left behind without a wake-up.
 *
 * One attempt (the proxy chose the target, as for HTTP, gw_proxy.c):
 *
 *   open ──send ok──▶ sent ──reply with its id──▶ complete (call's ready)
 *     │                 └── call deadline ──▶ failed 504 (a later reply:
 *     │                                        dropped, counted "late")
 *     └─EAGAIN (no connection yet)─▶ waiting ──POLLOUT──▶ send
 *           │ the socket is known down       └── connect deadline: the
 *           ▼                                    socket is marked down,
 *        connect failure at once: the proxy      connect failure: the
 *        tries the next target                   proxy tries the next one
 *
 * Invariants: an attempt holds a slot of the worker's slot table
 * (up->zslot, freed by dtx_gw_call_release) from open to its end; the
 * request id is the slot's index and serial, so a reply finds its call in
 * O(1) and a reply for a freed slot (timed out, retried, client gone)
 * matches nothing; a call is on the worker's send-wait list only while
 * waiting. A reply that breaks dtx/zgw.h fails its call (502) when its id
 * is readable and matches, and is counted as malformed either way.
 */
#ifndef DTX_GW_ZMQ_H
#define DTX_GW_ZMQ_H

#include <stdint.h>

#include "core/gw_event.h"

typedef struct dtx_gw_zmq dtx_gw_zmq_t;
typedef struct dtx_gw_upstream dtx_gw_upstream_t;
typedef struct dtx_gw_upstreams dtx_gw_upstreams_t;

/* Body bytes of a zmq request or reply at most. */
#define DTX_GW_ZMQ_MAX_BODY (64u * 1024 * 1024)

/* Starts the attempt on up->target (up->out: the HTTP head gw_upreq.c
 * built; it becomes the header block). 0 (sent or waiting for the
 * connection), or DTX_EIO with errno set: a connect failure, the proxy
 * moves on. */
int  dtx_gw_zmq_open(dtx_gw_upstream_t *up);
/* An epoll event on a socket (src->kind == DTX_GW_EV_ZMQ). */
void dtx_gw_zmq_on_event(dtx_gw_upstreams_t *loop, dtx_gw_event_source_t *src);
/* The attempt's deadline passed: 0, or DTX_GW_EXCHANGE_NEXT_TARGET. */
int  dtx_gw_zmq_on_deadline(dtx_gw_upstream_t *up, int64_t now_us);
/* Closes the worker's sockets. Safe on NULL. */
void dtx_gw_zmq_destroy(dtx_gw_zmq_t **self_p);

/* Process-wide counters (every worker), for /metrics. */
typedef struct dtx_gw_zmq_counters {
    unsigned long long requests;   /* requests sent */
    unsigned long long replies;    /* replies matched to their call */
    unsigned long long late;       /* replies for no call (timed out, ...): dropped */
    unsigned long long malformed;  /* replies that break the format */
} dtx_gw_zmq_counters_t;
void dtx_gw_zmq_counters(dtx_gw_zmq_counters_t *out);

#endif
