/*
 * gw_discovery_watch.h — the discovery thread: reads the discovered
 * pools' sources when due (target files, DNS: blocking calls, so they
 * live here and never on a worker's loop), and when a pool's set changed
 * builds a new generation from the document in force
 * (dtx_gw_current_refresh): new requests see the new set, calls already
 * out finish on the targets they have (the drain). It also drops the
 * drain lists whose targets are idle, logging "target drained".
 *
 * Like the health checker it follows the generation in force: a swap
 * that adds or changes a discovered pool is tracked within 200 ms.
 */
#ifndef DTX_GW_DISCOVERY_WATCH_H
#define DTX_GW_DISCOVERY_WATCH_H

#include "runtime/gw_runtime.h"

typedef struct dtx_gw_discovery_watch dtx_gw_discovery_watch_t;

dtx_gw_discovery_watch_t *dtx_gw_discovery_watch_start(dtx_gw_current_t *current);
void dtx_gw_discovery_watch_stop(dtx_gw_discovery_watch_t **self_p);

#endif
