/*
 * Delivery through failures: participants that are down or slow when the
 * decision is driven, duplicate deliveries, and a coordinator killed
 * between its decision and the confirms. Each test has its own databases,
 * dtxd and participants.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dtx/dtx.h"
#include "integ.h"
#include "core/txn.h"
#include "util.h"
#include "world.h"

/* BEGIN + a Try on ra and on rb; returns 0 and the gid. */
static int s_tried(u_world_t *w, char *gid)
{
    if (dtx_client_begin(w->c, DTX_MODE_TCC, 60000, gid) != 0)
        return -1;
    if (dtx_client_try(w->c, gid, "ra", "reserve", "a", 1, NULL) != 0)
        return -1;
    return dtx_client_try(w->c, gid, "rb", "reserve", "b", 1, NULL);
}

static void test_participant_down_at_confirm_comes_back_and_confirms(void)
{
    u_world_t w;
    const char *args[] = { "--phase-timeout-ms", "500", "--retry-base-ms", "100",
                           "--retry-max-ms", "400", "--heartbeat-ms", "200", NULL };
    CU_ASSERT_FATAL(u_world_up(&w, "down_confirm", args, NULL, NULL) == 0);
    char gid[DTX_GID_SIZE];
    CU_ASSERT_FATAL(s_tried(&w, gid) == 0);
    /* rb goes away before the decision */
    CU_ASSERT_EQUAL(h_stop(w.pb, SIGKILL, 5000), 128 + SIGKILL);
    w.pb = 0;
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_commit(w.c, gid, &state), 0);
    CU_ASSERT_EQUAL(state, DTX_STATE_COMMITTING);
    /* ra confirms, rb cannot: the transaction waits, durably committing */
    h_sleep_ms(1500);
    CU_ASSERT_EQUAL(u_log_state(w.log, gid), DTX_STATE_COMMITTING);
    CU_ASSERT_EQUAL(u_effects(w.pa_db, gid, "confirm"), 1);
    CU_ASSERT_EQUAL(u_branch_state(w.log, gid, 2), DTX_BRANCH_TRIED);
    CU_ASSERT_TRUE(h_db_scalar(w.log, "SELECT attempts FROM dtx_branch WHERE gid = '%s' AND branch_no = 2",
                               gid) >= 0);
    /* rb comes back (same database): it is confirmed */
    const char *rb[] = { "--resource", "rb", NULL };
    w.pb = h_participant_start("down_confirm-pb2", w.db, w.dtxd.endpoint, rb);
    CU_ASSERT_FATAL(w.pb > 0);
    CU_ASSERT_EQUAL(u_wait_state(w.log, gid, DTX_STATE_COMMITTED, 10000), 0);
    CU_ASSERT_EQUAL(u_effects(w.pb_db, gid, "confirm"), 1);
    CU_ASSERT_EQUAL(u_effects(w.pb_db, gid, "cancel"), 0);
    CU_ASSERT_EQUAL(u_world_stop(&w), 0);
}

static void test_confirm_delivered_twice_applies_once(void)
{
    u_world_t w;
    /* rb answers confirms after 1200 ms; dtxd gives up waiting after 300
     * ms and sends again: rb sees the confirm at least twice. */
    const char *args[] = { "--phase-timeout-ms", "300", "--retry-base-ms", "50",
                           "--retry-max-ms", "100", NULL };
    const char *pb[] = { "--delay-ms-op", "confirm:1200", NULL };
    CU_ASSERT_FATAL(u_world_up(&w, "confirm_twice", args, NULL, pb) == 0);
    char gid[DTX_GID_SIZE];
    CU_ASSERT_FATAL(s_tried(&w, gid) == 0);
    CU_ASSERT_EQUAL(dtx_client_commit(w.c, gid, NULL), 0);
    CU_ASSERT_EQUAL(u_wait_state(w.log, gid, DTX_STATE_COMMITTED, 15000), 0);
    /* let the queued duplicates drain through the participant */
    h_sleep_ms(2500);
    CU_ASSERT_TRUE(u_deliveries(w.pb_db, gid, "confirm") >= 2);
    CU_ASSERT_EQUAL(u_effects(w.pb_db, gid, "confirm"), 1);
    CU_ASSERT_EQUAL(u_effects(w.pa_db, gid, "confirm"), 1);
    CU_ASSERT_TRUE(h_db_scalar(w.log, "SELECT attempts FROM dtx_branch WHERE gid = '%s' AND branch_no = 2",
                               gid) >= 2);
    CU_ASSERT_EQUAL(u_world_stop(&w), 0);
}

