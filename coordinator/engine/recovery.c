/*
 * recovery.c — reading transactions back from the log.
 *
 * Nothing depends on memory surviving: after a crash, a restart, or an
 * eviction on an unknown write outcome, the log alone says what to do:
 *   COMMITTING  confirm every branch not yet confirmed;
 *   ABORTING    cancel every branch not yet cancelled;
 *   ACTIVE      past its deadline: decide abort; marked (`preparing`: a
 *               2PC prepare phase, a TCC_RUN that commits by itself — the
 *               decision lived in the memory that lost it): decide abort
 *               at once (presumed abort); otherwise wait for the
 *               initiator (a branch still TRYING lost its vote: a COMMIT
 *               then decides abort — presumed abort);
 *   final       answer questions about it, keep nothing in memory.
 *   Saga        its plan and step states come back with it; ACTIVE runs
 *               forward again (or aborts past its deadline), COMMITTING
 *               goes on forward, ABORTING compensates (core/saga.h: a
 *               step counts as possibly run when its dependencies were
 *               all done).
 *   message     (DTX_MODE_MSG) its destinations and check-back resource
 *               come back with it; ACTIVE waits for its COMMIT until the
 *               deadline and then asks the check-back (a fresh budget),
 *               never aborts by itself; COMMITTING delivers again.
 * The periodic scan finds the first three kinds among this node's own
 * transactions that are not in memory — an ACTIVE one when past its
 * deadline or marked (a late lease renewal dropped the copy and no node
 * claimed it: lease.c; aborted now, not at the deadline) — and claims the unfinished
 * transactions of dead coordinators (lease expired, or an older epoch):
 * UPDATE … FOR UPDATE SKIP LOCKED, so two coordinators never claim the same
 * one. A request for a gid not in memory loads it on demand, claiming it
 * when its owner is dead — or, for a request that changes an active
 * transaction, even from a live owner (the initiator came to us: the other
 * node's next write for it is fenced off and it lets go).
 * A transaction this node does not own is read-only here: questions about
 * it are answered from the log, changes are refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord.h"
#include "dtx/clock.h"
#include "dtx/hashtab.h"
#include "dtx/log.h"
#include "dtx/trace.h"
#include "core/fault.h"
#include "core/saga.h"
#include "core/tmsg.h"
#include "core/txn.h"
#include "driver.h"
#include "outbox.h"
#include "recovery.h"
#include "log/sql.h"
#include "core/txntable.h"
#include "wctx.h"

#define S_SCAN_LIMIT 256

static void s_on_claim(void *p, int rc, const PGresult *res)
{
    dtx_wctx_t *w = p;
    (void)rc; /* a failed claim fails the whole batch: s_on_global sees it */
    (void)res;
    dtx_wctx_put(w);
}

