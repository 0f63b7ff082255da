/*
 * admin_http.c — the router: libmicrohttpd's request callback reads a
 * request's headers, finds its route and checks its Host header and token
 * from them alone (a refused request is answered before any body is read),
 * buffers the body only for a POST route, up to --http-max-body, and hands
 * the request to the handler of its route (admin_read.c, admin_metrics.c,
 * admin_ops.c, admin_actions.c, admin_console.c). admin_request.c holds the request and its answer;
 * admin_daemon.c starts the daemon and runs it in the loop. See
 * admin_http.h for the design and admin_internal.h for a request's life.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_host.h"
#include "admin_internal.h"
#include "dtx/clock.h"
#include "dtx/log.h"

enum { S_OPEN, S_READ, S_WRITE };

typedef struct s_route {
    const char *method;
    const char *pattern; /* '/'-separated; "*" matches a gid */
    void (*fn)(dtx_admin_req_t *r, int arg);
    int arg;
    int access;
} s_route_t;

static void s_healthz(dtx_admin_req_t *r, int arg) { (void)arg; dtx_admin_healthz(r); }
static void s_readyz(dtx_admin_req_t *r, int arg) { (void)arg; dtx_admin_readyz(r); }
static void s_metrics(dtx_admin_req_t *r, int arg) { (void)arg; dtx_admin_metrics(r); }
static void s_overview(dtx_admin_req_t *r, int arg) { (void)arg; dtx_admin_overview(r); }
static void s_list(dtx_admin_req_t *r, int arg) { (void)arg; dtx_admin_list(r); }
static void s_show(dtx_admin_req_t *r, int arg) { (void)arg; dtx_admin_show(r); }
static void s_parts(dtx_admin_req_t *r, int arg) { (void)arg; dtx_admin_participants(r); }
static void s_series(dtx_admin_req_t *r, int arg) { (void)arg; dtx_admin_series(r); }

static const s_route_t s_routes[] = {
    { "GET", "/healthz", s_healthz, 0, S_OPEN },
    { "GET", "/readyz", s_readyz, 0, S_OPEN },
    { "GET", "/metrics", s_metrics, 0, S_READ },
    { "GET", "/api/v1/overview", s_overview, 0, S_READ },
    { "GET", "/api/v1/series", s_series, 0, S_READ },
    { "GET", "/api/v1/transactions", s_list, 0, S_READ },
    { "GET", "/api/v1/transactions/*", s_show, 0, S_READ },
    { "POST", "/api/v1/transactions/*/retry", dtx_admin_action, DTX_ACT_RETRY, S_WRITE },
    { "POST", "/api/v1/transactions/*/force-commit", dtx_admin_action, DTX_ACT_FORCE_COMMIT,
      S_WRITE },
    { "POST", "/api/v1/transactions/*/force-rollback", dtx_admin_action, DTX_ACT_FORCE_ROLLBACK,
      S_WRITE },
    { "POST", "/api/v1/transactions/*/resume", dtx_admin_action, DTX_ACT_RESUME, S_WRITE },
    { "GET", "/api/v1/participants", s_parts, 0, S_READ },
    { "POST", "/api/v1/tx", dtx_admin_op, DTX_MSG_BEGIN, S_WRITE },
    { "POST", "/api/v1/saga", dtx_admin_op, DTX_MSG_SAGA, S_WRITE },
    { "POST", "/api/v1/msg", dtx_admin_op, DTX_MSG_TMSG, S_WRITE },
    { "POST", "/api/v1/tcc", dtx_admin_op, DTX_MSG_TCC_RUN, S_WRITE },
    { "GET", "/api/v1/tx/*", dtx_admin_op, DTX_MSG_STATUS, S_READ },
    { "POST", "/api/v1/tx/*/try", dtx_admin_op, DTX_MSG_TRY, S_WRITE },
    { "POST", "/api/v1/tx/*/tries", dtx_admin_op, DTX_MSG_TRY_MANY, S_WRITE },
    { "POST", "/api/v1/tx/*/commit", dtx_admin_op, DTX_MSG_COMMIT, S_WRITE },
    { "POST", "/api/v1/tx/*/rollback", dtx_admin_op, DTX_MSG_ROLLBACK, S_WRITE },
};
#define S_NROUTES ((int)(sizeof s_routes / sizeof s_routes[0]))

/* --- routing --- */

/* Matches path against pattern; a "*" segment is copied into gid. */
static int s_match(const char *pattern, const char *path, char *gid, size_t gidcap)
{
    while (*pattern && *path) {
        if (*pattern != '/' || *path != '/')
            return 0;
        pattern++;
        path++;
        size_t pl = strcspn(pattern, "/"), ql = strcspn(path, "/");
        if (pl == 1 && pattern[0] == '*') {
            if (ql == 0 || ql >= gidcap)
                return ql >= gidcap ? 2 : 0; /* 2: too long to be a gid */
            memcpy(gid, path, ql);
            gid[ql] = '\0';
        } else if (pl != ql || memcmp(pattern, path, pl) != 0) {
            return 0;
        }
        pattern += pl;
        path += ql;
    }
    return *pattern == '\0' && *path == '\0';
}

static int s_authorize(dtx_admin_req_t *r, int access)
{
    dtx_admin_t *a = r->admin;
    const char *auth =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    r->actor = dtx_admin_tokens_check(a->tokens, auth);
    if (access == S_OPEN || r->actor)
        return 1;
    if (access == S_READ && !a->co->cfg.http_read_token_required)
        return 1;
    if (dtx_admin_tokens_count(a->tokens) == 0)
        dtx_admin_respond_error(r, 401, "this call needs a bearer token, and dtxd has none: "
                                        "start it with --admin-token-file");
    else if (!auth)
        dtx_admin_respond_error(r, 401, "this call needs a bearer token "
                                        "(Authorization: Bearer <token>)");
    else
        dtx_admin_respond_error(r, 401, "the bearer token is not valid");
    return 0;
}

