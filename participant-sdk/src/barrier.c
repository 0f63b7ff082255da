/*
 * barrier.c — the idempotency barrier (dtx/barrier.h) on PostgreSQL.
 *
 * The lifecycle of one dtx_barrier_call is:
 *   1. BEGIN on the caller's connection;
 *   2. insert the op's first barrier row with ON CONFLICT DO NOTHING and let
 *      dtx_barrier_decide() (barrier_logic.h, where the full table is) say
 *      what follows: run fn, skip it as a duplicate, refuse a hanging try,
 *      record a null compensation, or insert cancel's own row first;
 *   3. run fn inside the same transaction, so that the barrier rows and the
 *      business change commit or roll back together;
 *   4. COMMIT when fn returned DTX_OK, else ROLLBACK and return fn's code.
 *
 * 2PC ops use the rows of their TCC counterparts (barrier_logic.h): prepare
 * is barriered as try, commit as confirm, abort as cancel; so do Saga ops:
 * an action as try, a compensation as cancel; a message's delivery as
 * try (a duplicate is skipped). dtx/pgres.h
 * reuses this file through dtx_barrier_call_ex (barrier_internal.h) to end
 * a prepare's transaction with PREPARE TRANSACTION instead of COMMIT.
 *
 * Concurrency: two deliveries of the same (gid, branch) contend on the
 * primary key; ON CONFLICT DO NOTHING waits for the other transaction and
 * then sees its outcome, so a try racing its cancel is decided correctly.
 * Nothing here depends on the isolation level beyond that: under
 * REPEATABLE READ or SERIALIZABLE a conflict may instead fail with a
 * serialization error, which is DTX_EDB and delivered again.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "barrier_internal.h"
#include "barrier_logic.h"
#include "dtx/barrier.h"
#include "dtx/log.h"
#include "dtx/migrate.h"
#include "dtx/proto.h"

/* ------------------------------------------------------------------ */
/* Decisions (pure)                                                    */
/* ------------------------------------------------------------------ */

int dtx_barrier_row_op(int op)
{
    switch (op) {
    case DTX_OP_TRY:
    case DTX_OP_PREPARE:
    case DTX_OP_ACTION:
    case DTX_OP_DELIVER: return DTX_OP_TRY;
    case DTX_OP_CONFIRM:
    case DTX_OP_COMMIT:  return DTX_OP_CONFIRM;
    case DTX_OP_CANCEL:
    case DTX_OP_ABORT:
    case DTX_OP_COMPENSATE: return DTX_OP_CANCEL;
    default:             return DTX_EINVAL;
    }
}

int dtx_barrier_first_row(int op, const char **row_op, const char **origin)
{
    assert(row_op && origin);
    *row_op = *origin = NULL;
    switch (dtx_barrier_row_op(op)) {
    case DTX_OP_TRY:     *row_op = "try";     *origin = "try";     return DTX_OK;
    case DTX_OP_CONFIRM: *row_op = "confirm"; *origin = "confirm"; return DTX_OK;
    case DTX_OP_CANCEL:  *row_op = "try";     *origin = "cancel";  return DTX_OK;
    default:             return DTX_EINVAL;
    }
}

dtx_barrier_action_t dtx_barrier_decide(int op, dtx_barrier_step_t step, int inserted,
                                        const char *origin)
{
    switch (dtx_barrier_row_op(op)) {
    case DTX_OP_TRY:
        if (step != DTX_BARRIER_STEP_FIRST)
            return DTX_BARRIER_INVALID;
        if (inserted)
            return DTX_BARRIER_RUN;
        if (!origin)
            return DTX_BARRIER_LOOKUP_ORIGIN;
        if (strcmp(origin, "try") == 0)
            return DTX_BARRIER_DUPLICATE;
        if (strcmp(origin, "cancel") == 0)
            return DTX_BARRIER_HANGING;
        return DTX_BARRIER_INVALID;
    case DTX_OP_CONFIRM:
        if (step != DTX_BARRIER_STEP_FIRST)
            return DTX_BARRIER_INVALID;
        return inserted ? DTX_BARRIER_RUN : DTX_BARRIER_DUPLICATE;
    case DTX_OP_CANCEL:
        if (step == DTX_BARRIER_STEP_FIRST)
            return inserted ? DTX_BARRIER_NULL_COMPENSATION : DTX_BARRIER_INSERT_CANCEL;
        if (step == DTX_BARRIER_STEP_CANCEL_ROW)
            return inserted ? DTX_BARRIER_RUN : DTX_BARRIER_DUPLICATE;
        return DTX_BARRIER_INVALID;
    default:
        return DTX_BARRIER_INVALID;
    }
}

