/* Gateway configuration: parsing, defaults and errors that name the
 * field (gw_config.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dtx/types.h"
#include "config/gw_config.h"
#include "config/gw_config_admin.h"
#include "config/gw_config_parse.h"
#include "unit.h"

#define S_TOKEN "9f2c41d07be85a3e"  /* 16 characters, random */

static const char *s_ok =
    "{\"listen\":\"127.0.0.1:8080\",\"admin\":{\"token\":\"" S_TOKEN "\"},"
    "\"dtxd\":{\"endpoint\":\"tcp://127.0.0.1:7070\"},"
    "\"pools\":[{\"name\":\"a\",\"lb\":\"weighted\",\"targets\":[{\"url\":\"http://127.0.0.1:1/\","
    "\"weight\":3},\"http://127.0.0.1:2\"],\"health\":{\"path\":\"/h\"},"
    "\"ejection\":{\"consecutive_5xx\":2}},{\"name\":\"b\",\"targets\":[\"http://127.0.0.1:3\"]}],"
    "\"rules\":[{\"name\":\"r\",\"type\":\"rate_limit\",\"rate\":30,\"per\":\"m\",\"burst\":5,"
    "\"delay\":2},{\"name\":\"k\",\"type\":\"breaker\",\"failure_statuses\":[\"5xx\",429]}],"
    "\"routes\":[{\"name\":\"x\",\"match\":{\"method\":[\"POST\"],\"prefix\":\"/x\"},"
    "\"split\":[{\"pool\":\"a\",\"weight\":9},{\"pool\":\"b\",\"weight\":1}],\"backup_pool\":\"b\","
    "\"rules\":[\"r\",\"k\"],\"validate\":{\"max_body\":100,\"json_fields\":{\"n\":\"integer\"}},"
    "\"fallback\":{\"status\":200,\"body\":\"{}\"},"
    "\"transaction\":{\"timeout_ms\":5000,\"commit_on\":[\"2xx\",\"304\"]}}]}";

static void test_valid_document_parses_with_defaults(void)
{
    char err[DTX_GW_ERR_SIZE];
    dtx_gw_config_t *c = dtx_gw_config_parse(s_ok, strlen(s_ok), err, sizeof err);
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT_EQUAL(c->npools, 2);
    CU_ASSERT_STRING_EQUAL(c->pools[0].targets[0].url, "http://127.0.0.1:1");  /* '/' trimmed */
    CU_ASSERT_EQUAL(c->pools[0].targets[0].weight, 3);
    CU_ASSERT_EQUAL(c->pools[0].health_interval_ms, 1000);
    CU_ASSERT_EQUAL(c->pools[0].eject_consecutive_5xx, 2);
    CU_ASSERT_EQUAL(c->pools[1].retries, 1);
    CU_ASSERT_EQUAL(c->rules[0].per_s, 60);
    CU_ASSERT_EQUAL(c->rules[0].delay, 2);
    CU_ASSERT(dtx_gw_statuses_has(&c->rules[1].failure_statuses, 503));
    CU_ASSERT(dtx_gw_statuses_has(&c->rules[1].failure_statuses, 429));
    CU_ASSERT(!dtx_gw_statuses_has(&c->rules[1].failure_statuses, 404));
    CU_ASSERT_EQUAL(c->routes[0].nsplit, 2);
    CU_ASSERT_EQUAL(c->routes[0].max_body, 100);
    CU_ASSERT(c->routes[0].transactional);
    CU_ASSERT(dtx_gw_statuses_has(&c->routes[0].commit_on, 304));
    CU_ASSERT(!dtx_gw_statuses_has(&c->routes[0].commit_on, 302));
    CU_ASSERT_STRING_EQUAL(c->admin_listen, "127.0.0.1:9901");
    dtx_gw_config_destroy(&c);
    CU_ASSERT_PTR_NULL(c);
}

/* Replaces the first `from` in s_ok with `to` and expects err to contain want. */
static void s_expect(const char *doc, const char *want)
{
    char err[DTX_GW_ERR_SIZE] = "";
    dtx_gw_config_t *c = dtx_gw_config_parse(doc, strlen(doc), err, sizeof err);
    CU_ASSERT_PTR_NULL(c);
    dtx_gw_config_destroy(&c);
    if (!strstr(err, want))
        fprintf(stderr, "\n  expected \"%s\" in \"%s\"\n", want, err);
    CU_ASSERT(strstr(err, want) != NULL);
}

