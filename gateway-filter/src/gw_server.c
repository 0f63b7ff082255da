/*
 * gw_server.c — libmicrohttpd glue: turns connections into requests for
 * the filter chain and answers into MHD responses (see gw_server.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "dtx/log.h"
#include "gw_clock.h"
#include "gw_filters.h"
#include "gw_proxy.h"
#include "gw_server.h"

#define S_BUFFER_SMALL (64 * 1024)   /* answers this small are sent from memory */
#define S_TXN_MAX_BODY (64 << 20)    /* buffered answer limit on transactional routes */

struct dtx_gw_server {
    struct MHD_Daemon *daemon;
    dtx_gw_current_t  *current;
    atomic_int         in_flight;
    int                port;
};

typedef struct s_ctx {
    dtx_gw_server_t        *server;
    struct MHD_Connection  *conn;
    dtx_gw_req_t            req;
    char                   *uri;         /* raw request target */
    char                    client_ip[INET6_ADDRSTRLEN];
    int                     started;
    int                     replied;     /* a local answer is set */
    int                     overflow;    /* body over max_body */
    int                     deferred;    /* local answer to send on the last call */
    size_t                  body_cap;
    dtx_gw_upstream_t      *up;
} s_ctx_t;

/* ---------------- header access for filters ---------------- */

