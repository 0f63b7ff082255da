/*
 * test-participant — a real participant process for integration tests and
 * drills. It serves one or more resources with TCC handlers that change
 * nothing but two tables in its own database, so a test can tell how often
 * each phase was DELIVERED from how often it was APPLIED:
 *
 *   ledger(gid, branch, op, attempt, at,   one row per handler call, written
 *          trace, payload)                 (trace: dtx_call_traceparent, "" none;
 *                                          payload: the call's bytes)
 *                                          outside the barrier transaction
 *                                          (skipped duplicates included, and
 *                                          calls that then fail);
 *   effects(gid, branch, op)               one row per applied call, written
 *                                          inside the barrier (dtx_barrier_call),
 *                                          primary key (gid, branch, op): an
 *                                          effect applied twice is an error.
 *
 * Misbehaviour on request, to drive the coordinator's retry paths:
 *   --refuse-action NAME    a try of action NAME votes no (repeatable)
 *   --fail-confirm-times N  the first N confirm calls return DTX_EIO
 *   --delay-ms-op OP:MS     sleep MS in every OP handler before acting
 *                           (OP: try, confirm, cancel, prepare, commit,
 *                           abort; repeatable)
 *   --proto-version 1       speak protocol version 1 (DTX_PROTO_VERSION=1):
 *                           an old participant, whose phases carry no trace
 *   --fail-op-times OP:N    the first N calls of OP return DTX_EIO (any op
 *                           --delay-ms-op takes; repeatable)
 *
 * Sagas: every resource is also served with Saga handlers (the same
 * barrier and tables: ops 'action' and 'compensate'); --refuse-action
 * NAME refuses an action named NAME too (a definitive no).
 *
 * Transactional messages: every resource is also served with message
 * handlers: DELIVER through the barrier (effects op 'deliver'), and the
 * check-back (QUERY_PREPARED) answered by dtx_tmsg_pg_query_prepared on
 * --db (which is then the service's database, where its outbox rows are);
 * --fail-op-times query_prepared:N makes the first N check-backs answer
 * "unknown", --delay-ms-op deliver:MS slows deliveries (query_prepared:MS
 * sleeps after the check-back's ledger row).
 *
 * 2PC (--mode2pc): every resource is served with 2PC handlers too, backed
 * by dtx/pgres.h on the same --db. The work of a PREPARE inserts
 * effects(gid, branch, 'prepare') inside the prepared transaction, so the
 * row is there exactly when the branch committed; ledger rows are written
 * for prepare, commit and abort as for TCC. At start the participant
 * resolves the prepared transactions left in its database
 * (dtx_pgres_recover, asking the first --coordinator). Options:
 *   --refuse-prepare-action NAME  a prepare of action NAME votes no (repeatable)
 *   --exit-after-prepare          _exit(1) right after a successful PREPARE
 *                                 TRANSACTION, before answering (a crash
 *                                 while prepared)
 *   --fail-commit-times N         the first N commit calls return DTX_EIO
 *   --prepare-work-delay-ms MS    sleep MS inside the prepare's transaction,
 *                                 after its barrier row (holds the row)
 *   --lock-timeout-ms MS          dtx_pgres_set_lock_timeout
 *
 * Usage:
 *   test-participant --instance NAME --db CONNINFO --coordinator ENDPOINT...
 *                    --resource NAME... [--refuse-action NAME]...
 *                    [--fail-confirm-times N] [--delay-ms-op OP:MS]...
 *                    [--heartbeat-ms N] [--log-level LEVEL] [--ready-file FILE]
 *                    [--mode2pc [--refuse-prepare-action NAME]... [--exit-after-prepare]
 *                     [--fail-commit-times N] [--prepare-work-delay-ms MS]
 *                     [--lock-timeout-ms MS]]
 *
 * --ready-file FILE: once registered with every coordinator, writes
 * "registered\n" to FILE (via FILE.tmp and a rename).
 * Exits 0 on SIGTERM/SIGINT, 1 on a failure, 2 on bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "dtx/barrier.h"
#include "dtx/dtx.h"
#include "dtx/log.h"
#include "dtx/pgres.h"
#include "dtx/types.h"
#include "../../samples/sample_ready.h"
#include "test_participant.h"

/* Sleeps ms, less when SIGTERM/SIGINT comes: they are the only signals
 * caught (dtx_participant_stop_on_signals), so an interrupted sleep is a
 * stop on its way and is not resumed. */
