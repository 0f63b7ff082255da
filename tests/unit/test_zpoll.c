/*
 * dtx_zpoll (common/include/dtx/zpoll.h), zmq_poll with one poll(2) per
 * wait: the same readiness as zmq_poll under random sends and receives
 * (over loopback TCP, where libzmq's I/O thread signals ZMQ_FD, and
 * inproc), no readiness lost when a message was read without a poll in
 * between (ZMQ_FD then stays quiet), a wait woken from another thread,
 * plain descriptors beside sockets, and a timeout that waits.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <zmq.h>

#include "dtx/clock.h"
#include "dtx/zpoll.h"
#include "unit.h"

#define S_PAIRS 3

typedef struct {
    void *ctx;
    void *a[S_PAIRS]; /* the polled ends */
    void *b[S_PAIRS]; /* their peers */
} s_net_t;

static void s_net_open(s_net_t *n, int tcp)
{
    n->ctx = zmq_ctx_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(n->ctx);
    for (int i = 0; i < S_PAIRS; i++) {
        int zero = 0;
        n->a[i] = zmq_socket(n->ctx, ZMQ_DEALER);
        n->b[i] = zmq_socket(n->ctx, ZMQ_DEALER);
        zmq_setsockopt(n->a[i], ZMQ_LINGER, &zero, sizeof zero);
        zmq_setsockopt(n->b[i], ZMQ_LINGER, &zero, sizeof zero);
        char ep[256];
        size_t len = sizeof ep;
        if (tcp) {
            CU_ASSERT_EQUAL_FATAL(zmq_bind(n->a[i], "tcp://127.0.0.1:*"), 0);
            zmq_getsockopt(n->a[i], ZMQ_LAST_ENDPOINT, ep, &len);
        } else {
            snprintf(ep, sizeof ep, "inproc://zpoll-%d", i);
            CU_ASSERT_EQUAL_FATAL(zmq_bind(n->a[i], ep), 0);
        }
        CU_ASSERT_EQUAL_FATAL(zmq_connect(n->b[i], ep), 0);
    }
}

static void s_net_close(s_net_t *n)
{
    for (int i = 0; i < S_PAIRS; i++) {
        zmq_close(n->a[i]);
        zmq_close(n->b[i]);
    }
    zmq_ctx_term(n->ctx);
}

/* Polls the a ends for input with both pollers (timeout ms each) and
 * checks they agree; returns the mask of ready ones. */
static unsigned s_both(s_net_t *n, long timeout)
{
    zmq_pollitem_t ours[S_PAIRS], theirs[S_PAIRS];
    for (int i = 0; i < S_PAIRS; i++) {
        ours[i] = (zmq_pollitem_t){ .socket = n->a[i], .events = ZMQ_POLLIN };
        theirs[i] = ours[i];
    }
    int rc = dtx_zpoll(ours, S_PAIRS, timeout);
    int zrc = zmq_poll(theirs, S_PAIRS, timeout);
    CU_ASSERT_EQUAL(rc, zrc);
    unsigned mask = 0;
    for (int i = 0; i < S_PAIRS; i++) {
        CU_ASSERT_EQUAL(ours[i].revents, theirs[i].revents);
        if (ours[i].revents & ZMQ_POLLIN)
            mask |= 1u << i;
    }
    return mask;
}

static void s_random_run(int tcp)
{
    s_net_t n;
    s_net_open(&n, tcp);
    int queued[S_PAIRS] = { 0 };
    unsigned seed = tcp ? 77 : 78;
    for (int step = 0; step < 600; step++) {
        int i = (int)(rand_r(&seed) % S_PAIRS);
        if (rand_r(&seed) % 2) {
            CU_ASSERT_EQUAL(zmq_send(n.b[i], "m", 1, 0), 1);
            queued[i]++;
        } else if (queued[i] > 0) {
            char c;
            /* Read without polling first: ZMQ_FD may then stay quiet
             * while more messages wait. */
            CU_ASSERT_EQUAL(zmq_recv(n.a[i], &c, 1, 0), 1);
            queued[i]--;
        }
        if (tcp && queued[i] > 0) {
            /* Over TCP the next message may still be on its way: let it
             * arrive, so that both pollers see the same queue. */
            zmq_pollitem_t w = { .socket = n.a[i], .events = ZMQ_POLLIN };
            CU_ASSERT_EQUAL(zmq_poll(&w, 1, 5000), 1);
        }
        unsigned want = 0;
        for (int k = 0; k < S_PAIRS; k++)
            if (queued[k])
                want |= 1u << k;
        CU_ASSERT_EQUAL(s_both(&n, 0), want);
    }
    s_net_close(&n);
}

static void test_same_readiness_as_zmq_poll_inproc(void)
{
    s_random_run(0);
}

static void test_same_readiness_as_zmq_poll_tcp(void)
{
    s_random_run(1);
}

static void test_a_message_left_after_a_read_is_still_seen(void)
{
    s_net_t n;
    s_net_open(&n, 1);
    zmq_pollitem_t it = { .socket = n.a[0], .events = ZMQ_POLLIN };
    CU_ASSERT_EQUAL(zmq_send(n.b[0], "1", 1, 0), 1);
    CU_ASSERT_EQUAL(zmq_send(n.b[0], "2", 1, 0), 1);
    CU_ASSERT_EQUAL(dtx_zpoll(&it, 1, 5000), 1);
    char c;
    CU_ASSERT_EQUAL(zmq_recv(n.a[0], &c, 1, 0), 1);
    /* "2" may arrive later than "1" was read: a wait finds it either way. */
    CU_ASSERT_EQUAL(dtx_zpoll(&it, 1, 5000), 1);
    CU_ASSERT_EQUAL(it.revents, ZMQ_POLLIN);
    CU_ASSERT_EQUAL(zmq_recv(n.a[0], &c, 1, 0), 1);
    CU_ASSERT_EQUAL(c, '2');
    CU_ASSERT_EQUAL(dtx_zpoll(&it, 1, 0), 0);
    CU_ASSERT_EQUAL(it.revents, 0);
    s_net_close(&n);
}

