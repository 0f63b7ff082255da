/* gw_metrics.c — the Prometheus exposition (gw_metrics.h). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gw_cache.h"
#include "filters/gw_route.h"
#include "core/gw_jwks.h"
#include "core/gw_jwt.h"
#include "filters/gw_cluster.h"
#include "filters/gw_rules.h"
#include "core/gw_clock.h"
#include "limits/gw_dtxd_reading.h"
#include "app/gw_metrics.h"
#include "app/gw_pools_view.h"
#include "runtime/gw_runtime.h"
#include "upstream/gw_zmq.h"

/* ---------------- rendering ---------------- */

typedef struct {
    char  *buf;
    size_t len, cap;
    int    failed;
} s_out_t;

__attribute__((format(printf, 2, 3)))
static void s_put(s_out_t *o, const char *fmt, ...)
{
    if (o->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->failed = 1;
            return;
        }
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = (o->cap + (size_t)n) * 2;
        char *b = realloc(o->buf, cap);
        if (!b) {
            o->failed = 1;
            return;
        }
        o->buf = b;
        o->cap = cap;
    }
}

typedef struct {
    s_out_t        *o;
    dtx_gw_rule_t  *rule;
    int             open;   /* breaker keys not closed (open or probing) */
} s_rule_ctx_t;

static void s_rule_key(const char *key, dtx_gw_rule_state_t *s, void *arg)
{
    s_rule_ctx_t *c = arg;
    if (c->rule->cfg.kind == DTX_GW_RULE_BREAKER) {
        c->open += s->breaker.state != DTX_GW_BREAKER_CLOSED;
        s_put(c->o, "dtx_gw_breaker_state{rule=\"%s\",key=\"%s\"} %d\n"
                    "dtx_gw_breaker_opened_total{rule=\"%s\",key=\"%s\"} %llu\n",
              c->rule->cfg.name, key, (int)s->breaker.state, c->rule->cfg.name, key,
              (unsigned long long)s->breaker.opened_total);
    } else if (c->rule->cfg.kind == DTX_GW_RULE_ADAPTIVE &&
             c->rule->cfg.signal == DTX_GW_SIGNAL_DTXD_INFLIGHT)  /* no limit of its own */
        s_put(c->o, "dtx_gw_adaptive_in_flight{rule=\"%s\",key=\"%s\"} %d\n",
              c->rule->cfg.name, key, s->adaptive.in_flight);
    else if (c->rule->cfg.kind == DTX_GW_RULE_ADAPTIVE)
        s_put(c->o, "dtx_gw_adaptive_limit{rule=\"%s\",key=\"%s\"} %.2f\n"
                    "dtx_gw_adaptive_in_flight{rule=\"%s\",key=\"%s\"} %d\n",
              c->rule->cfg.name, key, s->adaptive.gradient.limit, c->rule->cfg.name, key,
              s->adaptive.in_flight);
    else if (c->rule->cfg.kind == DTX_GW_RULE_CONCURRENCY)
        s_put(c->o, "dtx_gw_concurrency_in_flight{rule=\"%s\",key=\"%s\"} %d\n",
              c->rule->cfg.name, key, s->conc.in_flight);
}

