/* Concurrency limit and the adaptive gradient limit of the gateway
 * (gw_concurrency.h, gw_adaptive.h), without sockets. */
#include <pthread.h>
#include <time.h>

#include <CUnit/CUnit.h>

#include "limits/gw_adaptive.h"
#include "limits/gw_concurrency.h"
#include "unit.h"

static void test_conc_decide_table(void)
{
    CU_ASSERT_EQUAL(dtx_gw_conc_decide(2, 0, 0, 0), DTX_GW_CONC_PASS);
    CU_ASSERT_EQUAL(dtx_gw_conc_decide(2, 0, 1, 0), DTX_GW_CONC_PASS);
    CU_ASSERT_EQUAL(dtx_gw_conc_decide(2, 0, 2, 0), DTX_GW_CONC_REJECT);
    CU_ASSERT_EQUAL(dtx_gw_conc_decide(2, 1, 2, 0), DTX_GW_CONC_QUEUE);
    CU_ASSERT_EQUAL(dtx_gw_conc_decide(2, 1, 2, 1), DTX_GW_CONC_REJECT);
    /* A free slot does not let a newcomer jump waiters. */
    CU_ASSERT_EQUAL(dtx_gw_conc_decide(2, 3, 1, 1), DTX_GW_CONC_QUEUE);
}

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t s_cond;
static dtx_gw_conc_slot_t s_slot;
static int s_waiter_got = -1;

static void *s_waiter(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&s_lock);
    s_waiter_got = dtx_gw_conc_acquire(&s_slot, 1, 1, 10000, &s_lock, &s_cond);
    pthread_mutex_unlock(&s_lock);
    return NULL;
}

static void test_conc_queued_request_gets_the_released_slot(void)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&s_cond, &a);
    pthread_condattr_destroy(&a);
    pthread_mutex_lock(&s_lock);
    CU_ASSERT_EQUAL(dtx_gw_conc_acquire(&s_slot, 1, 1, 0, &s_lock, &s_cond), 1);
    pthread_mutex_unlock(&s_lock);
    pthread_t t;
    pthread_create(&t, NULL, s_waiter, NULL);
    /* Wait until the waiter is queued (a count, not a time). */
    for (;;) {
        pthread_mutex_lock(&s_lock);
        int w = s_slot.waiting;
        pthread_mutex_unlock(&s_lock);
        if (w == 1)
            break;
        struct timespec ts = { 0, 1000000 };
        nanosleep(&ts, NULL);
    }
    pthread_mutex_lock(&s_lock);
    /* Queue full: a third is refused at once. */
    CU_ASSERT_EQUAL(dtx_gw_conc_acquire(&s_slot, 1, 1, 10000, &s_lock, &s_cond), 0);
    dtx_gw_conc_release(&s_slot, &s_cond);
    pthread_mutex_unlock(&s_lock);
    pthread_join(t, NULL);
    CU_ASSERT_EQUAL(s_waiter_got, 1);
    CU_ASSERT_EQUAL(s_slot.in_flight, 1);
    CU_ASSERT_EQUAL(s_slot.waiting, 0);
    pthread_cond_destroy(&s_cond);
}

static dtx_gw_gradient_params_t s_gp(void)
{
    dtx_gw_gradient_params_t p = { 20, 4, 200, 1.5, 0.5, 4, 10, 1000000, 10 };
    return p;
}

/* Feeds n windows of samples at rtt with in_flight calls out. */
static void s_feed(dtx_gw_gradient_t *g, const dtx_gw_gradient_params_t *p, int64_t *t,
                   int windows, int64_t rtt, int in_flight)
{
    for (int w = 0; w < windows; w++)
        for (int i = 0; i < p->window_samples; i++) {
            *t += 1000;
            dtx_gw_gradient_sample(g, p, *t, rtt, in_flight);
        }
}

static void test_gradient_grows_while_latency_is_steady(void)
{
    dtx_gw_gradient_params_t p = s_gp();
    dtx_gw_gradient_t g;
    dtx_gw_gradient_init(&g, &p);
    int64_t t = 0;
    s_feed(&g, &p, &t, 1, 1000, 20);
    double before = g.limit;
    s_feed(&g, &p, &t, 20, 1000, (int)g.limit);
    CU_ASSERT(g.limit > before);
    s_feed(&g, &p, &t, 500, 1000, 200);
    CU_ASSERT_DOUBLE_EQUAL(g.limit, 200, 0.001);  /* capped at max_limit */
}

static void test_gradient_shrinks_when_latency_rises(void)
{
    dtx_gw_gradient_params_t p = s_gp();
    dtx_gw_gradient_t g;
    dtx_gw_gradient_init(&g, &p);
    int64_t t = 0;
    s_feed(&g, &p, &t, 30, 1000, 20);
    double steady = g.limit;
    s_feed(&g, &p, &t, 5, 10000, (int)steady);  /* 10x slower */
    CU_ASSERT(g.limit < steady);
    CU_ASSERT(g.limit < steady * 0.75);
    /* Latency that keeps climbing drives it down to min_limit, not below. */
    int64_t rtt = 10000;
    for (int i = 0; i < 40; i++) {
        rtt *= 2;
        s_feed(&g, &p, &t, 1, rtt, (int)g.limit + 1);
        CU_ASSERT(g.limit >= p.min_limit);
    }
    CU_ASSERT(g.limit <= p.min_limit + p.queue_size + 1);  /* fixed point of the 0.5 floor */
    CU_ASSERT(!dtx_gw_gradient_admit(&g, (int)g.limit + 1));
    CU_ASSERT(dtx_gw_gradient_admit(&g, 0));
}

static void test_gradient_keeps_the_limit_when_app_limited(void)
{
    dtx_gw_gradient_params_t p = s_gp();
    dtx_gw_gradient_t g;
    dtx_gw_gradient_init(&g, &p);
    int64_t t = 0;
    s_feed(&g, &p, &t, 1, 1000, 2);
    s_feed(&g, &p, &t, 5, 50000, 2);  /* slow, but only 2 of 20 in use */
    CU_ASSERT_DOUBLE_EQUAL(g.limit, 20, 0.001);
}

static void test_gradient_window_closes_on_time_too(void)
{
    dtx_gw_gradient_params_t p = s_gp();
    dtx_gw_gradient_t g;
    dtx_gw_gradient_init(&g, &p);
    CU_ASSERT_EQUAL(dtx_gw_gradient_sample(&g, &p, 0, 1000, 20), 0);
    CU_ASSERT_EQUAL(dtx_gw_gradient_sample(&g, &p, 500000, 1000, 20), 0);
    CU_ASSERT_EQUAL(dtx_gw_gradient_sample(&g, &p, 1000000, 1000, 20), 1);
}

UNIT_SUITE(gw_flow)
{
    CU_pSuite s = CU_add_suite("gw_flow", NULL, NULL);
    CU_add_test(s, "concurrency decide table", test_conc_decide_table);
    CU_add_test(s, "queued request gets the released slot",
                test_conc_queued_request_gets_the_released_slot);
    CU_add_test(s, "gradient grows while latency is steady",
                test_gradient_grows_while_latency_is_steady);
    CU_add_test(s, "gradient shrinks when latency rises",
                test_gradient_shrinks_when_latency_rises);
    CU_add_test(s, "gradient keeps the limit when app limited",
                test_gradient_keeps_the_limit_when_app_limited);
    CU_add_test(s, "gradient window closes on time too", test_gradient_window_closes_on_time_too);
}
