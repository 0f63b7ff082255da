/*
 * gw_config_txn.c — a route's "transaction": mode "tcc" (BEGIN at the edge,
 * the upstream's answer decides: filters/gw_txn.c), mode "tcc" with
 * "branches" (the gateway runs the whole transaction as one TCC_RUN and
 * answers itself: filters/gw_run.c), or mode "saga" (the plan the gateway
 * submits to dtxd for each request: filters/gw_saga.c), checked here so
 * that a plan dtxd would refuse never loads. Meanings and defaults:
 * docs/gateway.md, "Transactions at the edge" and "Sagas at the edge".
 *
 *   "transaction": {"mode": "saga", "timeout_ms": 30000, "wait_ms": 10000,
 *                   "steps": [{"resource": "flights", "action": "book",
 *                              "compensation": "cancel",
 *                              "payload": {"trip": "$body.trip"}},
 *                             {"resource": "payments", "action": "charge",
 *                              "pivot": true, "after": [1]}]}
 *
 *   "transaction": {"mode": "tcc", "timeout_ms": 10000,
 *                   "branches": [{"resource": "bank-a", "action": "debit",
 *                                 "payload": {"amount": "$body.amount"}},
 *                                {"resource": "bank-b", "action": "credit"}]}
 *
 * Branches: 1..DTX_TRYMANY_MAX, valid names, templates as a step's.
 * Invariants of a loaded plan: 1..DTX_SAGA_STEPS_MAX steps with valid
 * names; a compensation on every step but the (at most one) pivot; every
 * "after" names earlier steps; the plan passes dtx_saga_plan_encode's
 * rules (in a concurrent plan the pivot waits for every earlier step and
 * every later step for the pivot); every payload template is JSON whose
 * strings use only known variables ("$body", "$body.a.b", and the header
 * variables of core/gw_vars.h but $gid, which no step can know yet).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gw_vars.h"
#include "dtx/name.h"
#include "dtx/saga.h"
#include "dtx/trymany.h"
#include "dtx/types.h"
#include "config/gw_config_json.h"

/* "$body" or "$body.a.b" (non-empty segments): a value taken from the
 * request's JSON body. */
static int s_body_ref(const char *s)
{
    if (strncmp(s, "$body", 5) != 0)
        return 0;
    const char *p = s + 5;
    if (!*p)
        return 1;
    while (*p == '.') {
        size_t n = strcspn(p + 1, ".");
        if (n == 0)
            return 0;
        p += 1 + n;
    }
    return *p == '\0';
}

/* Every string of the template v is a $body reference or text whose
 * variables gw_vars knows (but $gid). */
static int s_template_ok(dtx_gw_cfg_ctx_t *c, json_object *v, const char *path)
{
    char q[400], bad[64];
    switch (json_object_get_type(v)) {
    case json_type_string: {
        const char *s = json_object_get_string(v);
        if (s_body_ref(s))
            return 0;
        if (strncmp(s, "$body", 5) == 0 && (s[5] == '.' || s[5] == '\0'))
            return dtx_gw_cfg_fail(c, path, "\"%s\": a body reference is $body or "
                                            "$body.field[.field...]", s);
        if (dtx_gw_vars_check(s, bad, sizeof bad) < 0 || strstr(s, "$gid"))
            return dtx_gw_cfg_fail(c, path, "unknown variable %s (known: $body, "
                                            "$body.field, $consumer, $request_id, "
                                            "$remote_addr; $$ for a $)",
                                   strstr(s, "$gid") ? "$gid" : bad);
        return 0;
    }
    case json_type_object: {
        json_object_object_foreach(v, k, e) {
            dtx_gw_cfg_child(q, sizeof q, path, k);
            if (s_template_ok(c, e, q) < 0)
                return DTX_ECONFIG;
        }
        return 0;
    }
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            dtx_gw_cfg_index(q, sizeof q, path, i);
            if (s_template_ok(c, json_object_array_get_idx(v, i), q) < 0)
                return DTX_ECONFIG;
        }
        return 0;
    default:
        return 0;
    }
}

static int s_name(dtx_gw_cfg_ctx_t *c, json_object *o, const char *path, const char *key,
                  int required, char **out)
{
    char q[300];
    if (dtx_gw_cfg_str(c, o, path, key, required, NULL, out) < 0)
        return DTX_ECONFIG;
    if (*out && !dtx_name_valid(*out)) {
        dtx_gw_cfg_child(q, sizeof q, path, key);
        return dtx_gw_cfg_fail(c, q, "must be 1-%d of [A-Za-z0-9._:-]", DTX_NAME_MAX);
    }
    return 0;
}

