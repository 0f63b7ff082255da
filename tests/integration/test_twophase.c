/*
 * 2PC participants over PostgreSQL prepared transactions (dtx/pgres.h),
 * against real test-participant processes (--mode2pc) and real databases.
 * Suite twophase: end to end with a real dtxd running 2PC (BEGIN mode 2):
 * commit, rollback, a no vote, and a participant that dies while prepared
 * and resolves its prepared transaction by itself when it comes back.
 * (Suite twophase_wire, the test as the coordinator, is in
 * test_twophase_wire.c.)
 *
 * Every test ends with no prepared transaction left in its databases.
 * Prepared transaction names are unique per SERVER, so every gid here is
 * unique across the suites.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dtx/dtx.h"
#include "integ.h"
#include "util.h"

/* ------------------------------------------------------------------ */
/* twophase: end to end with dtxd                                      */
/* ------------------------------------------------------------------ */

static h_dtxd_t s_d;
static pid_t s_pa, s_pb;
static PGconn *s_log, *s_dba, *s_dbb;
static dtx_client_t *s_client;

static int s_e2e_init(void)
{
    char log[H_CONNINFO_SIZE], a[H_CONNINFO_SIZE], b[H_CONNINFO_SIZE];
    if (h_db_create("tp_log", log, sizeof log) || h_db_create("tp_a", a, sizeof a) ||
        h_db_create("tp_b", b, sizeof b))
        return -1;
    memset(&s_d, 0, sizeof s_d);
    snprintf(s_d.logname, sizeof s_d.logname, "tp-dtxd");
    const char *dargs[] = { "--try-timeout-ms", "2000", "--phase-timeout-ms", "500",
                            "--retry-base-ms", "50", "--retry-max-ms", "500",
                            "--heartbeat-ms", "200", "--recovery-interval-ms", "200",
                            "--log-level", "debug", NULL };
    if (h_dtxd_start(&s_d, log, dargs) != 0)
        return -1;
    const char *ea[] = { "--resource", "ra", "--mode2pc", "--heartbeat-ms", "200", NULL };
    const char *eb[] = { "--resource", "rb", "--mode2pc", "--heartbeat-ms", "200",
                         "--refuse-prepare-action", "no", NULL };
    s_pa = h_participant_start("tp-a", a, s_d.endpoint, ea);
    s_pb = h_participant_start("tp-b", b, s_d.endpoint, eb);
    if (s_pa <= 0 || s_pb <= 0)
        return -1;
    s_log = h_db_connect("tp_log");
    s_dba = h_db_connect("tp_a");
    s_dbb = h_db_connect("tp_b");
    int err = 0;
    s_client = dtx_client_new(s_d.endpoint, &err);
    if (s_client)
        dtx_client_set_timeout(s_client, 15000);
    return (s_log && s_dba && s_dbb && s_client) ? 0 : -1;
}

static int s_e2e_clean(void)
{
    int rc = 0;
    dtx_client_destroy(&s_client);
    if (s_pa > 0 && h_stop(s_pa, SIGTERM, 5000) != 0)
        rc = -1;
    if (s_pb > 0 && h_stop(s_pb, SIGTERM, 5000) != 0)
        rc = -1;
    if (s_d.pid > 0 && h_dtxd_stop(&s_d) != 0)
        rc = -1;
    PQfinish(s_log);
    PQfinish(s_dba);
    PQfinish(s_dbb);
    s_log = s_dba = s_dbb = NULL;
    return rc;
}

/* BEGIN 2pc and enlist (resource, action) pairs; 0 or the failing code. */
static int s_begin_enlist(char *gid, const char *r1, const char *a1, const char *r2,
                          const char *a2)
{
    int rc = dtx_client_begin(s_client, DTX_MODE_2PC, 30000, gid);
    if (rc != 0)
        return rc;
    dtx_try_result_t r;
    if ((rc = dtx_client_try(s_client, gid, r1, a1, "{}", 2, &r)) != 0)
        return rc;
    CU_ASSERT_EQUAL(r.outcome, DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(r.state, DTX_STATE_ACTIVE);
    return dtx_client_try(s_client, gid, r2, a2, "{}", 2, &r);
}

static void test_2pc_commit_prepares_and_commits_every_branch(void)
{
    char gid[DTX_GID_SIZE];
    CU_ASSERT_EQUAL_FATAL(s_begin_enlist(gid, "ra", "x", "rb", "y"), 0);
    /* Enlisting contacted nobody. */
    CU_ASSERT_EQUAL(u_deliveries(s_dba, gid, "prepare"), 0);
    CU_ASSERT_EQUAL(u_deliveries(s_dbb, gid, "prepare"), 0);
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_commit(s_client, gid, &state), 0);
    CU_ASSERT(state == DTX_STATE_COMMITTING || state == DTX_STATE_COMMITTED);
    CU_ASSERT_EQUAL(u_wait_state(s_log, gid, DTX_STATE_COMMITTED, 10000), 0);
    CU_ASSERT_EQUAL(u_effects(s_dba, gid, "prepare"), 1);
    CU_ASSERT_EQUAL(u_effects(s_dbb, gid, "prepare"), 1);
    CU_ASSERT(u_deliveries(s_dba, gid, "commit") >= 1);
    CU_ASSERT(u_deliveries(s_dbb, gid, "commit") >= 1);
    CU_ASSERT_EQUAL(u_deliveries(s_dba, gid, "abort"), 0);
    CU_ASSERT_EQUAL(u_prepared(s_dba), 0);
    CU_ASSERT_EQUAL(u_prepared(s_dbb), 0);
}

