/*
 * gw_waits.h — the worker's timer of coalesced cache waits (gw_waits.c):
 * a request parked on another request's cache fill waits its route's
 * lock_timeout_ms at most, then goes upstream itself. Everything here
 * runs on the request's worker thread (the heap is the worker's).
 */
#ifndef DTX_GW_WAITS_H
#define DTX_GW_WAITS_H

#include <stdint.h>

#include "front/gw_rctx.h"

/* c was just parked (filters/gw_cache_filter.h): its deadline, when its
 * route has one. Without memory for it, c waits for the fill. */
void dtx_gw_waits_add(dtx_gw_rctx_t *c);
/* c is not waiting any more (resumed, or gone); nothing when it was not. */
void dtx_gw_waits_remove(dtx_gw_rctx_t *c);
/* ms until w's first deadline (0: one is due), or -1 when none. */
int  dtx_gw_waits_timeout_ms(dtx_gw_worker_t *w, int64_t now_us);
/* Ends the waits of w that are due: each request still parked is taken
 * off its fill and resumed to go upstream itself (one whose fill ended
 * first is resumed by the fill). Returns how many were resumed. */
int  dtx_gw_waits_expire(dtx_gw_worker_t *w, int64_t now_us);

#endif
