/* Pools: balancing policies and passive ejection (gw_lb.h), on a virtual
 * clock, no sockets. */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "upstream/gw_lb.h"
#include "unit.h"

#define SEC 1000000LL

static dtx_gw_pool_t *s_pool(dtx_gw_lb_kind_t lb, const int *weights, int n)
{
    dtx_gw_target_cfg_t t[8];
    memset(t, 0, sizeof t);
    char urls[8][32];
    for (int i = 0; i < n; i++) {
        snprintf(urls[i], sizeof urls[i], "http://10.0.0.%d:80", i + 1);
        t[i].url = urls[i];
        t[i].weight = weights ? weights[i] : 1;
    }
    dtx_gw_pool_cfg_t c = { 0 };
    c.name = "p";
    c.lb = lb;
    c.hash_header = lb == DTX_GW_LB_HASH ? "X-User" : NULL;
    c.targets = t;
    c.ntargets = n;
    c.eject_consecutive_5xx = 3;
    c.eject_consecutive_connect = 2;
    c.eject_base_ms = 1000;
    c.eject_max_ms = 8000;
    c.eject_max_percent = 50;
    c.healthy_after = 2;
    c.unhealthy_after = 2;
    c.sig = "x";
    return dtx_gw_pool_new(&c);
}

static void test_round_robin_spreads_evenly(void)
{
    dtx_gw_pool_t *p = s_pool(DTX_GW_LB_ROUND_ROBIN, NULL, 3);
    int count[3] = { 0 };
    for (int i = 0; i < 300; i++)
        count[dtx_gw_pool_pick(p, NULL, 0, NULL, 0)]++;
    CU_ASSERT(count[0] == 100 && count[1] == 100 && count[2] == 100);
    dtx_gw_pool_unref(&p);
}

static void test_weighted_is_smooth_like_nginx(void)
{
    int w[3] = { 5, 1, 1 };
    dtx_gw_pool_t *p = s_pool(DTX_GW_LB_WEIGHTED, w, 3);
    char seq[8] = { 0 };
    for (int i = 0; i < 7; i++)
        seq[i] = (char)('a' + dtx_gw_pool_pick(p, NULL, 0, NULL, 0));
    CU_ASSERT_STRING_EQUAL(seq, "aabacaa");  /* nginx's documented order */
    dtx_gw_pool_unref(&p);
}

static void test_least_inflight_prefers_the_idle_target(void)
{
    int w[3] = { 1, 1, 2 };
    dtx_gw_pool_t *p = s_pool(DTX_GW_LB_LEAST_INFLIGHT, w, 3);
    atomic_store(&p->targets[0].in_flight, 3);
    atomic_store(&p->targets[1].in_flight, 1);
    atomic_store(&p->targets[2].in_flight, 3);
    CU_ASSERT_EQUAL(dtx_gw_pool_pick(p, NULL, 0, NULL, 0), 1);
    atomic_store(&p->targets[1].in_flight, 2);  /* 2/1 > 3/2 */
    CU_ASSERT_EQUAL(dtx_gw_pool_pick(p, NULL, 0, NULL, 0), 2);
    dtx_gw_pool_unref(&p);
}

static void test_hash_is_sticky_and_spread(void)
{
    dtx_gw_pool_t *p = s_pool(DTX_GW_LB_HASH, NULL, 4);
    int count[4] = { 0 };
    char key[32];
    for (int i = 0; i < 4000; i++) {
        snprintf(key, sizeof key, "user-%d", i);
        int t = dtx_gw_pool_pick(p, key, 0, NULL, 0);
        CU_ASSERT_EQUAL(dtx_gw_pool_pick(p, key, 0, NULL, 0), t);
        count[t]++;
    }
    for (int i = 0; i < 4; i++)
        CU_ASSERT(count[i] > 600 && count[i] < 1400);
    /* A target gone: only its keys move. */
    unsigned char ex[DTX_GW_MAX_TARGETS] = { 0 };
    ex[2] = 1;
    int moved = 0;
    for (int i = 0; i < 4000; i++) {
        snprintf(key, sizeof key, "user-%d", i);
        int before = dtx_gw_pool_pick(p, key, 0, NULL, 0);
        int after = dtx_gw_pool_pick(p, key, 0, ex, 0);
        CU_ASSERT(after != 2);
        moved += before != after;
        CU_ASSERT(before == 2 || before == after);
    }
    CU_ASSERT_EQUAL(moved, count[2]);
    dtx_gw_pool_unref(&p);
}

