/*
 * gw_cluster.h — cluster-wide limits: the shared state of rules with
 * scope "cluster" in Redis, kept in step by one sync thread per gateway.
 *
 * A worker never talks to Redis. The admission filter takes tokens from
 * this instance's pool and slots from its lease (limits/gw_cluster_quota.h)
 * under the engine's lock; the sync thread, every cluster.sync_ms, asks
 * Redis for slices and leases (atomic Lua scripts, EVALSHA, reloaded on
 * NOSCRIPT), gives back what is unused, and beats the instance's heartbeat
 * (live instances are counted from the heartbeats).
 *
 * Modes: CLUSTER while Redis answers; when a round trip fails or takes
 * longer than timeout_ms, FAIL_OPEN or FAIL_CLOSED (cluster.failure) until
 * a reconnection (tried every retry_ms) answers again. Each change is
 * logged (warn: to fallback, info: back) and shown in /metrics.
 *
 * The transport is a table of functions so that the unit suite drives
 * the engine on a fake Redis and a virtual clock (dtx_gw_cluster_step).
 */
#ifndef DTX_GW_CLUSTER_H
#define DTX_GW_CLUSTER_H

#include <stdint.h>

#include "config/gw_config.h"
#include "limits/gw_cluster_quota.h"

/* The shared bucket of a rate rule holds its capacity plus this many
 * slices (docs/gateway.md, "Accuracy"). */
#define DTX_GW_CLUSTER_HEADROOM_SLICES 5

/* Scripts the transport runs. */
#define DTX_GW_CLUSTER_RATE 0   /* KEYS[1] bucket; n, interval_us, tau_us -> granted (or n < 0 given back) */
#define DTX_GW_CLUSTER_CONC 1   /* KEYS[1] lease table; instance, want, max, lease_ms -> granted */
#define DTX_GW_CLUSTER_BEAT 2   /* KEYS[1] instance set; instance, ttl_ms -> live instances */
#define DTX_GW_CLUSTER_NSCRIPTS 3

/* The Lua source of a script (for the Redis transport and the docs). */
const char *dtx_gw_cluster_script(int script);

typedef struct dtx_gw_cluster_call {
    int         script;
    const char *key;      /* full Redis key */
    const char *instance; /* CONC and BEAT */
    double      arg[3];   /* RATE: n, interval_us, tau_us; CONC: want, max, lease_ms; BEAT: ttl_ms */
    int         ok;       /* set by the transport: 1 answered */
    int64_t     result;   /* the script's integer answer */
} dtx_gw_cluster_call_t;

typedef struct dtx_gw_cluster_transport {
    void *ctx;
    /* Connects (0) or fails (< 0, why in err). */
    int  (*connect)(void *ctx, char *err, size_t errlen);
    /* Runs n calls (pipelined); 0 when the connection held (each call's
     * ok says whether it got an integer), < 0 when it failed (why in err). */
    int  (*exec)(void *ctx, dtx_gw_cluster_call_t *calls, int n, char *err, size_t errlen);
    void (*close)(void *ctx);
    void (*destroy)(void *ctx);
} dtx_gw_cluster_transport_t;

/* hiredis to cfg->redis (gw_cluster_redis.c). 0 or DTX_ENOMEM. */
int dtx_gw_cluster_redis_transport(const dtx_gw_cluster_cfg_t *cfg,
                                   dtx_gw_cluster_transport_t *out);

typedef struct dtx_gw_cluster dtx_gw_cluster_t;

/* A new engine for cfg (copied) over transport (taken, even on failure).
 * now_fn: the clock (NULL: dtx_gw_now_us). Not started. NULL on ENOMEM. */
dtx_gw_cluster_t *dtx_gw_cluster_new(const dtx_gw_cluster_cfg_t *cfg,
                                     const dtx_gw_cluster_transport_t *transport,
                                     int64_t (*now_fn)(void));
/* Starts the sync thread. 0 or DTX_EIO. */
int  dtx_gw_cluster_start(dtx_gw_cluster_t *self);
/* Stops the thread, gives back pools and leases when Redis answers, frees. */
void dtx_gw_cluster_destroy(dtx_gw_cluster_t **self_p);

/* One pass of the sync thread at now (the unit suite calls it without a
 * thread). */
void dtx_gw_cluster_step(dtx_gw_cluster_t *self, int64_t now_us);

/* ---- the hot path (admission filter); never blocks on Redis ---- */

/* Rate rule r (cluster scope) for key: PASS or REJECT (*retry_us).
 * account 0 only checks. */
int dtx_gw_cluster_rate(dtx_gw_cluster_t *self, const dtx_gw_rule_cfg_t *r, const char *key,
                        int64_t now_us, int account, int64_t *retry_us);
/* Concurrency rule r for key: the slot's handle (give it back with
 * dtx_gw_cluster_conc_release), or NULL when refused. */
void *dtx_gw_cluster_conc_acquire(dtx_gw_cluster_t *self, const dtx_gw_rule_cfg_t *r,
                                  const char *key, int64_t now_us);
void dtx_gw_cluster_conc_release(dtx_gw_cluster_t *self, void *slot);

/* ---- status ---- */

typedef struct dtx_gw_cluster_status {
    int      mode;          /* DTX_GW_CQ_* in force */
    int      fail_closed;   /* the configured fallback */
    int      redis_up;
    int      live;          /* instances Redis last counted (1 before it ever answered) */
    uint64_t round_trips;   /* exec calls answered */
    uint64_t errors;        /* exec/connect failures */
    uint64_t fallbacks;     /* changes to the fallback mode */
    uint64_t tokens_granted, tokens_returned;
    uint64_t keys;
} dtx_gw_cluster_status_t;

void dtx_gw_cluster_status(dtx_gw_cluster_t *self, dtx_gw_cluster_status_t *out);
/* Prometheus sample lines (malloc'ed, NUL-terminated) or NULL; their HELP
 * and TYPE lines are app/gw_metrics.c's, which groups them by family. */
char *dtx_gw_cluster_metrics(dtx_gw_cluster_t *self);

#endif
