/*
 * store.c — libpq pipeline batches.
 *
 * Lifecycle of one connection:
 *   UP: pending batch fills from submit(); flush() sends it (every op's
 *       PQsendQueryPrepared then PQpipelineSync) and it becomes in flight;
 *       results are read as the socket turns readable: one result plus a
 *       NULL per op, then PGRES_PIPELINE_SYNC, at which point the batch is
 *       committed and its callbacks run.
 *   DOWN: on any connection failure both batches fail, in maintain():
 *       the batch in flight with DTX_EUNKNOWN (its Sync may have reached
 *       the server and committed before the connection broke: nobody can
 *       tell from here), the pending one with DTX_EDB (never sent).
 *       Reconnects are tried with exponential backoff and jitter
 *       (S_RECONNECT_BASE_MS doubling up to S_RECONNECT_MAX_MS), never in
 *       a loop; each one finds the primary of a multi-host conninfo anew
 *       (pgconn.c asks for a read-write session).
 *   A statement refused because the server is read-only (SQLSTATE 25006:
 *   a standby, or a primary demoted under us) fails its batch (rolled
 *   back: DTX_EDB) and takes the connection down, so that the reconnect
 *   looks for the primary instead of writing to a standby forever.
 *
 * An outage is logged once, not per connection, attempt or operation: the
 * first connection of the process (every store of it) to go down logs
 * "log database unreachable", the last to come back "log database
 * reachable again"; failed attempts in between are debug lines. Every
 * store lives on the loop's thread, so the process-wide count of
 * connections down (s_down) needs no lock.
 *
 * Parameters are copied into a per-batch arena at submit time, turned into
 * pointers at send time (libpq copies them into its output buffer), so the
 * arena is reused and a steady state allocates nothing per operation.
 */
#include <stdlib.h>
#include <string.h>

#include "core/backoff.h"
#include "dtx/clock.h"
#include "dtx/id.h"
#include "dtx/log.h"
#include "dtx/types.h"
#include "pgconn.h"
#include "store.h"

#define S_MAXPARAMS 12
#define S_RECONNECT_BASE_MS 100
#define S_RECONNECT_MAX_MS 2000
/* Sent first in a batch of only lazy statements (store.h). */
#define S_LAZY_STMT "dtx_store_lazy_commit"
#define S_LAZY_SQL "SELECT set_config('synchronous_commit', 'off', true)"

typedef struct s_op {
    int          stmt;
    int          nparams;
    size_t       off[S_MAXPARAMS];   /* param offset in arena, or SIZE_MAX for NULL */
    int          len[S_MAXPARAMS];
    int          fmt[S_MAXPARAMS];
    dtx_store_cb cb;
    void        *ctx;
    PGresult    *res;                /* kept until the Sync */
} s_op_t;

typedef struct s_batch {
    s_op_t  *ops;
    int      n;
    int      cap;
    char    *arena;
    size_t   used;
    size_t   arena_cap;
    int      cursor;   /* next op whose result is expected */
    int      failed;   /* a statement failed: the whole batch is rolled back */
    int      read_only; /* a statement met a read-only server (25006) */
    int      nbg;      /* ops submitted in background mode */
    int      nsync;    /* ops whose statement is not lazy */
    int      lazy;     /* sent lazy: a set_config result precedes the ops' */
    int64_t  sent_ms;  /* monotonic: when it was sent (metrics) */
} s_batch_t;

typedef struct s_conn {
    PGconn   *pg;
    int       up;
    int       broken;        /* failure noticed; batches still to be failed */
    int       inflight;      /* inflight batch sent, awaiting Sync */
    int       want_write;    /* PQflush has more to send */
    int64_t   next_connect_ms;
    uint32_t  failed_connects; /* attempts failed since it went down */
    int       counted_down;    /* counted in s_down */
    s_batch_t pending;
    s_batch_t flying;
} s_conn_t;

/* Connections of every store of the process that are down, and since
 * when the first of them is (monotonic ms). */
static int     s_down;
static int64_t s_down_since_ms;

struct dtx_store {
    char                   *conninfo;
    char                   *session_sql; /* run on each connection as it opens, or NULL */
    const dtx_store_stmt_t *stmts;
    int                     nstmts;
    s_conn_t               *conns;
    int                     nconn;   /* connections: the shards, then the control one */
    int                     nshards; /* connections gids are spread over */
    int                     background; /* submissions now are background work */
    dtx_store_stats_t       stats;
};

