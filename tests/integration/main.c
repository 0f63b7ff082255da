/*
 * Integration test runner: runs every suite registered with INTEG_SUITE
 * against the private PostgreSQL and binaries named by tests/run.sh.
 *
 * Usage: integration_tests [--list | NAME...], each NAME a SUITE or SUITE:TEST
 * Exit status 0 only when at least one test ran and none failed; 2 when
 * the environment is missing or the name is unknown.
 *
 * It also carries the harness's own suite ("harness"): process control,
 * databases, and starting dtxd and test-participant for real, so a broken
 * harness shows up as such and not as a mysterious failure elsewhere.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <CUnit/TestRun.h>

#include "dtx/logging.h"
#include "integ.h"

#define MAX_SUITES 64
static integ_suite_fn s_suites[MAX_SUITES];
static int s_nsuites;

void integ_register(integ_suite_fn fn)
{
    if (s_nsuites < MAX_SUITES)
        s_suites[s_nsuites++] = fn;
}

/* ------------------------------------------------------------------ */
/* Reporter                                                            */
/* ------------------------------------------------------------------ */

static int     s_test_mark;   /* h_spawn_count() when the test started */
static int64_t s_test_t0;     /* its start time, ms */
static int64_t s_suite_t0;

/* DTX_TEST_GW_ENGINE as the runner found it (NULL: unset). */
static char *s_engine_given;

/* A suite named "NAME@ENGINE" is suite NAME run again with the gateway's
 * front end ENGINE (see s_add_engine_variants); every other suite runs
 * with the engine the runner was given (DTX_TEST_GW_ENGINE), by default
 * the gateway's own. "NAME@noring" is suite NAME with the native engine's
 * send ring off (--send-ring off: every write a writev/sendmsg). */
static void s_on_suite_start(const CU_pSuite suite)
{
    const char *at = strchr(suite->pName, '@');
    if (at && strcmp(at + 1, "noring") == 0)
        setenv("DTX_TEST_GW_SEND_RING", "off", 1);   /* NAME@noring: writev */
    else
        unsetenv("DTX_TEST_GW_SEND_RING");
    if (at && strcmp(at + 1, "noring") != 0)
        setenv("DTX_TEST_GW_ENGINE", at + 1, 1);
    else if (s_engine_given)
        setenv("DTX_TEST_GW_ENGINE", s_engine_given, 1);
    else
        unsetenv("DTX_TEST_GW_ENGINE");
    s_suite_t0 = h_now_ms();
    printf("suite %s\n", suite->pName);
    fflush(stdout);
}

static void s_on_test_start(const CU_pTest test, const CU_pSuite suite)
{
    (void)suite;
    s_test_mark = h_spawn_count();
    s_test_t0 = h_now_ms();
    printf("  %s ... ", test->pName);
    fflush(stdout);
}

static void s_on_test_complete(const CU_pTest test, const CU_pSuite suite,
                               const CU_pFailureRecord failure)
{
    (void)test;
    (void)suite;
    int64_t ms = h_now_ms() - s_test_t0;
    if (!failure) {
        printf("ok (%" PRId64 " ms)\n", ms);
    } else {
        printf("FAILED (%" PRId64 " ms)\n", ms);
        for (CU_pFailureRecord f = failure; f; f = f->pNext)
            printf("    %s:%u: %s\n", f->strFileName ? f->strFileName : "?",
                   f->uiLineNumber, f->strCondition ? f->strCondition : "?");
        fflush(stdout);
        h_print_logs_since(s_test_mark);
    }
    int left = h_kill_since(s_test_mark);
    if (left > 0)
        printf("    (killed %d process%s the test left running)\n", left, left == 1 ? "" : "es");
    fflush(stdout);
}

static void s_on_suite_complete(const CU_pSuite suite, const CU_pFailureRecord failure)
{
    (void)failure;
    /* Fixtures from the suite's init function go now. */
    h_kill_since(0);
    printf("suite %s done (%" PRId64 " ms)\n", suite->pName, h_now_ms() - s_suite_t0);
    fflush(stdout);
}

