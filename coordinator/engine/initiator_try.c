/*
 * initiator_try.c — TRY: its checks, the branch write, and what follows
 * once the write is durable; also the one write of a batch that is a
 * transaction's first (a TCC_RUN's, docs/protocol.md §19, or a TRY_MANY's
 * on a transaction BEGIN did not write, §18).
 *
 *   TRY (or the n branches of a first-write batch)
 *    │ checks: access, deadline, mode, state, limits — refused: answered,
 *    │ nothing written
 *    ▼
 *   one statement:
 *    - the transaction's first write (txn->unlogged): DTX_SQL_BRANCH_FIRST
 *      inserts the global row with its branch count and the branch rows,
 *      numbered 1..n in the request's order (a TRY: n = 1; a TCC_RUN or
 *      a first TRY_MANY: its batch, so no later update of the global row
 *      counts them);
 *    - later: DTX_SQL_BRANCH_ADD, the count + 1 and one branch row
 *    │ committed
 *    ▼
 *   every branch of the write in memory (TRYING), then each one's Try
 *   sent (TCC; its requester answered once it votes) or TRY_OK (2PC:
 *   enlisted, its work travels with PREPARE)
 *
 * Invariants:
 *  - a branch's Try leaves only once its row is committed;
 *  - every request of a write is answered exactly once: by its branch's
 *    vote (the driver), or here with an error;
 *  - a write that created no row (an id collision, a fence that failed)
 *    leaves nothing of the transaction in memory (it is forgotten), and
 *    no request of it is told its branch was recorded;
 *  - the branches of one write all enter memory before the first Try
 *    leaves, so a vote never finds the batch half known (a TCC_RUN's
 *    commit check, dtx_driver_prepared_check, counts them all).
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord.h"
#include "core/fault.h"
#include "core/txn.h"
#include "core/txntable.h"
#include "driver.h"
#include "dtx/clock.h"
#include "dtx/decimal.h"
#include "dtx/trymany.h"
#include "initiator.h"
#include "initiator_internal.h"
#include "log/batch.h"
#include "log/sql.h"
#include "outbox.h"
#include "wctx.h"

enum { S_BRANCH_WRITE = 2 }; /* wctx kind (initiator_saga.c: S_SAGA_BEGIN 3) */

/* Answers every request of the list reqs with the error (code, text) and
 * frees them. */
static void s_answer_all(dtx_coord_t *co, dtx_request_t *reqs, int code, const char *text)
{
    while (reqs) {
        dtx_request_t *r = reqs;
        reqs = r->next;
        dtx_outbox_error(co, &r->peer, code, "%s", text);
        dtx_request_free(r);
    }
}

/* DTX_SQL_BRANCH_FIRST's branch parameters for the requests of reqs, in
 * buf (reused): the resources, the actions and where each payload ends
 * (array literals, each NUL-terminated), then the payloads one after the
 * other; at[] gets each one's offset in that order, *blob_len the
 * payloads' length. 0 or DTX_ENOMEM. */
static int s_first_params(dtx_text_t *buf, const dtx_request_t *reqs, size_t at[4],
                          int *blob_len)
{
    buf->len = 0;
    buf->failed = 0;
    for (int k = 0; k < 2; k++) {
        at[k] = buf->len;
        dtx_text_append(buf, "{", 1);
        for (const dtx_request_t *r = reqs; r; r = r->next) {
            const char *v = k == 0 ? r->resource : r->action;
            if (dtx_batch_elem(buf, v, (int)strlen(v), 0, r == reqs) != 0)
                return DTX_ENOMEM;
        }
        dtx_text_append(buf, "}", 2); /* and its NUL */
    }
    at[2] = buf->len;
    int64_t end = 0;
    dtx_text_append(buf, "{", 1);
    for (const dtx_request_t *r = reqs; r; r = r->next) {
        char dec[DTX_DEC_SIZE];
        end += r->payload_len;
        dtx_dec_i64(dec, end);
        if (r != reqs)
            dtx_text_append(buf, ",", 1);
        dtx_text_append(buf, dec, strlen(dec));
    }
    dtx_text_append(buf, "}", 2);
    at[3] = buf->len;
    for (const dtx_request_t *r = reqs; r; r = r->next)
        if (r->payload_len)
            dtx_text_append(buf, (const char *)r->payload, r->payload_len);
    *blob_len = (int)end;
    return buf->failed ? DTX_ENOMEM : 0;
}

