/* gw_cache_key.c — the cache store's key: its format, written by
 * dtx_gw_cache_key ("GET", host, path[?query], consumer, separated by
 * 0x1f) and read back by purge (dtx_gw_cache_purge_rt), which matches
 * stored keys by host and path[?query] (gw_cache_key.h). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/gw_cache.h"
#include "filters/gw_cache_key.h"
#include "filters/gw_route.h"

#define S_KEY_SEP '\x1f'

void dtx_gw_cache_key(char *out, size_t cap, const char *host, const char *path,
                      const char *query, const char *consumer)
{
    int n = snprintf(out, cap, "GET%c", S_KEY_SEP);
    for (const char *h = host ? host : ""; *h && (size_t)n + 1 < cap; h++)
        out[n++] = (char)tolower((unsigned char)*h);
    if ((size_t)n < cap)
        out[n] = '\0';
    size_t len = strlen(out);
    snprintf(out + len, cap - len, "%c%s%s%s%c%s", S_KEY_SEP, path, query ? "?" : "",
             query ? query : "", S_KEY_SEP, consumer ? consumer : "");
}

/* ---------------- purge ---------------- */

typedef struct {
    const char *host, *key, *prefix;
} s_purge_t;

static int s_purge_match(const char *k, void *arg)
{
    const s_purge_t *p = arg;
    const char *h = strchr(k, S_KEY_SEP);
    if (!h)
        return 0;
    h++;
    const char *u = strchr(h, S_KEY_SEP);
    if (!u)
        return 0;
    if (p->host && (strlen(p->host) != (size_t)(u - h) ||
                    strncasecmp(p->host, h, (size_t)(u - h)) != 0))
        return 0;
    u++;
    const char *end = strchr(u, S_KEY_SEP);
    size_t ul = end ? (size_t)(end - u) : strlen(u);
    if (p->key)
        return strlen(p->key) == ul && strncmp(p->key, u, ul) == 0;
    size_t pl = strlen(p->prefix);
    return pl <= ul && strncmp(p->prefix, u, pl) == 0;
}

long dtx_gw_cache_purge_rt(dtx_gw_runtime_t *rt, const char *route, const char *host,
                           const char *key, const char *prefix)
{
    s_purge_t p = { host, key, prefix };
    long n = 0;
    int found = 0;
    for (int i = 0; i < rt->nroutes; i++) {
        dtx_gw_route_t *r = &rt->routes[i];
        if (!r->cache || (route && strcmp(route, r->cfg->name) != 0))
            continue;
        found = 1;
        n += (long)dtx_gw_cache_purge(r->cache, s_purge_match, &p);
    }
    return route && !found ? -1 : n;
}
