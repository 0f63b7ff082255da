/*
 * gw_cluster_quota.h — the instance side of cluster-wide limits: slices
 * of a shared rate and leases of shared concurrency slots, as pure
 * functions of the state they are handed and the time they are told.
 *
 * The shared truth lives in Redis (filters/gw_cluster.c runs the Lua
 * scripts); a request never waits for it. Each instance holds:
 *  - rate: a pool of tokens taken from the shared GCRA bucket in slices of
 *    `slice` tokens. A request takes one from the pool (no round trip),
 *    or borrows one while the debt is under max(1, capacity / live);
 *    the sync thread asks for more when the pool is at or under half a
 *    slice and there was demand, and gives the pool back when no request
 *    came for idle_us.
 *  - concurrency: `held` slots leased from the shared table (each lease
 *    expires after lease_us unless renewed, so a dead instance's slots
 *    come back). A request takes a slot while in_flight < held; the sync
 *    thread keeps held at in_flight + spare while the key saw a request
 *    in the last keep_us, renews the lease every lease_us / 3, and
 *    shrinks it to in_flight after that.
 *
 * Invariants:
 *  - a slot is used here only after Redis granted it; a token too, but for
 *    at most `debt` borrowed ones, which the next grants pay back: while
 *    Redis answers, the cluster admits at most what the shared bucket
 *    allows, plus the tokens in pools and the debts (<= N x (slice +
 *    debt), see docs/gateway.md "Accuracy");
 *  - plan() marks the state `asking` and apply() clears it: one request
 *    to Redis per key at a time; tokens given back leave the pool at
 *    plan() time, so the hot path never spends a token in transit.
 *
 * Modes (what the sync thread last saw of Redis):
 *  CLUSTER      Redis answers: pools and leases as above;
 *  FAIL_OPEN    Redis unreachable: a local bucket at rate / live and
 *               concurrency ceil(max / live), where live is the number of
 *               instances Redis last counted (1 if it never answered);
 *  FAIL_CLOSED  Redis unreachable: every request of a cluster rule is
 *               refused.
 */
#ifndef DTX_GW_CLUSTER_QUOTA_H
#define DTX_GW_CLUSTER_QUOTA_H

#include <stdint.h>

#include "limits/gw_ratelimit.h"

#define DTX_GW_CQ_CLUSTER     0
#define DTX_GW_CQ_FAIL_OPEN   1
#define DTX_GW_CQ_FAIL_CLOSED 2

/* "cluster", "fail_open" or "fail_closed". */
const char *dtx_gw_cq_mode_name(int mode);

/* ---------------- rate: slices of a shared bucket ---------------- */

typedef struct dtx_gw_cq_rate_params {
    double  rate;       /* cluster-wide requests per second */
    int64_t capacity;   /* requests admitted at once after a pause (>= 1) */
    int64_t slice;      /* tokens asked at a time (>= 1) */
    int64_t idle_us;    /* a pool without demand this long is given back */
} dtx_gw_cq_rate_params_t;

typedef struct dtx_gw_cq_rate {
    int64_t pool;          /* tokens held here; < 0: tokens lent (debt) */
    int     asking;        /* a request to Redis is out */
    int64_t last_use_us;   /* last request (the demand signal); 0: none */
    dtx_gw_token_state_t local; /* the fail-open bucket */
    uint64_t granted;      /* tokens Redis gave */
    uint64_t returned;     /* tokens given back */
} dtx_gw_cq_rate_t;

/* Fills p: slice = ceil(rate x slice_ms / 1000), at least 1. */
void dtx_gw_cq_rate_params_set(dtx_gw_cq_rate_params_t *p, double rate_per_s,
                               int64_t capacity, int64_t slice_ms, int64_t idle_ms);

/* The most an empty pool lends (pool goes down to -debt, paid from the
 * next grants): max(1, capacity / live). */
int64_t dtx_gw_cq_rate_debt(const dtx_gw_cq_rate_params_t *p, int live);

/* The hot path. PASS or REJECT (*retry_us: a hint for Retry-After).
 * In CLUSTER mode a request takes a token from the pool, or borrows one
 * while the pool is above -debt. account 0 only checks (nothing is
 * taken). live >= 1. */
int dtx_gw_cq_rate_take(const dtx_gw_cq_rate_params_t *p, dtx_gw_cq_rate_t *s, int mode,
                        int live, int64_t now_us, int account, int64_t *retry_us);

/* The sync thread: how many tokens to ask for (> 0), give back (< 0,
 * already out of the pool), or 0 (nothing to do). Marks s asking unless 0. */
int64_t dtx_gw_cq_rate_plan(const dtx_gw_cq_rate_params_t *p, dtx_gw_cq_rate_t *s,
                            int64_t now_us);
/* The answer to plan's n: ok 0 when Redis did not answer (tokens given
 * back return to the pool); got = tokens granted for n > 0. */
void dtx_gw_cq_rate_apply(dtx_gw_cq_rate_t *s, int64_t n, int ok, int64_t got);

/* ---------------- concurrency: leases of shared slots ---------------- */

typedef struct dtx_gw_cq_conc_params {
    int     max;        /* cluster-wide slots */
    int     spare;      /* slots held beyond in_flight while there is demand */
    int64_t lease_us;   /* a lease not renewed expires after this */
    int64_t idle_us;    /* after this without requests, no more than spare is kept */
    int64_t keep_us;    /* spare slots are given back after this (60 x idle) */
} dtx_gw_cq_conc_params_t;

typedef struct dtx_gw_cq_conc {
    int     held;        /* slots Redis leased to this instance */
    int     in_flight;   /* slots in use here */
    int     asking;
    int64_t renewed_us;  /* when the lease in force was asked for */
    int64_t last_use_us; /* last request */
} dtx_gw_cq_conc_t;

/* spare = max(1, max / (4 x live)). */
void dtx_gw_cq_conc_params_set(dtx_gw_cq_conc_params_t *p, int max, int live,
                               int64_t lease_ms, int64_t idle_ms);

/* The hot path: 1 a slot was taken (give it back with release), 0 refused. */
int  dtx_gw_cq_conc_acquire(const dtx_gw_cq_conc_params_t *p, dtx_gw_cq_conc_t *s, int mode,
                            int live, int64_t now_us);
void dtx_gw_cq_conc_release(dtx_gw_cq_conc_t *s);

/* Slots held when counted at now: 0 once the lease has run out unrenewed. */
int dtx_gw_cq_conc_held(const dtx_gw_cq_conc_params_t *p, const dtx_gw_cq_conc_t *s,
                        int64_t now_us);

/* The sync thread: the number of slots to hold (>= 0; asked of Redis, which
 * may grant fewer), or -1 (nothing to do). Marks s asking unless -1. */
int  dtx_gw_cq_conc_plan(const dtx_gw_cq_conc_params_t *p, dtx_gw_cq_conc_t *s,
                         int64_t now_us);
/* The answer: ok 0 when Redis did not answer (the old lease stands until
 * it expires); asked_at_us = the plan's now (the lease runs from then). */
void dtx_gw_cq_conc_apply(dtx_gw_cq_conc_t *s, int ok, int got, int64_t asked_at_us);

/* ---------------- the instance's share ---------------- */

/* The fail-open share of a limit: limit / live (live < 1 counts as 1). */
double dtx_gw_cq_share(double limit, int live);

#endif