static void s_on_global(void *p, int rc, const PGresult *res)
{
    dtx_wctx_t w;
    if (!dtx_wctx_take(p, &w))
        return;
    dtx_coord_t *co = w.co;
    dtx_txn_t *txn = w.txn;
    if (rc != 0) {
        dtx_outbox_drop(co, txn, DTX_EDB, "could not read the transaction log");
        return;
    }
    if (PQntuples(res) != 1) {
        dtx_outbox_drop(co, txn, DTX_ENOTFOUND, "unknown transaction");
        return;
    }
    if (dtx_txn_restore(txn, atoi(PQgetvalue(res, 0, 0)), atoi(PQgetvalue(res, 0, 1)),
                        atoi(PQgetvalue(res, 0, 5)), PQgetvalue(res, 0, 6)[0] == 't') != 0) {
        dtx_log_error("the log holds a transaction this coordinator never writes",
                      "gid=%s mode=\"%s\" state=\"%s\" decision=\"%s\"", txn->gid,
                      DTX_Q(PQgetvalue(res, 0, 0)), DTX_Q(PQgetvalue(res, 0, 1)),
                      DTX_Q(PQgetvalue(res, 0, 5)));
        dtx_outbox_drop(co, txn, DTX_EPROTO, "the log holds an impossible transaction row");
        return;
    }
    /* The mark stays on the row after the decision: on a TCC row it says
     * a TCC_RUN that commits by itself began it (a repeat may name it). */
    txn->run = txn->mode == DTX_MODE_TCC && PQgetvalue(res, 0, 6)[0] == 't';
    txn->deadline_wall = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    txn->deadline_mono = dtx_clock_mono_ms() + (txn->deadline_wall - dtx_clock_wall_ms());
    txn->owned = strcmp(PQgetvalue(res, 0, 3), co->cfg.node_id) == 0 &&
                 strcmp(PQgetvalue(res, 0, 4), co->epoch_str) == 0;
    snprintf(txn->gen, sizeof txn->gen, "%s", PQgetvalue(res, 0, 7));
    snprintf(txn->initiator, sizeof txn->initiator, "%s", PQgetvalue(res, 0, 8));
    /* Only a valid one is carried on (the column is text: trust nothing). */
    const char *tp = PQgetvalue(res, 0, 9);
    if (dtx_trace_valid(tp))
        memcpy(txn->traceparent, tp, DTX_TRACEPARENT_SIZE);
    else
        txn->traceparent[0] = '\0';
    if (txn->mode == DTX_MODE_MSG && dtx_tmsg_attach(txn, PQgetvalue(res, 0, 10)) != 0) {
        dtx_log_error("the log holds a message without a valid check-back resource", "gid=%s",
                      txn->gid);
        dtx_outbox_drop(co, txn, DTX_EPROTO, "the log holds an impossible message row");
    }
}

/* A Saga step's plan columns (6 undo_action, 7 after_steps "1,2", 8
 * step_flags). 0, or DTX_EPROTO for what no plan holds. */
static int s_load_step(dtx_branch_t *br, const PGresult *res, int row)
{
    if (!(br->step = calloc(1, sizeof *br->step)))
        return DTX_ENOMEM;
    const char *undo = PQgetvalue(res, row, 6), *after = PQgetvalue(res, row, 7);
    if (undo[0] && dtx_name_copy(br->step->undo, undo) != 0)
        return DTX_EPROTO;
    int flags = atoi(PQgetvalue(res, row, 8));
    if (flags & ~DTX_SAGA_STEP_PIVOT)
        return DTX_EPROTO;
    br->step->flags = (uint8_t)flags;
    while (*after) {
        char *end;
        long n = strtol(after, &end, 10);
        if (end == after || n < 1 || n >= (long)br->no || br->step->nafter >= DTX_SAGA_STEPS_MAX)
            return DTX_EPROTO;
        br->step->after[br->step->nafter++] = (uint8_t)n;
        after = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return DTX_EPROTO;
    }
    return 0;
}

