/*
 * The log's schema keeps its values in range (sql/coordinator/013_domains.sql):
 * a transaction state outside 1-6, a mode outside 1-4 or a branch state
 * outside 1-5 is refused by PostgreSQL itself (SQLSTATE 23514), whoever
 * writes it — on a fresh log, and on a log migrated from the schema before
 * the domains with rows in it (rows kept, values intact, tables not
 * rewritten). The domains migration applied again changes nothing. The
 * failed-attempt history, whose trigger that migration made again, records
 * the same updates as before.
 *
 * The rows are written with SQL; dtxd only applies the migrations
 * (--migrate-only).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "core/txn.h"
#include "dtx/migrate.h"
#include "dtx/types.h"
#include "integ.h"
#include "util.h"

#define S_DOMAINS "013_domains"   /* the migration that made the domains */
#define S_BEFORE  12              /* the last version before it */

/* dtxd --migrate-only on conninfo db. */
static int s_migrate(const char *db, const char *logname)
{
    char bin[1024];
    if (h_bin_path("dtxd", bin, sizeof bin) != 0)
        return -1;
    char *argv[] = { bin, "--db", (char *)db, "--migrate-only", NULL };
    return h_run(logname, argv, 20000) == 0 ? 0 : -1;
}

static const dtx_migration_t *s_find(const char *name)
{
    for (int i = 0; i < dtx_migrations_count; i++)
        if (strcmp(dtx_migrations[i].component, "coordinator") == 0 &&
            strcmp(dtx_migrations[i].name, name) == 0)
            return &dtx_migrations[i];
    return NULL;
}

static void s_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Runs sql (may hold several statements); returns 0, or -1 with the
 * server's message printed. */
static int s_exec_script(PGconn *c, const char *sql)
{
    PQsetNoticeProcessor(c, s_quiet, NULL); /* IF EXISTS ... skipping */
    PGresult *res = PQexec(c, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "log_schema: %s\n", PQresultErrorMessage(res));
    PQclear(res);
    return ok ? 0 : -1;
}

/* The coordinator's schema as it was before the domains: migrations 1 to
 * S_BEFORE, recorded as applied (so dtxd applies the rest). */
static int s_schema_before(PGconn *c)
{
    if (h_db_exec(c, "CREATE TABLE dtx_schema_version (component text NOT NULL,"
                     " version integer NOT NULL, name text NOT NULL,"
                     " applied_at timestamptz NOT NULL DEFAULT now(),"
                     " PRIMARY KEY (component, version))") != 0)
        return -1;
    for (int i = 0; i < dtx_migrations_count; i++) {
        const dtx_migration_t *m = &dtx_migrations[i];
        if (strcmp(m->component, "coordinator") != 0 || m->version > S_BEFORE)
            continue;
        if (s_exec_script(c, m->sql) != 0 ||
            h_db_exec(c, "INSERT INTO dtx_schema_version VALUES ('coordinator', %d, '%s')",
                      m->version, m->name) != 0)
            return -1;
    }
    return 0;
}

/* 1 when sql fails with a check violation (23514), 0 when it fails
 * otherwise or succeeds. */
static int s_refused(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);
    const char *code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    int refused = PQresultStatus(res) == PGRES_FATAL_ERROR && code && strcmp(code, "23514") == 0;
    if (!refused)
        fprintf(stderr, "log_schema: not refused as a check violation: %s -> %s\n", sql,
                PQresultStatus(res) == PGRES_FATAL_ERROR ? PQresultErrorMessage(res) : "ok");
    PQclear(res);
    return refused;
}

/* A transaction row and one branch row, with values in range. */
static int s_row(PGconn *c, const char *gid, int mode, int state, int bstate)
{
    if (h_db_exec(c, "INSERT INTO dtx_global (gid, mode, state, branches, deadline)"
                     " VALUES ('%s', %d, %d, 1, now() + interval '1 day')",
                  gid, mode, state) != 0)
        return -1;
    return h_db_exec(c, "INSERT INTO dtx_branch (gid, branch_no, resource, action, payload, state)"
                        " VALUES ('%s', 1, 'ra', 'reserve', '\\x00', %d)", gid, bstate);
}

/* Every kind of out-of-range write is refused, every in-range one taken;
 * gid names a row of this database (any values) that the writes target. */
