/*
 * TRY_MANY end to end (docs/protocol.md §18, dtx_client_try_many): a real
 * dtxd over a real PostgreSQL, two real test participants whose Tries each
 * take S_DELAY_MS (so that parallel and one-by-one Tries tell apart), the
 * SDK's client, and a raw DEALER for frames libdtx would never send.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "core/txn.h"
#include "dtx/clock.h"
#include "dtx/dtx.h"
#include "dtx/proto.h"
#include "dtx/trymany.h"
#include "integ.h"
#include "util.h"

#define S_DELAY_MS 500

static h_dtxd_t s_dtxd;
static PGconn *s_log, *s_da, *s_db;
static pid_t s_pa, s_pb;

static int s_init(void)
{
    char log[H_CONNINFO_SIZE], da[H_CONNINFO_SIZE], db[H_CONNINFO_SIZE];
    if (h_db_create("multi_log", log, sizeof log) || h_db_create("multi_a", da, sizeof da) ||
        h_db_create("multi_b", db, sizeof db))
        return -1;
    memset(&s_dtxd, 0, sizeof s_dtxd);
    snprintf(s_dtxd.logname, sizeof s_dtxd.logname, "multitry-dtxd");
    const char *args[] = { "--default-timeout-ms", "20000", "--try-timeout-ms", "2500",
                           "--max-branches", "4", NULL };
    if (h_dtxd_start(&s_dtxd, log, args) != 0)
        return -1;
    const char *aa[] = { "--resource", "ra", "--delay-ms-op", "try:500", NULL };
    const char *ab[] = { "--resource", "rb", "--refuse-action", "refuse-me",
                         "--delay-ms-op", "try:500", NULL };
    s_pa = h_participant_start("multi-pa", da, s_dtxd.endpoint, aa);
    s_pb = h_participant_start("multi-pb", db, s_dtxd.endpoint, ab);
    s_log = h_db_connect("multi_log");
    s_da = h_db_connect("multi_a");
    s_db = h_db_connect("multi_b");
    return (s_pa > 0 && s_pb > 0 && s_log && s_da && s_db) ? 0 : -1;
}

static int s_clean(void)
{
    int rc = 0;
    if (s_pa > 0 && h_stop(s_pa, SIGTERM, 5000) != 0)
        rc = -1;
    if (s_pb > 0 && h_stop(s_pb, SIGTERM, 5000) != 0)
        rc = -1;
    if (h_dtxd_stop(&s_dtxd) != 0) {
        fprintf(stderr, "dtxd did not exit cleanly\n");
        h_file_tail(s_dtxd.logname);
        rc = -1;
    }
    PQfinish(s_log);
    PQfinish(s_da);
    PQfinish(s_db);
    return rc;
}

static dtx_client_t *s_client(void)
{
    int err = 0;
    dtx_client_t *c = dtx_client_new(s_dtxd.endpoint, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    dtx_client_set_timeout(c, 10000);
    return c;
}

/* One number from the log: sql with $1 = gid. */
static long s_scalar(const char *sql, const char *gid)
{
    const char *v[1] = { gid };
    PGresult *r = PQexecParams(s_log, sql, 1, NULL, v, NULL, NULL, 0);
    long n = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1
                 ? atol(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return n;
}

static long s_branches(const char *gid)
{
    return s_scalar("SELECT count(*) FROM dtx_branch WHERE gid = $1", gid);
}

static void test_both_branches_tried_in_parallel_then_committed(void)
{
    dtx_client_t *c = s_client();
    char gid[DTX_GID_SIZE];
    CU_ASSERT_EQUAL_FATAL(dtx_client_begin(c, DTX_MODE_TCC, 0, gid), 0);
    dtx_try_spec_t t[2] = { { "ra", "reserve", "p1", 2 }, { "rb", "reserve", NULL, 0 } };
    dtx_try_outcome_t out[2];
    int state = 0;
    int64_t t0 = dtx_clock_mono_ms();
    CU_ASSERT_EQUAL(dtx_client_try_many(c, gid, t, 2, out, &state), 0);
    int64_t took = dtx_clock_mono_ms() - t0;
    /* one by one would be at least 2 x S_DELAY_MS */
    CU_ASSERT_TRUE(took < 2 * S_DELAY_MS - 50);
    if (took >= 2 * S_DELAY_MS - 50)
        fprintf(stderr, "try-many took %lld ms\n", (long long)took);
    CU_ASSERT_EQUAL(state, DTX_STATE_ACTIVE);
    CU_ASSERT_EQUAL(out[0].error, 0);
    CU_ASSERT_EQUAL(out[1].error, 0);
    CU_ASSERT_EQUAL(out[0].outcome, DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(out[0].branch, 1);
    CU_ASSERT_EQUAL(out[1].branch, 2);
    CU_ASSERT_EQUAL(u_effects(s_da, gid, "try"), 1);
    CU_ASSERT_EQUAL(u_effects(s_db, gid, "try"), 1);
    CU_ASSERT_EQUAL(dtx_client_commit(c, gid, &state), 0);
    CU_ASSERT_EQUAL(u_wait_state(s_log, gid, DTX_STATE_COMMITTED, 10000), 0);
    CU_ASSERT_EQUAL(u_effects(s_da, gid, "confirm"), 1);
    CU_ASSERT_EQUAL(u_effects(s_db, gid, "confirm"), 1);
    dtx_client_destroy(&c);
}

static void test_a_refusal_is_that_branchs_vote(void)
{
    dtx_client_t *c = s_client();
    char gid[DTX_GID_SIZE];
    CU_ASSERT_EQUAL_FATAL(dtx_client_begin(c, DTX_MODE_TCC, 0, gid), 0);
    dtx_try_spec_t t[2] = { { "ra", "reserve", "x", 1 }, { "rb", "refuse-me", "y", 1 } };
    dtx_try_outcome_t out[2];
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_try_many(c, gid, t, 2, out, &state), DTX_EREFUSED);
    CU_ASSERT_EQUAL(state, DTX_STATE_ABORTING);
    CU_ASSERT_EQUAL(out[1].error, 0);
    CU_ASSERT_EQUAL(out[1].outcome, DTX_OUTCOME_REFUSED);
    CU_ASSERT_EQUAL(out[1].branch, 2);
    /* ra's Try either answered before the abort (its vote) or was still
     * running when it came (ERROR 7); both are cancelled */
    CU_ASSERT_TRUE(out[0].error == 0 || out[0].error == DTX_ESTATE);
    CU_ASSERT_EQUAL(u_wait_state(s_log, gid, DTX_STATE_ABORTED, 10000), 0);
    CU_ASSERT_EQUAL(u_effects(s_da, gid, "cancel"), 1);
    CU_ASSERT_EQUAL(u_effects(s_db, gid, "try"), 0);
    CU_ASSERT_EQUAL(dtx_client_commit(c, gid, &state), DTX_EABORTED);
    dtx_client_destroy(&c);
}

static void test_2pc_enlists_every_branch_in_one_write(void)
{
    dtx_client_t *c = s_client();
    char gid[DTX_GID_SIZE];
    CU_ASSERT_EQUAL_FATAL(dtx_client_begin(c, DTX_MODE_2PC, 0, gid), 0);
    dtx_try_spec_t t[3] = { { "ra", "w", "1", 1 }, { "rb", "w", "2", 1 }, { "ra", "w", "3", 1 } };
    dtx_try_outcome_t out[3];
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_try_many(c, gid, t, 3, out, &state), 0);
    CU_ASSERT_EQUAL(out[2].branch, 3);
    CU_ASSERT_EQUAL(s_branches(gid), 3);
    /* the three rows were written by one database transaction */
    CU_ASSERT_EQUAL(s_scalar("SELECT count(DISTINCT xmin::text) FROM dtx_branch WHERE gid = $1",
                             gid), 1);
    /* (these participants serve TCC only: no prepare to run) */
    CU_ASSERT_EQUAL(dtx_client_rollback(c, gid, &state), 0);
    CU_ASSERT_EQUAL(u_wait_state(s_log, gid, DTX_STATE_ABORTED, 10000), 0);
    dtx_client_destroy(&c);
}

