/*
 * Trust on the wire, under load and lapses: floods against each limit,
 * answers after a lapsed lease, an expiry storm (suite security_limits;
 * the attacks are in test_security.c). Every test speaks raw frames
 * (util.h) so that nothing in libdtx helps the coordinator.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "dtx/dtx.h"
#include "integ.h"
#include "test_admin_util.h"
#include "util.h"

static uint8_t s_buf[DTX_MSG_MAX + 64];

/* Each limit answers ERROR 22 with what to do, and counts it. */
static void test_floods_meet_their_limits(void)
{
    ta_world_t w;
    CU_ASSERT_FATAL(ta_up(&w, "sec_lim",
                          (const char *const[]){ "--max-txns", "20", "--max-branches", "2",
                                                 "--max-txn-payload", "1000", "--max-peer-rate",
                                                 "60", "--max-resources", "2",
                                                 "--max-registrations", "5", NULL },
                          NULL) == 0);
    u_peer_t p;
    CU_ASSERT_FATAL(u_peer_dealer(&p, w.d.endpoint) == 0);
    dtx_msg_t r;
    /* Branches and payload per transaction. */
    char gid[DTX_GID_SIZE], gid2[DTX_GID_SIZE];
    static char payload[600];
    memset(payload, 'p', sizeof payload);
    CU_ASSERT_FATAL(u_begin(&p, 1, 60000, gid) == 0);
    CU_ASSERT_FATAL(u_try(&p, gid, "ra", "a", "1", 1, 2, &r) == 0);
    CU_ASSERT_EQUAL(r.type, DTX_MSG_TRY_OK);
    CU_ASSERT_FATAL(u_try(&p, gid, "ra", "a", "2", 1, 3, &r) == 0);
    CU_ASSERT_EQUAL(r.type, DTX_MSG_TRY_OK);
    CU_ASSERT_FATAL(u_try(&p, gid, "ra", "a", "3", 1, 4, &r) == 0);
    CU_ASSERT_EQUAL(r.type, DTX_MSG_ERROR);
    CU_ASSERT_EQUAL(r.code, (uint32_t)-DTX_ELIMIT);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.text, "max-branches"));
    CU_ASSERT_FATAL(u_begin(&p, 5, 60000, gid2) == 0);
    CU_ASSERT_FATAL(u_try(&p, gid2, "ra", "a", payload, sizeof payload, 6, &r) == 0);
    CU_ASSERT_EQUAL(r.type, DTX_MSG_TRY_OK);
    CU_ASSERT_FATAL(u_try(&p, gid2, "ra", "a", payload, sizeof payload, 7, &r) == 0);
    CU_ASSERT_EQUAL(r.type, DTX_MSG_ERROR);
    CU_ASSERT_EQUAL(r.code, (uint32_t)-DTX_ELIMIT);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.text, "max-txn-payload"));
    /* Pipelined TRYs count while their branch writes fly: gid2 has one
     * branch of 2, so one of 10 sent at once is let through. */
    for (int i = 0; i < 10; i++) {
        dtx_msg_t m;
        memset(&m, 0, sizeof m);
        m.type = DTX_MSG_TRY;
        m.corr = (uint64_t)(50 + i);
        strcpy(m.gid, gid2);
        strcpy(m.resource, "ra");
        strcpy(m.action, "a");
        m.payload = (const uint8_t *)"x";
        m.payload_len = 1;
        CU_ASSERT_EQUAL(u_send(&p, NULL, 0, &m), 0);
    }
    int burst_ok = 0, burst_limited = 0;
    for (int i = 0; i < 10 && u_recv(&p, &r, s_buf, sizeof s_buf, NULL, NULL, 10000) == 0; i++) {
        burst_ok += r.type == DTX_MSG_TRY_OK;
        burst_limited += r.type == DTX_MSG_ERROR && r.code == (uint32_t)-DTX_ELIMIT;
    }
    CU_ASSERT_EQUAL(burst_ok, 1);
    CU_ASSERT_EQUAL(burst_limited, 9);
    CU_ASSERT_EQUAL((long)h_db_scalar(w.log, "select count(*) from dtx_branch where gid = '%s'",
                                      gid2), 2);
    /* Transactions in memory: 2 held, 18 more, then refusals. */
    h_sleep_ms(1100); /* a full rate bucket */
    int ok = 0, limited = 0;
    for (int i = 0; i < 25; i++) {
        dtx_msg_t m;
        memset(&m, 0, sizeof m);
        m.type = DTX_MSG_BEGIN;
        m.mode = DTX_MODE_TCC;
        m.timeout_ms = 60000;
        CU_ASSERT_FATAL(u_call(&p, &m, (uint64_t)(100 + i), &r, 5000) == 0);
        ok += r.type == DTX_MSG_BEGIN_OK;
        limited += r.type == DTX_MSG_ERROR && r.code == (uint32_t)-DTX_ELIMIT;
    }
    CU_ASSERT_EQUAL(ok, 18);
    CU_ASSERT_EQUAL(limited, 7);
    CU_ASSERT_EQUAL(ta_metric(&w, "dtx_limit_refusals_total{limit=\"txns\"}"), 7);
    /* Requests per second from one connection: a burst of 200 STATUS. */
    h_sleep_ms(1100);
    for (int i = 0; i < 200; i++) {
        dtx_msg_t m;
        memset(&m, 0, sizeof m);
        m.type = DTX_MSG_STATUS;
        m.corr = (uint64_t)(1000 + i);
        strcpy(m.gid, gid);
        CU_ASSERT_EQUAL(u_send(&p, NULL, 0, &m), 0);
    }
    int answered = 0, rated = 0;
    while (answered < 200 && u_recv(&p, &r, s_buf, sizeof s_buf, NULL, NULL, 5000) == 0) {
        if (r.corr < 1000)
            continue;
        answered++;
        rated += r.type == DTX_MSG_ERROR && r.code == (uint32_t)-DTX_ELIMIT;
    }
    CU_ASSERT_EQUAL(answered, 200);  /* every request answered: nothing lost */
    CU_ASSERT(rated >= 100);          /* 60 in the bucket, a few more refilled */
    CU_ASSERT(ta_metric(&w, "dtx_limit_refusals_total{limit=\"peer_rate\"}") >= 100);
    /* Resources per connection, registrations per second. */
    u_peer_t q;
    CU_ASSERT_FATAL(u_peer_dealer(&q, w.d.endpoint) == 0);
    CU_ASSERT_FATAL(u_register(&q, "flood-1", "r1", 1, &r) == 0);
    CU_ASSERT_EQUAL(r.type, DTX_MSG_REGISTER_OK);
    CU_ASSERT_FATAL(u_register(&q, "flood-1", "r2", 2, &r) == 0);
    CU_ASSERT_EQUAL(r.type, DTX_MSG_REGISTER_OK);
    CU_ASSERT_FATAL(u_register(&q, "flood-1", "r3", 3, &r) == 0);
    CU_ASSERT_EQUAL(r.type, DTX_MSG_ERROR);
    CU_ASSERT_EQUAL(r.code, (uint32_t)-DTX_ELIMIT);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.text, "max-resources"));
    int reg_limited = 0;
    for (int i = 0; i < 10; i++) {
        CU_ASSERT_FATAL(u_register(&q, "flood-1", "r1", (uint64_t)(10 + i), &r) == 0);
        reg_limited += r.type == DTX_MSG_ERROR && strstr(r.text, "max-registrations") != NULL;
    }
    CU_ASSERT(reg_limited >= 5);
    CU_ASSERT(ta_metric(&w, "dtx_limit_refusals_total{limit=\"registrations\"}") >= 5);
    u_peer_close(&q);
    u_peer_close(&p);
    ta_down(&w);
}