static void s_route(const dtx_gw_route_stats_t *r, void *arg)
{
    static const char *const cls[] = { "none", "1xx", "2xx", "3xx", "4xx", "5xx" };
    s_out_t *o = arg;
    s_put(o, "dtx_gw_requests_total{route=\"%s\"} %llu\n", r->name,
          (unsigned long long)atomic_load(&r->requests));
    for (int k = 0; k < 6; k++)
        if (k != 1)
            s_put(o, "dtx_gw_responses_total{route=\"%s\",class=\"%s\"} %llu\n", r->name,
                  cls[k], (unsigned long long)atomic_load(&r->responses[k]));
    s_put(o, "dtx_gw_rejected_total{route=\"%s\"} %llu\n"
             "dtx_gw_invalid_total{route=\"%s\"} %llu\n"
             "dtx_gw_fallback_total{route=\"%s\"} %llu\n"
             "dtx_gw_upstream_errors_total{route=\"%s\"} %llu\n"
             "dtx_gw_txn_total{route=\"%s\",outcome=\"committed\"} %llu\n"
             "dtx_gw_txn_total{route=\"%s\",outcome=\"rolled_back\"} %llu\n"
             "dtx_gw_txn_total{route=\"%s\",outcome=\"begin_failed\"} %llu\n",
          r->name, (unsigned long long)atomic_load(&r->rejected),
          r->name, (unsigned long long)atomic_load(&r->invalid),
          r->name, (unsigned long long)atomic_load(&r->fallbacks),
          r->name, (unsigned long long)atomic_load(&r->upstream_errors),
          r->name, (unsigned long long)atomic_load(&r->txn_committed),
          r->name, (unsigned long long)atomic_load(&r->txn_rolled_back),
          r->name, (unsigned long long)atomic_load(&r->txn_begin_failed));
    for (int k = 0; k < DTX_GW_SAGA_NOUTCOMES; k++)
        s_put(o, "dtx_gw_saga_total{route=\"%s\",outcome=\"%s\"} %llu\n", r->name,
              dtx_gw_saga_outcome_name(k), (unsigned long long)atomic_load(&r->saga[k]));
    for (int k = 1; k < DTX_GW_AUTH_NREASONS; k++)
        s_put(o, "dtx_gw_auth_failures_total{route=\"%s\",reason=\"%s\"} %llu\n", r->name,
              dtx_gw_auth_reason(k), (unsigned long long)atomic_load(&r->auth_failures[k]));
    for (int k = 0; k < DTX_GW_LATENCY_BUCKETS; k++)
        s_put(o, "dtx_gw_upstream_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n", r->name,
              (double)dtx_gw_stats_bucket_us(k) / 1e6,
              (unsigned long long)atomic_load(&r->latency[k]));
    s_put(o, "dtx_gw_upstream_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n"
             "dtx_gw_upstream_seconds_sum{route=\"%s\"} %.6f\n"
             "dtx_gw_upstream_seconds_count{route=\"%s\"} %llu\n",
          r->name, (unsigned long long)atomic_load(&r->latency_count), r->name,
          (double)atomic_load(&r->latency_sum_us) / 1e6, r->name,
          (unsigned long long)atomic_load(&r->latency_count));
}