static void s_patch(const char *from, const char *to, const char *want)
{
    char doc[4096];
    const char *at = strstr(s_ok, from);
    CU_ASSERT_FATAL(at != NULL);
    snprintf(doc, sizeof doc, "%.*s%s%s", (int)(at - s_ok), s_ok, to, at + strlen(from));
    s_expect(doc, want);
}

static void test_errors_name_the_field(void)
{
    s_expect("{", "not valid JSON");
    s_expect("[]", "must be an object");
    s_expect("{\"routes\":[]}", "pools: is required");
    s_patch("\"lb\":\"weighted\"", "\"lb\":\"random\"", "pools[0].lb: must be round_robin");
    s_patch("\"weight\":3", "\"weight\":0", "pools[0].targets[0].weight: must be between 1");
    s_patch("http://127.0.0.1:2", "ftp://x", "pools[0].targets[1].url: must start with http://");
    s_patch("\"rate\":30", "\"rate\":\"30\"", "rules[0].rate: must be a number");
    s_patch("\"delay\":2", "\"delay\":9", "rules[0].delay: must not exceed burst");
    s_patch("\"type\":\"breaker\"", "\"type\":\"brake\"", "rules[1].type: must be rate_limit");
    s_patch("[\"5xx\",429]", "[\"6xx\"]", "rules[1].failure_statuses[0]");
    s_patch("\"rules\":[\"r\",\"k\"]", "\"rules\":[\"r\",\"nope\"]",
            "routes[0].rules[1]: no rule named \"nope\"");
    s_patch("\"backup_pool\":\"b\"", "\"backup_pool\":\"c\"", "routes[0].backup_pool: no pool named");
    s_patch("{\"pool\":\"b\",\"weight\":1}", "{\"pool\":\"z\",\"weight\":1}",
            "routes[0].split[1].pool: no pool named \"z\"");
    s_patch("\"prefix\":\"/x\"", "\"prefix\":\"x\"", "routes[0].match.prefix: must start with /");
    s_patch("\"n\":\"integer\"", "\"n\":\"int\"", "routes[0].validate.json_fields.n");
    s_patch("\"burst\":5,", "\"burst\":5,\"brust\":1,", "rules[0].brust: unknown field");
    s_patch("{\"name\":\"b\",", "{\"name\":\"a\",", "pools[1].name: duplicate pool name");
    s_patch("\"dtxd\":{\"endpoint\":\"tcp://127.0.0.1:7070\"},", "",
            "routes[0].transaction: needs dtxd.endpoint");
    s_patch("\"fallback\":{\"status\":200,\"body\":\"{}\"}", "\"fallback\":{\"body\":\"{}\"}",
            "routes[0].fallback: needs exactly one of status");
    s_patch("\"listen\":\"127.0.0.1:8080\"", "\"listen\":\"nowhere\"", "listen: must be HOST:PORT");
}

/* A document with one dtxd_inflight rule; dtxd is the given section. */
static void s_dtxd_doc(char *out, size_t cap, const char *dtxd, const char *rule_extra)
{
    snprintf(out, cap,
             "{%s\"pools\":[{\"name\":\"p\",\"targets\":[\"http://127.0.0.1:1\"]}],"
             "\"rules\":[{\"name\":\"r\",\"type\":\"rate_limit\",\"rate\":5},"
             "{\"name\":\"coord\",\"type\":\"adaptive\",\"signal\":\"dtxd_inflight\"%s}],"
             "\"routes\":[{\"name\":\"x\",\"match\":{\"prefix\":\"/\"},\"pool\":\"p\","
             "\"rules\":[\"coord\"]}]}",
             dtxd, rule_extra);
}

