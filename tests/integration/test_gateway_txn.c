/*
 * Gateway transactions against a real dtxd: a transactional route BEGINs
 * at the edge, the upstream sees Dtx-Gid / Dtx-Deadline, and the
 * transaction is committed or rolled back by the answer.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "dtx/types.h"
#include "gw_util.h"
#include "integ.h"

static h_dtxd_t s_dtxd;
static gw_proc_t s_up, s_gw;
static PGconn *s_db;

static int s_init(void)
{
    char db[H_CONNINFO_SIZE];
    if (h_init() < 0 || h_db_create("gw_txn", db, sizeof db) < 0)
        return -1;
    memset(&s_dtxd, 0, sizeof s_dtxd);
    snprintf(s_dtxd.logname, sizeof s_dtxd.logname, "gw-txn-dtxd");
    if (h_dtxd_start(&s_dtxd, db, NULL) < 0)
        return -1;
    if (gw_upstream_start(&s_up, "svc", NULL) < 0)
        return -1;
    if (gw_gateway_start(&s_gw, "gw-txn",
        "{\"dtxd\":{\"endpoint\":\"%s\",\"timeout_ms\":5000},"
        "\"pools\":[{\"name\":\"svc\",\"targets\":[\"http://127.0.0.1:%d\"],"
        "\"ejection\":{\"consecutive_5xx\":0}}],"
        "\"routes\":[{\"name\":\"orders\",\"match\":{\"prefix\":\"/orders\"},\"pool\":\"svc\","
        "\"timeout_ms\":1000,"
        "\"transaction\":{\"timeout_ms\":20000,\"commit_on\":[\"2xx\",409]}},"
        "{\"name\":\"transfers\",\"match\":{\"path\":\"/transfers\"},\"pool\":\"svc\","
        "\"transaction\":{\"timeout_ms\":20000}},"
        "{\"name\":\"plain\",\"match\":{\"prefix\":\"/plain\"},\"pool\":\"svc\"},"
        "{\"name\":\"rest\",\"match\":{\"prefix\":\"/\"},\"pool\":\"svc\"}]}",
        s_dtxd.endpoint, s_up.port) < 0)
        return -1;
    s_db = h_db_connect("gw_txn");
    return s_db ? 0 : -1;
}

static int s_cleanup(void)
{
    int rc = h_stop(s_gw.pid, SIGTERM, 10000) == 0 ? 0 : -1;
    if (h_dtxd_stop(&s_dtxd) != 0)
        rc = -1;
    if (s_db)
        PQfinish(s_db);
    s_db = NULL;
    return rc;
}

/* The Dtx-Gid of the last answer ("" when none). */
static char s_answer_gid[DTX_GID_SIZE];

/* Sends a request; returns the gid the upstream saw ("" when none). */
static long s_call(const char *path, const char *const *hdrs, char *gid, size_t cap,
                   char *deadline, size_t dcap)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", s_gw.port, path);
    gw_resp_t r;
    gid[0] = '\0';
    if (deadline)
        deadline[0] = '\0';
    gw_http(&r, "POST", url, hdrs, "{\"item\":1}");
    if (!gw_resp_header(&r, "Dtx-Gid", s_answer_gid, sizeof s_answer_gid))
        s_answer_gid[0] = '\0';
    json_object *o = json_tokener_parse(r.body ? r.body : ""), *h, *v;
    if (o && json_object_object_get_ex(o, "headers", &h)) {
        if (json_object_object_get_ex(h, "Dtx-Gid", &v))
            snprintf(gid, cap, "%s", json_object_get_string(v));
        if (deadline && json_object_object_get_ex(h, "Dtx-Deadline", &v))
            snprintf(deadline, dcap, "%s", json_object_get_string(v));
    }
    if (!o && strstr(r.body ? r.body : "", "\"gid\":\"")) {
        const char *p = strstr(r.body, "\"gid\":\"") + 7;
        snprintf(gid, cap, "%.*s", (int)strcspn(p, "\""), p);
    }
    json_object_put(o);
    long status = r.status;
    gw_resp_free(&r);
    return status;
}

typedef struct {
    const char *gid;
    const char *want;
} s_state_wait_t;

static int s_state_is(void *arg)
{
    s_state_wait_t *w = arg;
    char state[32] = "";
    if (h_db_scalar_text(s_db, state, sizeof state,
                         "select dtx_state_name(state) from dtx_global where gid = '%s'",
                         w->gid) < 0)
        return 0;
    return strcmp(state, w->want) == 0;
}

static void s_expect_state(const char *gid, const char *want)
{
    s_state_wait_t w = { gid, want };
    int ok = h_wait_until(s_state_is, &w, 10000) == 0;
    if (!ok)
        fprintf(stderr, "\n  gid %s never reached %s\n", gid, want);
    CU_ASSERT(ok);
}

