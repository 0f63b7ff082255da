/*
 * order-participant — one side of the order sample as a 2PC resource over
 * its own PostgreSQL database, built on dtx/pgres.h.
 *
 *   --resource orders      orders(id, customer, item, qty, gid)
 *                          PREPARE: insert the order; an order id already
 *                          taken votes no
 *   --resource inventory   stock(item, qty CHECK (qty >= 0)),
 *                          stock_moves(order_id, item, qty, gid)
 *                          PREPARE: take qty from stock and record the move;
 *                          not enough stock (the CHECK fails) or an unknown
 *                          item votes no
 *
 * The work runs in the local transaction that pgres prepares, so it becomes
 * visible only when the coordinator commits, together with the other
 * database's branch, and vanishes when it aborts. At start the participant
 * resolves whatever an earlier run left prepared (dtx_pgres_recover).
 *
 * Usage: order-participant --resource orders|inventory --db CONNINFO
 *            --coordinator ENDPOINT... [--instance NAME] [--seed item=qty,...]
 *            [--ready-file FILE] [--heartbeat-ms N] [--log-level LEVEL]
 * Exits 0 on SIGTERM/SIGINT, 1 on a failure, 2 on bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "dtx/dtx.h"
#include "dtx/pgres.h"
#include "order.h"
#include "../sample_db.h"
#include "../sample_log.h"
#include "../sample_ready.h"

#define OP_MAX_COORDINATORS 16
#define SQLSTATE_UNIQUE_VIOLATION "23505"
#define SQLSTATE_CHECK_VIOLATION  "23514"

typedef struct op {
    const char *resource;                          /* "orders" or "inventory" */
    int         inventory;                         /* 1 when resource is inventory */
    const char *db;                                /* --db */
    const char *coordinators[OP_MAX_COORDINATORS]; /* --coordinator */
    int         ncoordinators;
    char        instance[DTX_NAME_SIZE];           /* --instance, default <resource>-1 */
    const char *seed;                              /* --seed (inventory) */
    const char *ready_file;                        /* --ready-file */
    int         heartbeat_ms;                      /* --heartbeat-ms; 0 default */
    int         ready_failed;                      /* s_on_ready failed (and logged why) */
} op_t;

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: order-participant --resource orders|inventory --db CONNINFO\n"
            "                         --coordinator ENDPOINT... [--instance NAME]\n"
            "                         [--seed item=qty,...] [--ready-file FILE]\n"
            "                         [--heartbeat-ms N] [--log-level LEVEL]\n"
            "Serves the order sample's 2PC resource 'orders' (table orders) or\n"
            "'inventory' (tables stock, stock_moves) over its own database.\n"
            "--seed (inventory) creates or resets the stock of each item.\n");
}

/* ------------------------------------------------------------------ */
/* The work of a PREPARE                                               */
/* ------------------------------------------------------------------ */

/* Runs sql with params; returns the rows changed, DTX_EREFUSED when it
 * broke the constraint refusal_state (a business no), DTX_EDB otherwise. */
