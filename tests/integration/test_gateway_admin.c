/*
 * Integration tests of dtx-gateway's admin API and command line against a
 * real gateway process: a PUT may not drop the admin's own token nor claim
 * a listen change it did not make; a request without the token is refused
 * before its body is sent; stalled connections are cut; bad command lines
 * exit 2; the token can come from a file.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "gw_util.h"
#include "integ.h"

#define TOKEN "gw-admin-7f3a9c21d4e8b065"

static const char *s_doc =
    "{%s\"admin\":{%s},"
    "\"pools\":[{\"name\":\"p\",\"targets\":[\"http://127.0.0.1:%d\"]}],"
    "\"routes\":[{\"name\":\"all\",\"match\":{\"prefix\":\"/\"},\"pool\":\"p\"}]}";

static int s_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
        return fd;
    if (fd >= 0)
        close(fd);
    return -1;
}

/* Reads what comes within timeout_ms into out (NUL-terminated); returns
 * 1 once the peer closed (EOF or reset), 0 if it is still open. */
static int s_read(int fd, char *out, size_t cap, int timeout_ms)
{
    size_t n = 0;
    int64_t end = h_now_ms() + timeout_ms;
    out[0] = '\0';
    for (;;) {
        int64_t left = end - h_now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        char buf[4096];
        ssize_t got = recv(fd, buf, sizeof buf, 0);
        if (got <= 0)
            return got == 0 || errno != EINTR;
        size_t take = (size_t)got < cap - 1 - n ? (size_t)got : cap - 1 - n;
        memcpy(out + n, buf, take);
        n += take;
        out[n] = '\0';
    }
}

static void s_send_text(int fd, const char *text)
{
    CU_ASSERT(send(fd, text, strlen(text), MSG_NOSIGNAL) == (ssize_t)strlen(text));
}

static void test_put_keeps_the_admin_token_and_refuses_listen_changes(void)
{
    gw_proc_t a, gw;
    char doc[2048];
    gw_resp_t r;
    CU_ASSERT_FATAL(gw_upstream_start(&a, "a", NULL) == 0);
    CU_ASSERT_FATAL(gw_gateway_start(&gw, "gw-admin-keep", s_doc, "",
                                     "\"token\":\"" TOKEN "\"", a.port) == 0);
    /* A valid document without admin.token: refused, the token stays. */
    snprintf(doc, sizeof doc, s_doc, "", "", a.port);
    CU_ASSERT_EQUAL(gw_admin_put(&gw, TOKEN, doc, 0, &r), 400);
    CU_ASSERT(r.body && strstr(r.body, "admin.token missing") != NULL);
    gw_resp_free(&r);
    CU_ASSERT_EQUAL(gw_admin_put(&gw, TOKEN, doc, 1, &r), 400);  /* validate says the same */
    gw_resp_free(&r);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/config", gw.admin_port);
    const char *auth[] = { "Authorization: Bearer " TOKEN, NULL };
    gw_http(&r, "GET", url, auth, NULL);
    CU_ASSERT_EQUAL(r.status, 200);
    gw_resp_free(&r);
    /* A listen change is not applied: 409 naming the field. */
    snprintf(doc, sizeof doc, s_doc, "\"listen\":\"127.0.0.1:8181\",",
             "\"token\":\"" TOKEN "\"", a.port);
    CU_ASSERT_EQUAL(gw_admin_put(&gw, TOKEN, doc, 0, &r), 409);
    CU_ASSERT(r.body && strstr(r.body, "\"field\":\"listen\"") != NULL);
    gw_resp_free(&r);
    snprintf(doc, sizeof doc, s_doc, "", "\"listen\":\"127.0.0.1:9999\",\"token\":\"" TOKEN "\"",
             a.port);
    CU_ASSERT_EQUAL(gw_admin_put(&gw, TOKEN, doc, 0, &r), 409);
    CU_ASSERT(r.body && strstr(r.body, "\"field\":\"admin.listen\"") != NULL);
    gw_resp_free(&r);
    /* A weak token is refused; a new strong one takes over. */
    snprintf(doc, sizeof doc, s_doc, "", "\"token\":\"change-me\"", a.port);
    CU_ASSERT_EQUAL(gw_admin_put(&gw, TOKEN, doc, 0, &r), 400);
    CU_ASSERT(r.body && strstr(r.body, "admin.token") != NULL);
    gw_resp_free(&r);
    snprintf(doc, sizeof doc, s_doc, "", "\"token\":\"" TOKEN "-next\"", a.port);
    CU_ASSERT_EQUAL(gw_admin_put(&gw, TOKEN, doc, 0, &r), 200);
    CU_ASSERT(r.body && strstr(r.body, "\"applied\":true") != NULL);
    gw_resp_free(&r);
    CU_ASSERT_EQUAL(gw_admin_put(&gw, TOKEN "-next", doc, 1, &r), 200);
    gw_resp_free(&r);
    CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 10000), 0);
}

