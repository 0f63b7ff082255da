/*
 * TCC_RUN end to end (docs/protocol.md §19, dtx_client_tcc_run): a whole
 * TCC transaction in one request against a real dtxd, PostgreSQL and two
 * test participants (world.h: pa serves ra, pb serves rb and refuses the
 * action "refuse-me"). The crash tests kill dtxd at a fault point between
 * the two writes (the branches durable, the votes in memory only) and
 * after the decision, and check what the restarted dtxd makes of it.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "core/txn.h"
#include "dtx/dtx.h"
#include "dtx/proto.h"
#include "integ.h"
#include "util.h"
#include "world.h"

static u_world_t s_w; /* the suite's world for the tests without a crash */

static int s_init(void)
{
    const char *args[] = { "--try-timeout-ms", "2500", "--max-branches", "4",
                           "--max-timeout-ms", "60000", NULL };
    const char *pb[] = { "--refuse-action", "refuse-me", NULL };
    return u_world_up(&s_w, "tccrun", args, NULL, pb);
}

static int s_clean(void)
{
    return u_world_stop(&s_w);
}

static long s_count(PGconn *log, const char *what)
{
    return (long)h_db_scalar(log, "SELECT count(*) FROM %s", what);
}

static void test_every_yes_commits_in_one_request(void)
{
    dtx_try_spec_t t[2] = { { "ra", "reserve", "p1", 2 }, { "rb", "reserve", NULL, 0 } };
    dtx_try_outcome_t out[2];
    char gid[DTX_GID_SIZE] = "x";
    int state = 0;
    CU_ASSERT_EQUAL_FATAL(dtx_client_tcc_run(s_w.c, 0, DTX_RUN_COMMIT, t, 2, gid, out, &state), 0);
    CU_ASSERT_EQUAL(state, DTX_STATE_COMMITTING);
    CU_ASSERT_NOT_EQUAL(gid[0], '\0');
    CU_ASSERT_EQUAL(out[0].branch, 1);
    CU_ASSERT_EQUAL(out[1].branch, 2);
    CU_ASSERT_EQUAL(out[0].outcome, DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(out[1].error, 0);
    /* the answer left after the decision: the log has it, with the votes */
    CU_ASSERT_TRUE(u_log_state(s_w.log, gid) == DTX_STATE_COMMITTING ||
                   u_log_state(s_w.log, gid) == DTX_STATE_COMMITTED);
    CU_ASSERT_EQUAL(h_db_scalar(s_w.log, "SELECT count(*) FROM dtx_branch_now WHERE gid = '%s'"
                                " AND vote = %d AND voted_at IS NOT NULL", gid, DTX_BRANCH_TRIED), 2);
    CU_ASSERT_EQUAL(u_wait_state(s_w.log, gid, DTX_STATE_COMMITTED, 10000), 0);
    CU_ASSERT_EQUAL(u_effects(s_w.pa_db, gid, "confirm"), 1);
    CU_ASSERT_EQUAL(u_effects(s_w.pb_db, gid, "confirm"), 1);
    /* it is an ordinary transaction afterwards */
    CU_ASSERT_EQUAL(dtx_client_status(s_w.c, gid, &state), 0);
    CU_ASSERT_EQUAL(state, DTX_STATE_COMMITTED);
    CU_ASSERT_EQUAL(dtx_client_commit(s_w.c, gid, &state), 0);
}

/* A TCC_RUN's rows: its global row inserted with the count of its batch
 * and every branch row with it (one statement), then updated twice only
 * (the decision, the final state), its branch rows never (the votes go
 * with the decision). A trigger counts the row updates per gid. Before,
 * the second branch's write updated the global row for the count: 3. */
static void test_a_run_updates_its_global_row_twice(void)
{
    PGconn *log = s_w.log;
    CU_ASSERT_EQUAL_FATAL(h_db_exec(log, "CREATE TABLE t_updates (gid text, tbl text)"), 0);
    CU_ASSERT_EQUAL_FATAL(h_db_exec(log, "CREATE FUNCTION t_count_update() RETURNS trigger"
                                    " LANGUAGE plpgsql AS $$ BEGIN INSERT INTO t_updates"
                                    " VALUES (NEW.gid, TG_TABLE_NAME); RETURN NEW; END $$"), 0);
    CU_ASSERT_EQUAL_FATAL(h_db_exec(log, "CREATE TRIGGER t_global AFTER UPDATE ON dtx_global"
                                    " FOR EACH ROW EXECUTE FUNCTION t_count_update()"), 0);
    CU_ASSERT_EQUAL_FATAL(h_db_exec(log, "CREATE TRIGGER t_branch AFTER UPDATE ON dtx_branch"
                                    " FOR EACH ROW EXECUTE FUNCTION t_count_update()"), 0);
    dtx_try_spec_t t[3] = { { "ra", "reserve", "p1", 2 }, { "rb", "reserve", NULL, 0 },
                            { "ra", "reserve", "p3", 2 } };
    for (int n = 1; n <= 3; n++) {
        char gid[DTX_GID_SIZE] = "";
        int state = 0;
        CU_ASSERT_EQUAL_FATAL(dtx_client_tcc_run(s_w.c, 0, DTX_RUN_COMMIT, t, n, gid, NULL,
                                                 &state), 0);
        CU_ASSERT_EQUAL(u_wait_state(log, gid, DTX_STATE_COMMITTED, 10000), 0);
        CU_ASSERT_EQUAL(h_db_scalar(log, "SELECT branches FROM dtx_global WHERE gid = '%s'", gid),
                        n);
        CU_ASSERT_EQUAL(h_db_scalar(log, "SELECT count(*) FROM dtx_branch WHERE gid = '%s'", gid),
                        n);
        CU_ASSERT_EQUAL(h_db_scalar(log, "SELECT count(*) FROM t_updates WHERE gid = '%s'"
                                    " AND tbl = 'dtx_global'", gid), 2);
        CU_ASSERT_EQUAL(h_db_scalar(log, "SELECT count(*) FROM t_updates WHERE gid = '%s'"
                                    " AND tbl = 'dtx_branch'", gid), 0);
    }
    CU_ASSERT_EQUAL(h_db_exec(log, "DROP TRIGGER t_global ON dtx_global"), 0);
    CU_ASSERT_EQUAL(h_db_exec(log, "DROP TRIGGER t_branch ON dtx_branch"), 0);
    CU_ASSERT_EQUAL(h_db_exec(log, "DROP FUNCTION t_count_update()"), 0);
    CU_ASSERT_EQUAL(h_db_exec(log, "DROP TABLE t_updates"), 0);
}

static void test_a_no_vote_aborts_with_cancels(void)
{
    dtx_try_spec_t t[2] = { { "ra", "reserve", "x", 1 }, { "rb", "refuse-me", "y", 1 } };
    dtx_try_outcome_t out[2];
    char gid[DTX_GID_SIZE];
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_tcc_run(s_w.c, 0, DTX_RUN_COMMIT, t, 2, gid, out, &state),
                    DTX_EABORTED);
    CU_ASSERT_EQUAL(state, DTX_STATE_ABORTING);
    CU_ASSERT_NOT_EQUAL(gid[0], '\0');
    CU_ASSERT_EQUAL(out[1].error, 0);
    CU_ASSERT_EQUAL(out[1].outcome, DTX_OUTCOME_REFUSED);
    /* ra voted yes before the refusal (its vote) or was trying (ERROR 7) */
    CU_ASSERT_TRUE(out[0].error == 0 || out[0].error == DTX_ESTATE);
    CU_ASSERT_EQUAL(u_wait_state(s_w.log, gid, DTX_STATE_ABORTED, 10000), 0);
    CU_ASSERT_EQUAL(u_effects(s_w.pa_db, gid, "cancel"), u_effects(s_w.pa_db, gid, "try"));
    CU_ASSERT_EQUAL(u_effects(s_w.pa_db, gid, "confirm"), 0);
    CU_ASSERT_EQUAL(u_effects(s_w.pb_db, gid, "try"), 0);
}

