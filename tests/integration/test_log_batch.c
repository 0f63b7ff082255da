/*
 * The log's set-based statements (coordinator/log/batch.h) against a real
 * PostgreSQL: the operations of one batch run as one statement per kind,
 * each row still fenced on its own — a row that fails its fence leaves only
 * its own operation without rows, the others land — and the operations of
 * one transaction keep their order inside a batch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <zmq.h>

#include "core/txn.h"
#include "dtx/types.h"
#include "integ.h"
#include "log/sql.h"
#include "log/store.h"
#include "util.h"

static char s_db[H_CONNINFO_SIZE];
static PGconn *s_log;

static int s_init(void)
{
    char bin[1024];
    if (h_db_create("logbatch_log", s_db, sizeof s_db) != 0 ||
        h_bin_path("dtxd", bin, sizeof bin) != 0)
        return -1;
    char *argv[] = { bin, "--db", s_db, "--migrate-only", NULL };
    if (h_run("logbatch-migrate", argv, 20000) != 0)
        return -1;
    s_log = h_db_connect("logbatch_log");
    return s_log ? 0 : -1;
}

static int s_clean(void)
{
    PQfinish(s_log);
    return 0;
}

/* One operation's answer. */
typedef struct s_answer {
    int  done;
    int  rc;
    int  rows;
    int  status;
    char first[32]; /* first column of the first row */
} s_answer_t;

static void s_on_done(void *ctx, int rc, const PGresult *res)
{
    s_answer_t *a = ctx;
    a->done = 1;
    a->rc = rc;
    if (res) {
        a->status = PQresultStatus(res);
        a->rows = a->status == PGRES_TUPLES_OK ? PQntuples(res)
                                               : atoi(PQcmdTuples((PGresult *)res));
        if (a->status == PGRES_TUPLES_OK && PQntuples(res) > 0 && PQnfields(res) > 0)
            snprintf(a->first, sizeof a->first, "%s", PQgetvalue(res, 0, 0));
    }
}

/* Sends what was submitted as one batch and waits for every answer. */
static int s_run_batch(dtx_store_t *st, s_answer_t *a, int n)
{
    dtx_store_flush(st);
    for (int spin = 0; spin < 500; spin++) {
        int all = 1;
        for (int i = 0; i < n; i++)
            all &= a[i].done;
        if (all)
            return 0;
        zmq_pollitem_t items[4];
        int k = dtx_store_poll_items(st, items, 4);
        zmq_poll(items, k, 20);
        dtx_store_process(st, items, k);
    }
    return -1;
}

/* A store of one connection on the test's log, as dtxd opens it. */
static dtx_store_t *s_store(void)
{
    int err = 0;
    return dtx_store_new(s_db, 1, 0, dtx_coord_sql, DTX_SQL_COUNT, dtx_coord_sql_session, &err);
}

/* s_run_batch, and how the store's counters moved meanwhile (d:
 * statements, ops and lazy round trips). */
static int s_run_counted(dtx_store_t *st, s_answer_t *a, int n, dtx_store_stats_t *d)
{
    dtx_store_stats_t before, after;
    dtx_store_stats(st, &before);
    int rc = s_run_batch(st, a, n);
    dtx_store_stats(st, &after);
    memset(d, 0, sizeof *d);
    d->statements = after.statements - before.statements;
    d->ops = after.ops - before.ops;
    d->lazy_round_trips = after.lazy_round_trips - before.lazy_round_trips;
    return rc;
}

/* A transaction as the log holds it: owner nb, epoch 1, generation 0. */
static void s_put(const char *gid, int state, int branches, int branch_state)
{
    CU_ASSERT_EQUAL(h_db_exec(s_log, "INSERT INTO dtx_global (gid, mode, state, deadline, owner,"
                              " owner_epoch, next_attempt_at, branches)"
                              " VALUES ('%s', 1, %d, now() + interval '1 min', 'nb', 1, now(), %d)",
                              gid, state, branches), 0);
    for (int b = 1; b <= branches; b++)
        CU_ASSERT_EQUAL(h_db_exec(s_log, "INSERT INTO dtx_branch (gid, branch_no, resource, action,"
                                  " payload, state) VALUES ('%s', %d, 'r', 'a', '', %d)",
                                  gid, b, branch_state), 0);
}

