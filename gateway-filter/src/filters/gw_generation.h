/*
 * gw_generation.h — one generation of live rules, as the filters see it:
 * the configuration, the routes, pools and rules built from it, and the
 * gateway-wide state every generation shares. A request holds the
 * generation it started with (req->rt) until it ends.
 *
 * Plain data: building a generation, counting its references and
 * swapping generations is gw_runtime.h, above the filters; filters only
 * read these fields.
 */
#ifndef DTX_GW_GENERATION_H
#define DTX_GW_GENERATION_H

#include <stdatomic.h>
#include <stdint.h>

#include "config/gw_config.h"
#include "limits/gw_dtxd_reading.h"
#include "upstream/gw_lb.h"
#include "core/gw_stats.h"

struct dtx_gw_txn_clients;
struct dtx_gw_discovery;
struct dtx_gw_cluster;
/* The generation holds routes and rules by pointer; the filters that
 * define them read the generation, so it names them without including
 * them (no circle between the three). */
typedef struct dtx_gw_route dtx_gw_route_t;
typedef struct dtx_gw_rule dtx_gw_rule_t;

/* What every generation of one gateway shares and outlives them all:
 * owned by the app, set up before the first generation is built and
 * torn down after the last one is gone. */
typedef struct dtx_gw_shared {
    dtx_gw_stats_t            *stats;       /* route counters, by route name */
    dtx_gw_dtxd_t              dtxd;        /* the dtxd_inflight reading */
    struct dtx_gw_txn_clients *txn;         /* dtx clients of the transaction filter */
    atomic_ullong              generations; /* generations built so far */
    struct dtx_gw_discovery   *discovery;   /* discovered pools' target sets (gw_discovery.h) */
    char                       zone[65];    /* --zone: the gateway's zone over the file's "zone" */
    struct dtx_gw_cluster     *cluster;     /* cluster-wide limits (gw_cluster.h), or NULL;
                                               owned by the app */
} dtx_gw_shared_t;

typedef struct dtx_gw_runtime {
    atomic_int         refs;
    dtx_gw_shared_t   *shared;   /* the gateway's; not owned */
    dtx_gw_config_t   *cfg;      /* owned */
    dtx_gw_route_t    *routes;
    int                nroutes;
    dtx_gw_pool_t    **pools;    /* index as cfg->pools */
    int                npools;
    dtx_gw_rule_t    **rules;    /* index as cfg->rules */
    int                nrules;
    uint64_t           generation;
} dtx_gw_runtime_t;

#endif
