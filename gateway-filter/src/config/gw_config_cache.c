/*
 * gw_config_cache.c — a route's "cache": defaults, bounds and the checks
 * that refuse a configuration the cache cannot honour. Meanings and
 * defaults: docs/gateway.md, "Caching".
 *
 * Invariants: a route with a cache has max_object_bytes <= max_bytes, is
 * not transactional, and carries the canonical JSON of its whole route
 * object (sig) so that a hot swap knows whether its stored answers still
 * apply (filters/gw_cache_filter.c).
 */
#include <stdlib.h>
#include <string.h>

#include "dtx/types.h"
#include "config/gw_config_json.h"

#define S_DAY_S    86400
#define S_YEAR_S   (365 * S_DAY_S)

int dtx_gw_cfg_cache(dtx_gw_cfg_ctx_t *c, json_object *v, const char *path,
                     dtx_gw_route_cfg_t *r)
{
    json_object *o;
    char p[256], q[300];
    if (!json_object_object_get_ex(v, "cache", &o))
        return 0;
    static const char *const keys[] = { "ttl_s", "max_ttl_s", "stale_if_error_s", "max_bytes",
                                        "max_object_bytes", "statuses", "authorized",
                                        "coalesce", "lock_timeout_ms", NULL };
    dtx_gw_cfg_child(p, sizeof p, path, "cache");
    if (dtx_gw_cfg_object(c, o, p) < 0 || dtx_gw_cfg_only(c, o, p, keys) < 0)
        return DTX_ECONFIG;
    if (r->transactional)
        return dtx_gw_cfg_fail(c, p, "not allowed on a transactional route (answers of a "
                                     "transaction are never cached)");
    dtx_gw_cache_cfg_t *k = calloc(1, sizeof *k);
    if (!k)
        return dtx_gw_cfg_fail(c, p, "out of memory");
    r->cache = k;
    if (dtx_gw_cfg_int(c, o, p, "ttl_s", 0, S_YEAR_S, 60, &k->ttl_s) < 0 ||
        dtx_gw_cfg_int(c, o, p, "max_ttl_s", 1, S_YEAR_S, S_DAY_S, &k->max_ttl_s) < 0 ||
        dtx_gw_cfg_int(c, o, p, "stale_if_error_s", 0, S_YEAR_S, 0, &k->stale_if_error_s) < 0 ||
        dtx_gw_cfg_int(c, o, p, "max_bytes", 4096, (int64_t)1 << 40, 64 << 20,
                       &k->max_bytes) < 0 ||
        dtx_gw_cfg_int(c, o, p, "max_object_bytes", 1, (int64_t)1 << 30, 1 << 20,
                       &k->max_object_bytes) < 0 ||
        dtx_gw_cfg_statuses(c, o, p, "statuses", "[200, 203, 204, 300, 301, 308, 404, 410]",
                            &k->statuses) < 0 ||
        dtx_gw_cfg_bool(c, o, p, "authorized", 0, &k->authorized) < 0 ||
        dtx_gw_cfg_bool(c, o, p, "coalesce", 1, &k->coalesce) < 0 ||
        dtx_gw_cfg_int(c, o, p, "lock_timeout_ms", 0, 600000, 5000, &k->lock_timeout_ms) < 0)
        return DTX_ECONFIG;
    if (k->ttl_s > k->max_ttl_s) {
        dtx_gw_cfg_child(q, sizeof q, p, "ttl_s");
        return dtx_gw_cfg_fail(c, q, "must not be above max_ttl_s (%lld)",
                               (long long)k->max_ttl_s);
    }
    if (k->max_object_bytes > k->max_bytes) {
        dtx_gw_cfg_child(q, sizeof q, p, "max_object_bytes");
        return dtx_gw_cfg_fail(c, q, "must not be above max_bytes (%lld)",
                               (long long)k->max_bytes);
    }
    for (int s = 100; s < 600; s++)
        if (dtx_gw_statuses_has(&k->statuses, s) && (s < 200 || s == 206 || s == 304)) {
            dtx_gw_cfg_child(q, sizeof q, p, "statuses");
            return dtx_gw_cfg_fail(c, q, "%d answers cannot be stored", s);
        }
    k->sig = dtx_gw_cfg_sig(v);
    if (!k->sig)
        return dtx_gw_cfg_fail(c, p, "out of memory");
    return 0;
}