static void test_without_the_flag_the_initiator_decides(void)
{
    dtx_try_spec_t t[2] = { { "ra", "reserve", "x", 1 }, { "rb", "reserve", "y", 1 } };
    dtx_try_outcome_t out[2];
    char gid[DTX_GID_SIZE];
    int state = 0;
    CU_ASSERT_EQUAL_FATAL(dtx_client_tcc_run(s_w.c, 30000, 0, t, 2, gid, out, &state), 0);
    CU_ASSERT_EQUAL(state, DTX_STATE_ACTIVE);
    /* the votes are recorded as a TRY_MANY's, the transaction waits */
    CU_ASSERT_EQUAL(u_branch_state(s_w.log, gid, 2), DTX_BRANCH_TRIED);
    CU_ASSERT_EQUAL(h_db_scalar(s_w.log, "SELECT preparing::int FROM dtx_global WHERE gid = '%s'",
                                gid), 0);
    CU_ASSERT_EQUAL(dtx_client_commit(s_w.c, gid, &state), 0);
    CU_ASSERT_EQUAL(u_wait_state(s_w.log, gid, DTX_STATE_COMMITTED, 10000), 0);
}

static void test_no_live_participant_aborts(void)
{
    dtx_try_spec_t t[2] = { { "ra", "reserve", NULL, 0 }, { "nobody", "reserve", NULL, 0 } };
    dtx_try_outcome_t out[2];
    char gid[DTX_GID_SIZE];
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_tcc_run(s_w.c, 0, DTX_RUN_COMMIT, t, 2, gid, out, &state),
                    DTX_EABORTED);
    CU_ASSERT_EQUAL(out[1].error, DTX_ENOPARTICIPANT);
    CU_ASSERT_EQUAL(state, DTX_STATE_ABORTING);
    CU_ASSERT_EQUAL(u_wait_state(s_w.log, gid, DTX_STATE_ABORTED, 10000), 0);
    CU_ASSERT_EQUAL(u_effects(s_w.pa_db, gid, "cancel"), u_effects(s_w.pa_db, gid, "try"));
    /* no branch could be asked: one ERROR 9 that names the gid */
    t[0].resource = "nobody2";
    CU_ASSERT_EQUAL(dtx_client_tcc_run(s_w.c, 0, DTX_RUN_COMMIT, t, 2, gid, out, &state),
                    DTX_ENOPARTICIPANT);
    CU_ASSERT_EQUAL(gid[0], '\0');
    CU_ASSERT_PTR_NOT_NULL(strstr(dtx_client_last_error(s_w.c), "decided abort"));
}

