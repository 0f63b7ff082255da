/*
 * gw_stats.h — the counters of one gateway's routes, kept by route name
 * for the life of the gateway (a hot swap never resets them), and the
 * count of requests no route matched. Updated lock-free by any thread;
 * gw_metrics.h renders them.
 *
 * Lifecycle: the app makes one registry (dtx_gw_stats_new) and hands it
 * to every generation it builds (gw_runtime.h); a route's counters are
 * created the first time a generation names the route and freed with the
 * registry (dtx_gw_stats_destroy), after the last generation.
 */
#ifndef DTX_GW_STATS_H
#define DTX_GW_STATS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define DTX_GW_LATENCY_BUCKETS 12

/* Outcomes of a saga route's request (filters/gw_saga.c), the index of
 * dtx_gw_route_stats_t.saga; dtx_gw_saga_outcome_name names each. */
#define DTX_GW_SAGA_COMMITTED     0  /* every step done */
#define DTX_GW_SAGA_COMPENSATED   1  /* a step failed; the ones before undone */
#define DTX_GW_SAGA_STUCK         2  /* a compensation or forward step gave up: operator */
#define DTX_GW_SAGA_RUNNING       3  /* not ended within wait_ms (202) */
#define DTX_GW_SAGA_UNKNOWN       4  /* submitted, then dtxd could not be asked */
#define DTX_GW_SAGA_SUBMIT_FAILED 5  /* dtxd refused or could not be reached */
#define DTX_GW_SAGA_NOUTCOMES     6

static inline const char *dtx_gw_saga_outcome_name(int k)
{
    static const char *const names[DTX_GW_SAGA_NOUTCOMES] = {
        "committed", "compensated", "stuck", "running", "unknown", "submit_failed"
    };
    return k >= 0 && k < DTX_GW_SAGA_NOUTCOMES ? names[k] : "?";
}

/* Outcomes of a run route's request (filters/gw_run.c: mode "tcc" with
 * branches), the index of dtx_gw_route_stats_t.run. */
#define DTX_GW_RUN_COMMITTED  0  /* every branch voted yes: committed (200) */
#define DTX_GW_RUN_ABORTED    1  /* a branch did not: aborted, the others cancelled (409) */
#define DTX_GW_RUN_UNKNOWN    2  /* sent, no answer: it may have committed (504) */
#define DTX_GW_RUN_FAILED     3  /* refused whole or dtxd not reached: nothing ran (503) */
#define DTX_GW_RUN_NOUTCOMES  4

static inline const char *dtx_gw_run_outcome_name(int k)
{
    static const char *const names[DTX_GW_RUN_NOUTCOMES] = {
        "committed", "aborted", "unknown", "failed"
    };
    return k >= 0 && k < DTX_GW_RUN_NOUTCOMES ? names[k] : "?";
}

typedef struct dtx_gw_route_stats {
    char          name[72];
    atomic_ullong requests;                  /* matched the route */
    atomic_ullong responses[6];              /* by class: [2] 2xx ... [5] 5xx; [0] none sent */
    atomic_ullong rejected;                  /* refused by a rule (429/503) */
    atomic_ullong invalid;                   /* refused by validation (400/413/415) */
    atomic_ullong fallbacks;                 /* answered by degradation */
    atomic_ullong upstream_errors;           /* transport failures */
    atomic_ullong txn_committed, txn_rolled_back, txn_begin_failed;
    atomic_ullong saga[DTX_GW_SAGA_NOUTCOMES]; /* saga routes, by DTX_GW_SAGA_* outcome */
    atomic_ullong run[DTX_GW_RUN_NOUTCOMES];   /* run routes, by DTX_GW_RUN_* outcome */
    atomic_ullong latency[DTX_GW_LATENCY_BUCKETS]; /* upstream latency histogram */
    atomic_ullong latency_sum_us;
    atomic_ullong latency_count;
    atomic_ullong auth_failures[16];         /* by dtx_gw_auth_result_t (core/gw_jwt.h) */
} dtx_gw_route_stats_t;

typedef struct dtx_gw_stats dtx_gw_stats_t;

/* An empty registry. NULL on allocation failure. */
dtx_gw_stats_t *dtx_gw_stats_new(void);
/* Frees the registry and every route's counters. Idempotent; nulls
 * *self_p. No generation may use it any more. */
void dtx_gw_stats_destroy(dtx_gw_stats_t **self_p);

/* The counters of route name (created once; they live as long as self).
 * NULL on allocation failure. */
dtx_gw_route_stats_t *dtx_gw_stats_route(dtx_gw_stats_t *self, const char *name);
/* Counts a request no route matched / how many so far. */
void dtx_gw_stats_count_unrouted(dtx_gw_stats_t *self);
uint64_t dtx_gw_stats_unrouted(dtx_gw_stats_t *self);
/* Calls fn for every route's counters, in the order they were created,
 * under the registry's lock (fn must not call back into self). */
void dtx_gw_stats_each(dtx_gw_stats_t *self,
                       void (*fn)(const dtx_gw_route_stats_t *route, void *arg), void *arg);

/* Records a finished request on its route: the status class sent (0:
 * none) and, when the upstream was called, its latency. */
void dtx_gw_stats_observe(dtx_gw_route_stats_t *stats, int status, int64_t upstream_us);
/* Upper bound of latency bucket i (0 <= i < DTX_GW_LATENCY_BUCKETS), µs. */
int64_t dtx_gw_stats_bucket_us(int i);

#endif