/* The branch added to memory for req (its number no); NULL on ENOMEM.
 * The payload passes from req to the branch. */
static dtx_branch_t *s_branch_in_memory(dtx_coord_t *co, dtx_txn_t *txn, dtx_request_t *req,
                                        uint32_t no)
{
    dtx_branch_t *br = dtx_txn_add_branch(txn, no);
    if (!br)
        return NULL;
    br->never_sent = 1;
    strcpy(br->resource, req->resource);
    strcpy(br->action, req->action);
    br->payload = req->payload;
    br->payload_len = req->payload_len;
    dtx_txn_payload_add(co->txns, txn, req->payload_len);
    req->payload = NULL;
    return br;
}

/* The recorded branch br of req goes on: its Try leaves (TCC), or TRY_OK
 * (2PC). Takes req. 1 when txn is no longer active (req answered: the
 * caller drives txn). */
static int s_branch_start(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br, dtx_request_t *req)
{
    if (txn->state != DTX_STATE_ACTIVE) {
        /* Decided abort while the insert was in flight: cancel this one too. */
        dtx_outbox_error(co, &req->peer, DTX_ESTATE, "transaction %s is %s, not active",
                         txn->gid, dtx_state_name(txn->state));
        dtx_request_free(req);
        return 1;
    }
    if (txn->mode == DTX_MODE_2PC) {
        /* 2PC: enlisted. The work travels with PREPARE at COMMIT time. */
        br->op = DTX_OP_PREPARE;
        dtx_outbox_try_ok(co, &req->peer, txn, br, DTX_OUTCOME_OK);
        dtx_request_free(req);
        return 0;
    }
    br->waiter = req->peer;
    br->has_waiter = 1;
    dtx_request_free(req);
    dtx_driver_start_try(co, txn, br);
    return 0;
}

/* The write committed with rows for every request (n of them, in reqv; a
 * first write's row k numbered nos[k]): each branch into memory, then
 * each one started. Takes the requests. */
static void s_recorded(dtx_coord_t *co, dtx_txn_t *txn, dtx_request_t **reqv,
                       const uint32_t *nos, int n)
{
    dtx_branch_t *brv[DTX_TRYMANY_MAX];
    dtx_txn_ref(txn); /* a start may drop it: readable until the loop has looked */
    int i = 0, drive = 0;
    for (; i < n; i++) {
        brv[i] = s_branch_in_memory(co, txn, reqv[i], nos[i]);
        if (!brv[i])
            break;
    }
    if (i < n) {
        dtx_outbox_error(co, &reqv[i]->peer, DTX_ENOMEM, "out of memory");
        dtx_outbox_drop(co, txn, DTX_ENOMEM, "out of memory");
    }
    for (int k = 0; k < n; k++) {
        if (k == i) {
            dtx_request_free(reqv[k]); /* answered above */
        } else if (txn->dead) {
            dtx_outbox_error(co, &reqv[k]->peer, DTX_EUNKNOWN,
                             "branch recorded but transaction %s left memory before its try "
                             "was sent; ask STATUS (a COMMIT now aborts it)", txn->gid);
            dtx_request_free(reqv[k]);
        } else {
            drive |= s_branch_start(co, txn, brv[k], reqv[k]);
        }
    }
    if (drive && !txn->dead)
        dtx_driver_drive(co, txn);
    dtx_txn_unref(txn);
}