static void test_refused_requests_record_nothing(void)
{
    long g0 = s_count(s_w.log, "dtx_global"), b0 = s_count(s_w.log, "dtx_branch");
    dtx_try_spec_t t[5] = { { "ra", "w", NULL, 0 }, { "rb", "w", NULL, 0 }, { "ra", "w", NULL, 0 },
                            { "rb", "w", NULL, 0 }, { "ra", "w", NULL, 0 } };
    dtx_try_outcome_t out[5];
    char gid[DTX_GID_SIZE];
    int state = 0;
    /* 5 branches pass --max-branches 4 */
    CU_ASSERT_EQUAL(dtx_client_tcc_run(s_w.c, 0, DTX_RUN_COMMIT, t, 5, gid, out, &state),
                    DTX_ELIMIT);
    CU_ASSERT_PTR_NOT_NULL(strstr(dtx_client_last_error(s_w.c), "max-branches"));
    CU_ASSERT_EQUAL(out[4].error, DTX_ELIMIT);
    CU_ASSERT_EQUAL(state, 0);
    CU_ASSERT_EQUAL(gid[0], '\0');
    /* a timeout over --max-timeout-ms, as BEGIN's */
    CU_ASSERT_NOT_EQUAL(dtx_client_tcc_run(s_w.c, 120000, DTX_RUN_COMMIT, t, 2, gid, out, &state),
                        0);
    CU_ASSERT_PTR_NOT_NULL(strstr(dtx_client_last_error(s_w.c), "max-timeout"));
    /* flags the call does not know: nothing sent */
    CU_ASSERT_EQUAL(dtx_client_tcc_run(s_w.c, 0, 2, t, 2, gid, out, &state), DTX_EINVAL);
    CU_ASSERT_EQUAL(s_count(s_w.log, "dtx_global"), g0);
    CU_ASSERT_EQUAL(s_count(s_w.log, "dtx_branch"), b0);
}

