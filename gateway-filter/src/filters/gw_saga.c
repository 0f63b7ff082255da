/* gw_saga.c — Sagas started at the edge (gw_saga.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "core/gw_vars.h"
#include "dtx/dtx.h"
#include "dtx/log.h"
#include "dtx/saga.h"
#include "filters/gw_generation.h"
#include "filters/gw_route.h"
#include "filters/gw_saga.h"
#include "filters/gw_txn.h"

/* The value at "$body.a.b" (ref) in body, or NULL. */
static json_object *s_lookup(json_object *body, const char *ref)
{
    json_object *v = body;
    const char *p = ref + 5;          /* past "$body" */
    char key[256];
    while (v && *p == '.') {
        size_t n = strcspn(p + 1, ".");
        if (n >= sizeof key || !json_object_is_type(v, json_type_object))
            return NULL;
        memcpy(key, p + 1, n);
        key[n] = '\0';
        json_object *next = NULL;
        if (!json_object_object_get_ex(v, key, &next))
            return NULL;
        v = next;
        p += 1 + n;
    }
    return v;
}

typedef struct {
    const dtx_gw_req_t *req;
    json_object        *body;      /* parsed request body, or NULL (not JSON) */
    int                 body_json; /* body parsed as a JSON object */
    char               *why;
    size_t              whylen;
} s_fill_t;

/* The filled copy of template node t (a new reference), or NULL with
 * f->why set. */
static json_object *s_fill(s_fill_t *f, json_object *t)
{
    switch (json_object_get_type(t)) {
    case json_type_string: {
        const char *s = json_object_get_string(t);
        if (strncmp(s, "$body", 5) == 0 && (s[5] == '\0' || s[5] == '.')) {
            if (!f->body_json) {
                snprintf(f->why, f->whylen, "the body is not a JSON object");
                return NULL;
            }
            json_object *v = s_lookup(f->body, s);
            if (!v) {
                snprintf(f->why, f->whylen, "missing field %s", s + 6);
                return NULL;
            }
            return json_object_get(v);
        }
        if (!strchr(s, '$'))
            return json_object_get(t);
        char buf[1024];
        if (dtx_gw_vars_expand(s, f->req, buf, sizeof buf) < 0) {
            snprintf(f->why, f->whylen, "a payload string is too long");
            return NULL;
        }
        return json_object_new_string(buf);
    }
    case json_type_object: {
        json_object *o = json_object_new_object();
        json_object_object_foreach(t, k, e) {
            json_object *v = o ? s_fill(f, e) : NULL;
            if (!v) {
                json_object_put(o);
                return NULL;
            }
            json_object_object_add(o, k, v);
        }
        return o;
    }
    case json_type_array: {
        size_t n = json_object_array_length(t);
        json_object *a = json_object_new_array();
        for (size_t i = 0; a && i < n; i++) {
            json_object *v = s_fill(f, json_object_array_get_idx(t, i));
            if (!v) {
                json_object_put(a);
                return NULL;
            }
            json_object_array_add(a, v);
        }
        return a;
    }
    default:
        return json_object_get(t);
    }
}

void dtx_gw_saga_src_free(dtx_gw_saga_src_t *src)
{
    json_object_put(src->json);
    src->json = NULL;
    src->parsed = 0;
}

/* src's body parsed, once. */
static json_object *s_src_json(dtx_gw_saga_src_t *src)
{
    if (src->parsed)
        return src->json;
    src->parsed = 1;
    if (!src->body || !src->body_len)
        return NULL;
    json_tokener *tok = json_tokener_new();
    src->json = tok ? json_tokener_parse_ex(tok, src->body, (int)src->body_len) : NULL;
    if (tok && json_tokener_get_error(tok) != json_tokener_success) {
        json_object_put(src->json);
        src->json = NULL;
    }
    json_tokener_free(tok);
    return src->json;
}

