/*
 * gw_health.h — active health checks: one background thread sends
 * GET <target><health.path> to every target of every pool that has a
 * `health` section, every interval_ms, and feeds the result (2xx/3xx in
 * time = healthy) to the pool (gw_lb.h). It always checks the pools of
 * the generation in force, so a swap changes what is checked.
 */
#ifndef DTX_GW_HEALTH_H
#define DTX_GW_HEALTH_H

#include "runtime/gw_runtime.h"

typedef struct dtx_gw_health dtx_gw_health_t;

dtx_gw_health_t *dtx_gw_health_start(dtx_gw_current_t *current);
void dtx_gw_health_stop(dtx_gw_health_t **self_p);

#endif