static void test_malformed_flags_and_version_1_are_refused(void)
{
    u_peer_t p;
    CU_ASSERT_EQUAL_FATAL(u_peer_dealer(&p, s_w.dtxd.endpoint), 0);
    /* TCC_RUN, timeout 0, flags 4 (reserved), one branch ra/w with no payload */
    uint8_t f[] = { 0x44, 0x58, 0x02, 0x0d, 0, 0, 0, 0, 0, 0, 0, 78, 0, 0, 0, 0, 0x04,
                    0, 0, 0, 10, 1, 2, 'r', 'a', 1, 'w', 0, 0, 0, 0 };
    static uint8_t buf[DTX_MSG_MAX];
    dtx_msg_t m;
    long g0 = s_count(s_w.log, "dtx_global");
    CU_ASSERT_EQUAL_FATAL(u_send_raw(&p, f, sizeof f, 0), 0);
    CU_ASSERT_EQUAL_FATAL(u_recv(&p, &m, buf, sizeof buf, NULL, NULL, 5000), 0);
    CU_ASSERT_EQUAL(m.type, DTX_MSG_ERROR);
    CU_ASSERT_EQUAL(m.code, (uint32_t)-DTX_EPROTO);
    CU_ASSERT_EQUAL(m.corr, 78);
    CU_ASSERT_PTR_NOT_NULL(strstr(m.text, "flags"));
    /* a version 1 TCC_RUN is an unknown type */
    f[2] = 0x01;
    f[16] = 0x01;
    CU_ASSERT_EQUAL_FATAL(u_send_raw(&p, f, sizeof f, 0), 0);
    CU_ASSERT_EQUAL_FATAL(u_recv(&p, &m, buf, sizeof buf, NULL, NULL, 5000), 0);
    CU_ASSERT_EQUAL(m.code, (uint32_t)-DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(m.text, "unknown message type"));
    u_peer_close(&p);
    CU_ASSERT_EQUAL(s_count(s_w.log, "dtx_global"), g0);
}

/* Kills dtxd at fault point `point` during a TCC_RUN on ra and rb, checks
 * what the log held at that instant, restarts it without the fault and
 * waits for the transaction to end in `end`. voted: both votes had come
 * back (else a Try may have died in dtxd's queue with it). */
static void s_crash_at(const char *name, const char *point, int voted, int held, int end)
{
    u_world_t w;
    const char *args[] = { "--node-id", name, "--recovery-interval-ms", "200",
                           "--fault", point, NULL };
    CU_ASSERT_FATAL(u_world_up(&w, name, args, NULL, NULL) == 0);
    dtx_client_set_timeout(w.c, 3000);
    dtx_try_spec_t t[2] = { { "ra", "reserve", "a", 1 }, { "rb", "reserve", "b", 1 } };
    dtx_try_outcome_t out[2];
    char gid[DTX_GID_SIZE] = "x";
    int state = 0;
    /* no answer: dtxd died before it (the outcome is unknown to the caller) */
    CU_ASSERT_EQUAL(dtx_client_tcc_run(w.c, 60000, DTX_RUN_COMMIT, t, 2, gid, out, &state),
                    DTX_ETIMEOUT);
    CU_ASSERT_EQUAL(gid[0], '\0');
    CU_ASSERT_EQUAL(h_wait_exit(w.dtxd.pid, 10000), 86);
    w.dtxd.pid = 0;
    CU_ASSERT_EQUAL_FATAL(h_db_scalar_text(w.log, gid, sizeof gid, "SELECT gid FROM dtx_global"), 0);
    CU_ASSERT_EQUAL(u_log_state(w.log, gid), held);
    if (voted) {
        CU_ASSERT_EQUAL(u_effects(w.pa_db, gid, "try"), 1);
        CU_ASSERT_EQUAL(u_effects(w.pb_db, gid, "try"), 1);
    }
    if (held == DTX_STATE_ACTIVE) {
        /* between the writes: no vote in the log, the mark set */
        CU_ASSERT_EQUAL(h_db_scalar(w.log, "SELECT count(*) FROM dtx_branch WHERE gid = '%s'"
                                    " AND state = %d", gid, DTX_BRANCH_TRYING), 2);
        CU_ASSERT_EQUAL(h_db_scalar(w.log, "SELECT preparing::int FROM dtx_global"), 1);
    }
    w.dtxd.nextra -= 2; /* not the fault again */
    CU_ASSERT_EQUAL_FATAL(h_dtxd_restart(&w.dtxd), 0);
    /* aborted at once (the deadline is a minute away) or committed */
    CU_ASSERT_EQUAL(u_wait_state(w.log, gid, end, 15000), 0);
    const char *done = end == DTX_STATE_COMMITTED ? "confirm" : "cancel";
    const char *never = end == DTX_STATE_COMMITTED ? "cancel" : "confirm";
    /* every Try that ran is confirmed / cancelled, once */
    CU_ASSERT_EQUAL(u_effects(w.pa_db, gid, done), u_effects(w.pa_db, gid, "try"));
    CU_ASSERT_EQUAL(u_effects(w.pb_db, gid, done), u_effects(w.pb_db, gid, "try"));
    CU_ASSERT_EQUAL(u_effects(w.pa_db, gid, never) + u_effects(w.pb_db, gid, never), 0);
    CU_ASSERT_EQUAL(u_world_stop(&w), 0);
}

