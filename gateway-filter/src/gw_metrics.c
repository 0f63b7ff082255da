/* gw_metrics.c — route counters and the Prometheus exposition. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_clock.h"
#include "gw_dtxd_reading.h"
#include "gw_metrics.h"
#include "gw_runtime.h"

static const int64_t s_bounds_us[DTX_GW_LATENCY_BUCKETS] = {
    250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000, 5000000 };

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static dtx_gw_route_stats_t **s_routes;
static int s_nroutes, s_caproutes;
static atomic_ullong s_unrouted;

dtx_gw_route_stats_t *dtx_gw_metrics_route(const char *name)
{
    dtx_gw_route_stats_t *found = NULL;
    pthread_mutex_lock(&s_lock);
    for (int i = 0; i < s_nroutes && !found; i++)
        if (strcmp(s_routes[i]->name, name) == 0)
            found = s_routes[i];
    if (!found && s_nroutes == s_caproutes) {
        int cap = s_caproutes ? s_caproutes * 2 : 16;
        dtx_gw_route_stats_t **v = realloc(s_routes, (size_t)cap * sizeof *v);
        if (v) {
            s_routes = v;
            s_caproutes = cap;
        }
    }
    if (!found && s_nroutes < s_caproutes) {
        found = calloc(1, sizeof *found);
        if (found) {
            snprintf(found->name, sizeof found->name, "%s", name);
            s_routes[s_nroutes++] = found;
        }
    }
    pthread_mutex_unlock(&s_lock);
    return found;
}

void dtx_gw_metrics_unrouted(void)
{
    atomic_fetch_add(&s_unrouted, 1);
}

void dtx_gw_metrics_observe(dtx_gw_route_stats_t *stats, int status, int64_t upstream_us)
{
    int cls = status >= 100 && status < 600 ? status / 100 : 0;
    atomic_fetch_add(&stats->responses[cls == 1 ? 0 : cls], 1);
    if (upstream_us > 0) {
        for (int i = 0; i < DTX_GW_LATENCY_BUCKETS; i++)
            if (upstream_us <= s_bounds_us[i])
                atomic_fetch_add(&stats->latency[i], 1);
        atomic_fetch_add(&stats->latency_sum_us, (unsigned long long)upstream_us);
        atomic_fetch_add(&stats->latency_count, 1);
    }
}

void dtx_gw_metrics_shutdown(void)
{
    pthread_mutex_lock(&s_lock);
    for (int i = 0; i < s_nroutes; i++)
        free(s_routes[i]);
    free(s_routes);
    s_routes = NULL;
    s_nroutes = s_caproutes = 0;
    pthread_mutex_unlock(&s_lock);
}

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
} s_rule_ctx_t;

static void s_rule_key(const char *key, dtx_gw_rule_state_t *s, void *arg)
{
    s_rule_ctx_t *c = arg;
    if (c->rule->cfg.kind == DTX_GW_RULE_BREAKER)
        s_put(c->o, "dtx_gw_breaker_state{rule=\"%s\",key=\"%s\"} %d\n"
                    "dtx_gw_breaker_opened_total{rule=\"%s\",key=\"%s\"} %llu\n",
              c->rule->cfg.name, key, (int)s->breaker.state, c->rule->cfg.name, key,
              (unsigned long long)s->breaker.opened_total);
    else if (c->rule->cfg.kind == DTX_GW_RULE_ADAPTIVE &&
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

char *dtx_gw_metrics_render(dtx_gw_runtime_t *rt, size_t *len)
{
    s_out_t o = { 0 };
    static const char *const cls[] = { "none", "1xx", "2xx", "3xx", "4xx", "5xx" };
    s_put(&o, "# TYPE dtx_gw_requests_total counter\n");
    s_put(&o, "dtx_gw_unrouted_total %llu\n", (unsigned long long)atomic_load(&s_unrouted));
    pthread_mutex_lock(&s_lock);
    for (int i = 0; i < s_nroutes; i++) {
        dtx_gw_route_stats_t *r = s_routes[i];
        s_put(&o, "dtx_gw_requests_total{route=\"%s\"} %llu\n", r->name,
              (unsigned long long)atomic_load(&r->requests));
        for (int k = 0; k < 6; k++)
            if (k != 1)
                s_put(&o, "dtx_gw_responses_total{route=\"%s\",class=\"%s\"} %llu\n", r->name,
                      cls[k], (unsigned long long)atomic_load(&r->responses[k]));
        s_put(&o, "dtx_gw_rejected_total{route=\"%s\"} %llu\n"
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
        for (int k = 0; k < DTX_GW_LATENCY_BUCKETS; k++)
            s_put(&o, "dtx_gw_upstream_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n", r->name,
                  (double)s_bounds_us[k] / 1e6, (unsigned long long)atomic_load(&r->latency[k]));
        s_put(&o, "dtx_gw_upstream_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n"
                  "dtx_gw_upstream_seconds_sum{route=\"%s\"} %.6f\n"
                  "dtx_gw_upstream_seconds_count{route=\"%s\"} %llu\n",
              r->name, (unsigned long long)atomic_load(&r->latency_count), r->name,
              (double)atomic_load(&r->latency_sum_us) / 1e6, r->name,
              (unsigned long long)atomic_load(&r->latency_count));
    }
    pthread_mutex_unlock(&s_lock);
    for (int i = 0; rt && i < rt->nrules; i++) {
        dtx_gw_rule_t *r = rt->rules[i];
        s_put(&o, "dtx_gw_rule_total{rule=\"%s\",verdict=\"passed\"} %llu\n"
                  "dtx_gw_rule_total{rule=\"%s\",verdict=\"delayed\"} %llu\n"
                  "dtx_gw_rule_total{rule=\"%s\",verdict=\"rejected\"} %llu\n",
              r->cfg.name, (unsigned long long)atomic_load(&r->passed),
              r->cfg.name, (unsigned long long)atomic_load(&r->delayed),
              r->cfg.name, (unsigned long long)atomic_load(&r->rejected));
        s_rule_ctx_t c = { &o, r };
        dtx_gw_rule_each(r, s_rule_key, &c);
    }
    int64_t now = dtx_gw_now_us();
    /* The dtxd_inflight signal: the gauges only while there is a reading. */
    dtx_gw_dtxd_reading_t reading;
    dtx_gw_dtxd_reading_get(&reading);
    s_put(&o, "# TYPE dtx_gw_dtxd_poll_errors_total counter\n"
              "dtx_gw_dtxd_poll_errors_total %llu\n"
              "# TYPE dtx_gw_dtxd_fail_open_total counter\n"
              "dtx_gw_dtxd_fail_open_total %llu\n",
          (unsigned long long)dtx_gw_dtxd_poll_errors(),
          (unsigned long long)dtx_gw_dtxd_fail_open());
    if (reading.at_us)
        s_put(&o, "# TYPE dtx_gw_dtxd_inflight gauge\n"
                  "dtx_gw_dtxd_inflight %lld\n"
                  "# TYPE dtx_gw_dtxd_reading_age_seconds gauge\n"
                  "dtx_gw_dtxd_reading_age_seconds %.3f\n",
              (long long)reading.inflight,
              (double)(now > reading.at_us ? now - reading.at_us : 0) / 1e6);
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
    if (o.failed) {
        free(o.buf);
        return NULL;
    }
    *len = o.len;
    return o.buf;
}