static void test_stale_fence_in_a_set_refuses_only_its_row(void)
{
    dtx_store_t *st = s_store();
    CU_ASSERT_FATAL(st != NULL);
    s_put("fence-ok", DTX_STATE_COMMITTING, 1, DTX_BRANCH_TRIED);
    s_put("fence-stale", DTX_STATE_COMMITTING, 1, DTX_BRANCH_TRIED);
    s_answer_t a[2] = { 0 };
    char done[4];
    snprintf(done, sizeof done, "%d", DTX_BRANCH_CONFIRMED);
    /* the second writer's epoch (0) is not the owner's (1) */
    const char *ok[7] = { "fence-ok", "1", done, "1", "nb", "1", "0" };
    const char *stale[7] = { "fence-stale", "1", done, "1", "nb", "0", "0" };
    dtx_store_submit(st, 0, DTX_SQL_BRANCH_DONE, 7, ok, NULL, NULL, s_on_done, &a[0]);
    dtx_store_submit(st, 0, DTX_SQL_BRANCH_DONE, 7, stale, NULL, NULL, s_on_done, &a[1]);
    dtx_store_stats_t d;
    CU_ASSERT_FATAL(s_run_counted(st, a, 2, &d) == 0);
    CU_ASSERT_EQUAL(d.statements, 1); /* one statement for both */
    CU_ASSERT_EQUAL(d.ops, 2);
    CU_ASSERT_EQUAL(d.lazy_round_trips, 1);
    CU_ASSERT_EQUAL(a[0].rc, 0);
    CU_ASSERT_EQUAL(a[0].rows, 1);
    CU_ASSERT_EQUAL(a[1].rc, 0); /* not a failure of the batch: no row for it */
    CU_ASSERT_EQUAL(a[1].rows, 0);
    CU_ASSERT_EQUAL(u_branch_state(s_log, "fence-ok", 1), DTX_BRANCH_CONFIRMED);
    CU_ASSERT_EQUAL(u_branch_state(s_log, "fence-stale", 1), DTX_BRANCH_TRIED);
    /* the same for decisions: the one with a stale generation is refused */
    s_put("dec-ok", DTX_STATE_ACTIVE, 1, DTX_BRANCH_TRIED);
    s_put("dec-stale", DTX_STATE_ACTIVE, 1, DTX_BRANCH_TRIED);
    memset(a, 0, sizeof a);
    char to[4], from[4];
    snprintf(to, sizeof to, "%d", DTX_STATE_COMMITTING);
    snprintf(from, sizeof from, "%d", DTX_STATE_ACTIVE);
    const char *d1[7] = { "dec-ok", to, from, "nb", "1", "0", "1" };
    const char *d2[7] = { "dec-stale", to, from, "nb", "1", "7", "1" };
    dtx_store_submit(st, 0, DTX_SQL_DECIDE, 7, d1, NULL, NULL, s_on_done, &a[0]);
    dtx_store_submit(st, 0, DTX_SQL_DECIDE, 7, d2, NULL, NULL, s_on_done, &a[1]);
    CU_ASSERT_FATAL(s_run_counted(st, a, 2, &d) == 0);
    CU_ASSERT_EQUAL(d.statements, 1);
    CU_ASSERT_EQUAL(d.lazy_round_trips, 0); /* a decision */
    CU_ASSERT_EQUAL(a[0].rows, 1);
    CU_ASSERT_EQUAL(atoi(a[0].first), DTX_STATE_COMMITTING);
    CU_ASSERT_EQUAL(a[1].rc, 0);
    CU_ASSERT_EQUAL(a[1].rows, 0);
    CU_ASSERT_EQUAL(u_log_state(s_log, "dec-ok"), DTX_STATE_COMMITTING);
    CU_ASSERT_EQUAL(u_log_state(s_log, "dec-stale"), DTX_STATE_ACTIVE);
    dtx_store_destroy(&st);
}

/* Two transactions each get a first branch and a second one in the same
 * batch: the first branches run as one statement, each second one after
 * its own first, so each is numbered 2 and finds its global row. */
