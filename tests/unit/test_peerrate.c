/* Per-connection token buckets (coordinator/core/peerrate.h). */
#include <stdint.h>

#include <CUnit/CUnit.h>

#include "dtx/types.h"
#include "core/peerrate.h"
#include "unit.h"

static const uint8_t A[] = { 0, 'a' };
static const uint8_t B[] = { 0, 'b' };

static void test_a_peer_bursts_to_its_rate_then_waits(void)
{
    dtx_peerrate_t *r = dtx_peerrate_new(10, 2, 100);
    for (int i = 0; i < 10; i++)
        CU_ASSERT_EQUAL(dtx_peerrate_take(r, A, 2, DTX_PEERRATE_REQUEST, 1000, NULL), 0);
    int64_t wait = -1;
    CU_ASSERT_EQUAL(dtx_peerrate_take(r, A, 2, DTX_PEERRATE_REQUEST, 1000, &wait), DTX_ELIMIT);
    CU_ASSERT(wait > 0 && wait <= 101);
    /* 100 ms later one token is back, not two. */
    CU_ASSERT_EQUAL(dtx_peerrate_take(r, A, 2, DTX_PEERRATE_REQUEST, 1100, NULL), 0);
    CU_ASSERT_EQUAL(dtx_peerrate_take(r, A, 2, DTX_PEERRATE_REQUEST, 1100, NULL), DTX_ELIMIT);
    dtx_peerrate_destroy(&r);
    CU_ASSERT_PTR_NULL(r);
}

static void test_peers_and_kinds_have_their_own_buckets(void)
{
    dtx_peerrate_t *r = dtx_peerrate_new(3, 1, 100);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(dtx_peerrate_take(r, A, 2, DTX_PEERRATE_REQUEST, 0, NULL), 0);
    CU_ASSERT_EQUAL(dtx_peerrate_take(r, A, 2, DTX_PEERRATE_REQUEST, 0, NULL), DTX_ELIMIT);
    /* A's registration bucket and B's buckets are untouched. */
    CU_ASSERT_EQUAL(dtx_peerrate_take(r, A, 2, DTX_PEERRATE_REGISTER, 0, NULL), 0);
    CU_ASSERT_EQUAL(dtx_peerrate_take(r, A, 2, DTX_PEERRATE_REGISTER, 0, NULL), DTX_ELIMIT);
    CU_ASSERT_EQUAL(dtx_peerrate_take(r, B, 2, DTX_PEERRATE_REQUEST, 0, NULL), 0);
    CU_ASSERT_EQUAL(dtx_peerrate_count(r), 2);
    dtx_peerrate_destroy(&r);
}

static void test_zero_rate_is_unlimited(void)
{
    dtx_peerrate_t *r = dtx_peerrate_new(0, 0, 10);
    for (int i = 0; i < 100000; i++)
        CU_ASSERT_EQUAL_FATAL(dtx_peerrate_take(r, A, 2, DTX_PEERRATE_REQUEST, 0, NULL), 0);
    CU_ASSERT_EQUAL(dtx_peerrate_count(r), 0);
    dtx_peerrate_destroy(&r);
}

static void test_the_table_is_bounded_and_forgets_idle_peers(void)
{
    dtx_peerrate_t *r = dtx_peerrate_new(5, 1, 1000);
    uint8_t rid[5] = { 0 };
    for (uint32_t i = 0; i < 5000; i++) {
        rid[1] = (uint8_t)(i >> 24), rid[2] = (uint8_t)(i >> 16), rid[3] = (uint8_t)(i >> 8);
        rid[4] = (uint8_t)i;
        CU_ASSERT_EQUAL_FATAL(dtx_peerrate_take(r, rid, 5, DTX_PEERRATE_REQUEST, 0, NULL), 0);
        CU_ASSERT_FATAL(dtx_peerrate_count(r) <= 1000);
    }
    CU_ASSERT_EQUAL(dtx_peerrate_count(r), 1000);
    /* The most recent peer is still tracked: its bucket is one token down. */
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(dtx_peerrate_take(r, rid, 5, DTX_PEERRATE_REQUEST, 0, NULL), 0);
    CU_ASSERT_EQUAL(dtx_peerrate_take(r, rid, 5, DTX_PEERRATE_REQUEST, 0, NULL), DTX_ELIMIT);
    /* Long silence: the idle ones go a few at a time as others are heard. */
    for (int i = 0; i < 200; i++)
        (void)dtx_peerrate_take(r, A, 2, DTX_PEERRATE_REQUEST, 60000 + i * 200, NULL);
    CU_ASSERT(dtx_peerrate_count(r) < 1000);
    dtx_peerrate_destroy(&r);
}

static void test_long_routing_ids_are_cut_not_overrun(void)
{
    uint8_t big[300];
    for (int i = 0; i < 300; i++)
        big[i] = (uint8_t)i;
    dtx_peerrate_t *r = dtx_peerrate_new(1, 1, 10);
    CU_ASSERT_EQUAL(dtx_peerrate_take(r, big, sizeof big, DTX_PEERRATE_REQUEST, 0, NULL), 0);
    CU_ASSERT_EQUAL(dtx_peerrate_take(r, big, sizeof big, DTX_PEERRATE_REQUEST, 0, NULL),
                    DTX_ELIMIT);
    dtx_peerrate_destroy(&r);
}

UNIT_SUITE(peerrate)
{
    CU_pSuite s = CU_add_suite("peerrate", NULL, NULL);
    CU_add_test(s, "a peer bursts to its rate then waits", test_a_peer_bursts_to_its_rate_then_waits);
    CU_add_test(s, "peers and kinds have their own buckets", test_peers_and_kinds_have_their_own_buckets);
    CU_add_test(s, "zero rate is unlimited", test_zero_rate_is_unlimited);
    CU_add_test(s, "the table is bounded and forgets idle peers", test_the_table_is_bounded_and_forgets_idle_peers);
    CU_add_test(s, "long routing ids are cut not overrun", test_long_routing_ids_are_cut_not_overrun);
}
