/*
 * gw_transform.h — the transform filter: a route's path rewrite and
 * header edits (config "transform", docs/gateway.md "Transforms").
 *
 *   on_head (after admission: routes, rules and identity saw the path as
 *   it came): req->transform is set, and the path rewritten — by prefix
 *   (the prefix replaced) or by POSIX extended regex (the matched part
 *   replaced, \1..\9 its groups); the result always starts with '/'.
 *   Request header edits are applied when the upstream head is written
 *   (upstream/gw_upreq.c); answer header edits when the answer goes out
 *   (front/gw_request.c, through the two calls below).
 */
#ifndef DTX_GW_TRANSFORM_H
#define DTX_GW_TRANSFORM_H

#include <stddef.h>

#include "core/gw_chain.h"

int dtx_gw_transform_head(dtx_gw_req_t *req);

/* 1 when the upstream's answer header name must not reach the client
 * (removed or replaced by the route's transform). */
int dtx_gw_transform_drops(const dtx_gw_req_t *req, const char *name);

/* Calls fn for every answer header the transform sets or adds (values
 * expanded; one that cannot be made is left out). */
void dtx_gw_transform_each_response(const dtx_gw_req_t *req,
                                    void (*fn)(void *arg, const char *name, const char *value),
                                    void *arg);

/* 1 when the route filters JSON answers (the front then reads them whole). */
int dtx_gw_transform_wants_body(const dtx_gw_req_t *req);

/* The answer body filtered by the route's json_fields: a top-level
 * object keeps (or loses) the listed members; a top-level array has each
 * of its objects filtered. Returns 1 with a malloc'ed body in *out (its
 * length in *outlen), or 0 when the body is left as it is (no filter,
 * content_type not application/json or +json, not JSON, or out of
 * memory). */
int dtx_gw_transform_json(const dtx_gw_req_t *req, const char *content_type, const char *body,
                          size_t len, char **out, size_t *outlen);

/* The path rewrite alone (tests): the new path into out, or -1 when the
 * transform does not apply (no match) or it would not fit. */
int dtx_gw_transform_path(const struct dtx_gw_transform_cfg *t, const char *path, char *out,
                          size_t cap);

#endif
