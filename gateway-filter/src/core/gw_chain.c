/* gw_chain.c — running the filter chain; reply helpers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gw_chain.h"
#include "dtx/decimal.h"
#include "dtx/trace.h"

const char *dtx_gw_req_trace(dtx_gw_req_t *req)
{
    if (req->traceparent[0])
        return req->traceparent;
    const char *in = req->header ? req->header(req->header_ctx, "traceparent") : NULL;
    char parsed[DTX_TRACEPARENT_SIZE];
    if (in && dtx_trace_parse(in, strlen(in), parsed) == 0) {
        dtx_trace_child(parsed, req->traceparent);
        req->trace_restarted = 0;
    } else {
        dtx_trace_new(req->traceparent);
        req->trace_restarted = 1;
    }
    return req->traceparent;
}

static int s_run(const dtx_gw_filter_t *const *chain, int n, dtx_gw_req_t *req, int body)
{
    for (int i = 0; i < n; i++) {
        int (*fn)(dtx_gw_req_t *) = body ? chain[i]->on_body : chain[i]->on_head;
        if (req->entered < i + 1)
            req->entered = i + 1;
        if (fn && fn(req) == DTX_GW_REPLY)
            return DTX_GW_REPLY;
    }
    return DTX_GW_NEXT;
}

int dtx_gw_chain_head(const dtx_gw_filter_t *const *chain, int n, dtx_gw_req_t *req)
{
    return s_run(chain, n, req, 0);
}

int dtx_gw_chain_body(const dtx_gw_filter_t *const *chain, int n, dtx_gw_req_t *req)
{
    return s_run(chain, n, req, 1);
}

void dtx_gw_chain_response(const dtx_gw_filter_t *const *chain, int n, dtx_gw_req_t *req)
{
    for (int i = (req->entered < n ? req->entered : n) - 1; i >= 0; i--)
        if (chain[i]->on_response)
            chain[i]->on_response(req);
}

void dtx_gw_chain_done(const dtx_gw_filter_t *const *chain, int n, dtx_gw_req_t *req)
{
    for (int i = (req->entered < n ? req->entered : n) - 1; i >= 0; i--)
        if (chain[i]->on_done)
            chain[i]->on_done(req);
    req->entered = 0;
}

void dtx_gw_reply_bytes(dtx_gw_req_t *req, int status, const char *content_type,
                        const char *body, size_t len)
{
    free(req->reply.body);
    req->reply.body = NULL;
    req->reply.body_len = 0;
    req->reply.status = status;
    snprintf(req->reply.content_type, sizeof req->reply.content_type, "%s",
             content_type ? content_type : "text/plain");
    if (body && len) {
        req->reply.body = malloc(len);
        if (req->reply.body) {
            memcpy(req->reply.body, body, len);
            req->reply.body_len = len;
        }
    }
}

void dtx_gw_reply_set(dtx_gw_req_t *req, int status, const char *content_type,
                      const char *fmt, ...)
{
    char buf[2048];
    int n = 0;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        n = vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        if (n < 0)
            n = 0;
        if ((size_t)n >= sizeof buf)
            n = sizeof buf - 1;
    }
    dtx_gw_reply_bytes(req, status, content_type, buf, (size_t)n);
}

/* The value slot of the answer's header name: the one it has, else a new
 * one with the name set; NULL when the answer has no room left. */
static char *s_reply_slot(dtx_gw_req_t *req, const char *name)
{
    dtx_gw_reply_t *r = &req->reply;
    int i;
    for (i = 0; i < r->nheaders; i++)
        if (strcmp(r->names[i], name) == 0)
            return r->values[i];
    if (i == DTX_GW_MAX_REPLY_HDRS)
        return NULL;
    size_t n = strlen(name);
    if (n >= sizeof r->names[i])
        n = sizeof r->names[i] - 1;
    memcpy(r->names[i], name, n);
    r->names[i][n] = '\0';
    r->values[i][0] = '\0';
    r->nheaders++;
    return r->values[i];
}

void dtx_gw_reply_header(dtx_gw_req_t *req, const char *name, const char *fmt, ...)
{
    char *v = s_reply_slot(req, name);
    if (!v)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof req->reply.values[0], fmt, ap);
    va_end(ap);
}

void dtx_gw_reply_header_int(dtx_gw_req_t *req, const char *name, long long value)
{
    char *v = s_reply_slot(req, name);
    _Static_assert(sizeof req->reply.values[0] >= DTX_DEC_SIZE, "a slot holds any integer");
    if (v)
        dtx_dec_i64(v, (int64_t)value);
}

void dtx_gw_req_fini(dtx_gw_req_t *req)
{
    free(req->body);
    req->body = NULL;
    free(req->reply.body);
    req->reply.body = NULL;
    free(req->query_owned);
    req->query_owned = NULL;
    free(req->path_owned);
    req->path_owned = NULL;
}
