/*
 * "Exit 2 on bad configuration": whatever is wrong with dtxd's options (an
 * unknown option, a bad value, a file it cannot read or write, a conninfo
 * libpq cannot parse) ends it with status 2, before the node lease is
 * taken — never 1, which says "it ran and failed".
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "integ.h"
#include "util.h"

static char s_db[H_CONNINFO_SIZE];
static char s_bin[1024];

static int s_init(void)
{
    if (h_db_create("dtxdconfig_log", s_db, sizeof s_db) != 0 ||
        h_bin_path("dtxd", s_bin, sizeof s_bin) != 0)
        return -1;
    /* The schema in place, so that a failure below is the option's. */
    char *argv[] = { s_bin, "--db", s_db, "--migrate-only", NULL };
    return h_run("dtxdconfig-migrate", argv, 20000) == 0 ? 0 : -1;
}

/* Runs dtxd with --db (unless db is NULL), a plain loopback listener, the
 * admin HTTP off unless the arguments say otherwise, and extra (NULL
 * terminated); returns its exit status. */
static int s_run(const char *db, const char *const *extra)
{
    char *argv[32];
    int n = 0;
    argv[n++] = s_bin;
    if (db) {
        argv[n++] = "--db";
        argv[n++] = (char *)db;
    }
    argv[n++] = "--listen";
    argv[n++] = "tcp://127.0.0.1:*";
    argv[n++] = "--node-id";
    argv[n++] = "cfgtest";
    int http = 0;
    for (int i = 0; extra && extra[i] && n < 30; i++) {
        http |= strcmp(extra[i], "--http-listen") == 0;
        argv[n++] = (char *)extra[i];
    }
    if (!http && n < 30) {
        argv[n++] = "--http-listen";
        argv[n++] = "off";
    }
    argv[n] = NULL;
    return h_run("dtxdconfig-dtxd", argv, 20000);
}

/* 1 when the node lease of node id cfgtest was ever taken. */
static int s_lease_taken(void)
{
    PGconn *c = h_db_connect("dtxdconfig_log");
    int64_t n = c ? h_db_scalar(c, "SELECT count(*) FROM dtx_node WHERE node_id = 'cfgtest'") : -1;
    PQfinish(c);
    return n != 0;
}

static void test_bad_options_and_values_exit_2(void)
{
    const char *unknown[] = { "--frobnicate", NULL };
    CU_ASSERT_EQUAL(s_run(s_db, unknown), 2);
    const char *not_a_number[] = { "--max-txns", "many", NULL };
    CU_ASSERT_EQUAL(s_run(s_db, not_a_number), 2);
    const char *out_of_range[] = { "--lease-ms", "1", NULL };
    CU_ASSERT_EQUAL(s_run(s_db, out_of_range), 2);
    const char *level[] = { "--log-level", "loud", NULL };
    CU_ASSERT_EQUAL(s_run(s_db, level), 2);
    CU_ASSERT_EQUAL(s_run(NULL, NULL), 2); /* --db is required */
    const char *listen[] = { "--listen", "tcp://127.0.0.1:notaport", NULL };
    CU_ASSERT_EQUAL(s_run(s_db, listen), 2);
    CU_ASSERT_FALSE(s_lease_taken());
}

static void test_unreadable_files_exit_2(void)
{
    const char *config[] = { "--config", "/nonexistent/dtxd.conf", NULL };
    CU_ASSERT_EQUAL(s_run(s_db, config), 2);
    const char *key[] = { "--curve-secret-file", "/nonexistent/server.key", NULL };
    CU_ASSERT_EQUAL(s_run(s_db, key), 2);
    const char *tokens[] = { "--http-listen", "127.0.0.1:0", "--admin-token-file",
                             "/nonexistent/tokens", NULL };
    CU_ASSERT_EQUAL(s_run(s_db, tokens), 2);
    CU_ASSERT_FALSE(s_lease_taken());
}

static void test_conninfo_libpq_cannot_parse_exits_2(void)
{
    /* Was 1: the parse error came back as a failed connection. */
    CU_ASSERT_EQUAL(s_run("this is not a conninfo", NULL), 2);
    CU_ASSERT_EQUAL(s_run("host=/tmp port=5432 nosuchkeyword=1", NULL), 2);
}

static void test_unwritable_output_files_exit_2_before_the_lease(void)
{
    /* Both were 1, and the endpoint file's came after the lease was taken. */
    const char *endpoint[] = { "--endpoint-file", "/nonexistent/dir/endpoint", NULL };
    CU_ASSERT_EQUAL(s_run(s_db, endpoint), 2);
    const char *url[] = { "--http-listen", "127.0.0.1:0", "--http-url-file",
                          "/nonexistent/dir/url", NULL };
    CU_ASSERT_EQUAL(s_run(s_db, url), 2);
    CU_ASSERT_FALSE(s_lease_taken());
}

INTEG_SUITE(dtxd_config)
{
    CU_pSuite s = CU_add_suite("dtxd_config", s_init, NULL);
    CU_add_test(s, "bad options and values exit 2", test_bad_options_and_values_exit_2);
    CU_add_test(s, "unreadable files exit 2", test_unreadable_files_exit_2);
    CU_add_test(s, "conninfo libpq cannot parse exits 2", test_conninfo_libpq_cannot_parse_exits_2);
    CU_add_test(s, "unwritable output files exit 2 before the lease",
                test_unwritable_output_files_exit_2_before_the_lease);
}
