/*
 * pgres.c — a 2PC participant over PostgreSQL prepared transactions
 * (dtx/pgres.h, where the lifecycle and its diagram are).
 *
 * States of one branch (gid, branch) in the participant's database, and
 * what each delivery does in each:
 *
 *   state                      how it is seen                    PREPARE      COMMIT       ABORT
 *   -------------------------  --------------------------------  -----------  -----------  ------------
 *   none                       no prepared xact, no barrier row  run, yes/no  FAILED       marker, ok
 *   prepared                   'dtx:g:b' in pg_prepared_xacts    yes          COMMIT PREP  ROLLBACK PREP
 *                                                                                          + marker, ok
 *   committed                  barrier 'try' row, origin 'try'   yes          ok           FAILED (*)
 *   aborted                    barrier 'try' row, origin 'cancel' no          FAILED (*)   ok
 *
 *   (*) the coordinator never sends these (a decision does not change);
 *       answered FAILED and logged as errors so that they show.
 *
 * Invariants:
 *  - the barrier 'try' row of a prepare is written in the transaction that
 *    is prepared, so it becomes visible exactly when the work commits and
 *    disappears with a ROLLBACK PREPARED;
 *  - the abort marker is written only after the prepared transaction is
 *    gone; a prepare still running elsewhere holds the 'try' row, so the
 *    marker's insert waits (lock_timeout) and the abort answers FAILED
 *    rather than letting that prepare survive its abort;
 *  - statements that may wait for locks run under SET LOCAL lock_timeout.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "barrier_internal.h"
#include "dtx/barrier.h"
#include "dtx/clock.h"
#include "dtx/log.h"
#include "dtx/pgres.h"
#include "dtx/proto.h"
#include "pgres_name.h"

#define SQLSTATE_UNDEFINED_OBJECT "42704"  /* no prepared transaction of that name */

struct dtx_pgres {
    char           *conninfo;         /* as given, for reconnecting */
    PGconn         *conn;             /* the participant's database */
    dtx_pg_work_fn  work;             /* the branch's SQL */
    void           *arg;              /* passed to work */
    int             lock_timeout_ms;  /* SET LOCAL lock_timeout of prepare and abort */
    char            dbname[DTX_NAME_SIZE * 2]; /* for log lines */
    int64_t         down_since_ms;    /* the connection was found lost then (mono); 0 up */
    int64_t         retry_at_ms;      /* no reconnect attempt before then (mono) */
    int             backoff_ms;       /* wait after the next failed attempt */
};

#define DTX_PGRES_BACKOFF_MIN_MS 100   /* first wait after a failed reconnect */
#define DTX_PGRES_BACKOFF_MAX_MS 5000  /* longest wait between reconnects */

/* ------------------------------------------------------------------ */
/* Database helpers                                                    */
/* ------------------------------------------------------------------ */

/* The first line of libpq's last message, with quotes replaced so that a
 * key=value log line stays parseable. */
static const char *s_pg_error(PGconn *conn, char *buf, size_t cap)
{
    const char *src = PQerrorMessage(conn);
    size_t n = 0;
    for (; src && *src && *src != '\n' && n < cap - 1; src++)
        buf[n++] = (*src == '"' || (unsigned char)*src < 0x20) ? '\'' : *src;
    buf[n] = '\0';
    return buf;
}

static void s_log_db(dtx_pgres_t *self, const dtx_call_t *call, const char *what)
{
    char err[256];
    dtx_log_error("pgres database error", "db=%s gid=%s branch=%u op=%s step=\"%s\" error=\"%s\"",
                  self->dbname, call->gid, (unsigned)call->branch, dtx_op_name(call->op), what,
                  s_pg_error(self->conn, err, sizeof err));
}

/* PostgreSQL's notices (a NOTICE or WARNING from the server) go to the
 * log handler, escaped, instead of libpq's default: stderr. */
