/* tests/unit/gw_headers.c — see gw_headers.h. */
#include <stddef.h>
#include <strings.h>

#include "gw_headers.h"

const char *gwt_header(void *ctx, const char *name)
{
    const char *const *h = ctx;
    for (int i = 0; h[i]; i += 2)
        if (strcasecmp(h[i], name) == 0)
            return h[i + 1];
    return NULL;
}

void gwt_each_header(void *ctx, dtx_gw_header_visit_fn fn, void *arg)
{
    const char *const *h = ctx;
    for (int i = 0; h[i]; i += 2)
        fn(h[i], h[i + 1], arg);
}

const char *gwt_headers_get(void *ctx, const char *name)
{
    gwt_headers_t *h = ctx;
    for (int i = 0; h && i < h->n; i++)
        if (strcasecmp(h->names[i], name) == 0)
            return h->values[i];
    return NULL;
}

void gwt_headers_each(void *ctx, dtx_gw_header_visit_fn fn, void *arg)
{
    gwt_headers_t *h = ctx;
    for (int i = 0; h && i < h->n; i++)
        fn(h->names[i], h->values[i], arg);
}
