/* The log's routing holds (coordinator/log/route.h): a key with writes
 * outstanding stays on its connection until the last is let go, and the
 * table stays right through growth and removals (checked against a plain
 * array model under a random mix of holds and releases). */
#include <stdint.h>
#include <stdlib.h>

#include <CUnit/CUnit.h>

#include "log/route.h"
#include "unit.h"

#define S_KEYS 5000

static void test_a_key_stays_on_its_connection_while_held(void)
{
    dtx_route_t *r = dtx_route_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(dtx_route_conn(r, 42), -1);
    CU_ASSERT_EQUAL(dtx_route_hold(r, 42, 1), 0);
    CU_ASSERT_EQUAL(dtx_route_hold(r, 42, 1), 0);
    CU_ASSERT_EQUAL(dtx_route_conn(r, 42), 1);
    CU_ASSERT_EQUAL(dtx_route_count(r, 42), 2);
    dtx_route_release(r, 42);
    CU_ASSERT_EQUAL(dtx_route_conn(r, 42), 1); /* one still outstanding */
    dtx_route_release(r, 42);
    CU_ASSERT_EQUAL(dtx_route_conn(r, 42), -1); /* free: may go anywhere */
    CU_ASSERT_EQUAL(dtx_route_keys(r), 0);
    dtx_route_release(r, 42); /* not held: nothing */
    CU_ASSERT_EQUAL(dtx_route_count(r, 42), 0);
    CU_ASSERT_EQUAL(dtx_route_hold(r, 42, 0), 0); /* free keys take a new connection */
    CU_ASSERT_EQUAL(dtx_route_conn(r, 42), 0);
    dtx_route_destroy(&r);
    CU_ASSERT_PTR_NULL(r);
}

static void test_holds_survive_growth_and_removals(void)
{
    dtx_route_t *r = dtx_route_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    static uint32_t keys[S_KEYS], count[S_KEYS];
    static int conn[S_KEYS];
    /* Keys of few distinct low bits, so that many share a home slot. */
    for (int i = 0; i < S_KEYS; i++) {
        keys[i] = (uint32_t)i << 12 | (uint32_t)(i % 7);
        count[i] = 0;
    }
    srand(7);
    int wrong = 0;
    for (int step = 0; step < 200000; step++) {
        int i = rand() % S_KEYS;
        if (count[i] && rand() % 2) {
            dtx_route_release(r, keys[i]);
            count[i]--;
        } else {
            if (!count[i])
                conn[i] = rand() % 3;
            wrong += dtx_route_hold(r, keys[i], conn[i]) != 0;
            count[i]++;
        }
        if (step % 20000 == 0 || step == 199999) {
            uint32_t held = 0;
            for (int k = 0; k < S_KEYS; k++) {
                held += count[k] > 0;
                wrong += dtx_route_count(r, keys[k]) != count[k];
                wrong += dtx_route_conn(r, keys[k]) != (count[k] ? conn[k] : -1);
            }
            wrong += dtx_route_keys(r) != held;
        }
    }
    CU_ASSERT_EQUAL(wrong, 0);
    for (int k = 0; k < S_KEYS; k++)
        while (count[k]--)
            dtx_route_release(r, keys[k]);
    CU_ASSERT_EQUAL(dtx_route_keys(r), 0);
    dtx_route_destroy(&r);
}

static void test_a_parked_key_stays_until_its_connection_is_back(void)
{
    dtx_route_t *r = dtx_route_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    /* Two writes of key 5 in flight on connection 1, which breaks: one is
     * parked, the other (say, in its pending batch) fails and is let go. */
    CU_ASSERT_EQUAL(dtx_route_hold(r, 5, 1), 0);
    CU_ASSERT_EQUAL(dtx_route_hold(r, 5, 1), 0);
    CU_ASSERT_EQUAL(dtx_route_hold(r, 6, 1), 0);
    dtx_route_park(r, 5, 1);
    dtx_route_release(r, 5);
    dtx_route_release(r, 6);
    CU_ASSERT_EQUAL(dtx_route_conn(r, 5), 1); /* still bound to connection 1 */
    CU_ASSERT_EQUAL(dtx_route_conn(r, 6), -1);
    dtx_route_unpark(r, 0); /* another connection back: nothing */
    CU_ASSERT_EQUAL(dtx_route_conn(r, 5), 1);
    dtx_route_unpark(r, 1);
    CU_ASSERT_EQUAL(dtx_route_conn(r, 5), -1);
    CU_ASSERT_EQUAL(dtx_route_keys(r), 0);
    dtx_route_unpark(r, 7); /* never parked on: nothing */
    dtx_route_park(r, 9, 3); /* parked on a connection beyond the first ones */
    CU_ASSERT_EQUAL(dtx_route_count(r, 9), 0); /* park keeps a hold, takes none */
    dtx_route_destroy(&r);
}

UNIT_SUITE(log_route)
{
    CU_pSuite s = CU_add_suite("log_route", NULL, NULL);
    CU_add_test(s, "a key stays on its connection while held",
                test_a_key_stays_on_its_connection_while_held);
    CU_add_test(s, "holds survive growth and removals", test_holds_survive_growth_and_removals);
    CU_add_test(s, "a parked key stays until its connection is back",
                test_a_parked_key_stays_until_its_connection_is_back);
}
