/*
 * gw_upreq.c — the request head sent upstream (gw_upreq.h).
 */
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "dtx/decimal.h"
#include "dtx/types.h"
#include "config/gw_config.h"
#include "core/gw_vars.h"
#include "upstream/gw_upreq.h"

/* 1 when a route transform removes or replaces this request header. */
static int s_edited(const dtx_gw_req_t *req, const char *name)
{
    const dtx_gw_transform_cfg_t *t = req->transform;
    if (!t)
        return 0;
    for (int i = 0; i < t->request.nremove; i++)
        if (strcasecmp(t->request.remove[i], name) == 0)
            return 1;
    for (int i = 0; i < t->request.nset; i++)
        if (strcasecmp(t->request.set_names[i], name) == 0)
            return 1;
    return 0;
}


int dtx_gw_header_listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        p += strspn(p, " \t,");
        size_t k = strcspn(p, " \t,");
        if (k == n && strncasecmp(p, name, n) == 0)
            return 1;
        p += k;
    }
    return 0;
}

/* A list of header names with their lengths, and the set of those
 * lengths as bits: a name of no listed length (most of a request's and an
 * answer's, each checked against every list on every request) is passed
 * over with one test, the others by length first, seldom reaching
 * strcasecmp. Every name is shorter than 64 bytes. */
typedef struct {
    const char *name;
    size_t      len;
} s_name_t;

typedef struct {
    uint64_t lens;                   /* bit n: a name of n bytes is listed */
    s_name_t names[12];              /* up to { NULL, 0 } */
} s_names_t;

#define S_NAME(s) { s, sizeof s - 1 },
#define S_LEN(s)  (1ULL << (sizeof s - 1)) |

static int s_named(const s_names_t *list, const char *name, size_t n)
{
    if (n >= 64 || !(list->lens >> n & 1))
        return 0;
    for (const s_name_t *e = list->names; e->name; e++)
        if (e->len == n && strcasecmp(e->name, name) == 0)
            return 1;
    return 0;
}

#define S_HOP(X) X("Connection") X("Keep-Alive") X("Proxy-Authenticate") \
    X("Proxy-Authorization") X("Proxy-Connection") X("TE") X("Trailer") X("Trailers") \
    X("Transfer-Encoding") X("Upgrade")
static const s_names_t s_hop = { S_HOP(S_LEN) 0, { S_HOP(S_NAME) { NULL, 0 } } };

/* Never forwarded as they came: this proxy writes its own. */
#define S_MADE_HERE(X) X("Content-Length") X("Expect") X("X-Forwarded-For") X("Dtx-Gid") \
    X("Dtx-Deadline") X("traceparent")
static const s_names_t s_made_here = { S_MADE_HERE(S_LEN) 0, { S_MADE_HERE(S_NAME) { NULL, 0 } } };

int dtx_gw_hop_by_hop(const char *name)
{
    return s_named(&s_hop, name, strlen(name));
}

int dtx_gw_hop_by_hop_n(const char *name, size_t len)
{
    return s_named(&s_hop, name, len);
}

typedef struct {
    const dtx_gw_req_t *req;
    dtx_gw_buf_t *b;
    const char   *connection;   /* Connection header value */
    int           trace_restarted; /* the client's tracestate belongs to another trace */
    int           failed;
    /* Fields the head needs besides, noted as the fields go by (a look-up
     * by name each walked them all again); the first of a name counts, as
     * with req->header. */
    int           has_host, has_request_id;
    const char   *xff;          /* X-Forwarded-For, or NULL */
} s_hdr_ctx_t;

static void s_line(s_hdr_ctx_t *c, const char *name, const char *value)
{
    if (dtx_gw_buf_field(c->b, name, strlen(name), value, strlen(value)) < 0)
        c->failed = 1;
}