/* The log hangs longer than the lease while a ROLLBACK (then a COMMIT)
 * waits for its decision: the lapse drops the in-memory copy. The answer
 * is still the truth — STATE aborting (committing) — never ERROR 7, and
 * the lapse is handled once. */
static void s_lapse_case(int type)
{
    ta_world_t w;
    char name[32], logname[64];
    snprintf(name, sizeof name, "sec_lapse%d", type);
    snprintf(logname, sizeof logname, "%s-dtxd", name);
    h_log_remove(logname);
    CU_ASSERT_FATAL(ta_up(&w, name, (const char *const[]){ "--lease-ms", "1500", NULL }, NULL) ==
                    0);
    u_peer_t p;
    CU_ASSERT_FATAL(u_peer_dealer(&p, w.d.endpoint) == 0);
    char gid[DTX_GID_SIZE];
    dtx_msg_t r;
    CU_ASSERT_FATAL(u_begin(&p, 1, 60000, gid) == 0);
    CU_ASSERT_FATAL(u_try(&p, gid, "ra", "reserve", "x", 1, 2, &r) == 0);
    CU_ASSERT_EQUAL_FATAL(r.type, DTX_MSG_TRY_OK);
    /* Hang every write the decision and the lease renewal need. */
    PGconn *lock = PQconnectdb(w.d.db);
    CU_ASSERT_FATAL(PQstatus(lock) == CONNECTION_OK);
    CU_ASSERT_FATAL(h_db_exec(lock, "begin") == 0);
    CU_ASSERT_FATAL(h_db_exec(lock, "select 1 from dtx_global where gid = '%s' for update",
                              gid) == 0);
    CU_ASSERT_FATAL(h_db_exec(lock, "lock table dtx_node in exclusive mode") == 0);
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = (uint8_t)type;
    m.corr = 3;
    strcpy(m.gid, gid);
    CU_ASSERT_FATAL(u_send(&p, NULL, 0, &m) == 0);
    h_sleep_ms(2500); /* the lease (1.5 s) and a second more */
    CU_ASSERT_FATAL(h_db_exec(lock, "commit") == 0);
    PQfinish(lock);
    int got = -1;
    int64_t until = h_now_ms() + 15000;
    while (got < 0 && h_now_ms() < until)
        if (u_recv(&p, &r, s_buf, sizeof s_buf, NULL, NULL, 15000) == 0 && r.corr == 3)
            got = 0;
    CU_ASSERT_EQUAL_FATAL(got, 0);
    CU_ASSERT_EQUAL(r.type, DTX_MSG_STATE);
    if (r.type == DTX_MSG_ERROR)
        fprintf(stderr, "answer: ERROR %u %s\n", r.code, r.text);
    int want = type == DTX_MSG_ROLLBACK ? DTX_STATE_ABORTING : DTX_STATE_COMMITTING;
    CU_ASSERT(r.state == want || r.state == want + 1);
    CU_ASSERT_EQUAL(u_wait_state(w.log, gid, want + 1, 10000), 0);
    h_sleep_ms(1000); /* two renewals after the lapse (every 500 ms) */
    CU_ASSERT_EQUAL(h_log_count(logname, "lease lapsed"), 1);
    u_peer_close(&p);
    ta_down(&w);
}