static void test_failed_confirm_is_retried_until_it_succeeds(void)
{
    u_world_t w;
    const char *args[] = { "--retry-base-ms", "50", "--retry-max-ms", "200", NULL };
    const char *pa[] = { "--fail-confirm-times", "3", NULL };
    CU_ASSERT_FATAL(u_world_up(&w, "confirm_retry", args, pa, NULL) == 0);
    char gid[DTX_GID_SIZE];
    CU_ASSERT_FATAL(s_tried(&w, gid) == 0);
    CU_ASSERT_EQUAL(dtx_client_commit(w.c, gid, NULL), 0);
    CU_ASSERT_EQUAL(u_wait_state(w.log, gid, DTX_STATE_COMMITTED, 15000), 0);
    CU_ASSERT_EQUAL(u_deliveries(w.pa_db, gid, "confirm"), 4);
    CU_ASSERT_EQUAL(u_effects(w.pa_db, gid, "confirm"), 1);
    CU_ASSERT_EQUAL(h_db_scalar(w.log, "SELECT attempts FROM dtx_branch WHERE gid = '%s' AND branch_no = 1",
                                gid),
                    4);
    CU_ASSERT_EQUAL(u_world_stop(&w), 0);
}

static void test_dtxd_killed_between_decision_and_confirm_confirms_after_restart(void)
{
    u_world_t w;
    /* The restarted dtxd is a new node (the default node id has the pid):
     * it takes the work over once the old node's lease (1 s) expires. */
    const char *args[] = { "--phase-timeout-ms", "500", "--retry-base-ms", "100",
                           "--retry-max-ms", "300", "--recovery-interval-ms", "200",
                           "--lease-ms", "1000", NULL };
    CU_ASSERT_FATAL(u_world_up(&w, "restart", args, NULL, NULL) == 0);
    char gid[DTX_GID_SIZE];
    CU_ASSERT_FATAL(s_tried(&w, gid) == 0);
    /* rb cannot confirm while it is away, so the decision is recorded but
     * its confirm is not done when the coordinator dies. */
    CU_ASSERT_EQUAL(h_stop(w.pb, SIGKILL, 5000), 128 + SIGKILL);
    w.pb = 0;
    CU_ASSERT_EQUAL(dtx_client_commit(w.c, gid, NULL), 0);
    CU_ASSERT_EQUAL(u_log_state(w.log, gid), DTX_STATE_COMMITTING);
    h_dtxd_kill(&w.dtxd);
    CU_ASSERT_EQUAL(u_log_state(w.log, gid), DTX_STATE_COMMITTING);
    const char *rb[] = { "--resource", "rb", NULL };
    /* the participant starts before the coordinator is back: it must
     * keep trying to register, and succeed once dtxd listens again */
    CU_ASSERT_EQUAL_FATAL(h_dtxd_restart(&w.dtxd), 0);
    w.pb = h_participant_start("restart-pb2", w.db, w.dtxd.endpoint, rb);
    CU_ASSERT_FATAL(w.pb > 0);
    CU_ASSERT_EQUAL(u_wait_state(w.log, gid, DTX_STATE_COMMITTED, 15000), 0);
    CU_ASSERT_EQUAL(u_effects(w.pb_db, gid, "confirm"), 1);
    CU_ASSERT_EQUAL(u_effects(w.pa_db, gid, "confirm"), 1);
    CU_ASSERT_EQUAL(u_world_stop(&w), 0);
}

static void test_active_transaction_survives_a_restart_and_commits(void)
{
    u_world_t w;
    CU_ASSERT_FATAL(u_world_up(&w, "restart_active", NULL, NULL, NULL) == 0);
    char gid[DTX_GID_SIZE];
    CU_ASSERT_FATAL(s_tried(&w, gid) == 0);
    CU_ASSERT_EQUAL(h_dtxd_stop(&w.dtxd), 0);
    CU_ASSERT_EQUAL_FATAL(h_dtxd_restart(&w.dtxd), 0);
    /* the client's socket reconnects by itself; the gid is read from the log */
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_status(w.c, gid, &state), 0);
    CU_ASSERT_EQUAL(state, DTX_STATE_ACTIVE);
    CU_ASSERT_EQUAL(dtx_client_commit(w.c, gid, &state), 0);
    CU_ASSERT_EQUAL(u_wait_state(w.log, gid, DTX_STATE_COMMITTED, 15000), 0);
    CU_ASSERT_EQUAL(u_effects(w.pa_db, gid, "confirm"), 1);
    CU_ASSERT_EQUAL(u_effects(w.pb_db, gid, "confirm"), 1);
    CU_ASSERT_EQUAL(u_world_stop(&w), 0);
}