static void s_on_branches(void *p, int rc, const PGresult *res)
{
    dtx_wctx_t w;
    if (!dtx_wctx_take(p, &w))
        return; /* s_on_global already evicted it */
    dtx_coord_t *co = w.co;
    dtx_txn_t *txn = w.txn;
    if (rc != 0) {
        dtx_outbox_drop(co, txn, DTX_EDB, "could not read the transaction log");
        return;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        dtx_branch_t *br = dtx_txn_add_branch(txn, (uint32_t)strtoul(PQgetvalue(res, i, 0), NULL, 10));
        if (!br) {
            dtx_outbox_drop(co, txn, DTX_ENOMEM, "out of memory");
            return;
        }
        snprintf(br->resource, sizeof br->resource, "%s", PQgetvalue(res, i, 1));
        snprintf(br->action, sizeof br->action, "%s", PQgetvalue(res, i, 2));
        size_t len = 0;
        unsigned char *raw = PQunescapeBytea((const unsigned char *)PQgetvalue(res, i, 3), &len);
        if (!raw || (len && !(br->payload = malloc(len)))) {
            if (raw)
                PQfreemem(raw);
            dtx_outbox_drop(co, txn, DTX_ENOMEM, "out of memory");
            return;
        }
        if (len)
            memcpy(br->payload, raw, len);
        br->payload_len = (uint32_t)len;
        dtx_txn_payload_add(co->txns, txn, (int64_t)len);
        PQfreemem(raw);
        if (txn->mode == DTX_MODE_SAGA && s_load_step(br, res, i) != 0) {
            dtx_log_error("the log holds a saga step this coordinator never writes",
                          "gid=%s step=%u", txn->gid, br->no);
            dtx_outbox_drop(co, txn, DTX_EPROTO, "the log holds an impossible saga step");
            return;
        }
        if (dtx_branch_restore(br, atoi(PQgetvalue(res, i, 4))) != 0) {
            dtx_log_error("the log holds a branch state that does not exist", "gid=%s branch=%u",
                          txn->gid, br->no);
            dtx_outbox_drop(co, txn, DTX_EPROTO, "the log holds an impossible branch row");
            return;
        }
        br->attempt = (uint32_t)strtoul(PQgetvalue(res, i, 5), NULL, 10);
        br->op = txn->mode == DTX_MODE_2PC    ? DTX_OP_PREPARE
                 : txn->mode == DTX_MODE_SAGA ? DTX_OP_ACTION
                 : txn->mode == DTX_MODE_MSG  ? DTX_OP_DELIVER
                                              : DTX_OP_TRY;
        /* TCC: whoever sent its Try is gone, the vote is lost. (2PC: an
         * enlisted branch has no vote before COMMIT.) */
        if (br->state == DTX_BRANCH_TRYING && txn->mode == DTX_MODE_TCC)
            br->unknown_vote = 1;
    }
    if (txn->mode == DTX_MODE_SAGA)
        dtx_saga_mark_loaded(txn);
    txn->loading = 0;
    dtx_log_debug("loaded from log", "gid=%s state=%s branches=%d owned=%d", txn->gid,
                  dtx_state_name(txn->state), txn->nbranches, txn->owned);
    if (dtx_state_is_final(txn->state) || !txn->owned || txn->state == DTX_STATE_STUCK) {
        /* Nothing to drive here: answer what waits, keep nothing — unless
         * a request (RESUME) started a write on it. */
        co->hooks.replay_parked(co, txn);
        if (!txn->dead && !txn->writing)
            dtx_outbox_drop(co, txn, 0, NULL);
        return;
    }
    if (txn->mode == DTX_MODE_SAGA && txn->state == DTX_STATE_ACTIVE) {
        dtx_log_info("recovering", "gid=%s state=%s steps=%d trace=%.32s", txn->gid,
                     dtx_state_name(txn->state), txn->nbranches, DTX_TXN_TRACE(txn));
        if (dtx_clock_mono_ms() >= txn->deadline_mono)
            dtx_driver_raise(co, txn, DTX_EV_DEADLINE, "deadline passed (recovered)");
        if (!txn->dead)
            dtx_driver_drive(co, txn); /* forward, unless the abort is being written */
    } else if (txn->mode == DTX_MODE_MSG && txn->state == DTX_STATE_ACTIVE) {
        dtx_log_info("recovering", "gid=%s state=%s destinations=%d trace=%.32s", txn->gid,
                     dtx_state_name(txn->state), txn->nbranches, DTX_TXN_TRACE(txn));
        dtx_driver_drive(co, txn); /* the check-back, once past the deadline */
    } else if (txn->state == DTX_STATE_COMMITTING || txn->state == DTX_STATE_ABORTING) {
        dtx_log_info("recovering", "gid=%s state=%s branches=%d trace=%.32s", txn->gid,
                     dtx_state_name(txn->state), txn->nbranches, DTX_TXN_TRACE(txn));
        /* Branches continue from their recorded attempt count. */
        for (int i = 0; i < txn->nbranches; i++)
            txn->branches[i]->op = dtx_op_for_decision(txn->mode, txn->state);
        dtx_driver_drive(co, txn);
    } else if (txn->state == DTX_STATE_ACTIVE && dtx_clock_mono_ms() >= txn->deadline_mono) {
        dtx_driver_raise(co, txn, DTX_EV_DEADLINE, "deadline passed (recovered)");
    } else if (txn->state == DTX_STATE_ACTIVE && txn->preparing) {
        /* Presumed abort: the prepare phase lost its coordinator. Branches
         * that prepared are released now, not at the deadline. */
        dtx_driver_raise(co, txn, DTX_EV_PREPARE_LOST, "prepare phase interrupted");
    } else {
        dtx_driver_reschedule(co, txn);
    }
    if (!txn->dead)
        co->hooks.replay_parked(co, txn);
}

