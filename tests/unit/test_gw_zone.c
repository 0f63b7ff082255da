/* Zone-aware balancing: Envoy's priority load with the local zone as
 * priority 0 (gw_zone.h), in numbers, and the pool's picks that follow it. */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "upstream/gw_lb.h"
#include "upstream/gw_zone.h"
#include "unit.h"

static void test_health_is_overprovisioned_and_capped(void)
{
    CU_ASSERT_EQUAL(dtx_gw_zone_health(140, 10, 10), 100);
    CU_ASSERT_EQUAL(dtx_gw_zone_health(140, 8, 10), 100);  /* 112 capped */
    CU_ASSERT_EQUAL(dtx_gw_zone_health(140, 7, 10), 98);
    CU_ASSERT_EQUAL(dtx_gw_zone_health(140, 5, 10), 70);
    CU_ASSERT_EQUAL(dtx_gw_zone_health(140, 0, 10), 0);
    CU_ASSERT_EQUAL(dtx_gw_zone_health(140, 0, 0), 0);     /* no target: no health */
    CU_ASSERT_EQUAL(dtx_gw_zone_health(100, 9, 10), 90);   /* factor 1.0: the plain share */
}

/* Envoy's "Priority levels" table (P1 fully healthy): P0 healthy 100 %,
 * 72 %, 71 %, 50 %, 25 %, 0 % -> P0 load 100, 100, 99, 70, 35, 0. */
