/*
 * gw_config_parse.c — JSON configuration: parsing and checking (the
 * sections here; rules in gw_config_rules.c, the dtxd section in
 * gw_config_dtxd.c, the typed readers in gw_config_json.c).
 *
 * The checks run in one pass over the document; the first problem stops
 * it and is reported with its JSON path. Unknown fields are errors (a
 * typo must not silently drop a rule). Cross references (route -> pool,
 * route -> rule) are resolved at the end.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "dtx/types.h"
#include "config/gw_config.h"
#include "config/gw_config_admin.h"
#include "config/gw_config_discovery.h"
#include "config/gw_config_json.h"
#include "config/gw_config_parse.h"
#include "config/gw_config_zmq.h"
#include "core/gw_path.h"

/* ---------------- sections ---------------- */

static int s_pool(dtx_gw_cfg_ctx_t *c, json_object *v, const char *path, dtx_gw_pool_cfg_t *pl)
{
    static const char *const keys[] = { "name", "lb", "hash_header", "targets",
        "connect_timeout_ms", "timeout_ms", "retries", "health", "ejection", "discovery",
        "overprovisioning_factor", NULL };
    char p[256], q[300];
    if (dtx_gw_cfg_object(c, v, path) < 0 || dtx_gw_cfg_only(c, v, path, keys) < 0)
        return DTX_ECONFIG;
    if (dtx_gw_cfg_str(c, v, path, "name", 1, NULL, &pl->name) < 0)
        return DTX_ECONFIG;
    dtx_gw_cfg_child(p, sizeof p, path, "name");
    if (!dtx_gw_cfg_name_ok(pl->name))
        return dtx_gw_cfg_fail(c, p, "must be 1-64 of [A-Za-z0-9._-]");
    char *lb = NULL;
    if (dtx_gw_cfg_str(c, v, path, "lb", 0, "round_robin", &lb) < 0)
        return DTX_ECONFIG;
    dtx_gw_cfg_child(p, sizeof p, path, "lb");
    int rc = 0;
    if (strcmp(lb, "round_robin") == 0) pl->lb = DTX_GW_LB_ROUND_ROBIN;
    else if (strcmp(lb, "weighted") == 0) pl->lb = DTX_GW_LB_WEIGHTED;
    else if (strcmp(lb, "least_inflight") == 0) pl->lb = DTX_GW_LB_LEAST_INFLIGHT;
    else if (strcmp(lb, "hash") == 0) pl->lb = DTX_GW_LB_HASH;
    else rc = dtx_gw_cfg_fail(c, p, "must be round_robin, weighted, least_inflight or hash");
    free(lb);
    if (rc < 0 || dtx_gw_cfg_str(c, v, path, "hash_header", 0, NULL, &pl->hash_header) < 0)
        return DTX_ECONFIG;
    if (pl->lb == DTX_GW_LB_HASH && !pl->hash_header) {
        dtx_gw_cfg_child(p, sizeof p, path, "hash_header");
        return dtx_gw_cfg_fail(c, p, "is required with lb \"hash\"");
    }
    json_object *t;
    dtx_gw_cfg_child(p, sizeof p, path, "targets");
    int has_targets = json_object_object_get_ex(v, "targets", &t);
    if (!has_targets && json_object_object_get_ex(v, "discovery", NULL))
        t = NULL;  /* discovery alone (gw_config_discovery.c) */
    else if (!has_targets || !json_object_is_type(t, json_type_array) ||
             json_object_array_length(t) == 0)
        return dtx_gw_cfg_fail(c, p, "must be a non-empty array of targets");
    pl->ntargets = t ? (int)json_object_array_length(t) : 0;
    pl->targets = calloc((size_t)pl->ntargets + 1, sizeof *pl->targets);
    if (!pl->targets)
        return dtx_gw_cfg_fail(c, p, "out of memory");
    for (int i = 0; i < pl->ntargets; i++) {
        json_object *e = json_object_array_get_idx(t, (size_t)i);
        static const char *const tkeys[] = { "url", "weight", "zone", NULL };
        dtx_gw_cfg_index(q, sizeof q, p, (size_t)i);
        if (json_object_is_type(e, json_type_string)) {
            pl->targets[i].url = strdup(json_object_get_string(e));
            pl->targets[i].weight = 1;
        } else if (dtx_gw_cfg_object(c, e, q) < 0 || dtx_gw_cfg_only(c, e, q, tkeys) < 0 ||
                   dtx_gw_cfg_str(c, e, q, "url", 1, NULL, &pl->targets[i].url) < 0 ||
                   dtx_gw_cfg_int32(c, e, q, "weight", 1, 10000, 1, &pl->targets[i].weight) < 0 ||
                   dtx_gw_cfg_str(c, e, q, "zone", 0, NULL, &pl->targets[i].zone) < 0) {
            return DTX_ECONFIG;
        }
        if (pl->targets[i].zone && !dtx_gw_cfg_name_ok(pl->targets[i].zone)) {
            char u[320];
            dtx_gw_cfg_child(u, sizeof u, q, "zone");
            return dtx_gw_cfg_fail(c, u, "must be 1-64 of [A-Za-z0-9._-]");
        }
        if (!pl->targets[i].url)
            return dtx_gw_cfg_fail(c, q, "out of memory");
        size_t ul = strlen(pl->targets[i].url);
        if (ul > 0 && pl->targets[i].url[ul - 1] == '/')
            pl->targets[i].url[ul - 1] = '\0';
        char why[128];
        int zmq = dtx_gw_cfg_zmq_url(pl->targets[i].url);
        if (i > 0 && zmq != pl->zmq)
            return dtx_gw_cfg_fail(c, q, "mixes http:// and zmq+tcp:// targets (a pool is one or "
                                   "the other)");
        pl->zmq = zmq;
        if ((zmq ? dtx_gw_cfg_zmq_target(&pl->targets[i].addr, pl->targets[i].url, why, sizeof why)
                 : dtx_gw_addr_parse(&pl->targets[i].addr, pl->targets[i].url, why, sizeof why)) < 0) {
            char u[320];
            dtx_gw_cfg_child(u, sizeof u, q, "url");
            return dtx_gw_cfg_fail(c, u, "%s", why);
        }
    }
    double over = 1.4;
    if (dtx_gw_cfg_discovery(c, v, path, pl) < 0 ||
        dtx_gw_cfg_num(c, v, path, "overprovisioning_factor", 1.0, 100.0, 1.4, &over) < 0)
        return DTX_ECONFIG;
    pl->overprovision_pct = (int)(over * 100 + 0.5);
    if (dtx_gw_cfg_int(c, v, path, "connect_timeout_ms", 1, 600000, 1000, &pl->connect_timeout_ms) < 0 ||
        dtx_gw_cfg_int(c, v, path, "timeout_ms", 1, 3600000, 30000, &pl->timeout_ms) < 0 ||
        dtx_gw_cfg_int32(c, v, path, "retries", 0, 10, 1, &pl->retries) < 0)
        return DTX_ECONFIG;
    json_object *h;
    if (json_object_object_get_ex(v, "health", &h)) {
        static const char *const hkeys[] = { "path", "interval_ms", "timeout_ms", "healthy",
                                             "unhealthy", NULL };
        dtx_gw_cfg_child(p, sizeof p, path, "health");
        if (dtx_gw_cfg_object(c, h, p) < 0 || dtx_gw_cfg_only(c, h, p, hkeys) < 0 ||
            dtx_gw_cfg_str(c, h, p, "path", 1, NULL, &pl->health_path) < 0 ||
            dtx_gw_cfg_int(c, h, p, "interval_ms", 10, 3600000, 1000, &pl->health_interval_ms) < 0 ||
            dtx_gw_cfg_int(c, h, p, "timeout_ms", 1, 600000, 500, &pl->health_timeout_ms) < 0 ||
            dtx_gw_cfg_int32(c, h, p, "healthy", 1, 100, 2, &pl->healthy_after) < 0 ||
            dtx_gw_cfg_int32(c, h, p, "unhealthy", 1, 100, 2, &pl->unhealthy_after) < 0)
            return DTX_ECONFIG;
        if (pl->zmq)
            return dtx_gw_cfg_fail(c, p, "active checks are HTTP: not for a pool of zmq+tcp:// "
                                   "targets");
        if (pl->health_path[0] != '/') {
            dtx_gw_cfg_child(q, sizeof q, p, "path");
            return dtx_gw_cfg_fail(c, q, "must start with /");
        }
    }
    json_object *ej;
    pl->eject_base_ms = 1000;
    pl->eject_max_ms = 30000;
    pl->eject_max_percent = 50;
    if (json_object_object_get_ex(v, "ejection", &ej)) {
        static const char *const ekeys[] = { "consecutive_5xx", "consecutive_connect_errors",
                                             "base_ms", "max_ms", "max_percent", NULL };
        dtx_gw_cfg_child(p, sizeof p, path, "ejection");
        if (dtx_gw_cfg_object(c, ej, p) < 0 || dtx_gw_cfg_only(c, ej, p, ekeys) < 0 ||
            dtx_gw_cfg_int32(c, ej, p, "consecutive_5xx", 0, 1000000, 5, &pl->eject_consecutive_5xx) < 0 ||
            dtx_gw_cfg_int32(c, ej, p, "consecutive_connect_errors", 0, 1000000, 3,
                    &pl->eject_consecutive_connect) < 0 ||
            dtx_gw_cfg_int(c, ej, p, "base_ms", 1, 3600000, 1000, &pl->eject_base_ms) < 0 ||
            dtx_gw_cfg_int(c, ej, p, "max_ms", 1, 86400000, 30000, &pl->eject_max_ms) < 0 ||
            dtx_gw_cfg_int32(c, ej, p, "max_percent", 0, 100, 50, &pl->eject_max_percent) < 0)
            return DTX_ECONFIG;
    }
    pl->sig = dtx_gw_cfg_sig(v);
    return 0;
}