static void s_on_branch_write(void *p, int rc, const PGresult *res)
{
    dtx_wctx_t *w = p;
    dtx_coord_t *co = w->co;
    dtx_txn_t *txn = w->txn;
    dtx_request_t *reqs = w->req;
    int first = w->arg; /* it also created the global row */
    int keyed = txn->keyed; /* read while the reference holds it */
    char gid[DTX_NAME_SIZE], text[DTX_TEXT_MAX];
    w->req = NULL;
    strcpy(gid, reqs->gid);
    dtx_request_t *reqv[DTX_TRYMANY_MAX];
    int n = 0;
    for (dtx_request_t *r = reqs; r; r = r->next) {
        reqv[n++] = r;
        co->try_payload_inflight -= r->payload_len;
        txn->pending_payload -= (int64_t)r->payload_len;
    }
    txn->pending_branches -= n;
    int rows = rc == 0 ? PQntuples(res) : 0;
    int alive = dtx_wctx_put(w); /* 0: txn evicted, not to be touched */
    if (!alive && keyed && first && rc == 0 && rows == 0) {
        /* Dropped meanwhile (a recovery scan claimed the id's row, which
         * this write found): still a repeat. */
        snprintf(text, sizeof text, "transaction %s is in the log already", gid);
        s_answer_all(co, reqs, DTX_COORD_ETAKEN, text);
        return;
    }
    if (!alive) {
        if (rc == 0 && rows == n)
            snprintf(text, sizeof text, "branch recorded but transaction %s left memory before "
                     "its try was sent; ask STATUS (a COMMIT now aborts it)", gid);
        else if (rc == DTX_EUNKNOWN)
            snprintf(text, sizeof text, "the branch write of %s was lost with its connection "
                     "(it may be recorded); ask STATUS, do not repeat the TRY", gid);
        else
            snprintf(text, sizeof text, "transaction %s left memory; the branch was not "
                     "recorded", gid);
        s_answer_all(co, reqs, rc == 0 && rows == n ? DTX_EUNKNOWN
                               : rc == DTX_EUNKNOWN ? DTX_EUNKNOWN
                               : rc != 0 ? DTX_EDB : DTX_ESTATE, text);
        return;
    }
    if (rc != 0) {
        /* Lost in flight (a failover, a crash): the branch may be durable,
         * and a TRY repeated on that word would add a second one — the
         * initiator hears that it cannot be known (ERROR 20, protocol
         * §14.5). Known not written: ERROR 10, nothing happened. */
        if (rc == DTX_EUNKNOWN)
            snprintf(text, sizeof text, "the branch write of %s was lost with its connection "
                     "(it may be recorded); ask STATUS, do not repeat the TRY", gid);
        else
            snprintf(text, sizeof text, "could not record the branch (gid %s)", gid);
        s_answer_all(co, reqs, rc == DTX_EUNKNOWN ? DTX_EUNKNOWN : DTX_EDB, text);
        dtx_initiator_forget(co, txn, "a log write failed");
        return;
    }
    /* Which request each row is: a first write numbers the branches 1..n
     * in the request's order; a later one (n = 1) gets the next number. */
    uint32_t nos[DTX_TRYMANY_MAX];
    int seen = 0, ok = rows == n;
    for (int k = 0; ok && k < n; k++) {
        uint32_t no = (uint32_t)strtoul(PQgetvalue(res, k, 0), NULL, 10);
        ok = !first || (no >= 1 && no <= (uint32_t)n && !(seen & 1 << (no - 1)));
        if (!ok)
            break;
        seen |= first ? 1 << (no - 1) : 0;
        nos[first ? (int)no - 1 : k] = no;
    }
    if (!ok && first && rows == 0 && txn->keyed) {
        /* The initiator's gid was in the log already: a repeat of a
         * TCC_RUN that this node no longer (or never) held. The copy in
         * memory goes first, so that the collector finds the log's. */
        snprintf(text, sizeof text, "transaction %s is in the log already", gid);
        txn->unlogged = 1; /* this copy wrote nothing: the recovery scan need not look */
        dtx_initiator_forget_as(co, txn, DTX_ESTATE, "its id was in the log already");
        s_answer_all(co, reqs, DTX_COORD_ETAKEN, text);
        return;
    }
    if (!ok && first && rows == 0) {
        /* The gid was in the log already: not this transaction's row. */
        snprintf(text, sizeof text, "could not record the branch: transaction id %s is taken; "
                 "begin again", gid);
        s_answer_all(co, reqs, DTX_EDB, text);
        dtx_initiator_forget(co, txn, "its id was in the log already");
        return;
    }
    if (!ok && first) {
        /* Not what the statement returns: what landed cannot be known. */
        snprintf(text, sizeof text, "the branch write of %s returned %d rows for %d branches; "
                 "ask STATUS", gid, rows, n);
        s_answer_all(co, reqs, DTX_EUNKNOWN, text);
        dtx_initiator_forget(co, txn, "a branch write returned what it cannot");
        return;
    }
    if (!ok) {
        /* Not active, or not ours any more: memory was stale. Read the log
         * again (once) and answer from what it says. */
        dtx_initiator_forget(co, txn, "the log changed under this coordinator");
        dtx_initiator_rerun(co, reqs, "the transaction is no longer active here");
        return;
    }
    dtx_fault_point("after-branch-write");
    s_recorded(co, txn, reqv, nos, n);
}

