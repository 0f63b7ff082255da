/*
 * gw_metrics.h — counters per route (kept by name for the life of the
 * process, so a hot swap never resets them) and the Prometheus text
 * rendering of routes, rules, breakers, adaptive limits, the dtxd_inflight
 * reading and its poller (gw_dtxd_watch.h), and targets.
 */
#ifndef DTX_GW_METRICS_H
#define DTX_GW_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define DTX_GW_LATENCY_BUCKETS 12

typedef struct dtx_gw_route_stats {
    char          name[72];
    atomic_ullong requests;                  /* matched the route */
    atomic_ullong responses[6];              /* by class: [2] 2xx ... [5] 5xx; [0] none sent */
    atomic_ullong rejected;                  /* refused by a rule (429/503) */
    atomic_ullong invalid;                   /* refused by validation (400/413/415) */
    atomic_ullong fallbacks;                 /* answered by degradation */
    atomic_ullong upstream_errors;           /* transport failures */
    atomic_ullong txn_committed, txn_rolled_back, txn_begin_failed;
    atomic_ullong latency[DTX_GW_LATENCY_BUCKETS]; /* upstream latency histogram */
    atomic_ullong latency_sum_us;
    atomic_ullong latency_count;
} dtx_gw_route_stats_t;

/* The stats of route name (created once; never freed before
 * dtx_gw_metrics_shutdown). NULL on allocation failure. */
dtx_gw_route_stats_t *dtx_gw_metrics_route(const char *name);
/* Counts a request no route matched. */
void dtx_gw_metrics_unrouted(void);
/* Records a finished request on its route. */
void dtx_gw_metrics_observe(dtx_gw_route_stats_t *stats, int status, int64_t upstream_us);
/* Frees every route's stats (at exit). */
void dtx_gw_metrics_shutdown(void);

struct dtx_gw_runtime;
/* Renders the Prometheus text format for rt into a malloc'ed string
 * (caller frees); *len gets its length. NULL on allocation failure. */
char *dtx_gw_metrics_render(struct dtx_gw_runtime *rt, size_t *len);

#endif