static void test_local_share_follows_envoys_table(void)
{
    int healthy[] = { 100, 72, 71, 50, 25, 0 };
    int load[] = { 100, 100, 99, 70, 35, 0 };
    for (int i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(dtx_gw_zone_local_load(140, healthy[i], 100, 100, 100), load[i]);
    /* the threshold: spill starts under 100/1.4 = 71.4 % healthy */
    CU_ASSERT_EQUAL(dtx_gw_zone_local_load(140, 5, 7, 3, 3), 100);  /* 71.4 %: 140*5/7 = 100 */
    CU_ASSERT_EQUAL(dtx_gw_zone_local_load(140, 7, 10, 3, 3), 98);  /* 70 %: spills 2 % */
}

static void test_degraded_levels_are_normalised(void)
{
    /* 2/10 and 2/10 healthy: health 28 + 28 = 56 < 100 -> 50 / 50 */
    CU_ASSERT_EQUAL(dtx_gw_zone_local_load(140, 2, 10, 2, 10), 50);
    /* 1/10 and 2/10: 14 + 28 = 42; 1400/42 = 33, 2800/42 = 66, the
     * leftover 1 to priority 0 -> 34 */
    CU_ASSERT_EQUAL(dtx_gw_zone_local_load(140, 1, 10, 2, 10), 34);
    /* only the local zone has targets: all of it while any is healthy */
    CU_ASSERT_EQUAL(dtx_gw_zone_local_load(140, 1, 10, 0, 0), 100);
    /* other zones only */
    CU_ASSERT_EQUAL(dtx_gw_zone_local_load(140, 0, 0, 3, 4), 0);
    /* nothing healthy anywhere: the caller's panic rule */
    CU_ASSERT_EQUAL(dtx_gw_zone_local_load(140, 0, 10, 0, 10), -1);
    CU_ASSERT_EQUAL(dtx_gw_zone_local_load(140, 0, 0, 0, 0), -1);
}

/* 4 targets in zone a, 4 in zone b; the gateway in zone a. */
static dtx_gw_pool_t *s_zoned_pool(const char *local)
{
    dtx_gw_target_cfg_t t[8];
    char urls[8][32];
    memset(t, 0, sizeof t);
    for (int i = 0; i < 8; i++) {
        snprintf(urls[i], sizeof urls[i], "http://10.0.0.%d:80", i + 1);
        t[i].url = urls[i];
        t[i].weight = 1;
        t[i].zone = i < 4 ? "a" : "b";
    }
    dtx_gw_pool_cfg_t c = { 0 };
    c.name = "p";
    c.lb = DTX_GW_LB_ROUND_ROBIN;
    c.healthy_after = 1;
    c.unhealthy_after = 1;
    c.eject_max_percent = 50;
    c.overprovision_pct = 140;
    c.sig = "x";
    return dtx_gw_pool_new_set(&c, t, 8, local);
}

static int s_local_picks(dtx_gw_pool_t *p, int n, const unsigned char *exclude)
{
    int local = 0;
    for (int i = 0; i < n; i++) {
        int k = dtx_gw_pool_pick(p, NULL, 0, exclude, 0);
        CU_ASSERT(k >= 0);
        local += k >= 0 && k < 4;
    }
    return local;
}

static void test_pool_prefers_its_zone_and_spills(void)
{
    dtx_gw_pool_t *p = s_zoned_pool("a");
    CU_ASSERT_EQUAL(p->nlocal, 4);
    CU_ASSERT_EQUAL(s_local_picks(p, 100, NULL), 100);
    dtx_gw_pool_health_result(p, 0, 0, 0);     /* 3 of 4 healthy: 105 -> 100 */
    CU_ASSERT_EQUAL(dtx_gw_pool_zone_load(p, 0), 100);
    CU_ASSERT_EQUAL(s_local_picks(p, 100, NULL), 100);
    dtx_gw_pool_health_result(p, 1, 0, 0);     /* 2 of 4: 70 local, 30 spill */
    CU_ASSERT_EQUAL(dtx_gw_pool_zone_load(p, 0), 70);
    CU_ASSERT_EQUAL(s_local_picks(p, 100, NULL), 70);
    CU_ASSERT_EQUAL(s_local_picks(p, 1000, NULL), 700);
    dtx_gw_pool_health_result(p, 2, 0, 0);
    dtx_gw_pool_health_result(p, 3, 0, 0);     /* none left in a */
    CU_ASSERT_EQUAL(s_local_picks(p, 100, NULL), 0);
    dtx_gw_pool_unref(&p);
}

static void test_excluded_local_targets_fall_to_other_zones(void)
{
    dtx_gw_pool_t *p = s_zoned_pool("a");
    unsigned char tried[DTX_GW_MAX_TARGETS] = { 1, 1, 1, 1 };  /* a retry after all of a */
    CU_ASSERT_EQUAL(s_local_picks(p, 10, tried), 0);
    dtx_gw_pool_unref(&p);
}

static void test_without_a_zone_every_target_is_equal(void)
{
    dtx_gw_pool_t *p = s_zoned_pool(NULL);
    CU_ASSERT_EQUAL(p->nlocal, 0);
    CU_ASSERT_EQUAL(dtx_gw_pool_zone_load(p, 0), -1);
    CU_ASSERT_EQUAL(s_local_picks(p, 800, NULL), 400);
    dtx_gw_pool_unref(&p);
    p = s_zoned_pool("c");                     /* a zone no target is in */
    CU_ASSERT_EQUAL(s_local_picks(p, 800, NULL), 400);
    dtx_gw_pool_unref(&p);
}

UNIT_SUITE(gw_zone)
{
    CU_pSuite s = CU_add_suite("gw_zone", NULL, NULL);
    CU_add_test(s, "health is overprovisioned and capped", test_health_is_overprovisioned_and_capped);
    CU_add_test(s, "local share follows Envoy's table", test_local_share_follows_envoys_table);
    CU_add_test(s, "degraded levels are normalised", test_degraded_levels_are_normalised);
    CU_add_test(s, "pool prefers its zone and spills", test_pool_prefers_its_zone_and_spills);
    CU_add_test(s, "excluded local targets fall to other zones",
                test_excluded_local_targets_fall_to_other_zones);
    CU_add_test(s, "without a zone every target is equal", test_without_a_zone_every_target_is_equal);
}
