/*
 * client_plans.c — the initiator requests that carry a plan or a batch
 * (dtx/dtx.h): a Saga's SAGA (dtx/saga.h's plan), a transactional
 * message's TMSG, several Tries in one TRY_MANY and a whole TCC
 * transaction in one TCC_RUN (try_many.c's batch and outcomes). Each is
 * one round trip through client.c's dtx_sdk_client_call; each exists in
 * protocol version 2 only, so a client that fell back to version 1 answers
 * DTX_EUNSUPPORTED without sending.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client_internal.h"
#include "dtx/clock.h"
#include "dtx/id.h"
#include "dtx/name.h"
#include "saga_internal.h"
#include "tmsg_internal.h"
#include "try_many.h"

static int s_valid_name(const char *s)
{
    return s && dtx_name_valid(s);
}

/* A TCC_RUN with the caller's gid answered as a repeat (protocol.md §19.3):
 * STATE, the state of the transaction that id began, no outcomes. One that
 * committed had every branch vote yes (out[i]: yes, branch unknown); one
 * that aborted says not which branch did not (out[i]: DTX_EABORTED); 0
 * either way (dtx_client_tcc_run tells them apart by the state). Any
 * other state (stuck: an operator must act): DTX_EUNKNOWN. */
static int s_repeat_result(int state, int n, dtx_try_outcome_t *out)
{
    int committed = state == DTX_STATE_COMMITTING || state == DTX_STATE_COMMITTED;
    int aborted = state == DTX_STATE_ABORTING || state == DTX_STATE_ABORTED;
    int rc = committed || aborted ? DTX_OK : DTX_EUNKNOWN;
    for (int i = 0; out && i < n && i < DTX_TRY_MANY_MAX; i++)
        out[i] = committed ? (dtx_try_outcome_t){ 0, DTX_OUTCOME_OK, 0 }
                           : (dtx_try_outcome_t){ 0, DTX_OUTCOME_FAILED,
                                                  aborted ? DTX_EABORTED : DTX_EUNKNOWN };
    return rc;
}

/* TRY_MANY (protocol.md §18) and TCC_RUN (§19): req (its type and gid or
 * timeout and flags) with the batch of tries, answered TRY_MANY_OK; the
 * batch and the outcomes in try_many.c. */
static int s_batch_call(dtx_client_t *self, dtx_msg_t *req, const dtx_try_spec_t *tries, int n,
                        dtx_try_outcome_t *out, int *state_out)
{
    assert(self);
    self->last_error[0] = '\0';
    if (state_out)
        *state_out = 0;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = req->type == DTX_MSG_TCC_RUN || s_valid_name(req->gid)
                 ? dtx_sdk_try_many_encode(tries, n, &buf, &len, self->last_error,
                                           sizeof self->last_error)
                 : DTX_EINVAL;
    if (rc == 0 && self->version == DTX_PROTO_V1)
        rc = DTX_EUNSUPPORTED;
    if (rc == 0) {
        req->payload = buf;
        req->payload_len = (uint32_t)len;
        memcpy(req->traceparent, self->traceparent, sizeof req->traceparent);
        rc = dtx_sdk_client_call(self, req, DTX_MSG_TRY_MANY_OK);
        if (rc == DTX_EINVAL && self->version == DTX_PROTO_V1)
            rc = DTX_EUNSUPPORTED; /* the call fell back to version 1: no batches there */
    }
    free(buf);
    if (rc == 0 && state_out)
        *state_out = self->reply.state;
    if (rc == 0 && self->reply.type == DTX_MSG_STATE)
        return s_repeat_result(self->reply.state, n, out);
    return dtx_sdk_try_many_result(rc, &self->reply, n, out, self->last_error,
                                   sizeof self->last_error);
}

int dtx_client_try_many(dtx_client_t *self, const char *gid, const dtx_try_spec_t *tries, int n,
                        dtx_try_outcome_t *out, int *state_out)
{
    dtx_msg_t req = { .type = DTX_MSG_TRY_MANY };
    if (s_valid_name(gid))
        dtx_name_copy(req.gid, gid);
    return s_batch_call(self, &req, tries, n, out, state_out);
}

