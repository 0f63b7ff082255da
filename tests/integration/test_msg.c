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
 * Suite "msg_crash" has a world per test (a process a test starts does
 * not outlive it): one kills dtxd -9 and restarts it, one runs a dtxd
 * with a retry budget of 3 to make a check-back stuck.
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
#include "util.h"

static struct {
    h_dtxd_t      dtxd;
    char          dsvc[H_CONNINFO_SIZE], dc1[H_CONNINFO_SIZE], dc2[H_CONNINFO_SIZE];
    PGconn       *log, *svc, *c1, *c2;
    pid_t         psvc, pvague, pc1, pc2, pslow, pslowcb;
    dtx_client_t *c;     /* the service's client */
    dtx_client_t *lost;  /* a client whose submits never arrive */
} s_w;

static const char *s_args[] = { "--phase-timeout-ms", "3000", "--retry-base-ms", "50",
                                "--retry-max-ms", "300", "--max-attempts", "40",
                                "--heartbeat-ms", "2000", "--lease-ms", "1000",
                                "--recovery-interval-ms", "200", NULL };

/* The world of suite `name`: databases <name>_log, _svc, _c1, _c2; dtxd
 * with args (NULL: s_args). */
static int s_world_args(const char *name, const char *const *args)
{
    char log[H_CONNINFO_SIZE], n[4][64];
    memset(&s_w, 0, sizeof s_w);
    const char *sfx[4] = { "log", "svc", "c1", "c2" };
    for (int i = 0; i < 4; i++)
        snprintf(n[i], sizeof n[i], "%s_%s", name, sfx[i]);
    if (h_db_create(n[0], log, sizeof log) || h_db_create(n[1], s_w.dsvc, sizeof s_w.dsvc) ||
        h_db_create(n[2], s_w.dc1, sizeof s_w.dc1) || h_db_create(n[3], s_w.dc2, sizeof s_w.dc2))
        return -1;
    snprintf(s_w.dtxd.logname, sizeof s_w.dtxd.logname, "%s-dtxd", name);
    if (h_dtxd_start(&s_w.dtxd, log, args ? args : s_args) != 0)
        return -1;
    const char *ep = s_w.dtxd.endpoint;
    const char *a_svc[] = { "--resource", "orders", NULL };
    const char *a_vague[] = { "--resource", "orders2", "--fail-op-times", "query_prepared:2", NULL };
    const char *a_c1[] = { "--resource", "mail", NULL };
    const char *a_c2[] = { "--resource", "stock", NULL };
    const char *a_slow[] = { "--resource", "slow", "--delay-ms-op", "deliver:2000", NULL };
    const char *a_slowcb[] = { "--resource", "orders4", "--delay-ms-op", "query_prepared:1500",
                               NULL };
    s_w.psvc = h_participant_spawn("msg-psvc", s_w.dsvc, ep, a_svc);
    s_w.pvague = h_participant_spawn("msg-pvague", s_w.dsvc, ep, a_vague);
    s_w.pc1 = h_participant_spawn("msg-pc1", s_w.dc1, ep, a_c1);
    s_w.pc2 = h_participant_spawn("msg-pc2", s_w.dc2, ep, a_c2);
    s_w.pslow = h_participant_spawn("msg-pslow", s_w.dc2, ep, a_slow);
    s_w.pslowcb = h_participant_spawn("msg-pslowcb", s_w.dsvc, ep, a_slowcb);
    if (h_participant_ready("msg-psvc", s_w.psvc) || h_participant_ready("msg-pvague", s_w.pvague) ||
        h_participant_ready("msg-pc1", s_w.pc1) || h_participant_ready("msg-pc2", s_w.pc2) ||
        h_participant_ready("msg-pslow", s_w.pslow) ||
        h_participant_ready("msg-pslowcb", s_w.pslowcb))
        return -1;
    s_w.log = h_db_connect(n[0]);
    s_w.svc = h_db_connect(n[1]);
    s_w.c1 = h_db_connect(n[2]);
    s_w.c2 = h_db_connect(n[3]);
    if (!s_w.log || !s_w.svc || !s_w.c1 || !s_w.c2 ||
        h_db_exec(s_w.svc, "CREATE TABLE orders (id text PRIMARY KEY, gid text)") != 0)
        return -1;
    int err = 0;
    s_w.c = dtx_client_new(ep, &err);
    s_w.lost = dtx_client_new("tcp://127.0.0.1:9", &err);
    if (!s_w.c || !s_w.lost)
        return -1;
    dtx_client_set_timeout(s_w.c, 10000);
    dtx_client_set_timeout(s_w.lost, 300);
    return 0;
}

