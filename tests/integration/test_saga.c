/*
 * Sagas end to end (docs/sagas.md): a real dtxd and PostgreSQL, real
 * test-participant processes, plans submitted through libdtx. Suite
 * "saga" shares one world (started by its init, each test its own gids):
 *   database a: pa serves ra; pslow serves rslow (every action sits 2 s);
 *   database b: pb serves rb and rc (refuses actions named "decline");
 *               pz serves rz (every action fails); pd serves rd (refuses
 *               "ship"; restarted without that by the pivot test).
 * Suite "saga_crash" kills dtxd: each test has its own world.
 *
 * What the participants' tables show: ledger rows (op 'action' or
 * 'compensate') are deliveries, written when the handler starts (after
 * any --delay-ms-op) with their time; effects rows are applications under
 * the barrier (at most one per step and op).
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

static const char *s_fast[] = { "--phase-timeout-ms", "5000", "--retry-base-ms", "50",
                                "--retry-max-ms", "200", "--max-attempts", "4",
                                "--heartbeat-ms", "2000", NULL };

static u_world_t s_w;            /* suite "saga"'s world */
static pid_t s_pz, s_pd, s_pslow;

static int s_shared_up(void)
{
    const char *pb[] = { "--resource", "rc", "--refuse-action", "decline", NULL };
    if (u_world_up(&s_w, "saga", s_fast, NULL, pb) != 0)
        return -1;
    const char *pz[] = { "--resource", "rz", "--fail-op-times", "action:1000000", NULL };
    const char *pd[] = { "--resource", "rd", "--refuse-action", "ship", NULL };
    const char *ps[] = { "--resource", "rslow", "--delay-ms-op", "action:2000", NULL };
    s_pz = h_participant_start("saga-pz", s_w.db, s_w.dtxd.endpoint, pz);
    s_pd = h_participant_start("saga-pd", s_w.db, s_w.dtxd.endpoint, pd);
    s_pslow = h_participant_start("saga-pslow", s_w.da, s_w.dtxd.endpoint, ps);
    return s_pz > 0 && s_pd > 0 && s_pslow > 0 ? 0 : -1;
}

static int s_shared_down(void)
{
    /* Suite cleanup: no CUnit assertion here (no test is running). The
     * pivot test's second rd was already stopped by the runner. */
    pid_t ps[3] = { s_pz, s_pd, s_pslow };
    for (int i = 0; i < 3; i++)
        if (ps[i] > 0 && h_alive(ps[i]))
            h_stop(ps[i], SIGTERM, 5000);
    return u_world_stop(&s_w);
}

/* The travel plan: 1 ra book/unbook, 2 rb reserve/release, 3 rc
 * <pay>/refund (step 2 a pivot without compensation when pivot is set). */
static dtx_saga_t *s_plan(int pivot, const char *pay)
{
    dtx_saga_t *s = dtx_saga_new(NULL);
    CU_ASSERT_EQUAL(dtx_saga_add_step(s, "ra", "book", "unbook", "f", 1, 0), 1);
    CU_ASSERT_EQUAL(dtx_saga_add_step(s, "rb", "reserve", pivot ? NULL : "release", "h", 1,
                                      pivot ? DTX_STEP_PIVOT : 0), 2);
    CU_ASSERT_EQUAL(dtx_saga_add_step(s, "rc", pay, "refund", "p", 1, 0), 3);
    return s;
}

static int s_submit(u_world_t *w, dtx_saga_t *s, uint32_t timeout_ms, char *gid)
{
    int rc = dtx_client_saga_submit(w->c, s, timeout_ms, gid);
    if (rc != 0)
        fprintf(stderr, "saga submit: %s (%s)\n", dtx_strerror(rc), dtx_client_last_error(w->c));
    dtx_saga_destroy(&s);
    return rc;
}

/* When the first delivery of op to (gid, branch) reached its handler,
 * as epoch microseconds of the participant's database clock. */
