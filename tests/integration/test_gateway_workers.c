/*
 * The gateway's workers (front/gw_server.h, gw_native.c): the per-worker
 * series of /metrics (dtx_gw_worker_*) and the accept balance
 * (front/gw_balance.h). A real dtx-gateway with 4 native workers in front
 * of gw-upstream, driven by raw client sockets that each send one request
 * and stay open: every connection and request is counted on exactly one
 * worker, and with the balance on no worker holds more than 2 connections
 * over the least loaded (without it the kernel's hash leaves wider gaps);
 * each worker's thread CPU time is there too.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "gw_util.h"
#include "integ.h"

#define S_WORKERS 4
#define S_CONNS   40

static gw_proc_t s_up;

static int s_init(void)
{
    static const char *const body[] = { "--body", "hello", NULL };
    return h_init() < 0 || gw_upstream_start(&s_up, "workers", body) < 0 ? -1 : 0;
}

static int s_cleanup(void)
{
    return h_stop(s_up.pid, SIGTERM, 5000) == 0 ? 0 : -1;
}

static int s_start(gw_proc_t *gw, const char *logname, const char *balance)
{
    const char *const args[] = { "--engine", "native", "--workers", "4",
                                 "--accept-balance", balance, NULL };
    return gw_gateway_start_args(gw, logname, args,
        "{\"pools\":[{\"name\":\"p\",\"targets\":[\"http://127.0.0.1:%d\"]}],"
        "\"routes\":[{\"name\":\"all\",\"match\":{\"prefix\":\"/\"},\"pool\":\"p\"}]}",
        s_up.port);
}

/* A connection to port that sent one request and read its answer; -1
 * when either failed. */
static int s_served_connection(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    struct timeval tv = { .tv_sec = 5 };
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        goto fail;
    static const char req[] = "GET /w HTTP/1.1\r\nHost: t\r\n\r\n";
    if (write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1))
        goto fail;
    char buf[4096];
    size_t len = 0;
    while (len < sizeof buf - 1) {
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n <= 0)
            goto fail;
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\nhello"))
            return fd;
    }
fail:
    if (fd >= 0)
        close(fd);
    return -1;
}

/* The value of series name for worker i, or -1. */
static long s_worker(const gw_proc_t *gw, const char *name, int i)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, "%s{worker=\"%d\"}", name, i);
    return (long)gw_metric(gw, prefix);
}

typedef struct {
    long open[S_WORKERS], open_sum, gap, accepted, requests, handed_out, handed_in;
} s_spread_t;

static void s_spread(const gw_proc_t *gw, s_spread_t *s)
{
    memset(s, 0, sizeof *s);
    long lo = -1, hi = -1;
    for (int i = 0; i < S_WORKERS; i++) {
        s->open[i] = s_worker(gw, "dtx_gw_worker_connections", i);
        s->open_sum += s->open[i];
        lo = lo < 0 || s->open[i] < lo ? s->open[i] : lo;
        hi = s->open[i] > hi ? s->open[i] : hi;
        s->accepted += s_worker(gw, "dtx_gw_worker_accepted_total", i);
        s->requests += s_worker(gw, "dtx_gw_worker_requests_total", i);
        s->handed_out += s_worker(gw, "dtx_gw_worker_handed_over_total", i);
        s->handed_in += s_worker(gw, "dtx_gw_worker_taken_over_total", i);
    }
    for (int i = 0; i < S_WORKERS; i++) {
        char prefix[96];
        snprintf(prefix, sizeof prefix, "dtx_gw_worker_cpu_seconds_total{worker=\"%d\"}", i);
        CU_ASSERT(gw_metric(gw, prefix) >= 0);   /* the thread's CPU clock, read */
    }
    s->gap = hi - lo;
    CU_ASSERT_EQUAL(s_worker(gw, "dtx_gw_worker_connections", S_WORKERS), -1);  /* 4 only */
}

/* Opens S_CONNS served connections one after the other, checks the
 * counts, closes them and waits for the gauges to come back to 0.
 * Returns the gap between the fullest and the emptiest worker while all
 * were open. */
static long s_open_count_close(const gw_proc_t *gw)
{
    s_spread_t before;
    s_spread(gw, &before);
    int fds[S_CONNS];
    int opened = 0;
    for (int i = 0; i < S_CONNS; i++) {
        fds[i] = s_served_connection(gw->port);
        opened += fds[i] >= 0;
    }
    CU_ASSERT_EQUAL_FATAL(opened, S_CONNS);
    /* A worker counts a request once its answer went (gw_nconn.c's
     * s_next_request): the client can read the answer first. */
    s_spread_t s;
    s_spread(gw, &s);
    for (int64_t until = h_now_ms() + 5000;
         s.requests - before.requests < S_CONNS && h_now_ms() < until;) {
        usleep(20 * 1000);
        s_spread(gw, &s);
    }
    CU_ASSERT_EQUAL(s.open_sum, S_CONNS);
    CU_ASSERT_EQUAL(s.accepted - before.accepted, S_CONNS);
    CU_ASSERT_EQUAL(s.requests - before.requests, S_CONNS);
    CU_ASSERT_EQUAL(s.handed_out, s.handed_in);
    for (int i = 0; i < S_CONNS; i++)
        close(fds[i]);
    s_spread_t after;
    int64_t until = h_now_ms() + 10000;
    do {
        s_spread(gw, &after);
        if (after.open_sum == 0)
            break;
        usleep(20000);
    } while (h_now_ms() < until);
    CU_ASSERT_EQUAL(after.open_sum, 0);
    CU_ASSERT_EQUAL(after.accepted - before.accepted, S_CONNS);
    return s.gap;
}

/* The default: the balance on. Connections open one at a time, so no two
 * decisions race and the rule's bound holds exactly. */
static void test_workers_count_every_connection_and_stay_within_the_balance(void)
{
    gw_proc_t gw;
    h_log_remove("gw-workers");
    CU_ASSERT_FATAL(s_start(&gw, "gw-workers", "on") == 0);
    CU_ASSERT(h_wait_log("gw-workers", "accept_balance=2", 5000) == 0);
    /* Twice: the second round starts from workers whose counts went
     * down, and must balance again. */
    for (int round = 0; round < 2; round++) {
        long gap = s_open_count_close(&gw);
        CU_ASSERT(gap <= 2);
        if (gap > 2)
            fprintf(stderr, "  round %d: gap %ld > 2\n", round, gap);
    }
    CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 5000), 0);
}

/* --accept-balance off: the kernel's hash alone; the counts still add
 * up (each connection on the worker whose socket took it). */
static void test_workers_without_balance_still_count_every_connection(void)
{
    gw_proc_t gw;
    h_log_remove("gw-workers-off");
    CU_ASSERT_FATAL(s_start(&gw, "gw-workers-off", "off") == 0);
    CU_ASSERT(h_wait_log("gw-workers-off", "accept_balance=0", 5000) == 0);
    (void)s_open_count_close(&gw);
    CU_ASSERT_EQUAL(gw_metric(&gw, "dtx_gw_worker_handed_over_total{worker=\"0\"}"), 0);
    CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 5000), 0);
}

INTEG_SUITE(gateway_workers)
{
    CU_pSuite s = CU_add_suite("gateway_workers", s_init, s_cleanup);
    CU_add_test(s, "workers count every connection and stay within the balance",
                test_workers_count_every_connection_and_stay_within_the_balance);
    CU_add_test(s, "workers without balance still count every connection",
                test_workers_without_balance_still_count_every_connection);
}