dtx_txn_t *dtx_recovery_load(dtx_coord_t *co, const char *gid, int steal, const char *principal)
{
    dtx_txn_t *txn = dtx_txn_create(co->txns, gid);
    if (!txn)
        return NULL;
    txn->loading = 1;
    dtx_wctx_t *w0 = dtx_wctx_get(co, txn);
    dtx_wctx_t *w1 = w0 ? dtx_wctx_get(co, txn) : NULL;
    dtx_wctx_t *w2 = w1 ? dtx_wctx_get(co, txn) : NULL;
    if (!w2) {
        if (w0)
            dtx_wctx_put(w0);
        if (w1)
            dtx_wctx_put(w1);
        dtx_outbox_drop(co, txn, 0, NULL);
        return NULL;
    }
    /* One round trip: claim (when allowed), then read what we now hold. */
    const char *claim[5] = { gid, co->cfg.node_id, co->epoch_str, steal ? "true" : "false",
                             principal };
    dtx_store_submit(co->store, txn->shard, DTX_SQL_CLAIM, 5, claim, NULL, NULL, s_on_claim, w0);
    const char *vals[1] = { gid };
    dtx_store_submit(co->store, txn->shard, DTX_SQL_LOAD_GLOBAL, 1, vals, NULL, NULL, s_on_global,
                     w1);
    dtx_store_submit(co->store, txn->shard, DTX_SQL_LOAD_BRANCHES, 1, vals, NULL, NULL,
                     s_on_branches, w2);
    return txn;
}

/* Loads the listed gids not in memory (claimed: every one, a copy in
 * memory being stale). Returns how many loads started; *missed counts
 * those that could not start (they stay in the log only). */
static int s_load_listed(dtx_coord_t *co, const PGresult *res, const char *what, int claimed,
                         int *missed)
{
    int loaded = 0;
    *missed = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *gid = PQgetvalue(res, i, 0);
        dtx_txn_t *old = dtx_txn_find(co->txns, gid);
        if (old && !claimed)
            continue; /* being driven here already */
        if (old) {
            /* Taken back after another node held it: the copy in memory
             * predates that and is worthless (its owner_gen is stale too,
             * so it could not write anyway). Read it again. */
            co->hooks.forget(co, old, "the transaction moved between coordinators");
        }
        if (dtx_recovery_load(co, gid, 0, NULL))
            loaded++;
        else
            (*missed)++;
    }
    if (loaded)
        dtx_log_info("recovery scan", "kind=%s loaded=%d", what, loaded);
    return loaded;
}

/* The own scan runs every round until `until` (monotonic), and once more. */
static void s_own_until(dtx_coord_t *co, int64_t until)
{
    if (until > co->scan.own_until_ms)
        co->scan.own_until_ms = until;
}

/* txn left memory (hooks.left_memory). Unfinished, its row — if it was
 * ever written — is this node's and in no memory: from when can the own
 * scan (DTX_SQL_SCAN) list it? ACTIVE: at its deadline, or once its mark
 * is a grace old; decided: once next_attempt_at is a grace old, which a
 * retry's backoff puts at most --retry-max-ms ahead. Not knowing (a copy
 * still loading whose read failed): as long as any deadline can be away.
 * No row of this node's can be out of memory after a drop of a finished
 * or stuck one (the scan skips stuck rows), one never written (a refused
 * request, a BEGIN without branches; not one whose first write's outcome
 * is unknown), a read-only copy of another node's, or a gid the log does
 * not hold: those leave the scan alone. */
