/*
 * The barrier seen from the wire: the test plays the coordinator on a raw
 * ROUTER socket and delivers phases to a real test-participant process in
 * orders a healthy coordinator rarely produces — Cancel before its Try,
 * the same Try or Cancel twice — and checks what the participant's own
 * database recorded.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dtx/barrier.h"
#include "dtx/dtx.h"
#include "integ.h"
#include "util.h"

static u_peer_t s_router;
static uint8_t s_rid[256];
static size_t s_rid_len;
static pid_t s_pid;
static PGconn *s_db;
static uint8_t s_buf[DTX_MSG_MAX];

static int s_init(void)
{
    char ep[H_ENDPOINT_SIZE], db[H_CONNINFO_SIZE], bin[1024], log[64] = "barrier-p";
    if (h_db_create("barrier_p", db, sizeof db) || u_peer_router(&s_router, ep, sizeof ep))
        return -1;
    if (h_testbin_path("test-participant", bin, sizeof bin))
        return -1;
    char *argv[] = { bin, "--instance", "bp", "--db", db, "--coordinator", ep, "--resource", "rx",
                     "--heartbeat-ms", "200", NULL };
    s_pid = h_spawn(log, argv);
    if (s_pid <= 0)
        return -1;
    /* Answer its REGISTER like a coordinator would. */
    dtx_msg_t m;
    int64_t until = h_now_ms() + 10000;
    while (h_now_ms() < until) {
        if (u_recv(&s_router, &m, s_buf, sizeof s_buf, s_rid, &s_rid_len, 500) != 0)
            continue;
        if (m.type == DTX_MSG_REGISTER) {
            dtx_msg_t ok;
            memset(&ok, 0, sizeof ok);
            ok.type = DTX_MSG_REGISTER_OK;
            ok.corr = m.corr;
            strcpy(ok.resource, m.resource);
            ok.heartbeat_ms = 200;
            strcpy(ok.coordinator, "fake-coordinator");
            u_send(&s_router, s_rid, s_rid_len, &ok);
            s_db = h_db_connect("barrier_p");
            return s_db ? 0 : -1;
        }
    }
    return -1;
}

static int s_clean(void)
{
    int rc = h_stop(s_pid, SIGTERM, 5000);
    u_peer_close(&s_router);
    PQfinish(s_db);
    return rc == 0 ? 0 : -1;
}

/* Sends a PHASE and returns the outcome of its PHASE_REPLY (-1 on none).
 * Heartbeats met on the way are answered. */
static int s_phase(const char *gid, uint32_t branch, int op, uint32_t attempt)
{
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_PHASE;
    m.corr = 1000 + attempt;
    strcpy(m.gid, gid);
    m.branch = branch;
    m.op = (uint8_t)op;
    m.attempt = attempt;
    strcpy(m.resource, "rx");
    strcpy(m.action, "reserve");
    m.deadline_ms = 0;
    m.payload = (const uint8_t *)"pp";
    m.payload_len = 2;
    CU_ASSERT_EQUAL_FATAL(u_send(&s_router, s_rid, s_rid_len, &m), 0);
    int64_t until = h_now_ms() + 5000;
    while (h_now_ms() < until) {
        uint8_t rid[256];
        size_t rl = 0;
        if (u_recv(&s_router, &m, s_buf, sizeof s_buf, rid, &rl, 500) != 0)
            continue;
        if (m.type == DTX_MSG_HEARTBEAT) {
            dtx_msg_t ok;
            memset(&ok, 0, sizeof ok);
            ok.type = DTX_MSG_HEARTBEAT_OK;
            ok.corr = m.corr;
            strcpy(ok.coordinator, "fake-coordinator");
            u_send(&s_router, rid, rl, &ok);
            continue;
        }
        if (m.type != DTX_MSG_PHASE_REPLY)
            continue;
        CU_ASSERT_STRING_EQUAL(m.gid, gid);
        CU_ASSERT_EQUAL(m.branch, branch);
        CU_ASSERT_EQUAL(m.op, op);
        CU_ASSERT_EQUAL(m.attempt, attempt);
        return m.outcome;
    }
    return -1;
}