static void s_on_suite_init_failure(const CU_pSuite suite)
{
    printf("suite %s: init FAILED, its tests did not run\n", suite->pName);
    fflush(stdout);
    h_print_logs_since(0);
    h_kill_since(0);
}

static void s_on_suite_cleanup_failure(const CU_pSuite suite)
{
    printf("suite %s: cleanup FAILED\n", suite->pName);
    fflush(stdout);
}

/* ------------------------------------------------------------------ */
/* The harness's own suite                                             */
/* ------------------------------------------------------------------ */

/* Runs script with /bin/sh; arg (may be NULL) is its $1. */
static pid_t s_spawn_sh_arg(const char *logname, const char *script, const char *arg)
{
    char *argv[] = { "/bin/sh", "-c", (char *)script, "sh", (char *)arg, NULL };
    return h_spawn(logname, argv);
}

static pid_t s_spawn_sh(const char *logname, const char *script)
{
    return s_spawn_sh_arg(logname, script, NULL);
}

static void test_spawned_process_stops_on_sigterm_with_its_status(void)
{
    char *argv[] = { "sleep", "30", NULL };
    pid_t pid = h_spawn("h-sleep", argv);
    CU_ASSERT_FATAL(pid > 0);
    CU_ASSERT(h_alive(pid));
    CU_ASSERT_EQUAL(getpgid(pid), pid);
    CU_ASSERT_EQUAL(h_stop(pid, SIGTERM, 2000), 128 + SIGTERM);
    CU_ASSERT(!h_alive(pid));
    /* Asking again gives the same status. */
    CU_ASSERT_EQUAL(h_stop(pid, SIGTERM, 10), 128 + SIGTERM);
}

static void test_stop_escalates_to_sigkill_when_sigterm_is_ignored(void)
{
    pid_t pid = s_spawn_sh("h-stubborn", "trap '' TERM; exec sleep 30");
    CU_ASSERT_FATAL(pid > 0);
    h_sleep_ms(100);  /* let the trap be set */
    int64_t t0 = h_now_ms();
    CU_ASSERT_EQUAL(h_stop(pid, SIGTERM, 300), -1);
    CU_ASSERT(h_now_ms() - t0 < 3000);
    CU_ASSERT(!h_alive(pid));
}

static void test_exit_status_and_output_reach_the_log(void)
{
    pid_t pid = s_spawn_sh("h-output", "echo to-stdout; echo to-stderr >&2; exit 7");
    CU_ASSERT_FATAL(pid > 0);
    CU_ASSERT_EQUAL(h_wait_exit(pid, 5000), 7);
    CU_ASSERT(h_log_has("h-output", "to-stdout"));
    CU_ASSERT(h_log_has("h-output", "to-stderr"));
    CU_ASSERT(h_log_has("h-output", "=== harness"));
}

static void test_exec_failure_is_reported_by_spawn(void)
{
    char *argv[] = { "/nonexistent/dtx-no-such-binary", NULL };
    CU_ASSERT_EQUAL(h_spawn("h-missing", argv), -1);
}

static void test_run_kills_a_process_past_its_timeout(void)
{
    char *ok[] = { "true", NULL };
    CU_ASSERT_EQUAL(h_run("h-true", ok, 5000), 0);
    char *slow[] = { "sleep", "30", NULL };
    int64_t t0 = h_now_ms();
    CU_ASSERT_EQUAL(h_run("h-slow", slow, 200), -1);
    CU_ASSERT(h_now_ms() - t0 < 3000);
}

