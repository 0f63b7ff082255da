/* Circuit breaker (gateway-filter/src/limits/gw_breaker.h) on a virtual clock,
 * with the half-open probe rules. */
#include <CUnit/CUnit.h>

#include "limits/gw_breaker.h"
#include "unit.h"

#define SEC 1000000LL

static dtx_gw_breaker_params_t s_params(void)
{
    dtx_gw_breaker_params_t p = { 0 };
    p.error_ratio = 0.5;
    p.min_requests = 4;
    p.window_us = 10 * SEC;
    p.open_us = 5 * SEC;
    p.probe_timeout_us = 30 * SEC;
    p.slow_us = SEC;
    return p;
}

/* Admits, then records; returns whether it was admitted. */
static int s_call(dtx_gw_breaker_t *b, const dtx_gw_breaker_params_t *p, int64_t t,
                  int failed, int64_t duration)
{
    dtx_gw_breaker_ticket_t tk;
    if (!dtx_gw_breaker_admit(b, p, t, &tk, NULL))
        return 0;
    dtx_gw_breaker_record(b, p, &tk, t, failed, duration);
    return 1;
}

static void s_trip(dtx_gw_breaker_t *b, const dtx_gw_breaker_params_t *p, int64_t t)
{
    for (int i = 0; i < 4; i++)
        s_call(b, p, t, 1, 0);
    CU_ASSERT_EQUAL(b->state, DTX_GW_BREAKER_OPEN);
}

static void test_breaker_needs_min_requests_before_the_ratio_counts(void)
{
    dtx_gw_breaker_params_t p = s_params();
    dtx_gw_breaker_t b;
    dtx_gw_breaker_init(&b);
    for (int i = 0; i < 3; i++)
        CU_ASSERT(s_call(&b, &p, 0, 1, 0));
    CU_ASSERT_EQUAL(b.state, DTX_GW_BREAKER_CLOSED);
    CU_ASSERT(s_call(&b, &p, 0, 0, 0));      /* 3 of 4 failed */
    CU_ASSERT_EQUAL(b.state, DTX_GW_BREAKER_OPEN);
    CU_ASSERT_EQUAL(b.opened_total, 1);
}

static void test_breaker_below_the_ratio_stays_closed(void)
{
    dtx_gw_breaker_params_t p = s_params();
    dtx_gw_breaker_t b;
    dtx_gw_breaker_init(&b);
    for (int i = 0; i < 100; i++)
        s_call(&b, &p, i * 1000, i % 3 == 2, 0);  /* a third fail */
    CU_ASSERT_EQUAL(b.state, DTX_GW_BREAKER_CLOSED);
}

static void test_breaker_old_failures_leave_the_window(void)
{
    dtx_gw_breaker_params_t p = s_params();
    dtx_gw_breaker_t b;
    dtx_gw_breaker_init(&b);
    for (int i = 0; i < 3; i++)
        s_call(&b, &p, 0, 1, 0);
    /* 11 s later those failures are gone: 1 failure in 4 calls. */
    s_call(&b, &p, 11 * SEC, 1, 0);
    for (int i = 0; i < 3; i++)
        s_call(&b, &p, 11 * SEC, 0, 0);
    CU_ASSERT_EQUAL(b.state, DTX_GW_BREAKER_CLOSED);
}

static void test_breaker_consecutive_failures_trip_it(void)
{
    dtx_gw_breaker_params_t p = s_params();
    p.error_ratio = 0;
    p.consecutive_failures = 3;
    dtx_gw_breaker_t b;
    dtx_gw_breaker_init(&b);
    s_call(&b, &p, 0, 1, 0);
    s_call(&b, &p, 0, 1, 0);
    s_call(&b, &p, 0, 0, 0);                 /* the run is broken */
    s_call(&b, &p, 0, 1, 0);
    s_call(&b, &p, 0, 1, 0);
    CU_ASSERT_EQUAL(b.state, DTX_GW_BREAKER_CLOSED);
    s_call(&b, &p, 0, 1, 0);
    CU_ASSERT_EQUAL(b.state, DTX_GW_BREAKER_OPEN);
}

