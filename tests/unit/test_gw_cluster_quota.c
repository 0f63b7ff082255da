/* Cluster-wide limits, the instance side: the slice and lease arithmetic
 * (limits/gw_cluster_quota.h) on a virtual clock, and the fallback modes'
 * local share. The engine over a fake Redis is in test_gw_cluster.c. */
#include <CUnit/CUnit.h>

#include "dtx/types.h"
#include "limits/gw_cluster_quota.h"
#include "unit.h"

#define MS 1000LL
#define SEC 1000000LL

/* ---------------- slices ---------------- */

static void test_rate_slice_is_taken_spent_and_refilled(void)
{
    dtx_gw_cq_rate_params_t p;
    dtx_gw_cq_rate_params_set(&p, 1000, 1, 20, 200);
    CU_ASSERT_EQUAL(p.slice, 20);
    CU_ASSERT_EQUAL(dtx_gw_cq_rate_debt(&p, 3), 1);
    dtx_gw_cq_rate_t s = { 0 };
    int64_t retry, now = 10 * SEC;
    /* no pool: the first request borrows (debt 1), the next is refused at
     * once (never waits); the demand is noted */
    CU_ASSERT_EQUAL(dtx_gw_cq_rate_take(&p, &s, DTX_GW_CQ_CLUSTER, 1, now, 1, &retry),
                    DTX_GW_RL_PASS);
    CU_ASSERT_EQUAL(s.pool, -1);
    CU_ASSERT_EQUAL(dtx_gw_cq_rate_take(&p, &s, DTX_GW_CQ_CLUSTER, 1, now, 1, &retry),
                    DTX_GW_RL_REJECT);
    CU_ASSERT(retry > 0);
    int64_t n = dtx_gw_cq_rate_plan(&p, &s, now);
    CU_ASSERT_EQUAL(n, 21);                                  /* a slice and the debt */
    CU_ASSERT_EQUAL(dtx_gw_cq_rate_plan(&p, &s, now), 0);  /* one request out at a time */
    dtx_gw_cq_rate_apply(&s, n, 1, 21);
    CU_ASSERT_EQUAL(s.pool, 20);
    /* a check takes nothing, a take takes one */
    CU_ASSERT_EQUAL(dtx_gw_cq_rate_take(&p, &s, DTX_GW_CQ_CLUSTER, 1, now, 0, &retry),
                    DTX_GW_RL_PASS);
    CU_ASSERT_EQUAL(s.pool, 20);
    for (int i = 0; i < 9; i++)
        CU_ASSERT_EQUAL(dtx_gw_cq_rate_take(&p, &s, DTX_GW_CQ_CLUSTER, 1, now, 1, &retry),
                        DTX_GW_RL_PASS);
    CU_ASSERT_EQUAL(dtx_gw_cq_rate_plan(&p, &s, now), 0);   /* 11 left: over half a slice */
    CU_ASSERT_EQUAL(dtx_gw_cq_rate_take(&p, &s, DTX_GW_CQ_CLUSTER, 1, now, 1, &retry),
                    DTX_GW_RL_PASS);
    n = dtx_gw_cq_rate_plan(&p, &s, now);                   /* 10 left: top up */
    CU_ASSERT_EQUAL(n, 10);
    dtx_gw_cq_rate_apply(&s, n, 1, 4);                      /* Redis had only 4 */
    CU_ASSERT_EQUAL(s.pool, 14);
    CU_ASSERT_EQUAL(s.granted, 25);
}

static void test_rate_unused_pool_is_given_back_and_debt_paid(void)
{
    dtx_gw_cq_rate_params_t p;
    dtx_gw_cq_rate_params_set(&p, 100, 1, 100, 200);
    dtx_gw_cq_rate_t s = { 0 };
    int64_t retry, now = SEC;
    s.pool = 10;
    s.last_use_us = now;
    CU_ASSERT_EQUAL(dtx_gw_cq_rate_plan(&p, &s, now + 199 * MS), 0);  /* still in demand */
    int64_t n = dtx_gw_cq_rate_plan(&p, &s, now + 201 * MS);
    CU_ASSERT_EQUAL(n, -10);
    CU_ASSERT_EQUAL(s.pool, 0);  /* out of the pool before the answer: never spent twice */
    dtx_gw_cq_rate_apply(&s, n, 0, 0);  /* Redis did not answer: the tokens stay here */
    CU_ASSERT_EQUAL(s.pool, 10);
    n = dtx_gw_cq_rate_plan(&p, &s, now + 500 * MS);
    dtx_gw_cq_rate_apply(&s, n, 1, -10);
    CU_ASSERT_EQUAL(s.pool, 0);
    CU_ASSERT_EQUAL(s.returned, 10);
    /* a quiet key: one request borrows; idle, the debt is still paid */
    CU_ASSERT_EQUAL(dtx_gw_cq_rate_take(&p, &s, DTX_GW_CQ_CLUSTER, 1, 5 * SEC, 1, &retry),
                    DTX_GW_RL_PASS);
    CU_ASSERT_EQUAL(s.pool, -1);
    n = dtx_gw_cq_rate_plan(&p, &s, 9 * SEC);
    CU_ASSERT_EQUAL(n, 1);
    dtx_gw_cq_rate_apply(&s, n, 1, 1);
    CU_ASSERT_EQUAL(s.pool, 0);
    CU_ASSERT_EQUAL(dtx_gw_cq_rate_plan(&p, &s, 10 * SEC), 0);
}

