/*
 * test_barrier_logic.c — the decisions of the idempotency barrier
 * (participant-sdk/src/barrier_logic.h), one test per row of the table in
 * dtx/barrier.h, without a database. The SQL around them is proved by the
 * integration suite against a real PostgreSQL.
 */
#include <stddef.h>
#include <string.h>

#include "../../participant-sdk/src/barrier_logic.h"
#include "barrier_replay.h"
#include "dtx/types.h"
#include "unit.h"

#define FIRST      DTX_BARRIER_STEP_FIRST
#define CANCEL_ROW DTX_BARRIER_STEP_CANCEL_ROW

/* ------------------------------------------------------------------ */
/* The rows each op inserts first                                      */
/* ------------------------------------------------------------------ */

static void test_try_inserts_try_row_from_try(void)
{
    const char *op, *origin;
    CU_ASSERT_EQUAL(dtx_barrier_first_row(DTX_OP_TRY, &op, &origin), DTX_OK);
    CU_ASSERT_STRING_EQUAL(op, "try");
    CU_ASSERT_STRING_EQUAL(origin, "try");
}

static void test_confirm_inserts_confirm_row(void)
{
    const char *op, *origin;
    CU_ASSERT_EQUAL(dtx_barrier_first_row(DTX_OP_CONFIRM, &op, &origin), DTX_OK);
    CU_ASSERT_STRING_EQUAL(op, "confirm");
    CU_ASSERT_STRING_EQUAL(origin, "confirm");
}

static void test_cancel_first_claims_the_try_row(void)
{
    const char *op, *origin;
    CU_ASSERT_EQUAL(dtx_barrier_first_row(DTX_OP_CANCEL, &op, &origin), DTX_OK);
    CU_ASSERT_STRING_EQUAL(op, "try");
    CU_ASSERT_STRING_EQUAL(origin, "cancel");
}

static void test_unknown_op_has_no_row(void)
{
    const char *op = "x", *origin = "x";
    CU_ASSERT_EQUAL(dtx_barrier_first_row(0, &op, &origin), DTX_EINVAL);
    CU_ASSERT_PTR_NULL(op);
    CU_ASSERT_PTR_NULL(origin);
    CU_ASSERT_EQUAL(dtx_barrier_first_row(DTX_OP_MAX + 1, &op, &origin), DTX_EINVAL);
}

/* ------------------------------------------------------------------ */
/* try                                                                 */
/* ------------------------------------------------------------------ */

static void test_first_try_runs_fn(void)
{
    CU_ASSERT_EQUAL(dtx_barrier_decide(DTX_OP_TRY, FIRST, 1, NULL), DTX_BARRIER_RUN);
    CU_ASSERT_EQUAL(br_deliver(DTX_OP_TRY, NULL, 0), DTX_BARRIER_RUN);
}

static void test_try_conflict_looks_up_the_origin(void)
{
    CU_ASSERT_EQUAL(dtx_barrier_decide(DTX_OP_TRY, FIRST, 0, NULL), DTX_BARRIER_LOOKUP_ORIGIN);
}

static void test_try_delivered_twice_is_skipped_ok(void)
{
    CU_ASSERT_EQUAL(dtx_barrier_decide(DTX_OP_TRY, FIRST, 0, "try"), DTX_BARRIER_DUPLICATE);
    CU_ASSERT_EQUAL(br_deliver(DTX_OP_TRY, "try", 0), DTX_BARRIER_DUPLICATE);
}

static void test_try_after_its_cancel_is_hanging(void)
{
    CU_ASSERT_EQUAL(dtx_barrier_decide(DTX_OP_TRY, FIRST, 0, "cancel"), DTX_BARRIER_HANGING);
    CU_ASSERT_EQUAL(br_deliver(DTX_OP_TRY, "cancel", 1), DTX_BARRIER_HANGING);
}

static void test_try_row_with_foreign_origin_is_invalid(void)
{
    /* The barrier never writes these; refuse to guess. */
    CU_ASSERT_EQUAL(dtx_barrier_decide(DTX_OP_TRY, FIRST, 0, "confirm"), DTX_BARRIER_INVALID);
    CU_ASSERT_EQUAL(dtx_barrier_decide(DTX_OP_TRY, FIRST, 0, ""), DTX_BARRIER_INVALID);
    CU_ASSERT_EQUAL(dtx_barrier_decide(DTX_OP_TRY, FIRST, 0, "TRY"), DTX_BARRIER_INVALID);
}