static void test_crash_between_the_writes_ends_aborted(void)
{
    s_crash_at("tccrun_votes", "after-all-voted", 1, DTX_STATE_ACTIVE, DTX_STATE_ABORTED);
}

static void test_crash_after_the_try_left_ends_aborted(void)
{
    s_crash_at("tccrun_try", "after-try-sent:2", 0, DTX_STATE_ACTIVE, DTX_STATE_ABORTED);
}

static void test_crash_after_the_decision_ends_committed(void)
{
    s_crash_at("tccrun_dec", "after-decision-write", 1, DTX_STATE_COMMITTING, DTX_STATE_COMMITTED);
}

/* The same cut between the writes, but the transaction is taken over by a
 * second coordinator once the first one's lease lapses (it never comes
 * back): the taker finds it active with the mark and aborts it at once. */
static void test_take_over_between_the_writes_ends_aborted(void)
{
    u_world_t w;
    const char *args[] = { "--node-id", "tr1", "--lease-ms", "1000", "--recovery-interval-ms",
                           "200", "--fault", "after-all-voted", NULL };
    CU_ASSERT_FATAL(u_world_up(&w, "tccrun_take", args, NULL, NULL) == 0);
    dtx_client_set_timeout(w.c, 3000);
    dtx_try_spec_t t[2] = { { "ra", "reserve", "a", 1 }, { "rb", "reserve", "b", 1 } };
    char gid[DTX_GID_SIZE];
    CU_ASSERT_EQUAL(dtx_client_tcc_run(w.c, 60000, DTX_RUN_COMMIT, t, 2, gid, NULL, NULL),
                    DTX_ETIMEOUT);
    CU_ASSERT_EQUAL(h_wait_exit(w.dtxd.pid, 10000), 86);
    w.dtxd.pid = 0;
    CU_ASSERT_EQUAL_FATAL(h_db_scalar_text(w.log, gid, sizeof gid, "SELECT gid FROM dtx_global"), 0);
    h_dtxd_t d2;
    memset(&d2, 0, sizeof d2);
    snprintf(d2.logname, sizeof d2.logname, "tccrun_take-dtxd2");
    const char *a2[] = { "--node-id", "tr2", "--lease-ms", "1000", "--recovery-interval-ms", "200",
                         NULL };
    CU_ASSERT_FATAL(h_dtxd_start(&d2, w.dtxd.db, a2) == 0);
    const char *ra[] = { "--resource", "ra", NULL }, *rb[] = { "--resource", "rb", NULL };
    pid_t pa2 = h_participant_start("tccrun_take-pa2", w.da, d2.endpoint, ra);
    pid_t pb2 = h_participant_start("tccrun_take-pb2", w.db, d2.endpoint, rb);
    CU_ASSERT_FATAL(pa2 > 0 && pb2 > 0);
    CU_ASSERT_EQUAL(u_wait_state(w.log, gid, DTX_STATE_ABORTED, 15000), 0);
    char owner[64] = "";
    h_db_scalar_text(w.log, owner, sizeof owner, "SELECT owner FROM dtx_global WHERE gid = '%s'", gid);
    CU_ASSERT_STRING_EQUAL(owner, "tr2");
    CU_ASSERT_EQUAL(u_effects(w.pa_db, gid, "cancel"), 1);
    CU_ASSERT_EQUAL(u_effects(w.pb_db, gid, "cancel"), 1);
    CU_ASSERT_EQUAL(u_effects(w.pa_db, gid, "confirm") + u_effects(w.pb_db, gid, "confirm"), 0);
    CU_ASSERT_EQUAL(h_stop(pa2, SIGTERM, 5000), 0);
    CU_ASSERT_EQUAL(h_stop(pb2, SIGTERM, 5000), 0);
    CU_ASSERT_EQUAL(h_dtxd_stop(&d2), 0);
    CU_ASSERT_EQUAL(u_world_stop(&w), 0);
}