static void test_operations_of_one_transaction_keep_their_order(void)
{
    dtx_store_t *st = s_store();
    CU_ASSERT_FATAL(st != NULL);
    s_answer_t a[4] = { 0 };
    const char *gids[2] = { "order-1", "order-2" };
    const char payload[3] = { 0, '"', '\\' }; /* binary, with what array literals quote */
    int lens[12] = { 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0 };
    int fmts[12] = { 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0 };
    for (int i = 0; i < 2; i++) {
        const char *first[12] = { gids[i], "{\"res \\\"q\\\"\"}", "{\"act\\\\x\"}", payload,
                                  "nb", "1", "1", "4102444800000", "who", "", "false", "{3}" };
        dtx_store_submit(st, 0, DTX_SQL_BRANCH_FIRST, 12, first, lens, fmts, s_on_done, &a[i]);
    }
    for (int i = 0; i < 2; i++) {
        const char *add[7] = { gids[i], "r2", "a2", payload, "nb", "1", "0" };
        dtx_store_submit(st, 0, DTX_SQL_BRANCH_ADD, 7, add, lens, fmts, s_on_done, &a[2 + i]);
    }
    dtx_store_stats_t d;
    CU_ASSERT_FATAL(s_run_counted(st, a, 4, &d) == 0);
    CU_ASSERT_EQUAL(d.statements, 3); /* the set, then each add */
    for (int i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL(a[i].rc, 0);
        CU_ASSERT_STRING_EQUAL(a[i].first, "1");
        CU_ASSERT_EQUAL(a[2 + i].rc, 0);
        CU_ASSERT_STRING_EQUAL(a[2 + i].first, "2");
        CU_ASSERT_EQUAL(h_db_scalar(s_log, "SELECT branches FROM dtx_global WHERE gid = '%s'",
                                    gids[i]), 2);
        CU_ASSERT_EQUAL(h_db_scalar(s_log, "SELECT count(*) FROM dtx_branch WHERE gid = '%s'"
                                    " AND payload = '\\x00225c'::bytea", gids[i]), 2);
        CU_ASSERT_EQUAL(h_db_scalar(s_log, "SELECT count(*) FROM dtx_branch WHERE gid = '%s'"
                                    " AND branch_no = 1 AND resource = 'res \"q\"'"
                                    " AND action = 'act\\x'", gids[i]), 1);
    }
    dtx_store_destroy(&st);
}

/* A first write (DTX_SQL_BRANCH_FIRST) of gid with the n branches of a
 * TCC_RUN's batch: branch k is resource "r<k>", action "a<k>", payload
 * pay[k] (len[k] bytes); the arrays built as dtxd builds them. */
static void s_first(dtx_store_t *st, const char *gid, int n, const char *const *pay,
                    const int *len, s_answer_t *a)
{
    char res[128] = "{", act[128] = "{", ends[128] = "{", blob[64];
    int end = 0;
    for (int k = 0; k < n; k++) {
        memcpy(blob + end, pay[k], (size_t)len[k]);
        end += len[k];
        snprintf(res + strlen(res), sizeof res - strlen(res), "%s\"r%d\"", k ? "," : "", k + 1);
        snprintf(act + strlen(act), sizeof act - strlen(act), "%s\"a%d\"", k ? "," : "", k + 1);
        snprintf(ends + strlen(ends), sizeof ends - strlen(ends), "%s%d", k ? "," : "", end);
    }
    strcat(res, "}");
    strcat(act, "}");
    strcat(ends, "}");
    const char *v[12] = { gid, res, act, blob, "nb", "1", "1", "4102444800000", "who", "",
                          "true", ends };
    int lens[12] = { 0, 0, 0, end, 0, 0, 0, 0, 0, 0, 0, 0 };
    int fmts[12] = { 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0 };
    dtx_store_submit(st, 0, DTX_SQL_BRANCH_FIRST, 12, v, lens, fmts, s_on_done, a);
}

/* The first writes of TCC_RUN batches of 1 to 3 branches, as one set and
 * alone: each global row is inserted with its branch count (no update
 * counts them), every branch row with its own number, resource, action and
 * payload (cut from the operation's blob: empty, text, binary with what
 * array literals quote); a gid already in the log (its row this writer's
 * own: owner, epoch and generation alike) inserts nothing and leaves only
 * its own operation without rows. */
