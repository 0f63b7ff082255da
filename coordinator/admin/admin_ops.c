/*
 * admin_ops.c — the initiator operations over HTTP, run by the same engine
 * as the ZeroMQ ones.
 *
 *   POST /api/v1/tx                {"mode":"tcc","timeout_ms":30000,"traceparent":"00-…"}
 *                                  -> 201 BEGIN_OK (gid, deadline_ms, traceparent)
 *                                  (or the trace in a W3C traceparent header)
 *   POST /api/v1/tx/{gid}/try      {"resource","action","payload" | "payload_base64"}
 *   POST /api/v1/tx/{gid}/tries    {"tries":[{"resource","action","payload" |
 *                                  "payload_base64"}, ...]} (1..16: one TRY_MANY,
 *                                  docs/protocol.md §18) -> every branch's outcome
 *   POST /api/v1/tx/{gid}/commit   -> STATE (409 when it ended aborted)
 *   POST /api/v1/tx/{gid}/rollback -> STATE
 *   GET  /api/v1/tx/{gid}          -> STATE, from the log
 *   POST /api/v1/saga              {"timeout_ms","traceparent","steps":[{"resource",
 *                                  "action","compensation","pivot","after":[1,2],
 *                                  "payload" | "payload_base64"}, ...]}
 *                                  -> 201 BEGIN_OK once the plan is logged (docs/sagas.md)
 *   POST /api/v1/msg               {"timeout_ms","traceparent","checkback","destinations":
 *                                  [{"resource","action","payload" | "payload_base64"}, ...]}
 *                                  -> 201 BEGIN_OK once the message is logged (prepared;
 *                                  /tx/{gid}/commit submits it, /rollback drops it)
 *   POST /api/v1/tcc               {"timeout_ms","traceparent","commit":true,"id",
 *                                  "tries":[...]} (the tries as /tries'; one TCC_RUN,
 *                                  docs/protocol.md §19) -> 201 every branch's outcome,
 *                                  state committing (active without "commit"); 409 when
 *                                  it was decided abort; with "id" (§19.3) a repeat is
 *                                  200 {"gid","state","repeat":true} (409 aborted)
 *
 * Each builds a dtx_msg_t and hands it to the engine (admin_engine.c: a
 * peer of kind DTX_PEER_HTTP whose corr is the request's handle). Every
 * reply the engine sends (BEGIN_OK, TRY_OK, TRY_MANY_OK, STATE, ERROR) comes back
 * through admin_engine.c to s_op_reply.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_internal.h"
#include "dtx/id.h"
#include "dtx/log.h"
#include "dtx/saga.h"
#include "dtx/tmsg.h"
#include "dtx/trace.h"
#include "dtx/trymany.h"

static int s_b64(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* Decodes base64 (standard or URL alphabet, padding optional) into a new
 * buffer. Returns it (caller frees) or NULL when invalid. */
static uint8_t *s_b64_decode(const char *s, size_t n, uint32_t *out_len)
{
    while (n && s[n - 1] == '=')
        n--;
    uint8_t *out = malloc(n * 3 / 4 + 3);
    if (!out)
        return NULL;
    uint32_t acc = 0, bits = 0, len = 0;
    for (size_t i = 0; i < n; i++) {
        int v = s_b64((unsigned char)s[i]);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[len++] = (uint8_t)(acc >> bits);
        }
    }
    *out_len = len;
    return out;
}

static const char *s_str_field(json_object *o, const char *name)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static int s_begin_fields(dtx_admin_req_t *r, json_object *body, dtx_msg_t *m)
{
    json_object *v = NULL;
    m->mode = DTX_MODE_TCC;
    if (json_object_object_get_ex(body, "mode", &v)) {
        const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
        if (strcmp(s, "tcc") == 0)
            m->mode = DTX_MODE_TCC;
        else if (strcmp(s, "2pc") == 0)
            m->mode = DTX_MODE_2PC;
        else {
            dtx_admin_respond_error(r, 400, "mode: expected \"tcc\" or \"2pc\"");
            return DTX_EINVAL; /* answered 400 */
        }
    }
    /* The trace context: the body's field, strictly (an API argument), or
     * else the request's traceparent header, as W3C says a receiver reads
     * it (an invalid header is ignored: dtxd starts a trace). */
    if (json_object_object_get_ex(body, "traceparent", &v)) {
        const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
        if (!dtx_trace_valid(s)) {
            dtx_admin_respond_error(r, 400, "traceparent: expected \"00-<32 hex>-<16 hex>-<2 hex>\""
                                            " in lower case, ids not all zeros");
            return DTX_EINVAL; /* answered 400 */
        }
        memcpy(m->traceparent, s, sizeof m->traceparent);
    } else {
        const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "traceparent");
        if (h && dtx_trace_parse(h, strlen(h), m->traceparent) != 0)
            m->traceparent[0] = '\0';
    }
    if (json_object_object_get_ex(body, "timeout_ms", &v)) {
        int64_t t = json_object_get_int64(v);
        if (!json_object_is_type(v, json_type_int) || t < 0 || t > UINT32_MAX) {
            dtx_admin_respond_error(r, 400, "timeout_ms: expected a number of milliseconds");
            return DTX_EINVAL; /* answered 400 */
        }
        m->timeout_ms = (uint32_t)t;
    }
    return 0;
}

