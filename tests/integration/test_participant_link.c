/*
 * A participant's link to its coordinator, seen from the wire: the test
 * plays the coordinator on a raw ROUTER socket and a real test-participant
 * process is served frames a healthy coordinator never sends.
 *
 *  - one frame over the SDK's ZMQ_MAXMSGSIZE: libzmq ends the session as a
 *    protocol error and never reconnects that socket; the participant must
 *    notice, connect again, register again and serve the next Try;
 *  - a REGISTER_OK asking for heartbeat_ms=1: the participant keeps to its
 *    floor (participant_timing.h) instead of sending a HEARTBEAT a
 *    millisecond.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dtx/dtx.h"
#include "integ.h"
#include "util.h"

/* participant_timing.h: DTX_HEARTBEAT_MIN_MS */
#define DTX_TEST_HB_FLOOR_MS 50

static uint8_t s_buf[DTX_MSG_MAX];

/* Starts test-participant for resource "lx" against a fresh ROUTER. */
static pid_t s_start(u_peer_t *router, const char *instance, const char *dbname)
{
    char ep[H_ENDPOINT_SIZE], db[H_CONNINFO_SIZE], bin[1024], log[64];
    if (h_db_create(dbname, db, sizeof db) || u_peer_router(router, ep, sizeof ep) ||
        h_testbin_path("test-participant", bin, sizeof bin))
        return -1;
    snprintf(log, sizeof log, "%s", instance);
    char *argv[] = { bin, "--instance", (char *)instance, "--db", db, "--coordinator", ep,
                     "--resource", "lx", "--heartbeat-ms", "200", NULL };
    return h_spawn(log, argv);
}

static void s_answer(u_peer_t *router, const uint8_t *rid, size_t rid_len, const dtx_msg_t *m,
                     uint32_t heartbeat_ms)
{
    dtx_msg_t ok;
    memset(&ok, 0, sizeof ok);
    ok.type = m->type == DTX_MSG_REGISTER ? DTX_MSG_REGISTER_OK : DTX_MSG_HEARTBEAT_OK;
    ok.corr = m->corr;
    if (m->type == DTX_MSG_REGISTER) {
        strcpy(ok.resource, m->resource);
        ok.heartbeat_ms = heartbeat_ms;
    }
    strcpy(ok.coordinator, "fake-coordinator");
    u_send(router, rid, rid_len, &ok);
}

/* Waits up to timeout_ms for a REGISTER, answering heartbeats on the way.
 * Returns 0 with the sender's routing id in rid. */
static int s_await_register(u_peer_t *router, uint8_t *rid, size_t *rid_len, int timeout_ms,
                            uint32_t heartbeat_ms)
{
    int64_t until = h_now_ms() + timeout_ms;
    while (h_now_ms() < until) {
        dtx_msg_t m;
        if (u_recv(router, &m, s_buf, sizeof s_buf, rid, rid_len, 200) != 0)
            continue;
        if (m.type == DTX_MSG_REGISTER || m.type == DTX_MSG_HEARTBEAT)
            s_answer(router, rid, *rid_len, &m, heartbeat_ms);
        if (m.type == DTX_MSG_REGISTER)
            return 0;
    }
    return -1;
}

