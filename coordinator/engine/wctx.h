/*
 * wctx.h — write contexts: what a store callback needs to find its way
 * back (the coordinator, the transaction it holds a reference on, the
 * branch, who to answer), pooled so the hot path does not allocate.
 */
#ifndef DTX_COORD_WCTX_H
#define DTX_COORD_WCTX_H

#include "coord.h"

/* A write context: what a store callback needs, pooled. */
typedef struct dtx_wctx {
    struct dtx_wctx *next;   /* free list */
    dtx_coord_t *co;
    dtx_txn_t   *txn;        /* referenced (dtx_txn_ref) */
    uint32_t     branch;     /* branch number, 0 when none */
    int          kind;       /* caller-defined */
    int          arg;        /* caller-defined */
    dtx_peer_t   peer;       /* who to answer, when has_peer */
    int          has_peer;
    dtx_request_t *req;      /* owned request data (TRY), freed by the callback */
} dtx_wctx_t;
/* A context for a write of txn (may be NULL); refs txn. NULL on ENOMEM. */
dtx_wctx_t *dtx_wctx_get(dtx_coord_t *co, dtx_txn_t *txn);
/* Releases ctx (unrefs its txn); returns 1 when ctx->txn is still usable. */
int dtx_wctx_put(dtx_wctx_t *ctx);
/* How a store callback starts: copies its context p (a dtx_wctx_t *) into
 * *out, puts p back in the pool and returns what dtx_wctx_put does: 1 when
 * out->txn is still usable, 0 when the transaction was evicted meanwhile
 * (out->txn must not be touched then). out->req passes to the caller. So a
 * callback never holds a pointer to a context that is back in the pool. */
int dtx_wctx_take(void *p, dtx_wctx_t *out);

/* Frees the pooled contexts (at shutdown, once the store is gone). */
void dtx_wctx_pool_free(dtx_coord_t *co);

#endif