static void test_cancel_before_try_is_null_compensation_and_late_try_is_refused(void)
{
    const char *gid = "01BARRIERNULLCOMP000000001";
    CU_ASSERT_EQUAL(s_phase(gid, 1, DTX_OP_CANCEL, 1), DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(u_effects(s_db, gid, "cancel"), 0); /* nothing to undo */
    CU_ASSERT_EQUAL(s_phase(gid, 1, DTX_OP_TRY, 1), DTX_OUTCOME_REFUSED);
    CU_ASSERT_EQUAL(u_effects(s_db, gid, "try"), 0); /* no reservation */
    CU_ASSERT_EQUAL(u_deliveries(s_db, gid, "try"), 1);
    CU_ASSERT_EQUAL(h_db_scalar(s_db, "SELECT count(*) FROM dtx_barrier WHERE gid = '%s'", gid), 2);
    CU_ASSERT_EQUAL(h_db_scalar(s_db,
                                "SELECT count(*) FROM dtx_barrier WHERE gid = '%s' AND op = 'try' AND origin = 'cancel'",
                                gid),
                    1);
    /* the cancel again: still OK, still nothing done */
    CU_ASSERT_EQUAL(s_phase(gid, 1, DTX_OP_CANCEL, 2), DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(u_effects(s_db, gid, "cancel"), 0);
}

static void test_duplicate_try_and_cancel_apply_once(void)
{
    const char *gid = "01BARRIERDUPLICATES0000001";
    CU_ASSERT_EQUAL(s_phase(gid, 3, DTX_OP_TRY, 1), DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(s_phase(gid, 3, DTX_OP_TRY, 1), DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(u_effects(s_db, gid, "try"), 1);
    CU_ASSERT_EQUAL(u_deliveries(s_db, gid, "try"), 2);
    CU_ASSERT_EQUAL(s_phase(gid, 3, DTX_OP_CANCEL, 1), DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(s_phase(gid, 3, DTX_OP_CANCEL, 2), DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(u_effects(s_db, gid, "cancel"), 1);
}

/* Saga ops go through the same barrier: a compensation before its action
 * is a null compensation, the action after it is refused, and duplicates
 * of either are applied once. */
static void test_saga_compensate_before_action_is_null_and_late_action_is_refused(void)
{
    const char *gid = "01BARRIERSAGANULLCOMP00001";
    CU_ASSERT_EQUAL(s_phase(gid, 2, DTX_OP_COMPENSATE, 1), DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(u_effects(s_db, gid, "compensate"), 0);
    CU_ASSERT_EQUAL(u_deliveries(s_db, gid, "compensate"), 1);
    CU_ASSERT_EQUAL(s_phase(gid, 2, DTX_OP_ACTION, 1), DTX_OUTCOME_REFUSED);
    CU_ASSERT_EQUAL(u_effects(s_db, gid, "action"), 0);
    CU_ASSERT_EQUAL(u_deliveries(s_db, gid, "action"), 1);
    CU_ASSERT_EQUAL(h_db_scalar(s_db,
                                "SELECT count(*) FROM dtx_barrier WHERE gid = '%s' AND op = 'try' AND origin = 'cancel'",
                                gid),
                    1);
}

static void test_saga_duplicate_action_and_compensation_apply_once(void)
{
    const char *gid = "01BARRIERSAGADUPLICATES001";
    CU_ASSERT_EQUAL(s_phase(gid, 1, DTX_OP_ACTION, 1), DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(s_phase(gid, 1, DTX_OP_ACTION, 2), DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(u_effects(s_db, gid, "action"), 1);
    CU_ASSERT_EQUAL(u_deliveries(s_db, gid, "action"), 2);
    CU_ASSERT_EQUAL(s_phase(gid, 1, DTX_OP_COMPENSATE, 1), DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(s_phase(gid, 1, DTX_OP_COMPENSATE, 2), DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(u_effects(s_db, gid, "compensate"), 1);
}

static void test_unknown_resource_gets_failed_outcome(void)
{
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_PHASE;
    m.corr = 9;
    strcpy(m.gid, "01BARRIERUNKNOWNRESOURCE01");
    m.branch = 1;
    m.op = DTX_OP_CONFIRM;
    m.attempt = 1;
    strcpy(m.resource, "not-served-here");
    strcpy(m.action, "x");
    CU_ASSERT_EQUAL_FATAL(u_send(&s_router, s_rid, s_rid_len, &m), 0);
    int64_t until = h_now_ms() + 5000;
    int got = -1;
    while (h_now_ms() < until && got < 0) {
        uint8_t rid[256];
        size_t rl;
        if (u_recv(&s_router, &m, s_buf, sizeof s_buf, rid, &rl, 500) == 0 &&
            m.type == DTX_MSG_PHASE_REPLY)
            got = m.outcome;
    }
    CU_ASSERT_EQUAL(got, DTX_OUTCOME_FAILED);
}

/* A message's check-back meets the service's local transaction holding
 * the outbox row uncommitted (left open, or slow): it answers "unknown"
 * after DTX_TMSG_CHECKBACK_WAIT_MS instead of stalling the participant,
 * leaves no marker, and says committed once the transaction commits. */
static void test_checkback_meeting_an_open_local_transaction_answers_unknown(void)
{
    const char *gid = "01BARRIERCHECKBACKWAIT0001";
    PGconn *holder = h_db_connect("barrier_p");
    CU_ASSERT_PTR_NOT_NULL_FATAL(holder);
    CU_ASSERT_EQUAL_FATAL(h_db_exec(holder, "BEGIN"), 0);
    CU_ASSERT_EQUAL_FATAL(h_db_exec(holder, "INSERT INTO dtx_barrier (gid, branch, op, origin) "
                                            "VALUES ('%s', 0, 'try', 'try')", gid), 0);
    int64_t t0 = h_now_ms();
    CU_ASSERT_EQUAL(s_phase(gid, 0, DTX_OP_QUERY_PREPARED, 1), DTX_OUTCOME_FAILED);
    CU_ASSERT(h_now_ms() - t0 >= DTX_TMSG_CHECKBACK_WAIT_MS - 100); /* it did wait */
    CU_ASSERT_EQUAL(h_db_exec(holder, "COMMIT"), 0);
    CU_ASSERT_EQUAL(s_phase(gid, 0, DTX_OP_QUERY_PREPARED, 2), DTX_OUTCOME_OK);
    PQfinish(holder);
}

INTEG_SUITE(barrier)
{
    CU_pSuite s = CU_add_suite("barrier", s_init, s_clean);
    CU_add_test(s, "cancel before try is null compensation and late try is refused", test_cancel_before_try_is_null_compensation_and_late_try_is_refused);
    CU_add_test(s, "duplicate try and cancel apply once", test_duplicate_try_and_cancel_apply_once);
    CU_add_test(s, "unknown resource gets failed outcome", test_unknown_resource_gets_failed_outcome);
    CU_add_test(s, "saga compensate before action is null and late action is refused", test_saga_compensate_before_action_is_null_and_late_action_is_refused);
    CU_add_test(s, "saga duplicate action and compensation apply once", test_saga_duplicate_action_and_compensation_apply_once);
    CU_add_test(s, "check-back meeting an open local transaction answers unknown", test_checkback_meeting_an_open_local_transaction_answers_unknown);
}
