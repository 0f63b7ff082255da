/*
 * Retention of finished transactions (coordinator/engine/retention.c):
 * old COMMITTED and ABORTED transactions leave the log with their branches
 * and attempt history; unfinished and stuck ones stay whatever their age,
 * recent finished ones stay, operators' audit rows stay; two dtxd removing
 * at once step on nothing.
 *
 * The rows are written with SQL, their times set in the past. Unfinished
 * ones belong to a node whose lease is live but which does not run
 * ("ghost"), so no test dtxd claims and finishes them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "core/txn.h"
#include "dtx/types.h"
#include "integ.h"
#include "util.h"

#define S_FAST "--retention", "1h", "--retention-interval-ms", "100", "--recovery-interval-ms", "200", \
               "--http-listen", "off"

/* A transaction row in state, finished (finished_at) and created `age`
 * ago, with two branches and one attempt row, owned by the ghost node. */
static int s_row(PGconn *c, const char *gid, int state, const char *age, int preparing)
{
    int bstate = state == DTX_STATE_COMMITTED ? DTX_BRANCH_CONFIRMED
               : state == DTX_STATE_ABORTED   ? DTX_BRANCH_CANCELLED
                                              : DTX_BRANCH_TRIED;
    int decision = state == DTX_STATE_ACTIVE ? 0
                 : state == DTX_STATE_STUCK  ? DTX_STATE_COMMITTING
                 : state == DTX_STATE_COMMITTED ? DTX_STATE_COMMITTING
                 : state == DTX_STATE_ABORTED   ? DTX_STATE_ABORTING
                                                : state;
    /* finished_at is set on every row, unfinished ones too: only the
     * state may keep them. */
    if (h_db_exec(c,
                  "INSERT INTO dtx_global (gid, mode, state, branches, deadline, created_at,"
                  " updated_at, finished_at, owner, owner_epoch, decision, preparing)"
                  " VALUES ('%s', 1, %d, 2, now() + interval '1 day', now() - interval '%s',"
                  " now() - interval '%s', now() - interval '%s', 'ghost', 1, %s, %s)",
                  gid, state, age, age, age, decision ? (decision == 2 ? "2" : "4") : "NULL",
                  preparing ? "true" : "false") != 0)
        return -1;
    for (int b = 1; b <= 2; b++)
        if (h_db_exec(c,
                      "INSERT INTO dtx_branch (gid, branch_no, resource, action, payload, state,"
                      " created_at, updated_at) VALUES ('%s', %d, 'ra', 'reserve', '\\x00', %d,"
                      " now() - interval '%s', now() - interval '%s')",
                      gid, b, bstate, age, age) != 0)
            return -1;
    return h_db_exec(c, "INSERT INTO dtx_attempt (gid, branch_no, attempt, error, at)"
                        " VALUES ('%s', 1, 1, 'timeout', now() - interval '%s')", gid, age);
}

static int64_t s_count(PGconn *c, const char *table, const char *gid)
{
    return h_db_scalar(c, "SELECT count(*) FROM %s WHERE gid = '%s'", table, gid);
}

typedef struct s_gone_arg {
    PGconn     *c;
    const char *like;
} s_gone_arg_t;

static int s_all_gone(void *p)
{
    s_gone_arg_t *a = p;
    return h_db_scalar(a->c, "SELECT count(*) FROM dtx_global WHERE gid LIKE '%s'", a->like) == 0;
}

/* 1 when the log of d's last start (the file may hold earlier runs',
 * after each a "=== harness" line) holds a line with needle. */
static int s_log_has(const h_dtxd_t *d, const char *needle)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.log", h_testdir(), d->logname);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[4096];
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "=== harness", 11) == 0)
            found = 0;
        else if (strstr(line, needle))
            found = 1;
    }
    fclose(f);
    return found;
}

static int s_ghost(PGconn *c)
{
    return h_db_exec(c, "INSERT INTO dtx_node (node_id, epoch, lease_until)"
                        " VALUES ('ghost', 1, now() + interval '1 day')");
}