static void test_over_a_limit_nothing_is_recorded(void)
{
    dtx_client_t *c = s_client();
    char gid[DTX_GID_SIZE];
    CU_ASSERT_EQUAL_FATAL(dtx_client_begin(c, DTX_MODE_2PC, 0, gid), 0);
    CU_ASSERT_EQUAL(dtx_client_try(c, gid, "ra", "w", "", 0, NULL), 0);
    /* 1 + 4 branches would pass --max-branches 4: refused whole */
    dtx_try_spec_t t[4] = { { "ra", "w", NULL, 0 }, { "rb", "w", NULL, 0 },
                            { "ra", "w", NULL, 0 }, { "rb", "w", NULL, 0 } };
    dtx_try_outcome_t out[4];
    CU_ASSERT_EQUAL(dtx_client_try_many(c, gid, t, 4, out, NULL), DTX_ELIMIT);
    CU_ASSERT_PTR_NOT_NULL(strstr(dtx_client_last_error(c), "max-branches"));
    CU_ASSERT_EQUAL(out[3].error, DTX_ELIMIT);
    CU_ASSERT_EQUAL(s_branches(gid), 1);
    CU_ASSERT_EQUAL(dtx_client_try_many(c, gid, t, 3, out, NULL), 0);
    CU_ASSERT_EQUAL(s_branches(gid), 4);
    CU_ASSERT_EQUAL(dtx_client_rollback(c, gid, NULL), 0);
    dtx_client_destroy(&c);
}

