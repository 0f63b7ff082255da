/*
 * The native front end's connections on the wire (front/gw_nconn.c):
 * a real dtx-gateway with "server": {"engine": "native"} and short
 * timeouts in front of the raw upstream of gw_raw.h, driven by raw client
 * sockets: pipelined requests answered in order, HTTP/1.0 keep-alive,
 * a chunked request body, Expect: 100-continue, heads refused with their
 * status (and nothing sent upstream), an answer before the body that
 * reaches the client whole, and the head, body, send and idle timeouts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "gw_raw.h"
#include "gw_util.h"
#include "gw_wire.h"
#include "integ.h"

static int s_init(void)
{
    if (h_init() < 0 || gw_raw_start() < 0)
        return -1;
    static const char *const one[] = { "--workers", "1", NULL };
    return gw_gateway_start_args(&gww_gw, "gw-front", one,
        "{\"server\":{\"engine\":\"native\",\"header_timeout_ms\":400,\"idle_timeout_ms\":400,"
        "\"body_timeout_ms\":400,\"send_timeout_ms\":400,"
        "\"max_head\":4096},"
        "\"pools\":[{\"name\":\"raw\",\"targets\":[\"http://127.0.0.1:%d/base\"],"
        "\"timeout_ms\":5000,\"ejection\":{\"consecutive_5xx\":0,\"consecutive_connect_errors\":0}}],"
        "\"routes\":[{\"name\":\"tiny\",\"match\":{\"prefix\":\"/tiny\"},\"pool\":\"raw\","
        "\"validate\":{\"max_body\":10}},"
        "{\"name\":\"all\",\"match\":{\"prefix\":\"/\"},\"pool\":\"raw\"}]}",
        gw_raw_port());
}

static int s_cleanup(void)
{
    return gww_stop();
}

/* Reads from fd until `want` answers' worth of text ended (counted by
 * their status lines and bodies of 2 bytes) or the peer closes; into
 * out. Returns the bytes read. */
static size_t s_read_until(int fd, char *out, size_t cap, const char *needle, int count)
{
    size_t len = 0;
    for (;;) {
        out[len] = '\0';
        int seen = 0;
        for (const char *p = out; (p = strstr(p, needle)); p++)
            seen++;
        if (seen >= count)
            return len;
        ssize_t r = recv(fd, out + len, cap - 1 - len, 0);
        if (r <= 0)
            return len;
        len += (size_t)r;
    }
}

/* 1 when the gateway closed fd (recv says end), within its 20 s receive
 * timeout. */
static int s_closed(int fd)
{
    char b[256];
    for (;;) {
        ssize_t r = recv(fd, b, sizeof b, 0);
        if (r == 0)
            return 1;
        if (r < 0)
            return errno == ECONNRESET;
    }
}

static atomic_int s_count;

/* 200 with a 2-byte body naming the order the upstream got it in. */
static gw_raw_act_t s_numbered(int conn, int nth)
{
    (void)conn;
    (void)nth;
    static char answers[10][64];
    int n = atomic_fetch_add(&s_count, 1) % 10;
    snprintf(answers[n], sizeof answers[n], "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\na%d", n);
    return (gw_raw_act_t){ .answer = answers[n] };
}

static gw_raw_act_t s_echo(int conn, int nth)
{
    (void)conn;
    (void)nth;
    return (gw_raw_act_t){ .echo_body = 1 };
}

static void test_pipelined_requests_are_answered_in_order(void)
{
    gw_raw_use(s_numbered);
    atomic_store(&s_count, 0);
    int fd = gww_client();
    CU_ASSERT_FATAL(fd >= 0);
    const char *three = "GET /p/1 HTTP/1.1\r\nHost: x\r\n\r\n"
                        "GET /p/2 HTTP/1.1\r\nHost: x\r\n\r\n"
                        "GET /p/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    gw_raw_write_all(fd, three, strlen(three));
    static char in[16384];
    s_read_until(fd, in, sizeof in, "HTTP/1.1 200", 4);   /* until the close */
    const char *a0 = strstr(in, "\r\n\r\na0"), *a1 = strstr(in, "\r\n\r\na1"),
               *a2 = strstr(in, "\r\n\r\na2");
    CU_ASSERT(a0 && a1 && a2 && a0 < a1 && a1 < a2);
    if (!(a0 && a1 && a2 && a0 < a1 && a1 < a2))
        fprintf(stderr, "\n  got: %s\n", in);
    CU_ASSERT_PTR_NOT_NULL(strstr(a2, "Connection: close") ? a2 : strstr(in, "Connection: close"));
    CU_ASSERT_EQUAL(gw_raw_requests(), 3);
    close(fd);
}

