/*
 * initiator_saga.c — SAGA: an initiator submits a Saga's whole plan
 * (docs/sagas.md; core/txn.h has its states, core/saga.h what runs next).
 *
 *   SAGA  check limits → insert the transaction (mode saga, ACTIVE) with
 *         every step, one statement → BEGIN_OK; the driver then runs the
 *         actions.
 * TRY, COMMIT and ROLLBACK of a Saga go through initiator.c.
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
#include "dtx/saga.h"
#include "dtx/trace.h"
#include "driver.h"
#include "initiator_saga.h"
#include "log/sql.h"
#include "admit.h"
#include "outbox.h"
#include "wctx.h"

enum { S_SAGA_BEGIN = 3 }; /* wctx kind (initiator_try.c: S_BRANCH_WRITE 2) */

static void s_on_saga_begin(void *p, int rc, const PGresult *res)
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
            /* It may be durable: then it runs (recovery finds it). */
            dtx_outbox_error(co, peer, DTX_EUNKNOWN,
                             "the plan write of saga %s was lost with its connection (it may "
                             "be recorded and then runs); ask STATUS %s, do not submit it again",
                             gid, gid);
        else
            dtx_outbox_error(co, peer, DTX_EDB, "could not record the saga's plan");
        return;
    }
    txn->loading = 0;
    co->stats.begun++;
    dtx_fault_point("after-saga-write");
    dtx_outbox_begun(co, peer, txn);
    dtx_log_info("saga begun", "gid=%s steps=%d trace=%.32s", txn->gid, txn->nbranches,
                 DTX_TXN_TRACE(txn));
    dtx_driver_drive(co, txn); /* the first actions leave now */
    if (!txn->dead)
        co->hooks.replay_parked(co, txn);
}

void dtx_initiator_saga(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_ident_t *id,
                        const dtx_msg_t *msg)
{
    if (dtx_admit_new_txn(co, peer) != 0)
        return;
    int64_t timeout = msg->timeout_ms ? (int64_t)msg->timeout_ms : co->cfg.default_timeout_ms;
    if (dtx_admit_timeout(co, peer, timeout) != 0)
        return;
    dtx_saga_plan_t *plan = malloc(sizeof *plan);
    if (!plan) {
        dtx_outbox_error(co, peer, DTX_ENOMEM, "out of memory");
        return;
    }
    char why[160];
    if (dtx_saga_plan_decode(plan, msg->payload, msg->payload_len, why, sizeof why) != 0) {
        /* The codec checked it already; kept as a guard. */
        dtx_outbox_error(co, peer, DTX_EPROTO, "%s", why);
        free(plan);
        return;
    }
    int64_t bytes = 0;
    for (int i = 0; i < plan->nsteps; i++)
        bytes += plan->steps[i].payload_len;
    char gid[DTX_NAME_SIZE];
    if (dtx_admit_plan(co, peer, "a saga of", plan->nsteps, "steps", "a saga", bytes) != 0 ||
        dtx_admit_gid(co, peer, NULL, gid) != 0) {
        free(plan);
        return;
    }
    /* The steps as JSON (names need no escaping: [A-Za-z0-9._:-]): at
     * most 3 names, 64 dependencies and a few numbers a step. */
    size_t cap = (size_t)plan->nsteps * (3 * DTX_NAME_SIZE + DTX_SAGA_STEPS_MAX * 4 + 96) + 4;
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
    dtx_txn_start(txn, DTX_MODE_SAGA);
    txn->owned = 1;
    strcpy(txn->gen, "0");
    txn->loading = 1; /* not durable yet: requests for it wait */
    txn->deadline_wall = dtx_clock_wall_ms() + timeout;
    txn->deadline_mono = dtx_clock_mono_ms() + timeout;
    txn->begun_ms = dtx_clock_mono_ms();
    size_t jp = 0, at = 0;
    json[jp++] = '[';
    for (int i = 0; i < plan->nsteps; i++) {
        const dtx_saga_step_t *st = &plan->steps[i];
        dtx_branch_t *br = dtx_txn_add_branch(txn, (uint32_t)i + 1);
        if (!br || !(br->step = calloc(1, sizeof *br->step)) ||
            (st->payload_len && !(br->payload = malloc(st->payload_len)))) {
            dtx_wctx_put(w);
            goto nomem;
        }
        br->never_sent = 1;
        br->op = DTX_OP_ACTION;
        strcpy(br->resource, st->resource);
        strcpy(br->action, st->action);
        strcpy(br->step->undo, st->compensation);
        br->step->flags = st->flags;
        br->step->nafter = (uint8_t)dtx_saga_plan_deps(plan, i + 1, br->step->after);
        if (st->payload_len)
            memcpy(br->payload, st->payload, st->payload_len);
        br->payload_len = st->payload_len;
        dtx_txn_payload_add(co->txns, txn, st->payload_len);
        jp += (size_t)sprintf(json + jp, "%s{\"n\":%d,\"r\":\"%s\",\"a\":\"%s\",\"u\":\"%s\","
                              "\"f\":%u,\"o\":%zu,\"l\":%u,\"d\":\"{", i ? "," : "", i + 1,
                              st->resource, st->action, st->compensation, st->flags, at,
                              st->payload_len);
        for (int k = 0; k < br->step->nafter; k++)
            jp += (size_t)sprintf(json + jp, "%s%u", k ? "," : "", br->step->after[k]);
        jp += (size_t)sprintf(json + jp, "}\"}");
        if (st->payload_len)
            memcpy(blob + at, st->payload, st->payload_len);
        at += st->payload_len;
    }
    sprintf(json + jp, "]");
    w->kind = S_SAGA_BEGIN;
    w->peer = *peer;
    w->has_peer = 1;
    char deadline[24];
    snprintf(deadline, sizeof deadline, "%lld", (long long)txn->deadline_wall);
    const char *vals[8] = { gid,  deadline, co->cfg.node_id, co->epoch_str, txn->initiator,
                            txn->traceparent, json, (const char *)blob };
    int lengths[8] = { 0, 0, 0, 0, 0, 0, 0, (int)at };
    int formats[8] = { 0, 0, 0, 0, 0, 0, 0, 1 };
    dtx_store_submit(co->store, txn->shard, DTX_SQL_SAGA_BEGIN, 8, vals, lengths, formats,
                     s_on_saga_begin, w);
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
