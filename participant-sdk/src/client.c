/*
 * client.c — the initiator side of libdtx (dtx_client_*, see dtx/dtx.h).
 *
 * One DEALER socket to one coordinator; every call is one request/reply
 * round trip:
 *
 *   validate args --bad--> DTX_EINVAL (nothing sent)
 *        |
 *   encode request with corr = next_corr++
 *        |
 *   send (waits for a completed connection) --deadline / failed--> DTX_ENOTSENT
 *        |                                     (nothing left: a retry is safe)
 *   wait for a frame <-------------------------------+
 *        | deadline passed: DTX_ETIMEOUT              |
 *        | malformed or multi-frame: drop ------------+
 *        | corr != request's (stale reply) : drop ----+
 *        v
 *   ERROR: -(code), text kept for dtx_client_last_error
 *   expected reply type: mapped to the call's result
 *   any other type with our corr: DTX_EPROTO
 *
 * With CURVE (a key file given, or DTX_CURVE_KEY_FILE) the socket is a
 * CurveZMQ client of the coordinator's public key; the keys are read once,
 * in _new (the client keeps a copy, wiped by _destroy). A coordinator that
 * refuses them never completes the handshake, so calls end in DTX_ENOTSENT
 * (IMMEDIATE: nothing is queued for a connection that is not up). ZeroMQ
 * never reconnects after a refused handshake (or CURVE on one side only),
 * so a call that found no connection makes the next call start on a new
 * socket: a client outlives a refusal that the coordinator later lifts.
 *
 * Protocol version: requests go out in version 2 (docs/protocol.md §15),
 * BEGIN and TRY with the traceparent set by dtx_client_set_traceparent as
 * extension 1, and BEGIN_OK brings back the one the coordinator recorded.
 * Always 2, trace or not: it costs no byte without a trace, and it is how
 * the traceparent dtxd made for an untraced BEGIN comes back. A
 * coordinator that speaks only version 1 answers ERROR 3 without acting:
 * the client then speaks version 1 from that call on (sent again at
 * once, in version 1, without the trace), so a new libdtx works with an
 * old dtxd.
 *
 * The requests that carry a plan or a batch (SAGA, TMSG, TRY_MANY,
 * TCC_RUN) are client_plans.c's, through dtx_sdk_client_call.
 *
 * Invariants: at most one request is outstanding (calls block); corr ids
 * only grow, so the late reply to a call that timed out never satisfies a
 * later call; one buffer, allocated in _new, serves both encoding and
 * receiving, so a call allocates nothing.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "dtx/clock.h"
#include "dtx/curve.h"
#include "dtx/dtx.h"
#include "dtx/id.h"
#include "dtx/log.h"
#include "dtx/proto.h"
#include "dtx/trace.h"
#include "dtx/zpoll.h"
#include "client_internal.h"
#include "sdk_internal.h"

#define DTX_CLIENT_TIMEOUT_DEFAULT 30000

/* struct dtx_client: client_internal.h (client_plans.c uses it too). */

/* Makes the DEALER to self->endpoint; on success it replaces the previous
 * one, on failure that one stays. Returns 0, DTX_EINVAL (malformed
 * endpoint) or DTX_EIO. */
static int s_open(dtx_client_t *self)
{
    int rc = DTX_EIO;
    void *sock = zmq_socket(self->ctx, ZMQ_DEALER);
    if (!sock || dtx_sdk_socket_setup(sock) != 0)
        goto err;
    if (self->curve && dtx_curve_apply_client(sock, &self->keys) != 0) {
        dtx_log_error("cannot set CURVE keys", "endpoint=%s error=\"%s\"", self->endpoint,
                      zmq_strerror(errno));
        goto err;
    }
    if (zmq_connect(sock, self->endpoint) != 0) {
        rc = dtx_sdk_connect_error(errno);
        dtx_log_error("cannot connect to coordinator", "endpoint=%s error=\"%s\"",
                      self->endpoint, zmq_strerror(errno));
        goto err;
    }
    if (self->sock)
        zmq_close(self->sock);
    self->sock = sock;
    return DTX_OK;

err:
    if (sock)
        zmq_close(sock);
    return rc;
}

dtx_client_t *dtx_client_new(const char *endpoint, int *err)
{
    return dtx_client_new_curve(endpoint, NULL, err);
}