/* Fills resource, action and payload of a TRY; *owned gets a buffer to free. */
static int s_try_fields(dtx_admin_req_t *r, json_object *body, dtx_msg_t *m, uint8_t **owned)
{
    const char *res = s_str_field(body, "resource"), *act = s_str_field(body, "action");
    if (!res || dtx_name_copy(m->resource, res) != 0) {
        dtx_admin_respond_error(r, 400, "resource: required, 1..63 characters of [A-Za-z0-9._:-]");
        return DTX_EINVAL; /* answered 400 */
    }
    if (!act || dtx_name_copy(m->action, act) != 0) {
        dtx_admin_respond_error(r, 400, "action: required, 1..63 characters of [A-Za-z0-9._:-]");
        return DTX_EINVAL; /* answered 400 */
    }
    json_object *v = NULL;
    if (json_object_object_get_ex(body, "payload_base64", &v)) {
        const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
        *owned = s ? s_b64_decode(s, strlen(s), &m->payload_len) : NULL;
        if (!*owned) {
            dtx_admin_respond_error(r, 400, "payload_base64: not valid base64");
            return DTX_EINVAL; /* answered 400 */
        }
        m->payload = *owned;
    } else if (json_object_object_get_ex(body, "payload", &v)) {
        if (!json_object_is_type(v, json_type_string)) {
            dtx_admin_respond_error(r, 400, "payload: expected a string (or use payload_base64)");
            return DTX_EINVAL; /* answered 400 */
        }
        m->payload = (const uint8_t *)json_object_get_string(v);
        m->payload_len = (uint32_t)json_object_get_string_len(v);
    }
    if (m->payload_len > DTX_PAYLOAD_MAX) {
        dtx_admin_respond_error(r, 413, "payload: larger than %u bytes", DTX_PAYLOAD_MAX);
        return DTX_EINVAL; /* answered 400 */
    }
    return 0;
}

/* The steps of POST /api/v1/saga into an encoded plan (m->payload; *owned
 * gets it to free). The plan's rules are dtx_saga_plan_encode's, whose
 * reason is the 400's text. */
