/*
 * gw_admin.c — the admin API (gw_admin.h).
 *
 * A request goes through libmicrohttpd's access handler in three steps:
 *
 *   headers in ──▶ route, token, method, Content-Length ──▶ answered at once
 *        │            (404/401/403/405/413/503: no body byte read,
 *        │             libmicrohttpd closes the connection after)
 *        ▼
 *   body chunks ──▶ buffered (authenticated PUT/POST only), within the
 *        │          document cap and the budget of all connections
 *        ▼
 *   body whole ──▶ parse, check, swap ──▶ answer
 *
 * Invariants: no byte of a body is buffered before the token matched;
 * self->buffered is the sum of the capacities of the bodies being
 * received and never exceeds S_MAX_BUFFERED (both touched only on
 * libmicrohttpd's one thread); every connection sits in self->conns from
 * its accept to its close, and the reaper thread shuts down (never
 * closes: the descriptor stays libmicrohttpd's) one that has not brought a
 * whole request within request_ms. The list is under self->lock, and a
 * connection leaves it (NOTIFY_CLOSED) before libmicrohttpd closes its
 * descriptor, so the reaper never touches a reused descriptor.
 */
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "dtx/log.h"
#include "core/gw_addr.h"
#include "core/gw_clock.h"
#include "config/gw_config_admin.h"
#include "config/gw_config_parse.h"
#include "app/gw_admin.h"
#include "app/gw_admin_cache.h"
#include "app/gw_metrics.h"
#include "app/gw_pools_view.h"

#define S_MAX_DOC         ((size_t)4 << 20)   /* one document */
#define S_MAX_BUFFERED    ((size_t)16 << 20)  /* all bodies being received */
#define S_MAX_CONNECTIONS 32u
#define S_HEADER_MEMORY   ((size_t)32 << 10)  /* libmicrohttpd's pool per connection */
#define S_CHUNKED_FIRST   ((size_t)64 << 10)  /* first reservation without Content-Length */
#define S_REAP_TICK_MS    100

/* One admin connection (libmicrohttpd's socket context). */
typedef struct s_conn {
    int            fd;        /* libmicrohttpd's; only shut down here */
    int64_t        since_us;  /* accepted, or its previous request answered */
    int            whole;     /* the request is in (or refused): no deadline */
    int            cut;       /* shut down by the reaper */
    struct s_conn *prev, *next;
} s_conn_t;

struct dtx_gw_admin {
    struct MHD_Daemon *daemon;
    dtx_gw_current_t  *current;
    const dtx_gw_server_t *server; /* whose workers /metrics counts, or NULL (lock) */
    char              *token;      /* --admin-token, or NULL */
    int                port;
    int64_t            request_ms; /* deadline of a request's headers and body */
    size_t             buffered;   /* reserved by bodies being received */
    pthread_mutex_t    lock;       /* conns, stop, server */
    pthread_cond_t     wake;       /* the reaper's tick, or stop */
    s_conn_t          *conns;
    int                stop;
    int                reaping;    /* the reaper thread runs */
    pthread_t          reaper;
};

/* A PUT/POST being received (libmicrohttpd's request context). */
typedef struct {
    char  *buf;
    size_t len, cap;   /* cap is counted in self->buffered */
    int    too_big;    /* past S_MAX_DOC or the budget: the rest is dropped */
    int    over_budget;
    int    is_validate;
    int    is_purge;     /* POST /cache/purge (gw_admin_cache.h) */
} s_body_t;

static enum MHD_Result s_send(struct MHD_Connection *conn, unsigned status, const char *type,
                              const char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body,
                                                             MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ok = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result s_json(struct MHD_Connection *conn, unsigned status, const char *fmt,
                              const char *a, const char *b)
{
    char body[1200];
    int n = snprintf(body, sizeof body, fmt, a ? a : "", b ? b : "");
    return s_send(conn, status, "application/json", body,
                  n < 0 ? 0 : ((size_t)n < sizeof body ? (size_t)n : sizeof body - 1));
}

/* Escapes s for a JSON string (quotes and backslashes, controls dropped). */
static const char *s_esc(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; *s && n + 2 < cap; s++) {
        if (*s == '"' || *s == '\\')
            out[n++] = '\\';
        if ((unsigned char)*s >= 0x20)
            out[n++] = *s;
    }
    out[n] = '\0';
    return out;
}

