/*
 * gw_waits.c — the worker's timer of coalesced cache waits (gw_waits.h).
 *
 * Invariant: a request context's wait_deadline is in its worker's
 * cache_waits heap only while the request is parked with a deadline; the
 * heap is touched by the worker thread only (parking, resuming in the
 * access handler, request completion and the expiry all run there).
 */
#include <stddef.h>

#include "core/gw_clock.h"
#include "filters/gw_cache_filter.h"
#include "front/gw_waits.h"

void dtx_gw_waits_add(dtx_gw_rctx_t *c)
{
    int64_t ms = dtx_gw_cache_req_wait_ms(&c->req);
    if (ms > 0)
        (void)dtx_heap_set(&c->worker->cache_waits, &c->wait_deadline,
                           dtx_gw_loop_us() + ms * 1000);
}

void dtx_gw_waits_remove(dtx_gw_rctx_t *c)
{
    dtx_heap_remove(&c->worker->cache_waits, &c->wait_deadline);
}

int dtx_gw_waits_timeout_ms(dtx_gw_worker_t *w, int64_t now_us)
{
    dtx_heap_node_t *first = dtx_heap_first(&w->cache_waits);
    if (!first)
        return -1;
    int64_t left = first->key - now_us;
    return left <= 0 ? 0 : (int)((left + 999) / 1000);
}

int dtx_gw_waits_expire(dtx_gw_worker_t *w, int64_t now_us)
{
    int n = 0;
    dtx_heap_node_t *first;
    while ((first = dtx_heap_first(&w->cache_waits)) && first->key <= now_us) {
        dtx_heap_remove(&w->cache_waits, first);
        dtx_gw_rctx_t *c = (dtx_gw_rctx_t *)(void *)((char *)first -
                                                     offsetof(dtx_gw_rctx_t, wait_deadline));
        if (dtx_gw_cache_req_give_up(&c->req)) {
            dtx_gw_rctx_resume(c);   /* the access handler sends it upstream, uncached */
            n++;
        }
    }
    return n;
}
