/*
 * test_trace.c — the W3C traceparent reader and makers (common/src/trace.c):
 * the strict form dtx carries on the wire, the lenient reading of an HTTP
 * header (the spec's rules for later versions), and new trace / span ids.
 */
#include <string.h>

#include "dtx/trace.h"
#include "dtx/types.h"
#include "unit.h"

#define TP "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

static int s_parse(const char *s, char out[DTX_TRACEPARENT_SIZE])
{
    return dtx_trace_parse(s, strlen(s), out);
}

static void test_valid_traceparent_is_accepted_and_kept(void)
{
    char out[DTX_TRACEPARENT_SIZE];
    CU_ASSERT_TRUE(dtx_trace_valid(TP));
    CU_ASSERT_EQUAL(s_parse(TP, out), 0);
    CU_ASSERT_STRING_EQUAL(out, TP);
    /* Flags other than sampled are kept in version 00. */
    CU_ASSERT_EQUAL(s_parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00", out), 0);
    CU_ASSERT_STRING_EQUAL(out + 53, "00");
    /* Spaces around a header value are not part of it. */
    CU_ASSERT_EQUAL(s_parse("  " TP "\t", out), 0);
    CU_ASSERT_STRING_EQUAL(out, TP);
}

static void test_bad_hex_is_invalid(void)
{
    char out[DTX_TRACEPARENT_SIZE];
    const char *bad[] = {
        "00-0af7651916cd43dd8448eb211c80319g-b7ad6b7169203331-01", /* g */
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333z-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0x",
        "0x-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", /* separator */
        "00-0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331_01",
        "00-0af7651916cd43dd8448eb211c80319-b7ad6b7169203331-01",  /* 31 digits */
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-", /* 00: exactly 55 */
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-011",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        strcpy(out, "junk");
        CU_ASSERT_EQUAL(s_parse(bad[i], out), DTX_EINVAL);
        CU_ASSERT_STRING_EQUAL(out, "");
        CU_ASSERT_FALSE(dtx_trace_valid(bad[i]));
    }
    CU_ASSERT_EQUAL(dtx_trace_parse(NULL, 0, out), DTX_EINVAL);
    CU_ASSERT_FALSE(dtx_trace_valid(NULL));
}

/* Every byte value in a digit of each field: only '0'-'9' and 'a'-'f'
 * pass (the digit table in trace.c). */
static void test_every_byte_in_every_field(void)
{
    const int at[] = { 0, 1, 3, 20, 34, 36, 50, 53, 54 };
    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++)
        for (int c = 1; c < 256; c++) {
            char tp[DTX_TRACEPARENT_SIZE];
            strcpy(tp, TP);
            tp[at[k]] = (char)c;
            int hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
            /* The strict form is version 00 only. */
            CU_ASSERT_EQUAL(dtx_trace_valid(tp), hex && tp[0] == '0' && tp[1] == '0');
        }
}

static void test_all_zero_ids_are_invalid(void)
{
    char out[DTX_TRACEPARENT_SIZE];
    const char *zero_trace = "00-00000000000000000000000000000000-b7ad6b7169203331-01";
    const char *zero_span = "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01";
    CU_ASSERT_EQUAL(s_parse(zero_trace, out), DTX_EINVAL);
    CU_ASSERT_EQUAL(s_parse(zero_span, out), DTX_EINVAL);
    CU_ASSERT_FALSE(dtx_trace_valid(zero_trace));
    CU_ASSERT_FALSE(dtx_trace_valid(zero_span));
    /* One non-zero digit is enough. */
    CU_ASSERT_TRUE(dtx_trace_valid("00-00000000000000000000000000000001-0000000000000010-01"));
}

static void test_version_ff_is_invalid(void)
{
    char out[DTX_TRACEPARENT_SIZE];
    CU_ASSERT_EQUAL(s_parse("ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", out),
                    DTX_EINVAL);
}

