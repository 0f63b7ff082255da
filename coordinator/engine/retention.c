/*
 * retention.c — removing finished transactions from the log.
 *
 * A transaction that is COMMITTED or ABORTED is never written again: every
 * coordinator write names an unfinished state in its condition
 * (log/sql.c). Once its final state is older than --retention, its global
 * row and its branches are removed (DTX_SQL_RETAIN); after that the gid is
 * unknown (STATUS answers "unknown transaction", the console 404).
 * ACTIVE, COMMITTING, ABORTING (2PC preparing included: that is ACTIVE) and
 * STUCK rows are never removed, whatever their age.
 *
 * A run, every --retention-interval-ms:
 *
 *     idle ──interval──▶ batch ──full batch (DTX_RETAIN_BATCH rows)──▶ batch ...
 *       ▲                  │
 *       └──short batch, or a failure: one log line for the run──┘
 *
 * One batch at a time, on the scan connection (DTX_STORE_SCAN): it never
 * delays a request's write, and a recovery scan waits behind at most one
 * batch. A batch is one statement that deletes at most DTX_RETAIN_BATCH
 * rows of each table, so it holds its row locks for milliseconds, and only
 * on finished rows, which no other write touches. Nothing in the loop
 * waits for it: the callback counts and schedules the next one.
 *
 * Several dtxd on one log all run it, with no lease: a finished row
 * belongs to no one any more, the candidates are taken FOR UPDATE SKIP
 * LOCKED (two nodes delete disjoint rows, neither waits), and a row one
 * node removed is simply not found by the other.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "coord.h"
#include "dtx/clock.h"
#include "dtx/log.h"
#include "log/sql.h"
#include "retention.h"

static void s_run_end(dtx_coord_t *co, int64_t now_ms, int failed)
{
    dtx_metrics_t *m = &co->metrics;
    int64_t took = co->retain.started_ms ? now_ms - co->retain.started_ms : 0;
    if (!failed) {
        m->retention_runs++;
        m->retention_last_ms = dtx_clock_wall_ms();
    }
    int level = co->retain.removed || failed ? DTX_LOG_INFO : DTX_LOG_DEBUG;
    dtx_log(level, failed ? "retention run interrupted: the log refused a batch; next run retries"
                          : "retention run",
            "removed=%" PRIu64 " branches=%" PRIu64 " batches=%" PRIu64 " ms=%lld "
            "older_than=%s",
            co->retain.removed, co->retain.branches, co->retain.batches, (long long)took,
            co->cfg.retention);
    co->retain.started_ms = 0;
    co->retain.removed = co->retain.branches = co->retain.batches = 0;
    co->retain.next_ms = now_ms + co->cfg.retention_interval_ms;
}

static void s_on_batch(void *p, int rc, const PGresult *res)
{
    dtx_coord_t *co = p;
    co->retain.inflight = 0;
    if (co->stop)
        return;
    int64_t now = dtx_clock_mono_ms();
    if (rc != 0 || PQntuples(res) != 1) {
        co->metrics.retention_failures++;
        s_run_end(co, now, 1);
        return;
    }
    uint64_t removed = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    uint64_t branches = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
    co->retain.removed += removed;
    co->retain.branches += branches;
    co->retain.batches++;
    co->metrics.retained[0] += removed;
    co->metrics.retained[1] += branches;
    if (removed >= DTX_RETAIN_BATCH)
        co->retain.next_ms = 0; /* more are due: the next batch at once */
    else
        s_run_end(co, now, 0);
}

void dtx_retention_tick(dtx_coord_t *co, int64_t now_ms)
{
    if (co->cfg.retention_ms <= 0 || co->retain.inflight || now_ms < co->retain.next_ms)
        return;
    if (!co->retain.started_ms)
        co->retain.started_ms = now_ms;
    co->retain.inflight = 1;
    char older[24], limit[16];
    snprintf(older, sizeof older, "%lld", (long long)co->cfg.retention_ms);
    snprintf(limit, sizeof limit, "%d", DTX_RETAIN_BATCH);
    const char *vals[2] = { older, limit };
    dtx_store_submit(co->store, DTX_STORE_SCAN, DTX_SQL_RETAIN, 2, vals, NULL, NULL, s_on_batch,
                     co);
}
