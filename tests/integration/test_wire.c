/*
 * Bad input on the wire: a real dtxd answers every malformed, truncated,
 * oversized, multi-frame, wrong-version or out-of-place message with a
 * clear ERROR (and the corr of the request when it could be read), loses
 * nothing and keeps serving.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dtx/dtx.h"
#include "integ.h"
#include "util.h"

static h_dtxd_t s_dtxd;
static u_peer_t s_peer;
static uint8_t s_buf[DTX_MSG_MAX * 2];

static int s_init(void)
{
    char log[H_CONNINFO_SIZE];
    if (h_db_create("wire_log", log, sizeof log))
        return -1;
    memset(&s_dtxd, 0, sizeof s_dtxd);
    snprintf(s_dtxd.logname, sizeof s_dtxd.logname, "wire-dtxd");
    if (h_dtxd_start(&s_dtxd, log, NULL) != 0)
        return -1;
    return u_peer_dealer(&s_peer, s_dtxd.endpoint);
}

static int s_clean(void)
{
    u_peer_close(&s_peer);
    return h_dtxd_stop(&s_dtxd) == 0 ? 0 : -1;
}

/* Sends raw bytes, expects an ERROR with code; returns its text. */
static const char *s_expect_error(const void *bytes, size_t len, int code, uint64_t corr)
{
    static dtx_msg_t m;
    CU_ASSERT_EQUAL_FATAL(u_send_raw(&s_peer, bytes, len, 0), 0);
    CU_ASSERT_EQUAL_FATAL(u_recv(&s_peer, &m, s_buf, sizeof s_buf, NULL, NULL, 5000), 0);
    CU_ASSERT_EQUAL(m.type, DTX_MSG_ERROR);
    CU_ASSERT_EQUAL(m.code, (uint32_t)-code);
    CU_ASSERT_EQUAL(m.corr, corr);
    CU_ASSERT_TRUE(strlen(m.text) > 0);
    return m.text;
}

/* A healthy exchange still works afterwards. */
static void s_assert_still_serving(void)
{
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_BEGIN;
    m.corr = 4242;
    m.mode = DTX_MODE_TCC;
    m.timeout_ms = 1000;
    CU_ASSERT_EQUAL_FATAL(u_send(&s_peer, NULL, 0, &m), 0);
    CU_ASSERT_EQUAL_FATAL(u_recv(&s_peer, &m, s_buf, sizeof s_buf, NULL, NULL, 5000), 0);
    CU_ASSERT_EQUAL(m.type, DTX_MSG_BEGIN_OK);
    CU_ASSERT_EQUAL(m.corr, 4242);
}

static size_t s_encode(dtx_msg_t *m)
{
    size_t len = 0;
    CU_ASSERT_EQUAL_FATAL(dtx_msg_encode(m, s_buf, sizeof s_buf, &len), 0);
    return len;
}

static void test_garbage_gets_a_protocol_error(void)
{
    const char junk[] = "GET / HTTP/1.1\r\n\r\n";
    const char *text = s_expect_error(junk, sizeof junk - 1, DTX_EPROTO, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "magic"));
    s_assert_still_serving();
}

static void test_truncated_message_names_the_field(void)
{
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_TRY;
    m.corr = 77;
    strcpy(m.gid, "G1");
    strcpy(m.resource, "ra");
    strcpy(m.action, "act");
    size_t len = s_encode(&m);
    uint8_t copy[256];
    memcpy(copy, s_buf, len);
    s_expect_error(copy, len - 3, DTX_EPROTO, 77);
    s_assert_still_serving();
}

static void test_unknown_type_and_reply_types_are_rejected(void)
{
    uint8_t hdr[12] = { 'D', 'X', 1, 0x42, 0, 0, 0, 0, 0, 0, 0, 9 };
    s_expect_error(hdr, sizeof hdr, DTX_EPROTO, 9);
    /* a coordinator-to-peer type sent to the coordinator */
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_STATE;
    m.corr = 10;
    strcpy(m.gid, "G");
    m.state = DTX_STATE_ACTIVE;
    size_t len = s_encode(&m);
    uint8_t copy[128];
    memcpy(copy, s_buf, len);
    const char *text = s_expect_error(copy, len, DTX_EPROTO, 10);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "STATE"));
    s_assert_still_serving();
}

static void test_other_version_gets_version_error_with_corr(void)
{
    /* Versions 1 and 2 are spoken (protocol.md §15): 3 is not. */
    uint8_t hdr[14] = { 'D', 'X', 3, DTX_MSG_BEGIN, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 1, 0 };
    s_expect_error(hdr, sizeof hdr, DTX_EVERSION, 0x1234);
    s_assert_still_serving();
}