static void test_kill_since_kills_the_whole_process_group(void)
{
    char pidfile[1024];
    CU_ASSERT_FATAL(h_scratch_path("h-group.pid", pidfile, sizeof pidfile) == 0);
    unlink(pidfile);
    int mark = h_spawn_count();
    pid_t pid = s_spawn_sh_arg("h-group", "sleep 30 & echo $! > \"$1.tmp\"; mv \"$1.tmp\" \"$1\"; wait",
                               pidfile);
    CU_ASSERT_FATAL(pid > 0);
    char line[64];
    CU_ASSERT_FATAL(h_wait_file_line(pidfile, line, sizeof line, pid, 5000) == 0);
    pid_t grandchild = (pid_t)atoi(line);
    CU_ASSERT_FATAL(grandchild > 0);
    CU_ASSERT_EQUAL(getpgid(grandchild), pid);
    CU_ASSERT_EQUAL(h_kill_since(mark), 1);
    CU_ASSERT(!h_alive(pid));
    /* The grandchild got SIGKILL with its group; it may linger as a zombie
     * until init reaps it, so look at its state, not its existence. */
    int gone = 0;
    for (int i = 0; i < 100 && !gone; i++) {
        char stat[64], buf[256] = "";
        snprintf(stat, sizeof stat, "/proc/%d/stat", (int)grandchild);
        FILE *f = fopen(stat, "r");
        if (!f) {
            gone = 1;
            break;
        }
        if (fgets(buf, sizeof buf, f)) {
            char *p = strrchr(buf, ')');
            gone = p && p[1] == ' ' && p[2] == 'Z';
        }
        fclose(f);
        if (!gone)
            h_sleep_ms(20);
    }
    CU_ASSERT(gone);
}

static int s_counter_reaches_five(void *arg)
{
    int *n = arg;
    return ++*n >= 5;
}

static int s_never(void *arg)
{
    (void)arg;
    return 0;
}

static void test_wait_until_polls_until_true_or_timeout(void)
{
    int n = 0;
    CU_ASSERT_EQUAL(h_wait_until(s_counter_reaches_five, &n, 5000), 0);
    CU_ASSERT_EQUAL(n, 5);
    int64_t t0 = h_now_ms();
    CU_ASSERT_EQUAL(h_wait_until(s_never, NULL, 100), -1);
    int64_t took = h_now_ms() - t0;
    CU_ASSERT(took >= 100 && took < 2000);
}

static void test_wait_file_line_sees_a_renamed_file(void)
{
    char path[1024], line[128] = "";
    CU_ASSERT_FATAL(h_scratch_path("h-endpoint", path, sizeof path) == 0);
    unlink(path);
    pid_t pid = s_spawn_sh_arg("h-writer",
                               "sleep 0.2; printf 'tcp://127.0.0.1:1\\n' > \"$1.tmp\"; "
                               "mv \"$1.tmp\" \"$1\"; sleep 30", path);
    CU_ASSERT_FATAL(pid > 0);
    CU_ASSERT_EQUAL(h_wait_file_line(path, line, sizeof line, pid, 5000), 0);
    CU_ASSERT_STRING_EQUAL(line, "tcp://127.0.0.1:1");
    h_stop(pid, SIGKILL, 1000);
    /* A writer that dies first makes the wait give up at once. */
    unlink(path);
    pid = s_spawn_sh("h-quitter", "exit 3");
    CU_ASSERT_FATAL(pid > 0);
    int64_t t0 = h_now_ms();
    CU_ASSERT_EQUAL(h_wait_file_line(path, line, sizeof line, pid, 5000), -1);
    CU_ASSERT(h_now_ms() - t0 < 2000);
}

