/* Histograms and the Prometheus text writer (coordinator/core/metrics.h). */
#include <string.h>

#include <CUnit/CUnit.h>

#include "dtx/types.h"
#include "core/metrics.h"
#include "unit.h"

static void test_histogram_buckets_are_cumulative_with_sum_and_count(void)
{
    dtx_hist_t h;
    memset(&h, 0, sizeof h);
    dtx_hist_observe(&h, 0);
    dtx_hist_observe(&h, 1);
    dtx_hist_observe(&h, 7);
    dtx_hist_observe(&h, 99999);
    dtx_hist_observe(&h, -3);
    CU_ASSERT_EQUAL(h.count, 5);
    CU_ASSERT_EQUAL(h.sum_ms, 100007);
    dtx_text_t t = { 0 };
    dtx_prom_header(&t, "x_seconds", "histogram", "test");
    dtx_prom_hist(&t, "x_seconds", "op=\"try\"", &h);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t.data);
    CU_ASSERT_PTR_NOT_NULL(strstr(t.data, "# TYPE x_seconds histogram\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t.data, "x_seconds_bucket{op=\"try\",le=\"0.001\"} 3\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t.data, "x_seconds_bucket{op=\"try\",le=\"0.01\"} 4\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t.data, "x_seconds_bucket{op=\"try\",le=\"30\"} 4\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t.data, "x_seconds_bucket{op=\"try\",le=\"+Inf\"} 5\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t.data, "x_seconds_sum{op=\"try\"} 100.007\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t.data, "x_seconds_count{op=\"try\"} 5\n"));
    dtx_text_free(&t);
    CU_ASSERT_PTR_NULL(t.data);
}

static void test_counters_and_unlabelled_series(void)
{
    dtx_metrics_t m;
    memset(&m, 0, sizeof m);
    dtx_metrics_stuck(&m, 0);
    dtx_metrics_stuck(&m, 1);
    dtx_metrics_http(&m, 404);
    dtx_metrics_http(&m, 200);
    dtx_metrics_http(&m, 999);
    dtx_metrics_phase(&m, DTX_OP_CONFIRM, 3);
    dtx_metrics_phase(&m, 42, 3);
    dtx_metrics_finished(&m, DTX_STATE_COMMITTED, 0); /* unknown start: not observed */
    CU_ASSERT_EQUAL(m.stuck, 1);
    CU_ASSERT_EQUAL(m.http[4], 1);
    CU_ASSERT_EQUAL(m.http[2], 1);
    CU_ASSERT_EQUAL(m.phase[DTX_OP_CONFIRM].count, 1);
    CU_ASSERT_EQUAL(m.duration[0].count, 0);
    dtx_text_t t = { 0 };
    dtx_prom_value(&t, "a_total", NULL, 12);
    dtx_prom_value(&t, "b", "k=\"v\"", 0.5);
    dtx_prom_hist(&t, "c", NULL, &m.phase[DTX_OP_CONFIRM]);
    CU_ASSERT_PTR_NOT_NULL(strstr(t.data, "a_total 12\nb{k=\"v\"} 0.5\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t.data, "c_bucket{le=\"0.005\"} 1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t.data, "c_count 1\n"));
    dtx_text_free(&t);
}

/* A histogram of counts (batch sizes) keeps its bounds and sum unscaled;
 * the recovery and lease figures are what /metrics exposes. */
static void test_count_histograms_and_node_gauges(void)
{
    dtx_hist_t h;
    memset(&h, 0, sizeof h);
    dtx_hist_observe(&h, 1);
    dtx_hist_observe(&h, 40);
    dtx_text_t t = { 0 };
    dtx_prom_hist_scaled(&t, "b_ops", "store=\"log\"", &h, 1.0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t.data);
    CU_ASSERT_PTR_NOT_NULL(strstr(t.data, "b_ops_bucket{store=\"log\",le=\"1\"} 1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t.data, "b_ops_bucket{store=\"log\",le=\"50\"} 2\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t.data, "b_ops_sum{store=\"log\"} 41.000\n"));
    dtx_text_free(&t);
    static dtx_metrics_t m;
    memset(&m, 0, sizeof m);
    dtx_metrics_recovery(&m, 0, 3);
    dtx_metrics_recovery(&m, 1, 256);
    dtx_metrics_recovery(&m, 0, 0); /* the next scan found nothing: 0, not the old 3 */
    CU_ASSERT_EQUAL(m.recovery_due[0], 0);
    CU_ASSERT_EQUAL(m.recovery_due[1], 256);
    dtx_metrics_lease_lapsed(&m);
    CU_ASSERT_EQUAL(m.lease_lapses, 1);
}

UNIT_SUITE(metrics)
{
    CU_pSuite s = CU_add_suite("metrics", NULL, NULL);
    CU_add_test(s, "histogram buckets are cumulative with sum and count",
                test_histogram_buckets_are_cumulative_with_sum_and_count);
    CU_add_test(s, "counters and unlabelled series", test_counters_and_unlabelled_series);
    CU_add_test(s, "count histograms and node gauges", test_count_histograms_and_node_gauges);
}