static void s_sleep_ms(long ms)
{
    struct timespec req = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&req, NULL);
}

/* ------------------------------------------------------------------ */
/* Database                                                            */
/* ------------------------------------------------------------------ */

static const char s_schema_sql[] =
    "BEGIN;"
    "SELECT pg_advisory_xact_lock(hashtext('dtx test-participant schema'));"
    "CREATE TABLE IF NOT EXISTS ledger ("
    "  gid text NOT NULL, branch int NOT NULL, op text NOT NULL,"
    "  attempt int NOT NULL, at timestamptz NOT NULL DEFAULT now());"
    "CREATE INDEX IF NOT EXISTS ledger_gid ON ledger (gid, branch, op);"
    "ALTER TABLE ledger ADD COLUMN IF NOT EXISTS trace text NOT NULL DEFAULT '';"
    "ALTER TABLE ledger ADD COLUMN IF NOT EXISTS payload bytea;"
    "CREATE TABLE IF NOT EXISTS effects ("
    "  gid text NOT NULL, branch int NOT NULL, op text NOT NULL,"
    "  PRIMARY KEY (gid, branch, op));"
    "COMMIT;";

/* Makes sure self->conn is usable after a database restart. */
static int s_conn_ready(tp_t *self)
{
    if (PQstatus(self->conn) == CONNECTION_OK)
        return 0;
    dtx_log_warn("database connection lost; reconnecting", "instance=%s", self->instance);
    PQreset(self->conn);
    if (PQstatus(self->conn) != CONNECTION_OK) {
        dtx_log_error("cannot reconnect to database", "instance=%s error=\"%s\"",
                      self->instance, PQerrorMessage(self->conn));
        return DTX_EDB;
    }
    return 0;
}

/* Runs sql with $1 gid, $2 branch, $3 op and, when nparams is 4, $4
 * attempt. */
