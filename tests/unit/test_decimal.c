/* Integers as decimal text (common/include/dtx/decimal.h): the same text
 * as printf's "%llu" / "%lld" for edge values and a spread of random ones. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dtx/decimal.h"
#include "unit.h"

static void s_check_u(uint64_t v)
{
    char want[32], got[DTX_DEC_SIZE + 8];
    memset(got, 'x', sizeof got);
    snprintf(want, sizeof want, "%" PRIu64, v);
    size_t n = dtx_dec_u64(got, v);
    CU_ASSERT_STRING_EQUAL(got, want);
    CU_ASSERT_EQUAL(n, strlen(want));
    CU_ASSERT_EQUAL(got[DTX_DEC_SIZE], 'x'); /* nothing past the room promised */
}

static void s_check_i(int64_t v)
{
    char want[32], got[DTX_DEC_SIZE + 8];
    memset(got, 'x', sizeof got);
    snprintf(want, sizeof want, "%" PRId64, v);
    size_t n = dtx_dec_i64(got, v);
    CU_ASSERT_STRING_EQUAL(got, want);
    CU_ASSERT_EQUAL(n, strlen(want));
    CU_ASSERT_EQUAL(got[DTX_DEC_SIZE], 'x');
}

static void test_edges_print_as_printf_does(void)
{
    const uint64_t u[] = { 0, 1, 9, 10, 99, 100, 4294967295u, 4294967296u, 1744000000000u,
                           UINT64_MAX - 1, UINT64_MAX };
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++)
        s_check_u(u[i]);
    const int64_t s[] = { 0, 1, -1, 9, -9, 10, -10, 2147483647, -2147483648LL,
                          INT64_MAX, INT64_MIN, INT64_MIN + 1 };
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        s_check_i(s[i]);
}

static void test_random_values_print_as_printf_does(void)
{
    unsigned seed = 4242;
    for (int i = 0; i < 20000; i++) {
        uint64_t v = ((uint64_t)rand_r(&seed) << 33) ^ ((uint64_t)rand_r(&seed) << 11) ^
                     (uint64_t)rand_r(&seed);
        v >>= rand_r(&seed) % 64; /* every length */
        s_check_u(v);
        s_check_i((int64_t)v);
        s_check_i(-(int64_t)(v >> 1));
    }
}

UNIT_SUITE(decimal)
{
    CU_pSuite s = CU_add_suite("decimal", NULL, NULL);
    CU_add_test(s, "edges print as printf does", test_edges_print_as_printf_does);
    CU_add_test(s, "random values print as printf does", test_random_values_print_as_printf_does);
}
