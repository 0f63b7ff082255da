/*
 * store.c — libpq pipeline batches.
 *
 * Lifecycle of one connection:
 *   UP: pending batch fills from submit(); flush() sends it (every op's
 *       PQsendQueryPrepared then PQpipelineSync) and it becomes in flight;
 *       results are read as the socket turns readable: one result plus a
 *       NULL per op, then PGRES_PIPELINE_SYNC, at which point the batch is
 *       committed and its callbacks run. Up to DTX_STORE_DEPTH (2) batches
 *       are in flight: flush() sends the pending one behind a batch in
 *       flight, and when a batch's Sync is read the pending one leaves
 *       before that batch's callbacks run, so that the backend has its
 *       next batch when it commits instead of idling while this process
 *       reads, answers and sends (a fifth of its time at 256 TCC_RUNs in
 *       flight, by pg_stat_activity's wait events). The server runs them
 *       in order, each its own implicit transaction: a batch that fails
 *       rolls back alone, the one behind it runs.
 *
 *         pending --flush/Sync read--> flying --Sync read--> done (callbacks)
 *                         \--(one in flight)--> next --(flying done)--> flying
 *
 *   DOWN: on any connection failure every batch fails, in maintain():
 *       each batch whose Sync was sent with DTX_EUNKNOWN (it may have
 *       reached the server and committed before the connection broke:
 *       nobody can tell from here), the pending one with DTX_EDB (never
 *       sent), as is a batch whose send broke off before its Sync.
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
 * Routing (invariant; route.h): an operation of a shard key with an
 * operation queued or in flight goes to that one's connection (held keys:
 * a count per key in self->route, taken at submit, let go when the batch's
 * Sync is read or the batch fails — before its callbacks run, so a
 * callback's next write is already free to go elsewhere); a free key's
 * goes to s_pick's choice among the shards that are up. A batch lost in
 * flight (DTX_EUNKNOWN) parks its keys on its connection until that is
 * back. Control and scan submissions keep their own connections.
 *
 * Parameters are copied into a per-batch arena at submit time, turned into
 * pointers at send time (libpq copies them into its output buffer), so the
 * arena is reused and a steady state allocates nothing per operation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/backoff.h"
#include "dtx/clock.h"
#include "dtx/id.h"
#include "dtx/log.h"
#include "dtx/types.h"
#include "pgconn.h"
#include "store.h"
#include "store_int.h"

#define S_RECONNECT_BASE_MS 100
#define S_RECONNECT_MAX_MS 2000
/* A shard's pending batch this big: free keys' writes go to the next one (s_pick). */
#define S_SPILL 64

/* Connections of every store of the process that are down, and since
 * when the first of them is (monotonic ms). */
static int     s_down;
static int64_t s_down_since_ms;

static void s_batch_free(dtx_store_batch_t *b)
{
    dtx_store_batch_reset(b);
    free(b->ops);
    free(b->arena);
    free(b->kinds);
    free(b->keys);
    free(b->setkeys);
    dtx_batch_plan_free(&b->plan);
    memset(b, 0, sizeof *b);
}

/* Connects c; quiet (a debug line) when the server cannot be reached,
 * since the outage is logged once for all (s_went_down); an error line
 * when it answers but refuses what dtxd needs. */
