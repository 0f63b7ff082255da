/*
 * The log's routing over its connections (coordinator/log/route.h)
 * against a real PostgreSQL: a key with a write queued or in flight keeps
 * its next writes on that write's connection (same backend), a free key
 * goes where the store picks (one batch at a low load, the next connection
 * past the spill size), a transaction's writes apply in the order
 * submitted however they spread (each write checks its predecessor's), and
 * a key whose write was lost in flight stays on that connection until it
 * is back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <sys/socket.h>
#include <zmq.h>

#include "dtx/types.h"
#include "integ.h"
#include "log/store.h"
#include "util.h"

static char s_db[H_CONNINFO_SIZE];
static PGconn *s_log;

static const dtx_store_stmt_t s_stmts[] = {
    /* 0: which backend ran it, after sleeping $2 s */
    { "route_where", "SELECT pg_backend_pid()::text FROM pg_sleep($2::float8), (SELECT $1::text) k",
      2, 0, NULL, 0 },
    /* 1: step $2 of key $1: only right after step $2 - 1 */
    { "route_step", "UPDATE route_t SET v = $2::int WHERE k = $1 AND v = $2::int - 1 RETURNING v",
      2, 0, NULL, 0 },
    /* 2: route_where, lazy */
    { "route_where_lazy",
      "SELECT pg_backend_pid()::text FROM pg_sleep($2::float8), (SELECT $1::text) k", 2, 1, NULL, 0 },
    /* 3: 1 / $2 (fails for 0: division by zero) */
    { "route_div", "SELECT (1 / $2::int)::text FROM (SELECT $1::text) k", 2, 0, NULL, 0 },
    /* 4: makes the rest of its batch read-only (a write then fails with 25006) */
    { "route_ro", "SELECT set_config('transaction_read_only', 'on', true) FROM (SELECT $1::text, $2::text) k",
      2, 0, NULL, 0 },
    /* 5: key $1 := $2 */
    { "route_put", "INSERT INTO route_t (k, v) VALUES ($1, $2::int) ON CONFLICT (k) DO UPDATE "
                   "SET v = EXCLUDED.v RETURNING v::text", 2, 0, NULL, 0 },
};
#define S_NSTMTS ((int)(sizeof s_stmts / sizeof s_stmts[0]))

static int s_init(void)
{
    if (h_db_create("logroute", s_db, sizeof s_db) != 0)
        return -1;
    s_log = h_db_connect("logroute");
    if (!s_log)
        return -1;
    return h_db_exec(s_log, "CREATE TABLE route_t (k text PRIMARY KEY, v int NOT NULL)");
}

static int s_clean(void)
{
    PQfinish(s_log);
    return 0;
}

typedef struct s_answer {
    int  done;
    int  rc;
    int  rows;
    char first[32];
} s_answer_t;

static void s_on_done(void *ctx, int rc, const PGresult *res)
{
    s_answer_t *a = ctx;
    a->done = 1;
    a->rc = rc;
    if (res && PQresultStatus(res) == PGRES_TUPLES_OK) {
        a->rows = PQntuples(res);
        if (a->rows > 0)
            snprintf(a->first, sizeof a->first, "%s", PQgetvalue(res, 0, 0));
    }
}

/* Sends what is pending (each connection's batch as its previous one
 * comes back) until every answer is in. */
