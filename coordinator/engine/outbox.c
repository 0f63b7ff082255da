/*
 * outbox.c — everything that leaves the coordinator for a peer: messages
 * to a routing id over the ROUTER socket, replies to a request (a ZeroMQ
 * peer, or an admin HTTP request through the hook the admin module
 * registered), errors, refusals, and the answers owed to everyone waiting
 * on a transaction that is dropped from memory.
 *
 * The loop (loop.c) owns the socket and polls it; the engine's modules
 * send through here and never name the loop.
 *
 * BUNDLEs (docs/protocol.md §20): PHASEs for a connection that accepts
 * them (the caller says so: "may bundle"; this file knows no registry)
 * are gathered per routing id for the rest of the loop turn:
 *
 *   (no slot) --PHASE: sent plain at once; ok--> [plain sent] --PHASE-->
 *   [pending: n entries] --PHASE--> n+1 ... --end of turn (dtx_outbox_flush)
 *   or full--> sent (1 entry: plain; more: one BUNDLE) --> [plain sent] /
 *   end of turn: (no slot)
 *
 * Invariants:
 *  - the first PHASE to a routing id in a turn goes plain at once, so a
 *    peer that is gone is still reported (EHOSTUNREACH) to the caller,
 *    which then picks another instance; only later ones wait;
 *  - nothing stays pending past the end of the turn in which it was
 *    queued (loop.c flushes before it waits again);
 *  - a flush that fails loses its frames as a broken connection would
 *    (counted in stats.bundle_lost_frames; the caller was told 0, "sent"):
 *    a Confirm/Cancel is sent again after the phase timeout, a Try or
 *    Prepare is never sent again (docs/protocol.md §11) and counts as a
 *    lost vote at the try timeout — only the first PHASE of a turn to a
 *    connection still gets another instance when the send is refused;
 *  - memory is bounded: at most S_PEERS slots, each a builder whose buffer
 *    (up to S_KEEP_MAX) is kept across turns (no allocation per message
 *    in steady state);
 *    past S_PEERS connections in one turn, PHASEs go plain.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "coord.h"
#include "dtx/bundle.h"
#include "dtx/log.h"
#include "outbox.h"
#include "core/txntable.h"

/* Sends one encoded frame to rid (routing id + frame): 0, or errno. */
static int s_send_frame(dtx_coord_t *co, const uint8_t *rid, size_t rid_len,
                        const uint8_t *frame, size_t len)
{
    co->router_calls++;
    if (zmq_send(co->router, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(co->router, frame, len, ZMQ_DONTWAIT) < 0)
        return errno;
    return 0;
}

int dtx_outbox_send(dtx_coord_t *co, const uint8_t *rid, size_t rid_len, dtx_msg_t *msg)
{
    if (!co->router)
        return DTX_EIO;
    size_t len = 0;
    int rc = dtx_msg_encode(msg, co->sendbuf, DTX_MSG_MAX, &len);
    if (rc != 0) {
        dtx_log_error("cannot encode message", "type=%s error=\"%s\"",
                      dtx_msg_type_name(msg->type), dtx_strerror(rc));
        return rc;
    }
    int e = s_send_frame(co, rid, rid_len, co->sendbuf, len);
    if (e == 0)
        return 0;
    if (e == EHOSTUNREACH)
        return DTX_ENOPARTICIPANT;
    if (e == EAGAIN)
        return DTX_EBUSY;
    dtx_log_warn("send failed", "type=%s error=\"%s\"", dtx_msg_type_name(msg->type),
                 zmq_strerror(e));
    return DTX_EIO;
}

/* --- BUNDLEs of PHASEs --- */

#define S_PEERS 64  /* connections with a slot in one turn */
#define S_KEEP_MAX (64u * 1024) /* a slot's buffer past this is freed after its turn */

typedef struct {
    uint8_t      rid[DTX_ROUTING_ID_MAX]; /* the connection */
    size_t       rid_len;
    dtx_bundle_t b;                       /* its PHASEs waiting for the end of the turn */
} s_slot_t;

struct dtx_outq {
    s_slot_t slots[S_PEERS];
    int      n;                           /* slots in use this turn */
};

int dtx_outbox_init(dtx_coord_t *co)
{
    co->outq = calloc(1, sizeof *co->outq);
    return co->outq ? 0 : DTX_ENOMEM;
}

void dtx_outbox_fini(dtx_coord_t *co)
{
    if (!co->outq)
        return;
    for (int i = 0; i < S_PEERS; i++)
        dtx_bundle_free(&co->outq->slots[i].b);
    free(co->outq);
    co->outq = NULL;
}

/* Sends what slot holds (if anything): one entry plain, more as one
 * BUNDLE. A failure loses them (see the top of this file). */
static void s_flush_slot(dtx_coord_t *co, s_slot_t *slot)
{
    int n = slot->b.n;
    if (n == 0)
        return;
    const uint8_t *frame;
    size_t len;
    dtx_bundle_finish(&slot->b, DTX_MSG_BUNDLE_PHASES, &frame, &len);
    int e = s_send_frame(co, slot->rid, slot->rid_len, frame, len);
    if (e != 0) {
        /* Lost as on a broken connection (the invariants above say what
         * each op then does). */
        co->stats.bundle_lost_frames += (uint64_t)n;
        dtx_log_warn("phases not sent: lost as on a broken connection",
                     "frames=%d error=\"%s\"", n, zmq_strerror(e));
    } else if (n > 1) {
        co->stats.bundles_sent++;
        co->stats.bundle_frames_sent += (uint64_t)n;
    }
    dtx_bundle_reset(&slot->b);
}

static s_slot_t *s_slot_find(struct dtx_outq *q, const uint8_t *rid, size_t rid_len)
{
    for (int i = 0; i < q->n; i++)
        if (q->slots[i].rid_len == rid_len && memcmp(q->slots[i].rid, rid, rid_len) == 0)
            return &q->slots[i];
    return NULL;
}

int dtx_outbox_send_phase(dtx_coord_t *co, const uint8_t *rid, size_t rid_len, dtx_msg_t *msg,
                          int may_bundle)
{
    struct dtx_outq *q = co->outq;
    if (!may_bundle || !q || msg->version != DTX_PROTO_V2 || !co->router ||
        rid_len > DTX_ROUTING_ID_MAX)
        return dtx_outbox_send(co, rid, rid_len, msg);
    s_slot_t *slot = s_slot_find(q, rid, rid_len);
    if (!slot) {
        /* The first this turn: plain and at once, so that a peer gone is
         * known now. */
        int rc = dtx_outbox_send(co, rid, rid_len, msg);
        if (rc == 0 && q->n < S_PEERS) {
            slot = &q->slots[q->n++];
            memcpy(slot->rid, rid, rid_len);
            slot->rid_len = rid_len;
            dtx_bundle_reset(&slot->b);
        }
        return rc;
    }
    int rc = dtx_bundle_add(&slot->b, msg);
    if (rc == DTX_ELIMIT) { /* full: it goes, a new one starts */
        s_flush_slot(co, slot);
        rc = dtx_bundle_add(&slot->b, msg);
    }
    if (rc == 0)
        return 0;
    /* Never fits a BUNDLE (or no memory for one): plain, after the rest. */
    s_flush_slot(co, slot);
    return dtx_outbox_send(co, rid, rid_len, msg);
}

void dtx_outbox_flush(dtx_coord_t *co)
{
    struct dtx_outq *q = co->outq;
    if (!q)
        return;
    for (int i = 0; i < q->n; i++) {
        s_flush_slot(co, &q->slots[i]);
        if (q->slots[i].b.cap > S_KEEP_MAX) /* a burst of big payloads: not kept */
            dtx_bundle_free(&q->slots[i].b);
    }
    q->n = 0;
}

int dtx_outbox_reply(dtx_coord_t *co, const dtx_peer_t *peer, dtx_msg_t *msg)
{
    msg->corr = peer->corr;
    if (peer->kind == DTX_PEER_MULTI) {  /* one branch of a TRY_MANY */
        if (co->hooks.multi_reply)
            co->hooks.multi_reply(co, peer->corr, msg);
        return 0;
    }
    if (peer->kind == DTX_PEER_HTTP) {  /* sees every field, traceparent too */
        if (co->http_reply)
            co->http_reply(co, peer->corr, msg);
        return 0;
    }
    msg->version = peer->version ? peer->version : DTX_PROTO_V1;
    if (msg->version == DTX_PROTO_V1) { /* version 1 has no extensions */
        msg->traceparent[0] = '\0';
        msg->bundle = 0;
    }
    return dtx_outbox_send(co, peer->rid, peer->rid_len, msg);
}

void dtx_outbox_error(dtx_coord_t *co, const dtx_peer_t *peer, int err, const char *fmt, ...)
{
    dtx_msg_t out;
    memset(&out, 0, sizeof out);
    out.type = DTX_MSG_ERROR;
    out.corr = peer->corr;
    out.code = (uint32_t)(err < 0 ? -err : err);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out.text, sizeof out.text, fmt, ap);
    va_end(ap);
    dtx_outbox_reply(co, peer, &out);
}

