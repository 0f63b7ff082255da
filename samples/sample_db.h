/*
 * samples/sample_db.h — the sample participants' PostgreSQL connection,
 * as a service of your own would keep one: a database that is not up yet
 * at start is waited for, and a connection lost later is made again with
 * a backoff, so an outage costs a few log lines, not one a phase.
 *
 * Invariants:
 *  - sample_db_connect retries with a backoff (200 ms doubling to 2 s)
 *    until the database answers or the stop flag is set, logging once
 *    when it starts waiting and at most once every 5 s after;
 *  - sample_db_ready answers at once (-1, nothing logged) while a
 *    reconnect attempt is not due (100 ms doubling to 5 s): the phase is
 *    answered failed and the coordinator retries it; the outage is logged
 *    once when found and once when over;
 *  - PostgreSQL's notices go to the log, escaped, never to stderr raw.
 */
#ifndef DTX_SAMPLE_DB_H
#define DTX_SAMPLE_DB_H

#include <signal.h>
#include <stdint.h>

#include <libpq-fe.h>

typedef struct sample_db {
    PGconn     *conn;          /* the connection; NULL before sample_db_connect */
    const char *what;          /* names it in log lines (not copied) */
    int64_t     down_since_ms; /* when it was found lost (mono); 0 up */
    int64_t     retry_at_ms;   /* no attempt before then (mono) */
    int         backoff_ms;    /* wait after the next failed attempt */
} sample_db_t;

/* Connects to conninfo, waiting for the database as above. Returns 0, or
 * -1 when *stop became non-zero first. */
int sample_db_connect(sample_db_t *db, const char *conninfo, const char *what,
                      volatile sig_atomic_t *stop);

/* 0 when db->conn is usable (made again if it was lost and an attempt is
 * due), -1 when not. */
int sample_db_ready(sample_db_t *db);

/* Sends conn's notices to the sample log (sample_db_connect does it). */
void sample_db_notices(PGconn *conn);

/* Milliseconds of a monotonic clock. */
int64_t sample_db_now_ms(void);

#endif