static void test_lost_vote_after_crash_makes_commit_abort(void)
{
    u_world_t w;
    /* rb sits 3 s in its Try: dtxd is killed while it waits for the vote */
    const char *args[] = { "--try-timeout-ms", "10000", NULL };
    const char *pb[] = { "--delay-ms-op", "try:3000", NULL };
    CU_ASSERT_FATAL(u_world_up(&w, "lost_vote", args, NULL, pb) == 0);
    char gid[DTX_GID_SIZE];
    CU_ASSERT_EQUAL_FATAL(dtx_client_begin(w.c, DTX_MODE_TCC, 60000, gid), 0);
    CU_ASSERT_EQUAL(dtx_client_try(w.c, gid, "ra", "reserve", "a", 1, NULL), 0);
    dtx_client_set_timeout(w.c, 500);
    CU_ASSERT_EQUAL(dtx_client_try(w.c, gid, "rb", "reserve", "b", 1, NULL), DTX_ETIMEOUT);
    h_dtxd_kill(&w.dtxd);
    CU_ASSERT_EQUAL(u_branch_state(w.log, gid, 2), DTX_BRANCH_TRYING);
    CU_ASSERT_EQUAL_FATAL(h_dtxd_restart(&w.dtxd), 0);
    dtx_client_set_timeout(w.c, 10000);
    int state = 0;
    /* presumed abort: the vote of branch 2 is unknown, so commit aborts */
    CU_ASSERT_EQUAL(dtx_client_commit(w.c, gid, &state), DTX_EABORTED);
    CU_ASSERT_EQUAL(u_wait_state(w.log, gid, DTX_STATE_ABORTED, 20000), 0);
    CU_ASSERT_EQUAL(u_effects(w.pa_db, gid, "cancel"), 1);
    /* rb's Try did run (late): its cancel compensates it */
    CU_ASSERT_EQUAL(u_effects(w.pb_db, gid, "try") - u_effects(w.pb_db, gid, "cancel"), 0);
    CU_ASSERT_EQUAL(u_world_stop(&w), 0);
}

/* A branch whose Try carried no payload is stored with an empty bytea;
 * recovery reads it back (PQunescapeBytea gives 0 bytes) and must not
 * hand a NULL buffer to memcpy: a sanitizer build used to die there at
 * every start, crash-looping on such a log. */
