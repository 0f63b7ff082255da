/*
 * gw_lb.h — upstream pools: targets with weights, load balancing, passive
 * ejection (outlier detection) and the state the active health checker
 * keeps.
 *
 * A pool is shared between configuration generations while its JSON is
 * unchanged (reference counted), so balancing state, ejections and health
 * survive a hot swap. Every call takes the pool's lock itself; the
 * functions take the time as an argument so the unit suite runs them on a
 * virtual clock.
 *
 * A target is available when it is healthy (active checks) and not
 * ejected. Ejection: after eject_consecutive_5xx answers >= 500 or
 * eject_consecutive_connect connect failures in a row, a target is left
 * out for base x 2^(n-1) (n = its ejection count, capped at max_ms), but
 * only while the share of ejected targets stays under max_percent (as
 * Envoy's max_ejection_percent). A target that has served well for max_ms
 * after coming back has its count reset.
 */
#ifndef DTX_GW_LB_H
#define DTX_GW_LB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "config/gw_config.h"
#include "upstream/gw_zone.h"

#define DTX_GW_MAX_TARGETS 64

/* Outcomes fed back to the pool. */
#define DTX_GW_OUTCOME_OK          0  /* an answer below 500 */
#define DTX_GW_OUTCOME_5XX         1  /* an answer >= 500 */
#define DTX_GW_OUTCOME_CONNECT     2  /* could not connect */
#define DTX_GW_OUTCOME_OTHER       3  /* other transport error (no ejection count) */

typedef struct dtx_gw_target {
    char       *url;                /* base URL, no trailing slash */
    dtx_gw_addr_t addr;             /* resolved at load (gw_addr.h) */
    int         weight;             /* >= 1 */
    atomic_int  in_flight;          /* calls out now */
    atomic_ullong picked;           /* calls sent (metrics) */
    atomic_ullong connects;         /* new connections opened (metrics; the rest reused one) */
    /* under the pool lock: */
    int         current_weight;     /* smooth weighted round robin */
    int         consecutive_5xx;
    int         consecutive_connect;
    int         ejections;          /* times ejected (sets the next duration) */
    int64_t     ejected_until_us;   /* > now: ejected */
    int64_t     back_since_us;      /* when the last ejection ended */
    int         healthy;            /* active checks say so (1 when unchecked) */
    int         check_ok, check_fail;/* consecutive check results */
    int64_t     next_check_us;
    char       *zone;               /* its zone, or NULL */
    int         local;              /* 1: in the pool's local zone (priority 0, gw_zone.h) */
} dtx_gw_target_t;

typedef struct dtx_gw_ring_point {
    uint32_t hash;
    int      target;
} dtx_gw_ring_point_t;

typedef struct dtx_gw_pool {
    atomic_int          refs;
    dtx_gw_pool_cfg_t   cfg;        /* owned deep copy */
    pthread_mutex_t     lock;
    dtx_gw_target_t    *targets;
    int                 ntargets;
    unsigned            rr_next;    /* round robin cursor */
    dtx_gw_ring_point_t *ring;      /* consistent hash ring, sorted */
    int                 nring;
    /* zones and discovery (gw_zone.h, gw_pool_set.c) */
    char               *local_zone; /* the gateway's zone, or NULL */
    int                 nlocal;     /* targets in it */
    unsigned            zone_seq;   /* under the lock: the zone draw's cursor */
    int                 pick_prio;  /* under the lock, during a pick: -1 any target,
                                       0 local-zone ones only, 1 the others */
    uint64_t            set_version;/* discovery: the registry's version of this target set */
    struct dtx_gw_pool *drain_from; /* under the lock: the pool this one replaced while
                                       targets it dropped may have calls in flight */
} dtx_gw_pool_t;

/* Builds a pool from cfg (deep-copied). NULL on allocation failure. */
dtx_gw_pool_t *dtx_gw_pool_new(const dtx_gw_pool_cfg_t *cfg);
/* The same with these targets in place of cfg's (ntargets may be 0), the
 * gateway's zone (NULL: none; targets in it are preferred, gw_zone.h).
 * Capped at DTX_GW_MAX_TARGETS targets. NULL on allocation failure. */
dtx_gw_pool_t *dtx_gw_pool_new_set(const dtx_gw_pool_cfg_t *cfg,
                                   const dtx_gw_target_cfg_t *targets, int ntargets,
                                   const char *local_zone);
/* A pool built to replace prev (gw_pool_set.c): every target of self
 * that prev also had (same URL) takes over its health, ejection and
 * counters; when prev had targets self lacks, self keeps a reference to
 * it (drain_from) so /metrics can show their calls draining. */
void dtx_gw_pool_inherit(dtx_gw_pool_t *self, dtx_gw_pool_t *prev);
/* Calls still in flight on targets self dropped, summed over the pools
 * it replaced; drops the links whose dropped targets are all idle.
 * Returns that count. */
int dtx_gw_pool_drain_prune(dtx_gw_pool_t *self);
/* Calls fn for every dropped target still listed (draining), under
 * self's lock: fn must be quick. */
void dtx_gw_pool_draining_each(dtx_gw_pool_t *self,
                               void (*fn)(const dtx_gw_target_t *t, void *arg), void *arg);
dtx_gw_pool_t *dtx_gw_pool_ref(dtx_gw_pool_t *self);
/* Drops a reference; the last one frees it. Sets *self_p to NULL. */
void dtx_gw_pool_unref(dtx_gw_pool_t **self_p);

/* Picks a target for a request: returns its index, or -1 when none is
 * available. hash_key (may be NULL) is the value of the pool's hash
 * header; exclude (may be NULL) is a mask of DTX_GW_MAX_TARGETS flags of
 * targets already tried. panic 1 ignores ejection and health (used when
 * nothing else is left). */
int dtx_gw_pool_pick(dtx_gw_pool_t *self, const char *hash_key, int64_t now_us,
                     const unsigned char *exclude, int panic);

/* The share (percent) of picks that go to the local zone now
 * (gw_zone.h), or -1 when the pool has no local-zone target or no
 * available target at all. */
int dtx_gw_pool_zone_load(dtx_gw_pool_t *self, int64_t now_us);

/* Number of targets available now. */
int dtx_gw_pool_available(dtx_gw_pool_t *self, int64_t now_us);

/* Feeds the outcome of a call to target idx. Returns 1 when it got the
 * target ejected. */
int dtx_gw_pool_record(dtx_gw_pool_t *self, int idx, int64_t now_us, int outcome);

/* Feeds an active health check result. Returns the target's health. */
int dtx_gw_pool_health_result(dtx_gw_pool_t *self, int idx, int64_t now_us, int ok);

/* 1 when target idx is ejected at now. */
int dtx_gw_pool_ejected(dtx_gw_pool_t *self, int idx, int64_t now_us);

#endif