static int s_token_ok(dtx_gw_admin_t *self, struct MHD_Connection *conn)
{
    dtx_gw_runtime_t *rt = dtx_gw_current_acquire(self->current);
    const char *want = self->token ? self->token : (rt ? rt->cfg->admin_token : NULL);
    int ok = 0;
    if (want && *want) {
        const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
        if (auth && strncmp(auth, "Bearer ", 7) == 0) {
            const char *got = auth + 7;
            size_t wl = strlen(want), gl = strlen(got);
            unsigned char diff = (unsigned char)(wl != gl);
            for (size_t i = 0; i < wl; i++)
                diff |= (unsigned char)(want[i] ^ (i < gl ? got[i] : 0));
            ok = diff == 0;
        }
    } else {
        ok = -1;  /* no token configured */
    }
    dtx_gw_runtime_unref(&rt);
    return ok;
}


static s_conn_t *s_conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* The request is in (or answered early): the reaper leaves it alone. */
static void s_whole(dtx_gw_admin_t *self, struct MHD_Connection *conn)
{
    s_conn_t *c = s_conn_of(conn);
    if (!c)
        return;
    pthread_mutex_lock(&self->lock);
    c->whole = 1;
    pthread_mutex_unlock(&self->lock);
}

/* What the admin API would refuse in cfg beyond its validity (gw_admin.h):
 * status and answer, or 0. */
static unsigned s_policy(dtx_gw_admin_t *self, const dtx_gw_config_t *cfg, char *out,
                         size_t cap)
{
    dtx_gw_runtime_t *rt = dtx_gw_current_acquire(self->current);
    const char *field = rt ? dtx_gw_config_restart_field(rt->cfg, cfg) : NULL;
    int drops_token = !self->token && rt && rt->cfg->admin_token && !cfg->admin_token;
    unsigned status = 0;
    if (field) {
        status = 409;
        snprintf(out, cap, "{\"error\":\"needs a restart\",\"field\":\"%s\",\"detail\":"
                           "\"%s is bound at start: a restart applies it\"}", field, field);
    } else if (drops_token) {
        status = 400;
        snprintf(out, cap, "{\"error\":\"admin.token missing\",\"detail\":\"the token in force "
                           "comes from admin.token: a document without one would lock the "
                           "admin API until a restart; keep admin.token (GET /config shows "
                           "it) or set it to a new one\"}");
    }
    dtx_gw_runtime_unref(&rt);
    return status;
}

static enum MHD_Result s_put(dtx_gw_admin_t *self, struct MHD_Connection *conn, s_body_t *body)
{
    if (body->over_budget)
        return s_json(conn, 503, "{\"error\":\"admin busy: too many documents being "
                                 "received\"%s%s}", NULL, NULL);
    if (body->too_big)
        return s_json(conn, 413, "{\"error\":\"document too large\"%s%s}", NULL, NULL);
    if (body->is_purge) {
        char ans[512];
        unsigned st = dtx_gw_admin_cache_purge(self->current, body->buf ? body->buf : "",
                                               body->len, ans, sizeof ans);
        return s_send(conn, st, "application/json", ans, strlen(ans));
    }
    char err[DTX_GW_ERR_SIZE], esc[DTX_GW_ERR_SIZE * 2];
    dtx_gw_config_t *cfg = dtx_gw_config_parse(body->buf ? body->buf : "", body->len, err,
                                               sizeof err);
    if (!cfg)
        return s_json(conn, 400, "{\"error\":\"invalid configuration\",\"detail\":\"%s\"}%s",
                      s_esc(err, esc, sizeof esc), "");
    char refused[512];
    unsigned status = s_policy(self, cfg, refused, sizeof refused);
    if (status) {
        dtx_gw_config_destroy(&cfg);
        return s_send(conn, status, "application/json", refused, strlen(refused));
    }
    if (body->is_validate) {
        dtx_gw_config_destroy(&cfg);
        return s_json(conn, 200, "{\"valid\":true%s%s}", NULL, NULL);
    }
    uint64_t gen = 0;
    if (dtx_gw_current_apply(self->current, cfg, &gen) < 0)
        return s_json(conn, 500, "{\"error\":\"out of memory\"%s%s}", NULL, NULL);
    char g[32];
    snprintf(g, sizeof g, "%llu", (unsigned long long)gen);
    dtx_log_info("configuration swapped", "generation=%s", g);
    return s_json(conn, 200, "{\"applied\":true,\"generation\":%s%s}", g, NULL);
}

