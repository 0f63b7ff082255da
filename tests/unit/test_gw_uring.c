/*
 * test_gw_uring.c — the send ring (gateway-filter/src/core/gw_uring.c) on
 * socketpairs with small buffers: order, short sends, a full queue, a
 * failed send, shutdown and close while bytes are queued, the fallback.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/gw_uring.h"
#include "unit.h"

#define S_SMALL 1024
#define S_CAP   (64 * 1024)

static dtx_gw_uring_t *s_ring(int linger_ms)
{
    int err = 0;
    dtx_gw_uring_t *r = dtx_gw_uring_new(64, S_SMALL, S_CAP, linger_ms, &err);
    CU_ASSERT_PTR_NOT_NULL(r);
    return r;
}

/* A socketpair, the sender's end non-blocking with a small send buffer. */
static void s_pair(int sv[2])
{
    CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    int sz = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
}

static int s_drained;
static void *s_drained_owner;
static void s_on_drained(void *cls, void *owner)
{
    (void)cls;
    s_drained++;
    s_drained_owner = owner;
}

/* Submits and reaps, reading the peer's end into got, until nothing is
 * queued or in flight (at most about 5 s). Returns the bytes read. */
static size_t s_settle(dtx_gw_uring_t *r, int peer, char *got, size_t cap)
{
    size_t n = 0;
    for (int i = 0; i < 500; i++) {
        dtx_gw_uring_submit(r);
        dtx_gw_uring_reap(r, s_on_drained, NULL);
        if (peer >= 0) {
            ssize_t k;
            while (n < cap && (k = read(peer, got + n, cap - n)) > 0)
                n += (size_t)k;
        }
        if (!dtx_gw_uring_in_flight(r) && !dtx_gw_uring_queued(r))
            break;
        struct pollfd p = { .fd = dtx_gw_uring_fd(r), .events = POLLIN };
        poll(&p, 1, 10);
    }
    return n;
}

static ssize_t s_send(dtx_gw_uring_t *r, int fd, const void *data, size_t len)
{
    struct iovec iov = { (void *)data, len };
    return dtx_gw_uring_send(r, fd, &s_drained, &iov, 1);
}

static void test_pipelined_sends_arrive_in_order(void)
{
    dtx_gw_uring_t *r = s_ring(1000);
    int sv[2];
    s_pair(sv);
    struct iovec two[2] = { { "HTTP/1.1 200 OK\r\n", 17 }, { "\r\nA", 3 } };
    CU_ASSERT_EQUAL(dtx_gw_uring_send(r, sv[0], NULL, two, 2), 20);
    CU_ASSERT_EQUAL(s_send(r, sv[0], "B", 1), 1);
    CU_ASSERT(dtx_gw_uring_queued(r));
    char got[64] = { 0 };
    CU_ASSERT_EQUAL(s_settle(r, sv[1], got, sizeof got), 21);
    CU_ASSERT_STRING_EQUAL(got, "HTTP/1.1 200 OK\r\n\r\nAB");
    dtx_gw_uring_close(r, sv[0]);
    close(sv[1]);
    dtx_gw_uring_destroy(&r);
    CU_ASSERT_PTR_NULL(r);
}

static void test_large_write_is_direct_only_when_nothing_is_queued(void)
{
    dtx_gw_uring_t *r = s_ring(1000);
    int sv[2];
    s_pair(sv);
    static char big[S_SMALL * 3];
    memset(big, 'b', sizeof big);
    CU_ASSERT_EQUAL(s_send(r, sv[0], big, sizeof big), DTX_GW_URING_DIRECT);
    CU_ASSERT_EQUAL(s_send(r, sv[0], "a", 1), 1);
    /* Now a large write queues behind the small one instead of passing it. */
    CU_ASSERT_EQUAL(s_send(r, sv[0], big, sizeof big), (ssize_t)sizeof big);
    static char got[sizeof big + 1];
    CU_ASSERT_EQUAL(s_settle(r, sv[1], got, sizeof got), sizeof got);
    CU_ASSERT_EQUAL(got[0], 'a');
    CU_ASSERT_EQUAL(got[1], 'b');
    CU_ASSERT_EQUAL(got[sizeof big], 'b');
    CU_ASSERT_EQUAL(dtx_gw_uring_close(r, sv[0]), 0);
    close(sv[1]);
    dtx_gw_uring_destroy(&r);
}