_Static_assert(DTX_RUN_COMMIT == DTX_TCC_RUN_COMMIT, "one flag, public and on the wire");
_Static_assert(DTX_RUN_GID == DTX_TCC_RUN_GID, "one flag, public and on the wire");

int dtx_client_tcc_run(dtx_client_t *self, uint32_t timeout_ms, unsigned flags,
                       const dtx_try_spec_t *tries, int n, char gid_out[DTX_GID_SIZE],
                       dtx_try_outcome_t *out, int *state_out)
{
    int state = 0;
    dtx_msg_t req = { .type = DTX_MSG_TCC_RUN, .timeout_ms = timeout_ms, .flags = (uint8_t)flags };
    int rc = flags & ~(unsigned)(DTX_RUN_COMMIT | DTX_RUN_GID) ? DTX_EINVAL : 0;
    if (rc == 0 && (flags & DTX_RUN_GID)) {
        /* The caller's id ("" : a new one, written back before sending),
         * the same on every repeat: a bare ULID, as dtx_id_new makes. */
        if (!gid_out || !(flags & DTX_RUN_COMMIT))
            rc = DTX_EINVAL;
        else if (!gid_out[0])
            rc = dtx_id_new(gid_out) != 0 ? DTX_EIO : 0;
        /* A gid an answer wrote back may lead with the coordinator's
         * cell ("CELL:ULID"): the id is its ULID. */
        const char *colon = gid_out ? strrchr(gid_out, ':') : NULL;
        const char *id = colon ? colon + 1 : gid_out;
        if (rc == 0 && !dtx_id_valid(id))
            rc = DTX_EINVAL;
        if (rc == 0)
            memcpy(req.gid, id, DTX_ID_LEN + 1);
    } else if (gid_out && !(flags & DTX_RUN_GID)) {
        gid_out[0] = '\0'; /* (bad flags with DTX_RUN_GID keep the caller's id) */
    }
    if (rc == 0)
        rc = s_batch_call(self, &req, tries, n, out, &state);
    if (state_out)
        *state_out = state;
    if (state && gid_out) /* answered: the transaction exists */
        snprintf(gid_out, DTX_GID_SIZE, "%s", self->reply.gid);
    if ((rc == 0 || rc == DTX_EREFUSED) && (flags & DTX_RUN_COMMIT) &&
        (state == DTX_STATE_ABORTING || state == DTX_STATE_ABORTED))
        return DTX_EABORTED; /* out[] says which branch voted no (not on a repeat) */
    return rc;
}

/* --- Saga --- */

int dtx_client_saga_submit(dtx_client_t *self, const dtx_saga_t *saga, uint32_t timeout_ms,
                           char gid_out[DTX_GID_SIZE])
{
    assert(self);
    if (!gid_out || !saga)
        return DTX_EINVAL;
    gid_out[0] = '\0';
    self->last_error[0] = '\0';
    const dtx_saga_plan_t *plan = dtx_sdk_saga_plan(saga);
    size_t len = 0;
    int rc = dtx_saga_plan_encode(plan, NULL, 0, &len, self->last_error, sizeof self->last_error);
    if (rc != DTX_ETOOBIG || len > DTX_PAYLOAD_MAX)
        return rc == DTX_ETOOBIG || rc == 0 ? DTX_EINVAL : rc;
    uint8_t *buf = malloc(len);
    if (!buf)
        return DTX_ENOMEM;
    rc = dtx_saga_plan_encode(plan, buf, len, &len, self->last_error, sizeof self->last_error);
    if (rc != 0) {
        free(buf);
        return DTX_EINVAL;
    }
    if (self->version == DTX_PROTO_V1) {
        free(buf);
        snprintf(self->last_error, sizeof self->last_error,
                 "the coordinator speaks protocol version 1 only: no sagas");
        return DTX_EUNSUPPORTED;
    }
    self->begun_traceparent[0] = '\0';
    dtx_msg_t req = { .type = DTX_MSG_SAGA, .timeout_ms = timeout_ms, .payload = buf,
                      .payload_len = (uint32_t)len };
    memcpy(req.traceparent, self->traceparent, sizeof req.traceparent);
    rc = dtx_sdk_client_call(self, &req, DTX_MSG_BEGIN_OK);
    free(buf);
    if (rc == DTX_EINVAL && self->version == DTX_PROTO_V1) {
        /* The call fell back to version 1, where SAGA does not exist. */
        snprintf(self->last_error, sizeof self->last_error,
                 "the coordinator speaks protocol version 1 only: no sagas");
        return DTX_EUNSUPPORTED;
    }
    if (rc != 0)
        return rc;
    snprintf(gid_out, DTX_GID_SIZE, "%s", self->reply.gid);
    memcpy(self->begun_traceparent, self->reply.traceparent, sizeof self->begun_traceparent);
    return DTX_OK;
}