static void test_breaker_slow_call_ratio_trips_it(void)
{
    dtx_gw_breaker_params_t p = s_params();
    p.error_ratio = 0;
    p.slow_ratio = 0.5;
    dtx_gw_breaker_t b;
    dtx_gw_breaker_init(&b);
    s_call(&b, &p, 0, 0, 2 * SEC);
    s_call(&b, &p, 0, 0, 10);
    s_call(&b, &p, 0, 0, 2 * SEC);
    CU_ASSERT_EQUAL(b.state, DTX_GW_BREAKER_CLOSED);
    s_call(&b, &p, 0, 0, 10);                /* 2 slow of 4 */
    CU_ASSERT_EQUAL(b.state, DTX_GW_BREAKER_OPEN);
}

static void test_breaker_open_refuses_until_the_interval_ends(void)
{
    dtx_gw_breaker_params_t p = s_params();
    dtx_gw_breaker_t b;
    dtx_gw_breaker_init(&b);
    s_trip(&b, &p, 0);
    dtx_gw_breaker_ticket_t tk;
    int64_t retry;
    CU_ASSERT(!dtx_gw_breaker_admit(&b, &p, SEC, &tk, &retry));
    CU_ASSERT_EQUAL(retry, 4 * SEC);
    CU_ASSERT(!dtx_gw_breaker_admit(&b, &p, 5 * SEC - 1, &tk, &retry));
    CU_ASSERT(dtx_gw_breaker_admit(&b, &p, 5 * SEC, &tk, &retry));
    CU_ASSERT(tk.probe);
    CU_ASSERT_EQUAL(b.state, DTX_GW_BREAKER_HALF_OPEN);
}

static void test_half_open_admits_only_the_probe(void)
{
    dtx_gw_breaker_params_t p = s_params();
    dtx_gw_breaker_t b;
    dtx_gw_breaker_init(&b);
    s_trip(&b, &p, 0);
    dtx_gw_breaker_ticket_t probe, other;
    CU_ASSERT(dtx_gw_breaker_admit(&b, &p, 6 * SEC, &probe, NULL));
    for (int i = 0; i < 10; i++)
        CU_ASSERT(!dtx_gw_breaker_admit(&b, &p, 6 * SEC + i, &other, NULL));
}

static void test_probe_success_alone_closes_it(void)
{
    dtx_gw_breaker_params_t p = s_params();
    dtx_gw_breaker_t b;
    dtx_gw_breaker_init(&b);
    dtx_gw_breaker_ticket_t before;
    CU_ASSERT(dtx_gw_breaker_admit(&b, &p, 0, &before, NULL));  /* in flight across the trip */
    s_trip(&b, &p, 0);
    dtx_gw_breaker_ticket_t probe;
    CU_ASSERT(dtx_gw_breaker_admit(&b, &p, 6 * SEC, &probe, NULL));
    /* A call admitted before the trip reports success: it must not decide. */
    dtx_gw_breaker_record(&b, &p, &before, 6 * SEC, 0, 0);
    CU_ASSERT_EQUAL(b.state, DTX_GW_BREAKER_HALF_OPEN);
    dtx_gw_breaker_record(&b, &p, &probe, 6 * SEC + 10, 0, 0);
    CU_ASSERT_EQUAL(b.state, DTX_GW_BREAKER_CLOSED);
    /* Closed afresh: the old failures are forgotten. */
    CU_ASSERT(s_call(&b, &p, 6 * SEC + 20, 1, 0));
    CU_ASSERT_EQUAL(b.state, DTX_GW_BREAKER_CLOSED);
}

static void test_probe_failure_reopens_for_a_new_interval(void)
{
    dtx_gw_breaker_params_t p = s_params();
    dtx_gw_breaker_t b;
    dtx_gw_breaker_init(&b);
    s_trip(&b, &p, 0);
    dtx_gw_breaker_ticket_t probe, tk;
    CU_ASSERT(dtx_gw_breaker_admit(&b, &p, 6 * SEC, &probe, NULL));
    dtx_gw_breaker_record(&b, &p, &probe, 7 * SEC, 1, 0);
    CU_ASSERT_EQUAL(b.state, DTX_GW_BREAKER_OPEN);
    CU_ASSERT_EQUAL(b.opened_total, 2);
    CU_ASSERT(!dtx_gw_breaker_admit(&b, &p, 11 * SEC, &tk, NULL));
    CU_ASSERT(dtx_gw_breaker_admit(&b, &p, 12 * SEC, &tk, NULL));
    CU_ASSERT(tk.probe);
}