static int s_connect(dtx_store_t *self, dtx_store_conn_t *c)
{
    char why[DTX_LOG_Q_SIZE];
    c->pg = dtx_pgconn_open(self->conninfo);
    if (PQstatus(c->pg) != CONNECTION_OK) {
        dtx_log_debug("database connection failed", "error=\"%s\"",
                      DTX_Q(dtx_pgconn_error(c->pg, why, sizeof why)));
        goto err;
    }
    for (int i = 0; i < self->nstmts; i++) {
        if (!self->stmts[i].set_sql)
            continue;
        PGresult *res = PQprepare(c->pg, self->set_names[i], self->stmts[i].set_sql, 0, NULL);
        int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok)
            dtx_log_error("prepare failed", "stmt=%s error=\"%s\"", self->set_names[i],
                          DTX_Q(PQresultErrorMessage(res)));
        PQclear(res);
        if (!ok)
            goto err;
    }
    for (int i = -1; i < self->nstmts; i++) {
        const char *name = i < 0 ? DTX_STORE_LAZY_STMT : self->stmts[i].name;
        PGresult *res = PQprepare(c->pg, name, i < 0 ? DTX_STORE_LAZY_SQL : self->stmts[i].sql,
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
    c->halt = NULL;
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
    self->conns = calloc((size_t)self->nconn, sizeof(dtx_store_conn_t));
    if (!self->conninfo || !self->conns || (session_sql && !self->session_sql))
        goto err;
    self->stmts = stmts;
    self->nstmts = nstmts;
    self->set_names = calloc((size_t)nstmts, sizeof *self->set_names);
    self->set_mode = calloc((size_t)nstmts, 1);
    self->route = dtx_route_new();
    if (!self->set_names || !self->set_mode || !self->route)
        goto err;
    self->spill = S_SPILL;
    for (int i = 0; i < nstmts; i++) {
        snprintf(self->set_names[i], sizeof self->set_names[i], "%.56s_set", stmts[i].name);
        self->set_mode[i] = !stmts[i].set_sql      ? DTX_BATCH_ALONE
                          : stmts[i].set_by_branch ? DTX_BATCH_BY_SETKEY
                                                   : DTX_BATCH_BY_KEY;
    }
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
        dtx_store_conn_t *c = &self->conns[i];
        /* Operations still queued at shutdown: a batch in flight may have
         * committed, a pending one was never sent. */
        if (c->flying.n)
            dtx_store_batch_fail(self, &c->flying, c->inflight >= 1 ? DTX_EUNKNOWN : DTX_EDB);
        if (c->next.n)
            dtx_store_batch_fail(self, &c->next, c->inflight >= 2 ? DTX_EUNKNOWN : DTX_EDB);
        if (c->pending.n)
            dtx_store_batch_fail(self, &c->pending, DTX_EDB);
        s_batch_free(&c->flying);
        s_batch_free(&c->next);
        s_batch_free(&c->pending);
        s_batch_free(&c->done);
        if (c->pg)
            PQfinish(c->pg);
        if (c->counted_down)
            s_down--;
    }
    free(self->conns);
    free(self->conninfo);
    free(self->session_sql);
    free(self->set_names);
    free(self->set_mode);
    dtx_text_free(&self->setbuf);
    dtx_route_destroy(&self->route);
    free(self);
    *self_p = NULL;
}