dtx_client_t *dtx_client_new_curve(const char *endpoint, const char *key_file, int *err)
{
    int rc = DTX_ENOMEM;
    dtx_client_t *self = NULL;

    if (!endpoint || !*endpoint) {
        rc = DTX_EINVAL;
        goto err;
    }
    self = calloc(1, sizeof *self);
    if (!self)
        goto err;
    if (!key_file)
        key_file = dtx_sdk_curve_env();
    if (key_file) {
        char who[256];
        snprintf(who, sizeof who, "endpoint=%.200s", endpoint);
        if (dtx_sdk_curve_load(key_file, who, &self->keys) != 0) {
            rc = DTX_ECONFIG;
            goto err;
        }
        self->curve = 1;
    }
    self->timeout_ms = DTX_CLIENT_TIMEOUT_DEFAULT;
    self->version = dtx_sdk_proto_version();
    self->next_corr = dtx_random_u64();
    self->endpoint = strdup(endpoint);
    self->buf = malloc(DTX_MSG_MAX);
    if (!self->endpoint || !self->buf)
        goto err;

    rc = DTX_EIO;
    self->ctx = zmq_ctx_new();
    if (!self->ctx)
        goto err;
    rc = s_open(self);
    if (rc != 0)
        goto err;
    if (err)
        *err = DTX_OK;
    return self;

err:
    dtx_client_destroy(&self);
    if (err)
        *err = rc;
    return NULL;
}

void dtx_client_destroy(dtx_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_client_t *self = *self_p;
    if (self->sock)
        zmq_close(self->sock);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    free(self->buf);
    free(self->endpoint);
    explicit_bzero(&self->keys, sizeof self->keys);
    free(self);
    *self_p = NULL;
}

void dtx_client_set_timeout(dtx_client_t *self, int timeout_ms)
{
    assert(self);
    self->timeout_ms = timeout_ms > 0 ? timeout_ms : DTX_CLIENT_TIMEOUT_DEFAULT;
}

const char *dtx_client_last_error(const dtx_client_t *self)
{
    return self ? self->last_error : "";
}

/* An ERROR code from the wire as a DTX_E* value; codes this library does
 * not know become DTX_EPROTO, and so does DTX_ENOTSENT's (this library's
 * own: a peer that sends it cannot know, and the caller would retry a
 * request that did reach the coordinator). */
int dtx_sdk_wire_error(uint32_t code)
{
    if (code >= 1 && code <= (uint32_t)-DTX_ERR_MIN && code != (uint32_t)-DTX_ENOTSENT)
        return -(int)code;
    return DTX_EPROTO;
}

static int s_valid_name(const char *s)
{
    return s && dtx_name_valid(s);
}

/* Sends self->buf[0..len), waiting until the deadline for a connection.
 * Every failure here is DTX_ENOTSENT: the request never left (IMMEDIATE:
 * ZeroMQ queues nothing for a connection that is not up), so the caller
 * may retry it; once it left, no answer is DTX_ETIMEOUT (s_wait_reply). */
static int s_send(dtx_client_t *self, const dtx_msg_t *req, size_t len, int64_t deadline)
{
    for (;;) {
        if (zmq_send(self->sock, self->buf, len, ZMQ_DONTWAIT) >= 0)
            return DTX_OK;
        if (errno != EAGAIN && errno != EINTR) {
            dtx_log_error("cannot send to coordinator", "endpoint=%s type=%s error=\"%s\"",
                          self->endpoint, dtx_msg_type_name(req->type), zmq_strerror(errno));
            return DTX_ENOTSENT;
        }
        int64_t left = deadline - dtx_clock_mono_ms();
        if (left <= 0) {
            self->reopen = 1;
            dtx_log_warn("coordinator unreachable", "endpoint=%s type=%s gid=%s timeout_ms=%d",
                         self->endpoint, dtx_msg_type_name(req->type), req->gid,
                         self->timeout_ms);
            return DTX_ENOTSENT;
        }
        zmq_pollitem_t item = { .socket = self->sock, .events = ZMQ_POLLOUT };
        if (dtx_zpoll(&item, 1, (long)left) < 0 && errno != EINTR)
            return DTX_ENOTSENT;
    }
}

