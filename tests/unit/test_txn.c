/* State machine transitions (coordinator/core/txn.h): every legal and illegal one. */
#include <CUnit/CUnit.h>

#include "dtx/types.h"
#include "core/txn.h"
#include "unit.h"

static const dtx_txn_votes_t s_all_yes = { 0, 0, 0 };

static int s_next(int state, dtx_txn_event_t ev, const dtx_txn_votes_t *v, int decision, int *rc)
{
    int next = -1;
    *rc = dtx_txn_next(state, ev, v, decision, &next);
    return next;
}

static void test_commit_with_every_vote_yes_decides_commit(void)
{
    int rc;
    CU_ASSERT_EQUAL(s_next(DTX_STATE_ACTIVE, DTX_EV_COMMIT, &s_all_yes, 0, &rc),
                    DTX_STATE_COMMITTING);
    CU_ASSERT_EQUAL(rc, 0);
}

static void test_commit_with_a_refused_vote_decides_abort(void)
{
    dtx_txn_votes_t v = { 0, 1, 0 };
    int rc;
    CU_ASSERT_EQUAL(s_next(DTX_STATE_ACTIVE, DTX_EV_COMMIT, &v, 0, &rc), DTX_STATE_ABORTING);
    CU_ASSERT_EQUAL(rc, 0);
}

static void test_commit_with_a_lost_vote_decides_abort(void)
{
    dtx_txn_votes_t v = { 0, 0, 1 };
    int rc;
    CU_ASSERT_EQUAL(s_next(DTX_STATE_ACTIVE, DTX_EV_COMMIT, &v, 0, &rc), DTX_STATE_ABORTING);
    CU_ASSERT_EQUAL(rc, 0);
}

static void test_commit_while_trying_is_busy(void)
{
    dtx_txn_votes_t v = { 1, 0, 0 };
    int rc;
    s_next(DTX_STATE_ACTIVE, DTX_EV_COMMIT, &v, 0, &rc);
    CU_ASSERT_EQUAL(rc, DTX_EBUSY);
}

static void test_commit_repeats_are_idempotent(void)
{
    int rc;
    CU_ASSERT_EQUAL(s_next(DTX_STATE_COMMITTING, DTX_EV_COMMIT, &s_all_yes, 0, &rc),
                    DTX_STATE_COMMITTING);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(s_next(DTX_STATE_COMMITTED, DTX_EV_COMMIT, &s_all_yes, 0, &rc),
                    DTX_STATE_COMMITTED);
    CU_ASSERT_EQUAL(rc, 0);
}

static void test_commit_after_abort_decision_reports_aborted(void)
{
    int rc;
    s_next(DTX_STATE_ABORTING, DTX_EV_COMMIT, &s_all_yes, 0, &rc);
    CU_ASSERT_EQUAL(rc, DTX_EABORTED);
    s_next(DTX_STATE_ABORTED, DTX_EV_COMMIT, &s_all_yes, 0, &rc);
    CU_ASSERT_EQUAL(rc, DTX_EABORTED);
}

static void test_rollback_moves_active_to_aborting_and_repeats(void)
{
    int rc;
    CU_ASSERT_EQUAL(s_next(DTX_STATE_ACTIVE, DTX_EV_ROLLBACK, NULL, 0, &rc), DTX_STATE_ABORTING);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(s_next(DTX_STATE_ABORTING, DTX_EV_ROLLBACK, NULL, 0, &rc), DTX_STATE_ABORTING);
    CU_ASSERT_EQUAL(s_next(DTX_STATE_ABORTED, DTX_EV_ROLLBACK, NULL, 0, &rc), DTX_STATE_ABORTED);
    CU_ASSERT_EQUAL(rc, 0);
}

static void test_rollback_after_commit_decision_is_illegal(void)
{
    int rc;
    s_next(DTX_STATE_COMMITTING, DTX_EV_ROLLBACK, NULL, 0, &rc);
    CU_ASSERT_EQUAL(rc, DTX_ESTATE);
    s_next(DTX_STATE_COMMITTED, DTX_EV_ROLLBACK, NULL, 0, &rc);
    CU_ASSERT_EQUAL(rc, DTX_ESTATE);
    s_next(DTX_STATE_STUCK, DTX_EV_ROLLBACK, NULL, DTX_STATE_COMMITTING, &rc);
    CU_ASSERT_EQUAL(rc, DTX_ESTATE);
}

