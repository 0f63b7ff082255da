/* The intrusive min-heap (common/include/dtx/heap.h), against a brute-force
 * model under random sets, moves and removals. */
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dtx/heap.h"
#include "unit.h"

#define S_N 200

static int64_t s_model_min(const dtx_heap_node_t *nodes, const int *in, int n)
{
    int64_t m = INT64_MAX;
    for (int i = 0; i < n; i++)
        if (in[i] && nodes[i].key < m)
            m = nodes[i].key;
    return m;
}

static void test_first_is_always_the_smallest_key(void)
{
    dtx_heap_t h = { 0 };
    dtx_heap_node_t nodes[S_N];
    int in[S_N] = { 0 };
    for (int i = 0; i < S_N; i++)
        dtx_heap_node_init(&nodes[i]);
    unsigned seed = 12345;
    int count = 0;
    for (int step = 0; step < 20000; step++) {
        int i = (int)(rand_r(&seed) % S_N);
        if (rand_r(&seed) % 3 == 0) {
            dtx_heap_remove(&h, &nodes[i]);
            count -= in[i];
            in[i] = 0;
        } else {
            CU_ASSERT_EQUAL(dtx_heap_set(&h, &nodes[i], (int64_t)(rand_r(&seed) % 1000)), 0);
            count += !in[i];
            in[i] = 1;
        }
        CU_ASSERT_EQUAL(h.n, count);
        CU_ASSERT_EQUAL(nodes[i].idx >= 0, in[i]);
        const dtx_heap_node_t *f = dtx_heap_first(&h);
        if (count == 0) {
            CU_ASSERT_PTR_NULL(f);
        } else {
            CU_ASSERT_PTR_NOT_NULL_FATAL(f);
            CU_ASSERT_EQUAL(f->key, s_model_min(nodes, in, S_N));
        }
    }
    for (int k = 0; k < h.n; k++) /* every node knows where it is */
        CU_ASSERT_EQUAL(h.nodes[k]->idx, k);
    dtx_heap_free(&h);
    CU_ASSERT_PTR_NULL(h.nodes);
}

static void test_pop_order_is_sorted_and_remove_is_idempotent(void)
{
    dtx_heap_t h = { 0 };
    dtx_heap_node_t nodes[50];
    for (int i = 0; i < 50; i++) {
        dtx_heap_node_init(&nodes[i]);
        CU_ASSERT_EQUAL(dtx_heap_set(&h, &nodes[i], (int64_t)((i * 37) % 50)), 0);
    }
    dtx_heap_remove(&h, &nodes[3]);
    dtx_heap_remove(&h, &nodes[3]); /* again: nothing */
    CU_ASSERT_EQUAL(h.n, 49);
    int64_t last = -1;
    dtx_heap_node_t *f;
    while ((f = dtx_heap_first(&h)) != NULL) {
        CU_ASSERT(f->key >= last);
        last = f->key;
        dtx_heap_remove(&h, f);
        CU_ASSERT_EQUAL(f->idx, -1);
    }
    dtx_heap_free(&h);
}

UNIT_SUITE(heap)
{
    CU_pSuite s = CU_add_suite("heap", NULL, NULL);
    CU_add_test(s, "first is always the smallest key", test_first_is_always_the_smallest_key);
    CU_add_test(s, "pop order is sorted and remove is idempotent",
                test_pop_order_is_sorted_and_remove_is_idempotent);
}