static int s_world_up(const char *name)
{
    return s_world_args(name, NULL);
}

static int s_up(void)
{
    return s_world_up("msg");
}

static int s_down(void)
{
    dtx_client_destroy(&s_w.c);
    dtx_client_destroy(&s_w.lost);
    pid_t ps[] = { s_w.psvc, s_w.pvague, s_w.pc1, s_w.pc2, s_w.pslow, s_w.pslowcb };
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
        if (ps[i] > 0 && h_alive(ps[i]))
            h_stop(ps[i], SIGTERM, 5000);
    int bad = h_dtxd_stop(&s_w.dtxd) != 0;
    PQfinish(s_w.log);
    PQfinish(s_w.svc);
    PQfinish(s_w.c1);
    PQfinish(s_w.c2);
    return bad ? -1 : 0;
}

/* "order created" from checkback to mail (c1) and stock (c2), or to the
 * resources given. */
static dtx_tmsg_t *s_msg(const char *checkback, const char *d1, const char *d2)
{
    int err = 0;
    dtx_tmsg_t *m = dtx_tmsg_new(checkback, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL(dtx_tmsg_add(m, d1, "order_created", "{\"order\":1}", 11), 1);
    if (d2)
        CU_ASSERT_EQUAL(dtx_tmsg_add(m, d2, "order_created", "{\"order\":1}", 11), 2);
    return m;
}

/* The business change: one order row (arg: its id). */
static int s_insert_order(PGconn *conn, void *arg)
{
    char sql[160];
    snprintf(sql, sizeof sql, "INSERT INTO orders (id) VALUES ('%s')", (const char *)arg);
    PGresult *r = PQexec(conn, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok ? DTX_OK : DTX_EDB;
}

static int s_refuse_order(PGconn *conn, void *arg)
{
    s_insert_order(conn, arg);
    return DTX_EREFUSED; /* e.g. out of stock: the local transaction rolls back */
}

static int64_t s_orders(const char *id)
{
    return h_db_scalar(s_w.svc, "SELECT count(*) FROM orders WHERE id = '%s'", id);
}

static int64_t s_outbox(const char *gid, const char *origin)
{
    return h_db_scalar(s_w.svc, "SELECT count(*) FROM dtx_barrier WHERE gid = '%s' AND branch = 0"
                                " AND op = 'try' AND origin = '%s'", gid, origin);
}

/* Prepares m (timeout_ms), then BEGIN and the order id on svc: the local
 * transaction is left open. */
static void s_prepare_and_begin(dtx_tmsg_t *m, uint32_t timeout_ms, const char *id, char *gid)
{
    CU_ASSERT_EQUAL_FATAL(dtx_client_tmsg_prepare(s_w.c, m, timeout_ms, gid), 0);
    dtx_tmsg_destroy(&m);
    CU_ASSERT_EQUAL(h_db_exec(s_w.svc, "BEGIN"), 0);
    CU_ASSERT_EQUAL(s_insert_order(s_w.svc, (void *)id), DTX_OK);
}

static int s_never(PGconn *conn, const dtx_call_t *call, void *arg)
{
    (void)conn; (void)call;
    (*(int *)arg)++;
    return DTX_OK;
}

static void test_msg_submit_delivers_to_every_destination_once(void)
{
    char gid[DTX_GID_SIZE];
    dtx_tmsg_t *m = s_msg("orders", "mail", "stock");
    CU_ASSERT_EQUAL_FATAL(dtx_tmsg_pg_run(s_w.c, m, 30000, s_w.svc, s_insert_order, "o-1", gid), 0);
    dtx_tmsg_destroy(&m);
    CU_ASSERT_EQUAL(u_wait_state(s_w.log, gid, DTX_STATE_COMMITTED, 10000), 0);
    CU_ASSERT_EQUAL(s_orders("o-1"), 1);
    CU_ASSERT_EQUAL(s_outbox(gid, "try"), 1);
    CU_ASSERT_EQUAL(u_effects(s_w.c1, gid, "deliver"), 1);
    CU_ASSERT_EQUAL(u_effects(s_w.c2, gid, "deliver"), 1);
    CU_ASSERT_EQUAL(h_db_scalar(s_w.c1, "SELECT count(*) FROM ledger WHERE gid = '%s' AND op = 'deliver'"
                                        " AND branch = 1", gid), 1);
    CU_ASSERT_EQUAL(u_deliveries(s_w.svc, gid, "query_prepared"), 0); /* no check-back needed */
    CU_ASSERT_EQUAL(h_db_scalar(s_w.log, "SELECT mode FROM dtx_global WHERE gid = '%s'", gid),
                    DTX_MODE_MSG);
    /* a duplicate delivery is applied once: the barrier skips it */
    int calls = 0;
    dtx_call_t call = { .gid = gid, .branch = 1, .attempt = 9, .op = DTX_OP_DELIVER,
                        .resource = "mail", .action = "order_created" };
    CU_ASSERT_EQUAL(dtx_barrier_call(s_w.c1, &call, s_never, &calls), 0);
    CU_ASSERT_EQUAL(calls, 0);
    CU_ASSERT_EQUAL(u_effects(s_w.c1, gid, "deliver"), 1);
    /* submitting again is harmless */
    CU_ASSERT_EQUAL(dtx_client_tmsg_submit(s_w.c, gid), 0);
}

static void test_msg_local_rollback_delivers_nothing(void)
{
    char gid[DTX_GID_SIZE];
    dtx_tmsg_t *m = s_msg("orders", "mail", "stock");
    CU_ASSERT_EQUAL(dtx_tmsg_pg_run(s_w.c, m, 30000, s_w.svc, s_refuse_order, "o-2", gid),
                    DTX_EREFUSED);
    dtx_tmsg_destroy(&m);
    CU_ASSERT_EQUAL(u_wait_state(s_w.log, gid, DTX_STATE_ABORTED, 10000), 0);
    CU_ASSERT_EQUAL(s_orders("o-2"), 0);
    h_sleep_ms(200);
    CU_ASSERT_EQUAL(u_deliveries(s_w.c1, gid, "deliver") + u_deliveries(s_w.c2, gid, "deliver"), 0);
    CU_ASSERT_EQUAL(dtx_client_tmsg_submit(s_w.c, gid), DTX_EABORTED);
}

static void test_msg_checkback_commit_delivers_when_the_submit_is_lost(void)
{
    char gid[DTX_GID_SIZE];
    s_prepare_and_begin(s_msg("orders", "mail", "stock"), 1000, "o-3", gid);
    /* committed locally; the submit goes nowhere (the service "crashed") */
    CU_ASSERT_EQUAL(dtx_tmsg_pg_commit(s_w.lost, s_w.svc, gid), 0);
    CU_ASSERT_EQUAL(u_log_state(s_w.log, gid), DTX_STATE_ACTIVE);
    CU_ASSERT_EQUAL(u_wait_state(s_w.log, gid, DTX_STATE_COMMITTED, 10000), 0);
    CU_ASSERT_EQUAL(u_deliveries(s_w.svc, gid, "query_prepared"), 1);
    CU_ASSERT_EQUAL(u_effects(s_w.c1, gid, "deliver"), 1);
    CU_ASSERT_EQUAL(u_effects(s_w.c2, gid, "deliver"), 1);
}

static void test_msg_checkback_rollback_delivers_nothing_and_bars_a_late_commit(void)
{
    char gid[DTX_GID_SIZE];
    /* the service dies before its local commit: its transaction is gone */
    s_prepare_and_begin(s_msg("orders", "mail", "stock"), 1000, "o-4", gid);
    CU_ASSERT_EQUAL(h_db_exec(s_w.svc, "ROLLBACK"), 0);
    CU_ASSERT_EQUAL(u_wait_state(s_w.log, gid, DTX_STATE_ABORTED, 10000), 0);
    CU_ASSERT_EQUAL(u_deliveries(s_w.svc, gid, "query_prepared"), 1);
    CU_ASSERT_EQUAL(s_outbox(gid, "cancel"), 1); /* the rollback marker */
    h_sleep_ms(200);
    CU_ASSERT_EQUAL(u_deliveries(s_w.c1, gid, "deliver") + u_deliveries(s_w.c2, gid, "deliver"), 0);
    /* a local transaction that only now tries to commit its outbox row
     * cannot: the check-back said "rolled back", and that holds */
    CU_ASSERT_EQUAL(h_db_exec(s_w.svc, "BEGIN"), 0);
    CU_ASSERT_EQUAL(s_insert_order(s_w.svc, "o-4"), DTX_OK);
    CU_ASSERT_EQUAL(dtx_tmsg_pg_commit(s_w.c, s_w.svc, gid), DTX_EABORTED);
    CU_ASSERT_EQUAL(s_orders("o-4"), 0);
    CU_ASSERT_EQUAL(s_outbox(gid, "try"), 0);
}

static void test_msg_checkback_unknown_is_asked_again_until_it_knows(void)
{
    char gid[DTX_GID_SIZE];
    /* orders2 answers "unknown" twice, then what the outbox says */
    s_prepare_and_begin(s_msg("orders2", "mail", NULL), 800, "o-5", gid);
    CU_ASSERT_EQUAL(dtx_tmsg_pg_commit(s_w.lost, s_w.svc, gid), 0);
    CU_ASSERT_EQUAL(u_wait_state(s_w.log, gid, DTX_STATE_COMMITTED, 15000), 0);
    CU_ASSERT_EQUAL(u_deliveries(s_w.svc, gid, "query_prepared"), 3);
    CU_ASSERT_EQUAL(u_effects(s_w.c1, gid, "deliver"), 1);
}

/* CPU ticks (user + system) dtxd has used so far. */
static long s_dtxd_ticks(void)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)s_w.dtxd.pid);
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
    s_prepare_and_begin(s_msg("orders4", "mail", NULL), 200, "o-11", gid);
    CU_ASSERT_EQUAL(dtx_tmsg_pg_commit(NULL, s_w.svc, gid), 0);
    int64_t until = h_now_ms() + 5000;
    while (u_deliveries(s_w.svc, gid, "query_prepared") < 1 && h_now_ms() < until)
        h_sleep_ms(20);
    long t0 = s_dtxd_ticks();
    h_sleep_ms(1000);
    long t1 = s_dtxd_ticks();
    CU_ASSERT_TRUE(t0 >= 0 && t1 >= 0);
    if (t1 - t0 > 25)
        fprintf(stderr, "dtxd used %ld ticks in 1 s while waiting\n", t1 - t0);
    CU_ASSERT_TRUE(t1 - t0 <= 25); /* a quarter of one core, at most */
    CU_ASSERT_EQUAL(u_wait_state(s_w.log, gid, DTX_STATE_COMMITTED, 10000), 0);
}