/* Content-Length of the request: 0 and *n, or -1 when absent or not a
 * plain number (libmicrohttpd refuses a malformed one itself). */
static int s_content_length(struct MHD_Connection *conn, uint64_t *n)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if (!v || !*v)
        return -1;
    uint64_t x = 0;
    for (; *v >= '0' && *v <= '9'; v++) {
        if (x > (UINT64_MAX - 9) / 10)
            return -1;
        x = x * 10 + (uint64_t)(*v - '0');
    }
    *n = x;
    return *v ? -1 : 0;
}

/* The headers are in: answers everything that needs no body, refuses
 * what may not send one, or sets up the body of an authenticated
 * PUT/POST. */
static enum MHD_Result s_head(dtx_gw_admin_t *self, struct MHD_Connection *conn,
                              const char *url, const char *method, void **con_cls)
{
    if (strcmp(url, "/healthz") == 0) {
        s_whole(self, conn);
        return s_send(conn, 200, "text/plain", "ok\n", 3);
    }
    if (strcmp(url, "/metrics") == 0 && strcmp(method, "GET") == 0) {
        s_whole(self, conn);
        dtx_gw_runtime_t *rt = dtx_gw_current_acquire(self->current);
        size_t len = 0;
        pthread_mutex_lock(&self->lock);   /* the server is not stopped meanwhile */
        char *text = dtx_gw_metrics_render(rt, self->server, &len);
        pthread_mutex_unlock(&self->lock);
        dtx_gw_runtime_unref(&rt);
        if (!text)
            return s_json(conn, 500, "{\"error\":\"out of memory\"%s%s}", NULL, NULL);
        enum MHD_Result ok = s_send(conn, 200, "text/plain; version=0.0.4", text, len);
        free(text);
        return ok;
    }
    if (strcmp(url, "/pools") == 0 && strcmp(method, "GET") == 0) {  /* gw_pools_view.h */
        s_whole(self, conn);
        dtx_gw_runtime_t *rt = dtx_gw_current_acquire(self->current);
        char *text = dtx_gw_pools_json(rt);
        dtx_gw_runtime_unref(&rt);
        if (!text)
            return s_json(conn, 500, "{\"error\":\"out of memory\"%s%s}", NULL, NULL);
        enum MHD_Result ok = s_send(conn, 200, "application/json", text, strlen(text));
        free(text);
        return ok;
    }
    int is_config = strcmp(url, "/config") == 0, is_validate = strcmp(url, "/config/validate") == 0;
    int is_get = is_config && strcmp(method, "GET") == 0;
    int is_purge = strcmp(url, "/cache/purge") == 0;
    int is_put = (is_config && strcmp(method, "PUT") == 0) ||
                 ((is_validate || is_purge) && strcmp(method, "POST") == 0);
    if (!is_config && !is_validate && !is_purge) {
        s_whole(self, conn);
        return s_json(conn, 404, "{\"error\":\"not found\"%s%s}", NULL, NULL);
    }
    int tok = s_token_ok(self, conn);
    if (tok <= 0 || !is_put)
        s_whole(self, conn);
    if (tok < 0)
        return s_json(conn, 403, "{\"error\":\"admin token not configured\",\"hint\":"
                                 "\"set admin.token, --admin-token or --admin-token-file\"%s%s}",
                      NULL, NULL);
    if (!tok)
        return s_json(conn, 401, "{\"error\":\"missing or wrong token\"%s%s}", NULL, NULL);
    if (is_get) {
        dtx_gw_runtime_t *rt = dtx_gw_current_acquire(self->current);
        enum MHD_Result ok = s_send(conn, 200, "application/json", rt->cfg->text,
                                    strlen(rt->cfg->text));
        dtx_gw_runtime_unref(&rt);
        return ok;
    }
    if (!is_put)
        return s_json(conn, 405, "{\"error\":\"method not allowed\"%s%s}", NULL, NULL);
    uint64_t length = 0;
    int known = s_content_length(conn, &length) == 0;
    if (known && length > S_MAX_DOC) {
        s_whole(self, conn);
        return s_json(conn, 413, "{\"error\":\"document too large\"%s%s}", NULL, NULL);
    }
    size_t want = known ? (size_t)length + 1 : S_CHUNKED_FIRST;
    if (self->buffered + want > S_MAX_BUFFERED) {
        s_whole(self, conn);
        return s_json(conn, 503, "{\"error\":\"admin busy: too many documents being "
                                 "received\"%s%s}", NULL, NULL);
    }
    s_body_t *body = calloc(1, sizeof *body);
    char *buf = malloc(want);
    if (!body || !buf) {
        free(body);
        free(buf);
        return MHD_NO;
    }
    buf[0] = '\0';
    body->buf = buf;
    body->cap = want;
    body->is_validate = is_validate;
    body->is_purge = is_purge;
    self->buffered += want;
    *con_cls = body;
    return MHD_YES;
}