static void test_try_has_no_second_step(void)
{
    CU_ASSERT_EQUAL(dtx_barrier_decide(DTX_OP_TRY, CANCEL_ROW, 1, NULL), DTX_BARRIER_INVALID);
}

/* ------------------------------------------------------------------ */
/* confirm                                                             */
/* ------------------------------------------------------------------ */

static void test_first_confirm_runs_fn(void)
{
    CU_ASSERT_EQUAL(dtx_barrier_decide(DTX_OP_CONFIRM, FIRST, 1, NULL), DTX_BARRIER_RUN);
    CU_ASSERT_EQUAL(br_deliver(DTX_OP_CONFIRM, "try", 0), DTX_BARRIER_RUN);
}

static void test_confirm_delivered_twice_is_skipped_ok(void)
{
    CU_ASSERT_EQUAL(dtx_barrier_decide(DTX_OP_CONFIRM, FIRST, 0, NULL), DTX_BARRIER_DUPLICATE);
    CU_ASSERT_EQUAL(br_deliver(DTX_OP_CONFIRM, "try", 1), DTX_BARRIER_DUPLICATE);
}

static void test_confirm_has_no_second_step(void)
{
    CU_ASSERT_EQUAL(dtx_barrier_decide(DTX_OP_CONFIRM, CANCEL_ROW, 1, NULL), DTX_BARRIER_INVALID);
}

/* ------------------------------------------------------------------ */
/* cancel                                                              */
/* ------------------------------------------------------------------ */

static void test_cancel_without_try_is_null_compensation(void)
{
    CU_ASSERT_EQUAL(dtx_barrier_decide(DTX_OP_CANCEL, FIRST, 1, NULL),
                    DTX_BARRIER_NULL_COMPENSATION);
    CU_ASSERT_EQUAL(br_deliver(DTX_OP_CANCEL, NULL, 0), DTX_BARRIER_NULL_COMPENSATION);
}

static void test_cancel_after_try_inserts_its_own_row(void)
{
    CU_ASSERT_EQUAL(dtx_barrier_decide(DTX_OP_CANCEL, FIRST, 0, NULL), DTX_BARRIER_INSERT_CANCEL);
}

static void test_first_cancel_after_try_runs_fn(void)
{
    CU_ASSERT_EQUAL(dtx_barrier_decide(DTX_OP_CANCEL, CANCEL_ROW, 1, NULL), DTX_BARRIER_RUN);
    CU_ASSERT_EQUAL(br_deliver(DTX_OP_CANCEL, "try", 0), DTX_BARRIER_RUN);
}

static void test_cancel_delivered_twice_is_skipped_ok(void)
{
    CU_ASSERT_EQUAL(dtx_barrier_decide(DTX_OP_CANCEL, CANCEL_ROW, 0, NULL), DTX_BARRIER_DUPLICATE);
    CU_ASSERT_EQUAL(br_deliver(DTX_OP_CANCEL, "try", 1), DTX_BARRIER_DUPLICATE);
}

static void test_cancel_repeated_after_null_compensation_is_skipped_ok(void)
{
    /* The null compensation wrote (try, cancel) and (cancel, cancel). */
    CU_ASSERT_EQUAL(br_deliver(DTX_OP_CANCEL, "cancel", 1), DTX_BARRIER_DUPLICATE);
}

/* ------------------------------------------------------------------ */
/* Sequences and misuse                                                */
/* ------------------------------------------------------------------ */

static void test_null_compensation_then_try_is_refused(void)
{
    CU_ASSERT_EQUAL(br_deliver(DTX_OP_CANCEL, NULL, 0), DTX_BARRIER_NULL_COMPENSATION);
    CU_ASSERT_EQUAL(br_deliver(DTX_OP_TRY, "cancel", 1), DTX_BARRIER_HANGING);
}

static void test_unknown_op_or_step_is_invalid(void)
{
    CU_ASSERT_EQUAL(dtx_barrier_decide(0, FIRST, 1, NULL), DTX_BARRIER_INVALID);
    CU_ASSERT_EQUAL(dtx_barrier_decide(DTX_OP_MAX + 1, FIRST, 0, "try"), DTX_BARRIER_INVALID);
    CU_ASSERT_EQUAL(dtx_barrier_decide(DTX_OP_CANCEL, (dtx_barrier_step_t)9, 1, NULL),
                    DTX_BARRIER_INVALID);
}

