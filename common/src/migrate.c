/*
 * migrate.c — applies the compiled-in migrations of one component.
 *
 * Every migration runs in its own transaction together with the row that
 * records it, under pg_advisory_xact_lock, so that two processes starting
 * at once apply each migration exactly once and a failed migration leaves
 * nothing behind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/log.h"
#include "dtx/migrate.h"
#include "dtx/types.h"

#define DTX_MIGRATE_LOCK 0x647478 /* "dtx" */

static const char s_version_table[] =
    "CREATE TABLE IF NOT EXISTS dtx_schema_version ("
    " component text NOT NULL, version integer NOT NULL, name text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now(),"
    " PRIMARY KEY (component, version))";

static int s_exec(PGconn *conn, const char *sql, const char *what)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    int ok = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK);
    if (!ok)
        dtx_log_error("migration step failed", "step=%s error=\"%s\"", what,
                      DTX_Q(PQresultErrorMessage(res)));
    PQclear(res);
    return ok ? 0 : DTX_EDB;
}

int dtx_migrate_latest(const char *component)
{
    int v = 0;
    for (int i = 0; i < dtx_migrations_count; i++)
        if (strcmp(dtx_migrations[i].component, component) == 0 &&
            dtx_migrations[i].version > v)
            v = dtx_migrations[i].version;
    return v;
}

int dtx_migrate_current(PGconn *conn, const char *component)
{
    const char *params[1] = { component };
    PGresult *res = PQexecParams(conn,
        "SELECT coalesce(max(version), 0) FROM dtx_schema_version WHERE component = $1",
        1, NULL, params, NULL, NULL, 0);
    int v = DTX_EDB;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        v = atoi(PQgetvalue(res, 0, 0));
    else if (strstr(PQresultErrorMessage(res), "does not exist"))
        v = 0;
    PQclear(res);
    return v;
}

static int s_apply_one(PGconn *conn, const dtx_migration_t *m, int *applied)
{
    char lock[96], ver[16];
    snprintf(lock, sizeof lock, "SELECT pg_advisory_xact_lock(%d)", DTX_MIGRATE_LOCK);
    snprintf(ver, sizeof ver, "%d", m->version);
    if (s_exec(conn, "BEGIN", "begin") != 0)
        return DTX_EDB;
    if (s_exec(conn, lock, "lock") != 0 || s_exec(conn, s_version_table, "version-table") != 0)
        goto err;
    const char *params[2] = { m->component, ver };
    PGresult *res = PQexecParams(conn,
        "SELECT 1 FROM dtx_schema_version WHERE component = $1 AND version = $2",
        2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        dtx_log_error("migration check failed", "error=\"%s\"",
                      DTX_Q(PQresultErrorMessage(res)));
        PQclear(res);
        goto err;
    }
    int done = PQntuples(res) > 0;
    PQclear(res);
    if (!done) {
        if (s_exec(conn, m->sql, m->name) != 0)
            goto err;
        const char *p3[3] = { m->component, ver, m->name };
        res = PQexecParams(conn,
            "INSERT INTO dtx_schema_version (component, version, name) VALUES ($1, $2, $3)",
            3, NULL, p3, NULL, NULL, 0);
        int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
        if (!ok)
            goto err;
        dtx_log_info("migration applied", "schema=%s version=%d name=%s",
                     m->component, m->version, m->name);
        (*applied)++;
    }
    return s_exec(conn, "COMMIT", "commit");
err:
    s_exec(conn, "ROLLBACK", "rollback");
    return DTX_EDB;
}

int dtx_migrate(PGconn *conn, const char *component, int *applied)
{
    int count = 0;
    /* Migrations are listed in file order, which is version order. */
    for (int i = 0; i < dtx_migrations_count; i++) {
        const dtx_migration_t *m = &dtx_migrations[i];
        if (strcmp(m->component, component) != 0)
            continue;
        int rc = s_apply_one(conn, m, &count);
        if (rc != 0) {
            dtx_log_error("migration failed", "schema=%s version=%d name=%s",
                          component, m->version, m->name);
            return rc;
        }
    }
    if (applied)
        *applied = count;
    return 0;
}