static void test_http10_keep_alive_serves_two_requests(void)
{
    gw_raw_use(gww_ok);
    int fd = gww_client();
    CU_ASSERT_FATAL(fd >= 0);
    const char *one = "GET /k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    gw_raw_write_all(fd, one, strlen(one));
    static char in[8192];
    s_read_until(fd, in, sizeof in, "\r\n\r\nok", 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(in, "HTTP/1.1 200"));
    CU_ASSERT_PTR_NOT_NULL(strstr(in, "Connection: keep-alive"));
    const char *two = "GET /k HTTP/1.0\r\n\r\n";     /* not kept: closed after */
    gw_raw_write_all(fd, two, strlen(two));
    char body[256];
    CU_ASSERT_EQUAL(gww_client_answer(fd, body, sizeof body), 200);
    CU_ASSERT_STRING_EQUAL(body, "ok");
}

static void test_chunked_body_reaches_the_upstream_whole(void)
{
    gw_raw_use(s_echo);
    int fd = gww_client();
    CU_ASSERT_FATAL(fd >= 0);
    const char *req = "POST /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    gw_raw_write_all(fd, req, strlen(req));
    char body[256], want[64];
    CU_ASSERT_EQUAL(gww_client_answer(fd, body, sizeof body), 200);
    snprintf(want, sizeof want, "11 %016llx",
             (unsigned long long)gw_raw_fnv(GW_RAW_FNV_START, "hello world", 11));
    CU_ASSERT_PTR_NOT_NULL(strstr(body, want));
    if (!strstr(body, want))
        fprintf(stderr, "\n  got %s, want %s\n", body, want);
}

static void test_expect_100_continue_is_answered_before_the_body(void)
{
    gw_raw_use(s_echo);
    int fd = gww_client();
    CU_ASSERT_FATAL(fd >= 0);
    const char *head = "PUT /e HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                       "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n";
    gw_raw_write_all(fd, head, strlen(head));
    char in[256];
    s_read_until(fd, in, sizeof in, "\r\n\r\n", 1);
    CU_ASSERT_STRING_EQUAL(in, "HTTP/1.1 100 Continue\r\n\r\n");
    gw_raw_write_all(fd, "hello", 5);
    char body[256], want[64];
    CU_ASSERT_EQUAL(gww_client_answer(fd, body, sizeof body), 200);
    snprintf(want, sizeof want, "5 %016llx",
             (unsigned long long)gw_raw_fnv(GW_RAW_FNV_START, "hello", 5));
    CU_ASSERT_PTR_NOT_NULL(strstr(body, want));
}