static void s_left_memory(dtx_coord_t *co, const dtx_txn_t *txn, int err)
{
    if (txn->state == DTX_STATE_COMMITTED || txn->state == DTX_STATE_ABORTED ||
        txn->state == DTX_STATE_STUCK || err == DTX_ENOTFOUND)
        return;
    if (!txn->loading && !txn->owned)
        return;
    /* Never written, and no write of it whose outcome is unknown (a
     * forget: DTX_EUNKNOWN; a failed read: DTX_EDB). */
    if (txn->unlogged && err != DTX_EUNKNOWN && err != DTX_EDB)
        return;
    int64_t now = dtx_clock_mono_ms();
    int64_t soon = now + co->cfg.phase_timeout_ms + co->cfg.retry_max_ms;
    int64_t until = now + co->cfg.max_timeout_ms + co->cfg.phase_timeout_ms;
    if (txn->state == DTX_STATE_ACTIVE && txn->deadline_mono > 0)
        until = txn->deadline_mono > soon ? txn->deadline_mono : soon;
    else if (txn->state == DTX_STATE_COMMITTING || txn->state == DTX_STATE_ABORTING)
        until = soon;
    s_own_until(co, until);
}

void dtx_recovery_init(dtx_coord_t *co)
{
    co->hooks.left_memory = s_left_memory;
}

/* One round is done when its last statement answered. */
static void s_round_part_done(dtx_coord_t *co)
{
    if (co->scan_inflight > 0)
        co->scan_inflight--;
}

static void s_on_scan(void *p, int rc, const PGresult *res)
{
    dtx_wctx_t *w = p;
    dtx_coord_t *co = w->co;
    dtx_wctx_put(w);
    s_round_part_done(co);
    if (rc != 0) {
        co->scan.own_due = 1;
        return;
    }
    dtx_metrics_recovery(&co->metrics, 0, PQntuples(res));
    if (co->stop)
        return;
    /* Anything it had to load (or the limit reached: more may wait) is
     * looked for again next round, until a round finds all in memory. */
    int missed = 0;
    if (s_load_listed(co, res, "own", 0, &missed) + missed > 0 || PQntuples(res) >= S_SCAN_LIMIT)
        co->scan.own_due = 1;
}

static void s_on_orphans(void *p, int rc, const PGresult *res)
{
    dtx_wctx_t *w = p;
    dtx_coord_t *co = w->co;
    dtx_wctx_put(w);
    s_round_part_done(co);
    if (rc != 0 || co->stop) {
        co->scan.orphans_due = 1;
        return;
    }
    dtx_metrics_recovery(&co->metrics, 1, PQntuples(res));
    if (PQntuples(res) > 0) {
        dtx_log_warn("took over transactions of a dead coordinator", "count=%d",
                     PQntuples(res));
        dtx_fault_point("after-claim");
        /* More may be left (the limit): the next round claims again, until
         * one finds none. */
        co->scan.orphans_due = 1;
    } else {
        co->scan.orphans_due = 0;
        co->scan.nodes_seen = co->scan.nodes_now;
    }
    /* A claimed one whose load could not start is this node's now, out
     * of memory, its due time unknown: the own scan runs as it always did
     * for as long as any deadline can be away. */
    int missed = 0;
    s_load_listed(co, res, "claimed", 1, &missed);
    if (missed > 0)
        s_own_until(co, dtx_clock_mono_ms() + co->cfg.max_timeout_ms + co->cfg.phase_timeout_ms);
}

static void s_claim(dtx_coord_t *co)
{
    dtx_wctx_t *w = dtx_wctx_get(co, NULL);
    if (!w) {
        co->scan.orphans_due = 1;
        return;
    }
    char limit[16];
    snprintf(limit, sizeof limit, "%d", S_SCAN_LIMIT);
    const char *orphans[3] = { limit, co->cfg.node_id, co->epoch_str };
    co->scan_inflight++;
    dtx_metrics_recovery_run(&co->metrics, DTX_RECOVERY_CLAIM);
    dtx_store_submit(co->store, DTX_STORE_SCAN, DTX_SQL_CLAIM_ORPHANS, 3, orphans, NULL, NULL,
                     s_on_orphans, w);
}