static void test_first_write_records_a_whole_batch(void)
{
    dtx_store_t *st = s_store();
    CU_ASSERT_FATAL(st != NULL);
    s_put("run-taken", DTX_STATE_ACTIVE, 1, DTX_BRANCH_TRYING);
    const char *pay[3] = { "", "xy", "\0\"\\" };
    const int len[3] = { 0, 2, 3 };
    const char *gids[4] = { "run-c", "run-taken", "run-a", "run-b" };
    const int n[4] = { 3, 2, 2, 1 };
    s_answer_t a[5] = { 0 };
    for (int i = 0; i < 4; i++)
        s_first(st, gids[i], n[i], pay, len, &a[i]);
    dtx_store_stats_t d;
    CU_ASSERT_FATAL(s_run_counted(st, a, 4, &d) == 0);
    CU_ASSERT_EQUAL(d.statements, 1); /* one set */
    /* alone: the single form */
    s_first(st, "run-solo", 3, pay, len, &a[4]);
    CU_ASSERT_FATAL(s_run_batch(st, a + 4, 1) == 0);
    const char *all[5] = { "run-c", "run-taken", "run-a", "run-b", "run-solo" };
    const int nall[5] = { 3, 2, 2, 1, 3 };
    for (int i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(a[i].rc, 0);
        if (i == 1) {
            CU_ASSERT_EQUAL(a[i].rows, 0);
            CU_ASSERT_EQUAL(h_db_scalar(s_log, "SELECT branches * 10 + preparing::int FROM"
                                        " dtx_global WHERE gid = 'run-taken'"), 10);
            CU_ASSERT_EQUAL(h_db_scalar(s_log, "SELECT count(*) FROM dtx_branch"
                                        " WHERE gid = 'run-taken'"), 1);
            continue;
        }
        CU_ASSERT_EQUAL(a[i].rows, nall[i]);
        CU_ASSERT_STRING_EQUAL(a[i].first, "1");
        CU_ASSERT_EQUAL(h_db_scalar(s_log, "SELECT branches * 10 + preparing::int FROM dtx_global"
                                    " WHERE gid = '%s' AND state = %d", all[i], DTX_STATE_ACTIVE),
                        nall[i] * 10 + 1);
        CU_ASSERT_EQUAL(h_db_scalar(s_log, "SELECT count(*) FROM dtx_branch WHERE gid = '%s'",
                                    all[i]), nall[i]);
        for (int k = 0; k < nall[i]; k++)
            CU_ASSERT_EQUAL(h_db_scalar(s_log, "SELECT count(*) FROM dtx_branch WHERE gid = '%s'"
                                        " AND branch_no = %d AND resource = 'r%d'"
                                        " AND action = 'a%d' AND state = %d AND payload = '%s'"
                                        "::bytea", all[i], k + 1, k + 1, k + 1, DTX_BRANCH_TRYING,
                                        k == 0 ? "" : k == 1 ? "xy" : "\\x00225c"), 1);
    }
    dtx_store_destroy(&st);
}

/* Every set form's generic plan, made on this log's first statistics (a
 * log just created: its tables empty or nearly), reaches dtx_global and
 * dtx_branch through their primary keys only: no sequential scan, no scan
 * of the unfinished rows' (state, gid) index or of the (resource, gid)
 * index, no hash or merge join. Such a plan is kept for the connection's
 * life: one that scans would grow with the table. */
static void test_set_forms_use_primary_keys_only(void)
{
    PGconn *c = h_db_connect("logbatch_log");
    CU_ASSERT_FATAL(c != NULL);
    /* a few pages, never analyzed: what a log looks like soon after it
     * was created or emptied (a sequential scan then looks cheapest) */
    CU_ASSERT_EQUAL(h_db_exec(c, "INSERT INTO dtx_global (gid, mode, state, deadline, owner,"
                              " owner_epoch, branches) SELECT 'plan-' || i, 1, 1 + i %% 3, now(),"
                              " 'nb', 1, 2 FROM generate_series(1, 300) i"), 0);
    CU_ASSERT_EQUAL(h_db_exec(c, "INSERT INTO dtx_branch (gid, branch_no, resource, action,"
                              " payload, state) SELECT 'plan-' || i, b, 'r', 'a', '', 1"
                              " FROM generate_series(1, 300) i, generate_series(1, 2) b"), 0);
    PGresult *r = PQexec(c, dtx_coord_sql_session);
    CU_ASSERT_EQUAL(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    int sets = 0;
    for (int i = 0; i < DTX_SQL_COUNT; i++) {
        const dtx_store_stmt_t *st = &dtx_coord_sql[i];
        if (!st->set_sql)
            continue;
        sets++;
        r = PQprepare(c, st->name, st->set_sql, 0, NULL);
        CU_ASSERT_EQUAL_FATAL(PQresultStatus(r), PGRES_COMMAND_OK);
        PQclear(r);
        r = PQdescribePrepared(c, st->name);
        int np = PQnparams(r);
        PQclear(r);
        char q[256]; /* generic plan: the NULLs only fill the parameters */
        int n = snprintf(q, sizeof q, "EXPLAIN (COSTS OFF) EXECUTE %s(", st->name);
        for (int j = 0; j < np; j++)
            n += snprintf(q + n, sizeof q - (size_t)n, "%sNULL", j ? "," : "");
        snprintf(q + n, sizeof q - (size_t)n, ")");
        r = PQexec(c, q);
        CU_ASSERT_EQUAL_FATAL(PQresultStatus(r), PGRES_TUPLES_OK);
        for (int row = 0; row < PQntuples(r); row++) {
            const char *line = PQgetvalue(r, row, 0);
            int bad = strstr(line, "Seq Scan") || strstr(line, "Hash") || strstr(line, "Merge")
                   || strstr(line, "resource_gid") || strstr(line, "open_state");
            if (bad)
                fprintf(stderr, "\n  %s: %s\n", st->name, line);
            CU_ASSERT_FALSE(bad);
        }
        PQclear(r);
    }
    CU_ASSERT(sets >= 6);
    PQfinish(c);
}

/* A set's writes submitted out of key order each land with their own
 * values (the store sorts a set by gid; the statement finds each row's
 * values by binary search). */
static void test_set_out_of_order_keeps_each_rows_values(void)
{
    dtx_store_t *st = s_store();
    CU_ASSERT_FATAL(st != NULL);
    const char *gids[4] = { "vote-d", "vote-c", "vote-bb", "vote-b" };
    const int votes[4] = { DTX_BRANCH_TRIED, DTX_BRANCH_REFUSED, DTX_BRANCH_TRIED, DTX_BRANCH_REFUSED };
    const char *why[4] = { NULL, "no c", NULL, "no b" };
    for (int i = 0; i < 4; i++)
        s_put(gids[i], DTX_STATE_ACTIVE, 1, DTX_BRANCH_TRYING);
    s_answer_t a[4] = { 0 };
    char vs[4][4];
    for (int i = 0; i < 4; i++) {
        snprintf(vs[i], sizeof vs[i], "%d", votes[i]);
        const char *v[7] = { gids[i], "1", vs[i], why[i], "nb", "1", "0" };
        dtx_store_submit(st, 0, DTX_SQL_BRANCH_VOTE, 7, v, NULL, NULL, s_on_done, &a[i]);
    }
    dtx_store_stats_t d;
    CU_ASSERT_FATAL(s_run_counted(st, a, 4, &d) == 0);
    CU_ASSERT_EQUAL(d.statements, 1);
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(a[i].rc, 0);
        CU_ASSERT_EQUAL(a[i].rows, 1);
        CU_ASSERT_EQUAL(u_branch_state(s_log, gids[i], 1), votes[i]);
        CU_ASSERT_EQUAL(h_db_scalar(s_log, "SELECT count(*) FROM dtx_branch WHERE gid = '%s'"
                                    " AND vote = %d AND last_error IS NOT DISTINCT FROM %s%s%s",
                                    gids[i], votes[i], why[i] ? "'" : "", why[i] ? why[i] : "NULL",
                                    why[i] ? "'" : ""), 1);
    }
    dtx_store_destroy(&st);
}

