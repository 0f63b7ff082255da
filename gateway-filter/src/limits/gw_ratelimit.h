/*
 * gw_ratelimit.h — rate limiters as pure decision functions.
 *
 * Every function here takes the current time as an argument (microseconds
 * from a monotonic clock) and touches only the state it is given: no
 * clock reads, no locks, no sleeping. The caller (gw_rules.c) owns the
 * state, the lock around it and any waiting the verdict asks for, so the
 * unit suite drives each limiter on a virtual clock.
 *
 * Four algorithms:
 *  - leaky bucket, nginx limit_req exactly: excess kept in milli-requests,
 *    time in whole milliseconds, `burst`, `nodelay` and `delay=N`; a
 *    rejected request changes nothing;
 *  - token bucket: `rate` tokens per second up to `burst`, one per request;
 *    a rejected request takes none;
 *  - warm-up: Sentinel's WarmUpController (cold factor curve over a
 *    warm-up period, per-second pass counts);
 *  - queue: Sentinel's RateLimiterController, requests paced 1/rate apart,
 *    each waits its turn unless the wait would pass max_wait.
 */
#ifndef DTX_GW_RATELIMIT_H
#define DTX_GW_RATELIMIT_H

#include <stdint.h>

/* Verdicts of every limiter. */
#define DTX_GW_RL_PASS   0   /* go now */
#define DTX_GW_RL_DELAY  1   /* go after *delay_us (the request is counted) */
#define DTX_GW_RL_REJECT 2   /* refuse (nothing was counted) */

/* ---------------- leaky bucket (nginx limit_req) ---------------- */

/* nginx's delay value for `nodelay`: no request is ever delayed. */
#define DTX_GW_LEAKY_NODELAY INT64_MAX

typedef struct dtx_gw_leaky_params {
    int64_t rate_milli;   /* requests per second x 1000 (nginx ctx->rate) */
    int64_t burst_milli;  /* burst x 1000 */
    int64_t delay_milli;  /* delay=N x 1000; 0 = delay all excess (default);
                             DTX_GW_LEAKY_NODELAY = nodelay */
} dtx_gw_leaky_params_t;

typedef struct dtx_gw_leaky_state {
    int64_t last_ms;   /* time of the last counted request, ms */
    int64_t excess;    /* milli-requests above the rate */
    int     used;      /* 0 until the first request (nginx's new node) */
} dtx_gw_leaky_state_t;

/* Fills params from requests per `per_s` seconds (1 for r/s, 60 for r/m,
 * as nginx computes rate = N * 1000 / 60), burst and delay in requests;
 * nodelay overrides delay. */
void dtx_gw_leaky_params_set(dtx_gw_leaky_params_t *p, int64_t requests,
                             int per_s, int64_t burst, int64_t delay, int nodelay);

/* nginx's lookup: computes the excess this request would leave and
 * stores it in *excess_out. Returns DTX_GW_RL_REJECT when it is over
 * burst (state unchanged). Otherwise, when account is non-zero, records
 * the request and returns PASS or DELAY with *delay_us set from
 * (excess - delay) / rate; with account 0 records nothing and returns
 * PASS (used to check every rule before counting in any). */
int dtx_gw_leaky_check(const dtx_gw_leaky_params_t *p, dtx_gw_leaky_state_t *s,
                       int64_t now_us, int account, int64_t *excess_out,
                       int64_t *delay_us);

/* Remaining requests before rejection at now (for RateLimit-Remaining). */
int64_t dtx_gw_leaky_remaining(const dtx_gw_leaky_params_t *p,
                               const dtx_gw_leaky_state_t *s, int64_t now_us);

/* 1 when the state holds nothing a new one would not (safe to forget). */
int dtx_gw_leaky_idle(const dtx_gw_leaky_params_t *p,
                      const dtx_gw_leaky_state_t *s, int64_t now_us);

/* ---------------- token bucket ---------------- */

typedef struct dtx_gw_token_params {
    double rate;     /* tokens added per second */
    double burst;    /* bucket size (>= 1) */
} dtx_gw_token_params_t;

typedef struct dtx_gw_token_state {
    double  tokens;   /* tokens now in the bucket */
    int64_t last_us;  /* when tokens was computed */
    int     used;     /* 0: bucket starts full */
} dtx_gw_token_state_t;

/* Takes one token: PASS, or REJECT with *retry_us = time until one is
 * there (state unchanged but for the refill). */
int dtx_gw_token_take(const dtx_gw_token_params_t *p, dtx_gw_token_state_t *s,
                      int64_t now_us, int64_t *retry_us);
int64_t dtx_gw_token_remaining(const dtx_gw_token_params_t *p,
                               const dtx_gw_token_state_t *s, int64_t now_us);

/* ---------------- warm-up (Sentinel) ---------------- */

typedef struct dtx_gw_warmup_params {
    double  count;           /* steady-state requests per second */
    int     warm_up_s;       /* warm-up period, seconds */
    int     cold_factor;     /* cold rate = count / cold_factor (>= 2) */
    int64_t warning_token;   /* derived by dtx_gw_warmup_params_set */
    int64_t max_token;
    double  slope;
} dtx_gw_warmup_params_t;

typedef struct dtx_gw_warmup_state {
    int64_t stored_tokens;   /* Sentinel's storedTokens */
    int64_t last_filled_ms;  /* second boundary of the last sync */
    int64_t window_s;        /* second of pass_cur */
    int64_t pass_cur;        /* passes in this second */
    int64_t pass_prev;       /* passes in the previous second */
} dtx_gw_warmup_state_t;

void dtx_gw_warmup_params_set(dtx_gw_warmup_params_t *p, double count,
                              int warm_up_s, int cold_factor);
/* PASS (counted) or REJECT with *retry_us until the next second. */
int dtx_gw_warmup_take(const dtx_gw_warmup_params_t *p, dtx_gw_warmup_state_t *s,
                       int64_t now_us, int64_t *retry_us);
/* The rate allowed now, requests per second (for RateLimit-Limit). */
double dtx_gw_warmup_allowed(const dtx_gw_warmup_params_t *p,
                             const dtx_gw_warmup_state_t *s);

/* ---------------- queue / pacing (Sentinel) ---------------- */

typedef struct dtx_gw_queue_params {
    double  rate;         /* requests per second */
    int64_t max_wait_us;  /* longest wait a request may be given */
} dtx_gw_queue_params_t;

typedef struct dtx_gw_queue_state {
    int64_t latest_us;   /* slot time of the latest admitted request */
    int     used;        /* 0 until the first request */
} dtx_gw_queue_state_t;

/* PASS, DELAY with *delay_us (its slot is taken), or REJECT when the wait
 * would pass max_wait (nothing taken; *delay_us = that wait). */
int dtx_gw_queue_take(const dtx_gw_queue_params_t *p, dtx_gw_queue_state_t *s,
                      int64_t now_us, int64_t *delay_us);

#endif