static void s_visit(const char *name, const char *value, void *arg)
{
    s_hdr_ctx_t *c = arg;
    size_t n = strlen(name);
    if (n == 4)
        c->has_host |= dtx_gw_http1_name_eq(name, "Host");
    else if (n == 12)
        c->has_request_id |= dtx_gw_http1_name_eq(name, "X-Request-Id");
    else if (n == 15 && !c->xff && dtx_gw_http1_name_eq(name, "X-Forwarded-For"))
        c->xff = value;
    if (s_named(&s_hop, name, n) || s_named(&s_made_here, name, n) ||
        dtx_gw_header_listed(c->connection, name) ||
        (c->trace_restarted && strcasecmp(name, "tracestate") == 0) ||
        strpbrk(value, "\r\n") ||
        (c->req->consumer_header && strcasecmp(name, c->req->consumer_header) == 0) ||
        (c->req->drop_header && strcasecmp(name, c->req->drop_header) == 0) ||
        s_edited(c->req, name))
        return;
    s_line(c, name, value);
}

static int s_has_body(const dtx_gw_req_t *req, int64_t body_length)
{
    return body_length != 0 || strcmp(req->method, "POST") == 0 ||
           strcmp(req->method, "PUT") == 0 || strcmp(req->method, "PATCH") == 0;
}

int dtx_gw_upreq_head(dtx_gw_buf_t *b, const dtx_gw_req_t *req, const dtx_gw_target_t *t,
                      int64_t body_length)
{
    b->len = 0;
    s_hdr_ctx_t c = { req, b, req->header(req->header_ctx, "Connection"), req->trace_restarted, 0,
                      0, 0, NULL };
    char v[64];
    if (dtx_gw_buf_str(b, req->method) < 0 || dtx_gw_buf_add(b, " ", 1) < 0 ||
        dtx_gw_buf_str(b, t->url + t->addr.base_off) < 0 || dtx_gw_buf_str(b, req->path) < 0 ||
        (req->query && (dtx_gw_buf_add(b, "?", 1) < 0 || dtx_gw_buf_str(b, req->query) < 0)) ||
        dtx_gw_buf_add(b, " HTTP/1.1\r\n", 11) < 0)
        return DTX_ENOMEM;
    req->each_header(req->header_ctx, s_visit, &c);
    if (!c.has_host)
        s_line(&c, "Host", t->addr.host);
    const char *xff = c.xff;
    if (xff && !strpbrk(xff, "\r\n")) {
        if (dtx_gw_buf_add(b, "X-Forwarded-For: ", 17) < 0 || dtx_gw_buf_str(b, xff) < 0 ||
            dtx_gw_buf_add(b, ", ", 2) < 0 ||
            dtx_gw_buf_str(b, req->client_ip ? req->client_ip : "") < 0 ||
            dtx_gw_buf_add(b, "\r\n", 2) < 0)
            c.failed = 1;
    } else {
        s_line(&c, "X-Forwarded-For", req->client_ip ? req->client_ip : "");
    }
    if (!c.has_request_id)
        s_line(&c, "X-Request-Id", req->request_id);
    if (req->traceparent[0])
        s_line(&c, "traceparent", req->traceparent);
    if (req->consumer_header && req->consumer[0])
        s_line(&c, req->consumer_header, req->consumer);
    if (req->transform) {   /* set, then add (a value that cannot be made is left out) */
        const dtx_gw_header_edits_t *e = &req->transform->request;
        char tv[1024];
        for (int i = 0; i < e->nset; i++)
            if (dtx_gw_vars_expand(e->set_values[i], req, tv, sizeof tv) == 0)
                s_line(&c, e->set_names[i], tv);
        for (int i = 0; i < e->nadd; i++)
            if (dtx_gw_vars_expand(e->add_values[i], req, tv, sizeof tv) == 0)
                s_line(&c, e->add_names[i], tv);
    }
    if (req->txn_state == 1) {
        s_line(&c, "Dtx-Gid", req->gid);
        dtx_dec_i64(v, req->deadline_ms);
        s_line(&c, "Dtx-Deadline", v);
    }
    if (body_length < 0) {
        s_line(&c, "Transfer-Encoding", "chunked");
    } else if (s_has_body(req, body_length)) {
        dtx_dec_i64(v, body_length);
        s_line(&c, "Content-Length", v);
    }
    if (dtx_gw_buf_add(b, "\r\n", 2) < 0)
        c.failed = 1;
    return c.failed ? DTX_ENOMEM : 0;
}

