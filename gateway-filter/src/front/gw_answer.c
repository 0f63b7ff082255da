/*
 * gw_answer.c — a request's answer as a libmicrohttpd response (see
 * gw_answer.h): a local one (a refusal, an error, a filter's reply), one
 * from the route's cache without a copy, or the upstream's — from memory
 * when it came whole (a transactional route's, or a small one; the
 * route's JSON field filter applies) or streamed as it comes, the stream
 * suspending the connection until the upstream side has more.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include <microhttpd.h>

#include "filters/gw_cache_filter.h"
#include "filters/gw_transform.h"
#include "front/gw_answer.h"
#include "front/gw_rctx.h"
#include "upstream/gw_proxy.h"

static void s_add_one(void *arg, const char *name, const char *value)
{
    MHD_add_response_header(arg, name, value);
}

static void s_add_reply_headers(dtx_gw_rctx_t *c, struct MHD_Response *r)
{
    dtx_gw_reply_t *rep = &c->req.reply;
    for (int i = 0; i < rep->nheaders; i++)
        MHD_add_response_header(r, rep->names[i], rep->values[i]);
    dtx_gw_transform_each_response(&c->req, s_add_one, r);   /* route transform */
    if (c->req.request_id[0] && !MHD_get_response_header(r, "X-Request-Id"))
        MHD_add_response_header(r, "X-Request-Id", c->req.request_id);
}

/* MHD's free callback of a cached body: the object's reference. */
static void s_cached_free(void *body)
{
    dtx_gw_cache_obj_t *o = dtx_gw_cache_obj_of_body(body);
    dtx_gw_cache_obj_unref(&o);
}

/* An answer from the route's cache (filters/gw_cache_filter.h): the
 * stored body without a copy, the stored headers as an upstream's
 * (the route's transform applies), then the gateway's. */
static enum MHD_Result s_send_cached(dtx_gw_rctx_t *c, dtx_gw_cache_obj_t *obj)
{
    dtx_gw_cache_obj_t *o = dtx_gw_cache_obj_ref(obj);
    struct MHD_Response *r =
        MHD_create_response_from_buffer_with_free_callback(o->body_len, o->body, s_cached_free);
    if (!r) {
        dtx_gw_cache_obj_unref(&o);
        return MHD_NO;
    }
    const dtx_gw_reply_t *rep = &c->req.reply;
    for (int i = 0; i < obj->nheaders; i++) {
        int own = 0;
        for (int k = 0; k < rep->nheaders && !own; k++)
            own = strcasecmp(rep->names[k], obj->names[i]) == 0;
        if (!own && !dtx_gw_transform_drops(&c->req, obj->names[i]))
            MHD_add_response_header(r, obj->names[i], obj->values[i]);
    }
    s_add_reply_headers(c, r);
    c->req.final_status = obj->status;
    enum MHD_Result ok = MHD_queue_response(c->conn, (unsigned)obj->status, r);
    MHD_destroy_response(r);
    return ok;
}

