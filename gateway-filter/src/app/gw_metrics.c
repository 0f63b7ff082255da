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
#include "core/gw_http1.h"
#include "limits/gw_dtxd_reading.h"
#include "app/gw_metrics.h"
#include "app/gw_pools_view.h"
#include "front/gw_server.h"
#include "runtime/gw_runtime.h"
#include "upstream/gw_zmq.h"

/* ---------------- rendering ---------------- */

typedef dtx_gw_buf_t s_out_t;   /* sticky failure: checked once at the end */


/* ---------------- families ---------------- */

/* Every series the gateway exposes, in the order of the exposition: each
 * family is written once, as "# HELP", "# TYPE" and its samples together
 * (the text format wants a family's lines in one group; the renderers
 * below write them route by route, rule by rule, pool by pool). */
typedef struct {
    const char *name, *type, *help;
} s_family_t;

static const s_family_t s_families[] = {
    { "dtx_gw_unrouted_total", "counter", "Requests that matched no route." },
    { "dtx_gw_requests_total", "counter", "Requests matched, by route." },
    { "dtx_gw_responses_total", "counter", "Answers sent, by route and status class (none: no answer)." },
    { "dtx_gw_rejected_total", "counter", "Requests a rule rejected, by route." },
    { "dtx_gw_invalid_total", "counter", "Requests refused by validation, by route." },
    { "dtx_gw_fallback_total", "counter", "Requests answered by the route's fallback, by route." },
    { "dtx_gw_upstream_errors_total", "counter", "Upstream calls that failed, by route." },
    { "dtx_gw_txn_total", "counter", "Transactional requests, by route and outcome." },
    { "dtx_gw_saga_total", "counter", "Saga routes' requests, by route and outcome (committed, compensated, stuck, running, unknown, submit_failed)." },
    { "dtx_gw_run_total", "counter", "Requests of tcc routes with branches (one TCC_RUN each), by route and outcome (committed, aborted, unknown, failed)." },
    { "dtx_gw_auth_failures_total", "counter", "Requests refused by authentication, by route and reason." },
    { "dtx_gw_upstream_seconds", "histogram", "Time to the upstream answer's headers, by route." },
    { "dtx_gw_rule_total", "counter", "Verdicts of a rule: passed, delayed, rejected." },
    { "dtx_gw_breaker_state", "gauge", "A breaker key's state: 0 closed, 1 open, 2 half-open." },
    { "dtx_gw_breaker_opened_total", "counter", "Times a breaker key opened." },
    { "dtx_gw_adaptive_limit", "gauge", "An adaptive rule key's current limit." },
    { "dtx_gw_adaptive_in_flight", "gauge", "An adaptive rule key's requests in flight." },
    { "dtx_gw_concurrency_in_flight", "gauge", "A concurrency rule key's requests in flight." },
    { "dtx_gw_breakers_open", "gauge", "Keys of a breaker rule that are not closed." },
    { "dtx_gw_cache_total", "counter", "GET and HEAD requests on a cached route, by result." },
    { "dtx_gw_cache_stored_total", "counter", "Answers stored in a route's cache." },
    { "dtx_gw_cache_evictions_total", "counter", "Answers dropped from a route's cache for room (LRU)." },
    { "dtx_gw_cache_purged_total", "counter", "Answers purged from a route's cache." },
    { "dtx_gw_cache_bytes", "gauge", "Memory a route's cache holds, in bytes." },
    { "dtx_gw_cache_objects", "gauge", "Answers a route's cache holds." },
    { "dtx_gw_jwks_reloads_total", "counter", "Re-reads of a jwt verifier's jwks_file." },
    { "dtx_gw_jwks_reload_errors_total", "counter", "Re-reads of a jwks_file that failed (old keys kept)." },
    { "dtx_gw_dtxd_poll_errors_total", "counter", "Failed polls of dtxd's /metrics." },
    { "dtx_gw_dtxd_fail_open_total", "counter",
      "Requests a dtxd_inflight rule admitted only because the reading was stale." },
    { "dtx_gw_dtxd_inflight", "gauge", "Last good reading of dtxd's dtx_transactions_in_memory." },
    { "dtx_gw_dtxd_reading_age_seconds", "gauge", "Age of the last good dtxd reading." },
    { "dtx_gw_cluster_mode", "gauge", "Cluster-wide limits: 1 for the mode in force." },
    { "dtx_gw_cluster_redis_up", "gauge", "Cluster-wide limits: 1 while Redis answers." },
    { "dtx_gw_cluster_live_instances", "gauge", "Cluster-wide limits: gateway instances alive." },
    { "dtx_gw_cluster_keys", "gauge", "Cluster-wide limits: keys this instance holds slices of." },
    { "dtx_gw_cluster_round_trips_total", "counter", "Cluster-wide limits: pipelined Redis round trips that answered." },
    { "dtx_gw_cluster_redis_errors_total", "counter", "Cluster-wide limits: Redis connects and round trips that failed." },
    { "dtx_gw_cluster_fallbacks_total", "counter", "Cluster-wide limits: changes to the fallback mode." },
    { "dtx_gw_cluster_tokens_granted_total", "counter", "Cluster-wide limits: tokens Redis gave this instance." },
    { "dtx_gw_cluster_tokens_returned_total", "counter", "Cluster-wide limits: unused tokens given back." },
    { "dtx_gw_target_requests_total", "counter", "Calls sent to a target." },
    { "dtx_gw_target_connects_total", "counter", "New connections to a target (zmq: sockets made)." },
    { "dtx_gw_target_in_flight", "gauge", "Calls out on a target." },
    { "dtx_gw_target_healthy", "gauge", "1 when a target passes its health checks." },
    { "dtx_gw_target_ejected", "gauge", "1 while a target is ejected." },
    { "dtx_gw_pool_targets", "gauge", "Targets in a pool's set in force." },
    { "dtx_gw_target_zone", "gauge", "1 for each target with a zone (local=\"1\": the gateway's)." },
    { "dtx_gw_pool_local_share_percent", "gauge", "Share of a pool's picks kept in the local zone." },
    { "dtx_gw_target_draining_in_flight", "gauge", "Calls still out on a target that left its pool's set." },
    { "dtx_gw_discovery_targets", "gauge", "Targets in a discovery source's last good set." },
    { "dtx_gw_discovery_reads_total", "counter", "Good reads of a discovery source." },
    { "dtx_gw_discovery_failures_total", "counter", "Failed reads of a discovery source (last good set kept)." },
    { "dtx_gw_discovery_changes_total", "counter", "Changes of a discovery source's set." },
    { "dtx_gw_discovery_version", "gauge", "Times a discovered pool's set changed." },
    { "dtx_gw_zmq_requests_total", "counter", "Requests sent to zmq pools." },
    { "dtx_gw_zmq_replies_total", "counter", "zmq replies matched to their call." },
    { "dtx_gw_zmq_replies_late_total", "counter", "zmq replies for a call already over (dropped)." },
    { "dtx_gw_zmq_replies_malformed_total", "counter", "zmq replies breaking the DTXGW/1 format." },
    { "dtx_gw_worker_connections", "gauge", "Client connections a worker serves now (native engine)." },
    { "dtx_gw_worker_accepted_total", "counter", "Connections the kernel gave a worker's listening socket." },
    { "dtx_gw_worker_handed_over_total", "counter", "Connections a worker accepted and gave to a less loaded one (accept balance)." },
    { "dtx_gw_worker_taken_over_total", "counter", "Connections a worker got from another (accept balance)." },
    { "dtx_gw_worker_requests_total", "counter", "Requests a worker answered." },
    { "dtx_gw_worker_cpu_seconds_total", "counter", "CPU time a worker's thread used (user and system)." },
};
#define S_NFAMILIES ((int)(sizeof s_families / sizeof s_families[0]))