static void test_multi_frame_message_is_rejected(void)
{
    dtx_msg_t m;
    CU_ASSERT_EQUAL(u_send_raw(&s_peer, "DX", 2, 1), 0);
    CU_ASSERT_EQUAL(u_send_raw(&s_peer, "more", 4, 0), 0);
    CU_ASSERT_EQUAL_FATAL(u_recv(&s_peer, &m, s_buf, sizeof s_buf, NULL, NULL, 5000), 0);
    CU_ASSERT_EQUAL(m.type, DTX_MSG_ERROR);
    CU_ASSERT_EQUAL(m.code, (uint32_t)-DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(m.text, "frame"));
    /* No frame of it is taken for the request: corr 0 (protocol.md §8). */
    CU_ASSERT_EQUAL(m.corr, 0);
    s_assert_still_serving();
}

static void test_oversized_message_gets_too_big(void)
{
    size_t len = DTX_MSG_MAX + 100;
    uint8_t *big = calloc(1, len);
    big[0] = 'D';
    big[1] = 'X';
    big[2] = 1;
    big[3] = DTX_MSG_TRY;
    s_expect_error(big, len, DTX_ETOOBIG, 0);
    free(big);
    s_assert_still_serving();
}

static void test_heartbeat_from_a_stranger_is_unregistered(void)
{
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_HEARTBEAT;
    m.corr = 5;
    strcpy(m.instance, "stranger");
    size_t len = s_encode(&m);
    uint8_t copy[128];
    memcpy(copy, s_buf, len);
    s_expect_error(copy, len, DTX_EUNREGISTERED, 5);
    s_assert_still_serving();
}

static void test_phase_reply_for_unknown_transaction_is_ignored(void)
{
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_PHASE_REPLY;
    m.corr = 6;
    strcpy(m.gid, "01NOSUCHTRANSACTION0000000");
    m.branch = 1;
    m.op = DTX_OP_CONFIRM;
    m.attempt = 1;
    m.outcome = DTX_OUTCOME_OK;
    CU_ASSERT_EQUAL(u_send(&s_peer, NULL, 0, &m), 0);
    /* no answer to a reply; the next request is served normally */
    CU_ASSERT_EQUAL(u_recv(&s_peer, &m, s_buf, sizeof s_buf, NULL, NULL, 300), -1);
    s_assert_still_serving();
}

static void test_bad_names_never_reach_the_coordinator(void)
{
    /* A name with a space: encoded by hand, since the encoder refuses it. */
    uint8_t frame[64] = { 'D', 'X', 1, DTX_MSG_COMMIT, 0, 0, 0, 0, 0, 0, 0, 8, 3, 'a', ' ', 'b' };
    s_expect_error(frame, 16, DTX_EPROTO, 8);
    s_assert_still_serving();
}

/* BEGIN (TCC, timeout_ms) and its gid. */
static void s_begin(uint32_t timeout_ms, char *gid)
{
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_BEGIN;
    m.corr = 31;
    m.mode = DTX_MODE_TCC;
    m.timeout_ms = timeout_ms;
    CU_ASSERT_EQUAL_FATAL(u_send(&s_peer, NULL, 0, &m), 0);
    CU_ASSERT_EQUAL_FATAL(u_recv(&s_peer, &m, s_buf, sizeof s_buf, NULL, NULL, 5000), 0);
    CU_ASSERT_EQUAL_FATAL(m.type, DTX_MSG_BEGIN_OK);
    strcpy(gid, m.gid);
}

/* Sends a request of type on gid (a TRY names resource ra, action act,
 * no payload) and returns the reply. */
static dtx_msg_t s_gid_request(int type, const char *gid, uint64_t corr)
{
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = (uint8_t)type;
    m.corr = corr;
    strcpy(m.gid, gid);
    if (type == DTX_MSG_TRY) {
        strcpy(m.resource, "ra");
        strcpy(m.action, "act");
    }
    CU_ASSERT_EQUAL(u_send(&s_peer, NULL, 0, &m), 0);
    memset(&m, 0, sizeof m);
    CU_ASSERT_EQUAL(u_recv(&s_peer, &m, s_buf, sizeof s_buf, NULL, NULL, 5000), 0);
    CU_ASSERT_EQUAL(m.corr, corr);
    return m;
}

static void test_try_after_the_deadline_gets_deadline_passed(void)
{
    char gid[DTX_GID_SIZE];
    s_begin(200, gid);
    /* Long past it: the coordinator has decided abort by now. */
    h_sleep_ms(1500);
    dtx_msg_t m = s_gid_request(DTX_MSG_STATUS, gid, 51);
    CU_ASSERT_EQUAL(m.type, DTX_MSG_STATE);
    CU_ASSERT(m.state == DTX_STATE_ABORTING || m.state == DTX_STATE_ABORTED);
    m = s_gid_request(DTX_MSG_TRY, gid, 52);
    CU_ASSERT_EQUAL(m.type, DTX_MSG_ERROR);
    CU_ASSERT_EQUAL(m.code, (uint32_t)-DTX_EEXPIRED); /* was 7: "aborting, not active" */
    CU_ASSERT_PTR_NOT_NULL(strstr(m.text, "deadline"));
    s_assert_still_serving();
}

