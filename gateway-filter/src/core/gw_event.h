/*
 * gw_event.h — what a worker's epoll events point to. Every source of
 * events in a worker's loop (its libmicrohttpd daemon or its native
 * listener and connections, its wake-up, an upstream connection, a
 * client socket watched during a call) starts with a
 * dtx_gw_event_source_t, so the loop reads the kind from the pointer
 * epoll hands back and passes the event to its owner.
 */
#ifndef DTX_GW_EVENT_H
#define DTX_GW_EVENT_H

typedef struct dtx_gw_event_source {
    int kind;                        /* DTX_GW_EV_* */
} dtx_gw_event_source_t;

#define DTX_GW_EV_HTTP     1         /* the worker's libmicrohttpd daemon */
#define DTX_GW_EV_WAKE     2         /* the worker's wake-up (gw_wake.h) */
#define DTX_GW_EV_UPSTREAM 3         /* an upstream connection (gw_upconn.h) */
#define DTX_GW_EV_CLIENT   4         /* a client socket watched during a call */
#define DTX_GW_EV_ZMQ      5         /* a zmq socket's ZMQ_FD (upstream/gw_zmq.h) */
#define DTX_GW_EV_ACCEPT   6         /* the native engine's listening socket */
#define DTX_GW_EV_CONN     7         /* a native engine's client connection */
#define DTX_GW_EV_CLOSED   8         /* an upstream connection closed earlier in
                                        this batch: its events are dropped */
#define DTX_GW_EV_RING     9         /* the worker's send ring: completions
                                        (core/gw_uring.h) */

#endif
