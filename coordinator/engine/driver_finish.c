/*
 * driver_finish.c — the writes that finish what the driver drove: a branch's
 * Confirm/Cancel acknowledgement (BRANCH_DONE), the transaction's final state
 * once every branch is final (FINISH), and STUCK once a branch spent its
 * retry budget. Each write's answer moves the copy in memory (a failed or
 * fenced-off write makes it leave memory: recovery finishes it from the
 * log); the transaction leaves memory after FINISH or STUCK.
 *
 * Invariants: FINISH is written only when no write of the transaction or
 * of a branch is in flight and every branch is final (for a Saga: every
 * step done on commit, every step undone on abort); the state machine
 * (dtx_txn_next, DTX_EV_ALL_DONE) names the final state. Called by
 * driver.c and its mode-specific siblings; calls none of them.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/backoff.h"
#include "coord.h"
#include "dtx/clock.h"
#include "dtx/decimal.h"
#include "dtx/id.h"
#include "dtx/log.h"
#include "core/fault.h"
#include "core/saga.h"
#include "core/tmsg.h"
#include "core/txn.h"
#include "outbox.h"
#include "log/sql.h"
#include "core/txntable.h"
#include "wctx.h"
#include "driver_finish.h"

/* A write that matched no row: the copy in memory is stale or fenced off. */
int dtx_driver_no_rows(const PGresult *res)
{
    if (PQresultStatus(res) == PGRES_TUPLES_OK) /* a set statement answers with its rows */
        return PQntuples(res) == 0;
    const char *n = PQcmdTuples((PGresult *)res);
    return n[0] == '0' && n[1] == '\0';
}

int dtx_driver_is_final_branch(const dtx_branch_t *br)
{
    return br->state == DTX_BRANCH_CONFIRMED || br->state == DTX_BRANCH_CANCELLED;
}

/* --- Confirm / Cancel acknowledgements --- */

static void s_on_bookkeeping(void *p, int rc, const PGresult *res)
{
    (void)rc;
    (void)res; /* progress written early (dtx_driver_log_progress): losing it is harmless */
    dtx_wctx_put(p);
}

static void s_on_finish(void *p, int rc, const PGresult *res)
{
    dtx_wctx_t w;
    if (!dtx_wctx_take(p, &w))
        return;
    dtx_coord_t *co = w.co;
    dtx_txn_t *txn = w.txn;
    int final = w.arg;
    txn->finishing = 0;
    if (rc == 0 && !dtx_driver_no_rows(res)) {
        dtx_fault_point("after-finish-write");
        dtx_txn_enter(txn, final);
        dtx_metrics_finished(&co->metrics, final, txn->begun_ms);
        if (final == DTX_STATE_COMMITTED)
            co->stats.committed++;
        else
            co->stats.aborted++;
        if (txn->mode >= DTX_MODE_TCC && txn->mode <= DTX_MODE_MSG)
            co->stats.finished[txn->mode][final == DTX_STATE_COMMITTED ? 0 : 1]++;
        dtx_log_info(final == DTX_STATE_COMMITTED ? "committed" : "aborted",
                     "gid=%s branches=%d trace=%.32s", txn->gid, txn->nbranches,
                     DTX_TXN_TRACE(txn));
    }
    /* Done (or unknown: recovery finishes it). Either way it leaves memory. */
    co->hooks.forget(co, txn, "the transaction left memory");
}

/* Confirm/Cancel of br is done at the participant. Not written on its own:
 * the final write records every branch's final state with the
 * transaction's (DTX_SQL_FINISH: the global row's final state, which the
 * view dtx_branch_now reads as every branch's), and a STUCK write those acknowledged so
 * far (dtx_driver_mark_stuck). Lost in a crash, an acknowledgement only
 * means that Confirm/Cancel is sent again, which the participant's barrier
 * absorbs (docs/operations.md, durability table). */
void dtx_driver_branch_acked(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br)
{
    br->due_ms = 0;
    br->ack_unlogged = 1;
    dtx_branch_enter(br, dtx_op_done_state(br->op));
    if (br->attempt > 1 || txn->slow)
        dtx_driver_log_progress(co, txn); /* retried, or others failing: worth a statement */
    for (int i = 0; i < txn->nbranches; i++)
        if (!dtx_driver_is_final_branch(txn->branches[i])) {
            /* Others still to come: if they take a while, the log shows
             * this one done meanwhile (dtx_driver_on_timer). */
            if (br->ack_unlogged && !txn->progress_due_ms)
                txn->progress_due_ms = dtx_clock_mono_ms() + DTX_ACK_FOLD_MS;
            dtx_fault_point("between-phases");
            break;
        }
    dtx_driver_check_done(co, txn);
}