/* The coordinator's lease lapses while its TCC_RUN waits for a slow Try
 * (the branch written with the mark, the vote not in yet), its late
 * renewal drops the copy, and no node claims the transaction: the test
 * keeps the node's lease valid in dtx_node and holds only the renewal
 * back (a row lock), so dtxd alone sees the lapse. Its own recovery scan
 * then finds its marked row not in memory and aborts it at once, the Try
 * cancelled — before, the row sat active until its deadline (a minute),
 * the reservation held (verify/'s tccrun_lapse_idle). */
static void test_lapse_dropping_a_marked_run_aborts_it_at_once(void)
{
    u_world_t w;
    const char *args[] = { "--node-id", "tccrun_lapse", "--lease-ms", "1500",
                           "--recovery-interval-ms", "200", "--try-timeout-ms", "20000", NULL };
    const char *pa[] = { "--delay-ms-op", "try:3500", NULL };
    h_log_remove("tccrun_lapse-dtxd");
    CU_ASSERT_FATAL(u_world_up(&w, "tccrun_lapse", args, pa, NULL) == 0);
    u_peer_t p;
    CU_ASSERT_EQUAL_FATAL(u_peer_dealer(&p, w.dtxd.endpoint), 0);
    /* TCC_RUN, corr 91, timeout 60000 ms, flags 1, one branch ra/w */
    uint8_t f[] = { 0x44, 0x58, 0x02, 0x0d, 0, 0, 0, 0, 0, 0, 0, 91, 0, 0, 0xea, 0x60, 0x01,
                    0, 0, 0, 10, 1, 2, 'r', 'a', 1, 'w', 0, 0, 0, 0 };
    CU_ASSERT_EQUAL_FATAL(u_send_raw(&p, f, sizeof f, 0), 0);
    int64_t until = h_now_ms() + 5000;
    while (s_count(w.log, "dtx_global WHERE preparing") < 1 && h_now_ms() < until)
        h_sleep_ms(20);
    char gid[DTX_GID_SIZE] = "";
    CU_ASSERT_EQUAL_FATAL(h_db_scalar_text(w.log, gid, sizeof gid, "SELECT gid FROM dtx_global"), 0);
    /* The lease stays valid for everyone else; only the renewal waits. */
    PGconn *lock = PQconnectdb(w.dtxd.db);
    CU_ASSERT_FATAL(PQstatus(lock) == CONNECTION_OK);
    /* A renewal that slips in between the two statements would bring the
     * lease back to 1.5 s, which then lapses for everyone (and the node
     * claims its own row): lock again until the locked row holds the hour. */
    int held = 0;
    for (int i = 0; i < 20 && !held; i++) {
        CU_ASSERT_FATAL(h_db_exec(lock, "UPDATE dtx_node SET lease_until = now() + interval '1 hour'"
                                        " WHERE node_id = 'tccrun_lapse'") == 0);
        CU_ASSERT_FATAL(h_db_exec(lock, "begin") == 0);
        CU_ASSERT_FATAL(h_db_exec(lock, "SELECT 1 FROM dtx_node WHERE node_id = 'tccrun_lapse'"
                                        " FOR UPDATE") == 0);
        held = h_db_scalar(lock, "SELECT count(*) FROM dtx_node WHERE node_id = 'tccrun_lapse'"
                                 " AND lease_until > now() + interval '30 minutes'") == 1;
        if (!held)
            CU_ASSERT_FATAL(h_db_exec(lock, "commit") == 0);
    }
    CU_ASSERT_FATAL(held);
    h_sleep_ms(2500); /* the lease (1.5 s) and a second more */
    CU_ASSERT_FATAL(h_db_exec(lock, "commit") == 0);
    PQfinish(lock);
    /* the drop answers the TCC_RUN: outcome unknown, the gid named */
    static uint8_t buf[DTX_MSG_MAX];
    dtx_msg_t m;
    CU_ASSERT_EQUAL(u_recv(&p, &m, buf, sizeof buf, NULL, NULL, 10000), 0);
    CU_ASSERT_EQUAL(m.type, DTX_MSG_ERROR);
    CU_ASSERT_EQUAL(m.code, (uint32_t)-DTX_EUNKNOWN);
    CU_ASSERT_PTR_NOT_NULL(strstr(m.text, gid));
    u_peer_close(&p);
    /* aborted well before the deadline (a minute away), by this node */
    CU_ASSERT_EQUAL(u_wait_state(w.log, gid, DTX_STATE_ABORTED, 15000), 0);
    CU_ASSERT_EQUAL(h_log_count("tccrun_lapse-dtxd", "lease lapsed"), 1);
    CU_ASSERT_EQUAL(h_db_scalar(w.log, "SELECT owner_gen FROM dtx_global WHERE gid = '%s'", gid), 0);
    CU_ASSERT_EQUAL(u_effects(w.pa_db, gid, "cancel"), u_effects(w.pa_db, gid, "try"));
    CU_ASSERT_EQUAL(u_effects(w.pa_db, gid, "confirm"), 0);
    CU_ASSERT_EQUAL(u_world_stop(&w), 0);
}

