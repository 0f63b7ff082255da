/*
 * gw_ratelimit.c — the four rate limiters of gw_ratelimit.h.
 *
 * The leaky bucket is nginx's ngx_http_limit_req_module arithmetic, kept
 * integer and in the same units so its behaviour matches request for
 * request: excess in milli-requests, elapsed time in whole milliseconds
 * (a negative step of up to 60 s counts as 0, a larger one as 1 ms), the
 * first request of a key always passes with excess 0, and `last` moves
 * only when a counted request saw time pass. What drained during a pause
 * (rate x elapsed) saturates at INT64_MAX: after hours idle at a rate of
 * millions per second the product would wrap negative and turn an empty
 * bucket into a full one that refuses every request.
 */
#include <math.h>
#include <stdint.h>

#include "limits/gw_ratelimit.h"

/* ---------------- leaky bucket ---------------- */

void dtx_gw_leaky_params_set(dtx_gw_leaky_params_t *p, int64_t requests,
                             int per_s, int64_t burst, int64_t delay, int nodelay)
{
    if (per_s <= 0)
        per_s = 1;
    p->rate_milli = requests * 1000 / per_s;
    if (p->rate_milli <= 0)
        p->rate_milli = 1;
    p->burst_milli = burst * 1000;
    p->delay_milli = nodelay ? DTX_GW_LEAKY_NODELAY : delay * 1000;
}

static int64_t s_leaky_elapsed_ms(const dtx_gw_leaky_state_t *s, int64_t now_ms)
{
    int64_t ms = now_ms - s->last_ms;
    if (ms < -60000)
        ms = 1;
    else if (ms < 0)
        ms = 0;
    return ms;
}

/* Milli-requests drained in ms milliseconds (ms >= 0), saturating. */
static int64_t s_leaky_drained(const dtx_gw_leaky_params_t *p, int64_t ms)
{
    int64_t milli_ms;
    if (__builtin_mul_overflow(p->rate_milli, ms, &milli_ms))
        return INT64_MAX;
    return milli_ms / 1000;
}

int dtx_gw_leaky_check(const dtx_gw_leaky_params_t *p, dtx_gw_leaky_state_t *s,
                       int64_t now_us, int account, int64_t *excess_out,
                       int64_t *delay_us)
{
    int64_t now_ms = now_us / 1000;
    int64_t excess = 0, ms = 0;
    if (delay_us)
        *delay_us = 0;
    if (s->used) {
        ms = s_leaky_elapsed_ms(s, now_ms);
        /* s->excess >= 0 and drained <= INT64_MAX: no wrap either way */
        excess = s->excess - s_leaky_drained(p, ms) + 1000;
        if (excess < 0)
            excess = 0;
        if (excess > p->burst_milli) {
            if (excess_out)
                *excess_out = excess;
            return DTX_GW_RL_REJECT;
        }
    }
    if (excess_out)
        *excess_out = excess;
    if (!account)
        return DTX_GW_RL_PASS;
    if (!s->used) {
        s->used = 1;
        s->last_ms = now_ms;
        s->excess = 0;
        return DTX_GW_RL_PASS;
    }
    s->excess = excess;
    if (ms)
        s->last_ms = now_ms;
    if (excess <= p->delay_milli)
        return DTX_GW_RL_PASS;
    if (delay_us)
        *delay_us = (excess - p->delay_milli) * 1000 / p->rate_milli * 1000;
    return DTX_GW_RL_DELAY;
}

int64_t dtx_gw_leaky_remaining(const dtx_gw_leaky_params_t *p,
                               const dtx_gw_leaky_state_t *s, int64_t now_us)
{
    if (!s->used)
        return p->burst_milli / 1000 + 1;
    int64_t ms = s_leaky_elapsed_ms(s, now_us / 1000);
    int64_t excess = s->excess - s_leaky_drained(p, ms);
    if (excess < 0)
        excess = -1000;  /* the next request lands at 0 */
    int64_t room = p->burst_milli - excess;
    return room < 1000 ? 0 : room / 1000;
}

int dtx_gw_leaky_idle(const dtx_gw_leaky_params_t *p,
                      const dtx_gw_leaky_state_t *s, int64_t now_us)
{
    if (!s->used)
        return 1;
    int64_t ms = now_us / 1000 - s->last_ms;
    /* nginx forgets a node after 60 s once its excess has drained. */
    return ms >= 60000 && s_leaky_drained(p, ms) >= s->excess;
}

/* ---------------- token bucket ---------------- */

static void s_token_refill(const dtx_gw_token_params_t *p, dtx_gw_token_state_t *s,
                           int64_t now_us)
{
    if (!s->used) {
        s->used = 1;
        s->tokens = p->burst;
        s->last_us = now_us;
        return;
    }
    if (now_us > s->last_us) {
        s->tokens += (double)(now_us - s->last_us) * p->rate / 1e6;
        if (s->tokens > p->burst)
            s->tokens = p->burst;
        s->last_us = now_us;
    }
}

