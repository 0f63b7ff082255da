/*
 * gw_run.h — the run filter: a route whose "transaction" has mode "tcc"
 * and "branches" runs a whole TCC transaction at dtxd for each request,
 * in one TCC_RUN (docs/protocol.md §19), and answers the client with its
 * outcome; nothing goes upstream (docs/gateway.md, "A whole TCC
 * transaction per request").
 *
 * One request on such a route (on_body, on the offload pool: it blocks):
 *
 *   body ─▶ payloads built ─▶ TCC_RUN (commit when every branch votes yes) ─▶ answer
 *            │ bad body: 400    │ refused whole / dtxd down: 503 (nothing ran)
 *            │ too big: 413     │ no answer: 504 (it may have committed)
 *
 *   committed 200 · aborted 409 (each branch's vote) — both with Dtx-Gid.
 *
 * Payloads are built as a saga step's (gw_saga.h, dtx_gw_saga_payload):
 * each branch's template filled from the request's JSON body and
 * variables, or the body as sent. dtxd writes the transaction and every
 * branch in one log write, sends the Tries in parallel and, when every
 * branch voted yes, writes the commit with the votes; the Confirms (or
 * Cancels) run at dtxd whatever happens to the HTTP request afterwards.
 */
#ifndef DTX_GW_RUN_H
#define DTX_GW_RUN_H

#include "core/gw_chain.h"

int dtx_gw_run_body(dtx_gw_req_t *req);

#endif