static void test_dtxd_section_defaults_and_admin(void)
{
    char doc[2048], err[DTX_GW_ERR_SIZE];
    s_dtxd_doc(doc, sizeof doc, "\"dtxd\":{\"admin\":\"http://127.0.0.1:7080/\"},",
               ",\"dtxd_max_inflight\":50");
    dtx_gw_config_t *c = dtx_gw_config_parse(doc, strlen(doc), err, sizeof err);
    if (!c)
        fprintf(stderr, "\n  %s\n", err);
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT_STRING_EQUAL(c->dtxd_admin, "http://127.0.0.1:7080");  /* '/' trimmed */
    CU_ASSERT_PTR_NULL(c->dtxd_endpoint);  /* admin alone is enough */
    CU_ASSERT_PTR_NULL(c->dtxd_admin_token);
    CU_ASSERT_EQUAL(c->dtxd_poll_ms, 500);
    CU_ASSERT_EQUAL(c->dtxd_stale_ms, 2000);
    CU_ASSERT_EQUAL(c->rules[1].dtxd_max_inflight, 50);
    CU_ASSERT(dtx_gw_config_uses_dtxd_inflight(c));
    dtx_gw_config_destroy(&c);
    s_dtxd_doc(doc, sizeof doc,
               "\"dtxd\":{\"admin\":\"https://dtxd.internal:7443\",\"admin_token\":\"t0k\","
               "\"admin_cacert\":\"/etc/dtx/ca.pem\",\"poll_ms\":1000},",
               ",\"dtxd_max_inflight\":1");
    c = dtx_gw_config_parse(doc, strlen(doc), err, sizeof err);
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT_EQUAL(c->dtxd_stale_ms, 4000);  /* 4 x poll_ms */
    CU_ASSERT_STRING_EQUAL(c->dtxd_admin_token, "t0k");
    CU_ASSERT_STRING_EQUAL(c->dtxd_admin_cacert, "/etc/dtx/ca.pem");
    dtx_gw_config_destroy(&c);
    /* Without such a rule nothing is polled. */
    c = dtx_gw_config_parse(s_ok, strlen(s_ok), err, sizeof err);
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT(!dtx_gw_config_uses_dtxd_inflight(c));
    CU_ASSERT_EQUAL(c->dtxd_stale_ms, 2000);
    dtx_gw_config_destroy(&c);
}

static void test_dtxd_inflight_errors_name_the_field(void)
{
    char doc[2048];
    const char *max = ",\"dtxd_max_inflight\":50";
    s_dtxd_doc(doc, sizeof doc, "", max);
    s_expect(doc, "rules[1].signal: \"dtxd_inflight\" needs dtxd.admin");
    s_dtxd_doc(doc, sizeof doc, "\"dtxd\":{\"endpoint\":\"tcp://127.0.0.1:7070\"},", max);
    s_expect(doc, "rules[1].signal: \"dtxd_inflight\" needs dtxd.admin");
    s_dtxd_doc(doc, sizeof doc, "\"dtxd\":{\"admin\":\"http://127.0.0.1:7080\"},", "");
    s_expect(doc, "rules[1].dtxd_max_inflight: must be > 0 with signal \"dtxd_inflight\"");
    s_dtxd_doc(doc, sizeof doc, "\"dtxd\":{\"admin\":\"http://127.0.0.1:7080\"},",
               ",\"dtxd_max_inflight\":0");
    s_expect(doc, "rules[1].dtxd_max_inflight: must be > 0");
    s_dtxd_doc(doc, sizeof doc, "\"dtxd\":{\"admin\":\"http://127.0.0.1:7080\"},",
               ",\"dtxd_max_inflight\":-3");
    s_expect(doc, "rules[1].dtxd_max_inflight: must be between 0 and");
    s_dtxd_doc(doc, sizeof doc, "\"dtxd\":{\"admin\":\"127.0.0.1:7080\"},", max);
    s_expect(doc, "dtxd.admin: must be http://HOST:PORT or https://HOST:PORT");
    s_dtxd_doc(doc, sizeof doc, "\"dtxd\":{\"admin\":\"http://127.0.0.1:7080/metrics\"},", max);
    s_expect(doc, "dtxd.admin: must be http://HOST:PORT");
    s_dtxd_doc(doc, sizeof doc, "\"dtxd\":{\"admin\":\"http://\"},", max);
    s_expect(doc, "dtxd.admin: must be http://HOST:PORT");
    s_dtxd_doc(doc, sizeof doc, "\"dtxd\":{\"admin\":7080},", max);
    s_expect(doc, "dtxd.admin: must be a string");
    s_dtxd_doc(doc, sizeof doc, "\"dtxd\":{},", max);
    s_expect(doc, "dtxd: needs endpoint (transactional routes) or admin");
    s_dtxd_doc(doc, sizeof doc, "\"dtxd\":{\"admin\":\"http://h:1\",\"poll_ms\":5},", max);
    s_expect(doc, "dtxd.poll_ms: must be between 10 and 600000");
    s_dtxd_doc(doc, sizeof doc,
               "\"dtxd\":{\"admin\":\"http://h:1\",\"poll_ms\":500,\"stale_ms\":500},", max);
    s_expect(doc, "dtxd.stale_ms: must be greater than poll_ms (500)");
    s_dtxd_doc(doc, sizeof doc, "\"dtxd\":{\"admin\":\"http://h:1\",\"admin_token\":\"\"},", max);
    s_expect(doc, "dtxd.admin_token: must be 1-1000 printable characters without spaces");
    s_dtxd_doc(doc, sizeof doc,
               "\"dtxd\":{\"admin\":\"http://h:1\",\"admin_token\":\"a\\r\\nX-Evil: 1\"},", max);
    s_expect(doc, "dtxd.admin_token: must be 1-1000 printable characters without spaces");
    s_dtxd_doc(doc, sizeof doc, "\"dtxd\":{\"admin\":\"http://h:1\",\"pol_ms\":100},", max);
    s_expect(doc, "dtxd.pol_ms: unknown field");
}