/* A batch whose one write cannot be started (out of memory, here by
 * --fault fail-branch-write:1) is refused whole: one ERROR, nothing in
 * the log, no Try sent — never some branches recorded and run without
 * the others (verify/'s RUN_WHOLE). Before the batch was one statement,
 * the branch that failed left the others recorded; the driver then had to
 * abort them. */
static void test_a_batch_not_written_is_refused_whole(void)
{
    u_world_t w;
    const char *args[] = { "--node-id", "tccrun_short", "--fault", "fail-branch-write:1", NULL };
    CU_ASSERT_FATAL(u_world_up(&w, "tccrun_short", args, NULL, NULL) == 0);
    dtx_try_spec_t t[2] = { { "ra", "reserve", "a", 1 }, { "rb", "reserve", "b", 1 } };
    dtx_try_outcome_t out[2];
    char gid[DTX_GID_SIZE] = "x";
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_tcc_run(w.c, 60000, DTX_RUN_COMMIT, t, 2, gid, out, &state),
                    DTX_ENOMEM);
    CU_ASSERT_EQUAL(gid[0], '\0');
    CU_ASSERT_EQUAL(out[0].error, DTX_ENOMEM);
    CU_ASSERT_EQUAL(out[1].error, DTX_ENOMEM);
    CU_ASSERT_EQUAL(s_count(w.log, "dtx_global"), 0);
    CU_ASSERT_EQUAL(s_count(w.log, "dtx_branch"), 0);
    /* the next one is written and commits: the only Tries that ran */
    CU_ASSERT_EQUAL(dtx_client_tcc_run(w.c, 60000, DTX_RUN_COMMIT, t, 2, gid, out, &state), 0);
    CU_ASSERT_EQUAL(u_wait_state(w.log, gid, DTX_STATE_COMMITTED, 10000), 0);
    CU_ASSERT_EQUAL(h_db_scalar(w.pa_db, "SELECT count(*) FROM effects WHERE op = 'try'") +
                    h_db_scalar(w.pb_db, "SELECT count(*) FROM effects WHERE op = 'try'"), 2);
    CU_ASSERT_EQUAL(u_world_stop(&w), 0);
}

INTEG_SUITE(tccrun)
{
    CU_pSuite s = CU_add_suite("tccrun", s_init, s_clean);
    CU_add_test(s, "every yes commits in one request", test_every_yes_commits_in_one_request);
    CU_add_test(s, "a run updates its global row twice", test_a_run_updates_its_global_row_twice);
    CU_add_test(s, "a no vote aborts with cancels", test_a_no_vote_aborts_with_cancels);
    CU_add_test(s, "without the flag the initiator decides",
                test_without_the_flag_the_initiator_decides);
    CU_add_test(s, "no live participant aborts", test_no_live_participant_aborts);
    CU_add_test(s, "refused requests record nothing", test_refused_requests_record_nothing);
    CU_add_test(s, "malformed flags and version 1 are refused",
                test_malformed_flags_and_version_1_are_refused);
    CU_pSuite k = CU_add_suite("tccrun_crash", NULL, NULL);
    CU_add_test(k, "crash between the writes ends aborted",
                test_crash_between_the_writes_ends_aborted);
    CU_add_test(k, "crash after the try left ends aborted",
                test_crash_after_the_try_left_ends_aborted);
    CU_add_test(k, "crash after the decision ends committed",
                test_crash_after_the_decision_ends_committed);
    CU_add_test(k, "take-over between the writes ends aborted",
                test_take_over_between_the_writes_ends_aborted);
    CU_add_test(k, "a batch not written is refused whole",
                test_a_batch_not_written_is_refused_whole);
    CU_add_test(k, "lapse dropping a marked run aborts it at once",
                test_lapse_dropping_a_marked_run_aborts_it_at_once);
}
