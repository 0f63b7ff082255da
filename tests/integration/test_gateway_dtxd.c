/*
 * The adaptive rule's dtxd_inflight signal against a real dtxd and a real
 * gateway: transactions held open at dtxd make the guarded route shed,
 * ending them lets requests in again; a poll dtxd refuses fails open; a
 * configuration swap starts and stops the watch; a rule without dtxd.admin
 * is refused at load; the gateway stops at once while a poll hangs.
 *
 * dtxd runs with --http-read-token-required, so /metrics needs the token
 * the gateway gets from --dtxd-token-file.
 */
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gw_util.h"
#include "integ.h"
#include "test_admin_util.h"

#define S_MAX_INFLIGHT 5
#define S_HELD         S_MAX_INFLIGHT  /* >= the threshold: shed */
#define S_WAIT_MS      20000

static ta_world_t s_w;
static gw_proc_t s_up;
static char s_tokfile[1024];

static int s_init(void)
{
    static const char *const dtxd_extra[] = { "--http-read-token-required", NULL };
    static const char *const no_part[] = { "none", NULL };
    if (h_init() < 0 || ta_up(&s_w, "gwdtxd", dtxd_extra, no_part) < 0 ||
        gw_upstream_start(&s_up, "dtxd-svc", NULL) < 0 ||
        h_scratch_path("gwdtxd-gateway.token", s_tokfile, sizeof s_tokfile) < 0)
        return -1;
    FILE *f = fopen(s_tokfile, "w");
    if (!f)
        return -1;
    fprintf(f, "# the gateway's token for dtxd\n%s:%s\n", TA_TOKEN_NAME, TA_TOKEN);
    return fclose(f) == 0 ? 0 : -1;
}

static int s_cleanup(void)
{
    int rc = h_dtxd_stop(&s_w.d) == 0 ? 0 : -1;
    if (s_w.log)
        PQfinish(s_w.log);
    s_w.log = NULL;
    return rc;
}

/* A gateway whose route /guarded carries a dtxd_inflight rule and /free
 * none. dtxd_section is the inside of the "dtxd" object. */
static int s_gateway(gw_proc_t *gw, const char *logname, const char *const *extra,
                     const char *dtxd_section)
{
    return gw_gateway_start_args(gw, logname, extra,
        "{\"admin\":{\"token\":\"gw-admin-token-8d2f61b4\"},\"dtxd\":{%s},"
        "\"pools\":[{\"name\":\"svc\",\"targets\":[\"http://127.0.0.1:%d\"]}],"
        "\"rules\":[{\"name\":\"coord\",\"type\":\"adaptive\",\"signal\":\"dtxd_inflight\","
        "\"dtxd_max_inflight\":%d}],"
        "\"routes\":[{\"name\":\"guarded\",\"match\":{\"prefix\":\"/guarded\"},\"pool\":\"svc\","
        "\"rules\":[\"coord\"]},"
        "{\"name\":\"free\",\"match\":{\"prefix\":\"/free\"},\"pool\":\"svc\"}]}",
        dtxd_section, s_up.port, S_MAX_INFLIGHT);
}

static long s_get(const gw_proc_t *gw, const char *path, char *retry_after, size_t cap)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", gw->port, path);
    gw_resp_t r;
    gw_http(&r, "GET", url, NULL, NULL);
    if (retry_after && !gw_resp_header(&r, "Retry-After", retry_after, cap))
        retry_after[0] = '\0';
    long status = r.status;
    gw_resp_free(&r);
    return status;
}

typedef struct {
    const gw_proc_t *gw;
    long             want;
} s_status_wait_t;

static int s_status_is(void *arg)
{
    s_status_wait_t *w = arg;
    return s_get(w->gw, "/guarded", NULL, 0) == w->want;
}

typedef struct {
    const gw_proc_t *gw;
    const char      *metric;
    double           at_least;  /* < 0: wait until the metric is absent */
} s_metric_wait_t;

static int s_metric_is(void *arg)
{
    s_metric_wait_t *w = arg;
    double v = gw_metric(w->gw, w->metric);
    return w->at_least < 0 ? v < 0 : v >= w->at_least;
}

static int s_wait_metric(const gw_proc_t *gw, const char *metric, double at_least)
{
    s_metric_wait_t w = { gw, metric, at_least };
    return h_wait_until(s_metric_is, &w, S_WAIT_MS);
}