/* A set of 30 operations submitted out of key order, each row's answer
 * different (the branch number it adds), one in five fenced off: each
 * operation gets its own row, or none, from the set's one result, and its
 * own parameters (text and binary, with what array literals quote). */
static void test_set_result_goes_to_each_operation(void)
{
    enum { N = 30 };
    dtx_store_t *st = s_store();
    CU_ASSERT_FATAL(st != NULL);
    char gids[N][32], res[N][32];
    char payload[N][4];
    int lens[7] = { 0, 0, 0, 3, 0, 0, 0 };
    int fmts[7] = { 0, 0, 0, 1, 0, 0, 0 };
    for (int i = 0; i < N; i++) {
        snprintf(gids[i], sizeof gids[i], "split-%02d", i);
        snprintf(res[i], sizeof res[i], "r\\\"%d", i);
        payload[i][0] = (char)i;
        payload[i][1] = '"';
        payload[i][2] = '\\';
        s_put(gids[i], DTX_STATE_ACTIVE, i % 4 + 1, DTX_BRANCH_TRYING);
    }
    s_answer_t a[N] = { 0 };
    for (int k = 0; k < N; k++) {
        int i = k * 7 % N; /* 0, 7, 14, 21, 28, 5, ...: not in key order */
        const char *add[7] = { gids[i], res[i], "a", payload[i], "nb", i % 5 ? "1" : "2", "0" };
        dtx_store_submit(st, 0, DTX_SQL_BRANCH_ADD, 7, add, lens, fmts, s_on_done, &a[i]);
    }
    dtx_store_stats_t d;
    CU_ASSERT_FATAL(s_run_counted(st, a, N, &d) == 0);
    CU_ASSERT_EQUAL(d.statements, 1);
    for (int i = 0; i < N; i++) {
        CU_ASSERT_EQUAL(a[i].rc, 0);
        if (i % 5 == 0) { /* epoch 2: not the owner's */
            CU_ASSERT_EQUAL(a[i].rows, 0);
            CU_ASSERT_EQUAL(h_db_scalar(s_log, "SELECT branches FROM dtx_global WHERE gid = '%s'",
                                        gids[i]), i % 4 + 1);
            continue;
        }
        CU_ASSERT_EQUAL(a[i].rows, 1);
        CU_ASSERT_EQUAL(atoi(a[i].first), i % 4 + 2);
        CU_ASSERT_EQUAL(h_db_scalar(s_log, "SELECT count(*) FROM dtx_branch WHERE gid = '%s'"
                                    " AND branch_no = %d AND resource = 'r\\\"%d'"
                                    " AND payload = '\\x%02x225c'::bytea", gids[i], i % 4 + 2,
                                    i, i), 1);
    }
    dtx_store_destroy(&st);
}

