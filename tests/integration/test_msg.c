/*
 * Transactional messages end to end (docs/sagas.md "Transactional
 * messages"): a real dtxd and PostgreSQL, real test-participant processes,
 * and this process as the service: it writes orders in its own database
 * (msg_svc) through libdtx's outbox helpers. Suite "msg" shares one world:
 *   database svc: the service's orders and outbox; psvc serves "orders"
 *                 (its check-back, dtx_tmsg_pg_query_prepared on svc),
 *                 pvague serves "orders2" (the same check-back, but the
 *                 first 2 answers are "unknown");
 *   database c1:  pc1 serves "mail"; database c2: pc2 serves "stock";
 *                 pslow serves "slow" (every delivery sits 2 s).
 * Suite "msg_crash" (test_msg_crash.c) has a world per test (a process
 * a test starts does not outlive it): one kills dtxd -9 and restarts it,
 * one runs a dtxd with a retry budget of 3 to make a check-back stuck.
 * The world is test_msg_util.c's.
 *
 * A lost submit (the service crashed after its local commit) is played by
 * a client whose coordinator endpoint is dead: dtx_tmsg_pg_commit commits
 * locally, its submit fails, and only the check-back can deliver.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "core/txn.h"
#include "dtx/barrier.h"
#include "dtx/dtx.h"
#include "dtx/proto.h"
#include "dtx/tmsg.h"
#include "integ.h"
#include "test_msg_util.h"
#include "util.h"

static int s_never(PGconn *conn, const dtx_call_t *call, void *arg)
{
    (void)conn; (void)call;
    (*(int *)arg)++;
    return DTX_OK;
}

static void test_msg_submit_delivers_to_every_destination_once(void)
{
    char gid[DTX_GID_SIZE];
    dtx_tmsg_t *m = tm_msg("orders", "mail", "stock");
    CU_ASSERT_EQUAL_FATAL(dtx_tmsg_pg_run(tm_w.c, m, 30000, tm_w.svc, tm_insert_order, "o-1", gid), 0);
    dtx_tmsg_destroy(&m);
    CU_ASSERT_EQUAL(u_wait_state(tm_w.log, gid, DTX_STATE_COMMITTED, 10000), 0);
    CU_ASSERT_EQUAL(tm_orders("o-1"), 1);
    CU_ASSERT_EQUAL(tm_outbox(gid, "try"), 1);
    CU_ASSERT_EQUAL(u_effects(tm_w.c1, gid, "deliver"), 1);
    CU_ASSERT_EQUAL(u_effects(tm_w.c2, gid, "deliver"), 1);
    CU_ASSERT_EQUAL(h_db_scalar(tm_w.c1, "SELECT count(*) FROM ledger WHERE gid = '%s' AND op = 'deliver'"
                                        " AND branch = 1", gid), 1);
    CU_ASSERT_EQUAL(u_deliveries(tm_w.svc, gid, "query_prepared"), 0); /* no check-back needed */
    CU_ASSERT_EQUAL(h_db_scalar(tm_w.log, "SELECT mode FROM dtx_global WHERE gid = '%s'", gid),
                    DTX_MODE_MSG);
    /* a duplicate delivery is applied once: the barrier skips it */
    int calls = 0;
    dtx_call_t call = { .gid = gid, .branch = 1, .attempt = 9, .op = DTX_OP_DELIVER,
                        .resource = "mail", .action = "order_created" };
    CU_ASSERT_EQUAL(dtx_barrier_call(tm_w.c1, &call, s_never, &calls), 0);
    CU_ASSERT_EQUAL(calls, 0);
    CU_ASSERT_EQUAL(u_effects(tm_w.c1, gid, "deliver"), 1);
    /* submitting again is harmless */
    CU_ASSERT_EQUAL(dtx_client_tmsg_submit(tm_w.c, gid), 0);
}

