/*
 * Gateway integration suite gateway_core: the event-driven core with real
 * gw-upstream processes, a real dtx-gateway and real HTTP clients —
 * requests a rule holds do not stall the others on the same worker, and
 * SIGTERM lets requests in flight finish, or cuts those still waiting
 * after the grace period. Assertions are on counts, statuses and states,
 * never on latencies. The rest of the gateway's suite is test_gateway.c.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "gw_util.h"
#include "integ.h"

typedef struct {
    const gw_proc_t *gw;
    const char      *path;
    long             status;
    int64_t          ms;     /* how long the answer took */
} s_call_t;

static void *s_caller(void *arg)
{
    s_call_t *c = arg;
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", c->gw->port, c->path);
    int64_t t0 = h_now_ms();
    gw_resp_t r;
    gw_http(&r, "GET", url, NULL, NULL);
    c->status = r.status;
    c->ms = h_now_ms() - t0;
    gw_resp_free(&r);
    return NULL;
}

/* With one worker, requests held by a delaying rule (they wait on the
 * offload pool) must not hold up the worker's other requests. */
static void test_delayed_requests_do_not_stall_the_others(void)
{
    gw_proc_t up, gw;
    CU_ASSERT_FATAL(gw_upstream_start(&up, "d", NULL) == 0);
    setenv("DTX_GW_WORKERS", "1", 1);
    int rc = gw_gateway_start(&gw, "gw-delay",
        "{\"pools\":[{\"name\":\"p\",\"targets\":[\"http://127.0.0.1:%d\"]}],"
        "\"rules\":[{\"name\":\"spaced\",\"type\":\"rate_limit\",\"algorithm\":\"queue\","
        "\"rate\":4,\"max_wait_ms\":3000,\"key\":\"global\"}],"
        "\"routes\":[{\"name\":\"slow\",\"match\":{\"prefix\":\"/slow\"},\"pool\":\"p\","
        "\"rules\":[\"spaced\"]},"
        "{\"name\":\"fast\",\"match\":{\"prefix\":\"/fast\"},\"pool\":\"p\"}]}", up.port);
    unsetenv("DTX_GW_WORKERS");
    CU_ASSERT_FATAL(rc == 0);
    /* Four requests spaced 250 ms apart: the last waits about 750 ms. */
    s_call_t slow[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        slow[i] = (s_call_t){ &gw, "/slow", 0, 0 };
        pthread_create(&th[i], NULL, s_caller, &slow[i]);
    }
    h_sleep_ms(100);
    s_call_t fast = { &gw, "/fast", 0, 0 };
    s_caller(&fast);
    CU_ASSERT_EQUAL(fast.status, 200);
    CU_ASSERT(fast.ms < 300);
    int64_t longest = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CU_ASSERT_EQUAL(slow[i].status, 200);
        if (slow[i].ms > longest)
            longest = slow[i].ms;
    }
    CU_ASSERT(longest >= 500);  /* the rule did delay */
    CU_ASSERT_EQUAL(gw_metric(&gw, "dtx_gw_rule_total{rule=\"spaced\",verdict=\"delayed\"}"), 3);
    CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 10000), 0);
    CU_ASSERT_EQUAL(h_stop(up.pid, SIGTERM, 5000), 0);
}

/* SIGTERM: no new connections, the request in flight (its worker waiting
 * on a slow upstream) still gets its answer, then exit 0. */
static void test_stop_lets_the_request_in_flight_finish(void)
{
    gw_proc_t up, gw;
    const char *slow[] = { "--delay-ms", "400", NULL };
    CU_ASSERT_FATAL(gw_upstream_start(&up, "slow", slow) == 0);
    CU_ASSERT_FATAL(gw_gateway_start(&gw, "gw-stop",
        "{\"pools\":[{\"name\":\"p\",\"targets\":[\"http://127.0.0.1:%d\"]}],"
        "\"routes\":[{\"name\":\"all\",\"match\":{\"prefix\":\"/\"},\"pool\":\"p\"}]}",
        up.port) == 0);
    s_call_t call = { &gw, "/x", 0, 0 };
    pthread_t th;
    pthread_create(&th, NULL, s_caller, &call);
    h_sleep_ms(150);
    CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 10000), 0);
    pthread_join(th, NULL);
    CU_ASSERT_EQUAL(call.status, 200);
    CU_ASSERT(call.ms >= 300);
    CU_ASSERT_EQUAL(h_stop(up.pid, SIGTERM, 5000), 0);
}

/* SIGTERM past the grace period with connections suspended (waiting on
 * the upstream, and on the offload pool for a delaying rule): they are
 * cut, and the gateway still exits 0 (libmicrohttpd aborts if a daemon
 * stops with a connection suspended). */
static void test_stop_after_grace_cuts_waiting_requests_and_exits_0(void)
{
    gw_proc_t up, gw;
    const char *slow[] = { "--delay-ms", "3000", NULL };
    CU_ASSERT_FATAL(gw_upstream_start(&up, "slow", slow) == 0);
    CU_ASSERT_FATAL(gw_gateway_start(&gw, "gw-cut",
        "{\"pools\":[{\"name\":\"p\",\"targets\":[\"http://127.0.0.1:%d\"],"
        "\"timeout_ms\":20000}],"
        "\"rules\":[{\"name\":\"spaced\",\"type\":\"rate_limit\",\"algorithm\":\"queue\","
        "\"rate\":1,\"max_wait_ms\":5000,\"key\":\"global\"}],"
        "\"routes\":[{\"name\":\"d\",\"match\":{\"prefix\":\"/d\"},\"pool\":\"p\","
        "\"rules\":[\"spaced\"]},"
        "{\"name\":\"all\",\"match\":{\"prefix\":\"/\"},\"pool\":\"p\"}]}", up.port) == 0);
    const char *paths[] = { "/x", "/y", "/d1", "/d2", "/d3" };
    s_call_t calls[5];
    pthread_t th[5];
    for (int i = 0; i < 5; i++) {
        calls[i] = (s_call_t){ &gw, paths[i], 0, 0 };
        pthread_create(&th[i], NULL, s_caller, &calls[i]);
    }
    h_sleep_ms(300);
    CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 15000), 0);
    for (int i = 0; i < 5; i++) {
        pthread_join(th[i], NULL);
        CU_ASSERT(calls[i].status == 0 || calls[i].status >= 500);  /* cut, not served */
    }
    h_stop(up.pid, SIGTERM, 10000);  /* still sleeping on the cut requests */
}

static int s_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return h_init() == 0 ? 0 : -1;
}

INTEG_SUITE(gateway_core)
{
    CU_pSuite s = CU_add_suite("gateway_core", s_init, NULL);
    CU_add_test(s, "delayed requests do not stall the others",
                test_delayed_requests_do_not_stall_the_others);
    CU_add_test(s, "stop lets the request in flight finish",
                test_stop_lets_the_request_in_flight_finish);
    CU_add_test(s, "stop after grace cuts waiting requests and exits 0",
                test_stop_after_grace_cuts_waiting_requests_and_exits_0);
}
