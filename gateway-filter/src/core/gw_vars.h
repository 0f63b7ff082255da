/*
 * gw_vars.h — variables in header templates of route transforms:
 *
 *   $consumer     the consumer the identity filter found ("" when none)
 *   $request_id   the request id (X-Request-Id)
 *   $remote_addr  the client's address
 *   $gid          the gateway's transaction id on a transactional route
 *                 ("" before BEGIN or elsewhere)
 *   $$            a '$'
 *
 * A name is the longest run of [a-z_] after '$'; any other is refused
 * when the configuration loads (dtx_gw_vars_check), never at run time.
 */
#ifndef DTX_GW_VARS_H
#define DTX_GW_VARS_H

#include <stddef.h>

#include "core/gw_chain.h"

/* 0 when every variable of tmpl is known, else DTX_EINVAL with the bad
 * name in bad (cap bytes). */
int dtx_gw_vars_check(const char *tmpl, char *bad, size_t cap);

/* tmpl with its variables replaced, into out (cap bytes, NUL-terminated,
 * cut at cap - 1). Returns 0, or -1 when the result would hold a CR, LF
 * or NUL (a value never splits a header) or was cut. */
int dtx_gw_vars_expand(const char *tmpl, const dtx_gw_req_t *req, char *out, size_t cap);

#endif
