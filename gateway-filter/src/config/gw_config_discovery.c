/*
 * gw_config_discovery.c — a pool's "discovery" section and one read of a
 * source (gw_config_discovery.h).
 *
 *   "discovery": [ {"file": "/etc/dtx/targets/api.txt", "check_ms": 1000},
 *                  {"dns": "api.eu-1.internal", "type": "A", "port": 8080,
 *                   "zone": "eu-1", "weight": 1, "resolver": "10.0.0.2:53",
 *                   "min_refresh_ms": 1000, "max_refresh_ms": 300000},
 *                  {"dns": "_api._tcp.internal", "type": "SRV"} ]
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/types.h"
#include "config/gw_config_discovery.h"

int dtx_gw_discovery_read(const dtx_gw_discovery_cfg_t *src, dtx_gw_dns_query_fn query,
                          void *qarg, dtx_gw_target_set_t *out, int64_t *refresh_ms,
                          char *err, size_t errlen)
{
    if (src->kind == DTX_GW_DISC_FILE) {
        *refresh_ms = src->check_ms;
        return dtx_gw_targets_file_read(src->file, out, err, errlen);
    }
    return dtx_gw_dns_resolve(src, query, qarg, out, refresh_ms, err, errlen);
}

static int s_source(dtx_gw_cfg_ctx_t *c, json_object *e, const char *q,
                    dtx_gw_discovery_cfg_t *d)
{
    static const char *const keys[] = { "file", "check_ms", "dns", "type", "port", "weight",
                                        "zone", "resolver", "min_refresh_ms", "max_refresh_ms",
                                        NULL };
    char p[320];
    char *type = NULL;
    if (dtx_gw_cfg_object(c, e, q) < 0 || dtx_gw_cfg_only(c, e, q, keys) < 0 ||
        dtx_gw_cfg_str(c, e, q, "file", 0, NULL, &d->file) < 0 ||
        dtx_gw_cfg_str(c, e, q, "dns", 0, NULL, &d->name) < 0)
        return DTX_ECONFIG;
    if (!d->file == !d->name)
        return dtx_gw_cfg_fail(c, q, "needs exactly one of file or dns");
    if (d->file) {
        static const char *const dns_only[] = { "type", "port", "weight", "zone", "resolver",
                                                "min_refresh_ms", "max_refresh_ms", NULL };
        for (int i = 0; dns_only[i]; i++)
            if (json_object_object_get_ex(e, dns_only[i], NULL)) {
                dtx_gw_cfg_child(p, sizeof p, q, dns_only[i]);
                return dtx_gw_cfg_fail(c, p, "is for a dns source (a file line carries "
                                             "its own weight and zone)");
            }
        d->kind = DTX_GW_DISC_FILE;
        return dtx_gw_cfg_int(c, e, q, "check_ms", 10, 3600000, DTX_GW_DISC_FILE_CHECK_MS,
                              &d->check_ms);
    }
    if (json_object_object_get_ex(e, "check_ms", NULL)) {
        dtx_gw_cfg_child(p, sizeof p, q, "check_ms");
        return dtx_gw_cfg_fail(c, p, "is for a file source");
    }
    if (dtx_gw_cfg_str(c, e, q, "type", 0, "A", &type) < 0)
        return DTX_ECONFIG;
    dtx_gw_cfg_child(p, sizeof p, q, "type");
    int rc = 0;
    if (strcmp(type, "A") == 0) d->kind = DTX_GW_DISC_DNS_A;
    else if (strcmp(type, "AAAA") == 0) d->kind = DTX_GW_DISC_DNS_AAAA;
    else if (strcmp(type, "SRV") == 0) d->kind = DTX_GW_DISC_DNS_SRV;
    else rc = dtx_gw_cfg_fail(c, p, "must be A, AAAA or SRV");
    free(type);
    if (rc < 0)
        return rc;
    int srv = d->kind == DTX_GW_DISC_DNS_SRV;
    if (dtx_gw_cfg_int32(c, e, q, "port", 1, 65535, 0, &d->port) < 0 ||
        dtx_gw_cfg_int32(c, e, q, "weight", 1, 10000, 1, &d->weight) < 0 ||
        dtx_gw_cfg_str(c, e, q, "zone", 0, NULL, &d->zone) < 0 ||
        dtx_gw_cfg_str(c, e, q, "resolver", 0, NULL, &d->resolver) < 0 ||
        dtx_gw_cfg_int(c, e, q, "min_refresh_ms", 100, 86400000, DTX_GW_DISC_MIN_REFRESH_MS,
                       &d->min_refresh_ms) < 0 ||
        dtx_gw_cfg_int(c, e, q, "max_refresh_ms", 100, 86400000, DTX_GW_DISC_MAX_REFRESH_MS,
                       &d->max_refresh_ms) < 0)
        return DTX_ECONFIG;
    if (!srv && d->port == 0) {
        dtx_gw_cfg_child(p, sizeof p, q, "port");
        return dtx_gw_cfg_fail(c, p, "is required with type %s (SRV records bring their own)",
                               d->kind == DTX_GW_DISC_DNS_A ? "A" : "AAAA");
    }
    if (srv && (json_object_object_get_ex(e, "port", NULL) ||
                json_object_object_get_ex(e, "weight", NULL))) {
        dtx_gw_cfg_child(p, sizeof p, q, json_object_object_get_ex(e, "port", NULL) ? "port"
                                                                                  : "weight");
        return dtx_gw_cfg_fail(c, p, "comes from the SRV records with type SRV");
    }
    if (d->zone && !dtx_gw_cfg_name_ok(d->zone)) {
        dtx_gw_cfg_child(p, sizeof p, q, "zone");
        return dtx_gw_cfg_fail(c, p, "must be 1-64 of [A-Za-z0-9._-]");
    }
    if (d->min_refresh_ms > d->max_refresh_ms) {
        dtx_gw_cfg_child(p, sizeof p, q, "min_refresh_ms");
        return dtx_gw_cfg_fail(c, p, "must not exceed max_refresh_ms");
    }
    if (d->resolver) {
        dtx_gw_cfg_child(p, sizeof p, q, "resolver");
        const char *colon = strrchr(d->resolver, ':');
        char host[64];
        size_t hl = colon ? (size_t)(colon - d->resolver) : 0;
        struct in_addr ia;
        long port = colon ? strtol(colon + 1, NULL, 10) : 0;
        if (!colon || hl == 0 || hl >= sizeof host || port < 1 || port > 65535 ||
            strspn(colon + 1, "0123456789") != strlen(colon + 1))
            return dtx_gw_cfg_fail(c, p, "must be IPv4:port");
        memcpy(host, d->resolver, hl);
        host[hl] = '\0';
        if (inet_pton(AF_INET, host, &ia) != 1)
            return dtx_gw_cfg_fail(c, p, "must be IPv4:port");
    }
    return 0;
}

int dtx_gw_cfg_discovery(dtx_gw_cfg_ctx_t *c, json_object *v, const char *path,
                         dtx_gw_pool_cfg_t *pl)
{
    json_object *d;
    char p[300], q[320];
    pl->nstatic = pl->ntargets;
    if (!json_object_object_get_ex(v, "discovery", &d))
        return 0;
    dtx_gw_cfg_child(p, sizeof p, path, "discovery");
    json_object *one = NULL;
    if (json_object_is_type(d, json_type_object))
        one = d;
    else if (!json_object_is_type(d, json_type_array) || json_object_array_length(d) == 0)
        return dtx_gw_cfg_fail(c, p, "must be a source object or a non-empty array of them");
    int n = one ? 1 : (int)json_object_array_length(d);
    if (n > 16)
        return dtx_gw_cfg_fail(c, p, "at most 16 sources");
    pl->discovery = calloc((size_t)n, sizeof *pl->discovery);
    if (!pl->discovery)
        return dtx_gw_cfg_fail(c, p, "out of memory");
    for (int i = 0; i < n; i++) {
        if (one)
            snprintf(q, sizeof q, "%s", p);
        else
            dtx_gw_cfg_index(q, sizeof q, p, (size_t)i);
        pl->ndiscovery++;
        if (s_source(c, one ? one : json_object_array_get_idx(d, (size_t)i), q,
                     &pl->discovery[i]) < 0)
            return DTX_ECONFIG;
    }
    /* The first read: its targets serve from the start. */
    for (int i = 0; i < n; i++) {
        if (one)
            snprintf(q, sizeof q, "%s", p);
        else
            dtx_gw_cfg_index(q, sizeof q, p, (size_t)i);
        dtx_gw_target_set_t set;
        int64_t refresh = 0;
        char why[300];
        if (dtx_gw_discovery_read(&pl->discovery[i], NULL, NULL, &set, &refresh, why,
                                  sizeof why) < 0)
            return dtx_gw_cfg_fail(c, q, "%s", why);
        dtx_gw_target_cfg_t *t = realloc(pl->targets,
                                         (size_t)(pl->ntargets + set.n) * sizeof *t);
        if (!t) {
            dtx_gw_target_set_free(&set);
            return dtx_gw_cfg_fail(c, q, "out of memory");
        }
        pl->targets = t;
        memcpy(pl->targets + pl->ntargets, set.v, (size_t)set.n * sizeof *t);
        pl->discovery[i].first = pl->ntargets;
        pl->discovery[i].count = set.n;
        pl->discovery[i].first_refresh_ms = refresh;
        pl->ntargets += set.n;
        free(set.v);                     /* the strings moved into pl->targets */
    }
    return 0;
}
