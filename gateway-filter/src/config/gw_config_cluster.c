/*
 * gw_config_cluster.c — the "cluster" section of the configuration (the
 * Redis that holds the shared state of rules with scope "cluster") and
 * the rules' "scope" member, with the checks that tie them together.
 * Defaults and meanings are in docs/gateway.md ("Cluster-wide limits").
 *
 * The section is bound at start: a reload that changes it is refused
 * (config/gw_config_admin.c names the field).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dtx/types.h"
#include "config/gw_config_json.h"

/* "host:port" with a port 1..65535, or a socket path (absolute, or
 * "unix:" then a path). */
static int s_redis_ok(const char *a)
{
    if (strncmp(a, "unix:", 5) == 0)
        a += 5;
    if (a[0] == '/')
        return strlen(a) < 100;
    const char *colon = strrchr(a, ':');
    if (!colon || colon == a || !colon[1])
        return 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    return *end == '\0' && port >= 1 && port <= 65535;
}

int dtx_gw_cfg_cluster(dtx_gw_cfg_ctx_t *c, json_object *root, dtx_gw_config_t *cfg)
{
    static const char *const keys[] = { "redis", "username", "password", "key_prefix",
        "instance", "connect_timeout_ms", "timeout_ms", "retry_ms", "sync_ms", "slice_ms",
        "idle_ms", "lease_ms", "heartbeat_ms", "failure", "tls", NULL };
    json_object *o;
    if (!json_object_object_get_ex(root, "cluster", &o))
        return 0;
    const char *path = "cluster";
    char p[128], *failure = NULL;
    dtx_gw_cluster_cfg_t *k = calloc(1, sizeof *k);
    if (!k)
        return dtx_gw_cfg_fail(c, path, "out of memory");
    cfg->cluster = k;
    if (dtx_gw_cfg_object(c, o, path) < 0 || dtx_gw_cfg_only(c, o, path, keys) < 0)
        return DTX_ECONFIG;
    if (json_object_object_get_ex(o, "tls", NULL))
        return dtx_gw_cfg_fail(c, "cluster.tls", "is not supported: Debian 12's libhiredis "
                               "(0.14) has no TLS; reach Redis over a unix socket or a local "
                               "TLS tunnel");
    if (dtx_gw_cfg_str(c, o, path, "redis", 1, NULL, &k->redis) < 0 ||
        dtx_gw_cfg_str(c, o, path, "username", 0, NULL, &k->username) < 0 ||
        dtx_gw_cfg_str(c, o, path, "password", 0, NULL, &k->password) < 0 ||
        dtx_gw_cfg_str(c, o, path, "key_prefix", 0, "dtxgw:", &k->key_prefix) < 0 ||
        dtx_gw_cfg_str(c, o, path, "instance", 0, NULL, &k->instance) < 0 ||
        dtx_gw_cfg_int(c, o, path, "connect_timeout_ms", 1, 60000, 200, &k->connect_timeout_ms) < 0 ||
        dtx_gw_cfg_int(c, o, path, "timeout_ms", 1, 60000, 250, &k->timeout_ms) < 0 ||
        dtx_gw_cfg_int(c, o, path, "retry_ms", 10, 60000, 100, &k->retry_ms) < 0 ||
        dtx_gw_cfg_int(c, o, path, "sync_ms", 1, 1000, 5, &k->sync_ms) < 0 ||
        dtx_gw_cfg_int(c, o, path, "slice_ms", 1, 10000, 20, &k->slice_ms) < 0 ||
        dtx_gw_cfg_int(c, o, path, "idle_ms", 10, 600000, 1000, &k->idle_ms) < 0 ||
        dtx_gw_cfg_int(c, o, path, "lease_ms", 100, 3600000, 2000, &k->lease_ms) < 0 ||
        dtx_gw_cfg_int(c, o, path, "heartbeat_ms", 10, 600000, 250, &k->heartbeat_ms) < 0 ||
        dtx_gw_cfg_str(c, o, path, "failure", 0, "fail_open", &failure) < 0) {
        free(failure);
        return DTX_ECONFIG;
    }
    int rc = 0;
    if (strcmp(failure, "fail_open") == 0) k->fail_closed = 0;
    else if (strcmp(failure, "fail_closed") == 0) k->fail_closed = 1;
    else rc = dtx_gw_cfg_fail(c, "cluster.failure", "must be fail_open or fail_closed");
    free(failure);
    if (rc < 0)
        return rc;
    if (!s_redis_ok(k->redis))
        return dtx_gw_cfg_fail(c, "cluster.redis", "must be host:port or a unix socket path "
                               "(\"/run/redis.sock\" or \"unix:/run/redis.sock\")");
    if (k->heartbeat_ms * 2 > k->lease_ms)
        return dtx_gw_cfg_fail(c, "cluster.heartbeat_ms", "must be at most half of lease_ms "
                               "(an instance must renew before it is counted gone)");
    if (k->timeout_ms >= k->lease_ms) {
        dtx_gw_cfg_child(p, sizeof p, path, "timeout_ms");
        return dtx_gw_cfg_fail(c, p, "must be below lease_ms");
    }
    if (!k->instance) {
        char host[128] = "gateway";
        gethostname(host, sizeof host - 1);
        host[sizeof host - 1] = '\0';
        char id[200];
        snprintf(id, sizeof id, "%s:%ld", host, (long)getpid());
        k->instance = strdup(id);
    } else if (!dtx_gw_cfg_name_ok(k->instance)) {
        return dtx_gw_cfg_fail(c, "cluster.instance", "must be 1-64 of [A-Za-z0-9._-]");
    }
    if (strlen(k->key_prefix) > 64)
        return dtx_gw_cfg_fail(c, "cluster.key_prefix", "must be at most 64 characters");
    k->sig = dtx_gw_cfg_sig(o);
    if (!k->instance || !k->sig)
        return dtx_gw_cfg_fail(c, path, "out of memory");
    return 0;
}