static void test_msg_consumer_down_gets_its_delivery_when_back(void)
{
    char gid[DTX_GID_SIZE];
    const char *a_late[] = { "--resource", "late", NULL };
    pid_t late = h_participant_start("msg-late", s_w.dc1, s_w.dtxd.endpoint, a_late);
    CU_ASSERT_FATAL(late > 0);
    dtx_tmsg_t *m = s_msg("orders", "mail", "late");
    CU_ASSERT_EQUAL_FATAL(dtx_client_tmsg_prepare(s_w.c, m, 30000, gid), 0);
    dtx_tmsg_destroy(&m);
    CU_ASSERT_EQUAL(h_stop(late, SIGTERM, 5000), 0);
    CU_ASSERT_EQUAL(h_db_exec(s_w.svc, "BEGIN"), 0);
    CU_ASSERT_EQUAL(s_insert_order(s_w.svc, "o-6"), DTX_OK);
    CU_ASSERT_EQUAL(dtx_tmsg_pg_commit(s_w.c, s_w.svc, gid), 0);
    h_sleep_ms(1500);
    CU_ASSERT_EQUAL(u_log_state(s_w.log, gid), DTX_STATE_COMMITTING);
    CU_ASSERT_EQUAL(u_branch_state(s_w.log, gid, 1), DTX_BRANCH_CONFIRMED);
    CU_ASSERT_EQUAL(u_branch_state(s_w.log, gid, 2), DTX_BRANCH_TRIED);
    late = h_participant_start("msg-late2", s_w.dc1, s_w.dtxd.endpoint, a_late);
    CU_ASSERT_FATAL(late > 0);
    CU_ASSERT_EQUAL(u_wait_state(s_w.log, gid, DTX_STATE_COMMITTED, 10000), 0);
    CU_ASSERT_EQUAL(h_db_scalar(s_w.c1, "SELECT count(*) FROM effects WHERE gid = '%s' AND branch = 2",
                                gid), 1);
    CU_ASSERT_EQUAL(h_stop(late, SIGTERM, 5000), 0);
}

