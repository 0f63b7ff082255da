/*
 * bench_report.c — dtx-bench's report: throughput, latency percentiles,
 * per-step means, CPU, and the errors by step and kind, as text or JSON.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_report.h"

static const char *const s_err_names[BENCH_NERR] = {
    [0] = "EUNKNOWN",
    [-DTX_EINVAL] = "EINVAL", [-DTX_EPROTO] = "EPROTO", [-DTX_EVERSION] = "EVERSION",
    [-DTX_ENOMEM] = "ENOMEM", [-DTX_ETOOBIG] = "ETOOBIG", [-DTX_ENOTFOUND] = "ENOTFOUND",
    [-DTX_ESTATE] = "ESTATE", [-DTX_ETIMEOUT] = "ETIMEOUT",
    [-DTX_ENOPARTICIPANT] = "ENOPARTICIPANT", [-DTX_EDB] = "EDB", [-DTX_EBUSY] = "EBUSY",
    [-DTX_EIO] = "EIO", [-DTX_EREFUSED] = "EREFUSED", [-DTX_ECONFIG] = "ECONFIG",
    [-DTX_EEXPIRED] = "EEXPIRED", [-DTX_EUNREGISTERED] = "EUNREGISTERED",
    [-DTX_EINTERNAL] = "EINTERNAL", [-DTX_EUNSUPPORTED] = "EUNSUPPORTED",
    [-DTX_EABORTED] = "EABORTED",
    [BENCH_ERR_NOREPLY] = "no_reply", [BENCH_ERR_REFUSED] = "refused",
    [BENCH_ERR_ABORTED] = "aborted",
    [BENCH_ERR_UNEXPECTED] = "unexpected_reply", [BENCH_ERR_SEND] = "send_failed",
};

/* What an error kind means, for the human report. */
static const char *s_err_text(int kind)
{
    switch (kind) {
    case 0: return "error code unknown to this build";
    case BENCH_ERR_NOREPLY: return "no reply in time";
    case BENCH_ERR_REFUSED: return "the participant voted no";
    case BENCH_ERR_ABORTED: return "commit answered with an abort state";
    case BENCH_ERR_UNEXPECTED: return "reply of an unexpected type";
    case BENCH_ERR_SEND: return "send failed";
    default: return dtx_strerror(-kind);
    }
}

static const char *s_step_name(const bench_t *self, int step, char *buf, size_t len)
{
    if (step == BENCH_STEP_BEGIN)
        return "begin";
    if (step == BENCH_STEP_COMMIT)
        return "commit";
    if (self->tcc_run)
        return step == BENCH_STEP_TRY0 ? "tcc-run" : "-";
    if (self->try_many)
        return step == BENCH_STEP_TRY0 ? "try-many" : "-";
    snprintf(buf, len, "try:%s", self->resources[step - BENCH_STEP_TRY0]);
    return buf;
}

/* ------------------------------------------------------------------ */
/* Report                                                              */
/* ------------------------------------------------------------------ */

static int s_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile in ms of the sorted samples (0 when none). */
static double s_pct_ms(const bench_t *self, double p)
{
    if (self->nlat == 0)
        return 0;
    size_t rank = (size_t)ceil(p * (double)self->nlat);
    if (rank < 1)
        rank = 1;
    return self->lat_us[rank - 1] / 1000.0;
}

