/* metrics.c — counters, histograms and the Prometheus text writer. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/clock.h"
#include "dtx/types.h"
#include "metrics.h"

const int64_t dtx_hist_bounds_ms[DTX_HIST_BUCKETS] = { 1,   2,    5,    10,   25,    50,    100,
                                                       250, 500, 1000, 2500, 5000, 10000, 30000 };

int dtx_hist_bucket(int64_t ms)
{
    int i = 0;
    while (i < DTX_HIST_BUCKETS && ms > dtx_hist_bounds_ms[i])
        i++;
    return i;
}

void dtx_hist_observe(dtx_hist_t *h, int64_t ms)
{
    if (ms < 0)
        ms = 0;
    h->counts[dtx_hist_bucket(ms)]++;
    h->count++;
    h->sum_ms += ms;
}

void dtx_metrics_phase(dtx_metrics_t *m, int op, int64_t ms)
{
    if (op < 1 || op > DTX_OP_MAX)
        return;
    dtx_hist_observe(&m->phase[op], ms);
    dtx_series_latency(&m->series, dtx_clock_mono_ms(), dtx_hist_bucket(ms < 0 ? 0 : ms));
}

void dtx_metrics_finished(dtx_metrics_t *m, int final_state, int64_t begun_ms)
{
    int64_t now = dtx_clock_mono_ms();
    if (final_state == DTX_STATE_COMMITTED || final_state == DTX_STATE_ABORTED)
        dtx_series_finished(&m->series, now,
                            final_state == DTX_STATE_COMMITTED ? DTX_SERIES_COMMIT
                                                               : DTX_SERIES_ABORT);
    if (begun_ms <= 0)
        return;
    int64_t ms = now - begun_ms;
    if (final_state == DTX_STATE_COMMITTED)
        dtx_hist_observe(&m->duration[0], ms);
    else if (final_state == DTX_STATE_ABORTED)
        dtx_hist_observe(&m->duration[1], ms);
}

void dtx_metrics_stuck(dtx_metrics_t *m, int happened)
{
    if (happened)
        m->stuck++;
}

void dtx_metrics_http(dtx_metrics_t *m, int status)
{
    int cls = status / 100;
    if (cls >= 1 && cls <= 5)
        m->http[cls]++;
}

void dtx_metrics_recovery(dtx_metrics_t *m, int orphans, int n)
{
    m->recovery_due[orphans ? 1 : 0] = n > 0 ? (uint64_t)n : 0;
}

void dtx_metrics_recovery_run(dtx_metrics_t *m, int kind)
{
    if (kind >= 0 && kind < 3)
        m->recovery_runs[kind]++;
}

void dtx_metrics_lease_lapsed(dtx_metrics_t *m)
{
    m->lease_lapses++;
}

void dtx_metrics_sample(dtx_metrics_t *m, int64_t stuck, size_t in_memory)
{
    if (stuck >= 0)
        m->stuck_now = stuck;
    dtx_series_sample(&m->series, dtx_clock_mono_ms(),
                      m->stuck_now > 0 ? (uint32_t)m->stuck_now : 0,
                      in_memory > UINT32_MAX ? UINT32_MAX : (uint32_t)in_memory);
}

/* --- text --- */

int dtx_text_reserve(dtx_text_t *t, size_t extra)
{
    if (t->failed)
        return DTX_ENOMEM;
    if (t->len + extra + 1 <= t->cap)
        return 0;
    size_t ncap = t->cap ? t->cap : 1024;
    while (ncap < t->len + extra + 1)
        ncap *= 2;
    char *d = realloc(t->data, ncap);
    if (!d) {
        t->failed = 1;
        return DTX_ENOMEM;
    }
    t->data = d;
    t->cap = ncap;
    return 0;
}

void dtx_text_append(dtx_text_t *t, const char *s, size_t n)
{
    if (dtx_text_reserve(t, n) != 0)
        return;
    memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
}

void dtx_text_printf(dtx_text_t *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || dtx_text_reserve(t, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(t->data + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

void dtx_text_free(dtx_text_t *t)
{
    free(t->data);
    memset(t, 0, sizeof *t);
}

void dtx_prom_header(dtx_text_t *t, const char *name, const char *type, const char *help)
{
    dtx_text_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void dtx_prom_value(dtx_text_t *t, const char *name, const char *labels, double value)
{
    if (labels && labels[0])
        dtx_text_printf(t, "%s{%s} %.17g\n", name, labels, value);
    else
        dtx_text_printf(t, "%s %.17g\n", name, value);
}

void dtx_prom_hist(dtx_text_t *t, const char *name, const char *labels, const dtx_hist_t *h)
{
    dtx_prom_hist_scaled(t, name, labels, h, 1000.0);
}

void dtx_prom_hist_scaled(dtx_text_t *t, const char *name, const char *labels,
                          const dtx_hist_t *h, double divisor)
{
    const char *sep = labels && labels[0] ? "," : "";
    const char *lab = labels ? labels : "";
    uint64_t cum = 0;
    for (int i = 0; i < DTX_HIST_BUCKETS; i++) {
        cum += h->counts[i];
        dtx_text_printf(t, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, lab, sep,
                        (double)dtx_hist_bounds_ms[i] / divisor, (unsigned long long)cum);
    }
    cum += h->counts[DTX_HIST_BUCKETS];
    dtx_text_printf(t, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, lab, sep,
                    (unsigned long long)cum);
    if (lab[0]) {
        dtx_text_printf(t, "%s_sum{%s} %.3f\n", name, lab, (double)h->sum_ms / divisor);
        dtx_text_printf(t, "%s_count{%s} %llu\n", name, lab, (unsigned long long)h->count);
    } else {
        dtx_text_printf(t, "%s_sum %.3f\n", name, (double)h->sum_ms / divisor);
        dtx_text_printf(t, "%s_count %llu\n", name, (unsigned long long)h->count);
    }
}

static const char *const s_limit_names[DTX_LIMIT_COUNT] = {
    [DTX_LIMIT_TXNS] = "txns",
    [DTX_LIMIT_BRANCHES] = "branches",
    [DTX_LIMIT_TXN_PAYLOAD] = "txn_payload",
    [DTX_LIMIT_PAYLOAD] = "payload",
    [DTX_LIMIT_PARKED] = "parked",
    [DTX_LIMIT_RESOURCES] = "resources",
    [DTX_LIMIT_REGISTRATIONS] = "registrations",
    [DTX_LIMIT_INSTANCES] = "instances",
    [DTX_LIMIT_PEER_RATE] = "peer_rate",
};

static const char *const s_deny_names[DTX_DENY_COUNT] = {
    [DTX_DENY_HANDSHAKE] = "handshake",
    [DTX_DENY_ROLE] = "role",
    [DTX_DENY_RESOURCE] = "resource",
    [DTX_DENY_INSTANCE] = "instance",
    [DTX_DENY_GID] = "gid",
};

const char *dtx_limit_name(int which)
{
    return which >= 0 && which < DTX_LIMIT_COUNT ? s_limit_names[which] : "unknown";
}

const char *dtx_deny_name(int why)
{
    return why >= 0 && why < DTX_DENY_COUNT ? s_deny_names[why] : "unknown";
}

void dtx_metrics_limited(dtx_metrics_t *m, int which)
{
    if (which >= 0 && which < DTX_LIMIT_COUNT)
        m->limited[which]++;
}

void dtx_metrics_denied(dtx_metrics_t *m, int why)
{
    if (why >= 0 && why < DTX_DENY_COUNT)
        m->denied[why]++;
}
