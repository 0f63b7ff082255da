/*
 * participant_recv.c — what a coordinator sends a participant of libdtx:
 * a PHASE runs the handler of its op and is answered, REGISTER_OK and
 * HEARTBEAT_OK refresh a link's registration (participant_link.c holds its
 * states), an ERROR may start a new round or mark a refusal.
 *
 * Invariants:
 *  - every PHASE that decodes gets exactly one PHASE_REPLY on the link it
 *    came from, duplicates included (handlers are idempotent through the
 *    barrier; the coordinator matches replies by corr/gid/branch/op/attempt);
 *  - a PHASE goes to the handler of its op: try/confirm/cancel to the
 *    resource's TCC handlers, prepare/commit/abort to its 2PC handlers; a
 *    resource without a handler for the op answers FAILED (so the
 *    coordinator retries or counts a no vote), never drops the PHASE;
 *  - a BUNDLE of PHASEs is its entries, each handled as if it came alone;
 *    replies to what one pass read go in one BUNDLE when the link's
 *    coordinator accepts them (participant_link.c), else one by one; a
 *    queued reply never waits for a handler once handlers are slow (the
 *    last one ran DTX_REPLY_HOLD_US) nor once it waited that long itself,
 *    so a reply waits at most that plus one handler's run;
 *  - nothing is allocated per message: one receive buffer of DTX_MSG_MAX,
 *    replies are encoded on the stack or into the link's reused BUNDLE
 *    (they carry no payload);
 *  - a malformed frame is logged and dropped, never fatal;
 */
#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "dtx/clock.h"
#include "dtx/curve.h"
#include "dtx/dtx.h"
#include "dtx/id.h"
#include "dtx/log.h"
#include "dtx/proto.h"
#include "participant_timing.h"
#include "sdk_internal.h"
#include "participant_int.h"

/* The index of resource name in self->resources, or -1 (an index, not an
 * error code) when it is not served. */
static int s_find_resource(const dtx_participant_t *self, const char *name)
{
    for (int i = 0; i < self->nresources; i++)
        if (strcmp(self->resources[i].name, name) == 0)
            return i;
    return -1;
}

/* Notes which coordinator answers on link. Returns 1 when it is not the
 * one that acknowledged us before (a restart, or another instance behind
 * the endpoint): a new registration round has then been started. */
static int s_note_coordinator(dtx_participant_t *self, struct coord_link *link, int64_t now)
{
    const char *name = self->msg.coordinator;
    link->last_ok_ms = now;
    if (link->coordinator[0] && strcmp(link->coordinator, name) != 0) {
        dtx_log_info("coordinator changed, registering again",
                     "instance=%s endpoint=%s was=%s now=%s",
                     self->instance, link->endpoint, link->coordinator, name);
        dtx_name_copy(link->coordinator, name);
        dtx_plink_round_start(self, link, now);
        return 1;
    }
    if (!link->coordinator[0])
        dtx_name_copy(link->coordinator, name);
    return 0;
}

static void s_on_register_ok(dtx_participant_t *self, struct coord_link *link, int64_t now)
{
    int bundle = self->msg.bundle; /* the coordinator accepts BUNDLEs of replies */
    int changed = s_note_coordinator(self, link, now);
    link->coord_bundle = bundle; /* the latest REGISTER_OK's word, also after a new round */
    if (changed)
        return;
    if (self->msg.heartbeat_ms != link->coordinator_hb_ms &&
        self->msg.heartbeat_ms > 0 &&
        (self->msg.heartbeat_ms < DTX_HEARTBEAT_MIN_MS || self->msg.heartbeat_ms > DTX_HEARTBEAT_MAX_MS))
        dtx_log_warn("coordinator heartbeat interval out of bounds, clamped",
                     "instance=%s endpoint=%s asked_ms=%u used_ms=%d min_ms=%d max_ms=%d",
                     self->instance, link->endpoint, (unsigned)self->msg.heartbeat_ms,
                     dtx_participant_link_interval(self->heartbeat_ms, self->msg.heartbeat_ms),
                     DTX_HEARTBEAT_MIN_MS, DTX_HEARTBEAT_MAX_MS);
    link->coordinator_hb_ms = self->msg.heartbeat_ms;
    int i = s_find_resource(self, self->msg.resource);
    if (i < 0) {
        dtx_log_warn("registration acknowledged for a resource not served",
                     "instance=%s endpoint=%s resource=%s",
                     self->instance, link->endpoint, self->msg.resource);
        return;
    }
    link->acked[i] = 1;
    link->refused = 0;
    if (link->registered || link->pending)
        return;
    for (int r = 0; r < self->nresources; r++)
        if (!link->acked[r])
            return;
    link->registered = 1;
    dtx_log_info("registered", "instance=%s endpoint=%s coordinator=%s resources=%d",
                 self->instance, link->endpoint, link->coordinator, self->nresources);
}