static int64_t s_at(PGconn *pdb, const char *gid, int branch, const char *op)
{
    return h_db_scalar(pdb,
                       "SELECT coalesce((extract(epoch FROM min(at)) * 1000000)::bigint, -1)"
                       " FROM ledger WHERE gid = '%s' AND branch = %d AND op = '%s'",
                       gid, branch, op);
}

static void test_saga_forward_runs_every_action_in_order_and_commits(void)
{
    u_world_t *w = &s_w;
    char gid[DTX_GID_SIZE];
    CU_ASSERT_FATAL(s_submit(w, s_plan(0, "pay"), 30000, gid) == 0);
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_saga_wait(w->c, gid, 15000, &state), 0);
    CU_ASSERT_EQUAL(state, DTX_STATE_COMMITTED);
    CU_ASSERT_EQUAL(u_effects(w->pa_db, gid, "action"), 1);
    CU_ASSERT_EQUAL(u_effects(w->pb_db, gid, "action"), 2);
    CU_ASSERT_EQUAL(u_deliveries(w->pa_db, gid, "compensate") + u_deliveries(w->pb_db, gid, "compensate"), 0);
    for (int b = 1; b <= 3; b++)
        CU_ASSERT_EQUAL(u_branch_state(w->log, gid, b), DTX_BRANCH_CONFIRMED);
    /* in plan order: each action reached its handler after the one before */
    CU_ASSERT_TRUE(s_at(w->pa_db, gid, 1, "action") < s_at(w->pb_db, gid, 2, "action"));
    CU_ASSERT_TRUE(s_at(w->pb_db, gid, 2, "action") < s_at(w->pb_db, gid, 3, "action"));
    /* the plan is in the log, with its compensations */
    char undo[64] = "";
    h_db_scalar_text(w->log, undo, sizeof undo,
                     "SELECT string_agg(coalesce(undo_action, '-'), ',' ORDER BY branch_no)"
                     " FROM dtx_branch WHERE gid = '%s'", gid);
    CU_ASSERT_STRING_EQUAL(undo, "unbook,release,refund");
}

static void test_saga_refused_step_compensates_earlier_steps_in_reverse_order(void)
{
    u_world_t *w = &s_w;
    char gid[DTX_GID_SIZE];
    CU_ASSERT_FATAL(s_submit(w, s_plan(0, "decline"), 30000, gid) == 0);
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_saga_wait(w->c, gid, 15000, &state), DTX_EABORTED);
    CU_ASSERT_EQUAL(state, DTX_STATE_ABORTED);
    CU_ASSERT_EQUAL(u_effects(w->pa_db, gid, "action"), 1);
    CU_ASSERT_EQUAL(u_effects(w->pb_db, gid, "action"), 1);     /* rb's; rc refused */
    CU_ASSERT_EQUAL(u_effects(w->pa_db, gid, "compensate"), 1); /* unbook */
    CU_ASSERT_EQUAL(u_effects(w->pb_db, gid, "compensate"), 1); /* release; rc: nothing applied */
    CU_ASSERT_EQUAL(h_db_scalar(w->pb_db, "SELECT count(*) FROM effects WHERE gid = '%s' AND branch = 3",
                                gid), 0);
    for (int b = 1; b <= 3; b++)
        CU_ASSERT_EQUAL(u_branch_state(w->log, gid, b), DTX_BRANCH_CANCELLED);
    /* reverse order: 3 (null) before 2 before 1 */
    int64_t c1 = s_at(w->pa_db, gid, 1, "compensate"), c2 = s_at(w->pb_db, gid, 2, "compensate"),
            c3 = s_at(w->pb_db, gid, 3, "compensate");
    CU_ASSERT_TRUE(c3 > 0 && c3 < c2);
    CU_ASSERT_TRUE(c2 > 0 && c2 < c1);
}