/* More than the socket holds: the kernel's send comes back short or
 * waits; the rest goes in order, and a write beyond the queue's cap is
 * refused and its owner told once the queue drained. */
static void test_short_sends_and_a_full_queue(void)
{
    dtx_gw_uring_t *r = s_ring(1000);
    int sv[2];
    s_pair(sv);
    size_t total = 0;
    char piece[S_SMALL];
    unsigned char k = 0;
    for (;;) {
        for (size_t i = 0; i < sizeof piece; i++)
            piece[i] = (char)k++;
        ssize_t w = s_send(r, sv[0], piece, sizeof piece);
        if (w == DTX_GW_URING_FULL)
            break;
        CU_ASSERT_EQUAL_FATAL(w, (ssize_t)sizeof piece);
        total += sizeof piece;
        if (total == S_SMALL)
            dtx_gw_uring_submit(r);   /* the first piece in flight, the rest behind */
    }
    CU_ASSERT(total >= S_CAP - S_SMALL);
    s_drained = 0;
    char *got = malloc(total + 1);
    CU_ASSERT_EQUAL(s_settle(r, sv[1], got, total + 1), total);
    int in_order = 1;
    for (size_t i = 0; i < total; i++)
        in_order &= (unsigned char)got[i] == (unsigned char)i;
    CU_ASSERT(in_order);
    CU_ASSERT_EQUAL(s_drained, 1);
    CU_ASSERT_PTR_EQUAL(s_drained_owner, &s_drained);
    free(got);
    dtx_gw_uring_close(r, sv[0]);
    close(sv[1]);
    dtx_gw_uring_destroy(&r);
}

static void test_failed_send_breaks_the_connection(void)
{
    dtx_gw_uring_t *r = s_ring(1000);
    int sv[2];
    s_pair(sv);
    close(sv[1]);
    CU_ASSERT_EQUAL(s_send(r, sv[0], "lost", 4), 4);
    s_settle(r, -1, NULL, 0);
    CU_ASSERT_EQUAL(s_send(r, sv[0], "more", 4), DTX_GW_URING_BROKEN);
    CU_ASSERT_EQUAL(dtx_gw_uring_close(r, sv[0]), 0);
    /* The fd number's next connection starts clean. */
    int again[2];
    s_pair(again);
    CU_ASSERT_EQUAL(again[0], sv[0]);
    CU_ASSERT_EQUAL(s_send(r, again[0], "ok", 2), 2);
    char got[8] = { 0 };
    CU_ASSERT_EQUAL(s_settle(r, again[1], got, sizeof got), 2);
    CU_ASSERT_STRING_EQUAL(got, "ok");
    dtx_gw_uring_close(r, again[0]);
    close(again[1]);
    dtx_gw_uring_destroy(&r);
}

static void test_shutdown_waits_for_queued_bytes(void)
{
    dtx_gw_uring_t *r = s_ring(1000);
    int sv[2];
    s_pair(sv);
    CU_ASSERT_EQUAL(s_send(r, sv[0], "bye", 3), 3);
    dtx_gw_uring_shutdown_wr(r, sv[0]);
    char got[8] = { 0 };
    CU_ASSERT_EQUAL(s_settle(r, sv[1], got, sizeof got), 3);
    CU_ASSERT_STRING_EQUAL(got, "bye");
    CU_ASSERT_EQUAL(read(sv[1], got, sizeof got), 0);   /* then the end */
    dtx_gw_uring_close(r, sv[0]);
    close(sv[1]);
    dtx_gw_uring_destroy(&r);
}

/* Closed while its bytes are queued: the fd stays open (its number is not
 * reused) until they are out, then it is closed. */
