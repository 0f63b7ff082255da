/*
 * Gateway zmq pools (HTTP ⇄ ZeroMQ): a real dtx-gateway in front of real
 * ZeroMQ services — the zmq-echo-service sample (libdtx's dtx/zsvc.h) and
 * a Python service written from docs/gateway.md alone
 * (tests/tools/zmq_service.py) — and a real dtxd for the transactional
 * route. Round trips with headers and body, a timeout (504) whose late
 * reply is dropped and counted, failover from a dead target, the breaker,
 * malformed replies (502, counted), the gid of a transactional route.
 * No latency assertions.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "dtx/types.h"
#include "gw_util.h"
#include "integ.h"

static h_dtxd_t s_dtxd;
static PGconn *s_db;
static int s_seq;
static char s_url[256];

static const char *s_at(const gw_proc_t *gw, const char *path)
{
    snprintf(s_url, sizeof s_url, "http://127.0.0.1:%d%s", gw->port, path);
    return s_url;
}

/* Starts a zmq service: bin "zmq-echo-service" (the sample, in
 * $DTX_TEST_BIN) or "zmq-service.py" (in $DTX_TEST_TESTBIN). Returns 0. */
static int s_service(gw_proc_t *self, const char *bin_name, const char *name)
{
    char bin[1024], ready[1024], fname[128];
    memset(self, 0, sizeof *self);
    snprintf(fname, sizeof fname, "zmq-svc-%s-%d.port", name, ++s_seq);
    int py = strstr(bin_name, ".py") != NULL;
    if ((py ? h_testbin_path(bin_name, bin, sizeof bin) : h_bin_path(bin_name, bin, sizeof bin)) < 0 ||
        h_scratch_path(fname, ready, sizeof ready) < 0)
        return -1;
    remove(ready);
    char *argv[12];
    int n = 0;
    if (py)
        argv[n++] = "/usr/bin/python3";
    argv[n++] = bin;
    if (!py) {
        argv[n++] = "--bind";
        argv[n++] = "tcp://127.0.0.1:*";
    }
    argv[n++] = "--name";
    argv[n++] = (char *)name;
    argv[n++] = "--ready-file";
    argv[n++] = ready;
    argv[n] = NULL;
    char logname[96];
    snprintf(logname, sizeof logname, "zmq-svc-%s", name);
    self->pid = h_spawn(logname, argv);
    char line[64];
    if (self->pid <= 0 || h_wait_file_line(ready, line, sizeof line, self->pid, 10000) < 0)
        return -1;
    self->port = atoi(line);
    return self->port > 0 ? 0 : -1;
}

/* A free TCP port nobody listens on (bound, then closed). */
static int s_dead_port(void)
{
    gw_proc_t tmp;
    if (s_service(&tmp, "zmq-echo-service", "dead") < 0)
        return -1;
    h_stop(tmp.pid, SIGTERM, 10000);
    return tmp.port;
}

/* A string field of a JSON body (copied into out), or "". */
static const char *s_field(const char *body, const char *obj, const char *key, char *out,
                           size_t cap)
{
    out[0] = '\0';
    json_object *o = json_tokener_parse(body ? body : ""), *v, *in = o;
    if (o && obj && !json_object_object_get_ex(o, obj, &in))
        in = NULL;
    if (in && json_object_object_get_ex(in, key, &v))
        snprintf(out, cap, "%s", json_object_get_string(v));
    json_object_put(o);
    return out;
}