static void test_msg_local_rollback_delivers_nothing(void)
{
    char gid[DTX_GID_SIZE];
    dtx_tmsg_t *m = tm_msg("orders", "mail", "stock");
    CU_ASSERT_EQUAL(dtx_tmsg_pg_run(tm_w.c, m, 30000, tm_w.svc, tm_refuse_order, "o-2", gid),
                    DTX_EREFUSED);
    dtx_tmsg_destroy(&m);
    CU_ASSERT_EQUAL(u_wait_state(tm_w.log, gid, DTX_STATE_ABORTED, 10000), 0);
    CU_ASSERT_EQUAL(tm_orders("o-2"), 0);
    h_sleep_ms(200);
    CU_ASSERT_EQUAL(u_deliveries(tm_w.c1, gid, "deliver") + u_deliveries(tm_w.c2, gid, "deliver"), 0);
    CU_ASSERT_EQUAL(dtx_client_tmsg_submit(tm_w.c, gid), DTX_EABORTED);
}

static void test_msg_checkback_commit_delivers_when_the_submit_is_lost(void)
{
    char gid[DTX_GID_SIZE];
    tm_prepare_and_begin(tm_msg("orders", "mail", "stock"), 1000, "o-3", gid);
    /* committed locally; the submit goes nowhere (the service "crashed") */
    CU_ASSERT_EQUAL(dtx_tmsg_pg_commit(tm_w.lost, tm_w.svc, gid), 0);
    CU_ASSERT_EQUAL(u_log_state(tm_w.log, gid), DTX_STATE_ACTIVE);
    CU_ASSERT_EQUAL(u_wait_state(tm_w.log, gid, DTX_STATE_COMMITTED, 10000), 0);
    CU_ASSERT_EQUAL(u_deliveries(tm_w.svc, gid, "query_prepared"), 1);
    CU_ASSERT_EQUAL(u_effects(tm_w.c1, gid, "deliver"), 1);
    CU_ASSERT_EQUAL(u_effects(tm_w.c2, gid, "deliver"), 1);
}

static void test_msg_checkback_rollback_delivers_nothing_and_bars_a_late_commit(void)
{
    char gid[DTX_GID_SIZE];
    /* the service dies before its local commit: its transaction is gone */
    tm_prepare_and_begin(tm_msg("orders", "mail", "stock"), 1000, "o-4", gid);
    CU_ASSERT_EQUAL(h_db_exec(tm_w.svc, "ROLLBACK"), 0);
    CU_ASSERT_EQUAL(u_wait_state(tm_w.log, gid, DTX_STATE_ABORTED, 10000), 0);
    CU_ASSERT_EQUAL(u_deliveries(tm_w.svc, gid, "query_prepared"), 1);
    CU_ASSERT_EQUAL(tm_outbox(gid, "cancel"), 1); /* the rollback marker */
    h_sleep_ms(200);
    CU_ASSERT_EQUAL(u_deliveries(tm_w.c1, gid, "deliver") + u_deliveries(tm_w.c2, gid, "deliver"), 0);
    /* a local transaction that only now tries to commit its outbox row
     * cannot: the check-back said "rolled back", and that holds */
    CU_ASSERT_EQUAL(h_db_exec(tm_w.svc, "BEGIN"), 0);
    CU_ASSERT_EQUAL(tm_insert_order(tm_w.svc, "o-4"), DTX_OK);
    CU_ASSERT_EQUAL(dtx_tmsg_pg_commit(tm_w.c, tm_w.svc, gid), DTX_EABORTED);
    CU_ASSERT_EQUAL(tm_orders("o-4"), 0);
    CU_ASSERT_EQUAL(tm_outbox(gid, "try"), 0);
}

static void test_msg_checkback_unknown_is_asked_again_until_it_knows(void)
{
    char gid[DTX_GID_SIZE];
    /* orders2 answers "unknown" twice, then what the outbox says */
    tm_prepare_and_begin(tm_msg("orders2", "mail", NULL), 800, "o-5", gid);
    CU_ASSERT_EQUAL(dtx_tmsg_pg_commit(tm_w.lost, tm_w.svc, gid), 0);
    CU_ASSERT_EQUAL(u_wait_state(tm_w.log, gid, DTX_STATE_COMMITTED, 15000), 0);
    CU_ASSERT_EQUAL(u_deliveries(tm_w.svc, gid, "query_prepared"), 3);
    CU_ASSERT_EQUAL(u_effects(tm_w.c1, gid, "deliver"), 1);
}

