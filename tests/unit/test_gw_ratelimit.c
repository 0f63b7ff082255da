/* Rate limiters of the gateway (gateway-filter/src/limits/gw_ratelimit.h) on a
 * virtual clock; the leaky bucket case by case against nginx limit_req. */
#include <CUnit/CUnit.h>

#include "limits/gw_ratelimit.h"
#include "unit.h"

#define MS 1000  /* microseconds per millisecond */

static int s_leaky(dtx_gw_leaky_params_t *p, dtx_gw_leaky_state_t *s, int64_t t_ms,
                   int64_t *delay_ms)
{
    int64_t excess, delay_us = 0;
    int v = dtx_gw_leaky_check(p, s, t_ms * MS, 1, &excess, &delay_us);
    if (delay_ms)
        *delay_ms = delay_us / MS;
    return v;
}

static void test_leaky_without_burst_passes_one_per_interval(void)
{
    dtx_gw_leaky_params_t p;
    dtx_gw_leaky_state_t s = { 0 };
    dtx_gw_leaky_params_set(&p, 10, 1, 0, 0, 0);   /* rate=10r/s */
    CU_ASSERT_EQUAL(p.rate_milli, 10000);
    CU_ASSERT_EQUAL(s_leaky(&p, &s, 1000, NULL), DTX_GW_RL_PASS);   /* new key */
    CU_ASSERT_EQUAL(s_leaky(&p, &s, 1000, NULL), DTX_GW_RL_REJECT);
    CU_ASSERT_EQUAL(s_leaky(&p, &s, 1050, NULL), DTX_GW_RL_REJECT); /* excess 500 */
    CU_ASSERT_EQUAL(s_leaky(&p, &s, 1100, NULL), DTX_GW_RL_PASS);   /* leaked 1000 */
    CU_ASSERT_EQUAL(s_leaky(&p, &s, 1199, NULL), DTX_GW_RL_REJECT);
    CU_ASSERT_EQUAL(s_leaky(&p, &s, 1200, NULL), DTX_GW_RL_PASS);
}

static void test_leaky_burst_delays_excess_then_rejects(void)
{
    dtx_gw_leaky_params_t p;
    dtx_gw_leaky_state_t s = { 0 };
    int64_t d;
    dtx_gw_leaky_params_set(&p, 10, 1, 5, 0, 0);   /* burst=5 */
    CU_ASSERT_EQUAL(s_leaky(&p, &s, 0, &d), DTX_GW_RL_PASS);
    for (int i = 1; i <= 5; i++) {
        CU_ASSERT_EQUAL(s_leaky(&p, &s, 0, &d), DTX_GW_RL_DELAY);
        CU_ASSERT_EQUAL(d, 100 * i);  /* excess i x 1000 at 10 r/s */
    }
    CU_ASSERT_EQUAL(s_leaky(&p, &s, 0, &d), DTX_GW_RL_REJECT);
    CU_ASSERT_EQUAL(s.excess, 5000);
}

static void test_leaky_burst_nodelay_passes_burst_at_once(void)
{
    dtx_gw_leaky_params_t p;
    dtx_gw_leaky_state_t s = { 0 };
    int64_t d;
    dtx_gw_leaky_params_set(&p, 10, 1, 5, 0, 1);
    for (int i = 0; i < 6; i++) {
        CU_ASSERT_EQUAL(s_leaky(&p, &s, 0, &d), DTX_GW_RL_PASS);
        CU_ASSERT_EQUAL(d, 0);
    }
    CU_ASSERT_EQUAL(s_leaky(&p, &s, 0, &d), DTX_GW_RL_REJECT);
    /* 100 ms later one slot has leaked out, and only one. */
    CU_ASSERT_EQUAL(s_leaky(&p, &s, 100, &d), DTX_GW_RL_PASS);
    CU_ASSERT_EQUAL(s_leaky(&p, &s, 100, &d), DTX_GW_RL_REJECT);
}

static void test_leaky_delay_n_passes_n_then_delays(void)
{
    dtx_gw_leaky_params_t p;
    dtx_gw_leaky_state_t s = { 0 };
    int64_t d;
    dtx_gw_leaky_params_set(&p, 10, 1, 5, 3, 0);   /* burst=5 delay=3 */
    for (int i = 0; i < 4; i++) {                  /* first + 3 within delay */
        CU_ASSERT_EQUAL(s_leaky(&p, &s, 0, &d), DTX_GW_RL_PASS);
        CU_ASSERT_EQUAL(d, 0);
    }
    CU_ASSERT_EQUAL(s_leaky(&p, &s, 0, &d), DTX_GW_RL_DELAY);
    CU_ASSERT_EQUAL(d, 100);                       /* (4000 - 3000) / 10 r/s */
    CU_ASSERT_EQUAL(s_leaky(&p, &s, 0, &d), DTX_GW_RL_DELAY);
    CU_ASSERT_EQUAL(d, 200);
    CU_ASSERT_EQUAL(s_leaky(&p, &s, 0, &d), DTX_GW_RL_REJECT);
}