static int s_exec(PGconn *conn, const dtx_call_t *call, const char *sql, int n,
                  const char *const *params, const char *refusal_state, const char *why)
{
    PGresult *r = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    int rc;
    if (PQresultStatus(r) == PGRES_COMMAND_OK) {
        rc = atoi(PQcmdTuples(r));
    } else {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (refusal_state && state && strcmp(state, refusal_state) == 0) {
            sample_log_info("order refused", "gid=%s branch=%u resource=%s reason=\"%s\"",
                            call->gid, (unsigned)call->branch, call->resource, why);
            rc = DTX_EREFUSED;
        } else {
            sample_log_error("statement failed", "gid=%s branch=%u resource=%s error=\"%s\"",
                             call->gid, (unsigned)call->branch, call->resource,
                             PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
            rc = DTX_EDB;
        }
    }
    PQclear(r);
    return rc;
}

static int s_work(PGconn *conn, const dtx_call_t *call, void *arg)
{
    const op_t *self = arg;
    order_t o;
    if (order_payload_decode(call->payload, call->payload_len, &o) < 0) {
        sample_log_warn("malformed order payload, voting no", "gid=%s branch=%u bytes=%zu",
                        call->gid, (unsigned)call->branch, call->payload_len);
        return DTX_EREFUSED;
    }
    char qty[16];
    snprintf(qty, sizeof qty, "%d", o.qty);
    int rc;
    if (!self->inventory) {
        const char *params[5] = { o.order, o.customer, o.item, qty, call->gid };
        rc = s_exec(conn, call,
                    "INSERT INTO orders (id, customer, item, qty, gid) "
                    "VALUES ($1, $2, $3, $4::int, $5)",
                    5, params, SQLSTATE_UNIQUE_VIOLATION, "order id already taken");
    } else {
        const char *take[2] = { o.item, qty };
        rc = s_exec(conn, call, "UPDATE stock SET qty = qty - $2::int WHERE item = $1", 2, take,
                    SQLSTATE_CHECK_VIOLATION, "out of stock");
        if (rc == 0) {
            sample_log_info("order refused", "gid=%s branch=%u resource=%s reason=\"unknown item\"",
                            call->gid, (unsigned)call->branch, call->resource);
            rc = DTX_EREFUSED;
        }
        if (rc > 0) {
            const char *move[4] = { o.order, o.item, qty, call->gid };
            rc = s_exec(conn, call,
                        "INSERT INTO stock_moves (order_id, item, qty, gid) "
                        "VALUES ($1, $2, $3::int, $4)",
                        4, move, SQLSTATE_UNIQUE_VIOLATION, "order id already taken");
        }
    }
    if (rc < 0)
        return rc;
    sample_log_info("order prepared", "gid=%s branch=%u resource=%s order=%s item=%s qty=%d",
                    call->gid, (unsigned)call->branch, call->resource, o.order, o.item, o.qty);
    return DTX_OK;
}

/* ------------------------------------------------------------------ */
/* Setup                                                               */
/* ------------------------------------------------------------------ */

static const char s_orders_schema[] =
    "BEGIN;"
    "SELECT pg_advisory_xact_lock(hashtext('dtx order-participant schema'));"
    "CREATE TABLE IF NOT EXISTS orders ("
    "  id         text        PRIMARY KEY,"
    "  customer   text        NOT NULL,"
    "  item       text        NOT NULL,"
    "  qty        integer     NOT NULL CHECK (qty > 0),"
    "  gid        text        NOT NULL,"
    "  created_at timestamptz NOT NULL DEFAULT now());"
    "COMMIT;";

static const char s_inventory_schema[] =
    "BEGIN;"
    "SELECT pg_advisory_xact_lock(hashtext('dtx order-participant schema'));"
    "CREATE TABLE IF NOT EXISTS stock ("
    "  item text    PRIMARY KEY,"
    "  qty  integer NOT NULL CHECK (qty >= 0));"
    "CREATE TABLE IF NOT EXISTS stock_moves ("
    "  order_id text    PRIMARY KEY,"
    "  item     text    NOT NULL,"
    "  qty      integer NOT NULL,"
    "  gid      text    NOT NULL);"
    "COMMIT;";

/* Creates the tables and seeds the stock, on a connection of its own. */
static int s_schema(const op_t *self)
{
    PGconn *conn = PQconnectdb(self->db);
    sample_db_notices(conn);
    int rc = DTX_EDB;
    if (PQstatus(conn) != CONNECTION_OK) {
        sample_log_error("cannot connect to database", "resource=%s error=\"%s\"", self->resource,
                         PQerrorMessage(conn));
        goto out;
    }
    PGresult *r = PQexec(conn, self->inventory ? s_inventory_schema : s_orders_schema);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
        sample_log_error("cannot create tables", "resource=%s error=\"%s\"", self->resource,
                         PQerrorMessage(conn));
        goto out;
    }
    if (self->seed) {
        order_seed_t seeds[ORDER_SEED_MAX];
        int n = order_seed_parse(self->seed, seeds, ORDER_SEED_MAX);
        if (n < 0) {
            fprintf(stderr, "order-participant: --seed wants item=qty[,item=qty...]\n");
            rc = DTX_EINVAL;
            goto out;
        }
        for (int i = 0; i < n; i++) {
            char qty[16];
            snprintf(qty, sizeof qty, "%d", seeds[i].qty);
            const char *params[2] = { seeds[i].item, qty };
            r = PQexecParams(conn,
                             "INSERT INTO stock (item, qty) VALUES ($1, $2::int) "
                             "ON CONFLICT (item) DO UPDATE SET qty = EXCLUDED.qty",
                             2, NULL, params, NULL, NULL, 0);
            ok = PQresultStatus(r) == PGRES_COMMAND_OK;
            PQclear(r);
            if (!ok) {
                sample_log_error("cannot seed stock", "item=%s error=\"%s\"", seeds[i].item,
                                 PQerrorMessage(conn));
                goto out;
            }
            sample_log_info("seeded", "item=%s qty=%d", seeds[i].item, seeds[i].qty);
        }
    }
    rc = 0;
out:
    PQfinish(conn);
    return rc;
}

