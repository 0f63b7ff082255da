/* The gateway's periodic thread (gateway-filter/src/core/gw_periodic.h):
 * rounds repeat after the wait each one asks for, and a stop ends a long
 * sleep at once, an idle round sleeps until a kick. Real threads and the real clock; the waits are short. */
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include <CUnit/CUnit.h>

#include "core/gw_periodic.h"
#include "unit.h"

typedef struct {
    atomic_int rounds;
    int64_t    wait_us;   /* what each round asks for */
} s_counter_t;

static int64_t s_count(void *arg)
{
    s_counter_t *c = arg;
    atomic_fetch_add(&c->rounds, 1);
    return c->wait_us;
}

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits up to 5 s for c to reach n rounds; returns the rounds seen. */
static int s_wait_rounds(s_counter_t *c, int n)
{
    int64_t until = s_now_ms() + 5000;
    while (atomic_load(&c->rounds) < n && s_now_ms() < until) {
        struct timespec ms = { 0, 1000000L };
        nanosleep(&ms, NULL);
    }
    return atomic_load(&c->rounds);
}

static void test_periodic_runs_rounds_after_the_wait_they_ask(void)
{
    s_counter_t c = { 0, 2000 };   /* 2 ms */
    dtx_gw_periodic_t *p = dtx_gw_periodic_start(s_count, &c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT(s_wait_rounds(&c, 5) >= 5);
    dtx_gw_periodic_stop(&p);
    CU_ASSERT_PTR_NULL(p);
    int after = atomic_load(&c.rounds);
    struct timespec ms = { 0, 20000000L };
    nanosleep(&ms, NULL);
    CU_ASSERT_EQUAL(atomic_load(&c.rounds), after);   /* no round after stop */
}

static void test_periodic_stop_ends_a_long_sleep_at_once(void)
{
    s_counter_t c = { 0, 60 * 1000000LL };   /* a minute */
    dtx_gw_periodic_t *p = dtx_gw_periodic_start(s_count, &c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(s_wait_rounds(&c, 1), 1);   /* the first round runs at once */
    int64_t t0 = s_now_ms();
    dtx_gw_periodic_stop(&p);
    CU_ASSERT(s_now_ms() - t0 < 1000);
    CU_ASSERT_EQUAL(atomic_load(&c.rounds), 1);
    dtx_gw_periodic_stop(&p);   /* idempotent */
    dtx_gw_periodic_stop(NULL);
}

static void test_periodic_idle_round_sleeps_until_kicked(void)
{
    s_counter_t c = { 0, DTX_GW_PERIODIC_IDLE };
    dtx_gw_periodic_t *p = dtx_gw_periodic_start(s_count, &c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(s_wait_rounds(&c, 1), 1);
    struct timespec ms = { 0, 50000000L };
    nanosleep(&ms, NULL);
    CU_ASSERT_EQUAL(atomic_load(&c.rounds), 1);   /* no timer */
    dtx_gw_periodic_kick(p);
    CU_ASSERT_EQUAL(s_wait_rounds(&c, 2), 2);
    int64_t t0 = s_now_ms();
    dtx_gw_periodic_stop(&p);                      /* ends an idle sleep too */
    CU_ASSERT(s_now_ms() - t0 < 1000);
}

static void test_periodic_never_run_is_stopped_without_a_round(void)
{
    s_counter_t c = { 0, 1000 };
    dtx_gw_periodic_t *p = dtx_gw_periodic_new(s_count, &c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    dtx_gw_periodic_kick(p);
    dtx_gw_periodic_stop(&p);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_EQUAL(atomic_load(&c.rounds), 0);
}

UNIT_SUITE(gw_periodic)
{
    CU_pSuite s = CU_add_suite("gw_periodic", NULL, NULL);
    CU_add_test(s, "runs rounds after the wait they ask",
                test_periodic_runs_rounds_after_the_wait_they_ask);
    CU_add_test(s, "stop ends a long sleep at once", test_periodic_stop_ends_a_long_sleep_at_once);
    CU_add_test(s, "idle round sleeps until kicked", test_periodic_idle_round_sleeps_until_kicked);
    CU_add_test(s, "never run is stopped without a round",
                test_periodic_never_run_is_stopped_without_a_round);
}
