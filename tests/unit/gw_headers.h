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

/* The same as a struct, for suites that build header sets as values
 * (header_ctx: a gwt_headers_t *, or NULL for none):
 *
 *     gwt_headers_t h = { { "Accept" }, { "text/xml" }, 1 };
 */
typedef struct {
    const char *names[8];
    const char *values[8];
    int n;
} gwt_headers_t;

const char *gwt_headers_get(void *ctx, const char *name);
void gwt_headers_each(void *ctx, dtx_gw_header_visit_fn fn, void *arg);

#endif