/* The write of the n branches of reqs (a list; taken): every request
 * answered, now (out of memory) or from s_on_branch_write. */
static void s_write(dtx_coord_t *co, dtx_txn_t *txn, dtx_request_t *reqs, int n)
{
    size_t at[4];
    int blob = 0, first = txn->unlogged;
    dtx_wctx_t *w = dtx_fault_fail("fail-branch-write") ? NULL : dtx_wctx_get(co, txn);
    if (w && first && s_first_params(&co->first_params, reqs, at, &blob) != 0) {
        dtx_wctx_put(w);
        w = NULL;
    }
    if (!w) {
        s_answer_all(co, reqs, DTX_ENOMEM, "out of memory");
        return;
    }
    w->kind = S_BRANCH_WRITE;
    w->req = reqs;
    w->arg = first;
    for (dtx_request_t *r = reqs; r; r = r->next) {
        co->try_payload_inflight += r->payload_len;
        txn->pending_payload += (int64_t)r->payload_len;
    }
    txn->pending_branches += n;
    /* Later branches (even while this write is in flight: same
     * connection, in order) find the global row there. */
    txn->unlogged = 0;
    if (!first) {
        const char *vals[7] = { txn->gid, reqs->resource, reqs->action,
                                reqs->payload ? (const char *)reqs->payload : "",
                                co->cfg.node_id, co->epoch_str, txn->gen };
        int lens[7] = { 0, 0, 0, (int)reqs->payload_len, 0, 0, 0 };
        int fmts[7] = { 0, 0, 0, 1, 0, 0, 0 };
        dtx_store_submit(co->store, txn->shard, DTX_SQL_BRANCH_ADD, 7, vals, lens, fmts,
                         s_on_branch_write, w);
        return;
    }
    char mode[DTX_DEC_SIZE], deadline[DTX_DEC_SIZE];
    dtx_dec_i64(mode, txn->mode);
    dtx_dec_i64(deadline, txn->deadline_wall);
    const char *p = co->first_params.data;
    const char *vals[12] = { txn->gid, p + at[0], p + at[1], p + at[3], co->cfg.node_id,
                             co->epoch_str, mode, deadline, txn->initiator, txn->traceparent,
                             txn->preparing ? "true" : "false", p + at[2] };
    int lens[12] = { 0, 0, 0, blob, 0, 0, 0, 0, 0, 0, 0, 0 };
    int fmts[12] = { 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0 };
    dtx_store_submit(co->store, txn->shard, DTX_SQL_BRANCH_FIRST, 12, vals, lens, fmts,
                     s_on_branch_write, w);
}

