/*
 * 2PC as the coordinator drives it, seen from the wire: the test plays two
 * participants on raw DEALER sockets (registered like the SDK would) so it
 * controls every vote and acknowledgement; a real dtxd and PostgreSQL log.
 * (The SDK's PostgreSQL resource has its own end-to-end suite.)
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dtx/dtx.h"
#include "integ.h"
#include "core/txn.h"
#include "util.h"

static h_dtxd_t s_dtxd;
static PGconn *s_log;
static u_peer_t s_pa, s_pb; /* resources "xa" and "xb" */
static uint8_t s_buf[DTX_MSG_MAX];

static int s_register(u_peer_t *p, const char *inst, const char *res)
{
    if (u_peer_dealer(p, s_dtxd.endpoint) != 0)
        return -1;
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_REGISTER;
    m.corr = 1;
    strcpy(m.instance, inst);
    strcpy(m.resource, res);
    if (u_send(p, NULL, 0, &m) != 0)
        return -1;
    return (u_recv(p, &m, s_buf, sizeof s_buf, NULL, NULL, 5000) == 0 &&
            m.type == DTX_MSG_REGISTER_OK) ? 0 : -1;
}

static int s_init(void)
{
    char log[H_CONNINFO_SIZE];
    if (h_db_create("tpc_log", log, sizeof log))
        return -1;
    memset(&s_dtxd, 0, sizeof s_dtxd);
    snprintf(s_dtxd.logname, sizeof s_dtxd.logname, "tpc-dtxd");
    /* long heartbeats: the fake participants do not send any */
    const char *args[] = { "--heartbeat-ms", "60000", "--try-timeout-ms", "1500",
                           "--phase-timeout-ms", "400", "--retry-base-ms", "50",
                           "--retry-max-ms", "200", NULL };
    if (h_dtxd_start(&s_dtxd, log, args) != 0)
        return -1;
    s_log = h_db_connect("tpc_log");
    if (!s_log || s_register(&s_pa, "fake-a", "xa") || s_register(&s_pb, "fake-b", "xb"))
        return -1;
    return 0;
}

static int s_clean(void)
{
    u_peer_close(&s_pa);
    u_peer_close(&s_pb);
    PQfinish(s_log);
    return h_dtxd_stop(&s_dtxd) == 0 ? 0 : -1;
}

/* Waits for the next PHASE on p; returns its op (0 on timeout). */
static int s_next_phase(u_peer_t *p, dtx_msg_t *m, int timeout_ms)
{
    int64_t until = h_now_ms() + timeout_ms;
    while (h_now_ms() < until) {
        if (u_recv(p, m, s_buf, sizeof s_buf, NULL, NULL, 100) == 0 && m->type == DTX_MSG_PHASE)
            return m->op;
    }
    return 0;
}

static void s_reply(u_peer_t *p, const dtx_msg_t *phase, int outcome)
{
    dtx_msg_t r;
    memset(&r, 0, sizeof r);
    r.type = DTX_MSG_PHASE_REPLY;
    r.corr = phase->corr;
    strcpy(r.gid, phase->gid);
    r.branch = phase->branch;
    r.op = phase->op;
    r.attempt = phase->attempt;
    r.outcome = (uint8_t)outcome;
    CU_ASSERT_EQUAL(u_send(p, NULL, 0, &r), 0);
}

