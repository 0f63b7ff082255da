/* State machine transitions (coordinator/core/txn.h): every legal and illegal one. */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dtx/types.h"
#include "core/txn.h"
#include "unit.h"

static const dtx_txn_votes_t s_all_yes = { 0, 0, 0, 0 };

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
    dtx_txn_votes_t v = { 0, 1, 0, 0 };
    int rc;
    CU_ASSERT_EQUAL(s_next(DTX_STATE_ACTIVE, DTX_EV_COMMIT, &v, 0, &rc), DTX_STATE_ABORTING);
    CU_ASSERT_EQUAL(rc, 0);
}

static void test_commit_with_a_lost_vote_decides_abort(void)
{
    dtx_txn_votes_t v = { 0, 0, 1, 0 };
    int rc;
    CU_ASSERT_EQUAL(s_next(DTX_STATE_ACTIVE, DTX_EV_COMMIT, &v, 0, &rc), DTX_STATE_ABORTING);
    CU_ASSERT_EQUAL(rc, 0);
}

static void test_commit_while_trying_is_busy(void)
{
    dtx_txn_votes_t v = { 1, 0, 0, 0 };
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

/* --- the writer: dtx_txn_enter / _restore, dtx_branch_enter / _restore --- */

static void test_enter_walks_the_paths_the_engine_takes(void)
{
    dtx_txn_t t;
    memset(&t, 0, sizeof t);
    int next = 0;
    /* TCC commit: BEGIN, COMMIT recorded, every confirm acknowledged. */
    dtx_txn_start(&t, DTX_MODE_TCC);
    CU_ASSERT_EQUAL(t.state, DTX_STATE_ACTIVE);
    CU_ASSERT_EQUAL(t.decision, 0);
    dtx_txn_enter(&t, DTX_STATE_COMMITTING);
    CU_ASSERT_EQUAL(t.decision, DTX_STATE_COMMITTING);
    /* a branch spends its budget: stuck, then resumed to its decision */
    CU_ASSERT_EQUAL(dtx_txn_next(t.state, DTX_EV_BUDGET_SPENT, NULL, t.decision, &next), 0);
    dtx_txn_enter(&t, next);
    CU_ASSERT_EQUAL(t.state, DTX_STATE_STUCK);
    CU_ASSERT_EQUAL(t.decision, DTX_STATE_COMMITTING);
    CU_ASSERT_EQUAL(dtx_txn_next(t.state, DTX_EV_RESUME, NULL, t.decision, &next), 0);
    dtx_txn_enter(&t, next);
    CU_ASSERT_EQUAL(t.state, DTX_STATE_COMMITTING);
    dtx_txn_enter(&t, DTX_STATE_COMMITTED);
    CU_ASSERT_EQUAL(t.state, DTX_STATE_COMMITTED);
    /* 2PC: COMMIT sends the Prepares; the decision ends the phase. */
    memset(&t, 0, sizeof t);
    dtx_txn_start(&t, DTX_MODE_2PC);
    dtx_txn_set_preparing(&t, 1);
    CU_ASSERT_EQUAL(t.preparing, 1);
    CU_ASSERT_EQUAL(dtx_txn_next(t.state, DTX_EV_PREPARE_LOST, NULL, 0, &next), 0);
    CU_ASSERT_EQUAL(next, DTX_STATE_ABORTING);
    dtx_txn_enter(&t, next);
    CU_ASSERT_EQUAL(t.preparing, 0);
    CU_ASSERT_EQUAL(t.decision, DTX_STATE_ABORTING);
    dtx_txn_enter(&t, DTX_STATE_ABORTED);
    CU_ASSERT_EQUAL(t.state, DTX_STATE_ABORTED);
}

static void test_can_enter_allows_exactly_the_diagram(void)
{
    /* from > to; a stuck transaction decided commit (6c) or abort (6a) */
    static const char *const legal[] = {
        "1>2", "1>4", "2>3", "2>6", "4>5", "4>6", "6c>2", "6c>3", "6a>4", "6a>5",
    };
    for (int from = 1; from <= 6; from++) {
        for (int dec = 0; dec < (from == 6 ? 2 : 1); dec++) {
            dtx_txn_t t;
            memset(&t, 0, sizeof t);
            t.state = from;
            t.decision = from == 6 ? (dec ? DTX_STATE_ABORTING : DTX_STATE_COMMITTING) : 0;
            for (int to = 1; to <= 6; to++) {
                char key[32]; /* room for any two ints: -O1 (SAN=1) checks it */
                if (from == 6)
                    snprintf(key, sizeof key, "6%c>%d", dec ? 'a' : 'c', to);
                else
                    snprintf(key, sizeof key, "%d>%d", from, to);
                int want = from == to;
                for (size_t i = 0; i < sizeof legal / sizeof legal[0]; i++)
                    want |= strcmp(legal[i], key) == 0;
                if (dtx_txn_can_enter(&t, to) != want)
                    fprintf(stderr, "can_enter %s: got %d\n", key, !want);
                CU_ASSERT_EQUAL(dtx_txn_can_enter(&t, to), want);
            }
        }
    }
}

static void test_restore_refuses_rows_never_written(void)
{
    dtx_txn_t t;
    memset(&t, 0, sizeof t);
    CU_ASSERT_EQUAL(dtx_txn_restore(&t, 9, DTX_STATE_ACTIVE, 0, 0), DTX_EPROTO);
    CU_ASSERT_EQUAL(dtx_txn_restore(&t, DTX_MODE_TCC, 0, 0, 0), DTX_EPROTO);
    CU_ASSERT_EQUAL(dtx_txn_restore(&t, DTX_MODE_TCC, 7, 0, 0), DTX_EPROTO);
    CU_ASSERT_EQUAL(dtx_txn_restore(&t, DTX_MODE_TCC, DTX_STATE_COMMITTING, 3, 0), DTX_EPROTO);
    CU_ASSERT_EQUAL(dtx_txn_restore(&t, DTX_MODE_TCC, DTX_STATE_STUCK, 0, 0), DTX_EPROTO);
    CU_ASSERT_EQUAL(t.state, 0); /* unchanged */
    /* the preparing flag counts only while active in 2PC or TCC (a
     * TCC_RUN that commits by itself), never in a Saga or a message */
    CU_ASSERT_EQUAL(dtx_txn_restore(&t, DTX_MODE_TCC, DTX_STATE_ACTIVE, 0, 1), 0);
    CU_ASSERT_EQUAL(t.preparing, 1);
    CU_ASSERT_EQUAL(dtx_txn_restore(&t, DTX_MODE_TCC, DTX_STATE_COMMITTING, DTX_STATE_COMMITTING, 1), 0);
    CU_ASSERT_EQUAL(t.preparing, 0);
    CU_ASSERT_EQUAL(dtx_txn_restore(&t, DTX_MODE_SAGA, DTX_STATE_ACTIVE, 0, 1), 0);
    CU_ASSERT_EQUAL(t.preparing, 0);
    CU_ASSERT_EQUAL(dtx_txn_restore(&t, DTX_MODE_MSG, DTX_STATE_ACTIVE, 0, 1), 0);
    CU_ASSERT_EQUAL(t.preparing, 0);
    CU_ASSERT_EQUAL(dtx_txn_restore(&t, DTX_MODE_2PC, DTX_STATE_ABORTING, 4, 1), 0);
    CU_ASSERT_EQUAL(t.preparing, 0);
    CU_ASSERT_EQUAL(dtx_txn_restore(&t, DTX_MODE_2PC, DTX_STATE_ACTIVE, 0, 1), 0);
    CU_ASSERT_EQUAL(t.preparing, 1);
    CU_ASSERT_EQUAL(dtx_txn_restore(&t, DTX_MODE_TCC, DTX_STATE_STUCK, DTX_STATE_ABORTING, 0), 0);
    CU_ASSERT_EQUAL(t.decision, DTX_STATE_ABORTING);
    dtx_branch_t b;
    memset(&b, 0, sizeof b);
    CU_ASSERT_EQUAL(dtx_branch_restore(&b, 0), DTX_EPROTO);
    CU_ASSERT_EQUAL(dtx_branch_restore(&b, 6), DTX_EPROTO);
    CU_ASSERT_EQUAL(dtx_branch_restore(&b, DTX_BRANCH_TRIED), 0);
    dtx_branch_enter(&b, DTX_BRANCH_CONFIRMED);
    CU_ASSERT_EQUAL(b.state, DTX_BRANCH_CONFIRMED);
    dtx_branch_start(&b);
    CU_ASSERT_EQUAL(b.state, DTX_BRANCH_TRYING);
}

static void test_votes_count_2pc_enlisted_branches_as_voting_at_commit(void)
{
    dtx_branch_t b[3];
    dtx_branch_t *bp[3] = { &b[0], &b[1], &b[2] };
    memset(b, 0, sizeof b);
    b[0].state = DTX_BRANCH_TRYING;
    b[1].state = DTX_BRANCH_REFUSED;
    b[2].state = DTX_BRANCH_TRYING;
    b[2].unknown_vote = 1;
    dtx_txn_t t;
    memset(&t, 0, sizeof t);
    t.branches = bp;
    t.nbranches = 3;
    t.mode = DTX_MODE_TCC;
    dtx_txn_votes_t v;
    dtx_txn_votes(&t, &v);
    CU_ASSERT(v.trying == 1 && v.refused == 1 && v.unknown == 1);
    t.mode = DTX_MODE_2PC;
    dtx_txn_votes(&t, &v);
    CU_ASSERT(v.trying == 0 && v.refused == 1 && v.unknown == 1);
    /* so a 2PC COMMIT with every branch enlisted starts the prepare phase
     * (the admin force-commit that was always refused) */
    t.nbranches = 1;
    dtx_txn_votes(&t, &v);
    int next = 0;
    CU_ASSERT_EQUAL(dtx_txn_next(DTX_STATE_ACTIVE, DTX_EV_COMMIT, &v, 0, &next), 0);
    CU_ASSERT_EQUAL(next, DTX_STATE_COMMITTING);
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
    CU_add_test(s, "enter walks the paths the engine takes", test_enter_walks_the_paths_the_engine_takes);
    CU_add_test(s, "can enter allows exactly the diagram", test_can_enter_allows_exactly_the_diagram);
    CU_add_test(s, "restore refuses rows never written", test_restore_refuses_rows_never_written);
    CU_add_test(s, "votes count 2pc enlisted branches as voting at commit", test_votes_count_2pc_enlisted_branches_as_voting_at_commit);
}