const char *dtx_barrier_action_name(dtx_barrier_action_t action)
{
    switch (action) {
    case DTX_BARRIER_RUN:               return "run";
    case DTX_BARRIER_DUPLICATE:         return "duplicate";
    case DTX_BARRIER_HANGING:           return "hanging";
    case DTX_BARRIER_NULL_COMPENSATION: return "null_compensation";
    case DTX_BARRIER_INSERT_CANCEL:     return "insert_cancel";
    case DTX_BARRIER_LOOKUP_ORIGIN:     return "lookup_origin";
    case DTX_BARRIER_INVALID:           return "invalid";
    }
    return "unknown";
}

/* ------------------------------------------------------------------ */
/* SQL                                                                 */
/* ------------------------------------------------------------------ */

static const char s_insert_sql[] =
    "INSERT INTO dtx_barrier (gid, branch, op, origin) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT DO NOTHING";
static const char s_origin_sql[] =
    "SELECT origin FROM dtx_barrier WHERE gid = $1 AND branch = $2 AND op = 'try'";

/* Logs a database failure: the first line of libpq's message, with quotes
 * replaced so that the key=value line stays parseable. */
static void s_log_db(PGconn *conn, const dtx_call_t *call, const char *what)
{
    char clean[256];
    const char *src = PQerrorMessage(conn);
    size_t n = 0;
    for (; src && *src && *src != '\n' && n < sizeof clean - 1; src++)
        clean[n++] = (*src == '"' || (unsigned char)*src < 0x20) ? '\'' : *src;
    clean[n] = '\0';
    dtx_log_error("barrier database error", "gid=%s branch=%u op=%s step=%s error=\"%s\"",
                  call->gid, (unsigned)call->branch, dtx_op_name(call->op), what, clean);
}

/* Runs a statement without parameters that returns no rows. */
static int s_exec(PGconn *conn, const dtx_call_t *call, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok) {
        s_log_db(conn, call, sql);
        return DTX_EDB;
    }
    return DTX_OK;
}

/* Best effort: the transaction is abandoned either way. */
static void s_rollback(PGconn *conn, const dtx_call_t *call)
{
    if (PQtransactionStatus(conn) != PQTRANS_IDLE)
        s_exec(conn, call, "ROLLBACK");
}

/* Inserts the barrier row (gid, branch, op, origin); *inserted is 1 when a
 * row was added, 0 when one was already there. */
