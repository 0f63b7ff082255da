/*
 * The admin API against hostile clients, over real sockets against a real
 * dtxd: slow tricklers (slowloris) neither starve /healthz nor an
 * authenticated read and are cut at their deadline; the Host header
 * allow-list (DNS rebinding); the token is checked before a body is
 * read; overflowing durations and bad UTF-8 in actions are 400s;
 * participants are paged.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "dtx/log.h"
#include "integ.h"
#include "test_admin_util.h"
#include "util.h"

static int s_port(const ta_world_t *w)
{
    const char *c = strrchr(w->url, ':');
    return c ? atoi(c + 1) : 0;
}

/* A TCP connection to the admin port from source address src (any
 * 127.x.y.z works on Linux loopback). -1 on failure. */
static int s_connect_from(const ta_world_t *w, const char *src)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    if (src) {
        inet_pton(AF_INET, src, &sa.sin_addr);
        if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
            close(fd);
            return -1;
        }
    }
    sa.sin_port = htons((uint16_t)s_port(w));
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends a whole raw request and reads the answer (until close or
 * timeout_ms) into out; returns the status or 0. */
static int s_raw(const ta_world_t *w, const char *req, size_t len, char *out, size_t cap,
                 int timeout_ms)
{
    int fd = s_connect_from(w, NULL);
    if (fd < 0)
        return 0;
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the server may answer and close before reading it all */
        off += (size_t)n;
    }
    size_t got = 0;
    struct pollfd p = { fd, POLLIN, 0 };
    while (got + 1 < cap && poll(&p, 1, timeout_ms) == 1) {
        ssize_t n = recv(fd, out + got, cap - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
        if (strstr(out, "\r\n\r\n") && strstr(out, "}"))
            break;
        out[got] = '\0';
    }
    out[got] = '\0';
    close(fd);
    int status = 0;
    sscanf(out, "HTTP/1.%*d %d", &status);
    return status;
}

/* 1 when fd was closed by the peer within timeout_ms (EOF or reset). */
static int s_closed_within(int fd, int timeout_ms)
{
    struct pollfd p = { fd, POLLIN, 0 };
    char b[512];
    int waited = 0;
    while (waited < timeout_ms) {
        if (poll(&p, 1, 200) == 1) {
            ssize_t n = recv(fd, b, sizeof b, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN))
                return 1;
        }
        waited += 200;
        /* Keep trickling, as a slowloris does: every byte used to restart
         * the server's idle timeout. */
        if (send(fd, "X", 1, MSG_NOSIGNAL) < 0)
            return 1;
    }
    return 0;
}

