/*
 * libdtx's ZeroMQ service helper (dtx/zsvc.h) against a DEALER playing the
 * gateway, over loopback TCP: a request split, a reply's golden frames, a
 * malformed request answered 400, bad replies refused with nothing sent.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <zmq.h>

#include "dtx/types.h"
#include "dtx/zsvc.h"
#include "unit.h"

static void *s_dealer(void *ctx, dtx_zsvc_t *svc)
{
    void *d = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0, ms = 5000;
    zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(d, ZMQ_RCVTIMEO, &ms, sizeof ms);
    CU_ASSERT_EQUAL(zmq_connect(d, dtx_zsvc_endpoint(svc)), 0);
    return d;
}

static void s_send(void *d, const char *const *frames, int n)
{
    for (int i = 0; i < n; i++)
        zmq_send(d, frames[i], strlen(frames[i]), i + 1 < n ? ZMQ_SNDMORE : 0);
}

/* Receives a message into frames (each NUL-terminated in buf). */
static int s_recv(void *d, char frames[8][256])
{
    int n = 0, more = 1;
    while (more && n < 8) {
        int r = zmq_recv(d, frames[n], 255, 0);
        if (r < 0)
            return -1;
        frames[n][r] = '\0';
        size_t len = sizeof more;
        zmq_getsockopt(d, ZMQ_RCVMORE, &more, &len);
        n++;
    }
    return n;
}

static void test_a_request_is_split_and_answered(void)
{
    dtx_zsvc_t *svc = dtx_zsvc_new("tcp://127.0.0.1:*");
    CU_ASSERT_PTR_NOT_NULL_FATAL(svc);
    CU_ASSERT(strncmp(dtx_zsvc_endpoint(svc), "tcp://127.0.0.1:", 16) == 0);
    void *ctx = zmq_ctx_new();
    void *d = s_dealer(ctx, svc);
    dtx_zsvc_request_t *rq = NULL;
    CU_ASSERT_EQUAL(dtx_zsvc_recv(svc, &rq, 10), DTX_ETIMEOUT);
    const char *req[] = { "", "DTXGW/1", "0000000100000002", "PUT", "/a/b", "x=1", "gid-9",
                          "Content-Type: text/plain\r\nX-Two:  v  \r\n", "the body" };
    s_send(d, req, 9);
    CU_ASSERT_EQUAL_FATAL(dtx_zsvc_recv(svc, &rq, 5000), 0);
    CU_ASSERT_STRING_EQUAL(rq->method, "PUT");
    CU_ASSERT_STRING_EQUAL(rq->path, "/a/b");
    CU_ASSERT_STRING_EQUAL(rq->query, "x=1");
    CU_ASSERT_STRING_EQUAL(rq->gid, "gid-9");
    CU_ASSERT_EQUAL(rq->nheaders, 2);
    CU_ASSERT_STRING_EQUAL(dtx_zsvc_header(rq, "x-two"), "v");
    CU_ASSERT_PTR_NULL(dtx_zsvc_header(rq, "X-None"));
    CU_ASSERT_EQUAL(rq->body_len, 8);
    CU_ASSERT_STRING_EQUAL(rq->body, "the body");
    const dtx_zsvc_header_t h[] = { { "Content-Type", "application/json" }, { "X-B", "" } };
    CU_ASSERT_EQUAL(dtx_zsvc_reply(svc, &rq, 201, h, 2, "{}", 2), 0);
    CU_ASSERT_PTR_NULL(rq);
    char f[8][256];
    CU_ASSERT_EQUAL_FATAL(s_recv(d, f), 6);
    CU_ASSERT_STRING_EQUAL(f[0], "");
    CU_ASSERT_STRING_EQUAL(f[1], "DTXGW/1");
    CU_ASSERT_STRING_EQUAL(f[2], "0000000100000002");
    CU_ASSERT_STRING_EQUAL(f[3], "201");
    CU_ASSERT_STRING_EQUAL(f[4], "Content-Type: application/json\r\nX-B: \r\n");
    CU_ASSERT_STRING_EQUAL(f[5], "{}");
    zmq_close(d);
    zmq_ctx_term(ctx);
    dtx_zsvc_destroy(&svc);
    CU_ASSERT_PTR_NULL(svc);
}

static void test_bad_requests_and_bad_replies(void)
{
    dtx_zsvc_t *svc = dtx_zsvc_new("tcp://127.0.0.1:*");
    CU_ASSERT_PTR_NOT_NULL_FATAL(svc);
    void *ctx = zmq_ctx_new();
    void *d = s_dealer(ctx, svc);
    /* A request of another version: answered 400 with its id, not handed out. */
    const char *bad[] = { "", "DTXGW/2", "id-1", "GET", "/", "", "", "", "" };
    s_send(d, bad, 9);
    dtx_zsvc_request_t *rq = NULL;
    CU_ASSERT_EQUAL(dtx_zsvc_recv(svc, &rq, 300), DTX_ETIMEOUT);
    CU_ASSERT_PTR_NULL(rq);
    char f[8][256];
    CU_ASSERT_EQUAL_FATAL(s_recv(d, f), 6);
    CU_ASSERT_STRING_EQUAL(f[2], "id-1");
    CU_ASSERT_STRING_EQUAL(f[3], "400");
    CU_ASSERT_STRING_EQUAL(f[5], "bad version");
    /* Replies that would break the format: refused, nothing sent. */
    const char *good[] = { "", "DTXGW/1", "id-2", "GET", "/", "", "", "", "" };
    s_send(d, good, 9);
    CU_ASSERT_EQUAL_FATAL(dtx_zsvc_recv(svc, &rq, 5000), 0);
    const dtx_zsvc_header_t inj[] = { { "X-A", "v\r\nSet-Cookie: x=1" } };
    CU_ASSERT_EQUAL(dtx_zsvc_reply(svc, &rq, 200, inj, 1, NULL, 0), DTX_EINVAL);
    CU_ASSERT_PTR_NULL(rq);
    s_send(d, good, 9);
    CU_ASSERT_EQUAL_FATAL(dtx_zsvc_recv(svc, &rq, 5000), 0);
    const dtx_zsvc_header_t name[] = { { "Bad Name", "v" } };
    CU_ASSERT_EQUAL(dtx_zsvc_reply(svc, &rq, 200, name, 1, NULL, 0), DTX_EINVAL);
    s_send(d, good, 9);
    CU_ASSERT_EQUAL_FATAL(dtx_zsvc_recv(svc, &rq, 5000), 0);
    CU_ASSERT_EQUAL(dtx_zsvc_reply(svc, &rq, 99, NULL, 0, NULL, 0), DTX_EINVAL);
    int ms = 200;
    zmq_setsockopt(d, ZMQ_RCVTIMEO, &ms, sizeof ms);
    CU_ASSERT_EQUAL(s_recv(d, f), -1);            /* none of the three went out */
    zmq_close(d);
    zmq_ctx_term(ctx);
    dtx_zsvc_destroy(&svc);
    CU_ASSERT_PTR_NULL(dtx_zsvc_new("tcp://no-such-interface-xyz:1"));
}

UNIT_SUITE(zsvc)
{
    CU_pSuite s = CU_add_suite("zsvc", NULL, NULL);
    CU_add_test(s, "a request is split and answered", test_a_request_is_split_and_answered);
    CU_add_test(s, "bad requests and bad replies", test_bad_requests_and_bad_replies);
}
