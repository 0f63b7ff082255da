/*
 * wctx.c — pooled write contexts (wctx.h). A context holds a reference on
 * its transaction, so a callback that runs after the transaction was
 * evicted finds it dead (dtx_wctx_put returns 0) instead of freed.
 */
#include <stdlib.h>
#include <string.h>

#include "wctx.h"
#include "core/txntable.h"

dtx_wctx_t *dtx_wctx_get(dtx_coord_t *co, dtx_txn_t *txn)
{
    dtx_wctx_t *c = co->free_wctx;
    if (c)
        co->free_wctx = c->next;
    else if (!(c = malloc(sizeof *c)))
        return NULL;
    memset(c, 0, sizeof *c);
    c->co = co;
    c->txn = txn;
    if (txn)
        dtx_txn_ref(txn);
    return c;
}

int dtx_wctx_put(dtx_wctx_t *ctx)
{
    dtx_coord_t *co = ctx->co;
    int alive = ctx->txn ? dtx_txn_unref(ctx->txn) : 1;
    ctx->next = co->free_wctx;
    co->free_wctx = ctx;
    return alive;
}

int dtx_wctx_take(void *p, dtx_wctx_t *out)
{
    dtx_wctx_t *ctx = p;
    *out = *ctx;
    out->next = NULL;
    ctx->req = NULL; /* now out's */
    return dtx_wctx_put(ctx);
}

void dtx_wctx_pool_free(dtx_coord_t *co)
{
    while (co->free_wctx) {
        dtx_wctx_t *c = co->free_wctx;
        co->free_wctx = c->next;
        free(c);
    }
}