static void test_msg_to_a_resource_nobody_serves_waits_for_it(void)
{
    /* "nosuch" has no instance: the message is taken all the same (an
     * outbox must not stop its service), mail gets it at once, and the
     * delivery to nosuch names why it waits until someone serves it */
    char gid[DTX_GID_SIZE];
    dtx_tmsg_t *m = s_msg("orders", "mail", "nosuch");
    CU_ASSERT_EQUAL_FATAL(dtx_tmsg_pg_run(s_w.c, m, 30000, s_w.svc, s_insert_order, "o-7", gid), 0);
    dtx_tmsg_destroy(&m);
    int64_t until = h_now_ms() + 5000;
    char err[256] = "";
    while (!strstr(err, "nosuch") && h_now_ms() < until) {
        h_sleep_ms(50);
        h_db_scalar_text(s_w.log, err, sizeof err, "SELECT coalesce(last_error, '') FROM dtx_branch"
                                                   " WHERE gid = '%s' AND branch_no = 2", gid);
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "no live instance of resource nosuch"));
    CU_ASSERT_EQUAL(u_branch_state(s_w.log, gid, 1), DTX_BRANCH_CONFIRMED);
    CU_ASSERT_EQUAL(u_log_state(s_w.log, gid), DTX_STATE_COMMITTING);
    const char *a[] = { "--resource", "nosuch", NULL };
    pid_t p = h_participant_start("msg-nosuch", s_w.dc2, s_w.dtxd.endpoint, a);
    CU_ASSERT_FATAL(p > 0);
    CU_ASSERT_EQUAL(u_wait_state(s_w.log, gid, DTX_STATE_COMMITTED, 10000), 0);
    CU_ASSERT_EQUAL(u_effects(s_w.c2, gid, "deliver"), 1);
    CU_ASSERT_EQUAL(h_stop(p, SIGTERM, 5000), 0);
}