void dtx_driver_log_progress(dtx_coord_t *co, dtx_txn_t *txn)
{
    txn->progress_due_ms = 0;
    if (txn->dead || !txn->owned || txn->loading)
        return;
    for (int i = 0; i < txn->nbranches; i++) {
        dtx_branch_t *br = txn->branches[i];
        if (!br->ack_unlogged || !dtx_driver_is_final_branch(br))
            continue;
        dtx_wctx_t *w = dtx_wctx_get(co, txn);
        if (!w)
            return;
        br->ack_unlogged = 0;
        char no[DTX_DEC_SIZE], st[DTX_DEC_SIZE], att[DTX_DEC_SIZE];
        dtx_dec_u64(no, br->no);
        dtx_dec_i64(st, br->state);
        dtx_dec_u64(att, br->attempt);
        const char *vals[7] = { txn->gid, no, st, att, co->cfg.node_id, co->epoch_str, txn->gen };
        dtx_store_submit(co->store, txn->shard, DTX_SQL_BRANCH_DONE, 7, vals, NULL, NULL,
                         s_on_bookkeeping, w);
    }
}

static void s_log_progress_of(dtx_txn_t *txn, void *co)
{
    dtx_driver_log_progress(co, txn);
}

void dtx_driver_log_all_progress(dtx_coord_t *co)
{
    dtx_txn_each(co->txns, s_log_progress_of, co);
}

void dtx_driver_check_done(dtx_coord_t *co, dtx_txn_t *txn)
{
    if (txn->dead || txn->writing || txn->finishing || txn->loading)
        return;
    if (txn->state != DTX_STATE_COMMITTING && txn->state != DTX_STATE_ABORTING)
        return;
    for (int i = 0; i < txn->nbranches; i++)
        if (!dtx_driver_is_final_branch(txn->branches[i]) || txn->branches[i]->writing)
            return;
    /* A Saga commits with every step done, aborts with every step undone. */
    if (txn->mode == DTX_MODE_SAGA &&
        !dtx_saga_all_in(txn, txn->state == DTX_STATE_COMMITTING ? DTX_BRANCH_CONFIRMED
                                                                  : DTX_BRANCH_CANCELLED))
        return;
    int final = 0;
    if (dtx_txn_next(txn->state, DTX_EV_ALL_DONE, NULL, txn->state, &final) != 0)
        return;
    dtx_wctx_t *w = dtx_wctx_get(co, txn);
    if (!w)
        return;
    txn->finishing = 1;
    w->arg = final;
    char st[DTX_DEC_SIZE], from[DTX_DEC_SIZE];
    dtx_dec_i64(st, final);
    dtx_dec_i64(from, txn->state);
    const char *vals[6] = { txn->gid, st, from, co->cfg.node_id, co->epoch_str, txn->gen };
    dtx_store_submit(co->store, txn->shard, DTX_SQL_FINISH, 6, vals, NULL, NULL, s_on_finish, w);
    dtx_fault_point("before-finish-write");
}

/* --- STUCK --- */

static void s_on_stuck(void *p, int rc, const PGresult *res)
{
    dtx_wctx_t w;
    if (!dtx_wctx_take(p, &w))
        return;
    dtx_coord_t *co = w.co;
    dtx_txn_t *txn = w.txn;
    txn->writing = 0;
    dtx_metrics_stuck(&co->metrics, rc == 0 && !dtx_driver_no_rows(res));
    if (rc == 0 && !dtx_driver_no_rows(res))
        dtx_log_error("transaction stuck: an operator must resume it",
                      "gid=%s decision=%s trace=%.32s", txn->gid,
                      dtx_state_name(txn->decision), DTX_TXN_TRACE(txn));
    /* Stuck (or unknown): nothing more is driven from memory. */
    co->hooks.forget(co, txn, "the transaction left memory");
}

/* A branch spent its retry budget: the transaction goes STUCK. */
void dtx_driver_mark_stuck(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br)
{
    if (txn->writing || txn->finishing)
        return;
    dtx_wctx_t *w = dtx_wctx_get(co, txn);
    if (!w)
        return;
    dtx_log_warn("retry budget spent",
                 "gid=%s branch=%u op=%s attempts=%u trace=%.32s error=\"%s\"", txn->gid,
                 br->no, dtx_op_name(br->op), br->attempt, DTX_TXN_TRACE(txn),
                 DTX_Q(br->last_error));
    txn->writing = 1;
    for (int i = 0; i < txn->nbranches; i++)
        txn->branches[i]->due_ms = 0;
    char st[4];
    snprintf(st, sizeof st, "%d", txn->state);
    const char *vals[5] = { txn->gid, st, co->cfg.node_id, co->epoch_str, txn->gen };
    dtx_driver_log_progress(co, txn);
    dtx_store_submit(co->store, txn->shard, DTX_SQL_STUCK, 5, vals, NULL, NULL, s_on_stuck, w);
}