static void s_round_trip(const char *bin, const char *name, long post_status)
{
    gw_proc_t svc, gw;
    CU_ASSERT_FATAL(s_service(&svc, bin, name) == 0);
    CU_ASSERT_FATAL(gw_gateway_start(&gw, "gw-zmq-rt",
        "{\"pools\":[{\"name\":\"z\",\"targets\":[\"zmq+tcp://127.0.0.1:%d\"]}],"
        "\"routes\":[{\"name\":\"api\",\"match\":{\"prefix\":\"/api\"},\"pool\":\"z\"}]}",
        svc.port) == 0);
    const char *h[] = { "X-Custom: hello world", "X-Request-Id: rid-7", NULL };
    gw_resp_t r;
    char v[256];
    CU_ASSERT_FATAL(gw_http(&r, "GET", s_at(&gw, "/api/items/9?color=red&n=2"), h, NULL) == 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(s_field(r.body, NULL, "method", v, sizeof v), "GET");
    CU_ASSERT_STRING_EQUAL(s_field(r.body, NULL, "path", v, sizeof v), "/api/items/9");
    CU_ASSERT_STRING_EQUAL(s_field(r.body, NULL, "query", v, sizeof v), "color=red&n=2");
    CU_ASSERT_STRING_EQUAL(s_field(r.body, NULL, "gid", v, sizeof v), "");
    CU_ASSERT_STRING_EQUAL(s_field(r.body, "headers", "X-Custom", v, sizeof v), "hello world");
    CU_ASSERT_STRING_EQUAL(s_field(r.body, "headers", "X-Request-Id", v, sizeof v), "rid-7");
    CU_ASSERT_STRING_EQUAL(s_field(r.body, "headers", "X-Forwarded-For", v, sizeof v),
                           "127.0.0.1");
    CU_ASSERT(gw_resp_header(&r, "X-Served-By", v, sizeof v) && strcmp(v, name) == 0);
    CU_ASSERT(gw_resp_header(&r, "Content-Type", v, sizeof v) &&
              strcmp(v, "application/json") == 0);
    CU_ASSERT(gw_resp_header(&r, "Content-Length", v, sizeof v) &&
              (size_t)atol(v) == r.body_len);
    gw_resp_free(&r);
    const char *ph[] = { "Content-Type: text/plain", NULL };
    CU_ASSERT_FATAL(gw_http(&r, "POST", s_at(&gw, "/api/orders"), ph, "one order, please") == 0);
    CU_ASSERT_EQUAL(r.status, post_status);
    CU_ASSERT_STRING_EQUAL(s_field(r.body, NULL, "method", v, sizeof v), "POST");
    CU_ASSERT_STRING_EQUAL(s_field(r.body, NULL, "body", v, sizeof v), "one order, please");
    CU_ASSERT_STRING_EQUAL(s_field(r.body, "headers", "Content-Type", v, sizeof v),
                           "text/plain");
    /* Framing is the message's: no Content-Length among the headers. */
    CU_ASSERT_STRING_EQUAL(s_field(r.body, "headers", "Content-Length", v, sizeof v), "");
    gw_resp_free(&r);
    /* A body over 64 KiB streams in from the client: gathered whole first. */
    size_t big = 200000;
    char *body = malloc(big + 1);
    CU_ASSERT_FATAL(body != NULL);
    for (size_t i = 0; i < big; i++)
        body[i] = (char)('a' + i % 26);
    body[big] = '\0';
    CU_ASSERT_FATAL(gw_http(&r, "PUT", s_at(&gw, "/api/blob"), ph, body) == 0);
    CU_ASSERT_EQUAL(r.status, 200);
    json_object *o = json_tokener_parse(r.body ? r.body : ""), *bv;
    CU_ASSERT(o && json_object_object_get_ex(o, "body", &bv) &&
              strcmp(json_object_get_string(bv), body) == 0);
    json_object_put(o);
    gw_resp_free(&r);
    free(body);
    /* HEAD: the length, no body. */
    CU_ASSERT_FATAL(gw_http(&r, "HEAD", s_at(&gw, "/api/items/9"), NULL, NULL) == 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_EQUAL(r.body_len, 0);
    CU_ASSERT(gw_resp_header(&r, "Content-Length", v, sizeof v) && atol(v) > 0);
    gw_resp_free(&r);
    CU_ASSERT(gw_metric(&gw, "dtx_gw_zmq_replies_total") >= 4);
    CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 10000), 0);
    h_stop(svc.pid, SIGTERM, 10000);
}

static void test_get_and_post_round_trip_through_the_c_sample(void)
{
    s_round_trip("zmq-echo-service", "c-sample", 200);
}

static void test_a_python_service_written_from_the_doc_interoperates(void)
{
    s_round_trip("zmq-service.py", "py", 201);
}