int dtx_gw_saga_payload(const dtx_gw_saga_step_cfg_t *st, const dtx_gw_req_t *req,
                        dtx_gw_saga_src_t *src, char **out, size_t *len, char *why,
                        size_t whylen)
{
    *out = NULL;
    *len = 0;
    if (!st->payload) {
        *out = malloc(src->body_len + 1);
        if (!*out)
            return DTX_ENOMEM;
        if (src->body_len)
            memcpy(*out, src->body, src->body_len);
        (*out)[src->body_len] = '\0';
        *len = src->body_len;
        return 0;
    }
    json_object *tmpl = json_tokener_parse(st->payload);
    s_fill_t f = { req, s_src_json(src), 0, why, whylen };
    f.body_json = f.body && json_object_is_type(f.body, json_type_object);
    why[0] = '\0';
    json_object *filled = tmpl ? s_fill(&f, tmpl) : NULL;
    int rc = 0;
    if (filled) {
        const char *s = json_object_to_json_string_ext(filled, JSON_C_TO_STRING_PLAIN);
        *out = strdup(s);
        *len = strlen(s);
        if (!*out)
            rc = DTX_ENOMEM;
    } else {
        rc = why[0] ? DTX_EINVAL : DTX_ENOMEM;
    }
    json_object_put(filled);
    json_object_put(tmpl);
    return rc;
}

/* The plan of req's route with req's payloads, or NULL with the answer
 * already set (400, 413, 500). */
static dtx_saga_t *s_plan(dtx_gw_req_t *req, const dtx_gw_saga_cfg_t *sc)
{
    int err = 0;
    dtx_saga_t *saga = dtx_saga_new(&err);
    size_t total = 0;
    /* The plan travels as one blob of at most DTX_PAYLOAD_MAX bytes: the
     * payloads get what its names and numbers leave. */
    size_t room = DTX_PAYLOAD_MAX - 16 -
                  (size_t)sc->nsteps * (3 * DTX_NAME_SIZE + DTX_SAGA_STEPS_MAX + 16);
    char why[200];
    dtx_gw_saga_src_t src = { .body = req->body, .body_len = req->body_len };
    for (int i = 0; saga && i < sc->nsteps; i++) {
        const dtx_gw_saga_step_cfg_t *st = &sc->steps[i];
        char *pl = NULL;
        size_t len = 0;
        int rc = dtx_gw_saga_payload(st, req, &src, &pl, &len, why, sizeof why);
        if (rc == DTX_EINVAL) {
            atomic_fetch_add(&req->route->stats->invalid, 1);
            dtx_gw_reply_set(req, 400, "application/json",
                             "{\"error\":\"cannot build the saga\",\"step\":%d,"
                             "\"detail\":\"%s\"}\n", i + 1, why);
            goto fail;
        }
        total += len;
        if (rc == 0 && total > room) {
            free(pl);
            atomic_fetch_add(&req->route->stats->invalid, 1);
            dtx_gw_reply_set(req, 413, "application/json",
                             "{\"error\":\"saga payloads too large\",\"max\":%zu}\n", room);
            goto fail;
        }
        int no = rc == 0 ? dtx_saga_add_step(saga, st->resource, st->action, st->compensation,
                                             pl, len, st->pivot ? DTX_STEP_PIVOT : 0)
                         : rc;
        free(pl);
        for (int k = 0; no > 0 && k < st->nafter; k++)
            if (dtx_saga_add_dependency(saga, no, st->after[k]) < 0)
                no = DTX_EINVAL;
        if (no < 0) {
            err = no;
            break;
        }
    }
    if (saga && !err) {
        dtx_gw_saga_src_free(&src);
        return saga;
    }
    dtx_gw_reply_set(req, 500, "application/json",
                     "{\"error\":\"cannot build the saga\",\"detail\":\"%s\"}\n",
                     dtx_strerror(err ? err : DTX_ENOMEM));
fail:
    dtx_gw_saga_src_free(&src);
    dtx_saga_destroy(&saga);
    return NULL;
}