/* Waits until the deadline for the reply to req; leaves it in self->reply. */
static int s_wait_reply(dtx_client_t *self, const dtx_msg_t *req, int expect, int64_t deadline)
{
    char why[128];
    for (;;) {
        int64_t left = deadline - dtx_clock_mono_ms();
        if (left < 0)
            left = 0;
        zmq_pollitem_t item = { .socket = self->sock, .events = ZMQ_POLLIN };
        int n = dtx_zpoll(&item, 1, (long)left);
        if (n < 0 && errno != EINTR)
            return DTX_EIO;
        if (n <= 0 || !(item.revents & ZMQ_POLLIN)) {
            if (left > 0)
                continue;
            dtx_log_warn("no reply from coordinator", "endpoint=%s type=%s gid=%s timeout_ms=%d",
                         self->endpoint, dtx_msg_type_name(req->type), req->gid,
                         self->timeout_ms);
            return DTX_ETIMEOUT;
        }
        size_t len = 0;
        int rc = dtx_sdk_recv_frame(self->sock, self->buf, DTX_MSG_MAX, &len);
        if (rc == DTX_ETIMEOUT)
            continue;
        if (rc == DTX_EIO)
            return DTX_EIO;
        if (rc == 0)
            rc = dtx_msg_decode(&self->reply, self->buf, len, why, sizeof why);
        else
            snprintf(why, sizeof why, "%s", dtx_sdk_recv_refusal(rc));
        if (rc != 0) {
            dtx_log_warn("malformed reply dropped", "endpoint=%s error=\"%s\"",
                         self->endpoint, why);
            continue;
        }
        if (self->reply.corr != req->corr) {
            dtx_log_debug("stale reply dropped", "endpoint=%s type=%s",
                          self->endpoint, dtx_msg_type_name(self->reply.type));
            continue;
        }
        if (self->reply.type == DTX_MSG_ERROR) {
            snprintf(self->last_error, sizeof self->last_error, "%s", self->reply.text);
            return dtx_sdk_wire_error(self->reply.code);
        }
        /* A TCC_RUN with the caller's gid may be a repeat, answered as
         * the COMMIT of that gid would be (protocol.md §19.3). */
        if (self->reply.type != expect &&
            !(req->type == DTX_MSG_TCC_RUN && (req->flags & DTX_TCC_RUN_GID) &&
              self->reply.type == DTX_MSG_STATE)) {
            dtx_log_warn("unexpected reply", "endpoint=%s request=%s reply=%s",
                         self->endpoint, dtx_msg_type_name(req->type),
                         dtx_msg_type_name(self->reply.type));
            return DTX_EPROTO;
        }
        return DTX_OK;
    }
}

int dtx_sdk_client_call(dtx_client_t *self, dtx_msg_t *req, int expect)
{
    int64_t deadline = dtx_clock_mono_ms() + self->timeout_ms;
    for (;;) {
        self->last_error[0] = '\0';
        req->corr = self->next_corr++;
        req->version = self->version;
        if (self->version == DTX_PROTO_V1)
            req->traceparent[0] = '\0';
        size_t len = 0;
        int rc = dtx_msg_encode(req, self->buf, DTX_MSG_MAX, &len);
        if (rc != 0)
            return rc;
        /* The old socket stays when a new one cannot be made (logged). */
        if (self->reopen && s_open(self) == 0)
            self->reopen = 0;
        rc = s_send(self, req, len, deadline);
        if (rc != 0)
            return rc;
        rc = s_wait_reply(self, req, expect, deadline);
        if (rc != DTX_EVERSION || self->version == DTX_PROTO_V1)
            return rc;
        /* Not acted on (protocol.md §9): the same request in version 1. */
        dtx_log_info("coordinator speaks protocol version 1 only: using it (no trace context)",
                     "endpoint=%s", self->endpoint);
        self->version = DTX_PROTO_V1;
    }
}

int dtx_client_set_traceparent(dtx_client_t *self, const char *traceparent)
{
    assert(self);
    if (!traceparent || !traceparent[0]) {
        self->traceparent[0] = '\0';
        return DTX_OK;
    }
    if (!dtx_trace_valid(traceparent))
        return DTX_EINVAL;
    memcpy(self->traceparent, traceparent, sizeof self->traceparent);
    return DTX_OK;
}

