/*
 * gw_rctx.c — a request context's connection (gw_rctx.h): suspension, and
 * its headers as the filters read them.
 */
#include <stdatomic.h>

#include <microhttpd.h>

#include "front/gw_rctx.h"

void dtx_gw_rctx_suspend(dtx_gw_rctx_t *c)
{
    atomic_fetch_add(&c->server->suspended, 1);
    MHD_suspend_connection(c->conn);
}

void dtx_gw_rctx_resume(dtx_gw_rctx_t *c)
{
    MHD_resume_connection(c->conn);
    atomic_fetch_sub(&c->server->suspended, 1);
    /* On the worker's own thread (in the access handler, or from the
     * upstream dispatch). libmicrohttpd moves a resumed connection back
     * at the start of its next MHD_run, and MHD_get_timeout does not
     * count pending resumes: without this the worker could block in
     * epoll_wait with the connection still suspended (a request that
     * suspended and resumed in one handler call hung until unrelated
     * traffic came). */
    c->worker->rerun = 1;
}

const char *dtx_gw_rctx_header(void *ctx, const char *name)
{
    dtx_gw_rctx_t *c = ctx;
    return MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, name);
}

typedef struct {
    dtx_gw_header_visit_fn fn;
    void *arg;
} s_visit_t;

static enum MHD_Result s_header_it(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    s_visit_t *v = cls;
    v->fn(key, value ? value : "", v->arg);
    return MHD_YES;
}

void dtx_gw_rctx_each_header(void *ctx, dtx_gw_header_visit_fn fn, void *arg)
{
    dtx_gw_rctx_t *c = ctx;
    s_visit_t v = { fn, arg };
    MHD_get_connection_values(c->conn, MHD_HEADER_KIND, s_header_it, &v);
}