static void s_on_nodes(void *p, int rc, const PGresult *res)
{
    dtx_wctx_t *w = p;
    dtx_coord_t *co = w->co;
    int full = w->arg;
    dtx_wctx_put(w);
    s_round_part_done(co);
    if (co->stop)
        return;
    if (rc != 0 || PQntuples(res) != 1) {
        co->scan.orphans_due = 1; /* the log is away: the claim's own failure follows */
        return;
    }
    co->scan.nodes_now = dtx_hash_bytes(PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
    if (full || co->scan.orphans_due || co->scan.nodes_now != co->scan.nodes_seen)
        s_claim(co);
}

/* A recovery round, every --recovery-interval-ms. Its two walks over the
 * unfinished rows (the own scan, the claim of orphans) cost the log a
 * heap visit per index entry of every transaction finished since the
 * table's last vacuum (a bitmap scan marks none dead), which at thousands
 * of transactions a second was the log's costliest statement pair (8 % of
 * its statement time at 256 TCC_RUNs in flight, pg_stat_statements). So
 * each runs only when it can find something:
 *  - the own scan from when a transaction left this node's memory
 *    unfinished (outbox.c's drop: a failed or fenced write, a lapsed
 *    lease, a load that failed) until the time its row can first be
 *    listed, and one round more (s_left_memory); at start; and while the
 *    last one loaded something, failed or reached its limit (a restart
 *    takes a new epoch: the rows of the old one are orphans, claimed);
 *  - the claim when the nodes changed (DTX_SQL_NODES: a lease lapsed, a
 *    node took a new epoch or joined — how a transaction becomes an
 *    orphan), at start, and while the last one claimed something or
 *    failed;
 *  - both every S_SCAN_FULL_ROUNDS rounds, at most S_SCAN_FULL_MS apart,
 *    anyway: rows written by hand, an owner with no node row, a claim
 *    that found its rows locked (SKIP LOCKED: a dead node's backend still
 *    holding them) or a write that landed after it, clock skew between
 *    dtxd's deadlines and the log's now() — anything the rules above do
 *    not foresee.
 * Reading dtx_node (a row per node) is the one statement of a quiet round. */
#define S_SCAN_FULL_ROUNDS 30
#define S_SCAN_FULL_MS 30000

void dtx_recovery_tick(dtx_coord_t *co, int64_t now_ms)
{
    if (co->scan_inflight || now_ms < co->next_scan_ms)
        return;
    co->next_scan_ms = now_ms + co->cfg.recovery_interval_ms;
    int full = now_ms >= co->scan.full_ms;
    dtx_wctx_t *w1 = dtx_wctx_get(co, NULL);
    if (!w1)
        return;
    if (full) {
        int64_t every = (int64_t)S_SCAN_FULL_ROUNDS * co->cfg.recovery_interval_ms;
        co->scan.full_ms = now_ms + (every < S_SCAN_FULL_MS ? every : S_SCAN_FULL_MS);
    }
    w1->arg = full;
    co->scan_inflight++;
    dtx_metrics_recovery_run(&co->metrics, DTX_RECOVERY_NODES);
    dtx_store_submit(co->store, DTX_STORE_SCAN, DTX_SQL_NODES, 0, NULL, NULL, NULL, s_on_nodes,
                     w1);
    if (!full && !co->scan.own_due && now_ms > co->scan.own_until_ms + co->cfg.recovery_interval_ms)
        return;
    dtx_wctx_t *w2 = dtx_wctx_get(co, NULL);
    if (!w2)
        return;
    co->scan.own_due = 0; /* set again by what the scan finds, or by a drop meanwhile */
    char limit[16], grace[24];
    snprintf(limit, sizeof limit, "%d", S_SCAN_LIMIT);
    snprintf(grace, sizeof grace, "%lld", (long long)co->cfg.phase_timeout_ms);
    const char *scan[4] = { limit, grace, co->cfg.node_id, co->epoch_str };
    co->scan_inflight++;
    dtx_metrics_recovery_run(&co->metrics, DTX_RECOVERY_OWN);
    dtx_store_submit(co->store, DTX_STORE_SCAN, DTX_SQL_SCAN, 4, scan, NULL, NULL, s_on_scan, w2);
}