static void test_bad_arguments_send_nothing(void)
{
    dtx_client_t *c = s_client();
    char gid[DTX_GID_SIZE];
    CU_ASSERT_EQUAL_FATAL(dtx_client_begin(c, DTX_MODE_TCC, 0, gid), 0);
    static dtx_try_spec_t t[DTX_TRY_MANY_MAX + 1];
    for (int i = 0; i <= DTX_TRY_MANY_MAX; i++)
        t[i] = (dtx_try_spec_t){ "ra", "reserve", NULL, 0 };
    dtx_try_outcome_t out[DTX_TRY_MANY_MAX + 1];
    CU_ASSERT_EQUAL(dtx_client_try_many(c, gid, t, 0, out, NULL), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_client_try_many(c, gid, t, DTX_TRY_MANY_MAX + 1, out, NULL), DTX_EINVAL);
    t[1].action = "bad name";
    CU_ASSERT_EQUAL(dtx_client_try_many(c, gid, t, 2, out, NULL), DTX_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dtx_client_last_error(c), "branch 2"));
    CU_ASSERT_EQUAL(out[0].error, DTX_EINVAL);
    t[1].action = "reserve";
    static char big[DTX_PAYLOAD_MAX / 2 + 1];
    t[0].payload = big;
    t[0].payload_len = sizeof big;
    t[1].payload = big;
    t[1].payload_len = sizeof big;
    CU_ASSERT_EQUAL(dtx_client_try_many(c, gid, t, 2, out, NULL), DTX_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dtx_client_last_error(c), "together"));
    CU_ASSERT_EQUAL(s_branches(gid), 0);
    CU_ASSERT_EQUAL(dtx_client_rollback(c, gid, NULL), 0);
    dtx_client_destroy(&c);
}

static void test_malformed_batch_is_refused_and_nothing_recorded(void)
{
    dtx_client_t *c = s_client();
    char gid[DTX_GID_SIZE];
    CU_ASSERT_EQUAL_FATAL(dtx_client_begin(c, DTX_MODE_TCC, 0, gid), 0);
    u_peer_t p;
    CU_ASSERT_EQUAL_FATAL(u_peer_dealer(&p, s_dtxd.endpoint), 0);
    /* a TRY_MANY announcing 2 branches but carrying 1 */
    uint8_t f[128];
    size_t n = 0, gl = strlen(gid);
    const uint8_t head[] = { 0x44, 0x58, 0x02, 0x0c, 0, 0, 0, 0, 0, 0, 0, 77 };
    memcpy(f, head, sizeof head);
    n = sizeof head;
    f[n++] = (uint8_t)gl;
    memcpy(f + n, gid, gl);
    n += gl;
    const uint8_t batch[] = { 0, 0, 0, 10, 2, 2, 'r', 'a', 1, 'w', 0, 0, 0, 0 };
    memcpy(f + n, batch, sizeof batch);
    n += sizeof batch;
    static uint8_t buf[DTX_MSG_MAX];
    dtx_msg_t m;
    CU_ASSERT_EQUAL_FATAL(u_send_raw(&p, f, n, 0), 0);
    CU_ASSERT_EQUAL_FATAL(u_recv(&p, &m, buf, sizeof buf, NULL, NULL, 5000), 0);
    CU_ASSERT_EQUAL(m.type, DTX_MSG_ERROR);
    CU_ASSERT_EQUAL(m.code, (uint32_t)-DTX_EPROTO);
    CU_ASSERT_EQUAL(m.corr, 77);
    CU_ASSERT_PTR_NOT_NULL(strstr(m.text, "branch 2"));
    /* the same in version 1 is an unknown type */
    f[2] = 0x01;
    CU_ASSERT_EQUAL_FATAL(u_send_raw(&p, f, n, 0), 0);
    CU_ASSERT_EQUAL_FATAL(u_recv(&p, &m, buf, sizeof buf, NULL, NULL, 5000), 0);
    CU_ASSERT_EQUAL(m.code, (uint32_t)-DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(m.text, "unknown message type"));
    u_peer_close(&p);
    CU_ASSERT_EQUAL(s_branches(gid), 0);
    CU_ASSERT_EQUAL(dtx_client_rollback(c, gid, NULL), 0);
    dtx_client_destroy(&c);
}

