/*
 * The sample bank participant and its database going away: a PostgreSQL
 * of the test's own (tests/harness/pg.sh in the scratch dir, so the run's
 * shared one is never stopped) is down when the participant starts and
 * goes down again under load.
 *
 *  - started while its database is down, the participant waits (retrying
 *    with a backoff) instead of exiting, and once the database is up it
 *    registers and a transfer commits;
 *  - a 3 s outage under load costs a bounded number of log lines (a
 *    reconnect was tried, and logged twice, on every phase: 8,000 lines),
 *    and a transfer commits after it.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "integ.h"
#include "util.h"

static char s_pgsh[PATH_MAX];   /* tests/harness/pg.sh */
static char s_pgdir[1024];      /* the outage cluster's dir */
static char s_outage_db[1200];  /* conninfo of bank_a on it */

/* Runs pg.sh CMD on the outage cluster. */
static int s_pg(const char *cmd, const char *arg)
{
    char *argv[] = { s_pgsh, (char *)cmd, s_pgdir, (char *)arg, NULL };
    return h_run("pg-outage", argv, 120000);
}

static int s_init(void)
{
    char bin[PATH_MAX], rel[PATH_MAX + 32];
    /* From the source tree: the working directory (tests/run.sh runs
     * from it), else two levels above the binaries (build/bin). */
    snprintf(rel, sizeof rel, "%s/../../tests/harness/pg.sh", h_bindir());
    if (!realpath("tests/harness/pg.sh", bin) && !realpath(rel, bin))
        return -1;
    snprintf(s_pgsh, sizeof s_pgsh, "%s", bin);
    if (h_scratch_path("pg-outage", s_pgdir, sizeof s_pgdir) != 0)
        return -1;
    if (s_pg("start", NULL) != 0 || s_pg("createdb", "bank_a") != 0)
        return -1;
    snprintf(s_outage_db, sizeof s_outage_db, "host=%s port=5432 user=postgres dbname=bank_a",
             s_pgdir);
    return 0;
}

static int s_clean(void)
{
    return s_pg("stop", NULL) == 0 ? 0 : -1;
}

static pid_t s_bank(const char *resource, const char *db, const char *seed, const char *ep,
                    const char *ready)
{
    char bin[PATH_MAX];
    if (h_bin_path("bank-participant", bin, sizeof bin))
        return -1;
    char *argv[] = { bin, "--resource", (char *)resource, "--db", (char *)db, "--coordinator",
                     (char *)ep, "--seed", (char *)seed, "--ready-file", (char *)ready,
                     "--log-level", "warn", "--heartbeat-ms", "200", NULL };
    return h_spawn(resource, argv);
}

static int s_transfer(const char *ep, const char *line)
{
    char bin[PATH_MAX];
    if (h_bin_path("bank-transfer", bin, sizeof bin))
        return -1;
    char *argv[] = { bin, "--coordinator", (char *)ep, "--transfer", (char *)line,
                     "--wait-final", "--wait-timeout-ms", "30000", NULL };
    return h_run("transfer", argv, 60000);
}

static int s_file_lines(const char *logname)
{
    char path[1024], name[256];
    snprintf(name, sizeof name, "%s.log", logname);
    if (h_scratch_path(name, path, sizeof path) != 0)
        return -1;
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int n = 0, c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static void test_bank_participant_waits_for_database_down_at_start_then_commits(void)
{
    char main_db[H_CONNINFO_SIZE], ready_a[1024], ready_b[1024], line[64];
    CU_ASSERT_FATAL(h_db_create("sdb_log", main_db, sizeof main_db) == 0);
    char b_db[H_CONNINFO_SIZE];
    CU_ASSERT_FATAL(h_db_create("sdb_bank_b", b_db, sizeof b_db) == 0);
    h_dtxd_t d = { 0 };
    CU_ASSERT_FATAL(h_dtxd_start(&d, main_db, NULL) == 0);
    CU_ASSERT_FATAL(h_scratch_path("sdb-a.ready", ready_a, sizeof ready_a) == 0);
    CU_ASSERT_FATAL(h_scratch_path("sdb-b.ready", ready_b, sizeof ready_b) == 0);
    unlink(ready_a);
    unlink(ready_b);

    CU_ASSERT_FATAL(s_pg("stop", NULL) == 0);
    pid_t a = s_bank("bank-a", s_outage_db, "alice=10000", d.endpoint, ready_a);
    pid_t b = s_bank("bank-b", b_db, "bob=0", d.endpoint, ready_b);
    CU_ASSERT_FATAL(a > 0 && b > 0);
    h_sleep_ms(2000);
    CU_ASSERT(h_alive(a)); /* it used to exit 1: "cannot connect to database" */
    CU_ASSERT_FATAL(s_pg("start", NULL) == 0);
    CU_ASSERT(h_wait_file_line(ready_a, line, sizeof line, a, 30000) == 0);
    CU_ASSERT(h_wait_file_line(ready_b, line, sizeof line, b, 30000) == 0);
    CU_ASSERT_EQUAL(s_transfer(d.endpoint, "bank-a:alice -> bank-b:bob 100"), 0);

    /* A 3 s outage under load: a stream of transfers keeps phases coming. */
    int before = s_file_lines("bank-a");
    char bin[PATH_MAX];
    CU_ASSERT_FATAL(h_bin_path("bank-transfer", bin, sizeof bin) == 0);
    char file[1024];
    CU_ASSERT_FATAL(h_scratch_path("sdb-load.txt", file, sizeof file) == 0);
    FILE *f = fopen(file, "w");
    CU_ASSERT_FATAL(f != NULL);
    for (int i = 0; i < 4000; i++)
        fprintf(f, "bank-a:alice -> bank-b:bob 1\n");
    fclose(f);
    char *argv[] = { bin, "--coordinator", d.endpoint, "--file", file, "--call-timeout-ms", "2000",
                     NULL };
    pid_t load = h_spawn("sdb-load", argv);
    CU_ASSERT_FATAL(load > 0);
    h_sleep_ms(1000);
    CU_ASSERT_FATAL(s_pg("stop", NULL) == 0);
    h_sleep_ms(3000);
    CU_ASSERT_FATAL(s_pg("start", NULL) == 0);
    h_sleep_ms(3000);
    h_stop(load, SIGTERM, 10000);
    int after = s_file_lines("bank-a");
    printf("(bank-a log lines during the outage: %d) ", after - before);
    CU_ASSERT(before >= 0 && after - before < 100);
    CU_ASSERT_EQUAL(s_transfer(d.endpoint, "bank-a:alice -> bank-b:bob 100"), 0);

    CU_ASSERT_EQUAL(h_stop(a, SIGTERM, 10000), 0);
    CU_ASSERT_EQUAL(h_stop(b, SIGTERM, 10000), 0);
    CU_ASSERT_EQUAL(h_dtxd_stop(&d), 0);
}

INTEG_SUITE(sample_db)
{
    CU_pSuite s = CU_add_suite("sample_db", s_init, s_clean);
    CU_add_test(s, "bank participant waits for database down at start, outage under load logs few lines",
                test_bank_participant_waits_for_database_down_at_start_then_commits);
}