static void test_slow_tricklers_neither_starve_healthz_nor_escape_their_deadline(void)
{
    ta_world_t w;
    const char *args[] = { "--http-request-timeout", "3", NULL };
    CU_ASSERT_FATAL(ta_up(&w, "adm_slow", args, (const char *const[]){ "none", NULL }) == 0);
    enum { N = 300 };
    int fds[N], open_n = 0;
    for (int i = 0; i < N; i++) {
        /* From 127.0.0.2: another address than the operator's. */
        fds[i] = s_connect_from(&w, "127.0.0.2");
        if (fds[i] >= 0) {
            send(fds[i], "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n", 40, MSG_NOSIGNAL);
            open_n++;
        }
    }
    CU_ASSERT(open_n > 0);
    /* While they trickle, the probe and an authenticated read answer. */
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++)
            if (fds[i] >= 0)
                send(fds[i], "X-A: b\r\n", 8, MSG_NOSIGNAL);
        CU_ASSERT_EQUAL(ta_req(&w, "GET", "/healthz", NULL, NULL, NULL), 200);
        CU_ASSERT_EQUAL(ta_req(&w, "GET", "/api/v1/transactions", NULL, TA_TOKEN, NULL), 200);
        usleep(300 * 1000);
    }
    for (int i = 0; i < N; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    /* One trickler that keeps sending a byte every 200 ms is cut once its
     * 3 s deadline has passed (we wait up to 30 s for the cut). */
    int fd = s_connect_from(&w, "127.0.0.3");
    CU_ASSERT_FATAL(fd >= 0);
    send(fd, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ", 49, MSG_NOSIGNAL);
    CU_ASSERT(s_closed_within(fd, 30000));
    close(fd);
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/healthz", NULL, NULL, NULL), 200);
    ta_down(&w);
}

static void test_host_header_must_be_one_dtxd_answers_to(void)
{
    ta_world_t w;
    const char *args[] = { "--admin-allow-host", "admin.example.net, ops", NULL };
    CU_ASSERT_FATAL(ta_up(&w, "adm_host", args, (const char *const[]){ "none", NULL }) == 0);
    char out[4096], req[512];
    /* A rebinding page: the browser sends its own name. */
    snprintf(req, sizeof req, "GET /api/v1/transactions HTTP/1.1\r\nHost: evil.example:%d\r\n"
                              "Connection: close\r\n\r\n", s_port(&w));
    CU_ASSERT_EQUAL(s_raw(&w, req, strlen(req), out, sizeof out, 10000), 421);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "--admin-allow-host"));
    snprintf(req, sizeof req, "GET /metrics HTTP/1.1\r\nHost: evil.example\r\n"
                              "Connection: close\r\n\r\n");
    CU_ASSERT_EQUAL(s_raw(&w, req, strlen(req), out, sizeof out, 10000), 421);
    snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n");
    CU_ASSERT_EQUAL(s_raw(&w, req, strlen(req), out, sizeof out, 10000), 421);
    /* Loopback names, the listen address and the allowed names answer. */
    const char *ok[] = { "127.0.0.1", "localhost", "[::1]", "LOCALHOST", "admin.example.net",
                         "ops" };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        snprintf(req, sizeof req, "GET /api/v1/transactions HTTP/1.1\r\nHost: %s:%d\r\n"
                                  "Connection: close\r\n\r\n", ok[i], s_port(&w));
        CU_ASSERT_EQUAL(s_raw(&w, req, strlen(req), out, sizeof out, 10000), 200);
    }
    /* Probes answer whatever the Host (orchestrators probe by address). */
    snprintf(req, sizeof req, "GET /healthz HTTP/1.1\r\nHost: 10.1.2.3\r\nConnection: close\r\n\r\n");
    CU_ASSERT_EQUAL(s_raw(&w, req, strlen(req), out, sizeof out, 10000), 200);
    /* libcurl sends Host: 127.0.0.1:PORT, as dtxctl and the browser tests do. */
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/api/v1/overview", NULL, NULL, NULL), 200);
    ta_down(&w);
}

static void test_token_is_checked_before_a_body_is_read(void)
{
    ta_world_t w;
    CU_ASSERT_FATAL(ta_up(&w, "adm_early", NULL, (const char *const[]){ "none", NULL }) == 0);
    char out[4096];
    /* Headers announce a large body that never comes: the answer must not
     * wait for it. */
    const char *req = "POST /api/v1/tx HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Content-Type: application/json\r\nContent-Length: 900000\r\n\r\n{";
    CU_ASSERT_EQUAL(s_raw(&w, req, strlen(req), out, sizeof out, 20000), 401);
    /* The same for an action, and a wrong token. */
    req = "POST /api/v1/transactions/01AAAAAAAAAAAAAAAAAAAAAAAA/retry HTTP/1.1\r\n"
          "Host: 127.0.0.1\r\nAuthorization: Bearer wrong-token-0123456789\r\n"
          "Content-Length: 900000\r\n\r\n{";
    CU_ASSERT_EQUAL(s_raw(&w, req, strlen(req), out, sizeof out, 20000), 401);
    /* A large body with no token sent whole: 401, not 413, and the server
     * is fine. */
    size_t big = 4 << 20;
    char *body = malloc(big);
    CU_ASSERT_FATAL(body != NULL);
    memset(body, ' ', big);
    char raw[512];
    CU_ASSERT_EQUAL(ta_req_raw(&w, "POST", "/api/v1/tx", body, big, NULL, raw, sizeof raw), 401);
    free(body);
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/healthz", NULL, NULL, NULL), 200);
    ta_down(&w);
}