const char *dtx_client_traceparent(const dtx_client_t *self)
{
    return self ? self->begun_traceparent : "";
}

int dtx_client_begin(dtx_client_t *self, int mode, uint32_t timeout_ms,
                     char gid_out[DTX_GID_SIZE])
{
    assert(self);
    if (!gid_out)
        return DTX_EINVAL;
    gid_out[0] = '\0';
    if (mode != DTX_MODE_TCC && mode != DTX_MODE_2PC)
        return DTX_EINVAL;
    self->begun_traceparent[0] = '\0';
    dtx_msg_t req = { .type = DTX_MSG_BEGIN, .mode = (uint8_t)mode, .timeout_ms = timeout_ms };
    memcpy(req.traceparent, self->traceparent, sizeof req.traceparent);
    int rc = dtx_sdk_client_call(self, &req, DTX_MSG_BEGIN_OK);
    if (rc != 0)
        return rc;
    snprintf(gid_out, DTX_GID_SIZE, "%s", self->reply.gid);
    memcpy(self->begun_traceparent, self->reply.traceparent, sizeof self->begun_traceparent);
    return DTX_OK;
}

int dtx_client_try(dtx_client_t *self, const char *gid, const char *resource,
                   const char *action, const void *payload, size_t payload_len,
                   dtx_try_result_t *result)
{
    assert(self);
    if (result)
        *result = (dtx_try_result_t){ 0 };
    if (!s_valid_name(gid) || !s_valid_name(resource) || !s_valid_name(action) ||
        payload_len > DTX_PAYLOAD_MAX || (!payload && payload_len > 0))
        return DTX_EINVAL;

    dtx_msg_t req = { .type = DTX_MSG_TRY, .payload = payload,
                      .payload_len = (uint32_t)payload_len };
    dtx_name_copy(req.gid, gid);
    dtx_name_copy(req.resource, resource);
    dtx_name_copy(req.action, action);
    memcpy(req.traceparent, self->traceparent, sizeof req.traceparent);
    int rc = dtx_sdk_client_call(self, &req, DTX_MSG_TRY_OK);
    if (rc != 0)
        return rc;
    if (result) {
        result->branch = self->reply.branch;
        result->outcome = self->reply.outcome;
        result->state = self->reply.state;
    }
    return self->reply.outcome == DTX_OUTCOME_OK ? DTX_OK : DTX_EREFUSED;
}

/* COMMIT, ROLLBACK, STATUS and RESUME: gid out, STATE back. */
static int s_state_call(dtx_client_t *self, int type, const char *gid, int *state_out)
{
    assert(self);
    if (state_out)
        *state_out = 0;
    if (!s_valid_name(gid))
        return DTX_EINVAL;
    dtx_msg_t req = { .type = (uint8_t)type };
    dtx_name_copy(req.gid, gid);
    int rc = dtx_sdk_client_call(self, &req, DTX_MSG_STATE);
    if (rc != 0)
        return rc;
    if (state_out)
        *state_out = self->reply.state;
    return DTX_OK;
}

int dtx_client_commit(dtx_client_t *self, const char *gid, int *state_out)
{
    int state = 0;
    int rc = s_state_call(self, DTX_MSG_COMMIT, gid, &state);
    if (state_out)
        *state_out = state;
    if (rc == 0 && (state == DTX_STATE_ABORTING || state == DTX_STATE_ABORTED))
        return DTX_EABORTED;
    return rc;
}

int dtx_client_rollback(dtx_client_t *self, const char *gid, int *state_out)
{
    int state = 0;
    int rc = s_state_call(self, DTX_MSG_ROLLBACK, gid, &state);
    if (state_out)
        *state_out = state;
    /* The header promises DTX_ESTATE when the decision was commit, whether
     * the coordinator says so with an ERROR or with the STATE itself. */
    if (rc == 0 && (state == DTX_STATE_COMMITTING || state == DTX_STATE_COMMITTED))
        return DTX_ESTATE;
    return rc;
}

int dtx_client_status(dtx_client_t *self, const char *gid, int *state_out)
{
    return s_state_call(self, DTX_MSG_STATUS, gid, state_out);
}

int dtx_client_resume(dtx_client_t *self, const char *gid, int *state_out)
{
    return s_state_call(self, DTX_MSG_RESUME, gid, state_out);
}
