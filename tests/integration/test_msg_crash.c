/*
 * Transactional messages when dtxd crashes or gives up (suite
 * "msg_crash"; the world is test_msg.c's, test_msg_util.h, one a test: a
 * process a test starts does not outlive it): dtxd killed -9
 * mid-delivery and restarted, a check-back that never knows going stuck
 * under a retry budget of 3, a workload under crashes, a prepared message
 * nobody submits dropped by its check-back.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "core/txn.h"
#include "dtx/barrier.h"
#include "dtx/dtx.h"
#include "dtx/tmsg.h"
#include "integ.h"
#include "test_msg_util.h"
#include "util.h"

static void test_msg_survives_a_coordinator_killed_mid_delivery(void)
{
    CU_ASSERT_FATAL(tm_world_up("msg_crash") == 0);
    char gid[DTX_GID_SIZE];
    dtx_tmsg_t *m = tm_msg("orders", "mail", "slow");
    CU_ASSERT_EQUAL_FATAL(dtx_tmsg_pg_run(tm_w.c, m, 30000, tm_w.svc, tm_insert_order, "o-8", gid), 0);
    dtx_tmsg_destroy(&m);
    int64_t until = h_now_ms() + 10000;
    while (u_branch_state(tm_w.log, gid, 1) != DTX_BRANCH_CONFIRMED && h_now_ms() < until)
        h_sleep_ms(50);
    CU_ASSERT_EQUAL_FATAL(u_branch_state(tm_w.log, gid, 1), DTX_BRANCH_CONFIRMED);
    h_sleep_ms(300); /* the delivery to slow is in its 2 s handler now */
    h_dtxd_kill(&tm_w.dtxd);
    CU_ASSERT_EQUAL(u_log_state(tm_w.log, gid), DTX_STATE_COMMITTING);
    CU_ASSERT_EQUAL_FATAL(h_dtxd_restart(&tm_w.dtxd), 0);
    CU_ASSERT_EQUAL(u_wait_state(tm_w.log, gid, DTX_STATE_COMMITTED, 30000), 0);
    CU_ASSERT_EQUAL(u_effects(tm_w.c1, gid, "deliver"), 1);
    CU_ASSERT_EQUAL(h_db_scalar(tm_w.c2, "SELECT count(*) FROM effects WHERE gid = '%s'", gid), 1);
    /* a prepared message outlives the crash too, and its check-back ends it */
    tm_prepare_and_begin(tm_msg("orders", "mail", NULL), 1500, "o-9", gid);
    CU_ASSERT_EQUAL(dtx_tmsg_pg_commit(tm_w.lost, tm_w.svc, gid), 0);
    h_dtxd_kill(&tm_w.dtxd);
    CU_ASSERT_EQUAL_FATAL(h_dtxd_restart(&tm_w.dtxd), 0);
    CU_ASSERT_EQUAL(u_wait_state(tm_w.log, gid, DTX_STATE_COMMITTED, 30000), 0);
    CU_ASSERT_EQUAL(u_effects(tm_w.c1, gid, "deliver"), 1);
    CU_ASSERT_EQUAL(tm_down(), 0);
}

static void test_msg_checkback_that_never_knows_goes_stuck_and_resume_asks_again(void)
{
    /* a small budget: 3 attempts */
    const char *args[] = { "--phase-timeout-ms", "2000", "--retry-base-ms", "50",
                           "--retry-max-ms", "100", "--max-attempts", "3", "--heartbeat-ms", "2000",
                           NULL };
    CU_ASSERT_FATAL(tm_world_args("msg_stuck", args) == 0);
    const char *a_blind[] = { "--resource", "orders3", "--fail-op-times", "query_prepared:1000000",
                              NULL };
    pid_t blind = h_participant_start("msg-blind", tm_w.dsvc, tm_w.dtxd.endpoint, a_blind);
    CU_ASSERT_FATAL(blind > 0);
    char gid[DTX_GID_SIZE];
    tm_prepare_and_begin(tm_msg("orders3", "mail", NULL), 300, "o-10", gid);
    CU_ASSERT_EQUAL(dtx_tmsg_pg_commit(NULL, tm_w.svc, gid), 0); /* committed, never submitted */
    CU_ASSERT_EQUAL(u_wait_state(tm_w.log, gid, DTX_STATE_STUCK, 10000), 0);
    CU_ASSERT_EQUAL(h_db_scalar(tm_w.log, "SELECT decision FROM dtx_global WHERE gid = '%s'", gid),
                    DTX_STATE_ACTIVE);
    CU_ASSERT_EQUAL(u_deliveries(tm_w.svc, gid, "query_prepared"), 3);
    CU_ASSERT_EQUAL(u_deliveries(tm_w.c1, gid, "deliver"), 0);
    /* the check-back can tell again: an operator resumes, it is asked anew */
    CU_ASSERT_EQUAL(h_stop(blind, SIGTERM, 5000), 0);
    const char *a_seeing[] = { "--resource", "orders3", NULL };
    blind = h_participant_start("msg-seeing", tm_w.dsvc, tm_w.dtxd.endpoint, a_seeing);
    CU_ASSERT_FATAL(blind > 0);
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_resume(tm_w.c, gid, &state), 0);
    CU_ASSERT_EQUAL(state, DTX_STATE_ACTIVE);
    CU_ASSERT_EQUAL(u_wait_state(tm_w.log, gid, DTX_STATE_COMMITTED, 10000), 0);
    CU_ASSERT_EQUAL(u_effects(tm_w.c1, gid, "deliver"), 1);
    CU_ASSERT_EQUAL(h_stop(blind, SIGTERM, 5000), 0);
    CU_ASSERT_EQUAL(tm_down(), 0);
}

