/*
 * gw_server.h — the HTTP/1.1 front of dtx-gateway.
 *
 * Event-driven: one worker per core, each a thread running one epoll
 * loop that holds its engine — the native one (gw_native.h) or a
 * libmicrohttpd daemon in external epoll mode (gw_mhd.h) — with its own
 * SO_REUSEPORT listening socket on the shared port, so the kernel spreads
 * connections over the workers (by a hash, blind to load: a native
 * worker that holds `balance_slack` more connections than the least
 * loaded one hands a new connection to it, gw_balance.h), and the
 * worker's upstream side
 * (gw_proxy.h: its HTTP/1.1 client, whose connections are in the same
 * epoll set). One wake-up serves every ready client and upstream socket of the
 * worker; a request never leaves its worker. A connection waiting for its
 * upstream, or for body bytes of a streamed answer, is suspended
 * (gw_front.h) and resumed when they come.
 *
 * Hooks that may block (a rate rule that delays, a concurrency rule that
 * queues, the transaction filter's calls to dtxd) never run on a worker:
 * the connection is suspended and the hook runs on the offload pool
 * (gw_offload.h), which resumes it when done. Every other hook runs on
 * the worker, where the request is.
 *
 * The workers, their loops and the server's lifecycle are gw_server.c; a
 * request's lifecycle, its states and transitions, is gw_request.c.
 */
#ifndef DTX_GW_SERVER_H
#define DTX_GW_SERVER_H

#include <stdint.h>

#include "runtime/gw_runtime.h"
#include "front/gw_server_opts.h"

typedef struct dtx_gw_server dtx_gw_server_t;

/* What a worker did so far (dtx_gw_server_workers). */
typedef struct dtx_gw_worker_view {
    int      open;        /* connections it serves now */
    uint64_t accepted;    /* taken from its own listening socket */
    uint64_t handed_out;  /* of those, given to a less loaded worker */
    uint64_t handed_in;   /* given to it by another worker */
    uint64_t requests;    /* requests answered */
    double   cpu_seconds; /* CPU time its thread used (user + system), or -1 when
                             it cannot be read */
} dtx_gw_worker_view_t;

/* The defaults: one worker per CPU, the native engine; 60 s for a head,
 * between two reads of a body and between two writes of an answer, 120 s
 * idle (the libmicrohttpd engine's one timeout), 16 KiB of head, 10000
 * connections a worker, the accept balance on (DTX_GW_BALANCE_SLACK). */
void dtx_gw_server_opts_default(dtx_gw_server_opts_t *opts);

/* Starts listening on host:port (port 0 picks one) and serving with the
 * generations held by current, as opts says. NULL on failure (logged). */
dtx_gw_server_t *dtx_gw_server_start(const char *listen, dtx_gw_current_t *current,
                                     const dtx_gw_server_opts_t *opts);
/* The bound port. */
int dtx_gw_server_port(const dtx_gw_server_t *self);
/* Stops accepting, lets requests in flight finish for up to grace_ms,
 * then closes everything. Sets *self_p to NULL. */
void dtx_gw_server_stop(dtx_gw_server_t **self_p, int grace_ms);
/* Requests in flight now. */
int dtx_gw_server_in_flight(const dtx_gw_server_t *self);
/* Fills out[0..n) with the counters of its first n workers, n the lesser
 * of max and the number of workers, and returns n. Any thread; each
 * counter is read once, so the set is not one instant's. The native
 * engine's workers only: with libmicrohttpd, 0. */
int dtx_gw_server_workers(const dtx_gw_server_t *self, dtx_gw_worker_view_t *out, int max);

#endif