static int s_saga_fields(dtx_admin_req_t *r, json_object *body, dtx_msg_t *m, uint8_t **owned)
{
    json_object *steps = NULL;
    if (!json_object_object_get_ex(body, "steps", &steps) ||
        !json_object_is_type(steps, json_type_array) || json_object_array_length(steps) < 1 ||
        json_object_array_length(steps) > DTX_SAGA_STEPS_MAX) {
        dtx_admin_respond_error(r, 400, "steps: expected an array of 1..%d steps",
                                DTX_SAGA_STEPS_MAX);
        return DTX_EINVAL;
    }
    dtx_saga_plan_t *plan = calloc(1, sizeof *plan);
    uint8_t *pays[DTX_SAGA_STEPS_MAX] = { NULL };
    int rc = DTX_EINVAL;
    if (!plan) {
        dtx_admin_respond_error(r, 500, "out of memory");
        return DTX_ENOMEM;
    }
    plan->nsteps = (uint8_t)json_object_array_length(steps);
    for (int i = 0; i < plan->nsteps; i++) {
        json_object *o = json_object_array_get_idx(steps, (size_t)i), *v = NULL;
        dtx_saga_step_t *st = &plan->steps[i];
        const char *res = o ? s_str_field(o, "resource") : NULL;
        const char *act = o ? s_str_field(o, "action") : NULL;
        const char *comp = o ? s_str_field(o, "compensation") : NULL;
        if (!res || dtx_name_copy(st->resource, res) != 0 || !act ||
            dtx_name_copy(st->action, act) != 0 ||
            (comp && comp[0] && dtx_name_copy(st->compensation, comp) != 0)) {
            dtx_admin_respond_error(r, 400, "steps[%d]: resource and action required, "
                                    "compensation optional: 1..63 characters of "
                                    "[A-Za-z0-9._:-]", i);
            goto out;
        }
        if (json_object_object_get_ex(o, "pivot", &v) && json_object_get_boolean(v))
            st->flags |= DTX_SAGA_STEP_PIVOT;
        if (json_object_object_get_ex(o, "after", &v)) {
            if (!json_object_is_type(v, json_type_array) ||
                json_object_array_length(v) > DTX_SAGA_STEPS_MAX) {
                dtx_admin_respond_error(r, 400, "steps[%d].after: expected an array of step "
                                        "numbers", i);
                goto out;
            }
            plan->flags |= DTX_SAGA_CONCURRENT;
            for (size_t k = 0; k < json_object_array_length(v); k++) {
                int64_t d = json_object_get_int64(json_object_array_get_idx(v, k));
                if (d < 1 || d > DTX_SAGA_STEPS_MAX) {
                    dtx_admin_respond_error(r, 400, "steps[%d].after: step numbers start at 1", i);
                    goto out;
                }
                int at = st->ndeps; /* kept in increasing order */
                while (at > 0 && st->deps[at - 1] > d) {
                    st->deps[at] = st->deps[at - 1];
                    at--;
                }
                st->deps[at] = (uint8_t)d;
                st->ndeps++;
            }
        }
        if (json_object_object_get_ex(o, "payload_base64", &v)) {
            const char *b = json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                                                                     : NULL;
            if (!b || !(pays[i] = s_b64_decode(b, strlen(b), &st->payload_len))) {
                dtx_admin_respond_error(r, 400, "steps[%d].payload_base64: not valid base64", i);
                goto out;
            }
            st->payload = pays[i];
        } else if (json_object_object_get_ex(o, "payload", &v)) {
            if (!json_object_is_type(v, json_type_string)) {
                dtx_admin_respond_error(r, 400, "steps[%d].payload: expected a string", i);
                goto out;
            }
            st->payload = (const uint8_t *)json_object_get_string(v);
            st->payload_len = (uint32_t)json_object_get_string_len(v);
        }
    }
    char why[200] = "";
    size_t len = 0;
    rc = dtx_saga_plan_encode(plan, NULL, 0, &len, why, sizeof why);
    if (rc == DTX_ETOOBIG && len <= DTX_PAYLOAD_MAX && (*owned = malloc(len)))
        rc = dtx_saga_plan_encode(plan, *owned, len, &len, why, sizeof why);
    if (rc != 0) {
        dtx_admin_respond_error(r, rc == DTX_ETOOBIG ? 413 : 400, "%s",
                                why[0] ? why : "the plan is not valid");
        rc = DTX_EINVAL;
        goto out;
    }
    m->payload = *owned;
    m->payload_len = (uint32_t)len;
out:
    for (int i = 0; i < DTX_SAGA_STEPS_MAX; i++)
        free(pays[i]);
    free(plan);
    return rc;
}

/* POST /api/v1/msg's check-back and destinations into an encoded plan
 * (m->payload; *owned gets it to free); the rules are
 * dtx_tmsg_plan_encode's, whose reason is the 400's text. */