static void test_leaky_rejected_requests_do_not_count(void)
{
    dtx_gw_leaky_params_t p;
    dtx_gw_leaky_state_t s = { 0 };
    dtx_gw_leaky_params_set(&p, 10, 1, 2, 0, 1);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(s_leaky(&p, &s, 0, NULL), DTX_GW_RL_PASS);
    for (int i = 0; i < 50; i++)
        CU_ASSERT_EQUAL(s_leaky(&p, &s, 10 + i, NULL), DTX_GW_RL_REJECT);
    CU_ASSERT_EQUAL(s.excess, 2000);
    CU_ASSERT_EQUAL(s.last_ms, 0);
    /* Had the 50 refusals counted, this would be refused too. */
    CU_ASSERT_EQUAL(s_leaky(&p, &s, 100, NULL), DTX_GW_RL_PASS);
}

static void test_leaky_check_without_account_changes_nothing(void)
{
    dtx_gw_leaky_params_t p;
    dtx_gw_leaky_state_t s = { 0 };
    int64_t excess;
    dtx_gw_leaky_params_set(&p, 10, 1, 1, 0, 1);
    CU_ASSERT_EQUAL(s_leaky(&p, &s, 0, NULL), DTX_GW_RL_PASS);
    dtx_gw_leaky_state_t before = s;
    CU_ASSERT_EQUAL(dtx_gw_leaky_check(&p, &s, 0, 0, &excess, NULL), DTX_GW_RL_PASS);
    CU_ASSERT_EQUAL(excess, 1000);
    CU_ASSERT_EQUAL(s.excess, before.excess);
    CU_ASSERT_EQUAL(s.last_ms, before.last_ms);
}

static void test_leaky_per_minute_rate_and_clock_steps(void)
{
    dtx_gw_leaky_params_t p;
    dtx_gw_leaky_state_t s = { 0 };
    dtx_gw_leaky_params_set(&p, 30, 60, 0, 0, 0);  /* 30r/m: nginx rate 500 */
    CU_ASSERT_EQUAL(p.rate_milli, 500);
    CU_ASSERT_EQUAL(s_leaky(&p, &s, 100000, NULL), DTX_GW_RL_PASS);
    CU_ASSERT_EQUAL(s_leaky(&p, &s, 101999, NULL), DTX_GW_RL_REJECT);
    CU_ASSERT_EQUAL(s_leaky(&p, &s, 102000, NULL), DTX_GW_RL_PASS);  /* 2 s per request */
    /* A small step back counts as no time; a big one as 1 ms (nginx). */
    CU_ASSERT_EQUAL(s_leaky(&p, &s, 101000, NULL), DTX_GW_RL_REJECT);
    CU_ASSERT_EQUAL(s.last_ms, 102000);
}

static void test_leaky_integer_ms_loses_remainder_like_nginx(void)
{
    /* 300 r/s without burst: a request needs 4 whole ms (3 ms leak only
     * 900), so nginx admits 250 r/s; we must match it. */
    dtx_gw_leaky_params_t p;
    dtx_gw_leaky_state_t s = { 0 };
    dtx_gw_leaky_params_set(&p, 300, 1, 0, 0, 0);
    int passed = 0;
    for (int64_t t = 0; t < 1000; t++)
        passed += s_leaky(&p, &s, t, NULL) == DTX_GW_RL_PASS;
    CU_ASSERT_EQUAL(passed, 250);
    /* With a burst the remainder carries over and the rate is exact. */
    dtx_gw_leaky_params_set(&p, 300, 1, 10, 0, 1);
    dtx_gw_leaky_state_t b = { 0 };
    passed = 0;
    for (int64_t t = 0; t < 10000; t++)
        for (int k = 0; k < 3; k++)
            passed += s_leaky(&p, &b, t, NULL) == DTX_GW_RL_PASS;
    CU_ASSERT(passed >= 3000 + 10 - 1 && passed <= 3000 + 11);
}

static void test_leaky_remaining_and_idle(void)
{
    dtx_gw_leaky_params_t p;
    dtx_gw_leaky_state_t s = { 0 };
    dtx_gw_leaky_params_set(&p, 10, 1, 4, 0, 1);
    CU_ASSERT_EQUAL(dtx_gw_leaky_remaining(&p, &s, 0), 5);
    s_leaky(&p, &s, 0, NULL);
    s_leaky(&p, &s, 0, NULL);
    CU_ASSERT_EQUAL(dtx_gw_leaky_remaining(&p, &s, 0), 3);
    CU_ASSERT(!dtx_gw_leaky_idle(&p, &s, 1000 * MS));
    CU_ASSERT(dtx_gw_leaky_idle(&p, &s, 61000 * MS));
}