/* ---------------- admin: listen ports, token strength, restarts ---------------- */

static void test_listen_ports_are_range_checked(void)
{
    s_patch("\"listen\":\"127.0.0.1:8080\"", "\"listen\":\"127.0.0.1:95536\"",
            "listen: has a bad port (0-65535");
    s_patch("\"listen\":\"127.0.0.1:8080\"", "\"listen\":\"127.0.0.1:65536\"",
            "listen: has a bad port");
    s_patch("\"listen\":\"127.0.0.1:8080\"", "\"listen\":\"127.0.0.1:8o\"", "listen: has a bad port");
    s_patch("\"admin\":{", "\"admin\":{\"listen\":\"127.0.0.1:-1\",", "admin.listen: has a bad port");
    s_patch("\"admin\":{", "\"admin\":{\"listen\":\"example.com:80\",", "admin.listen: has a bad host");
    s_patch("http://127.0.0.1:2", "http://127.0.0.1:2/p?q=1",
            "pools[0].targets[1].url: must not carry a query");
    s_patch("http://127.0.0.1:2", "http://127.0.0.1:70000", "pools[0].targets[1].url: has a bad port");
}

static void test_admin_token_must_be_strong(void)
{
    static const char *const weak[] = { "change-me", "s3", "0123456789abcde", /* 15 */
        "CHANGE_ME-change-me", "changemechangeme", "secret-password-123", "aaaaaaaaaaaaaaaaaaaa",
        "abababababababababab", "your-token-here-please", NULL };
    for (int i = 0; weak[i]; i++) {
        char from[64], to[128], why[160];
        snprintf(from, sizeof from, "\"token\":\"%s\"", S_TOKEN);
        snprintf(to, sizeof to, "\"token\":\"%s\"", weak[i]);
        s_patch(from, to, "admin.token: ");
        CU_ASSERT_EQUAL(dtx_gw_admin_token_check(weak[i], why, sizeof why), DTX_EINVAL);
        CU_ASSERT(strstr(why, weak[i]) == NULL);  /* the reason never echoes the token */
    }
    char why[160];
    CU_ASSERT_EQUAL(dtx_gw_admin_token_check("9f2c41d07be85a3e", why, sizeof why), 0);
    CU_ASSERT_EQUAL(dtx_gw_admin_token_check("test-token-0123456789", why, sizeof why), 0);
    CU_ASSERT_EQUAL(dtx_gw_admin_token_check("with space in the token", why, sizeof why),
                    DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_gw_admin_token_check("tab\tinside-the-token-x", why, sizeof why),
                    DTX_EINVAL);
    char longest[DTX_GW_ADMIN_TOKEN_MAX + 2];
    for (int i = 0; i < DTX_GW_ADMIN_TOKEN_MAX + 1; i++)
        longest[i] = "0123456789abcdef"[i % 16];
    longest[DTX_GW_ADMIN_TOKEN_MAX + 1] = '\0';
    CU_ASSERT_EQUAL(dtx_gw_admin_token_check(longest, why, sizeof why), DTX_EINVAL);
    longest[DTX_GW_ADMIN_TOKEN_MAX] = '\0';
    CU_ASSERT_EQUAL(dtx_gw_admin_token_check(longest, why, sizeof why), 0);
}