/* One vote (DTX_SQL_BRANCH_VOTE) as dtxd submits it. */
static void s_vote(dtx_store_t *st, const char *gid, int branch, int vote, const char *why,
                   const char *epoch, s_answer_t *a)
{
    char b[16], v[16];
    snprintf(b, sizeof b, "%d", branch);
    snprintf(v, sizeof v, "%d", vote);
    const char *p[7] = { gid, b, v, why, "nb", epoch, "0" };
    dtx_store_submit(st, 0, DTX_SQL_BRANCH_VOTE, 7, p, NULL, NULL, s_on_done, a);
}

/* A transaction's votes in one batch (a TRY_MANY's answers, read in one
 * turn) run in the one vote statement with the others' — each row with its
 * own vote and reason, by its gid and branch ("tm-a/10" sorts before
 * "tm-a/2"), one fenced off alone — while the order of a transaction's
 * writes holds: a vote after another write of its transaction runs after
 * that write, and a second vote for the same branch runs alone after the
 * first (and finds it no longer trying). */
static void test_a_transactions_votes_go_in_one_set(void)
{
    dtx_store_t *st = s_store();
    CU_ASSERT_FATAL(st != NULL);
    s_put("tm-a", DTX_STATE_ACTIVE, 10, DTX_BRANCH_TRYING);
    s_put("tm-b", DTX_STATE_ACTIVE, 2, DTX_BRANCH_TRYING);
    s_put("tm-c", DTX_STATE_ACTIVE, 2, DTX_BRANCH_TRYING);
    s_put("tm-d", DTX_STATE_ACTIVE, 1, DTX_BRANCH_TRYING);
    /* a gid that sorts after another's set keys ("tm-e.b/1" < "tm-e/1": '.'
     * before '/'), and one with what array literals quote and the key's '/' */
    s_put("tm-e", DTX_STATE_ACTIVE, 2, DTX_BRANCH_TRYING);
    s_put("tm-e.b", DTX_STATE_ACTIVE, 2, DTX_BRANCH_TRYING);
    s_put("tm/\"q\\", DTX_STATE_ACTIVE, 2, DTX_BRANCH_TRYING);
    s_answer_t odd[5] = { 0 };
    s_vote(st, "tm-e", 2, DTX_BRANCH_TRIED, NULL, "1", &odd[0]);
    s_vote(st, "tm-e.b", 1, DTX_BRANCH_REFUSED, "no e.b", "1", &odd[1]);
    s_vote(st, "tm/\"q\\", 2, DTX_BRANCH_REFUSED, "no \"q\"", "1", &odd[2]);
    s_vote(st, "tm-e", 1, DTX_BRANCH_REFUSED, "no e1", "1", &odd[3]);
    s_vote(st, "tm/\"q\\", 1, DTX_BRANCH_TRIED, NULL, "1", &odd[4]);
    CU_ASSERT_FATAL(s_run_batch(st, odd, 5) == 0);
    for (int i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(odd[i].rc, 0);
        CU_ASSERT_EQUAL(odd[i].rows, 1);
    }
    char seen[256], want[256];
    CU_ASSERT_EQUAL(h_db_scalar_text(s_log, seen, sizeof seen, "SELECT string_agg(gid || '/'"
                                     " || branch_no || '=' || state || coalesce(':' || last_error,"
                                     " ''), ' ' ORDER BY gid COLLATE \"C\", branch_no) FROM"
                                     " dtx_branch WHERE gid LIKE 'tm-e%%' OR gid LIKE 'tm/%%'"), 0);
    snprintf(want, sizeof want, "tm-e/1=%d:no e1 tm-e/2=%d tm-e.b/1=%d:no e.b tm-e.b/2=%d"
             " tm/\"q\\/1=%d tm/\"q\\/2=%d:no \"q\"", DTX_BRANCH_REFUSED, DTX_BRANCH_TRIED,
             DTX_BRANCH_REFUSED, DTX_BRANCH_TRYING, DTX_BRANCH_TRIED, DTX_BRANCH_REFUSED);
    CU_ASSERT_STRING_EQUAL(seen, want);
    s_answer_t a[9] = { 0 };
    s_vote(st, "tm-a", 10, DTX_BRANCH_TRIED, NULL, "1", &a[0]);
    s_vote(st, "tm-b", 1, DTX_BRANCH_REFUSED, "no b1", "1", &a[1]);
    s_vote(st, "tm-a", 2, DTX_BRANCH_TRIED, NULL, "1", &a[2]);
    s_vote(st, "tm-b", 2, DTX_BRANCH_TRIED, NULL, "0", &a[3]); /* epoch 0: not the owner */
    s_vote(st, "tm-c", 1, DTX_BRANCH_TRIED, NULL, "1", &a[4]);
    const char pay[1] = { 'p' };
    int lens[7] = { 0, 0, 0, 1, 0, 0, 0 };
    int fmts[7] = { 0, 0, 0, 1, 0, 0, 0 };
    const char *add[7] = { "tm-c", "r3", "a3", pay, "nb", "1", "0" };
    dtx_store_submit(st, 0, DTX_SQL_BRANCH_ADD, 7, add, lens, fmts, s_on_done, &a[5]);
    s_vote(st, "tm-c", 3, DTX_BRANCH_TRIED, NULL, "1", &a[6]); /* exists after the add only */
    s_vote(st, "tm-d", 1, DTX_BRANCH_REFUSED, "no d1", "1", &a[7]);
    s_vote(st, "tm-d", 1, DTX_BRANCH_TRIED, NULL, "1", &a[8]);
    dtx_store_stats_t d;
    CU_ASSERT_FATAL(s_run_counted(st, a, 9, &d) == 0);
    /* the set (tm-a/10, tm-a/2, tm-b/1, tm-b/2, tm-c/1, tm-d/1), then the
     * add, tm-c/3 and tm-d/1's second vote alone */
    CU_ASSERT_EQUAL(d.statements, 4);
    const int rows[9] = { 1, 1, 1, 0, 1, 1, 1, 1, 0 };
    for (int i = 0; i < 9; i++) {
        CU_ASSERT_EQUAL(a[i].rc, 0);
        CU_ASSERT_EQUAL(a[i].rows, rows[i]);
    }
    CU_ASSERT_STRING_EQUAL(a[5].first, "3");
    CU_ASSERT_EQUAL(u_branch_state(s_log, "tm-a", 10), DTX_BRANCH_TRIED);
    CU_ASSERT_EQUAL(u_branch_state(s_log, "tm-a", 2), DTX_BRANCH_TRIED);
    CU_ASSERT_EQUAL(h_db_scalar(s_log, "SELECT count(*) FROM dtx_branch WHERE gid = 'tm-a'"
                                " AND state = %d", DTX_BRANCH_TRYING), 8);
    CU_ASSERT_EQUAL(h_db_scalar(s_log, "SELECT count(*) FROM dtx_branch WHERE gid = 'tm-b'"
                                " AND branch_no = 1 AND vote = %d AND last_error = 'no b1'",
                                DTX_BRANCH_REFUSED), 1);
    CU_ASSERT_EQUAL(u_branch_state(s_log, "tm-b", 2), DTX_BRANCH_TRYING);
    CU_ASSERT_EQUAL(u_branch_state(s_log, "tm-c", 1), DTX_BRANCH_TRIED);
    CU_ASSERT_EQUAL(u_branch_state(s_log, "tm-c", 2), DTX_BRANCH_TRYING);
    CU_ASSERT_EQUAL(u_branch_state(s_log, "tm-c", 3), DTX_BRANCH_TRIED);
    CU_ASSERT_EQUAL(h_db_scalar(s_log, "SELECT count(*) FROM dtx_branch WHERE gid = 'tm-d'"
                                " AND vote = %d AND last_error = 'no d1'", DTX_BRANCH_REFUSED), 1);
    /* a vote without a set key (no branch, one not as PostgreSQL prints
     * it, binary, or fewer parameters than the statement's: the set form
     * takes the keys after them) is refused at once, nothing sent */
    const char *nobranch[7] = { "tm-a", NULL, "2", NULL, "nb", "1", "0" };
    const char *padded[7] = { "tm-a", "03", "2", NULL, "nb", "1", "0" };
    const char *signed_[7] = { "tm-a", "+3", "2", NULL, "nb", "1", "0" };
    const char *big[7] = { "tm-a", "2147483648", "2", NULL, "nb", "1", "0" };
    const char *fine[7] = { "tm-a", "3", "2", NULL, "nb", "1", "0" };
    const int bin[7] = { 0, 1, 0, 0, 0, 0, 0 }, blens[7] = { 0, 1, 0, 0, 0, 0, 0 };
    struct { const char *const *v; int n; const int *fmt; } bad[] = {
        { nobranch, 7, NULL }, { padded, 7, NULL }, { signed_, 7, NULL }, { big, 7, NULL },
        { fine, 7, bin }, { fine, 6, NULL },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s_answer_t r;
        memset(&r, 0, sizeof r);
        dtx_store_submit(st, 0, DTX_SQL_BRANCH_VOTE, bad[i].n, bad[i].v, bad[i].fmt ? blens : NULL,
                         bad[i].fmt, s_on_done, &r);
        CU_ASSERT_EQUAL(r.done, 1);
        CU_ASSERT_EQUAL(r.rc, DTX_EDB);
    }
    CU_ASSERT_TRUE(dtx_store_idle(st));
    dtx_store_destroy(&st);
}