static void test_whole_request_errors_are_one_error(void)
{
    dtx_client_t *c = s_client();
    char gid[DTX_GID_SIZE];
    dtx_try_spec_t t[2] = { { "ra", "reserve", NULL, 0 }, { "rb", "reserve", NULL, 0 } };
    dtx_try_outcome_t out[2];
    CU_ASSERT_EQUAL(dtx_client_try_many(c, "01JUNKNOWNGID0000000000000", t, 2, out, NULL),
                    DTX_ENOTFOUND);
    CU_ASSERT_EQUAL(out[1].error, DTX_ENOTFOUND);
    CU_ASSERT_EQUAL_FATAL(dtx_client_begin(c, DTX_MODE_TCC, 0, gid), 0);
    CU_ASSERT_EQUAL(dtx_client_rollback(c, gid, NULL), 0);
    CU_ASSERT_EQUAL(dtx_client_try_many(c, gid, t, 2, out, NULL), DTX_ESTATE);
    CU_ASSERT_EQUAL(s_branches(gid), 0);
    dtx_client_destroy(&c);
}

static void test_a_resource_without_instance_says_so(void)
{
    dtx_client_t *c = s_client();
    char gid[DTX_GID_SIZE];
    CU_ASSERT_EQUAL_FATAL(dtx_client_begin(c, DTX_MODE_TCC, 0, gid), 0);
    dtx_try_spec_t t[2] = { { "ra", "reserve", NULL, 0 }, { "nobody", "reserve", NULL, 0 } };
    dtx_try_outcome_t out[2];
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_try_many(c, gid, t, 2, out, &state), DTX_EREFUSED);
    CU_ASSERT_EQUAL(out[0].error, 0);
    CU_ASSERT_EQUAL(out[0].outcome, DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(out[1].error, DTX_ENOPARTICIPANT);
    CU_ASSERT_EQUAL(out[1].outcome, DTX_OUTCOME_FAILED);
    CU_ASSERT_EQUAL(state, DTX_STATE_ABORTING);
    CU_ASSERT_EQUAL(u_wait_state(s_log, gid, DTX_STATE_ABORTED, 10000), 0);
    CU_ASSERT_EQUAL(u_effects(s_da, gid, "cancel"), 1);
    dtx_client_destroy(&c);
}

static void test_a_version_1_client_is_told_unsupported(void)
{
    setenv("DTX_PROTO_VERSION", "1", 1);
    dtx_client_t *c = s_client();
    unsetenv("DTX_PROTO_VERSION");
    char gid[DTX_GID_SIZE];
    CU_ASSERT_EQUAL_FATAL(dtx_client_begin(c, DTX_MODE_TCC, 0, gid), 0);
    dtx_try_spec_t t[1] = { { "ra", "reserve", NULL, 0 } };
    dtx_try_outcome_t out[1];
    CU_ASSERT_EQUAL(dtx_client_try_many(c, gid, t, 1, out, NULL), DTX_EUNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(dtx_client_last_error(c), "version 1"));
    CU_ASSERT_EQUAL(out[0].error, DTX_EUNSUPPORTED);
    CU_ASSERT_EQUAL(s_branches(gid), 0);
    CU_ASSERT_EQUAL(dtx_client_rollback(c, gid, NULL), 0);
    dtx_client_destroy(&c);
}

/* A TRY_MANY on a transaction BEGIN did not write is its first write: the
 * global row inserted with the batch's count and every branch row, one
 * statement, so the global row is not updated to count them (before: one
 * update per branch after the first). A later TRY_MANY adds to the row as
 * a TRY does (one update each). A trigger counts the row updates. */