int dtx_gw_cfg_rule_scope(dtx_gw_cfg_ctx_t *c, json_object *v, const char *path,
                          dtx_gw_rule_cfg_t *r)
{
    char *scope = NULL, p[256];
    if (dtx_gw_cfg_str(c, v, path, "scope", 0, "instance", &scope) < 0)
        return DTX_ECONFIG;
    dtx_gw_cfg_child(p, sizeof p, path, "scope");
    int rc = 0;
    if (strcmp(scope, "instance") == 0)
        r->cluster = 0;
    else if (strcmp(scope, "cluster") == 0)
        r->cluster = 1;
    else
        rc = dtx_gw_cfg_fail(c, p, "must be instance or cluster");
    free(scope);
    if (rc < 0 || !r->cluster)
        return rc;
    if (r->kind == DTX_GW_RULE_RATE) {
        if (r->algorithm != DTX_GW_ALG_LEAKY && r->algorithm != DTX_GW_ALG_TOKEN)
            return dtx_gw_cfg_fail(c, p, "cluster needs algorithm leaky_bucket or token_bucket");
        if (r->algorithm == DTX_GW_ALG_LEAKY && r->delay > 0 && !r->nodelay) {
            dtx_gw_cfg_child(p, sizeof p, path, "delay");
            return dtx_gw_cfg_fail(c, p, "is not supported with scope cluster (a cluster "
                                   "rate rule admits or refuses, it never delays)");
        }
    } else if (r->kind == DTX_GW_RULE_CONCURRENCY) {
        if (r->queue > 0) {
            dtx_gw_cfg_child(p, sizeof p, path, "queue");
            return dtx_gw_cfg_fail(c, p, "is not supported with scope cluster (a request "
                                   "never waits on a shared slot)");
        }
    } else {
        return dtx_gw_cfg_fail(c, p, "cluster applies to rate_limit and concurrency rules only");
    }
    return 0;
}

int dtx_gw_cfg_cluster_check(dtx_gw_cfg_ctx_t *c, const dtx_gw_config_t *cfg)
{
    if (cfg->cluster)
        return 0;
    for (int i = 0; i < cfg->nrules; i++) {
        if (!cfg->rules[i].cluster)
            continue;
        char p[96];
        snprintf(p, sizeof p, "rules[%d].scope", i);
        return dtx_gw_cfg_fail(c, p, "cluster needs a top-level \"cluster\" section "
                               "naming Redis");
    }
    return 0;
}
