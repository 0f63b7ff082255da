/*
 * tests/unit/gw_headers.h — a client's request headers for the gateway's
 * unit suites: the request's header_ctx is a NULL-ended list of name,
 * value pairs, and its header / each_header are these two.
 *
 *     static const char *const h[] = { "Host", "a.example", NULL };
 *     req.header = gwt_header;
 *     req.each_header = gwt_each_header;
 *     req.header_ctx = (void *)h;
 */
#ifndef DTX_TEST_GW_HEADERS_H
#define DTX_TEST_GW_HEADERS_H

#include "core/gw_chain.h"

/* The value of the first header named name (any case), or NULL. */
const char *gwt_header(void *ctx, const char *name);
/* Calls fn on every header, in order. */
void gwt_each_header(void *ctx, dtx_gw_header_visit_fn fn, void *arg);

#endif