static void test_saga_step_failing_past_its_budget_is_a_null_compensation(void)
{
    u_world_t *w = &s_w;
    /* rz's action fails every time: never applied; after 4 attempts the
     * saga aborts and compensates rz (nothing there: a null compensation
     * recorded by the barrier) and ra (undone). rc never ran: skipped. */
    dtx_saga_t *s = dtx_saga_new(NULL);
    dtx_saga_add_step(s, "ra", "book", "unbook", NULL, 0, 0);
    dtx_saga_add_step(s, "rz", "reserve", "release", NULL, 0, 0);
    dtx_saga_add_step(s, "rc", "pay", "refund", NULL, 0, 0);
    char gid[DTX_GID_SIZE];
    CU_ASSERT_FATAL(s_submit(w, s, 30000, gid) == 0);
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_saga_wait(w->c, gid, 20000, &state), DTX_EABORTED);
    CU_ASSERT_TRUE(u_deliveries(w->pb_db, gid, "action") >= 4);
    CU_ASSERT_EQUAL(u_effects(w->pb_db, gid, "action"), 0);
    CU_ASSERT_EQUAL(u_deliveries(w->pb_db, gid, "compensate"), 1);
    CU_ASSERT_EQUAL(u_effects(w->pb_db, gid, "compensate"), 0);
    CU_ASSERT_EQUAL(h_db_scalar(w->pb_db,
                                "SELECT count(*) FROM dtx_barrier WHERE gid = '%s' AND branch = 2"
                                " AND op = 'try' AND origin = 'cancel'", gid), 1);
    CU_ASSERT_EQUAL(u_effects(w->pa_db, gid, "compensate"), 1);
    /* step 3's action never left, so no compensation was sent for it */
    CU_ASSERT_EQUAL(h_db_scalar(w->pb_db, "SELECT count(*) FROM ledger WHERE gid = '%s' AND branch = 3",
                                gid), 0);
    CU_ASSERT_EQUAL(u_branch_state(w->log, gid, 3), DTX_BRANCH_CANCELLED);
}

static void test_saga_after_its_pivot_goes_only_forward(void)
{
    u_world_t *w = &s_w;
    /* rd refuses ship for good: after the pivot (step 2) nothing is
     * compensated; ship is retried until the budget, then the saga is
     * stuck on its way forward for an operator. */
    dtx_saga_t *s = dtx_saga_new(NULL);
    dtx_saga_add_step(s, "ra", "book", "unbook", NULL, 0, 0);
    dtx_saga_add_step(s, "rb", "reserve", NULL, NULL, 0, DTX_STEP_PIVOT);
    dtx_saga_add_step(s, "rd", "ship", "unship", NULL, 0, 0);
    char gid[DTX_GID_SIZE];
    CU_ASSERT_FATAL(s_submit(w, s, 30000, gid) == 0);
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_saga_wait(w->c, gid, 20000, &state), DTX_ESTATE);
    CU_ASSERT_EQUAL(state, DTX_STATE_STUCK);
    CU_ASSERT_EQUAL(h_db_scalar(w->log, "SELECT decision FROM dtx_global WHERE gid = '%s'", gid),
                    DTX_STATE_COMMITTING);
    CU_ASSERT_TRUE(u_deliveries(w->pb_db, gid, "action") >= 1 + 4);
    CU_ASSERT_EQUAL(u_deliveries(w->pa_db, gid, "compensate") + u_deliveries(w->pb_db, gid, "compensate"), 0);
    CU_ASSERT_EQUAL(u_branch_state(w->log, gid, 1), DTX_BRANCH_CONFIRMED);
    CU_ASSERT_EQUAL(u_branch_state(w->log, gid, 2), DTX_BRANCH_CONFIRMED);
    CU_ASSERT_EQUAL(u_branch_state(w->log, gid, 3), DTX_BRANCH_TRYING);
    /* the operator fixes rd and resumes: forward again, to committed */
    CU_ASSERT_EQUAL(h_stop(s_pd, SIGTERM, 5000), 0);
    const char *rd[] = { "--resource", "rd", NULL };
    s_pd = h_participant_start("saga-pd2", w->db, w->dtxd.endpoint, rd);
    CU_ASSERT_FATAL(s_pd > 0);
    CU_ASSERT_EQUAL(dtx_client_resume(w->c, gid, &state), 0);
    CU_ASSERT_EQUAL(state, DTX_STATE_COMMITTING);
    CU_ASSERT_EQUAL(dtx_client_saga_wait(w->c, gid, 15000, &state), 0);
    CU_ASSERT_EQUAL(h_db_scalar(w->pb_db, "SELECT count(*) FROM effects WHERE gid = '%s' AND branch = 3"
                                          " AND op = 'action'", gid), 1);
    CU_ASSERT_EQUAL(u_deliveries(w->pa_db, gid, "compensate") + u_deliveries(w->pb_db, gid, "compensate"), 0);
    /* a pivot refused: the steps before it are compensated */
    char gid2[DTX_GID_SIZE];
    s = dtx_saga_new(NULL);
    dtx_saga_add_step(s, "ra", "book", "unbook", NULL, 0, 0);
    dtx_saga_add_step(s, "rb", "decline", NULL, NULL, 0, DTX_STEP_PIVOT);
    dtx_saga_add_step(s, "rc", "pay", "refund", NULL, 0, 0);
    CU_ASSERT_FATAL(s_submit(w, s, 30000, gid2) == 0);
    CU_ASSERT_EQUAL(dtx_client_saga_wait(w->c, gid2, 15000, &state), DTX_EABORTED);
    CU_ASSERT_EQUAL(u_effects(w->pa_db, gid2, "compensate"), 1);
    CU_ASSERT_EQUAL(u_deliveries(w->pb_db, gid2, "compensate"), 0); /* a pivot is never compensated */
}