/* Resolves what an earlier run left prepared (the coordinator may be
 * unreachable for now: its own retries then finish the job). */
static void s_recover(const op_t *self, dtx_pgres_t *pg)
{
    int err = 0, resolved = 0;
    dtx_client_t *c = dtx_client_new(self->coordinators[0], &err);
    if (!c) {
        sample_log_warn("no client for recovery", "error=\"%s\"", dtx_strerror(err));
        return;
    }
    dtx_client_set_timeout(c, 5000);
    int rc = dtx_pgres_recover(pg, c, &resolved);
    if (rc != 0)
        sample_log_warn("recovery incomplete; the coordinator's retries finish it",
                        "resource=%s resolved=%d error=\"%s\"", self->resource, resolved,
                        dtx_strerror(rc));
    else if (resolved > 0)
        sample_log_info("recovery done", "resource=%s resolved=%d", self->resource, resolved);
    dtx_client_destroy(&c);
}

/* Registered with every coordinator: say so, write --ready-file. */
static int s_on_ready(dtx_participant_t *p, void *arg)
{
    op_t *self = arg;
    (void)p;
    sample_log_info("registered with every coordinator", "resource=%s", self->resource);
    if (self->ready_file && sample_ready_write(self->ready_file) < 0) {
        sample_log_error("cannot write ready file", "path=%s", self->ready_file);
        self->ready_failed = 1;
        return DTX_EIO;
    }
    return 0;
}

static int s_parse(op_t *self, int argc, char **argv)
{
    enum { O_RESOURCE = 1, O_DB, O_COORD, O_INSTANCE, O_SEED, O_READY, O_HB, O_LOG, O_HELP };
    static const struct option opts[] = {
        { "resource", required_argument, NULL, O_RESOURCE },
        { "db", required_argument, NULL, O_DB },
        { "coordinator", required_argument, NULL, O_COORD },
        { "instance", required_argument, NULL, O_INSTANCE },
        { "seed", required_argument, NULL, O_SEED },
        { "ready-file", required_argument, NULL, O_READY },
        { "heartbeat-ms", required_argument, NULL, O_HB },
        { "log-level", required_argument, NULL, O_LOG },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    const char *instance = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_RESOURCE: self->resource = optarg; break;
        case O_DB: self->db = optarg; break;
        case O_INSTANCE: instance = optarg; break;
        case O_SEED: self->seed = optarg; break;
        case O_READY: self->ready_file = optarg; break;
        case O_COORD:
            if (self->ncoordinators >= OP_MAX_COORDINATORS) {
                fprintf(stderr, "order-participant: at most %d coordinators\n",
                        OP_MAX_COORDINATORS);
                return -1;
            }
            self->coordinators[self->ncoordinators++] = optarg;
            break;
        case O_HB: {
            char *end;
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (errno || *end || v < 1 || v > 3600000) {
                fprintf(stderr, "order-participant: --heartbeat-ms wants milliseconds\n");
                return -1;
            }
            self->heartbeat_ms = (int)v;
            break;
        }
        case O_LOG: {
            int level = dtx_log_level_parse(optarg);
            if (level < 0) {
                fprintf(stderr, "order-participant: --log-level: debug, info, warn or error\n");
                return -1;
            }
            sample_log_set_level(level);
            break;
        }
        case O_HELP:
            s_usage(stdout);
            exit(0);
        default:
            return -1;
        }
    }
    if (optind != argc || !self->resource || !self->db || self->ncoordinators == 0) {
        fprintf(stderr, "order-participant: --resource, --db and --coordinator are required\n");
        return -1;
    }
    if (strcmp(self->resource, "inventory") == 0)
        self->inventory = 1;
    else if (strcmp(self->resource, "orders") != 0) {
        fprintf(stderr, "order-participant: --resource is orders or inventory\n");
        return -1;
    }
    if (self->seed && !self->inventory) {
        fprintf(stderr, "order-participant: --seed is for the inventory\n");
        return -1;
    }
    if (instance && !order_id_valid(instance)) {
        fprintf(stderr, "order-participant: --instance must be 1..63 of [A-Za-z0-9._-]\n");
        return -1;
    }
    snprintf(self->instance, sizeof self->instance, "%s", instance ? instance : "");
    if (!instance)
        snprintf(self->instance, sizeof self->instance, "%s-1", self->resource);
    return 0;
}

