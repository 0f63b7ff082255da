/*
 * test_msg_util.c — the world of the transactional-message suites
 * (test_msg_util.h).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dtx/barrier.h"
#include "dtx/dtx.h"
#include "dtx/tmsg.h"
#include "integ.h"
#include "test_msg_util.h"
#include "util.h"

tm_world_t tm_w;

const char *tm_args[] = { "--phase-timeout-ms", "3000", "--retry-base-ms", "50",
                                "--retry-max-ms", "300", "--max-attempts", "40",
                                "--heartbeat-ms", "2000", "--lease-ms", "1000",
                                "--recovery-interval-ms", "200", NULL };

/* The world of suite `name`: databases <name>_log, _svc, _c1, _c2; dtxd
 * with args (NULL: tm_args). */
int tm_world_args(const char *name, const char *const *args)
{
    char log[H_CONNINFO_SIZE], n[4][64];
    memset(&tm_w, 0, sizeof tm_w);
    const char *sfx[4] = { "log", "svc", "c1", "c2" };
    for (int i = 0; i < 4; i++)
        snprintf(n[i], sizeof n[i], "%s_%s", name, sfx[i]);
    if (h_db_create(n[0], log, sizeof log) || h_db_create(n[1], tm_w.dsvc, sizeof tm_w.dsvc) ||
        h_db_create(n[2], tm_w.dc1, sizeof tm_w.dc1) || h_db_create(n[3], tm_w.dc2, sizeof tm_w.dc2))
        return -1;
    snprintf(tm_w.dtxd.logname, sizeof tm_w.dtxd.logname, "%s-dtxd", name);
    if (h_dtxd_start(&tm_w.dtxd, log, args ? args : tm_args) != 0)
        return -1;
    const char *ep = tm_w.dtxd.endpoint;
    const char *a_svc[] = { "--resource", "orders", NULL };
    const char *a_vague[] = { "--resource", "orders2", "--fail-op-times", "query_prepared:2", NULL };
    const char *a_c1[] = { "--resource", "mail", NULL };
    const char *a_c2[] = { "--resource", "stock", NULL };
    const char *a_slow[] = { "--resource", "slow", "--delay-ms-op", "deliver:2000", NULL };
    const char *a_slowcb[] = { "--resource", "orders4", "--delay-ms-op", "query_prepared:1500",
                               NULL };
    tm_w.psvc = h_participant_spawn("msg-psvc", tm_w.dsvc, ep, a_svc);
    tm_w.pvague = h_participant_spawn("msg-pvague", tm_w.dsvc, ep, a_vague);
    tm_w.pc1 = h_participant_spawn("msg-pc1", tm_w.dc1, ep, a_c1);
    tm_w.pc2 = h_participant_spawn("msg-pc2", tm_w.dc2, ep, a_c2);
    tm_w.pslow = h_participant_spawn("msg-pslow", tm_w.dc2, ep, a_slow);
    tm_w.pslowcb = h_participant_spawn("msg-pslowcb", tm_w.dsvc, ep, a_slowcb);
    if (h_participant_ready("msg-psvc", tm_w.psvc) || h_participant_ready("msg-pvague", tm_w.pvague) ||
        h_participant_ready("msg-pc1", tm_w.pc1) || h_participant_ready("msg-pc2", tm_w.pc2) ||
        h_participant_ready("msg-pslow", tm_w.pslow) ||
        h_participant_ready("msg-pslowcb", tm_w.pslowcb))
        return -1;
    tm_w.log = h_db_connect(n[0]);
    tm_w.svc = h_db_connect(n[1]);
    tm_w.c1 = h_db_connect(n[2]);
    tm_w.c2 = h_db_connect(n[3]);
    if (!tm_w.log || !tm_w.svc || !tm_w.c1 || !tm_w.c2 ||
        h_db_exec(tm_w.svc, "CREATE TABLE orders (id text PRIMARY KEY, gid text)") != 0)
        return -1;
    int err = 0;
    tm_w.c = dtx_client_new(ep, &err);
    tm_w.lost = dtx_client_new("tcp://127.0.0.1:9", &err);
    if (!tm_w.c || !tm_w.lost)
        return -1;
    dtx_client_set_timeout(tm_w.c, 10000);
    dtx_client_set_timeout(tm_w.lost, 300);
    return 0;
}

int tm_world_up(const char *name)
{
    return tm_world_args(name, NULL);
}

int tm_up(void)
{
    return tm_world_up("msg");
}

int tm_down(void)
{
    dtx_client_destroy(&tm_w.c);
    dtx_client_destroy(&tm_w.lost);
    pid_t ps[] = { tm_w.psvc, tm_w.pvague, tm_w.pc1, tm_w.pc2, tm_w.pslow, tm_w.pslowcb };
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
        if (ps[i] > 0 && h_alive(ps[i]))
            h_stop(ps[i], SIGTERM, 5000);
    int bad = h_dtxd_stop(&tm_w.dtxd) != 0;
    PQfinish(tm_w.log);
    PQfinish(tm_w.svc);
    PQfinish(tm_w.c1);
    PQfinish(tm_w.c2);
    return bad ? -1 : 0;
}

/* "order created" from checkback to mail (c1) and stock (c2), or to the
 * resources given. */
dtx_tmsg_t *tm_msg(const char *checkback, const char *d1, const char *d2)
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
int tm_insert_order(PGconn *conn, void *arg)
{
    char sql[160];
    snprintf(sql, sizeof sql, "INSERT INTO orders (id) VALUES ('%s')", (const char *)arg);
    PGresult *r = PQexec(conn, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok ? DTX_OK : DTX_EDB;
}

int tm_refuse_order(PGconn *conn, void *arg)
{
    tm_insert_order(conn, arg);
    return DTX_EREFUSED; /* e.g. out of stock: the local transaction rolls back */
}

int64_t tm_orders(const char *id)
{
    return h_db_scalar(tm_w.svc, "SELECT count(*) FROM orders WHERE id = '%s'", id);
}

int64_t tm_outbox(const char *gid, const char *origin)
{
    return h_db_scalar(tm_w.svc, "SELECT count(*) FROM dtx_barrier WHERE gid = '%s' AND branch = 0"
                                " AND op = 'try' AND origin = '%s'", gid, origin);
}

/* Prepares m (timeout_ms), then BEGIN and the order id on svc: the local
 * transaction is left open. */
void tm_prepare_and_begin(dtx_tmsg_t *m, uint32_t timeout_ms, const char *id, char *gid)
{
    CU_ASSERT_EQUAL_FATAL(dtx_client_tmsg_prepare(tm_w.c, m, timeout_ms, gid), 0);
    dtx_tmsg_destroy(&m);
    CU_ASSERT_EQUAL(h_db_exec(tm_w.svc, "BEGIN"), 0);
    CU_ASSERT_EQUAL(tm_insert_order(tm_w.svc, (void *)id), DTX_OK);
}
