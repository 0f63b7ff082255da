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
 *  - "dtxd_inflight": shed when the coordinator reports too many
 *    transactions in flight. dtxd has no such report yet (it waits for the
 *    coordinator's /metrics); until then this signal admits everything and
 *    the config accepts it so rules can be written ahead.
 *
 * The gradient functions are pure (state + injected clock).
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