static const char *const s_json_type_names[] = { "any", "string", "number", "integer",
                                                 "boolean", "object", "array", NULL };

/* Does v (a route) answer by itself — a saga route, or a "tcc" one with
 * branches? Read before its pool, which it has none of. */
static int s_answers_itself(json_object *v)
{
    json_object *tx, *mode, *branches;
    if (!json_object_object_get_ex(v, "transaction", &tx) ||
        !json_object_is_type(tx, json_type_object))
        return 0;
    if (json_object_object_get_ex(tx, "mode", &mode))
        return json_object_is_type(mode, json_type_string) &&
               (strcmp(json_object_get_string(mode), "saga") == 0 ||
                (strcmp(json_object_get_string(mode), "tcc") == 0 &&
                 json_object_object_get_ex(tx, "branches", &branches)));
    return json_object_object_get_ex(tx, "branches", &branches);   /* mode "tcc" by default */
}

static int s_route(dtx_gw_cfg_ctx_t *c, json_object *v, const char *path, dtx_gw_route_cfg_t *r,
                   int64_t max_body)
{
    static const char *const keys[] = { "name", "match", "pool", "split", "backup_pool",
        "rules", "timeout_ms", "validate", "fallback", "transaction", "auth", "transform",
        "cache", NULL };
    char p[256], q[300];
    if (dtx_gw_cfg_object(c, v, path) < 0 || dtx_gw_cfg_only(c, v, path, keys) < 0 ||
        dtx_gw_cfg_str(c, v, path, "name", 1, NULL, &r->name) < 0)
        return DTX_ECONFIG;
    dtx_gw_cfg_child(p, sizeof p, path, "name");
    if (!dtx_gw_cfg_name_ok(r->name))
        return dtx_gw_cfg_fail(c, p, "must be 1-64 of [A-Za-z0-9._-]");
    json_object *m;
    dtx_gw_cfg_child(p, sizeof p, path, "match");
    if (!json_object_object_get_ex(v, "match", &m))
        return dtx_gw_cfg_fail(c, p, "is required");
    static const char *const mkeys[] = { "method", "host", "path", "prefix",
                                         "path_case_insensitive", NULL };
    if (dtx_gw_cfg_object(c, m, p) < 0 || dtx_gw_cfg_only(c, m, p, mkeys) < 0 ||
        dtx_gw_cfg_strings(c, m, p, "method", &r->methods, &r->nmethods) < 0 ||
        dtx_gw_cfg_str(c, m, p, "host", 0, NULL, &r->host) < 0 ||
        dtx_gw_cfg_str(c, m, p, "path", 0, NULL, &r->path) < 0 ||
        dtx_gw_cfg_str(c, m, p, "prefix", 0, NULL, &r->prefix) < 0 ||
        dtx_gw_cfg_bool(c, m, p, "path_case_insensitive", 0, &r->path_case_insensitive) < 0)
        return DTX_ECONFIG;
    if (!r->path == !r->prefix)
        return dtx_gw_cfg_fail(c, p, "needs exactly one of path or prefix");
    if ((r->path ? r->path : r->prefix)[0] != '/') {
        dtx_gw_cfg_child(q, sizeof q, p, r->path ? "path" : "prefix");
        return dtx_gw_cfg_fail(c, q, "must start with /");
    }
    if (r->path) {
        /* Request paths are normalised before matching (core/gw_path.h):
         * an exact path in another form would never match. */
        size_t cap = 3 * strlen(r->path) + 2;
        char *norm = malloc(cap);
        int nrc = norm ? dtx_gw_path_normalize(r->path, norm, cap, NULL) : DTX_ENOMEM;
        int same = nrc >= 0 && strcmp(norm, r->path) == 0;
        free(norm);
        if (!same) {
            dtx_gw_cfg_child(q, sizeof q, p, "path");
            return dtx_gw_cfg_fail(c, q, "must be a normalised path (no //, ., .., "
                                         "trailing /, ; or needless %%XX)");
        }
    }
    char *pool = NULL;
    if (dtx_gw_cfg_str(c, v, path, "pool", 0, NULL, &pool) < 0)
        return DTX_ECONFIG;
    json_object *sp;
    int has_split = json_object_object_get_ex(v, "split", &sp);
    int saga = s_answers_itself(v);
    if (saga && (pool || has_split)) {
        free(pool);
        return dtx_gw_cfg_fail(c, path, "a saga route, or a tcc route with branches, answers "
                                        "by itself: no pool or split (its steps or branches "
                                        "name the participants)");
    }
    if (!saga && !pool == !has_split) {
        free(pool);
        return dtx_gw_cfg_fail(c, path, "needs exactly one of pool or split");
    }
    if (saga) {
        /* no upstream: the transaction filter answers (filters/gw_saga.c, gw_run.c) */
    } else if (pool) {
        r->split = calloc(1, sizeof *r->split);
        if (!r->split) {
            free(pool);
            return dtx_gw_cfg_fail(c, path, "out of memory");
        }
        r->split[0].pool = pool;
        r->split[0].weight = 1;
        r->nsplit = 1;
    } else {
        dtx_gw_cfg_child(p, sizeof p, path, "split");
        if (!json_object_is_type(sp, json_type_array) || json_object_array_length(sp) == 0)
            return dtx_gw_cfg_fail(c, p, "must be a non-empty array of {pool, weight}");
        size_t n = json_object_array_length(sp);
        r->split = calloc(n, sizeof *r->split);
        if (!r->split)
            return dtx_gw_cfg_fail(c, p, "out of memory");
        for (size_t i = 0; i < n; i++) {
            json_object *e = json_object_array_get_idx(sp, i);
            static const char *const skeys[] = { "pool", "weight", NULL };
            dtx_gw_cfg_index(q, sizeof q, p, i);
            r->nsplit++;
            if (dtx_gw_cfg_object(c, e, q) < 0 || dtx_gw_cfg_only(c, e, q, skeys) < 0 ||
                dtx_gw_cfg_str(c, e, q, "pool", 1, NULL, &r->split[i].pool) < 0 ||
                dtx_gw_cfg_int32(c, e, q, "weight", 0, 1000000, 1, &r->split[i].weight) < 0)
                return DTX_ECONFIG;
        }
    }
    if (dtx_gw_cfg_str(c, v, path, "backup_pool", 0, NULL, &r->backup_pool) < 0 ||
        dtx_gw_cfg_strings(c, v, path, "rules", &r->rules, &r->nrules) < 0 ||
        dtx_gw_cfg_int(c, v, path, "timeout_ms", 0, 3600000, 0, &r->timeout_ms) < 0)
        return DTX_ECONFIG;
    r->max_body = max_body;
    json_object *val;
    if (json_object_object_get_ex(v, "validate", &val)) {
        static const char *const vkeys[] = { "max_body", "required_headers", "content_types",
                                             "json_fields", NULL };
        dtx_gw_cfg_child(p, sizeof p, path, "validate");
        if (dtx_gw_cfg_object(c, val, p) < 0 || dtx_gw_cfg_only(c, val, p, vkeys) < 0 ||
            dtx_gw_cfg_int(c, val, p, "max_body", 0, (int64_t)1 << 40, max_body, &r->max_body) < 0 ||
            dtx_gw_cfg_strings(c, val, p, "required_headers", &r->required_headers,
                      &r->nrequired_headers) < 0 ||
            dtx_gw_cfg_strings(c, val, p, "content_types", &r->content_types, &r->ncontent_types) < 0)
            return DTX_ECONFIG;
        json_object *jf;
        if (json_object_object_get_ex(val, "json_fields", &jf)) {
            dtx_gw_cfg_child(q, sizeof q, p, "json_fields");
            if (dtx_gw_cfg_object(c, jf, q) < 0)
                return DTX_ECONFIG;
            r->json_fields = calloc((size_t)json_object_object_length(jf) + 1,
                                    sizeof *r->json_fields);
            if (!r->json_fields)
                return dtx_gw_cfg_fail(c, q, "out of memory");
            json_object_object_foreach(jf, fname, ftype) {
                char fp[400];
                dtx_gw_cfg_child(fp, sizeof fp, q, fname);
                const char *tn = json_object_is_type(ftype, json_type_string)
                                     ? json_object_get_string(ftype) : "";
                int t = -1;
                for (int k = 0; s_json_type_names[k]; k++)
                    if (strcmp(s_json_type_names[k], tn) == 0)
                        t = k;
                if (t < 0)
                    return dtx_gw_cfg_fail(c, fp, "must be one of any, string, number, integer, "
                                         "boolean, object, array");
                r->json_fields[r->njson_fields].name = strdup(fname);
                r->json_fields[r->njson_fields].type = (dtx_gw_json_type_t)t;
                r->njson_fields++;
            }
        }
    }
    json_object *fb;
    if (json_object_object_get_ex(v, "fallback", &fb)) {
        static const char *const fkeys[] = { "status", "body", "content_type", "pool", NULL };
        dtx_gw_cfg_child(p, sizeof p, path, "fallback");
        if (dtx_gw_cfg_object(c, fb, p) < 0 || dtx_gw_cfg_only(c, fb, p, fkeys) < 0 ||
            dtx_gw_cfg_int32(c, fb, p, "status", 0, 599, 0, &r->fallback_status) < 0 ||
            dtx_gw_cfg_str(c, fb, p, "body", 0, "", &r->fallback_body) < 0 ||
            dtx_gw_cfg_str(c, fb, p, "content_type", 0, "text/plain", &r->fallback_content_type) < 0 ||
            dtx_gw_cfg_str(c, fb, p, "pool", 0, NULL, &r->fallback_pool) < 0)
            return DTX_ECONFIG;
        if ((r->fallback_status > 0) == (r->fallback_pool != NULL))
            return dtx_gw_cfg_fail(c, p, "needs exactly one of status (a static answer) or pool");
        if (r->fallback_status && r->fallback_status < 100) {
            dtx_gw_cfg_child(q, sizeof q, p, "status");
            return dtx_gw_cfg_fail(c, q, "must be between 100 and 599");
        }
    }
    if (dtx_gw_cfg_transaction(c, v, path, r) < 0)
        return DTX_ECONFIG;
    if (dtx_gw_cfg_route_auth(c, v, path, r) < 0)
        return DTX_ECONFIG;
    if (dtx_gw_cfg_transform(c, v, path, r) < 0)
        return DTX_ECONFIG;
    return dtx_gw_cfg_cache(c, v, path, r);
}