static void test_2pc_rollback_aborts_without_preparing(void)
{
    char gid[DTX_GID_SIZE];
    CU_ASSERT_EQUAL_FATAL(s_begin_enlist(gid, "ra", "x", "rb", "y"), 0);
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_rollback(s_client, gid, &state), 0);
    CU_ASSERT_EQUAL(u_wait_state(s_log, gid, DTX_STATE_ABORTED, 10000), 0);
    CU_ASSERT_EQUAL(u_deliveries(s_dba, gid, "prepare"), 0);
    CU_ASSERT_EQUAL(u_deliveries(s_dbb, gid, "prepare"), 0);
    CU_ASSERT_EQUAL(u_effects(s_dba, gid, "prepare"), 0);
    CU_ASSERT_EQUAL(u_effects(s_dbb, gid, "prepare"), 0);
    CU_ASSERT_EQUAL(u_prepared(s_dba), 0);
    CU_ASSERT_EQUAL(u_prepared(s_dbb), 0);
}

static void test_2pc_no_vote_aborts_every_branch(void)
{
    char gid[DTX_GID_SIZE];
    CU_ASSERT_EQUAL_FATAL(s_begin_enlist(gid, "ra", "x", "rb", "no"), 0);
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_commit(s_client, gid, &state), DTX_EABORTED);
    CU_ASSERT(state == DTX_STATE_ABORTING || state == DTX_STATE_ABORTED);
    CU_ASSERT_EQUAL(u_wait_state(s_log, gid, DTX_STATE_ABORTED, 10000), 0);
    CU_ASSERT_EQUAL(u_deliveries(s_dbb, gid, "prepare"), 1);
    CU_ASSERT_EQUAL(u_effects(s_dba, gid, "prepare"), 0);
    CU_ASSERT_EQUAL(u_effects(s_dbb, gid, "prepare"), 0);
    CU_ASSERT_EQUAL(u_prepared(s_dba), 0);
    CU_ASSERT_EQUAL(u_prepared(s_dbb), 0);
}

/* The participant of branch 2 dies right after PREPARE TRANSACTION: no vote
 * reaches the coordinator, which aborts after its prepare timeout. The
 * branch stays prepared in the dead participant's database until it comes
 * back and dtx_pgres_recover rolls it back (the coordinator's ABORT then
 * finds nothing to do but the marker). */
static void test_2pc_participant_crash_while_prepared_is_resolved_on_restart(void)
{
    char db[H_CONNINFO_SIZE];
    CU_ASSERT_FATAL(h_db_create("tp_c", db, sizeof db) == 0);
    PGconn *dbc = h_db_connect("tp_c");
    CU_ASSERT_FATAL(dbc != NULL);
    const char *crash[] = { "--resource", "rc", "--mode2pc", "--heartbeat-ms", "200",
                            "--exit-after-prepare", NULL };
    pid_t c = h_participant_start("tp-c-1", db, s_d.endpoint, crash);
    CU_ASSERT_FATAL(c > 0);

    char gid[DTX_GID_SIZE];
    CU_ASSERT_EQUAL_FATAL(s_begin_enlist(gid, "ra", "x", "rc", "y"), 0);
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_commit(s_client, gid, &state), DTX_EABORTED);
    CU_ASSERT_EQUAL(h_wait_exit(c, 10000), 1);
    CU_ASSERT_EQUAL(u_prepared_name(dbc, gid, 2), 1);
    CU_ASSERT_EQUAL(u_effects(dbc, gid, "prepare"), 0);

    const char *again[] = { "--resource", "rc", "--mode2pc", "--heartbeat-ms", "200", NULL };
    pid_t c2 = h_participant_start("tp-c-2", db, s_d.endpoint, again);
    CU_ASSERT_FATAL(c2 > 0);
    CU_ASSERT(h_log_has("tp-c-2", "resolved=1"));
    CU_ASSERT_EQUAL(u_wait_state(s_log, gid, DTX_STATE_ABORTED, 15000), 0);
    CU_ASSERT_EQUAL(u_prepared(dbc), 0);
    CU_ASSERT_EQUAL(u_prepared(s_dba), 0);
    CU_ASSERT_EQUAL(u_effects(dbc, gid, "prepare"), 0);
    CU_ASSERT_EQUAL(u_effects(s_dba, gid, "prepare"), 0);
    CU_ASSERT_EQUAL(h_stop(c2, SIGTERM, 5000), 0);
    PQfinish(dbc);
}

INTEG_SUITE(twophase)
{
    CU_pSuite s = CU_add_suite("twophase", s_e2e_init, s_e2e_clean);
    CU_add_test(s, "2pc commit prepares and commits every branch",
                test_2pc_commit_prepares_and_commits_every_branch);
    CU_add_test(s, "2pc rollback aborts without preparing",
                test_2pc_rollback_aborts_without_preparing);
    CU_add_test(s, "2pc no vote aborts every branch", test_2pc_no_vote_aborts_every_branch);
    CU_add_test(s, "2pc participant crash while prepared is resolved on restart",
                test_2pc_participant_crash_while_prepared_is_resolved_on_restart);
}