static void *s_send_later(void *arg)
{
    usleep(50 * 1000);
    zmq_send(arg, "x", 1, 0);
    return NULL;
}

static void test_a_wait_wakes_for_a_message_from_another_thread(void)
{
    s_net_t n;
    s_net_open(&n, 1);
    zmq_pollitem_t it = { .socket = n.a[1], .events = ZMQ_POLLIN };
    pthread_t t;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, s_send_later, n.b[1]), 0);
    int64_t t0 = dtx_clock_mono_ms();
    CU_ASSERT_EQUAL(dtx_zpoll(&it, 1, -1), 1);
    CU_ASSERT(dtx_clock_mono_ms() - t0 >= 40);
    CU_ASSERT_EQUAL(it.revents, ZMQ_POLLIN);
    pthread_join(t, NULL);
    s_net_close(&n);
}

static void test_plain_descriptors_beside_sockets(void)
{
    s_net_t n;
    s_net_open(&n, 0);
    int p[2];
    CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
    zmq_pollitem_t it[3] = {
        { .socket = n.a[0], .events = ZMQ_POLLIN },
        { .fd = p[0], .events = ZMQ_POLLIN },
        { .fd = p[1], .events = ZMQ_POLLOUT },
    };
    CU_ASSERT_EQUAL(dtx_zpoll(it, 2, 0), 0); /* nothing to read anywhere */
    CU_ASSERT_EQUAL(dtx_zpoll(it, 3, 0), 1); /* the pipe has room */
    CU_ASSERT_EQUAL(it[2].revents, ZMQ_POLLOUT);
    CU_ASSERT_EQUAL(write(p[1], "z", 1), 1);
    CU_ASSERT_EQUAL(zmq_send(n.b[0], "m", 1, 0), 1);
    CU_ASSERT_EQUAL(dtx_zpoll(it, 2, 1000), 2);
    CU_ASSERT_EQUAL(it[0].revents, ZMQ_POLLIN);
    CU_ASSERT_EQUAL(it[1].revents, ZMQ_POLLIN);
    close(p[1]); /* the reader sees the hang-up as an error, as zmq_poll reports it */
    char c;
    CU_ASSERT_EQUAL(read(p[0], &c, 1), 1);
    CU_ASSERT_EQUAL(dtx_zpoll(&it[1], 1, 0), 1);
    CU_ASSERT(it[1].revents & ZMQ_POLLERR);
    close(p[0]);
    s_net_close(&n);
}

/* More items than dtx_zpoll has room for: zmq_poll answers. */
static void test_many_items_are_polled_too(void)
{
    s_net_t n;
    s_net_open(&n, 0);
    static zmq_pollitem_t many[DTX_ZPOLL_MAX + 4];
    for (int i = 0; i < DTX_ZPOLL_MAX + 4; i++)
        many[i] = (zmq_pollitem_t){ .socket = n.a[i % S_PAIRS], .events = ZMQ_POLLIN };
    CU_ASSERT_EQUAL(dtx_zpoll(many, DTX_ZPOLL_MAX + 4, 0), 0);
    CU_ASSERT_EQUAL(zmq_send(n.b[1], "m", 1, 0), 1);
    CU_ASSERT_EQUAL(dtx_zpoll(many, DTX_ZPOLL_MAX + 4, 1000), (DTX_ZPOLL_MAX + 4 + 1) / S_PAIRS);
    CU_ASSERT_EQUAL(many[DTX_ZPOLL_MAX + 2].revents, 0);
    CU_ASSERT_EQUAL(many[DTX_ZPOLL_MAX + 3].revents, ZMQ_POLLIN);
    s_net_close(&n);
}

static void test_a_timeout_waits_and_bad_arguments_fail(void)
{
    s_net_t n;
    s_net_open(&n, 0);
    zmq_pollitem_t it = { .socket = n.a[2], .events = ZMQ_POLLIN };
    int64_t t0 = dtx_clock_mono_ms();
    CU_ASSERT_EQUAL(dtx_zpoll(&it, 1, 60), 0);
    CU_ASSERT(dtx_clock_mono_ms() - t0 >= 55);
    errno = 0;
    CU_ASSERT_EQUAL(dtx_zpoll(&it, -1, 0), -1);
    CU_ASSERT_EQUAL(errno, EINVAL);
    errno = 0;
    CU_ASSERT_EQUAL(dtx_zpoll(NULL, 1, 0), -1);
    CU_ASSERT_EQUAL(errno, EFAULT);
    s_net_close(&n);
}

UNIT_SUITE(zpoll)
{
    CU_pSuite s = CU_add_suite("zpoll", NULL, NULL);
    CU_add_test(s, "same readiness as zmq_poll (inproc)", test_same_readiness_as_zmq_poll_inproc);
    CU_add_test(s, "same readiness as zmq_poll (tcp)", test_same_readiness_as_zmq_poll_tcp);
    CU_add_test(s, "a message left after a read is still seen",
                test_a_message_left_after_a_read_is_still_seen);
    CU_add_test(s, "a wait wakes for a message from another thread",
                test_a_wait_wakes_for_a_message_from_another_thread);
    CU_add_test(s, "plain descriptors beside sockets", test_plain_descriptors_beside_sockets);
    CU_add_test(s, "many items are polled too", test_many_items_are_polled_too);
    CU_add_test(s, "a timeout waits and bad arguments fail",
                test_a_timeout_waits_and_bad_arguments_fail);
}