static int s_msg_fields(dtx_admin_req_t *r, json_object *body, dtx_msg_t *m, uint8_t **owned)
{
    json_object *dests = NULL;
    const char *cb = s_str_field(body, "checkback");
    if (!json_object_object_get_ex(body, "destinations", &dests) ||
        !json_object_is_type(dests, json_type_array) || json_object_array_length(dests) < 1 ||
        json_object_array_length(dests) > DTX_TMSG_DESTS_MAX) {
        dtx_admin_respond_error(r, 400, "destinations: expected an array of 1..%d destinations",
                                DTX_TMSG_DESTS_MAX);
        return DTX_EINVAL;
    }
    dtx_tmsg_plan_t *plan = calloc(1, sizeof *plan);
    uint8_t *pays[DTX_TMSG_DESTS_MAX] = { NULL };
    int rc = DTX_EINVAL;
    if (!plan) {
        dtx_admin_respond_error(r, 500, "out of memory");
        return DTX_ENOMEM;
    }
    if (!cb || dtx_name_copy(plan->checkback, cb) != 0) {
        dtx_admin_respond_error(r, 400, "checkback: the resource that answers the check-back, "
                                "1..63 characters of [A-Za-z0-9._:-]");
        goto out;
    }
    plan->ndests = (uint8_t)json_object_array_length(dests);
    for (int i = 0; i < plan->ndests; i++) {
        json_object *o = json_object_array_get_idx(dests, (size_t)i), *v = NULL;
        dtx_tmsg_dest_t *d = &plan->dests[i];
        const char *res = o ? s_str_field(o, "resource") : NULL;
        const char *act = o ? s_str_field(o, "action") : NULL;
        if (!res || dtx_name_copy(d->resource, res) != 0 || !act ||
            dtx_name_copy(d->action, act) != 0) {
            dtx_admin_respond_error(r, 400, "destinations[%d]: resource and action required: "
                                    "1..63 characters of [A-Za-z0-9._:-]", i);
            goto out;
        }
        if (json_object_object_get_ex(o, "payload_base64", &v)) {
            const char *b = json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                                                                     : NULL;
            if (!b || !(pays[i] = s_b64_decode(b, strlen(b), &d->payload_len))) {
                dtx_admin_respond_error(r, 400, "destinations[%d].payload_base64: not valid "
                                        "base64", i);
                goto out;
            }
            d->payload = pays[i];
        } else if (json_object_object_get_ex(o, "payload", &v)) {
            if (!json_object_is_type(v, json_type_string)) {
                dtx_admin_respond_error(r, 400, "destinations[%d].payload: expected a string", i);
                goto out;
            }
            d->payload = (const uint8_t *)json_object_get_string(v);
            d->payload_len = (uint32_t)json_object_get_string_len(v);
        }
    }
    char why[200] = "";
    size_t len = 0;
    rc = dtx_tmsg_plan_encode(plan, NULL, 0, &len, why, sizeof why);
    if (rc == DTX_ETOOBIG && len <= DTX_PAYLOAD_MAX && (*owned = malloc(len)))
        rc = dtx_tmsg_plan_encode(plan, *owned, len, &len, why, sizeof why);
    if (rc != 0) {
        dtx_admin_respond_error(r, rc == DTX_ETOOBIG ? 413 : 400, "%s",
                                why[0] ? why : "the message is not valid");
        rc = DTX_EINVAL;
        goto out;
    }
    m->payload = *owned;
    m->payload_len = (uint32_t)len;
out:
    for (int i = 0; i < DTX_TMSG_DESTS_MAX; i++)
        free(pays[i]);
    free(plan);
    return rc;
}

/* The tries of POST /api/v1/tx/{gid}/tries into an encoded batch
 * (m->payload; *owned gets it to free). Each element as the body of
 * POST /api/v1/tx/{gid}/try. */
static int s_tries_fields(dtx_admin_req_t *r, json_object *body, dtx_msg_t *m, uint8_t **owned)
{
    json_object *tries = NULL;
    if (!json_object_object_get_ex(body, "tries", &tries) ||
        !json_object_is_type(tries, json_type_array) || json_object_array_length(tries) < 1 ||
        json_object_array_length(tries) > DTX_TRYMANY_MAX) {
        dtx_admin_respond_error(r, 400, "tries: expected an array of 1..%d tries",
                                DTX_TRYMANY_MAX);
        return DTX_EINVAL;
    }
    dtx_trymany_t *b = calloc(1, sizeof *b);
    uint8_t *pays[DTX_TRYMANY_MAX] = { NULL };
    int rc = DTX_EINVAL;
    if (!b) {
        dtx_admin_respond_error(r, 500, "out of memory");
        return DTX_ENOMEM;
    }
    b->n = (uint8_t)json_object_array_length(tries);
    for (int i = 0; i < b->n; i++) {
        json_object *o = json_object_array_get_idx(tries, (size_t)i);
        dtx_msg_t t;
        memset(&t, 0, sizeof t);
        if (!o || !json_object_is_type(o, json_type_object)) {
            dtx_admin_respond_error(r, 400, "tries[%d]: expected an object", i);
            goto out;
        }
        if (s_try_fields(r, o, &t, &pays[i]) != 0)
            goto out; /* answered: its text names the field */
        strcpy(b->items[i].resource, t.resource);
        strcpy(b->items[i].action, t.action);
        b->items[i].payload = t.payload;
        b->items[i].payload_len = t.payload_len;
    }
    size_t len = 0;
    rc = dtx_trymany_encode(b, NULL, 0, &len);
    if (rc == DTX_ETOOBIG && len <= DTX_PAYLOAD_MAX && (*owned = malloc(len)))
        rc = dtx_trymany_encode(b, *owned, len, &len);
    if (rc != 0) {
        dtx_admin_respond_error(r, 413, "tries: the payloads together are over %u bytes",
                                DTX_PAYLOAD_MAX);
        rc = DTX_EINVAL;
        goto out;
    }
    m->payload = *owned;
    m->payload_len = (uint32_t)len;
out:
    for (int i = 0; i < DTX_TRYMANY_MAX; i++)
        free(pays[i]);
    free(b);
    return rc;
}

