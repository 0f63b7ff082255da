/*
 * gw_admin_cache.h — the admin API's cache purge (POST /cache/purge,
 * docs/gateway.md "Caching"): a JSON document naming what to drop from
 * the route caches of the generation in force.
 *
 *   {"key": "/items/7?lang=en"}            path and query exactly
 *   {"prefix": "/items/"}                  path and query starting so
 *   optional: "route": "name" (else every cached route), "host": "h"
 *   (else any Host)
 */
#ifndef DTX_GW_ADMIN_CACHE_H
#define DTX_GW_ADMIN_CACHE_H

#include <stddef.h>

#include "runtime/gw_runtime.h"

/* Purges as doc (len bytes) says. Returns the HTTP status and writes the
 * JSON answer into out: 200 {"purged":N}, 400 {"error":...} for a
 * document that is not one of the above, 404 when "route" names no
 * route with a cache. */
unsigned dtx_gw_admin_cache_purge(dtx_gw_current_t *current, const char *doc, size_t len,
                                  char *out, size_t cap);

#endif