static void test_db_create_gives_a_fresh_database(void)
{
    char ci[H_CONNINFO_SIZE];
    char real[64], want[80];
    CU_ASSERT_FATAL(h_db_create("h_selftest", ci, sizeof ci) == 0);
    CU_ASSERT_FATAL(h_db_name("h_selftest", real, sizeof real) == 0);
    snprintf(want, sizeof want, "dbname=%s", real);
    CU_ASSERT(strstr(ci, want) != NULL);
    PGconn *conn = h_db_connect("h_selftest");
    CU_ASSERT_FATAL(conn != NULL);
    CU_ASSERT_EQUAL(h_db_exec(conn, "create table t (k int, v text)"), 0);
    CU_ASSERT_EQUAL(h_db_exec(conn, "insert into t values (%d, '%s'), (2, 'b')", 1, "a"), 0);
    CU_ASSERT_EQUAL(h_db_scalar(conn, "select count(*) from t"), 2);
    CU_ASSERT_EQUAL(h_db_scalar(conn, "select sum(k) from t where k > %d", 0), 3);
    char text[32];
    CU_ASSERT_EQUAL(h_db_scalar_text(conn, text, sizeof text, "select v from t where k = 1"), 0);
    CU_ASSERT_STRING_EQUAL(text, "a");
    CU_ASSERT_EQUAL(h_db_scalar(conn, "select v from t where k = 1"), H_DB_ERROR);
    CU_ASSERT_EQUAL(h_db_scalar(conn, "select k from t where k = 99"), H_DB_ERROR);
    CU_ASSERT_EQUAL(h_db_exec(conn, "not sql"), -1);
    /* Re-creating drops it even while this connection is open. */
    CU_ASSERT_FATAL(h_db_create("h_selftest", NULL, 0) == 0);
    PQfinish(conn);
    conn = h_db_connect("h_selftest");
    CU_ASSERT_FATAL(conn != NULL);
    CU_ASSERT_EQUAL(h_db_scalar(conn, "select count(*) from pg_class where relname = 't'"), 0);
    PQfinish(conn);
    CU_ASSERT_EQUAL(h_db_drop("h_selftest"), 0);
    CU_ASSERT_EQUAL(h_db_create("Bad-Name", NULL, 0), -1);
}

static void test_dtxd_starts_restarts_on_its_endpoint_and_exits_zero(void)
{
    char db[H_CONNINFO_SIZE];
    CU_ASSERT_FATAL(h_db_create("h_dtxd", db, sizeof db) == 0);
    h_dtxd_t d;
    memset(&d, 0, sizeof d);
    snprintf(d.logname, sizeof d.logname, "h-dtxd");
    const char *extra[] = { "--log-level", "debug", NULL };
    CU_ASSERT_FATAL(h_dtxd_start(&d, db, extra) == 0);
    CU_ASSERT(strncmp(d.endpoint, "tcp://127.0.0.1:", 16) == 0);
    CU_ASSERT(strcmp(d.endpoint, "tcp://127.0.0.1:*") != 0);
    PGconn *conn = h_db_connect("h_dtxd");
    CU_ASSERT_FATAL(conn != NULL);
    CU_ASSERT_EQUAL(h_db_scalar(conn, "select count(*) from dtx_global"), 0);
    PQfinish(conn);
    char first[H_ENDPOINT_SIZE];
    memcpy(first, d.endpoint, sizeof first);
    CU_ASSERT_EQUAL(h_dtxd_stop(&d), 0);
    CU_ASSERT_FATAL(h_dtxd_restart(&d) == 0);
    CU_ASSERT_STRING_EQUAL(d.endpoint, first);
    h_dtxd_kill(&d);
    CU_ASSERT_FATAL(h_dtxd_restart(&d) == 0);
    CU_ASSERT_STRING_EQUAL(d.endpoint, first);
    CU_ASSERT_EQUAL(h_dtxd_stop(&d), 0);
}

