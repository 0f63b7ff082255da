/*
 * admin_request.c — one admin HTTP request and its answer: created with a
 * handle when its headers arrive, found by handle by asynchronous
 * completions, answered (JSON, raw or an error) and queued to
 * libmicrohttpd, freed when libmicrohttpd is done with it; and the
 * helpers handlers share (arguments, the JSON body, admin store
 * statements whose callbacks find their request by handle).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_internal.h"
#include "dtx/clock.h"
#include "dtx/log.h"

/* --- requests --- */

dtx_admin_req_t *dtx_admin_find(dtx_admin_t *a, uint64_t handle)
{
    for (int i = 0; a && i < a->nreqs; i++)
        if (a->reqs[i]->handle == handle)
            return a->reqs[i];
    return NULL;
}

dtx_admin_req_t *dtx_admin_req_new(dtx_admin_t *a, struct MHD_Connection *conn, const char *url,
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
    r->route = -1;
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
    (void)toe;
    dtx_admin_conn_busy(conn, 0);
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
        r->admin->mhd_kick = 1; /* MHD_run this turn, not after a wake */
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
    case 403: return "forbidden";
    case 405: return "method_not_allowed";
    case 409: return "conflict";
    case 413: return "too_large";
    case 421: return "misdirected";
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
    /* Messages quote the request ('%.32s' of a parameter): a cut may split
     * a character, and the input may not be UTF-8 at all. JSON text must
     * be: every byte of an invalid sequence becomes '?'. */
    size_t len = strlen(msg);
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)msg[i] < 0x80)
            continue;
        size_t k = dtx_utf8_seq_len((const unsigned char *)msg + i, len - i);
        if (k)
            i += k - 1;
        else
            msg[i] = '?';
    }
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

enum MHD_Result dtx_admin_queue(dtx_admin_req_t *r)
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
    char err[160];
    int oom = 0;
    json_object *o = dtx_admin_json_parse(r->body, r->body_len, err, sizeof err, &oom);
    if (!o)
        dtx_admin_respond_error(r, oom ? 500 : 400, "%s", err);
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

