/*
 * gw_cache_fresh.h — how long the cache filter may serve an answer, read
 * from its headers (gw_cache_fresh.c).
 */
#ifndef DTX_GW_CACHE_FRESH_H
#define DTX_GW_CACHE_FRESH_H

#include <stdint.h>

#include "config/gw_config.h"
#include "core/gw_http1.h"

/* The freshness of an answer (tests): seconds fresh from now (0: not
 * storable), the stale-if-error seconds and the Age it came with, from
 * its headers and the route's settings; now_wall: the wall clock (s). */
int64_t dtx_gw_cache_ttl(const dtx_gw_cache_cfg_t *cfg, int status, const dtx_gw_resp_header_t *h,
                         int n, int64_t now_wall, int64_t *stale_s, int64_t *age_s);

#endif