static void test_participant_registers_and_exits_zero(void)
{
    char db[H_CONNINFO_SIZE], pdb[H_CONNINFO_SIZE];
    CU_ASSERT_FATAL(h_db_create("h_reg_dtx", db, sizeof db) == 0);
    CU_ASSERT_FATAL(h_db_create("h_reg_part", pdb, sizeof pdb) == 0);
    h_dtxd_t d;
    memset(&d, 0, sizeof d);
    snprintf(d.logname, sizeof d.logname, "h-reg-dtxd");
    CU_ASSERT_FATAL(h_dtxd_start(&d, db, NULL) == 0);
    const char *extra[] = { "--resource", "h-res", "--heartbeat-ms", "200", NULL };
    pid_t p = h_participant_start("h-part-1", pdb, d.endpoint, extra);
    CU_ASSERT_FATAL(p > 0);
    PGconn *conn = h_db_connect("h_reg_part");
    CU_ASSERT_FATAL(conn != NULL);
    CU_ASSERT_EQUAL(h_db_scalar(conn, "select count(*) from ledger"), 0);
    CU_ASSERT_EQUAL(h_db_scalar(conn, "select count(*) from effects"), 0);
    CU_ASSERT_EQUAL(h_db_scalar(conn, "select count(*) from dtx_barrier"), 0);
    PQfinish(conn);
    CU_ASSERT_EQUAL(h_stop(p, SIGTERM, 5000), 0);
    CU_ASSERT_EQUAL(h_dtxd_stop(&d), 0);
}

INTEG_SUITE(harness)
{
    CU_pSuite s = CU_add_suite("harness", NULL, NULL);
    CU_add_test(s, "spawned process stops on sigterm with its status",
                test_spawned_process_stops_on_sigterm_with_its_status);
    CU_add_test(s, "stop escalates to sigkill when sigterm is ignored",
                test_stop_escalates_to_sigkill_when_sigterm_is_ignored);
    CU_add_test(s, "exit status and output reach the log",
                test_exit_status_and_output_reach_the_log);
    CU_add_test(s, "exec failure is reported by spawn",
                test_exec_failure_is_reported_by_spawn);
    CU_add_test(s, "run kills a process past its timeout",
                test_run_kills_a_process_past_its_timeout);
    CU_add_test(s, "kill since kills the whole process group",
                test_kill_since_kills_the_whole_process_group);
    CU_add_test(s, "wait until polls until true or timeout",
                test_wait_until_polls_until_true_or_timeout);
    CU_add_test(s, "wait file line sees a renamed file",
                test_wait_file_line_sees_a_renamed_file);
    CU_add_test(s, "db create gives a fresh database",
                test_db_create_gives_a_fresh_database);
    CU_add_test(s, "dtxd starts, restarts on its endpoint and exits 0",
                test_dtxd_starts_restarts_on_its_endpoint_and_exits_zero);
    CU_add_test(s, "test-participant registers and exits 0",
                test_participant_registers_and_exits_zero);
}

/* ------------------------------------------------------------------ */
/* main                                                                */
/* ------------------------------------------------------------------ */

/* The gateway suites that run a second time on the libmicrohttpd engine
 * ("server": {"engine": "mhd"}): the native engine is the default, so
 * without these the other engine would ship untested. gw_util.c starts
 * each gateway with --engine $DTX_TEST_GW_ENGINE unless its test chose an
 * engine itself. */
static const char *const s_mhd_suites[] = { "gateway_engine", "gateway", "gateway_core",
                                            "gateway_edges", "gateway_txn", "gateway_wire",
                                            NULL };

/* The gateway suites that run a second time with the send ring off
 * (core/gw_uring.h; on by default): the writev path stays tested. */
static const char *const s_noring_suites[] = { "gateway_engine", "gateway", "gateway_core",
                                               "gateway_edges", "gateway_wire", "gateway_front",
                                               "gateway_workers",
                                               NULL };

/* Adds "NAME@VARIANT" for each of names: the same init, cleanup and
 * tests under another name. Returns 0, or -1 when one is missing. */
static int s_add_variants(const char *const *names, const char *variant)
{
    for (int i = 0; names[i]; i++) {
        CU_pSuite s = CU_get_suite(names[i]);
        if (!s) {
            fprintf(stderr, "integration_tests: no suite '%s' to run as @%s\n", names[i],
                    variant);
            return -1;
        }
        char name[128];   /* CUnit copies it */
        snprintf(name, sizeof name, "%s@%s", s->pName, variant);
        CU_pSuite v = CU_add_suite(name, s->pInitializeFunc, s->pCleanupFunc);
        if (!v)
            return -1;
        for (CU_pTest t = s->pTest; t; t = t->pNext)
            if (!CU_add_test(v, t->pName, t->pTestFunc))
                return -1;
    }
    return 0;
}

