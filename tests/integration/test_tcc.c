/*
 * TCC flows end to end: a real dtxd over a real PostgreSQL, two real
 * test-participant processes (resources ra and rb, each with its own
 * database), the SDK's client, all over real ZeroMQ sockets.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dtx/dtx.h"
#include "integ.h"
#include "core/txn.h"
#include "util.h"

static h_dtxd_t s_dtxd;
static PGconn *s_log, *s_da, *s_db;
static pid_t s_pa, s_pb;

static int s_init(void)
{
    char log[H_CONNINFO_SIZE], da[H_CONNINFO_SIZE], db[H_CONNINFO_SIZE];
    if (h_db_create("tcc_log", log, sizeof log) || h_db_create("tcc_a", da, sizeof da) ||
        h_db_create("tcc_b", db, sizeof db))
        return -1;
    memset(&s_dtxd, 0, sizeof s_dtxd);
    snprintf(s_dtxd.logname, sizeof s_dtxd.logname, "tcc-dtxd");
    const char *args[] = { "--default-timeout-ms", "20000", "--try-timeout-ms", "1500", NULL };
    if (h_dtxd_start(&s_dtxd, log, args) != 0)
        return -1;
    const char *aa[] = { "--resource", "ra", NULL };
    const char *ab[] = { "--resource", "rb", "--refuse-action", "refuse-me", NULL };
    s_pa = h_participant_start("tcc-pa", da, s_dtxd.endpoint, aa);
    s_pb = h_participant_start("tcc-pb", db, s_dtxd.endpoint, ab);
    s_log = h_db_connect("tcc_log");
    s_da = h_db_connect("tcc_a");
    s_db = h_db_connect("tcc_b");
    return (s_pa > 0 && s_pb > 0 && s_log && s_da && s_db) ? 0 : -1;
}

static int s_clean(void)
{
    int rc = 0;
    if (s_pa > 0 && h_stop(s_pa, SIGTERM, 5000) != 0)
        rc = -1;
    if (s_pb > 0 && h_stop(s_pb, SIGTERM, 5000) != 0)
        rc = -1;
    if (h_dtxd_stop(&s_dtxd) != 0) {
        fprintf(stderr, "dtxd did not exit cleanly\n");
        h_file_tail(s_dtxd.logname);
        rc = -1;
    }
    PQfinish(s_log);
    PQfinish(s_da);
    PQfinish(s_db);
    return rc;
}

static dtx_client_t *s_client(void)
{
    int err = 0;
    dtx_client_t *c = dtx_client_new(s_dtxd.endpoint, &err);
    CU_ASSERT_PTR_NOT_NULL(c);
    if (c)
        dtx_client_set_timeout(c, 10000);
    return c;
}

static void test_commit_confirms_every_branch_once(void)
{
    dtx_client_t *c = s_client();
    char gid[DTX_GID_SIZE];
    dtx_try_result_t r1, r2;
    CU_ASSERT_EQUAL_FATAL(dtx_client_begin(c, DTX_MODE_TCC, 0, gid), 0);
    CU_ASSERT_EQUAL(dtx_client_try(c, gid, "ra", "reserve", "p1", 2, &r1), 0);
    CU_ASSERT_EQUAL(dtx_client_try(c, gid, "rb", "reserve", "p2", 2, &r2), 0);
    CU_ASSERT_EQUAL(r1.outcome, DTX_OUTCOME_OK);
    CU_ASSERT_NOT_EQUAL(r1.branch, r2.branch);
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_commit(c, gid, &state), 0);
    CU_ASSERT_EQUAL(state, DTX_STATE_COMMITTING);
    CU_ASSERT_EQUAL(u_wait_state(s_log, gid, DTX_STATE_COMMITTED, 10000), 0);
    CU_ASSERT_EQUAL(u_branch_state(s_log, gid, 1), DTX_BRANCH_CONFIRMED);
    CU_ASSERT_EQUAL(u_branch_state(s_log, gid, 2), DTX_BRANCH_CONFIRMED);
    /* The acknowledgements were not written each on its own: the branch
     * rows still hold their votes, and the final write (the global row
     * only) made them confirmed as of its time (dtx_branch_now). */
    CU_ASSERT_EQUAL(h_db_scalar(s_log, "SELECT count(*) FROM dtx_branch WHERE gid = '%s'"
                                       " AND state = %d", gid, DTX_BRANCH_TRIED), 2);
    CU_ASSERT_EQUAL(h_db_scalar(s_log, "SELECT count(*) FROM dtx_branch_now b JOIN dtx_global g"
                                       " USING (gid) WHERE gid = '%s'"
                                       " AND b.updated_at = g.finished_at", gid), 2);
    CU_ASSERT_EQUAL(u_effects(s_da, gid, "try"), 1);
    CU_ASSERT_EQUAL(u_effects(s_da, gid, "confirm"), 1);
    CU_ASSERT_EQUAL(u_effects(s_db, gid, "confirm"), 1);
    CU_ASSERT_EQUAL(u_effects(s_da, gid, "cancel"), 0);
    /* Asking again is safe and tells the final state. */
    CU_ASSERT_EQUAL(dtx_client_commit(c, gid, &state), 0);
    CU_ASSERT_EQUAL(state, DTX_STATE_COMMITTED);
    CU_ASSERT_EQUAL(dtx_client_status(c, gid, &state), 0);
    CU_ASSERT_EQUAL(state, DTX_STATE_COMMITTED);
    CU_ASSERT_EQUAL(dtx_client_rollback(c, gid, &state), DTX_ESTATE);
    dtx_client_destroy(&c);
    CU_ASSERT_PTR_NULL(c);
}