static int s_reserve(dtx_store_batch_t *b, size_t extra)
{
    if (b->n == b->cap) {
        int ncap = b->cap ? b->cap * 2 : 64;
        dtx_store_op_t *ops = realloc(b->ops, (size_t)ncap * sizeof *ops);
        if (!ops)
            return DTX_ENOMEM;
        memset(ops + b->cap, 0, (size_t)(ncap - b->cap) * sizeof *ops);
        b->ops = ops;
        int *kinds = realloc(b->kinds, (size_t)ncap * sizeof *kinds);
        if (kinds)
            b->kinds = kinds;
        const char **keys = realloc(b->keys, (size_t)ncap * sizeof *keys);
        if (keys)
            b->keys = keys;
        const char **setkeys = realloc(b->setkeys, (size_t)ncap * sizeof *setkeys);
        if (setkeys)
            b->setkeys = setkeys;
        if (!kinds || !keys || !setkeys)
            return DTX_ENOMEM;
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

/* The shard connection a free key's write goes to (route.h): the first
 * one up whose pending batch holds fewer than spill writes, so that at a
 * low load every write joins one batch (one commit, one WAL flush, the
 * biggest sets), and a load one backend would serialise spreads; past
 * spill on every one, the one with the fewest pending. A lazy write looks
 * from the last connection instead: at a low load it then never holds up
 * a synchronous one (a lone write queued behind a lazy batch in flight
 * would wait for it: a TCC_RUN's first write behind the previous one's
 * final state, at 1 in flight), and its commit skips the WAL flush wait
 * because its batch holds only lazy writes (store.h). A halted connection
 * (store_int.h) takes nothing. */
static int s_pick(const dtx_store_t *self, uint32_t key, int lazy)
{
    int best = -1;
    for (int k = 0; k < self->nshards; k++) {
        int i = lazy ? self->nshards - 1 - k : k;
        const dtx_store_conn_t *c = &self->conns[i];
        if (!c->up || c->halt)
            continue;
        if (c->pending.n < self->spill)
            return i;
        if (best < 0 || c->pending.n < self->conns[best].pending.n)
            best = i;
    }
    return best >= 0 ? best : (int)(key % (uint32_t)self->nshards);
}

void dtx_store_submit(dtx_store_t *self, uint32_t shard, int stmt, int nparams,
                      const char *const *values, const int *lengths, const int *formats,
                      dtx_store_cb cb, void *ctx)
{
    int side = self->nconn - self->nshards;
    int keyed = shard != DTX_STORE_CONTROL && shard != DTX_STORE_SCAN;
    int ci = shard == DTX_STORE_CONTROL ? self->nconn - 1
           : shard == DTX_STORE_SCAN   ? (side == 2 ? self->nshards : 0)
                                       : dtx_route_conn(self->route, shard);
    if (ci < 0)
        ci = s_pick(self, shard, stmt >= 0 && stmt < self->nstmts && self->stmts[stmt].lazy);
    dtx_store_conn_t *c = &self->conns[ci];
    dtx_store_batch_t *b = &c->pending;
    size_t need = 0;
    int lens[DTX_STORE_MAXPARAMS];
    if (nparams > DTX_STORE_MAXPARAMS || stmt < 0 || stmt >= self->nstmts)
        goto fail;
    for (int i = 0; i < nparams; i++) {
        int bin = formats && formats[i];
        lens[i] = values[i] ? (bin ? lengths[i] : (int)strlen(values[i])) : 0;
        need += (size_t)lens[i] + 1;
    }
    /* A set key "gid/branch" (store_types.h), the branch as PostgreSQL
     * prints an integer: what the set form builds from the row. */
    char branch[16] = "";
    int by_branch = self->stmts[stmt].set_by_branch;
    if (by_branch) {
        /* The set form takes the keys as the parameter after the
         * statement's own: every call passes them all. The branch must be
         * an int as PostgreSQL prints it (the key is built from both
         * sides): printed back, it is what was passed. */
        if (nparams != self->stmts[stmt].nparams || !values[0] || !values[1] ||
            (formats && (formats[0] || formats[1])))
            goto fail; /* no set key: a programming error */
        long no = strtol(values[1], NULL, 10);
        snprintf(branch, sizeof branch, "/%ld", no);
        if (no < 0 || no > INT32_MAX || strcmp(branch + 1, values[1]) != 0)
            goto fail;
        need += (size_t)lens[0] + strlen(branch) + 1;
    }
    if (s_reserve(b, need) != 0 || (keyed && dtx_route_hold(self->route, shard, ci) != 0))
        goto fail;
    dtx_store_op_t *op = &b->ops[b->n++];
    op->key = shard;
    op->held = keyed;
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
    op->setkey = SIZE_MAX;
    if (by_branch) {
        op->setkey = b->used;
        b->used += (size_t)sprintf(b->arena + b->used, "%s%s", values[0], branch) + 1;
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
static void s_went_down(dtx_store_conn_t *c, const char *reason)
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

static void s_came_back(dtx_store_conn_t *c)
{
    if (!c->counted_down)
        return;
    c->counted_down = 0;
    c->failed_connects = 0;
    if (--s_down == 0)
        dtx_log_warn("log database reachable again", "outage_ms=%lld",
                     (long long)(dtx_clock_mono_ms() - s_down_since_ms));
}

/* c broke with b, a batch in flight, of unknown outcome: the keys of its
 * writes stay held on c until it is back (route.h), so that no later
 * write of theirs runs on another connection while that commit may still
 * happen. */
static void s_park(dtx_store_t *self, dtx_store_conn_t *c, dtx_store_batch_t *b)
{
    for (int i = 0; i < b->n; i++)
        if (b->ops[i].held) {
            dtx_route_park(self->route, b->ops[i].key, (int)(c - self->conns));
            b->ops[i].held = 0;
        }
}

static void s_mark_broken(dtx_store_conn_t *c, const char *why)
{
    if (!c->up)
        return;
    s_went_down(c, why);
    c->up = 0;
    c->broken = 1;
}

void dtx_store_flush(dtx_store_t *self)
{
    for (int i = 0; i < self->nconn; i++) {
        dtx_store_conn_t *c = &self->conns[i];
        const char *why = dtx_store_can_send(c) ? dtx_store_pipe_send(self, c) : NULL;
        if (why)
            s_mark_broken(c, why);
    }
}

int dtx_store_poll_items(dtx_store_t *self, zmq_pollitem_t *items, int cap)
{
    int n = 0;
    for (int i = 0; i < self->nconn && n < cap; i++) {
        dtx_store_conn_t *c = &self->conns[i];
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
        dtx_store_conn_t *c = &self->conns[i];
        if (!c->up)
            continue;
        if (items[i].revents & ZMQ_POLLOUT) {
            int f = PQflush(c->pg);
            if (f < 0)
                s_mark_broken(c, "flush");
            c->want_write = f == 1;
        }
        const char *why = c->up && (items[i].revents & (ZMQ_POLLIN | ZMQ_POLLERR))
                              ? dtx_store_pipe_read(self, c) : NULL;
        if (why)
            s_mark_broken(c, why);
    }
}

void dtx_store_maintain(dtx_store_t *self, int64_t now_ms)
{
    for (int i = 0; i < self->nconn; i++) {
        dtx_store_conn_t *c = &self->conns[i];
        if (c->broken) {
            c->broken = 0;
            /* A batch whose Sync was sent may have committed (a batch
             * known failed was already failed with DTX_EDB at its Sync);
             * one whose send broke off before its Sync was rolled back. */
            int unknown = c->inflight >= 1 && !c->flying.failed;
            int unknown_next = c->inflight >= 2 && !c->next.failed;
            c->inflight = 0;
            if (unknown)
                s_park(self, c, &c->flying);
            if (unknown_next)
                s_park(self, c, &c->next);
            dtx_store_batch_fail(self, &c->flying, unknown ? DTX_EUNKNOWN : DTX_EDB);
            dtx_store_batch_fail(self, &c->next, unknown_next ? DTX_EUNKNOWN : DTX_EDB);
            dtx_store_batch_fail(self, &c->pending, DTX_EDB);
            PQfinish(c->pg);
            c->pg = NULL;
        }
        if (!c->up) {
            /* Ops submitted while down fail now rather than wait. */
            if (c->pending.n)
                dtx_store_batch_fail(self, &c->pending, DTX_EDB);
            if (now_ms >= c->next_connect_ms) {
                PQfinish(c->pg); /* the previous attempt's */
                c->pg = NULL;
                if (s_connect(self, c) == 0) {
                    dtx_log_debug("database connection restored", "conn=%d", i);
                    dtx_route_unpark(self->route, i);
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

void dtx_store_set_spill(dtx_store_t *self, int spill)
{
    self->spill = spill < 1 ? 1 : spill;
}

void dtx_store_set_background(dtx_store_t *self, int on)
{
    self->background = on ? 1 : 0;
}

int dtx_store_backlog(const dtx_store_t *self)
{
    int most = 0;
    for (int i = 0; i < self->nshards; i++) {
        const dtx_store_conn_t *c = &self->conns[i];
        int n = c->pending.nbg + (c->inflight >= 1 ? c->flying.nbg : 0) +
                (c->inflight >= 2 ? c->next.nbg : 0);
        if (n > most)
            most = n;
    }
    return most;
}