static void test_probe_blocked_by_another_rule_lets_the_next_request_probe(void)
{
    dtx_gw_breaker_params_t p = s_params();
    dtx_gw_breaker_t b;
    dtx_gw_breaker_init(&b);
    s_trip(&b, &p, 0);
    dtx_gw_breaker_ticket_t probe, next;
    CU_ASSERT(dtx_gw_breaker_admit(&b, &p, 6 * SEC, &probe, NULL));
    dtx_gw_breaker_cancel(&b, &probe, 6 * SEC);      /* e.g. a rate limit said no */
    CU_ASSERT_EQUAL(b.state, DTX_GW_BREAKER_OPEN);
    CU_ASSERT(dtx_gw_breaker_admit(&b, &p, 6 * SEC + 1, &next, NULL));
    CU_ASSERT(next.probe);
    /* The cancelled probe's late report changes nothing. */
    dtx_gw_breaker_record(&b, &p, &probe, 6 * SEC + 2, 1, 0);
    CU_ASSERT_EQUAL(b.state, DTX_GW_BREAKER_HALF_OPEN);
    dtx_gw_breaker_record(&b, &p, &next, 6 * SEC + 3, 0, 0);
    CU_ASSERT_EQUAL(b.state, DTX_GW_BREAKER_CLOSED);
}

static void test_lost_probe_is_replaced_after_its_timeout(void)
{
    dtx_gw_breaker_params_t p = s_params();
    dtx_gw_breaker_t b;
    dtx_gw_breaker_init(&b);
    s_trip(&b, &p, 0);
    dtx_gw_breaker_ticket_t lost, tk;
    CU_ASSERT(dtx_gw_breaker_admit(&b, &p, 6 * SEC, &lost, NULL));
    CU_ASSERT(!dtx_gw_breaker_admit(&b, &p, 35 * SEC, &tk, NULL));
    CU_ASSERT(dtx_gw_breaker_admit(&b, &p, 36 * SEC, &tk, NULL));
    CU_ASSERT(tk.probe);
    dtx_gw_breaker_record(&b, &p, &lost, 37 * SEC, 0, 0);  /* too late: ignored */
    CU_ASSERT_EQUAL(b.state, DTX_GW_BREAKER_HALF_OPEN);
}

UNIT_SUITE(gw_breaker)
{
    CU_pSuite s = CU_add_suite("gw_breaker", NULL, NULL);
    CU_add_test(s, "needs min requests before the ratio counts",
                test_breaker_needs_min_requests_before_the_ratio_counts);
    CU_add_test(s, "below the ratio stays closed", test_breaker_below_the_ratio_stays_closed);
    CU_add_test(s, "old failures leave the window", test_breaker_old_failures_leave_the_window);
    CU_add_test(s, "consecutive failures trip it", test_breaker_consecutive_failures_trip_it);
    CU_add_test(s, "slow call ratio trips it", test_breaker_slow_call_ratio_trips_it);
    CU_add_test(s, "open refuses until the interval ends",
                test_breaker_open_refuses_until_the_interval_ends);
    CU_add_test(s, "half-open admits only the probe", test_half_open_admits_only_the_probe);
    CU_add_test(s, "probe success alone closes it", test_probe_success_alone_closes_it);
    CU_add_test(s, "probe failure reopens for a new interval",
                test_probe_failure_reopens_for_a_new_interval);
    CU_add_test(s, "probe blocked by another rule lets the next request probe",
                test_probe_blocked_by_another_rule_lets_the_next_request_probe);
    CU_add_test(s, "lost probe is replaced after its timeout",
                test_lost_probe_is_replaced_after_its_timeout);
}