/* Appends n bytes to body within its cap, the document cap and the budget. */
static void s_append(dtx_gw_admin_t *self, s_body_t *body, const char *data, size_t n)
{
    if (body->too_big)
        return;
    if (body->len + n + 1 > body->cap) {
        size_t cap = body->cap * 2;
        while (cap < body->len + n + 1)
            cap *= 2;
        if (cap > S_MAX_DOC + 1)
            cap = S_MAX_DOC + 1;
        char *b = NULL;
        if (body->len + n + 1 > cap) {
            body->too_big = 1;
        } else if (self->buffered - body->cap + cap > S_MAX_BUFFERED) {
            body->too_big = body->over_budget = 1;
        } else if ((b = realloc(body->buf, cap)) == NULL) {
            body->too_big = 1;
        } else {
            self->buffered = self->buffered - body->cap + cap;
            body->buf = b;
            body->cap = cap;
        }
        if (body->too_big) {
            /* the rest is read and dropped: the memory goes back now */
            self->buffered -= body->cap;
            free(body->buf);
            body->buf = NULL;
            body->cap = body->len = 0;
            return;
        }
    }
    memcpy(body->buf + body->len, data, n);
    body->len += n;
    body->buf[body->len] = '\0';
}

static enum MHD_Result s_access(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version,
                                const char *upload_data, size_t *upload_data_size,
                                void **con_cls)
{
    (void)version;
    dtx_gw_admin_t *self = cls;
    s_body_t *body = *con_cls;
    if (!body)
        return s_head(self, conn, url, method, con_cls);
    if (*upload_data_size) {
        s_append(self, body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    s_whole(self, conn);
    return s_put(self, conn, body);
}

static void s_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    dtx_gw_admin_t *self = cls;
    s_body_t *body = *con_cls;
    if (body) {
        self->buffered -= body->cap;
        free(body->buf);
        free(body);
        *con_cls = NULL;
    }
    s_conn_t *c = s_conn_of(conn);
    if (c) {
        pthread_mutex_lock(&self->lock);
        c->since_us = dtx_gw_now_us();  /* the next request's clock starts */
        c->whole = 0;
        pthread_mutex_unlock(&self->lock);
    }
}

static void s_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                     enum MHD_ConnectionNotificationCode code)
{
    dtx_gw_admin_t *self = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        s_conn_t *c = ci ? calloc(1, sizeof *c) : NULL;
        *socket_context = c;
        if (!c)
            return;  /* no deadline for it: the idle timeout still applies */
        c->fd = ci->connect_fd;
        c->since_us = dtx_gw_now_us();
        pthread_mutex_lock(&self->lock);
        c->next = self->conns;
        if (self->conns)
            self->conns->prev = c;
        self->conns = c;
        pthread_mutex_unlock(&self->lock);
        return;
    }
    s_conn_t *c = *socket_context;
    if (!c)
        return;
    pthread_mutex_lock(&self->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        self->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&self->lock);
    free(c);
    *socket_context = NULL;
}