int dtx_gw_token_take(const dtx_gw_token_params_t *p, dtx_gw_token_state_t *s,
                      int64_t now_us, int64_t *retry_us)
{
    s_token_refill(p, s, now_us);
    if (retry_us)
        *retry_us = 0;
    /* A tiny tolerance keeps float rounding from refusing a token that
     * exact arithmetic would have (e.g. 0.1 s x 10 r/s = 0.999999). */
    if (s->tokens >= 1.0 - 1e-9) {
        s->tokens -= 1.0;
        if (s->tokens < 0)
            s->tokens = 0;
        return DTX_GW_RL_PASS;
    }
    if (retry_us)
        *retry_us = (int64_t)ceil((1.0 - s->tokens) * 1e6 / p->rate);
    return DTX_GW_RL_REJECT;
}

int64_t dtx_gw_token_remaining(const dtx_gw_token_params_t *p,
                               const dtx_gw_token_state_t *s, int64_t now_us)
{
    dtx_gw_token_state_t t = *s;
    s_token_refill(p, &t, now_us);
    return (int64_t)floor(t.tokens + 1e-9);
}

/* ---------------- warm-up (Sentinel WarmUpController) ---------------- */

void dtx_gw_warmup_params_set(dtx_gw_warmup_params_t *p, double count,
                              int warm_up_s, int cold_factor)
{
    if (cold_factor < 2)
        cold_factor = 3;
    p->count = count;
    p->warm_up_s = warm_up_s;
    p->cold_factor = cold_factor;
    p->warning_token = (int64_t)((int64_t)(warm_up_s * count) / (cold_factor - 1));
    p->max_token = p->warning_token +
                   (int64_t)(2.0 * warm_up_s * count / (1.0 + cold_factor));
    int64_t span = p->max_token - p->warning_token;
    p->slope = span > 0 ? (cold_factor - 1.0) / count / (double)span : 0;
}

static void s_warmup_roll(dtx_gw_warmup_state_t *s, int64_t now_ms)
{
    int64_t sec = now_ms / 1000;
    if (sec == s->window_s)
        return;
    s->pass_prev = (sec == s->window_s + 1) ? s->pass_cur : 0;
    s->pass_cur = 0;
    s->window_s = sec;
}

static int64_t s_warmup_cool_down(const dtx_gw_warmup_params_t *p,
                                  const dtx_gw_warmup_state_t *s,
                                  int64_t current_ms, int64_t pass_qps)
{
    int64_t old = s->stored_tokens;
    /* in double and capped before the cast: a long pause at a high count
     * must fill the bucket, not overflow it */
    double add = (double)(current_ms - s->last_filled_ms) * p->count / 1000.0;
    int fill = old < p->warning_token ||
               (old > p->warning_token && pass_qps < (int64_t)p->count / p->cold_factor);
    if (!fill)
        return old < p->max_token ? old : p->max_token;
    double v = (double)old + add;
    return v < (double)p->max_token ? (int64_t)v : p->max_token;
}

static void s_warmup_sync(const dtx_gw_warmup_params_t *p, dtx_gw_warmup_state_t *s,
                          int64_t now_ms, int64_t pass_qps)
{
    int64_t current = now_ms - now_ms % 1000;
    if (current <= s->last_filled_ms)
        return;
    s->stored_tokens = s_warmup_cool_down(p, s, current, pass_qps);
    s->stored_tokens -= pass_qps;
    if (s->stored_tokens < 0)
        s->stored_tokens = 0;
    s->last_filled_ms = current;
}

static double s_warmup_qps(const dtx_gw_warmup_params_t *p, const dtx_gw_warmup_state_t *s)
{
    if (s->stored_tokens >= p->warning_token) {
        int64_t above = s->stored_tokens - p->warning_token;
        return nextafter(1.0 / ((double)above * p->slope + 1.0 / p->count), INFINITY);
    }
    return p->count;
}

int dtx_gw_warmup_take(const dtx_gw_warmup_params_t *p, dtx_gw_warmup_state_t *s,
                       int64_t now_us, int64_t *retry_us)
{
    int64_t now_ms = now_us / 1000;
    s_warmup_roll(s, now_ms);
    s_warmup_sync(p, s, now_ms, s->pass_prev);
    if (retry_us)
        *retry_us = 0;
    if ((double)(s->pass_cur + 1) <= s_warmup_qps(p, s)) {
        s->pass_cur++;
        return DTX_GW_RL_PASS;
    }
    if (retry_us)
        *retry_us = (1000 - now_ms % 1000) * 1000;
    return DTX_GW_RL_REJECT;
}

double dtx_gw_warmup_allowed(const dtx_gw_warmup_params_t *p,
                             const dtx_gw_warmup_state_t *s)
{
    return s_warmup_qps(p, s);
}

/* ---------------- queue (Sentinel RateLimiterController) ---------------- */

int dtx_gw_queue_take(const dtx_gw_queue_params_t *p, dtx_gw_queue_state_t *s,
                      int64_t now_us, int64_t *delay_us)
{
    int64_t cost = (int64_t)llround(1e6 / p->rate);
    if (delay_us)
        *delay_us = 0;
    if (!s->used || s->latest_us + cost <= now_us) {
        s->used = 1;
        s->latest_us = now_us;
        return DTX_GW_RL_PASS;
    }
    int64_t wait = s->latest_us + cost - now_us;
    if (delay_us)
        *delay_us = wait;
    if (wait > p->max_wait_us)
        return DTX_GW_RL_REJECT;
    s->latest_us += cost;
    return DTX_GW_RL_DELAY;
}