/* CPU ticks (user + system) dtxd has used so far. */
static long s_dtxd_ticks(void)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)tm_w.dtxd.pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* fields after the command name */
    long utime = 0, stime = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &utime,
                     &stime) != 2)
        return -1;
    return utime + stime;
}

static void test_msg_waiting_for_a_checkback_costs_the_coordinator_no_cpu(void)
{
    char gid[DTX_GID_SIZE];
    /* orders4 sits 1.5 s on each question: meanwhile the message is past
     * its deadline and waits for the answer, not for the clock (a
     * deadline left armed fires again and again: a busy loop) */
    tm_prepare_and_begin(tm_msg("orders4", "mail", NULL), 200, "o-11", gid);
    CU_ASSERT_EQUAL(dtx_tmsg_pg_commit(NULL, tm_w.svc, gid), 0);
    int64_t until = h_now_ms() + 5000;
    while (u_deliveries(tm_w.svc, gid, "query_prepared") < 1 && h_now_ms() < until)
        h_sleep_ms(20);
    long t0 = s_dtxd_ticks();
    h_sleep_ms(1000);
    long t1 = s_dtxd_ticks();
    CU_ASSERT_TRUE(t0 >= 0 && t1 >= 0);
    if (t1 - t0 > 25)
        fprintf(stderr, "dtxd used %ld ticks in 1 s while waiting\n", t1 - t0);
    CU_ASSERT_TRUE(t1 - t0 <= 25); /* a quarter of one core, at most */
    CU_ASSERT_EQUAL(u_wait_state(tm_w.log, gid, DTX_STATE_COMMITTED, 10000), 0);
}

static void test_msg_consumer_down_gets_its_delivery_when_back(void)
{
    char gid[DTX_GID_SIZE];
    const char *a_late[] = { "--resource", "late", NULL };
    pid_t late = h_participant_start("msg-late", tm_w.dc1, tm_w.dtxd.endpoint, a_late);
    CU_ASSERT_FATAL(late > 0);
    dtx_tmsg_t *m = tm_msg("orders", "mail", "late");
    CU_ASSERT_EQUAL_FATAL(dtx_client_tmsg_prepare(tm_w.c, m, 30000, gid), 0);
    dtx_tmsg_destroy(&m);
    CU_ASSERT_EQUAL(h_stop(late, SIGTERM, 5000), 0);
    CU_ASSERT_EQUAL(h_db_exec(tm_w.svc, "BEGIN"), 0);
    CU_ASSERT_EQUAL(tm_insert_order(tm_w.svc, "o-6"), DTX_OK);
    CU_ASSERT_EQUAL(dtx_tmsg_pg_commit(tm_w.c, tm_w.svc, gid), 0);
    h_sleep_ms(1500);
    CU_ASSERT_EQUAL(u_log_state(tm_w.log, gid), DTX_STATE_COMMITTING);
    CU_ASSERT_EQUAL(u_branch_state(tm_w.log, gid, 1), DTX_BRANCH_CONFIRMED);
    CU_ASSERT_EQUAL(u_branch_state(tm_w.log, gid, 2), DTX_BRANCH_TRIED);
    late = h_participant_start("msg-late2", tm_w.dc1, tm_w.dtxd.endpoint, a_late);
    CU_ASSERT_FATAL(late > 0);
    CU_ASSERT_EQUAL(u_wait_state(tm_w.log, gid, DTX_STATE_COMMITTED, 10000), 0);
    CU_ASSERT_EQUAL(h_db_scalar(tm_w.c1, "SELECT count(*) FROM effects WHERE gid = '%s' AND branch = 2",
                                gid), 1);
    CU_ASSERT_EQUAL(h_stop(late, SIGTERM, 5000), 0);
}

