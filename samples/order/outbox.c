/*
 * order-outbox — the order service and its two consumers, a transactional
 * message (the outbox pattern; docs/sagas.md "Transactional messages").
 * (This folder's other sample, order-participant / order-client, writes an
 * order to two databases with 2PC.) One binary, three roles:
 *
 *   order-outbox service --db CONNINFO --coordinator ENDPOINT [--ready-file FILE]
 *       the order service's check-back: serves resource "orders", whose
 *       QUERY_PREPARED handler is dtx_tmsg_pg_query_prepared on the
 *       service's database (did this order's local transaction commit?).
 *
 *   order-outbox create --db CONNINFO --coordinator ENDPOINT --order ID
 *                --amount N [--timeout-ms MS] [--no-submit]
 *       inserts order ID into the service's table orders and, in the SAME
 *       local transaction, the outbox row of the message "order created"
 *       to mailer and stock (dtx_tmsg_pg_run); then submits it. An amount
 *       of 0 or less is refused by the business rule: the local
 *       transaction rolls back and the message is dropped. --no-submit
 *       commits locally and exits without submitting (a crash right after
 *       the commit): the check-back delivers it once --timeout-ms passes.
 *       Prints "ID GID submitted|committed-not-submitted|refused".
 *       Exit 0, 3 refused, 1 on errors.
 *
 *   order-outbox consumer --resource mailer|stock --db CONNINFO
 *                  --coordinator ENDPOINT [--ready-file FILE]
 *       serves DELIVER through the barrier: one row in its table inbox
 *       per message, however often it is delivered.
 *
 * CurveZMQ keys come from DTX_CURVE_KEY_FILE, as for every libdtx program.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "dtx/barrier.h"
#include "dtx/dtx.h"
#include "../sample_ready.h"

typedef struct {
    const char *resource;   /* --resource */
    const char *db;         /* --db */
    const char *coord;      /* --coordinator */
    const char *ready;      /* --ready-file */
    const char *order;      /* --order */
    long        amount;     /* --amount */
    long        timeout_ms; /* --timeout-ms */
    int         no_submit;  /* --no-submit */
    PGconn     *conn;
} order_t;

static int s_options(order_t *o, int argc, char **argv)
{
    static const struct option opts[] = {
        { "resource", required_argument, NULL, 'r' }, { "db", required_argument, NULL, 'd' },
        { "coordinator", required_argument, NULL, 'c' }, { "ready-file", required_argument, NULL, 'f' },
        { "order", required_argument, NULL, 'o' }, { "amount", required_argument, NULL, 'a' },
        { "timeout-ms", required_argument, NULL, 't' }, { "no-submit", no_argument, NULL, 'n' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'r': o->resource = optarg; break;
        case 'd': o->db = optarg; break;
        case 'c': o->coord = optarg; break;
        case 'f': o->ready = optarg; break;
        case 'o': o->order = optarg; break;
        case 'a': o->amount = strtol(optarg, NULL, 10); break;
        case 't': o->timeout_ms = strtol(optarg, NULL, 10); break;
        case 'n': o->no_submit = 1; break;
        default: return -1;
        }
    }
    if (!o->db || !o->coord) {
        fprintf(stderr, "order-outbox: --db and --coordinator are required\n");
        return -1;
    }
    o->conn = PQconnectdb(o->db);
    if (PQstatus(o->conn) != CONNECTION_OK || dtx_barrier_migrate(o->conn) != 0) {
        fprintf(stderr, "order-outbox: database: %s", PQerrorMessage(o->conn));
        return -1;
    }
    return 0;
}

static int s_exec(PGconn *conn, const char *sql, int n, const char *const *params)
{
    PGresult *r = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    return ok ? DTX_OK : DTX_EDB;
}

static int s_ready(dtx_participant_t *p, void *arg)
{
    (void)p;
    return arg ? sample_ready_write(arg) : 0;
}

/* Serves handlers for resource until SIGTERM. */
static int s_serve(order_t *o, const char *resource, const dtx_tmsg_handlers_t *h)
{
    int err = 0;
    dtx_log_set_handler(dtx_log_stderr, (void *)resource);
    dtx_participant_t *p = dtx_participant_new(resource, &err);
    if (!p || dtx_participant_serve_tmsg(p, resource, h) != 0 ||
        dtx_participant_connect(p, o->coord) != 0 || dtx_participant_stop_on_signals(p) != 0) {
        fprintf(stderr, "order-outbox: cannot serve %s: %s\n", resource, dtx_strerror(err));
        dtx_participant_destroy(&p);
        return 1;
    }
    dtx_participant_set_ready(p, s_ready, (void *)o->ready);
    int rc = dtx_participant_run(p);
    dtx_participant_destroy(&p);
    return rc == 0 ? 0 : 1;
}

/* --- the order service --- */

static int s_on_query_prepared(const dtx_call_t *call, void *arg)
{
    order_t *o = arg;
    if (PQstatus(o->conn) != CONNECTION_OK)
        PQreset(o->conn);
    int rc = dtx_tmsg_pg_query_prepared(o->conn, call->gid);
    fprintf(stderr, "orders: check-back for %s: %s\n", call->gid,
            rc == DTX_OK ? "committed" : rc == DTX_EREFUSED ? "rolled back" : "unknown");
    return rc;
}