/* The coordinator's text made safe for a key="value" log field: no quote,
 * backslash or control character can end the field or the line. */
static void s_log_text(char *out, size_t cap, const char *text)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p && n + 1 < cap; p++)
        out[n++] = (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\') ? '?' : (char)*p;
    out[n] = '\0';
}

static int s_in_range(uint64_t corr, uint64_t first, uint64_t last)
{
    return last != 0 && (int64_t)(corr - first) >= 0 && (int64_t)(corr - last) <= 0;
}

/* corr is that of a REGISTER of the latest two rounds (a round may start
 * while the answers to the one before are on their way): an ERROR with it
 * answers a registration attempt. Corrs of 0 mean "no such round yet". */
static int s_answers_round(const struct coord_link *link, uint64_t corr)
{
    return s_in_range(corr, link->round_corr, link->round_last_corr) ||
           s_in_range(corr, link->prev_round_corr, link->prev_round_last_corr);
}

static void s_on_error(dtx_participant_t *self, struct coord_link *link, int64_t now)
{
    const dtx_msg_t *m = &self->msg;
    if (m->code == (uint32_t)-DTX_EUNREGISTERED) {
        /* Nothing new when a round is already on its way, when this
         * answers a message sent before the latest round, when a round
         * started less than an interval ago, or when the coordinator
         * refused our registration: the silence timer sends the next
         * round then (a coordinator refusing registration must not make
         * us spin). */
        if (link->pending || link->refused || (int64_t)(m->corr - link->round_corr) < 0 ||
            now - link->last_round_ms < dtx_plink_interval(self, link))
            return;
        dtx_log_info("coordinator does not know this instance, registering again",
                     "instance=%s endpoint=%s", self->instance, link->endpoint);
        dtx_plink_round_start(self, link, now);
        return;
    }
    if (m->code == (uint32_t)-DTX_EVERSION && link->version > DTX_PROTO_V1 &&
        s_answers_round(link, m->corr)) {
        /* A coordinator that speaks only version 1 did not act on our
         * REGISTER: register again in version 1 (its PHASEs carry no
         * trace then). */
        dtx_log_info("coordinator speaks protocol version 1 only: using it (no trace context)",
                     "instance=%s endpoint=%s", self->instance, link->endpoint);
        link->version = DTX_PROTO_V1;
        dtx_plink_round_start(self, link, now);
        return;
    }
    char text[DTX_TEXT_MAX + 1];
    s_log_text(text, sizeof text, m->text);
    if (s_answers_round(link, m->corr)) {
        /* One line per round, however many resources it registered. */
        link->refused = 1;
        link->registered = 0;
        if (!link->refusal_logged)
            dtx_log_error("coordinator refused registration",
                          "instance=%s endpoint=%s code=%u error=\"%s\" reason=\"%s\"",
                          self->instance, link->endpoint, (unsigned)m->code,
                          dtx_strerror(-(int)m->code), text);
        link->refusal_logged = 1;
        return;
    }
    dtx_log_warn("coordinator reported an error",
                 "instance=%s endpoint=%s code=%u error=\"%s\" reason=\"%s\"",
                 self->instance, link->endpoint, (unsigned)m->code, dtx_strerror(-(int)m->code),
                 text);
}

/* A handler's dtx_call_t and what dtx_call_traceparent reads beside it
 * (dtx_call_t's layout is part of the ABI: new per-call data lives here,
 * behind accessors). */
#define S_CALL_MAGIC 0x64747863u /* "dtxc": a call this file made */
typedef struct {
    dtx_call_t  call;         /* first: a handler's pointer is this struct's */
    uint32_t    magic;        /* S_CALL_MAGIC */
    const char *traceparent;  /* the PHASE's, "" none */
} s_traced_call_t;

const char *dtx_call_traceparent(const dtx_call_t *call)
{
    assert(call);
    const s_traced_call_t *t = (const s_traced_call_t *)(const void *)call;
    assert(t->magic == S_CALL_MAGIC); /* a handler's call, not a copy */
    return t->traceparent;
}