static void test_msg_bad_input_is_refused_and_nothing_is_recorded(void)
{
    int64_t before = h_db_scalar(s_w.log, "SELECT count(*) FROM dtx_global");
    char gid[DTX_GID_SIZE];
    int err = 0;
    dtx_tmsg_t *m;
    /* no destination; bad names; over the payload limit in all */
    m = dtx_tmsg_new("orders", &err);
    CU_ASSERT_EQUAL(dtx_client_tmsg_prepare(s_w.c, m, 0, gid), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_tmsg_add(m, "bad name", "x", NULL, 0), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_tmsg_add(m, "mail", "", NULL, 0), DTX_EINVAL);
    CU_ASSERT_PTR_NULL(dtx_tmsg_new("no/such", &err));
    CU_ASSERT_EQUAL(err, DTX_EINVAL);
    char *big = calloc(1, DTX_PAYLOAD_MAX);
    CU_ASSERT_EQUAL(dtx_tmsg_add(m, "mail", "a", big, DTX_PAYLOAD_MAX), 1);
    CU_ASSERT_EQUAL(dtx_tmsg_add(m, "stock", "a", big, 16), 2);
    free(big);
    CU_ASSERT_EQUAL(dtx_client_tmsg_prepare(s_w.c, m, 0, gid), DTX_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dtx_client_last_error(s_w.c), "over"));
    dtx_tmsg_destroy(&m);
    /* malformed frames: a bad plan in version 2, any TMSG in version 1 */
    u_peer_t p;
    CU_ASSERT_FATAL(u_peer_dealer(&p, s_w.dtxd.endpoint) == 0);
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
        CU_ASSERT_FATAL(h_dtxd_reload(&s_w.dtxd) == 0);
        h_sleep_ms(300);
        dtx_client_t *pc = dtx_client_new_curve(s_w.dtxd.endpoint, pkey, &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(pc);
        dtx_client_set_timeout(pc, 5000);
        m = s_msg("orders", "mail", NULL);
        CU_ASSERT_EQUAL(dtx_client_tmsg_prepare(pc, m, 0, gid), DTX_EACCES);
        dtx_tmsg_destroy(&m);
        dtx_client_destroy(&pc);
    }
    CU_ASSERT_EQUAL(h_db_scalar(s_w.log, "SELECT count(*) FROM dtx_global"), before);
    /* a message takes no TRY */
    m = s_msg("orders", "mail", NULL);
    CU_ASSERT_EQUAL_FATAL(dtx_client_tmsg_prepare(s_w.c, m, 30000, gid), 0);
    dtx_tmsg_destroy(&m);
    CU_ASSERT_EQUAL(dtx_client_try(s_w.c, gid, "mail", "x", NULL, 0, NULL), DTX_ESTATE);
    CU_ASSERT_EQUAL(dtx_client_tmsg_abort(s_w.c, gid), 0);
    CU_ASSERT_EQUAL(u_wait_state(s_w.log, gid, DTX_STATE_ABORTED, 5000), 0);
}

