/*
 * tests/harness/harness_db.c — see harness.h: the test databases
 * (names under DTX_TEST_DB_PREFIX, create and drop, queries).
 */
#include "harness.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int s_db_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return !(name[0] >= '0' && name[0] <= '9');
}

int h_db_name(const char *name, char *out, size_t cap)
{
    const char *prefix = getenv("DTX_TEST_DB_PREFIX");
    if (!prefix || strcmp(name, "postgres") == 0)
        prefix = "";
    int n = snprintf(out, cap, "%s%s", prefix, name);
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "harness: database name %s%s is too long\n", prefix, name);
        return -1;
    }
    return 0;
}

int h_db_conninfo(const char *name, char *out, size_t cap)
{
    char real[64];
    if (h_db_name(name, real, sizeof real) < 0)
        return -1;
    int n = snprintf(out, cap, "host=%s port=%d user=postgres dbname=%s",
                     h_pghost(), h_pgport(), real);
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "harness: conninfo for %s does not fit in %zu bytes\n", name, cap);
        return -1;
    }
    return 0;
}

static void s_quiet_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

PGconn *h_db_connect(const char *name)
{
    char ci[H_CONNINFO_SIZE];
    if (h_init() < 0 || h_db_conninfo(name, ci, sizeof ci) < 0)
        return NULL;
    PGconn *conn = PQconnectdb(ci);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "harness: cannot connect to %s: %s", ci, PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

static int s_admin_exec(const char *sql)
{
    PGconn *conn = h_db_connect("postgres");
    if (!conn)
        return -1;
    PQsetNoticeProcessor(conn, s_quiet_notice, NULL);
    PGresult *r = PQexec(conn, sql);
    int rc = 0;
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "harness: %s: %s", sql, PQerrorMessage(conn));
        rc = -1;
    }
    PQclear(r);
    PQfinish(conn);
    return rc;
}

int h_db_drop(const char *name)
{
    char sql[128], real[64];
    if (h_db_name(name, real, sizeof real) < 0 || !s_db_name_ok(real)) {
        fprintf(stderr, "harness: bad database name '%s' (use [a-z_][a-z0-9_]*)\n", name);
        return -1;
    }
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", real);
    return s_admin_exec(sql);
}

int h_db_create(const char *name, char *conninfo_out, size_t cap)
{
    char sql[128], real[64];
    if (h_init() < 0 || h_db_drop(name) < 0 || h_db_name(name, real, sizeof real) < 0)
        return -1;
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", real);
    if (s_admin_exec(sql) < 0)
        return -1;
    if (conninfo_out)
        return h_db_conninfo(name, conninfo_out, cap);
    return 0;
}

/* Runs the formatted query; returns its result (caller clears) or NULL. */
static PGresult *s_query(PGconn *conn, const char *fmt, va_list ap,
                         ExecStatusType want)
{
    char *sql = NULL;
    if (vasprintf(&sql, fmt, ap) < 0) {
        fprintf(stderr, "harness: out of memory\n");
        return NULL;
    }
    PGresult *r = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != want && !(want == PGRES_COMMAND_OK && st == PGRES_TUPLES_OK)) {
        fprintf(stderr, "harness: query failed: %s\n  %s", sql, PQerrorMessage(conn));
        PQclear(r);
        r = NULL;
    }
    free(sql);
    return r;
}

int h_db_exec(PGconn *conn, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    PGresult *r = s_query(conn, fmt, ap, PGRES_COMMAND_OK);
    va_end(ap);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

/* The first value of r, or NULL (reported) when there is none. */
static const char *s_first_value(PGresult *r)
{
    if (PQntuples(r) < 1 || PQnfields(r) < 1) {
        fprintf(stderr, "harness: query returned no row\n");
        return NULL;
    }
    if (PQgetisnull(r, 0, 0)) {
        fprintf(stderr, "harness: query returned NULL\n");
        return NULL;
    }
    return PQgetvalue(r, 0, 0);
}

int64_t h_db_scalar(PGconn *conn, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    PGresult *r = s_query(conn, fmt, ap, PGRES_TUPLES_OK);
    va_end(ap);
    if (!r)
        return H_DB_ERROR;
    int64_t v = H_DB_ERROR;
    const char *s = s_first_value(r);
    if (s) {
        char *end;
        errno = 0;
        long long x = strtoll(s, &end, 10);
        if (errno || end == s || *end)
            fprintf(stderr, "harness: '%s' is not an integer\n", s);
        else
            v = (int64_t)x;
    }
    PQclear(r);
    return v;
}

int h_db_scalar_text(PGconn *conn, char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    PGresult *r = s_query(conn, fmt, ap, PGRES_TUPLES_OK);
    va_end(ap);
    if (!r)
        return -1;
    int rc = -1;
    const char *s = s_first_value(r);
    if (s && cap > 0) {
        snprintf(out, cap, "%s", s);
        rc = 0;
    }
    PQclear(r);
    return rc;
}