static int s_is(const char *s, size_t n, const char *word)
{
    return n == strlen(word) && memcmp(s, word, n) == 0;
}

/* The family of a sample line (a histogram's _bucket, _sum and _count
 * are its own), or S_NFAMILIES when none is known. */
static int s_family_of(const char *line, size_t n)
{
    size_t name = 0;
    while (name < n && line[name] != '{' && line[name] != ' ')
        name++;
    for (int f = 0; f < S_NFAMILIES; f++) {
        size_t fl = strlen(s_families[f].name);
        if (fl > name || memcmp(line, s_families[f].name, fl) != 0)
            continue;
        const char *rest = line + fl;
        size_t rn = name - fl;
        if (rn == 0)
            return f;
        if (strcmp(s_families[f].type, "histogram") == 0 &&
            (s_is(rest, rn, "_bucket") || s_is(rest, rn, "_sum") || s_is(rest, rn, "_count")))
            return f;
    }
    return S_NFAMILIES;
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
        dtx_gw_buf_printf(c->o, "dtx_gw_breaker_state{rule=\"%s\",key=\"%s\"} %d\n"
                          "dtx_gw_breaker_opened_total{rule=\"%s\",key=\"%s\"} %llu\n",
                          c->rule->cfg.name, key, (int)s->breaker.state, c->rule->cfg.name, key,
                          (unsigned long long)s->breaker.opened_total);
    } else if (c->rule->cfg.kind == DTX_GW_RULE_ADAPTIVE &&
             c->rule->cfg.signal == DTX_GW_SIGNAL_DTXD_INFLIGHT)  /* no limit of its own */
        dtx_gw_buf_printf(c->o, "dtx_gw_adaptive_in_flight{rule=\"%s\",key=\"%s\"} %d\n",
                          c->rule->cfg.name, key, s->adaptive.in_flight);
    else if (c->rule->cfg.kind == DTX_GW_RULE_ADAPTIVE)
        dtx_gw_buf_printf(c->o, "dtx_gw_adaptive_limit{rule=\"%s\",key=\"%s\"} %.2f\n"
                          "dtx_gw_adaptive_in_flight{rule=\"%s\",key=\"%s\"} %d\n",
                          c->rule->cfg.name, key, s->adaptive.gradient.limit, c->rule->cfg.name, key,
                          s->adaptive.in_flight);
    else if (c->rule->cfg.kind == DTX_GW_RULE_CONCURRENCY)
        dtx_gw_buf_printf(c->o, "dtx_gw_concurrency_in_flight{rule=\"%s\",key=\"%s\"} %d\n",
                          c->rule->cfg.name, key, s->conc.in_flight);
}