static void s_batch_reset(s_batch_t *b)
{
    for (int i = 0; i < b->n; i++) {
        PQclear(b->ops[i].res);
        b->ops[i].res = NULL;
    }
    b->n = 0;
    b->used = 0;
    b->cursor = 0;
    b->failed = 0;
    b->read_only = 0;
    b->nbg = 0;
    b->nsync = 0;
    b->lazy = 0;
}

static void s_batch_free(s_batch_t *b)
{
    s_batch_reset(b);
    free(b->ops);
    free(b->arena);
    memset(b, 0, sizeof *b);
}

/* Fails every op of b with rc: DTX_EDB when the batch is known not to
 * have committed (never sent, or rolled back), DTX_EUNKNOWN when it may
 * have. */
static void s_batch_fail(dtx_store_t *self, s_batch_t *b, int rc)
{
    for (int i = 0; i < b->n; i++) {
        self->stats.failed_ops++;
        if (rc == DTX_EUNKNOWN)
            self->stats.unknown_ops++;
        b->ops[i].cb(b->ops[i].ctx, rc, NULL);
    }
    s_batch_reset(b);
}

/* Connects c; quiet (a debug line) when the server cannot be reached,
 * since the outage is logged once for all (s_went_down); an error line
 * when it answers but refuses what dtxd needs. */
static int s_connect(dtx_store_t *self, s_conn_t *c)
{
    char why[DTX_LOG_Q_SIZE];
    c->pg = dtx_pgconn_open(self->conninfo);
    if (PQstatus(c->pg) != CONNECTION_OK) {
        dtx_log_debug("database connection failed", "error=\"%s\"",
                      DTX_Q(dtx_pgconn_error(c->pg, why, sizeof why)));
        goto err;
    }
    for (int i = -1; i < self->nstmts; i++) {
        const char *name = i < 0 ? S_LAZY_STMT : self->stmts[i].name;
        PGresult *res = PQprepare(c->pg, name, i < 0 ? S_LAZY_SQL : self->stmts[i].sql,
                                  i < 0 ? 0 : self->stmts[i].nparams, NULL);
        int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok)
            dtx_log_error("prepare failed", "stmt=%s error=\"%s\"", name,
                          DTX_Q(PQresultErrorMessage(res)));
        PQclear(res);
        if (!ok)
            goto err;
    }
    if (self->session_sql) {
        PGresult *set = PQexec(c->pg, self->session_sql);
        int set_ok = PQresultStatus(set) == PGRES_COMMAND_OK;
        if (!set_ok)
            dtx_log_error("session settings refused", "error=\"%s\"",
                          DTX_Q(PQresultErrorMessage(set)));
        PQclear(set);
        if (!set_ok)
            goto err;
    }
    if (PQsetnonblocking(c->pg, 1) != 0 || PQenterPipelineMode(c->pg) != 1) {
        dtx_log_error("pipeline mode unavailable", "error=\"%s\"",
                      DTX_Q(dtx_pgconn_error(c->pg, why, sizeof why)));
        goto err;
    }
    c->up = 1;
    c->broken = 0;
    c->inflight = 0;
    c->want_write = 0;
    return 0;
err:
    /* c->pg stays until the next attempt or destroy: its error message
     * is what the caller logs. */
    c->up = 0;
    return DTX_EDB;
}

dtx_store_t *dtx_store_new(const char *conninfo, int nconn, int control,
                           const dtx_store_stmt_t *stmts, int nstmts, const char *session_sql,
                           int *err)
{
    int rc = DTX_ENOMEM;
    dtx_store_t *self = calloc(1, sizeof *self);
    if (!self)
        goto err;
    self->nshards = nconn > 0 ? nconn : 1;
    self->nconn = self->nshards + (control < 0 ? 0 : control > 2 ? 2 : control);
    self->conninfo = strdup(conninfo);
    self->session_sql = session_sql ? strdup(session_sql) : NULL;
    self->conns = calloc((size_t)self->nconn, sizeof(s_conn_t));
    if (!self->conninfo || !self->conns || (session_sql && !self->session_sql))
        goto err;
    self->stmts = stmts;
    self->nstmts = nstmts;
    for (int i = 0; i < self->nconn; i++)
        if ((rc = s_connect(self, &self->conns[i])) != 0) {
            char why[DTX_LOG_Q_SIZE];
            dtx_log_error("cannot connect to the log database", "error=\"%s\"",
                          DTX_Q(dtx_pgconn_error(self->conns[i].pg, why, sizeof why)));
            goto err;
        }
    return self;
err:
    if (err)
        *err = rc;
    dtx_store_destroy(&self);
    return NULL;
}