/* Begins n transactions at dtxd and leaves them open. */
static int s_hold(char gids[][64], int n)
{
    for (int i = 0; i < n; i++) {
        json_object *o = NULL;
        long st = ta_req(&s_w, "POST", "/api/v1/tx", "{\"timeout_ms\":600000}", TA_TOKEN, &o);
        snprintf(gids[i], 64, "%s", ta_str(o, "gid"));
        json_object_put(o);
        if (st != 201 || !gids[i][0])
            return -1;
    }
    return 0;
}

static int s_release(char gids[][64], int n)
{
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char path[160];
        snprintf(path, sizeof path, "/api/v1/tx/%s/rollback", gids[i]);
        if (ta_req(&s_w, "POST", path, NULL, TA_TOKEN, NULL) != 200)
            rc = -1;
    }
    return rc;
}

static void test_route_sheds_while_dtxd_holds_too_many_and_admits_after(void)
{
    const char *const extra[] = { "--dtxd-token-file", s_tokfile, NULL };
    char dtxd[512], retry[16], gids[S_HELD][64];
    snprintf(dtxd, sizeof dtxd, "\"admin\":\"%s\",\"poll_ms\":100,\"stale_ms\":5000", s_w.url);
    gw_proc_t gw;
    CU_ASSERT_FATAL(s_gateway(&gw, "gw-dtxd-shed", extra, dtxd) == 0);
    /* A first reading arrives (nothing in flight yet): admitted. */
    CU_ASSERT_FATAL(s_wait_metric(&gw, "dtx_gw_dtxd_inflight", 0) == 0);
    CU_ASSERT_EQUAL(gw_metric(&gw, "dtx_gw_dtxd_inflight"), 0);
    CU_ASSERT_EQUAL(s_get(&gw, "/guarded", NULL, 0), 200);

    CU_ASSERT_FATAL(s_hold(gids, S_HELD) == 0);
    s_status_wait_t shed = { &gw, 503 };
    CU_ASSERT_EQUAL(h_wait_until(s_status_is, &shed, S_WAIT_MS), 0);
    CU_ASSERT_EQUAL(s_get(&gw, "/guarded", retry, sizeof retry), 503);
    CU_ASSERT(atoi(retry) >= 1);
    CU_ASSERT_EQUAL(s_get(&gw, "/free", NULL, 0), 200);  /* other routes are untouched */
    CU_ASSERT(gw_metric(&gw, "dtx_gw_dtxd_inflight") >= S_HELD);
    CU_ASSERT(gw_metric(&gw, "dtx_gw_rule_total{rule=\"coord\",verdict=\"rejected\"}") >= 2);
    CU_ASSERT_EQUAL(gw_metric(&gw, "dtx_gw_dtxd_fail_open_total"), 0);

    CU_ASSERT_EQUAL(s_release(gids, S_HELD), 0);
    s_status_wait_t admitted = { &gw, 200 };
    CU_ASSERT_EQUAL(h_wait_until(s_status_is, &admitted, S_WAIT_MS), 0);
    CU_ASSERT(gw_metric(&gw, "dtx_gw_dtxd_inflight") < S_MAX_INFLIGHT);
    CU_ASSERT_EQUAL(gw_metric(&gw, "dtx_gw_dtxd_poll_errors_total"), 0);
    CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 10000), 0);
}

static void test_poll_refused_without_token_fails_open(void)
{
    char dtxd[512], gids[S_HELD][64];
    snprintf(dtxd, sizeof dtxd, "\"admin\":\"%s\",\"poll_ms\":50,\"stale_ms\":300", s_w.url);
    CU_ASSERT_FATAL(s_hold(gids, S_HELD) == 0);  /* dtxd is over the threshold */
    gw_proc_t gw;
    CU_ASSERT_FATAL(s_gateway(&gw, "gw-dtxd-open", NULL, dtxd) == 0);
    CU_ASSERT_EQUAL(s_wait_metric(&gw, "dtx_gw_dtxd_poll_errors_total", 2), 0);
    CU_ASSERT_EQUAL(h_wait_log("gw-dtxd-open", "HTTP 401", S_WAIT_MS), 0);
    CU_ASSERT_EQUAL(h_wait_log("gw-dtxd-open", "fail open", S_WAIT_MS), 0);
    /* No reading ever came: the guarded route admits, and says so. */
    CU_ASSERT_EQUAL(gw_metric(&gw, "dtx_gw_dtxd_inflight"), -1);
    CU_ASSERT_EQUAL(s_get(&gw, "/guarded", NULL, 0), 200);
    CU_ASSERT_EQUAL(s_get(&gw, "/guarded", NULL, 0), 200);
    CU_ASSERT(gw_metric(&gw, "dtx_gw_dtxd_fail_open_total") >= 2);
    CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 10000), 0);
    CU_ASSERT_EQUAL(s_release(gids, S_HELD), 0);
}