static void test_refused_try_and_deadline_abort_only_active(void)
{
    int rc;
    CU_ASSERT_EQUAL(s_next(DTX_STATE_ACTIVE, DTX_EV_TRY_REFUSED, NULL, 0, &rc),
                    DTX_STATE_ABORTING);
    CU_ASSERT_EQUAL(s_next(DTX_STATE_ACTIVE, DTX_EV_DEADLINE, NULL, 0, &rc), DTX_STATE_ABORTING);
    s_next(DTX_STATE_COMMITTING, DTX_EV_DEADLINE, NULL, 0, &rc);
    CU_ASSERT_EQUAL(rc, DTX_ESTATE);
    s_next(DTX_STATE_COMMITTED, DTX_EV_TRY_REFUSED, NULL, 0, &rc);
    CU_ASSERT_EQUAL(rc, DTX_ESTATE);
}

static void test_all_done_finishes_each_decision(void)
{
    int rc;
    CU_ASSERT_EQUAL(s_next(DTX_STATE_COMMITTING, DTX_EV_ALL_DONE, NULL, 0, &rc),
                    DTX_STATE_COMMITTED);
    CU_ASSERT_EQUAL(s_next(DTX_STATE_ABORTING, DTX_EV_ALL_DONE, NULL, 0, &rc), DTX_STATE_ABORTED);
    CU_ASSERT_EQUAL(s_next(DTX_STATE_STUCK, DTX_EV_ALL_DONE, NULL, DTX_STATE_COMMITTING, &rc),
                    DTX_STATE_COMMITTED);
    s_next(DTX_STATE_ACTIVE, DTX_EV_ALL_DONE, NULL, 0, &rc);
    CU_ASSERT_EQUAL(rc, DTX_ESTATE);
}

static void test_final_states_accept_no_new_decision(void)
{
    int finals[] = { DTX_STATE_COMMITTED, DTX_STATE_ABORTED };
    for (int i = 0; i < 2; i++) {
        int rc;
        s_next(finals[i], DTX_EV_ALL_DONE, NULL, 0, &rc);
        CU_ASSERT_EQUAL(rc, DTX_ESTATE);
        s_next(finals[i], DTX_EV_BUDGET_SPENT, NULL, 0, &rc);
        CU_ASSERT_EQUAL(rc, DTX_ESTATE);
        s_next(finals[i], DTX_EV_RESUME, NULL, 0, &rc);
        CU_ASSERT_EQUAL(rc, DTX_ESTATE);
    }
}

static void test_stuck_resumes_to_its_decision_only(void)
{
    int rc;
    CU_ASSERT_EQUAL(s_next(DTX_STATE_COMMITTING, DTX_EV_BUDGET_SPENT, NULL, 0, &rc),
                    DTX_STATE_STUCK);
    CU_ASSERT_EQUAL(s_next(DTX_STATE_STUCK, DTX_EV_RESUME, NULL, DTX_STATE_COMMITTING, &rc),
                    DTX_STATE_COMMITTING);
    CU_ASSERT_EQUAL(s_next(DTX_STATE_STUCK, DTX_EV_RESUME, NULL, DTX_STATE_ABORTING, &rc),
                    DTX_STATE_ABORTING);
    s_next(DTX_STATE_STUCK, DTX_EV_RESUME, NULL, 0, &rc);
    CU_ASSERT_EQUAL(rc, DTX_ESTATE);
    s_next(DTX_STATE_ACTIVE, DTX_EV_BUDGET_SPENT, NULL, 0, &rc);
    CU_ASSERT_EQUAL(rc, DTX_ESTATE);
}