/* Runs the handler of a PHASE and answers it. */
static int s_on_phase(dtx_participant_t *self, struct coord_link *link)
{
    const dtx_msg_t *m = &self->msg;
    int outcome = DTX_OUTCOME_FAILED;
    int i = s_find_resource(self, m->resource);
    dtx_handler_fn fn = NULL;
    void *arg = NULL;
    if (i >= 0) {
        const struct served_resource *r = &self->resources[i];
        switch (m->op) {
        case DTX_OP_TRY:     fn = r->tcc.on_try;       arg = r->tcc.arg;   break;
        case DTX_OP_CONFIRM: fn = r->tcc.on_confirm;   arg = r->tcc.arg;   break;
        case DTX_OP_CANCEL:  fn = r->tcc.on_cancel;    arg = r->tcc.arg;   break;
        case DTX_OP_PREPARE: fn = r->twopc.on_prepare; arg = r->twopc.arg; break;
        case DTX_OP_COMMIT:  fn = r->twopc.on_commit;  arg = r->twopc.arg; break;
        case DTX_OP_ABORT:   fn = r->twopc.on_abort;   arg = r->twopc.arg; break;
        case DTX_OP_ACTION:  fn = r->saga.on_action;   arg = r->saga.arg;  break;
        case DTX_OP_COMPENSATE: fn = r->saga.on_compensate; arg = r->saga.arg; break;
        case DTX_OP_DELIVER: fn = r->tmsg.on_deliver;  arg = r->tmsg.arg;  break;
        case DTX_OP_QUERY_PREPARED: fn = r->tmsg.on_query_prepared; arg = r->tmsg.arg; break;
        default:             break;
        }
    }
    if (i < 0) {
        dtx_log_warn("phase for a resource not served", "gid=%s branch=%u op=%s resource=%s",
                     m->gid, (unsigned)m->branch, dtx_op_name(m->op), m->resource);
    } else if (!fn) {
        dtx_log_warn("phase with an op the resource has no handler for",
                     "gid=%s branch=%u op=%s resource=%s",
                     m->gid, (unsigned)m->branch, dtx_op_name(m->op), m->resource);
    } else {
        const s_traced_call_t call = {
            .call = {
                .gid = m->gid,
                .branch = m->branch,
                .attempt = m->attempt,
                .op = m->op,
                .resource = m->resource,
                .action = m->action,
                .payload = m->payload,
                .payload_len = m->payload_len,
                .deadline_ms = m->deadline_ms,
            },
            .magic = S_CALL_MAGIC,
            .traceparent = m->traceparent,
        };
        /* Replies queued for this pass do not wait for a slow handler
         * (nor for long at all): see DTX_REPLY_HOLD_US. */
        int64_t t0 = dtx_plink_now_us();
        if (link->replies.n > 0 &&
            (self->slow_handler || t0 - link->replies_since_us >= DTX_REPLY_HOLD_US) &&
            dtx_plink_reply_flush(self, link) == DTX_EIO)
            return DTX_EIO;
        int rc = fn(&call.call, arg);
        self->slow_handler = dtx_plink_now_us() - t0 >= DTX_REPLY_HOLD_US;
        if (rc == DTX_OK)
            outcome = DTX_OUTCOME_OK;
        else if (rc == DTX_EREFUSED &&
                 (m->op == DTX_OP_TRY || m->op == DTX_OP_PREPARE || m->op == DTX_OP_ACTION ||
                  m->op == DTX_OP_QUERY_PREPARED)) /* QUERY_PREPARED: rolled back */
            outcome = DTX_OUTCOME_REFUSED;
        if (outcome == DTX_OUTCOME_FAILED && rc == DTX_EDB) {
            /* The database is down: every phase fails alike until it is
             * back; one line per DTX_DB_FAIL_LOG_MS with the count. */
            int64_t now = dtx_clock_mono_ms();
            self->db_failures++;
            if (!self->db_failure_logged_ms || now - self->db_failure_logged_ms >= DTX_DB_FAIL_LOG_MS) {
                dtx_log_warn("handler failed: database unavailable, phase answered failed "
                             "(the coordinator retries)",
                             "gid=%s branch=%u op=%s resource=%s failures=%u", m->gid,
                             (unsigned)m->branch, dtx_op_name(m->op), m->resource,
                             self->db_failures);
                self->db_failure_logged_ms = now;
                self->db_failures = 0;
            }
        } else if (outcome == DTX_OUTCOME_FAILED)
            dtx_log_warn("handler failed", "gid=%s branch=%u op=%s attempt=%u resource=%s error=\"%s\"",
                         m->gid, (unsigned)m->branch, dtx_op_name(m->op),
                         (unsigned)m->attempt, m->resource, dtx_strerror(rc));
        else
            dtx_log_debug("phase handled", "gid=%s branch=%u op=%s attempt=%u resource=%s outcome=%d",
                          m->gid, (unsigned)m->branch, dtx_op_name(m->op),
                          (unsigned)m->attempt, m->resource, outcome);
    }

    dtx_msg_t reply = {
        .type = DTX_MSG_PHASE_REPLY,
        .corr = m->corr,
        .branch = m->branch,
        .op = m->op,
        .attempt = m->attempt,
        .outcome = (uint8_t)outcome,
    };
    memcpy(reply.gid, m->gid, sizeof reply.gid);
    int rc = dtx_plink_reply(self, link, &reply);
    if (rc == DTX_ETIMEOUT) {
        /* Disconnected meanwhile: the coordinator delivers the phase again. */
        dtx_log_warn("phase reply not sent, no connection", "gid=%s branch=%u op=%s endpoint=%s",
                     m->gid, (unsigned)m->branch, dtx_op_name(m->op), link->endpoint);
        return DTX_OK;
    }
    return rc == DTX_EIO ? DTX_EIO : DTX_OK;
}