static void test_close_while_queued_sends_then_closes(void)
{
    dtx_gw_uring_t *r = s_ring(5000);
    int sv[2];
    s_pair(sv);
    CU_ASSERT_EQUAL(s_send(r, sv[0], "last", 4), 4);
    CU_ASSERT_EQUAL(dtx_gw_uring_close(r, sv[0]), 1);
    CU_ASSERT(fcntl(sv[0], F_GETFD) >= 0);
    int other = dup(sv[1]);
    CU_ASSERT_NOT_EQUAL(other, sv[0]);
    close(other);
    char got[8] = { 0 };
    size_t n = 0;
    for (int i = 0; i < 500 && fcntl(sv[0], F_GETFD) >= 0; i++) {
        n += s_settle(r, sv[1], got + n, sizeof got - n);
        struct pollfd p = { .fd = dtx_gw_uring_fd(r), .events = POLLIN };
        poll(&p, 1, 10);
    }
    CU_ASSERT_STRING_EQUAL(got, "last");
    CU_ASSERT_EQUAL(fcntl(sv[0], F_GETFD), -1);
    CU_ASSERT_EQUAL(read(sv[1], got, sizeof got), 0);
    close(sv[1]);
    dtx_gw_uring_destroy(&r);
}

/* A send queued to a reader that never reads, then the close: handed to
 * the kernel first (submitted) or not; either way, after the linger the
 * send fails and the fd is closed. */
static void s_close_stuck_send(bool submit_first)
{
    dtx_gw_uring_t *r = s_ring(50);
    int sv[2];
    s_pair(sv);
    char piece[S_SMALL];
    memset(piece, 'x', sizeof piece);
    for (int i = 0; i < 32; i++)
        CU_ASSERT_EQUAL(s_send(r, sv[0], piece, sizeof piece), (ssize_t)sizeof piece);
    if (submit_first) {
        dtx_gw_uring_submit(r);
        dtx_gw_uring_reap(r, NULL, NULL);
        CU_ASSERT(dtx_gw_uring_in_flight(r));
    }
    CU_ASSERT_EQUAL(dtx_gw_uring_close(r, sv[0]), 1);
    s_settle(r, -1, NULL, 0);
    CU_ASSERT_FALSE(dtx_gw_uring_in_flight(r));
    CU_ASSERT_EQUAL(fcntl(sv[0], F_GETFD), -1);
    close(sv[1]);
    dtx_gw_uring_destroy(&r);
}

/* Closed while a send waits in the kernel. */
static void test_close_of_a_stuck_send_ends_after_the_linger(void)
{
    s_close_stuck_send(true);
}

/* Closed before its bytes were handed over: the send goes with a linked
 * linger timeout, then the fd closes. */
static void test_close_before_submit_of_a_stuck_send_ends_after_the_linger(void)
{
    s_close_stuck_send(false);
}

static void test_unavailable_ring_says_why(void)
{
    setenv("DTX_GW_URING_FAIL", "1", 1);
    int err = 0;
    dtx_gw_uring_t *r = dtx_gw_uring_new(64, S_SMALL, S_CAP, 1000, &err);
    unsetenv("DTX_GW_URING_FAIL");
    CU_ASSERT_PTR_NULL(r);
    CU_ASSERT_EQUAL(err, -ENOSYS);
}

UNIT_SUITE(gw_uring)
{
    CU_pSuite s = CU_add_suite("gw_uring", NULL, NULL);
    CU_add_test(s, "pipelined sends arrive in order", test_pipelined_sends_arrive_in_order);
    CU_add_test(s, "large write is direct only when nothing is queued",
                test_large_write_is_direct_only_when_nothing_is_queued);
    CU_add_test(s, "short sends and a full queue", test_short_sends_and_a_full_queue);
    CU_add_test(s, "failed send breaks the connection", test_failed_send_breaks_the_connection);
    CU_add_test(s, "shutdown waits for queued bytes", test_shutdown_waits_for_queued_bytes);
    CU_add_test(s, "close while queued sends, then closes",
                test_close_while_queued_sends_then_closes);
    CU_add_test(s, "close of a stuck send ends after the linger",
                test_close_of_a_stuck_send_ends_after_the_linger);
    CU_add_test(s, "close before submit of a stuck send ends after the linger",
                test_close_before_submit_of_a_stuck_send_ends_after_the_linger);
    CU_add_test(s, "unavailable ring says why", test_unavailable_ring_says_why);
}