static void s_notice(void *arg, const char *message)
{
    (void)arg;
    dtx_log_info("postgresql notice", "message=\"%s\"", DTX_Q(message));
}

/* Makes sure the connection is usable (after a database restart). A lost
 * connection is reset with a backoff (100 ms doubling to 5 s): until the
 * next attempt is due the answer is DTX_EDB at once (the phase is then
 * answered FAILED and the coordinator retries it), so an outage costs one
 * log line when found, one when over, and no spin. */
static int s_conn_ready(dtx_pgres_t *self)
{
    if (PQstatus(self->conn) == CONNECTION_OK) {
        if (PQtransactionStatus(self->conn) != PQTRANS_IDLE) {
            PGresult *r = PQexec(self->conn, "ROLLBACK");
            PQclear(r);
        }
        return DTX_OK;
    }
    int64_t now = dtx_clock_mono_ms();
    if (!self->down_since_ms) {
        char err[256];
        self->down_since_ms = now;
        self->retry_at_ms = now;
        self->backoff_ms = DTX_PGRES_BACKOFF_MIN_MS;
        dtx_log_warn("database connection lost; reconnecting with backoff",
                     "db=%s error=\"%s\"", self->dbname, s_pg_error(self->conn, err, sizeof err));
    }
    if (now < self->retry_at_ms)
        return DTX_EDB;
    PQreset(self->conn);
    if (PQstatus(self->conn) != CONNECTION_OK) {
        self->retry_at_ms = now + self->backoff_ms;
        self->backoff_ms = self->backoff_ms * 2 > DTX_PGRES_BACKOFF_MAX_MS
                           ? DTX_PGRES_BACKOFF_MAX_MS : self->backoff_ms * 2;
        return DTX_EDB;
    }
    dtx_log_info("database connection back", "db=%s down_ms=%lld", self->dbname,
                 (long long)(now - self->down_since_ms));
    self->down_since_ms = 0;
    return DTX_OK;
}

/* 1 when the prepared transaction name exists in this database, 0 when
 * not, DTX_EDB on failure. */
static int s_prepared_exists(dtx_pgres_t *self, const dtx_call_t *call, const char *name)
{
    const char *params[1] = { name };
    PGresult *r = PQexecParams(self->conn,
                               "SELECT 1 FROM pg_prepared_xacts "
                               "WHERE gid = $1 AND database = current_database()",
                               1, NULL, params, NULL, NULL, 0);
    int rc = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) > 0 : DTX_EDB;
    PQclear(r);
    if (rc == DTX_EDB)
        s_log_db(self, call, "look up prepared transaction");
    return rc;
}

/* Runs "<verb> PREPARED 'name'". Returns 1 when it finished the prepared
 * transaction, 0 when there is none of that name, DTX_EDB on failure
 * (busy with another session, another database's, permission, ...). */
static int s_finish_prepared(dtx_pgres_t *self, const dtx_call_t *call, const char *verb,
                             const char *name)
{
    char sql[DTX_PGRES_NAME_SIZE + 64];
    snprintf(sql, sizeof sql, "%s PREPARED '%s'", verb, name);
    PGresult *r = PQexec(self->conn, sql);
    int rc;
    if (PQresultStatus(r) == PGRES_COMMAND_OK) {
        rc = 1;
    } else {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        rc = (state && strcmp(state, SQLSTATE_UNDEFINED_OBJECT) == 0) ? 0 : DTX_EDB;
        if (rc == DTX_EDB)
            s_log_db(self, call, verb);
    }
    PQclear(r);
    return rc;
}

/* Origin of the branch's barrier 'try' row into origin (DTX_NAME_SIZE);
 * "" when there is none. */
