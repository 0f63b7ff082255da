/*
 * gw_config_json.h — helpers shared by the configuration parser's files
 * (gw_config.c, gw_config_rules.c, gw_config_dtxd.c, gw_config_json.c); not a
 * public API.
 *
 * Each reads one member of a JSON object, checks it and stores it; on a
 * problem it writes "<json path>: <what is wrong>" into the context's
 * error buffer and returns DTX_ECONFIG. A missing optional member takes its
 * default. Strings returned are strdup'ed (the config owns them).
 */
#ifndef DTX_GW_CONFIG_JSON_H
#define DTX_GW_CONFIG_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "config/gw_config.h"

typedef struct dtx_gw_cfg_ctx {
    char  *err;     /* where the first problem goes */
    size_t errlen;
} dtx_gw_cfg_ctx_t;

/* Records a problem at path; returns DTX_ECONFIG. */
int dtx_gw_cfg_fail(dtx_gw_cfg_ctx_t *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* path + "." + key / path + "[i]" into out. */
void dtx_gw_cfg_child(char *out, size_t cap, const char *path, const char *key);
void dtx_gw_cfg_index(char *out, size_t cap, const char *path, size_t i);
/* Every member of obj is in allowed (NULL-terminated), else "unknown field". */
int dtx_gw_cfg_only(dtx_gw_cfg_ctx_t *c, json_object *obj, const char *path,
                    const char *const *allowed);
int dtx_gw_cfg_object(dtx_gw_cfg_ctx_t *c, json_object *v, const char *path);
int dtx_gw_cfg_str(dtx_gw_cfg_ctx_t *c, json_object *obj, const char *path, const char *key,
                   int required, const char *def, char **out);
int dtx_gw_cfg_int(dtx_gw_cfg_ctx_t *c, json_object *obj, const char *path, const char *key,
                   int64_t lo, int64_t hi, int64_t def, int64_t *out);
int dtx_gw_cfg_int32(dtx_gw_cfg_ctx_t *c, json_object *obj, const char *path, const char *key,
                     int lo, int hi, int def, int *out);
int dtx_gw_cfg_num(dtx_gw_cfg_ctx_t *c, json_object *obj, const char *path, const char *key,
                   double lo, double hi, double def, double *out);
int dtx_gw_cfg_bool(dtx_gw_cfg_ctx_t *c, json_object *obj, const char *path, const char *key,
                    int def, int *out);
/* An array of non-empty strings (one string counts as a list of one). */
int dtx_gw_cfg_strings(dtx_gw_cfg_ctx_t *c, json_object *obj, const char *path,
                       const char *key, char ***out, int *n);
/* Statuses: [200, "2xx", "500-504"]; def is the JSON used when absent. */
int dtx_gw_cfg_statuses(dtx_gw_cfg_ctx_t *c, json_object *obj, const char *path,
                        const char *key, const char *def, dtx_gw_statuses_t *out);
/* Canonical JSON of v (identity of a pool or rule across swaps). */
char *dtx_gw_cfg_sig(json_object *v);
/* 1..64 of [A-Za-z0-9._-]. */
int dtx_gw_cfg_name_ok(const char *s);
/* One entry of "rules" (gw_config_rules.c). */
int dtx_gw_cfg_rule(dtx_gw_cfg_ctx_t *c, json_object *v, const char *path,
                    dtx_gw_rule_cfg_t *r);
/* The "dtxd" section of root into cfg, defaults included (gw_config_dtxd.c). */
int dtx_gw_cfg_dtxd(dtx_gw_cfg_ctx_t *c, json_object *root, dtx_gw_config_t *cfg);
/* The "server" section of root into cfg, defaults included
 * (gw_config_server.c). */
int dtx_gw_cfg_server(dtx_gw_cfg_ctx_t *c, json_object *root, dtx_gw_config_t *cfg);
/* After rules are read: every rule with signal dtxd_inflight has dtxd.admin. */
int dtx_gw_cfg_dtxd_check(dtx_gw_cfg_ctx_t *c, const dtx_gw_config_t *cfg);

/* The identity sections of root ("identity", "consumers", "jwt") into cfg
 * (gw_config_auth.c); before routes. */
int dtx_gw_cfg_identity(dtx_gw_cfg_ctx_t *c, json_object *root, dtx_gw_config_t *cfg);
/* A route's "auth" into r. */
int dtx_gw_cfg_route_auth(dtx_gw_cfg_ctx_t *c, json_object *v, const char *path,
                          dtx_gw_route_cfg_t *r);
/* A route's "transform" into r (gw_config_transform.c; freed by
 * dtx_gw_config_destroy). */
int dtx_gw_cfg_transform(dtx_gw_cfg_ctx_t *c, json_object *v, const char *path,
                         dtx_gw_route_cfg_t *r);
/* A route's "cache" into r (gw_config_cache.c; freed by
 * dtx_gw_config_destroy). */
int dtx_gw_cfg_cache(dtx_gw_cfg_ctx_t *c, json_object *v, const char *path,
                     dtx_gw_route_cfg_t *r);
/* A route's "transaction" with mode "saga" (tx, at path) into r
 * (gw_config_txn.c; freed by dtx_gw_config_destroy). */
/* A route's "transaction" (none: 0), mode "tcc" or "saga" (gw_config_txn.c). */
int dtx_gw_cfg_transaction(dtx_gw_cfg_ctx_t *c, json_object *v, const char *path,
                           dtx_gw_route_cfg_t *r);
int dtx_gw_cfg_saga(dtx_gw_cfg_ctx_t *c, json_object *tx, const char *path,
                    dtx_gw_route_cfg_t *r);
/* After routes and rules: names resolved (route -> jwt, consumer -> route). */
/* The "cluster" section and the check of rules with scope "cluster"
 * (gw_config_cluster.c). */
int dtx_gw_cfg_cluster(dtx_gw_cfg_ctx_t *c, json_object *root, dtx_gw_config_t *cfg);
/* A rule's "scope": "instance" (default) or "cluster" (gw_config_cluster.c). */
int dtx_gw_cfg_rule_scope(dtx_gw_cfg_ctx_t *c, json_object *v, const char *path,
                          dtx_gw_rule_cfg_t *r);
int dtx_gw_cfg_cluster_check(dtx_gw_cfg_ctx_t *c, const dtx_gw_config_t *cfg);
int dtx_gw_cfg_auth_check(dtx_gw_cfg_ctx_t *c, dtx_gw_config_t *cfg);

#endif