static dtx_client_t *s_enlisted(char *gid)
{
    dtx_client_t *c = dtx_client_new(s_dtxd.endpoint, NULL);
    dtx_client_set_timeout(c, 10000);
    dtx_try_result_t r;
    CU_ASSERT_EQUAL(dtx_client_begin(c, DTX_MODE_2PC, 30000, gid), 0);
    CU_ASSERT_EQUAL(dtx_client_try(c, gid, "xa", "write", "A", 1, &r), 0);
    CU_ASSERT_EQUAL(r.outcome, DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(dtx_client_try(c, gid, "xb", "write", "B", 1, NULL), 0);
    return c;
}

/* A client call that runs while the test answers phases: the COMMIT is
 * sent raw and its reply read later. */
static void s_send_commit(u_peer_t *ini, const char *gid)
{
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_COMMIT;
    m.corr = 77;
    strcpy(m.gid, gid);
    CU_ASSERT_EQUAL(u_send(ini, NULL, 0, &m), 0);
}

static int s_commit_reply_state(u_peer_t *ini)
{
    dtx_msg_t m;
    if (u_recv(ini, &m, s_buf, sizeof s_buf, NULL, NULL, 5000) != 0 || m.type != DTX_MSG_STATE)
        return -1;
    return m.state;
}

static void test_enlist_contacts_nobody_until_commit(void)
{
    char gid[DTX_GID_SIZE];
    dtx_client_t *c = s_enlisted(gid);
    dtx_msg_t m;
    CU_ASSERT_EQUAL(s_next_phase(&s_pa, &m, 300), 0);
    CU_ASSERT_EQUAL(u_branch_state(s_log, gid, 1), DTX_BRANCH_TRYING);
    CU_ASSERT_EQUAL(dtx_client_rollback(c, gid, NULL), 0);
    /* never prepared: aborted without a message to anyone */
    CU_ASSERT_EQUAL(u_wait_state(s_log, gid, DTX_STATE_ABORTED, 5000), 0);
    CU_ASSERT_EQUAL(s_next_phase(&s_pa, &m, 300), 0);
    dtx_client_destroy(&c);
}

static void test_all_prepared_commits_on_every_branch(void)
{
    char gid[DTX_GID_SIZE];
    dtx_client_t *c = s_enlisted(gid);
    u_peer_t ini;
    CU_ASSERT_FATAL(u_peer_dealer(&ini, s_dtxd.endpoint) == 0);
    s_send_commit(&ini, gid);
    dtx_msg_t pa, pb;
    CU_ASSERT_EQUAL_FATAL(s_next_phase(&s_pa, &pa, 3000), DTX_OP_PREPARE);
    /* the work travels with PREPARE (check before the buffer is reused) */
    CU_ASSERT_EQUAL(pa.payload_len, 1);
    CU_ASSERT_EQUAL(pa.payload[0], 'A');
    CU_ASSERT_STRING_EQUAL(pa.action, "write");
    CU_ASSERT_EQUAL_FATAL(s_next_phase(&s_pb, &pb, 3000), DTX_OP_PREPARE);
    /* the preparing marker travels beside the Prepares: it lands soon */
    int64_t until = h_now_ms() + 3000;
    while (h_db_scalar(s_log, "SELECT preparing::int FROM dtx_global WHERE gid = '%s'", gid) != 1 &&
           h_now_ms() < until)
        h_sleep_ms(20);
    CU_ASSERT_EQUAL(h_db_scalar(s_log, "SELECT preparing::int FROM dtx_global WHERE gid = '%s'", gid), 1);
    /* not decided while one vote is missing */
    s_reply(&s_pa, &pa, DTX_OUTCOME_OK);
    h_sleep_ms(200);
    CU_ASSERT_EQUAL(u_log_state(s_log, gid), DTX_STATE_ACTIVE);
    s_reply(&s_pb, &pb, DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(s_commit_reply_state(&ini), DTX_STATE_COMMITTING);
    CU_ASSERT_EQUAL(u_branch_state(s_log, gid, 1), DTX_BRANCH_TRIED);
    CU_ASSERT_EQUAL_FATAL(s_next_phase(&s_pa, &pa, 3000), DTX_OP_COMMIT);
    CU_ASSERT_EQUAL_FATAL(s_next_phase(&s_pb, &pb, 3000), DTX_OP_COMMIT);
    s_reply(&s_pa, &pa, DTX_OUTCOME_OK);
    /* xb does not acknowledge: COMMIT comes again (at least once) */
    CU_ASSERT_EQUAL_FATAL(s_next_phase(&s_pb, &pb, 3000), DTX_OP_COMMIT);
    CU_ASSERT_TRUE(pb.attempt >= 2);
    s_reply(&s_pb, &pb, DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(u_wait_state(s_log, gid, DTX_STATE_COMMITTED, 5000), 0);
    CU_ASSERT_EQUAL(u_branch_state(s_log, gid, 2), DTX_BRANCH_CONFIRMED);
    u_peer_close(&ini);
    dtx_client_destroy(&c);
}

static void test_a_no_vote_aborts_every_prepared_branch(void)
{
    char gid[DTX_GID_SIZE];
    dtx_client_t *c = s_enlisted(gid);
    u_peer_t ini;
    CU_ASSERT_FATAL(u_peer_dealer(&ini, s_dtxd.endpoint) == 0);
    s_send_commit(&ini, gid);
    dtx_msg_t pa, pb;
    CU_ASSERT_EQUAL_FATAL(s_next_phase(&s_pa, &pa, 3000), DTX_OP_PREPARE);
    CU_ASSERT_EQUAL_FATAL(s_next_phase(&s_pb, &pb, 3000), DTX_OP_PREPARE);
    s_reply(&s_pa, &pa, DTX_OUTCOME_OK);
    s_reply(&s_pb, &pb, DTX_OUTCOME_REFUSED);
    CU_ASSERT_EQUAL(s_commit_reply_state(&ini), DTX_STATE_ABORTING);
    CU_ASSERT_EQUAL_FATAL(s_next_phase(&s_pa, &pa, 3000), DTX_OP_ABORT);
    CU_ASSERT_EQUAL_FATAL(s_next_phase(&s_pb, &pb, 3000), DTX_OP_ABORT);
    s_reply(&s_pa, &pa, DTX_OUTCOME_OK);
    s_reply(&s_pb, &pb, DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(u_wait_state(s_log, gid, DTX_STATE_ABORTED, 5000), 0);
    CU_ASSERT_EQUAL(dtx_client_commit(c, gid, NULL), DTX_EABORTED);
    u_peer_close(&ini);
    dtx_client_destroy(&c);
}

static void test_a_silent_participant_aborts_after_the_prepare_timeout(void)
{
    char gid[DTX_GID_SIZE];
    dtx_client_t *c = s_enlisted(gid);
    u_peer_t ini;
    CU_ASSERT_FATAL(u_peer_dealer(&ini, s_dtxd.endpoint) == 0);
    s_send_commit(&ini, gid);
    dtx_msg_t pa, pb;
    CU_ASSERT_EQUAL_FATAL(s_next_phase(&s_pa, &pa, 3000), DTX_OP_PREPARE);
    CU_ASSERT_EQUAL_FATAL(s_next_phase(&s_pb, &pb, 3000), DTX_OP_PREPARE);
    s_reply(&s_pa, &pa, DTX_OUTCOME_OK); /* xb never answers */
    CU_ASSERT_EQUAL(s_commit_reply_state(&ini), DTX_STATE_ABORTING);
    CU_ASSERT_EQUAL_FATAL(s_next_phase(&s_pa, &pa, 3000), DTX_OP_ABORT);
    s_reply(&s_pa, &pa, DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL_FATAL(s_next_phase(&s_pb, &pb, 3000), DTX_OP_ABORT);
    s_reply(&s_pb, &pb, DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(u_wait_state(s_log, gid, DTX_STATE_ABORTED, 5000), 0);
    char err[256] = "";
    h_db_scalar_text(s_log, err, sizeof err,
                     "SELECT last_error FROM dtx_branch WHERE gid = '%s' AND branch_no = 2", gid);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "no reply to prepare"));
    u_peer_close(&ini);
    dtx_client_destroy(&c);
}

static void test_late_prepare_vote_after_abort_changes_nothing(void)
{
    char gid[DTX_GID_SIZE];
    dtx_client_t *c = s_enlisted(gid);
    u_peer_t ini;
    CU_ASSERT_FATAL(u_peer_dealer(&ini, s_dtxd.endpoint) == 0);
    s_send_commit(&ini, gid);
    dtx_msg_t pa, pb, late;
    CU_ASSERT_EQUAL_FATAL(s_next_phase(&s_pa, &pa, 3000), DTX_OP_PREPARE);
    CU_ASSERT_EQUAL_FATAL(s_next_phase(&s_pb, &pb, 3000), DTX_OP_PREPARE);
    late = pa;
    s_reply(&s_pb, &pb, DTX_OUTCOME_REFUSED);
    CU_ASSERT_EQUAL(s_commit_reply_state(&ini), DTX_STATE_ABORTING);
    s_reply(&s_pa, &late, DTX_OUTCOME_OK); /* too late: ignored */
    CU_ASSERT_EQUAL_FATAL(s_next_phase(&s_pa, &pa, 3000), DTX_OP_ABORT);
    s_reply(&s_pa, &pa, DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL_FATAL(s_next_phase(&s_pb, &pb, 3000), DTX_OP_ABORT);
    s_reply(&s_pb, &pb, DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(u_wait_state(s_log, gid, DTX_STATE_ABORTED, 5000), 0);
    CU_ASSERT_EQUAL(h_db_scalar(s_log, "SELECT count(*) FROM dtx_branch_now WHERE gid = '%s' AND state = %d",
                                gid, DTX_BRANCH_CONFIRMED), 0);
    u_peer_close(&ini);
    dtx_client_destroy(&c);
}

static void test_coordinator_killed_while_preparing_aborts_after_restart(void)
{
    char gid[DTX_GID_SIZE];
    dtx_client_t *c = s_enlisted(gid);
    u_peer_t ini;
    CU_ASSERT_FATAL(u_peer_dealer(&ini, s_dtxd.endpoint) == 0);
    s_send_commit(&ini, gid);
    dtx_msg_t pa, pb;
    CU_ASSERT_EQUAL_FATAL(s_next_phase(&s_pa, &pa, 3000), DTX_OP_PREPARE);
    CU_ASSERT_EQUAL_FATAL(s_next_phase(&s_pb, &pb, 3000), DTX_OP_PREPARE);
    h_sleep_ms(100); /* the preparing marker is durable */
    h_dtxd_kill(&s_dtxd);
    u_peer_close(&ini);
    dtx_client_destroy(&c);
    CU_ASSERT_EQUAL_FATAL(h_dtxd_restart(&s_dtxd), 0);
    /* the fakes reconnect by themselves (same endpoint) and register again */
    u_peer_close(&s_pa);
    u_peer_close(&s_pb);
    CU_ASSERT_FATAL(s_register(&s_pa, "fake-a", "xa") == 0 && s_register(&s_pb, "fake-b", "xb") == 0);
    /* a new node: it claims the orphan after the old lease, and aborts it
     * at once although its deadline is 30 s away */
    CU_ASSERT_EQUAL_FATAL(s_next_phase(&s_pa, &pa, 15000), DTX_OP_ABORT);
    s_reply(&s_pa, &pa, DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL_FATAL(s_next_phase(&s_pb, &pb, 3000), DTX_OP_ABORT);
    s_reply(&s_pb, &pb, DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(u_wait_state(s_log, gid, DTX_STATE_ABORTED, 5000), 0);
    /* the restarted dtxd belongs to this test (the runner reaps what a test
     * started): stop it here, cleanly. Keep this test last in the suite. */
    CU_ASSERT_EQUAL(h_dtxd_stop(&s_dtxd), 0);
}

INTEG_SUITE(twophase_coord)
{
    CU_pSuite s = CU_add_suite("twophase_coord", s_init, s_clean);
    CU_add_test(s, "enlist contacts nobody until commit", test_enlist_contacts_nobody_until_commit);
    CU_add_test(s, "all prepared commits on every branch", test_all_prepared_commits_on_every_branch);
    CU_add_test(s, "a no vote aborts every prepared branch", test_a_no_vote_aborts_every_prepared_branch);
    CU_add_test(s, "a silent participant aborts after the prepare timeout", test_a_silent_participant_aborts_after_the_prepare_timeout);
    CU_add_test(s, "late prepare vote after abort changes nothing", test_late_prepare_vote_after_abort_changes_nothing);
    CU_add_test(s, "coordinator killed while preparing aborts after restart", test_coordinator_killed_while_preparing_aborts_after_restart);
}