static int s_try_origin(dtx_pgres_t *self, const dtx_call_t *call, char *origin)
{
    char branch[16];
    snprintf(branch, sizeof branch, "%u", (unsigned)call->branch);
    const char *params[2] = { call->gid, branch };
    PGresult *r = PQexecParams(self->conn,
                               "SELECT origin FROM dtx_barrier "
                               "WHERE gid = $1 AND branch = $2 AND op = 'try'",
                               2, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    origin[0] = '\0';
    if (ok && PQntuples(r) == 1)
        snprintf(origin, DTX_NAME_SIZE, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (!ok) {
        s_log_db(self, call, "read barrier");
        return DTX_EDB;
    }
    return DTX_OK;
}

static void s_setup_sql(const dtx_pgres_t *self, char *out, size_t cap)
{
    snprintf(out, cap, "SET LOCAL lock_timeout = %d", self->lock_timeout_ms);
}

/* ------------------------------------------------------------------ */
/* Handlers                                                            */
/* ------------------------------------------------------------------ */

static int s_work(PGconn *conn, const dtx_call_t *call, void *arg)
{
    dtx_pgres_t *self = arg;
    return self->work(conn, call, self->arg);
}

static int s_on_prepare(const dtx_call_t *call, void *arg)
{
    dtx_pgres_t *self = arg;
    char name[DTX_PGRES_NAME_SIZE];
    if (dtx_pgres_name_build(call->gid, call->branch, name, sizeof name) < 0) {
        dtx_log_error("cannot name the prepared transaction", "gid=%s branch=%u", call->gid,
                      (unsigned)call->branch);
        return DTX_EINVAL;
    }
    int rc = s_conn_ready(self);
    if (rc != 0)
        return rc;
    /* Already prepared (a duplicate): its barrier row is locked by the
     * prepared transaction, so the barrier would wait for it. Answer yes. */
    rc = s_prepared_exists(self, call, name);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        dtx_log_info("prepare delivered again, already prepared: yes",
                     "db=%s gid=%s branch=%u attempt=%u", self->dbname, call->gid,
                     (unsigned)call->branch, (unsigned)call->attempt);
        return DTX_OK;
    }

    char setup[64], end[DTX_PGRES_NAME_SIZE + 32];
    s_setup_sql(self, setup, sizeof setup);
    snprintf(end, sizeof end, "PREPARE TRANSACTION '%s'", name);
    dtx_barrier_action_t action;
    const dtx_barrier_opts_t opts = { .setup_sql = setup, .end_sql = end, .quiet = 1 };
    rc = dtx_barrier_call_ex(self->conn, call, s_work, self, &opts, &action);
    if (rc == DTX_OK && action == DTX_BARRIER_RUN) {
        dtx_log_info("prepared", "db=%s gid=%s branch=%u resource=%s action=%s name=%s",
                     self->dbname, call->gid, (unsigned)call->branch, call->resource,
                     call->action, name);
    } else if (rc == DTX_OK) {
        /* The barrier row is committed: the branch was prepared and then
         * committed; the vote was yes, it still is. */
        dtx_log_info("prepare delivered again, already committed: yes",
                     "db=%s gid=%s branch=%u attempt=%u", self->dbname, call->gid,
                     (unsigned)call->branch, (unsigned)call->attempt);
    } else if (rc == DTX_EDB && s_conn_ready(self) == 0 &&
               s_prepared_exists(self, call, name) == 1) {
        /* We waited for a concurrent delivery of the same prepare, which
         * prepared meanwhile (lock timeout on its barrier row). */
        dtx_log_info("prepare delivered twice at once, prepared by the other: yes",
                     "db=%s gid=%s branch=%u attempt=%u", self->dbname, call->gid,
                     (unsigned)call->branch, (unsigned)call->attempt);
        rc = DTX_OK;
    } else if (rc == DTX_EREFUSED) {
        dtx_log_info("prepare votes no", "db=%s gid=%s branch=%u resource=%s action=%s reason=%s",
                     self->dbname, call->gid, (unsigned)call->branch, call->resource,
                     call->action, action == DTX_BARRIER_HANGING ? "aborted-before" : "refused");
    }
    return rc;
}

/* Commits the prepared transaction of call. */
static int s_commit(dtx_pgres_t *self, const dtx_call_t *call)
{
    char name[DTX_PGRES_NAME_SIZE];
    if (dtx_pgres_name_build(call->gid, call->branch, name, sizeof name) < 0)
        return DTX_EINVAL;
    int rc = s_conn_ready(self);
    if (rc != 0)
        return rc;
    rc = s_finish_prepared(self, call, "COMMIT", name);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        dtx_log_info("committed", "db=%s gid=%s branch=%u name=%s", self->dbname, call->gid,
                     (unsigned)call->branch, name);
        return DTX_OK;
    }
    char origin[DTX_NAME_SIZE];
    if ((rc = s_try_origin(self, call, origin)) != 0)
        return rc;
    if (strcmp(origin, "try") == 0) {
        dtx_log_debug("commit delivered again, already committed", "db=%s gid=%s branch=%u",
                      self->dbname, call->gid, (unsigned)call->branch);
        return DTX_OK;
    }
    dtx_log_error("commit of a branch that is not prepared here; the coordinator will retry "
                  "and then mark the transaction stuck",
                  "db=%s gid=%s branch=%u name=%s barrier=%s", self->dbname, call->gid,
                  (unsigned)call->branch, name, origin[0] ? "aborted" : "none");
    return DTX_ESTATE;
}

