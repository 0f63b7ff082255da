/*
 * gw_dtxd_reading.c — dtxd's /metrics text read into the dtxd_inflight
 * signal, and the last good reading as published for admission
 * (gw_dtxd_reading.h).
 */
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/types.h"
#include "limits/gw_dtxd_reading.h"

#define S_NAME_LEN  (sizeof DTX_GW_DTXD_GAUGE - 1)
#define S_MAX_COUNT 9007199254740992.0  /* 2^53: beyond, a double is no exact count */

/* ---------------- parsing ---------------- */

static int s_fail(const char **why, const char *what, int rc)
{
    if (why)
        *why = what;
    return rc;
}

static const char *s_blanks(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* One sample's rest, after the metric name: [{labels}] value [timestamp]. */
static int s_sample(const char *p, const char *end, double *value, const char **why)
{
    if (p < end && *p == '{') {
        int quoted = 0;
        for (p++; p < end && (quoted || *p != '}'); p++) {
            if (quoted && *p == '\\')
                p++;
            else if (*p == '"')
                quoted = !quoted;
        }
        if (p >= end)
            return s_fail(why, "unterminated label set", DTX_EPROTO);
        p++;
    }
    const char *v = s_blanks(p, end);
    if (v == p || v == end)
        return s_fail(why, "no value", DTX_EPROTO);
    const char *ve = v;
    while (ve < end && *ve != ' ' && *ve != '\t')
        ve++;
    char buf[64];
    if ((size_t)(ve - v) >= sizeof buf)
        return s_fail(why, "value is not a number", DTX_EPROTO);
    memcpy(buf, v, (size_t)(ve - v));
    buf[ve - v] = '\0';
    char *stop;
    errno = 0;
    double x = strtod(buf, &stop);
    if (*stop || stop == buf)
        return s_fail(why, "value is not a number", DTX_EPROTO);
    if (isnan(x))
        return s_fail(why, "value is NaN", DTX_EPROTO);
    if (x < 0)
        return s_fail(why, "value is negative", DTX_EPROTO);
    if (isinf(x) || x >= S_MAX_COUNT)
        return s_fail(why, "value is too large", DTX_EPROTO);
    /* An optional timestamp (integer milliseconds), then nothing. */
    const char *t = s_blanks(ve, end);
    if (t < end) {
        const char *te = t + (*t == '-');
        while (te < end && *te >= '0' && *te <= '9')
            te++;
        if (te == t || s_blanks(te, end) != end || (te == t + 1 && *t == '-'))
            return s_fail(why, "garbage after the value", DTX_EPROTO);
    }
    *value = x;
    return 0;
}

int dtx_gw_dtxd_parse_inflight(const char *text, size_t len, int64_t *inflight,
                               const char **why)
{
    const char *p = text, *end = text + len;
    double sum = 0;
    int found = 0;
    s_fail(why, "", 0);
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol ? eol : end;
        const char *next = eol ? eol + 1 : end;
        if (le > p && le[-1] == '\r')
            le--;
        p = s_blanks(p, le);
        if ((size_t)(le - p) >= S_NAME_LEN && memcmp(p, DTX_GW_DTXD_GAUGE, S_NAME_LEN) == 0 &&
            (p + S_NAME_LEN == le || p[S_NAME_LEN] == ' ' || p[S_NAME_LEN] == '\t' ||
             p[S_NAME_LEN] == '{')) {
            double v = 0;
            int rc = s_sample(p + S_NAME_LEN, le, &v, why);
            if (rc < 0)
                return rc;
            sum += v;
            found = 1;
            if (sum >= S_MAX_COUNT)
                return s_fail(why, "sum of the samples is too large", DTX_EPROTO);
        }
        p = next;
    }
    if (!found)
        return s_fail(why, "no " DTX_GW_DTXD_GAUGE " sample (dtxd too old?)", DTX_EUNSUPPORTED);
    *inflight = (int64_t)sum;
    return 0;
}

/* ---------------- the published reading ---------------- */

void dtx_gw_dtxd_init(dtx_gw_dtxd_t *self)
{
    atomic_init(&self->seq, 0);
    atomic_init(&self->inflight, 0);
    atomic_init(&self->at_us, 0);
    atomic_init(&self->poll_errors, 0);
    atomic_init(&self->fail_open, 0);
}

void dtx_gw_dtxd_reading_publish(dtx_gw_dtxd_t *self, int64_t inflight, int64_t at_us)
{
    unsigned seq = atomic_load_explicit(&self->seq, memory_order_relaxed);
    atomic_store_explicit(&self->seq, seq + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&self->inflight, inflight, memory_order_relaxed);
    atomic_store_explicit(&self->at_us, at_us, memory_order_relaxed);
    atomic_store_explicit(&self->seq, seq + 2, memory_order_release);
}

void dtx_gw_dtxd_reading_get(dtx_gw_dtxd_t *self, dtx_gw_dtxd_reading_t *out)
{
    for (;;) {
        unsigned before = atomic_load_explicit(&self->seq, memory_order_acquire);
        out->inflight = atomic_load_explicit(&self->inflight, memory_order_relaxed);
        out->at_us = atomic_load_explicit(&self->at_us, memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        if (!(before & 1) && atomic_load_explicit(&self->seq, memory_order_relaxed) == before)
            return;
        sched_yield();  /* the writer is between its stores: let it finish */
    }
}

uint64_t dtx_gw_dtxd_poll_errors(dtx_gw_dtxd_t *self) { return atomic_load(&self->poll_errors); }
void dtx_gw_dtxd_count_poll_error(dtx_gw_dtxd_t *self) { atomic_fetch_add(&self->poll_errors, 1); }
uint64_t dtx_gw_dtxd_fail_open(dtx_gw_dtxd_t *self) { return atomic_load(&self->fail_open); }
void dtx_gw_dtxd_count_fail_open(dtx_gw_dtxd_t *self) { atomic_fetch_add(&self->fail_open, 1); }