char *dtx_gw_metrics_render(dtx_gw_runtime_t *rt, size_t *len)
{
    s_out_t o = { 0 };
    s_put(&o, "# TYPE dtx_gw_requests_total counter\n");
    if (rt) {
        s_put(&o, "dtx_gw_unrouted_total %llu\n",
              (unsigned long long)dtx_gw_stats_unrouted(rt->shared->stats));
        dtx_gw_stats_each(rt->shared->stats, s_route, &o);
    }
    for (int i = 0; rt && i < rt->nrules; i++) {
        dtx_gw_rule_t *r = rt->rules[i];
        s_put(&o, "dtx_gw_rule_total{rule=\"%s\",verdict=\"passed\"} %llu\n"
                  "dtx_gw_rule_total{rule=\"%s\",verdict=\"delayed\"} %llu\n"
                  "dtx_gw_rule_total{rule=\"%s\",verdict=\"rejected\"} %llu\n",
              r->cfg.name, (unsigned long long)atomic_load(&r->passed),
              r->cfg.name, (unsigned long long)atomic_load(&r->delayed),
              r->cfg.name, (unsigned long long)atomic_load(&r->rejected));
        s_rule_ctx_t c = { &o, r, 0 };
        dtx_gw_rule_each(r, s_rule_key, &c);
        /* Per rule, whether or not a key was ever seen: what an alert on
         * open breakers can rely on existing. */
        if (r->cfg.kind == DTX_GW_RULE_BREAKER)
            s_put(&o, "dtx_gw_breakers_open{rule=\"%s\"} %d\n", r->cfg.name, c.open);
    }
    for (int i = 0; rt && i < rt->nroutes; i++) {
        dtx_gw_route_t *r = &rt->routes[i];
        dtx_gw_cache_stats_t cs;
        if (!r->cache)
            continue;
        dtx_gw_cache_get_stats(r->cache, &cs);
        const char *n = r->cfg->name;
        s_put(&o, "dtx_gw_cache_total{route=\"%s\",result=\"hit\"} %llu\n"
                  "dtx_gw_cache_total{route=\"%s\",result=\"miss\"} %llu\n"
                  "dtx_gw_cache_total{route=\"%s\",result=\"stale\"} %llu\n"
                  "dtx_gw_cache_total{route=\"%s\",result=\"coalesced\"} %llu\n"
                  "dtx_gw_cache_stored_total{route=\"%s\"} %llu\n"
                  "dtx_gw_cache_evictions_total{route=\"%s\"} %llu\n"
                  "dtx_gw_cache_purged_total{route=\"%s\"} %llu\n"
                  "dtx_gw_cache_bytes{route=\"%s\"} %zu\n"
                  "dtx_gw_cache_objects{route=\"%s\"} %zu\n",
              n, (unsigned long long)cs.hits, n, (unsigned long long)cs.misses,
              n, (unsigned long long)cs.stale, n, (unsigned long long)cs.coalesced,
              n, (unsigned long long)cs.stored, n, (unsigned long long)cs.evictions,
              n, (unsigned long long)cs.purged, n, cs.bytes, n, cs.objects);
    }
    for (int i = 0; rt && i < rt->cfg->njwts; i++) {
        const dtx_gw_jwks_t *jw = rt->cfg->jwts[i].jwks;
        if (jw)
            s_put(&o, "dtx_gw_jwks_reloads_total{jwt=\"%s\"} %llu\n"
                      "dtx_gw_jwks_reload_errors_total{jwt=\"%s\"} %llu\n",
                  rt->cfg->jwts[i].name, (unsigned long long)atomic_load(&jw->reloads),
                  rt->cfg->jwts[i].name, (unsigned long long)atomic_load(&jw->reload_errors));
    }
    int64_t now = dtx_gw_now_us();
    /* The dtxd_inflight signal: the gauges only while there is a reading. */
    dtx_gw_dtxd_reading_t reading = { 0, 0 };
    dtx_gw_dtxd_t *dtxd = rt ? &rt->shared->dtxd : NULL;
    if (dtxd)
        dtx_gw_dtxd_reading_get(dtxd, &reading);
    s_put(&o, "# TYPE dtx_gw_dtxd_poll_errors_total counter\n"
              "dtx_gw_dtxd_poll_errors_total %llu\n"
              "# TYPE dtx_gw_dtxd_fail_open_total counter\n"
              "dtx_gw_dtxd_fail_open_total %llu\n",
          (unsigned long long)(dtxd ? dtx_gw_dtxd_poll_errors(dtxd) : 0),
          (unsigned long long)(dtxd ? dtx_gw_dtxd_fail_open(dtxd) : 0));
    if (reading.at_us)
        s_put(&o, "# TYPE dtx_gw_dtxd_inflight gauge\n"
                  "dtx_gw_dtxd_inflight %lld\n"
                  "# TYPE dtx_gw_dtxd_reading_age_seconds gauge\n"
                  "dtx_gw_dtxd_reading_age_seconds %.3f\n",
              (long long)reading.inflight,
              (double)(now > reading.at_us ? now - reading.at_us : 0) / 1e6);
    char *cluster = rt && rt->shared->cluster ? dtx_gw_cluster_metrics(rt->shared->cluster) : NULL;
    if (cluster)
        s_put(&o, "%s", cluster);
    free(cluster);
    for (int i = 0; rt && i < rt->npools; i++) {
        dtx_gw_pool_t *p = rt->pools[i];
        for (int k = 0; k < p->ntargets; k++) {
            dtx_gw_target_t *t = &p->targets[k];
            pthread_mutex_lock(&p->lock);
            int healthy = t->healthy, ejected = t->ejected_until_us > now;
            pthread_mutex_unlock(&p->lock);
            s_put(&o, "dtx_gw_target_requests_total{pool=\"%s\",target=\"%s\"} %llu\n"
                      "dtx_gw_target_connects_total{pool=\"%s\",target=\"%s\"} %llu\n"
                      "dtx_gw_target_in_flight{pool=\"%s\",target=\"%s\"} %d\n"
                      "dtx_gw_target_healthy{pool=\"%s\",target=\"%s\"} %d\n"
                      "dtx_gw_target_ejected{pool=\"%s\",target=\"%s\"} %d\n",
                  p->cfg.name, t->url, (unsigned long long)atomic_load(&t->picked),
                  p->cfg.name, t->url, (unsigned long long)atomic_load(&t->connects),
                  p->cfg.name, t->url, atomic_load(&t->in_flight),
                  p->cfg.name, t->url, healthy, p->cfg.name, t->url, ejected);
        }
    }
    char *pools = dtx_gw_pools_metrics(rt);   /* zones and discovery (gw_pools_view.h) */
    if (pools)
        s_put(&o, "%s", pools);
    else
        o.failed = 1;
    free(pools);
    dtx_gw_zmq_counters_t zc;       /* zmq pools (upstream/gw_zmq.h), every worker */
    dtx_gw_zmq_counters(&zc);
    s_put(&o, "# TYPE dtx_gw_zmq_requests_total counter\n"
              "dtx_gw_zmq_requests_total %llu\n"
              "# TYPE dtx_gw_zmq_replies_total counter\n"
              "dtx_gw_zmq_replies_total %llu\n"
              "# TYPE dtx_gw_zmq_replies_late_total counter\n"
              "dtx_gw_zmq_replies_late_total %llu\n"
              "# TYPE dtx_gw_zmq_replies_malformed_total counter\n"
              "dtx_gw_zmq_replies_malformed_total %llu\n",
          zc.requests, zc.replies, zc.late, zc.malformed);
    if (o.failed) {
        free(o.buf);
        return NULL;
    }
    *len = o.len;
    return o.buf;
}
