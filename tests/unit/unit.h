/*
 * tests/unit/unit.h — suite registration for the unit test runner.
 *
 * Each tests/unit/test_<module>.c declares its suite with
 *
 *     UNIT_SUITE(proto) {
 *         CU_pSuite s = CU_add_suite("proto", NULL, NULL);
 *         CU_add_test(s, "round trip of every message", test_round_trip);
 *     }
 *
 * and is picked up by main.c without editing it. Unit suites use no
 * sockets and no database.
 */
#ifndef DTX_TEST_UNIT_H
#define DTX_TEST_UNIT_H

#include <CUnit/CUnit.h>

typedef void (*unit_suite_fn)(void);
void unit_register(unit_suite_fn fn);

/* A suite's init and cleanup for calls that log warnings by design:
 * the library's log level ERROR during the suite, INFO after. */
int unit_quiet(void);
int unit_loud(void);

#define UNIT_SUITE(name)                                              \
    static void unit_suite_##name(void);                              \
    __attribute__((constructor)) static void unit_reg_##name(void) { \
        unit_register(unit_suite_##name);                             \
    }                                                                 \
    static void unit_suite_##name(void)

#endif