int dtx_client_saga_wait(dtx_client_t *self, const char *gid, int wait_ms, int *state_out)
{
    assert(self);
    int64_t until = dtx_clock_mono_ms() + (wait_ms > 0 ? wait_ms : 0);
    long pause_ms = 10;
    for (;;) {
        int state = 0;
        int rc = dtx_client_status(self, gid, &state);
        if (state_out)
            *state_out = state;
        if (rc != 0)
            return rc;
        if (state == DTX_STATE_COMMITTED)
            return DTX_OK;
        if (state == DTX_STATE_ABORTED)
            return DTX_EABORTED;
        if (state == DTX_STATE_STUCK)
            return DTX_ESTATE;
        int64_t left = until - dtx_clock_mono_ms();
        if (left <= 0)
            return DTX_ETIMEOUT;
        long ms = pause_ms < left ? pause_ms : (long)left;
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
        if (pause_ms < 200)
            pause_ms *= 2;
    }
}

/* --- transactional messages --- */

int dtx_client_tmsg_prepare(dtx_client_t *self, const dtx_tmsg_t *msg, uint32_t timeout_ms,
                            char gid_out[DTX_GID_SIZE])
{
    assert(self);
    if (!gid_out || !msg)
        return DTX_EINVAL;
    gid_out[0] = '\0';
    self->last_error[0] = '\0';
    const dtx_tmsg_plan_t *plan = dtx_sdk_tmsg_plan(msg);
    size_t len = 0;
    int rc = dtx_tmsg_plan_encode(plan, NULL, 0, &len, self->last_error, sizeof self->last_error);
    if (rc != DTX_ETOOBIG || len > DTX_PAYLOAD_MAX)
        return rc == DTX_ETOOBIG || rc == 0 ? DTX_EINVAL : rc;
    uint8_t *buf = malloc(len);
    if (!buf)
        return DTX_ENOMEM;
    rc = dtx_tmsg_plan_encode(plan, buf, len, &len, self->last_error, sizeof self->last_error);
    if (rc != 0 || self->version == DTX_PROTO_V1) {
        free(buf);
        if (rc != 0)
            return DTX_EINVAL;
        snprintf(self->last_error, sizeof self->last_error,
                 "the coordinator speaks protocol version 1 only: no transactional messages");
        return DTX_EUNSUPPORTED;
    }
    self->begun_traceparent[0] = '\0';
    dtx_msg_t req = { .type = DTX_MSG_TMSG, .timeout_ms = timeout_ms, .payload = buf,
                      .payload_len = (uint32_t)len };
    memcpy(req.traceparent, self->traceparent, sizeof req.traceparent);
    rc = dtx_sdk_client_call(self, &req, DTX_MSG_BEGIN_OK);
    free(buf);
    if ((rc == DTX_EINVAL && self->version == DTX_PROTO_V1) || rc == DTX_EUNSUPPORTED) {
        /* Version 1 only, or a version 2 that predates TMSG (ERROR 18). */
        snprintf(self->last_error, sizeof self->last_error,
                 "the coordinator has no transactional messages (TMSG)");
        return DTX_EUNSUPPORTED;
    }
    if (rc != 0)
        return rc;
    snprintf(gid_out, DTX_GID_SIZE, "%s", self->reply.gid);
    memcpy(self->begun_traceparent, self->reply.traceparent, sizeof self->begun_traceparent);
    return DTX_OK;
}

int dtx_client_tmsg_submit(dtx_client_t *self, const char *gid)
{
    return dtx_client_commit(self, gid, NULL);
}

int dtx_client_tmsg_abort(dtx_client_t *self, const char *gid)
{
    return dtx_client_rollback(self, gid, NULL);
}
