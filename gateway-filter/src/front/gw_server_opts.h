/*
 * gw_server_opts.h — what a server is started with (gw_server.h): its
 * workers, its engine and the native engine's limits. Types only, shared
 * by the server, its workers and the native engine.
 */
#ifndef DTX_GW_SERVER_OPTS_H
#define DTX_GW_SERVER_OPTS_H

#include <stdint.h>

/* What serves the connections (config "server.engine"). */
#define DTX_GW_ENGINE_NATIVE 0       /* gw_native.c: the gateway's own HTTP/1.1 */
#define DTX_GW_ENGINE_MHD    1       /* gw_mhd.c: libmicrohttpd */

/* The most workers a server runs (a larger --workers is cut to it). */
#define DTX_GW_MAX_WORKERS 64

/* Limits and timeouts of the native engine (config "server"). */
typedef struct dtx_gw_native_opts {
    int64_t header_timeout_ms;  /* a request head must come whole within this */
    int64_t body_timeout_ms;    /* between two reads of a request body */
    int64_t idle_timeout_ms;    /* a kept-alive connection without a request */
    int64_t send_timeout_ms;    /* between two writes of an answer */
    int64_t max_head;           /* bytes of a request head: beyond, 431 */
    int     max_connections;    /* per worker: beyond, new ones are closed at once */
    int     balance_slack;      /* a worker holding this many connections more than
                                   the least loaded hands a new one to it
                                   (front/gw_balance.h); 0: off */
} dtx_gw_native_opts_t;

typedef struct dtx_gw_server_opts {
    int                  workers;   /* event loops; 0: one per online CPU */
    int                  engine;    /* DTX_GW_ENGINE_* */
    int                  send_ring; /* 1: the native engine's workers write small
                                       answers and upstream requests through
                                       io_uring (core/gw_uring.h); 0: writev */
    dtx_gw_native_opts_t native;
} dtx_gw_server_opts_t;

#endif
