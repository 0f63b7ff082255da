/*
 * gw_pools_view.h — what the pools hold now, for operators: the zone and
 * discovery series of /metrics, and the admin API's GET /pools (targets
 * with their zone, health and calls, targets draining, discovery
 * sources and what their reads did).
 */
#ifndef DTX_GW_POOLS_VIEW_H
#define DTX_GW_POOLS_VIEW_H

#include <stddef.h>

#include "runtime/gw_runtime.h"

/* Prometheus lines (malloc'ed, the caller frees; NULL when out of memory):
 *   dtx_gw_target_zone{pool,target,zone,local} 1
 *   dtx_gw_pool_targets{pool}                 targets in the set in force
 *   dtx_gw_pool_local_share_percent{pool}     load(0) of gw_zone.h (pools with local targets)
 *   dtx_gw_target_draining_in_flight{pool,target}  calls out on a dropped target
 *   dtx_gw_discovery_targets{pool,source,kind}      the source's last good set
 *   dtx_gw_discovery_reads_total / _failures_total / _changes_total{pool,source,kind}
 *   dtx_gw_discovery_version{pool}            times the pool's set changed */
char *dtx_gw_pools_metrics(dtx_gw_runtime_t *rt);

/* GET /pools: a JSON document (malloc'ed) or NULL. */
char *dtx_gw_pools_json(dtx_gw_runtime_t *rt);

#endif
