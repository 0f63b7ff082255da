/*
 * pgconn.h — how dtxd opens a libpq connection (pgconn.c). Every
 * connection dtxd opens (migrations, the node lease, each log connection
 * of every store) goes through dtx_pgconn_open, so that every one of them
 * sends PostgreSQL's notices to dtx_log instead of libpq's default, which
 * writes them raw to stderr (a "NOTICE: relation ... already exists" in
 * the middle of the log, unescaped).
 */
#ifndef DTX_COORD_PGCONN_H
#define DTX_COORD_PGCONN_H

#include <stddef.h>

#include <libpq-fe.h>

/* The connect timeout, in seconds, when the conninfo gives none: a
 * server that does not answer costs at most this long per attempt
 * (libpq's default is to wait for the operating system, minutes). */
#define DTX_PGCONN_CONNECT_TIMEOUT_S "10"

/* The session dtxd asks for when the conninfo names none: a server that
 * accepts writes. A standby (read-only) is refused at connect, and libpq
 * tries the next host of a multi-host conninfo (docs/ha.md). */
#define DTX_PGCONN_SESSION_ATTRS "read-write"

/* Connects (blocking) to conninfo and installs the notice processor.
 * Returns the connection whatever its status (NULL only without memory,
 * as PQconnectdb): check PQstatus; the caller PQfinishes it. */
PGconn *dtx_pgconn_open(const char *conninfo);

/* 0 when libpq can parse conninfo; DTX_ECONFIG with libpq's reason in err
 * otherwise (no connection is attempted). */
int dtx_pgconn_check(const char *conninfo, char *err, size_t errlen);

/* libpq's last error of conn without its trailing newline, in buf (for
 * log lines: pass it through DTX_Q). */
const char *dtx_pgconn_error(const PGconn *conn, char *buf, size_t size);

#endif
