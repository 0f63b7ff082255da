/*
 * gw_route.h — routes of a configuration generation and how a request
 * finds its route.
 *
 * Matching: a route matches when its methods (any when none given)
 * contain the method, its host (any when none) equals the Host header
 * without port (case-insensitive), and its path equals the request path
 * or its prefix starts it. The request path is normalised first
 * (core/gw_path.h: dots, "//", escapes, trailing '/'); the comparison is
 * byte for byte, or ASCII case-insensitive for a route with
 * "path_case_insensitive": true. Among matching routes an exact path wins over
 * any prefix, then the longest prefix, then the first in the file (as
 * nginx picks a location).
 */
#ifndef DTX_GW_ROUTE_H
#define DTX_GW_ROUTE_H

#include <stdatomic.h>

#include "core/gw_chain.h"
#include "config/gw_config.h"
#include "upstream/gw_lb.h"
#include "core/gw_stats.h"

/* A route holds its rules by pointer (gw_rules.h); the admission filter
 * there reads routes, so a route names them without including them. */
typedef struct dtx_gw_rule dtx_gw_rule_t;

typedef struct dtx_gw_route {
    const dtx_gw_route_cfg_t *cfg;  /* in the generation's config */
    dtx_gw_pool_t **split;          /* pools of the split (one for "pool") */
    int            *weights;
    int             nsplit;
    int             total_weight;
    atomic_ullong   split_counter;  /* picks so far: exact shares per cycle */
    dtx_gw_pool_t  *backup;         /* failover pool, or NULL */
    dtx_gw_pool_t  *fallback_pool;  /* degradation pool, or NULL */
    dtx_gw_rule_t **rules;
    int             nrules;
    dtx_gw_route_stats_t *stats;    /* kept across generations, by name */
    struct dtx_gw_cache  *cache;    /* response cache (core/gw_cache.h), or NULL */
} dtx_gw_route_t;

/* The route for a request, or NULL. */
dtx_gw_route_t *dtx_gw_route_match(dtx_gw_route_t *routes, int n, const char *method,
                                   const char *host, const char *path);

/* The pool this request goes to first (weighted split, deterministic:
 * over every cycle of total_weight requests each pool gets exactly its
 * weight). */
dtx_gw_pool_t *dtx_gw_route_pick_pool(dtx_gw_route_t *self);

/* The route filter: finds req->route or answers 404. */
int dtx_gw_route_head(dtx_gw_req_t *req);

#endif
