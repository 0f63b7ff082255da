/* tests/unit/barrier_replay.c — see barrier_replay.h. */
#include <string.h>

#include <CUnit/CUnit.h>

#include "barrier_replay.h"
#include "dtx/types.h"

dtx_barrier_action_t br_deliver(int op, const char *try_origin, int own_row_present)
{
    const char *row_op, *origin;
    CU_ASSERT_EQUAL_FATAL(dtx_barrier_first_row(op, &row_op, &origin), DTX_OK);
    int first_is_try_row = strcmp(row_op, "try") == 0;
    int inserted = first_is_try_row ? try_origin == NULL : !own_row_present;
    dtx_barrier_action_t a = dtx_barrier_decide(op, DTX_BARRIER_STEP_FIRST, inserted, NULL);
    if (a == DTX_BARRIER_LOOKUP_ORIGIN)
        a = dtx_barrier_decide(op, DTX_BARRIER_STEP_FIRST, 0, try_origin);
    if (a == DTX_BARRIER_INSERT_CANCEL)
        a = dtx_barrier_decide(op, DTX_BARRIER_STEP_CANCEL_ROW, !own_row_present, NULL);
    return a;
}