static void test_timeout_answers_504_and_the_late_reply_is_dropped(void)
{
    gw_proc_t svc, gw;
    CU_ASSERT_FATAL(s_service(&svc, "zmq-echo-service", "slow") == 0);
    /* One worker: the next request's attempt takes the slot the timed-out
     * one freed, so only the slot's serial tells the late reply apart. */
    const char *one[] = { "--workers", "1", NULL };
    CU_ASSERT_FATAL(gw_gateway_start_args(&gw, "gw-zmq-timeout", one,
        "{\"pools\":[{\"name\":\"z\",\"targets\":[\"zmq+tcp://127.0.0.1:%d\"],"
        "\"timeout_ms\":10000}],"
        "\"routes\":[{\"name\":\"s\",\"match\":{\"prefix\":\"/slow\"},\"pool\":\"z\","
        "\"timeout_ms\":300},"
        "{\"name\":\"r\",\"match\":{\"prefix\":\"/\"},\"pool\":\"z\"}]}",
        svc.port) == 0);
    CU_ASSERT_EQUAL(gw_metric(&gw, "dtx_gw_zmq_replies_late_total"), 0);
    const char *slow[] = { "X-Delay-Ms: 1200", NULL };
    gw_resp_t r;
    CU_ASSERT_FATAL(gw_http(&r, "GET", s_at(&gw, "/slow"), slow, NULL) == 0);
    CU_ASSERT_EQUAL(r.status, 504);
    gw_resp_free(&r);
    /* The next request waits behind the slow one in the service; the slow
     * one's reply comes first and must not be taken for this one's. */
    char v[128];
    CU_ASSERT_FATAL(gw_http(&r, "GET", s_at(&gw, "/next"), NULL, NULL) == 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(s_field(r.body, NULL, "path", v, sizeof v), "/next");
    gw_resp_free(&r);
    CU_ASSERT_EQUAL(gw_metric(&gw, "dtx_gw_zmq_replies_late_total"), 1);
    CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 10000), 0);
    h_stop(svc.pid, SIGTERM, 10000);
}

static void test_a_dead_target_fails_over_to_another(void)
{
    gw_proc_t svc, gw;
    int dead = s_dead_port();
    CU_ASSERT_FATAL(dead > 0);
    CU_ASSERT_FATAL(s_service(&svc, "zmq-echo-service", "alive") == 0);
    CU_ASSERT_FATAL(gw_gateway_start(&gw, "gw-zmq-failover",
        "{\"pools\":[{\"name\":\"z\",\"targets\":[\"zmq+tcp://127.0.0.1:%d\","
        "\"zmq+tcp://127.0.0.1:%d\"],\"connect_timeout_ms\":200,\"retries\":1,"
        "\"ejection\":{\"consecutive_connect_errors\":0}}],"
        "\"routes\":[{\"name\":\"r\",\"match\":{\"prefix\":\"/\"},\"pool\":\"z\"}]}",
        dead, svc.port) == 0);
    int ok = 0;
    char v[64];
    for (int i = 0; i < 8; i++) {
        gw_resp_t r;
        gw_http(&r, "GET", s_at(&gw, "/x"), NULL, NULL);
        ok += r.status == 200 && gw_resp_header(&r, "X-Served-By", v, sizeof v) &&
              strcmp(v, "alive") == 0;
        gw_resp_free(&r);
    }
    CU_ASSERT_EQUAL(ok, 8);
    char line[160];
    snprintf(line, sizeof line,
             "dtx_gw_target_requests_total{pool=\"z\",target=\"zmq+tcp://127.0.0.1:%d\"}", dead);
    CU_ASSERT(gw_metric(&gw, line) >= 1);   /* it was tried, and passed over */
    CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 10000), 0);
    h_stop(svc.pid, SIGTERM, 10000);
}

typedef struct {
    int        port, id;
    atomic_int *wrong;
} s_loader_t;

static void *s_loader(void *arg)
{
    s_loader_t *l = arg;
    for (int i = 0; i < 100; i++) {
        char url[128], path[64], v[64];
        snprintf(path, sizeof path, "/c/%d/%d", l->id, i);
        snprintf(url, sizeof url, "http://127.0.0.1:%d%s", l->port, path);
        gw_resp_t r;
        gw_http(&r, "GET", url, NULL, NULL);
        int bad = r.status != 200 || strcmp(s_field(r.body, NULL, "path", v, sizeof v), path) != 0;
        gw_resp_free(&r);
        if (bad) {
            atomic_fetch_add(l->wrong, 1);
            break;                   /* one is enough: a stalled socket would take long */
        }
    }
    return NULL;
}

/* Many requests in flight on one worker's socket: replies come in while
 * requests go out, so ZMQ_FD's edge is consumed by sends too — a reply
 * left unread after a send would stall its call until the timeout. */