static void test_swap_starts_and_stops_the_watch(void)
{
    const char *const extra[] = { "--dtxd-token-file", s_tokfile, NULL };
    char doc[2048];
    gw_proc_t gw;
    gw_resp_t r;
    /* Start with the route but no rule using the signal. */
    CU_ASSERT_FATAL(gw_gateway_start_args(&gw, "gw-dtxd-swap", extra,
        "{\"admin\":{\"token\":\"gw-admin-token-8d2f61b4\"},\"dtxd\":{\"admin\":\"%s\",\"poll_ms\":50},"
        "\"pools\":[{\"name\":\"svc\",\"targets\":[\"http://127.0.0.1:%d\"]}],"
        "\"routes\":[{\"name\":\"guarded\",\"match\":{\"prefix\":\"/guarded\"},\"pool\":\"svc\"}]}",
        s_w.url, s_up.port) == 0);
    CU_ASSERT_EQUAL(s_get(&gw, "/guarded", NULL, 0), 200);
    CU_ASSERT_EQUAL(gw_metric(&gw, "dtx_gw_dtxd_inflight"), -1);
    CU_ASSERT_EQUAL(gw_metric(&gw, "dtx_gw_dtxd_poll_errors_total"), 0);

    const char *with_rule =
        "{\"admin\":{\"token\":\"gw-admin-token-8d2f61b4\"},\"dtxd\":{\"admin\":\"%s\",\"poll_ms\":50},"
        "\"pools\":[{\"name\":\"svc\",\"targets\":[\"http://127.0.0.1:%d\"]}],"
        "\"rules\":[{\"name\":\"coord\",\"type\":\"adaptive\",\"signal\":\"dtxd_inflight\","
        "\"dtxd_max_inflight\":1}],"
        "\"routes\":[{\"name\":\"guarded\",\"match\":{\"prefix\":\"/guarded\"},\"pool\":\"svc\","
        "\"rules\":[\"coord\"]}]}";
    snprintf(doc, sizeof doc, with_rule, s_w.url, s_up.port);
    CU_ASSERT_EQUAL(gw_admin_put(&gw, "gw-admin-token-8d2f61b4", doc, 0, &r), 200);
    gw_resp_free(&r);
    CU_ASSERT_EQUAL(h_wait_log("gw-dtxd-swap", "dtxd watch started", S_WAIT_MS), 0);
    CU_ASSERT_EQUAL(s_wait_metric(&gw, "dtx_gw_dtxd_inflight", 0), 0);

    /* The rule goes: the watch idles and the reading is cleared. */
    snprintf(doc, sizeof doc,
             "{\"admin\":{\"token\":\"gw-admin-token-8d2f61b4\"},\"dtxd\":{\"admin\":\"%s\"},"
             "\"pools\":[{\"name\":\"svc\",\"targets\":[\"http://127.0.0.1:%d\"]}],"
             "\"routes\":[{\"name\":\"guarded\",\"match\":{\"prefix\":\"/guarded\"},"
             "\"pool\":\"svc\"}]}", s_w.url, s_up.port);
    CU_ASSERT_EQUAL(gw_admin_put(&gw, "gw-admin-token-8d2f61b4", doc, 0, &r), 200);
    gw_resp_free(&r);
    CU_ASSERT_EQUAL(h_wait_log("gw-dtxd-swap", "dtxd watch idle", S_WAIT_MS), 0);
    CU_ASSERT_EQUAL(s_wait_metric(&gw, "dtx_gw_dtxd_inflight", -1), 0);
    CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 10000), 0);
}