static void test_success_status_commits_the_transaction(void)
{
    char gid[DTX_GID_SIZE], deadline[32];
    CU_ASSERT_EQUAL(s_call("/orders", NULL, gid, sizeof gid, deadline, sizeof deadline), 200);
    CU_ASSERT_FATAL(gid[0] != '\0');
    CU_ASSERT(atoll(deadline) > 1600000000000LL);
    s_expect_state(gid, "committed");
    const char *h409[] = { "X-Test-Status: 409", NULL };  /* listed in commit_on */
    CU_ASSERT_EQUAL(s_call("/orders", h409, gid, sizeof gid, NULL, 0), 409);
    s_expect_state(gid, "committed");
}

static void test_failure_status_rolls_it_back(void)
{
    char gid[DTX_GID_SIZE];
    const char *h500[] = { "X-Test-Status: 500", NULL };
    CU_ASSERT_EQUAL(s_call("/orders", h500, gid, sizeof gid, NULL, 0), 500);
    CU_ASSERT_FATAL(gid[0] != '\0');
    s_expect_state(gid, "aborted");
    const char *h404[] = { "X-Test-Status: 404", NULL };
    CU_ASSERT_EQUAL(s_call("/orders", h404, gid, sizeof gid, NULL, 0), 404);
    s_expect_state(gid, "aborted");
}

static void test_upstream_timeout_rolls_it_back(void)
{
    long before = (long)h_db_scalar(s_db, "select count(*) from dtx_global where state = 5");
    char gid[DTX_GID_SIZE];
    const char *slow[] = { "X-Test-Delay-Ms: 3000", NULL };
    CU_ASSERT_EQUAL(s_call("/orders", slow, gid, sizeof gid, NULL, 0), 504);
    /* The client never saw the gid: the newest transaction is this one. */
    char newest[DTX_GID_SIZE];
    CU_ASSERT_FATAL(h_db_scalar_text(s_db, newest, sizeof newest,
                                     "select gid from dtx_global order by created_at desc "
                                     "limit 1") == 0);
    s_expect_state(newest, "aborted");
    CU_ASSERT_EQUAL((long)h_db_scalar(s_db, "select count(*) from dtx_global where state = 5"),
                    before + 1);
}

static void test_plain_route_starts_no_transaction(void)
{
    long before = (long)h_db_scalar(s_db, "select count(*) from dtx_global");
    char gid[DTX_GID_SIZE];
    CU_ASSERT_EQUAL(s_call("/plain", NULL, gid, sizeof gid, NULL, 0), 200);
    CU_ASSERT_STRING_EQUAL(gid, "");
    CU_ASSERT_EQUAL((long)h_db_scalar(s_db, "select count(*) from dtx_global"), before);
    CU_ASSERT(gw_metric(&s_gw, "dtx_gw_txn_total{route=\"orders\",outcome=\"committed\"}") >= 2);
    CU_ASSERT(gw_metric(&s_gw, "dtx_gw_txn_total{route=\"orders\",outcome=\"rolled_back\"}") >= 3);
}

/* The client learns its transaction's gid from the answer (Dtx-Gid),
 * whatever the outcome; a plain route's answer has none. */
static void test_answer_names_the_gid(void)
{
    char gid[DTX_GID_SIZE];
    CU_ASSERT_EQUAL(s_call("/orders", NULL, gid, sizeof gid, NULL, 0), 200);
    CU_ASSERT_FATAL(gid[0] != '\0');
    CU_ASSERT_STRING_EQUAL(s_answer_gid, gid);
    const char *h500[] = { "X-Test-Status: 500", NULL };
    CU_ASSERT_EQUAL(s_call("/orders", h500, gid, sizeof gid, NULL, 0), 500);
    CU_ASSERT_STRING_EQUAL(s_answer_gid, gid);
    s_expect_state(s_answer_gid, "aborted");
    const char *slow[] = { "X-Test-Delay-Ms: 3000", NULL };
    CU_ASSERT_EQUAL(s_call("/orders", slow, gid, sizeof gid, NULL, 0), 504);
    CU_ASSERT_FATAL(s_answer_gid[0] != '\0');
    s_expect_state(s_answer_gid, "aborted");
    CU_ASSERT_EQUAL(s_call("/plain", NULL, gid, sizeof gid, NULL, 0), 200);
    CU_ASSERT_STRING_EQUAL(s_answer_gid, "");
}

/* Every spelling of an exact transactional path is that route (path
 * normalisation): none slips to the broader plain route "/" untracked. */