static void test_msg_prepared_but_never_answered_is_dropped_by_its_checkback(void)
{
    /* dtxd dies right after the message is durable, before the service
     * hears its gid: the service never wrote an outbox row, so the next
     * dtxd's check-back finds none and drops the message */
    const char *args[] = { "--phase-timeout-ms", "3000", "--retry-base-ms", "50",
                           "--retry-max-ms", "300", "--heartbeat-ms", "2000", "--lease-ms", "1000",
                           "--recovery-interval-ms", "200", "--fault", "after-tmsg-write", NULL };
    CU_ASSERT_FATAL(tm_world_args("msg_fault", args) == 0);
    dtx_client_set_timeout(tm_w.c, 2000);
    char gid[DTX_GID_SIZE];
    dtx_tmsg_t *m = tm_msg("orders", "mail", "stock");
    int rc = dtx_tmsg_pg_run(tm_w.c, m, 1000, tm_w.svc, tm_insert_order, "o-12", gid);
    dtx_tmsg_destroy(&m);
    CU_ASSERT_NOT_EQUAL(rc, 0);
    CU_ASSERT_STRING_EQUAL(gid, "");
    CU_ASSERT_EQUAL(h_wait_exit(tm_w.dtxd.pid, 5000), 86);
    tm_w.dtxd.pid = 0;
    CU_ASSERT_EQUAL(h_db_scalar(tm_w.log, "SELECT count(*) FROM dtx_global WHERE mode = 4"), 1);
    CU_ASSERT_FATAL(h_dtxd_restart(&tm_w.dtxd) == 0);
    int64_t until = h_now_ms() + 15000;
    while (h_db_scalar(tm_w.log, "SELECT count(*) FROM dtx_global WHERE state = 5") != 1 &&
           h_now_ms() < until)
        h_sleep_ms(100);
    CU_ASSERT_EQUAL(h_db_scalar(tm_w.log, "SELECT count(*) FROM dtx_global WHERE state = 5"), 1);
    CU_ASSERT_EQUAL(tm_orders("o-12"), 0);
    CU_ASSERT_EQUAL(h_db_scalar(tm_w.svc, "SELECT count(*) FROM dtx_barrier WHERE branch = 0"
                                         " AND origin = 'cancel'"), 1); /* the rollback marker */
    CU_ASSERT_EQUAL(h_db_scalar(tm_w.c1, "SELECT count(*) FROM ledger") +
                    h_db_scalar(tm_w.c2, "SELECT count(*) FROM ledger"), 0);
    CU_ASSERT_EQUAL(tm_down(), 0);
}

/* One message's fate in the workload below. */
static void s_load_one(int i)
{
    char id[32], gid[DTX_GID_SIZE] = "";
    snprintf(id, sizeof id, "w-%d", i);
    dtx_tmsg_t *m = tm_msg("orders", "mail", "stock");
    switch (i % 4) {
    case 0: /* created and submitted */
        dtx_tmsg_pg_run(tm_w.c, m, 1000, tm_w.svc, tm_insert_order, id, gid);
        break;
    case 1: /* refused by the business: rolled back, dropped */
        dtx_tmsg_pg_run(tm_w.c, m, 1000, tm_w.svc, tm_refuse_order, id, gid);
        break;
    case 2: /* committed locally, the submit lost */
    case 3: /* the service dies before its local commit */
        if (dtx_client_tmsg_prepare(tm_w.c, m, 1000, gid) != 0)
            break;
        h_db_exec(tm_w.svc, "BEGIN");
        tm_insert_order(tm_w.svc, id);
        if (i % 4 == 2)
            dtx_tmsg_pg_commit(NULL, tm_w.svc, gid);
        else
            h_db_exec(tm_w.svc, "ROLLBACK");
        break;
    }
    if (PQtransactionStatus(tm_w.svc) != PQTRANS_IDLE)
        h_db_exec(tm_w.svc, "ROLLBACK");
    dtx_tmsg_destroy(&m);
}