static void test_try_after_a_commit_and_its_deadline_gets_not_active(void)
{
    char gid[DTX_GID_SIZE];
    s_begin(300, gid);
    /* No branch: COMMIT decides commit at once, before the deadline. */
    dtx_msg_t m = s_gid_request(DTX_MSG_COMMIT, gid, 61);
    CU_ASSERT_EQUAL(m.type, DTX_MSG_STATE);
    CU_ASSERT(m.state == DTX_STATE_COMMITTING || m.state == DTX_STATE_COMMITTED);
    h_sleep_ms(800);
    m = s_gid_request(DTX_MSG_TRY, gid, 62);
    CU_ASSERT_EQUAL(m.type, DTX_MSG_ERROR);
    CU_ASSERT_EQUAL(m.code, (uint32_t)-DTX_ESTATE);
    s_assert_still_serving();
}

static void test_begin_with_an_unknown_mode_is_malformed(void)
{
    /* A new enumeration value needs a new version (§9): mode 3 is not
     * "unsupported" (18) but a malformed version 1 frame (2). */
    uint8_t frame[17] = { 'D', 'X', 1, DTX_MSG_BEGIN, 0, 0, 0, 0, 0, 0, 0, 71,
                          3, 0, 0, 0x75, 0x30 };
    const char *text = s_expect_error(frame, sizeof frame, DTX_EPROTO, 71);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "mode"));
    s_assert_still_serving();
}

static void test_error_frame_is_not_answered(void)
{
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_ERROR;
    m.corr = 81;
    m.code = (uint32_t)-DTX_EVERSION;
    strcpy(m.text, "not my version");
    CU_ASSERT_EQUAL(u_send(&s_peer, NULL, 0, &m), 0);
    /* Nothing comes back (§5.4: an ERROR is never answered), and the
     * next request is served as usual. */
    CU_ASSERT_EQUAL(u_recv(&s_peer, &m, s_buf, sizeof s_buf, NULL, NULL, 300), -1);
    s_assert_still_serving();
}

/* More messages at once than the loop reads in a turn (512), sent
 * before any answer is read: the loop must come back for the rest
 * without a new wake of the socket (it reads until the socket is empty
 * and asks ZMQ_EVENTS when a turn stopped at its bound), and every one
 * is answered, in order. */
static void test_a_burst_over_a_turn_is_answered_in_full(void)
{
    enum { N = 1200 };
    dtx_msg_t m;
    for (int i = 0; i < N; i++) {
        memset(&m, 0, sizeof m);
        m.type = DTX_MSG_BEGIN;
        m.corr = 100000 + (uint64_t)i;
        m.mode = DTX_MODE_TCC;
        m.timeout_ms = 60000;
        CU_ASSERT_EQUAL_FATAL(u_send(&s_peer, NULL, 0, &m), 0);
    }
    int ok = 0;
    for (int i = 0; i < N; i++) {
        CU_ASSERT_EQUAL_FATAL(u_recv(&s_peer, &m, s_buf, sizeof s_buf, NULL, NULL, 5000), 0);
        ok += m.type == DTX_MSG_BEGIN_OK && m.corr == 100000 + (uint64_t)i;
    }
    CU_ASSERT_EQUAL(ok, N);
    s_assert_still_serving();
}

INTEG_SUITE(wire)
{
    CU_pSuite s = CU_add_suite("wire", s_init, s_clean);
    CU_add_test(s, "garbage gets a protocol error", test_garbage_gets_a_protocol_error);
    CU_add_test(s, "truncated message names the field", test_truncated_message_names_the_field);
    CU_add_test(s, "unknown type and reply types are rejected", test_unknown_type_and_reply_types_are_rejected);
    CU_add_test(s, "other version gets version error with corr", test_other_version_gets_version_error_with_corr);
    CU_add_test(s, "multi frame message is rejected", test_multi_frame_message_is_rejected);
    CU_add_test(s, "oversized message gets too big", test_oversized_message_gets_too_big);
    CU_add_test(s, "heartbeat from a stranger is unregistered", test_heartbeat_from_a_stranger_is_unregistered);
    CU_add_test(s, "phase reply for unknown transaction is ignored", test_phase_reply_for_unknown_transaction_is_ignored);
    CU_add_test(s, "bad names never reach the coordinator", test_bad_names_never_reach_the_coordinator);
    CU_add_test(s, "try after the deadline gets deadline passed", test_try_after_the_deadline_gets_deadline_passed);
    CU_add_test(s, "try after a commit and its deadline gets not active", test_try_after_a_commit_and_its_deadline_gets_not_active);
    CU_add_test(s, "begin with an unknown mode is malformed", test_begin_with_an_unknown_mode_is_malformed);
    CU_add_test(s, "error frame is not answered", test_error_frame_is_not_answered);
    CU_add_test(s, "a burst over a turn is answered in full", test_a_burst_over_a_turn_is_answered_in_full);
}
