/*
 * gw_config_rules.c — the "rules" section of the configuration: rate
 * limits, concurrency limits, breakers and adaptive rules, with their
 * defaults (docs/gateway.md lists them).
 */
#include <stdlib.h>
#include <string.h>

#include "dtx/types.h"
#include "config/gw_config_json.h"

int dtx_gw_cfg_key(dtx_gw_cfg_ctx_t *c, json_object *v, const char *path, dtx_gw_rule_cfg_t *r,
                 const char *def)
{
    char *key = NULL, p[256];
    if (dtx_gw_cfg_str(c, v, path, "key", 0, def, &key) < 0)
        return DTX_ECONFIG;
    dtx_gw_cfg_child(p, sizeof p, path, "key");
    int rc = 0;
    if (strcmp(key, "global") == 0) r->key = DTX_GW_KEY_GLOBAL;
    else if (strcmp(key, "route") == 0) r->key = DTX_GW_KEY_ROUTE;
    else if (strcmp(key, "client_ip") == 0) r->key = DTX_GW_KEY_CLIENT_IP;
    else if (strcmp(key, "consumer") == 0) r->key = DTX_GW_KEY_CONSUMER;
    else if (strncmp(key, "header:", 7) == 0 && key[7]) {
        r->key = DTX_GW_KEY_HEADER;
        r->key_header = strdup(key + 7);
    } else rc = dtx_gw_cfg_fail(c, p, "must be global, route, client_ip, consumer or header:NAME");
    free(key);
    return rc;
}