static void test_old_finished_transactions_leave_the_log_and_nothing_else_does(void)
{
    char log[H_CONNINFO_SIZE];
    PGconn *c = NULL;
    CU_ASSERT_FATAL(h_db_create("ret_keep", log, sizeof log) == 0);
    CU_ASSERT_FATAL((c = h_db_connect("ret_keep")) != NULL);
    /* Migrations first (a dtxd that keeps everything), then the rows, then
     * the dtxd with a one-hour retention. */
    h_dtxd_t d0 = { 0 }, d = { 0 };
    const char *a0[] = { "--retention", "0", NULL };
    CU_ASSERT_FATAL(h_dtxd_start(&d0, log, a0) == 0);
    CU_ASSERT_EQUAL(h_dtxd_stop(&d0), 0);
    CU_ASSERT_FATAL(s_ghost(c) == 0);
    static const struct {
        const char *gid;
        int         state, preparing, stays;
        const char *age;
    } rows[] = {
        { "ret-old-committed", DTX_STATE_COMMITTED, 0, 0, "2 hours" },
        { "ret-old-aborted", DTX_STATE_ABORTED, 0, 0, "30 days" },
        { "ret-recent-committed", DTX_STATE_COMMITTED, 0, 1, "1 minute" },
        { "ret-recent-aborted", DTX_STATE_ABORTED, 0, 1, "50 minutes" },
        { "ret-old-active", DTX_STATE_ACTIVE, 0, 1, "30 days" },
        { "ret-old-preparing", DTX_STATE_ACTIVE, 1, 1, "30 days" },
        { "ret-old-committing", DTX_STATE_COMMITTING, 0, 1, "30 days" },
        { "ret-old-aborting", DTX_STATE_ABORTING, 0, 1, "30 days" },
        { "ret-old-stuck", DTX_STATE_STUCK, 0, 1, "30 days" },
    };
    int n = (int)(sizeof rows / sizeof rows[0]);
    for (int i = 0; i < n; i++)
        CU_ASSERT_FATAL(s_row(c, rows[i].gid, rows[i].state, rows[i].age, rows[i].preparing) == 0);
    /* An operator's action on a transaction that will be removed: the
     * audit trail keeps it. */
    CU_ASSERT_FATAL(h_db_exec(c, "INSERT INTO dtx_audit (gid, action, actor, reason, node_id,"
                                 " requested_at) VALUES ('ret-old-committed', 'retry', 'ops',"
                                 " 'test', 'n0', now() - interval '2 hours')") == 0);
    const char *a[] = { S_FAST, "--node-id", "ret1", NULL };
    CU_ASSERT_FATAL(h_dtxd_start(&d, log, a) == 0);
    s_gone_arg_t gone = { c, "ret-old-%ed" }; /* old-committed, old-aborted */
    CU_ASSERT_EQUAL(h_wait_until(s_all_gone, &gone, 15000), 0);
    /* A few more runs: what stays, stays. */
    h_sleep_ms(600);
    for (int i = 0; i < n; i++) {
        int64_t want = rows[i].stays;
        int64_t g = s_count(c, "dtx_global", rows[i].gid);
        if (g != want)
            printf("\n    %s: %lld global rows, expected %lld\n", rows[i].gid, (long long)g,
                   (long long)want);
        CU_ASSERT_EQUAL(g, want);
        CU_ASSERT_EQUAL(s_count(c, "dtx_branch", rows[i].gid), 2 * want);
        CU_ASSERT_EQUAL(s_count(c, "dtx_attempt", rows[i].gid), want);
    }
    /* Unfinished rows kept their state. */
    CU_ASSERT_EQUAL(u_log_state(c, "ret-old-stuck"), DTX_STATE_STUCK);
    CU_ASSERT_EQUAL(u_log_state(c, "ret-old-active"), DTX_STATE_ACTIVE);
    CU_ASSERT_EQUAL(s_count(c, "dtx_audit", "ret-old-committed"), 1);
    CU_ASSERT(s_log_has(&d, "retention run"));
    CU_ASSERT(s_log_has(&d, "removed=2 branches=4"));
    CU_ASSERT_EQUAL(h_dtxd_stop(&d), 0);
    PQfinish(c);
}