static void test_msg_to_a_resource_nobody_serves_waits_for_it(void)
{
    /* "nosuch" has no instance: the message is taken all the same (an
     * outbox must not stop its service), mail gets it at once, and the
     * delivery to nosuch names why it waits until someone serves it */
    char gid[DTX_GID_SIZE];
    dtx_tmsg_t *m = tm_msg("orders", "mail", "nosuch");
    CU_ASSERT_EQUAL_FATAL(dtx_tmsg_pg_run(tm_w.c, m, 30000, tm_w.svc, tm_insert_order, "o-7", gid), 0);
    dtx_tmsg_destroy(&m);
    int64_t until = h_now_ms() + 5000;
    char err[256] = "";
    while (!strstr(err, "nosuch") && h_now_ms() < until) {
        h_sleep_ms(50);
        h_db_scalar_text(tm_w.log, err, sizeof err, "SELECT coalesce(last_error, '') FROM dtx_branch"
                                                   " WHERE gid = '%s' AND branch_no = 2", gid);
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "no live instance of resource nosuch"));
    /* mail's acknowledgement reaches the log promptly (it came while the
     * other delivery fails: written as it comes), not with the end */
    until = h_now_ms() + 5000;
    while (u_branch_state(tm_w.log, gid, 1) != DTX_BRANCH_CONFIRMED && h_now_ms() < until)
        h_sleep_ms(20);
    CU_ASSERT_EQUAL(u_branch_state(tm_w.log, gid, 1), DTX_BRANCH_CONFIRMED);
    CU_ASSERT_EQUAL(u_log_state(tm_w.log, gid), DTX_STATE_COMMITTING);
    const char *a[] = { "--resource", "nosuch", NULL };
    pid_t p = h_participant_start("msg-nosuch", tm_w.dc2, tm_w.dtxd.endpoint, a);
    CU_ASSERT_FATAL(p > 0);
    CU_ASSERT_EQUAL(u_wait_state(tm_w.log, gid, DTX_STATE_COMMITTED, 10000), 0);
    CU_ASSERT_EQUAL(u_effects(tm_w.c2, gid, "deliver"), 1);
    CU_ASSERT_EQUAL(h_stop(p, SIGTERM, 5000), 0);
}

