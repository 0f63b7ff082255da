/*
 * initiator_msg.c — TMSG: an initiator prepares a transactional message
 * (core/tmsg.h has its life, docs/sagas.md how to use it).
 *
 *   TMSG  check limits → insert the message (mode msg, ACTIVE, its
 *         destinations TRIED, its check-back resource) in one statement →
 *         BEGIN_OK. A resource with no live instance now is logged, not
 *         refused: the service must not stop because a consumer is away.
 * Then the service commits its local transaction with the outbox row and
 * sends COMMIT (the submit), or ROLLBACK; both go through initiator.c as
 * for any transaction. A destination that is away gets its delivery when
 * it is back (or the message ends stuck, naming it, past the retry
 * budget).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord.h"
#include "core/fault.h"
#include "core/txn.h"
#include "core/txntable.h"
#include "dtx/clock.h"
#include "dtx/id.h"
#include "dtx/log.h"
#include "dtx/tmsg.h"
#include "dtx/trace.h"
#include "core/tmsg.h"
#include "driver.h"
#include "initiator_msg.h"
#include "log/sql.h"
#include "admit.h"
#include "outbox.h"
#include "wctx.h"

static void s_on_tmsg_begin(void *p, int rc, const PGresult *res)
{
    dtx_wctx_t w;
    if (!dtx_wctx_take(p, &w))
        return;
    dtx_coord_t *co = w.co;
    dtx_txn_t *txn = w.txn;
    const dtx_peer_t *peer = &w.peer;
    if (rc != 0 || atoi(PQcmdTuples((PGresult *)res)) != txn->nbranches) {
        char gid[DTX_NAME_SIZE];
        snprintf(gid, sizeof gid, "%s", txn->gid);
        dtx_outbox_drop(co, txn, 0, NULL);
        if (rc == DTX_EUNKNOWN)
            /* It may be durable: then its check-back decides it. */
            dtx_outbox_error(co, peer, DTX_EUNKNOWN,
                             "the write of message %s was lost with its connection (if it is "
                             "recorded, its check-back decides it); ask STATUS %s",
                             gid, gid);
        else
            dtx_outbox_error(co, peer, DTX_EDB, "could not record the message");
        return;
    }
    txn->loading = 0;
    co->stats.begun++;
    dtx_fault_point("after-tmsg-write");
    dtx_outbox_begun(co, peer, txn);
    dtx_log_info("message prepared", "gid=%s destinations=%d checkback=%s trace=%.32s",
                 txn->gid, txn->nbranches, txn->checkback->resource, DTX_TXN_TRACE(txn));
    dtx_driver_reschedule(co, txn);
    co->hooks.replay_parked(co, txn);
}

/* Limits. 0, or an answer was sent. */
static int s_admit(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_tmsg_plan_t *plan,
                   int64_t timeout)
{
    if (dtx_admit_new_txn(co, peer) != 0)
        return -1;
    if (dtx_admit_timeout(co, peer, timeout) != 0)
        return -1;
    int64_t bytes = 0;
    for (int i = 0; i < plan->ndests; i++)
        bytes += plan->dests[i].payload_len;
    if (dtx_admit_plan(co, peer, "a message to", plan->ndests, "destinations", "a message",
                       bytes) != 0)
        return -1;
    /* No live instance is no refusal: an outbox must not stop its service
     * because a consumer is away (its delivery waits for it, and a name
     * no one serves shows in its branch's last error and ends stuck). */
    for (int i = -1; i < plan->ndests; i++) {
        const char *r = i < 0 ? plan->checkback : plan->dests[i].resource;
        if (dtx_registry_count(co->registry, r) == 0)
            dtx_log_warn("message names a resource with no live instance now",
                         "resource=%s role=%s", r, i < 0 ? "check-back" : "destination");
    }
    return 0;
}