void dtx_initiator_try(dtx_coord_t *co, dtx_txn_t *txn, dtx_request_t *req)
{
    if (!dtx_initiator_may_change(co, txn, req)) {
        dtx_request_free(req);
        return;
    }
    /* Past the deadline a TRY gets ERROR 15 (protocol.md §5.1), whether the
     * abort the deadline causes is already recorded (the usual case: the
     * timer got there first) or not yet. A transaction decided commit
     * before its deadline is simply not active: ERROR 7 below. */
    int committed = txn->state == DTX_STATE_COMMITTING || txn->state == DTX_STATE_COMMITTED ||
                    (txn->state == DTX_STATE_STUCK && txn->decision == DTX_STATE_COMMITTING);
    if (dtx_clock_mono_ms() >= txn->deadline_mono && !committed) {
        dtx_outbox_error(co, &req->peer, DTX_EEXPIRED, "transaction %s passed its deadline (%s)",
                         txn->gid, dtx_state_name(txn->state));
        dtx_request_free(req);
        return;
    }
    if (txn->mode == DTX_MODE_SAGA || txn->mode == DTX_MODE_MSG) {
        dtx_outbox_error(co, &req->peer, DTX_ESTATE,
                         txn->mode == DTX_MODE_SAGA
                             ? "transaction %s is a saga: its steps are the ones its plan gave"
                             : "transaction %s is a message: its destinations are the ones "
                               "its TMSG gave",
                         txn->gid);
        dtx_request_free(req);
        return;
    }
    if (txn->state == DTX_STATE_ACTIVE && !txn->owned) {
        dtx_outbox_error(co, &req->peer, DTX_ESTATE,
                         "transaction %s is driven by another coordinator", txn->gid);
        dtx_request_free(req);
        return;
    }
    if (txn->state != DTX_STATE_ACTIVE) {
        dtx_outbox_error(co, &req->peer, DTX_ESTATE, "transaction %s is %s, not active",
                         txn->gid, dtx_state_name(txn->state));
        dtx_request_free(req);
        return;
    }
    if (co->cfg.max_branches > 0 &&
        txn->nbranches + txn->pending_branches >= co->cfg.max_branches) {
        dtx_outbox_refuse_limit(co, &req->peer, DTX_LIMIT_BRANCHES,
                  "transaction %s has %d branches (max-branches)", txn->gid,
                  txn->nbranches + txn->pending_branches);
        dtx_request_free(req);
        return;
    }
    if (co->cfg.max_txn_payload > 0 &&
        txn->payload_bytes + txn->pending_payload + (int64_t)req->payload_len >
            co->cfg.max_txn_payload) {
        dtx_outbox_refuse_limit(co, &req->peer, DTX_LIMIT_TXN_PAYLOAD,
                  "transaction %s would hold more than %lld payload bytes (max-txn-payload)",
                  txn->gid, (long long)co->cfg.max_txn_payload);
        dtx_request_free(req);
        return;
    }
    if (co->cfg.max_payload > 0 && dtx_txn_payload_total(co->txns) + co->try_payload_inflight +
                                           (int64_t)req->payload_len > co->cfg.max_payload) {
        dtx_outbox_refuse_limit(co, &req->peer, DTX_LIMIT_PAYLOAD,
                  "payload in memory at its limit (max-payload %lld bytes): retry after %d ms",
                  (long long)co->cfg.max_payload, DTX_RETRY_AFTER_MS);
        dtx_request_free(req);
        return;
    }
    req->next = NULL;
    s_write(co, txn, req, 1);
}

void dtx_initiator_try_first(dtx_coord_t *co, dtx_txn_t *txn, dtx_request_t *reqs)
{
    int n = 0;
    for (const dtx_request_t *r = reqs; r; r = r->next)
        n++;
    assert(txn->unlogged && txn->state == DTX_STATE_ACTIVE && n >= 1 && n <= DTX_TRYMANY_MAX);
    if (dtx_clock_mono_ms() >= txn->deadline_mono) {
        char text[DTX_TEXT_MAX];
        snprintf(text, sizeof text, "transaction %s passed its deadline (%s)", txn->gid,
                 dtx_state_name(txn->state));
        s_answer_all(co, reqs, DTX_EEXPIRED, text);
        return;
    }
    s_write(co, txn, reqs, n);
}

void dtx_initiator_try_init(dtx_coord_t *co)
{
    co->hooks.try_one = dtx_initiator_try;
}