static void test_concurrent_requests_on_one_socket_get_their_own_answers(void)
{
    gw_proc_t svc, gw;
    CU_ASSERT_FATAL(s_service(&svc, "zmq-echo-service", "busy") == 0);
    const char *one[] = { "--workers", "1", NULL };
    CU_ASSERT_FATAL(gw_gateway_start_args(&gw, "gw-zmq-busy", one,
        "{\"pools\":[{\"name\":\"z\",\"targets\":[\"zmq+tcp://127.0.0.1:%d\"],"
        "\"timeout_ms\":2000}],"
        "\"routes\":[{\"name\":\"r\",\"match\":{\"prefix\":\"/\"},\"pool\":\"z\"}]}",
        svc.port) == 0);
    atomic_int wrong = 0;
    s_loader_t l[6];
    pthread_t th[6];
    for (int i = 0; i < 6; i++) {
        l[i] = (s_loader_t){ gw.port, i, &wrong };
        pthread_create(&th[i], NULL, s_loader, &l[i]);
    }
    for (int i = 0; i < 6; i++)
        pthread_join(th[i], NULL);
    CU_ASSERT_EQUAL(atomic_load(&wrong), 0);
    CU_ASSERT_EQUAL(gw_metric(&gw, "dtx_gw_zmq_replies_total"), 600);
    CU_ASSERT_EQUAL(gw_metric(&gw, "dtx_gw_zmq_replies_late_total"), 0);
    CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 10000), 0);
    h_stop(svc.pid, SIGTERM, 10000);
}

typedef struct {
    int         port;
    atomic_int  stop;
    atomic_long ok, failed;
} s_swap_load_t;

static void *s_swap_loader(void *arg)
{
    s_swap_load_t *l = arg;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/x", l->port);
    while (!atomic_load(&l->stop)) {
        gw_resp_t r;
        gw_http(&r, "GET", url, NULL, NULL);
        if (r.status == 200)
            atomic_fetch_add(&l->ok, 1);
        else
            atomic_fetch_add(&l->failed, 1);
        gw_resp_free(&r);
    }
    return NULL;
}

#define SWAP_TOKEN "zmq-swap-token-4d2c9e"

/* The pool's targets swapped back and forth between two services (and an
 * HTTP pool's JSON for a zmq one) under load: no request fails, and both
 * services served. */
static void test_a_hot_swap_of_zmq_targets_under_load_fails_no_request(void)
{
    gw_proc_t a, b, gw;
    CU_ASSERT_FATAL(s_service(&a, "zmq-echo-service", "swap-a") == 0);
    CU_ASSERT_FATAL(s_service(&b, "zmq-echo-service", "swap-b") == 0);
    static const char *doc =
        "{\"admin\":{\"token\":\"" SWAP_TOKEN "\"},"
        "\"pools\":[{\"name\":\"z\",\"targets\":[\"zmq+tcp://127.0.0.1:%d\"]}],"
        "\"routes\":[{\"name\":\"api\",\"match\":{\"prefix\":\"/api\"},\"pool\":\"z\"}]}";
    CU_ASSERT_FATAL(gw_gateway_start(&gw, "gw-zmq-swap", doc, a.port) == 0);
    s_swap_load_t load = { gw.port, 0, 0, 0 };
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, s_swap_loader, &load);
    char cfg[1024], v[64];
    int swaps = 0, served_b = 0;
    for (int i = 0; i < 10; i++) {
        snprintf(cfg, sizeof cfg, doc, i % 2 ? a.port : b.port);
        gw_resp_t r;
        swaps += gw_admin_put(&gw, SWAP_TOKEN, cfg, 0, &r) == 200;
        gw_resp_free(&r);
        gw_http(&r, "GET", s_at(&gw, "/api/probe"), NULL, NULL);
        served_b += i % 2 == 0 && gw_resp_header(&r, "X-Served-By", v, sizeof v) &&
                    strcmp(v, "swap-b") == 0;
        gw_resp_free(&r);
        h_sleep_ms(30);
    }
    atomic_store(&load.stop, 1);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    CU_ASSERT_EQUAL(swaps, 10);
    CU_ASSERT_EQUAL(served_b, 5);
    CU_ASSERT(atomic_load(&load.ok) > 0);
    CU_ASSERT_EQUAL(atomic_load(&load.failed), 0);
    CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 10000), 0);
    h_stop(a.pid, SIGTERM, 10000);
    h_stop(b.pid, SIGTERM, 10000);
}