/* A long idle at a high rate: rate x elapsed passes INT64_MAX milli-ms
 * (1e12 milli-requests/s x 3 h); a wrapped product read as a full bucket
 * and refused every request of the key from then on. */
static void test_leaky_long_idle_at_a_high_rate_passes(void)
{
    dtx_gw_leaky_params_t p;
    dtx_gw_leaky_state_t s = { 0 };
    dtx_gw_leaky_params_set(&p, 1000000000, 1, 5, 0, 1);  /* 1e9 r/s, burst 5 */
    const int64_t idle_ms = 3LL * 3600 * 1000;
    CU_ASSERT_EQUAL(s_leaky(&p, &s, 1000, NULL), DTX_GW_RL_PASS);
    CU_ASSERT_EQUAL(dtx_gw_leaky_remaining(&p, &s, (1000 + idle_ms) * MS), 6);
    CU_ASSERT(dtx_gw_leaky_idle(&p, &s, (1000 + idle_ms) * MS));
    for (int i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(s_leaky(&p, &s, 1000 + idle_ms, NULL), DTX_GW_RL_PASS);
    CU_ASSERT_EQUAL(s_leaky(&p, &s, 1000 + idle_ms, NULL), DTX_GW_RL_REJECT);  /* burst used */
    /* Idle far longer (a year) at the same rate: still empty, still passes. */
    const int64_t year_ms = 365LL * 24 * 3600 * 1000;
    CU_ASSERT_EQUAL(s_leaky(&p, &s, 1000 + idle_ms + year_ms, NULL), DTX_GW_RL_PASS);
    dtx_gw_leaky_params_set(&p, 1000000000, 1, 0, 0, 0);  /* no burst: one at a time */
    dtx_gw_leaky_state_t t = { 0 };
    CU_ASSERT_EQUAL(s_leaky(&p, &t, 0, NULL), DTX_GW_RL_PASS);
    CU_ASSERT_EQUAL(s_leaky(&p, &t, idle_ms, NULL), DTX_GW_RL_PASS);
}

/* Warm-up after a long pause at a high count: the bucket fills to its cap
 * (cold again), it does not overflow. */
static void test_warm_up_long_idle_at_a_high_count_cools_down(void)
{
    dtx_gw_warmup_params_t p;
    dtx_gw_warmup_state_t s = { 0 };
    dtx_gw_warmup_params_set(&p, 1e9, 10, 3);
    const int64_t t0 = 1000LL * MS;
    CU_ASSERT_EQUAL(dtx_gw_warmup_take(&p, &s, t0, NULL), DTX_GW_RL_PASS);
    const int64_t later = t0 + 1000LL * 365 * 24 * 3600 * 1000 * MS;  /* 1000 years */
    CU_ASSERT_EQUAL(dtx_gw_warmup_take(&p, &s, later, NULL), DTX_GW_RL_PASS);
    CU_ASSERT_EQUAL(s.stored_tokens, p.max_token);  /* cold: the slow start again */
}

static void test_token_bucket_burst_then_rate(void)
{
    dtx_gw_token_params_t p = { 2.0, 3.0 };
    dtx_gw_token_state_t s = { 0 };
    int64_t retry;
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(dtx_gw_token_take(&p, &s, 0, &retry), DTX_GW_RL_PASS);
    CU_ASSERT_EQUAL(dtx_gw_token_take(&p, &s, 0, &retry), DTX_GW_RL_REJECT);
    CU_ASSERT_EQUAL(retry, 500000);
    CU_ASSERT_EQUAL(dtx_gw_token_take(&p, &s, 250000, &retry), DTX_GW_RL_REJECT);
    CU_ASSERT_EQUAL(dtx_gw_token_take(&p, &s, 500000, &retry), DTX_GW_RL_PASS);
    CU_ASSERT_EQUAL(dtx_gw_token_remaining(&p, &s, 500000), 0);
    CU_ASSERT_EQUAL(dtx_gw_token_remaining(&p, &s, 60000000), 3);  /* capped at burst */
}

static void test_token_bucket_admits_rate_over_time(void)
{
    dtx_gw_token_params_t p = { 100.0, 1.0 };
    dtx_gw_token_state_t s = { 0 };
    int passed = 0;
    for (int64_t t = 0; t < 10000000; t += 1000)  /* 1000 r/s offered for 10 s */
        passed += dtx_gw_token_take(&p, &s, t, NULL) == DTX_GW_RL_PASS;
    CU_ASSERT(passed >= 1000 && passed <= 1001);
}

static int s_warm_second(const dtx_gw_warmup_params_t *p, dtx_gw_warmup_state_t *s, int64_t sec)
{
    int passed = 0;
    for (int i = 0; i < 100; i++)  /* 100 offered per second, evenly */
        passed += dtx_gw_warmup_take(p, s, sec * 1000000 + i * 10000, NULL) == DTX_GW_RL_PASS;
    return passed;
}

static void test_warm_up_starts_cold_and_reaches_the_rate(void)
{
    dtx_gw_warmup_params_t p;
    dtx_gw_warmup_state_t s = { 0 };
    dtx_gw_warmup_params_set(&p, 10, 10, 3);
    CU_ASSERT_EQUAL(p.warning_token, 50);
    CU_ASSERT_EQUAL(p.max_token, 100);
    int first = s_warm_second(&p, &s, 1000);
    CU_ASSERT_EQUAL(first, 3);  /* count / cold_factor = 3.33 */
    int prev = first, last = 0;
    for (int64_t sec = 1001; sec < 1030; sec++) {
        last = s_warm_second(&p, &s, sec);
        CU_ASSERT(last >= prev - 1);  /* never falls back while loaded */
        prev = last;
    }
    CU_ASSERT_EQUAL(last, 10);
    /* Idle for a long while: it cools down again. */
    CU_ASSERT(s_warm_second(&p, &s, 1200) < 10);
}

static void test_queue_paces_requests_and_bounds_the_wait(void)
{
    dtx_gw_queue_params_t p = { 10.0, 250000 };
    dtx_gw_queue_state_t s = { 0 };
    int64_t d;
    CU_ASSERT_EQUAL(dtx_gw_queue_take(&p, &s, 0, &d), DTX_GW_RL_PASS);
    CU_ASSERT_EQUAL(dtx_gw_queue_take(&p, &s, 0, &d), DTX_GW_RL_DELAY);
    CU_ASSERT_EQUAL(d, 100000);
    CU_ASSERT_EQUAL(dtx_gw_queue_take(&p, &s, 0, &d), DTX_GW_RL_DELAY);
    CU_ASSERT_EQUAL(d, 200000);
    CU_ASSERT_EQUAL(dtx_gw_queue_take(&p, &s, 0, &d), DTX_GW_RL_REJECT);
    CU_ASSERT_EQUAL(d, 300000);
    CU_ASSERT_EQUAL(s.latest_us, 200000);  /* the refusal took no slot */
    CU_ASSERT_EQUAL(dtx_gw_queue_take(&p, &s, 100000, &d), DTX_GW_RL_DELAY);
    CU_ASSERT_EQUAL(d, 200000);
    CU_ASSERT_EQUAL(dtx_gw_queue_take(&p, &s, 5000000, &d), DTX_GW_RL_PASS);
}

UNIT_SUITE(gw_ratelimit)
{
    CU_pSuite s = CU_add_suite("gw_ratelimit", NULL, NULL);
    CU_add_test(s, "leaky without burst passes one per interval",
                test_leaky_without_burst_passes_one_per_interval);
    CU_add_test(s, "leaky burst delays excess then rejects",
                test_leaky_burst_delays_excess_then_rejects);
    CU_add_test(s, "leaky burst nodelay passes burst at once",
                test_leaky_burst_nodelay_passes_burst_at_once);
    CU_add_test(s, "leaky delay=N passes N then delays", test_leaky_delay_n_passes_n_then_delays);
    CU_add_test(s, "leaky rejected requests do not count",
                test_leaky_rejected_requests_do_not_count);
    CU_add_test(s, "leaky check without account changes nothing",
                test_leaky_check_without_account_changes_nothing);
    CU_add_test(s, "leaky per-minute rate and clock steps",
                test_leaky_per_minute_rate_and_clock_steps);
    CU_add_test(s, "leaky integer ms loses remainder like nginx",
                test_leaky_integer_ms_loses_remainder_like_nginx);
    CU_add_test(s, "leaky remaining and idle", test_leaky_remaining_and_idle);
    CU_add_test(s, "leaky long idle at a high rate passes",
                test_leaky_long_idle_at_a_high_rate_passes);
    CU_add_test(s, "warm-up long idle at a high count cools down",
                test_warm_up_long_idle_at_a_high_count_cools_down);
    CU_add_test(s, "token bucket burst then rate", test_token_bucket_burst_then_rate);
    CU_add_test(s, "token bucket admits rate over time", test_token_bucket_admits_rate_over_time);
    CU_add_test(s, "warm-up starts cold and reaches the rate",
                test_warm_up_starts_cold_and_reaches_the_rate);
    CU_add_test(s, "queue paces requests and bounds the wait",
                test_queue_paces_requests_and_bounds_the_wait);
}
