/*
 * lease.c — this node's lease in dtx_node.
 *
 * Lifecycle: at start the node row is inserted or its epoch bumped (a
 * restart with the same --node-id is a new epoch: the transactions of the
 * old epoch are orphans, claimable by anyone, this node included). Every
 * third of --lease-ms the lease is renewed through the store. The lease is
 * known held until `sent + lease_ms` of the last renewal that succeeded
 * (sent, not completed: the database's now() is later than our send). If a
 * renewal completes after that point we were paused or cut off: others may
 * have claimed our transactions, so every in-memory copy is dropped and
 * re-read (fencing already made our late writes change nothing): a copy
 * some request asks for is loaded again by that request, a decided one
 * by the recovery scan when due, and a marked ACTIVE one (a 2PC prepare
 * phase, a TCC_RUN deciding by itself: its votes were in the memory just
 * dropped) by the recovery scan too, which then aborts it — presumed
 * abort, as a take-over does, not at its deadline. If the
 * row's epoch changed under us, another process runs with our node id:
 * this one stops.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "coord.h"
#include "dtx/clock.h"
#include "dtx/log.h"
#include "lease.h"
#include "log/pgconn.h"
#include "log/sql.h"
#include "core/txntable.h"
#include "wctx.h"

int dtx_lease_acquire(dtx_coord_t *co, const char *endpoint)
{
    PGconn *conn = dtx_pgconn_open(co->cfg.db);
    int rc = DTX_EDB;
    char why[DTX_LOG_Q_SIZE];
    if (PQstatus(conn) != CONNECTION_OK) {
        dtx_log_error("cannot connect to the log database", "error=\"%s\"",
                      DTX_Q(dtx_pgconn_error(conn, why, sizeof why)));
        goto out;
    }
    char lease[24];
    snprintf(lease, sizeof lease, "%lld", (long long)co->cfg.lease_ms);
    const char *vals[3] = { co->cfg.node_id, lease, endpoint };
    int64_t sent = dtx_clock_mono_ms();
    PGresult *res = PQexecParams(conn,
        "INSERT INTO dtx_node (node_id, epoch, lease_until, endpoint)"
        " VALUES ($1, 1, now() + $2::int * interval '1 ms', $3)"
        " ON CONFLICT (node_id) DO UPDATE SET epoch = dtx_node.epoch + 1,"
        "   lease_until = EXCLUDED.lease_until, endpoint = EXCLUDED.endpoint,"
        "   started_at = now(), updated_at = now()"
        " RETURNING epoch", 3, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        co->epoch = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        snprintf(co->epoch_str, sizeof co->epoch_str, "%lld", (long long)co->epoch);
        co->lease_valid_ms = sent + co->cfg.lease_ms;
        co->next_renew_ms = sent + co->cfg.lease_ms / 3;
        dtx_log_info("lease taken", "node=%s epoch=%lld lease_ms=%lld", co->cfg.node_id,
                     (long long)co->epoch, (long long)co->cfg.lease_ms);
        rc = 0;
    } else {
        dtx_log_error("cannot take the node lease", "error=\"%s\"",
                      DTX_Q(PQresultErrorMessage(res)));
    }
    PQclear(res);
out:
    PQfinish(conn);
    return rc;
}

static void s_drop_copy(dtx_txn_t *txn, void *arg)
{
    dtx_coord_t *co = arg;
    /* Requests waiting on it run again against the log: their answers
     * stay exact (initiator.c). */
    co->hooks.forget(co, txn, "this coordinator's lease lapsed");
}

static void s_renew(dtx_coord_t *co, int64_t now_ms);

static void s_on_renew(void *p, int rc, const PGresult *res)
{
    dtx_wctx_t *w = p;
    dtx_coord_t *co = w->co;
    int64_t sent = (int64_t)w->peer.corr; /* send time, see s_renew */
    dtx_wctx_put(w);
    co->renew_inflight = 0;
    if (rc != 0 || co->stop)
        return; /* database away: retried next tick; the lease may lapse */
    if (strcmp(PQcmdTuples((PGresult *)res), "1") != 0) {
        dtx_log_error("node id taken by another process: stopping", "node=%s epoch=%lld",
                      co->cfg.node_id, (long long)co->epoch);
        co->exit_code = 1;
        co->stop = 1;
        return;
    }
    int64_t now = dtx_clock_mono_ms();
    /* Late: the lease ran out before this renewal took effect, so others
     * may have claimed our transactions meanwhile. A lapse is handled once:
     * what is in memory is dropped, and a renewal leaves at that same
     * instant, before anything can be loaded again. That renewal is judged
     * from its own send time, which is not before the drop: it does not
     * drop again what was re-read after the first drop (it used to, judged
     * from the stale validity). */
    if (now > co->lease_valid_ms && sent > co->lapse_dropped_ms) {
        dtx_log_warn("lease lapsed: dropping in-memory transactions",
                     "node=%s late_ms=%lld in_memory=%zu", co->cfg.node_id,
                     (long long)(now - co->lease_valid_ms), dtx_txn_count(co->txns));
        dtx_metrics_lease_lapsed(&co->metrics);
        dtx_txn_each(co->txns, s_drop_copy, co);
        co->lapse_dropped_ms = dtx_clock_mono_ms();
        co->lease_valid_ms = sent + co->cfg.lease_ms;
        s_renew(co, co->lapse_dropped_ms);
        return;
    }
    co->lease_valid_ms = sent + co->cfg.lease_ms;
}

/* Sends a renewal remembered as sent at now_ms. */
static void s_renew(dtx_coord_t *co, int64_t now_ms)
{
    dtx_wctx_t *w = dtx_wctx_get(co, NULL);
    if (!w)
        return;
    co->renew_inflight = 1;
    co->next_renew_ms = now_ms + co->cfg.lease_ms / 3;
    w->peer.corr = (uint64_t)now_ms; /* remembered send time */
    char lease[24];
    snprintf(lease, sizeof lease, "%lld", (long long)co->cfg.lease_ms);
    const char *vals[3] = { co->cfg.node_id, co->epoch_str, lease };
    /* Its own connection: never queued behind a burst of log writes. */
    dtx_store_submit(co->store, DTX_STORE_CONTROL, DTX_SQL_NODE_RENEW, 3, vals, NULL, NULL,
                     s_on_renew, w);
}

void dtx_lease_tick(dtx_coord_t *co, int64_t now_ms)
{
    if (co->renew_inflight || now_ms < co->next_renew_ms)
        return;
    s_renew(co, now_ms);
}