static void test_msg_workload_under_crashes_keeps_the_outbox_invariant(void)
{
    CU_ASSERT_FATAL(tm_world_up("msg_load") == 0);
    dtx_client_set_timeout(tm_w.c, 2000);
    const char *a_c2[] = { "--resource", "stock", NULL };
    pid_t stock = 0;
    for (int i = 0; i < 80; i++) {
        if (i == 20 || i == 60) { /* dtxd killed -9 and restarted */
            h_dtxd_kill(&tm_w.dtxd);
            CU_ASSERT_FATAL(h_dtxd_restart(&tm_w.dtxd) == 0);
        }
        if (i == 35) /* a consumer away for a while */
            CU_ASSERT_EQUAL(h_stop(tm_w.pc2, SIGTERM, 5000), 0);
        if (i == 50) {
            stock = h_participant_start("msg-load-stock2", tm_w.dc2, tm_w.dtxd.endpoint, a_c2);
            CU_ASSERT_FATAL(stock > 0);
        }
        s_load_one(i);
    }
    /* every message ends: committed or aborted */
    int64_t until = h_now_ms() + 30000, open = -1;
    while ((open = h_db_scalar(tm_w.log, "SELECT count(*) FROM dtx_global WHERE state NOT IN (3, 5)"))
               != 0 && h_now_ms() < until)
        h_sleep_ms(100);
    CU_ASSERT_EQUAL(open, 0);
    /* the invariant, message by message: committed iff its outbox row is
     * there; a committed one applied once at each destination, an aborted
     * one never delivered anywhere */
    PGresult *r = PQexec(tm_w.log, "SELECT gid, state FROM dtx_global WHERE mode = 4 ORDER BY gid");
    CU_ASSERT_FATAL(PQresultStatus(r) == PGRES_TUPLES_OK);
    int committed = 0, aborted = 0, bad = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *gid = PQgetvalue(r, i, 0);
        int st = atoi(PQgetvalue(r, i, 1));
        int64_t row = tm_outbox(gid, "try");
        int64_t e1 = u_effects(tm_w.c1, gid, "deliver"), e2 = u_effects(tm_w.c2, gid, "deliver");
        int64_t d = u_deliveries(tm_w.c1, gid, "deliver") + u_deliveries(tm_w.c2, gid, "deliver");
        int ok = st == DTX_STATE_COMMITTED ? row == 1 && e1 == 1 && e2 == 1
                                           : st == DTX_STATE_ABORTED && row == 0 && d == 0;
        committed += st == DTX_STATE_COMMITTED;
        aborted += st == DTX_STATE_ABORTED;
        if (!ok && bad++ < 5)
            fprintf(stderr, "message %s: state %d outbox %lld mail %lld stock %lld deliveries %lld\n",
                    gid, st, (long long)row, (long long)e1, (long long)e2, (long long)d);
    }
    PQclear(r);
    CU_ASSERT_EQUAL(bad, 0);
    /* every outbox row has its message, committed */
    CU_ASSERT_EQUAL(h_db_scalar(tm_w.svc, "SELECT count(*) FROM dtx_barrier WHERE branch = 0"
                                         " AND origin = 'try'"), committed);
    CU_ASSERT_TRUE(committed >= 30 && aborted >= 30);
    fprintf(stderr, "msg workload: %d committed, %d aborted\n", committed, aborted);
    if (stock > 0)
        CU_ASSERT_EQUAL(h_stop(stock, SIGTERM, 5000), 0);
    tm_w.pc2 = 0;
    CU_ASSERT_EQUAL(tm_down(), 0);
}

INTEG_SUITE(msg_crash)
{
    CU_pSuite s = CU_add_suite("msg_crash", NULL, NULL);
    CU_add_test(s, "msg survives a coordinator killed mid-delivery", test_msg_survives_a_coordinator_killed_mid_delivery);
    CU_add_test(s, "msg check-back that never knows goes stuck and resume asks again", test_msg_checkback_that_never_knows_goes_stuck_and_resume_asks_again);
    CU_add_test(s, "msg workload under crashes keeps the outbox invariant", test_msg_workload_under_crashes_keeps_the_outbox_invariant);
    CU_add_test(s, "msg prepared but never answered is dropped by its check-back", test_msg_prepared_but_never_answered_is_dropped_by_its_checkback);
}
