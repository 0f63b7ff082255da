/*
 * gw_adaptive.h — adaptive load shedding behind a pluggable signal.
 *
 * A signal answers one question before a request goes upstream: admit it
 * or shed it? and learns from every finished call. Two signals exist:
 *
 *  - "latency": a gradient concurrency limit in the style of Netflix's
 *    Gradient2 (and Envoy's adaptive concurrency): the limit follows
 *      gradient = clamp(tolerance x long_rtt / short_rtt, 0.5, 1.0)
 *      new      = limit x gradient + queue_size
 *      limit    = limit x (1 - smoothing) + new x smoothing
 *    where short_rtt is the mean RTT of the last window of samples and
 *    long_rtt an exponential average over many windows; the limit does
 *    not grow while the gateway uses less than half of it. A request is
 *    shed when the calls in flight reach the limit.
 *  - "dtxd_inflight": shed when the coordinator has too many transactions
 *    in flight. A poller (gw_dtxd_watch.h) reads the gauge
 *    dtx_transactions_in_memory from dtxd's admin /metrics every
 *    dtxd.poll_ms and publishes the last good reading with its time; a
 *    request is shed while that reading is >= the rule's
 *    dtxd_max_inflight. A reading older than dtxd.stale_ms (or none yet)
 *    says nothing about dtxd now: the signal then fails open (admits),
 *    the poller logs the change and dtx_gw_dtxd_fail_open_total counts
 *    the requests so admitted — an outage of dtxd's admin API must not
 *    become an outage of every guarded route.
 *
 * The gradient functions and dtx_gw_dtxd_decide are pure (state, reading
 * and clock are passed in).
 */
#ifndef DTX_GW_ADAPTIVE_H
#define DTX_GW_ADAPTIVE_H

#include <stdint.h>

typedef struct dtx_gw_gradient_params {
    double  initial_limit;  /* starting limit */
    double  min_limit;      /* never below */
    double  max_limit;      /* never above */
    double  tolerance;      /* long/short RTT ratio tolerated (>= 1, e.g. 1.5) */
    double  smoothing;      /* 0..1, weight of a new estimate (e.g. 0.2) */
    double  queue_size;     /* headroom added per update (e.g. 4) */
    int     window_samples; /* samples per short-RTT window (e.g. 50) */
    int64_t window_us;      /* or this much time, whichever first (e.g. 1 s) */
    int     long_window;    /* windows averaged into long_rtt (e.g. 20) */
} dtx_gw_gradient_params_t;

typedef struct dtx_gw_gradient {
    double  limit;          /* current concurrency limit */
    double  long_rtt_us;    /* exponential average RTT */
    double  sum_rtt_us;     /* this window's RTT sum */
    int     samples;        /* this window's sample count */
    int     max_inflight;   /* highest in-flight count seen this window */
    int64_t window_start_us;
    int     started;        /* 0 before the first sample */
} dtx_gw_gradient_t;

void dtx_gw_gradient_init(dtx_gw_gradient_t *self, const dtx_gw_gradient_params_t *p);
/* 1 to admit a request when in_flight calls are already out, 0 to shed. */
int dtx_gw_gradient_admit(const dtx_gw_gradient_t *self, int in_flight);
/* Feeds one finished call: its RTT and the in-flight count when it left.
 * Returns 1 when the limit was recomputed. */
int dtx_gw_gradient_sample(dtx_gw_gradient_t *self, const dtx_gw_gradient_params_t *p,
                           int64_t now_us, int64_t rtt_us, int in_flight);

/* Verdicts of the dtxd_inflight signal. */
typedef enum {
    DTX_GW_DTXD_ADMIT = 0,  /* fresh reading below the threshold */
    DTX_GW_DTXD_SHED  = 1,  /* fresh reading at or above the threshold */
    DTX_GW_DTXD_STALE = 2   /* no reading, or older than stale_us: admitted (fail open) */
} dtx_gw_dtxd_verdict_t;

/* Decides one request of a dtxd_inflight rule. inflight is the last good
 * reading of dtxd's transactions in flight, read_at_us when it was taken
 * (gw_clock.h; 0: never), now_us the request's time; a reading is fresh
 * while now_us - read_at_us <= stale_us. max_inflight > 0 and
 * stale_us > 0 (the configuration checks both). */
dtx_gw_dtxd_verdict_t dtx_gw_dtxd_decide(int64_t inflight, int64_t read_at_us, int64_t now_us,
                                         int64_t max_inflight, int64_t stale_us);

/* Signal kinds an adaptive rule may name. */
typedef enum {
    DTX_GW_SIGNAL_LATENCY = 0,
    DTX_GW_SIGNAL_DTXD_INFLIGHT = 1
} dtx_gw_signal_kind_t;

/* A signal: admit before the call, sample after it. */
typedef struct dtx_gw_signal {
    int  (*admit)(void *state, int64_t now_us, int in_flight);
    void (*sample)(void *state, int64_t now_us, int64_t rtt_us, int in_flight);
    void  *state;
} dtx_gw_signal_t;

#endif
