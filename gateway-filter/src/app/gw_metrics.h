/*
 * gw_metrics.h — the Prometheus text rendering of a gateway: its route
 * counters (gw_stats.h), rules, breakers, adaptive limits, the
 * dtxd_inflight reading and its poller (gw_dtxd_reading.h), and targets.
 */
#ifndef DTX_GW_METRICS_H
#define DTX_GW_METRICS_H

#include <stddef.h>

struct dtx_gw_runtime;
/* Renders the Prometheus text format for rt into a malloc'ed string
 * (caller frees); *len gets its length. NULL on allocation failure. */
char *dtx_gw_metrics_render(struct dtx_gw_runtime *rt, size_t *len);

#endif
