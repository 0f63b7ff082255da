/*
 * gw_config_discovery.h — where a pool's targets come from besides its
 * static "targets": a target file the gateway watches and DNS names
 * (A, AAAA or SRV) re-resolved on their TTL: the pool's "discovery"
 * section, and reading one source once into a target set (the file
 * format is gw_targets_file.h, DNS gw_dns_answer.h).
 *
 * The source's configuration (dtx_gw_discovery_cfg_t) is in gw_config.h.
 *
 * Nothing here runs on a worker: a source is read when the configuration
 * is loaded (parse thread) and again by the discovery thread
 * (app/gw_discovery_watch.c); the registry that keeps the last good set
 * of each source is upstream/gw_discovery.h.
 */
#ifndef DTX_GW_CONFIG_DISCOVERY_H
#define DTX_GW_CONFIG_DISCOVERY_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "config/gw_config.h"
#include "config/gw_config_json.h"
#include "config/gw_dns_answer.h"
#include "config/gw_targets_file.h"

/* The pool's "discovery" member (absent: nothing) into pl->discovery,
 * then one read of every source appended to pl->targets (a source that
 * cannot be read refuses the configuration, as a static name that does not
 * resolve does). */
int dtx_gw_cfg_discovery(dtx_gw_cfg_ctx_t *c, json_object *v, const char *path,
                         dtx_gw_pool_cfg_t *pl);
/* Reads one source once: the file, or a DNS resolution (query NULL: the
 * system's). *refresh_ms: when to look again. */
int dtx_gw_discovery_read(const dtx_gw_discovery_cfg_t *src, dtx_gw_dns_query_fn query,
                          void *qarg, dtx_gw_target_set_t *out, int64_t *refresh_ms,
                          char *err, size_t errlen);

#endif