static void test_overflowing_durations_are_400(void)
{
    ta_world_t w;
    CU_ASSERT_FATAL(ta_up(&w, "adm_dur", NULL, (const char *const[]){ "none", NULL }) == 0);
    const char *bad[] = { "/api/v1/overview?window=999999999999d",
                          "/api/v1/overview?window=9223372036854775807ms",
                          "/api/v1/overview?window=99999999999999999999999",
                          "/api/v1/transactions?min_age=999999999999d",
                          "/api/v1/transactions?max_age=106751991167301d" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_object *o = NULL;
        CU_ASSERT_EQUAL(ta_req(&w, "GET", bad[i], NULL, NULL, &o), 400);
        CU_ASSERT_STRING_EQUAL(ta_str(o, "code"), "bad_request");
        json_object_put(o);
    }
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/api/v1/overview?window=36500d", NULL, NULL, NULL), 200);
    /* The error quotes 32 bytes of the value: "a" and 16 x "é" is cut
     * inside the last "é", and \xff is no UTF-8 at all. The error text
     * stays valid UTF-8 either way. */
    const char *quoted[] = { "/api/v1/overview?window=a%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9"
                             "%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9",
                             "/api/v1/overview?window=%FF%FEd" };
    for (size_t i = 0; i < sizeof quoted / sizeof quoted[0]; i++) {
        json_object *o = NULL;
        CU_ASSERT_EQUAL(ta_req(&w, "GET", quoted[i], NULL, NULL, &o), 400);
        const unsigned char *e = (const unsigned char *)ta_str(o, "error");
        CU_ASSERT_FATAL(e != NULL);
        size_t n = strlen((const char *)e);
        for (size_t j = 0; j < n;) {
            size_t k = dtx_utf8_seq_len(e + j, n - j);
            CU_ASSERT(k > 0);
            j += k ? k : 1;
        }
        json_object_put(o);
    }
    ta_down(&w);
}

static void test_action_text_must_be_whole_utf8(void)
{
    ta_world_t w;
    CU_ASSERT_FATAL(ta_up(&w, "adm_utf8", NULL, (const char *const[]){ "none", NULL }) == 0);
    json_object *o = NULL;
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/tx", "{}", TA_TOKEN, &o), 201);
    char path[160];
    snprintf(path, sizeof path, "/api/v1/transactions/%s/retry", ta_str(o, "gid"));
    json_object_put(o);
    /* 32 x "é": 64 bytes, one over the limit; it used to be cut mid-character. */
    char body[512] = "{\"reason\":\"r\",\"operator\":\"";
    for (int i = 0; i < 32; i++)
        strcat(body, "\xc3\xa9");
    strcat(body, "\"}");
    CU_ASSERT_EQUAL(ta_req(&w, "POST", path, body, TA_TOKEN, &o), 400);
    CU_ASSERT_PTR_NOT_NULL(strstr(ta_str(o, "error"), "operator"));
    json_object_put(o);
    /* Invalid UTF-8 in the reason (json-c passes it through). */
    CU_ASSERT_EQUAL(ta_req(&w, "POST", path, "{\"reason\":\"bad \xff\xfe here\"}", TA_TOKEN, &o), 400);
    CU_ASSERT_PTR_NOT_NULL(strstr(ta_str(o, "error"), "UTF-8"));
    json_object_put(o);
    /* An escape sequence in the reason. */
    CU_ASSERT_EQUAL(ta_req(&w, "POST", path, "{\"reason\":\"a\\u001b[2Jb\"}", TA_TOKEN, NULL), 400);
    /* 31 x "é" fits, and whole characters reach the audit: 409 (the
     * transaction is active, retry is not allowed), not 503. */
    char ok[512] = "{\"reason\":\"caf\xc3\xa9 \xe2\x9c\x93\",\"operator\":\"";
    for (int i = 0; i < 31; i++)
        strcat(ok, "\xc3\xa9");
    strcat(ok, "\"}");
    CU_ASSERT_EQUAL(ta_req(&w, "POST", path, ok, TA_TOKEN, &o), 409);
    json_object_put(o);
    ta_down(&w);
}