static void s_route(const dtx_gw_route_stats_t *r, void *arg)
{
    static const char *const cls[] = { "none", "1xx", "2xx", "3xx", "4xx", "5xx" };
    s_out_t *o = arg;
    dtx_gw_buf_printf(o, "dtx_gw_requests_total{route=\"%s\"} %llu\n", r->name,
                      (unsigned long long)atomic_load(&r->requests));
    for (int k = 0; k < 6; k++)
        if (k != 1)
            dtx_gw_buf_printf(o, "dtx_gw_responses_total{route=\"%s\",class=\"%s\"} %llu\n", r->name,
                              cls[k], (unsigned long long)atomic_load(&r->responses[k]));
    dtx_gw_buf_printf(o, "dtx_gw_rejected_total{route=\"%s\"} %llu\n"
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
        dtx_gw_buf_printf(o, "dtx_gw_saga_total{route=\"%s\",outcome=\"%s\"} %llu\n", r->name,
                          dtx_gw_saga_outcome_name(k), (unsigned long long)atomic_load(&r->saga[k]));
    for (int k = 0; k < DTX_GW_RUN_NOUTCOMES; k++)
        dtx_gw_buf_printf(o, "dtx_gw_run_total{route=\"%s\",outcome=\"%s\"} %llu\n", r->name,
                          dtx_gw_run_outcome_name(k), (unsigned long long)atomic_load(&r->run[k]));
    for (int k = 1; k < DTX_GW_AUTH_NREASONS; k++)
        dtx_gw_buf_printf(o, "dtx_gw_auth_failures_total{route=\"%s\",reason=\"%s\"} %llu\n", r->name,
                          dtx_gw_auth_reason(k), (unsigned long long)atomic_load(&r->auth_failures[k]));
    for (int k = 0; k < DTX_GW_LATENCY_BUCKETS; k++)
        dtx_gw_buf_printf(o, "dtx_gw_upstream_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n", r->name,
                          (double)dtx_gw_stats_bucket_us(k) / 1e6,
                          (unsigned long long)atomic_load(&r->latency[k]));
    dtx_gw_buf_printf(o, "dtx_gw_upstream_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n"
                      "dtx_gw_upstream_seconds_sum{route=\"%s\"} %.6f\n"
                      "dtx_gw_upstream_seconds_count{route=\"%s\"} %llu\n",
                      r->name, (unsigned long long)atomic_load(&r->latency_count), r->name,
                      (double)atomic_load(&r->latency_sum_us) / 1e6, r->name,
                      (unsigned long long)atomic_load(&r->latency_count));
}

char *dtx_gw_metrics_render(dtx_gw_runtime_t *rt, const dtx_gw_server_t *server, size_t *len)
{
    s_out_t o = { 0 };
    if (rt) {
        dtx_gw_buf_printf(&o, "dtx_gw_unrouted_total %llu\n",
                          (unsigned long long)dtx_gw_stats_unrouted(rt->shared->stats));
        dtx_gw_stats_each(rt->shared->stats, s_route, &o);
    }
    for (int i = 0; rt && i < rt->nrules; i++) {
        dtx_gw_rule_t *r = rt->rules[i];
        dtx_gw_buf_printf(&o, "dtx_gw_rule_total{rule=\"%s\",verdict=\"passed\"} %llu\n"
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
            dtx_gw_buf_printf(&o, "dtx_gw_breakers_open{rule=\"%s\"} %d\n", r->cfg.name, c.open);
    }
    for (int i = 0; rt && i < rt->nroutes; i++) {
        dtx_gw_route_t *r = &rt->routes[i];
        dtx_gw_cache_stats_t cs;
        if (!r->cache)
            continue;
        dtx_gw_cache_get_stats(r->cache, &cs);
        const char *n = r->cfg->name;
        dtx_gw_buf_printf(&o, "dtx_gw_cache_total{route=\"%s\",result=\"hit\"} %llu\n"
                          "dtx_gw_cache_total{route=\"%s\",result=\"miss\"} %llu\n"
                          "dtx_gw_cache_total{route=\"%s\",result=\"stale\"} %llu\n"
                          "dtx_gw_cache_total{route=\"%s\",result=\"coalesced\"} %llu\n"
                          "dtx_gw_cache_total{route=\"%s\",result=\"lock_timeout\"} %llu\n"
                          "dtx_gw_cache_stored_total{route=\"%s\"} %llu\n"
                          "dtx_gw_cache_evictions_total{route=\"%s\"} %llu\n"
                          "dtx_gw_cache_purged_total{route=\"%s\"} %llu\n"
                          "dtx_gw_cache_bytes{route=\"%s\"} %zu\n"
                          "dtx_gw_cache_objects{route=\"%s\"} %zu\n",
                          n, (unsigned long long)cs.hits, n, (unsigned long long)cs.misses,
                          n, (unsigned long long)cs.stale, n, (unsigned long long)cs.coalesced,
                          n, (unsigned long long)cs.lock_timeouts, n, (unsigned long long)cs.stored, n, (unsigned long long)cs.evictions,
                          n, (unsigned long long)cs.purged, n, cs.bytes, n, cs.objects);
    }
    for (int i = 0; rt && i < rt->cfg->njwts; i++) {
        const dtx_gw_jwks_t *jw = rt->cfg->jwts[i].jwks;
        if (jw)
            dtx_gw_buf_printf(&o, "dtx_gw_jwks_reloads_total{jwt=\"%s\"} %llu\n"
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
    dtx_gw_buf_printf(&o, "dtx_gw_dtxd_poll_errors_total %llu\n"
                      "dtx_gw_dtxd_fail_open_total %llu\n",
                      (unsigned long long)(dtxd ? dtx_gw_dtxd_poll_errors(dtxd) : 0),
                      (unsigned long long)(dtxd ? dtx_gw_dtxd_fail_open(dtxd) : 0));
    if (reading.at_us)
        dtx_gw_buf_printf(&o, "dtx_gw_dtxd_inflight %lld\n"
                          "dtx_gw_dtxd_reading_age_seconds %.3f\n",
                          (long long)reading.inflight,
                          (double)(now > reading.at_us ? now - reading.at_us : 0) / 1e6);
    char *cluster = rt && rt->shared->cluster ? dtx_gw_cluster_metrics(rt->shared->cluster) : NULL;
    if (cluster)
        dtx_gw_buf_printf(&o, "%s", cluster);
    free(cluster);
    for (int i = 0; rt && i < rt->npools; i++) {
        dtx_gw_pool_t *p = rt->pools[i];
        for (int k = 0; k < p->ntargets; k++) {
            dtx_gw_target_t *t = &p->targets[k];
            pthread_mutex_lock(&p->lock);
            int healthy = t->healthy, ejected = t->ejected_until_us > now;
            pthread_mutex_unlock(&p->lock);
            dtx_gw_buf_printf(&o, "dtx_gw_target_requests_total{pool=\"%s\",target=\"%s\"} %llu\n"
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
        dtx_gw_buf_printf(&o, "%s", pools);
    else
        o.failed = 1;
    free(pools);
    dtx_gw_zmq_counters_t zc;       /* zmq pools (upstream/gw_zmq.h), every worker */
    dtx_gw_zmq_counters(&zc);
    dtx_gw_buf_printf(&o, "dtx_gw_zmq_requests_total %llu\n"
                      "dtx_gw_zmq_replies_total %llu\n"
                      "dtx_gw_zmq_replies_late_total %llu\n"
                      "dtx_gw_zmq_replies_malformed_total %llu\n",
                      zc.requests, zc.replies, zc.late, zc.malformed);
    dtx_gw_worker_view_t wv[DTX_GW_MAX_WORKERS];   /* the front's workers */
    int nw = server ? dtx_gw_server_workers(server, wv, DTX_GW_MAX_WORKERS) : 0;
    for (int i = 0; i < nw; i++)
        dtx_gw_buf_printf(&o, "dtx_gw_worker_connections{worker=\"%d\"} %d\n"
                          "dtx_gw_worker_accepted_total{worker=\"%d\"} %llu\n"
                          "dtx_gw_worker_handed_over_total{worker=\"%d\"} %llu\n"
                          "dtx_gw_worker_taken_over_total{worker=\"%d\"} %llu\n"
                          "dtx_gw_worker_requests_total{worker=\"%d\"} %llu\n",
                          i, wv[i].open, i, (unsigned long long)wv[i].accepted,
                          i, (unsigned long long)wv[i].handed_out,
                          i, (unsigned long long)wv[i].handed_in,
                          i, (unsigned long long)wv[i].requests);
    for (int i = 0; i < nw; i++)
        if (wv[i].cpu_seconds >= 0)
            dtx_gw_buf_printf(&o, "dtx_gw_worker_cpu_seconds_total{worker=\"%d\"} %.6f\n", i,
                              wv[i].cpu_seconds);
    if (o.failed) {
        free(o.data);
        return NULL;
    }
    char *grouped = dtx_gw_metrics_group(o.data, o.len, len);
    free(o.data);
    return grouped;
}

char *dtx_gw_metrics_group(const char *text, size_t len, size_t *out_len)
{
    /* Each line's family, then the families in table order (unknown
     * families last, with no HELP or TYPE); comment lines are dropped. */
    size_t nlines = 0;
    for (size_t i = 0; i < len; i++)
        nlines += text[i] == '\n';
    nlines++;
    struct { size_t at, n; int family; } *lines = calloc(nlines, sizeof *lines);
    if (!lines)
        return NULL;
    size_t k = 0;
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
        if (n > 0 && text[at] != '#') {
            lines[k].at = at;
            lines[k].n = n;
            lines[k].family = s_family_of(text + at, n);
            k++;
        }
        at += n + 1;
    }
    s_out_t o = { 0 };
    for (int f = 0; f <= S_NFAMILIES; f++) {
        int header = f == S_NFAMILIES;
        for (size_t i = 0; i < k; i++) {
            if (lines[i].family != f)
                continue;
            if (!header) {
                dtx_gw_buf_printf(&o, "# HELP %s %s\n# TYPE %s %s\n", s_families[f].name,
                                  s_families[f].help, s_families[f].name, s_families[f].type);
                header = 1;
            }
            dtx_gw_buf_printf(&o, "%.*s\n", (int)lines[i].n, text + lines[i].at);
        }
    }
    free(lines);
    if (o.failed) {
        free(o.data);
        return NULL;
    }
    if (!o.data && !(o.data = strdup("")))   /* no sample: an empty text, not NULL */
        return NULL;
    *out_len = o.len;
    return o.data;
}
