/*
 * test_tmsg_txn.c — a transactional message's part of the state machine
 * (coordinator/core/txn.h, core/tmsg.h), on transactions built in memory.
 */
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "core/tmsg.h"
#include "core/txn.h"
#include "dtx/types.h"
#include "unit.h"

typedef struct {
    dtx_txn_t     txn;
    dtx_branch_t  br[2];
    dtx_branch_t *ptr[2];
} s_msg_t;

/* A prepared message to 2 destinations (TRIED), check-back "orders". */
static void s_make(s_msg_t *m)
{
    memset(m, 0, sizeof *m);
    dtx_txn_start(&m->txn, DTX_MODE_MSG);
    m->txn.branches = m->ptr;
    m->txn.nbranches = 2;
    for (int i = 0; i < 2; i++) {
        m->ptr[i] = &m->br[i];
        m->br[i].no = (uint32_t)i + 1;
        dtx_branch_start(&m->br[i]);
        dtx_branch_enter(&m->br[i], DTX_BRANCH_TRIED);
    }
    m->txn.owned = 1;
    m->txn.deadline_mono = 1000;
    CU_ASSERT_EQUAL(dtx_tmsg_attach(&m->txn, "orders"), 0);
}

static void s_free(s_msg_t *m)
{
    free(m->txn.checkback);
}

static void test_the_checkback_answer_makes_the_decision(void)
{
    CU_ASSERT_EQUAL(dtx_tmsg_answer(DTX_OUTCOME_OK), DTX_STATE_COMMITTING);
    CU_ASSERT_EQUAL(dtx_tmsg_answer(DTX_OUTCOME_REFUSED), DTX_STATE_ABORTING);
    CU_ASSERT_EQUAL(dtx_tmsg_answer(DTX_OUTCOME_FAILED), 0);
    CU_ASSERT_EQUAL(dtx_tmsg_answer(77), 0);
}

static void test_a_prepared_message_commits_on_submit_with_nothing_to_vote(void)
{
    s_msg_t m;
    s_make(&m);
    dtx_txn_votes_t v;
    dtx_txn_votes(&m.txn, &v);
    CU_ASSERT_EQUAL(v.trying + v.refused + v.unknown + v.pivot_open, 0);
    int next = 0;
    CU_ASSERT_EQUAL(dtx_txn_next(DTX_STATE_ACTIVE, DTX_EV_COMMIT, &v, 0, &next), 0);
    CU_ASSERT_EQUAL(next, DTX_STATE_COMMITTING);
    CU_ASSERT_EQUAL(dtx_op_for_decision(DTX_MODE_MSG, DTX_STATE_COMMITTING), DTX_OP_DELIVER);
    CU_ASSERT_EQUAL(dtx_op_done_state(DTX_OP_DELIVER), DTX_BRANCH_CONFIRMED);
    CU_ASSERT_EQUAL(dtx_op_done_state(dtx_op_for_decision(DTX_MODE_MSG, DTX_STATE_ABORTING)),
                    DTX_BRANCH_CANCELLED);
    CU_ASSERT_FALSE(dtx_op_is_vote(DTX_OP_DELIVER));
    CU_ASSERT_FALSE(dtx_op_is_vote(DTX_OP_QUERY_PREPARED));
    dtx_txn_enter(&m.txn, DTX_STATE_COMMITTING);
    dtx_branch_enter(&m.br[0], DTX_BRANCH_CONFIRMED);
    CU_ASSERT_EQUAL(m.br[0].state, DTX_BRANCH_CONFIRMED);
    s_free(&m);
}