static int s_insert(PGconn *conn, const dtx_call_t *call, const char *branch,
                    const char *op, const char *origin, int *inserted)
{
    const char *params[4] = { call->gid, branch, op, origin };
    PGresult *res = PQexecParams(conn, s_insert_sql, 4, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (ok)
        *inserted = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    if (!ok) {
        s_log_db(conn, call, "insert");
        return DTX_EDB;
    }
    return DTX_OK;
}

/* Reads the origin of the existing try row into origin (DTX_NAME_SIZE
 * bytes); "" when there is none. */
static int s_try_origin(PGconn *conn, const dtx_call_t *call, const char *branch, char *origin)
{
    const char *params[2] = { call->gid, branch };
    PGresult *res = PQexecParams(conn, s_origin_sql, 2, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(res) == PGRES_TUPLES_OK;
    origin[0] = '\0';
    if (ok && PQntuples(res) == 1)
        snprintf(origin, DTX_NAME_SIZE, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (!ok) {
        s_log_db(conn, call, "select origin");
        return DTX_EDB;
    }
    return DTX_OK;
}

/* Ends the barrier transaction after fn returned DTX_OK with end_sql
 * ("COMMIT", or a PREPARE TRANSACTION), whose command tag must be end_tag. */
static int s_commit(PGconn *conn, const dtx_call_t *call, const char *end_sql,
                    const char *end_tag)
{
    switch (PQtransactionStatus(conn)) {
    case PQTRANS_INTRANS:
        break;
    case PQTRANS_INERROR:
        /* COMMIT would silently roll back: fn ignored a failed statement. */
        dtx_log_error("handler returned ok after a failed statement, rolled back",
                      "gid=%s branch=%u op=%s", call->gid, (unsigned)call->branch,
                      dtx_op_name(call->op));
        s_rollback(conn, call);
        return DTX_EDB;
    case PQTRANS_IDLE:
        dtx_log_error("handler ended the barrier transaction itself",
                      "gid=%s branch=%u op=%s", call->gid, (unsigned)call->branch,
                      dtx_op_name(call->op));
        return DTX_EINVAL;
    default:
        s_log_db(conn, call, "commit");
        s_rollback(conn, call);
        return DTX_EDB;
    }
    PGresult *res = PQexec(conn, end_sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(res), end_tag) == 0;
    PQclear(res);
    if (!ok) {
        s_log_db(conn, call, end_tag);
        s_rollback(conn, call);
        return DTX_EDB;
    }
    return DTX_OK;
}

/* ------------------------------------------------------------------ */
/* Public                                                              */
/* ------------------------------------------------------------------ */

int dtx_barrier_call(PGconn *conn, const dtx_call_t *call, dtx_barrier_fn fn, void *arg)
{
    return dtx_barrier_call_ex(conn, call, fn, arg, NULL, NULL);
}

int dtx_barrier_call_ex(PGconn *conn, const dtx_call_t *call, dtx_barrier_fn fn, void *arg,
                        const dtx_barrier_opts_t *opts, dtx_barrier_action_t *action_out)
{
    assert(conn && call && fn);
    const char *setup_sql = opts ? opts->setup_sql : NULL;
    const char *end_sql = opts && opts->end_sql ? opts->end_sql : "COMMIT";
    int info = opts && opts->quiet ? DTX_LOG_DEBUG : DTX_LOG_INFO;
    const char *end_tag = strncmp(end_sql, "PREPARE TRANSACTION ", 20) == 0
                          ? "PREPARE TRANSACTION" : "COMMIT";
    if (action_out)
        *action_out = DTX_BARRIER_INVALID;
    const char *row_op = NULL, *row_origin = NULL;
    if (!call->gid || !dtx_name_valid(call->gid) || call->branch > INT32_MAX ||
        dtx_barrier_first_row(call->op, &row_op, &row_origin) != 0)
        return DTX_EINVAL;
    if (PQstatus(conn) != CONNECTION_OK) {
        s_log_db(conn, call, "connection");
        return DTX_EDB;
    }
    if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
        dtx_log_error("barrier needs a connection outside any transaction",
                      "gid=%s branch=%u op=%s", call->gid, (unsigned)call->branch,
                      dtx_op_name(call->op));
        return DTX_EINVAL;
    }

    char branch[16];
    snprintf(branch, sizeof branch, "%u", (unsigned)call->branch);
    if (s_exec(conn, call, "BEGIN") != 0)
        return DTX_EDB;
    if (setup_sql && s_exec(conn, call, setup_sql) != 0)
        goto db_err;

    int inserted = 0;
    if (s_insert(conn, call, branch, row_op, row_origin, &inserted) != 0)
        goto db_err;
    dtx_barrier_action_t action =
        dtx_barrier_decide(call->op, DTX_BARRIER_STEP_FIRST, inserted, NULL);
    if (action == DTX_BARRIER_LOOKUP_ORIGIN) {
        char origin[DTX_NAME_SIZE];
        if (s_try_origin(conn, call, branch, origin) != 0)
            goto db_err;
        action = dtx_barrier_decide(call->op, DTX_BARRIER_STEP_FIRST, 0, origin);
    }
    if (action == DTX_BARRIER_NULL_COMPENSATION || action == DTX_BARRIER_INSERT_CANCEL) {
        if (s_insert(conn, call, branch, "cancel", "cancel", &inserted) != 0)
            goto db_err;
        if (action == DTX_BARRIER_INSERT_CANCEL)
            action = dtx_barrier_decide(call->op, DTX_BARRIER_STEP_CANCEL_ROW, inserted, NULL);
    }

    if (action_out)
        *action_out = action;
    int is_2pc = call->op != dtx_barrier_row_op(call->op);
    switch (action) {
    case DTX_BARRIER_RUN:
        break;
    case DTX_BARRIER_NULL_COMPENSATION:
        /* Only the barrier rows: always a plain COMMIT, never end_sql. */
        if (s_commit(conn, call, "COMMIT", "COMMIT") != 0)
            return DTX_EDB;
        dtx_log(info, is_2pc ? "abort before its prepare: recorded, nothing to undo"
                             : "cancel before its try: recorded, nothing to undo",
                     "gid=%s branch=%u", call->gid, (unsigned)call->branch);
        return DTX_OK;
    case DTX_BARRIER_DUPLICATE:
        s_rollback(conn, call);
        dtx_log_debug("duplicate delivery skipped", "gid=%s branch=%u op=%s attempt=%u",
                      call->gid, (unsigned)call->branch, dtx_op_name(call->op),
                      (unsigned)call->attempt);
        return DTX_OK;
    case DTX_BARRIER_HANGING:
        s_rollback(conn, call);
        dtx_log(info, is_2pc ? "prepare after its abort refused" : "try after its cancel refused",
                     "gid=%s branch=%u attempt=%u",
                     call->gid, (unsigned)call->branch, (unsigned)call->attempt);
        return DTX_EREFUSED;
    default:
        dtx_log_error("barrier table in an unexpected state", "gid=%s branch=%u op=%s action=%s",
                      call->gid, (unsigned)call->branch, dtx_op_name(call->op),
                      dtx_barrier_action_name(action));
        goto db_err;
    }

    int rc = fn(conn, call, arg);
    if (rc != DTX_OK) {
        s_rollback(conn, call);
        return rc;
    }
    return s_commit(conn, call, end_sql, end_tag);

db_err:
    s_rollback(conn, call);
    return DTX_EDB;
}

int dtx_barrier_migrate(PGconn *conn)
{
    assert(conn);
    return dtx_migrate(conn, "participant", NULL);
}
