/*
 * test_saga_txn.c — the Saga's part of the state machine
 * (coordinator/core/txn.h) and its "what next" questions
 * (coordinator/core/saga.h), on transactions built in memory.
 */
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "core/saga.h"
#include "core/txn.h"
#include "dtx/types.h"
#include "unit.h"

/* A saga of n steps in memory; after[i] lists step i+1's dependencies
 * (NULL: sequential, each after the one before). */
typedef struct {
    dtx_txn_t     txn;
    dtx_branch_t  br[4];
    dtx_branch_t *ptr[4];
    dtx_step_t    st[4];
} s_saga_t;

static void s_make(s_saga_t *s, int n, const char *const *after, int pivot)
{
    memset(s, 0, sizeof *s);
    dtx_txn_start(&s->txn, DTX_MODE_SAGA);
    s->txn.branches = s->ptr;
    s->txn.nbranches = n;
    for (int i = 0; i < n; i++) {
        s->ptr[i] = &s->br[i];
        s->br[i].no = (uint32_t)i + 1;
        s->br[i].step = &s->st[i];
        s->br[i].never_sent = 1;
        strcpy(s->st[i].undo, i + 1 == pivot ? "" : "undo");
        s->st[i].flags = i + 1 == pivot ? DTX_SAGA_STEP_PIVOT : 0;
        dtx_branch_start(&s->br[i]);
        if (!after) {
            if (i > 0)
                s->st[i].after[s->st[i].nafter++] = (uint8_t)i;
        } else {
            for (const char *p = after[i]; p && *p; p++)
                s->st[i].after[s->st[i].nafter++] = (uint8_t)(*p - '0');
        }
    }
}

static int s_next(int state, dtx_txn_event_t ev, const dtx_txn_votes_t *v, int *rc)
{
    int next = -1;
    *rc = dtx_txn_next(state, ev, v, 0, &next);
    return next;
}

static void test_forward_event_moves_active_to_committing_only(void)
{
    int rc;
    CU_ASSERT_EQUAL(s_next(DTX_STATE_ACTIVE, DTX_EV_FORWARD, NULL, &rc), DTX_STATE_COMMITTING);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(s_next(DTX_STATE_COMMITTING, DTX_EV_FORWARD, NULL, &rc), DTX_STATE_COMMITTING);
    CU_ASSERT_EQUAL(rc, 0);
    s_next(DTX_STATE_ABORTING, DTX_EV_FORWARD, NULL, &rc);
    CU_ASSERT_EQUAL(rc, DTX_ESTATE);
    s_next(DTX_STATE_ABORTED, DTX_EV_FORWARD, NULL, &rc);
    CU_ASSERT_EQUAL(rc, DTX_ESTATE);
}

static void test_open_pivot_blocks_every_abort(void)
{
    dtx_txn_votes_t open = { 0, 0, 0, 1 }, closed = { 0, 0, 0, 0 };
    int rc;
    CU_ASSERT_EQUAL(s_next(DTX_STATE_ACTIVE, DTX_EV_DEADLINE, &open, &rc), DTX_STATE_ACTIVE);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(s_next(DTX_STATE_ACTIVE, DTX_EV_TRY_REFUSED, &open, &rc), DTX_STATE_ACTIVE);
    s_next(DTX_STATE_ACTIVE, DTX_EV_ROLLBACK, &open, &rc);
    CU_ASSERT_EQUAL(rc, DTX_EBUSY);
    CU_ASSERT_EQUAL(s_next(DTX_STATE_ACTIVE, DTX_EV_DEADLINE, &closed, &rc), DTX_STATE_ABORTING);
    CU_ASSERT_EQUAL(s_next(DTX_STATE_ACTIVE, DTX_EV_ROLLBACK, &closed, &rc), DTX_STATE_ABORTING);
}

static void test_votes_count_a_pivot_that_may_be_running(void)
{
    s_saga_t s;
    s_make(&s, 3, NULL, 2);
    dtx_txn_votes_t v;
    dtx_txn_votes(&s.txn, &v);
    CU_ASSERT_EQUAL(v.pivot_open, 0); /* never sent */
    s.br[1].never_sent = 0;           /* its action left */
    dtx_txn_votes(&s.txn, &v);
    CU_ASSERT_EQUAL(v.pivot_open, 1);
    CU_ASSERT_EQUAL(v.trying, 0);     /* a saga has no votes */
    dtx_branch_enter(&s.br[1], DTX_BRANCH_REFUSED);
    dtx_txn_votes(&s.txn, &v);
    CU_ASSERT_EQUAL(v.pivot_open, 0); /* a definitive no */
}

