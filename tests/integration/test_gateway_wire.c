/*
 * The gateway's upstream client on the wire, against a raw upstream on a
 * thread of this process (gw_raw.h) that answers with exact bytes —
 * chunked, until close, with an interim 100, cut short, malformed — and
 * can close a kept-alive connection the moment the next request arrives.
 * A real dtx-gateway (one worker, so its connection cache is one) sits
 * between it and a real HTTP client (libcurl, or a raw socket where the
 * test must control the bytes sent).
 *
 * Each test sets the script, makes its requests, and checks what the
 * client got and what the upstream saw (connections accepted, requests,
 * the last request head). Between tests the upstream closes every
 * connection it holds, so no test inherits another's connection. The world
 * is gw_wire.h's; answers and requests the gateway must not relay are
 * suite gateway_edges, test_gateway_edges.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gw_raw.h"
#include "gw_util.h"
#include "gw_wire.h"
#include "integ.h"

static int s_init(void)
{
    return gww_start("gw-wire");
}

static int s_cleanup(void)
{
    return gww_stop();
}

/* ---------------- scripts ---------------- */

static gw_raw_act_t s_interim(int conn, int nth)
{
    (void)conn;
    (void)nth;
    return (gw_raw_act_t){ .answer = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n"
                      "Content-Length: 4\r\n\r\nmade", .close_after = 0 };
}

/* Closes connection 1 when its second request arrives, as an upstream
 * does when its keep-alive timeout and the request cross. */
static gw_raw_act_t s_drop_second(int conn, int nth)
{
    if (conn == 1 && nth == 2)
        return (gw_raw_act_t){ .answer = NULL, .close_after = 1 };
    return (gw_raw_act_t){ .answer = GWW_OK, .close_after = 0 };
}

static gw_raw_act_t s_never(int conn, int nth)
{
    (void)conn;
    (void)nth;
    return (gw_raw_act_t){ .answer = NULL, .close_after = 1 };
}


static gw_raw_act_t s_echo(int conn, int nth)
{
    (void)conn;
    (void)nth;
    return (gw_raw_act_t){ .echo_body = 1 };
}

static int s_saw_request(void *arg)
{
    (void)arg;
    return gw_raw_requests() >= 1;
}


/* The test body: n bytes of a fixed pattern. */
static char *s_pattern(size_t n)
{
    char *p = malloc(n);
    for (size_t i = 0; p && i < n; i++)
        p[i] = (char)('a' + (i * 7 + i / 1000) % 26);
    return p;
}

/* ---------------- tests ---------------- */

