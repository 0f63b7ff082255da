/* gw_route.c — route matching and the weighted pool split. */
#include <string.h>
#include <strings.h>

#include "filters/gw_route.h"
#include "filters/gw_generation.h"

static int s_host_eq(const char *want, const char *host)
{
    if (!host)
        return 0;
    size_t n = strlen(want);
    const char *colon = strrchr(host, ':');
    size_t hl = (colon && !strchr(colon, ']')) ? (size_t)(colon - host) : strlen(host);
    return hl == n && strncasecmp(want, host, n) == 0;
}

dtx_gw_route_t *dtx_gw_route_match(dtx_gw_route_t *routes, int n, const char *method,
                                   const char *host, const char *path)
{
    dtx_gw_route_t *best = NULL;
    size_t best_len = 0;
    for (int i = 0; i < n; i++) {
        const dtx_gw_route_cfg_t *c = routes[i].cfg;
        if (c->nmethods) {
            int ok = 0;
            for (int k = 0; k < c->nmethods && !ok; k++)
                ok = strcmp(c->methods[k], method) == 0;
            if (!ok)
                continue;
        }
        if (c->host && !s_host_eq(c->host, host))
            continue;
        int nocase = c->path_case_insensitive;
        if (c->path) {
            if ((nocase ? strcasecmp(c->path, path) : strcmp(c->path, path)) == 0)
                return &routes[i];
            continue;
        }
        size_t pl = strlen(c->prefix);
        /* A normalised path has no trailing '/': prefix "/api/" also
         * takes "/api" itself (it was "/api/" before normalisation). */
        size_t plen = strlen(path);
        if (pl > 1 && c->prefix[pl - 1] == '/' && plen == pl - 1 &&
            (nocase ? strncasecmp(c->prefix, path, plen) : strncmp(c->prefix, path, plen)) == 0) {
            if (!best || pl > best_len) {
                best = &routes[i];
                best_len = pl;
            }
            continue;
        }
        if ((nocase ? strncasecmp(c->prefix, path, pl) : strncmp(c->prefix, path, pl)) == 0 &&
            (!best || pl > best_len)) {
            best = &routes[i];
            best_len = pl;
        }
    }
    return best;
}

dtx_gw_pool_t *dtx_gw_route_pick_pool(dtx_gw_route_t *self)
{
    if (self->nsplit == 0)
        return NULL;   /* a saga route: its filter answers, nothing is proxied */
    if (self->nsplit == 1)
        return self->split[0];
    unsigned long long c = atomic_fetch_add(&self->split_counter, 1);
    int slot = (int)(c % (unsigned long long)self->total_weight);
    for (int i = 0; i < self->nsplit; i++) {
        if (slot < self->weights[i])
            return self->split[i];
        slot -= self->weights[i];
    }
    return self->split[0];
}

int dtx_gw_route_head(dtx_gw_req_t *req)
{
    dtx_gw_runtime_t *rt = req->rt;
    if (req->refused) {
        /* Set by the front (an ambiguous path, conflicting framing): no
         * route is looked up for a request whose meaning is unsure. */
        dtx_gw_stats_count_unrouted(rt->shared->stats);
        dtx_gw_reply_set(req, 400, "application/json", "{\"error\":\"bad request\","
                         "\"detail\":\"%s\"}\n", req->refused);
        return DTX_GW_REPLY;
    }
    req->route = dtx_gw_route_match(rt->routes, rt->nroutes, req->method, req->host, req->path);
    if (!req->route) {
        dtx_gw_stats_count_unrouted(rt->shared->stats);
        dtx_gw_reply_set(req, 404, "application/json",
                         "{\"error\":\"no route matches\",\"method\":\"%.16s\"}\n",
                         req->method);
        return DTX_GW_REPLY;
    }
    atomic_fetch_add(&req->route->stats->requests, 1);
    return DTX_GW_NEXT;
}
