/*
 * store_pipe.c — one batch down the pipeline and its results back (the
 * lifecycle is in store.c's header).
 *
 * Sending: a batch of only lazy statements starts with set_config(
 * 'synchronous_commit', 'off', true) (store.h); then the batch's plan
 * (batch.h) runs: each operation alone, or each set of one kind as one
 * statement whose parameters are arrays; then the Sync.
 * Reading: one result and a NULL per statement sent (the lazy prelude
 * included), then PGRES_PIPELINE_SYNC: the batch committed and its
 * callbacks run. A set's result is cut into each operation's rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/clock.h"
#include "dtx/log.h"
#include "dtx/types.h"
#include "store_int.h"

void dtx_store_batch_reset(dtx_store_batch_t *b)
{
    for (int i = 0; i < b->n; i++) {
        PQclear(b->ops[i].res);
        b->ops[i].res = NULL;
        b->ops[i].in_set = 0;
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

void dtx_store_batch_release(dtx_store_t *self, dtx_store_batch_t *b)
{
    for (int i = 0; i < b->n; i++)
        if (b->ops[i].held) {
            dtx_route_release(self->route, b->ops[i].key);
            b->ops[i].held = 0;
        }
}

void dtx_store_batch_fail(dtx_store_t *self, dtx_store_batch_t *b, int rc)
{
    /* A write whose outcome is unknown was parked by the caller (store.c)
     * and is no longer held here; the rest are decided (not committed). */
    dtx_store_batch_release(self, b);
    for (int i = 0; i < b->n; i++) {
        self->stats.failed_ops++;
        if (rc == DTX_EUNKNOWN)
            self->stats.unknown_ops++;
        b->ops[i].cb(b->ops[i].ctx, rc, NULL);
    }
    dtx_store_batch_reset(b);
}

static int s_send_one(dtx_store_t *self, dtx_store_conn_t *c, dtx_store_batch_t *b, const dtx_store_op_t *op)
{
    const char *vals[DTX_STORE_MAXPARAMS];
    for (int j = 0; j < op->nparams; j++)
        vals[j] = op->off[j] == SIZE_MAX ? NULL : b->arena + op->off[j];
    return PQsendQueryPrepared(c->pg, self->stmts[op->stmt].name, op->nparams, vals, op->len,
                               op->fmt, 0);
}

/* One statement for the ops of set `set`: parameter j is the array of
 * every op's parameter j; a set_by_branch statement's set form gets one
 * more, the ops' set keys (store_types.h). */
static int s_send_set(dtx_store_t *self, dtx_store_conn_t *c, dtx_store_batch_t *b, int set)
{
    const int *members = b->plan.members + b->plan.set_from[set];
    int n = b->plan.set_n[set];
    const dtx_store_op_t *first = &b->ops[members[0]];
    int np = first->nparams + (self->set_mode[first->stmt] == DTX_BATCH_BY_SETKEY);
    size_t at[DTX_STORE_MAXPARAMS + 1];
    const char *vals[DTX_STORE_MAXPARAMS + 1];
    dtx_text_t *buf = &self->setbuf;
    buf->len = 0;
    buf->failed = 0;
    for (int j = 0; j < np; j++) {
        at[j] = buf->len;
        dtx_text_append(buf, "{", 1);
        for (int k = 0; k < n; k++) {
            const dtx_store_op_t *op = &b->ops[members[k]];
            int rc;
            if (j == first->nparams) {
                const char *key = dtx_store_op_setkey(b, op);
                rc = dtx_batch_elem(buf, key, (int)strlen(key), 0, k == 0);
            } else {
                const char *v = op->off[j] == SIZE_MAX ? NULL : b->arena + op->off[j];
                rc = dtx_batch_elem(buf, v, op->len[j], op->fmt[j], k == 0);
            }
            if (rc != 0)
                return 0;
        }
        dtx_text_append(buf, "}", 2); /* and its NUL: the next one starts after it */
        if (buf->failed)
            return 0;
    }
    for (int j = 0; j < np; j++)
        vals[j] = buf->data + at[j];
    for (int k = 0; k < n; k++)
        b->ops[members[k]].in_set = 1;
    return PQsendQueryPrepared(c->pg, self->set_names[first->stmt], np, vals, NULL, NULL, 0);
}

static const char *s_send(dtx_store_t *self, dtx_store_conn_t *c);

const char *dtx_store_pipe_send(dtx_store_t *self, dtx_store_conn_t *c)
{
    /* A send that broke off leaves a batch half written: nothing more
     * goes on this connection (a later Sync would commit the half). */
    const char *why = s_send(self, c);
    if (why)
        c->halt = why;
    return why;
}