static int s_add_engine_variants(void)
{
    return s_add_variants(s_mhd_suites, "mhd") < 0 ? -1
                                                    : s_add_variants(s_noring_suites, "noring");
}

static void s_list(void)
{
    CU_pTestRegistry reg = CU_get_registry();
    for (CU_pSuite s = reg->pSuite; s; s = s->pNext)
        for (CU_pTest t = s->pTest; t; t = t->pNext)
            printf("%s:%s\n", s->pName, t->pName);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (getenv("DTX_TEST_GW_ENGINE"))
        s_engine_given = strdup(getenv("DTX_TEST_GW_ENGINE"));
    dtx_log_set_handler(dtx_log_stderr, NULL); /* libdtx's lines, as before */
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    for (int i = 0; i < s_nsuites; i++)
        s_suites[i]();
    if (s_add_engine_variants() < 0) {
        CU_cleanup_registry();
        return 2;
    }
    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        s_list();
        CU_cleanup_registry();
        return 0;
    }
    if (h_init() < 0) {
        CU_cleanup_registry();
        return 2;
    }
    CU_set_suite_start_handler(s_on_suite_start);
    CU_set_test_start_handler(s_on_test_start);
    CU_set_test_complete_handler(s_on_test_complete);
    CU_set_suite_complete_handler(s_on_suite_complete);
    CU_set_suite_init_failure_handler(s_on_suite_init_failure);
    CU_set_suite_cleanup_failure_handler(s_on_suite_cleanup_failure);

    int rc = 0, cu_error = 0;
    unsigned run = 0, failed = 0, suites_failed = 0;
    int64_t t0 = h_now_ms();
    if (argc > 1) {
        /* Each argument is SUITE or SUITE:TEST; all are checked before any
         * runs, so a typo never passes as a shorter run. */
        CU_pSuite suites[argc];
        CU_pTest tests[argc];
        for (int i = 1; i < argc && rc == 0; i++) {
            char name[256];
            snprintf(name, sizeof name, "%s", argv[i]);
            char *colon = strchr(name, ':');
            if (colon)
                *colon = '\0';
            suites[i] = CU_get_suite(name);
            tests[i] = (suites[i] && colon) ? CU_get_test(suites[i], colon + 1) : NULL;
            if (!suites[i] || (colon && !tests[i])) {
                fprintf(stderr, "integration_tests: no %s named '%s' (see --list)\n",
                        colon ? "test" : "suite", argv[i]);
                rc = 2;
            }
        }
        /* CUnit counts each run afresh: add them up. */
        for (int i = 1; i < argc && rc == 0; i++) {
            if (tests[i])
                CU_run_test(suites[i], tests[i]);
            else
                CU_run_suite(suites[i]);
            run += CU_get_number_of_tests_run();
            failed += CU_get_number_of_tests_failed();
            suites_failed += CU_get_number_of_suites_failed();
            cu_error |= CU_get_error() != CUE_SUCCESS;
        }
    } else {
        CU_run_all_tests();
        run = CU_get_number_of_tests_run();
        failed = CU_get_number_of_tests_failed();
        suites_failed = CU_get_number_of_suites_failed();
        cu_error = CU_get_error() != CUE_SUCCESS;
    }
    if (rc == 0) {
        printf("integration: %u tests run, %u failed, %u suites failed in init or cleanup (%" PRId64
               " ms)\n", run, failed, suites_failed, h_now_ms() - t0);
        rc = (run > 0 && failed == 0 && suites_failed == 0 && !cu_error) ? 0 : 1;
    }
    h_kill_all();
    CU_cleanup_registry();
    free(s_engine_given);
    return rc;
}
