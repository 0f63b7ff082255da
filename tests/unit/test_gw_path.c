/* Path normalisation (gw_path.h): the table of docs/gateway.md, "Path
 * normalisation", row by row. Each variant that once escaped an exact
 * route (/limited) must come out as that route's path, or be refused. */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dtx/types.h"
#include "core/gw_path.h"
#include "unit.h"

typedef struct {
    const char *raw;
    const char *want;   /* NULL: refused (400) */
} s_row_t;

static const s_row_t s_table[] = {
    { "/limited", "/limited" },
    { "/limited/", "/limited" },
    { "//limited", "/limited" },
    { "/./limited", "/limited" },
    { "/x/../limited", "/limited" },
    { "/%6cimited", "/limited" },
    { "/%6Cimited", "/limited" },
    { "/%2E%2E/limited", NULL },
    { "/a/%2e%2E/limited", "/limited" },
    { "/LIMITED", "/LIMITED" },           /* case: per route (path_case_insensitive) */
    { "/limited;a=b", NULL },
    { "/limited%3Ba=b", "/limited%3Ba=b" },
    { "/limited%3ba=b", "/limited%3Ba=b" },
    { "/a%2Fb", NULL },
    { "/a%2fb", NULL },
    { "/a%00b", NULL },
    { "/..", NULL },
    { "/../limited", NULL },
    { "/a/../../limited", NULL },
    { "/a\x01" "b", NULL },
    { "/a\x7f", NULL },
    { "/a b", NULL },
    { "/a\\b", NULL },
    { "/a%zz", NULL },
    { "/a%4", NULL },
    { "/a%", NULL },
    { "limited", NULL },
    { "", NULL },
    { "/", "/" },
    { "//", "/" },
    { "/.", "/" },
    { "/a/..", "/" },
    { "/a/./b/../c/", "/a/c" },
    { "/a//b///c", "/a/b/c" },
    { "/...", "/..." },
    { "/.a/..b", "/.a/..b" },
    { "/caf\xc3\xa9", "/caf%C3%A9" },
    { "/caf%c3%a9", "/caf%C3%A9" },
    { "/a<b>", "/a%3Cb%3E" },
    { "/a%3cb", "/a%3Cb" },
    { "/%7euser/x", "/~user/x" },
    { "/a:b@c!$&'()*+,=", "/a:b@c!$&'()*+,=" },
    { "/a%2Bb", "/a%2Bb" },
};

static void test_normalise_table(void)
{
    char out[256];
    for (size_t i = 0; i < sizeof s_table / sizeof s_table[0]; i++) {
        const char *why = NULL;
        int rc = dtx_gw_path_normalize(s_table[i].raw, out, sizeof out, &why);
        if (s_table[i].want) {
            if (rc < 0 || strcmp(out, s_table[i].want) != 0)
                fprintf(stderr, "\n  row %zu: rc=%d out=%s want=%s\n", i, rc,
                        rc < 0 ? "-" : out, s_table[i].want);
            CU_ASSERT(rc >= 0);
            if (rc >= 0) {
                CU_ASSERT_STRING_EQUAL(out, s_table[i].want);
                CU_ASSERT_EQUAL((size_t)rc, strlen(out));
            }
        } else {
            if (rc != DTX_EINVAL)
                fprintf(stderr, "\n  row %zu: rc=%d, want refused\n", i, rc);
            CU_ASSERT_EQUAL(rc, DTX_EINVAL);
            CU_ASSERT_PTR_NOT_NULL(why);
        }
    }
}

/* Normalising twice changes nothing: what goes upstream matches the same
 * route if it is sent through a gateway again. */
static void test_normalise_is_idempotent(void)
{
    char a[256], b[256];
    for (size_t i = 0; i < sizeof s_table / sizeof s_table[0]; i++) {
        if (!s_table[i].want)
            continue;
        CU_ASSERT(dtx_gw_path_normalize(s_table[i].raw, a, sizeof a, NULL) >= 0);
        CU_ASSERT(dtx_gw_path_normalize(a, b, sizeof b, NULL) >= 0);
        CU_ASSERT_STRING_EQUAL(a, b);
    }
}

static void test_normalise_small_buffer(void)
{
    char out[8];
    CU_ASSERT_EQUAL(dtx_gw_path_normalize("/abcdefghijkl", out, sizeof out, NULL), DTX_ETOOBIG);
    CU_ASSERT_EQUAL(dtx_gw_path_normalize("/\xc3\xa9\xc3\xa9", out, sizeof out, NULL),
                    DTX_ETOOBIG);
    CU_ASSERT_EQUAL(dtx_gw_path_normalize("/abc", out, sizeof out, NULL), 4);
    char big[3 * 5 + 2];
    CU_ASSERT_EQUAL(dtx_gw_path_normalize("/\xff\xff/\xff", big, sizeof big, NULL), 11);
}

static void test_query_bytes(void)
{
    CU_ASSERT_EQUAL(dtx_gw_path_query_bad("a=1&b=%20"), 0);
    CU_ASSERT_EQUAL(dtx_gw_path_query_bad(NULL), 0);
    CU_ASSERT_EQUAL(dtx_gw_path_query_bad("a=\x01"), 1);
    CU_ASSERT_EQUAL(dtx_gw_path_query_bad("a=b c"), 1);
    CU_ASSERT_EQUAL(dtx_gw_path_query_bad("a=\r\nX: y"), 1);
}

UNIT_SUITE(gw_path)
{
    CU_pSuite s = CU_add_suite("gw_path", NULL, NULL);
    CU_add_test(s, "normalise table", test_normalise_table);
    CU_add_test(s, "normalise is idempotent", test_normalise_is_idempotent);
    CU_add_test(s, "normalise small buffer", test_normalise_small_buffer);
    CU_add_test(s, "query bytes", test_query_bytes);
}