static void test_msg_survives_a_coordinator_killed_mid_delivery(void)
{
    CU_ASSERT_FATAL(s_world_up("msg_crash") == 0);
    char gid[DTX_GID_SIZE];
    dtx_tmsg_t *m = s_msg("orders", "mail", "slow");
    CU_ASSERT_EQUAL_FATAL(dtx_tmsg_pg_run(s_w.c, m, 30000, s_w.svc, s_insert_order, "o-8", gid), 0);
    dtx_tmsg_destroy(&m);
    int64_t until = h_now_ms() + 10000;
    while (u_branch_state(s_w.log, gid, 1) != DTX_BRANCH_CONFIRMED && h_now_ms() < until)
        h_sleep_ms(50);
    CU_ASSERT_EQUAL_FATAL(u_branch_state(s_w.log, gid, 1), DTX_BRANCH_CONFIRMED);
    h_sleep_ms(300); /* the delivery to slow is in its 2 s handler now */
    h_dtxd_kill(&s_w.dtxd);
    CU_ASSERT_EQUAL(u_log_state(s_w.log, gid), DTX_STATE_COMMITTING);
    CU_ASSERT_EQUAL_FATAL(h_dtxd_restart(&s_w.dtxd), 0);
    CU_ASSERT_EQUAL(u_wait_state(s_w.log, gid, DTX_STATE_COMMITTED, 30000), 0);
    CU_ASSERT_EQUAL(u_effects(s_w.c1, gid, "deliver"), 1);
    CU_ASSERT_EQUAL(h_db_scalar(s_w.c2, "SELECT count(*) FROM effects WHERE gid = '%s'", gid), 1);
    /* a prepared message outlives the crash too, and its check-back ends it */
    s_prepare_and_begin(s_msg("orders", "mail", NULL), 1500, "o-9", gid);
    CU_ASSERT_EQUAL(dtx_tmsg_pg_commit(s_w.lost, s_w.svc, gid), 0);
    h_dtxd_kill(&s_w.dtxd);
    CU_ASSERT_EQUAL_FATAL(h_dtxd_restart(&s_w.dtxd), 0);
    CU_ASSERT_EQUAL(u_wait_state(s_w.log, gid, DTX_STATE_COMMITTED, 30000), 0);
    CU_ASSERT_EQUAL(u_effects(s_w.c1, gid, "deliver"), 1);
    CU_ASSERT_EQUAL(s_down(), 0);
}

static void test_msg_checkback_that_never_knows_goes_stuck_and_resume_asks_again(void)
{
    /* a small budget: 3 attempts */
    const char *args[] = { "--phase-timeout-ms", "2000", "--retry-base-ms", "50",
                           "--retry-max-ms", "100", "--max-attempts", "3", "--heartbeat-ms", "2000",
                           NULL };
    CU_ASSERT_FATAL(s_world_args("msg_stuck", args) == 0);
    const char *a_blind[] = { "--resource", "orders3", "--fail-op-times", "query_prepared:1000000",
                              NULL };
    pid_t blind = h_participant_start("msg-blind", s_w.dsvc, s_w.dtxd.endpoint, a_blind);
    CU_ASSERT_FATAL(blind > 0);
    char gid[DTX_GID_SIZE];
    s_prepare_and_begin(s_msg("orders3", "mail", NULL), 300, "o-10", gid);
    CU_ASSERT_EQUAL(dtx_tmsg_pg_commit(NULL, s_w.svc, gid), 0); /* committed, never submitted */
    CU_ASSERT_EQUAL(u_wait_state(s_w.log, gid, DTX_STATE_STUCK, 10000), 0);
    CU_ASSERT_EQUAL(h_db_scalar(s_w.log, "SELECT decision FROM dtx_global WHERE gid = '%s'", gid),
                    DTX_STATE_ACTIVE);
    CU_ASSERT_EQUAL(u_deliveries(s_w.svc, gid, "query_prepared"), 3);
    CU_ASSERT_EQUAL(u_deliveries(s_w.c1, gid, "deliver"), 0);
    /* the check-back can tell again: an operator resumes, it is asked anew */
    CU_ASSERT_EQUAL(h_stop(blind, SIGTERM, 5000), 0);
    const char *a_seeing[] = { "--resource", "orders3", NULL };
    blind = h_participant_start("msg-seeing", s_w.dsvc, s_w.dtxd.endpoint, a_seeing);
    CU_ASSERT_FATAL(blind > 0);
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_resume(s_w.c, gid, &state), 0);
    CU_ASSERT_EQUAL(state, DTX_STATE_ACTIVE);
    CU_ASSERT_EQUAL(u_wait_state(s_w.log, gid, DTX_STATE_COMMITTED, 10000), 0);
    CU_ASSERT_EQUAL(u_effects(s_w.c1, gid, "deliver"), 1);
    CU_ASSERT_EQUAL(h_stop(blind, SIGTERM, 5000), 0);
    CU_ASSERT_EQUAL(s_down(), 0);
}

