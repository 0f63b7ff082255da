/*
 * A client that goes away on a transactional route, against a real dtxd,
 * a real dtx-gateway and a real gw-upstream: the client is a plain TCP
 * socket, so the test decides exactly when it leaves.
 *
 *  - It leaves while the gateway waits for a slow upstream (after BEGIN,
 *    with the request at the upstream): the gateway watches the client
 *    socket of a call older than 50 ms, ends the call and ROLLs BACK.
 *    The upstream would answer 200 (a commit status) if it were let
 *    finish, and the route's timeout is far longer than its delay, so
 *    the only way to "aborted" is the client-gone path: without it the
 *    transaction ends "committed" (or stays active) and the test fails.
 *  - It leaves while still sending the body: nothing goes upstream, no
 *    transaction is left behind, and the next request is served as usual.
 *
 * Waits poll dtxd's database, the upstream's /_stats and the gateway's
 * /metrics with generous deadlines; no assertion rests on a latency.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>

#include "dtx/types.h"
#include "gw_util.h"
#include "integ.h"

/* The upstream's delay on the abandoned call: long, so that "aborted"
 * cannot come from the upstream answering first; the route's timeout and
 * the transaction's are longer still, so it cannot come from them either. */
#define S_UPSTREAM_DELAY_MS "10000"
#define S_WAIT_MS           15000   /* generous deadline of every poll */
#define S_OUTCOME_WAIT_MS   30000   /* > the delay: a broken gateway shows "committed" */

static h_dtxd_t s_dtxd;
static gw_proc_t s_up, s_gw;
static PGconn *s_db;

static int s_init(void)
{
    char db[H_CONNINFO_SIZE];
    if (h_init() < 0 || h_db_create("gw_gone", db, sizeof db) < 0)
        return -1;
    memset(&s_dtxd, 0, sizeof s_dtxd);
    snprintf(s_dtxd.logname, sizeof s_dtxd.logname, "gw-gone-dtxd");
    if (h_dtxd_start(&s_dtxd, db, NULL) < 0)
        return -1;
    /* One thread per connection: a delayed call holds only its own. */
    if (gw_upstream_start(&s_up, "gone", NULL) < 0)
        return -1;
    if (gw_gateway_start(&s_gw, "gw-gone",
        "{\"dtxd\":{\"endpoint\":\"%s\",\"timeout_ms\":5000},"
        "\"pools\":[{\"name\":\"svc\",\"targets\":[\"http://127.0.0.1:%d\"],"
        "\"ejection\":{\"consecutive_5xx\":0}}],"
        "\"routes\":[{\"name\":\"orders\",\"match\":{\"prefix\":\"/orders\"},\"pool\":\"svc\","
        "\"timeout_ms\":60000,"
        "\"transaction\":{\"timeout_ms\":120000,\"commit_on\":[\"2xx\"]}}]}",
        s_dtxd.endpoint, s_up.port) < 0)
        return -1;
    s_db = h_db_connect("gw_gone");
    return s_db ? 0 : -1;
}

static int s_cleanup(void)
{
    /* Under SAN=1 a leak or an error in the gateway makes its exit non-zero. */
    int rc = h_stop(s_gw.pid, SIGTERM, 10000) == 0 ? 0 : -1;
    if (h_dtxd_stop(&s_dtxd) != 0)
        rc = -1;
    if (s_db)
        PQfinish(s_db);
    s_db = NULL;
    return rc;
}

/* ---------------- a raw client ---------------- */

/* A blocking TCP connection to the gateway's proxy port, or -1. */
static int s_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)s_gw.port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        fprintf(stderr, "\n  connect to the gateway: %s\n", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int s_send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Closes fd as a client that goes away: FIN, or RST when reset. */
static void s_leave(int fd, int reset)
{
    if (reset) {
        struct linger l = { .l_onoff = 1, .l_linger = 0 };
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    close(fd);
}

/* ---------------- what the test observes ---------------- */

/* Requests the upstream received (its /_stats), or -1. */
static long s_upstream_requests(void)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/_stats", s_up.port);
    gw_resp_t r;
    long n = -1;
    if (gw_http(&r, "GET", url, NULL, NULL) == 0 && r.status == 200) {
        json_object *o = json_tokener_parse(r.body), *v;
        if (o && json_object_object_get_ex(o, "requests", &v))
            n = (long)json_object_get_int64(v);
        json_object_put(o);
    }
    gw_resp_free(&r);
    return n;
}

#define S_M_REQUESTS    "dtx_gw_requests_total{route=\"orders\"}"
#define S_M_NO_ANSWER   "dtx_gw_responses_total{route=\"orders\",class=\"none\"}"
#define S_M_COMMITTED   "dtx_gw_txn_total{route=\"orders\",outcome=\"committed\"}"
#define S_M_ROLLED_BACK "dtx_gw_txn_total{route=\"orders\",outcome=\"rolled_back\"}"

typedef struct {
    const char *metric;
    double      at_least;
} s_metric_wait_t;

static int s_metric_reached(void *arg)
{
    s_metric_wait_t *w = arg;
    return gw_metric(&s_gw, w->metric) >= w->at_least;
}

/* Waits until the gateway's metric is at least value; 0 or -1. */
static int s_wait_metric(const char *metric, double value)
{
    s_metric_wait_t w = { metric, value };
    if (h_wait_until(s_metric_reached, &w, S_WAIT_MS) == 0)
        return 0;
    fprintf(stderr, "\n  %s stayed at %g, expected >= %g\n", metric, gw_metric(&s_gw, metric),
            value);
    return -1;
}

static long s_txn_count(void)
{
    return (long)h_db_scalar(s_db, "select count(*) from dtx_global");
}

/* dtx_global.state of gid by name into out ("" when unknown). */
static const char *s_state(const char *gid, char *out, size_t cap)
{
    if (h_db_scalar_text(s_db, out, cap,
                         "select dtx_state_name(state) from dtx_global where gid = '%s'", gid) < 0)
        out[0] = '\0';
    return out;
}

/* The gid of the last transactional request the upstream got ("" none):
 * it logs each one as it arrives. */
static void s_upstream_gid(char *gid, size_t cap)
{
    char path[1024], line[512];
    static const char mark[] = "gw-upstream: request gid=";
    gid[0] = '\0';
    if (h_scratch_path("gw-up-gone.log", path, sizeof path) < 0)
        return;
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f)) {
        const char *g = strstr(line, mark);
        if (g) {
            g += sizeof mark - 1;
            snprintf(gid, cap, "%.*s", (int)strcspn(g, "\r\n"), g);
        }
    }
    if (f)
        fclose(f);
}