static void test_consecutive_5xx_eject_with_growing_time(void)
{
    dtx_gw_pool_t *p = s_pool(DTX_GW_LB_ROUND_ROBIN, NULL, 4);
    CU_ASSERT_EQUAL(dtx_gw_pool_record(p, 0, 0, DTX_GW_OUTCOME_5XX), 0);
    CU_ASSERT_EQUAL(dtx_gw_pool_record(p, 0, 0, DTX_GW_OUTCOME_5XX), 0);
    CU_ASSERT_EQUAL(dtx_gw_pool_record(p, 0, 0, DTX_GW_OUTCOME_5XX), 1);
    CU_ASSERT(dtx_gw_pool_ejected(p, 0, 0));
    for (int i = 0; i < 30; i++)
        CU_ASSERT(dtx_gw_pool_pick(p, NULL, 10, NULL, 0) != 0);
    CU_ASSERT(!dtx_gw_pool_ejected(p, 0, SEC));            /* base 1 s */
    for (int i = 0; i < 3; i++)
        dtx_gw_pool_record(p, 0, SEC, DTX_GW_OUTCOME_5XX);
    CU_ASSERT(dtx_gw_pool_ejected(p, 0, 3 * SEC - 1));     /* second time: 2 s */
    CU_ASSERT(!dtx_gw_pool_ejected(p, 0, 3 * SEC));
    dtx_gw_pool_unref(&p);
}

static void test_success_resets_the_run(void)
{
    dtx_gw_pool_t *p = s_pool(DTX_GW_LB_ROUND_ROBIN, NULL, 2);
    dtx_gw_pool_record(p, 0, 0, DTX_GW_OUTCOME_CONNECT);
    dtx_gw_pool_record(p, 0, 0, DTX_GW_OUTCOME_OK);
    CU_ASSERT_EQUAL(dtx_gw_pool_record(p, 0, 0, DTX_GW_OUTCOME_CONNECT), 0);
    CU_ASSERT_EQUAL(dtx_gw_pool_record(p, 0, 0, DTX_GW_OUTCOME_CONNECT), 1);
    dtx_gw_pool_unref(&p);
}

static void test_never_ejects_more_than_max_percent(void)
{
    dtx_gw_pool_t *p = s_pool(DTX_GW_LB_ROUND_ROBIN, NULL, 4);
    for (int t = 0; t < 4; t++)
        for (int i = 0; i < 3; i++)
            dtx_gw_pool_record(p, t, 0, DTX_GW_OUTCOME_5XX);
    int ejected = 0;
    for (int t = 0; t < 4; t++)
        ejected += dtx_gw_pool_ejected(p, t, 0);
    CU_ASSERT_EQUAL(ejected, 2);  /* 50 % of 4 */
    CU_ASSERT_EQUAL(dtx_gw_pool_available(p, 0), 2);
    dtx_gw_pool_unref(&p);
}

static void test_health_checks_mark_down_and_up(void)
{
    dtx_gw_pool_t *p = s_pool(DTX_GW_LB_ROUND_ROBIN, NULL, 2);
    CU_ASSERT_EQUAL(dtx_gw_pool_health_result(p, 1, 0, 0), 1);
    CU_ASSERT_EQUAL(dtx_gw_pool_health_result(p, 1, 0, 0), 0);
    for (int i = 0; i < 10; i++)
        CU_ASSERT_EQUAL(dtx_gw_pool_pick(p, NULL, 0, NULL, 0), 0);
    CU_ASSERT_EQUAL(dtx_gw_pool_health_result(p, 1, 0, 1), 0);
    CU_ASSERT_EQUAL(dtx_gw_pool_health_result(p, 1, 0, 1), 1);
    /* Nothing available: only panic mode picks. */
    dtx_gw_pool_health_result(p, 0, 0, 0);
    dtx_gw_pool_health_result(p, 0, 0, 0);
    dtx_gw_pool_health_result(p, 1, 0, 0);
    dtx_gw_pool_health_result(p, 1, 0, 0);
    CU_ASSERT_EQUAL(dtx_gw_pool_pick(p, NULL, 0, NULL, 0), -1);
    CU_ASSERT(dtx_gw_pool_pick(p, NULL, 0, NULL, 1) >= 0);
    dtx_gw_pool_unref(&p);
}

UNIT_SUITE(gw_lb)
{
    CU_pSuite s = CU_add_suite("gw_lb", NULL, NULL);
    CU_add_test(s, "round robin spreads evenly", test_round_robin_spreads_evenly);
    CU_add_test(s, "weighted is smooth like nginx", test_weighted_is_smooth_like_nginx);
    CU_add_test(s, "least in-flight prefers the idle target",
                test_least_inflight_prefers_the_idle_target);
    CU_add_test(s, "hash is sticky and spread", test_hash_is_sticky_and_spread);
    CU_add_test(s, "consecutive 5xx eject with growing time",
                test_consecutive_5xx_eject_with_growing_time);
    CU_add_test(s, "success resets the run", test_success_resets_the_run);
    CU_add_test(s, "never ejects more than max percent", test_never_ejects_more_than_max_percent);
    CU_add_test(s, "health checks mark down and up", test_health_checks_mark_down_and_up);
}
