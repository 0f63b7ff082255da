/*
 * gw_server.h — the HTTP/1.1 front of dtx-gateway.
 *
 * Event-driven: one worker per core, each a thread running one epoll
 * loop that holds its engine — the native one (gw_native.h) or a
 * libmicrohttpd daemon in external epoll mode (gw_mhd.h) — with its own
 * SO_REUSEPORT listening socket on the shared port, so the kernel spreads
 * connections over the workers, and the worker's upstream side
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

/* The defaults: one worker per CPU, the native engine; 60 s for a head,
 * between two reads of a body and between two writes of an answer, 120 s
 * idle (the libmicrohttpd engine's one timeout), 16 KiB of head, 10000
 * connections a worker. */
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

#endif