static void test_bad_heads_get_their_status_and_go_nowhere(void)
{
    static char big[6000];
    int n = snprintf(big, sizeof big, "GET /big HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(big + n, 'a', sizeof big - (size_t)n - 5);
    memcpy(big + sizeof big - 5, "\r\n\r\n", 5);
    const struct {
        const char *req;
        int         status;
    } cases[] = {
        { "GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n", 400 },
        { "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505 },
        { "GET / HTTP/1.1\r\n\r\n", 400 },                       /* no Host */
        { "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", 400 },/* folded */
        { big, 431 },                                            /* over max_head 4096 */
        { "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400 },
        { "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
          "3\r\nabcXX\r\n", 400 },                                   /* no CRLF after data */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gw_raw_use(s_echo);
        int fd = gww_client();
        CU_ASSERT_FATAL(fd >= 0);
        gw_raw_write_all(fd, cases[i].req, strlen(cases[i].req));
        char body[512];
        int st = gww_client_answer(fd, body, sizeof body);   /* reads until the close */
        if (st != cases[i].status)
            fprintf(stderr, "\n  case %zu: got %d (%s)\n", i, st, body);
        CU_ASSERT_EQUAL(st, cases[i].status);
        CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"error\""));
        if (i < 5)   /* a broken chunked body may have begun to stream: not these */
            CU_ASSERT_EQUAL(gw_raw_requests(), 0);
    }
    /* The gateway serves on. */
    gw_raw_use(gww_ok);
    gw_resp_t r;
    CU_ASSERT_EQUAL_FATAL(gww_get(&r, "GET", "/after"), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    gw_resp_free(&r);
}

/* Refused at its head (413: the declared body is over max_body) while
 * the body is on its way: the gateway answers, half-closes and reads what
 * still comes (lingering close), so the client can send its whole body
 * without a reset and then read the answer — closing with unread bytes
 * would reset the connection, and an answer still in flight is lost. */
static void test_an_answer_before_the_body_is_not_lost(void)
{
    gw_raw_use(gww_ok);
    int fd = gww_client();
    CU_ASSERT_FATAL(fd >= 0);
    const char *head = "POST /tiny HTTP/1.1\r\nHost: x\r\nContent-Length: 2097152\r\n\r\n";
    gw_raw_write_all(fd, head, strlen(head));
    usleep(50000);                      /* the answer comes before the body */
    static char chunk[65536];
    memset(chunk, 'x', sizeof chunk);
    size_t sent = 0;
    while (sent < 2097152) {
        ssize_t w = send(fd, chunk, sizeof chunk, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        sent += (size_t)w;
    }
    if (sent < 2097152)
        fprintf(stderr, "\n  sent %zu of 2097152: %s\n", sent, strerror(errno));
    CU_ASSERT_EQUAL(sent, 2097152);
    char body[512];
    CU_ASSERT_EQUAL(gww_client_answer(fd, body, sizeof body), 413);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "body too large"));
    CU_ASSERT_EQUAL(gw_raw_requests(), 0);
}

static void test_a_head_that_never_ends_is_closed(void)
{
    int fd = gww_client();
    CU_ASSERT_FATAL(fd >= 0);
    gw_raw_write_all(fd, "GET / HTTP/1.1\r\nHo", 18);
    CU_ASSERT(s_closed(fd));          /* header_timeout_ms 400 */
    close(fd);
}

static void test_a_body_that_stops_coming_is_closed(void)
{
    gw_raw_use(s_echo);
    int fd = gww_client();
    CU_ASSERT_FATAL(fd >= 0);
    const char *req = "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello";
    gw_raw_write_all(fd, req, strlen(req));
    CU_ASSERT(s_closed(fd));          /* body_timeout_ms 400 */
    close(fd);
    CU_ASSERT_EQUAL(gw_raw_requests(), 0);
}

/* 16 MiB from the upstream to a client that reads nothing: once the
 * socket is full, the gateway waits send_timeout_ms, then closes; the
 * client gets less than the whole answer. */
static char *s_big;
static gw_raw_act_t s_big_answer(int conn, int nth)
{
    (void)conn;
    (void)nth;
    return (gw_raw_act_t){ .answer = s_big };
}

static void test_a_client_that_stops_reading_is_closed(void)
{
    size_t body = 16u << 20;   /* more than the kernel buffers on both sides */
    s_big = malloc(body + 128);
    CU_ASSERT_FATAL(s_big != NULL);
    int n = snprintf(s_big, 128, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", body);
    memset(s_big + n, 'z', body);
    s_big[n + body] = '\0';
    gw_raw_use(s_big_answer);
    int fd = gww_client();
    CU_ASSERT_FATAL(fd >= 0);
    const char *req = "GET /big HTTP/1.1\r\nHost: x\r\n\r\n";
    gw_raw_write_all(fd, req, strlen(req));
    sleep(2);                         /* well past send_timeout_ms 400 */
    size_t got = 0;
    char buf[65536];
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    CU_ASSERT(got > 0 && got < body);
    if (!(got > 0 && got < body))
        fprintf(stderr, "\n  got %zu of %zu\n", got, body);
    gw_raw_use(gww_ok);               /* the raw upstream stops writing s_big */
    free(s_big);
    s_big = NULL;
}

/* An 8000-byte answer: under the send ring's 16 KiB, so each one is
 * queued on the ring (core/gw_uring.c) when it is on. */
static char s_mid[8100];
static gw_raw_act_t s_mid_answer(int conn, int nth)
{
    (void)conn;
    (void)nth;
    return (gw_raw_act_t){ .answer = s_mid, .close_after = 0 };
}

static void *s_pipeline_thread(void *arg)
{
    int fd = (int)(intptr_t)arg;
    const char *req = "GET /mid HTTP/1.1\r\nHost: x\r\n\r\n";
    for (int i = 0; i < 2000; i++)    /* 16 MB of answers: past every buffer */
        if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0)
            break;                    /* the gateway closed the connection */
    return NULL;
}

/* Many small answers to a client that stops reading: they pile up (on
 * the ring: up to its queue, then it refuses like a full socket), the
 * send timeout ends the connection, and the answers still queued do not
 * keep it open for ever (the ring's close lingers 5 s at most). */
static void test_small_answers_to_a_client_that_stops_reading_end_it(void)
{
    int n = snprintf(s_mid, sizeof s_mid, "HTTP/1.1 200 OK\r\nContent-Length: 8000\r\n\r\n");
    memset(s_mid + n, 'm', 8000);
    s_mid[n + 8000] = '\0';
    gw_raw_use(s_mid_answer);
    int fd = gww_client();
    CU_ASSERT_FATAL(fd >= 0);
    pthread_t th;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, s_pipeline_thread, (void *)(intptr_t)fd), 0);
    sleep(2);                         /* well past send_timeout_ms 400 */
    struct timeval tv = { .tv_sec = 15 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    size_t got = 0;
    char buf[65536];
    ssize_t r;
    while ((r = recv(fd, buf, sizeof buf, 0)) > 0)
        got += (size_t)r;
    CU_ASSERT(r == 0 || (r < 0 && errno == ECONNRESET));   /* closed, not timed out */
    CU_ASSERT(got > 0 && got < 2000u * 8040u);
    shutdown(fd, SHUT_RDWR);          /* the sender thread's send fails, if it still waits */
    pthread_join(th, NULL);
    close(fd);
    /* The worker serves the next client. */
    gw_raw_use(gww_ok);
    int fd2 = gww_client();
    CU_ASSERT_FATAL(fd2 >= 0);
    const char *one = "GET /after HTTP/1.1\r\nHost: x\r\n\r\n";
    gw_raw_write_all(fd2, one, strlen(one));
    static char in[4096];
    s_read_until(fd2, in, sizeof in, "\r\n\r\nok", 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(in, "HTTP/1.1 200"));
    close(fd2);
}