static void test_participants_are_paged(void)
{
    ta_world_t w;
    CU_ASSERT_FATAL(ta_up(&w, "adm_ppage", (const char *const[]){ "--heartbeat-ms", "100", NULL },
                          NULL) == 0);
    json_object *o = NULL, *res = NULL;
    int seen = 0;
    for (int i = 0; i < 100 && !seen; i++) {
        CU_ASSERT_EQUAL_FATAL(ta_req(&w, "GET", "/api/v1/participants?limit=1", NULL, NULL, &o), 200);
        seen = json_object_object_get_ex(o, "resources", &res) && json_object_array_length(res) == 1;
        if (!seen) {
            json_object_put(o);
            usleep(100 * 1000);
        }
    }
    CU_ASSERT_FATAL(seen);
    CU_ASSERT_STRING_EQUAL(ta_str(json_object_array_get_idx(res, 0), "resource"), "ra");
    json_object_put(o);
    /* One resource only: a page after it is empty and has no cursor. */
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/api/v1/participants?limit=1&cursor=ra", NULL, NULL, &o), 200);
    CU_ASSERT(json_object_object_get_ex(o, "resources", &res) && json_object_array_length(res) == 0);
    CU_ASSERT_STRING_EQUAL(ta_str(o, "next_cursor"), "");
    json_object_put(o);
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/api/v1/participants?limit=0", NULL, NULL, NULL), 400);
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/api/v1/participants?cursor=bad%20name", NULL, NULL, NULL), 400);
    ta_down(&w);
}

/* Three requests in one write on one kept-alive connection: the last two
 * are in libmicrohttpd's buffer before the first is answered, so no wake
 * of its descriptor announces them; the loop runs it while it says it has
 * work (its timeout 0), and the read, answered from the log through a
 * suspended request, runs it when that request resumes. All three are
 * answered well before the connection's idle timeout (30 s). */