/* A step's or branch's "payload" template (none: st->payload stays NULL,
 * the request body goes as sent). */
static int s_payload(dtx_gw_cfg_ctx_t *c, json_object *o, const char *path,
                     dtx_gw_saga_step_cfg_t *st)
{
    char q[300];
    json_object *pl;
    if (!json_object_object_get_ex(o, "payload", &pl))
        return 0;
    dtx_gw_cfg_child(q, sizeof q, path, "payload");
    if (s_template_ok(c, pl, q) < 0)
        return DTX_ECONFIG;
    st->payload = strdup(json_object_to_json_string_ext(pl, JSON_C_TO_STRING_PLAIN));
    if (!st->payload)
        return dtx_gw_cfg_fail(c, q, "out of memory");
    return 0;
}

static int s_after(dtx_gw_cfg_ctx_t *c, json_object *o, const char *path, int no,
                   dtx_gw_saga_step_cfg_t *st)
{
    json_object *a;
    char q[300];
    if (!json_object_object_get_ex(o, "after", &a))
        return 0;
    dtx_gw_cfg_child(q, sizeof q, path, "after");
    if (!json_object_is_type(a, json_type_array))
        return dtx_gw_cfg_fail(c, q, "must be an array of earlier step numbers (1-based)");
    size_t n = json_object_array_length(a);
    st->after = calloc(n + 1, sizeof *st->after);
    if (!st->after)
        return dtx_gw_cfg_fail(c, q, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(a, i);
        int64_t v = json_object_is_type(e, json_type_int) ? json_object_get_int64(e) : 0;
        if (v < 1 || v >= no)
            return dtx_gw_cfg_fail(c, q, "must list earlier steps by number (1..%d)", no - 1);
        int seen = 0;
        for (int k = 0; k < st->nafter; k++)
            seen |= st->after[k] == (int)v;
        if (seen)
            return dtx_gw_cfg_fail(c, q, "lists step %d twice", (int)v);
        int k = st->nafter++;   /* kept increasing, as the wire wants */
        while (k > 0 && st->after[k - 1] > (int)v) {
            st->after[k] = st->after[k - 1];
            k--;
        }
        st->after[k] = (int)v;
    }
    return 0;
}

static int s_step(dtx_gw_cfg_ctx_t *c, json_object *o, const char *path, int no,
                  dtx_gw_saga_step_cfg_t *st)
{
    static const char *const keys[] = { "resource", "action", "compensation", "pivot", "after",
                                        "payload", NULL };
    char q[300];
    if (dtx_gw_cfg_object(c, o, path) < 0 || dtx_gw_cfg_only(c, o, path, keys) < 0 ||
        s_name(c, o, path, "resource", 1, &st->resource) < 0 ||
        s_name(c, o, path, "action", 1, &st->action) < 0 ||
        s_name(c, o, path, "compensation", 0, &st->compensation) < 0 ||
        dtx_gw_cfg_bool(c, o, path, "pivot", 0, &st->pivot) < 0 ||
        s_after(c, o, path, no, st) < 0)
        return DTX_ECONFIG;
    if (!st->pivot && !st->compensation) {
        dtx_gw_cfg_child(q, sizeof q, path, "compensation");
        return dtx_gw_cfg_fail(c, q, "is required (only the pivot step has none)");
    }
    if (st->pivot && st->compensation) {
        dtx_gw_cfg_child(q, sizeof q, path, "compensation");
        return dtx_gw_cfg_fail(c, q, "not allowed on the pivot (it is never compensated)");
    }
    return s_payload(c, o, path, st);
}

/* The plan's cross-step rules, exactly as libdtx and dtxd apply them:
 * dtx_saga_plan_encode over the steps with empty payloads. */
