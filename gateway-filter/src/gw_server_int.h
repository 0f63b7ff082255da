/*
 * gw_server_int.h — what gw_server.c (the workers and the server's
 * lifecycle) and gw_request.c (a request's state machine) share, and
 * nothing else includes: a worker, the server it belongs to, and the
 * worker's wake-up. Not an interface: both files see every field.
 */
#ifndef DTX_GW_SERVER_INT_H
#define DTX_GW_SERVER_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "gw_offload.h"
#include "gw_proxy.h"
#include "gw_server.h"

#define DTX_GW_MAX_WORKERS 64

struct MHD_Daemon;

/* One worker: a thread, its epoll loop, its daemon and its upstream side. */
typedef struct dtx_gw_worker {
    dtx_gw_server_t      *server;
    pthread_t             thread;
    int                   started;
    int                   epfd;
    dtx_gw_event_source_t http_src;  /* DTX_GW_EV_HTTP */
    dtx_gw_event_source_t wake_src;  /* DTX_GW_EV_WAKE */
    int                   wake_fd;   /* eventfd: quiesce, stop */
    int                   quiesced;
    int                   cancelled;  /* upstream calls cut (closing) */
    struct MHD_Daemon    *daemon;
    dtx_gw_upstreams_t   *upstreams;
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
};

/* Wakes w's loop through its eventfd (from any thread): it then reads
 * the server's flags and runs its daemon, serving resumed connections. */
void dtx_gw_worker_wake(dtx_gw_worker_t *w);

#endif