static void s_check_ranges(PGconn *c, const char *gid)
{
    /* Inserts, with each bound just outside and just inside. */
    const char *ins = "INSERT INTO dtx_global (gid, mode, state, deadline) VALUES";
    char sql[512];
    int bad_state[] = { 0, DTX_STATE_STUCK + 1 }, bad_mode[] = { 0, DTX_MODE_MSG + 1 };
    for (int i = 0; i < 2; i++) {
        snprintf(sql, sizeof sql, "%s ('bad-s%d', 1, %d, now())", ins, i, bad_state[i]);
        CU_ASSERT(s_refused(c, sql));
        snprintf(sql, sizeof sql, "%s ('bad-m%d', %d, 1, now())", ins, i, bad_mode[i]);
        CU_ASSERT(s_refused(c, sql));
    }
    CU_ASSERT(h_db_exec(c, "%s ('edge-hi', %d, %d, now())", ins, DTX_MODE_MSG, DTX_STATE_STUCK) == 0);
    CU_ASSERT(h_db_exec(c, "%s ('edge-lo', %d, %d, now())", ins, DTX_MODE_TCC, DTX_STATE_ACTIVE) == 0);
    int bad_branch[] = { 0, DTX_BRANCH_CANCELLED + 1 };
    for (int i = 0; i < 2; i++) {
        snprintf(sql, sizeof sql,
                 "INSERT INTO dtx_branch (gid, branch_no, resource, action, payload, state)"
                 " VALUES ('edge-hi', %d, 'ra', 'x', '\\x00', %d)", 10 + i, bad_branch[i]);
        CU_ASSERT(s_refused(c, sql));
    }
    CU_ASSERT(h_db_exec(c, "INSERT INTO dtx_branch (gid, branch_no, resource, action, payload, state)"
                           " VALUES ('edge-hi', 1, 'ra', 'x', '\\x00', %d), ('edge-hi', 2, 'ra', 'x',"
                           " '\\x00', %d)", DTX_BRANCH_TRYING, DTX_BRANCH_CANCELLED) == 0);

    /* Updates: a literal, and a smallint parameter through a generic
     * plan, as dtxd's prepared statements write (coordinator/log/sql.c). */
    snprintf(sql, sizeof sql, "UPDATE dtx_global SET state = %d WHERE gid = '%s'",
             DTX_STATE_STUCK + 1, gid);
    CU_ASSERT(s_refused(c, sql));
    snprintf(sql, sizeof sql, "UPDATE dtx_branch SET state = 0 WHERE gid = '%s'", gid);
    CU_ASSERT(s_refused(c, sql));
    CU_ASSERT_FATAL(h_db_exec(c, "SET plan_cache_mode = force_generic_plan") == 0);
    CU_ASSERT_FATAL(h_db_exec(c, "PREPARE s_set_state (text, smallint) AS UPDATE dtx_global"
                                 " SET state = $2::smallint WHERE gid = $1") == 0);
    CU_ASSERT_FATAL(h_db_exec(c, "PREPARE s_set_bstate (text, smallint) AS UPDATE dtx_branch"
                                 " SET state = $2::smallint WHERE gid = $1") == 0);
    for (int i = 0; i < 6; i++) { /* past the plan cache's first five */
        snprintf(sql, sizeof sql, "EXECUTE s_set_state ('%s', %d)", gid, DTX_STATE_STUCK + 1);
        CU_ASSERT(s_refused(c, sql));
        snprintf(sql, sizeof sql, "EXECUTE s_set_bstate ('%s', %d)", gid, DTX_BRANCH_CANCELLED + 1);
        CU_ASSERT(s_refused(c, sql));
    }
    CU_ASSERT(h_db_exec(c, "EXECUTE s_set_state ('edge-lo', %d)", DTX_STATE_ABORTED) == 0);
    CU_ASSERT(h_db_exec(c, "DEALLOCATE s_set_state") == 0);
    CU_ASSERT(h_db_exec(c, "DEALLOCATE s_set_bstate") == 0);
    CU_ASSERT(h_db_exec(c, "DELETE FROM dtx_branch WHERE gid LIKE 'edge-%%'") == 0);
    CU_ASSERT(h_db_exec(c, "DELETE FROM dtx_global WHERE gid LIKE 'edge-%%'") == 0);
}

/* The failed-attempt history (dtx_attempt, written by the trigger on
 * dtx_branch) records exactly the updates 003 said: a failed attempt
 * leaves the state alone and records its count and error; a vote, an
 * acknowledgement, a resume, a repeated write or a write that sets neither
 * column records nothing. Each step: an UPDATE of branch 1 of a fresh
 * transaction named gid, and the number of history rows it must add. */
