/* Fault points (coordinator/core/fault.h): every point the coordinator
 * reaches can be armed, unknown ones are refused. */
#include <string.h>

#include <CUnit/CUnit.h>

#include "core/fault.h"
#include "dtx/types.h"
#include "unit.h"

static void test_every_point_a_transaction_meets_can_be_armed(void)
{
    /* The Saga's three were reached by the code but refused by --fault
     * (make drill's Saga mode found it). */
    static const char *const points[] = {
        "after-begin-write", "after-branch-write", "after-try-sent", "after-prepare-sent",
        "after-all-voted", "after-vote-write", "after-decision-write", "after-decision-reply", "between-phases",
        "before-finish-write", "after-finish-write", "after-claim", "after-saga-write",
        "after-step-done", "after-step-compensated", "after-tmsg-write", NULL,
    };
    char err[256] = "";
    for (int i = 0; points[i]; i++) {
        err[0] = '\0';
        CU_ASSERT_EQUAL(dtx_fault_configure(points[i], err, sizeof err), 0);
        CU_ASSERT_STRING_EQUAL(err, "");
    }
    CU_ASSERT_EQUAL(dtx_fault_configure("after-step-done:3,after-saga-write", err, sizeof err), 0);
    dtx_fault_configure("", err, sizeof err);   /* off again */
}

static void test_unknown_point_or_bad_count_is_refused(void)
{
    char err[256] = "";
    CU_ASSERT_EQUAL(dtx_fault_configure("after-nothing", err, sizeof err), DTX_ECONFIG);
    CU_ASSERT(strstr(err, "unknown point 'after-nothing'") != NULL);
    CU_ASSERT_EQUAL(dtx_fault_configure("after-step-done:0", err, sizeof err), DTX_ECONFIG);
    CU_ASSERT(strstr(err, "count") != NULL);
    dtx_fault_configure("", err, sizeof err);
}

/* dtx_fault_armed says whether a point may fire (the driver sends its
 * pending BUNDLEs before after-try-sent then), whatever its count. */
static void test_armed_names_only_the_points_configured(void)
{
    char err[256] = "";
    CU_ASSERT_EQUAL(dtx_fault_armed("after-try-sent"), 0);
    CU_ASSERT_EQUAL(dtx_fault_configure("after-try-sent:3,after-claim", err, sizeof err), 0);
    CU_ASSERT_EQUAL(dtx_fault_armed("after-try-sent"), 1);
    CU_ASSERT_EQUAL(dtx_fault_armed("after-claim"), 1);
    CU_ASSERT_EQUAL(dtx_fault_armed("after-prepare-sent"), 0);
    CU_ASSERT_EQUAL(dtx_fault_armed("no-such-point"), 0);
    dtx_fault_configure("", err, sizeof err);
    CU_ASSERT_EQUAL(dtx_fault_armed("after-try-sent"), 0);
}

UNIT_SUITE(fault)
{
    CU_pSuite s = CU_add_suite("fault", NULL, NULL);
    CU_add_test(s, "every point a transaction meets can be armed",
                test_every_point_a_transaction_meets_can_be_armed);
    CU_add_test(s, "unknown point or bad count is refused",
                test_unknown_point_or_bad_count_is_refused);
    CU_add_test(s, "armed names only the points configured",
                test_armed_names_only_the_points_configured);
}