typedef struct {
    const char *before; /* the upstream's last gid before the call */
    char        gid[DTX_GID_SIZE]; /* the call's */
} s_started_wait_t;

/* The gateway has begun (a BEGIN writes nothing to the log: the row
 * comes with the decision) and the request is at the upstream. */
static int s_call_started(void *arg)
{
    s_started_wait_t *w = arg;
    s_upstream_gid(w->gid, sizeof w->gid);
    return w->gid[0] && strcmp(w->gid, w->before) != 0;
}

static int s_decided(void *arg)
{
    char state[32];
    s_state(arg, state, sizeof state);
    return strcmp(state, "committed") == 0 || strcmp(state, "aborted") == 0;
}

/* ---------------- the tests ---------------- */

/* The client sends a whole request whose upstream call takes
 * S_UPSTREAM_DELAY_MS, waits until the transaction is open at dtxd and the
 * request is at the upstream, leaves (FIN, or RST when reset), and the
 * transaction must end aborted — never committed. */
static void s_leave_while_upstream_works(int reset)
{
    long txns0 = s_txn_count(), up0 = s_upstream_requests();
    char before[DTX_GID_SIZE];
    s_upstream_gid(before, sizeof before);
    double committed0 = gw_metric(&s_gw, S_M_COMMITTED);
    double rolled_back0 = gw_metric(&s_gw, S_M_ROLLED_BACK);
    double no_answer0 = gw_metric(&s_gw, S_M_NO_ANSWER);
    CU_ASSERT_FATAL(txns0 >= 0 && up0 >= 0 && committed0 >= 0 && rolled_back0 >= 0 &&
                    no_answer0 >= 0);

    int fd = s_connect();
    CU_ASSERT_FATAL(fd >= 0);
    static const char request[] =
        "POST /orders HTTP/1.1\r\n"
        "Host: 127.0.0.1\r\n"
        "Content-Type: application/json\r\n"
        "X-Test-Delay-Ms: " S_UPSTREAM_DELAY_MS "\r\n"
        "Content-Length: 10\r\n"
        "\r\n"
        "{\"item\":1}";
    if (s_send_all(fd, request, sizeof request - 1) < 0) {
        close(fd);
        CU_FAIL_FATAL("cannot send the request");
    }

    /* The gateway has BEGUN and the upstream is working on the call. */
    s_started_wait_t started = { before, "" };
    if (h_wait_until(s_call_started, &started, S_WAIT_MS) < 0) {
        close(fd);
        fprintf(stderr, "\n  upstream requests %ld (want %ld)\n", s_upstream_requests(), up0 + 1);
        CU_FAIL_FATAL("the call never reached dtxd and the upstream");
    }
    CU_ASSERT_EQUAL(s_upstream_requests(), up0 + 1);
    char gid[DTX_GID_SIZE], state[32];
    snprintf(gid, sizeof gid, "%s", started.gid);
    /* Not decided yet: the upstream holds the answer (and, with no
     * branch, the transaction is only in dtxd's memory: no row yet). */
    CU_ASSERT_EQUAL(s_txn_count(), txns0);
    CU_ASSERT_STRING_EQUAL(s_state(gid, state, sizeof state), "");

    s_leave(fd, reset);

    int decided = h_wait_until(s_decided, gid, S_OUTCOME_WAIT_MS) == 0;
    s_state(gid, state, sizeof state);
    if (!decided || strcmp(state, "aborted") != 0)
        fprintf(stderr, "\n  gid %s: state \"%s\" after the client left, expected aborted\n", gid,
                state);
    CU_ASSERT(decided);
    CU_ASSERT_STRING_EQUAL(state, "aborted");

    /* The request is over at the gateway (counted without an answer), so
     * no later COMMIT can come from it: the counters are final. */
    CU_ASSERT(s_wait_metric(S_M_NO_ANSWER, no_answer0 + 1) == 0);
    CU_ASSERT_EQUAL(gw_metric(&s_gw, S_M_ROLLED_BACK), rolled_back0 + 1);
    CU_ASSERT_EQUAL(gw_metric(&s_gw, S_M_COMMITTED), committed0);
    CU_ASSERT_STRING_EQUAL(s_state(gid, state, sizeof state), "aborted");
    CU_ASSERT_EQUAL(s_txn_count(), txns0 + 1);
}