static const gw_proc_t *s_breaker_gw;

static int s_breaker_open(void *arg)
{
    (void)arg;
    return gw_metric(s_breaker_gw, "dtx_gw_breaker_state{rule=\"brk\",key=\"r\"}") == 1;
}

static void test_the_breaker_opens_on_failing_answers(void)
{
    gw_proc_t svc, gw;
    CU_ASSERT_FATAL(s_service(&svc, "zmq-echo-service", "failing") == 0);
    CU_ASSERT_FATAL(gw_gateway_start(&gw, "gw-zmq-breaker",
        "{\"pools\":[{\"name\":\"z\",\"targets\":[\"zmq+tcp://127.0.0.1:%d\"],"
        "\"ejection\":{\"consecutive_5xx\":0}}],"
        "\"rules\":[{\"name\":\"brk\",\"type\":\"breaker\",\"consecutive_failures\":3,"
        "\"open_ms\":600000}],"
        "\"routes\":[{\"name\":\"r\",\"match\":{\"prefix\":\"/\"},\"pool\":\"z\","
        "\"rules\":[\"brk\"]}]}", svc.port) == 0);
    const char *fail[] = { "X-Status: 500", NULL };
    gw_resp_t r;
    for (int i = 0; i < 3; i++) {
        gw_http(&r, "GET", s_at(&gw, "/f"), fail, NULL);
        CU_ASSERT_EQUAL(r.status, 500);
        gw_resp_free(&r);
    }
    s_breaker_gw = &gw;
    CU_ASSERT_EQUAL(h_wait_until(s_breaker_open, NULL, 10000), 0);
    double sent = gw_metric(&gw, "dtx_gw_zmq_requests_total");
    gw_http(&r, "GET", s_at(&gw, "/f"), NULL, NULL);
    CU_ASSERT_EQUAL(r.status, 503);
    gw_resp_free(&r);
    CU_ASSERT_EQUAL(gw_metric(&gw, "dtx_gw_zmq_requests_total"), sent);  /* not sent */
    CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 10000), 0);
    h_stop(svc.pid, SIGTERM, 10000);
}

static void test_malformed_replies_answer_502_and_are_counted(void)
{
    gw_proc_t svc, gw;
    CU_ASSERT_FATAL(s_service(&svc, "zmq-service.py", "bad") == 0);
    CU_ASSERT_FATAL(gw_gateway_start(&gw, "gw-zmq-malformed",
        "{\"pools\":[{\"name\":\"z\",\"targets\":[\"zmq+tcp://127.0.0.1:%d\"],"
        "\"timeout_ms\":3000,\"ejection\":{\"consecutive_5xx\":0}}],"
        "\"routes\":[{\"name\":\"r\",\"match\":{\"prefix\":\"/\"},\"pool\":\"z\"}]}",
        svc.port) == 0);
    const char *paths[] = { "/bad/version", "/bad/frames", "/bad/status", "/bad/headers" };
    for (int i = 0; i < 4; i++) {
        gw_resp_t r;
        gw_http(&r, "GET", s_at(&gw, paths[i]), NULL, NULL);
        if (r.status != 502)
            fprintf(stderr, "\n  %s: %ld\n", paths[i], r.status);
        CU_ASSERT_EQUAL(r.status, 502);
        gw_resp_free(&r);
    }
    CU_ASSERT_EQUAL(gw_metric(&gw, "dtx_gw_zmq_replies_malformed_total"), 4);
    gw_resp_t r;
    gw_http(&r, "GET", s_at(&gw, "/fine"), NULL, NULL);
    CU_ASSERT_EQUAL(r.status, 200);               /* the socket still works */
    gw_resp_free(&r);
    CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 10000), 0);
    h_stop(svc.pid, SIGTERM, 10000);
}

typedef struct {
    const char *gid;
} s_committed_t;

static int s_is_committed(void *arg)
{
    s_committed_t *w = arg;
    char state[32] = "";
    if (h_db_scalar_text(s_db, state, sizeof state,
                         "select dtx_state_name(state) from dtx_global where gid = '%s'",
                         w->gid) < 0)
        return 0;
    return strcmp(state, "committed") == 0;
}

