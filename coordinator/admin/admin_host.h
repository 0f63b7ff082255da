/*
 * admin_host.h — which names the admin API answers to in the Host header.
 *
 * A web page an operator opens can make the browser send requests to
 * 127.0.0.1 under a name its attacker controls (DNS rebinding); the Host
 * header then carries that name. Reads are open by default, so dtxd
 * answers only requests whose Host is one it was told about: localhost,
 * 127.0.0.1, [::1], the host of --http-listen, and the names of
 * --admin-allow-host ("*" allows any). A request without a Host header
 * (HTTP/1.0 tools; browsers always send one) is allowed. Pure: unit-tested.
 */
#ifndef DTX_COORD_ADMIN_HOST_H
#define DTX_COORD_ADMIN_HOST_H

/* 1 when host_header (may be NULL) names an allowed host. allow_list is
 * the comma-separated --admin-allow-host (may be NULL or ""), listen the
 * --http-listen value (host:port, [v6]:port; may be NULL). Ports are not
 * compared; names compare case-insensitively; an IPv6 address is written
 * in brackets in a Host header, and may be given with or without them in
 * the list. */
int dtx_admin_host_ok(const char *allow_list, const char *listen, const char *host_header);

#endif