static int s_array(dtx_gw_cfg_ctx_t *c, json_object *root, const char *key, int required,
                   json_object **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!json_object_object_get_ex(root, key, out)) {
        if (required)
            return dtx_gw_cfg_fail(c, key, "is required");
        return 0;
    }
    if (!json_object_is_type(*out, json_type_array))
        return dtx_gw_cfg_fail(c, key, "must be an array");
    *n = json_object_array_length(*out);
    return 0;
}

static int s_resolve(dtx_gw_cfg_ctx_t *c, dtx_gw_config_t *cfg)
{
    char p[256], q[300];
    for (int i = 0; i < cfg->npools; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(cfg->pools[i].name, cfg->pools[j].name) == 0) {
                snprintf(p, sizeof p, "pools[%d].name", i);
                return dtx_gw_cfg_fail(c, p, "duplicate pool name \"%s\"", cfg->pools[i].name);
            }
    for (int i = 0; i < cfg->nrules; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(cfg->rules[i].name, cfg->rules[j].name) == 0) {
                snprintf(p, sizeof p, "rules[%d].name", i);
                return dtx_gw_cfg_fail(c, p, "duplicate rule name \"%s\"", cfg->rules[i].name);
            }
    for (int i = 0; i < cfg->nroutes; i++) {
        dtx_gw_route_cfg_t *r = &cfg->routes[i];
        snprintf(p, sizeof p, "routes[%d]", i);
        for (int j = 0; j < i; j++)
            if (strcmp(r->name, cfg->routes[j].name) == 0) {
                dtx_gw_cfg_child(q, sizeof q, p, "name");
                return dtx_gw_cfg_fail(c, q, "duplicate route name \"%s\"", r->name);
            }
        int total = 0;
        for (int k = 0; k < r->nsplit; k++) {
            total += r->split[k].weight;
            if (dtx_gw_config_pool_index(cfg, r->split[k].pool) < 0) {
                if (r->nsplit == 1)
                    dtx_gw_cfg_child(q, sizeof q, p, "pool");
                else
                    snprintf(q, sizeof q, "%s.split[%d].pool", p, k);
                return dtx_gw_cfg_fail(c, q, "no pool named \"%s\"", r->split[k].pool);
            }
        }
        if (total <= 0 && r->transactional != DTX_GW_TXN_SAGA &&
            r->transactional != DTX_GW_TXN_RUN) {
            dtx_gw_cfg_child(q, sizeof q, p, "split");
            return dtx_gw_cfg_fail(c, q, "weights must not all be 0");
        }
        if (r->backup_pool && dtx_gw_config_pool_index(cfg, r->backup_pool) < 0) {
            dtx_gw_cfg_child(q, sizeof q, p, "backup_pool");
            return dtx_gw_cfg_fail(c, q, "no pool named \"%s\"", r->backup_pool);
        }
        if (r->fallback_pool && dtx_gw_config_pool_index(cfg, r->fallback_pool) < 0) {
            dtx_gw_cfg_child(q, sizeof q, p, "fallback.pool");
            return dtx_gw_cfg_fail(c, q, "no pool named \"%s\"", r->fallback_pool);
        }
        for (int k = 0; k < r->nrules; k++)
            if (dtx_gw_config_rule_index(cfg, r->rules[k]) < 0) {
                snprintf(q, sizeof q, "%s.rules[%d]", p, k);
                return dtx_gw_cfg_fail(c, q, "no rule named \"%s\"", r->rules[k]);
            }
        if (r->transactional && !cfg->dtxd_endpoint) {
            dtx_gw_cfg_child(q, sizeof q, p, "transaction");
            return dtx_gw_cfg_fail(c, q, "needs dtxd.endpoint");
        }
    }
    return 0;
}