static void test_a_transactional_route_passes_the_gid(void)
{
    gw_proc_t svc, gw;
    CU_ASSERT_FATAL(s_service(&svc, "zmq-echo-service", "txn") == 0);
    CU_ASSERT_FATAL(gw_gateway_start(&gw, "gw-zmq-txn",
        "{\"dtxd\":{\"endpoint\":\"%s\",\"timeout_ms\":5000},"
        "\"pools\":[{\"name\":\"z\",\"targets\":[\"zmq+tcp://127.0.0.1:%d\"]}],"
        "\"routes\":[{\"name\":\"orders\",\"match\":{\"prefix\":\"/orders\"},\"pool\":\"z\","
        "\"transaction\":{\"timeout_ms\":20000}},"
        "{\"name\":\"plain\",\"match\":{\"prefix\":\"/\"},\"pool\":\"z\"}]}",
        s_dtxd.endpoint, svc.port) == 0);
    gw_resp_t r;
    char gid[DTX_GID_SIZE], hdr[DTX_GID_SIZE], ans[DTX_GID_SIZE];
    CU_ASSERT_FATAL(gw_http(&r, "POST", s_at(&gw, "/orders"), NULL, "{\"item\":1}") == 0);
    CU_ASSERT_EQUAL(r.status, 200);
    s_field(r.body, NULL, "gid", gid, sizeof gid);
    s_field(r.body, "headers", "Dtx-Gid", hdr, sizeof hdr);
    CU_ASSERT(gid[0] != '\0');
    CU_ASSERT_STRING_EQUAL(gid, hdr);              /* the frame and the header agree */
    CU_ASSERT(gw_resp_header(&r, "Dtx-Gid", ans, sizeof ans) && strcmp(ans, gid) == 0);
    gw_resp_free(&r);
    if (gid[0]) {
        s_committed_t w = { gid };
        CU_ASSERT_EQUAL(h_wait_until(s_is_committed, &w, 10000), 0);
    }
    CU_ASSERT_FATAL(gw_http(&r, "POST", s_at(&gw, "/plain"), NULL, "x") == 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(s_field(r.body, NULL, "gid", gid, sizeof gid), "");
    gw_resp_free(&r);
    CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 10000), 0);
    h_stop(svc.pid, SIGTERM, 10000);
}

static int s_init(void)
{
    char db[H_CONNINFO_SIZE];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (h_init() < 0 || h_db_create("gw_zmq", db, sizeof db) < 0)
        return -1;
    memset(&s_dtxd, 0, sizeof s_dtxd);
    snprintf(s_dtxd.logname, sizeof s_dtxd.logname, "gw-zmq-dtxd");
    if (h_dtxd_start(&s_dtxd, db, NULL) < 0)
        return -1;
    s_db = h_db_connect("gw_zmq");
    return s_db ? 0 : -1;
}

static int s_cleanup(void)
{
    int rc = h_dtxd_stop(&s_dtxd) == 0 ? 0 : -1;
    if (s_db)
        PQfinish(s_db);
    s_db = NULL;
    return rc;
}

INTEG_SUITE(gateway_zmq)
{
    CU_pSuite s = CU_add_suite("gateway_zmq", s_init, s_cleanup);
    CU_add_test(s, "GET and POST round trip through the C sample",
                test_get_and_post_round_trip_through_the_c_sample);
    CU_add_test(s, "a Python service written from the doc interoperates",
                test_a_python_service_written_from_the_doc_interoperates);
    CU_add_test(s, "timeout answers 504 and the late reply is dropped",
                test_timeout_answers_504_and_the_late_reply_is_dropped);
    CU_add_test(s, "concurrent requests on one socket get their own answers",
                test_concurrent_requests_on_one_socket_get_their_own_answers);
    CU_add_test(s, "a dead target fails over to another", test_a_dead_target_fails_over_to_another);
    CU_add_test(s, "the breaker opens on failing answers",
                test_the_breaker_opens_on_failing_answers);
    CU_add_test(s, "malformed replies answer 502 and are counted",
                test_malformed_replies_answer_502_and_are_counted);
    CU_add_test(s, "a hot swap of zmq targets under load fails no request",
                test_a_hot_swap_of_zmq_targets_under_load_fails_no_request);
    CU_add_test(s, "a transactional route passes the gid",
                test_a_transactional_route_passes_the_gid);
}