/* Acknowledgements written on their own (DTX_SQL_BRANCH_DONE: a
 * transaction's branches done while another takes a while, or at
 * shutdown) are keyed by branch too: both of one transaction and another
 * one's in one statement, each row with its own state and attempts. */
static void test_a_transactions_acknowledgements_go_in_one_set(void)
{
    dtx_store_t *st = s_store();
    CU_ASSERT_FATAL(st != NULL);
    s_put("ack-a", DTX_STATE_COMMITTING, 3, DTX_BRANCH_TRIED);
    s_put("ack-b", DTX_STATE_ABORTING, 2, DTX_BRANCH_TRIED);
    char conf[4], canc[4];
    snprintf(conf, sizeof conf, "%d", DTX_BRANCH_CONFIRMED);
    snprintf(canc, sizeof canc, "%d", DTX_BRANCH_CANCELLED);
    /* ack-b/2 puts branch 2 in the set's branches: ack-a/2 is then a row
     * the statement meets, and must leave alone (not a set key of it) */
    const char *acks[4][7] = { { "ack-a", "3", conf, "2", "nb", "1", "0" },
                            { "ack-b", "1", canc, "4", "nb", "1", "0" },
                            { "ack-a", "1", conf, "1", "nb", "1", "0" },
                            { "ack-b", "2", canc, "5", "nb", "1", "0" } };
    s_answer_t a[4] = { 0 };
    for (int i = 0; i < 4; i++)
        dtx_store_submit(st, 0, DTX_SQL_BRANCH_DONE, 7, acks[i], NULL, NULL, s_on_done, &a[i]);
    dtx_store_stats_t d;
    CU_ASSERT_FATAL(s_run_counted(st, a, 4, &d) == 0);
    CU_ASSERT_EQUAL(d.statements, 1);
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(a[i].rc, 0);
        CU_ASSERT_EQUAL(a[i].rows, 1);
    }
    CU_ASSERT_EQUAL(h_db_scalar(s_log, "SELECT state * 10 + attempts FROM dtx_branch"
                                " WHERE gid = 'ack-a' AND branch_no = 3"), DTX_BRANCH_CONFIRMED * 10 + 2);
    CU_ASSERT_EQUAL(h_db_scalar(s_log, "SELECT state * 10 + attempts FROM dtx_branch"
                                " WHERE gid = 'ack-a' AND branch_no = 1"), DTX_BRANCH_CONFIRMED * 10 + 1);
    CU_ASSERT_EQUAL(u_branch_state(s_log, "ack-a", 2), DTX_BRANCH_TRIED);
    CU_ASSERT_EQUAL(h_db_scalar(s_log, "SELECT state * 10 + attempts FROM dtx_branch"
                                " WHERE gid = 'ack-b' AND branch_no = 1"), DTX_BRANCH_CANCELLED * 10 + 4);
    CU_ASSERT_EQUAL(h_db_scalar(s_log, "SELECT state * 10 + attempts FROM dtx_branch"
                                " WHERE gid = 'ack-b' AND branch_no = 2"), DTX_BRANCH_CANCELLED * 10 + 5);
    CU_ASSERT_EQUAL(h_db_scalar(s_log, "SELECT attempts FROM dtx_branch"
                                " WHERE gid = 'ack-a' AND branch_no = 2"), 0);
    dtx_store_destroy(&st);
}

INTEG_SUITE(log_batch)
{
    CU_pSuite s = CU_add_suite("log_batch", s_init, s_clean);
    CU_add_test(s, "set forms use primary keys only", test_set_forms_use_primary_keys_only);
    CU_add_test(s, "stale fence in a set refuses only its row",
                test_stale_fence_in_a_set_refuses_only_its_row);
    CU_add_test(s, "a set out of key order keeps each row's values",
                test_set_out_of_order_keeps_each_rows_values);
    CU_add_test(s, "a set's result goes to each of its operations",
                test_set_result_goes_to_each_operation);
    CU_add_test(s, "operations of one transaction keep their order",
                test_operations_of_one_transaction_keep_their_order);
    CU_add_test(s, "a first write records a whole batch", test_first_write_records_a_whole_batch);
    CU_add_test(s, "a transaction's votes go in one set", test_a_transactions_votes_go_in_one_set);
    CU_add_test(s, "a transaction's acknowledgements go in one set",
                test_a_transactions_acknowledgements_go_in_one_set);
}