dtx_gw_config_t *dtx_gw_config_parse(const char *text, size_t len, char *err, size_t errlen)
{
    dtx_gw_cfg_ctx_t c = { err, errlen };
    if (err && errlen)
        err[0] = '\0';
    json_tokener *tok = json_tokener_new();
    if (!tok) {
        dtx_gw_cfg_fail(&c, "", "out of memory");
        return NULL;
    }
    json_object *root = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    if (!root || jerr != json_tokener_success ||
        (size_t)json_tokener_get_parse_end(tok) < len) {
        size_t at = json_tokener_get_parse_end(tok);
        int only_space = 1;
        for (size_t i = at; root && jerr == json_tokener_success && i < len; i++)
            if (text[i] != ' ' && text[i] != '\n' && text[i] != '\r' && text[i] != '\t')
                only_space = 0;
        if (!root || jerr != json_tokener_success || !only_space) {
            dtx_gw_cfg_fail(&c, "", "not valid JSON at byte %zu: %s", at,
                   jerr != json_tokener_success ? json_tokener_error_desc(jerr)
                                                : "trailing data");
            json_object_put(root);
            json_tokener_free(tok);
            return NULL;
        }
    }
    json_tokener_free(tok);
    dtx_gw_config_t *cfg = calloc(1, sizeof *cfg);
    if (!cfg) {
        json_object_put(root);
        dtx_gw_cfg_fail(&c, "", "out of memory");
        return NULL;
    }
    static const char *const keys[] = { "listen", "admin", "dtxd", "max_body", "pools",
                                        "rules", "routes", "identity", "consumers", "jwt",
                                        "zone", "cluster", "server", NULL };
    json_object *arr, *o;
    size_t n;
    if (dtx_gw_cfg_object(&c, root, "") < 0 || dtx_gw_cfg_only(&c, root, "", keys) < 0 ||
        dtx_gw_cfg_str(&c, root, "", "listen", 0, "127.0.0.1:8080", &cfg->listen) < 0 ||
        dtx_gw_cfg_int(&c, root, "", "max_body", 0, (int64_t)1 << 40, 8 << 20, &cfg->max_body) < 0 ||
        dtx_gw_cfg_str(&c, root, "", "zone", 0, NULL, &cfg->zone) < 0)
        goto fail;
    if (cfg->zone && !dtx_gw_cfg_name_ok(cfg->zone)) {
        dtx_gw_cfg_fail(&c, "zone", "must be 1-64 of [A-Za-z0-9._-]");
        goto fail;
    }
    char why[160];
    struct sockaddr_in sa;
    if (dtx_gw_listen_parse(cfg->listen, &sa, why, sizeof why) < 0) {
        dtx_gw_cfg_fail(&c, "listen", "%s", why);
        goto fail;
    }
    if (json_object_object_get_ex(root, "admin", &o)) {
        static const char *const akeys[] = { "listen", "token", NULL };
        if (dtx_gw_cfg_object(&c, o, "admin") < 0 || dtx_gw_cfg_only(&c, o, "admin", akeys) < 0 ||
            dtx_gw_cfg_str(&c, o, "admin", "listen", 0, "127.0.0.1:9901", &cfg->admin_listen) < 0 ||
            dtx_gw_cfg_str(&c, o, "admin", "token", 0, NULL, &cfg->admin_token) < 0)
            goto fail;
    } else {
        cfg->admin_listen = strdup("127.0.0.1:9901");
    }
    if (dtx_gw_listen_parse(cfg->admin_listen, &sa, why, sizeof why) < 0) {
        dtx_gw_cfg_fail(&c, "admin.listen", "%s", why);
        goto fail;
    }
    if (cfg->admin_token && dtx_gw_admin_token_check(cfg->admin_token, why, sizeof why) < 0) {
        dtx_gw_cfg_fail(&c, "admin.token", "%s", why);
        goto fail;
    }
    if (dtx_gw_cfg_server(&c, root, cfg) < 0 ||
        dtx_gw_cfg_dtxd(&c, root, cfg) < 0 || dtx_gw_cfg_identity(&c, root, cfg) < 0 ||
        dtx_gw_cfg_cluster(&c, root, cfg) < 0)
        goto fail;
    char p[64];
    if (s_array(&c, root, "pools", 1, &arr, &n) < 0)
        goto fail;
    cfg->pools = calloc(n ? n : 1, sizeof *cfg->pools);
    for (size_t i = 0; cfg->pools && i < n; i++) {
        snprintf(p, sizeof p, "pools[%zu]", i);
        cfg->npools++;
        if (s_pool(&c, json_object_array_get_idx(arr, i), p, &cfg->pools[i]) < 0)
            goto fail;
    }
    if (s_array(&c, root, "rules", 0, &arr, &n) < 0)
        goto fail;
    cfg->rules = calloc(n ? n : 1, sizeof *cfg->rules);
    for (size_t i = 0; cfg->rules && i < n; i++) {
        snprintf(p, sizeof p, "rules[%zu]", i);
        cfg->nrules++;
        if (dtx_gw_cfg_rule(&c, json_object_array_get_idx(arr, i), p, &cfg->rules[i]) < 0)
            goto fail;
    }
    if (s_array(&c, root, "routes", 1, &arr, &n) < 0)
        goto fail;
    cfg->routes = calloc(n ? n : 1, sizeof *cfg->routes);
    for (size_t i = 0; cfg->routes && i < n; i++) {
        snprintf(p, sizeof p, "routes[%zu]", i);
        cfg->nroutes++;
        if (s_route(&c, json_object_array_get_idx(arr, i), p, &cfg->routes[i],
                    cfg->max_body) < 0)
            goto fail;
    }
    if (!cfg->pools || !cfg->rules || !cfg->routes) {
        dtx_gw_cfg_fail(&c, "", "out of memory");
        goto fail;
    }
    if (s_resolve(&c, cfg) < 0 || dtx_gw_cfg_dtxd_check(&c, cfg) < 0 ||
        dtx_gw_cfg_auth_check(&c, cfg) < 0 || dtx_gw_cfg_cluster_check(&c, cfg) < 0)
        goto fail;
    cfg->text = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
                                                              JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(root);
    return cfg;
fail:
    json_object_put(root);
    dtx_gw_config_destroy(&cfg);
    return NULL;
}

dtx_gw_config_t *dtx_gw_config_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (len < cap)
            break;
        char *bigger = cap < ((size_t)64 << 20) ? realloc(buf, cap * 2) : NULL;
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    fclose(f);
    if (!buf) {
        snprintf(err, errlen, "%s: too large or out of memory", path);
        return NULL;
    }
    char inner[DTX_GW_ERR_SIZE];
    dtx_gw_config_t *cfg = dtx_gw_config_parse(buf, len, inner, sizeof inner);
    free(buf);
    if (!cfg)
        snprintf(err, errlen, "%s: %s", path, inner);
    return cfg;
}

