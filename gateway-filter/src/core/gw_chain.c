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

/* The index of the answer's header slot of name: the one it has (its
 * value's length then unknown), else a new one with the name set; -1
 * when the answer has no room left or the name holds CR or LF. The
 * lengths first: a rate rule sets three names a request. */
static int s_reply_slot(dtx_gw_req_t *req, const char *name)
{
    dtx_gw_reply_t *r = &req->reply;
    size_t n = strcspn(name, "\r\n");
    if (name[n])
        return -1;
    if (n >= sizeof r->names[0])
        n = sizeof r->names[0] - 1;
    int i;
    for (i = 0; i < r->nheaders; i++)
        if (r->name_lens[i] == n && memcmp(r->names[i], name, n) == 0) {
            r->value_lens[i] = -1;
            return i;
        }
    if (i == DTX_GW_MAX_REPLY_HDRS)
        return -1;
    memcpy(r->names[i], name, n);
    r->names[i][n] = '\0';
    r->name_lens[i] = (uint8_t)n;
    r->values[i][0] = '\0';
    r->value_lens[i] = -1;
    r->nheaders++;
    return i;
}

void dtx_gw_reply_header(dtx_gw_req_t *req, const char *name, const char *fmt, ...)
{
    int i = s_reply_slot(req, name);
    if (i < 0)
        return;
    char *v = req->reply.values[i];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof req->reply.values[0], fmt, ap);
    va_end(ap);
}

void dtx_gw_reply_header_int(dtx_gw_req_t *req, const char *name, long long value)
{
    int i = s_reply_slot(req, name);
    _Static_assert(sizeof req->reply.values[0] >= DTX_DEC_SIZE, "a slot holds any integer");
    _Static_assert(sizeof req->reply.names[0] <= UINT8_MAX, "a name's length fits name_lens");
    if (i >= 0)   /* digits and a sign: no CR or LF */
        req->reply.value_lens[i] = (int16_t)dtx_dec_i64(req->reply.values[i], (int64_t)value);
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