static const char *s_outcome_name(int outcome)
{
    return outcome == DTX_OUTCOME_OK ? "ok" : outcome == DTX_OUTCOME_REFUSED ? "refused"
                                                                             : "failed";
}

/* TRY_MANY_OK as {"gid","state","tries":[{"branch","outcome"[,"error","code"]}]}. */
static int s_tries_reply(json_object *o, const dtx_msg_t *msg)
{
    dtx_trymany_outcomes_t *d = malloc(sizeof *d);
    if (!d || dtx_trymany_outcomes_decode(d, msg->payload, msg->payload_len, NULL, 0) != 0) {
        free(d);
        json_object_object_add(o, "error", json_object_new_string("unreadable engine reply"));
        return 500;
    }
    json_object *a = json_object_new_array();
    for (int i = 0; i < d->n; i++) {
        json_object *t = json_object_new_object();
        json_object_object_add(t, "branch", json_object_new_int64(d->o[i].branch));
        json_object_object_add(t, "outcome", json_object_new_string(s_outcome_name(d->o[i].outcome)));
        if (d->o[i].code) {
            json_object_object_add(t, "error", json_object_new_string(d->o[i].text));
            json_object_object_add(t, "code",
                                   json_object_new_string(dtx_strerror(-(int)d->o[i].code)));
        }
        json_object_array_add(a, t);
    }
    json_object_object_add(o, "gid", json_object_new_string(msg->gid));
    json_object_object_add(o, "state", json_object_new_string(dtx_state_name(msg->state)));
    json_object_object_add(o, "tries", a);
    free(d);
    return 200;
}

/* POST /api/v1/tcc: TCC only ("mode" other than "tcc" is 400), and
 * "commit" (true by default): the coordinator commits once every branch
 * voted yes; "id" (with commit only): the transaction's id, the caller's
 * (docs/protocol.md §19.3), so the same request may be sent again. */
static int s_run_flags(dtx_admin_req_t *r, json_object *body, dtx_msg_t *m)
{
    json_object *v = NULL;
    m->gid[0] = '\0';
    if (m->mode != DTX_MODE_TCC) {
        dtx_admin_respond_error(r, 400, "mode: a transaction in one request is \"tcc\" only");
        return DTX_EINVAL;
    }
    m->flags = DTX_TCC_RUN_COMMIT;
    if (json_object_object_get_ex(body, "commit", &v)) {
        if (!json_object_is_type(v, json_type_boolean)) {
            dtx_admin_respond_error(r, 400, "commit: expected true or false");
            return DTX_EINVAL;
        }
        m->flags = json_object_get_boolean(v) ? DTX_TCC_RUN_COMMIT : 0;
    }
    if (json_object_object_get_ex(body, "id", &v)) {
        const char *id = json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                                                                  : NULL;
        if (!id || !dtx_id_valid(id) || !(m->flags & DTX_TCC_RUN_COMMIT)) {
            dtx_admin_respond_error(r, 400, "id: expected a new id (26 characters of a ULID, "
                                    "upper case), with commit");
            return DTX_EINVAL;
        }
        snprintf(m->gid, sizeof m->gid, "%s", id);
        m->flags |= DTX_TCC_RUN_GID;
    }
    return 0;
}

static void s_op_reply(dtx_admin_req_t *r, const dtx_msg_t *msg);