static void test_oversize_frame_then_participant_registers_again_and_serves_try(void)
{
    u_peer_t router;
    memset(&router, 0, sizeof router);
    pid_t pid = s_start(&router, "lk-big", "link_big");
    CU_ASSERT_FATAL(pid > 0);
    uint8_t rid[256];
    size_t rid_len = 0;
    CU_ASSERT_FATAL(s_await_register(&router, rid, &rid_len, 10000, 200) == 0);
    /* Let it settle into heartbeats (answering whatever comes: a
     * connection may register twice, on connect and on handshake done),
     * then one frame over the limit. */
    (void)s_await_register(&router, rid, &rid_len, 1000, 200);
    (void)s_await_register(&router, rid, &rid_len, 1000, 200);
    uint8_t old_rid[256];
    size_t old_rid_len = rid_len;
    memcpy(old_rid, rid, rid_len);
    size_t big_len = (size_t)DTX_MSG_MAX + 1;
    uint8_t *big = calloc(1, big_len);
    CU_ASSERT_FATAL(big != NULL);
    CU_ASSERT_EQUAL(u_send_raw(&router, rid, rid_len, 1), 0);
    CU_ASSERT_EQUAL(u_send_raw(&router, big, big_len, 0), 0);
    free(big);

    /* It comes back by itself: a REGISTER from a new connection (the
     * ROUTER names each connection with a routing id of its own; the SDK
     * sets none), not a late one from the old. */
    int64_t until_new = h_now_ms() + 20000;
    int fresh = 0;
    while (!fresh && h_now_ms() < until_new)
        if (s_await_register(&router, rid, &rid_len, 1000, 200) == 0)
            fresh = rid_len != old_rid_len || memcmp(rid, old_rid, rid_len) != 0;
    CU_ASSERT_FATAL(fresh);

    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_PHASE;
    m.corr = 7001;
    strcpy(m.gid, "01LINKOVERSIZE000000000001");
    m.branch = 1;
    m.op = DTX_OP_TRY;
    m.attempt = 1;
    strcpy(m.resource, "lx");
    strcpy(m.action, "reserve");
    m.payload = (const uint8_t *)"pp";
    m.payload_len = 2;
    CU_ASSERT_EQUAL_FATAL(u_send(&router, rid, rid_len, &m), 0);
    int outcome = -1;
    int64_t until = h_now_ms() + 10000;
    while (h_now_ms() < until && outcome < 0) {
        uint8_t r2[256];
        size_t r2_len = 0;
        if (u_recv(&router, &m, s_buf, sizeof s_buf, r2, &r2_len, 200) != 0)
            continue;
        if (m.type == DTX_MSG_REGISTER || m.type == DTX_MSG_HEARTBEAT)
            s_answer(&router, r2, r2_len, &m, 200);
        else if (m.type == DTX_MSG_PHASE_REPLY)
            outcome = m.outcome;
    }
    CU_ASSERT_EQUAL(outcome, DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(h_stop(pid, SIGTERM, 5000), 0);
    u_peer_close(&router);
}

static void test_heartbeat_of_one_ms_from_coordinator_is_floored(void)
{
    u_peer_t router;
    memset(&router, 0, sizeof router);
    pid_t pid = s_start(&router, "lk-hb", "link_hb");
    CU_ASSERT_FATAL(pid > 0);
    uint8_t rid[256];
    size_t rid_len = 0;
    CU_ASSERT_FATAL(s_await_register(&router, rid, &rid_len, 10000, 1) == 0);
    /* Count HEARTBEATs over 2 s: at the floor (50 ms) about 40; obeying
     * heartbeat_ms=1 it was over a thousand. */
    int heartbeats = 0;
    int64_t until = h_now_ms() + 2000;
    while (h_now_ms() < until) {
        dtx_msg_t m;
        if (u_recv(&router, &m, s_buf, sizeof s_buf, rid, &rid_len, 100) != 0)
            continue;
        if (m.type == DTX_MSG_HEARTBEAT)
            heartbeats++;
        if (m.type == DTX_MSG_REGISTER || m.type == DTX_MSG_HEARTBEAT)
            s_answer(&router, rid, rid_len, &m, 1);
    }
    CU_ASSERT(heartbeats > 0);
    CU_ASSERT(heartbeats <= 2000 / DTX_TEST_HB_FLOOR_MS + 10);
    CU_ASSERT_EQUAL(h_stop(pid, SIGTERM, 5000), 0);
    u_peer_close(&router);
}

INTEG_SUITE(participant_link)
{
    CU_pSuite s = CU_add_suite("participant_link", NULL, NULL);
    CU_add_test(s, "oversize frame then participant registers again and serves try",
                test_oversize_frame_then_participant_registers_again_and_serves_try);
    CU_add_test(s, "heartbeat of one ms from coordinator is floored",
                test_heartbeat_of_one_ms_from_coordinator_is_floored);
}
