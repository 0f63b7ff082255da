/*
 * gw_filters.h — the default filter chain of dtx-gateway, in order:
 *
 *   edge        X-Request-Id (kept, or made), per-route metrics at the end
 *   route       finds the route (404 when none)
 *   auth        who calls: API key or JWT, the consumer (401/403)
 *   validate    size, headers, content type, JSON fields (400/413/415)
 *   cache       the route's response cache: hit, coalescing, stale (gw_cache_filter.h)
 *   admission   rate, concurrency, breaker, adaptive (429/503/fallback)
 *   transform   path rewrite; header edits (applied by gw_upreq / the front)
 *   transaction BEGIN / COMMIT / ROLLBACK at dtxd
 *
 * after which the server balances and proxies (gw_proxy.h).
 */
#ifndef DTX_GW_FILTERS_H
#define DTX_GW_FILTERS_H

#include "core/gw_chain.h"

extern const dtx_gw_filter_t *const dtx_gw_default_chain[];
extern const int dtx_gw_default_chain_len;

/* Writes a fresh random request id (32 hex digits) into out (>= 33 bytes). */
void dtx_gw_request_id(char *out);

#endif
