/*
 * gw_rctx.c — a request context's memory, its connection (gw_rctx.h):
 * suspension, and its headers as the filters read them, through the
 * engine's operations (gw_front.h).
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "front/gw_rctx.h"

#define S_SPARES 64                  /* contexts a worker keeps at most */

dtx_gw_rctx_t *dtx_gw_rctx_alloc(dtx_gw_worker_t *w)
{
    dtx_gw_rctx_t *c = w->spare;
    if (c) {
        w->spare = c->spare_next;
        w->nspare--;
    } else if (!(c = malloc(sizeof *c))) {
        return NULL;
    }
    /* The reply's header slots (1.8 KB of the 3.5 KB) are written before
     * they are read (below reply.nheaders only), and so is text: not
     * zeroed. */
    size_t skip = offsetof(dtx_gw_rctx_t, req) + offsetof(dtx_gw_req_t, reply) +
                  offsetof(dtx_gw_reply_t, names);
    size_t end = skip + sizeof c->req.reply.names + sizeof c->req.reply.values;
    _Static_assert(offsetof(dtx_gw_reply_t, values) ==
                   offsetof(dtx_gw_reply_t, names) + sizeof(((dtx_gw_reply_t *)0)->names),
                   "the reply's values follow its names");
    _Static_assert(offsetof(dtx_gw_rctx_t, text) + DTX_GW_RCTX_TEXT == sizeof(dtx_gw_rctx_t),
                   "text is the context's last field");
    memset(c, 0, skip);
    memset((char *)c + end, 0, offsetof(dtx_gw_rctx_t, text) - end);
    return c;
}

void dtx_gw_rctx_release(dtx_gw_rctx_t *c, int on_worker)
{
    dtx_gw_worker_t *w = c->worker;
    if (!on_worker || w->nspare >= S_SPARES) {
        free(c);
        return;
    }
    c->spare_next = w->spare;
    w->spare = c;
    w->nspare++;
}

void dtx_gw_rctx_spares_free(dtx_gw_worker_t *w)
{
    while (w->spare) {
        dtx_gw_rctx_t *c = w->spare;
        w->spare = c->spare_next;
        free(c);
    }
    w->nspare = 0;
}

void dtx_gw_rctx_suspend(dtx_gw_rctx_t *c)
{
    atomic_fetch_add(&c->server->suspended, 1);
    c->ops->suspend(c->conn);
}

void dtx_gw_rctx_resume(dtx_gw_rctx_t *c)
{
    c->ops->resume(c->conn);
    atomic_fetch_sub(&c->server->suspended, 1);
    /* On the worker's own thread (in the request's handler, or from the
     * upstream dispatch): the worker runs its engine once more before it
     * blocks (libmicrohttpd moves a resumed connection back only at its
     * next MHD_run, and MHD_get_timeout does not count pending resumes:
     * without this a request that suspended and resumed in one handler
     * call hung until unrelated traffic came). */
    c->worker->rerun = 1;
}

void dtx_gw_rctx_resume_async(dtx_gw_rctx_t *c)
{
    /* c may be gone once resumed: take what is needed first. */
    dtx_gw_worker_t *w = c->worker;
    dtx_gw_server_t *server = c->server;
    c->ops->resume_async(c->conn);
    atomic_fetch_sub(&server->suspended, 1);
    dtx_gw_wake_signal(&w->wake);
}

const char *dtx_gw_rctx_header(void *ctx, const char *name)
{
    dtx_gw_rctx_t *c = ctx;
    return c->ops->header(c->conn, name);
}

void dtx_gw_rctx_each_header(void *ctx, dtx_gw_header_visit_fn fn, void *arg)
{
    dtx_gw_rctx_t *c = ctx;
    c->ops->each_header(c->conn, fn, arg);
}