static void test_path_variants_of_a_transactional_route_begin_a_transaction(void)
{
    static const char *const variants[] = { "/transfers", "/transfers/", "//transfers",
        "/./transfers", "/x/../transfers", "/%74ransfers", NULL };
    for (int i = 0; variants[i]; i++) {
        char gid[DTX_GID_SIZE];
        long st = s_call(variants[i], NULL, gid, sizeof gid, NULL, 0);
        if (st != 200 || !gid[0])
            fprintf(stderr, "\n  %s: %ld, gid \"%s\"\n", variants[i], st, gid);
        CU_ASSERT_EQUAL(st, 200);
        CU_ASSERT(gid[0] != '\0');
        CU_ASSERT_STRING_EQUAL(s_answer_gid, gid);
        if (gid[0])
            s_expect_state(gid, "committed");
    }
    char gid[DTX_GID_SIZE];
    CU_ASSERT_EQUAL(s_call("/transfers;x=1", NULL, gid, sizeof gid, NULL, 0), 400);
    CU_ASSERT_STRING_EQUAL(gid, "");
}

typedef struct {
    int  port;
    long status;
    char retry_after[16];
    char body[512];
} s_slow_call_t;

static void *s_slow_call(void *arg)
{
    s_slow_call_t *c = arg;
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/orders", c->port);
    const char *slow[] = { "X-Test-Delay-Ms: 1000", NULL };
    gw_resp_t r;
    gw_http(&r, "POST", url, slow, "{\"item\":1}");
    c->status = r.status;
    if (!gw_resp_header(&r, "Retry-After", c->retry_after, sizeof c->retry_after))
        c->retry_after[0] = '\0';
    snprintf(c->body, sizeof c->body, "%s", r.body ? r.body : "");
    gw_resp_free(&r);
    return NULL;
}

/* dtxd goes away while the upstream works: the COMMIT cannot be sent, so
 * nothing can commit the transaction. That is a 503 with Retry-After (a
 * retry is safe), not the 504 of an unknown outcome. (A dtxd and a
 * gateway of the test's own: the suite's stay up.) */
static void test_a_commit_that_cannot_be_sent_is_503(void)
{
    char db[H_CONNINFO_SIZE];
    CU_ASSERT_FATAL(h_db_create("gw_txn_gone", db, sizeof db) == 0);
    h_dtxd_t d;
    memset(&d, 0, sizeof d);
    snprintf(d.logname, sizeof d.logname, "gw-txn-gone-dtxd");
    CU_ASSERT_FATAL(h_dtxd_start(&d, db, NULL) == 0);
    gw_proc_t gw;
    CU_ASSERT_FATAL(gw_gateway_start(&gw, "gw-txn-gone",
        "{\"dtxd\":{\"endpoint\":\"%s\",\"timeout_ms\":1500},"
        "\"pools\":[{\"name\":\"svc\",\"targets\":[\"http://127.0.0.1:%d\"]}],"
        "\"routes\":[{\"name\":\"orders\",\"match\":{\"prefix\":\"/orders\"},\"pool\":\"svc\","
        "\"timeout_ms\":3000,\"transaction\":{\"timeout_ms\":20000}}]}",
        d.endpoint, s_up.port) == 0);
    long before = gw_upstream_calls(&s_up);
    CU_ASSERT_FATAL(before >= 0);
    s_slow_call_t c;
    memset(&c, 0, sizeof c);
    c.port = gw.port;
    pthread_t th;
    CU_ASSERT_FATAL(pthread_create(&th, NULL, s_slow_call, &c) == 0);
    /* The upstream has the request (so BEGIN was answered) and works for
     * 1000 ms: dtxd goes now, its connections closed at once. */
    for (int i = 0; i < 500 && gw_upstream_calls(&s_up) <= before; i++)
        usleep(10 * 1000);
    CU_ASSERT(gw_upstream_calls(&s_up) > before);
    h_dtxd_kill(&d);
    pthread_join(th, NULL);
    CU_ASSERT_EQUAL(c.status, 503);
    CU_ASSERT_STRING_EQUAL(c.retry_after, "1");
    CU_ASSERT_PTR_NOT_NULL(strstr(c.body, "transaction not committed"));
    if (c.status != 503)
        fprintf(stderr, "\n  answer %ld: %s\n", c.status, c.body);
    CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 10000), 0);
    h_db_drop("gw_txn_gone");
}

INTEG_SUITE(gateway_txn)
{
    CU_pSuite s = CU_add_suite("gateway_txn", s_init, s_cleanup);
    CU_add_test(s, "success status commits the transaction",
                test_success_status_commits_the_transaction);
    CU_add_test(s, "failure status rolls it back", test_failure_status_rolls_it_back);
    CU_add_test(s, "upstream timeout rolls it back", test_upstream_timeout_rolls_it_back);
    CU_add_test(s, "plain route starts no transaction", test_plain_route_starts_no_transaction);
    CU_add_test(s, "answer names the gid", test_answer_names_the_gid);
    CU_add_test(s, "path variants of a transactional route begin a transaction",
                test_path_variants_of_a_transactional_route_begin_a_transaction);
    CU_add_test(s, "a commit that cannot be sent is 503", test_a_commit_that_cannot_be_sent_is_503);
}
