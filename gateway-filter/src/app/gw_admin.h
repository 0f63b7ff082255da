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
 * --admin-token option, else admin.token of the configuration in force;
 * with neither, the token endpoints answer 403. Errors are JSON:
 *   {"error":"invalid configuration","detail":"routes[0].pool: no pool named \"x\""}
 * A swap keeps pools and rules whose JSON is unchanged (with their
 * state and counters); listen addresses cannot change without a restart.
 */
#ifndef DTX_GW_ADMIN_H
#define DTX_GW_ADMIN_H

#include <stdint.h>

#include "runtime/gw_runtime.h"

typedef struct dtx_gw_admin dtx_gw_admin_t;

/* token: the --admin-token value, or NULL. NULL on failure (logged). */
dtx_gw_admin_t *dtx_gw_admin_start(const char *listen, dtx_gw_current_t *current,
                                   const char *token);
int  dtx_gw_admin_port(const dtx_gw_admin_t *self);
void dtx_gw_admin_stop(dtx_gw_admin_t **self_p);

#endif
