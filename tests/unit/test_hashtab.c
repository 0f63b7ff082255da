/* The intrusive hash table (common/include/dtx/hashtab.h): lookups stay
 * right through growth and removals, and each() survives removing the
 * element it is given. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dtx/hashtab.h"
#include "unit.h"

#define S_N 3000

typedef struct s_item {
    char           name[32];
    int            in;
    struct s_item *next;
} s_item_t;

static uint64_t s_hash(const void *e)
{
    const s_item_t *it = e;
    return dtx_hash_bytes(it->name, strlen(it->name));
}

static s_item_t *s_find(dtx_hashtab_t *t, const char *name)
{
    for (s_item_t *it = dtx_hashtab_head(t, dtx_hash_bytes(name, strlen(name))); it;
         it = dtx_hashtab_next(t, it))
        if (strcmp(it->name, name) == 0)
            return it;
    return NULL;
}

static s_item_t s_items[S_N];

static void s_drop_odd(void *e, void *arg)
{
    s_item_t *it = e;
    dtx_hashtab_t *t = arg;
    if ((it - s_items) % 2) {
        dtx_hashtab_remove(t, it);
        it->in = 0;
    }
}

static void test_lookups_hold_through_growth_and_removal(void)
{
    dtx_hashtab_t t;
    CU_ASSERT_EQUAL_FATAL(dtx_hashtab_init(&t, offsetof(s_item_t, next), s_hash, 1), 0);
    CU_ASSERT_EQUAL(t.nbuckets, 16);
    memset(s_items, 0, sizeof s_items);
    for (int i = 0; i < S_N; i++) {
        snprintf(s_items[i].name, sizeof s_items[i].name, "item-%d", i);
        dtx_hashtab_insert(&t, &s_items[i]);
        s_items[i].in = 1;
    }
    CU_ASSERT_EQUAL(t.count, S_N);
    CU_ASSERT(t.nbuckets >= S_N); /* it grew */
    for (int i = 0; i < S_N; i += 3) {
        dtx_hashtab_remove(&t, &s_items[i]);
        dtx_hashtab_remove(&t, &s_items[i]); /* again: nothing */
        s_items[i].in = 0;
    }
    dtx_hashtab_each(&t, s_drop_odd, &t);
    size_t want = 0;
    int wrong = 0;
    for (int i = 0; i < S_N; i++) {
        want += (size_t)s_items[i].in;
        s_item_t *got = s_find(&t, s_items[i].name);
        wrong += s_items[i].in ? got != &s_items[i] : got != NULL;
    }
    CU_ASSERT_EQUAL(wrong, 0);
    CU_ASSERT_EQUAL(t.count, want);
    CU_ASSERT_PTR_NULL(s_find(&t, "nobody"));
    dtx_hashtab_fini(&t);
    CU_ASSERT_PTR_NULL(t.buckets);
}

UNIT_SUITE(hashtab)
{
    CU_pSuite s = CU_add_suite("hashtab", NULL, NULL);
    CU_add_test(s, "lookups hold through growth and removal",
                test_lookups_hold_through_growth_and_removal);
}
