/* Option loading (common/include/dtx/config.h) and dtxd's checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "engine/coord.h"
#include "dtx/config.h"
#include "unit.h"

static char s_name[DTX_OPT_STRMAX];
static int64_t s_num;
static int s_flag;
static const dtx_opt_t s_opts[] = {
    { "name", DTX_OPT_STRING, s_name, 0, 0, "a name" },
    { "num-ms", DTX_OPT_INT, &s_num, 1, 1000, "a number" },
    { "flag", DTX_OPT_BOOL, &s_flag, 0, 1, "a flag" },
    { NULL, 0, NULL, 0, 0, NULL },
};

static int s_load(int argc, char **argv, char *err)
{
    s_name[0] = '\0';
    s_num = 5;
    s_flag = 0;
    return dtx_config_load(s_opts, "t", "DTXT_", argc, argv, err, 256);
}

static void s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void test_flags_set_values_in_both_forms(void)
{
    char err[256] = "";
    char *argv[] = { "t", "--name", "x", "--num-ms=7", "--flag", NULL };
    CU_ASSERT_EQUAL(s_load(5, argv, err), 0);
    CU_ASSERT_STRING_EQUAL(s_name, "x");
    CU_ASSERT_EQUAL(s_num, 7);
    CU_ASSERT_EQUAL(s_flag, 1);
}

static void test_precedence_flag_over_env_over_file(void)
{
    char err[256] = "", path[] = "/tmp/dtx-config-test-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    s_write(path, "# comment\nname = fromfile\nnum-ms = 9\nflag = yes\n");
    setenv("DTXT_NUM_MS", "11", 1);
    char *argv[] = { "t", "--config", path, NULL };
    CU_ASSERT_EQUAL(s_load(3, argv, err), 0);
    CU_ASSERT_STRING_EQUAL(s_name, "fromfile");
    CU_ASSERT_EQUAL(s_num, 11);
    CU_ASSERT_EQUAL(s_flag, 1);
    char *argv2[] = { "t", "--config", path, "--num-ms", "12", NULL };
    CU_ASSERT_EQUAL(s_load(5, argv2, err), 0);
    CU_ASSERT_EQUAL(s_num, 12);
    unsetenv("DTXT_NUM_MS");
    unlink(path);
}

static void test_errors_name_the_option_and_source(void)
{
    char err[256];
    char *a1[] = { "t", "--num-ms", "abc", NULL };
    CU_ASSERT_EQUAL(s_load(3, a1, err), DTX_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--num-ms"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a number"));
    char *a2[] = { "t", "--num-ms", "5000", NULL };
    CU_ASSERT_EQUAL(s_load(3, a2, err), DTX_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "out of range"));
    char *a3[] = { "t", "--bogus", NULL };
    CU_ASSERT_EQUAL(s_load(2, a3, err), DTX_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown option"));
    char *a4[] = { "t", "--name", NULL };
    CU_ASSERT_EQUAL(s_load(2, a4, err), DTX_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "missing value"));
    char *a5[] = { "t", "stray", NULL };
    CU_ASSERT_EQUAL(s_load(2, a5, err), DTX_ECONFIG);
    char *a6[] = { "t", "--flag=maybe", NULL };
    CU_ASSERT_EQUAL(s_load(2, a6, err), DTX_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a boolean"));
    setenv("DTXT_NUM_MS", "-3", 1);
    char *a7[] = { "t", NULL };
    CU_ASSERT_EQUAL(s_load(1, a7, err), DTX_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "DTXT_NUM_MS"));
    unsetenv("DTXT_NUM_MS");
}

static void test_bad_config_file_lines_are_errors(void)
{
    char err[256], path[] = "/tmp/dtx-config-test-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    char *argv[] = { "t", "--config", path, NULL };
    s_write(path, "name x\n");
    CU_ASSERT_EQUAL(s_load(3, argv, err), DTX_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "line 1"));
    s_write(path, "\n\nnope = 1\n");
    CU_ASSERT_EQUAL(s_load(3, argv, err), DTX_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "line 3"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown option"));
    unlink(path);
    CU_ASSERT_EQUAL(s_load(3, argv, err), DTX_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot open"));
}

static void test_dtxd_requires_db_and_checks_consistency(void)
{
    dtx_coord_config_t cfg;
    char err[512];
    char *a1[] = { "dtxd", NULL };
    CU_ASSERT_EQUAL(dtx_coord_config_load(&cfg, 1, a1, err, sizeof err), DTX_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--db"));
    char *a2[] = { "dtxd", "--db", "x", "--default-timeout-ms", "900000", NULL };
    CU_ASSERT_EQUAL(dtx_coord_config_load(&cfg, 5, a2, err, sizeof err), DTX_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--max-timeout-ms"));
    char *a3[] = { "dtxd", "--db", "x", "--log-level", "loud", NULL };
    CU_ASSERT_EQUAL(dtx_coord_config_load(&cfg, 5, a3, err, sizeof err), DTX_ECONFIG);
    char *a4[] = { "dtxd", "--db", "x", "--node-id", "has space", NULL };
    CU_ASSERT_EQUAL(dtx_coord_config_load(&cfg, 5, a4, err, sizeof err), DTX_ECONFIG);
    char *a5[] = { "dtxd", "--db", "x", "--heartbeat-ms", "250", NULL };
    CU_ASSERT_EQUAL(dtx_coord_config_load(&cfg, 5, a5, err, sizeof err), 0);
    CU_ASSERT_EQUAL(cfg.heartbeat_ms, 250);
    CU_ASSERT_EQUAL(cfg.phase_timeout_ms, 2000);
}

static void test_retention_is_a_duration_and_zero_keeps_forever(void)
{
    dtx_coord_config_t cfg;
    char err[512];
    char *a1[] = { "dtxd", "--db", "x", NULL };
    CU_ASSERT_EQUAL(dtx_coord_config_load(&cfg, 3, a1, err, sizeof err), 0);
    CU_ASSERT_EQUAL(cfg.retention_ms, 7LL * 86400000);
    char *a2[] = { "dtxd", "--db", "x", "--retention", "0", NULL };
    CU_ASSERT_EQUAL(dtx_coord_config_load(&cfg, 5, a2, err, sizeof err), 0);
    CU_ASSERT_EQUAL(cfg.retention_ms, 0);
    char *a3[] = { "dtxd", "--db", "x", "--retention=36h", NULL };
    CU_ASSERT_EQUAL(dtx_coord_config_load(&cfg, 4, a3, err, sizeof err), 0);
    CU_ASSERT_EQUAL(cfg.retention_ms, 36LL * 3600000);
    char *a4[] = { "dtxd", "--db", "x", "--retention", "a week", NULL };
    CU_ASSERT_EQUAL(dtx_coord_config_load(&cfg, 5, a4, err, sizeof err), DTX_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--retention"));
    char *a5[] = { "dtxd", "--db", "x", "--retention", "-1d", NULL };
    CU_ASSERT_EQUAL(dtx_coord_config_load(&cfg, 5, a5, err, sizeof err), DTX_ECONFIG);
}

/* --log-format: text by default, json asked by flag or DTX_LOG_FORMAT,
 * any other name refused. */
