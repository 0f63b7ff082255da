/* Unit test runner: runs every suite registered with UNIT_SUITE.
 * Usage: unit_tests [suite-name]   (exit status 0 only if all pass) */
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "dtx/logging.h"
#include "unit.h"

#define MAX_SUITES 256
static unit_suite_fn s_suites[MAX_SUITES];
static int s_nsuites;
static int s_dropped;      /* suites beyond MAX_SUITES: the run fails */

void unit_register(unit_suite_fn fn)
{
    if (s_nsuites < MAX_SUITES)
        s_suites[s_nsuites++] = fn;
    else
        s_dropped++;
}

int unit_quiet(void)
{
    dtx_log_set_level(DTX_LOG_ERROR);
    return 0;
}

int unit_loud(void)
{
    dtx_log_set_level(DTX_LOG_INFO);
    return 0;
}

int main(int argc, char **argv)
{
    /* libdtx's lines on stderr, as a program would have them (the log
     * suite sets its own handler and puts this one back). */
    dtx_log_set_handler(dtx_log_stderr, NULL);
    if (s_dropped) {
        fprintf(stderr, "unit_tests: %d suites over MAX_SUITES (%d): raise it\n", s_dropped,
                MAX_SUITES);
        return 2;
    }
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    for (int i = 0; i < s_nsuites; i++)
        s_suites[i]();
    CU_basic_set_mode(CU_BRM_VERBOSE);
    if (argc > 1) {
        CU_pSuite s = CU_get_suite(argv[1]);
        if (!s) {
            fprintf(stderr, "unit_tests: no suite named '%s'\n", argv[1]);
            CU_cleanup_registry();
            return 2;
        }
        CU_basic_run_suite(s);
    } else {
        CU_basic_run_tests();
    }
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    unsigned run = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    if (CU_get_error() != CUE_SUCCESS)
        return 2;
    return (failed == 0 && run > 0) ? 0 : 1;
}