/* The Host header against the allow-list (admin_host.h): 421 otherwise. */
static int s_host_ok(dtx_admin_req_t *r)
{
    const dtx_coord_config_t *cfg = &r->admin->co->cfg;
    const char *host = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (dtx_admin_host_ok(cfg->admin_allow_host, cfg->http_listen, host))
        return 1;
    dtx_admin_respond_error(r, 421, "this server does not answer to the host name in the Host "
                                    "header; to reach it by that name, start dtxd with "
                                    "--admin-allow-host NAME");
    return 0;
}

/* Finds r's route (r->route, r->gid) from its method and path alone, so
 * that the Host header and the token are checked before any body is read.
 * Returns 1 when a route takes it, 0 when its answer is set (401, 400,
 * 405, 421), -1 when no route matches (the console or 404 then). */
static int s_resolve(dtx_admin_req_t *r)
{
    char gid[DTX_NAME_SIZE + 1];
    int path_known = 0;
    for (int i = 0; i < S_NROUTES; i++) {
        gid[0] = '\0';
        int m = s_match(s_routes[i].pattern, r->path, gid, sizeof gid);
        if (m == 0)
            continue;
        if (strcmp(s_routes[i].method, r->method) != 0) {
            r->allow = s_routes[i].method; /* one method per pattern */
            path_known = 1;
            continue;
        }
        if (s_routes[i].access != S_OPEN && !s_host_ok(r))
            return 0;
        if (!s_authorize(r, s_routes[i].access))
            return 0;
        if (m == 2 || (gid[0] && !dtx_name_valid(gid))) {
            dtx_admin_respond_error(r, 400, "'%.80s' is not a valid transaction id", r->path);
            return 0;
        }
        snprintf(r->gid, sizeof r->gid, "%.63s", gid);
        r->route = i;
        r->keep_body = strcmp(r->method, "POST") == 0;
        return 1;
    }
    if (!s_host_ok(r))
        return 0;
    if (path_known) {
        dtx_admin_respond_error(r, 405, "%s is not allowed on %.200s", r->method, r->path);
        return 0;
    }
    return -1;
}

static void s_route(dtx_admin_req_t *r)
{
    if (r->route >= 0) {
        s_routes[r->route].fn(r, s_routes[r->route].arg);
        return;
    }
    if (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0) {
        if (dtx_admin_console(r) == 0)
            return;
    } else if (strncmp(r->path, "/api/", 5) != 0 && dtx_admin_console(r) == 0) {
        return;
    }
    dtx_admin_respond_error(r, 404, "no such endpoint: %.200s", r->path);
}

static enum MHD_Result s_answer_now(dtx_admin_req_t *r)
{
    /* Queued before the body is read: libmicrohttpd sends it and closes
     * the connection without buffering what the client still sends. With
     * a body announced, the socket lingers so the client, still sending,
     * reads the answer instead of a reset (admin_linger.c). */
    r->started = 1;
    const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    if ((cl && strtoull(cl, NULL, 10) > 0) ||
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                    MHD_HTTP_HEADER_TRANSFER_ENCODING))
        dtx_admin_conn_linger(r->conn);
    return dtx_admin_queue(r);
}

enum MHD_Result dtx_admin_mhd_request(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **con_cls)
{
    dtx_admin_t *a = cls;
    dtx_admin_req_t *r = *con_cls;
    (void)version;
    if (!r) {
        r = dtx_admin_req_new(a, conn, url, method);
        if (!r)
            return MHD_NO;
        *con_cls = r;
        if (a->stopping) {
            dtx_admin_respond_error(r, 503, "dtxd is stopping");
            return s_answer_now(r);
        }
        if (s_resolve(r) == 0)
            return s_answer_now(r);
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > (unsigned long long)a->co->cfg.http_max_body) {
            r->too_big = 1;
            dtx_admin_respond_error(r, 413, "the body is larger than %lld bytes (--http-max-body)",
                                    (long long)a->co->cfg.http_max_body);
            return s_answer_now(r);
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        /* Only a route that reads a body keeps one; others are drained. */
        if (r->too_big || r->started || !r->keep_body)
            return MHD_YES;
        if (r->body_len + n > (size_t)a->co->cfg.http_max_body) {
            r->too_big = 1;
            free(r->body);
            r->body = NULL;
            r->body_len = 0;
            return MHD_YES;
        }
        char *b = realloc(r->body, r->body_len + n + 1);
        if (!b)
            return MHD_NO;
        memcpy(b + r->body_len, upload_data, n);
        r->body = b;
        r->body_len += n;
        r->body[r->body_len] = '\0';
        return MHD_YES;
    }
    if (!r->started) {
        r->started = 1;
        dtx_admin_conn_busy(conn, 1);
        if (a->stopping)
            dtx_admin_respond_error(r, 503, "dtxd is stopping");
        else if (r->too_big)
            dtx_admin_respond_error(r, 413, "the body is larger than %lld bytes (--http-max-body)",
                                    (long long)a->co->cfg.http_max_body);
        else
            s_route(r);
    }
    if (r->status)
        return dtx_admin_queue(r);
    r->suspended = 1;
    MHD_suspend_connection(conn);
    return MHD_YES;
}