/* A BUNDLE of PHASEs (docs/protocol.md §20): its framing was checked by
 * the decoder; each entry is handled as that PHASE alone would be (one
 * that does not decode is logged and dropped, the others run). The
 * entries are walked from the receive buffer, which stays put while
 * self->msg takes each in turn. *held counts the entries (they count
 * against the pass's bound, as lone frames do). */
static int s_on_bundle(dtx_participant_t *self, struct coord_link *link, int *held)
{
    dtx_bundle_iter_t it;
    dtx_bundle_iter_init(&it, &self->msg);
    const uint8_t *frame;
    size_t len;
    char why[128];
    while (dtx_bundle_iter_next(&it, &frame, &len)) {
        (*held)++;
        if (dtx_msg_decode(&self->msg, frame, len, why, sizeof why) != 0) {
            dtx_log_warn("malformed message dropped", "instance=%s endpoint=%s error=\"in a "
                         "BUNDLE: %s\"", self->instance, link->endpoint, why);
            continue;
        }
        if (s_on_phase(self, link) == DTX_EIO)
            return DTX_EIO;
    }
    return DTX_OK;
}

static int s_drain(dtx_participant_t *self, struct coord_link *link);

/* Reads and handles what link has received (bounded, so that one busy
 * coordinator cannot starve the others or the timers), then sends the
 * replies of the pass (queued when the coordinator accepts BUNDLEs). */
int dtx_precv_drain(dtx_participant_t *self, struct coord_link *link)
{
    int rc = s_drain(self, link);
    int frc = dtx_plink_reply_flush(self, link);
    return rc != DTX_OK ? rc : frc;
}

static int s_drain(dtx_participant_t *self, struct coord_link *link)
{
    char why[128];
    link->sock_drained = 0;
    for (int n = 0; n < DTX_DRAIN_MAX; n++) {
        int held = 0; /* a BUNDLE's entries beyond the frame itself */
        size_t len = 0;
        int rc = dtx_sdk_recv_frame(link->sock, self->buf, DTX_MSG_MAX, &len);
        if (rc == DTX_ETIMEOUT) {
            if (errno == EAGAIN) { /* empty, its commands taken */
                link->sock_drained = 1;
                link->sock_drained_at = link->sock_calls;
            }
            return DTX_OK;
        }
        if (rc == DTX_EIO) {
            dtx_log_error("cannot receive from coordinator", "instance=%s endpoint=%s error=\"%s\"",
                          self->instance, link->endpoint, zmq_strerror(errno));
            return DTX_EIO;
        }
        if (rc == 0)
            rc = dtx_msg_decode(&self->msg, self->buf, len, why, sizeof why);
        else
            snprintf(why, sizeof why, "%s", dtx_sdk_recv_refusal(rc));
        if (rc != 0) {
            dtx_log_warn("malformed message dropped", "instance=%s endpoint=%s error=\"%s\"",
                         self->instance, link->endpoint, why);
            continue;
        }
        int64_t now = dtx_clock_mono_ms();
        switch (self->msg.type) {
        case DTX_MSG_PHASE:
            if (s_on_phase(self, link) == DTX_EIO)
                return DTX_EIO;
            break;
        case DTX_MSG_BUNDLE_PHASES:
            if (s_on_bundle(self, link, &held) == DTX_EIO)
                return DTX_EIO;
            n += held > 1 ? held - 1 : 0;
            break;
        case DTX_MSG_REGISTER_OK:
            s_on_register_ok(self, link, now);
            break;
        case DTX_MSG_HEARTBEAT_OK:
            s_note_coordinator(self, link, now);
            break;
        case DTX_MSG_ERROR:
            s_on_error(self, link, now);
            break;
        default:
            dtx_log_warn("unexpected message dropped", "instance=%s endpoint=%s type=%s",
                         self->instance, link->endpoint, dtx_msg_type_name(self->msg.type));
            break;
        }
    }
    return DTX_OK;
}
