/*
 * gw_framing.h — a request's framing, field syntax and target
 * (gw_framing.c).
 */
#ifndef DTX_GW_FRAMING_H
#define DTX_GW_FRAMING_H

#include "core/gw_chain.h"

/* The headers (each_header(ctx, ...), as dtx_gw_req_t's) checked as RFC 9112 asks of a gateway, which must
 * not guess where a body ends (it would frame it one way, the upstream
 * another): field names are tokens; Content-Length is 1*DIGIT and, if
 * repeated, the same; not both Content-Length and Transfer-Encoding;
 * Transfer-Encoding is exactly "chunked"; no framing field folded. The
 * reason for a 400 (a static string), or NULL when all hold. */
const char *dtx_gw_framing_refusal(dtx_gw_each_header_fn each_header, void *ctx);

/* The path routes are matched against and that goes upstream: path
 * normalised (core/gw_path.h) into *out, which is room when the
 * normalised path surely fits its room_len bytes (3 a byte of path, + 2),
 * else a new string the caller frees (empty when refused; NULL only when
 * out of memory). The query goes as it came, but for bytes no request
 * target may hold. The reason for a 400 (a static string), or NULL. */
const char *dtx_gw_framing_target(const char *path, const char *query, char *room,
                                  size_t room_len, char **out);

#endif