static int s_service(order_t *o)
{
    const dtx_tmsg_handlers_t h = { NULL, s_on_query_prepared, o };
    return s_serve(o, "orders", &h);
}

/* The business change, inside the local transaction. */
static int s_insert_order(PGconn *conn, void *arg)
{
    const order_t *o = arg;
    if (o->amount <= 0)
        return DTX_EREFUSED; /* the business rule: nothing to order */
    char amount[32];
    snprintf(amount, sizeof amount, "%ld", o->amount);
    const char *params[2] = { o->order, amount };
    return s_exec(conn, "INSERT INTO orders (id, amount) VALUES ($1, $2::bigint)", 2, params);
}

static int s_create(order_t *o)
{
    if (!o->order) {
        fprintf(stderr, "order-outbox create: --order is required\n");
        return 2;
    }
    if (s_exec(o->conn, "CREATE TABLE IF NOT EXISTS orders (id text PRIMARY KEY, amount bigint,"
                        " created_at timestamptz NOT NULL DEFAULT now())", 0, NULL) != 0)
        return 1;
    char payload[160];
    int n = snprintf(payload, sizeof payload, "{\"order\":\"%s\",\"amount\":%ld}", o->order,
                     o->amount);
    int err = 0;
    dtx_client_t *cl = dtx_client_new(o->coord, &err);
    dtx_tmsg_t *m = dtx_tmsg_new("orders", &err);
    if (!cl || !m || dtx_tmsg_add(m, "mailer", "order_created", payload, (size_t)n) < 0 ||
        dtx_tmsg_add(m, "stock", "order_created", payload, (size_t)n) < 0) {
        fprintf(stderr, "order-outbox create: %s\n", dtx_strerror(err));
        return 1;
    }
    uint32_t timeout = o->timeout_ms > 0 ? (uint32_t)o->timeout_ms : 30000;
    char gid[DTX_GID_SIZE] = "";
    int rc;
    if (o->no_submit) {
        /* What dtx_tmsg_pg_run does, up to the local COMMIT, then "crash". */
        rc = dtx_client_tmsg_prepare(cl, m, timeout, gid);
        if (rc == 0)
            rc = s_exec(o->conn, "BEGIN", 0, NULL);
        if (rc == 0)
            rc = s_insert_order(o->conn, o);
        if (rc == 0)
            rc = dtx_tmsg_pg_commit(NULL, o->conn, gid);
    } else {
        rc = dtx_tmsg_pg_run(cl, m, timeout, o->conn, s_insert_order, o, gid);
    }
    dtx_tmsg_destroy(&m);
    if (rc == 0 || rc == DTX_EREFUSED)
        printf("%s %s %s\n", o->order, gid,
               rc == DTX_EREFUSED ? "refused" : o->no_submit ? "committed-not-submitted"
                                                             : "submitted");
    else
        fprintf(stderr, "order-outbox create: %s: %s (%s)\n", o->order, dtx_strerror(rc),
                dtx_client_last_error(cl));
    dtx_client_destroy(&cl);
    return rc == 0 ? 0 : rc == DTX_EREFUSED ? 3 : 1;
}

/* --- the consumers --- */

/* Inside the barrier's transaction: the message lands once. */
static int s_receive(PGconn *conn, const dtx_call_t *call, void *arg)
{
    (void)arg;
    char body[512] = "";
    size_t n = call->payload_len < sizeof body - 1 ? call->payload_len : sizeof body - 1;
    memcpy(body, call->payload, n);
    const char *params[3] = { call->gid, call->action, body };
    return s_exec(conn, "INSERT INTO inbox (gid, what, body) VALUES ($1, $2, $3)", 3, params);
}

static int s_on_deliver(const dtx_call_t *call, void *arg)
{
    order_t *o = arg;
    if (PQstatus(o->conn) != CONNECTION_OK)
        PQreset(o->conn);
    int rc = dtx_barrier_call(o->conn, call, s_receive, o);
    fprintf(stderr, "%s: %s %.*s: %s\n", o->resource, call->action, (int)call->payload_len,
            (const char *)call->payload, rc == DTX_OK ? "received" : dtx_strerror(rc));
    return rc;
}

static int s_consumer(order_t *o)
{
    if (!o->resource) {
        fprintf(stderr, "order-outbox consumer: --resource is required\n");
        return 2;
    }
    if (s_exec(o->conn, "CREATE TABLE IF NOT EXISTS inbox (gid text PRIMARY KEY, what text,"
                        " body text, at timestamptz NOT NULL DEFAULT now())", 0, NULL) != 0)
        return 1;
    const dtx_tmsg_handlers_t h = { s_on_deliver, NULL, o };
    return s_serve(o, o->resource, &h);
}

int main(int argc, char **argv)
{
    order_t o;
    memset(&o, 0, sizeof o);
    const char *role = argc >= 2 ? argv[1] : "";
    int rc = 2;
    if (strcmp(role, "service") != 0 && strcmp(role, "create") != 0 &&
        strcmp(role, "consumer") != 0) {
        fprintf(stderr, "usage: order-outbox service|create|consumer ... (see samples/order/outbox.c)\n");
        return 2;
    }
    if (s_options(&o, argc - 1, argv + 1) == 0)
        rc = strcmp(role, "service") == 0  ? s_service(&o)
             : strcmp(role, "create") == 0 ? s_create(&o)
                                           : s_consumer(&o);
    PQfinish(o.conn);
    return rc;
}