/* The answer for the outcome of the wait (rc, state last seen). */
static int s_answer(dtx_gw_req_t *req, int rc, int state)
{
    const char *gid = req->gid;
    switch (rc) {
    case 0:
        dtx_gw_reply_set(req, 200, "application/json",
                         "{\"outcome\":\"committed\",\"gid\":\"%s\"}\n", gid);
        return DTX_GW_SAGA_COMMITTED;
    case DTX_EABORTED:
        dtx_gw_reply_set(req, 409, "application/json",
                         "{\"outcome\":\"compensated\",\"gid\":\"%s\"}\n", gid);
        return DTX_GW_SAGA_COMPENSATED;
    case DTX_ESTATE:
        dtx_gw_reply_set(req, 500, "application/json",
                         "{\"outcome\":\"stuck\",\"gid\":\"%s\",\"detail\":\"an operator "
                         "must resume it (dtxctl resume %s)\"}\n", gid, gid);
        return DTX_GW_SAGA_STUCK;
    case DTX_ETIMEOUT:
        if (state != 0) {
            dtx_gw_reply_set(req, 202, "application/json",
                             "{\"outcome\":\"running\",\"gid\":\"%s\"}\n", gid);
            return DTX_GW_SAGA_RUNNING;
        }
        /* the status call itself timed out: unknown */
        __attribute__((fallthrough));
    default:
        dtx_gw_reply_set(req, 504, "application/json",
                         "{\"error\":\"saga outcome unknown\",\"gid\":\"%s\","
                         "\"detail\":\"%s\"}\n", gid, dtx_strerror(rc));
        return DTX_GW_SAGA_UNKNOWN;
    }
}

int dtx_gw_saga_body(dtx_gw_req_t *req)
{
    const dtx_gw_route_cfg_t *c = req->route->cfg;
    if (c->transactional != DTX_GW_TXN_SAGA || req->fallback_pool)
        return DTX_GW_NEXT;
    dtx_gw_route_stats_t *st = req->route->stats;
    dtx_saga_t *saga = s_plan(req, c->saga);
    if (!saga)
        return DTX_GW_REPLY;
    dtx_gw_txn_clients_t *clients = req->rt->shared->txn;
    dtx_client_t *client = NULL;
    int rc = 0;
    dtx_gw_txn_pooled_t *p = dtx_gw_txn_borrow_for(req, &client, &rc);
    if (rc == 0)
        rc = dtx_client_saga_submit(client, saga, (uint32_t)c->txn_timeout_ms, req->gid);
    dtx_saga_destroy(&saga);
    if (rc != 0) {
        const char *why = client ? dtx_client_last_error(client) : "";
        atomic_fetch_add(&st->saga[DTX_GW_SAGA_SUBMIT_FAILED], 1);
        dtx_log_warn("saga submit failed", "route=%s trace=%.32s err=%s reason=\"%s\"", c->name,
                     req->traceparent + 3, dtx_strerror(rc), why);
        /* The reason is dtxd's text: kept out of the answer but for its
         * code (it may name internals). */
        dtx_gw_reply_header(req, "Retry-After", "1");
        dtx_gw_reply_set(req, 503, "application/json",
                         "{\"error\":\"cannot start the saga\",\"detail\":\"%s\"}\n",
                         dtx_strerror(rc));
        if (p)
            dtx_gw_txn_give_back(clients, p, rc);
        req->gid[0] = '\0';
        return DTX_GW_REPLY;
    }
    int state = 0;
    if (c->saga->wait_ms > 0)
        rc = dtx_client_saga_wait(client, req->gid, (int)c->saga->wait_ms, &state);
    else
        rc = DTX_ETIMEOUT, state = DTX_STATE_ACTIVE;
    dtx_gw_txn_give_back(clients, p, rc == DTX_ETIMEOUT && state ? 0 : rc);
    int outcome = s_answer(req, rc, state);
    atomic_fetch_add(&st->saga[outcome], 1);
    dtx_gw_reply_header(req, "Dtx-Gid", "%s", req->gid);
    dtx_log_debug("saga answered", "gid=%s route=%s outcome=%s trace=%.32s", req->gid, c->name,
                  dtx_gw_saga_outcome_name(outcome), req->traceparent + 3);
    return DTX_GW_REPLY;
}
