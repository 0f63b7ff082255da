/*
 * gw_admin.h — the admin API of dtx-gateway (its own listener, localhost
 * by default).
 *
 *   GET  /healthz            200 "ok"                          (open)
 *   GET  /metrics            Prometheus text                   (open)
 *   GET  /config             the configuration in force        (token)
 *   POST /config/validate    checks a document, changes nothing (token)
 *   PUT  /config             checks and swaps it in atomically  (token)
 *
 * The token goes in `Authorization: Bearer <token>`. It is the
 * --admin-token / --admin-token-file option, else admin.token of the
 * configuration in force; with neither, the token endpoints answer 403.
 * Errors are JSON:
 *   {"error":"invalid configuration","detail":"routes[0].pool: no pool named \"x\""}
 * A swap keeps pools and rules whose JSON is unchanged (with their
 * state and counters).
 *
 * What PUT (and validate, which answers what PUT would) refuses beyond an
 * invalid document:
 *   409 {"error":"needs a restart","field":"listen"}  listen or admin.listen
 *       differ from the configuration in force (the sockets are bound once)
 *   400 {"error":"admin.token missing",...}  the token in force came from
 *       admin.token and the new document has none: the admin would lock
 *       itself out until a restart
 *
 * Resources an unauthenticated client can hold: the token is checked when
 * the request's headers are in, before any body byte is read (a refused
 * request is answered at once and its connection closed); a body is
 * buffered only for an authenticated PUT/POST, up to 4 MiB each (413
 * beyond, told by Content-Length before the body is sent) and 16 MiB for
 * all connections together (503 beyond); at most 32 connections; and each
 * connection must deliver a whole request within `request_ms` of opening
 * (or of its previous answer), else it is closed.
 */
#ifndef DTX_GW_ADMIN_H
#define DTX_GW_ADMIN_H

#include <stdint.h>

#include "front/gw_server.h"
#include "runtime/gw_runtime.h"

typedef struct dtx_gw_admin dtx_gw_admin_t;

/* server: whose workers /metrics counts (NULL: none; it must live until
 * dtx_gw_admin_forget_server or _stop); token: the --admin-token value, or NULL; request_ms: the
 * deadline of one request's headers and body (>= 1). NULL on failure
 * (logged). */
dtx_gw_admin_t *dtx_gw_admin_start(const char *listen, dtx_gw_current_t *current,
                                   const dtx_gw_server_t *server, const char *token,
                                   int64_t request_ms);
int  dtx_gw_admin_port(const dtx_gw_admin_t *self);
/* From now on /metrics has no worker series: call it before the server
 * given to _start stops (a /metrics being answered ends first). self may
 * be NULL. */
void dtx_gw_admin_forget_server(dtx_gw_admin_t *self);
void dtx_gw_admin_stop(dtx_gw_admin_t **self_p);

#endif