static void test_rollback_cancels_every_branch(void)
{
    dtx_client_t *c = s_client();
    char gid[DTX_GID_SIZE];
    CU_ASSERT_EQUAL_FATAL(dtx_client_begin(c, DTX_MODE_TCC, 0, gid), 0);
    CU_ASSERT_EQUAL(dtx_client_try(c, gid, "ra", "reserve", "x", 1, NULL), 0);
    CU_ASSERT_EQUAL(dtx_client_try(c, gid, "rb", "reserve", "y", 1, NULL), 0);
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_rollback(c, gid, &state), 0);
    CU_ASSERT_EQUAL(state, DTX_STATE_ABORTING);
    CU_ASSERT_EQUAL(u_wait_state(s_log, gid, DTX_STATE_ABORTED, 10000), 0);
    CU_ASSERT_EQUAL(u_effects(s_da, gid, "cancel"), 1);
    CU_ASSERT_EQUAL(u_effects(s_db, gid, "cancel"), 1);
    CU_ASSERT_EQUAL(u_effects(s_da, gid, "confirm"), 0);
    CU_ASSERT_EQUAL(dtx_client_commit(c, gid, &state), DTX_EABORTED);
    CU_ASSERT_EQUAL(state, DTX_STATE_ABORTED);
    CU_ASSERT_EQUAL(dtx_client_try(c, gid, "ra", "reserve", "z", 1, NULL), DTX_ESTATE);
    dtx_client_destroy(&c);
}

static void test_try_refused_cancels_every_tried_branch(void)
{
    dtx_client_t *c = s_client();
    char gid[DTX_GID_SIZE];
    dtx_try_result_t r;
    CU_ASSERT_EQUAL_FATAL(dtx_client_begin(c, DTX_MODE_TCC, 0, gid), 0);
    CU_ASSERT_EQUAL(dtx_client_try(c, gid, "ra", "reserve", "x", 1, NULL), 0);
    CU_ASSERT_EQUAL(dtx_client_try(c, gid, "rb", "refuse-me", "y", 1, &r), DTX_EREFUSED);
    CU_ASSERT_EQUAL(r.outcome, DTX_OUTCOME_REFUSED);
    CU_ASSERT_EQUAL(r.state, DTX_STATE_ABORTING);
    CU_ASSERT_EQUAL(u_wait_state(s_log, gid, DTX_STATE_ABORTED, 10000), 0);
    /* the tried branch is compensated; the refused one had nothing to undo */
    CU_ASSERT_EQUAL(u_effects(s_da, gid, "try"), 1);
    CU_ASSERT_EQUAL(u_effects(s_da, gid, "cancel"), 1);
    CU_ASSERT_EQUAL(u_effects(s_db, gid, "try"), 0);
    CU_ASSERT_EQUAL(u_effects(s_db, gid, "cancel"), 0);
    CU_ASSERT_TRUE(u_deliveries(s_db, gid, "cancel") >= 1);
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_commit(c, gid, &state), DTX_EABORTED);
    dtx_client_destroy(&c);
}