void dtx_store_destroy(dtx_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_store_t *self = *self_p;
    for (int i = 0; self->conns && i < self->nconn; i++) {
        s_conn_t *c = &self->conns[i];
        /* Operations still queued at shutdown: a batch in flight may have
         * committed, a pending one was never sent. */
        if (c->flying.n)
            s_batch_fail(self, &c->flying, c->inflight ? DTX_EUNKNOWN : DTX_EDB);
        if (c->pending.n)
            s_batch_fail(self, &c->pending, DTX_EDB);
        s_batch_free(&c->flying);
        s_batch_free(&c->pending);
        if (c->pg)
            PQfinish(c->pg);
        if (c->counted_down)
            s_down--;
    }
    free(self->conns);
    free(self->conninfo);
    free(self->session_sql);
    free(self);
    *self_p = NULL;
}

static int s_reserve(s_batch_t *b, size_t extra)
{
    if (b->n == b->cap) {
        int ncap = b->cap ? b->cap * 2 : 64;
        s_op_t *ops = realloc(b->ops, (size_t)ncap * sizeof *ops);
        if (!ops)
            return DTX_ENOMEM;
        memset(ops + b->cap, 0, (size_t)(ncap - b->cap) * sizeof *ops);
        b->ops = ops;
        b->cap = ncap;
    }
    if (b->used + extra > b->arena_cap) {
        size_t ncap = b->arena_cap ? b->arena_cap : 4096;
        while (ncap < b->used + extra)
            ncap *= 2;
        char *a = realloc(b->arena, ncap);
        if (!a)
            return DTX_ENOMEM;
        b->arena = a;
        b->arena_cap = ncap;
    }
    return 0;
}

void dtx_store_submit(dtx_store_t *self, uint32_t shard, int stmt, int nparams,
                      const char *const *values, const int *lengths, const int *formats,
                      dtx_store_cb cb, void *ctx)
{
    int side = self->nconn - self->nshards;
    uint32_t ci = shard == DTX_STORE_CONTROL ? (uint32_t)self->nconn - 1
                : shard == DTX_STORE_SCAN   ? (side == 2 ? (uint32_t)self->nshards : 0)
                                            : shard % (uint32_t)self->nshards;
    s_conn_t *c = &self->conns[ci];
    s_batch_t *b = &c->pending;
    size_t need = 0;
    int lens[S_MAXPARAMS];
    if (nparams > S_MAXPARAMS || stmt < 0 || stmt >= self->nstmts)
        goto fail;
    for (int i = 0; i < nparams; i++) {
        int bin = formats && formats[i];
        lens[i] = values[i] ? (bin ? lengths[i] : (int)strlen(values[i])) : 0;
        need += (size_t)lens[i] + 1;
    }
    if (s_reserve(b, need) != 0)
        goto fail;
    s_op_t *op = &b->ops[b->n++];
    b->nbg += self->background;
    b->nsync += !self->stmts[stmt].lazy;
    op->stmt = stmt;
    op->nparams = nparams;
    op->cb = cb;
    op->ctx = ctx;
    op->res = NULL;
    for (int i = 0; i < nparams; i++) {
        op->fmt[i] = formats ? formats[i] : 0;
        op->len[i] = lens[i];
        if (!values[i]) {
            op->off[i] = SIZE_MAX;
            continue;
        }
        op->off[i] = b->used;
        memcpy(b->arena + b->used, values[i], (size_t)lens[i]);
        b->arena[b->used + (size_t)lens[i]] = '\0';
        b->used += (size_t)lens[i] + 1;
    }
    return;
fail:
    /* Only on ENOMEM or a programming error: report it like a failed write,
     * asynchronously would need memory too, so call back now. */
    dtx_log_error("store submit failed", "stmt=%d", stmt);
    cb(ctx, DTX_EDB, NULL);
}

/* c is down from now on: the first connection of the process to go down
 * logs the outage. */
static void s_went_down(s_conn_t *c, const char *reason)
{
    if (c->counted_down)
        return;
    c->counted_down = 1;
    c->failed_connects = 0;
    if (s_down++ > 0)
        return;
    s_down_since_ms = dtx_clock_mono_ms();
    char why[DTX_LOG_Q_SIZE];
    dtx_log_error("log database unreachable: writes fail until it is back; reconnecting",
                  "reason=%s error=\"%s\"", reason,
                  DTX_Q(dtx_pgconn_error(c->pg, why, sizeof why)));
}

