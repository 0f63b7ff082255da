/*
 * tests/integration/pgproxy.h — a PostgreSQL that can be switched off and
 * on under one dtxd, without touching the run's shared server: a proxy on
 * a unix socket of its own (DIR/.s.PGSQL.<port>) in front of the test
 * PostgreSQL's socket, run by a thread of the test process.
 *
 * Down, the socket file is gone (a client sees what it sees when the
 * server is stopped: "No such file or directory") and every connection
 * through the proxy is cut; up, it accepts and forwards again. Only the
 * processes given the proxy's conninfo see the outage: participants and
 * the test's own connections keep the real server.
 */
#ifndef DTX_TEST_PGPROXY_H
#define DTX_TEST_PGPROXY_H

#include <stddef.h>

typedef struct u_pgproxy u_pgproxy_t;

/* A proxy whose socket lives in $DTX_TEST_DIR/<name>/ (created), down
 * until u_pgproxy_up. NULL on failure (printed). */
u_pgproxy_t *u_pgproxy_new(const char *name);
/* The conninfo of database dbname (named as in h_db_create) through the
 * proxy. 0 or -1. */
int  u_pgproxy_conninfo(const u_pgproxy_t *self, const char *dbname, char *out, size_t cap);
/* Up now (after_ms 0), or after_ms from now without blocking the caller. */
int  u_pgproxy_up(u_pgproxy_t *self, int after_ms);
/* Down now: the socket file removed, every open connection cut. */
int  u_pgproxy_down(u_pgproxy_t *self);
/* Connections accepted so far. */
int  u_pgproxy_accepted(const u_pgproxy_t *self);
void u_pgproxy_destroy(u_pgproxy_t **self_p);

#endif
