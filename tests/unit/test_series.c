/* The per-second rings of the last hour (coordinator/core/series.h): the
 * ring wraps, a second nothing happened in reads as a gap, quantiles. */
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dtx/types.h"

#include "core/metrics.h"
#include "core/series.h"
#include "unit.h"

static dtx_series_t *s_new(void)
{
    dtx_series_t *s = calloc(1, sizeof *s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    return s;
}

static void test_series_counts_by_second_and_leaves_gaps_empty(void)
{
    dtx_series_t *s = s_new();
    int64_t t0 = 5000000; /* ms of a made-up monotonic clock */
    CU_ASSERT_EQUAL(dtx_series_first_second(s), -1);
    dtx_series_finished(s, t0 + 10, DTX_SERIES_COMMIT);
    CU_ASSERT_EQUAL(dtx_series_first_second(s), t0 / 1000);
    dtx_series_finished(s, t0 + 999, DTX_SERIES_COMMIT);
    dtx_series_finished(s, t0 + 500, DTX_SERIES_ABORT);
    dtx_series_finished(s, t0 + 3000, DTX_SERIES_ABORT);
    dtx_series_sample(s, t0 + 3100, 2, 7);
    dtx_series_sample(s, t0 + 3900, 3, 9); /* the last sample of a second wins */
    dtx_series_second_t a = dtx_series_second_at(s, t0 / 1000);
    CU_ASSERT_EQUAL(a.commits, 2);
    CU_ASSERT_EQUAL(a.aborts, 1);
    CU_ASSERT_EQUAL(a.sampled, 0);
    for (int k = 1; k <= 2; k++) { /* nothing came: zero, not sampled */
        dtx_series_second_t g = dtx_series_second_at(s, t0 / 1000 + k);
        CU_ASSERT_EQUAL(g.commits + g.aborts + g.stuck + g.in_flight + g.sampled, 0);
    }
    dtx_series_second_t c = dtx_series_second_at(s, t0 / 1000 + 3);
    CU_ASSERT_EQUAL(c.aborts, 1);
    CU_ASSERT_EQUAL(c.sampled, 1);
    CU_ASSERT_EQUAL(c.stuck, 3);
    CU_ASSERT_EQUAL(c.in_flight, 9);
    CU_ASSERT_EQUAL(dtx_series_first_second(s), t0 / 1000);
    free(s);
}

static void test_series_ring_wraps_after_an_hour(void)
{
    dtx_series_t *s = s_new();
    int64_t t0 = 7200000;
    dtx_series_finished(s, t0, DTX_SERIES_COMMIT);
    dtx_series_latency(s, t0, 3);
    /* One hour later the same slot holds the new second: the old count is
     * gone, and asking for the old second gives a gap, not the new one. */
    int64_t t1 = t0 + (int64_t)DTX_SERIES_SECONDS * 1000;
    dtx_series_finished(s, t1, DTX_SERIES_ABORT);
    dtx_series_latency(s, t1, 5);
    dtx_series_second_t now = dtx_series_second_at(s, t1 / 1000);
    CU_ASSERT_EQUAL(now.commits, 0);
    CU_ASSERT_EQUAL(now.aborts, 1);
    dtx_series_second_t old = dtx_series_second_at(s, t0 / 1000);
    CU_ASSERT_EQUAL(old.commits + old.aborts, 0);
    uint32_t counts[DTX_SERIES_BUCKETS];
    CU_ASSERT_EQUAL(dtx_series_latency_at(s, t1 / 1000 / DTX_SERIES_LAT_STEP_S, counts), 1);
    CU_ASSERT_EQUAL(counts[5], 1);
    CU_ASSERT_EQUAL(counts[3], 0);
    CU_ASSERT_EQUAL(dtx_series_latency_at(s, t0 / 1000 / DTX_SERIES_LAT_STEP_S, counts), 0);
    /* A second just before the hour is still there. */
    dtx_series_finished(s, t0 + 1000, DTX_SERIES_COMMIT);
    CU_ASSERT_EQUAL(dtx_series_second_at(s, t0 / 1000 + 1).commits, 1);
    /* Out-of-range buckets are ignored; negative times stay in the ring. */
    dtx_series_latency(s, t1, -1);
    dtx_series_latency(s, t1, DTX_SERIES_BUCKETS);
    dtx_series_finished(s, -1500, DTX_SERIES_COMMIT);
    CU_ASSERT_EQUAL(dtx_series_second_at(s, -2).commits, 1);
    CU_ASSERT_EQUAL(dtx_series_latency_at(s, t1 / 1000 / DTX_SERIES_LAT_STEP_S, counts), 1);
    free(s);
}

static void test_series_latency_steps_share_ten_seconds(void)
{
    dtx_series_t *s = s_new();
    int64_t t0 = 1000000; /* a step boundary: 1000 s */
    dtx_series_latency(s, t0, 0);
    dtx_series_latency(s, t0 + 9999, 0);
    dtx_series_latency(s, t0 + 10000, 0);
    uint32_t counts[DTX_SERIES_BUCKETS];
    CU_ASSERT_EQUAL(dtx_series_latency_at(s, 100, counts), 2);
    CU_ASSERT_EQUAL(dtx_series_latency_at(s, 101, counts), 1);
    CU_ASSERT_EQUAL(dtx_series_latency_at(s, 102, counts), 0);
    free(s);
}

static void test_series_quantiles_interpolate_within_a_bucket(void)
{
    uint32_t c[DTX_SERIES_BUCKETS];
    memset(c, 0, sizeof c);
    CU_ASSERT_DOUBLE_EQUAL(dtx_series_quantile(c, dtx_hist_bounds_ms, 0.5), -1, 1e-9);
    /* 100 calls in (5, 10] ms: p50 is half-way, p99 near the top. */
    c[dtx_hist_bucket(7)] = 100;
    CU_ASSERT_DOUBLE_EQUAL(dtx_series_quantile(c, dtx_hist_bounds_ms, 0.5), 7.5, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(dtx_series_quantile(c, dtx_hist_bounds_ms, 0.99), 9.95, 1e-9);
    /* 98 fast ones in [0, 1], 2 in (250, 500]: p50 in the first bucket
     * (which starts at 0), p99 in the slow one. */
    memset(c, 0, sizeof c);
    c[0] = 98;
    c[dtx_hist_bucket(300)] = 2;
    CU_ASSERT_DOUBLE_EQUAL(dtx_series_quantile(c, dtx_hist_bounds_ms, 0.5), 50.0 / 98.0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(dtx_series_quantile(c, dtx_hist_bounds_ms, 0.99), 375, 1e-9);
    /* Beyond the last bound: the largest finite bound, not infinity. */
    memset(c, 0, sizeof c);
    c[DTX_SERIES_BUCKETS - 1] = 4;
    CU_ASSERT_DOUBLE_EQUAL(dtx_series_quantile(c, dtx_hist_bounds_ms, 0.99), 30000, 1e-9);
    /* Empty buckets between are skipped, not interpolated over. */
    memset(c, 0, sizeof c);
    c[1] = 1;
    c[9] = 1;
    CU_ASSERT_DOUBLE_EQUAL(dtx_series_quantile(c, dtx_hist_bounds_ms, 1.0), 1000, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(dtx_series_quantile(c, dtx_hist_bounds_ms, 0.5), 2, 1e-9);
}

static void test_metrics_feed_the_series(void)
{
    dtx_metrics_t *m = calloc(1, sizeof *m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    dtx_metrics_finished(m, DTX_STATE_COMMITTED, 0); /* counted even when its start is unknown */
    dtx_metrics_finished(m, DTX_STATE_ABORTED, 0);
    dtx_metrics_phase(m, DTX_OP_TRY, 3);
    dtx_metrics_sample(m, 4, 11);
    dtx_metrics_sample(m, -1, 12); /* the count could not be read: the last one stays */
    uint32_t commits = 0, aborts = 0, stuck = 0, inflight = 0, calls = 0;
    for (int i = 0; i < DTX_SERIES_SECONDS; i++) {
        commits += m->series.sec[i].commits;
        aborts += m->series.sec[i].aborts;
        if (m->series.sec[i].sampled) {
            stuck = m->series.sec[i].stuck;
            inflight = m->series.sec[i].in_flight;
        }
    }
    for (int i = 0; i < DTX_SERIES_LAT_SLOTS; i++)
        calls += m->series.lat[i].counts[dtx_hist_bucket(3)];
    CU_ASSERT_EQUAL(commits, 1);
    CU_ASSERT_EQUAL(aborts, 1);
    CU_ASSERT_EQUAL(calls, 1);
    CU_ASSERT_EQUAL(stuck, 4);
    CU_ASSERT_EQUAL(inflight, 12);
    CU_ASSERT_EQUAL(m->stuck_now, 4);
    free(m);
}

UNIT_SUITE(series)
{
    CU_pSuite s = CU_add_suite("series", NULL, NULL);
    CU_add_test(s, "counts by second, gaps empty", test_series_counts_by_second_and_leaves_gaps_empty);
    CU_add_test(s, "the ring wraps after an hour", test_series_ring_wraps_after_an_hour);
    CU_add_test(s, "latency steps of ten seconds", test_series_latency_steps_share_ten_seconds);
    CU_add_test(s, "quantiles interpolate in a bucket", test_series_quantiles_interpolate_within_a_bucket);
    CU_add_test(s, "metrics feed the series", test_metrics_feed_the_series);
}
