/*
 * gw_config_zmq.h — a pool target that is a ZeroMQ endpoint:
 * `zmq+tcp://host:port` (host a name, an IPv4 address or a bracketed IPv6
 * address, resolved at load as an HTTP target's is; the port is required;
 * no path, query or anything after the port). A pool's targets are all
 * HTTP or all zmq: a mix is refused at load, and so is an active `health`
 * check (HTTP) on a zmq pool. The upstream side is upstream/gw_zmq.c.
 */
#ifndef DTX_GW_CONFIG_ZMQ_H
#define DTX_GW_CONFIG_ZMQ_H

#include <stddef.h>

#include "core/gw_addr.h"

/* 1 when url names a zmq target (starts with zmq+tcp://), else 0. */
int dtx_gw_cfg_zmq_url(const char *url);

/* Checks and resolves a zmq target into addr (its sockaddr; the base path
 * is ""). Returns 0, or DTX_EINVAL / DTX_EIO with a short reason in err. */
int dtx_gw_cfg_zmq_target(dtx_gw_addr_t *addr, const char *url, char *err, size_t errlen);

#endif