static void test_saga_concurrent_steps_run_together_then_their_dependent(void)
{
    u_world_t *w = &s_w;
    /* Steps 1 (rslow: sits 2 s in its action) and 2 (rb) have no
     * dependency; step 3 (rc) needs both. Had step 2 waited for step 1
     * it would have started 2 s after it. */
    dtx_saga_t *s = dtx_saga_new(NULL);
    dtx_saga_add_step(s, "rslow", "book", "unbook", NULL, 0, 0);
    dtx_saga_add_step(s, "rb", "reserve", "release", NULL, 0, 0);
    dtx_saga_add_step(s, "rc", "pay", "refund", NULL, 0, 0);
    CU_ASSERT_EQUAL(dtx_saga_add_dependency(s, 3, 1), 0);
    CU_ASSERT_EQUAL(dtx_saga_add_dependency(s, 3, 2), 0);
    char gid[DTX_GID_SIZE];
    int64_t t0 = h_now_ms();
    CU_ASSERT_FATAL(s_submit(w, s, 30000, gid) == 0);
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_saga_wait(w->c, gid, 20000, &state), 0);
    /* rb's action did not wait for rslow's (which ends after >= 2 s) */
    CU_ASSERT_EQUAL(h_db_scalar(w->pb_db,
                                "SELECT count(*) FROM ledger WHERE gid = '%s' AND branch = 2"
                                " AND at < (SELECT min(at) FROM ledger WHERE gid = '%s' AND branch = 3)"
                                " - interval '1500 ms'", gid, gid), 1);
    /* and rc's waited for both */
    CU_ASSERT_TRUE(s_at(w->pb_db, gid, 3, "action") > s_at(w->pa_db, gid, 1, "action"));
    CU_ASSERT_TRUE(h_now_ms() - t0 >= 2000);
    CU_ASSERT_EQUAL(h_db_scalar(w->log, "SELECT (after_steps = '{1,2}')::int FROM dtx_branch"
                                        " WHERE gid = '%s' AND branch_no = 3", gid), 1);
}

/* Suite "saga_crash": each test has a world whose dtxd it kills -9 (a
 * process a test starts does not outlive it). rb sits 2.5 s in every
 * action (and refuses "decline"), ra 2.5 s in every compensation. The
 * restarted dtxd is a new node: it takes the saga over once the old
 * node's lease (1 s) ends. */