void dtx_initiator_tmsg(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_ident_t *id,
                        const dtx_msg_t *msg)
{
    int64_t timeout = msg->timeout_ms ? (int64_t)msg->timeout_ms : co->cfg.default_timeout_ms;
    dtx_tmsg_plan_t *plan = malloc(sizeof *plan);
    if (!plan) {
        dtx_outbox_error(co, peer, DTX_ENOMEM, "out of memory");
        return;
    }
    char why[160];
    if (dtx_tmsg_plan_decode(plan, msg->payload, msg->payload_len, why, sizeof why) != 0) {
        dtx_outbox_error(co, peer, DTX_EPROTO, "%s", why); /* the codec checked it: a guard */
        free(plan);
        return;
    }
    if (s_admit(co, peer, plan, timeout) != 0) {
        free(plan);
        return;
    }
    char gid[DTX_NAME_SIZE];
    if (dtx_admit_gid(co, peer, NULL, gid) != 0) {
        free(plan);
        return;
    }
    int64_t bytes = 0;
    for (int i = 0; i < plan->ndests; i++)
        bytes += plan->dests[i].payload_len;
    /* Names need no escaping in JSON: [A-Za-z0-9._:-]. */
    size_t cap = (size_t)plan->ndests * (2 * DTX_NAME_SIZE + 80) + 4;
    char *json = malloc(cap);
    uint8_t *blob = malloc(bytes ? (size_t)bytes : 1);
    dtx_txn_t *txn = NULL;
    dtx_wctx_t *w = NULL;
    if (json && blob)
        txn = dtx_txn_create(co->txns, gid);
    if (txn)
        w = dtx_wctx_get(co, txn);
    if (!w)
        goto nomem;
    snprintf(txn->initiator, sizeof txn->initiator, "%s", id->principal);
    if (msg->traceparent[0])
        memcpy(txn->traceparent, msg->traceparent, sizeof txn->traceparent);
    else
        dtx_trace_new(txn->traceparent);
    dtx_txn_start(txn, DTX_MODE_MSG);
    txn->owned = 1;
    strcpy(txn->gen, "0");
    txn->loading = 1; /* not durable yet: requests for it wait */
    txn->deadline_wall = dtx_clock_wall_ms() + timeout;
    txn->deadline_mono = dtx_clock_mono_ms() + timeout;
    txn->begun_ms = dtx_clock_mono_ms();
    if (dtx_tmsg_attach(txn, plan->checkback) != 0) {
        dtx_wctx_put(w);
        goto nomem;
    }
    size_t jp = 0, at = 0;
    json[jp++] = '[';
    for (int i = 0; i < plan->ndests; i++) {
        const dtx_tmsg_dest_t *d = &plan->dests[i];
        dtx_branch_t *br = dtx_txn_add_branch(txn, (uint32_t)i + 1);
        if (!br || (d->payload_len && !(br->payload = malloc(d->payload_len)))) {
            dtx_wctx_put(w);
            goto nomem;
        }
        dtx_branch_enter(br, DTX_BRANCH_TRIED); /* nothing to vote on */
        br->op = DTX_OP_DELIVER;
        strcpy(br->resource, d->resource);
        strcpy(br->action, d->action);
        if (d->payload_len)
            memcpy(br->payload, d->payload, d->payload_len);
        br->payload_len = d->payload_len;
        dtx_txn_payload_add(co->txns, txn, d->payload_len);
        jp += (size_t)snprintf(json + jp, cap - jp,
                               "%s{\"n\":%d,\"r\":\"%s\",\"a\":\"%s\",\"o\":%zu,\"l\":%u}",
                               i ? "," : "", i + 1, d->resource, d->action, at, d->payload_len);
        if (d->payload_len)
            memcpy(blob + at, d->payload, d->payload_len);
        at += d->payload_len;
    }
    snprintf(json + jp, cap - jp, "]");
    w->peer = *peer;
    w->has_peer = 1;
    char deadline[24];
    snprintf(deadline, sizeof deadline, "%lld", (long long)txn->deadline_wall);
    const char *vals[9] = { gid, deadline, co->cfg.node_id, co->epoch_str, txn->initiator,
                            txn->traceparent, plan->checkback, json, (const char *)blob };
    int lengths[9] = { 0, 0, 0, 0, 0, 0, 0, 0, (int)at };
    int formats[9] = { 0, 0, 0, 0, 0, 0, 0, 0, 1 };
    dtx_store_submit(co->store, txn->shard, DTX_SQL_TMSG_BEGIN, 9, vals, lengths, formats,
                     s_on_tmsg_begin, w);
    txn = NULL;
nomem:
    if (txn) {
        dtx_outbox_drop(co, txn, 0, NULL);
        dtx_outbox_error(co, peer, DTX_ENOMEM, "out of memory");
    } else if (!w) {
        dtx_outbox_error(co, peer, DTX_ENOMEM, "out of memory");
    }
    free(json);
    free(blob);
    free(plan);
}