/* Saga ops use the rows of try (action) and cancel (compensate). */
static void test_saga_ops_are_barriered_as_try_and_cancel(void)
{
    CU_ASSERT_EQUAL(dtx_barrier_row_op(DTX_OP_ACTION), DTX_OP_TRY);
    CU_ASSERT_EQUAL(dtx_barrier_row_op(DTX_OP_COMPENSATE), DTX_OP_CANCEL);
    CU_ASSERT_EQUAL(dtx_barrier_decide(DTX_OP_ACTION, FIRST, 1, NULL), DTX_BARRIER_RUN);
    CU_ASSERT_EQUAL(dtx_barrier_decide(DTX_OP_ACTION, FIRST, 0, "try"), DTX_BARRIER_DUPLICATE);
    CU_ASSERT_EQUAL(dtx_barrier_decide(DTX_OP_ACTION, FIRST, 0, "cancel"), DTX_BARRIER_HANGING);
    CU_ASSERT_EQUAL(dtx_barrier_decide(DTX_OP_COMPENSATE, FIRST, 1, NULL),
                    DTX_BARRIER_NULL_COMPENSATION);
    CU_ASSERT_EQUAL(dtx_barrier_decide(DTX_OP_COMPENSATE, FIRST, 0, NULL),
                    DTX_BARRIER_INSERT_CANCEL);
}

/* A message's delivery uses the rows of try: a duplicate is skipped. The
 * check-back (QUERY_PREPARED) is no barriered op: it reads the outbox. */
static void test_message_delivery_is_barriered_as_try(void)
{
    CU_ASSERT_EQUAL(dtx_barrier_row_op(DTX_OP_DELIVER), DTX_OP_TRY);
    CU_ASSERT_EQUAL(dtx_barrier_decide(DTX_OP_DELIVER, FIRST, 1, NULL), DTX_BARRIER_RUN);
    CU_ASSERT_EQUAL(dtx_barrier_decide(DTX_OP_DELIVER, FIRST, 0, "try"), DTX_BARRIER_DUPLICATE);
    CU_ASSERT_EQUAL(dtx_barrier_row_op(DTX_OP_QUERY_PREPARED), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_barrier_decide(DTX_OP_QUERY_PREPARED, FIRST, 1, NULL), DTX_BARRIER_INVALID);
}

static void test_every_action_has_a_name(void)
{
    for (int a = DTX_BARRIER_RUN; a <= DTX_BARRIER_INVALID; a++)
        CU_ASSERT_STRING_NOT_EQUAL(dtx_barrier_action_name((dtx_barrier_action_t)a), "unknown");
    CU_ASSERT_STRING_EQUAL(dtx_barrier_action_name((dtx_barrier_action_t)99), "unknown");
}

UNIT_SUITE(barrier_logic)
{
    CU_pSuite s = CU_add_suite("barrier_logic", NULL, NULL);
#define T(fn) CU_add_test(s, #fn, fn)
    T(test_try_inserts_try_row_from_try);
    T(test_confirm_inserts_confirm_row);
    T(test_cancel_first_claims_the_try_row);
    T(test_unknown_op_has_no_row);
    T(test_first_try_runs_fn);
    T(test_try_conflict_looks_up_the_origin);
    T(test_try_delivered_twice_is_skipped_ok);
    T(test_try_after_its_cancel_is_hanging);
    T(test_try_row_with_foreign_origin_is_invalid);
    T(test_try_has_no_second_step);
    T(test_first_confirm_runs_fn);
    T(test_confirm_delivered_twice_is_skipped_ok);
    T(test_confirm_has_no_second_step);
    T(test_cancel_without_try_is_null_compensation);
    T(test_cancel_after_try_inserts_its_own_row);
    T(test_first_cancel_after_try_runs_fn);
    T(test_cancel_delivered_twice_is_skipped_ok);
    T(test_cancel_repeated_after_null_compensation_is_skipped_ok);
    T(test_null_compensation_then_try_is_refused);
    T(test_unknown_op_or_step_is_invalid);
    T(test_saga_ops_are_barriered_as_try_and_cancel);
    T(test_message_delivery_is_barriered_as_try);
    T(test_every_action_has_a_name);
#undef T
}