static void test_signal_without_dtxd_admin_is_refused_at_load(void)
{
    static const char *doc =
        "{\"dtxd\":{\"endpoint\":\"tcp://127.0.0.1:1\"},"
        "\"pools\":[{\"name\":\"svc\",\"targets\":[\"http://127.0.0.1:1\"]}],"
        "\"rules\":[{\"name\":\"coord\",\"type\":\"adaptive\",\"signal\":\"dtxd_inflight\","
        "\"dtxd_max_inflight\":5}],"
        "\"routes\":[{\"name\":\"r\",\"match\":{\"prefix\":\"/\"},\"pool\":\"svc\","
        "\"rules\":[\"coord\"]}]}";
    char path[1024], bin[1024];
    CU_ASSERT_FATAL(h_scratch_path("gw-dtxd-bad.json", path, sizeof path) == 0);
    CU_ASSERT_FATAL(h_bin_path("dtx-gateway", bin, sizeof bin) == 0);
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs(doc, f);
    fclose(f);
    char *argv[] = { bin, "--config", path, "--listen", "127.0.0.1:0", "--admin-listen",
                     "127.0.0.1:0", NULL };
    CU_ASSERT_EQUAL(h_run("gw-dtxd-bad", argv, 10000), 2);
    CU_ASSERT(h_log_has("gw-dtxd-bad", "rules[0].signal: \"dtxd_inflight\" needs dtxd.admin"));
    /* The admin API refuses the same document with the same words. */
    gw_proc_t gw;
    char dtxd[512];
    snprintf(dtxd, sizeof dtxd, "\"admin\":\"%s\"", s_w.url);
    CU_ASSERT_FATAL(s_gateway(&gw, "gw-dtxd-validate", NULL, dtxd) == 0);
    gw_resp_t r;
    CU_ASSERT_EQUAL(gw_admin_put(&gw, "gw-admin-token-8d2f61b4", doc, 1, &r), 400);
    CU_ASSERT(strstr(r.body, "rules[0].signal") != NULL);
    CU_ASSERT(strstr(r.body, "needs dtxd.admin") != NULL);
    gw_resp_free(&r);
    CU_ASSERT_EQUAL(gw_admin_put(&gw, "gw-admin-token-8d2f61b4", doc, 0, &r), 400);
    gw_resp_free(&r);
    CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 10000), 0);
}

static void test_gateway_stops_at_once_while_a_poll_hangs(void)
{
    /* A listener that never answers: the poll connects and waits. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CU_ASSERT_FATAL(fd >= 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof sa;
    CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(fd, 8) == 0 &&
                    getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
    char dtxd[256];
    snprintf(dtxd, sizeof dtxd, "\"admin\":\"http://127.0.0.1:%d\",\"timeout_ms\":60000,"
             "\"stale_ms\":60000", ntohs(sa.sin_port));
    gw_proc_t gw;
    CU_ASSERT_FATAL(s_gateway(&gw, "gw-dtxd-hang", NULL, dtxd) == 0);
    struct pollfd p = { .fd = fd, .events = POLLIN };
    CU_ASSERT_FATAL(poll(&p, 1, S_WAIT_MS) == 1);  /* the poller's connection is pending */
    int64_t t0 = h_now_ms();
    CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 30000), 0);
    int64_t took = h_now_ms() - t0;
    if (took >= 5000)
        fprintf(stderr, "\n  stop took %lld ms\n", (long long)took);
    CU_ASSERT(took < 5000);  /* far below the 60 s fetch timeout */
    close(fd);
}

INTEG_SUITE(gateway_dtxd)
{
    CU_pSuite s = CU_add_suite("gateway_dtxd", s_init, s_cleanup);
    CU_add_test(s, "route sheds while dtxd holds too many and admits after",
                test_route_sheds_while_dtxd_holds_too_many_and_admits_after);
    CU_add_test(s, "poll refused without token fails open",
                test_poll_refused_without_token_fails_open);
    CU_add_test(s, "swap starts and stops the watch", test_swap_starts_and_stops_the_watch);
    CU_add_test(s, "signal without dtxd admin is refused at load",
                test_signal_without_dtxd_admin_is_refused_at_load);
    CU_add_test(s, "gateway stops at once while a poll hangs",
                test_gateway_stops_at_once_while_a_poll_hangs);
}