static void test_uppercase_is_invalid(void)
{
    char out[DTX_TRACEPARENT_SIZE];
    const char *upper = "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01";
    CU_ASSERT_EQUAL(s_parse(upper, out), DTX_EINVAL);
    CU_ASSERT_FALSE(dtx_trace_valid(upper));
    CU_ASSERT_EQUAL(s_parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0A", out),
                    DTX_EINVAL);
}

static void test_higher_version_is_read_as_00_with_only_sampled(void)
{
    char out[DTX_TRACEPARENT_SIZE];
    /* The spec: a later version is parsed by its first 55 characters;
     * what follows must start with '-'; only the sampled flag is kept. */
    CU_ASSERT_EQUAL(s_parse("cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03-what", out), 0);
    CU_ASSERT_STRING_EQUAL(out, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    CU_ASSERT_EQUAL(s_parse("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-02", out), 0);
    CU_ASSERT_STRING_EQUAL(out, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00");
    CU_ASSERT_EQUAL(s_parse("cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x", out),
                    DTX_EINVAL);
    CU_ASSERT_FALSE(dtx_trace_valid("cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
}

static void test_new_and_child_are_valid_and_keep_the_trace(void)
{
    char a[DTX_TRACEPARENT_SIZE], b[DTX_TRACEPARENT_SIZE], c[DTX_TRACEPARENT_SIZE];
    char id_a[DTX_TRACE_ID_HEX + 1], id_c[DTX_TRACE_ID_HEX + 1];
    CU_ASSERT_EQUAL(dtx_trace_new(a), 0);
    CU_ASSERT_EQUAL(dtx_trace_new(b), 0);
    CU_ASSERT_TRUE(dtx_trace_valid(a));
    CU_ASSERT_STRING_NOT_EQUAL(a, b);
    CU_ASSERT_STRING_EQUAL(a + 53, "01");
    CU_ASSERT_EQUAL(dtx_trace_child(a, c), 0);
    CU_ASSERT_TRUE(dtx_trace_valid(c));
    CU_ASSERT_STRING_EQUAL(dtx_trace_id(a, id_a), dtx_trace_id(c, id_c));
    CU_ASSERT_EQUAL(strlen(id_a), 32);
    CU_ASSERT_NSTRING_NOT_EQUAL(a + 36, c + 36, 16); /* a new parent-id */
    CU_ASSERT_EQUAL(dtx_trace_child("nope", c), DTX_EINVAL);
    CU_ASSERT_STRING_EQUAL(c, "");
    CU_ASSERT_STRING_EQUAL(dtx_trace_id("nope", id_a), "");
}

/* New ids are random in every digit: over 2,000 of them each of the 48
 * positions (trace id and span id) takes all 16 digits. */
static void test_new_ids_use_every_digit_in_every_position(void)
{
    unsigned seen[DTX_TRACEPARENT_LEN] = { 0 };
    for (int i = 0; i < 2000; i++) {
        char t[DTX_TRACEPARENT_SIZE];
        CU_ASSERT_EQUAL_FATAL(dtx_trace_new(t), 0);
        CU_ASSERT_TRUE_FATAL(dtx_trace_valid(t));
        for (int k = 3; k < 52; k++)
            if (t[k] != '-')
                seen[k] |= 1u << (t[k] <= '9' ? t[k] - '0' : t[k] - 'a' + 10);
    }
    for (int k = 3; k < 52; k++)
        if (k != 35)
            CU_ASSERT_EQUAL(seen[k], 0xffffu);
}

UNIT_SUITE(trace)
{
    CU_pSuite s = CU_add_suite("trace", NULL, NULL);
#define T(fn) CU_add_test(s, #fn, fn)
    T(test_valid_traceparent_is_accepted_and_kept);
    T(test_bad_hex_is_invalid);
    T(test_every_byte_in_every_field);
    T(test_all_zero_ids_are_invalid);
    T(test_version_ff_is_invalid);
    T(test_uppercase_is_invalid);
    T(test_higher_version_is_read_as_00_with_only_sampled);
    T(test_new_and_child_are_valid_and_keep_the_trace);
    T(test_new_ids_use_every_digit_in_every_position);
#undef T
}
