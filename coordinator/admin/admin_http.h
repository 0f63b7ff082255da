/*
 * admin_http.h — the admin HTTP API and console inside dtxd's event loop.
 *
 * libmicrohttpd runs without a thread of its own (MHD_USE_EPOLL, external
 * polling): its epoll descriptor is one more item in loop.c's zmq_poll
 * set, and MHD_run() is called from the loop. Every handler therefore runs
 * on the loop thread and reads or changes the coordinator's state directly,
 * without locks. A request that waits (for PostgreSQL, or for the engine's
 * reply) is suspended and resumed when its answer is ready.
 *
 * Reads for the console go through a second dtx_store_t with its own
 * single connection, so slow admin queries never delay the group-committed
 * batches of the hot path. Initiator operations and operator actions go
 * through the same engine as the ZeroMQ requests (dtx_initiator_handle with an
 * HTTP peer; replies come back through co->http_reply).
 *
 * Lifecycle: dtx_admin_start() after the coordinator's own sockets are up;
 * then each loop turn dtx_admin_poll_items() before zmq_poll and
 * dtx_admin_process() after it; dtx_admin_stop() first in the shutdown.
 */
#ifndef DTX_COORD_ADMIN_HTTP_H
#define DTX_COORD_ADMIN_HTTP_H

#include <stdint.h>

#include <zmq.h>

#include "engine/coord.h"

/* --http-listen default. Failing to bind it only disables HTTP (logged);
 * failing to bind an address given explicitly stops dtxd. */
#define DTX_HTTP_LISTEN_DEFAULT "127.0.0.1:7080"
/* Poll items dtx_admin_poll_items may fill. */
#define DTX_ADMIN_POLL_ITEMS 3

/* Starts the HTTP daemon and the admin store (no-op returning 0 when
 * --http-listen is off). Returns 0, DTX_ECONFIG (bad address, TLS files,
 * token file, a non-loopback address without tokens), DTX_EIO (cannot
 * listen) or DTX_EDB (admin connection). */
int dtx_admin_start(dtx_coord_t *co);
/* Answers what still waits (503), stops the daemon, closes the admin
 * store. Idempotent. */
void dtx_admin_stop(dtx_coord_t *co);
/* Fills up to cap items and lowers *timeout_ms to what MHD needs. */
int dtx_admin_poll_items(dtx_coord_t *co, zmq_pollitem_t *items, int cap, int64_t *timeout_ms);
/* Handles the admin store's results, runs MHD, sends the admin batch. */
void dtx_admin_process(dtx_coord_t *co, const zmq_pollitem_t *items, int n, int64_t now_ms);

#endif