static void s_came_back(s_conn_t *c)
{
    if (!c->counted_down)
        return;
    c->counted_down = 0;
    c->failed_connects = 0;
    if (--s_down == 0)
        dtx_log_warn("log database reachable again", "outage_ms=%lld",
                     (long long)(dtx_clock_mono_ms() - s_down_since_ms));
}

static void s_mark_broken(s_conn_t *c, const char *why)
{
    if (!c->up)
        return;
    s_went_down(c, why);
    c->up = 0;
    c->broken = 1;
}

static void s_send(dtx_store_t *self, s_conn_t *c)
{
    /* Swap: pending becomes the flying batch. */
    s_batch_t tmp = c->flying;
    c->flying = c->pending;
    c->pending = tmp;
    s_batch_t *b = &c->flying;
    const char *vals[S_MAXPARAMS];
    /* Only lazy writes: this commit need not wait for its WAL flush. Its
     * result comes first; the ops' results follow from cursor 0. */
    b->lazy = b->nsync == 0;
    b->cursor = b->lazy ? -1 : 0;
    if (b->lazy && !PQsendQueryPrepared(c->pg, S_LAZY_STMT, 0, NULL, NULL, NULL, 0)) {
        s_mark_broken(c, "send");
        return;
    }
    for (int i = 0; i < b->n; i++) {
        s_op_t *op = &b->ops[i];
        for (int j = 0; j < op->nparams; j++)
            vals[j] = op->off[j] == SIZE_MAX ? NULL : b->arena + op->off[j];
        if (!PQsendQueryPrepared(c->pg, self->stmts[op->stmt].name, op->nparams, vals, op->len,
                                 op->fmt, 0)) {
            s_mark_broken(c, "send");
            return;
        }
    }
    if (!PQpipelineSync(c->pg)) {
        s_mark_broken(c, "sync");
        return;
    }
    c->inflight = 1;
    b->sent_ms = dtx_clock_mono_ms();
    if ((uint32_t)b->n > self->stats.max_batch)
        self->stats.max_batch = (uint32_t)b->n;
    int f = PQflush(c->pg);
    if (f < 0)
        s_mark_broken(c, "flush");
    c->want_write = f == 1;
}

void dtx_store_flush(dtx_store_t *self)
{
    for (int i = 0; i < self->nconn; i++) {
        s_conn_t *c = &self->conns[i];
        if (c->up && !c->inflight && c->pending.n > 0)
            s_send(self, c);
    }
}

static void s_batch_done(dtx_store_t *self, s_conn_t *c)
{
    s_batch_t *b = &c->flying;
    c->inflight = 0;
    if (b->failed) {
        int read_only = b->read_only;
        s_batch_fail(self, b, DTX_EDB); /* rolled back at the Sync */
        if (read_only)
            s_mark_broken(c, "read-only server");
        return;
    }
    self->stats.round_trips++;
    self->stats.lazy_round_trips += (uint64_t)b->lazy;
    dtx_hist_observe(&self->stats.batch_ms, dtx_clock_mono_ms() - b->sent_ms);
    dtx_hist_observe(&self->stats.batch_ops, b->n);
    for (int i = 0; i < b->n; i++) {
        self->stats.ops++;
        b->ops[i].cb(b->ops[i].ctx, 0, b->ops[i].res);
    }
    s_batch_reset(b);
}

static void s_read(dtx_store_t *self, s_conn_t *c)
{
    if (!PQconsumeInput(c->pg)) {
        s_mark_broken(c, "read");
        return;
    }
    while (c->up && c->inflight && !PQisBusy(c->pg)) {
        PGresult *res = PQgetResult(c->pg);
        s_batch_t *b = &c->flying;
        if (!res) {
            /* End of one operation's results. */
            b->cursor++;
            continue;
        }
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(res);
            s_batch_done(self, c);
            break;
        }
        if (b->cursor >= b->n) {
            PQclear(res);
            s_mark_broken(c, "unexpected result");
            return;
        }
        if (st == PGRES_FATAL_ERROR || st == PGRES_PIPELINE_ABORTED) {
            if (st == PGRES_FATAL_ERROR) {
                const char *code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
                if (code && strcmp(code, "25006") == 0)
                    b->read_only = 1;
                dtx_log_error("log write failed", "stmt=%s error=\"%s\"",
                              b->cursor < 0 ? S_LAZY_STMT : self->stmts[b->ops[b->cursor].stmt].name,
                              DTX_Q(PQresultErrorMessage(res)));
            }
            b->failed = 1;
            PQclear(res);
        } else if (b->cursor < 0) {
            PQclear(res); /* the lazy batch's set_config */
        } else {
            PQclear(b->ops[b->cursor].res);
            b->ops[b->cursor].res = res;
        }
    }
    if (c->up && PQstatus(c->pg) != CONNECTION_OK)
        s_mark_broken(c, "status");
}

