/*
 * gw_cache_key.h — the cache store's key (gw_cache_key.c): its format,
 * and purge, which reads it back.
 */
#ifndef DTX_GW_CACHE_KEY_H
#define DTX_GW_CACHE_KEY_H

#include <stddef.h>

#include "filters/gw_generation.h"

/* Builds the store key of a request (tests, purge): "GET", host
 * (lower-cased), path[?query] and consumer, separated by 0x1f. */
void dtx_gw_cache_key(char *out, size_t cap, const char *host, const char *path,
                      const char *query, const char *consumer);

/* Purges from the stores of rt (route NULL: every route; host NULL: any
 * host) the answers whose path and query equal key, or start with prefix
 * (exactly one of the two). Returns how many stored answers went, or -1
 * when route names no cached route. */
long dtx_gw_cache_purge_rt(dtx_gw_runtime_t *rt, const char *route, const char *host,
                           const char *key, const char *prefix);

#endif