void bench_report(bench_t *self)
{
    qsort(self->lat_us, self->nlat, sizeof *self->lat_us, s_cmp_u32);
    double window_s = (double)(self->meas_end_ns - self->warm_end_ns) / 1e9;
    double tps = window_s > 0 ? (double)self->committed / window_s : 0;
    double mean = 0;
    for (size_t i = 0; i < self->nlat; i++)
        mean += self->lat_us[i];
    mean = self->nlat ? mean / (double)self->nlat / 1000.0 : 0;
    double rate = self->finished ? (double)self->errors_total / (double)self->finished : 0;
    double step_ms[BENCH_NSTEPS];
    for (int s = 0; s < BENCH_NSTEPS; s++)
        step_ms[s] = self->committed ? self->step_sum_ns[s] / (double)self->committed / 1e6 : 0;
    char name[96];
    /* Whole seconds only (the last one is partial when --seconds is not
     * whole, or cut short by an interrupt). */
    int whole = (int)floor(window_s);
    if (whole > self->nseconds)
        whole = self->nseconds;
    double cpu_pct = self->cpu_ns1 > self->cpu_ns0
                         ? (self->cpu_s1 - self->cpu_s0) * 100 / ((double)(self->cpu_ns1 - self->cpu_ns0) / 1e9)
                         : 0;
    uint32_t sec_min = 0, sec_max = 0;
    for (int i = 0; i < whole; i++) {
        if (i == 0 || self->per_second[i] < sec_min)
            sec_min = self->per_second[i];
        if (self->per_second[i] > sec_max)
            sec_max = self->per_second[i];
    }

    /* Errors are always printed, to stderr in JSON mode. */
    FILE *out = self->json ? stderr : stdout;
    if (!self->json || self->errors_total || self->malformed || self->rollbacks_failed) {
        fprintf(out, "dtx-bench: %" PRIu64 " error(s) in %" PRIu64 " finished transactions "
                     "(%.2f%%; %" PRIu64 " in the measured window)\n",
                self->errors_total, self->finished, rate * 100, self->errors_measured);
        for (int s = 0; s < BENCH_NSTEPS; s++)
            for (int k = 0; k < BENCH_NERR; k++)
                if (self->errors[s][k])
                    fprintf(out, "  %-14s %-16s %10" PRIu64 "  %s%s%s\n",
                            s_step_name(self, s, name, sizeof name), s_err_names[k],
                            self->errors[s][k], s_err_text(k),
                            self->first_text[k][0] ? "; e.g. " : "", self->first_text[k]);
        if (self->stale || self->malformed || self->rollbacks)
            fprintf(out, "  stale replies %" PRIu64 ", malformed replies %" PRIu64
                         ", rollbacks sent %" PRIu64 " (%" PRIu64 " failed)\n",
                    self->stale, self->malformed, self->rollbacks, self->rollbacks_failed);
    }
    if (self->json) {
        printf("{\"concurrency\":%d,\"seconds\":%.3f,\"warmup\":%.3f,\"sockets\":%d,"
               "\"committed\":%" PRIu64 ",\"tps\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
               "\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,\"mean_ms\":%.3f,"
               "\"step_mean_ms\":{\"begin\":%.3f",
               self->concurrency, window_s, self->warmup, self->nsockets, self->committed, tps,
               s_pct_ms(self, 0.50), s_pct_ms(self, 0.90), s_pct_ms(self, 0.99),
               s_pct_ms(self, 0.999), s_pct_ms(self, 1.0), mean, step_ms[BENCH_STEP_BEGIN]);
        for (int r = 0; r < self->nresources; r++)
            printf(",\"try:%s\":%.3f", self->resources[r], step_ms[BENCH_STEP_TRY0 + r]);
        printf(",\"commit\":%.3f},\"started\":%" PRIu64 ",\"finished\":%" PRIu64
               ",\"committed_total\":%" PRIu64 ",\"errors_total\":%" PRIu64
               ",\"errors_measured\":%" PRIu64 ",\"error_rate\":%.6f,\"errors\":{",
               step_ms[BENCH_STEP_COMMIT], self->started, self->finished, self->committed_total,
               self->errors_total, self->errors_measured, rate);
        int first = 1;
        for (int s = 0; s < BENCH_NSTEPS; s++)
            for (int k = 0; k < BENCH_NERR; k++)
                if (self->errors[s][k]) {
                    printf("%s\"%s/%s\":%" PRIu64, first ? "" : ",",
                           s_step_name(self, s, name, sizeof name), s_err_names[k],
                           self->errors[s][k]);
                    first = 0;
                }
        printf("},\"stale\":%" PRIu64 ",\"malformed\":%" PRIu64 ",\"rollbacks\":%" PRIu64
               ",\"rollbacks_failed\":%" PRIu64 ",\"tps_min_1s\":%" PRIu32
               ",\"tps_max_1s\":%" PRIu32 ",\"cpu_pct\":%.1f,\"per_second\":[",
               self->stale, self->malformed, self->rollbacks, self->rollbacks_failed, sec_min,
               sec_max, cpu_pct);
        for (int i = 0; i < whole; i++)
            printf("%s%" PRIu32, i ? "," : "", self->per_second[i]);
        printf("]}\n");
        fflush(stdout);
        return;
    }
    printf("dtx-bench: concurrency %d over %d socket(s), %.1f s measured after %.1f s warmup\n",
           self->concurrency, self->nsockets, window_s, self->warmup);
    printf("  committed     %" PRIu64 " (%.1f tx/s); %" PRIu64 " in the whole run\n",
           self->committed, tps, self->committed_total);
    printf("  per second    min %" PRIu32 "  max %" PRIu32 " tx (whole seconds of the window)\n",
           sec_min, sec_max);
    printf("  latency ms    p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  mean %.3f\n",
           s_pct_ms(self, 0.50), s_pct_ms(self, 0.90), s_pct_ms(self, 0.99),
           s_pct_ms(self, 0.999), s_pct_ms(self, 1.0), mean);
    printf("  own CPU       %.1f%% of one CPU over the window\n", cpu_pct);
    printf("  step means ms begin %.3f", step_ms[BENCH_STEP_BEGIN]);
    for (int r = 0; r < self->nresources; r++)
        printf("  try:%s %.3f", self->resources[r], step_ms[BENCH_STEP_TRY0 + r]);
    printf("  commit %.3f\n", step_ms[BENCH_STEP_COMMIT]);
}