static void test_two_coordinators_remove_at_once_without_an_error(void)
{
    char log[H_CONNINFO_SIZE];
    PGconn *c = NULL;
    CU_ASSERT_FATAL(h_db_create("ret_two", log, sizeof log) == 0);
    CU_ASSERT_FATAL((c = h_db_connect("ret_two")) != NULL);
    h_dtxd_t d0 = { 0 }, d1 = { 0 }, d2 = { 0 };
    const char *a0[] = { "--retention", "0", NULL };
    CU_ASSERT_FATAL(h_dtxd_start(&d0, log, a0) == 0);
    CU_ASSERT_EQUAL(h_dtxd_stop(&d0), 0);
    /* Many batches' worth (DTX_RETAIN_BATCH is 500) of old finished
     * transactions, two branches each, and one active one among them. */
    CU_ASSERT_FATAL(s_ghost(c) == 0);
    CU_ASSERT_FATAL(h_db_exec(c,
        "INSERT INTO dtx_global (gid, mode, state, branches, deadline, created_at, updated_at,"
        " finished_at, owner, owner_epoch, decision)"
        " SELECT 'two-' || lpad(i::text, 6, '0'), 1, CASE WHEN i %% 3 = 0 THEN 5 ELSE 3 END, 2,"
        "        now() - interval '3 days', now() - interval '3 days', now() - interval '2 days',"
        "        now() - interval '2 days' - i * interval '1 ms', 'ghost', 1,"
        "        CASE WHEN i %% 3 = 0 THEN 4 ELSE 2 END"
        " FROM generate_series(1, 6000) i") == 0);
    CU_ASSERT_FATAL(h_db_exec(c,
        "INSERT INTO dtx_branch (gid, branch_no, resource, action, payload, state)"
        " SELECT gid, b, 'ra', 'reserve', '\\x00', CASE state WHEN 5 THEN 5 ELSE 4 END"
        " FROM dtx_global, generate_series(1, 2) b WHERE gid LIKE 'two-%%'") == 0);
    CU_ASSERT_FATAL(s_row(c, "keep-active", DTX_STATE_ACTIVE, "3 days", 0) == 0);
    const char *a1[] = { S_FAST, "--node-id", "ret-a", NULL };
    const char *a2[] = { S_FAST, "--node-id", "ret-b", NULL };
    /* Started back to back: their first runs overlap. */
    CU_ASSERT_FATAL(h_dtxd_start(&d1, log, a1) == 0);
    CU_ASSERT_FATAL(h_dtxd_start(&d2, log, a2) == 0);
    s_gone_arg_t gone = { c, "two-%" };
    CU_ASSERT_EQUAL(h_wait_until(s_all_gone, &gone, 60000), 0);
    CU_ASSERT_EQUAL(h_db_scalar(c, "SELECT count(*) FROM dtx_branch WHERE gid LIKE 'two-%%'"), 0);
    CU_ASSERT_EQUAL(s_count(c, "dtx_global", "keep-active"), 1);
    CU_ASSERT_EQUAL(s_count(c, "dtx_branch", "keep-active"), 2);
    h_sleep_ms(500);
    const h_dtxd_t *both[2] = { &d1, &d2 };
    for (int i = 0; i < 2; i++) {
        CU_ASSERT(h_alive(both[i]->pid));
        CU_ASSERT(!s_log_has(both[i], "retention run interrupted"));
        CU_ASSERT(!s_log_has(both[i], "log write failed"));
        CU_ASSERT(!s_log_has(both[i], "level=error"));
    }
    CU_ASSERT_EQUAL(h_dtxd_stop(&d1), 0);
    CU_ASSERT_EQUAL(h_dtxd_stop(&d2), 0);
    PQfinish(c);
}

INTEG_SUITE(retention)
{
    CU_pSuite s = CU_add_suite("retention", NULL, NULL);
    CU_add_test(s, "old finished transactions leave the log and nothing else does",
                test_old_finished_transactions_leave_the_log_and_nothing_else_does);
    CU_add_test(s, "two coordinators remove at once without an error",
                test_two_coordinators_remove_at_once_without_an_error);
}
