/*
 * The log store's session settings (coordinator/log/store.h, session_sql)
 * against a real PostgreSQL: each connection runs them as it opens — the
 * log's (dtx_coord_sql_session: one generic plan per statement, no
 * sequential scan, no JIT compilation) are in force on the connection that
 * runs the statements, a store opened without
 * any keeps PostgreSQL's default, and settings the server refuses keep the
 * store from opening, with DTX_EDB.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <zmq.h>

#include "dtx/types.h"
#include "integ.h"
#include "log/sql.h"
#include "log/store.h"
#include "util.h"

static char s_db[H_CONNINFO_SIZE];

static const dtx_store_stmt_t s_stmts[] = {
    { "t_plan_settings",
      "SELECT current_setting('plan_cache_mode') || ',' || current_setting('enable_seqscan')"
      " || ',' || current_setting('jit')", 0, 0, NULL, 0 },
};

static int s_init(void)
{
    return h_db_create("logsession", s_db, sizeof s_db);
}

typedef struct s_answer {
    int  done;
    int  rc;
    char value[64];
} s_answer_t;

static void s_on_done(void *ctx, int rc, const PGresult *res)
{
    s_answer_t *a = ctx;
    a->done = 1;
    a->rc = rc;
    if (rc == 0 && res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        snprintf(a->value, sizeof a->value, "%s", PQgetvalue(res, 0, 0));
}

/* The planner settings the store's connection runs its statements with:
 * "plan_cache_mode,enable_seqscan,jit". */
static int s_mode(dtx_store_t *st, char *out, size_t cap)
{
    s_answer_t a;
    memset(&a, 0, sizeof a);
    dtx_store_submit(st, 0, 0, 0, NULL, NULL, NULL, s_on_done, &a);
    dtx_store_flush(st);
    int64_t until = h_now_ms() + 10000;
    while (!a.done && h_now_ms() < until) {
        zmq_pollitem_t items[4];
        int k = dtx_store_poll_items(st, items, 4);
        zmq_poll(items, k, 20);
        dtx_store_process(st, items, k);
        dtx_store_flush(st);
    }
    snprintf(out, cap, "%s", a.value);
    return a.done && a.rc == 0 ? 0 : -1;
}

static void test_the_log_connections_plan_each_statement_once(void)
{
    int err = 0;
    dtx_store_t *st = dtx_store_new(s_db, 1, 0, s_stmts, 1, dtx_coord_sql_session, &err);
    CU_ASSERT_FATAL(st != NULL);
    char mode[64];
    CU_ASSERT_EQUAL(s_mode(st, mode, sizeof mode), 0);
    CU_ASSERT_STRING_EQUAL(mode, "force_generic_plan,off,off");
    dtx_store_destroy(&st);
    CU_ASSERT_PTR_NULL(st);
}

static void test_a_store_without_settings_keeps_the_default(void)
{
    int err = 0;
    dtx_store_t *st = dtx_store_new(s_db, 1, 0, s_stmts, 1, NULL, &err);
    CU_ASSERT_FATAL(st != NULL);
    char mode[64];
    CU_ASSERT_EQUAL(s_mode(st, mode, sizeof mode), 0);
    /* jit's default depends on how the server was built: not asserted. */
    CU_ASSERT_EQUAL(strncmp(mode, "auto,on,", 8), 0);
    dtx_store_destroy(&st);
}

static void test_settings_the_server_refuses_keep_the_store_closed(void)
{
    int err = 0;
    dtx_store_t *st = dtx_store_new(s_db, 1, 0, s_stmts, 1, "SET plan_cache_mode = sometimes",
                                    &err);
    CU_ASSERT_PTR_NULL(st);
    CU_ASSERT_EQUAL(err, DTX_EDB);
}

INTEG_SUITE(log_session) {
    CU_pSuite s = CU_add_suite("log_session", s_init, NULL);
    CU_add_test(s, "the log connections plan each statement once",
                test_the_log_connections_plan_each_statement_once);
    CU_add_test(s, "a store without settings keeps the default",
                test_a_store_without_settings_keeps_the_default);
    CU_add_test(s, "settings the server refuses keep the store closed",
                test_settings_the_server_refuses_keep_the_store_closed);
}