static void s_refuse(dtx_coord_t *co, const dtx_peer_t *peer, int err, const char *kind,
                     const char *name, const char *fmt, va_list ap)
{
    char text[DTX_TEXT_MAX + 1];
    vsnprintf(text, sizeof text, fmt, ap);
    dtx_log_debug("request refused", "%s=%s text=\"%s\"", kind, name, DTX_Q(text));
    dtx_outbox_error(co, peer, err, "%s", text);
}

void dtx_outbox_refuse_limit(dtx_coord_t *co, const dtx_peer_t *peer, int which,
                             const char *fmt, ...)
{
    dtx_metrics_limited(&co->metrics, which);
    va_list ap;
    va_start(ap, fmt);
    s_refuse(co, peer, DTX_ELIMIT, "limit", dtx_limit_name(which), fmt, ap);
    va_end(ap);
}

void dtx_outbox_refuse_access(dtx_coord_t *co, const dtx_peer_t *peer, int why,
                              const char *fmt, ...)
{
    dtx_metrics_denied(&co->metrics, why);
    va_list ap;
    va_start(ap, fmt);
    s_refuse(co, peer, DTX_EACCES, "reason", dtx_deny_name(why), fmt, ap);
    va_end(ap);
}

void dtx_outbox_state(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_txn_t *txn)
{
    dtx_msg_t out;
    memset(&out, 0, sizeof out);
    out.type = DTX_MSG_STATE;
    out.corr = peer->corr;
    strcpy(out.gid, txn->gid);
    out.state = (uint8_t)txn->state;
    dtx_outbox_reply(co, peer, &out);
}

