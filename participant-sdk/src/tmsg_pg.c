/*
 * tmsg_pg.c — a transactional message's outbox on PostgreSQL
 * (dtx/barrier.h: the rows and their meaning).
 *
 * The lifecycle on the service's side is:
 *   1. dtx_client_tmsg_prepare: the coordinator records the message;
 *   2. BEGIN; the business change; INSERT the outbox row (gid, 0, 'try',
 *      origin 'try') ON CONFLICT DO NOTHING — no row inserted means the
 *      check-back already wrote its rollback marker: ROLLBACK;
 *   3. COMMIT; then COMMIT gid at the coordinator (the submit).
 * The check-back (dtx_tmsg_pg_query_prepared) inserts the marker (gid, 0,
 * 'try', origin 'cancel') ON CONFLICT DO NOTHING and reads which of the
 * two is there. The primary key makes them exclusive; an insert that
 * meets the other's uncommitted row waits for its transaction.
 */
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#include "dtx/barrier.h"
#include "dtx/dtx.h"
#include "dtx/log.h"
#include "dtx/name.h"

static const char s_outbox_sql[] =
    "INSERT INTO dtx_barrier (gid, branch, op, origin) VALUES ($1, 0, 'try', 'try') "
    "ON CONFLICT DO NOTHING";
static const char s_marker_sql[] =
    "INSERT INTO dtx_barrier (gid, branch, op, origin) VALUES ($1, 0, 'try', 'cancel') "
    "ON CONFLICT DO NOTHING";
static const char s_origin_sql[] =
    "SELECT origin FROM dtx_barrier WHERE gid = $1 AND branch = 0 AND op = 'try'";

/* Runs a statement with gid as its one parameter; *rows gets the rows it
 * changed, or origin (DTX_NAME_SIZE) the first column of its one row. */
static int s_run(PGconn *conn, const char *sql, const char *gid, int *rows, char *origin)
{
    const char *params[1] = { gid };
    PGresult *res = PQexecParams(conn, sql, 1, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (ok && rows)
        *rows = strcmp(PQcmdTuples(res), "1") == 0;
    if (ok && origin) {
        origin[0] = '\0';
        if (PQntuples(res) == 1)
            snprintf(origin, DTX_NAME_SIZE, "%s", PQgetvalue(res, 0, 0));
    }
    if (!ok)
        dtx_log_warn("message outbox: database error", "gid=%s error=\"%.120s\"", gid,
                     PQerrorMessage(conn));
    PQclear(res);
    return ok ? DTX_OK : DTX_EDB;
}

static void s_rollback(PGconn *conn)
{
    if (PQtransactionStatus(conn) != PQTRANS_IDLE)
        PQclear(PQexec(conn, "ROLLBACK"));
}

int dtx_tmsg_pg_commit(dtx_client_t *client, PGconn *conn, const char *gid)
{
    if (!conn || !gid || !dtx_name_valid(gid))
        return DTX_EINVAL;
    PGTransactionStatusType ts = PQtransactionStatus(conn);
    if (ts != PQTRANS_INTRANS && ts != PQTRANS_INERROR)
        return DTX_EINVAL;
    int inserted = 0;
    int rc = ts == PQTRANS_INERROR ? DTX_EDB : s_run(conn, s_outbox_sql, gid, &inserted, NULL);
    if (rc != DTX_OK || !inserted) {
        s_rollback(conn);
        if (rc != DTX_OK && client)
            dtx_client_tmsg_abort(client, gid); /* best effort: else the check-back drops it */
        return rc != DTX_OK ? rc : DTX_EABORTED;
    }
    PGresult *res = PQexec(conn, "COMMIT");
    /* A transaction that failed answers COMMIT with the tag ROLLBACK. */
    int committed = PQresultStatus(res) == PGRES_COMMAND_OK &&
                    strcmp(PQcmdStatus(res), "COMMIT") == 0;
    PQclear(res);
    if (!committed) {
        if (PQstatus(conn) != CONNECTION_OK)
            return DTX_EUNKNOWN; /* the check-back finds out */
        s_rollback(conn);
        if (client)
            dtx_client_tmsg_abort(client, gid);
        return DTX_EDB;
    }
    if (!client)
        return DTX_OK; /* submitted later, or by the check-back */
    rc = dtx_client_tmsg_submit(client, gid);
    if (rc != DTX_OK)
        dtx_log_warn("message committed locally, submit failed: the check-back delivers it",
                     "gid=%s error=\"%s\"", gid, dtx_strerror(rc));
    return DTX_OK;
}

int dtx_tmsg_pg_run(dtx_client_t *client, const dtx_tmsg_t *msg, uint32_t timeout_ms,
                    PGconn *conn, dtx_tmsg_local_fn fn, void *arg, char gid_out[DTX_GID_SIZE])
{
    if (!client || !msg || !conn || !fn || !gid_out || PQtransactionStatus(conn) != PQTRANS_IDLE)
        return DTX_EINVAL;
    int rc = dtx_client_tmsg_prepare(client, msg, timeout_ms, gid_out);
    if (rc != DTX_OK)
        return rc;
    PGresult *res = PQexec(conn, "BEGIN");
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok) {
        dtx_client_tmsg_abort(client, gid_out);
        return DTX_EDB;
    }
    rc = fn(conn, arg);
    if (rc != DTX_OK) {
        s_rollback(conn);
        dtx_client_tmsg_abort(client, gid_out);
        return rc;
    }
    return dtx_tmsg_pg_commit(client, conn, gid_out);
}

int dtx_tmsg_pg_query_prepared(PGconn *conn, const char *gid)
{
    if (!conn || !gid || !dtx_name_valid(gid) || PQtransactionStatus(conn) != PQTRANS_IDLE)
        return DTX_EINVAL;
    char origin[DTX_NAME_SIZE];
    int rc = s_run(conn, s_marker_sql, gid, NULL, NULL);
    if (rc == DTX_OK)
        rc = s_run(conn, s_origin_sql, gid, NULL, origin);
    if (rc != DTX_OK)
        return rc;
    if (strcmp(origin, "try") == 0)
        return DTX_OK;
    return strcmp(origin, "cancel") == 0 ? DTX_EREFUSED : DTX_EDB;
}
