/*
 * The gateway's untrusted edges on the wire, against the raw upstream of
 * gw_raw.h behind a real dtx-gateway (the world of gw_wire.h, as suite
 * gateway_wire has it): answers whose framing it cannot relay faithfully,
 * headers the upstream names in its Connection header, requests two HTTP
 * parsers could read two ways, the normalised path that goes upstream,
 * and every misbehaviour of the upstream at once.
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
    return gww_start("gw-edges");
}

static int s_cleanup(void)
{
    return gww_stop();
}

/* Answers whose framing the gateway cannot relay faithfully: a length
 * beyond int64 (was forwarded as 9223372036854775807), a transfer coding
 * other than chunked (was forwarded without its coding). */
static void test_answers_the_gateway_cannot_frame_are_502(void)
{
    const char *const bad[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775808\r\n\r\nok",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\nok",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nnot really gzip",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, identity\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        NULL };
    for (int i = 0; bad[i]; i++) {
        gww_bad_answer = bad[i];
        gw_raw_use(gww_bad);
        gw_resp_t r;
        CU_ASSERT_EQUAL_FATAL(gww_get(&r, "GET", "/wire/frame"), 0);
        if (r.status != 502)
            fprintf(stderr, "\n  answer %d: got %ld\n", i, r.status);
        CU_ASSERT_EQUAL(r.status, 502);
        gw_resp_free(&r);
    }
}

/* Headers the upstream names in its Connection header are for the
 * gateway's connection only (RFC 9110 7.6.1): the client never sees
 * them. An upstream cannot forge the gateway's Dtx-Gid either. */
static void test_headers_named_by_connection_are_dropped(void)
{
    gww_bad_answer = "HTTP/1.1 200 OK\r\nConnection: X-Secret, x-other\r\nX-Secret: s\r\n"
                   "X-Keep: k\r\nX-Other: o\r\nConnection: keep-alive\r\nDtx-Gid: forged\r\n"
                   "Content-Length: 2\r\n\r\nok";
    gw_raw_use(gww_bad);
    gw_resp_t r;
    CU_ASSERT_EQUAL_FATAL(gww_get(&r, "GET", "/wire/conn"), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    char v[64];
    CU_ASSERT_PTR_NULL(gw_resp_header(&r, "X-Secret", v, sizeof v));
    CU_ASSERT_PTR_NULL(gw_resp_header(&r, "X-Other", v, sizeof v));
    CU_ASSERT_PTR_NULL(gw_resp_header(&r, "Dtx-Gid", v, sizeof v));
    CU_ASSERT_PTR_NOT_NULL(gw_resp_header(&r, "X-Keep", v, sizeof v));
    gw_resp_free(&r);
}

/* Requests whose framing or syntax two HTTP parsers could read two ways
 * (RFC 9112 6.1, 6.3; 5.1): 400, and nothing reaches the upstream. */
static void test_ambiguous_requests_are_400_and_go_nowhere(void)
{
    const char *const bad[] = {
        "POST /wire/r HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n"
        "Content-Length: 5\r\n\r\nokabc",
        "POST /wire/r HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n"
        "Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        "POST /wire/r HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        "Transfer-Encoding: chunked, identity\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        "POST /wire/r HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        "Transfer-Encoding: identity\r\n\r\nok",
        "POST /wire/r HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        "Transfer-Encoding: gzip\r\n\r\nok",
        "POST /wire/r HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n"
        "Transfer-Encoding:\r\n chunked\r\n\r\nok",
        "POST /wire/r HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n"
        "Transfer-Encoding: gzip\r\n chunked\r\n\r\nok",
        "POST /wire/r HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n"
        "X-A: 1\r\n\tTransfer-Encoding: chunked\r\n\r\nok",
        "GET /wire/r HTTP/1.1\r\nHost: x\r\nConnection: close\r\nBad Name: v\r\n\r\n",
        "GET /wire/a\x01" "b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /wire/r?q=\x01 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /wire/a%2Fb HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /wire/a%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /wire/../../etc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /wire;a=b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        NULL };
    for (int i = 0; bad[i]; i++) {
        gw_raw_use(gww_ok);
        int fd = gww_client();
        CU_ASSERT_FATAL(fd >= 0);
        gw_raw_write_all(fd, bad[i], strlen(bad[i]));
        char body[512];
        int st = gww_client_answer(fd, body, sizeof body);
        if (st != 400 || gw_raw_requests() != 0) {
            char head[2048];
            gw_raw_last_head(head, sizeof head);
            fprintf(stderr, "\n  request %d: got %d, upstream saw %d: %s\n", i, st,
                    gw_raw_requests(), head);
        }
        CU_ASSERT_EQUAL(st, 400);
        CU_ASSERT_EQUAL(gw_raw_requests(), 0);
    }
}

/* What goes upstream is the normalised path (the one that was matched),
 * the query as it came. */
static void test_normalised_path_goes_upstream(void)
{
    static const char *const pairs[][2] = {
        { "/x/../wire//p/./q/", "GET /base/wire/p/q " },
        { "/%77ire/%7e%3b?a=%2F", "GET /base/wire/~%3B?a=%2F " },
        { "/wire/%2e%2E/wire/caf%c3%a9", "GET /base/wire/caf%C3%A9 " },
        { NULL, NULL } };
    for (int i = 0; pairs[i][0]; i++) {
        gw_raw_use(gww_ok);
        gw_resp_t r;
        CU_ASSERT_EQUAL_FATAL(gww_get(&r, "GET", pairs[i][0]), 0);
        CU_ASSERT_EQUAL(r.status, 200);
        gw_resp_free(&r);
        char head[4096];
        gw_raw_last_head(head, sizeof head);
        if (strncmp(head, pairs[i][1], strlen(pairs[i][1])) != 0)
            fprintf(stderr, "\n  %s went up as %.60s\n", pairs[i][0], head);
        CU_ASSERT_EQUAL(strncmp(head, pairs[i][1], strlen(pairs[i][1])), 0);
    }
}

/* Every kind of answer at once, chosen by (connection, request). */
static gw_raw_act_t s_chaos(int conn, int nth)
{
    unsigned h = (unsigned)conn * 2654435761u ^ (unsigned)nth * 40503u;
    switch ((h >> 7) % 10) {
    case 0:
        return gww_chunked(conn, nth);
    case 1:
        return (gw_raw_act_t){ .answer = NULL, .close_after = 1 };   /* closed, no answer */
    case 2:
        return (gw_raw_act_t){ .answer = "HTTP/1.1 2x0 OK\r\n\r\n", .close_after = 1 };
    case 3:
        return (gw_raw_act_t){ .answer = "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\ncut",
                          .close_after = 1 };
    case 4:
        return gww_until_close(conn, nth);
    default:
        return gww_ok(conn, nth);
    }
}

typedef struct {
    int ok, bad_gateway, failed, other;
} s_tally_t;

static void *s_chaos_client(void *arg)
{
    s_tally_t *t = arg;
    for (int i = 0; i < 40; i++) {
        gw_resp_t r;
        int rc = gww_get(&r, "GET", "/wire/chaos");
        if (rc != 0)
            t->failed++;             /* a cut stream: the client sees it fail */
        else if (r.status == 200 && (strcmp(r.body, "ok") == 0 ||
                                     strcmp(r.body, "hello world") == 0 ||
                                     strcmp(r.body, "until the end") == 0))
            t->ok++;
        else if (r.status == 502)
            t->bad_gateway++;
        else
            t->other++;
        gw_resp_free(&r);
    }
    return NULL;
}

/* The gateway's calls to the raw upstream still in flight are 0 (they end
 * when each request ends, just after its answer left). */
static int s_nothing_in_flight(void *arg)
{
    (void)arg;
    char line[160];
    snprintf(line, sizeof line,
             "dtx_gw_target_in_flight{pool=\"raw\",target=\"http://127.0.0.1:%d/base\"}",
             gw_raw_port());
    return gw_metric(&gww_gw, line) == 0;
}

static void test_every_misbehaviour_at_once_leaves_nothing_behind(void)
{
    gw_raw_use(s_chaos);
    enum { N = 8 };
    pthread_t th[N];
    s_tally_t tally[N];
    memset(tally, 0, sizeof tally);
    for (int i = 0; i < N; i++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, s_chaos_client, &tally[i]), 0);
    s_tally_t all = { 0 };
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        all.ok += tally[i].ok;
        all.bad_gateway += tally[i].bad_gateway;
        all.failed += tally[i].failed;
        all.other += tally[i].other;
    }
    /* Every request got a whole good answer, a 502, or a cut stream:
     * nothing else, and the mix really happened. */
    CU_ASSERT_EQUAL(all.other, 0);
    CU_ASSERT_EQUAL(all.ok + all.bad_gateway + all.failed, N * 40);
    CU_ASSERT(all.ok > 0 && all.bad_gateway > 0);
    if (all.other || !all.ok || !all.bad_gateway)
        fprintf(stderr, "\n  ok %d, 502 %d, failed %d, other %d\n", all.ok, all.bad_gateway,
                all.failed, all.other);
    /* Nothing is left in flight, and the gateway serves on. */
    CU_ASSERT_EQUAL(h_wait_until(s_nothing_in_flight, NULL, 10000), 0);
    gw_raw_use(gww_ok);
    gw_resp_t r;
    CU_ASSERT_EQUAL_FATAL(gww_get(&r, "GET", "/wire/after"), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    gw_resp_free(&r);
}

INTEG_SUITE(gateway_edges)
{
    CU_pSuite s = CU_add_suite("gateway_edges", s_init, s_cleanup);
    CU_add_test(s, "every misbehaviour at once leaves nothing behind",
                test_every_misbehaviour_at_once_leaves_nothing_behind);
    CU_add_test(s, "answers the gateway cannot frame are 502",
                test_answers_the_gateway_cannot_frame_are_502);
    CU_add_test(s, "headers named by connection are dropped",
                test_headers_named_by_connection_are_dropped);
    CU_add_test(s, "ambiguous requests are 400 and go nowhere",
                test_ambiguous_requests_are_400_and_go_nowhere);
    CU_add_test(s, "normalised path goes upstream", test_normalised_path_goes_upstream);
}
