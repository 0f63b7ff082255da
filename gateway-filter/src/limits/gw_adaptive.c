/*
 * gw_adaptive.c — the gradient concurrency limit and the dtxd_inflight
 * decision (see gw_adaptive.h).
 */
#include <assert.h>

#include "limits/gw_adaptive.h"

void dtx_gw_gradient_init(dtx_gw_gradient_t *self, const dtx_gw_gradient_params_t *p)
{
    self->limit = p->initial_limit;
    self->long_rtt_us = 0;
    self->sum_rtt_us = 0;
    self->samples = 0;
    self->max_inflight = 0;
    self->window_start_us = 0;
    self->started = 0;
}

int dtx_gw_gradient_admit(const dtx_gw_gradient_t *self, int in_flight)
{
    return (double)in_flight < self->limit;
}

static double s_clamp(double v, double lo, double hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

int dtx_gw_gradient_sample(dtx_gw_gradient_t *self, const dtx_gw_gradient_params_t *p,
                           int64_t now_us, int64_t rtt_us, int in_flight)
{
    if (!self->started) {
        self->started = 1;
        self->window_start_us = now_us;
    }
    if (rtt_us < 1)
        rtt_us = 1;
    self->sum_rtt_us += (double)rtt_us;
    self->samples++;
    if (in_flight > self->max_inflight)
        self->max_inflight = in_flight;
    if (self->samples < p->window_samples && now_us - self->window_start_us < p->window_us)
        return 0;

    double short_rtt = self->sum_rtt_us / self->samples;
    int max_inflight = self->max_inflight;
    self->sum_rtt_us = 0;
    self->samples = 0;
    self->max_inflight = 0;
    self->window_start_us = now_us;

    if (self->long_rtt_us <= 0) {
        self->long_rtt_us = short_rtt;
    } else {
        double n = p->long_window > 1 ? p->long_window : 1;
        self->long_rtt_us += (short_rtt - self->long_rtt_us) / n;
        /* Recover quickly after a long spell of high latency. */
        if (self->long_rtt_us / short_rtt > 2.0)
            self->long_rtt_us *= 0.95;
    }
    /* App-limited: the limit says nothing about the upstream; keep it. */
    if ((double)max_inflight < self->limit / 2)
        return 1;
    double gradient = s_clamp(p->tolerance * self->long_rtt_us / short_rtt, 0.5, 1.0);
    double next = self->limit * gradient + p->queue_size;
    next = self->limit * (1.0 - p->smoothing) + next * p->smoothing;
    self->limit = s_clamp(next, p->min_limit, p->max_limit);
    return 1;
}

dtx_gw_dtxd_verdict_t dtx_gw_dtxd_decide(int64_t inflight, int64_t read_at_us, int64_t now_us,
                                         int64_t max_inflight, int64_t stale_us)
{
    assert(max_inflight > 0 && stale_us > 0);
    /* A reading taken after the request read the clock has a negative
     * age: it is as fresh as can be. */
    if (read_at_us <= 0 || now_us - read_at_us > stale_us)
        return DTX_GW_DTXD_STALE;
    return inflight >= max_inflight ? DTX_GW_DTXD_SHED : DTX_GW_DTXD_ADMIT;
}