static void test_fallback_modes_use_the_local_share_or_refuse(void)
{
    dtx_gw_cq_rate_params_t p;
    dtx_gw_cq_rate_params_set(&p, 300, 30, 20, 200);
    CU_ASSERT_DOUBLE_EQUAL(dtx_gw_cq_share(300, 3), 100, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(dtx_gw_cq_share(300, 0), 300, 1e-9);
    dtx_gw_cq_rate_t s = { 0 };
    int64_t retry;
    int passed = 0;
    /* fail-open, 3 live instances: 100 r/s and a burst of 10 here, over
     * 2 s offered 1,000 r/s */
    for (int64_t t = 0; t < 2 * SEC; t += MS)
        passed += dtx_gw_cq_rate_take(&p, &s, DTX_GW_CQ_FAIL_OPEN, 3, SEC + t, 1, &retry) ==
                  DTX_GW_RL_PASS;
    CU_ASSERT(passed >= 205 && passed <= 211);
    /* fail-closed refuses everything, pool or not */
    s.pool = 5;
    CU_ASSERT_EQUAL(dtx_gw_cq_rate_take(&p, &s, DTX_GW_CQ_FAIL_CLOSED, 3, 5 * SEC, 1, &retry),
                    DTX_GW_RL_REJECT);
    CU_ASSERT_EQUAL(retry, SEC);
    dtx_gw_cq_conc_params_t cp;
    dtx_gw_cq_conc_params_set(&cp, 10, 3, 2000, 200);
    dtx_gw_cq_conc_t c = { 0 };
    int got = 0;
    for (int i = 0; i < 10; i++)
        got += dtx_gw_cq_conc_acquire(&cp, &c, DTX_GW_CQ_FAIL_OPEN, 3, SEC);
    CU_ASSERT_EQUAL(got, 4);  /* ceil(10 / 3) */
    CU_ASSERT_EQUAL(dtx_gw_cq_conc_acquire(&cp, &c, DTX_GW_CQ_FAIL_CLOSED, 3, SEC), 0);
}

/* ---------------- leases ---------------- */

static void test_lease_grows_renews_expires_and_shrinks(void)
{
    dtx_gw_cq_conc_params_t p;
    dtx_gw_cq_conc_params_set(&p, 40, 2, 3000, 200);
    CU_ASSERT_EQUAL(p.spare, 5);  /* 40 / (4 x 2) */
    dtx_gw_cq_conc_t s = { 0 };
    int64_t now = 100 * SEC;
    CU_ASSERT_EQUAL(dtx_gw_cq_conc_acquire(&p, &s, DTX_GW_CQ_CLUSTER, 2, now), 0);
    CU_ASSERT_EQUAL(dtx_gw_cq_conc_plan(&p, &s, now), 5);
    CU_ASSERT_EQUAL(dtx_gw_cq_conc_plan(&p, &s, now), -1);  /* asking */
    dtx_gw_cq_conc_apply(&s, 1, 5, now);
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(dtx_gw_cq_conc_acquire(&p, &s, DTX_GW_CQ_CLUSTER, 2, now), 1);
    CU_ASSERT_EQUAL(dtx_gw_cq_conc_acquire(&p, &s, DTX_GW_CQ_CLUSTER, 2, now), 0);
    CU_ASSERT_EQUAL(dtx_gw_cq_conc_plan(&p, &s, now), 10);  /* in_flight 5 + spare 5 */
    dtx_gw_cq_conc_apply(&s, 1, 7, now);                    /* others hold the rest */
    CU_ASSERT_EQUAL(s.held, 7);
    /* renewal after a third of the lease, not before */
    s.asking = 0;
    s.last_use_us = 0;  /* no demand: want = in_flight 5 */
    CU_ASSERT_EQUAL(dtx_gw_cq_conc_plan(&p, &s, now + 999 * MS), 5);  /* shrink to in_flight */
    dtx_gw_cq_conc_apply(&s, 1, 5, now + 999 * MS);
    CU_ASSERT_EQUAL(dtx_gw_cq_conc_plan(&p, &s, now + 1500 * MS), -1);
    CU_ASSERT_EQUAL(dtx_gw_cq_conc_plan(&p, &s, now + 1999 * MS), 5);  /* renew */
    dtx_gw_cq_conc_apply(&s, 0, 0, now + 1999 * MS);  /* unanswered: the lease runs out */
    CU_ASSERT_EQUAL(dtx_gw_cq_conc_held(&p, &s, now + 3998 * MS), 5);
    CU_ASSERT_EQUAL(dtx_gw_cq_conc_held(&p, &s, now + 3999 * MS), 0);
    for (int i = 0; i < 5; i++)
        dtx_gw_cq_conc_release(&s);
    CU_ASSERT_EQUAL(s.in_flight, 0);
    dtx_gw_cq_conc_release(&s);
    CU_ASSERT_EQUAL(s.in_flight, 0);
}

UNIT_SUITE(gw_cluster_quota)
{
    CU_pSuite s = CU_add_suite("gw_cluster_quota", NULL, NULL);
    CU_add_test(s, "rate slice is taken, spent and refilled",
                test_rate_slice_is_taken_spent_and_refilled);
    CU_add_test(s, "rate: unused pool is given back, debt paid",
                test_rate_unused_pool_is_given_back_and_debt_paid);
    CU_add_test(s, "fallback modes use the local share or refuse",
                test_fallback_modes_use_the_local_share_or_refuse);
    CU_add_test(s, "lease grows, renews, expires and shrinks",
                test_lease_grows_renews_expires_and_shrinks);
}