static void test_lapsed_lease_answers_rollback_with_its_state(void)
{
    s_lapse_case(DTX_MSG_ROLLBACK);
}

static void test_lapsed_lease_answers_commit_with_its_state(void)
{
    s_lapse_case(DTX_MSG_COMMIT);
}

/* 20,000 transactions reach their deadline together while a probe keeps
 * BEGINning: every probe is answered, every transaction ends aborted and
 * the node keeps its lease (the timers run in slices the log keeps up
 * with; the lease has its own connection). The latency of the probe is
 * measured by make bench, not here. */
static void test_expiry_storm_starves_nothing(void)
{
    ta_world_t w;
    h_log_remove("sec_storm-dtxd");
    CU_ASSERT_FATAL(ta_up(&w, "sec_storm", (const char *const[]){ "--lease-ms", "1500", NULL },
                          (const char *const[]){ "none", NULL }) == 0);
    u_peer_t p, probe;
    CU_ASSERT_FATAL(u_peer_dealer(&p, w.d.endpoint) == 0);
    CU_ASSERT_FATAL(u_peer_dealer(&probe, w.d.endpoint) == 0);
    enum { N = 20000 };
    dtx_msg_t m, r;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_BEGIN;
    m.mode = DTX_MODE_TCC;
    m.timeout_ms = 3000;
    int sent = 0, got = 0;
    while (got < N) {
        while (sent < N && sent - got < 2000) {
            m.corr = (uint64_t)sent++;
            CU_ASSERT_FATAL(u_send(&p, NULL, 0, &m) == 0);
        }
        if (u_recv(&p, &r, s_buf, sizeof s_buf, NULL, NULL, 10000) != 0)
            break;
        CU_ASSERT_EQUAL(r.type, DTX_MSG_BEGIN_OK);
        got++;
    }
    CU_ASSERT_EQUAL_FATAL(got, N);
    /* Probe through the storm. */
    int answered = 0, probes = 0;
    int64_t until = h_now_ms() + 6000;
    while (h_now_ms() < until) {
        char gid[DTX_GID_SIZE];
        probes++;
        answered += u_begin(&probe, (uint64_t)probes, 60000, gid) == 0;
        h_sleep_ms(20);
    }
    CU_ASSERT_EQUAL(answered, probes);
    int64_t t0 = h_now_ms();
    while (h_now_ms() - t0 < 60000 &&
           h_db_scalar(w.log, "select count(*) from dtx_global where state = 5") < N)
        h_sleep_ms(200);
    CU_ASSERT_EQUAL(h_db_scalar(w.log, "select count(*) from dtx_global where state = 5"), N);
    CU_ASSERT_EQUAL(h_log_count("sec_storm-dtxd", "lease lapsed"), 0);
    u_peer_close(&p);
    u_peer_close(&probe);
    ta_down(&w);
}

INTEG_SUITE(security_limits)
{
    CU_pSuite s = CU_add_suite("security_limits", NULL, NULL);
    CU_add_test(s, "floods meet their limits", test_floods_meet_their_limits);
    CU_add_test(s, "lapsed lease answers rollback with its state",
                test_lapsed_lease_answers_rollback_with_its_state);
    CU_add_test(s, "lapsed lease answers commit with its state",
                test_lapsed_lease_answers_commit_with_its_state);
    CU_add_test(s, "expiry storm starves nothing", test_expiry_storm_starves_nothing);
}