/* Every S_REAP_TICK_MS: shuts down connections past their deadline
 * (libmicrohttpd then sees the end of the stream and closes them). */
static void *s_reaper_main(void *arg)
{
    dtx_gw_admin_t *self = arg;
    pthread_mutex_lock(&self->lock);
    while (!self->stop) {
        int64_t now = dtx_gw_now_us();
        int cut = 0;
        for (s_conn_t *c = self->conns; c; c = c->next)
            if (!c->whole && !c->cut && now - c->since_us > self->request_ms * 1000) {
                shutdown(c->fd, SHUT_RDWR);
                c->cut = 1;
                cut++;
            }
        if (cut)
            dtx_log_warn("admin connections cut", "count=%d reason=\"no whole request within "
                         "%" PRId64 " ms\"", cut, self->request_ms);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += S_REAP_TICK_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&self->wake, &self->lock, &ts);
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

static void s_free(dtx_gw_admin_t *self)
{
    if (self->reaping) {
        pthread_mutex_lock(&self->lock);
        self->stop = 1;
        pthread_cond_signal(&self->wake);
        pthread_mutex_unlock(&self->lock);
        pthread_join(self->reaper, NULL);
    }
    if (self->daemon)
        MHD_stop_daemon(self->daemon);
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    if (self->token)
        dtx_gw_token_wipe(self->token, strlen(self->token));
    free(self->token);
    free(self);
}

dtx_gw_admin_t *dtx_gw_admin_start(const char *listen, dtx_gw_current_t *current,
                                   const dtx_gw_server_t *server, const char *token,
                                   int64_t request_ms)
{
    struct sockaddr_in sa;
    char why[128];
    if (dtx_gw_listen_parse(listen, &sa, why, sizeof why) < 0) {
        dtx_log_error("bad admin listen address", "listen=%s detail=\"%s\"", DTX_Q(listen), why);
        return NULL;
    }
    dtx_gw_admin_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->current = current;
    self->server = server;
    self->request_ms = request_ms > 0 ? request_ms : 1;
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->wake, NULL);
    self->token = token && *token ? strdup(token) : NULL;
    if (token && *token && !self->token) {
        s_free(self);
        return NULL;
    }
    /* The idle timeout backs up the reaper (a connection it could not
     * track, an answer nobody reads). */
    unsigned idle_s = (unsigned)((self->request_ms + 999) / 1000) + 1;
    self->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
                                        MHD_USE_ERROR_LOG,
                                    0, NULL, NULL, s_access, self,
                                    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                    MHD_OPTION_NOTIFY_COMPLETED, s_completed, self,
                                    MHD_OPTION_NOTIFY_CONNECTION, s_notify, self,
                                    MHD_OPTION_CONNECTION_TIMEOUT, idle_s < 30 ? idle_s : 30u,
                                    MHD_OPTION_CONNECTION_LIMIT, S_MAX_CONNECTIONS,
                                    MHD_OPTION_CONNECTION_MEMORY_LIMIT, S_HEADER_MEMORY,
                                    MHD_OPTION_END);
    if (!self->daemon) {
        dtx_log_error("cannot listen (admin)", "listen=%s", DTX_Q(listen));
        s_free(self);
        return NULL;
    }
    if (pthread_create(&self->reaper, NULL, s_reaper_main, self) != 0) {
        dtx_log_error("cannot start the admin reaper thread", NULL);
        s_free(self);
        return NULL;
    }
    self->reaping = 1;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = di ? di->port : 0;
    return self;
}

int dtx_gw_admin_port(const dtx_gw_admin_t *self)
{
    return self->port;
}

void dtx_gw_admin_forget_server(dtx_gw_admin_t *self)
{
    if (!self)
        return;
    pthread_mutex_lock(&self->lock);
    self->server = NULL;
    pthread_mutex_unlock(&self->lock);
}

void dtx_gw_admin_stop(dtx_gw_admin_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_gw_admin_t *self = *self_p;
    *self_p = NULL;
    s_free(self);
}