static void test_dtxd_log_format_is_text_or_json(void)
{
    dtx_coord_config_t cfg;
    char err[512];
    char *a1[] = { "dtxd", "--db", "x", NULL };
    CU_ASSERT_EQUAL(dtx_coord_config_load(&cfg, 3, a1, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(cfg.log_format, "text");
    char *a2[] = { "dtxd", "--db", "x", "--log-format", "json", NULL };
    CU_ASSERT_EQUAL(dtx_coord_config_load(&cfg, 5, a2, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(cfg.log_format, "json");
    setenv("DTX_LOG_FORMAT", "json", 1);
    CU_ASSERT_EQUAL(dtx_coord_config_load(&cfg, 3, a1, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(cfg.log_format, "json");
    unsetenv("DTX_LOG_FORMAT");
    char *a3[] = { "dtxd", "--db", "x", "--log-format", "xml", NULL };
    CU_ASSERT_EQUAL(dtx_coord_config_load(&cfg, 5, a3, err, sizeof err), DTX_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--log-format"));
}

UNIT_SUITE(config)
{
    CU_pSuite s = CU_add_suite("config", NULL, NULL);
    CU_add_test(s, "flags set values in both forms", test_flags_set_values_in_both_forms);
    CU_add_test(s, "precedence flag over env over file", test_precedence_flag_over_env_over_file);
    CU_add_test(s, "errors name the option and source", test_errors_name_the_option_and_source);
    CU_add_test(s, "bad config file lines are errors", test_bad_config_file_lines_are_errors);
    CU_add_test(s, "dtxd requires db and checks consistency", test_dtxd_requires_db_and_checks_consistency);
    CU_add_test(s, "retention is a duration and zero keeps forever",
                test_retention_is_a_duration_and_zero_keeps_forever);
    CU_add_test(s, "dtxd log format is text or json", test_dtxd_log_format_is_text_or_json);
}