static void s_check_attempt_history(PGconn *c, const char *gid)
{
    static const struct {
        const char *set;
        int         rows;
    } steps[] = {
        { "state = 2, vote = 2, attempts = 1, last_error = NULL", 0 }, /* yes vote */
        { "attempts = 1, last_error = 'refused by peer'", 1 },         /* 1st failure after it */
        { "attempts = 1, last_error = 'refused by peer'", 0 },         /* same write again */
        { "attempts = 2, last_error = 'refused by peer'", 1 },         /* next failure */
        { "attempts = 2, last_error = 'timeout'", 1 },                 /* same count, new error */
        { "updated_at = now()", 0 },                                   /* neither column */
        { "attempts = 0", 0 },                                         /* resume */
        { "attempts = 3, last_error = NULL", 0 },                      /* no error */
        { "state = 4, attempts = 4, last_error = 'late'", 0 },         /* acknowledgement */
        { "state = 4, attempts = 5, last_error = 'after'", 1 },        /* failure, state kept */
    };
    CU_ASSERT_FATAL(s_row(c, gid, DTX_MODE_TCC, DTX_STATE_ACTIVE, DTX_BRANCH_TRYING) == 0);
    int64_t want = 0;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        CU_ASSERT_FATAL(h_db_exec(c, "UPDATE dtx_branch SET %s WHERE gid = '%s' AND branch_no = 1",
                                  steps[i].set, gid) == 0);
        want += steps[i].rows;
        int64_t got = h_db_scalar(c, "SELECT count(*) FROM dtx_attempt WHERE gid = '%s'", gid);
        if (got != want)
            fprintf(stderr, "log_schema: after SET %s: %lld history rows, want %lld\n",
                    steps[i].set, (long long)got, (long long)want);
        CU_ASSERT_EQUAL(got, want);
    }
    CU_ASSERT(h_db_scalar(c, "SELECT count(*) FROM dtx_attempt WHERE gid = '%s' AND branch_no = 1"
                             " AND ((attempt = 1 AND error = 'refused by peer')"
                             "   OR (attempt = 2 AND error IN ('refused by peer', 'timeout'))"
                             "   OR (attempt = 5 AND error = 'after'))", gid) == 4);
}

/* The number of table CHECK constraints on the two tables, and of CHECKs
 * on the three domains. */
static int64_t s_table_checks(PGconn *c)
{
    return h_db_scalar(c, "SELECT count(*) FROM pg_constraint WHERE contype = 'c'"
                          " AND conrelid IN ('dtx_global'::regclass, 'dtx_branch'::regclass)");
}
static int64_t s_domain_checks(PGconn *c, const char *domain)
{
    return h_db_scalar(c, "SELECT count(*) FROM pg_constraint WHERE contype = 'c'"
                          " AND convalidated AND contypid = to_regtype('%s')", domain);
}
static int s_domains_in_place(PGconn *c)
{
    return s_table_checks(c) == 0 && s_domain_checks(c, "dtx_global_state") == 1 &&
           s_domain_checks(c, "dtx_branch_state") == 1 && s_domain_checks(c, "dtx_mode") == 1 &&
           h_db_scalar(c, "SELECT count(*) FROM pg_attribute WHERE NOT attisdropped AND"
                          " ((attrelid = 'dtx_global'::regclass AND"
                          "   ((attname = 'state' AND atttypid = 'dtx_global_state'::regtype) OR"
                          "    (attname = 'mode' AND atttypid = 'dtx_mode'::regtype))) OR"
                          "  (attrelid = 'dtx_branch'::regclass AND attname = 'state'"
                          "   AND atttypid = 'dtx_branch_state'::regtype))") == 3;
}

static void test_a_fresh_log_refuses_a_bad_state_or_mode(void)
{
    char db[H_CONNINFO_SIZE];
    CU_ASSERT_FATAL(h_db_create("logschema_fresh", db, sizeof db) == 0);
    CU_ASSERT_FATAL(s_migrate(db, "logschema-fresh-migrate") == 0);
    PGconn *c = h_db_connect("logschema_fresh");
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT(s_domains_in_place(c));
    CU_ASSERT_FATAL(s_row(c, "g1", DTX_MODE_TCC, DTX_STATE_ACTIVE, DTX_BRANCH_TRYING) == 0);
    s_check_ranges(c, "g1");
    s_check_attempt_history(c, "h1");
    CU_ASSERT(h_db_scalar(c, "SELECT state FROM dtx_global WHERE gid = 'g1'") == DTX_STATE_ACTIVE);
    PQfinish(c);
}

static const char s_fingerprint[] =
    "SELECT (SELECT string_agg(gid || ':' || mode || ':' || state || ':' || branches, ','"
    "                          ORDER BY gid) FROM dtx_global) || '/' ||"
    "       (SELECT string_agg(gid || ':' || branch_no || ':' || state || ':' || attempts, ','"
    "                          ORDER BY gid, branch_no) FROM dtx_branch)";

