/*
 * Which front-end engine a gateway suite runs on (main.c runs some suites
 * again as NAME@mhd, gw_util.c passes --engine): this suite, run as
 * gateway_engine and gateway_engine@mhd, fails when a suite would run on
 * another engine than the one its name says.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "gw_util.h"
#include "integ.h"

/* The default engine (native), or "mhd" as gateway_engine@mhd. */
static void test_gateway_runs_on_the_engine_the_suite_names(void)
{
    gw_proc_t up, gw;
    h_log_remove("gw-engine");
    CU_ASSERT_FATAL(gw_upstream_start(&up, "engine", NULL) == 0);
    CU_ASSERT_FATAL(gw_gateway_start(&gw, "gw-engine",
        "{\"pools\":[{\"name\":\"p\",\"targets\":[\"http://127.0.0.1:%d\"]}],"
        "\"routes\":[{\"name\":\"all\",\"match\":{\"prefix\":\"/\"},\"pool\":\"p\"}]}",
        up.port) == 0);
    const char *want = getenv("DTX_TEST_GW_ENGINE");
    char needle[64];
    snprintf(needle, sizeof needle, "engine=%s", want && *want ? want : "native");
    CU_ASSERT(h_wait_log("gw-engine", needle, 5000) == 0);
    /* The send ring: on by default on the native engine; off as NAME@noring
     * (DTX_TEST_GW_SEND_RING) and on mhd. */
    const char *ring = getenv("DTX_TEST_GW_SEND_RING");
    int on = !(want && *want && strcmp(want, "native") != 0) && !(ring && strcmp(ring, "off") == 0);
    CU_ASSERT(h_wait_log("gw-engine", on ? "send_ring=on" : "send_ring=off", 5000) == 0);
    gw_resp_t r;
    CU_ASSERT(gw_http(&r, "GET", gw_at(&gw, "/e"), NULL, NULL) == 0 && r.status == 200);
    gw_resp_free(&r);
    CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 5000), 0);
    h_stop(up.pid, SIGTERM, 5000);
}

/* io_uring unavailable (forced with DTX_GW_URING_FAIL, as a kernel
 * without it or a seccomp profile would be): one log line, and the
 * answers are written with writev. */
static void test_gateway_without_io_uring_says_so_and_serves(void)
{
    gw_proc_t up, gw;
    h_log_remove("gw-noring");
    CU_ASSERT_FATAL(gw_upstream_start(&up, "engine", NULL) == 0);
    setenv("DTX_GW_URING_FAIL", "1", 1);
    const char *native[] = { "--engine", "native", "--send-ring", "on", "--workers", "2", NULL };
    int rc = gw_gateway_start_args(&gw, "gw-noring", native,
        "{\"pools\":[{\"name\":\"p\",\"targets\":[\"http://127.0.0.1:%d\"]}],"
        "\"routes\":[{\"name\":\"all\",\"match\":{\"prefix\":\"/\"},\"pool\":\"p\"}]}",
        up.port);
    unsetenv("DTX_GW_URING_FAIL");
    CU_ASSERT_FATAL(rc == 0);
    CU_ASSERT(h_wait_log("gw-noring", "send ring unavailable", 5000) == 0);
    CU_ASSERT(h_wait_log("gw-noring", "send_ring=off", 5000) == 0);
    CU_ASSERT_EQUAL(h_log_count("gw-noring", "send ring unavailable"), 1);
    for (int i = 0; i < 4; i++) {
        gw_resp_t r;
        CU_ASSERT(gw_http(&r, "GET", gw_at(&gw, "/e"), NULL, NULL) == 0 && r.status == 200);
        gw_resp_free(&r);
    }
    CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 5000), 0);
    h_stop(up.pid, SIGTERM, 5000);
}

INTEG_SUITE(gateway_engine)
{
    CU_pSuite s = CU_add_suite("gateway_engine", NULL, NULL);
    CU_add_test(s, "gateway runs on the engine the suite names",
                test_gateway_runs_on_the_engine_the_suite_names);
    CU_add_test(s, "gateway without io_uring says so and serves",
                test_gateway_without_io_uring_says_so_and_serves);
}
