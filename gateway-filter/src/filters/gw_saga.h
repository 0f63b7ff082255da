/*
 * gw_saga.h — the saga filter: a route whose "transaction" has mode
 * "saga" starts a Saga at dtxd for each request and answers the client
 * with its outcome; nothing goes upstream (docs/gateway.md, "Sagas at the
 * edge").
 *
 * One request on such a route (on_body, on the offload pool: it blocks):
 *
 *   body ─▶ payloads built ─▶ SAGA submitted ─▶ wait up to wait_ms ─▶ answer
 *            │ bad body: 400      │ refused / dtxd down: 503
 *            │ too big: 413       └─ gid known from here on: Dtx-Gid header
 *
 *   committed 200 · compensated 409 · stuck 500 · still running 202 ·
 *   dtxd not answering the wait 504; every one names the gid.
 *
 * Each step's payload is its template (config/gw_config_txn.c) with
 * "$body" / "$body.a.b" replaced by that JSON value of the request body
 * and header variables (core/gw_vars.h) expanded in other strings; a step
 * without a template gets the request body as sent. The Saga runs at
 * dtxd whatever happens to the HTTP request after the submit: a client
 * that goes away, or a wait that ends, changes nothing there.
 */
#ifndef DTX_GW_SAGA_H
#define DTX_GW_SAGA_H

#include <stddef.h>

#include "core/gw_chain.h"
#include "config/gw_config.h"

int dtx_gw_saga_body(dtx_gw_req_t *req);

/* A request body parsed at most once for all the payloads built from it
 * (a route's steps or branches): set body/body_len, leave the rest zero,
 * and call dtx_gw_saga_src_free when done. */
typedef struct {
    const char         *body;
    size_t              body_len;
    struct json_object *json;   /* the parsed body, or NULL (not JSON) */
    int                 parsed; /* 1 once parsing was tried */
} dtx_gw_saga_src_t;

void dtx_gw_saga_src_free(dtx_gw_saga_src_t *src);

/* The payload of step st for req (its template filled from src's body
 * and req's variables; the body itself when st has no template) into
 * *out (malloc'ed, caller frees) and *len. Returns 0; DTX_EINVAL with a
 * short lower-case reason in why (a missing field, a body that is not a
 * JSON object); DTX_ENOMEM. Pure but for src's parse, done the first time
 * a template needs the body: exposed for the unit tests. */
int dtx_gw_saga_payload(const dtx_gw_saga_step_cfg_t *st, const dtx_gw_req_t *req,
                        dtx_gw_saga_src_t *src, char **out, size_t *len, char *why,
                        size_t whylen);

#endif
