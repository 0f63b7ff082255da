/*
 * gw_cache_filter.h — the cache filter: a route's response cache
 * (config "cache", docs/gateway.md "Caching"), its policy over the store
 * of core/gw_cache.h, and what the front calls to park, serve and fill.
 *
 * A request on a cached route (GET or HEAD; with Authorization only when
 * the route says `authorized`) is in one of these modes:
 *
 *   on_head lookup ──▶ HIT    fresh answer: replied at once (X-Cache: HIT)
 *                  ├─▶ LEAD   nothing fresh, this request fills the key
 *                  ├─▶ WAIT   another request fills it: the front parks this
 *                  │          one before the upstream call; woken, it looks
 *                  │          up again (HIT, LEAD, WAIT again, or PASS when
 *                  │          the fill stored nothing)
 *                  ├─▶ STORE  GET without coalescing: fetch and store
 *                  └─▶ PASS   HEAD miss: fetch, store nothing
 *   LEAD/STORE: the upstream's answer is stored when cacheable (the front
 *   captures the body as it sends it); a lead's fill always ends (stored,
 *   or not: on_response / on_done), which wakes its waiters.
 *   Any mode with a matching stale variant: an upstream error (transport,
 *   500/502/503/504) or a breaker / adaptive refusal answered locally is
 *   replaced by the stale answer (X-Cache: STALE).
 *
 * The filter sits after validation and before admission: a hit answers
 * before the rate, concurrency, breaker and adaptive rules, which guard
 * the upstream that a hit does not reach.
 *
 * An answer's freshness is read by gw_cache_fresh.h; the store key and
 * purge are gw_cache_key.h.
 */
#ifndef DTX_GW_CACHE_FILTER_H
#define DTX_GW_CACHE_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "core/gw_cache.h"
#include "core/gw_chain.h"
#include "core/gw_http1.h"
#include "filters/gw_generation.h"

/* The filter's hooks (gw_chain.h). */
int  dtx_gw_cache_head(dtx_gw_req_t *req);
void dtx_gw_cache_response(dtx_gw_req_t *req);
void dtx_gw_cache_done(dtx_gw_req_t *req);

/* The stored answer to send instead of req->reply, or NULL (the front's
 * local answer path asks). The request keeps its reference. */
dtx_gw_cache_obj_t *dtx_gw_cache_answer(const dtx_gw_req_t *req);

#define DTX_GW_CACHE_SERVE 1   /* answer from the cache (dtx_gw_cache_answer) */
#define DTX_GW_CACHE_PROXY 2   /* make the upstream call */
#define DTX_GW_CACHE_PARK  3   /* parked / park again (dtx_gw_cache_req_park) */

/* Before the upstream call. _PARK: the request is parked waiting for
 * another request's fill, and fn(arg) runs exactly once, from any
 * thread, when the front must call dtx_gw_cache_req_unparked — the front
 * suspends the connection BEFORE this call (fn may run before it
 * returns); _PROXY: the call goes ahead; _SERVE: the fill ended since
 * on_head and the answer is in the cache. */
int dtx_gw_cache_req_park(dtx_gw_req_t *req, void (*fn)(void *arg), void *arg);
/* After a park ended (or did not happen): what to do next. */
int dtx_gw_cache_req_unparked(dtx_gw_req_t *req);
/* How long a parked request waits for the fill (the route's
 * lock_timeout_ms; 0: until the fill ends). */
int64_t dtx_gw_cache_req_wait_ms(const dtx_gw_req_t *req);
/* The parked request's wait is over (lock_timeout_ms passed; the front's
 * timer, on the request's worker): 1 when it was still parked — fn will
 * not run, and dtx_gw_cache_req_unparked sends it upstream without
 * storing the answer, or serves the fill's answer if it came meanwhile
 * (nginx's proxy_cache_lock_timeout); 0 when the fill ended first (fn
 * runs, or ran: the front waits for it). */
int dtx_gw_cache_req_give_up(dtx_gw_req_t *req);

/* The upstream answer (status in req->upstream_status) is about to be
 * sent: 1 when it will be stored — the front then hands its body to
 * _append and ends it with _commit; 0 when it is not (a lead's fill
 * ends now). */
int dtx_gw_cache_capture(dtx_gw_req_t *req, const dtx_gw_resp_header_t *h, int n);
/* Body bytes as they go to the client; past max_object_bytes the
 * capture is dropped. */
void dtx_gw_cache_append(dtx_gw_req_t *req, const char *data, size_t len);
/* The whole body went out: stores the answer (body: these bytes, or
 * NULL for what _append collected). */
void dtx_gw_cache_commit(dtx_gw_req_t *req, const char *body, size_t len);

/* The store for route c of a generation being built: the old
 * generation's store of the route of the same name when the route's JSON
 * and the JSON of every pool it uses are unchanged, else a new empty one.
 * NULL when c has no cache or on allocation failure (check c->cache). */
dtx_gw_cache_t *dtx_gw_cache_for_route(const dtx_gw_runtime_t *old, const dtx_gw_config_t *cfg,
                                       const dtx_gw_route_cfg_t *c);

#endif
