/* gw_admin.c — the admin API (gw_admin.h). */
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "dtx/log.h"
#include "config/gw_config_parse.h"
#include "app/gw_admin.h"
#include "app/gw_metrics.h"
#include "front/gw_server.h"

#define S_MAX_DOC (4 << 20)

struct dtx_gw_admin {
    struct MHD_Daemon *daemon;
    dtx_gw_current_t  *current;
    char              *token;
    int                port;
};

typedef struct {
    char  *buf;
    size_t len, cap;
    int    too_big;
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

static enum MHD_Result s_handle(dtx_gw_admin_t *self, struct MHD_Connection *conn,
                                const char *url, const char *method, s_body_t *body)
{
    if (strcmp(url, "/healthz") == 0)
        return s_send(conn, 200, "text/plain", "ok\n", 3);
    if (strcmp(url, "/metrics") == 0 && strcmp(method, "GET") == 0) {
        dtx_gw_runtime_t *rt = dtx_gw_current_acquire(self->current);
        size_t len = 0;
        char *text = dtx_gw_metrics_render(rt, &len);
        dtx_gw_runtime_unref(&rt);
        if (!text)
            return s_json(conn, 500, "{\"error\":\"out of memory\"%s%s}", NULL, NULL);
        enum MHD_Result ok = s_send(conn, 200, "text/plain; version=0.0.4", text, len);
        free(text);
        return ok;
    }
    int is_config = strcmp(url, "/config") == 0, is_validate = strcmp(url, "/config/validate") == 0;
    if (!is_config && !is_validate)
        return s_json(conn, 404, "{\"error\":\"not found\"%s%s}", NULL, NULL);
    int tok = s_token_ok(self, conn);
    if (tok < 0)
        return s_json(conn, 403, "{\"error\":\"admin token not configured\",\"hint\":"
                                 "\"set admin.token or --admin-token\"%s%s}", NULL, NULL);
    if (!tok)
        return s_json(conn, 401, "{\"error\":\"missing or wrong token\"%s%s}", NULL, NULL);
    if (is_config && strcmp(method, "GET") == 0) {
        dtx_gw_runtime_t *rt = dtx_gw_current_acquire(self->current);
        enum MHD_Result ok = s_send(conn, 200, "application/json", rt->cfg->text,
                                    strlen(rt->cfg->text));
        dtx_gw_runtime_unref(&rt);
        return ok;
    }
    if (!(is_config && strcmp(method, "PUT") == 0) && !(is_validate && strcmp(method, "POST") == 0))
        return s_json(conn, 405, "{\"error\":\"method not allowed\"%s%s}", NULL, NULL);
    if (body->too_big)
        return s_json(conn, 413, "{\"error\":\"document too large\"%s%s}", NULL, NULL);
    char err[DTX_GW_ERR_SIZE], esc[DTX_GW_ERR_SIZE * 2];
    dtx_gw_config_t *cfg = dtx_gw_config_parse(body->buf ? body->buf : "", body->len, err,
                                               sizeof err);
    if (!cfg)
        return s_json(conn, 400, "{\"error\":\"invalid configuration\",\"detail\":\"%s\"}%s",
                      s_esc(err, esc, sizeof esc), "");
    if (is_validate) {
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

static enum MHD_Result s_access(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version,
                                const char *upload_data, size_t *upload_data_size,
                                void **con_cls)
{
    (void)version;
    s_body_t *body = *con_cls;
    if (!body) {
        body = calloc(1, sizeof *body);
        if (!body)
            return MHD_NO;
        *con_cls = body;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (body->too_big || body->len + n > S_MAX_DOC) {
            body->too_big = 1;
            return MHD_YES;
        }
        if (body->len + n + 1 > body->cap) {
            size_t cap = body->cap ? body->cap * 2 : 8192;
            while (cap < body->len + n + 1)
                cap *= 2;
            char *b = realloc(body->buf, cap);
            if (!b)
                return MHD_NO;
            body->buf = b;
            body->cap = cap;
        }
        memcpy(body->buf + body->len, upload_data, n);
        body->len += n;
        body->buf[body->len] = '\0';
        return MHD_YES;
    }
    return s_handle(cls, conn, url, method, body);
}

static void s_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    s_body_t *body = *con_cls;
    if (body) {
        free(body->buf);
        free(body);
        *con_cls = NULL;
    }
}

dtx_gw_admin_t *dtx_gw_admin_start(const char *listen, dtx_gw_current_t *current,
                                   const char *token)
{
    struct sockaddr_in sa;
    if (dtx_gw_parse_listen(listen, &sa) < 0) {
        dtx_log_error("bad admin listen address", "listen=%s", listen);
        return NULL;
    }
    dtx_gw_admin_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->current = current;
    self->token = token && *token ? strdup(token) : NULL;
    self->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
                                        MHD_USE_ERROR_LOG,
                                    0, NULL, NULL, s_access, self,
                                    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                    MHD_OPTION_NOTIFY_COMPLETED, s_completed, self,
                                    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                                    MHD_OPTION_END);
    if (!self->daemon) {
        dtx_log_error("cannot listen (admin)", "listen=%s", listen);
        free(self->token);
        free(self);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = di ? di->port : 0;
    return self;
}

int dtx_gw_admin_port(const dtx_gw_admin_t *self)
{
    return self->port;
}

void dtx_gw_admin_stop(dtx_gw_admin_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_gw_admin_t *self = *self_p;
    *self_p = NULL;
    MHD_stop_daemon(self->daemon);
    free(self->token);
    free(self);
}