static int s_token_file(const char *text, char *out, size_t cap, char *err, size_t errlen)
{
    char path[] = "/tmp/test-gw-admin-token-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    int rc = dtx_gw_admin_token_load(path, out, cap, err, errlen);
    remove(path);
    return rc;
}

static void test_admin_token_file_is_read_and_checked(void)
{
    char tok[DTX_GW_ADMIN_TOKEN_MAX + 1], err[512];
    CU_ASSERT_EQUAL(s_token_file("# admin token\n\n  9f2c41d07be85a3e  \r\nignored\n", tok,
                                 sizeof tok, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(tok, "9f2c41d07be85a3e");
    CU_ASSERT_EQUAL(s_token_file("a1b2:c3d4e5f6a7b8c9d0", tok, sizeof tok, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(tok, "a1b2:c3d4e5f6a7b8c9d0");  /* the whole line, no name: */
    CU_ASSERT_EQUAL(s_token_file("change-me\n", tok, sizeof tok, err, sizeof err), DTX_EINVAL);
    CU_ASSERT(strstr(err, "change-me") == NULL);
    CU_ASSERT(strstr(err, "the token must be") != NULL);
    CU_ASSERT_EQUAL(s_token_file("# nothing\n\n", tok, sizeof tok, err, sizeof err), DTX_EINVAL);
    CU_ASSERT(strstr(err, "holds no token") != NULL);
    CU_ASSERT_EQUAL(s_token_file("", tok, sizeof tok, err, sizeof err), DTX_EINVAL);
    char small[8];
    CU_ASSERT_EQUAL(s_token_file("9f2c41d07be85a3e\n", small, sizeof small, err, sizeof err),
                    DTX_EINVAL);
    CU_ASSERT(strstr(err, "longer than") != NULL);
    CU_ASSERT_EQUAL(dtx_gw_admin_token_load("/nonexistent/token", tok, sizeof tok, err, sizeof err),
                    DTX_EIO);
}

static void test_restart_fields_are_named(void)
{
    char err[DTX_GW_ERR_SIZE], doc[4096];
    dtx_gw_config_t *a = dtx_gw_config_parse(s_ok, strlen(s_ok), err, sizeof err);
    dtx_gw_config_t *b = dtx_gw_config_parse(s_ok, strlen(s_ok), err, sizeof err);
    CU_ASSERT_FATAL(a && b);
    CU_ASSERT_PTR_NULL(dtx_gw_config_restart_field(a, b));
    dtx_gw_config_destroy(&b);
    const char *at = strstr(s_ok, "127.0.0.1:8080");
    snprintf(doc, sizeof doc, "%.*s127.0.0.1:8081%s", (int)(at - s_ok), s_ok, at + 14);
    b = dtx_gw_config_parse(doc, strlen(doc), err, sizeof err);
    CU_ASSERT_FATAL(b != NULL);
    CU_ASSERT_STRING_EQUAL(dtx_gw_config_restart_field(a, b), "listen");
    dtx_gw_config_destroy(&b);
    at = strstr(s_ok, "\"admin\":{");
    snprintf(doc, sizeof doc, "%.*s\"admin\":{\"listen\":\"127.0.0.1:9902\",%s", (int)(at - s_ok),
             s_ok, at + 9);
    b = dtx_gw_config_parse(doc, strlen(doc), err, sizeof err);
    CU_ASSERT_FATAL(b != NULL);
    CU_ASSERT_STRING_EQUAL(dtx_gw_config_restart_field(a, b), "admin.listen");
    dtx_gw_config_destroy(&b);
    dtx_gw_config_destroy(&a);
}

/* The "server" section: engine and the native engine's limits. */
static void test_server_section(void)
{
    char err[DTX_GW_ERR_SIZE];
    dtx_gw_config_t *c = dtx_gw_config_parse(s_ok, strlen(s_ok), err, sizeof err);
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT_EQUAL(c->server_engine, DTX_GW_SERVER_ENGINE_DEFAULT);
    CU_ASSERT_EQUAL(c->server_header_timeout_ms, 60000);
    CU_ASSERT_EQUAL(c->server_idle_timeout_ms, 120000);
    CU_ASSERT_EQUAL(c->server_max_head, 16 * 1024);
    dtx_gw_config_destroy(&c);
    char doc[4096];
    snprintf(doc, sizeof doc, "{\"server\":{\"engine\":\"mhd\",\"idle_timeout_ms\":5000,"
                              "\"max_head\":8192},%s", s_ok + 1);
    c = dtx_gw_config_parse(doc, strlen(doc), err, sizeof err);
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT_EQUAL(c->server_engine, DTX_GW_SERVER_ENGINE_MHD);
    CU_ASSERT_EQUAL(c->server_idle_timeout_ms, 5000);
    CU_ASSERT_EQUAL(c->server_max_head, 8192);
    dtx_gw_config_destroy(&c);
    snprintf(doc, sizeof doc, "{\"server\":{\"engine\":\"native\"},%s", s_ok + 1);
    c = dtx_gw_config_parse(doc, strlen(doc), err, sizeof err);
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT_EQUAL(c->server_engine, DTX_GW_SERVER_ENGINE_NATIVE);
    dtx_gw_config_destroy(&c);
    static const char *const bad[][2] = {
        { "{\"server\":{\"engine\":\"nginx\"},", "server.engine" },
        { "{\"server\":{\"engine\":3},", "server.engine" },
        { "{\"server\":{\"max_head\":10},", "server.max_head" },
        { "{\"server\":{\"idle_timeout_ms\":0},", "server.idle_timeout_ms" },
        { "{\"server\":{\"workers\":2},", "workers" },
        { "{\"server\":[],", "server" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(doc, sizeof doc, "%s%s", bad[i][0], s_ok + 1);
        s_expect(doc, bad[i][1]);
    }
    /* Bound at start: a swap that changes it is refused, naming it. */
    dtx_gw_config_t *a = dtx_gw_config_parse(s_ok, strlen(s_ok), err, sizeof err);
    snprintf(doc, sizeof doc, "{\"server\":{\"header_timeout_ms\":1000},%s", s_ok + 1);
    dtx_gw_config_t *b = dtx_gw_config_parse(doc, strlen(doc), err, sizeof err);
    CU_ASSERT_FATAL(a && b);
    CU_ASSERT_PTR_NULL(dtx_gw_config_restart_field(a, a));
    CU_ASSERT_STRING_EQUAL(dtx_gw_config_restart_field(a, b), "server");
    dtx_gw_config_destroy(&a);
    dtx_gw_config_destroy(&b);
}

UNIT_SUITE(gw_config)
{
    CU_pSuite s = CU_add_suite("gw_config", NULL, NULL);
    CU_add_test(s, "valid document parses with defaults", test_valid_document_parses_with_defaults);
    CU_add_test(s, "errors name the field", test_errors_name_the_field);
    CU_add_test(s, "server section", test_server_section);
    CU_add_test(s, "dtxd section defaults and admin", test_dtxd_section_defaults_and_admin);
    CU_add_test(s, "dtxd_inflight errors name the field", test_dtxd_inflight_errors_name_the_field);
    CU_add_test(s, "listen ports are range checked", test_listen_ports_are_range_checked);
    CU_add_test(s, "admin token must be strong", test_admin_token_must_be_strong);
    CU_add_test(s, "admin token file is read and checked", test_admin_token_file_is_read_and_checked);
    CU_add_test(s, "restart fields are named", test_restart_fields_are_named);
}