static void test_branch_with_empty_payload_is_recovered(void)
{
    u_world_t w;
    const char *args[] = { "--phase-timeout-ms", "500", "--retry-base-ms", "100",
                           "--retry-max-ms", "300", "--recovery-interval-ms", "200",
                           "--lease-ms", "1000", NULL };
    CU_ASSERT_FATAL(u_world_up(&w, "empty_payload", args, NULL, NULL) == 0);
    char gid[DTX_GID_SIZE];
    CU_ASSERT_EQUAL_FATAL(dtx_client_begin(w.c, DTX_MODE_TCC, 60000, gid), 0);
    CU_ASSERT_EQUAL_FATAL(dtx_client_try(w.c, gid, "ra", "reserve", NULL, 0, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(dtx_client_try(w.c, gid, "rb", "reserve", "", 0, NULL), 0);
    CU_ASSERT_EQUAL(h_db_scalar(w.log, "SELECT count(*) FROM dtx_branch WHERE gid = '%s'"
                                       " AND length(payload) = 0", gid), 2);
    /* rb away: the decision is durable, its confirm is not done */
    CU_ASSERT_EQUAL(h_stop(w.pb, SIGKILL, 5000), 128 + SIGKILL);
    w.pb = 0;
    CU_ASSERT_EQUAL(dtx_client_commit(w.c, gid, NULL), 0);
    h_dtxd_kill(&w.dtxd);
    CU_ASSERT_EQUAL(u_log_state(w.log, gid), DTX_STATE_COMMITTING);
    /* the new dtxd loads both branches from the log and confirms them */
    CU_ASSERT_EQUAL_FATAL(h_dtxd_restart(&w.dtxd), 0);
    const char *rb[] = { "--resource", "rb", NULL };
    w.pb = h_participant_start("empty_payload-pb2", w.db, w.dtxd.endpoint, rb);
    CU_ASSERT_FATAL(w.pb > 0);
    CU_ASSERT_EQUAL(u_wait_state(w.log, gid, DTX_STATE_COMMITTED, 15000), 0);
    CU_ASSERT_EQUAL(u_effects(w.pb_db, gid, "confirm"), 1);
    CU_ASSERT_EQUAL(u_effects(w.pa_db, gid, "confirm"), 1);
    /* still running, and it stops cleanly (0: no sanitizer report) */
    CU_ASSERT_EQUAL(u_world_stop(&w), 0);
}

/* The final state and the branches' acknowledgements are lazy writes
 * (synchronous_commit off: docs/operations.md, durability table). dtxd is
 * killed the moment the final state is acknowledged in memory; then the
 * log is put back as PostgreSQL would leave it had it crashed before
 * flushing those lazy commits (the decision is the last synchronous write:
 * committing, both branches voted yes). The restarted dtxd re-drives the
 * Confirms — idempotent at the participants — to the same outcome. */
static void test_lazy_writes_lost_in_a_crash_are_redriven_to_the_same_outcome(void)
{
    u_world_t w;
    const char *args[] = { "--node-id", "lazy1", "--phase-timeout-ms", "500",
                           "--recovery-interval-ms", "200", "--fault", "after-finish-write",
                           NULL };
    CU_ASSERT_FATAL(u_world_up(&w, "lazy_lost", args, NULL, NULL) == 0);
    char gid[DTX_GID_SIZE];
    CU_ASSERT_FATAL(s_tried(&w, gid) == 0);
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_commit(w.c, gid, &state), 0);
    CU_ASSERT_EQUAL(state, DTX_STATE_COMMITTING);
    CU_ASSERT_EQUAL(h_wait_exit(w.dtxd.pid, 10000), 86);
    w.dtxd.pid = 0;
    /* acknowledged: committed and visible, flushed or not */
    CU_ASSERT_EQUAL(u_log_state(w.log, gid), DTX_STATE_COMMITTED);
    CU_ASSERT_EQUAL(u_deliveries(w.pa_db, gid, "confirm"), 1);
    CU_ASSERT_EQUAL(u_deliveries(w.pb_db, gid, "confirm"), 1);
    /* the lazy commits lost: back to the last synchronous write */
    CU_ASSERT_EQUAL(h_db_exec(w.log, "UPDATE dtx_branch SET state = %d WHERE gid = '%s'",
                              DTX_BRANCH_TRIED, gid), 0);
    CU_ASSERT_EQUAL(h_db_exec(w.log, "UPDATE dtx_global SET state = %d, finished_at = NULL,"
                              " next_attempt_at = now() WHERE gid = '%s'",
                              DTX_STATE_COMMITTING, gid), 0);
    w.dtxd.nextra -= 2; /* not the fault again */
    CU_ASSERT_EQUAL_FATAL(h_dtxd_restart(&w.dtxd), 0);
    CU_ASSERT_EQUAL(u_wait_state(w.log, gid, DTX_STATE_COMMITTED, 15000), 0);
    CU_ASSERT_EQUAL(h_db_scalar(w.log, "SELECT count(*) FROM dtx_branch_now WHERE gid = '%s' AND state = %d",
                                gid, DTX_BRANCH_CONFIRMED), 2);
    /* each Confirm delivered again, applied once */
    CU_ASSERT_EQUAL(u_deliveries(w.pa_db, gid, "confirm"), 2);
    CU_ASSERT_EQUAL(u_deliveries(w.pb_db, gid, "confirm"), 2);
    CU_ASSERT_EQUAL(u_effects(w.pa_db, gid, "confirm"), 1);
    CU_ASSERT_EQUAL(u_effects(w.pb_db, gid, "confirm"), 1);
    CU_ASSERT_EQUAL(u_effects(w.pa_db, gid, "cancel") + u_effects(w.pb_db, gid, "cancel"), 0);
    CU_ASSERT_EQUAL(u_world_stop(&w), 0);
}

INTEG_SUITE(recovery)
{
    CU_pSuite s = CU_add_suite("recovery", NULL, NULL);
    CU_add_test(s, "participant down at confirm comes back and confirms", test_participant_down_at_confirm_comes_back_and_confirms);
    CU_add_test(s, "confirm delivered twice applies once", test_confirm_delivered_twice_applies_once);
    CU_add_test(s, "failed confirm is retried until it succeeds", test_failed_confirm_is_retried_until_it_succeeds);
    CU_add_test(s, "dtxd killed between decision and confirm confirms after restart", test_dtxd_killed_between_decision_and_confirm_confirms_after_restart);
    CU_add_test(s, "active transaction survives a restart and commits", test_active_transaction_survives_a_restart_and_commits);
    CU_add_test(s, "lost vote after crash makes commit abort", test_lost_vote_after_crash_makes_commit_abort);
    CU_add_test(s, "branch with empty payload is recovered", test_branch_with_empty_payload_is_recovered);
    CU_add_test(s, "lazy writes lost in a crash are redriven to the same outcome",
                test_lazy_writes_lost_in_a_crash_are_redriven_to_the_same_outcome);
}