static int s_plan_ok(dtx_gw_cfg_ctx_t *c, const char *path, const dtx_gw_saga_cfg_t *s)
{
    static dtx_saga_plan_t plan_zero;
    dtx_saga_plan_t *plan = malloc(sizeof *plan);
    size_t cap = (size_t)s->nsteps * (3 * DTX_NAME_SIZE + DTX_SAGA_STEPS_MAX + 16) + 16;
    uint8_t *buf = malloc(cap);
    if (!plan || !buf) {
        free(plan);
        free(buf);
        return dtx_gw_cfg_fail(c, path, "out of memory");
    }
    *plan = plan_zero;
    plan->flags = s->concurrent ? DTX_SAGA_CONCURRENT : 0;
    plan->nsteps = (uint8_t)s->nsteps;
    for (int i = 0; i < s->nsteps; i++) {
        const dtx_gw_saga_step_cfg_t *st = &s->steps[i];
        dtx_saga_step_t *ps = &plan->steps[i];
        snprintf(ps->resource, sizeof ps->resource, "%s", st->resource);
        snprintf(ps->action, sizeof ps->action, "%s", st->action);
        snprintf(ps->compensation, sizeof ps->compensation, "%s",
                 st->compensation ? st->compensation : "");
        ps->flags = st->pivot ? DTX_SAGA_STEP_PIVOT : 0;
        ps->ndeps = (uint8_t)st->nafter;
        for (int k = 0; k < st->nafter; k++)
            ps->deps[k] = (uint8_t)st->after[k];
    }
    char why[200] = "";
    size_t len = 0;
    int rc = dtx_saga_plan_encode(plan, buf, cap, &len, why, sizeof why);
    free(plan);
    free(buf);
    if (rc < 0)
        return dtx_gw_cfg_fail(c, path, "%s", why[0] ? why : "plan refused");
    return 0;
}

int dtx_gw_cfg_saga(dtx_gw_cfg_ctx_t *c, json_object *tx, const char *path,
                    dtx_gw_route_cfg_t *r)
{
    char p[300], q[340];
    json_object *steps;
    dtx_gw_cfg_child(p, sizeof p, path, "steps");
    if (json_object_object_get_ex(tx, "commit_on", &steps)) {
        dtx_gw_cfg_child(q, sizeof q, path, "commit_on");
        return dtx_gw_cfg_fail(c, q, "only with mode \"tcc\" (a saga's outcome is its own)");
    }
    if (!json_object_object_get_ex(tx, "steps", &steps))
        return dtx_gw_cfg_fail(c, p, "is required with mode \"saga\"");
    if (!json_object_is_type(steps, json_type_array) || json_object_array_length(steps) == 0 ||
        json_object_array_length(steps) > DTX_SAGA_STEPS_MAX)
        return dtx_gw_cfg_fail(c, p, "must be an array of 1-%d steps", DTX_SAGA_STEPS_MAX);
    dtx_gw_saga_cfg_t *s = calloc(1, sizeof *s);
    size_t n = json_object_array_length(steps);
    if (s)
        s->steps = calloc(n, sizeof *s->steps);
    r->saga = s;
    if (!s || !s->steps)
        return dtx_gw_cfg_fail(c, p, "out of memory");
    int pivots = 0;
    for (size_t i = 0; i < n; i++) {
        dtx_gw_cfg_index(q, sizeof q, p, i);
        s->nsteps++;
        if (s_step(c, json_object_array_get_idx(steps, i), q, (int)i + 1, &s->steps[i]) < 0)
            return DTX_ECONFIG;
        s->concurrent |= s->steps[i].nafter > 0;
        if (s->steps[i].pivot && ++pivots > 1) {
            char pv[360];
            dtx_gw_cfg_child(pv, sizeof pv, q, "pivot");
            return dtx_gw_cfg_fail(c, pv, "a plan has at most one pivot");
        }
    }
    if (s_plan_ok(c, p, s) < 0)
        return DTX_ECONFIG;
    int64_t wait_default = r->txn_timeout_ms ? r->txn_timeout_ms : 30000;
    if (dtx_gw_cfg_int(c, tx, path, "wait_ms", 0, 600000, wait_default, &s->wait_ms) < 0)
        return DTX_ECONFIG;
    return 0;
}

static int s_branch(dtx_gw_cfg_ctx_t *c, json_object *o, const char *path,
                    dtx_gw_saga_step_cfg_t *st)
{
    static const char *const keys[] = { "resource", "action", "payload", NULL };
    if (dtx_gw_cfg_object(c, o, path) < 0 || dtx_gw_cfg_only(c, o, path, keys) < 0 ||
        s_name(c, o, path, "resource", 1, &st->resource) < 0 ||
        s_name(c, o, path, "action", 1, &st->action) < 0)
        return DTX_ECONFIG;
    return s_payload(c, o, path, st);
}

/* Mode "tcc" with "branches": the branches of the TCC_RUN the gateway
 * sends for each request (filters/gw_run.c), in r->saga->steps. */
