/*
 * gw_answer.c — a request's answer handed to its connection (see
 * gw_answer.h, and gw_front.h for the answer's form): a local one (a
 * refusal, an error, a filter's reply), one from the route's cache
 * without a copy, or the upstream's — from memory when it came whole (a
 * transactional route's, or a small one; the route's JSON field filter
 * applies) or streamed as it comes, the stream suspending the connection
 * until the upstream side has more.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "filters/gw_cache_filter.h"
#include "filters/gw_transform.h"
#include "front/gw_answer.h"
#include "front/gw_rctx.h"
#include "upstream/gw_proxy.h"

static void s_add_one(void *arg, const char *name, const char *value)
{
    dtx_gw_out_field(arg, name, value);
}

static void s_add_reply_headers(dtx_gw_rctx_t *c, dtx_gw_out_t *r)
{
    dtx_gw_reply_t *rep = &c->req.reply;
    for (int i = 0; i < rep->nheaders; i++) {
        if (rep->value_lens[i] >= 0)   /* known clean (gw_chain.h): no scan */
            dtx_gw_out_field_n(r, rep->names[i], rep->name_lens[i], rep->values[i],
                               (size_t)rep->value_lens[i]);
        else
            dtx_gw_out_field(r, rep->names[i], rep->values[i]);
    }
    dtx_gw_transform_each_response(&c->req, s_add_one, r);   /* route transform */
    if (c->req.request_id[0] && !dtx_gw_out_get(r, "X-Request-Id"))
        dtx_gw_out_field(r, "X-Request-Id", c->req.request_id);
}

/* Hands r to the connection (status set by the caller). */
static int s_queue(dtx_gw_rctx_t *c, dtx_gw_out_t *r)
{
    c->req.final_status = r->status;
    return c->ops->queue(c->conn, r);
}

/* The free callback of a cached body: the object's reference. */
static void s_cached_free(void *obj)
{
    dtx_gw_cache_obj_t *o = obj;
    dtx_gw_cache_obj_unref(&o);
}

/* An answer from the route's cache (filters/gw_cache_filter.h): the
 * stored body without a copy, the stored headers as an upstream's
 * (the route's transform applies), then the gateway's. */
static int s_send_cached(dtx_gw_rctx_t *c, dtx_gw_cache_obj_t *obj)
{
    dtx_gw_out_t out, *r = &out;
    dtx_gw_out_init(r, obj->status);
    r->body = obj->body;
    r->body_len = obj->body_len;
    r->body_free = s_cached_free;
    r->body_arg = dtx_gw_cache_obj_ref(obj);
    const dtx_gw_reply_t *rep = &c->req.reply;
    for (int i = 0; i < obj->nheaders; i++) {
        int own = 0;
        for (int k = 0; k < rep->nheaders && !own; k++)
            own = dtx_gw_http1_name_eq(rep->names[k], obj->names[i]);
        if (!own && !dtx_gw_transform_drops(&c->req, obj->names[i]))
            dtx_gw_out_field(r, obj->names[i], obj->values[i]);
    }
    s_add_reply_headers(c, r);
    return s_queue(c, r);
}

int dtx_gw_answer_local(dtx_gw_rctx_t *c)
{
    dtx_gw_cache_obj_t *cached = dtx_gw_cache_answer(&c->req);
    if (cached)
        return s_send_cached(c, cached);
    dtx_gw_reply_t *rep = &c->req.reply;
    dtx_gw_out_t out, *r = &out;
    dtx_gw_out_init(r, rep->status);
    /* The reply is the request's: it lives until the request is over,
     * which is after its answer went. */
    r->body = rep->body ? rep->body : "";
    r->body_len = rep->body_len;
    dtx_gw_out_field(r, "Content-Type", rep->content_type);
    s_add_reply_headers(c, r);
    return s_queue(c, r);
}