static void test_chunked_answer_is_decoded_and_passed_on(void)
{
    gw_raw_use(gww_chunked);
    gw_resp_t r;
    char v[64];
    CU_ASSERT_EQUAL_FATAL(gww_get(&r, "GET", "/wire/x?q=1"), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(r.body, "hello world");
    CU_ASSERT_PTR_NOT_NULL(gw_resp_header(&r, "X-Up", v, sizeof v));
    gw_resp_free(&r);
    /* The request line carries the target's base path; the head is
     * HTTP/1.1 with the proxy headers. */
    char head[4096];
    gw_raw_last_head(head, sizeof head);
    CU_ASSERT_NSTRING_EQUAL(head, "GET /base/wire/x?q=1 HTTP/1.1\r\n", 31);
    CU_ASSERT_PTR_NOT_NULL(strstr(head, "\r\nX-Forwarded-For: 127.0.0.1\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(head, "\r\nX-Request-Id: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(head, "\r\nHost: 127.0.0.1:"));
}

static void test_kept_alive_connection_carries_the_next_requests(void)
{
    gw_raw_use(gww_ok);
    for (int i = 0; i < 5; i++) {
        gw_resp_t r;
        CU_ASSERT_EQUAL_FATAL(gww_get(&r, "GET", "/wire/k"), 0);
        CU_ASSERT_EQUAL(r.status, 200);
        CU_ASSERT_STRING_EQUAL(r.body, "ok");
        gw_resp_free(&r);
    }
    CU_ASSERT_EQUAL(gw_raw_requests(), 5);
    CU_ASSERT_EQUAL(gw_raw_accepted(), 1);
    /* The gateway counts what the upstream saw: every connection it opened. */
    char line[160];
    snprintf(line, sizeof line,
             "dtx_gw_target_connects_total{pool=\"raw\",target=\"http://127.0.0.1:%d/base\"}",
             gw_raw_port());
    double before = gw_metric(&gww_gw, line);
    gw_resp_t r;
    CU_ASSERT_EQUAL_FATAL(gww_get(&r, "GET", "/wire/k"), 0);
    gw_resp_free(&r);
    CU_ASSERT(before >= 1);
    CU_ASSERT_EQUAL(gw_metric(&gww_gw, line), before);  /* reused: no new connection */
}

static void test_answer_until_close_is_whole_and_not_reused(void)
{
    gw_raw_use(gww_until_close);
    for (int i = 0; i < 2; i++) {
        gw_resp_t r;
        CU_ASSERT_EQUAL_FATAL(gww_get(&r, "GET", "/wire/c"), 0);
        CU_ASSERT_EQUAL(r.status, 200);
        CU_ASSERT_STRING_EQUAL(r.body, "until the end");
        gw_resp_free(&r);
    }
    CU_ASSERT_EQUAL(gw_raw_accepted(), 2);
}

static void test_interim_answer_is_skipped(void)
{
    gw_raw_use(s_interim);
    gw_resp_t r;
    CU_ASSERT_EQUAL_FATAL(gww_get(&r, "GET", "/wire/i"), 0);
    CU_ASSERT_EQUAL(r.status, 201);
    CU_ASSERT_STRING_EQUAL(r.body, "made");
    gw_resp_free(&r);
}

static void test_dead_kept_connection_is_retried_on_a_new_one(void)
{
    gw_raw_use(s_drop_second);
    for (int i = 0; i < 2; i++) {
        gw_resp_t r;
        CU_ASSERT_EQUAL_FATAL(gww_get(&r, "GET", "/wire/d"), 0);
        CU_ASSERT_EQUAL(r.status, 200);
        gw_resp_free(&r);
    }
    CU_ASSERT_EQUAL(gw_raw_accepted(), 2);   /* the second request moved to a new connection */
    CU_ASSERT_EQUAL(gw_raw_requests(), 3);   /* and reached the upstream twice */
}

static void test_new_connection_closed_without_answer_is_502_once(void)
{
    gw_raw_use(s_never);
    gw_resp_t r;
    CU_ASSERT_EQUAL_FATAL(gww_get(&r, "GET", "/wire/n"), 0);
    CU_ASSERT_EQUAL(r.status, 502);
    gw_resp_free(&r);
    CU_ASSERT_EQUAL(gw_raw_requests(), 1);   /* a fresh connection is not retried */
}

static void test_broken_answers_are_502(void)
{
    static char big[24 * 1024];
    size_t n = (size_t)snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\nX-Big: ");
    memset(big + n, 'b', sizeof big - n - 64);
    snprintf(big + sizeof big - 64, 64, "\r\nContent-Length: 2\r\n\r\nok");
    for (size_t i = n; i < sizeof big - 64; i++)
        big[i] = 'b';
    const char *const bad[] = {
        "HTTP/1.1 abc\r\n\r\n",
        "SPDY/3 200 OK\r\nContent-Length: 2\r\n\r\nok",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
        "HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 2\r\n\r\nok",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n",
        big,
        NULL };
    for (int i = 0; bad[i]; i++) {
        gww_bad_answer = bad[i];
        gw_raw_use(gww_bad);
        gw_resp_t r;
        CU_ASSERT_EQUAL_FATAL(gww_get(&r, "GET", "/wire/b"), 0);
        if (r.status != 502)
            fprintf(stderr, "\n  answer %d: got %ld\n", i, r.status);
        CU_ASSERT_EQUAL(r.status, 502);
        gw_resp_free(&r);
    }
}

static void test_answer_cut_short_never_looks_complete(void)
{
    gww_bad_answer = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this";
    gw_raw_use(gww_bad);
    gw_resp_t r;
    int rc = gww_get(&r, "GET", "/wire/s");
    /* Either a 502 (nothing had gone to the client) or a cut transfer
     * the client sees as failed: never a whole 200. */
    CU_ASSERT(rc != 0 || r.status == 502 || (r.status == 200 && r.body_len < 100));
    CU_ASSERT_FALSE(rc == 0 && r.status == 200 && r.body_len == 100);
    gw_resp_free(&r);                /* a failed transfer may hold a partial body */
    /* The gateway goes on serving. */
    gw_raw_use(gww_ok);
    CU_ASSERT_EQUAL_FATAL(gww_get(&r, "GET", "/wire/after"), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    gw_resp_free(&r);
}

static void test_every_answer_header_goes_on(void)
{
    static char answer[8192];
    size_t n = (size_t)snprintf(answer, sizeof answer, "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(answer + n, sizeof answer - n, "Set-Cookie: c%d=v%d\r\n", i, i);
    snprintf(answer + n, sizeof answer - n, "Content-Length: 2\r\n\r\nok");
    gww_bad_answer = answer;
    gw_raw_use(gww_bad);
    gw_resp_t r;
    CU_ASSERT_EQUAL_FATAL(gww_get(&r, "GET", "/wire/cookies"), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    int seen = 0;
    for (const char *p = r.headers; (p = strstr(p, "Set-Cookie: c")); p++)
        seen++;
    CU_ASSERT_EQUAL(seen, 100);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.headers, "Set-Cookie: c99=v99"));
    gw_resp_free(&r);
}

static void test_head_just_under_the_limit_goes_through(void)
{
    static char answer[20000];
    size_t v = 15 * 1024;            /* the whole head stays under 16 KiB */
    size_t n = (size_t)snprintf(answer, sizeof answer, "HTTP/1.1 200 OK\r\nX-Big: ");
    memset(answer + n, 'b', v);
    snprintf(answer + n + v, sizeof answer - n - v, "\r\nContent-Length: 2\r\n\r\nok");
    gww_bad_answer = answer;
    gw_raw_use(gww_bad);
    gw_resp_t r;
    CU_ASSERT_EQUAL_FATAL(gww_get(&r, "GET", "/wire/big"), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(r.body, "ok");
    const char *h = strstr(r.headers, "X-Big: ");
    CU_ASSERT_PTR_NOT_NULL(h);
    if (h)
        CU_ASSERT_EQUAL(strspn(h + 7, "b"), v);
    gw_resp_free(&r);
}

static void test_head_answer_has_no_body_to_wait_for(void)
{
    gww_bad_answer = "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n";
    gw_raw_use(gww_bad);
    gw_resp_t r;
    char v[32];
    CU_ASSERT_EQUAL_FATAL(gww_get(&r, "HEAD", "/wire/h"), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_PTR_NOT_NULL(gw_resp_header(&r, "Content-Length", v, sizeof v));
    if (gw_resp_header(&r, "Content-Length", v, sizeof v))
        CU_ASSERT_STRING_EQUAL(v, "50");
    gw_resp_free(&r);
}

static void test_large_body_streams_before_it_is_complete(void)
{
    gw_raw_use(s_echo);
    const size_t n = 1 << 20, first = 128 * 1024;
    char *body = s_pattern(n);
    int fd = gww_client();
    CU_ASSERT_FATAL(fd >= 0 && body);
    char head[256];
    int hl = snprintf(head, sizeof head, "POST /wire/big HTTP/1.1\r\nHost: t\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n", n);
    gw_raw_write_all(fd, head, (size_t)hl);
    gw_raw_write_all(fd, body, first);
    /* The upstream sees the request while most of the body is still with
     * the client: a gateway that read bodies whole first would wait here. */
    CU_ASSERT(h_wait_until(s_saw_request, NULL, 10000) == 0);
    char seen[4096];
    gw_raw_last_head(seen, sizeof seen);
    CU_ASSERT_PTR_NOT_NULL(strstr(seen, "\r\nContent-Length: 1048576\r\n"));
    gw_raw_write_all(fd, body + first, n - first);
    char got[128], want[64];
    CU_ASSERT_EQUAL(gww_client_answer(fd, got, sizeof got), 200);
    snprintf(want, sizeof want, "%zu %016llx", n,
             (unsigned long long)gw_raw_fnv(GW_RAW_FNV_START, body, n));
    CU_ASSERT_STRING_EQUAL(got, want);
    free(body);
}

/* Sends body as chunks of 10000 bytes (the last one shorter). */
static void s_send_chunked(int fd, const char *body, size_t n)
{
    for (size_t off = 0; off < n; off += 10000) {
        size_t k = n - off < 10000 ? n - off : 10000;
        char line[32];
        int ll = snprintf(line, sizeof line, "%zx\r\n", k);
        gw_raw_write_all(fd, line, (size_t)ll);
        gw_raw_write_all(fd, body + off, k);
        gw_raw_write_all(fd, "\r\n", 2);
    }
    gw_raw_write_all(fd, "0\r\n\r\n", 5);
}

static void *s_send_thread(void *arg)
{
    const char **a = arg;
    int fd = (int)(intptr_t)a[0];
    gw_raw_write_all(fd, a[1], (size_t)(intptr_t)a[2]);
    return NULL;
}

static void test_slow_upstream_holds_the_client_back(void)
{
    gw_raw_use(s_echo);
    gw_raw_set_slow(1);
    const size_t n = 8u << 20;
    char *body = s_pattern(n);
    int fd = gww_client();
    CU_ASSERT_FATAL(fd >= 0 && body);
    char head[256];
    int hl = snprintf(head, sizeof head, "POST /wire/slow HTTP/1.1\r\nHost: t\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n", n);
    gw_raw_write_all(fd, head, (size_t)hl);
    const char *args[3] = { (const char *)(intptr_t)fd, body, (const char *)(intptr_t)n };
    pthread_t th;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, s_send_thread, args), 0);
    char got[128], want[64];
    int st = gww_client_answer_keep(fd, got, sizeof got);
    pthread_join(th, NULL);
    close(fd);
    CU_ASSERT_EQUAL(st, 200);
    snprintf(want, sizeof want, "%zu %016llx", n,
             (unsigned long long)gw_raw_fnv(GW_RAW_FNV_START, body, n));
    CU_ASSERT_STRING_EQUAL(got, want);
    gw_raw_set_slow(0);
    free(body);
}

static void test_chunked_upload_streams_chunked_upstream(void)
{
    gw_raw_use(s_echo);
    const size_t n = 300 * 1000 + 17;
    char *body = s_pattern(n);
    int fd = gww_client();
    CU_ASSERT_FATAL(fd >= 0 && body);
    const char *head = "PUT /wire/chunks HTTP/1.1\r\nHost: t\r\n"
                       "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    gw_raw_write_all(fd, head, strlen(head));
    s_send_chunked(fd, body, n);
    char got[128], want[64];
    CU_ASSERT_EQUAL(gww_client_answer(fd, got, sizeof got), 200);
    snprintf(want, sizeof want, "%zu %016llx", n,
             (unsigned long long)gw_raw_fnv(GW_RAW_FNV_START, body, n));
    CU_ASSERT_STRING_EQUAL(got, want);
    char seen[4096];
    gw_raw_last_head(seen, sizeof seen);
    CU_ASSERT_PTR_NOT_NULL(strstr(seen, "\r\nTransfer-Encoding: chunked\r\n"));
    CU_ASSERT_PTR_NULL(strstr(seen, "Content-Length"));
    free(body);
}

static void test_small_body_goes_whole_with_its_length(void)
{
    gw_raw_use(s_echo);
    gw_resp_t r;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/wire/small", gww_gw.port);
    CU_ASSERT_EQUAL_FATAL(gw_http(&r, "POST", url, NULL, "0123456789"), 0);
    char want[64];
    snprintf(want, sizeof want, "10 %016llx",
             (unsigned long long)gw_raw_fnv(GW_RAW_FNV_START, "0123456789", 10));
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(r.body, want);
    gw_resp_free(&r);
    char head[4096];
    gw_raw_last_head(head, sizeof head);
    CU_ASSERT_PTR_NOT_NULL(strstr(head, "\r\nContent-Length: 10\r\n"));
}

static void test_chunked_upload_over_max_body_is_413(void)
{
    gw_raw_use(s_echo);
    const size_t n = 300 * 1000;
    char *body = s_pattern(n);
    int fd = gww_client();
    CU_ASSERT_FATAL(fd >= 0 && body);
    const char *head = "POST /capped/x HTTP/1.1\r\nHost: t\r\n"
                       "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    gw_raw_write_all(fd, head, strlen(head));
    s_send_chunked(fd, body, n);     /* the gateway may stop reading: sends may fail */
    char got[256];
    int st = gww_client_answer(fd, got, sizeof got);
    if (st != 413)
        fprintf(stderr, "\n  got %d: %s\n", st, got);
    CU_ASSERT_EQUAL(st, 413);
    CU_ASSERT_PTR_NOT_NULL(strstr(got, "body too large"));
    free(body);
    /* The gateway goes on serving. */
    gw_resp_t r;
    gw_raw_use(gww_ok);
    CU_ASSERT_EQUAL_FATAL(gww_get(&r, "GET", "/wire/after"), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    gw_resp_free(&r);
}

static void test_connect_that_hangs_moves_to_the_next_target(void)
{
    /* A listener whose accept queue is full and never accepted: the
     * kernel drops further SYNs, so a connect to it hangs. */
    int silent = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof a;
    CU_ASSERT_FATAL(silent >= 0 && bind(silent, (struct sockaddr *)&a, sizeof a) == 0 &&
                    listen(silent, 0) == 0 &&
                    getsockname(silent, (struct sockaddr *)&a, &al) == 0);
    int fill[4];
    for (int i = 0; i < 4; i++) {
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        connect(fill[i], (struct sockaddr *)&a, sizeof a);
    }
    usleep(100 * 1000);              /* the fillers' handshakes settle */
    gw_raw_use(gww_ok);
    gw_proc_t gw2;
    static const char *const one[] = { "--workers", "1", NULL };
    CU_ASSERT_EQUAL_FATAL(gw_gateway_start_args(&gw2, "gw-wire-hang", one,
        "{\"pools\":[{\"name\":\"two\",\"lb\":\"round_robin\",\"retries\":1,"
        "\"connect_timeout_ms\":300,\"targets\":[\"http://127.0.0.1:%d\","
        "\"http://127.0.0.1:%d\"],"
        "\"ejection\":{\"consecutive_5xx\":0,\"consecutive_connect_errors\":0}}],"
        "\"routes\":[{\"name\":\"all\",\"match\":{\"prefix\":\"/\"},\"pool\":\"two\"}]}",
        ntohs(a.sin_port), gw_raw_port()), 0);
    for (int i = 0; i < 2; i++) {    /* round robin: one of the two starts at the silent one */
        char url[128];
        snprintf(url, sizeof url, "http://127.0.0.1:%d/wire/hang", gw2.port);
        gw_resp_t r;
        CU_ASSERT_EQUAL_FATAL(gw_http(&r, "GET", url, NULL, NULL), 0);
        CU_ASSERT_EQUAL(r.status, 200);
        gw_resp_free(&r);
    }
    CU_ASSERT_EQUAL(gw_raw_requests(), 2);
    CU_ASSERT(h_log_has("gw-wire-hang", "connect timed out"));
    CU_ASSERT_EQUAL(h_stop(gw2.pid, SIGTERM, 10000), 0);
    for (int i = 0; i < 4; i++)
        close(fill[i]);
    close(silent);
}

INTEG_SUITE(gateway_wire)
{
    CU_pSuite s = CU_add_suite("gateway_wire", s_init, s_cleanup);
    CU_add_test(s, "chunked answer is decoded and passed on",
                test_chunked_answer_is_decoded_and_passed_on);
    CU_add_test(s, "kept-alive connection carries the next requests",
                test_kept_alive_connection_carries_the_next_requests);
    CU_add_test(s, "answer until close is whole and not reused",
                test_answer_until_close_is_whole_and_not_reused);
    CU_add_test(s, "interim answer is skipped", test_interim_answer_is_skipped);
    CU_add_test(s, "dead kept connection is retried on a new one",
                test_dead_kept_connection_is_retried_on_a_new_one);
    CU_add_test(s, "new connection closed without answer is 502 once",
                test_new_connection_closed_without_answer_is_502_once);
    CU_add_test(s, "broken answers are 502", test_broken_answers_are_502);
    CU_add_test(s, "answer cut short never looks complete",
                test_answer_cut_short_never_looks_complete);
    CU_add_test(s, "every answer header goes on", test_every_answer_header_goes_on);
    CU_add_test(s, "head just under the limit goes through",
                test_head_just_under_the_limit_goes_through);
    CU_add_test(s, "head answer has no body to wait for",
                test_head_answer_has_no_body_to_wait_for);
    CU_add_test(s, "large body streams before it is complete",
                test_large_body_streams_before_it_is_complete);
    CU_add_test(s, "slow upstream holds the client back", test_slow_upstream_holds_the_client_back);
    CU_add_test(s, "chunked upload streams chunked upstream",
                test_chunked_upload_streams_chunked_upstream);
    CU_add_test(s, "small body goes whole with its length",
                test_small_body_goes_whole_with_its_length);
    CU_add_test(s, "chunked upload over max_body is 413", test_chunked_upload_over_max_body_is_413);
    CU_add_test(s, "connect that hangs moves to the next target",
                test_connect_that_hangs_moves_to_the_next_target);
}