static void test_branch_transitions(void)
{
    CU_ASSERT_TRUE(dtx_branch_transition_ok(DTX_BRANCH_TRYING, DTX_BRANCH_TRIED));
    CU_ASSERT_TRUE(dtx_branch_transition_ok(DTX_BRANCH_TRYING, DTX_BRANCH_REFUSED));
    CU_ASSERT_TRUE(dtx_branch_transition_ok(DTX_BRANCH_TRYING, DTX_BRANCH_CANCELLED));
    CU_ASSERT_TRUE(dtx_branch_transition_ok(DTX_BRANCH_TRIED, DTX_BRANCH_CONFIRMED));
    CU_ASSERT_TRUE(dtx_branch_transition_ok(DTX_BRANCH_TRIED, DTX_BRANCH_CANCELLED));
    CU_ASSERT_TRUE(dtx_branch_transition_ok(DTX_BRANCH_REFUSED, DTX_BRANCH_CANCELLED));
    /* never confirm what was not tried, never undo a final state */
    CU_ASSERT_FALSE(dtx_branch_transition_ok(DTX_BRANCH_TRYING, DTX_BRANCH_CONFIRMED));
    CU_ASSERT_FALSE(dtx_branch_transition_ok(DTX_BRANCH_REFUSED, DTX_BRANCH_CONFIRMED));
    CU_ASSERT_FALSE(dtx_branch_transition_ok(DTX_BRANCH_CONFIRMED, DTX_BRANCH_CANCELLED));
    CU_ASSERT_FALSE(dtx_branch_transition_ok(DTX_BRANCH_CANCELLED, DTX_BRANCH_CONFIRMED));
    CU_ASSERT_FALSE(dtx_branch_transition_ok(DTX_BRANCH_TRIED, DTX_BRANCH_TRYING));
    CU_ASSERT_STRING_EQUAL(dtx_branch_state_name(DTX_BRANCH_CONFIRMED), "confirmed");
    CU_ASSERT_STRING_EQUAL(dtx_branch_state_name(42), "unknown");
}

static void test_ops_follow_the_mode(void)
{
    CU_ASSERT_EQUAL(dtx_op_for_decision(DTX_MODE_TCC, DTX_STATE_COMMITTING), DTX_OP_CONFIRM);
    CU_ASSERT_EQUAL(dtx_op_for_decision(DTX_MODE_TCC, DTX_STATE_ABORTING), DTX_OP_CANCEL);
    CU_ASSERT_EQUAL(dtx_op_for_decision(DTX_MODE_2PC, DTX_STATE_COMMITTING), DTX_OP_COMMIT);
    CU_ASSERT_EQUAL(dtx_op_for_decision(DTX_MODE_2PC, DTX_STATE_ABORTING), DTX_OP_ABORT);
    CU_ASSERT_TRUE(dtx_op_is_vote(DTX_OP_TRY));
    CU_ASSERT_TRUE(dtx_op_is_vote(DTX_OP_PREPARE));
    CU_ASSERT_FALSE(dtx_op_is_vote(DTX_OP_COMMIT));
    CU_ASSERT_FALSE(dtx_op_is_vote(DTX_OP_CANCEL));
    CU_ASSERT_EQUAL(dtx_op_done_state(DTX_OP_CONFIRM), DTX_BRANCH_CONFIRMED);
    CU_ASSERT_EQUAL(dtx_op_done_state(DTX_OP_COMMIT), DTX_BRANCH_CONFIRMED);
    CU_ASSERT_EQUAL(dtx_op_done_state(DTX_OP_CANCEL), DTX_BRANCH_CANCELLED);
    CU_ASSERT_EQUAL(dtx_op_done_state(DTX_OP_ABORT), DTX_BRANCH_CANCELLED);
    CU_ASSERT_EQUAL(dtx_op_done_state(DTX_OP_TRY), 0);
    CU_ASSERT_EQUAL(dtx_op_done_state(DTX_OP_PREPARE), 0);
}

UNIT_SUITE(txn)
{
    CU_pSuite s = CU_add_suite("txn", NULL, NULL);
    CU_add_test(s, "commit with every vote yes decides commit", test_commit_with_every_vote_yes_decides_commit);
    CU_add_test(s, "commit with a refused vote decides abort", test_commit_with_a_refused_vote_decides_abort);
    CU_add_test(s, "commit with a lost vote decides abort", test_commit_with_a_lost_vote_decides_abort);
    CU_add_test(s, "commit while trying is busy", test_commit_while_trying_is_busy);
    CU_add_test(s, "commit repeats are idempotent", test_commit_repeats_are_idempotent);
    CU_add_test(s, "commit after abort decision reports aborted", test_commit_after_abort_decision_reports_aborted);
    CU_add_test(s, "rollback moves active to aborting and repeats", test_rollback_moves_active_to_aborting_and_repeats);
    CU_add_test(s, "rollback after commit decision is illegal", test_rollback_after_commit_decision_is_illegal);
    CU_add_test(s, "refused try and deadline abort only active", test_refused_try_and_deadline_abort_only_active);
    CU_add_test(s, "all done finishes each decision", test_all_done_finishes_each_decision);
    CU_add_test(s, "final states accept no new decision", test_final_states_accept_no_new_decision);
    CU_add_test(s, "stuck resumes to its decision only", test_stuck_resumes_to_its_decision_only);
    CU_add_test(s, "branch transitions", test_branch_transitions);
    CU_add_test(s, "ops follow the mode", test_ops_follow_the_mode);
}