static void test_body_without_the_token_is_refused_before_it_is_sent(void)
{
    gw_proc_t a, gw;
    char got[8192];
    CU_ASSERT_FATAL(gw_upstream_start(&a, "a", NULL) == 0);
    CU_ASSERT_FATAL(gw_gateway_start(&gw, "gw-admin-early", s_doc, "",
                                     "\"token\":\"" TOKEN "\"", a.port) == 0);
    static const char *const heads[] = {
        /* no token: 401 with no body byte sent */
        "PUT /config HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n",
        /* a wrong one */
        "PUT /config HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\n"
        "Content-Length: 100000000\r\n\r\n",
        /* the right one, a document past 4 MiB: 413 before the body */
        "PUT /config HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TOKEN "\r\n"
        "Content-Length: 5000000\r\n\r\n",
    };
    static const char *const want[] = { " 401 ", " 401 ", " 413 " };
    for (int i = 0; i < 3; i++) {
        int fd = s_connect(gw.admin_port);
        CU_ASSERT_FATAL(fd >= 0);
        s_send_text(fd, heads[i]);
        s_read(fd, got, sizeof got, 5000);  /* the answer comes without the body */
        CU_ASSERT(strncmp(got, "HTTP/1.1", 8) == 0 && strstr(got, want[i]) != NULL);
        if (!strstr(got, want[i]))
            fprintf(stderr, "\n  head %d: got \"%.80s\"\n", i, got);
        close(fd);
    }
    CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 10000), 0);
}

static void test_stalled_admin_connections_are_cut(void)
{
    gw_proc_t a, gw;
    char got[4096];
    CU_ASSERT_FATAL(gw_upstream_start(&a, "a", NULL) == 0);
    const char *extra[] = { "--admin-request-ms", "500", NULL };
    CU_ASSERT_FATAL(gw_gateway_start_args(&gw, "gw-admin-stall", extra, s_doc, "",
                                          "\"token\":\"" TOKEN "\"", a.port) == 0);
    int fd[4];
    for (int i = 0; i < 4; i++) {
        fd[i] = s_connect(gw.admin_port);
        CU_ASSERT_FATAL(fd[i] >= 0);
    }
    /* 0: says nothing; 1: half a head; 2: a whole head, half the body;
     * 3: a head trickled a byte at a time (each byte resets an idle timer) */
    s_send_text(fd[1], "PUT /config HTTP/1.1\r\nHost: x\r\n");
    s_send_text(fd[2], "PUT /config HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TOKEN
                       "\r\nContent-Length: 1000\r\n\r\n{\"pools\":");
    const char *slow = "GET /config HTTP/1.1\r\nHost: x\r\n";
    int closed3 = 0;
    for (size_t k = 0; k < strlen(slow) && !closed3; k++) {
        if (send(fd[3], slow + k, 1, MSG_NOSIGNAL) != 1)
            closed3 = 1;
        else
            closed3 = s_read(fd[3], got, sizeof got, 200);
    }
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(s_read(fd[i], got, sizeof got, 10000), 1);
    CU_ASSERT(closed3 || s_read(fd[3], got, sizeof got, 10000) == 1);
    for (int i = 0; i < 4; i++)
        close(fd[i]);
    /* The admin still answers whole requests. */
    gw_resp_t r;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz", gw.admin_port);
    gw_http(&r, "GET", url, NULL, NULL);
    CU_ASSERT_EQUAL(r.status, 200);
    gw_resp_free(&r);
    CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 10000), 0);
}