static void test_the_checkback_is_due_only_past_the_deadline_while_active(void)
{
    s_msg_t m;
    s_make(&m);
    CU_ASSERT_EQUAL(m.txn.checkback->no, 0u);
    CU_ASSERT_EQUAL(m.txn.checkback->op, DTX_OP_QUERY_PREPARED);
    CU_ASSERT_STRING_EQUAL(m.txn.checkback->resource, "orders");
    CU_ASSERT_FALSE(dtx_tmsg_checkback_due(&m.txn, 999));
    CU_ASSERT_TRUE(dtx_tmsg_checkback_due(&m.txn, 1000));
    m.txn.writing = 1; /* a decision write in flight: no question now */
    CU_ASSERT_FALSE(dtx_tmsg_checkback_due(&m.txn, 5000));
    m.txn.writing = 0;
    m.txn.owned = 0;
    CU_ASSERT_FALSE(dtx_tmsg_checkback_due(&m.txn, 5000));
    m.txn.owned = 1;
    /* its timer counts only while ACTIVE */
    m.txn.checkback->due_ms = 1500;
    CU_ASSERT_EQUAL(dtx_tmsg_due(&m.txn, 0), 1500);
    CU_ASSERT_EQUAL(dtx_tmsg_due(&m.txn, 1200), 1200);
    CU_ASSERT_EQUAL(dtx_tmsg_due(&m.txn, 2000), 1500);
    m.txn.writing = 1;
    CU_ASSERT_EQUAL(dtx_tmsg_due(&m.txn, 0), 0);
    m.txn.writing = 0;
    dtx_txn_enter(&m.txn, DTX_STATE_ABORTING);
    CU_ASSERT_FALSE(dtx_tmsg_checkback_due(&m.txn, 5000));
    CU_ASSERT_EQUAL(dtx_tmsg_due(&m.txn, 0), 0);
    CU_ASSERT_EQUAL(dtx_tmsg_attach(&m.txn, "not a name"), DTX_EPROTO);
    s_free(&m);
}

static void test_a_checkback_stuck_while_active_resumes_to_active(void)
{
    /* the log holds STUCK with decision ACTIVE for a message only */
    dtx_txn_t t;
    memset(&t, 0, sizeof t);
    CU_ASSERT_EQUAL(dtx_txn_restore(&t, DTX_MODE_MSG, DTX_STATE_STUCK, DTX_STATE_ACTIVE, 0), 0);
    CU_ASSERT_EQUAL(t.decision, DTX_STATE_ACTIVE);
    memset(&t, 0, sizeof t);
    CU_ASSERT_EQUAL(dtx_txn_restore(&t, DTX_MODE_TCC, DTX_STATE_STUCK, DTX_STATE_ACTIVE, 0),
                    DTX_EPROTO);
    memset(&t, 0, sizeof t);
    CU_ASSERT_EQUAL(dtx_txn_restore(&t, DTX_MODE_MSG, DTX_STATE_STUCK, DTX_STATE_ACTIVE, 0), 0);
    int next = 0;
    CU_ASSERT_EQUAL(dtx_txn_next(DTX_STATE_STUCK, DTX_EV_RESUME, NULL, DTX_STATE_ACTIVE, &next), 0);
    CU_ASSERT_EQUAL(next, DTX_STATE_ACTIVE);
    CU_ASSERT_TRUE(dtx_txn_can_enter(&t, DTX_STATE_ACTIVE));
    CU_ASSERT_FALSE(dtx_txn_can_enter(&t, DTX_STATE_ABORTED));
    CU_ASSERT_FALSE(dtx_txn_can_enter(&t, DTX_STATE_COMMITTED));
    dtx_txn_enter(&t, DTX_STATE_ACTIVE);
    CU_ASSERT_EQUAL(t.state, DTX_STATE_ACTIVE);
    CU_ASSERT_EQUAL(t.decision, 0);
    /* a mode this machine never writes is still refused */
    memset(&t, 0, sizeof t);
    CU_ASSERT_EQUAL(dtx_txn_restore(&t, 5, DTX_STATE_ACTIVE, 0, 0), DTX_EPROTO);
}

UNIT_SUITE(tmsg_txn)
{
    CU_pSuite s = CU_add_suite("tmsg_txn", NULL, NULL);
#define T(fn) CU_add_test(s, #fn, fn)
    T(test_the_checkback_answer_makes_the_decision);
    T(test_a_prepared_message_commits_on_submit_with_nothing_to_vote);
    T(test_the_checkback_is_due_only_past_the_deadline_while_active);
    T(test_a_checkback_stuck_while_active_resumes_to_active);
#undef T
}
