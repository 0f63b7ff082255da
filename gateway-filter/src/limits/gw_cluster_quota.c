/*
 * gw_cluster_quota.c — slices and leases of cluster-wide limits
 * (gw_cluster_quota.h; the states and invariants are there).
 */
#include <math.h>

#include "limits/gw_cluster_quota.h"

const char *dtx_gw_cq_mode_name(int mode)
{
    switch (mode) {
    case DTX_GW_CQ_CLUSTER: return "cluster";
    case DTX_GW_CQ_FAIL_OPEN: return "fail_open";
    case DTX_GW_CQ_FAIL_CLOSED: return "fail_closed";
    }
    return "unknown";
}

double dtx_gw_cq_share(double limit, int live)
{
    return limit / (live < 1 ? 1 : live);
}

/* ---------------- rate ---------------- */

void dtx_gw_cq_rate_params_set(dtx_gw_cq_rate_params_t *p, double rate_per_s,
                               int64_t capacity, int64_t slice_ms, int64_t idle_ms)
{
    p->rate = rate_per_s;
    p->capacity = capacity < 1 ? 1 : capacity;
    double slice = ceil(rate_per_s * (double)slice_ms / 1000.0);
    p->slice = slice < 1 ? 1 : (int64_t)slice;
    p->idle_us = idle_ms * 1000;
}

int64_t dtx_gw_cq_rate_debt(const dtx_gw_cq_rate_params_t *p, int live)
{
    int64_t d = p->capacity / (live < 1 ? 1 : live);
    return d < 1 ? 1 : d;
}

int dtx_gw_cq_rate_take(const dtx_gw_cq_rate_params_t *p, dtx_gw_cq_rate_t *s, int mode,
                        int live, int64_t now_us, int account, int64_t *retry_us)
{
    *retry_us = 0;
    if (mode == DTX_GW_CQ_FAIL_CLOSED) {
        *retry_us = 1000000;
        return DTX_GW_RL_REJECT;
    }
    if (mode == DTX_GW_CQ_FAIL_OPEN) {
        dtx_gw_token_params_t tp;
        tp.rate = dtx_gw_cq_share(p->rate, live);
        tp.burst = dtx_gw_cq_share((double)p->capacity, live);
        if (tp.burst < 1)
            tp.burst = 1;
        if (account)
            return dtx_gw_token_take(&tp, &s->local, now_us, retry_us);
        dtx_gw_token_state_t copy = s->local;
        return dtx_gw_token_take(&tp, &copy, now_us, retry_us);
    }
    s->last_use_us = now_us;
    /* an empty pool lends up to `debt` tokens, paid from the next grant:
     * a key that sees one request now and then is not refused for want of
     * a slice it could not have asked for in advance */
    if (s->pool > -dtx_gw_cq_rate_debt(p, live)) {
        if (account)
            s->pool--;
        return DTX_GW_RL_PASS;
    }
    /* the next slice is on its way when there is room in the bucket */
    *retry_us = (int64_t)ceil(1e6 / p->rate);
    return DTX_GW_RL_REJECT;
}

int64_t dtx_gw_cq_rate_plan(const dtx_gw_cq_rate_params_t *p, dtx_gw_cq_rate_t *s,
                            int64_t now_us)
{
    if (s->asking)
        return 0;
    int demand = s->last_use_us && now_us - s->last_use_us < p->idle_us;
    int64_t n = 0;
    if (demand && s->pool <= p->slice / 2)
        n = p->slice - s->pool;        /* a slice, and the debt */
    else if (!demand && s->pool < 0)
        n = -s->pool;                  /* idle: pay the debt only */
    else if (!demand && s->pool > 0) {
        n = -s->pool;
        s->pool = 0;
    }
    if (n)
        s->asking = 1;
    return n;
}

void dtx_gw_cq_rate_apply(dtx_gw_cq_rate_t *s, int64_t n, int ok, int64_t got)
{
    s->asking = 0;
    if (n < 0) {
        if (ok)
            s->returned += (uint64_t)-n;
        else
            s->pool += -n;
        return;
    }
    if (ok && got > 0) {
        s->pool += got;
        s->granted += (uint64_t)got;
    }
}

/* ---------------- concurrency ---------------- */

void dtx_gw_cq_conc_params_set(dtx_gw_cq_conc_params_t *p, int max, int live,
                               int64_t lease_ms, int64_t idle_ms)
{
    p->max = max;
    p->spare = max / (4 * (live < 1 ? 1 : live));
    if (p->spare < 1)
        p->spare = 1;
    p->lease_us = lease_ms * 1000;
    p->idle_us = idle_ms * 1000;
    p->keep_us = 60 * p->idle_us;
}

int dtx_gw_cq_conc_held(const dtx_gw_cq_conc_params_t *p, const dtx_gw_cq_conc_t *s,
                        int64_t now_us)
{
    return now_us - s->renewed_us < p->lease_us ? s->held : 0;
}

int dtx_gw_cq_conc_acquire(const dtx_gw_cq_conc_params_t *p, dtx_gw_cq_conc_t *s, int mode,
                           int live, int64_t now_us)
{
    int cap = 0;
    if (mode == DTX_GW_CQ_CLUSTER) {
        s->last_use_us = now_us;
        cap = dtx_gw_cq_conc_held(p, s, now_us);
    } else if (mode == DTX_GW_CQ_FAIL_OPEN) {
        cap = (int)ceil(dtx_gw_cq_share(p->max, live));
    }
    if (s->in_flight >= cap)
        return 0;
    s->in_flight++;
    return 1;
}

void dtx_gw_cq_conc_release(dtx_gw_cq_conc_t *s)
{
    if (s->in_flight > 0)
        s->in_flight--;
}

int dtx_gw_cq_conc_plan(const dtx_gw_cq_conc_params_t *p, dtx_gw_cq_conc_t *s, int64_t now_us)
{
    if (s->asking)
        return -1;
    int demand = s->last_use_us && now_us - s->last_use_us < p->idle_us;
    /* spare slots stay leased for keep_us after the last request, so a
     * quiet key's next request finds one */
    int keep = s->last_use_us && now_us - s->last_use_us < p->keep_us;
    int want = s->in_flight + (keep ? p->spare : 0);
    if (want > p->max)
        want = p->max;
    int held = dtx_gw_cq_conc_held(p, s, now_us);
    int ask = -1;
    if (want > held)
        ask = want;                                    /* grow */
    else if (held > want + (demand ? p->spare : 0))
        ask = want;                                    /* give back the extra */
    else if (held > 0 && now_us - s->renewed_us >= p->lease_us / 3)
        ask = held;                                    /* renew */
    if (ask >= 0)
        s->asking = 1;
    return ask;
}

void dtx_gw_cq_conc_apply(dtx_gw_cq_conc_t *s, int ok, int got, int64_t asked_at_us)
{
    s->asking = 0;
    if (!ok)
        return;
    s->held = got;
    s->renewed_us = asked_at_us;
}