/* Runs inside the abort marker's transaction only when the branch's
 * barrier row says it committed (an abort after a commit). */
static int s_abort_after_commit(PGconn *conn, const dtx_call_t *call, void *arg)
{
    (void)conn;
    dtx_pgres_t *self = arg;
    dtx_log_error("abort of a branch that committed here; refusing",
                  "db=%s gid=%s branch=%u", self->dbname, call->gid, (unsigned)call->branch);
    return DTX_ESTATE;
}

/* Rolls the prepared transaction of call back (when there is one) and
 * records the abort marker. */
static int s_abort(dtx_pgres_t *self, const dtx_call_t *call)
{
    char name[DTX_PGRES_NAME_SIZE];
    if (dtx_pgres_name_build(call->gid, call->branch, name, sizeof name) < 0)
        return DTX_EINVAL;
    int rc = s_conn_ready(self);
    if (rc != 0)
        return rc;
    int rolled_back = s_finish_prepared(self, call, "ROLLBACK", name);
    if (rolled_back < 0)
        return rolled_back;
    char setup[64];
    s_setup_sql(self, setup, sizeof setup);
    dtx_call_t marker = *call;
    marker.op = DTX_OP_ABORT;
    const dtx_barrier_opts_t opts = { .setup_sql = setup, .quiet = 1 };
    rc = dtx_barrier_call_ex(self->conn, &marker, s_abort_after_commit, self, &opts, NULL);
    if (rc != 0) {
        /* Most likely a prepare of this branch is running in another
         * process: it holds the barrier row. The coordinator retries. */
        dtx_log_warn("abort marker not recorded; the coordinator will retry",
                     "db=%s gid=%s branch=%u error=\"%s\"", self->dbname, call->gid,
                     (unsigned)call->branch, dtx_strerror(rc));
        return rc;
    }
    dtx_log_info(rolled_back ? "rolled back" : "aborted before prepare: marker recorded",
                 "db=%s gid=%s branch=%u name=%s", self->dbname, call->gid,
                 (unsigned)call->branch, name);
    return DTX_OK;
}

static int s_on_commit(const dtx_call_t *call, void *arg)
{
    return s_commit(arg, call);
}

static int s_on_abort(const dtx_call_t *call, void *arg)
{
    return s_abort(arg, call);
}

/* ------------------------------------------------------------------ */
/* Public                                                              */
/* ------------------------------------------------------------------ */

