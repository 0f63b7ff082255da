/*
 * gw_metrics.h — the Prometheus text rendering of a gateway: its route
 * counters (gw_stats.h), rules, breakers, adaptive limits, the
 * dtxd_inflight reading and its poller (gw_dtxd_reading.h), targets, and
 * the front's workers (gw_server.h: connections and requests of each).
 */
#ifndef DTX_GW_METRICS_H
#define DTX_GW_METRICS_H

#include <stddef.h>

struct dtx_gw_runtime;
struct dtx_gw_server;
/* Renders the Prometheus text format for rt and the workers of server
 * (NULL: no worker series) into a malloc'ed string (caller frees); *len
 * gets its length. NULL on allocation failure. */
char *dtx_gw_metrics_render(struct dtx_gw_runtime *rt, const struct dtx_gw_server *server,
                            size_t *len);

/* Regroups exposition text (len bytes of sample lines, in any order) by
 * family: each known family once, in the gateway's order, as "# HELP",
 * "# TYPE" and its samples in the order given; lines of unknown families
 * last, untyped; comment lines dropped. Returns a malloc'ed string (caller
 * frees), its length in *out_len; NULL on allocation failure. */
char *dtx_gw_metrics_group(const char *text, size_t len, size_t *out_len);

#endif