static int s_crash_up(u_world_t *w, const char *name)
{
    const char *args[] = { "--phase-timeout-ms", "5000", "--retry-base-ms", "100",
                           "--retry-max-ms", "300", "--recovery-interval-ms", "200",
                           "--lease-ms", "1000", "--heartbeat-ms", "2000", NULL };
    const char *pa[] = { "--delay-ms-op", "compensate:2500", NULL };
    const char *pb[] = { "--resource", "rc", "--delay-ms-op", "action:2500",
                         "--refuse-action", "decline", NULL };
    return u_world_up(w, name, args, pa, pb);
}

static void test_saga_survives_a_coordinator_killed_mid_saga(void)
{
    u_world_t cw, *w = &cw;
    CU_ASSERT_FATAL(s_crash_up(w, "saga_crash") == 0);
    /* dtxd is killed -9 while rb runs step 2's action; the next one
     * reloads the plan, sends the action again (applied once: the
     * barrier) and finishes the saga. */
    char gid[DTX_GID_SIZE];
    CU_ASSERT_FATAL(s_submit(w, s_plan(0, "pay"), 60000, gid) == 0);
    int64_t until = h_now_ms() + 10000;
    while (u_branch_state(w->log, gid, 1) != DTX_BRANCH_CONFIRMED && h_now_ms() < until)
        h_sleep_ms(50);
    CU_ASSERT_EQUAL_FATAL(u_branch_state(w->log, gid, 1), DTX_BRANCH_CONFIRMED);
    h_sleep_ms(300); /* step 2's action is in rb's handler now */
    h_dtxd_kill(&w->dtxd);
    CU_ASSERT_EQUAL(u_log_state(w->log, gid), DTX_STATE_ACTIVE);
    CU_ASSERT_EQUAL(u_branch_state(w->log, gid, 2), DTX_BRANCH_TRYING);
    CU_ASSERT_EQUAL_FATAL(h_dtxd_restart(&w->dtxd), 0);
    CU_ASSERT_EQUAL(u_wait_state(w->log, gid, DTX_STATE_COMMITTED, 30000), 0);
    CU_ASSERT_EQUAL(u_effects(w->pa_db, gid, "action"), 1);
    CU_ASSERT_EQUAL(h_db_scalar(w->pb_db, "SELECT count(*) FROM effects WHERE gid = '%s' AND branch = 2",
                                gid), 1);
    CU_ASSERT_EQUAL(h_db_scalar(w->pb_db, "SELECT count(*) FROM effects WHERE gid = '%s' AND branch = 3",
                                gid), 1);
    CU_ASSERT_EQUAL(u_deliveries(w->pa_db, gid, "compensate") + u_deliveries(w->pb_db, gid, "compensate"), 0);
    CU_ASSERT_EQUAL(u_world_stop(w), 0);
}

static void test_saga_killed_while_compensating_finishes_compensating(void)
{
    u_world_t cw, *w = &cw;
    CU_ASSERT_FATAL(s_crash_up(w, "saga_crash_comp") == 0);
    /* step 3 is refused: the saga compensates; ra sits 2.5 s in unbook,
     * and dtxd is killed -9 meanwhile. The next one goes on compensating
     * from the log: aborted, everything undone once. */
    char gid[DTX_GID_SIZE];
    CU_ASSERT_FATAL(s_submit(w, s_plan(0, "decline"), 60000, gid) == 0);
    int64_t until = h_now_ms() + 15000;
    while (u_branch_state(w->log, gid, 2) != DTX_BRANCH_CANCELLED && h_now_ms() < until)
        h_sleep_ms(50);
    CU_ASSERT_EQUAL_FATAL(u_branch_state(w->log, gid, 2), DTX_BRANCH_CANCELLED);
    h_dtxd_kill(&w->dtxd);
    CU_ASSERT_EQUAL(u_log_state(w->log, gid), DTX_STATE_ABORTING);
    CU_ASSERT_EQUAL_FATAL(h_dtxd_restart(&w->dtxd), 0);
    CU_ASSERT_EQUAL(u_wait_state(w->log, gid, DTX_STATE_ABORTED, 30000), 0);
    CU_ASSERT_EQUAL(u_effects(w->pa_db, gid, "compensate"), 1);
    CU_ASSERT_EQUAL(u_effects(w->pb_db, gid, "compensate"), 1);
    CU_ASSERT_EQUAL(u_world_stop(w), 0);
}

