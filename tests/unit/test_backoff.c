/* Retry delays (coordinator/core/backoff.h). */
#include <CUnit/CUnit.h>

#include "core/backoff.h"
#include "unit.h"

static void test_delay_doubles_per_attempt_within_jitter_bounds(void)
{
    for (uint32_t attempt = 2; attempt < 8; attempt++) {
        int64_t d = 100LL << (attempt - 2);
        for (uint64_t r = 0; r < 1000; r += 37) {
            int64_t got = dtx_backoff_delay(100, 1000000, attempt, r * 7919);
            CU_ASSERT(got >= d - d / 2 && got <= d);
        }
    }
}

static void test_delay_never_exceeds_cap(void)
{
    for (uint32_t attempt = 1; attempt < 200; attempt++)
        CU_ASSERT(dtx_backoff_delay(100, 5000, attempt, 0xFFFFFFFFFFFFull) <= 5000);
    CU_ASSERT(dtx_backoff_delay(100, 5000, 4000000000u, 12345) >= 2500);
}

static void test_jitter_spreads_delays(void)
{
    int64_t lo = dtx_backoff_delay(1000, 100000, 3, 0);
    int64_t hi = dtx_backoff_delay(1000, 100000, 3, 1000);
    CU_ASSERT_EQUAL(lo, 1000);
    CU_ASSERT_EQUAL(hi, 2000);
}

static void test_bad_base_and_cap_are_clamped(void)
{
    CU_ASSERT(dtx_backoff_delay(0, 0, 5, 3) >= 1);
    CU_ASSERT(dtx_backoff_delay(500, 10, 2, 3) <= 500);
}

UNIT_SUITE(backoff)
{
    CU_pSuite s = CU_add_suite("backoff", NULL, NULL);
    CU_add_test(s, "delay doubles per attempt within jitter bounds", test_delay_doubles_per_attempt_within_jitter_bounds);
    CU_add_test(s, "delay never exceeds cap", test_delay_never_exceeds_cap);
    CU_add_test(s, "jitter spreads delays", test_jitter_spreads_delays);
    CU_add_test(s, "bad base and cap are clamped", test_bad_base_and_cap_are_clamped);
}
