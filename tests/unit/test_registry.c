/* Participant registry (coordinator/core/registry.h). */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "core/registry.h"
#include "unit.h"

static const uint8_t RID_A[] = { 0, 1, 2, 3, 4 };
static const uint8_t RID_B[] = { 0, 9, 9, 9, 9 };

static dtx_instance_t *s_reg(dtx_registry_t *r, const uint8_t *rid, const char *name,
                             const char *res, const char *owner, int64_t now, int *fresh)
{
    return dtx_registry_register(r, rid, 5, name, res, owner, 0, now, fresh, NULL, NULL);
}

static void test_register_then_pick_round_robin(void)
{
    int fresh = 0;
    dtx_registry_t *r = dtx_registry_new();
    CU_ASSERT_PTR_NOT_NULL(s_reg(r, RID_A, "a-1", "bank-a", "o1", 0, &fresh));
    CU_ASSERT_EQUAL(fresh, 1);
    CU_ASSERT_PTR_NOT_NULL(s_reg(r, RID_B, "a-2", "bank-a", "o2", 0, &fresh));
    CU_ASSERT_EQUAL(fresh, 0);
    CU_ASSERT_EQUAL(dtx_registry_count(r, "bank-a"), 2);
    const dtx_instance_t *p1 = dtx_registry_pick(r, "bank-a");
    const dtx_instance_t *p2 = dtx_registry_pick(r, "bank-a");
    const dtx_instance_t *p3 = dtx_registry_pick(r, "bank-a");
    CU_ASSERT_PTR_NOT_EQUAL(p1, p2);
    CU_ASSERT_PTR_EQUAL(p1, p3);
    CU_ASSERT_PTR_NULL(dtx_registry_pick(r, "bank-b"));
    dtx_registry_destroy(&r);
}

static void test_register_twice_is_idempotent_and_multi_resource(void)
{
    dtx_registry_t *r = dtx_registry_new();
    dtx_instance_t *a = s_reg(r, RID_A, "x", "r1", "o", 0, NULL);
    dtx_instance_t *b = s_reg(r, RID_A, "x", "r1", "o", 5, NULL);
    dtx_instance_t *c = s_reg(r, RID_A, "x", "r2", "o", 6, NULL);
    CU_ASSERT_PTR_EQUAL(a, b);
    CU_ASSERT_PTR_EQUAL(a, c);
    CU_ASSERT_EQUAL(dtx_registry_count(r, "r1"), 1);
    CU_ASSERT_EQUAL(dtx_registry_count(r, "r2"), 1);
    CU_ASSERT_EQUAL(a->nresources, 2);
    dtx_registry_destroy(&r);
}

static void test_silent_instances_expire_and_heartbeats_keep_them(void)
{
    dtx_registry_t *r = dtx_registry_new();
    s_reg(r, RID_A, "a", "res", "o", 0, NULL);
    s_reg(r, RID_B, "b", "res", "o", 0, NULL);
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
    s_reg(r, RID_A, "a", "r1", "o", 0, NULL);
    s_reg(r, RID_A, "a", "r2", "o", 0, NULL);
    CU_ASSERT_EQUAL(dtx_registry_drop(r, RID_A, 5), 1);
    CU_ASSERT_EQUAL(dtx_registry_drop(r, RID_A, 5), 0);
    CU_ASSERT_EQUAL(dtx_registry_count(r, "r1"), 0);
    CU_ASSERT_EQUAL(dtx_registry_count(r, "r2"), 0);
    CU_ASSERT_PTR_NULL(dtx_registry_pick(r, "r1"));
    CU_ASSERT_EQUAL(dtx_registry_instances(r), 0);
    dtx_registry_destroy(&r);
}

static void test_register_rejects_bad_arguments(void)
{
    dtx_registry_t *r = dtx_registry_new();
    uint8_t big[DTX_ROUTING_ID_MAX + 1];
    memset(big, 1, sizeof big);
    int err = 0;
    CU_ASSERT_PTR_NULL(dtx_registry_register(r, big, sizeof big, "a", "r", "o", 0, 0, NULL, NULL,
                                             &err));
    CU_ASSERT_EQUAL(err, DTX_EINVAL);
    CU_ASSERT_PTR_NULL(dtx_registry_register(r, RID_A, 0, "a", "r", "o", 0, 0, NULL, NULL, NULL));
    CU_ASSERT_PTR_NULL(dtx_registry_register(r, RID_A, 5, NULL, "r", "o", 0, 0, NULL, NULL, NULL));
    CU_ASSERT_PTR_NULL(dtx_registry_register(r, RID_A, 5, "a", "r", NULL, 0, 0, NULL, NULL, NULL));
    dtx_registry_destroy(&r);
}

/* The attack: a second peer registers the live instance's name to take
 * half of its calls. */
static void test_live_name_of_another_owner_is_refused(void)
{
    dtx_registry_t *r = dtx_registry_new();
    CU_ASSERT_PTR_NOT_NULL(s_reg(r, RID_A, "bank-a-1", "bank-a", "key:good", 0, NULL));
    int err = 0;
    CU_ASSERT_PTR_NULL(dtx_registry_register(r, RID_B, 5, "bank-a-1", "bank-a", "key:evil", 0, 1,
                                             NULL, NULL, &err));
    CU_ASSERT_EQUAL(err, DTX_EACCES);
    CU_ASSERT_EQUAL(dtx_registry_count(r, "bank-a"), 1);
    CU_ASSERT_EQUAL(dtx_registry_instances(r), 1);
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(memcmp(dtx_registry_pick(r, "bank-a")->rid, RID_A, 5), 0);
    /* Once the live one is gone the name is free again. */
    CU_ASSERT_EQUAL(dtx_registry_expire(r, 10000, 3000), 1);
    CU_ASSERT_PTR_NOT_NULL(s_reg(r, RID_B, "bank-a-1", "bank-a", "key:evil", 10001, NULL));
    dtx_registry_destroy(&r);
}