/* The drill's Saga mode found it: a coordinator died after recording the
 * pivot done but before FORWARD; the one that took over found the Saga
 * active past its (short) deadline and aborted it, the pivot's credit
 * kept ("a done pivot in an aborting saga: not undone"). */
static void test_a_done_pivot_of_an_active_saga_blocks_every_abort(void)
{
    s_saga_t s;
    s_make(&s, 3, NULL, 2);
    dtx_branch_enter(&s.br[0], DTX_BRANCH_CONFIRMED);
    dtx_branch_enter(&s.br[1], DTX_BRANCH_CONFIRMED);
    s.br[1].never_sent = 1;           /* whatever never_sent says */
    dtx_txn_votes_t v;
    dtx_txn_votes(&s.txn, &v);
    CU_ASSERT_EQUAL(v.pivot_open, 1);
    int rc;
    CU_ASSERT_EQUAL(s_next(DTX_STATE_ACTIVE, DTX_EV_DEADLINE, &v, &rc), DTX_STATE_ACTIVE);
    CU_ASSERT_EQUAL(rc, 0);
    s_next(DTX_STATE_ACTIVE, DTX_EV_ROLLBACK, &v, &rc);
    CU_ASSERT_EQUAL(rc, DTX_EBUSY);
}

static void test_step_transitions(void)
{
    CU_ASSERT_TRUE(dtx_step_transition_ok(DTX_BRANCH_TRYING, DTX_BRANCH_CONFIRMED));
    CU_ASSERT_TRUE(dtx_step_transition_ok(DTX_BRANCH_TRYING, DTX_BRANCH_REFUSED));
    CU_ASSERT_TRUE(dtx_step_transition_ok(DTX_BRANCH_TRYING, DTX_BRANCH_CANCELLED));
    CU_ASSERT_TRUE(dtx_step_transition_ok(DTX_BRANCH_CONFIRMED, DTX_BRANCH_CANCELLED));
    CU_ASSERT_TRUE(dtx_step_transition_ok(DTX_BRANCH_REFUSED, DTX_BRANCH_CANCELLED));
    CU_ASSERT_FALSE(dtx_step_transition_ok(DTX_BRANCH_TRYING, DTX_BRANCH_TRIED));
    CU_ASSERT_FALSE(dtx_step_transition_ok(DTX_BRANCH_CANCELLED, DTX_BRANCH_CONFIRMED));
    CU_ASSERT_FALSE(dtx_step_transition_ok(DTX_BRANCH_CONFIRMED, DTX_BRANCH_REFUSED));
    /* a TCC branch may not jump from trying to confirmed; a step may */
    CU_ASSERT_FALSE(dtx_branch_transition_ok(DTX_BRANCH_TRYING, DTX_BRANCH_CONFIRMED));
    dtx_branch_t br;
    memset(&br, 0, sizeof br);
    CU_ASSERT_EQUAL(dtx_branch_restore(&br, DTX_BRANCH_TRIED), 0);
    dtx_step_t st;
    memset(&st, 0, sizeof st);
    br.step = &st;
    CU_ASSERT_EQUAL(dtx_branch_restore(&br, DTX_BRANCH_TRIED), DTX_EPROTO); /* no step state */
    CU_ASSERT_EQUAL(dtx_op_for_decision(DTX_MODE_SAGA, DTX_STATE_COMMITTING), DTX_OP_ACTION);
    CU_ASSERT_EQUAL(dtx_op_for_decision(DTX_MODE_SAGA, DTX_STATE_ABORTING), DTX_OP_COMPENSATE);
    CU_ASSERT_EQUAL(dtx_op_done_state(DTX_OP_ACTION), DTX_BRANCH_CONFIRMED);
    CU_ASSERT_EQUAL(dtx_op_done_state(DTX_OP_COMPENSATE), DTX_BRANCH_CANCELLED);
    CU_ASSERT_FALSE(dtx_op_is_vote(DTX_OP_ACTION));
}