static void test_initiator_vanishes_deadline_cancels(void)
{
    dtx_client_t *c = s_client();
    char gid[DTX_GID_SIZE];
    CU_ASSERT_EQUAL_FATAL(dtx_client_begin(c, DTX_MODE_TCC, 800, gid), 0);
    CU_ASSERT_EQUAL(dtx_client_try(c, gid, "ra", "reserve", "x", 1, NULL), 0);
    CU_ASSERT_EQUAL(dtx_client_try(c, gid, "rb", "reserve", "y", 1, NULL), 0);
    dtx_client_destroy(&c); /* never commits */
    CU_ASSERT_EQUAL(u_wait_state(s_log, gid, DTX_STATE_ABORTED, 10000), 0);
    CU_ASSERT_EQUAL(u_effects(s_da, gid, "cancel"), 1);
    CU_ASSERT_EQUAL(u_effects(s_db, gid, "cancel"), 1);
}

static void test_try_on_a_resource_with_no_instance_says_so_and_aborts(void)
{
    dtx_client_t *c = s_client();
    char gid[DTX_GID_SIZE];
    dtx_try_result_t r;
    CU_ASSERT_EQUAL_FATAL(dtx_client_begin(c, DTX_MODE_TCC, 0, gid), 0);
    CU_ASSERT_EQUAL(dtx_client_try(c, gid, "ra", "reserve", "x", 1, NULL), 0);
    int64_t t0 = h_now_ms();
    CU_ASSERT_EQUAL(dtx_client_try(c, gid, "nobody-serves-this", "reserve", "", 0, &r),
                    DTX_ENOPARTICIPANT);
    /* it waited for an instance (try-timeout-ms 1500) before giving up */
    CU_ASSERT_TRUE(h_now_ms() - t0 >= 1000);
    /* the Try that never left needs no Cancel: the transaction ends */
    CU_ASSERT_EQUAL(u_wait_state(s_log, gid, DTX_STATE_ABORTED, 10000), 0);
    CU_ASSERT_EQUAL(u_effects(s_da, gid, "cancel"), 1);
    char err[256];
    CU_ASSERT_EQUAL(h_db_scalar_text(s_log, err, sizeof err,
                                     "SELECT last_error FROM dtx_branch WHERE gid = '%s' AND branch_no = 2",
                                     gid),
                    0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "no live instance"));
    dtx_client_destroy(&c);
}

static void test_unknown_gid_is_not_found(void)
{
    dtx_client_t *c = s_client();
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_status(c, "01NOSUCHTRANSACTION0000000", &state), DTX_ENOTFOUND);
    CU_ASSERT_EQUAL(dtx_client_commit(c, "01NOSUCHTRANSACTION0000000", &state), DTX_ENOTFOUND);
    CU_ASSERT_EQUAL(dtx_client_try(c, "01NOSUCHTRANSACTION0000000", "ra", "a", "", 0, NULL),
                    DTX_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(dtx_client_last_error(c), "unknown transaction"));
    dtx_client_destroy(&c);
}

static void test_begin_rejects_bad_mode_and_timeout(void)
{
    dtx_client_t *c = s_client();
    char gid[DTX_GID_SIZE];
    CU_ASSERT_EQUAL(dtx_client_begin(c, 7, 0, gid), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_client_begin(c, DTX_MODE_TCC, 999999999, gid), DTX_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dtx_client_last_error(c), "max-timeout-ms"));
    dtx_client_destroy(&c);
}

static void test_commit_with_no_branch_commits(void)
{
    dtx_client_t *c = s_client();
    char gid[DTX_GID_SIZE];
    int state = 0;
    CU_ASSERT_EQUAL_FATAL(dtx_client_begin(c, DTX_MODE_TCC, 0, gid), 0);
    CU_ASSERT_EQUAL(dtx_client_commit(c, gid, &state), 0);
    CU_ASSERT_EQUAL(u_wait_state(s_log, gid, DTX_STATE_COMMITTED, 5000), 0);
    dtx_client_destroy(&c);
}

INTEG_SUITE(tcc)
{
    CU_pSuite s = CU_add_suite("tcc", s_init, s_clean);
    CU_add_test(s, "commit confirms every branch once", test_commit_confirms_every_branch_once);
    CU_add_test(s, "rollback cancels every branch", test_rollback_cancels_every_branch);
    CU_add_test(s, "try refused cancels every tried branch", test_try_refused_cancels_every_tried_branch);
    CU_add_test(s, "initiator vanishes, deadline cancels", test_initiator_vanishes_deadline_cancels);
    CU_add_test(s, "try on a resource with no instance says so and aborts", test_try_on_a_resource_with_no_instance_says_so_and_aborts);
    CU_add_test(s, "unknown gid is not found", test_unknown_gid_is_not_found);
    CU_add_test(s, "begin rejects bad mode and timeout", test_begin_rejects_bad_mode_and_timeout);
    CU_add_test(s, "commit with no branch commits", test_commit_with_no_branch_commits);
}
