/*
 * gw_auth.h — the identity filter: who calls (API key or JWT), the
 * consumer it is, and whether that consumer may use the route.
 *
 * On every request (auth or not) it names the consumer header
 * (identity.consumer_header) so that a client's own copy of it never
 * reaches the upstream. On a route with "auth":
 *   - an API key (the route's header, else its query parameter) is looked
 *     up by SHA-256 digest (core/gw_apikey.h); a request carrying one is
 *     judged by it alone;
 *   - otherwise an "Authorization: Bearer" token is verified by the
 *     route's jwt verifiers in order (core/gw_jwt.h); the first that
 *     accepts it wins; its consumer claim names the consumer;
 *   - failure: 401 with WWW-Authenticate (Bearer realm="dtx-gateway",
 *     error="invalid_token" per RFC 6750 once a token was presented; an
 *     ApiKey challenge naming the header or query parameter), counted by
 *     reason in the route's auth_failures;
 *   - a known consumer whose "routes" leave this route out, or a valid
 *     token naming no consumer: 403, counted as forbidden;
 *   - success: req->consumer; the key is dropped from what goes upstream
 *     (header or query parameter) when the route says strip (default).
 */
#ifndef DTX_GW_AUTH_H
#define DTX_GW_AUTH_H

#include <stdint.h>

#include "core/gw_chain.h"

int dtx_gw_auth_head(dtx_gw_req_t *req);

/* Replaces the wall clock (epoch seconds) used for exp / nbf; NULL
 * restores time(). Tests only; set before any request runs. */
void dtx_gw_auth_clock_set(int64_t (*fn)(void));

#endif