int dtx_gw_cfg_rule(dtx_gw_cfg_ctx_t *c, json_object *v, const char *path, dtx_gw_rule_cfg_t *r)
{
    static const char *const keys[] = { "name", "type", "key", "max_keys", "algorithm", "rate",
        "per", "burst", "delay", "nodelay", "warm_up_ms", "cold_factor", "max_wait_ms", "max",
        "queue", "error_ratio", "slow_ratio", "slow_ms", "consecutive_failures", "min_requests",
        "window_ms", "open_ms", "probe_timeout_ms", "failure_statuses", "signal",
        "initial_limit", "min_limit", "max_limit", "tolerance", "smoothing", "queue_size",
        "window_samples", "long_window", "dtxd_max_inflight", "scope", NULL };
    char p[256], *type = NULL, *s = NULL;
    int64_t x;
    if (dtx_gw_cfg_object(c, v, path) < 0 || dtx_gw_cfg_only(c, v, path, keys) < 0 ||
        dtx_gw_cfg_str(c, v, path, "name", 1, NULL, &r->name) < 0)
        return DTX_ECONFIG;
    dtx_gw_cfg_child(p, sizeof p, path, "name");
    if (!dtx_gw_cfg_name_ok(r->name))
        return dtx_gw_cfg_fail(c, p, "must be 1-64 of [A-Za-z0-9._-]");
    if (dtx_gw_cfg_str(c, v, path, "type", 1, NULL, &type) < 0)
        return DTX_ECONFIG;
    dtx_gw_cfg_child(p, sizeof p, path, "type");
    int rc = 0;
    if (dtx_gw_cfg_int(c, v, path, "max_keys", 1, 10000000, 100000, &x) < 0) {
        free(type);
        return DTX_ECONFIG;
    }
    r->max_keys = (size_t)x;
    if (strcmp(type, "rate_limit") == 0) {
        r->kind = DTX_GW_RULE_RATE;
        if (dtx_gw_cfg_key(c, v, path, r, "route") < 0 ||
            dtx_gw_cfg_str(c, v, path, "algorithm", 0, "leaky_bucket", &s) < 0 ||
            dtx_gw_cfg_num(c, v, path, "rate", 1e-3, 1e9, 0, &r->rate) < 0)
            goto fail;
        dtx_gw_cfg_child(p, sizeof p, path, "algorithm");
        if (strcmp(s, "leaky_bucket") == 0) r->algorithm = DTX_GW_ALG_LEAKY;
        else if (strcmp(s, "token_bucket") == 0) r->algorithm = DTX_GW_ALG_TOKEN;
        else if (strcmp(s, "warm_up") == 0) r->algorithm = DTX_GW_ALG_WARMUP;
        else if (strcmp(s, "queue") == 0) r->algorithm = DTX_GW_ALG_QUEUE;
        else { rc = dtx_gw_cfg_fail(c, p, "must be leaky_bucket, token_bucket, warm_up or queue"); goto out; }
        free(s);
        s = NULL;
        if (r->rate <= 0) {
            dtx_gw_cfg_child(p, sizeof p, path, "rate");
            rc = dtx_gw_cfg_fail(c, p, "is required (requests per second, or per minute with per \"m\")");
            goto out;
        }
        if (dtx_gw_cfg_str(c, v, path, "per", 0, "s", &s) < 0)
            goto fail;
        dtx_gw_cfg_child(p, sizeof p, path, "per");
        if (strcmp(s, "s") == 0) r->per_s = 1;
        else if (strcmp(s, "m") == 0) r->per_s = 60;
        else { rc = dtx_gw_cfg_fail(c, p, "must be \"s\" or \"m\""); goto out; }
        if (dtx_gw_cfg_int(c, v, path, "burst", 0, 100000000, 0, &r->burst) < 0 ||
            dtx_gw_cfg_int(c, v, path, "delay", 0, 100000000, 0, &r->delay) < 0 ||
            dtx_gw_cfg_bool(c, v, path, "nodelay", 0, &r->nodelay) < 0 ||
            dtx_gw_cfg_int(c, v, path, "warm_up_ms", 1000, 3600000, 10000, &r->warm_up_ms) < 0 ||
            dtx_gw_cfg_int32(c, v, path, "cold_factor", 2, 100, 3, &r->cold_factor) < 0 ||
            dtx_gw_cfg_int(c, v, path, "max_wait_ms", 0, 600000, 500, &r->max_wait_ms) < 0)
            goto fail;
        if (r->delay > r->burst) {
            dtx_gw_cfg_child(p, sizeof p, path, "delay");
            rc = dtx_gw_cfg_fail(c, p, "must not exceed burst");
            goto out;
        }
    } else if (strcmp(type, "concurrency") == 0) {
        r->kind = DTX_GW_RULE_CONCURRENCY;
        if (dtx_gw_cfg_key(c, v, path, r, "route") < 0 ||
            dtx_gw_cfg_int32(c, v, path, "max", 1, 10000000, 0, &r->max) < 0 ||
            dtx_gw_cfg_int32(c, v, path, "queue", 0, 10000000, 0, &r->queue) < 0 ||
            dtx_gw_cfg_int(c, v, path, "max_wait_ms", 0, 600000, 1000, &r->max_wait_ms) < 0)
            goto fail;
        if (r->max <= 0) {
            dtx_gw_cfg_child(p, sizeof p, path, "max");
            rc = dtx_gw_cfg_fail(c, p, "is required");
            goto out;
        }
    } else if (strcmp(type, "breaker") == 0) {
        dtx_gw_breaker_params_t *b = &r->breaker;
        int64_t slow_ms, window_ms, open_ms, probe_ms;
        r->kind = DTX_GW_RULE_BREAKER;
        if (dtx_gw_cfg_key(c, v, path, r, "route") < 0 ||
            dtx_gw_cfg_num(c, v, path, "error_ratio", 0, 1, 0.5, &b->error_ratio) < 0 ||
            dtx_gw_cfg_num(c, v, path, "slow_ratio", 0, 1, 0, &b->slow_ratio) < 0 ||
            dtx_gw_cfg_int(c, v, path, "slow_ms", 1, 3600000, 1000, &slow_ms) < 0 ||
            dtx_gw_cfg_int32(c, v, path, "consecutive_failures", 0, 1000000, 0,
                    &b->consecutive_failures) < 0 ||
            dtx_gw_cfg_int32(c, v, path, "min_requests", 1, 1000000, 10, &b->min_requests) < 0 ||
            dtx_gw_cfg_int(c, v, path, "window_ms", 100, 3600000, 10000, &window_ms) < 0 ||
            dtx_gw_cfg_int(c, v, path, "open_ms", 1, 3600000, 5000, &open_ms) < 0 ||
            dtx_gw_cfg_int(c, v, path, "probe_timeout_ms", 1, 3600000, 0, &probe_ms) < 0 ||
            dtx_gw_cfg_statuses(c, v, path, "failure_statuses", "[\"5xx\"]", &r->failure_statuses) < 0)
            goto fail;
        b->slow_us = slow_ms * 1000;
        b->window_us = window_ms * 1000;
        b->open_us = open_ms * 1000;
        b->probe_timeout_us = (probe_ms ? probe_ms : 30000) * 1000;
    } else if (strcmp(type, "adaptive") == 0) {
        dtx_gw_gradient_params_t *g = &r->gradient;
        r->kind = DTX_GW_RULE_ADAPTIVE;
        if (dtx_gw_cfg_key(c, v, path, r, "route") < 0 ||
            dtx_gw_cfg_str(c, v, path, "signal", 0, "latency", &s) < 0)
            goto fail;
        dtx_gw_cfg_child(p, sizeof p, path, "signal");
        if (strcmp(s, "latency") == 0) r->signal = DTX_GW_SIGNAL_LATENCY;
        else if (strcmp(s, "dtxd_inflight") == 0) r->signal = DTX_GW_SIGNAL_DTXD_INFLIGHT;
        else { rc = dtx_gw_cfg_fail(c, p, "must be latency or dtxd_inflight"); goto out; }
        int64_t wms;
        if (dtx_gw_cfg_num(c, v, path, "initial_limit", 1, 1e6, 20, &g->initial_limit) < 0 ||
            dtx_gw_cfg_num(c, v, path, "min_limit", 1, 1e6, 4, &g->min_limit) < 0 ||
            dtx_gw_cfg_num(c, v, path, "max_limit", 1, 1e6, 1000, &g->max_limit) < 0 ||
            dtx_gw_cfg_num(c, v, path, "tolerance", 1, 100, 1.5, &g->tolerance) < 0 ||
            dtx_gw_cfg_num(c, v, path, "smoothing", 0.01, 1, 0.2, &g->smoothing) < 0 ||
            dtx_gw_cfg_num(c, v, path, "queue_size", 0, 1e6, 4, &g->queue_size) < 0 ||
            dtx_gw_cfg_int32(c, v, path, "window_samples", 1, 1000000, 50, &g->window_samples) < 0 ||
            dtx_gw_cfg_int(c, v, path, "window_ms", 1, 600000, 1000, &wms) < 0 ||
            dtx_gw_cfg_int32(c, v, path, "long_window", 1, 100000, 20, &g->long_window) < 0 ||
            dtx_gw_cfg_int(c, v, path, "dtxd_max_inflight", 0, 100000000, 0, &r->dtxd_max_inflight) < 0)
            goto fail;
        g->window_us = wms * 1000;
        if (r->signal == DTX_GW_SIGNAL_DTXD_INFLIGHT && r->dtxd_max_inflight <= 0) {
            dtx_gw_cfg_child(p, sizeof p, path, "dtxd_max_inflight");
            rc = dtx_gw_cfg_fail(c, p, "must be > 0 with signal \"dtxd_inflight\" (dtxd's "
                                       "transactions in flight at which requests are shed)");
            goto out;
        }
        if (g->min_limit > g->max_limit) {
            dtx_gw_cfg_child(p, sizeof p, path, "min_limit");
            rc = dtx_gw_cfg_fail(c, p, "must not exceed max_limit");
            goto out;
        }
    } else {
        rc = dtx_gw_cfg_fail(c, p, "must be rate_limit, concurrency, breaker or adaptive");
        goto out;
    }
    if (dtx_gw_cfg_rule_scope(c, v, path, r) < 0)
        goto fail;
    r->sig = dtx_gw_cfg_sig(v);
    goto out;
fail:
    rc = -1;
out:
    free(type);
    free(s);
    return rc;
}