static const char *s_header(void *ctx, const char *name)
{
    s_ctx_t *c = ctx;
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

static void s_each_header(void *ctx, dtx_gw_header_visit_fn fn, void *arg)
{
    s_ctx_t *c = ctx;
    s_visit_t v = { fn, arg };
    MHD_get_connection_values(c->conn, MHD_HEADER_KIND, s_header_it, &v);
}

/* ---------------- answers ---------------- */

static void s_add_reply_headers(s_ctx_t *c, struct MHD_Response *r)
{
    dtx_gw_reply_t *rep = &c->req.reply;
    for (int i = 0; i < rep->nheaders; i++)
        MHD_add_response_header(r, rep->names[i], rep->values[i]);
    if (c->req.request_id[0] && !MHD_get_response_header(r, "X-Request-Id"))
        MHD_add_response_header(r, "X-Request-Id", c->req.request_id);
}

static enum MHD_Result s_send_local(s_ctx_t *c)
{
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

static void s_add_upstream_headers(s_ctx_t *c, struct MHD_Response *r)
{
    int n;
    const dtx_gw_resp_header_t *h = dtx_gw_upstream_headers(c->up, &n);
    for (int i = 0; i < n; i++)
        MHD_add_response_header(r, h[i].name, h[i].value);
    s_add_reply_headers(c, r);
}

static ssize_t s_stream(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    s_ctx_t *c = cls;
    ssize_t n = dtx_gw_upstream_read(c->up, buf, max);
    if (n > 0)
        return n;
    if (n == 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    return MHD_CONTENT_READER_END_WITH_ERROR;
}

static enum MHD_Result s_send_upstream(s_ctx_t *c, int buffered)
{
    struct MHD_Response *r;
    int64_t cl = dtx_gw_upstream_content_length(c->up);
    int head = strcmp(c->req.method, "HEAD") == 0;
    if (buffered) {
        size_t len;
        const char *body = dtx_gw_upstream_body(c->up, &len);
        if (head && cl >= 0) {
            /* Keep the upstream's Content-Length for HEAD. */
            r = MHD_create_response_from_callback((uint64_t)cl, 1, s_stream, c, NULL);
        } else {
            r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
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

/* ---------------- the request ---------------- */

static void *s_on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    s_ctx_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->server = cls;
    c->conn = conn;
    c->uri = strdup(uri ? uri : "/");
    c->req.content_length = -1;
    return c;
}

static void s_start(s_ctx_t *c, const char *method, const char *url)
{
    dtx_gw_req_t *req = &c->req;
    c->started = 1;
    atomic_fetch_add(&c->server->in_flight, 1);
    req->start_us = dtx_gw_now_us();
    req->rt = dtx_gw_current_acquire(c->server->current);
    req->method = method;
    if (!c->uri)
        c->uri = strdup(url);
    char *q = c->uri ? strchr(c->uri, '?') : NULL;
    if (q) {
        *q = '\0';
        req->query = q + 1;
    }
    req->path = c->uri ? c->uri : url;
    req->header = s_header;
    req->each_header = s_each_header;
    req->header_ctx = c;
    req->host = s_header(c, "Host");
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
                      c->client_ip, sizeof c->client_ip);
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                      c->client_ip, sizeof c->client_ip);
    }
    req->client_ip = c->client_ip;
    const char *cl = s_header(c, "Content-Length");
    if (cl)
        req->content_length = strtoll(cl, NULL, 10);
}

static enum MHD_Result s_proxy(s_ctx_t *c)
{
    dtx_gw_req_t *req = &c->req;
    const union MHD_ConnectionInfo *fi =
        MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    int fd = fi ? fi->connect_fd : -1;
    int txn = req->txn_state == 1;
    if (dtx_gw_upstream_start(&c->up, req, fd) < 0) {
        if (req->client_gone) {
            dtx_gw_chain_response(dtx_gw_default_chain, dtx_gw_default_chain_len, req);
            return MHD_NO;
        }
        int timeout = req->upstream_error == DTX_GW_UPERR_TIMEOUT;
        dtx_gw_reply_set(req, timeout ? 504 : 502, "application/json",
                         "{\"error\":\"%s\",\"route\":\"%s\"}\n",
                         timeout ? "upstream timed out"
                         : req->upstream_error == DTX_GW_UPERR_NO_TARGET ? "no upstream available"
                         : req->upstream_error == DTX_GW_UPERR_CONNECT ? "upstream unreachable"
                                                                       : "upstream failed",
                         req->route->cfg->name);
        dtx_gw_chain_response(dtx_gw_default_chain, dtx_gw_default_chain_len, req);
        return s_send_local(c);
    }
    int buffered = 0;
    if (txn) {
        if (dtx_gw_upstream_finish(c->up, S_TXN_MAX_BODY) < 0) {
            if (req->upstream_error == DTX_GW_UPERR_NONE)
                req->upstream_error = DTX_GW_UPERR_IO;
            dtx_gw_chain_response(dtx_gw_default_chain, dtx_gw_default_chain_len, req);
            if (req->client_gone)
                return MHD_NO;
            dtx_gw_reply_set(req, 502, "application/json",
                             "{\"error\":\"upstream answer incomplete\",\"gid\":\"%s\"}\n",
                             req->gid);
            return s_send_local(c);
        }
        buffered = 1;
    } else {
        /* Small answers usually arrive with their headers: send them whole. */
        buffered = dtx_gw_upstream_complete(c->up);
        size_t len;
        dtx_gw_upstream_body(c->up, &len);
        if (buffered && len > S_BUFFER_SMALL)
            buffered = 0;
    }
    int before = req->reply.status;
    dtx_gw_chain_response(dtx_gw_default_chain, dtx_gw_default_chain_len, req);
    if (req->reply.status != before && req->reply.status)
        return s_send_local(c);  /* a filter replaced the answer (commit failed) */
    return s_send_upstream(c, buffered);
}

static enum MHD_Result s_access(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version,
                                const char *upload_data, size_t *upload_data_size,
                                void **con_cls)
{
    (void)version;
    s_ctx_t *c = *con_cls;
    if (!c) {
        c = s_on_uri(cls, NULL, conn);
        if (!c)
            return MHD_NO;
        *con_cls = c;
    }
    dtx_gw_req_t *req = &c->req;
    if (!c->started) {
        s_start(c, method, url);
        if (!req->rt)
            return MHD_NO;
        if (dtx_gw_chain_head(dtx_gw_default_chain, dtx_gw_default_chain_len, req) ==
            DTX_GW_REPLY) {
            c->replied = 1;
            dtx_gw_chain_response(dtx_gw_default_chain, dtx_gw_default_chain_len, req);
            /* With a body on its way, answer now and let MHD close the
             * connection rather than read it; without one, answer on the
             * next call so the connection stays open. */
            if (req->content_length > 0 || s_header(c, "Transfer-Encoding"))
                return s_send_local(c);
            c->deferred = 1;
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (c->replied || c->overflow)
            return MHD_YES;
        int64_t max = req->route->cfg->max_body;
        if (max > 0 && (int64_t)(req->body_len + n) > max) {
            c->overflow = 1;
            return MHD_YES;
        }
        if (req->body_len + n + 1 > c->body_cap) {
            size_t cap = c->body_cap ? c->body_cap : 4096;
            while (cap < req->body_len + n + 1)
                cap *= 2;
            char *b = realloc(req->body, cap);
            if (!b)
                return MHD_NO;
            req->body = b;
            c->body_cap = cap;
        }
        memcpy(req->body + req->body_len, upload_data, n);
        req->body_len += n;
        req->body[req->body_len] = '\0';
        return MHD_YES;
    }
    if (c->deferred) {
        c->deferred = 0;
        return s_send_local(c);
    }
    if (c->replied)
        return MHD_YES;  /* answer already queued */
    c->replied = 1;
    if (c->overflow) {
        dtx_gw_reply_set(req, 413, "application/json",
                         "{\"error\":\"body too large\",\"max_body\":%lld}\n",
                         (long long)req->route->cfg->max_body);
        atomic_fetch_add(&req->route->stats->invalid, 1);
        dtx_gw_chain_response(dtx_gw_default_chain, dtx_gw_default_chain_len, req);
        return s_send_local(c);
    }
    if (dtx_gw_chain_body(dtx_gw_default_chain, dtx_gw_default_chain_len, req) == DTX_GW_REPLY) {
        dtx_gw_chain_response(dtx_gw_default_chain, dtx_gw_default_chain_len, req);
        return s_send_local(c);
    }
    return s_proxy(c);
}

static void s_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    s_ctx_t *c = *con_cls;
    *con_cls = NULL;
    if (!c)
        return;
    if (c->started) {
        if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
            c->req.client_gone = 1;
        dtx_gw_upstream_end(&c->up);
        dtx_gw_chain_done(dtx_gw_default_chain, dtx_gw_default_chain_len, &c->req);
        dtx_gw_runtime_unref(&c->req.rt);
        atomic_fetch_sub(&c->server->in_flight, 1);
    }
    dtx_gw_req_fini(&c->req);
    free(c->uri);
    free(c);
}

/* ---------------- daemon ---------------- */

int dtx_gw_parse_listen(const char *listen, struct sockaddr_in *out)
{
    char host[256];
    const char *colon = listen ? strrchr(listen, ':') : NULL;
    if (!colon || (size_t)(colon - listen) >= sizeof host)
        return -1;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    memset(out, 0, sizeof *out);
    out->sin_family = AF_INET;
    out->sin_port = htons((uint16_t)atoi(colon + 1));
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    if (!*host || strcmp(host, "*") == 0)
        snprintf(host, sizeof host, "0.0.0.0");
    return inet_pton(AF_INET, host, &out->sin_addr) == 1 ? 0 : -1;
}

static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n'))
        msg[--n] = '\0';
    dtx_log_debug("libmicrohttpd", "detail=\"%s\"", msg);
}

dtx_gw_server_t *dtx_gw_server_start(const char *listen, dtx_gw_current_t *current)
{
    struct sockaddr_in sa;
    if (dtx_gw_parse_listen(listen, &sa) < 0) {
        dtx_log_error("bad listen address", "listen=%s", listen);
        return NULL;
    }
    dtx_gw_server_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->current = current;
    atomic_init(&self->in_flight, 0);
    self->daemon = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
            MHD_USE_ITC | MHD_USE_ERROR_LOG,
        0, NULL, NULL, s_access, self,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_URI_LOG_CALLBACK, s_on_uri, self,
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, self,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)10000,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
        MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, NULL,
        MHD_OPTION_END);
    if (!self->daemon) {
        dtx_log_error("cannot listen", "listen=%s", listen);
        free(self);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = di ? di->port : 0;
    return self;
}

int dtx_gw_server_port(const dtx_gw_server_t *self)
{
    return self->port;
}

int dtx_gw_server_in_flight(const dtx_gw_server_t *self)
{
    return atomic_load(&self->in_flight);
}

void dtx_gw_server_stop(dtx_gw_server_t **self_p, int grace_ms)
{
    if (!self_p || !*self_p)
        return;
    dtx_gw_server_t *self = *self_p;
    *self_p = NULL;
    MHD_socket ls = MHD_quiesce_daemon(self->daemon);
    if (ls != MHD_INVALID_SOCKET)
        close(ls);
    for (int waited = 0; waited < grace_ms && atomic_load(&self->in_flight) > 0; waited += 10)
        dtx_gw_sleep_us(10000);
    MHD_stop_daemon(self->daemon);
    free(self);
}