static void test_an_idle_kept_connection_is_closed(void)
{
    gw_raw_use(gww_ok);
    int fd = gww_client();
    CU_ASSERT_FATAL(fd >= 0);
    const char *one = "GET /i HTTP/1.1\r\nHost: x\r\n\r\n";
    gw_raw_write_all(fd, one, strlen(one));
    static char in[4096];
    s_read_until(fd, in, sizeof in, "\r\n\r\nok", 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(in, "HTTP/1.1 200"));
    CU_ASSERT(s_closed(fd));          /* idle_timeout_ms 400 */
    close(fd);
}

INTEG_SUITE(gateway_front)
{
    CU_pSuite s = CU_add_suite("gateway_front", s_init, s_cleanup);
    CU_add_test(s, "pipelined requests are answered in order",
                test_pipelined_requests_are_answered_in_order);
    CU_add_test(s, "http/1.0 keep-alive serves two requests",
                test_http10_keep_alive_serves_two_requests);
    CU_add_test(s, "chunked body reaches the upstream whole",
                test_chunked_body_reaches_the_upstream_whole);
    CU_add_test(s, "expect 100-continue is answered before the body",
                test_expect_100_continue_is_answered_before_the_body);
    CU_add_test(s, "bad heads get their status and go nowhere",
                test_bad_heads_get_their_status_and_go_nowhere);
    CU_add_test(s, "an answer before the body is not lost",
                test_an_answer_before_the_body_is_not_lost);
    CU_add_test(s, "a head that never ends is closed", test_a_head_that_never_ends_is_closed);
    CU_add_test(s, "a body that stops coming is closed", test_a_body_that_stops_coming_is_closed);
    CU_add_test(s, "small answers to a client that stops reading end it",
                test_small_answers_to_a_client_that_stops_reading_end_it);
    CU_add_test(s, "a client that stops reading is closed",
                test_a_client_that_stops_reading_is_closed);
    CU_add_test(s, "an idle kept connection is closed", test_an_idle_kept_connection_is_closed);
}
