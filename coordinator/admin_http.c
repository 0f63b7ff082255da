/*
 * admin_http.c — one HTTP request's life: routing, authentication,
 * bodies, suspend/resume and responses (admin_daemon.c starts the daemon
 * and runs it in the loop). See admin_http.h for the design and
 * admin_internal.h for a request's life.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static const s_route_t s_routes[] = {
    { "GET", "/healthz", s_healthz, 0, S_OPEN },
    { "GET", "/readyz", s_readyz, 0, S_OPEN },
    { "GET", "/metrics", s_metrics, 0, S_READ },
    { "GET", "/api/v1/overview", s_overview, 0, S_READ },
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
    { "GET", "/api/v1/tx/*", dtx_admin_op, DTX_MSG_STATUS, S_READ },
    { "POST", "/api/v1/tx/*/try", dtx_admin_op, DTX_MSG_TRY, S_WRITE },
    { "POST", "/api/v1/tx/*/commit", dtx_admin_op, DTX_MSG_COMMIT, S_WRITE },
    { "POST", "/api/v1/tx/*/rollback", dtx_admin_op, DTX_MSG_ROLLBACK, S_WRITE },
};
#define S_NROUTES ((int)(sizeof s_routes / sizeof s_routes[0]))

/* --- requests --- */

dtx_admin_req_t *dtx_admin_find(dtx_admin_t *a, uint64_t handle)
{
    for (int i = 0; a && i < a->nreqs; i++)
        if (a->reqs[i]->handle == handle)
            return a->reqs[i];
    return NULL;
}

static dtx_admin_req_t *s_req_new(dtx_admin_t *a, struct MHD_Connection *conn, const char *url,
                                  const char *method)
{
    if (a->nreqs == a->capreqs) {
        int ncap = a->capreqs ? a->capreqs * 2 : 32;
        dtx_admin_req_t **v = realloc(a->reqs, (size_t)ncap * sizeof *v);
        if (!v)
            return NULL;
        a->reqs = v;
        a->capreqs = ncap;
    }
    dtx_admin_req_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->handle = ++a->next_handle;
    r->admin = a;
    r->conn = conn;
    r->t0 = dtx_clock_mono_ms();
    snprintf(r->method, sizeof r->method, "%s", method);
    snprintf(r->path, sizeof r->path, "%s", url);
    a->reqs[a->nreqs++] = r;
    return r;
}

void dtx_admin_req_free(dtx_admin_req_t *r)
{
    dtx_admin_t *a = r->admin;
    for (int i = 0; i < a->nreqs; i++)
        if (a->reqs[i] == r) {
            a->reqs[i] = a->reqs[--a->nreqs];
            break;
        }
    for (int i = 0; i < DTX_ADMIN_PARTS; i++)
        if (r->parts[i])
            json_object_put(r->parts[i]);
    free(r->body);
    if (!r->resp_static)
        free(r->resp);
    free(r);
}

void dtx_admin_mhd_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    if (*con_cls)
        dtx_admin_req_free(*con_cls);
    *con_cls = NULL;
}

/* --- responses --- */

static void s_set(dtx_admin_req_t *r, int status, const char *ctype, char *data, size_t len,
                  int is_static)
{
    if (r->status) {
        if (!is_static)
            free(data);
        return;
    }
    r->status = status;
    r->ctype = ctype;
    r->resp = data;
    r->resp_len = len;
    r->resp_static = is_static;
    if (r->suspended) {
        r->suspended = 0;
        MHD_resume_connection(r->conn);
    }
}

void dtx_admin_respond_raw(dtx_admin_req_t *r, int status, const char *ctype, const char *data,
                           size_t len, int is_static)
{
    if (is_static) {
        s_set(r, status, ctype, (char *)data, len, 1);
        return;
    }
    char *copy = malloc(len + 1);
    if (!copy) {
        s_set(r, 500, "text/plain", (char *)"out of memory\n", 14, 1);
        return;
    }
    memcpy(copy, data, len);
    copy[len] = '\0';
    s_set(r, status, ctype, copy, len, 0);
}

void dtx_admin_respond(dtx_admin_req_t *r, int status, json_object *body)
{
    if (!body)
        body = json_object_new_object();
    const char *s = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
    dtx_admin_respond_raw(r, status, "application/json", s, strlen(s), 0);
    json_object_put(body);
}

static const char *s_code_name(int status)
{
    switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 409: return "conflict";
    case 413: return "too_large";
    case 503: return "unavailable";
    case 504: return "timeout";
    default: return status >= 500 ? "internal" : "error";
    }
}

void dtx_admin_respond_error(dtx_admin_req_t *r, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "error", json_object_new_string(msg));
    json_object_object_add(o, "code", json_object_new_string(s_code_name(status)));
    dtx_admin_respond(r, status, o);
}

int dtx_admin_http_status(int err)
{
    switch (err) {
    case DTX_ENOTFOUND: return 404;
    case DTX_EINVAL:
    case DTX_EPROTO:
    case DTX_EUNSUPPORTED: return 400;
    case DTX_ETOOBIG: return 413;
    case DTX_ESTATE:
    case DTX_EABORTED:
    case DTX_EEXPIRED:
    case DTX_EBUSY:
    case DTX_EREFUSED: return 409;
    case DTX_ETIMEOUT: return 504;
    case DTX_ENOPARTICIPANT:
    case DTX_EDB:
    case DTX_EIO: return 503;
    default: return 500;
    }
}