void dtx_admin_op(dtx_admin_req_t *r, int type)
{
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = (uint8_t)type;
    snprintf(m.gid, sizeof m.gid, "%s", r->gid);
    r->op = type;
    json_object *body = NULL;
    uint8_t *owned = NULL;
    if (type != DTX_MSG_STATUS && !(body = dtx_admin_body_json(r)))
        return;
    if (type == DTX_MSG_BEGIN && s_begin_fields(r, body, &m) != 0)
        goto out;
    if (type == DTX_MSG_TRY && s_try_fields(r, body, &m, &owned) != 0)
        goto out;
    if (type == DTX_MSG_TRY_MANY && s_tries_fields(r, body, &m, &owned) != 0)
        goto out;
    if (type == DTX_MSG_SAGA &&
        (s_begin_fields(r, body, &m) != 0 || s_saga_fields(r, body, &m, &owned) != 0))
        goto out;
    if (type == DTX_MSG_TMSG &&
        (s_begin_fields(r, body, &m) != 0 || s_msg_fields(r, body, &m, &owned) != 0))
        goto out;
    if (type == DTX_MSG_TCC_RUN &&
        (s_begin_fields(r, body, &m) != 0 || s_run_flags(r, body, &m) != 0 ||
         s_tries_fields(r, body, &m, &owned) != 0))
        goto out;
    dtx_admin_engine(r, &m, s_op_reply); /* copies what it keeps */
out:
    free(owned);
    if (body)
        json_object_put(body);
}

static void s_op_reply(dtx_admin_req_t *r, const dtx_msg_t *msg)
{
    json_object *o = json_object_new_object();
    int status = 200;
    switch (msg->type) {
    case DTX_MSG_BEGIN_OK:
        status = 201;
        json_object_object_add(o, "gid", json_object_new_string(msg->gid));
        json_object_object_add(o, "deadline_ms", json_object_new_int64((int64_t)msg->deadline_ms));
        json_object_object_add(o, "state", json_object_new_string("active"));
        if (msg->traceparent[0])
            json_object_object_add(o, "traceparent", json_object_new_string(msg->traceparent));
        break;
    case DTX_MSG_TRY_OK:
        json_object_object_add(o, "gid", json_object_new_string(msg->gid));
        json_object_object_add(o, "branch", json_object_new_int64(msg->branch));
        json_object_object_add(o, "outcome", json_object_new_string(s_outcome_name(msg->outcome)));
        json_object_object_add(o, "state", json_object_new_string(dtx_state_name(msg->state)));
        break;
    case DTX_MSG_TRY_MANY_OK:
        status = s_tries_reply(o, msg);
        /* A transaction made by the request: created (201), or decided
         * abort where the caller asked for a commit (409, as /commit). */
        if (status == 200 && r->op == DTX_MSG_TCC_RUN) {
            int aborted = msg->state == DTX_STATE_ABORTING || msg->state == DTX_STATE_ABORTED;
            status = aborted ? 409 : 201;
            if (aborted) {
                json_object_object_add(o, "error",
                    json_object_new_string("a branch did not vote yes: decided abort"));
                json_object_object_add(o, "code", json_object_new_string("aborted"));
            }
        }
        break;
    case DTX_MSG_STATE:
        json_object_object_add(o, "gid", json_object_new_string(msg->gid));
        json_object_object_add(o, "state", json_object_new_string(dtx_state_name(msg->state)));
        if (r->op == DTX_MSG_TCC_RUN) /* a repeat of one with its "id" (§19.3) */
            json_object_object_add(o, "repeat", json_object_new_boolean(1));
        if ((r->op == DTX_MSG_COMMIT || r->op == DTX_MSG_TCC_RUN) &&
            (msg->state == DTX_STATE_ABORTING || msg->state == DTX_STATE_ABORTED)) {
            status = 409;
            json_object_object_add(o, "error",
                                   json_object_new_string("the transaction was decided abort"));
            json_object_object_add(o, "code", json_object_new_string("aborted"));
        }
        break;
    case DTX_MSG_ERROR: {
        int err = -(int)msg->code;
        status = dtx_admin_http_status(err);
        json_object_object_add(o, "error", json_object_new_string(msg->text));
        json_object_object_add(o, "code", json_object_new_string(dtx_strerror(err)));
        break;
    }
    default:
        status = 500;
        json_object_object_add(o, "error", json_object_new_string("unexpected engine reply"));
    }
    dtx_admin_respond(r, status, o);
}
