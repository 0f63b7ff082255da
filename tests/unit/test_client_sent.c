/*
 * test_client_sent.c — whether an initiator call's request left libdtx
 * (participant-sdk/src/client.c): DTX_ENOTSENT when it never left (no
 * connection within the call's timeout: a retry is safe), DTX_ETIMEOUT
 * only when it left and no answer came (the outcome is unknown). The
 * coordinator is a bare ROUTER socket of this test (sockets, no database):
 * one that reads and never answers, one that answers every request with
 * ERROR 23 (a peer claiming "not sent", which libdtx must not believe).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <zmq.h>

#include "dtx/dtx.h"
#include "dtx/log.h"
#include "dtx/proto.h"
#include "unit.h"

#define NOBODY   "tcp://127.0.0.1:1"  /* nothing listens on port 1 */
#define SHORT_MS 300

typedef struct cs_coord {
    void       *ctx, *sock;
    char        endpoint[64];
    int         answer;        /* answer every request with ERROR 23 */
    atomic_int  frames;        /* requests that arrived */
    atomic_int  stop;
    pthread_t   thread;
} cs_coord_t;

static void *cs_run(void *arg)
{
    cs_coord_t *self = arg;
    static uint8_t buf[DTX_MSG_MAX];
    while (!atomic_load(&self->stop)) {
        zmq_pollitem_t item = { .socket = self->sock, .events = ZMQ_POLLIN };
        if (zmq_poll(&item, 1, 20) <= 0)
            continue;
        uint8_t rid[256];
        int rl = zmq_recv(self->sock, rid, sizeof rid, 0);
        int n = zmq_recv(self->sock, buf, sizeof buf, 0);
        if (rl <= 0 || n <= 0)
            continue;
        atomic_fetch_add(&self->frames, 1);
        dtx_msg_t req, rep;
        char why[64];
        if (!self->answer || dtx_msg_decode(&req, buf, (size_t)n, why, sizeof why) != 0)
            continue;
        memset(&rep, 0, sizeof rep);
        rep.version = req.version;
        rep.type = DTX_MSG_ERROR;
        rep.corr = req.corr;
        rep.code = (uint32_t)-DTX_ENOTSENT;
        snprintf(rep.text, sizeof rep.text, "not sent, says the peer");
        size_t len = 0;
        if (dtx_msg_encode(&rep, buf, sizeof buf, &len) != 0)
            continue;
        zmq_send(self->sock, rid, (size_t)rl, ZMQ_SNDMORE);
        zmq_send(self->sock, buf, len, 0);
    }
    return NULL;
}

static void cs_start(cs_coord_t *self, int answer)
{
    memset(self, 0, sizeof *self);
    self->answer = answer;
    self->ctx = zmq_ctx_new();
    self->sock = zmq_socket(self->ctx, ZMQ_ROUTER);
    int linger = 0;
    zmq_setsockopt(self->sock, ZMQ_LINGER, &linger, sizeof linger);
    CU_ASSERT_EQUAL_FATAL(zmq_bind(self->sock, "tcp://127.0.0.1:*"), 0);
    size_t len = sizeof self->endpoint;
    zmq_getsockopt(self->sock, ZMQ_LAST_ENDPOINT, self->endpoint, &len);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&self->thread, NULL, cs_run, self), 0);
}

static void cs_stop(cs_coord_t *self)
{
    atomic_store(&self->stop, 1);
    pthread_join(self->thread, NULL);
    zmq_close(self->sock);
    zmq_ctx_term(self->ctx);
}

static dtx_client_t *cs_client(const char *endpoint)
{
    int err = 1;
    dtx_client_t *c = dtx_client_new(endpoint, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    dtx_client_set_timeout(c, SHORT_MS);
    return c;
}

static const dtx_try_spec_t s_tries[2] = { { "ra", "reserve", "a", 1 },
                                           { "rb", "reserve", NULL, 0 } };

static void test_a_request_that_never_left_is_not_sent(void)
{
    dtx_client_t *c = cs_client(NOBODY);
    char gid[DTX_GID_SIZE] = "x";
    int state = 42;
    dtx_try_outcome_t out[2];
    CU_ASSERT_EQUAL(dtx_client_tcc_run(c, 0, DTX_RUN_COMMIT, s_tries, 2, gid, out, &state),
                    DTX_ENOTSENT);
    CU_ASSERT_STRING_EQUAL(gid, "");
    CU_ASSERT_EQUAL(state, 0);
    CU_ASSERT_EQUAL(out[0].error, DTX_ENOTSENT);
    CU_ASSERT_EQUAL(dtx_client_begin(c, DTX_MODE_TCC, 0, gid), DTX_ENOTSENT);
    CU_ASSERT_EQUAL(dtx_client_commit(c, "g", &state), DTX_ENOTSENT);
    CU_ASSERT_EQUAL(dtx_client_status(c, "g", &state), DTX_ENOTSENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(dtx_strerror(DTX_ENOTSENT), "not sent"));
    dtx_client_destroy(&c);
}

static void test_a_request_sent_without_an_answer_times_out(void)
{
    cs_coord_t fc;
    cs_start(&fc, 0);
    dtx_client_t *c = cs_client(fc.endpoint);
    dtx_client_set_timeout(c, 2000); /* room for the connection; then no answer */
    char gid[DTX_GID_SIZE] = "x";
    int state = 42;
    CU_ASSERT_EQUAL(dtx_client_tcc_run(c, 0, DTX_RUN_COMMIT, s_tries, 2, gid, NULL, &state),
                    DTX_ETIMEOUT);
    CU_ASSERT_STRING_EQUAL(gid, "");
    CU_ASSERT_EQUAL(dtx_client_begin(c, DTX_MODE_TCC, 0, gid), DTX_ETIMEOUT);
    dtx_client_destroy(&c);
    cs_stop(&fc);
    CU_ASSERT_EQUAL(atomic_load(&fc.frames), 2); /* both left, and arrived */
}

static void test_a_peer_answering_not_sent_is_not_believed(void)
{
    cs_coord_t fc;
    cs_start(&fc, 1);
    dtx_client_t *c = cs_client(fc.endpoint);
    dtx_client_set_timeout(c, 5000);
    char gid[DTX_GID_SIZE] = "x";
    CU_ASSERT_EQUAL(dtx_client_begin(c, DTX_MODE_TCC, 0, gid), DTX_EPROTO);
    CU_ASSERT_EQUAL(dtx_client_tcc_run(c, 0, DTX_RUN_COMMIT, s_tries, 2, gid, NULL, NULL),
                    DTX_EPROTO);
    dtx_client_destroy(&c);
    cs_stop(&fc);
    CU_ASSERT_EQUAL(atomic_load(&fc.frames), 2);
}

UNIT_SUITE(client_sent)
{
    CU_pSuite s = CU_add_suite("client_sent", unit_quiet, unit_loud);
#define T(fn) CU_add_test(s, #fn, fn)
    T(test_a_request_that_never_left_is_not_sent);
    T(test_a_request_sent_without_an_answer_times_out);
    T(test_a_peer_answering_not_sent_is_not_believed);
#undef T
}