static void s_errmsg(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_errmsg(char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (!errbuf || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
}

/* Connects asking for a read-write session unless conninfo names its own
 * target_session_attrs: PREPARE TRANSACTION needs the primary, and with a
 * multi-host conninfo (host=a,b) libpq then skips a standby — also when
 * PQreset reconnects after a failover (it keeps these options). */
static PGconn *s_connect(const char *conninfo)
{
    const char *const keys[] = { "target_session_attrs", "dbname", NULL };
    const char *const values[] = { "read-write", conninfo, NULL };
    return PQconnectdbParams(keys, values, 1);
}

dtx_pgres_t *dtx_pgres_new(const char *conninfo, dtx_pg_work_fn work, void *arg,
                           int *err, char *errbuf, size_t errlen)
{
    int rc = DTX_ENOMEM;
    char pgerr[256];
    dtx_pgres_t *self = NULL;
    PGresult *r = NULL;
    s_errmsg(errbuf, errlen, "%s", "");

    if (!conninfo || !work) {
        rc = DTX_EINVAL;
        s_errmsg(errbuf, errlen, "pgres needs a conninfo and a work function");
        goto err;
    }
    self = calloc(1, sizeof *self);
    if (!self || !(self->conninfo = strdup(conninfo))) {
        s_errmsg(errbuf, errlen, "out of memory");
        goto err;
    }
    self->work = work;
    self->arg = arg;
    self->lock_timeout_ms = DTX_PGRES_LOCK_TIMEOUT_DEFAULT;
    rc = DTX_EDB;
    self->conn = s_connect(conninfo);
    if (self->conn)
        PQsetNoticeProcessor(self->conn, s_notice, NULL); /* kept across PQreset */
    if (!self->conn || PQstatus(self->conn) != CONNECTION_OK) {
        s_errmsg(errbuf, errlen, "cannot connect to the database: %s",
                 self->conn ? s_pg_error(self->conn, pgerr, sizeof pgerr) : "out of memory");
        goto err;
    }
    snprintf(self->dbname, sizeof self->dbname, "%s", PQdb(self->conn));

    r = PQexec(self->conn, "SELECT current_setting('max_prepared_transactions')::int");
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        s_errmsg(errbuf, errlen, "database %s: cannot read max_prepared_transactions: %s",
                 self->dbname, s_pg_error(self->conn, pgerr, sizeof pgerr));
        goto err;
    }
    if (atoi(PQgetvalue(r, 0, 0)) <= 0) {
        rc = DTX_ECONFIG;
        s_errmsg(errbuf, errlen,
                 "database %s: prepared transactions are disabled (max_prepared_transactions "
                 "= 0); set max_prepared_transactions in postgresql.conf (at least the number "
                 "of branches prepared at once, e.g. max_connections) and restart the server",
                 self->dbname);
        goto err;
    }
    PQclear(r);
    r = NULL;
    if ((rc = dtx_barrier_migrate(self->conn)) != 0) {
        s_errmsg(errbuf, errlen, "database %s: cannot create the barrier table dtx_barrier: %s",
                 self->dbname, s_pg_error(self->conn, pgerr, sizeof pgerr));
        goto err;
    }
    if (err)
        *err = DTX_OK;
    return self;

err:
    PQclear(r);
    dtx_pgres_destroy(&self);
    if (err)
        *err = rc;
    return NULL;
}

void dtx_pgres_destroy(dtx_pgres_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_pgres_t *self = *self_p;
    if (self->conn)
        PQfinish(self->conn);
    free(self->conninfo);
    free(self);
    *self_p = NULL;
}

void dtx_pgres_set_lock_timeout(dtx_pgres_t *self, int timeout_ms)
{
    assert(self);
    self->lock_timeout_ms = timeout_ms > 0 ? timeout_ms : DTX_PGRES_LOCK_TIMEOUT_DEFAULT;
}

void dtx_pgres_handlers(dtx_pgres_t *self, dtx_2pc_handlers_t *out)
{
    assert(self && out);
    out->on_prepare = s_on_prepare;
    out->on_commit = s_on_commit;
    out->on_abort = s_on_abort;
    out->arg = self;
}

int dtx_pgres_serve(dtx_pgres_t *self, dtx_participant_t *p, const char *resource)
{
    assert(self && p);
    dtx_2pc_handlers_t h;
    dtx_pgres_handlers(self, &h);
    return dtx_participant_serve_2pc(p, resource, &h);
}

/* Resolves one prepared transaction by its coordinator's state. Returns
 * 1 resolved, 0 left alone, or an error. */
static int s_recover_one(dtx_pgres_t *self, dtx_client_t *coordinator, const char *name)
{
    char gid[DTX_GID_SIZE];
    uint32_t branch;
    if (dtx_pgres_name_parse(name, gid, &branch) != 0) {
        dtx_log_warn("prepared transaction with a dtx: name this library did not build; left alone",
                     "db=%s name=%s", self->dbname, name);
        return 0;
    }
    int state = 0;
    int rc = dtx_client_status(coordinator, gid, &state);
    const char *coordinator_state = dtx_state_name(state);
    if (rc == DTX_ENOTFOUND) {
        state = DTX_STATE_ABORTED; /* presumed abort */
        coordinator_state = "unknown";
    } else if (rc != 0) {
        dtx_log_warn("cannot ask the coordinator about a prepared transaction; left for now",
                     "db=%s gid=%s branch=%u error=\"%s\"", self->dbname, gid,
                     (unsigned)branch, dtx_strerror(rc));
        return rc;
    }
    dtx_call_t c = { .gid = gid, .branch = branch, .resource = "", .action = "" };
    switch (state) {
    case DTX_STATE_COMMITTING:
    case DTX_STATE_COMMITTED:
        c.op = DTX_OP_COMMIT;
        rc = s_commit(self, &c);
        break;
    case DTX_STATE_ABORTING:
    case DTX_STATE_ABORTED:
        c.op = DTX_OP_ABORT;
        rc = s_abort(self, &c);
        break;
    default:
        dtx_log_info("recovery: prepared transaction left to its coordinator",
                     "db=%s gid=%s branch=%u state=%s", self->dbname, gid, (unsigned)branch,
                     coordinator_state);
        return 0;
    }
    if (rc != 0) {
        dtx_log_warn("recovery: cannot resolve prepared transaction",
                     "db=%s gid=%s branch=%u state=%s error=\"%s\"", self->dbname, gid,
                     (unsigned)branch, coordinator_state, dtx_strerror(rc));
        return rc;
    }
    dtx_log_info("recovery: prepared transaction resolved",
                 "db=%s gid=%s branch=%u state=%s action=%s", self->dbname, gid,
                 (unsigned)branch, coordinator_state,
                 c.op == DTX_OP_COMMIT ? "commit" : "rollback");
    return 1;
}

int dtx_pgres_recover(dtx_pgres_t *self, dtx_client_t *coordinator, int *resolved)
{
    assert(self && coordinator);
    if (resolved)
        *resolved = 0;
    if (s_conn_ready(self) != 0)
        return DTX_EDB;
    PGresult *r = PQexec(self->conn,
                         "SELECT gid FROM pg_prepared_xacts "
                         "WHERE database = current_database() AND gid LIKE 'dtx:%' "
                         "ORDER BY prepared, gid");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        char err[256];
        dtx_log_error("recovery: cannot list prepared transactions", "db=%s error=\"%s\"",
                      self->dbname, s_pg_error(self->conn, err, sizeof err));
        PQclear(r);
        return DTX_EDB;
    }
    int n = PQntuples(r), done = 0, last_err = DTX_OK;
    dtx_log(n > 0 ? DTX_LOG_INFO : DTX_LOG_DEBUG, "recovery: prepared transactions found",
            "db=%s count=%d", self->dbname, n);
    for (int i = 0; i < n; i++) {
        int rc = s_recover_one(self, coordinator, PQgetvalue(r, i, 0));
        if (rc == 1)
            done++;
        else if (rc < 0)
            last_err = rc;
    }
    PQclear(r);
    if (resolved)
        *resolved = done;
    return last_err;
}
