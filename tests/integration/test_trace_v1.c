/*
 * libdtx against a coordinator that speaks protocol version 1 only
 * (docs/protocol.md §9, §15): a stand-in on a ROUTER answers a version-2
 * frame with ERROR 3 in version 1 framing, and libdtx's client and
 * participant fall back to version 1 (no trace on the wire). No dtxd: the
 * versions side by side against a real one are test_trace.c's.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dtx/dtx.h"
#include "integ.h"
#include "util.h"

#define TP "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static uint8_t s_buf[DTX_MSG_MAX];

static int s_init(void)
{
    return h_init() < 0 ? -1 : 0;
}

/* A stand-in for an old dtxd on a ROUTER: a version-2 frame gets ERROR 3
 * in version 1 framing (§9 rule 2, not acted on); version-1 frames get
 * their answer. Returns the version of the frame it handled, 0 when none
 * came within timeout_ms. */
static int s_old_coordinator_turn(u_peer_t *r, int timeout_ms)
{
    dtx_msg_t m, out;
    uint8_t rid[256];
    size_t rid_len = 0;
    if (u_recv(r, &m, s_buf, sizeof s_buf, rid, &rid_len, timeout_ms) != 0)
        return 0;
    int version = s_buf[2];
    memset(&out, 0, sizeof out);
    out.corr = m.corr;
    if (version != DTX_PROTO_V1) {
        out.type = DTX_MSG_ERROR;
        out.code = (uint32_t)-DTX_EVERSION;
        strcpy(out.text, "protocol version 2 not supported (this peer speaks 1)");
    } else if (m.type == DTX_MSG_BEGIN) {
        out.type = DTX_MSG_BEGIN_OK;
        strcpy(out.gid, "g-old");
    } else if (m.type == DTX_MSG_STATUS) {
        out.type = DTX_MSG_STATE;
        strcpy(out.gid, m.gid);
        out.state = DTX_STATE_ACTIVE;
    } else if (m.type == DTX_MSG_REGISTER) {
        out.type = DTX_MSG_REGISTER_OK;
        strcpy(out.resource, m.resource);
        out.heartbeat_ms = 1000;
        strcpy(out.coordinator, "old-dtxd");
    } else if (m.type == DTX_MSG_HEARTBEAT) {
        out.type = DTX_MSG_HEARTBEAT_OK;
        strcpy(out.coordinator, "old-dtxd");
    } else {
        return version; /* PHASE_REPLY: nothing to answer */
    }
    CU_ASSERT_EQUAL(u_send(r, rid, rid_len, &out), 0);
    return version;
}

typedef struct {
    const char *endpoint;
    int         begin_rc, status_rc;
    char        gid[DTX_GID_SIZE];
    char        traceparent[DTX_TRACEPARENT_SIZE];
} s_old_client_t;

static void *s_old_client(void *arg)
{
    s_old_client_t *c = arg;
    int err = 0, state = 0;
    dtx_client_t *cl = dtx_client_new(c->endpoint, &err);
    if (!cl)
        return NULL;
    dtx_client_set_timeout(cl, 10000);
    dtx_client_set_traceparent(cl, TP);
    c->begin_rc = dtx_client_begin(cl, DTX_MODE_TCC, 1000, c->gid);
    snprintf(c->traceparent, sizeof c->traceparent, "%s", dtx_client_traceparent(cl));
    c->status_rc = dtx_client_status(cl, c->gid, &state);
    dtx_client_destroy(&cl);
    return NULL;
}

static int s_ok_handler(const dtx_call_t *call, void *arg)
{
    (void)call;
    (*(int *)arg)++;
    return DTX_OK;
}

static void test_libdtx_speaks_v1_to_a_v1_only_coordinator(void)
{
    u_peer_t r;
    char endpoint[128];
    CU_ASSERT_EQUAL_FATAL(u_peer_router(&r, endpoint, sizeof endpoint), 0);

    /* A client: its v2 BEGIN gets ERROR 3, the same BEGIN goes again in
     * v1 (no trace), and its next call is v1 at once. */
    s_old_client_t c = { .endpoint = endpoint, .begin_rc = 1, .status_rc = 1 };
    pthread_t th;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, s_old_client, &c), 0);
    CU_ASSERT_EQUAL(s_old_coordinator_turn(&r, 10000), DTX_PROTO_V2);
    CU_ASSERT_EQUAL(s_old_coordinator_turn(&r, 10000), DTX_PROTO_V1);
    CU_ASSERT_EQUAL(s_old_coordinator_turn(&r, 10000), DTX_PROTO_V1);
    pthread_join(th, NULL);
    CU_ASSERT_EQUAL(c.begin_rc, 0);
    CU_ASSERT_STRING_EQUAL(c.gid, "g-old");
    CU_ASSERT_STRING_EQUAL(c.traceparent, ""); /* a v1 coordinator records none */
    CU_ASSERT_EQUAL(c.status_rc, 0);

    /* A participant: its v2 REGISTER gets ERROR 3, it registers again in
     * v1 and is registered. */
    int err = 0, calls = 0;
    dtx_participant_t *p = dtx_participant_new("old-coord-p", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    dtx_tcc_handlers_t h = { s_ok_handler, s_ok_handler, s_ok_handler, &calls };
    CU_ASSERT_EQUAL(dtx_participant_serve(p, "rold", &h), 0);
    CU_ASSERT_EQUAL(dtx_participant_connect(p, endpoint), 0);
    int seen_v2 = 0, seen_v1 = 0;
    int64_t until = h_now_ms() + 10000;
    while (h_now_ms() < until && !(seen_v1 && dtx_participant_registered(p) == 1)) {
        dtx_participant_poll(p, 20);
        int v = s_old_coordinator_turn(&r, 20);
        seen_v2 |= v == DTX_PROTO_V2;
        seen_v1 |= v == DTX_PROTO_V1;
    }
    CU_ASSERT_TRUE(seen_v2);
    CU_ASSERT_TRUE(seen_v1);
    CU_ASSERT_EQUAL(dtx_participant_registered(p), 1);
    dtx_participant_destroy(&p);
    u_peer_close(&r);
}

INTEG_SUITE(trace_v1)
{
    CU_pSuite s = CU_add_suite("trace_v1", s_init, NULL);
    CU_add_test(s, "libdtx speaks v1 to a v1 only coordinator",
                test_libdtx_speaks_v1_to_a_v1_only_coordinator);
}