static void test_saga_deadline_or_rollback_compensates_unless_the_pivot_runs(void)
{
    u_world_t *w = &s_w;
    int state = 0;
    char gid[DTX_GID_SIZE];
    /* the deadline (1 s) passes while step 1 (2 s in rslow) runs: the
     * saga is compensated, step 1 too (its action may have run) */
    dtx_saga_t *s = dtx_saga_new(NULL);
    dtx_saga_add_step(s, "rslow", "book", "unbook", NULL, 0, 0);
    dtx_saga_add_step(s, "rb", "reserve", "release", NULL, 0, 0);
    CU_ASSERT_FATAL(s_submit(w, s, 1000, gid) == 0);
    CU_ASSERT_EQUAL(dtx_client_saga_wait(w->c, gid, 15000, &state), DTX_EABORTED);
    CU_ASSERT_EQUAL(u_deliveries(w->pa_db, gid, "compensate"), 1);
    CU_ASSERT_EQUAL(u_deliveries(w->pb_db, gid, "action"), 0); /* step 2 never ran */
    /* the initiator's ROLLBACK while step 1 runs: compensated as well */
    s = dtx_saga_new(NULL);
    dtx_saga_add_step(s, "rslow", "book", "unbook", NULL, 0, 0);
    dtx_saga_add_step(s, "rb", "reserve", "release", NULL, 0, 0);
    CU_ASSERT_FATAL(s_submit(w, s, 30000, gid) == 0);
    h_sleep_ms(300);
    CU_ASSERT_EQUAL(dtx_client_rollback(w->c, gid, &state), 0);
    CU_ASSERT_EQUAL(dtx_client_saga_wait(w->c, gid, 15000, &state), DTX_EABORTED);
    CU_ASSERT_EQUAL(u_deliveries(w->pa_db, gid, "compensate"), 1);
    /* a pivot running past the deadline: no abort, no rollback; it ends
     * committed once the pivot answers */
    s = dtx_saga_new(NULL);
    dtx_saga_add_step(s, "ra", "book", "unbook", NULL, 0, 0);
    dtx_saga_add_step(s, "rslow", "charge", NULL, NULL, 0, DTX_STEP_PIVOT);
    dtx_saga_add_step(s, "rb", "reserve", "release", NULL, 0, 0);
    CU_ASSERT_FATAL(s_submit(w, s, 1000, gid) == 0);
    int64_t until = h_now_ms() + 10000;
    while (u_branch_state(w->log, gid, 1) != DTX_BRANCH_CONFIRMED && h_now_ms() < until)
        h_sleep_ms(20);
    h_sleep_ms(200); /* the pivot's action is in rslow's 2 s handler now */
    CU_ASSERT_EQUAL(dtx_client_rollback(w->c, gid, &state), DTX_EBUSY);
    CU_ASSERT_PTR_NOT_NULL(strstr(dtx_client_last_error(w->c), "pivot"));
    CU_ASSERT_EQUAL(dtx_client_saga_wait(w->c, gid, 15000, &state), 0);
    CU_ASSERT_EQUAL(u_deliveries(w->pa_db, gid, "compensate") + u_deliveries(w->pb_db, gid, "compensate"), 0);
}