static int s_run(dtx_gw_cfg_ctx_t *c, json_object *tx, const char *path, dtx_gw_route_cfg_t *r)
{
    char p[300], q[340];
    json_object *br, *extra;
    dtx_gw_cfg_child(p, sizeof p, path, "branches");
    if (json_object_object_get_ex(tx, "commit_on", &extra)) {
        dtx_gw_cfg_child(q, sizeof q, path, "commit_on");
        return dtx_gw_cfg_fail(c, q, "not with branches (the branches' votes decide)");
    }
    json_object_object_get_ex(tx, "branches", &br);
    if (!json_object_is_type(br, json_type_array) || json_object_array_length(br) == 0 ||
        json_object_array_length(br) > DTX_TRYMANY_MAX)
        return dtx_gw_cfg_fail(c, p, "must be an array of 1-%d branches", DTX_TRYMANY_MAX);
    size_t n = json_object_array_length(br);
    dtx_gw_saga_cfg_t *s = calloc(1, sizeof *s);
    if (s)
        s->steps = calloc(n, sizeof *s->steps);
    r->saga = s;
    if (!s || !s->steps)
        return dtx_gw_cfg_fail(c, p, "out of memory");
    for (size_t i = 0; i < n; i++) {
        dtx_gw_cfg_index(q, sizeof q, p, i);
        s->nsteps++;
        if (s_branch(c, json_object_array_get_idx(br, i), q, &s->steps[i]) < 0)
            return DTX_ECONFIG;
    }
    return 0;
}

int dtx_gw_cfg_transaction(dtx_gw_cfg_ctx_t *c, json_object *v, const char *path,
                           dtx_gw_route_cfg_t *r)
{
    json_object *tx;
    char p[300], q[340];
    if (!json_object_object_get_ex(v, "transaction", &tx))
        return 0;
    static const char *const tkeys[] = { "mode", "timeout_ms", "commit_on", "steps",
                                         "wait_ms", "branches", NULL };
    char *mode = NULL;
    dtx_gw_cfg_child(p, sizeof p, path, "transaction");
    if (dtx_gw_cfg_object(c, tx, p) < 0 || dtx_gw_cfg_only(c, tx, p, tkeys) < 0 ||
        dtx_gw_cfg_str(c, tx, p, "mode", 0, "tcc", &mode) < 0)
        return DTX_ECONFIG;
    int kind = strcmp(mode, "tcc") == 0 ? DTX_GW_TXN_TCC
               : strcmp(mode, "saga") == 0 ? DTX_GW_TXN_SAGA : 0;
    free(mode);
    if (!kind) {
        dtx_gw_cfg_child(q, sizeof q, p, "mode");
        return dtx_gw_cfg_fail(c, q, "must be \"tcc\" or \"saga\"");
    }
    if (dtx_gw_cfg_int(c, tx, p, "timeout_ms", 0, 600000, 30000, &r->txn_timeout_ms) < 0)
        return DTX_ECONFIG;
    json_object *extra;
    if (kind == DTX_GW_TXN_SAGA && json_object_object_get_ex(tx, "branches", &extra)) {
        dtx_gw_cfg_child(q, sizeof q, p, "branches");
        return dtx_gw_cfg_fail(c, q, "only with mode \"tcc\" (a saga has steps)");
    }
    if (kind == DTX_GW_TXN_TCC && json_object_object_get_ex(tx, "branches", &extra))
        kind = DTX_GW_TXN_RUN;
    if (kind != DTX_GW_TXN_SAGA) {
        const char *only_saga = json_object_object_get_ex(tx, "steps", &extra) ? "steps"
                                : json_object_object_get_ex(tx, "wait_ms", &extra) ? "wait_ms"
                                                                                   : NULL;
        if (only_saga) {
            dtx_gw_cfg_child(q, sizeof q, p, only_saga);
            return dtx_gw_cfg_fail(c, q, "only with mode \"saga\"");
        }
        if (kind == DTX_GW_TXN_RUN ? s_run(c, tx, p, r) < 0
                                   : dtx_gw_cfg_statuses(c, tx, p, "commit_on", "[\"2xx\"]",
                                                         &r->commit_on) < 0)
            return DTX_ECONFIG;
    } else if (dtx_gw_cfg_saga(c, tx, p, r) < 0) {
        return DTX_ECONFIG;
    }
    r->transactional = kind;
    return 0;
}