static void test_same_owner_from_a_new_connection_replaces_the_old(void)
{
    dtx_registry_t *r = dtx_registry_new();
    dtx_instance_t *old = s_reg(r, RID_A, "bank-a-1", "bank-a", "key:good", 0, NULL);
    uint64_t old_serial = old->serial, replaced = 0;
    dtx_instance_t *in = dtx_registry_register(r, RID_B, 5, "bank-a-1", "bank-a", "key:good", 0,
                                               1, NULL, &replaced, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(in);
    CU_ASSERT_EQUAL(replaced, old_serial);
    CU_ASSERT_NOT_EQUAL(in->serial, old_serial);
    CU_ASSERT_PTR_NULL(dtx_registry_find(r, RID_A, 5));
    CU_ASSERT_PTR_NULL(dtx_registry_find_serial(r, old_serial));
    CU_ASSERT_PTR_EQUAL(dtx_registry_find_serial(r, in->serial), in);
    CU_ASSERT_EQUAL(dtx_registry_count(r, "bank-a"), 1);
    dtx_registry_destroy(&r);
}

static void test_one_connection_holds_one_name(void)
{
    dtx_registry_t *r = dtx_registry_new();
    CU_ASSERT_PTR_NOT_NULL(s_reg(r, RID_A, "a-1", "bank-a", "o", 0, NULL));
    int err = 0;
    CU_ASSERT_PTR_NULL(dtx_registry_register(r, RID_A, 5, "b-1", "bank-b", "o", 0, 0, NULL, NULL,
                                             &err));
    CU_ASSERT_EQUAL(err, DTX_EACCES);
    dtx_registry_destroy(&r);
}

static void test_resources_per_instance_are_bounded(void)
{
    dtx_registry_t *r = dtx_registry_new();
    int err = 0;
    CU_ASSERT_PTR_NOT_NULL(dtx_registry_register(r, RID_A, 5, "a", "r1", "o", 2, 0, NULL, NULL,
                                                 &err));
    CU_ASSERT_PTR_NOT_NULL(dtx_registry_register(r, RID_A, 5, "a", "r2", "o", 2, 0, NULL, NULL,
                                                 &err));
    CU_ASSERT_PTR_NOT_NULL(dtx_registry_register(r, RID_A, 5, "a", "r2", "o", 2, 0, NULL, NULL,
                                                 &err)); /* a repeat is not a new one */
    CU_ASSERT_PTR_NULL(dtx_registry_register(r, RID_A, 5, "a", "r3", "o", 2, 0, NULL, NULL, &err));
    CU_ASSERT_EQUAL(err, DTX_ELIMIT);
    CU_ASSERT_EQUAL(dtx_registry_count(r, "r3"), 0);
    dtx_registry_destroy(&r);
}

/* 100,000 resources on as many connections, then each found and dropped:
 * linear scans made this O(n^2) (20 s of loop time in the attack). A
 * quadratic registry takes minutes here; the stage timeout catches it. */
static void test_many_instances_and_resources_stay_cheap(void)
{
    dtx_registry_t *r = dtx_registry_new();
    enum { N = 100000 };
    for (uint32_t i = 0; i < N; i++) {
        uint8_t rid[5] = { 0, (uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
        char name[32], res[32];
        snprintf(name, sizeof name, "inst-%u", i);
        snprintf(res, sizeof res, "res-%u", i);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s_reg(r, rid, name, res, "o", 0, NULL));
    }
    CU_ASSERT_EQUAL(dtx_registry_instances(r), N);
    CU_ASSERT_EQUAL(dtx_registry_count(r, "res-77777"), 1);
    for (uint32_t i = 0; i < N; i += 2) {
        uint8_t rid[5] = { 0, (uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
        CU_ASSERT_EQUAL(dtx_registry_drop(r, rid, 5), 1);
    }
    CU_ASSERT_EQUAL(dtx_registry_instances(r), N / 2);
    CU_ASSERT_EQUAL(dtx_registry_count(r, "res-77778"), 0);
    CU_ASSERT_EQUAL(dtx_registry_count(r, "res-77777"), 1);
    CU_ASSERT_EQUAL(dtx_registry_expire(r, 100000, 10), N / 2);
    CU_ASSERT_EQUAL(dtx_registry_instances(r), 0);
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
    CU_add_test(s, "live name of another owner is refused", test_live_name_of_another_owner_is_refused);
    CU_add_test(s, "same owner from a new connection replaces the old", test_same_owner_from_a_new_connection_replaces_the_old);
    CU_add_test(s, "one connection holds one name", test_one_connection_holds_one_name);
    CU_add_test(s, "resources per instance are bounded", test_resources_per_instance_are_bounded);
    CU_add_test(s, "many instances and resources stay cheap", test_many_instances_and_resources_stay_cheap);
}