static void test_saga_plan_breaking_a_rule_is_refused_before_anything_is_sent(void)
{
    u_world_t *w = &s_w;
    int64_t before = h_db_scalar(w->log, "SELECT count(*) FROM dtx_global");
    char gid[DTX_GID_SIZE];
    /* two pivots */
    dtx_saga_t *s = dtx_saga_new(NULL);
    dtx_saga_add_step(s, "ra", "a", NULL, NULL, 0, DTX_STEP_PIVOT);
    dtx_saga_add_step(s, "rb", "b", NULL, NULL, 0, DTX_STEP_PIVOT);
    CU_ASSERT_EQUAL(dtx_client_saga_submit(w->c, s, 0, gid), DTX_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dtx_client_last_error(w->c), "second pivot"));
    CU_ASSERT_STRING_EQUAL(gid, "");
    dtx_saga_destroy(&s);
    /* an empty plan */
    s = dtx_saga_new(NULL);
    CU_ASSERT_EQUAL(dtx_client_saga_submit(w->c, s, 0, gid), DTX_EINVAL);
    dtx_saga_destroy(&s);
    /* a step without compensation that is no pivot: refused at once */
    s = dtx_saga_new(NULL);
    CU_ASSERT_EQUAL(dtx_saga_add_step(s, "ra", "a", NULL, NULL, 0, 0), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_saga_add_step(s, "ra", "a", "b", NULL, 0, 0x80), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_saga_add_dependency(s, 1, 1), DTX_EINVAL);
    dtx_saga_destroy(&s);
    /* a saga cannot take a TRY, nor be committed by hand */
    CU_ASSERT_FATAL(s_submit(w, s_plan(0, "pay"), 30000, gid) == 0);
    CU_ASSERT_EQUAL(dtx_client_try(w->c, gid, "ra", "x", NULL, 0, NULL), DTX_ESTATE);
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_saga_wait(w->c, gid, 15000, &state), 0);
    CU_ASSERT_EQUAL(h_db_scalar(w->log, "SELECT count(*) FROM dtx_global"), before + 1);
    /* with CURVE: a participant's key may not submit a saga (ERROR 21) */
    if (h_curve_on()) {
        char pkey[1024];
        CU_ASSERT_FATAL(h_curve_add_key("saga-part", "participant:ra", pkey, sizeof pkey) == 0);
        CU_ASSERT_FATAL(h_dtxd_reload(&w->dtxd) == 0);
        h_sleep_ms(300);
        int err = 0;
        dtx_client_t *pc = dtx_client_new_curve(w->dtxd.endpoint, pkey, &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(pc);
        dtx_client_set_timeout(pc, 5000);
        s = s_plan(0, "pay");
        CU_ASSERT_EQUAL(dtx_client_saga_submit(pc, s, 0, gid), DTX_EACCES);
        dtx_saga_destroy(&s);
        dtx_client_destroy(&pc);
        CU_ASSERT_EQUAL(h_db_scalar(w->log, "SELECT count(*) FROM dtx_global"), before + 1);
    }
}

INTEG_SUITE(saga)
{
    CU_pSuite s = CU_add_suite("saga", s_shared_up, s_shared_down);
    CU_add_test(s, "saga forward runs every action in order and commits", test_saga_forward_runs_every_action_in_order_and_commits);
    CU_add_test(s, "saga refused step compensates earlier steps in reverse order", test_saga_refused_step_compensates_earlier_steps_in_reverse_order);
    CU_add_test(s, "saga step failing past its budget is a null compensation", test_saga_step_failing_past_its_budget_is_a_null_compensation);
    CU_add_test(s, "saga after its pivot goes only forward", test_saga_after_its_pivot_goes_only_forward);
    CU_add_test(s, "saga concurrent steps run together then their dependent", test_saga_concurrent_steps_run_together_then_their_dependent);
    CU_add_test(s, "saga deadline or rollback compensates unless the pivot runs", test_saga_deadline_or_rollback_compensates_unless_the_pivot_runs);
    CU_add_test(s, "saga plan breaking a rule is refused before anything is sent", test_saga_plan_breaking_a_rule_is_refused_before_anything_is_sent);
}

INTEG_SUITE(saga_crash)
{
    CU_pSuite s = CU_add_suite("saga_crash", NULL, NULL);
    CU_add_test(s, "saga survives a coordinator killed mid-saga", test_saga_survives_a_coordinator_killed_mid_saga);
    CU_add_test(s, "saga killed while compensating finishes compensating", test_saga_killed_while_compensating_finishes_compensating);
}