static void test_client_gone_while_upstream_works_rolls_back_the_transaction(void)
{
    s_leave_while_upstream_works(0);
}

static void test_client_reset_while_upstream_works_rolls_back_the_transaction(void)
{
    s_leave_while_upstream_works(1);
}

static void test_client_gone_mid_body_leaves_no_transaction_and_next_request_is_served(void)
{
    long txns0 = s_txn_count(), up0 = s_upstream_requests();
    char before[DTX_GID_SIZE];
    s_upstream_gid(before, sizeof before);
    long open0 = (long)h_db_scalar(s_db, "select count(*) from dtx_global "
                                         "where dtx_state_name(state) <> 'aborted'");
    double requests0 = gw_metric(&s_gw, S_M_REQUESTS);
    double no_answer0 = gw_metric(&s_gw, S_M_NO_ANSWER);
    double committed0 = gw_metric(&s_gw, S_M_COMMITTED);
    CU_ASSERT_FATAL(txns0 >= 0 && up0 >= 0 && open0 >= 0 && requests0 >= 0 && no_answer0 >= 0 &&
                    committed0 >= 0);

    int fd = s_connect();
    CU_ASSERT_FATAL(fd >= 0);
    static const char partial[] =
        "POST /orders HTTP/1.1\r\n"
        "Host: 127.0.0.1\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 1000\r\n"
        "\r\n"
        "{\"item\":12";  /* 10 of the 1000 bytes announced */
    if (s_send_all(fd, partial, sizeof partial - 1) < 0) {
        close(fd);
        CU_FAIL_FATAL("cannot send the request");
    }
    /* The gateway has the headers (the route counted the request)... */
    if (s_wait_metric(S_M_REQUESTS, requests0 + 1) < 0) {
        close(fd);
        CU_FAIL_FATAL("the gateway never saw the request");
    }
    /* ...and the client leaves with 990 bytes still owed. */
    s_leave(fd, 0);
    CU_ASSERT_FATAL(s_wait_metric(S_M_NO_ANSWER, no_answer0 + 1) == 0);

    /* Nothing went upstream and no transaction was left open. */
    CU_ASSERT_EQUAL(s_upstream_requests(), up0);
    CU_ASSERT_EQUAL((long)h_db_scalar(s_db, "select count(*) from dtx_global "
                                            "where dtx_state_name(state) <> 'aborted'"),
                    open0);
    CU_ASSERT_EQUAL(gw_metric(&s_gw, S_M_COMMITTED), committed0);

    /* The next request is served and committed as usual. */
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/orders", s_gw.port);
    const char *hdrs[] = { "Content-Type: application/json", NULL };
    gw_resp_t r;
    CU_ASSERT_FATAL(gw_http(&r, "POST", url, hdrs, "{\"item\":2}") == 0);
    CU_ASSERT_EQUAL(r.status, 200);
    char gid[DTX_GID_SIZE] = "";
    json_object *o = json_tokener_parse(r.body), *h, *v;
    if (o && json_object_object_get_ex(o, "headers", &h) &&
        json_object_object_get_ex(h, "Dtx-Gid", &v))
        snprintf(gid, sizeof gid, "%s", json_object_get_string(v));
    json_object_put(o);
    gw_resp_free(&r);
    CU_ASSERT_FATAL(gid[0] != '\0');
    CU_ASSERT(h_wait_until(s_decided, gid, S_WAIT_MS) == 0);
    char state[32];
    CU_ASSERT_STRING_EQUAL(s_state(gid, state, sizeof state), "committed");
    CU_ASSERT_EQUAL(s_upstream_requests(), up0 + 1);
    CU_ASSERT(s_wait_metric(S_M_COMMITTED, committed0 + 1) == 0);
}

INTEG_SUITE(gateway_gone)
{
    CU_pSuite s = CU_add_suite("gateway_gone", s_init, s_cleanup);
    CU_add_test(s, "client gone while upstream works rolls back the transaction",
                test_client_gone_while_upstream_works_rolls_back_the_transaction);
    CU_add_test(s, "client reset while upstream works rolls back the transaction",
                test_client_reset_while_upstream_works_rolls_back_the_transaction);
    CU_add_test(s, "client gone mid-body leaves no transaction and next request is served",
                test_client_gone_mid_body_leaves_no_transaction_and_next_request_is_served);
}