static void test_pipelined_requests_are_all_answered(void)
{
    ta_world_t w;
    CU_ASSERT_FATAL(ta_up(&w, "adm_pipe", NULL, (const char *const[]){ "none", NULL }) == 0);
    char req[1024], out[16384];
    snprintf(req, sizeof req,
             "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n"
             "GET /api/v1/transactions HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n"
             "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n",
             s_port(&w), s_port(&w), s_port(&w));
    int fd = s_connect_from(&w, NULL);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL_FATAL(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
    size_t got = 0;
    struct pollfd p = { fd, POLLIN, 0 };
    while (got + 1 < sizeof out && poll(&p, 1, 20000) == 1) {
        ssize_t n = recv(fd, out + got, sizeof out - 1 - got, 0);
        if (n <= 0)
            break; /* closed after the third answer */
        got += (size_t)n;
    }
    out[got] = '\0';
    close(fd);
    int answers = 0;
    for (const char *q = out; (q = strstr(q, "HTTP/1.1 200")) != NULL; q++)
        answers++;
    CU_ASSERT_EQUAL(answers, 3);
    ta_down(&w);
}

/* dtxd's open descriptors (its /proc fd entries). */
static int s_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

/* dtxd's descriptors once their count held for 500 ms (at most 5 s): a
 * connection just answered may still be open on dtxd's side (a loaded
 * machine counted it in, and one fewer later). */
static int s_fds_settled(pid_t pid)
{
    int n = s_fds(pid), same = 0;
    for (int i = 0; i < 50 && same < 5; i++) {
        usleep(100 * 1000);
        int m = s_fds(pid);
        same = m == n ? same + 1 : 0;
        n = m;
    }
    return n;
}

/* An answer sent from the head (401 here) while the client still sends
 * its body: the client sends the whole body without a reset and then
 * reads the answer (lingering close: admin_linger.c). Without it, dtxd's
 * socket is closed with the body still coming and the client's sends
 * fail (ECONNRESET / EPIPE) — curl then reports no status at all. The
 * lingering socket goes when the client closes, or when it stops
 * sending. */
static void test_an_early_answer_reaches_a_client_still_sending(void)
{
    ta_world_t w;
    CU_ASSERT_FATAL(ta_up(&w, "adm_linger", NULL, (const char *const[]){ "none", NULL }) == 0);
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/healthz", NULL, NULL, NULL), 200);
    int base = s_fds_settled(w.d.pid);
    size_t total = 16u << 20;
    char head[256];
    int hl = snprintf(head, sizeof head,
                      "POST /api/v1/tx HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n", total);
    int fd = s_connect_from(&w, NULL);
    CU_ASSERT_FATAL(fd >= 0);
    struct timeval tv = { 20, 0 };
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    CU_ASSERT_EQUAL(send(fd, head, (size_t)hl, MSG_NOSIGNAL), hl);
    static char chunk[65536];
    memset(chunk, ' ', sizeof chunk);
    size_t sent = 0;
    int err = 0;
    while (sent < total) {
        ssize_t n = send(fd, chunk, sizeof chunk, MSG_NOSIGNAL);
        if (n <= 0) {
            err = errno;
            break;
        }
        sent += (size_t)n;
    }
    if (sent < total)
        fprintf(stderr, "\n  sent %zu of %zu body bytes: %s\n", sent, total, strerror(err));
    CU_ASSERT_EQUAL(sent, total);
    shutdown(fd, SHUT_WR);
    char out[4096];
    size_t got = 0;
    struct pollfd p = { fd, POLLIN, 0 };
    while (got + 1 < sizeof out && poll(&p, 1, 20000) == 1) {
        ssize_t n = recv(fd, out + got, sizeof out - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    out[got] = '\0';
    int status = 0;
    sscanf(out, "HTTP/1.%*d %d", &status);
    CU_ASSERT_EQUAL(status, 401);
    close(fd);
    /* The client closed: the lingering socket is closed too. */
    int waited = 0;
    while (s_fds(w.d.pid) > base && waited < 10000) {
        usleep(100 * 1000);
        waited += 100;
    }
    CU_ASSERT_EQUAL(s_fds(w.d.pid), base);
    /* A client that announces a body, reads the answer and then neither
     * sends nor closes: its socket lingers only while it is quiet for a
     * short while (2 s), not for the request timeout. */
    const char *req = "POST /api/v1/tx HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Content-Length: 900000\r\n\r\n{";
    fd = s_connect_from(&w, NULL);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
    got = 0;
    while (got + 1 < sizeof out && poll(&p, 1, 20000) == 1) {
        p.fd = fd;
        ssize_t n = recv(fd, out + got, sizeof out - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    out[got] = '\0';
    CU_ASSERT(strncmp(out, "HTTP/1.1 401", 12) == 0);
    waited = 0;
    while (s_fds(w.d.pid) > base && waited < 15000) {
        usleep(100 * 1000);
        waited += 100;
    }
    CU_ASSERT_EQUAL(s_fds(w.d.pid), base);
    close(fd);
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/healthz", NULL, NULL, NULL), 200);
    ta_down(&w);
}

INTEG_SUITE(admin_guard)
{
    CU_pSuite s = CU_add_suite("admin_guard", NULL, NULL);
    CU_add_test(s, "slow tricklers neither starve healthz nor escape their deadline",
                test_slow_tricklers_neither_starve_healthz_nor_escape_their_deadline);
    CU_add_test(s, "host header must be one dtxd answers to",
                test_host_header_must_be_one_dtxd_answers_to);
    CU_add_test(s, "token is checked before a body is read",
                test_token_is_checked_before_a_body_is_read);
    CU_add_test(s, "an early answer reaches a client still sending",
                test_an_early_answer_reaches_a_client_still_sending);
    CU_add_test(s, "overflowing durations are 400", test_overflowing_durations_are_400);
    CU_add_test(s, "action text must be whole utf8", test_action_text_must_be_whole_utf8);
    CU_add_test(s, "participants are paged", test_participants_are_paged);
    CU_add_test(s, "pipelined requests are all answered", test_pipelined_requests_are_all_answered);
}
