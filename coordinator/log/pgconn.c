/*
 * pgconn.c — opening a libpq connection the way dtxd wants (pgconn.h).
 *
 * PostgreSQL sends NOTICEs (CREATE ... IF NOT EXISTS that skips, a
 * DROP ... IF EXISTS of nothing): a notice receiver (which sees them
 * before libpq's notice processor would print them) routes them to
 * dtx_log at debug level, their text escaped, one line each; at the
 * default level they are not shown at all.
 *
 * Every connection asks for a read-write session by default
 * (target_session_attrs=read-write; a value in the conninfo wins): the log
 * is written, so a hot standby is never the log, and with several hosts
 * (host=a,b port=p1,p2) libpq tries each in turn and keeps the one that is
 * primary now — also when it reconnects after a failover.
 */
#include <stdio.h>
#include <string.h>

#include "dtx/log.h"
#include "dtx/types.h"
#include "pgconn.h"

/* Copies s without its trailing newlines into buf. */
static const char *s_trim(const char *s, char *buf, size_t size)
{
    snprintf(buf, size, "%s", s ? s : "");
    size_t n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return buf;
}

static void s_on_notice(void *arg, const PGresult *res)
{
    (void)arg;
    const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    char text[DTX_LOG_Q_SIZE];
    dtx_log_debug("postgresql notice", "text=\"%s\" severity=\"%s\"",
                  DTX_Q(primary ? primary : s_trim(PQresultErrorMessage(res), text, sizeof text)),
                  DTX_Q(severity ? severity : ""));
}

PGconn *dtx_pgconn_open(const char *conninfo)
{
    /* Defaults first: a value in conninfo (expanded from dbname)
     * overrides them. */
    const char *const keys[] = { "connect_timeout", "target_session_attrs", "dbname", NULL };
    const char *const values[] = { DTX_PGCONN_CONNECT_TIMEOUT_S, DTX_PGCONN_SESSION_ATTRS,
                                   conninfo, NULL };
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    if (conn)
        PQsetNoticeReceiver(conn, s_on_notice, NULL);
    return conn;
}

int dtx_pgconn_check(const char *conninfo, char *err, size_t errlen)
{
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &why);
    if (opts) {
        PQconninfoFree(opts);
        return 0;
    }
    char text[256];
    snprintf(err, errlen, "%s", why ? s_trim(why, text, sizeof text) : "out of memory");
    PQfreemem(why);
    return DTX_ECONFIG;
}

const char *dtx_pgconn_error(const PGconn *conn, char *buf, size_t size)
{
    return s_trim(conn ? PQerrorMessage(conn) : "", buf, size);
}