static volatile sig_atomic_t s_stop;

static void s_on_stop_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

int main(int argc, char **argv)
{
    op_t self;
    memset(&self, 0, sizeof self);
    if (s_parse(&self, argc, argv) < 0) {
        s_usage(stderr);
        return 2;
    }
    sample_log_set_name(self.instance);
    signal(SIGPIPE, SIG_IGN);

    int exit_code = 1, rc;
    dtx_pgres_t *pg = NULL;
    dtx_participant_t *p = NULL;
    /* A database that is not up yet is waited for (sample_db.h);
     * SIGTERM/SIGINT stop the wait (exit 0). libdtx's signal handling
     * takes over after. */
    signal(SIGTERM, s_on_stop_signal);
    signal(SIGINT, s_on_stop_signal);
    sample_db_t wait_db;
    if (sample_db_connect(&wait_db, self.db, self.resource, &s_stop) < 0) {
        exit_code = 0;
        goto out;
    }
    PQfinish(wait_db.conn);
    /* Before the set-up, so that SIGTERM/SIGINT during it stop it cleanly. */
    p = dtx_participant_new(self.instance, &rc);
    if (!p) {
        sample_log_error("cannot create participant", "instance=%s error=\"%s\"", self.instance,
                         dtx_strerror(rc));
        goto out;
    }
    if (dtx_participant_stop_on_signals(p) < 0)
        goto out;
    char why[512];
    pg = dtx_pgres_new(self.db, s_work, &self, &rc, why, sizeof why);
    if (!pg) {
        fprintf(stderr, "order-participant: %s\n", why);
        sample_log_error("cannot open the resource", "resource=%s error=\"%s\"", self.resource,
                         dtx_strerror(rc));
        goto out;
    }
    if (s_schema(&self) < 0)
        goto out;
    s_recover(&self, pg);

    if (self.heartbeat_ms > 0)
        dtx_participant_set_heartbeat(p, self.heartbeat_ms);
    if ((rc = dtx_pgres_serve(pg, p, self.resource)) < 0) {
        sample_log_error("cannot serve resource", "resource=%s error=\"%s\"", self.resource,
                         dtx_strerror(rc));
        goto out;
    }
    for (int i = 0; i < self.ncoordinators; i++) {
        if ((rc = dtx_participant_connect(p, self.coordinators[i])) < 0) {
            sample_log_error("cannot connect to coordinator", "endpoint=%s error=\"%s\"",
                             self.coordinators[i], dtx_strerror(rc));
            goto out;
        }
    }
    sample_log_info("order participant started", "resource=%s instance=%s coordinators=%d",
                    self.resource, self.instance, self.ncoordinators);

    dtx_participant_set_ready(p, s_on_ready, &self);
    exit_code = 0;
    if ((rc = dtx_participant_run(p)) < 0) {
        if (!self.ready_failed)
            sample_log_error("participant poll failed", "error=\"%s\"", dtx_strerror(rc));
        exit_code = 1;
    }
    sample_log_info("order participant stopping", "resource=%s", self.resource);

out:
    dtx_participant_destroy(&p);
    dtx_pgres_destroy(&pg);
    return exit_code;
}