static void test_sequential_steps_run_one_after_another(void)
{
    s_saga_t s;
    s_make(&s, 3, NULL, 0);
    CU_ASSERT_TRUE(dtx_saga_deps_done(&s.txn, &s.br[0]));
    CU_ASSERT_FALSE(dtx_saga_deps_done(&s.txn, &s.br[1]));
    dtx_branch_enter(&s.br[0], DTX_BRANCH_CONFIRMED);
    CU_ASSERT_TRUE(dtx_saga_deps_done(&s.txn, &s.br[1]));
    CU_ASSERT_FALSE(dtx_saga_deps_done(&s.txn, &s.br[2]));
    CU_ASSERT_FALSE(dtx_saga_all_in(&s.txn, DTX_BRANCH_CONFIRMED));
    dtx_branch_enter(&s.br[1], DTX_BRANCH_CONFIRMED);
    dtx_branch_enter(&s.br[2], DTX_BRANCH_CONFIRMED);
    CU_ASSERT_TRUE(dtx_saga_all_in(&s.txn, DTX_BRANCH_CONFIRMED));
}

static void test_compensation_waits_for_every_later_step(void)
{
    s_saga_t s;
    const char *after[] = { "", "", "12" }; /* 3 after both 1 and 2 */
    s_make(&s, 3, after, 0);
    CU_ASSERT_TRUE(dtx_saga_deps_done(&s.txn, &s.br[0]));
    CU_ASSERT_TRUE(dtx_saga_deps_done(&s.txn, &s.br[1])); /* concurrent with 1 */
    dtx_branch_enter(&s.br[0], DTX_BRANCH_CONFIRMED);
    CU_ASSERT_FALSE(dtx_saga_deps_done(&s.txn, &s.br[2]));
    dtx_branch_enter(&s.br[1], DTX_BRANCH_CONFIRMED);
    CU_ASSERT_TRUE(dtx_saga_deps_done(&s.txn, &s.br[2]));
    /* reverse order: 1 and 2 wait for 3 */
    CU_ASSERT_FALSE(dtx_saga_dependents_undone(&s.txn, &s.br[0]));
    CU_ASSERT_FALSE(dtx_saga_dependents_undone(&s.txn, &s.br[1]));
    CU_ASSERT_TRUE(dtx_saga_dependents_undone(&s.txn, &s.br[2]));
    dtx_branch_enter(&s.br[2], DTX_BRANCH_CANCELLED);
    CU_ASSERT_TRUE(dtx_saga_dependents_undone(&s.txn, &s.br[0]));
    CU_ASSERT_TRUE(dtx_saga_dependents_undone(&s.txn, &s.br[1]));
}

static void test_may_have_run_after_a_load_follows_the_dependencies(void)
{
    s_saga_t s;
    s_make(&s, 3, NULL, 0);
    dtx_branch_enter(&s.br[0], DTX_BRANCH_CONFIRMED);
    /* as loaded from the log: step 2 may have been sent (1 is done), 3 not */
    dtx_saga_mark_loaded(&s.txn);
    CU_ASSERT_TRUE(dtx_saga_may_have_run(&s.br[0]));
    CU_ASSERT_TRUE(dtx_saga_may_have_run(&s.br[1]));
    CU_ASSERT_FALSE(dtx_saga_may_have_run(&s.br[2]));
    dtx_branch_enter(&s.br[2], DTX_BRANCH_REFUSED); /* a refused step is compensated too */
    CU_ASSERT_TRUE(dtx_saga_may_have_run(&s.br[2]));
}

UNIT_SUITE(saga_txn)
{
    CU_pSuite s = CU_add_suite("saga_txn", NULL, NULL);
#define T(fn) CU_add_test(s, #fn, fn)
    T(test_forward_event_moves_active_to_committing_only);
    T(test_open_pivot_blocks_every_abort);
    T(test_votes_count_a_pivot_that_may_be_running);
    T(test_a_done_pivot_of_an_active_saga_blocks_every_abort);
    T(test_step_transitions);
    T(test_sequential_steps_run_one_after_another);
    T(test_compensation_waits_for_every_later_step);
    T(test_may_have_run_after_a_load_follows_the_dependencies);
#undef T
}
