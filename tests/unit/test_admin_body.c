/* Admin request bodies (admin_body.h) and the Host allow-list (admin_host.h). */
#include <string.h>

#include <CUnit/CUnit.h>

#include "admin/admin_body.h"
#include "admin/admin_host.h"
#include "dtx/types.h"
#include "unit.h"

static int s_action(const char *body, dtx_admin_action_body_t *b, char *err, size_t cap)
{
    return dtx_admin_action_body_parse(body, strlen(body), b, err, cap);
}

static void test_action_body_takes_whole_utf8_text_only(void)
{
    dtx_admin_action_body_t b;
    char err[256] = "";
    CU_ASSERT_EQUAL(s_action("{\"reason\":\"  caf\\u00e9 \xe2\x9c\x93\",\"operator\":\"Zo\xc3\xab\"}",
                             &b, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(b.reason, "caf\xc3\xa9 \xe2\x9c\x93");
    CU_ASSERT_STRING_EQUAL(b.operator_name, "Zo\xc3\xab");
    CU_ASSERT_EQUAL(s_action("{\"reason\":\"line one\\nline two\\tend\"}", &b, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(b.operator_name, "");
    /* 31 x "é" = 62 bytes fits; 32 x "é" = 64 bytes is refused, never cut. */
    char body[512] = "{\"reason\":\"r\",\"operator\":\"";
    for (int i = 0; i < 31; i++)
        strcat(body, "\xc3\xa9");
    strcat(body, "\"}");
    CU_ASSERT_EQUAL(s_action(body, &b, err, sizeof err), 0);
    CU_ASSERT_EQUAL(strlen(b.operator_name), 62);
    strcpy(body + strlen(body) - 2, "\xc3\xa9\"}");
    CU_ASSERT_EQUAL(s_action(body, &b, err, sizeof err), DTX_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "operator"));
    CU_ASSERT_STRING_EQUAL(b.operator_name, "");
    const char *bad[] = {
        "{\"reason\":\"bad \xff here\"}",             /* invalid byte */
        "{\"reason\":\"cut \xc3\"}",                  /* cut sequence */
        "{\"reason\":\"overlong \xc0\xaf\"}",         /* overlong */
        "{\"reason\":\"surrogate \xed\xa0\x80\"}",    /* surrogate */
        "{\"reason\":\"esc \\u001b[2J\"}",            /* terminal escape */
        "{\"reason\":\"nul \\u0000 inside\"}",        /* NUL */
        "{\"reason\":\"c1 \\u009b\"}",                /* C1 control */
        "{\"reason\":\"r\",\"operator\":\"a\\nb\"}",  /* newline in a name */
        "{\"reason\":\"r\",\"operator\":\"\xff\"}",
        "{\"reason\":\"r\",\"operator\":5}",
        "{\"reason\":\"   \"}",
        "{\"reason\":5}",
        "{}",
        "[]",
        "{\"reason\":\"r\"} x",
        "{\"reason\":",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        CU_ASSERT_EQUAL(s_action(bad[i], &b, err, sizeof err), DTX_EINVAL);
        CU_ASSERT(err[0] != '\0');
    }
    char big[1024] = "{\"reason\":\"";
    memset(big + strlen(big), 'a', 600);
    strcat(big, "\"}");
    CU_ASSERT_EQUAL(s_action(big, &b, err, sizeof err), DTX_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "reason"));
}

static void test_host_allow_list(void)
{
    const char *listen = "127.0.0.1:8080";
    CU_ASSERT(dtx_admin_host_ok(NULL, listen, NULL));
    CU_ASSERT(dtx_admin_host_ok(NULL, listen, "127.0.0.1:8080"));
    CU_ASSERT(dtx_admin_host_ok(NULL, listen, "localhost"));
    CU_ASSERT(dtx_admin_host_ok(NULL, listen, "LocalHost:1"));
    CU_ASSERT(dtx_admin_host_ok(NULL, listen, "[::1]:8080"));
    CU_ASSERT(!dtx_admin_host_ok(NULL, listen, "evil.example"));
    CU_ASSERT(!dtx_admin_host_ok(NULL, listen, "evil.example:8080"));
    CU_ASSERT(!dtx_admin_host_ok(NULL, listen, "localhost.evil.example"));
    CU_ASSERT(!dtx_admin_host_ok(NULL, listen, "127.0.0.1.evil.example"));
    CU_ASSERT(!dtx_admin_host_ok(NULL, listen, ""));
    CU_ASSERT(!dtx_admin_host_ok(NULL, listen, "[::1"));
    CU_ASSERT(!dtx_admin_host_ok(NULL, listen, "[::1]x"));
    CU_ASSERT(!dtx_admin_host_ok(NULL, listen, "::1"));
    /* The listen host, and the listed names. */
    CU_ASSERT(dtx_admin_host_ok(NULL, "10.0.0.5:8080", "10.0.0.5:8080"));
    CU_ASSERT(dtx_admin_host_ok(NULL, "[fd00::5]:8080", "[FD00::5]:8080"));
    CU_ASSERT(!dtx_admin_host_ok(NULL, "10.0.0.5:8080", "10.0.0.6"));
    const char *list = "admin.example.net, ops ,fd00::7,[fd00::8]";
    CU_ASSERT(dtx_admin_host_ok(list, listen, "admin.example.net"));
    CU_ASSERT(dtx_admin_host_ok(list, listen, "ADMIN.example.net:443"));
    CU_ASSERT(dtx_admin_host_ok(list, listen, "ops"));
    CU_ASSERT(dtx_admin_host_ok(list, listen, "[fd00::7]:1"));
    CU_ASSERT(dtx_admin_host_ok(list, listen, "[fd00::8]"));
    CU_ASSERT(!dtx_admin_host_ok(list, listen, "op"));
    CU_ASSERT(!dtx_admin_host_ok(list, listen, "example.net"));
    CU_ASSERT(!dtx_admin_host_ok(",,", listen, "x"));
    CU_ASSERT(dtx_admin_host_ok("*", listen, "anything.example"));
}

UNIT_SUITE(admin_body)
{
    CU_pSuite s = CU_add_suite("admin_body", NULL, NULL);
    CU_add_test(s, "action body takes whole utf8 text only",
                test_action_body_takes_whole_utf8_text_only);
    CU_add_test(s, "host allow-list", test_host_allow_list);
}
