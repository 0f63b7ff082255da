/* Admin tokens (coordinator/admin/admin_auth.h) and list filters (admin_query.h). */
#include <string.h>

#include <CUnit/CUnit.h>

#include "admin/admin_auth.h"
#include "admin/admin_query.h"
#include "unit.h"

static void test_token_file_parses_names_comments_and_blank_lines(void)
{
    char err[200] = "";
    dtx_admin_tokens_t *t = dtx_admin_tokens_parse(
        "# ops\n\nalice:alice-secret-0123456789\r\n  bob:bob-secret-abcdefghijkl  \n", err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(dtx_admin_tokens_count(t), 2);
    CU_ASSERT_STRING_EQUAL(dtx_admin_tokens_check(t, "Bearer alice-secret-0123456789"), "alice");
    CU_ASSERT_STRING_EQUAL(dtx_admin_tokens_check(t, "bearer   bob-secret-abcdefghijkl"), "bob");
    CU_ASSERT_PTR_NULL(dtx_admin_tokens_check(t, "Bearer alice-secret-012345678"));
    CU_ASSERT_PTR_NULL(dtx_admin_tokens_check(t, "Bearer alice-secret-01234567890"));
    CU_ASSERT_PTR_NULL(dtx_admin_tokens_check(t, "Basic alice-secret-0123456789"));
    CU_ASSERT_PTR_NULL(dtx_admin_tokens_check(t, "alice-secret-0123456789"));
    CU_ASSERT_PTR_NULL(dtx_admin_tokens_check(t, "Bearer "));
    CU_ASSERT_PTR_NULL(dtx_admin_tokens_check(t, NULL));
    dtx_admin_tokens_destroy(&t);
    CU_ASSERT_PTR_NULL(t);
}

static void test_token_file_errors_name_the_line_and_never_the_secret(void)
{
    char err[200] = "";
    CU_ASSERT_PTR_NULL(dtx_admin_tokens_parse("a:short\n", err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "line 1"));
    CU_ASSERT_PTR_NULL(strstr(err, "short"));
    CU_ASSERT_PTR_NULL(dtx_admin_tokens_parse("ok:0123456789abcdef\nnocolon\n", err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "line 2"));
    CU_ASSERT_PTR_NULL(dtx_admin_tokens_parse("a:0123456789abcdef\na:0123456789abcdeg\n", err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "twice"));
    CU_ASSERT_PTR_NULL(dtx_admin_tokens_parse("bad name:0123456789abcdef\n", err, sizeof err));
    CU_ASSERT_PTR_NULL(dtx_admin_tokens_parse("a:0123456789 abcdef\n", err, sizeof err));
    dtx_admin_tokens_t *t = dtx_admin_tokens_parse("", err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(dtx_admin_tokens_count(t), 0);
    CU_ASSERT_PTR_NULL(dtx_admin_tokens_check(t, "Bearer anything-at-all-123"));
    dtx_admin_tokens_destroy(&t);
}

static void test_constant_time_compare_is_exact(void)
{
    CU_ASSERT_TRUE(dtx_admin_ct_equal("abc", 3, "abc", 3));
    CU_ASSERT_FALSE(dtx_admin_ct_equal("abd", 3, "abc", 3));
    CU_ASSERT_FALSE(dtx_admin_ct_equal("ab", 2, "abc", 3));
    CU_ASSERT_FALSE(dtx_admin_ct_equal("abcabc", 6, "abc", 3));
    CU_ASSERT_FALSE(dtx_admin_ct_equal("", 0, "", 0));
}

/* --- list filters --- */

static const char *const *s_args;
static const char *s_get(void *ctx, const char *name)
{
    (void)ctx;
    for (int i = 0; s_args[i]; i += 2)
        if (strcmp(s_args[i], name) == 0)
            return s_args[i + 1];
    return NULL;
}

static int s_parse(dtx_listq_t *q, const char *const *args)
{
    char err[200];
    s_args = args;
    return dtx_listq_parse(q, s_get, NULL, 1700000000000LL, err, sizeof err);
}

static void test_ulid_prefix_and_durations(void)
{
    char p[11];
    dtx_ulid_time_prefix(0, p);
    CU_ASSERT_STRING_EQUAL(p, "0000000000");
    dtx_ulid_time_prefix(1469918176385LL, p); /* the ULID spec's example time */
    CU_ASSERT_STRING_EQUAL(p, "01ARYZ6S41");
    CU_ASSERT_EQUAL(dtx_duration_parse_ms("90"), 90000);
    CU_ASSERT_EQUAL(dtx_duration_parse_ms("5m"), 300000);
    CU_ASSERT_EQUAL(dtx_duration_parse_ms("2h"), 7200000);
    CU_ASSERT_EQUAL(dtx_duration_parse_ms("3d"), 3 * 86400000LL);
    CU_ASSERT_EQUAL(dtx_duration_parse_ms("250ms"), 250);
    CU_ASSERT_EQUAL(dtx_duration_parse_ms("5x"), -1);
    CU_ASSERT_EQUAL(dtx_duration_parse_ms("-5s"), -1);
    CU_ASSERT_EQUAL(dtx_duration_parse_ms(""), -1);
}

static void test_durations_at_their_limits_never_overflow(void)
{
    /* 100 years is the largest, in every unit. */
    CU_ASSERT_EQUAL(dtx_duration_parse_ms("36500d"), DTX_DURATION_MAX_MS);
    CU_ASSERT_EQUAL(dtx_duration_parse_ms("36501d"), -1);
    CU_ASSERT_EQUAL(dtx_duration_parse_ms("876000h"), DTX_DURATION_MAX_MS);
    CU_ASSERT_EQUAL(dtx_duration_parse_ms("876001h"), -1);
    CU_ASSERT_EQUAL(dtx_duration_parse_ms("52560000m"), DTX_DURATION_MAX_MS);
    CU_ASSERT_EQUAL(dtx_duration_parse_ms("52560001m"), -1);
    CU_ASSERT_EQUAL(dtx_duration_parse_ms("3153600000"), DTX_DURATION_MAX_MS);
    CU_ASSERT_EQUAL(dtx_duration_parse_ms("3153600001s"), -1);
    CU_ASSERT_EQUAL(dtx_duration_parse_ms("3153600000000ms"), DTX_DURATION_MAX_MS);
    CU_ASSERT_EQUAL(dtx_duration_parse_ms("3153600000001ms"), -1);
    /* What the attacker sent: the count in range of the old check, the
     * product past INT64_MAX (UBSan stopped the server). */
    CU_ASSERT_EQUAL(dtx_duration_parse_ms("999999999999d"), -1);
    CU_ASSERT_EQUAL(dtx_duration_parse_ms("106751991167301d"), -1);
    CU_ASSERT_EQUAL(dtx_duration_parse_ms("9223372036854775807ms"), -1);
    CU_ASSERT_EQUAL(dtx_duration_parse_ms("9223372036854775808"), -1);
    CU_ASSERT_EQUAL(dtx_duration_parse_ms("99999999999999999999999999d"), -1);
    CU_ASSERT_EQUAL(dtx_duration_parse_ms("0"), 0);
    CU_ASSERT_EQUAL(dtx_duration_parse_ms("0ms"), 0);
    CU_ASSERT_EQUAL(dtx_duration_parse_ms("+5s"), -1);
    CU_ASSERT_EQUAL(dtx_duration_parse_ms(" 5s"), -1);
    CU_ASSERT_EQUAL(dtx_duration_parse_ms("5 s"), -1);
    CU_ASSERT_EQUAL(dtx_duration_parse_ms(NULL), -1);
    dtx_listq_t q;
    CU_ASSERT_EQUAL(s_parse(&q, (const char *const[]){ "min_age", "999999999999d", NULL }), DTX_EINVAL);
    CU_ASSERT_EQUAL(s_parse(&q, (const char *const[]){ "max_age", "999999999999d", NULL }), DTX_EINVAL);
    CU_ASSERT_EQUAL(s_parse(&q, (const char *const[]){ "max_age", "36500d", NULL }), 0);
}

static void test_list_filters_become_keyset_bounds(void)
{
    dtx_listq_t q;
    CU_ASSERT_EQUAL(s_parse(&q, (const char *const[]){ NULL }), 0);
    CU_ASSERT_EQUAL(q.limit, DTX_LIST_LIMIT_DEFAULT);
    CU_ASSERT_EQUAL(q.nstates, 0);
    CU_ASSERT_STRING_EQUAL(q.hi_ex, "");
    CU_ASSERT_EQUAL(s_parse(&q, (const char *const[]){ "state", "stuck,active,stuck", "mode", "tcc",
                                                       "resource", "inventory", "limit", "7", NULL }), 0);
    CU_ASSERT_EQUAL(q.nstates, 2);
    CU_ASSERT_EQUAL(q.states[0], DTX_STATE_STUCK);
    CU_ASSERT_EQUAL(q.mode, DTX_MODE_TCC);
    CU_ASSERT_STRING_EQUAL(q.resource, "inventory");
    CU_ASSERT_EQUAL(q.limit, 7);
    /* newest first: the cursor and min_age are upper bounds; the lower wins */
    CU_ASSERT_EQUAL(s_parse(&q, (const char *const[]){ "cursor", "01ARYZ6S41AAAAAAAAAAAAAAAA",
                                                       "min_age", "1d", NULL }), 0);
    CU_ASSERT_STRING_EQUAL(q.hi_ex, "01ARYZ6S41AAAAAAAAAAAAAAAA");
    CU_ASSERT_EQUAL(s_parse(&q, (const char *const[]){ "cursor", "01ARYZ6S41AAAAAAAAAAAAAAAA",
                                                       "order", "oldest", NULL }), 0);
    CU_ASSERT_STRING_EQUAL(q.lo_ex, "01ARYZ6S41AAAAAAAAAAAAAAAA");
    CU_ASSERT_STRING_EQUAL(q.hi_ex, "");
    CU_ASSERT_EQUAL(s_parse(&q, (const char *const[]){ "q", "01ary", NULL }), 0);
    CU_ASSERT_STRING_EQUAL(q.prefix, "01ARY");
    CU_ASSERT_STRING_EQUAL(q.lo_in, "01ARY");
    CU_ASSERT(strncmp(q.hi_ex, "01ARYZZZZ", 9) == 0);
    CU_ASSERT_EQUAL(s_parse(&q, (const char *const[]){ "max_age", "1h", NULL }), 0);
    CU_ASSERT_EQUAL(strlen(q.lo_in), 10);
    const char *const bad[][3] = { { "state", "done", NULL }, { "mode", "xa", NULL },
                                   { "limit", "0", NULL },     { "limit", "501", NULL },
                                   { "order", "up", NULL },    { "min_age", "soon", NULL },
                                   { "cursor", "a b", NULL },  { "resource", "a/b", NULL } };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CU_ASSERT_EQUAL(s_parse(&q, bad[i]), DTX_EINVAL);
}

UNIT_SUITE(admin_auth)
{
    CU_pSuite s = CU_add_suite("admin_auth", NULL, NULL);
    CU_add_test(s, "token file parses names, comments and blank lines",
                test_token_file_parses_names_comments_and_blank_lines);
    CU_add_test(s, "token file errors name the line and never the secret",
                test_token_file_errors_name_the_line_and_never_the_secret);
    CU_add_test(s, "constant-time compare is exact", test_constant_time_compare_is_exact);
    CU_add_test(s, "ulid prefix and durations", test_ulid_prefix_and_durations);
    CU_add_test(s, "list filters become keyset bounds", test_list_filters_become_keyset_bounds);
    CU_add_test(s, "durations at their limits never overflow",
                test_durations_at_their_limits_never_overflow);
}