int dtx_store_poll_items(dtx_store_t *self, zmq_pollitem_t *items, int cap)
{
    int n = 0;
    for (int i = 0; i < self->nconn && n < cap; i++) {
        s_conn_t *c = &self->conns[i];
        items[n].socket = NULL;
        items[n].fd = c->up ? PQsocket(c->pg) : -1;
        items[n].events = c->up ? (short)(ZMQ_POLLIN | (c->want_write ? ZMQ_POLLOUT : 0)) : 0;
        items[n].revents = 0;
        n++;
    }
    return n;
}

void dtx_store_process(dtx_store_t *self, const zmq_pollitem_t *items, int n)
{
    for (int i = 0; i < self->nconn && i < n; i++) {
        s_conn_t *c = &self->conns[i];
        if (!c->up)
            continue;
        if (items[i].revents & ZMQ_POLLOUT) {
            int f = PQflush(c->pg);
            if (f < 0)
                s_mark_broken(c, "flush");
            c->want_write = f == 1;
        }
        if (c->up && (items[i].revents & (ZMQ_POLLIN | ZMQ_POLLERR)))
            s_read(self, c);
    }
}

void dtx_store_maintain(dtx_store_t *self, int64_t now_ms)
{
    for (int i = 0; i < self->nconn; i++) {
        s_conn_t *c = &self->conns[i];
        if (c->broken) {
            c->broken = 0;
            /* A batch whose Sync was sent may have committed (a batch
             * known failed was already failed with DTX_EDB at its Sync). */
            int unknown = c->inflight && !c->flying.failed;
            c->inflight = 0;
            s_batch_fail(self, &c->flying, unknown ? DTX_EUNKNOWN : DTX_EDB);
            s_batch_fail(self, &c->pending, DTX_EDB);
            PQfinish(c->pg);
            c->pg = NULL;
        }
        if (!c->up) {
            /* Ops submitted while down fail now rather than wait. */
            if (c->pending.n)
                s_batch_fail(self, &c->pending, DTX_EDB);
            if (now_ms >= c->next_connect_ms) {
                PQfinish(c->pg); /* the previous attempt's */
                c->pg = NULL;
                if (s_connect(self, c) == 0) {
                    dtx_log_debug("database connection restored", "conn=%d", i);
                    s_came_back(c);
                } else {
                    s_went_down(c, "connect"); /* (counted once) */
                    c->failed_connects++;
                    c->next_connect_ms = now_ms + dtx_backoff_delay(
                        S_RECONNECT_BASE_MS, S_RECONNECT_MAX_MS, c->failed_connects + 1,
                        dtx_random_u64());
                }
            }
        }
    }
}

int dtx_store_idle(const dtx_store_t *self)
{
    for (int i = 0; i < self->nconn; i++)
        if (self->conns[i].pending.n || self->conns[i].inflight)
            return 0;
    return 1;
}

int dtx_store_healthy(const dtx_store_t *self)
{
    for (int i = 0; i < self->nconn; i++)
        if (!self->conns[i].up)
            return 0;
    return 1;
}

void dtx_store_stats(const dtx_store_t *self, dtx_store_stats_t *out)
{
    *out = self->stats;
    out->connected = 0;
    for (int i = 0; i < self->nconn; i++)
        out->connected += self->conns[i].up;
}

void dtx_store_set_background(dtx_store_t *self, int on)
{
    self->background = on ? 1 : 0;
}

int dtx_store_backlog(const dtx_store_t *self)
{
    int most = 0;
    for (int i = 0; i < self->nshards; i++) {
        const s_conn_t *c = &self->conns[i];
        int n = c->pending.nbg + (c->inflight ? c->flying.nbg : 0);
        if (n > most)
            most = n;
    }
    return most;
}