static void test_msg_prepared_but_never_answered_is_dropped_by_its_checkback(void)
{
    /* dtxd dies right after the message is durable, before the service
     * hears its gid: the service never wrote an outbox row, so the next
     * dtxd's check-back finds none and drops the message */
    const char *args[] = { "--phase-timeout-ms", "3000", "--retry-base-ms", "50",
                           "--retry-max-ms", "300", "--heartbeat-ms", "2000", "--lease-ms", "1000",
                           "--recovery-interval-ms", "200", "--fault", "after-tmsg-write", NULL };
    CU_ASSERT_FATAL(s_world_args("msg_fault", args) == 0);
    dtx_client_set_timeout(s_w.c, 2000);
    char gid[DTX_GID_SIZE];
    dtx_tmsg_t *m = s_msg("orders", "mail", "stock");
    int rc = dtx_tmsg_pg_run(s_w.c, m, 1000, s_w.svc, s_insert_order, "o-12", gid);
    dtx_tmsg_destroy(&m);
    CU_ASSERT_NOT_EQUAL(rc, 0);
    CU_ASSERT_STRING_EQUAL(gid, "");
    CU_ASSERT_EQUAL(h_wait_exit(s_w.dtxd.pid, 5000), 86);
    s_w.dtxd.pid = 0;
    CU_ASSERT_EQUAL(h_db_scalar(s_w.log, "SELECT count(*) FROM dtx_global WHERE mode = 4"), 1);
    CU_ASSERT_FATAL(h_dtxd_restart(&s_w.dtxd) == 0);
    int64_t until = h_now_ms() + 15000;
    while (h_db_scalar(s_w.log, "SELECT count(*) FROM dtx_global WHERE state = 5") != 1 &&
           h_now_ms() < until)
        h_sleep_ms(100);
    CU_ASSERT_EQUAL(h_db_scalar(s_w.log, "SELECT count(*) FROM dtx_global WHERE state = 5"), 1);
    CU_ASSERT_EQUAL(s_orders("o-12"), 0);
    CU_ASSERT_EQUAL(h_db_scalar(s_w.svc, "SELECT count(*) FROM dtx_barrier WHERE branch = 0"
                                         " AND origin = 'cancel'"), 1); /* the rollback marker */
    CU_ASSERT_EQUAL(h_db_scalar(s_w.c1, "SELECT count(*) FROM ledger") +
                    h_db_scalar(s_w.c2, "SELECT count(*) FROM ledger"), 0);
    CU_ASSERT_EQUAL(s_down(), 0);
}

/* One message's fate in the workload below. */
static void s_load_one(int i)
{
    char id[32], gid[DTX_GID_SIZE] = "";
    snprintf(id, sizeof id, "w-%d", i);
    dtx_tmsg_t *m = s_msg("orders", "mail", "stock");
    switch (i % 4) {
    case 0: /* created and submitted */
        dtx_tmsg_pg_run(s_w.c, m, 1000, s_w.svc, s_insert_order, id, gid);
        break;
    case 1: /* refused by the business: rolled back, dropped */
        dtx_tmsg_pg_run(s_w.c, m, 1000, s_w.svc, s_refuse_order, id, gid);
        break;
    case 2: /* committed locally, the submit lost */
    case 3: /* the service dies before its local commit */
        if (dtx_client_tmsg_prepare(s_w.c, m, 1000, gid) != 0)
            break;
        h_db_exec(s_w.svc, "BEGIN");
        s_insert_order(s_w.svc, id);
        if (i % 4 == 2)
            dtx_tmsg_pg_commit(NULL, s_w.svc, gid);
        else
            h_db_exec(s_w.svc, "ROLLBACK");
        break;
    }
    if (PQtransactionStatus(s_w.svc) != PQTRANS_IDLE)
        h_db_exec(s_w.svc, "ROLLBACK");
    dtx_tmsg_destroy(&m);
}