void dtx_outbox_begun(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_txn_t *txn)
{
    dtx_msg_t out;
    memset(&out, 0, sizeof out);
    out.type = DTX_MSG_BEGIN_OK;
    out.corr = peer->corr;
    strcpy(out.gid, txn->gid);
    out.deadline_ms = (uint64_t)txn->deadline_wall;
    memcpy(out.traceparent, txn->traceparent, sizeof out.traceparent);
    dtx_outbox_reply(co, peer, &out);
}

void dtx_outbox_try_ok(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_txn_t *txn,
                       const dtx_branch_t *br, int outcome)
{
    dtx_msg_t out;
    memset(&out, 0, sizeof out);
    out.type = DTX_MSG_TRY_OK;
    strcpy(out.gid, txn->gid);
    out.branch = br->no;
    out.outcome = (uint8_t)outcome;
    out.state = (uint8_t)txn->state;
    dtx_outbox_reply(co, peer, &out);
}

void dtx_outbox_drop(dtx_coord_t *co, dtx_txn_t *txn, int err, const char *why)
{
    if (txn->dead)
        return;
    dtx_txn_unlink(co->txns, txn);
    /* Whoever still waits hears why. */
    if (err != 0) {
        /* A decision or a Try under way may have taken effect: only the
         * log can say, and STATUS asks it. */
        if (txn->has_decision_waiter)
            dtx_outbox_error(co, &txn->decision_waiter, DTX_EUNKNOWN,
                             "%s (gid %s); the decision may have been recorded: ask STATUS",
                             why, txn->gid);
        for (int i = 0; i < txn->nbranches; i++)
            if (txn->branches[i]->has_waiter)
                dtx_outbox_error(co, &txn->branches[i]->waiter, DTX_EUNKNOWN,
                                 "%s (gid %s); branch %u may have run: ask STATUS", why,
                                 txn->gid, txn->branches[i]->no);
        for (dtx_request_t *r = txn->parked; r; r = r->next)
            dtx_outbox_error(co, &r->peer, r->maybe_done ? DTX_EUNKNOWN : err,
                             "%s (gid %s)%s", why, txn->gid,
                             r->maybe_done ? "; an earlier try of this request may have "
                                             "taken effect: ask STATUS" : "");
    }
    if (co->hooks.left_memory)
        co->hooks.left_memory(co, txn, err);
    dtx_txn_evict(co->txns, txn);
}