static int s_exit_code(const char *logname, const char *config, const char *const *args)
{
    char bin[1024];
    if (h_bin_path("dtx-gateway", bin, sizeof bin) < 0)
        return -1;
    char *argv[16] = { bin };
    int n = 1;
    if (config) {
        argv[n++] = "--config";
        argv[n++] = (char *)config;
    }
    for (int i = 0; args[i] && n < 15; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    return h_run(logname, argv, 10000);
}

static void test_bad_command_lines_exit_2(void)
{
    char path[1024], weak[1024], strong[1024];
    CU_ASSERT_FATAL(h_scratch_path("gw-exit.json", path, sizeof path) == 0);
    CU_ASSERT_FATAL(h_scratch_path("gw-exit-weak.token", weak, sizeof weak) == 0);
    CU_ASSERT_FATAL(h_scratch_path("gw-exit-strong.token", strong, sizeof strong) == 0);
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fprintf(f, s_doc, "", "", 1);
    fclose(f);
    f = fopen(weak, "w");
    fputs("change-me\n", f);
    fclose(f);
    f = fopen(strong, "w");
    fputs(TOKEN "\n", f);
    fclose(f);
    const char *help[] = { "--help", NULL };
    CU_ASSERT_EQUAL(s_exit_code("gw-exit-help", NULL, help), 0);
    const char *none[] = { NULL };
    CU_ASSERT_EQUAL(s_exit_code("gw-exit-noconfig", NULL, none), 2);
    const char *port[] = { "--listen", "127.0.0.1:95536", NULL };
    CU_ASSERT_EQUAL(s_exit_code("gw-exit-port", path, port), 2);
    const char *aport[] = { "--admin-listen", "127.0.0.1:65536", NULL };
    CU_ASSERT_EQUAL(s_exit_code("gw-exit-aport", path, aport), 2);
    const char *ahost[] = { "--admin-listen", "nowhere.example:80", NULL };
    CU_ASSERT_EQUAL(s_exit_code("gw-exit-ahost", path, ahost), 2);
    const char *tok[] = { "--admin-token", "change-me", NULL };
    CU_ASSERT_EQUAL(s_exit_code("gw-exit-token", path, tok), 2);
    const char *tokfile[] = { "--admin-token-file", weak, NULL };
    CU_ASSERT_EQUAL(s_exit_code("gw-exit-tokfile", path, tokfile), 2);
    const char *nofile[] = { "--admin-token-file", "/nonexistent/token", NULL };
    CU_ASSERT_EQUAL(s_exit_code("gw-exit-nofile", path, nofile), 2);
    const char *unknown[] = { "--bogus", "1", NULL };
    CU_ASSERT_EQUAL(s_exit_code("gw-exit-unknown", path, unknown), 2);
    const char *workers[] = { "--workers", "999", NULL };
    CU_ASSERT_EQUAL(s_exit_code("gw-exit-workers", path, workers), 2);
    const char *ring[] = { "--send-ring", "maybe", NULL };
    h_log_remove("gw-exit-ring");
    CU_ASSERT_EQUAL(s_exit_code("gw-exit-ring", path, ring), 2);
    CU_ASSERT(h_log_count("gw-exit-ring", "--send-ring: 'maybe' is not on or off") == 1);
    const char *balance[] = { "--accept-balance", "maybe", NULL };
    h_log_remove("gw-exit-balance");
    CU_ASSERT_EQUAL(s_exit_code("gw-exit-balance", path, balance), 2);
    CU_ASSERT(h_log_count("gw-exit-balance", "--accept-balance: 'maybe' is not on or off") == 1);
    CU_ASSERT_EQUAL(s_exit_code("gw-exit-missing", "/nonexistent/gw.json", none), 2);
    /* A config file with a bad port or a target with a query: 2 as well. */
    char bad[1024];
    CU_ASSERT_FATAL(h_scratch_path("gw-exit-bad.json", bad, sizeof bad) == 0);
    f = fopen(bad, "w");
    fputs("{\"pools\":[{\"name\":\"p\",\"targets\":[\"http://127.0.0.1:1/p?q=1\"]}],"
          "\"routes\":[{\"name\":\"r\",\"match\":{\"prefix\":\"/\"},\"pool\":\"p\"}]}", f);
    fclose(f);
    CU_ASSERT_EQUAL(s_exit_code("gw-exit-query", bad, none), 2);
    /* The token file works end to end. */
    gw_proc_t a, gw;
    CU_ASSERT_FATAL(gw_upstream_start(&a, "a", NULL) == 0);
    const char *extra[] = { "--admin-token-file", strong, NULL };
    CU_ASSERT_FATAL(gw_gateway_start_args(&gw, "gw-admin-tokfile", extra, s_doc, "", "",
                                          a.port) == 0);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/config", gw.admin_port);
    const char *auth[] = { "Authorization: Bearer " TOKEN, NULL };
    gw_resp_t r;
    gw_http(&r, "GET", url, auth, NULL);
    CU_ASSERT_EQUAL(r.status, 200);
    gw_resp_free(&r);
    /* With the token from the command line a document without one is fine. */
    char doc[2048];
    snprintf(doc, sizeof doc, s_doc, "", "", a.port);
    CU_ASSERT_EQUAL(gw_admin_put(&gw, TOKEN, doc, 0, &r), 200);
    gw_resp_free(&r);
    CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 10000), 0);
}

static int s_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return h_init() == 0 ? 0 : -1;
}

INTEG_SUITE(gateway_admin)
{
    CU_pSuite s = CU_add_suite("gateway_admin", s_init, NULL);
    CU_add_test(s, "put keeps the admin token and refuses listen changes",
                test_put_keeps_the_admin_token_and_refuses_listen_changes);
    CU_add_test(s, "body without the token is refused before it is sent",
                test_body_without_the_token_is_refused_before_it_is_sent);
    CU_add_test(s, "stalled admin connections are cut", test_stalled_admin_connections_are_cut);
    CU_add_test(s, "bad command lines exit 2", test_bad_command_lines_exit_2);
}