static void test_msg_workload_under_crashes_keeps_the_outbox_invariant(void)
{
    CU_ASSERT_FATAL(s_world_up("msg_load") == 0);
    dtx_client_set_timeout(s_w.c, 2000);
    const char *a_c2[] = { "--resource", "stock", NULL };
    pid_t stock = 0;
    for (int i = 0; i < 80; i++) {
        if (i == 20 || i == 60) { /* dtxd killed -9 and restarted */
            h_dtxd_kill(&s_w.dtxd);
            CU_ASSERT_FATAL(h_dtxd_restart(&s_w.dtxd) == 0);
        }
        if (i == 35) /* a consumer away for a while */
            CU_ASSERT_EQUAL(h_stop(s_w.pc2, SIGTERM, 5000), 0);
        if (i == 50) {
            stock = h_participant_start("msg-load-stock2", s_w.dc2, s_w.dtxd.endpoint, a_c2);
            CU_ASSERT_FATAL(stock > 0);
        }
        s_load_one(i);
    }
    /* every message ends: committed or aborted */
    int64_t until = h_now_ms() + 30000, open = -1;
    while ((open = h_db_scalar(s_w.log, "SELECT count(*) FROM dtx_global WHERE state NOT IN (3, 5)"))
               != 0 && h_now_ms() < until)
        h_sleep_ms(100);
    CU_ASSERT_EQUAL(open, 0);
    /* the invariant, message by message: committed iff its outbox row is
     * there; a committed one applied once at each destination, an aborted
     * one never delivered anywhere */
    PGresult *r = PQexec(s_w.log, "SELECT gid, state FROM dtx_global WHERE mode = 4 ORDER BY gid");
    CU_ASSERT_FATAL(PQresultStatus(r) == PGRES_TUPLES_OK);
    int committed = 0, aborted = 0, bad = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *gid = PQgetvalue(r, i, 0);
        int st = atoi(PQgetvalue(r, i, 1));
        int64_t row = s_outbox(gid, "try");
        int64_t e1 = u_effects(s_w.c1, gid, "deliver"), e2 = u_effects(s_w.c2, gid, "deliver");
        int64_t d = u_deliveries(s_w.c1, gid, "deliver") + u_deliveries(s_w.c2, gid, "deliver");
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
    CU_ASSERT_EQUAL(h_db_scalar(s_w.svc, "SELECT count(*) FROM dtx_barrier WHERE branch = 0"
                                         " AND origin = 'try'"), committed);
    CU_ASSERT_TRUE(committed >= 30 && aborted >= 30);
    fprintf(stderr, "msg workload: %d committed, %d aborted\n", committed, aborted);
    if (stock > 0)
        CU_ASSERT_EQUAL(h_stop(stock, SIGTERM, 5000), 0);
    s_w.pc2 = 0;
    CU_ASSERT_EQUAL(s_down(), 0);
}

INTEG_SUITE(msg)
{
    CU_pSuite s = CU_add_suite("msg", s_up, s_down);
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

INTEG_SUITE(msg_crash)
{
    CU_pSuite s = CU_add_suite("msg_crash", NULL, NULL);
    CU_add_test(s, "msg survives a coordinator killed mid-delivery", test_msg_survives_a_coordinator_killed_mid_delivery);
    CU_add_test(s, "msg check-back that never knows goes stuck and resume asks again", test_msg_checkback_that_never_knows_goes_stuck_and_resume_asks_again);
    CU_add_test(s, "msg workload under crashes keeps the outbox invariant", test_msg_workload_under_crashes_keeps_the_outbox_invariant);
    CU_add_test(s, "msg prepared but never answered is dropped by its check-back", test_msg_prepared_but_never_answered_is_dropped_by_its_checkback);
}