enum MHD_Result dtx_gw_answer_local(dtx_gw_rctx_t *c)
{
    dtx_gw_cache_obj_t *cached = dtx_gw_cache_answer(&c->req);
    if (cached)
        return s_send_cached(c, cached);
    dtx_gw_reply_t *rep = &c->req.reply;
    struct MHD_Response *r = MHD_create_response_from_buffer(rep->body_len,
                                                             rep->body ? rep->body : (void *)"",
                                                             MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", rep->content_type);
    s_add_reply_headers(c, r);
    c->req.final_status = rep->status;
    enum MHD_Result ok = MHD_queue_response(c->conn, (unsigned)rep->status, r);
    MHD_destroy_response(r);
    return ok;
}

/* The upstream answer's header name, or NULL. */
static const char *s_upstream_header(dtx_gw_rctx_t *c, const char *name)
{
    int n;
    const dtx_gw_resp_header_t *h = dtx_gw_upstream_headers(c->up, &n);
    for (int i = 0; i < n; i++)
        if (strcasecmp(h[i].name, name) == 0)
            return h[i].value;
    return NULL;
}

static void s_add_upstream_headers(dtx_gw_rctx_t *c, struct MHD_Response *r)
{
    int n;
    const dtx_gw_resp_header_t *h = dtx_gw_upstream_headers(c->up, &n);
    const dtx_gw_reply_t *rep = &c->req.reply;
    for (int i = 0; i < n; i++) {
        /* A header the gateway sets itself (Dtx-Gid) is its, not the
         * upstream's: an upstream cannot forge it. */
        int own = 0;
        for (int k = 0; k < rep->nheaders && !own; k++)
            own = strcasecmp(rep->names[k], h[i].name) == 0;
        if (!own && strcasecmp(h[i].name, "Dtx-Gid") != 0 &&
            !dtx_gw_transform_drops(&c->req, h[i].name))
            MHD_add_response_header(r, h[i].name, h[i].value);
    }
    s_add_reply_headers(c, r);
}

static ssize_t s_stream(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    dtx_gw_rctx_t *c = cls;
    ssize_t n = dtx_gw_upstream_read(c->up, buf, max);
    if (n > 0) {
        dtx_gw_cache_append(&c->req, buf, (size_t)n);
        return n;
    }
    if (n == 0) {
        dtx_gw_cache_commit(&c->req, NULL, 0);   /* the whole answer went: store it */
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    if (n == DTX_GW_UPSTREAM_AGAIN && !atomic_load(&c->server->closing)) {
        /* Resumed by s_on_ready when bytes (or the end) come. */
        c->up_waiting = 1;
        dtx_gw_rctx_suspend(c);
        return 0;
    }
    return MHD_CONTENT_READER_END_WITH_ERROR;
}

enum MHD_Result dtx_gw_answer_upstream(dtx_gw_rctx_t *c, int buffered)
{
    struct MHD_Response *r;
    int64_t cl = dtx_gw_upstream_content_length(c->up);
    int head = strcmp(c->req.method, "HEAD") == 0;
    int nh;
    const dtx_gw_resp_header_t *hs = dtx_gw_upstream_headers(c->up, &nh);
    int capture = dtx_gw_cache_capture(&c->req, hs, nh);   /* the route's cache stores it */
    if (buffered) {
        size_t len;
        const char *body = dtx_gw_upstream_body(c->up, &len);
        if (head && cl >= 0) {
            /* Keep the upstream's Content-Length for HEAD. */
            r = MHD_create_response_from_callback((uint64_t)cl, 1, s_stream, c, NULL);
        } else {
            /* The body buffer goes to MHD as it is: no copy. */
            size_t n;
            char *own = dtx_gw_upstream_take_body(c->up, &n);
            char *filtered = NULL;
            size_t fl = 0;
            if (!head && dtx_gw_transform_wants_body(&c->req) &&
                dtx_gw_transform_json(&c->req, s_upstream_header(c, "Content-Type"),
                                      own ? own : body, own ? n : len, &filtered, &fl)) {
                free(own);   /* the route's json_fields: the filtered body instead */
                own = filtered;
                n = fl;
            }
            if (capture)
                dtx_gw_cache_commit(&c->req, own ? own : body, own ? n : len);
            r = own ? MHD_create_response_from_buffer_with_free_callback(n, own, free)
                    : MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
            if (!r)
                free(own);
        }
    } else {
        r = MHD_create_response_from_callback(cl >= 0 ? (uint64_t)cl : MHD_SIZE_UNKNOWN,
                                              32 * 1024, s_stream, c, NULL);
    }
    if (!r)
        return MHD_NO;
    s_add_upstream_headers(c, r);
    c->req.final_status = c->req.upstream_status;
    enum MHD_Result ok = MHD_queue_response(c->conn, (unsigned)c->req.upstream_status, r);
    MHD_destroy_response(r);
    return ok;
}
