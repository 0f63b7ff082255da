/*
 * One epoll batch of a worker's upstream side (upstream/gw_proxy.h),
 * driven by hand on real sockets: the library's objects, no gateway
 * process, so the test decides which events one batch holds and in which
 * order they are handed over.
 *
 * The case: a call waits for its upstream with its client watched (the
 * libmicrohttpd engine's 50 ms client watch). In the same batch the
 * client's hang-up comes first and the upstream's answer second. The
 * first event ends the call and closes its upstream connection; the
 * second points to that connection. It must be dropped, not read from
 * freed memory (under ASan the old code stopped with heap-use-after-free
 * here), and the connection is freed at the next dispatch, between
 * batches.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/gw_addr.h"
#include "core/gw_clock.h"
#include "core/gw_event.h"
#include "upstream/gw_lb.h"
#include "upstream/gw_proxy.h"
#include "integ.h"

static const char *s_no_header(void *ctx, const char *name)
{
    (void)ctx;
    (void)name;
    return NULL;
}

static void s_no_headers(void *ctx, dtx_gw_header_visit_fn fn, void *arg)
{
    (void)ctx;
    (void)fn;
    (void)arg;
}

static void s_ready(void *arg)
{
    (*(int *)arg)++;
}

/* A listening socket on 127.0.0.1, its port in *port. */
static int s_listen(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 4) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

/* Handles the worker's events for up to ms until the upstream socket has
 * the request's head. Returns 0 when it has. */
static int s_until_sent(dtx_gw_upstreams_t *ups, int epfd, int upstream_fd, int ms)
{
    for (int i = 0; i < ms / 10; i++) {
        struct epoll_event ev[8];
        int n = epoll_wait(epfd, ev, 8, 10);
        for (int k = 0; k < n; k++)
            dtx_gw_upstreams_on_event(ups, ev[k].data.ptr, ev[k].events);
        dtx_gw_upstreams_dispatch(ups, dtx_gw_now_us());
        char b[512];
        ssize_t r = recv(upstream_fd, b, sizeof b, MSG_PEEK | MSG_DONTWAIT);
        if (r > 0 && memmem(b, (size_t)r, "\r\n\r\n", 4))
            return 0;
    }
    return -1;
}

static void test_client_gone_and_answer_in_one_batch_drop_the_closed_connection(void)
{
    int port = 0;
    int lfd = s_listen(&port);
    CU_ASSERT_FATAL(lfd >= 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    dtx_gw_target_cfg_t tc = { .url = url, .weight = 1 };
    char err[128];
    CU_ASSERT_EQUAL_FATAL(dtx_gw_addr_parse(&tc.addr, url, err, sizeof err), 0);
    dtx_gw_pool_cfg_t pc = { .name = (char *)"batch", .targets = &tc, .ntargets = 1,
                             .sig = (char *)"batch", .timeout_ms = 60000,
                             .connect_timeout_ms = 60000 };
    dtx_gw_pool_t *pool = dtx_gw_pool_new(&pc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pool);
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    CU_ASSERT_FATAL(epfd >= 0);
    dtx_gw_upstreams_t *ups = dtx_gw_upstreams_new(epfd);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ups);
    int client[2];                   /* [0] the gateway's end, [1] the client's */
    CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, client) == 0);

    dtx_gw_req_t req;
    memset(&req, 0, sizeof req);
    req.method = "GET";
    req.path = "/slow";
    req.client_ip = "127.0.0.1";
    req.header = s_no_header;
    req.each_header = s_no_headers;
    snprintf(req.request_id, sizeof req.request_id, "batch-1");
    dtx_gw_upstream_plan_t plan = { .pool = pool };
    int readies = 0;
    dtx_gw_upstream_t *up = NULL;
    CU_ASSERT_EQUAL_FATAL(dtx_gw_upstream_start(&up, ups, &req, &plan, client[0], 4096,
                                                s_ready, &readies), 0);
    int sfd = accept(lfd, NULL, NULL);
    CU_ASSERT_FATAL(sfd >= 0);
    CU_ASSERT_EQUAL_FATAL(s_until_sent(ups, epfd, sfd, 5000), 0);
    CU_ASSERT_EQUAL(readies, 0);

    /* The call is older than the watch's 50 ms (a dispatch "later"): its
     * client socket joins the epoll set. */
    dtx_gw_upstreams_dispatch(ups, dtx_gw_now_us() + 200 * 1000);
    CU_ASSERT_EQUAL(readies, 0);

    /* The client leaves and the upstream answers: both before the batch. */
    close(client[1]);
    static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    CU_ASSERT_EQUAL(send(sfd, answer, sizeof answer - 1, MSG_NOSIGNAL), (ssize_t)sizeof answer - 1);
    struct epoll_event ev[8];
    int n = 0;
    for (int i = 0; i < 500 && n < 2; i++) {
        struct pollfd p = { .fd = epfd, .events = POLLIN };
        poll(&p, 1, 10);
        n = epoll_wait(epfd, ev, 8, 0);  /* level-triggered: both stay until handled */
    }
    CU_ASSERT_EQUAL_FATAL(n, 2);
    /* The client's event first, as the kernel may well order them. */
    if (((dtx_gw_event_source_t *)ev[0].data.ptr)->kind != DTX_GW_EV_CLIENT) {
        struct epoll_event t = ev[0];
        ev[0] = ev[1];
        ev[1] = t;
    }
    CU_ASSERT_EQUAL_FATAL(((dtx_gw_event_source_t *)ev[0].data.ptr)->kind, DTX_GW_EV_CLIENT);
    CU_ASSERT_EQUAL_FATAL(((dtx_gw_event_source_t *)ev[1].data.ptr)->kind, DTX_GW_EV_UPSTREAM);
    dtx_gw_upstreams_on_event(ups, ev[0].data.ptr, ev[0].events);  /* closes the connection */
    dtx_gw_upstreams_on_event(ups, ev[1].data.ptr, ev[1].events);  /* dropped */

    dtx_gw_upstreams_dispatch(ups, dtx_gw_now_us());  /* frees it; `ready` runs */
    CU_ASSERT_EQUAL(readies, 1);
    CU_ASSERT_NOT_EQUAL(dtx_gw_upstream_result(up), 0);
    CU_ASSERT_EQUAL(req.client_gone, 1);
    CU_ASSERT_EQUAL(req.upstream_error, DTX_GW_UPERR_CLIENT_GONE);
    dtx_gw_upstream_end(&up);
    CU_ASSERT_EQUAL(epoll_wait(epfd, ev, 8, 0), 0);  /* nothing of the call is left in the set */

    dtx_gw_upstreams_destroy(&ups);
    dtx_gw_pool_unref(&pool);
    dtx_gw_req_fini(&req);
    close(client[0]);
    close(sfd);
    close(lfd);
    close(epfd);
}

INTEG_SUITE(gateway_batch)
{
    CU_pSuite s = CU_add_suite("gateway_batch", NULL, NULL);
    CU_add_test(s, "client gone and answer in one batch drop the closed connection",
                test_client_gone_and_answer_in_one_batch_drop_the_closed_connection);
}
