/*
 * gw_txn.h — the transaction filter: global transactions started at the
 * edge for routes marked transactional.
 *
 * Lifecycle of one request on such a route:
 *  1. on_body: BEGIN (mode tcc, the route's timeout) at dtxd through the
 *     SDK, carrying the request's traceparent (the gateway's span, from
 *     the edge filter: dtx_gw_req_trace), so dtxd records the client's
 *     trace with the transaction; the request goes upstream with `Dtx-Gid: <gid>` and
 *     `Dtx-Deadline: <epoch ms>`. A failed BEGIN answers 503 and nothing
 *     goes upstream;
 *  2. on_response: the whole upstream answer is in; a status in the
 *     route's commit_on (default 2xx) with no transport error -> COMMIT,
 *     anything else (other status, upstream timeout, broken connection)
 *     -> ROLLBACK. When COMMIT finds the transaction already aborted (a
 *     Try refused, its deadline passed) the client gets 409 instead of the
 *     upstream's success; when dtxd cannot be reached, 504;
 *  3. on_done: a transaction neither committed nor rolled back by then
 *     (the client went away, an error in between) is rolled back.
 *
 * dtx clients are not thread-safe: each call borrows one from the
 * gateway's pool (dtx_gw_txn_clients_t, owned by the app and reached
 * through the request's generation).
 */
#ifndef DTX_GW_TXN_H
#define DTX_GW_TXN_H

#include <stdint.h>

#include "core/gw_chain.h"
#include "dtx/dtx.h"

int  dtx_gw_txn_body(dtx_gw_req_t *req);
void dtx_gw_txn_response(dtx_gw_req_t *req);
void dtx_gw_txn_done(dtx_gw_req_t *req);
typedef struct dtx_gw_txn_clients dtx_gw_txn_clients_t;

/* An empty pool of dtx clients. NULL on allocation failure. */
dtx_gw_txn_clients_t *dtx_gw_txn_clients_new(void);
/* A client of the pool for endpoint (made when none is idle), with
 * timeout_ms set; NULL on failure (logged). Give it back with
 * dtx_gw_txn_give_back, passing the last call's result: a client whose
 * call timed out or broke is closed instead of kept. */
typedef struct dtx_gw_txn_pooled dtx_gw_txn_pooled_t;
dtx_gw_txn_pooled_t *dtx_gw_txn_borrow(dtx_gw_txn_clients_t *self, const char *endpoint,
                                       int64_t timeout_ms);
dtx_client_t *dtx_gw_txn_pooled_client(dtx_gw_txn_pooled_t *p);
/* dtx_gw_txn_borrow for req — its runtime's dtxd endpoint and timeout —
 * with the client in req's trace (dtx_gw_req_trace): *client is its client
 * and *rc 0; or NULL with *rc the error (nothing to give back). */
dtx_gw_txn_pooled_t *dtx_gw_txn_borrow_for(dtx_gw_req_t *req, dtx_client_t **client, int *rc);
void dtx_gw_txn_give_back(dtx_gw_txn_clients_t *self, dtx_gw_txn_pooled_t *p, int rc);
/* Closes every pooled client and frees the pool (no request may use it
 * any more). Idempotent; nulls *self_p. */
void dtx_gw_txn_clients_destroy(dtx_gw_txn_clients_t **self_p);

#endif
