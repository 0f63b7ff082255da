/* Participant registry (coordinator/registry.h). */
#include <string.h>

#include <CUnit/CUnit.h>

#include "registry.h"
#include "unit.h"

static const uint8_t RID_A[] = { 0, 1, 2, 3, 4 };
static const uint8_t RID_B[] = { 0, 9, 9, 9, 9 };

static void test_register_then_pick_round_robin(void)
{
    dtx_registry_t *r = dtx_registry_new();
    int fresh = 0;
    CU_ASSERT_PTR_NOT_NULL(dtx_registry_register(r, RID_A, 5, "a-1", "bank-a", 0, &fresh));
    CU_ASSERT_EQUAL(fresh, 1);
    CU_ASSERT_PTR_NOT_NULL(dtx_registry_register(r, RID_B, 5, "a-2", "bank-a", 0, &fresh));
    CU_ASSERT_EQUAL(fresh, 0);
    CU_ASSERT_EQUAL(dtx_registry_count(r, "bank-a"), 2);
    const dtx_instance_t *p1 = dtx_registry_pick(r, "bank-a");
    const dtx_instance_t *p2 = dtx_registry_pick(r, "bank-a");
    const dtx_instance_t *p3 = dtx_registry_pick(r, "bank-a");
    CU_ASSERT_PTR_NOT_EQUAL(p1, p2);
    CU_ASSERT_PTR_EQUAL(p1, p3);
    CU_ASSERT_PTR_NULL(dtx_registry_pick(r, "bank-b"));
    dtx_registry_destroy(&r);
    CU_ASSERT_PTR_NULL(r);
}

static void test_register_twice_is_idempotent_and_multi_resource(void)
{
    dtx_registry_t *r = dtx_registry_new();
    dtx_instance_t *a = dtx_registry_register(r, RID_A, 5, "x", "r1", 0, NULL);
    dtx_instance_t *b = dtx_registry_register(r, RID_A, 5, "x", "r1", 5, NULL);
    dtx_instance_t *c = dtx_registry_register(r, RID_A, 5, "x", "r2", 6, NULL);
    CU_ASSERT_PTR_EQUAL(a, b);
    CU_ASSERT_PTR_EQUAL(a, c);
    CU_ASSERT_EQUAL(dtx_registry_count(r, "r1"), 1);
    CU_ASSERT_EQUAL(dtx_registry_count(r, "r2"), 1);
    dtx_registry_destroy(&r);
}

static void test_silent_instances_expire_and_heartbeats_keep_them(void)
{
    dtx_registry_t *r = dtx_registry_new();
    dtx_registry_register(r, RID_A, 5, "a", "res", 0, NULL);
    dtx_registry_register(r, RID_B, 5, "b", "res", 0, NULL);
    CU_ASSERT_EQUAL(dtx_registry_touch(r, RID_B, 5, 2500), 0);
    CU_ASSERT_EQUAL(dtx_registry_expire(r, 3000, 3000), 0);
    CU_ASSERT_EQUAL(dtx_registry_expire(r, 3001, 3000), 1);
    CU_ASSERT_EQUAL(dtx_registry_count(r, "res"), 1);
    CU_ASSERT_EQUAL(dtx_registry_touch(r, RID_A, 5, 3002), DTX_EUNREGISTERED);
    CU_ASSERT_PTR_NOT_NULL(dtx_registry_find(r, RID_B, 5));
    dtx_registry_destroy(&r);
}

static void test_drop_removes_from_every_resource(void)
{
    dtx_registry_t *r = dtx_registry_new();
    dtx_registry_register(r, RID_A, 5, "a", "r1", 0, NULL);
    dtx_registry_register(r, RID_A, 5, "a", "r2", 0, NULL);
    CU_ASSERT_EQUAL(dtx_registry_drop(r, RID_A, 5), 1);
    CU_ASSERT_EQUAL(dtx_registry_drop(r, RID_A, 5), 0);
    CU_ASSERT_EQUAL(dtx_registry_count(r, "r1"), 0);
    CU_ASSERT_EQUAL(dtx_registry_count(r, "r2"), 0);
    CU_ASSERT_PTR_NULL(dtx_registry_pick(r, "r1"));
    dtx_registry_destroy(&r);
}

static void test_register_rejects_bad_arguments(void)
{
    dtx_registry_t *r = dtx_registry_new();
    uint8_t big[300];
    memset(big, 1, sizeof big);
    CU_ASSERT_PTR_NULL(dtx_registry_register(r, big, sizeof big, "a", "r", 0, NULL));
    CU_ASSERT_PTR_NULL(dtx_registry_register(r, RID_A, 0, "a", "r", 0, NULL));
    CU_ASSERT_PTR_NULL(dtx_registry_register(r, RID_A, 5, NULL, "r", 0, NULL));
    dtx_registry_destroy(&r);
}

UNIT_SUITE(registry)
{
    CU_pSuite s = CU_add_suite("registry", NULL, NULL);
    CU_add_test(s, "register then pick round robin", test_register_then_pick_round_robin);
    CU_add_test(s, "register twice is idempotent and multi resource", test_register_twice_is_idempotent_and_multi_resource);
    CU_add_test(s, "silent instances expire and heartbeats keep them", test_silent_instances_expire_and_heartbeats_keep_them);
    CU_add_test(s, "drop removes from every resource", test_drop_removes_from_every_resource);
    CU_add_test(s, "register rejects bad arguments", test_register_rejects_bad_arguments);
}