static void test_a_first_batch_writes_the_global_row_once(void)
{
    CU_ASSERT_EQUAL_FATAL(h_db_exec(s_log, "CREATE TABLE t_updates (gid text)"), 0);
    CU_ASSERT_EQUAL_FATAL(h_db_exec(s_log, "CREATE FUNCTION t_count_update() RETURNS trigger"
                                    " LANGUAGE plpgsql AS $$ BEGIN INSERT INTO t_updates"
                                    " VALUES (NEW.gid); RETURN NEW; END $$"), 0);
    CU_ASSERT_EQUAL_FATAL(h_db_exec(s_log, "CREATE TRIGGER t_global AFTER UPDATE ON dtx_global"
                                    " FOR EACH ROW EXECUTE FUNCTION t_count_update()"), 0);
    dtx_client_t *c = s_client();
    int modes[2] = { DTX_MODE_2PC, DTX_MODE_TCC };
    for (int k = 0; k < 2; k++) {
        char gid[DTX_GID_SIZE];
        CU_ASSERT_EQUAL_FATAL(dtx_client_begin(c, modes[k], 0, gid), 0);
        dtx_try_spec_t t[2] = { { "ra", "w", "1", 1 }, { "rb", "w", NULL, 0 } };
        dtx_try_outcome_t out[2];
        int state = 0;
        CU_ASSERT_EQUAL(dtx_client_try_many(c, gid, t, 2, out, &state), 0);
        CU_ASSERT_EQUAL(out[0].branch, 1);
        CU_ASSERT_EQUAL(out[1].branch, 2);
        CU_ASSERT_EQUAL(s_branches(gid), 2);
        CU_ASSERT_EQUAL(s_scalar("SELECT branches FROM dtx_global WHERE gid = $1", gid), 2);
        CU_ASSERT_EQUAL(s_scalar("SELECT count(*) FROM t_updates WHERE gid = $1", gid), 0);
        if (modes[k] == DTX_MODE_2PC) /* (TCC votes update the branch rows) */
            CU_ASSERT_EQUAL(s_scalar("SELECT count(DISTINCT xmin::text) FROM (SELECT xmin FROM"
                                     " dtx_global WHERE gid = $1 UNION ALL SELECT xmin FROM"
                                     " dtx_branch WHERE gid = $1) x", gid), 1);
        /* the transaction is written now: a second batch adds rows */
        CU_ASSERT_EQUAL(dtx_client_try_many(c, gid, t, 2, out, &state), 0);
        CU_ASSERT_EQUAL(out[0].branch, 3);
        CU_ASSERT_EQUAL(out[1].branch, 4);
        CU_ASSERT_EQUAL(s_branches(gid), 4);
        CU_ASSERT_EQUAL(s_scalar("SELECT branches FROM dtx_global WHERE gid = $1", gid), 4);
        CU_ASSERT_EQUAL(s_scalar("SELECT count(*) FROM t_updates WHERE gid = $1", gid), 2);
        if (modes[k] == DTX_MODE_TCC) {
            CU_ASSERT_EQUAL(dtx_client_commit(c, gid, &state), 0);
            CU_ASSERT_EQUAL(u_wait_state(s_log, gid, DTX_STATE_COMMITTED, 10000), 0);
            CU_ASSERT_EQUAL(u_effects(s_da, gid, "confirm"), 2);
            CU_ASSERT_EQUAL(u_effects(s_db, gid, "confirm"), 2);
        } else {
            /* (these participants serve TCC only: no prepare to run) */
            CU_ASSERT_EQUAL(dtx_client_rollback(c, gid, &state), 0);
            CU_ASSERT_EQUAL(u_wait_state(s_log, gid, DTX_STATE_ABORTED, 10000), 0);
        }
    }
    dtx_client_destroy(&c);
    CU_ASSERT_EQUAL(h_db_exec(s_log, "DROP TRIGGER t_global ON dtx_global"), 0);
    CU_ASSERT_EQUAL(h_db_exec(s_log, "DROP FUNCTION t_count_update()"), 0);
    CU_ASSERT_EQUAL(h_db_exec(s_log, "DROP TABLE t_updates"), 0);
}

INTEG_SUITE(multitry)
{
    CU_pSuite s = CU_add_suite("multitry", s_init, s_clean);
    CU_add_test(s, "both branches tried in parallel then committed",
                test_both_branches_tried_in_parallel_then_committed);
    CU_add_test(s, "a refusal is that branch's vote", test_a_refusal_is_that_branchs_vote);
    CU_add_test(s, "2pc enlists every branch in one write",
                test_2pc_enlists_every_branch_in_one_write);
    CU_add_test(s, "over a limit nothing is recorded", test_over_a_limit_nothing_is_recorded);
    CU_add_test(s, "bad arguments send nothing", test_bad_arguments_send_nothing);
    CU_add_test(s, "malformed batch is refused and nothing recorded",
                test_malformed_batch_is_refused_and_nothing_recorded);
    CU_add_test(s, "whole-request errors are one error", test_whole_request_errors_are_one_error);
    CU_add_test(s, "a resource without instance says so", test_a_resource_without_instance_says_so);
    CU_add_test(s, "a version 1 client is told unsupported",
                test_a_version_1_client_is_told_unsupported);
    CU_add_test(s, "a first batch writes the global row once",
                test_a_first_batch_writes_the_global_row_once);
}