static const char *s_send(dtx_store_t *self, dtx_store_conn_t *c)
{
    /* Swap: pending becomes the oldest batch in flight, or the one behind
     * it (the slot it leaves is empty: reset when its batch ended). */
    dtx_store_batch_t *b = c->inflight == 0 ? &c->flying : &c->next;
    dtx_store_batch_t tmp = *b;
    *b = c->pending;
    c->pending = tmp;
    /* Only lazy writes: this commit need not wait for its WAL flush. Its
     * result comes first; the ops' results follow from cursor 0. */
    b->lazy = b->nsync == 0;
    b->cursor = b->lazy ? -1 : 0;
    if (b->lazy && !PQsendQueryPrepared(c->pg, DTX_STORE_LAZY_STMT, 0, NULL, NULL, NULL, 0)) {
        return "send";
    }
    for (int i = 0; i < b->n; i++) {
        b->kinds[i] = b->ops[i].stmt;
        b->keys[i] = dtx_store_op_key(b, &b->ops[i]);
        b->setkeys[i] = dtx_store_op_setkey(b, &b->ops[i]);
    }
    if (dtx_batch_plan(&b->plan, b->n, b->kinds, b->keys, b->setkeys, self->set_mode) != 0)
        return "out of memory"; /* nothing sent: the batch fails (DTX_EDB) */
    for (int e = 0; e < b->plan.nexec; e++) {
        int i = b->plan.exec[e];
        int sent = i >= 0 ? s_send_one(self, c, b, &b->ops[i]) : s_send_set(self, c, b, -1 - i);
        if (!sent)
            return "send";
    }
    self->stats.statements += (uint64_t)b->plan.nexec;
    if (!PQpipelineSync(c->pg))
        return "sync";
    c->inflight++;
    b->sent_ms = dtx_clock_mono_ms();
    if ((uint32_t)b->n > self->stats.max_batch)
        self->stats.max_batch = (uint32_t)b->n;
    int f = PQflush(c->pg);
    c->want_write = f == 1;
    return f < 0 ? "flush" : NULL;
}

static const char *s_batch_done(dtx_store_t *self, dtx_store_conn_t *c)
{
    /* The oldest batch leaves flight for done (empty until now: reset
     * below); the one behind it, if any, becomes the oldest. */
    dtx_store_batch_t tmp = c->done;
    c->done = c->flying;
    c->flying = c->next;
    c->next = tmp;
    c->inflight--;
    dtx_store_batch_t *b = &c->done;
    /* Refused as read-only (a standby, or a primary demoted under us):
     * nothing more is sent, and the connection goes down once the batch
     * behind, if any, is read — its own Sync says whether it committed,
     * which is better than "unknown". */
    if (b->failed && b->read_only && !c->halt)
        c->halt = "read-only server";
    if (!b->failed) {
        self->stats.round_trips++;
        self->stats.lazy_round_trips += (uint64_t)b->lazy;
        dtx_hist_observe(&self->stats.batch_ms, dtx_clock_mono_ms() - b->sent_ms);
        dtx_hist_observe(&self->stats.batch_ops, b->n);
    }
    /* Every write of the batch is committed, or rolled back at the Sync:
     * their keys are free (unless held by later writes) before any
     * callback submits the next ones. */
    dtx_store_batch_release(self, b);
    /* The writes queued while it flew leave now, before its callbacks run
     * (behind the batch still in flight, if any): the server has them
     * while this thread answers and sends. The callbacks' own writes
     * queue for the batch after. */
    const char *why = dtx_store_can_send(c) ? dtx_store_pipe_send(self, c) : NULL;
    if (b->failed) {
        dtx_store_batch_fail(self, b, DTX_EDB); /* rolled back at the Sync */
    } else {
        for (int i = 0; i < b->n; i++) {
            self->stats.ops++;
            /* Committed, but its share of a set's rows could not be made
             * (out of memory): the caller re-reads, as for a lost answer. */
            int rc = b->ops[i].res ? 0 : DTX_EUNKNOWN;
            b->ops[i].cb(b->ops[i].ctx, rc, b->ops[i].res);
        }
        dtx_store_batch_reset(b);
    }
    if (why)
        return why;
    return c->halt && c->inflight == 0 ? c->halt : NULL;
}

const char *dtx_store_pipe_read(dtx_store_t *self, dtx_store_conn_t *c)
{
    if (!PQconsumeInput(c->pg))
        return "read";
    while (c->inflight && !PQisBusy(c->pg)) {
        PGresult *res = PQgetResult(c->pg);
        dtx_store_batch_t *b = &c->flying;
        if (!res) {
            /* End of one operation's results. */
            b->cursor++;
            continue;
        }
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(res);
            const char *why = s_batch_done(self, c);
            if (why)
                return why;
            continue; /* the results of the batch behind it may be here too */
        }
        if (b->cursor >= b->plan.nexec) {
            PQclear(res);
            return "unexpected result";
        }
        int e = b->cursor < 0 ? 0 : b->plan.exec[b->cursor];
        const char *name = b->cursor < 0 ? DTX_STORE_LAZY_STMT
                         : e >= 0        ? self->stmts[b->ops[e].stmt].name
                                         : self->set_names[b->plan.set_stmt[-1 - e]];
        if (st == PGRES_FATAL_ERROR || st == PGRES_PIPELINE_ABORTED) {
            if (st == PGRES_FATAL_ERROR) {
                const char *code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
                if (code && strcmp(code, "25006") == 0)
                    b->read_only = 1;
                dtx_log_error("log write failed", "stmt=%s error=\"%s\"", name,
                              DTX_Q(PQresultErrorMessage(res)));
            }
            b->failed = 1;
            PQclear(res);
        } else if (b->cursor < 0) {
            PQclear(res); /* the lazy batch's set_config */
        } else if (e < 0) {
            /* A set: each op gets the rows led by its set key (none when its
             * row failed its guard); NULL when out of memory (see
             * s_batch_done). */
            int set = -1 - e;
            const int *members = b->plan.members + b->plan.set_from[set];
            int *order = dtx_batch_order(res), at = 0;
            for (int k = 0; k < b->plan.set_n[set]; k++) {
                dtx_store_op_t *op = &b->ops[members[k]];
                PQclear(op->res);
                op->res = order ? dtx_batch_rows_at(c->pg, res, order, &at,
                                                    dtx_store_op_setkey(b, op))
                                : NULL;
            }
            free(order);
            PQclear(res);
        } else {
            PQclear(b->ops[e].res);
            b->ops[e].res = res;
        }
    }
    return PQstatus(c->pg) != CONNECTION_OK ? "status" : NULL;
}

