/*
 * gw_server_int.h — what gw_server.c (the workers and the server's
 * lifecycle) and gw_request.c (a request's state machine) share, and
 * nothing else includes: a worker and the server it belongs to. Not an
 * interface: both files see every field. It includes neither file's
 * header, so gw_server.c -> gw_request.h stays the only arrow between
 * them; a request wakes its worker through the worker's dtx_gw_wake_t.
 */
#ifndef DTX_GW_SERVER_INT_H
#define DTX_GW_SERVER_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "core/gw_event.h"
#include "core/gw_offload.h"
#include "upstream/gw_proxy.h"
#include "runtime/gw_runtime.h"
#include "core/gw_wake.h"
#include "dtx/heap.h"
#include "front/gw_server_opts.h"


/* As in gw_server.h (repeated, as C11 allows). */
typedef struct dtx_gw_server dtx_gw_server_t;

struct MHD_Daemon;
struct dtx_gw_native;


/* A worker's counters (gw_server.h's dtx_gw_worker_view_t reads them),
 * on a cache line of their own: the worker bumps them on every accept
 * and answer, and another worker's line must not move with them (false
 * sharing). Written by the worker's thread only, with plain (relaxed)
 * loads and stores, but `open`, which a worker handing a connection over
 * raises for the worker that gets it (atomic add). */
typedef struct dtx_gw_worker_counters {
    _Alignas(64) atomic_int open;    /* connections it serves now, and those
                                        handed to it not taken yet */
    atomic_ullong      accepted;     /* taken from its own listening socket */
    atomic_ullong      handed_out;   /* of those, given to a less loaded worker */
    atomic_ullong      handed_in;    /* given to it by another worker */
    atomic_ullong      requests;     /* requests answered */
} dtx_gw_worker_counters_t;

/* Adds one to a counter only its worker writes (no locked instruction). */
static inline void dtx_gw_worker_count(atomic_ullong *counter)
{
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* One worker: a thread, its epoll loop, its daemon and its upstream side. */
typedef struct dtx_gw_worker {
    dtx_gw_worker_counters_t counters;  /* first: its own cache line */
    int                   index;     /* in server->workers */
    dtx_gw_server_t      *server;
    pthread_t             thread;
    int                   started;
    int                   epfd;
    dtx_gw_event_source_t http_src;  /* DTX_GW_EV_HTTP */
    dtx_gw_wake_t         wake;      /* quiesce, stop, resumed connections */
    int                   quiesced;
    int                   cancelled;  /* upstream calls cut (closing) */
    int                   rerun;     /* a connection was resumed on this thread:
                                        run the engine again before blocking */
    struct MHD_Daemon    *daemon;    /* the libmicrohttpd engine's (gw_mhd.c), or */
    struct dtx_gw_native *native;    /* the native engine (gw_native.c) */
    struct dtx_gw_uring  *ring;      /* the send ring (core/gw_uring.h); NULL: writes
                                        are system calls (off, mhd, or no io_uring) */
    dtx_gw_event_source_t ring_src;  /* DTX_GW_EV_RING: its completions */
    int                   ring_armed;  /* ring_src in epoll, EPOLLONESHOT, not fired */
    dtx_gw_upstreams_t   *upstreams;
    dtx_heap_t            cache_waits;  /* parked requests' lock_timeout_ms deadlines
                                           (gw_request.c; this thread's only) */
    struct dtx_gw_rctx   *spare;     /* ended request contexts kept for the next ones
                                        (gw_rctx.c; this thread's only) */
    int                   nspare;
} dtx_gw_worker_t;

struct dtx_gw_server {
    dtx_gw_current_t  *current;
    dtx_gw_worker_t    workers[DTX_GW_MAX_WORKERS];
    int                nworkers;
    dtx_gw_offload_t  *offload;      /* NULL once stopped: hooks run inline */
    atomic_int         in_flight;
    atomic_int         quiesce;      /* stop accepting */
    atomic_int         closing;      /* end what is in flight: no new waits */
    atomic_int         suspended;    /* connections suspended now */
    atomic_int         stop;         /* leave the loops */
    int                port;
    int                engine;       /* DTX_GW_ENGINE_* (gw_server.h) */
    dtx_gw_native_opts_t native;     /* the native engine's limits */
    int                send_ring;    /* the workers' writes through io_uring */
};

#endif