static int s_exec_params(PGconn *conn, const char *sql, const dtx_call_t *call, int nparams)
{
    char branch[16], attempt[16];
    snprintf(branch, sizeof branch, "%u", (unsigned)call->branch);
    snprintf(attempt, sizeof attempt, "%u", (unsigned)call->attempt);
    const char *params[4] = { call->gid, branch, dtx_op_name(call->op), attempt };
    PGresult *r = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        dtx_log_error("statement failed", "gid=%s branch=%u op=%s error=\"%s\"", call->gid,
                      (unsigned)call->branch, dtx_op_name(call->op),
                      PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : DTX_EDB;
}

/* One ledger row for call, with the traceparent its phase carried. */
static int s_ledger(PGconn *conn, const dtx_call_t *call)
{
    char branch[16], attempt[16];
    snprintf(branch, sizeof branch, "%u", (unsigned)call->branch);
    snprintf(attempt, sizeof attempt, "%u", (unsigned)call->attempt);
    const char *params[6] = { call->gid, branch, dtx_op_name(call->op), attempt,
                              dtx_call_traceparent(call),
                              call->payload ? (const char *)call->payload : "" };
    int lengths[6] = { 0, 0, 0, 0, 0, (int)call->payload_len };
    int formats[6] = { 0, 0, 0, 0, 0, 1 };   /* the payload as bytes (bytea) */
    PGresult *r = PQexecParams(conn,
                               "INSERT INTO ledger (gid, branch, op, attempt, trace, payload) "
                               "VALUES ($1, $2::int, $3, $4::int, $5, $6::bytea)",
                               6, NULL, params, lengths, formats, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        dtx_log_error("ledger row not written", "gid=%s branch=%u op=%s error=\"%s\"",
                      call->gid, (unsigned)call->branch, dtx_op_name(call->op),
                      PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : DTX_EDB;
}

/* ------------------------------------------------------------------ */
/* Handlers                                                            */
/* ------------------------------------------------------------------ */

static int s_refuses(const tp_t *self, const char *action)
{
    for (int i = 0; i < self->nrefused; i++)
        if (strcmp(self->refused[i], action) == 0)
            return 1;
    return 0;
}

/* The business part, inside the barrier transaction. */
static int s_apply(PGconn *conn, const dtx_call_t *call, void *arg)
{
    tp_t *self = arg;
    if ((call->op == DTX_OP_TRY || call->op == DTX_OP_ACTION) && s_refuses(self, call->action))
        return DTX_EREFUSED;
    int rc = s_exec_params(conn, "INSERT INTO effects (gid, branch, op) VALUES ($1, $2::int, $3)",
                           call, 3);
    if (rc < 0)
        dtx_log_error("effect not applied (applied twice?)", "gid=%s branch=%u op=%s",
                      call->gid, (unsigned)call->branch, dtx_op_name(call->op));
    return rc;
}

static int s_handle(const dtx_call_t *call, void *arg)
{
    tp_t *self = arg;
    const char *op = dtx_op_name(call->op);
    if (call->op >= DTX_OP_TRY && call->op <= DTX_OP_MAX && self->delay_ms[call->op] > 0) {
        dtx_log_info("delaying handler", "gid=%s branch=%u op=%s delay_ms=%ld", call->gid,
                     (unsigned)call->branch, op, self->delay_ms[call->op]);
        s_sleep_ms(self->delay_ms[call->op]);
    }
    int rc = s_conn_ready(self);
    if (rc == 0)
        rc = s_ledger(self->conn, call);
    if (rc == 0 && call->op >= DTX_OP_TRY && call->op <= DTX_OP_MAX &&
        self->fail_left[call->op] > 0) {
        self->fail_left[call->op]--;
        rc = DTX_EIO;
        dtx_log_info("failing on request", "gid=%s branch=%u op=%s attempt=%u left=%ld",
                     call->gid, (unsigned)call->branch, op, (unsigned)call->attempt,
                     self->fail_left[call->op]);
    } else if (rc == 0 && call->op == DTX_OP_CONFIRM && self->fail_confirm_left > 0) {
        self->fail_confirm_left--;
        rc = DTX_EIO;
        dtx_log_info("failing confirm on request", "gid=%s branch=%u attempt=%u left=%ld",
                     call->gid, (unsigned)call->branch, (unsigned)call->attempt,
                     self->fail_confirm_left);
    } else if (rc == 0) {
        rc = dtx_barrier_call(self->conn, call, s_apply, self);
    }
    dtx_log_info("handled",
                 "gid=%s branch=%u op=%s resource=%s action=%s attempt=%u trace=%.32s result=%s",
                 call->gid, (unsigned)call->branch, op, call->resource, call->action,
                 (unsigned)call->attempt,
                 dtx_call_traceparent(call)[0] ? dtx_call_traceparent(call) + 3 : "-",
                 rc == 0 ? "ok" : dtx_strerror(rc));
    return rc;
}

/* The check-back of a transactional message: a ledger row, then the
 * outbox's answer (or "unknown" on request). */
static int s_query_prepared(const dtx_call_t *call, void *arg)
{
    tp_t *self = arg;
    int rc = s_conn_ready(self);
    if (rc == 0)
        rc = s_ledger(self->conn, call);
    if (self->delay_ms[DTX_OP_QUERY_PREPARED] > 0)
        s_sleep_ms(self->delay_ms[DTX_OP_QUERY_PREPARED]); /* after its ledger row */
    if (rc == 0 && self->fail_left[DTX_OP_QUERY_PREPARED] > 0) {
        self->fail_left[DTX_OP_QUERY_PREPARED]--;
        rc = DTX_EIO; /* "cannot tell yet" */
    } else if (rc == 0) {
        rc = dtx_tmsg_pg_query_prepared(self->conn, call->gid);
    }
    dtx_log_info("check-back answered", "gid=%s result=%s", call->gid,
                 rc == 0 ? "committed" : rc == DTX_EREFUSED ? "rolled-back" : dtx_strerror(rc));
    return rc;
}

/* ------------------------------------------------------------------ */
/* 2PC handlers (--mode2pc)                                            */
/* ------------------------------------------------------------------ */

static int s_refuses_prepare(const tp_t *self, const char *action)
{
    for (int i = 0; i < self->nrefused_prepare; i++)
        if (strcmp(self->refused_prepare[i], action) == 0)
            return 1;
    return 0;
}

/* The prepare's work, inside the transaction pgres prepares. */
static int s_work_2pc(PGconn *conn, const dtx_call_t *call, void *arg)
{
    tp_t *self = arg;
    if (self->work_delay_ms > 0) {
        dtx_log_info("delaying prepare work", "gid=%s branch=%u delay_ms=%ld", call->gid,
                     (unsigned)call->branch, self->work_delay_ms);
        s_sleep_ms(self->work_delay_ms);
    }
    if (s_refuses_prepare(self, call->action))
        return DTX_EREFUSED;
    int rc = s_exec_params(conn, "INSERT INTO effects (gid, branch, op) VALUES ($1, $2::int, $3)",
                           call, 3);
    if (rc < 0)
        dtx_log_error("effect not applied (applied twice?)", "gid=%s branch=%u op=%s",
                      call->gid, (unsigned)call->branch, dtx_op_name(call->op));
    return rc;
}

/* Ledger row, misbehaviour on request, then pgres's own handler. */
static int s_handle_2pc(const dtx_call_t *call, void *arg)
{
    tp_t *self = arg;
    const char *op = dtx_op_name(call->op);
    if (self->delay_ms[call->op] > 0) {
        dtx_log_info("delaying handler", "gid=%s branch=%u op=%s delay_ms=%ld", call->gid,
                     (unsigned)call->branch, op, self->delay_ms[call->op]);
        s_sleep_ms(self->delay_ms[call->op]);
    }
    int rc = s_conn_ready(self);
    if (rc == 0)
        rc = s_ledger(self->conn, call);
    if (rc == 0 && call->op == DTX_OP_COMMIT && self->fail_commit_left > 0) {
        self->fail_commit_left--;
        rc = DTX_EIO;
        dtx_log_info("failing commit on request", "gid=%s branch=%u attempt=%u left=%ld",
                     call->gid, (unsigned)call->branch, (unsigned)call->attempt,
                     self->fail_commit_left);
    } else if (rc == 0) {
        dtx_handler_fn fn = call->op == DTX_OP_PREPARE ? self->pg.on_prepare
                          : call->op == DTX_OP_COMMIT ? self->pg.on_commit
                          : self->pg.on_abort;
        rc = fn(call, self->pg.arg);
    }
    dtx_log_info("handled", "gid=%s branch=%u op=%s resource=%s action=%s attempt=%u result=%s",
                 call->gid, (unsigned)call->branch, op, call->resource, call->action,
                 (unsigned)call->attempt, rc == 0 ? "ok" : dtx_strerror(rc));
    if (rc == 0 && call->op == DTX_OP_PREPARE && self->exit_after_prepare) {
        dtx_log_info("exiting after prepare on request", "gid=%s branch=%u", call->gid,
                     (unsigned)call->branch);
        _exit(1);
    }
    return rc;
}

/* Resolves what an earlier run left prepared, asking the first coordinator. */
static void s_recover(tp_t *self)
{
    int err = 0, resolved = 0;
    dtx_client_t *c = dtx_client_new(self->coordinators[0], &err);
    if (!c) {
        dtx_log_error("cannot create a client for recovery", "instance=%s error=\"%s\"",
                      self->instance, dtx_strerror(err));
        return;
    }
    dtx_client_set_timeout(c, 5000);
    int rc = dtx_pgres_recover(self->pgres, c, &resolved);
    dtx_log_info("2pc recovery done", "instance=%s resolved=%d result=%s", self->instance,
                 resolved, rc == 0 ? "ok" : dtx_strerror(rc));
    dtx_client_destroy(&c);
}

/* ------------------------------------------------------------------ */
/* main                                                                */
/* ------------------------------------------------------------------ */

/* Registered with every coordinator: say so, write --ready-file. */
static int s_on_ready(dtx_participant_t *p, void *arg)
{
    tp_t *self = arg;
    (void)p;
    dtx_log_info("registered with every coordinator", "instance=%s", self->instance);
    if (self->ready_file && sample_ready_write(self->ready_file) < 0) {
        dtx_log_error("cannot write ready file", "instance=%s path=%s", self->instance,
                      self->ready_file);
        self->ready_failed = 1;
        return DTX_EIO;
    }
    return 0;
}

int main(int argc, char **argv)
{
    tp_t self;
    memset(&self, 0, sizeof self);
    if (tp_parse(&self, argc, argv) < 0) {
        tp_usage(stderr);
        return 2;
    }
    dtx_log_set_handler(dtx_log_stderr, (void *)self.instance);
    signal(SIGPIPE, SIG_IGN);

    int exit_code = 1;
    int rc;
    /* First, so that SIGTERM/SIGINT during the set-up stop it cleanly. */
    dtx_participant_t *p = dtx_participant_new(self.instance, &rc);
    if (!p) {
        dtx_log_error("cannot create participant", "instance=%s error=\"%s\"", self.instance,
                      dtx_strerror(rc));
        goto out;
    }
    if (dtx_participant_stop_on_signals(p) < 0)
        goto out;
    self.conn = PQconnectdb(self.conninfo);
    if (PQstatus(self.conn) != CONNECTION_OK) {
        dtx_log_error("cannot connect to database", "instance=%s error=\"%s\"", self.instance,
                      PQerrorMessage(self.conn));
        goto out;
    }
    rc = dtx_barrier_migrate(self.conn);
    if (rc < 0) {
        dtx_log_error("barrier migration failed", "instance=%s error=\"%s\"", self.instance,
                      dtx_strerror(rc));
        goto out;
    }
    PGresult *r = PQexec(self.conn, s_schema_sql);
    int schema_ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!schema_ok)
        dtx_log_error("cannot create ledger/effects", "instance=%s error=\"%s\"", self.instance,
                      PQerrorMessage(self.conn));
    PQclear(r);
    if (!schema_ok)
        goto out;
    if (self.mode2pc) {
        char why[512];
        self.pgres = dtx_pgres_new(self.conninfo, s_work_2pc, &self, &rc, why, sizeof why);
        if (!self.pgres) {
            dtx_log_error("cannot set up 2PC", "instance=%s error=\"%s\" detail=\"%s\"",
                          self.instance, dtx_strerror(rc), why);
            goto out;
        }
        if (self.lock_timeout_ms > 0)
            dtx_pgres_set_lock_timeout(self.pgres, (int)self.lock_timeout_ms);
        dtx_pgres_handlers(self.pgres, &self.pg);
        s_recover(&self);
    }

    if (self.heartbeat_ms > 0)
        dtx_participant_set_heartbeat(p, self.heartbeat_ms);
    const dtx_tcc_handlers_t handlers = { s_handle, s_handle, s_handle, &self };
    for (int i = 0; i < self.nresources; i++) {
        rc = dtx_participant_serve(p, self.resources[i], &handlers);
        if (rc == 0) {
            const dtx_saga_handlers_t hs = { s_handle, s_handle, &self };
            rc = dtx_participant_serve_saga(p, self.resources[i], &hs);
        }
        if (rc == 0) {
            const dtx_tmsg_handlers_t hm = { s_handle, s_query_prepared, &self };
            rc = dtx_participant_serve_tmsg(p, self.resources[i], &hm);
        }
        if (rc == 0 && self.mode2pc) {
            const dtx_2pc_handlers_t h2 = { s_handle_2pc, s_handle_2pc, s_handle_2pc, &self };
            rc = dtx_participant_serve_2pc(p, self.resources[i], &h2);
        }
        if (rc < 0) {
            dtx_log_error("cannot serve resource", "instance=%s resource=%s error=\"%s\"",
                          self.instance, self.resources[i], dtx_strerror(rc));
            goto out;
        }
    }
    for (int i = 0; i < self.ncoordinators; i++) {
        rc = dtx_participant_connect(p, self.coordinators[i]);
        if (rc < 0) {
            dtx_log_error("cannot connect to coordinator", "instance=%s endpoint=%s error=\"%s\"",
                          self.instance, self.coordinators[i], dtx_strerror(rc));
            goto out;
        }
    }
    dtx_log_info("participant started", "instance=%s resources=%d coordinators=%d",
                 self.instance, self.nresources, self.ncoordinators);

    dtx_participant_set_ready(p, s_on_ready, &self);
    exit_code = 0;
    if ((rc = dtx_participant_run(p)) < 0) {
        if (!self.ready_failed)
            dtx_log_error("participant poll failed", "instance=%s error=\"%s\"", self.instance,
                          dtx_strerror(rc));
        exit_code = 1;
    }
    dtx_log_info("participant stopping", "instance=%s", self.instance);

out:
    dtx_participant_destroy(&p);
    dtx_pgres_destroy(&self.pgres);
    PQfinish(self.conn);
    return exit_code;
}