static enum MHD_Result s_queue(dtx_admin_req_t *r)
{
    if (r->queued)
        return MHD_YES;
    r->queued = 1;
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        r->resp_len, r->resp ? r->resp : (char *)"",
        r->resp_static ? MHD_RESPMEM_PERSISTENT : MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->ctype ? r->ctype : "text/plain");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'self'; frame-ancestors 'none'");
    if (r->status == 401)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"dtx\"");
    if (r->status == 405 && r->allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
    enum MHD_Result rc = MHD_queue_response(r->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    dtx_metrics_http(&r->admin->co->metrics, r->status);
    /* Path and status only: never the body, the query or a header. */
    dtx_log_debug("http", "method=%s path=%s status=%d ms=%lld", r->method, r->path, r->status,
                  (long long)(dtx_clock_mono_ms() - r->t0));
    return rc;
}

/* --- helpers for handlers --- */

const char *dtx_admin_arg(dtx_admin_req_t *r, const char *name)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
    return v && v[0] ? v : NULL;
}

json_object *dtx_admin_body_json(dtx_admin_req_t *r)
{
    if (!r->body || r->body_len == 0)
        return json_object_new_object();
    json_tokener *tok = json_tokener_new();
    if (!tok) {
        dtx_admin_respond_error(r, 500, "out of memory");
        return NULL;
    }
    json_object *o = json_tokener_parse_ex(tok, r->body, (int)r->body_len);
    enum json_tokener_error e = json_tokener_get_error(tok);
    if (!o || e != json_tokener_success || tok->char_offset < (int)r->body_len) {
        if (o)
            json_object_put(o);
        dtx_admin_respond_error(r, 400, "the body is not valid JSON: %s",
                                e != json_tokener_success ? json_tokener_error_desc(e)
                                                          : "unexpected data after the value");
        json_tokener_free(tok);
        return NULL;
    }
    json_tokener_free(tok);
    if (!json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        dtx_admin_respond_error(r, 400, "the body must be a JSON object");
        return NULL;
    }
    return o;
}

static void s_on_dead_cb(void *p, int rc, const PGresult *res)
{
    (void)rc;
    (void)res;
    free(p);
}

void dtx_admin_submit(dtx_admin_req_t *r, int stmt, int nparams, const char *const *values,
                      dtx_store_cb cb, int arg)
{
    dtx_admin_cb_t *c = r->admin->store ? malloc(sizeof *c) : NULL;
    if (!c) {
        if (r->admin->store)
            dtx_admin_respond_error(r, 500, "out of memory");
        else
            dtx_admin_respond_error(r, 503, "dtxd is stopping");
        return;
    }
    c->admin = r->admin;
    c->handle = r->handle;
    c->arg = arg;
    dtx_store_submit(r->admin->store, 0, stmt, nparams, values, NULL, NULL, cb ? cb : s_on_dead_cb,
                     c);
}

dtx_admin_req_t *dtx_admin_cb_take(void *ctx, int *arg)
{
    dtx_admin_cb_t *c = ctx;
    dtx_admin_req_t *r = dtx_admin_find(c->admin, c->handle);
    if (arg)
        *arg = c->arg;
    free(c);
    return r && !r->status ? r : NULL;
}

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

static void s_route(dtx_admin_req_t *r)
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
        if (!s_authorize(r, s_routes[i].access))
            return;
        if (m == 2 || (gid[0] && !dtx_name_valid(gid))) {
            dtx_admin_respond_error(r, 400, "'%.80s' is not a valid transaction id", r->path);
            return;
        }
        snprintf(r->gid, sizeof r->gid, "%.63s", gid);
        s_routes[i].fn(r, s_routes[i].arg);
        return;
    }
    if (path_known) {
        dtx_admin_respond_error(r, 405, "%s is not allowed on %.200s", r->method, r->path);
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

enum MHD_Result dtx_admin_mhd_request(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **con_cls)
{
    dtx_admin_t *a = cls;
    dtx_admin_req_t *r = *con_cls;
    (void)version;
    if (!r) {
        r = s_req_new(a, conn, url, method);
        if (!r)
            return MHD_NO;
        *con_cls = r;
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > (unsigned long long)a->co->cfg.http_max_body) {
            r->too_big = 1;
            dtx_admin_respond_error(r, 413, "the body is larger than %lld bytes (--http-max-body)",
                                    (long long)a->co->cfg.http_max_body);
            r->started = 1;
            return s_queue(r);
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->too_big || r->started)
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
        if (a->stopping)
            dtx_admin_respond_error(r, 503, "dtxd is stopping");
        else if (r->too_big)
            dtx_admin_respond_error(r, 413, "the body is larger than %lld bytes (--http-max-body)",
                                    (long long)a->co->cfg.http_max_body);
        else
            s_route(r);
    }
    if (r->status)
        return s_queue(r);
    r->suspended = 1;
    MHD_suspend_connection(conn);
    return MHD_YES;
}