static int s_run(dtx_store_t *st, s_answer_t *a, int n)
{
    for (int spin = 0; spin < 1000; spin++) {
        dtx_store_flush(st);
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

static void s_where_as(dtx_store_t *st, int stmt, uint32_t key, const char *sleep_s, s_answer_t *a)
{
    char k[16];
    snprintf(k, sizeof k, "%u", key);
    const char *vals[2] = { k, sleep_s };
    dtx_store_submit(st, key, stmt, 2, vals, NULL, NULL, s_on_done, a);
}

static void s_where(dtx_store_t *st, uint32_t key, const char *sleep_s, s_answer_t *a)
{
    s_where_as(st, 0, key, sleep_s, a);
}

static void test_a_held_key_stays_on_its_connection(void)
{
    enum { SPILL = 8, N = SPILL + 3 };
    int err = 0;
    dtx_store_t *st = dtx_store_new(s_db, 2, 0, s_stmts, S_NSTMTS, NULL, &err);
    CU_ASSERT_FATAL(st != NULL);
    dtx_store_set_spill(st, SPILL);
    s_answer_t a[N];
    memset(a, 0, sizeof a);
    /* Key 7's first write goes (the first connection: the pending batches
     * are empty) and is in flight a while; then the first connection's
     * pending batch fills to the spill size with other keys. */
    s_where(st, 7, "0.3", &a[0]);
    dtx_store_flush(st);
    for (int i = 1; i <= SPILL; i++)
        s_where(st, 100 + (uint32_t)i, "0", &a[i]);
    /* Key 7 is held: its next write joins its connection anyway; a free
     * key spills to the other connection. */
    s_where(st, 7, "0", &a[SPILL + 1]);
    s_where(st, 9, "0", &a[SPILL + 2]);
    CU_ASSERT_FATAL(s_run(st, a, N) == 0);
    for (int i = 0; i < N; i++) {
        CU_ASSERT_EQUAL(a[i].rc, 0);
        CU_ASSERT_EQUAL(a[i].rows, 1);
    }
    for (int i = 1; i <= SPILL; i++)
        CU_ASSERT_STRING_EQUAL(a[i].first, a[0].first); /* one batch while below the spill */
    CU_ASSERT_STRING_EQUAL(a[SPILL + 1].first, a[0].first);
    CU_ASSERT_STRING_NOT_EQUAL(a[SPILL + 2].first, a[0].first);
    /* Everything answered: key 7 is free, and goes to the first
     * connection with room again. */
    s_answer_t b[1];
    memset(b, 0, sizeof b);
    s_where(st, 7, "0", &b[0]);
    CU_ASSERT_FATAL(s_run(st, b, 1) == 0);
    CU_ASSERT_STRING_EQUAL(b[0].first, a[0].first);
    dtx_store_destroy(&st);
}

static void s_read(dtx_store_t *st, s_answer_t *a, int n);

/* A free key's lazy write looks for a connection from the last one: a
 * lone synchronous write never queues behind a lazy batch in flight (at
 * 1 in flight, a TCC_RUN's first write behind the previous one's final
 * state), and the lazy one does not wait for the synchronous one either. */
static void test_a_lazy_write_takes_the_last_connection(void)
{
    int err = 0;
    dtx_store_t *st = dtx_store_new(s_db, 2, 0, s_stmts, S_NSTMTS, NULL, &err);
    CU_ASSERT_FATAL(st != NULL);
    s_answer_t a[4];
    memset(a, 0, sizeof a);
    /* A lazy write in flight a while (the last connection); the
     * synchronous write after it goes out on the first one at once. */
    s_where_as(st, 2, 7, "2", &a[0]);
    dtx_store_flush(st);
    s_where(st, 8, "0", &a[1]);
    dtx_store_flush(st);
    s_read(st, &a[1], 1);
    CU_ASSERT_TRUE(a[1].done); /* did not wait for the 2 s batch */
    CU_ASSERT_FALSE(a[0].done);
    /* Both idle: in one turn, the synchronous write and the lazy one
     * still go to two connections. */
    s_where(st, 9, "0", &a[2]);
    s_where_as(st, 2, 10, "0", &a[3]);
    CU_ASSERT_FATAL(s_run(st, a, 4) == 0);
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(a[i].rc, 0);
    CU_ASSERT_STRING_NOT_EQUAL(a[0].first, a[1].first);
    CU_ASSERT_STRING_EQUAL(a[1].first, a[2].first);
    CU_ASSERT_STRING_EQUAL(a[0].first, a[3].first);
    dtx_store_destroy(&st);
}

/* Many keys, several steps each submitted back to back (so several are
 * queued at once) over connections that spill at every other write: every
 * step finds its predecessor done, so each key ends at its last step. */
static void test_a_keys_writes_apply_in_order_across_connections(void)
{
    enum { KEYS = 40, STEPS = 6, N = KEYS * STEPS };
    CU_ASSERT_EQUAL_FATAL(h_db_exec(s_log, "INSERT INTO route_t SELECT 'k' || g, 0"
                                           " FROM generate_series(0, %d) g", KEYS - 1), 0);
    int err = 0;
    dtx_store_t *st = dtx_store_new(s_db, 3, 0, s_stmts, S_NSTMTS, NULL, &err);
    CU_ASSERT_FATAL(st != NULL);
    dtx_store_set_spill(st, 2);
    static s_answer_t a[N];
    memset(a, 0, sizeof a);
    int next = 0;
    for (int round = 0; round < STEPS; round += 2) {
        /* Two steps of each key per round; a round starts while the last
         * one's writes may still be queued or in flight. */
        for (int k = 0; k < KEYS; k++)
            for (int s = round; s < round + 2; s++) {
                char key[16], step[16];
                snprintf(key, sizeof key, "k%d", k);
                snprintf(step, sizeof step, "%d", s + 1);
                const char *vals[2] = { key, step };
                dtx_store_submit(st, 1000u + (uint32_t)k, 1, 2, vals, NULL, NULL, s_on_done,
                                 &a[next++]);
            }
        dtx_store_flush(st);
        zmq_pollitem_t items[4];
        int n = dtx_store_poll_items(st, items, 4);
        zmq_poll(items, n, 5);
        dtx_store_process(st, items, n);
    }
    CU_ASSERT_FATAL(s_run(st, a, N) == 0);
    int refused = 0;
    for (int i = 0; i < N; i++)
        refused += a[i].rc != 0 || a[i].rows != 1;
    CU_ASSERT_EQUAL(refused, 0);
    CU_ASSERT_EQUAL(h_db_scalar(s_log, "SELECT count(*) FROM route_t WHERE v = %d", STEPS), KEYS);
    dtx_store_stats_t stats;
    dtx_store_stats(st, &stats);
    CU_ASSERT(stats.round_trips >= 3); /* it did spread over batches */
    dtx_store_destroy(&st);
}

/* Polls and reads until every answer is in or a connection is found
 * broken; no maintain (so no reconnect): the test says when. */
static void s_read(dtx_store_t *st, s_answer_t *a, int n)
{
    for (int spin = 0; spin < 300; spin++) {
        int all = 1;
        for (int i = 0; i < n; i++)
            all &= a[i].done;
        if (all || !dtx_store_healthy(st))
            return;
        zmq_pollitem_t items[4];
        int k = dtx_store_poll_items(st, items, 4);
        zmq_poll(items, k, 20);
        dtx_store_process(st, items, k);
    }
}

/* With the first of two connections down: key's write (a key parked on
 * it) fails at once, key 9's (free) runs on the other. b: two answers. */
static void s_parked_on_the_down_one(dtx_store_t *st, uint32_t key, s_answer_t *b)
{
    s_where(st, key, "0", &b[0]);
    s_where(st, 9, "0", &b[1]);
    dtx_store_maintain(st, -1);
    CU_ASSERT_TRUE(b[0].done);
    CU_ASSERT_EQUAL(b[0].rc, DTX_EDB);
    CU_ASSERT_FATAL(s_run(st, b, 2) == 0);
    CU_ASSERT_EQUAL(b[1].rc, 0);
}

static void test_a_key_lost_in_flight_waits_for_its_connection(void)
{
    int err = 0;
    dtx_store_t *st = dtx_store_new(s_db, 2, 0, s_stmts, S_NSTMTS, NULL, &err);
    CU_ASSERT_FATAL(st != NULL);
    dtx_store_set_spill(st, 1);
    s_answer_t a[1], b[2], c[1];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    memset(c, 0, sizeof c);
    /* Key 7's write in flight on the first connection, which breaks under
     * it (its socket shut on this side): the outcome is unknown. */
    s_where(st, 7, "1", &a[0]);
    dtx_store_flush(st);
    zmq_pollitem_t items[4];
    CU_ASSERT_FATAL(dtx_store_poll_items(st, items, 4) == 2);
    CU_ASSERT_EQUAL_FATAL(shutdown(items[0].fd, SHUT_RDWR), 0);
    s_read(st, a, 1);
    dtx_store_maintain(st, -1); /* fails what it held; not yet time to reconnect */
    CU_ASSERT_EQUAL(a[0].rc, DTX_EUNKNOWN);
    CU_ASSERT_FALSE(dtx_store_healthy(st));
    /* Key 7 stays on its connection, down: its write fails rather than
     * run on the other one beside a commit that may still happen; key 9,
     * free, goes to the connection that is up. */
    s_parked_on_the_down_one(st, 7, b);
    /* Back: key 7 is free again. */
    dtx_store_maintain(st, INT64_MAX / 2);
    CU_ASSERT_TRUE(dtx_store_healthy(st));
    s_where(st, 7, "0", &c[0]);
    CU_ASSERT_FATAL(s_run(st, c, 1) == 0);
    CU_ASSERT_EQUAL(c[0].rc, 0);
    dtx_store_destroy(&st);
}

/* A connection takes a second batch while its first is in flight
 * (DTX_STORE_DEPTH): its server starts on it as soon as the first
 * commits. A third waits. The connection broken under them: both sent
 * batches may have committed (DTX_EUNKNOWN), the waiting one was never
 * sent (DTX_EDB). */
static void test_a_second_batch_goes_behind_the_first(void)
{
    int err = 0;
    dtx_store_t *st = dtx_store_new(s_db, 1, 0, s_stmts, S_NSTMTS, NULL, &err);
    CU_ASSERT_FATAL(st != NULL);
    s_answer_t a[3];
    memset(a, 0, sizeof a);
    s_where(st, 1, "1", &a[0]);
    dtx_store_flush(st);
    s_where(st, 2, "0", &a[1]);
    dtx_store_flush(st);
    s_where(st, 3, "0", &a[2]);
    dtx_store_flush(st);
    zmq_pollitem_t items[2];
    CU_ASSERT_FATAL(dtx_store_poll_items(st, items, 2) == 1);
    CU_ASSERT_EQUAL_FATAL(shutdown(items[0].fd, SHUT_RDWR), 0);
    s_read(st, a, 3);
    dtx_store_maintain(st, -1);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_TRUE(a[i].done);
    CU_ASSERT_EQUAL(a[0].rc, DTX_EUNKNOWN);
    CU_ASSERT_EQUAL(a[1].rc, DTX_EUNKNOWN);
    CU_ASSERT_EQUAL(a[2].rc, DTX_EDB);
    dtx_store_destroy(&st);
}

/* A key whose only write is in the batch behind (not the oldest) is
 * parked too when the connection breaks under both: that write may have
 * committed, so the key's next write must not run on another
 * connection meanwhile. */
static void test_a_key_in_the_batch_behind_waits_for_its_connection(void)
{
    int err = 0;
    dtx_store_t *st = dtx_store_new(s_db, 2, 0, s_stmts, S_NSTMTS, NULL, &err);
    CU_ASSERT_FATAL(st != NULL);
    s_answer_t a[2], b[2];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    s_where(st, 7, "1", &a[0]); /* the first connection: in flight */
    dtx_store_flush(st);
    s_where(st, 8, "0", &a[1]); /* a free key: the same connection, behind */
    dtx_store_flush(st);
    zmq_pollitem_t items[4];
    CU_ASSERT_FATAL(dtx_store_poll_items(st, items, 4) == 2);
    CU_ASSERT_EQUAL_FATAL(shutdown(items[0].fd, SHUT_RDWR), 0);
    s_read(st, a, 2);
    dtx_store_maintain(st, -1);
    CU_ASSERT_EQUAL(a[0].rc, DTX_EUNKNOWN);
    CU_ASSERT_EQUAL(a[1].rc, DTX_EUNKNOWN);
    s_parked_on_the_down_one(st, 8, b);
    dtx_store_destroy(&st);
}

/* A batch behind a failing one runs on its own: the first rolls back
 * (DTX_EDB) at its Sync, the second commits and answers; and a batch
 * behind one in flight is answered in order after it. */
static void test_a_batch_behind_a_failed_one_commits(void)
{
    int err = 0;
    dtx_store_t *st = dtx_store_new(s_db, 1, 0, s_stmts, S_NSTMTS, NULL, &err);
    CU_ASSERT_FATAL(st != NULL);
    s_answer_t a[3];
    memset(a, 0, sizeof a);
    const char *fail[2] = { "1", "0" };
    dtx_store_submit(st, 1, 3, 2, fail, NULL, NULL, s_on_done, &a[0]);
    dtx_store_flush(st);
    const char *ok[2] = { "2", "4" };
    dtx_store_submit(st, 2, 3, 2, ok, NULL, NULL, s_on_done, &a[1]);
    dtx_store_flush(st);
    s_where(st, 3, "0", &a[2]); /* a third batch, sent once the first is back */
    CU_ASSERT_FATAL(s_run(st, a, 3) == 0);
    CU_ASSERT_EQUAL(a[0].rc, DTX_EDB);
    CU_ASSERT_EQUAL(a[1].rc, 0);
    CU_ASSERT_EQUAL(a[1].rows, 1);
    CU_ASSERT_STRING_EQUAL(a[1].first, "0"); /* 1 / 4 */
    CU_ASSERT_EQUAL(a[2].rc, 0);
    CU_ASSERT_TRUE(dtx_store_healthy(st));
    dtx_store_destroy(&st);
}

/* A batch refused as read-only (SQLSTATE 25006, as on a demoted
 * primary) with one sent behind it: nothing more is sent, the batch
 * behind is read to its own end (here it commits: it is its own
 * transaction) instead of being reported unknown, then the connection
 * goes down to look for the primary. */
static void test_a_batch_behind_a_read_only_refusal_is_read(void)
{
    int err = 0;
    dtx_store_t *st = dtx_store_new(s_db, 1, 0, s_stmts, S_NSTMTS, NULL, &err);
    CU_ASSERT_FATAL(st != NULL);
    s_answer_t a[4];
    memset(a, 0, sizeof a);
    const char *ro[2] = { "ro-1", "0" }, *put1[2] = { "ro-1", "1" }, *put2[2] = { "ro-2", "2" };
    dtx_store_submit(st, 1, 4, 2, ro, NULL, NULL, s_on_done, &a[0]);
    dtx_store_submit(st, 1, 5, 2, put1, NULL, NULL, s_on_done, &a[1]);
    dtx_store_flush(st);
    dtx_store_submit(st, 2, 5, 2, put2, NULL, NULL, s_on_done, &a[2]);
    dtx_store_flush(st); /* behind the first */
    s_where(st, 3, "0", &a[3]); /* pending: never sent on this connection */
    s_read(st, a, 3);
    CU_ASSERT_TRUE(a[0].done && a[1].done && a[2].done);
    CU_ASSERT_EQUAL(a[0].rc, DTX_EDB);
    CU_ASSERT_EQUAL(a[1].rc, DTX_EDB);
    CU_ASSERT_EQUAL(a[2].rc, 0);
    CU_ASSERT_STRING_EQUAL(a[2].first, "2");
    CU_ASSERT_FALSE(dtx_store_healthy(st));
    CU_ASSERT_FALSE(a[3].done);
    dtx_store_maintain(st, -1);
    CU_ASSERT_TRUE(a[3].done);
    CU_ASSERT_EQUAL(a[3].rc, DTX_EDB);
    PGresult *r = PQexec(s_log, "SELECT string_agg(k || '=' || v, ',' ORDER BY k) FROM route_t "
                                "WHERE k LIKE 'ro-%'");
    CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 0), "ro-2=2");
    PQclear(r);
    dtx_store_destroy(&st);
}

INTEG_SUITE(log_route)
{
    CU_pSuite s = CU_add_suite("log_route", s_init, s_clean);
    CU_add_test(s, "a held key stays on its connection", test_a_held_key_stays_on_its_connection);
    CU_add_test(s, "a lazy write takes the last connection", test_a_lazy_write_takes_the_last_connection);
    CU_add_test(s, "a key's writes apply in order across connections",
                test_a_keys_writes_apply_in_order_across_connections);
    CU_add_test(s, "a second batch goes behind the first", test_a_second_batch_goes_behind_the_first);
    CU_add_test(s, "a key in the batch behind waits for its connection",
                test_a_key_in_the_batch_behind_waits_for_its_connection);
    CU_add_test(s, "a batch behind a failed one commits", test_a_batch_behind_a_failed_one_commits);
    CU_add_test(s, "a batch behind a read-only refusal is read",
                test_a_batch_behind_a_read_only_refusal_is_read);
    CU_add_test(s, "a key lost in flight waits for its connection",
                test_a_key_lost_in_flight_waits_for_its_connection);
}