/* The upstream answer's header name, or NULL. */
static const char *s_upstream_header(dtx_gw_rctx_t *c, const char *name)
{
    int n;
    const dtx_gw_resp_header_t *h = dtx_gw_upstream_headers(c->up, &n);
    for (int i = 0; i < n; i++)
        if (dtx_gw_http1_name_eq(h[i].name, name))
            return h[i].value;
    return NULL;
}

static void s_add_upstream_headers(dtx_gw_rctx_t *c, dtx_gw_out_t *r)
{
    int n;
    const dtx_gw_resp_header_t *h = dtx_gw_upstream_headers(c->up, &n);
    const dtx_gw_reply_t *rep = &c->req.reply;
    for (int i = 0; i < n; i++) {
        /* A header the gateway sets itself (Dtx-Gid) is its, not the
         * upstream's: an upstream cannot forge it. */
        int own = 0;
        for (int k = 0; k < rep->nheaders && !own; k++)
            own = dtx_gw_http1_name_eq(rep->names[k], h[i].name);
        if (!own && !dtx_gw_http1_name_is(h[i].name, h[i].name_len, "Dtx-Gid") &&
            !dtx_gw_transform_drops(&c->req, h[i].name))   /* vouched for: no scan */
            dtx_gw_out_field_n(r, h[i].name, h[i].name_len, h[i].value, h[i].value_len);
    }
    s_add_reply_headers(c, r);
}

static ssize_t s_stream(void *cls, char *buf, size_t max)
{
    dtx_gw_rctx_t *c = cls;
    ssize_t n = dtx_gw_upstream_read(c->up, buf, max);
    if (n > 0) {
        dtx_gw_cache_append(&c->req, buf, (size_t)n);
        return n;
    }
    if (n == 0) {
        dtx_gw_cache_commit(&c->req, NULL, 0);   /* the whole answer went: store it */
        return DTX_GW_OUT_END;
    }
    if (n == DTX_GW_UPSTREAM_AGAIN && !atomic_load(&c->server->closing)) {
        /* Resumed by s_on_ready when bytes (or the end) come. */
        c->up_waiting = 1;
        dtx_gw_rctx_suspend(c);
        return 0;
    }
    return DTX_GW_OUT_ERROR;
}

static void s_free(void *p)
{
    free(p);
}

int dtx_gw_answer_upstream(dtx_gw_rctx_t *c, int buffered)
{
    dtx_gw_out_t out, *r = &out;
    dtx_gw_out_init(r, c->req.upstream_status);
    int64_t cl = dtx_gw_upstream_content_length(c->up);
    int head = strcmp(c->req.method, "HEAD") == 0;
    int nh;
    const dtx_gw_resp_header_t *hs = dtx_gw_upstream_headers(c->up, &nh);
    int capture = dtx_gw_cache_capture(&c->req, hs, nh);   /* the route's cache stores it */
    if (buffered && !(head && cl >= 0)) {
        size_t len;
        /* The call's body buffer goes to the connection as it is, neither
         * copied nor handed over: the call ends (dtx_gw_request_completed)
         * only once its answer went, and its worker keeps the buffer for
         * the next call. */
        const char *body = dtx_gw_upstream_body(c->up, &len);
        char *own = NULL, *filtered;
        size_t n = 0, fl;
        if (!head && dtx_gw_transform_wants_body(&c->req) &&
            dtx_gw_transform_json(&c->req, s_upstream_header(c, "Content-Type"), body, len,
                                  &filtered, &fl)) {
            own = filtered;   /* the route's json_fields: the filtered body instead */
            n = fl;
        }
        if (capture)
            dtx_gw_cache_commit(&c->req, own ? own : body, own ? n : len);
        r->body = own ? own : body;
        r->body_len = own ? n : len;
        r->body_free = own ? s_free : NULL;
        r->body_arg = own;
    } else {
        /* Streamed; or HEAD with the upstream's Content-Length kept. */
        r->read = s_stream;
        r->read_cls = c;
        r->length = cl;
    }
    s_add_upstream_headers(c, r);
    return s_queue(c, r);
}
