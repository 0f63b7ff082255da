/*
 * gw_server.h — the HTTP/1.1 front of dtx-gateway (libmicrohttpd).
 *
 * One thread per client connection: the request's filters, its upstream
 * call and the streaming of the answer all run on that thread, blocking,
 * so a slow upstream ties up only its own connection. (Measured against
 * a thread pool over epoll in bench/gateway: see docs/gateway.md.)
 *
 * Lifecycle of a request:
 *  1. the request line arrives: a context is made, holding the raw URI;
 *  2. headers complete: the generation in force is taken and on_head
 *     runs (edge, route, validation of headers, admission); a refusal is
 *     answered at once and the body is not read;
 *  3. the body is read into memory (up to the route's max_body: 413);
 *  4. on_body runs (JSON validation, transaction begin), then the
 *     upstream call; a transactional route (or a small answer) is
 *     buffered whole and on_response runs before it is sent; otherwise
 *     the answer streams;
 *  5. whatever happened (sent, refused, client gone), on_done runs once
 *     and the context is freed.
 */
#ifndef DTX_GW_SERVER_H
#define DTX_GW_SERVER_H

#include <stdint.h>

#include "gw_runtime.h"

typedef struct dtx_gw_server dtx_gw_server_t;

/* Starts listening on host:port (port 0 picks one) and serving with the
 * generations held by current. NULL on failure (logged). */
dtx_gw_server_t *dtx_gw_server_start(const char *listen, dtx_gw_current_t *current);
/* The bound port. */
int dtx_gw_server_port(const dtx_gw_server_t *self);
/* Stops accepting, lets requests in flight finish for up to grace_ms,
 * then closes everything. Sets *self_p to NULL. */
void dtx_gw_server_stop(dtx_gw_server_t **self_p, int grace_ms);
/* Requests in flight now. */
int dtx_gw_server_in_flight(const dtx_gw_server_t *self);

/* Splits "host:port" into a sockaddr for MHD. Returns 0 or -1. */
struct sockaddr_in;
int dtx_gw_parse_listen(const char *listen, struct sockaddr_in *out);

#endif
