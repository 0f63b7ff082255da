/*
 * tests/integration/integ.h — suite registration for the integration test
 * runner (tests/integration/main.c).
 *
 * Each tests/integration/test_<topic>.c declares its suite with
 *
 *     INTEG_SUITE(recovery) {
 *         CU_pSuite s = CU_add_suite("recovery", NULL, NULL);
 *         CU_add_test(s, "confirm delivered twice applies once",
 *                     test_confirm_delivered_twice_applies_once);
 *     }
 *
 * and is picked up by main.c without editing it. Integration tests use the
 * real thing: the private PostgreSQL of tests/run.sh, real dtxd and
 * participant processes (tests/harness/harness.h), real ZeroMQ.
 *
 * The runner takes care of the common chores: every process a test spawns
 * and leaves running is killed when the test ends, and when a test fails
 * the last lines of the logs of the processes it spawned are printed.
 * Processes spawned in a suite's init function live until the suite ends.
 */
#ifndef DTX_TEST_INTEG_H
#define DTX_TEST_INTEG_H

#include <CUnit/CUnit.h>

#include "../harness/harness.h"

typedef void (*integ_suite_fn)(void);
void integ_register(integ_suite_fn fn);

#define INTEG_SUITE(name)                                              \
    static void integ_suite_##name(void);                              \
    __attribute__((constructor)) static void integ_reg_##name(void) { \
        integ_register(integ_suite_##name);                            \
    }                                                                  \
    static void integ_suite_##name(void)

#endif