static void test_msg_bad_input_is_refused_and_nothing_is_recorded(void)
{
    int64_t before = h_db_scalar(tm_w.log, "SELECT count(*) FROM dtx_global");
    char gid[DTX_GID_SIZE];
    int err = 0;
    dtx_tmsg_t *m;
    /* no destination; bad names; over the payload limit in all */
    m = dtx_tmsg_new("orders", &err);
    CU_ASSERT_EQUAL(dtx_client_tmsg_prepare(tm_w.c, m, 0, gid), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_tmsg_add(m, "bad name", "x", NULL, 0), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_tmsg_add(m, "mail", "", NULL, 0), DTX_EINVAL);
    CU_ASSERT_PTR_NULL(dtx_tmsg_new("no/such", &err));
    CU_ASSERT_EQUAL(err, DTX_EINVAL);
    char *big = calloc(1, DTX_PAYLOAD_MAX);
    CU_ASSERT_EQUAL(dtx_tmsg_add(m, "mail", "a", big, DTX_PAYLOAD_MAX), 1);
    CU_ASSERT_EQUAL(dtx_tmsg_add(m, "stock", "a", big, 16), 2);
    free(big);
    CU_ASSERT_EQUAL(dtx_client_tmsg_prepare(tm_w.c, m, 0, gid), DTX_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dtx_client_last_error(tm_w.c), "over"));
    dtx_tmsg_destroy(&m);
    /* malformed frames: a bad plan in version 2, any TMSG in version 1 */
    u_peer_t p;
    CU_ASSERT_FATAL(u_peer_dealer(&p, tm_w.dtxd.endpoint) == 0);
    uint8_t frame[64] = { 0x44, 0x58, 2, DTX_MSG_TMSG, 0, 0, 0, 0, 0, 0, 0, 7,
                          0, 0, 0, 0,   0, 0, 0, 3,   6, 'o', 'r' };
    uint8_t buf[1024];
    dtx_msg_t r;
    CU_ASSERT_EQUAL(u_send_raw(&p, frame, 23, 0), 0);
    CU_ASSERT_EQUAL_FATAL(u_recv(&p, &r, buf, sizeof buf, NULL, NULL, 5000), 0);
    CU_ASSERT_EQUAL(r.type, DTX_MSG_ERROR);
    CU_ASSERT_EQUAL(r.code, (uint32_t)-DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.text, "TMSG"));
    frame[2] = 1;
    CU_ASSERT_EQUAL(u_send_raw(&p, frame, 23, 0), 0);
    CU_ASSERT_EQUAL_FATAL(u_recv(&p, &r, buf, sizeof buf, NULL, NULL, 5000), 0);
    CU_ASSERT_EQUAL(r.type, DTX_MSG_ERROR);
    u_peer_close(&p);
    /* with CURVE: a participant's key may not prepare a message (ERROR 21) */
    if (h_curve_on()) {
        char pkey[1024];
        CU_ASSERT_FATAL(h_curve_add_key("msg-part", "participant:mail", pkey, sizeof pkey) == 0);
        CU_ASSERT_FATAL(h_dtxd_reload(&tm_w.dtxd) == 0);
        h_sleep_ms(300);
        dtx_client_t *pc = dtx_client_new_curve(tm_w.dtxd.endpoint, pkey, &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(pc);
        dtx_client_set_timeout(pc, 5000);
        m = tm_msg("orders", "mail", NULL);
        CU_ASSERT_EQUAL(dtx_client_tmsg_prepare(pc, m, 0, gid), DTX_EACCES);
        dtx_tmsg_destroy(&m);
        dtx_client_destroy(&pc);
    }
    CU_ASSERT_EQUAL(h_db_scalar(tm_w.log, "SELECT count(*) FROM dtx_global"), before);
    /* a message takes no TRY */
    m = tm_msg("orders", "mail", NULL);
    CU_ASSERT_EQUAL_FATAL(dtx_client_tmsg_prepare(tm_w.c, m, 30000, gid), 0);
    dtx_tmsg_destroy(&m);
    CU_ASSERT_EQUAL(dtx_client_try(tm_w.c, gid, "mail", "x", NULL, 0, NULL), DTX_ESTATE);
    CU_ASSERT_EQUAL(dtx_client_tmsg_abort(tm_w.c, gid), 0);
    CU_ASSERT_EQUAL(u_wait_state(tm_w.log, gid, DTX_STATE_ABORTED, 5000), 0);
}

INTEG_SUITE(msg)
{
    CU_pSuite s = CU_add_suite("msg", tm_up, tm_down);
    CU_add_test(s, "msg submit delivers to every destination once", test_msg_submit_delivers_to_every_destination_once);
    CU_add_test(s, "msg local rollback delivers nothing", test_msg_local_rollback_delivers_nothing);
    CU_add_test(s, "msg check-back commit delivers when the submit is lost", test_msg_checkback_commit_delivers_when_the_submit_is_lost);
    CU_add_test(s, "msg check-back rollback delivers nothing and bars a late commit", test_msg_checkback_rollback_delivers_nothing_and_bars_a_late_commit);
    CU_add_test(s, "msg check-back unknown is asked again until it knows", test_msg_checkback_unknown_is_asked_again_until_it_knows);
    CU_add_test(s, "msg waiting for a check-back costs the coordinator no cpu", test_msg_waiting_for_a_checkback_costs_the_coordinator_no_cpu);
    CU_add_test(s, "msg consumer down gets its delivery when back", test_msg_consumer_down_gets_its_delivery_when_back);
    CU_add_test(s, "msg to a resource nobody serves waits for it", test_msg_to_a_resource_nobody_serves_waits_for_it);
    CU_add_test(s, "msg bad input is refused and nothing is recorded", test_msg_bad_input_is_refused_and_nothing_is_recorded);
}
