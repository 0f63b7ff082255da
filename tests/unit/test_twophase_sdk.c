/*
 * test_twophase_sdk.c — how the idempotency barrier treats 2PC ops
 * (participant-sdk/src/barrier_logic.h): prepare, commit and abort use the
 * rows and decisions of try, confirm and cancel, because the barrier
 * table's CHECK allows only those three. Without a database; the SQL is
 * proved by the twophase integration suite.
 */
#include <stddef.h>
#include <string.h>

#include "../../participant-sdk/src/barrier_logic.h"
#include "barrier_replay.h"
#include "dtx/types.h"
#include "unit.h"

#define FIRST      DTX_BARRIER_STEP_FIRST
#define CANCEL_ROW DTX_BARRIER_STEP_CANCEL_ROW

static void test_2pc_ops_map_to_their_tcc_counterparts(void)
{
    CU_ASSERT_EQUAL(dtx_barrier_row_op(DTX_OP_PREPARE), DTX_OP_TRY);
    CU_ASSERT_EQUAL(dtx_barrier_row_op(DTX_OP_COMMIT), DTX_OP_CONFIRM);
    CU_ASSERT_EQUAL(dtx_barrier_row_op(DTX_OP_ABORT), DTX_OP_CANCEL);
}

static void test_tcc_ops_map_to_themselves(void)
{
    CU_ASSERT_EQUAL(dtx_barrier_row_op(DTX_OP_TRY), DTX_OP_TRY);
    CU_ASSERT_EQUAL(dtx_barrier_row_op(DTX_OP_CONFIRM), DTX_OP_CONFIRM);
    CU_ASSERT_EQUAL(dtx_barrier_row_op(DTX_OP_CANCEL), DTX_OP_CANCEL);
}

static void test_unknown_ops_map_to_nothing(void)
{
    CU_ASSERT_EQUAL(dtx_barrier_row_op(0), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_barrier_row_op(DTX_OP_MAX + 1), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_barrier_row_op(-1), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_barrier_decide(DTX_OP_MAX + 1, FIRST, 1, NULL), DTX_BARRIER_INVALID);
}

/* Every row a 2PC op writes passes the table's CHECK (op and origin in
 * 'try', 'confirm', 'cancel') and is the row of its TCC counterpart. */
static void test_2pc_rows_are_the_rows_the_table_allows(void)
{
    static const int pairs[][2] = {
        { DTX_OP_PREPARE, DTX_OP_TRY },
        { DTX_OP_COMMIT, DTX_OP_CONFIRM },
        { DTX_OP_ABORT, DTX_OP_CANCEL },
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        const char *op2, *origin2, *op1, *origin1;
        CU_ASSERT_EQUAL(dtx_barrier_first_row(pairs[i][0], &op2, &origin2), DTX_OK);
        CU_ASSERT_EQUAL(dtx_barrier_first_row(pairs[i][1], &op1, &origin1), DTX_OK);
        CU_ASSERT_STRING_EQUAL(op2, op1);
        CU_ASSERT_STRING_EQUAL(origin2, origin1);
        CU_ASSERT(strcmp(op2, "try") == 0 || strcmp(op2, "confirm") == 0 ||
                  strcmp(op2, "cancel") == 0);
        CU_ASSERT(strcmp(origin2, "try") == 0 || strcmp(origin2, "confirm") == 0 ||
                  strcmp(origin2, "cancel") == 0);
    }
}

static void test_first_prepare_runs(void)
{
    CU_ASSERT_EQUAL(br_deliver(DTX_OP_PREPARE, NULL, 0), DTX_BARRIER_RUN);
}

static void test_duplicate_prepare_is_skipped(void)
{
    CU_ASSERT_EQUAL(br_deliver(DTX_OP_PREPARE, "try", 0), DTX_BARRIER_DUPLICATE);
}

static void test_prepare_after_its_abort_is_hanging(void)
{
    CU_ASSERT_EQUAL(br_deliver(DTX_OP_PREPARE, "cancel", 1), DTX_BARRIER_HANGING);
}

static void test_abort_before_prepare_is_null_compensation(void)
{
    CU_ASSERT_EQUAL(br_deliver(DTX_OP_ABORT, NULL, 0), DTX_BARRIER_NULL_COMPENSATION);
}

static void test_abort_after_prepare_runs_once(void)
{
    CU_ASSERT_EQUAL(br_deliver(DTX_OP_ABORT, "try", 0), DTX_BARRIER_RUN);
    CU_ASSERT_EQUAL(br_deliver(DTX_OP_ABORT, "try", 1), DTX_BARRIER_DUPLICATE);
}

static void test_abort_twice_before_prepare_is_a_duplicate(void)
{
    CU_ASSERT_EQUAL(br_deliver(DTX_OP_ABORT, "cancel", 1), DTX_BARRIER_DUPLICATE);
}

static void test_commit_runs_once(void)
{
    CU_ASSERT_EQUAL(br_deliver(DTX_OP_COMMIT, "try", 0), DTX_BARRIER_RUN);
    CU_ASSERT_EQUAL(br_deliver(DTX_OP_COMMIT, "try", 1), DTX_BARRIER_DUPLICATE);
}

/* Each 2PC op decides exactly as its TCC counterpart in every situation. */
static void test_2pc_decisions_equal_tcc_decisions_everywhere(void)
{
    static const int pairs[][2] = {
        { DTX_OP_PREPARE, DTX_OP_TRY },
        { DTX_OP_COMMIT, DTX_OP_CONFIRM },
        { DTX_OP_ABORT, DTX_OP_CANCEL },
    };
    static const char *const origins[] = { NULL, "try", "cancel", "confirm", "" };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        for (int step = FIRST; step <= CANCEL_ROW; step++)
            for (int inserted = 0; inserted <= 1; inserted++)
                for (size_t o = 0; o < sizeof origins / sizeof origins[0]; o++)
                    CU_ASSERT_EQUAL(dtx_barrier_decide(pairs[i][0], (dtx_barrier_step_t)step,
                                                       inserted, origins[o]),
                                    dtx_barrier_decide(pairs[i][1], (dtx_barrier_step_t)step,
                                                       inserted, origins[o]));
}

UNIT_SUITE(twophase_sdk)
{
    CU_pSuite s = CU_add_suite("twophase_sdk", NULL, NULL);
    CU_add_test(s, "2pc ops map to their tcc counterparts",
                test_2pc_ops_map_to_their_tcc_counterparts);
    CU_add_test(s, "tcc ops map to themselves", test_tcc_ops_map_to_themselves);
    CU_add_test(s, "unknown ops map to nothing", test_unknown_ops_map_to_nothing);
    CU_add_test(s, "2pc rows are the rows the table allows",
                test_2pc_rows_are_the_rows_the_table_allows);
    CU_add_test(s, "first prepare runs", test_first_prepare_runs);
    CU_add_test(s, "duplicate prepare is skipped", test_duplicate_prepare_is_skipped);
    CU_add_test(s, "prepare after its abort is hanging", test_prepare_after_its_abort_is_hanging);
    CU_add_test(s, "abort before prepare is null compensation",
                test_abort_before_prepare_is_null_compensation);
    CU_add_test(s, "abort after prepare runs once", test_abort_after_prepare_runs_once);
    CU_add_test(s, "abort twice before prepare is a duplicate",
                test_abort_twice_before_prepare_is_a_duplicate);
    CU_add_test(s, "commit runs once", test_commit_runs_once);
    CU_add_test(s, "2pc decisions equal tcc decisions everywhere",
                test_2pc_decisions_equal_tcc_decisions_everywhere);
}