static void test_a_migrated_log_keeps_its_rows_and_refuses_a_bad_value(void)
{
    char db[H_CONNINFO_SIZE];
    CU_ASSERT_FATAL(h_db_create("logschema_old", db, sizeof db) == 0);
    PGconn *c = h_db_connect("logschema_old");
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT_FATAL(s_schema_before(c) == 0);
    CU_ASSERT(s_table_checks(c) == 3);   /* the schema's CHECKs before the domains */
    /* Every state, mode and branch state, on many rows. */
    for (int i = 0; i < 60; i++) {
        char gid[32];
        snprintf(gid, sizeof gid, "old-%02d", i);
        CU_ASSERT_FATAL(s_row(c, gid, 1 + i % 4, 1 + i % 6, 1 + i % 5) == 0);
    }
    s_check_attempt_history(c, "pre-h1");   /* the same rows as 003's trigger */
    char before[8192], after[8192];
    CU_ASSERT_FATAL(h_db_scalar_text(c, before, sizeof before, s_fingerprint) == 0);
    int64_t gfile = h_db_scalar(c, "SELECT relfilenode FROM pg_class WHERE relname = 'dtx_global'");
    int64_t bfile = h_db_scalar(c, "SELECT relfilenode FROM pg_class WHERE relname = 'dtx_branch'");

    CU_ASSERT_FATAL(s_migrate(db, "logschema-old-migrate") == 0);
    CU_ASSERT(s_domains_in_place(c));
    CU_ASSERT(h_db_scalar_text(c, after, sizeof after, s_fingerprint) == 0);
    CU_ASSERT_STRING_EQUAL(after, before);
    /* Not rewritten: the type change is binary-coercible. */
    CU_ASSERT(h_db_scalar(c, "SELECT relfilenode FROM pg_class WHERE relname = 'dtx_global'") == gfile);
    CU_ASSERT(h_db_scalar(c, "SELECT relfilenode FROM pg_class WHERE relname = 'dtx_branch'") == bfile);
    s_check_ranges(c, "old-00");
    s_check_attempt_history(c, "old-h1");
    PQfinish(c);
}

static void test_the_domains_migration_applied_twice_changes_nothing(void)
{
    char db[H_CONNINFO_SIZE];
    CU_ASSERT_FATAL(h_db_create("logschema_twice", db, sizeof db) == 0);
    CU_ASSERT_FATAL(s_migrate(db, "logschema-twice-migrate") == 0);
    PGconn *c = h_db_connect("logschema_twice");
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT_FATAL(s_row(c, "t1", DTX_MODE_2PC, DTX_STATE_COMMITTING, DTX_BRANCH_TRIED) == 0);
    const dtx_migration_t *m = s_find(S_DOMAINS);
    CU_ASSERT_FATAL(m != NULL);
    int64_t gfile = h_db_scalar(c, "SELECT relfilenode FROM pg_class WHERE relname = 'dtx_global'");
    int64_t ifile = h_db_scalar(c, "SELECT relfilenode FROM pg_class"
                                   " WHERE relname = 'dtx_global_open_state_gid'");
    CU_ASSERT(s_exec_script(c, m->sql) == 0);
    CU_ASSERT(s_exec_script(c, m->sql) == 0);
    CU_ASSERT(s_domains_in_place(c));   /* one CHECK each, none on the tables */
    CU_ASSERT(h_db_scalar(c, "SELECT count(*) FROM pg_trigger"
                             " WHERE tgrelid = 'dtx_branch'::regclass AND NOT tgisinternal") == 1);
    /* Nothing altered again: no table or index rebuilt. */
    CU_ASSERT(h_db_scalar(c, "SELECT relfilenode FROM pg_class WHERE relname = 'dtx_global'") == gfile);
    CU_ASSERT(h_db_scalar(c, "SELECT relfilenode FROM pg_class"
                             " WHERE relname = 'dtx_global_open_state_gid'") == ifile);
    s_check_ranges(c, "t1");
    s_check_attempt_history(c, "t-h1");
    PQfinish(c);
}

INTEG_SUITE(log_schema)
{
    CU_pSuite s = CU_add_suite("log_schema", NULL, NULL);
    CU_add_test(s, "a fresh log refuses a bad state or mode",
                test_a_fresh_log_refuses_a_bad_state_or_mode);
    CU_add_test(s, "a migrated log keeps its rows and refuses a bad value",
                test_a_migrated_log_keeps_its_rows_and_refuses_a_bad_value);
    CU_add_test(s, "the domains migration applied twice changes nothing",
                test_the_domains_migration_applied_twice_changes_nothing);
}
