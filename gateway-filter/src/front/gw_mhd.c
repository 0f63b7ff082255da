/*
 * gw_mhd.c — the libmicrohttpd engine (gw_mhd.h): a worker's daemon, its
 * three callbacks driving the request state machine (gw_request.h), and
 * the connection operations a request uses (gw_front.h) on an
 * MHD_Connection. An answer (dtx_gw_out_t) becomes an MHD response: a
 * body from memory is handed over with its free callback (copied when it
 * has none), a read body becomes a content reader.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <microhttpd.h>

#include "core/gw_addr.h"
#include "dtx/log.h"
#include "dtx/types.h"
#include "front/gw_front.h"
#include "front/gw_mhd.h"
#include "front/gw_request.h"

/* ---------------- the connection's operations ---------------- */

static void s_suspend(void *conn)
{
    MHD_suspend_connection(conn);
}

static void s_resume(void *conn)
{
    MHD_resume_connection(conn);   /* thread-safe */
}

static const char *s_header(void *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
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

static void s_each_header(void *conn, dtx_gw_header_visit_fn fn, void *arg)
{
    s_visit_t v = { fn, arg };
    MHD_get_connection_values(conn, MHD_HEADER_KIND, s_header_it, &v);
}

static void s_client_ip(void *conn, char *out, size_t cap)
{
    out[0] = '\0';
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr)
        dtx_gw_addr_text(ci->client_addr, out, cap);
}

static int s_client_fd(void *conn)
{
    const union MHD_ConnectionInfo *fi =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    return fi ? fi->connect_fd : -1;
}

/* A read body as MHD's content reader. */
typedef struct {
    dtx_gw_out_read_fn read;
    void *cls;
} s_reader_t;

static ssize_t s_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    s_reader_t *r = cls;
    ssize_t n = r->read(r->cls, buf, max);
    if (n == DTX_GW_OUT_END)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (n < 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    return n;
}

static int s_queue(void *conn, dtx_gw_out_t *out)
{
    struct MHD_Response *r = NULL;
    if (out->read) {
        s_reader_t *rd = malloc(sizeof *rd);
        if (rd) {
            rd->read = out->read;
            rd->cls = out->read_cls;
            r = MHD_create_response_from_callback(out->length >= 0 ? (uint64_t)out->length
                                                                   : MHD_SIZE_UNKNOWN,
                                                  32 * 1024, s_read, rd, free);
            if (!r)
                free(rd);
        }
    } else if (out->body_free) {
        r = MHD_create_response_from_buffer_with_free_callback_cls(
            out->body_len, (void *)out->body, out->body_free, out->body_arg);
        if (r)
            out->body_free = NULL;    /* MHD's now */
    } else {
        r = MHD_create_response_from_buffer(out->body_len, (void *)out->body,
                                            MHD_RESPMEM_MUST_COPY);
    }
    enum MHD_Result ok = MHD_NO;
    if (r) {
        size_t pos = 0;
        const char *name, *value;
        while (dtx_gw_out_next(out, &pos, &name, &value))
            MHD_add_response_header(r, name, value);
        ok = MHD_queue_response(conn, (unsigned)out->status, r);
        MHD_destroy_response(r);
    }
    dtx_gw_out_fini(out);
    return ok == MHD_YES;
}

static const dtx_gw_front_ops_t s_ops = {
    .suspend = s_suspend,
    .resume = s_resume,
    .resume_async = s_resume,
    .header = s_header,
    .each_header = s_each_header,
    .client_ip = s_client_ip,
    .client_fd = s_client_fd,
    .queue = s_queue,
};

/* ---------------- the daemon's callbacks ---------------- */

/* MHD_OPTION_URI_LOG_CALLBACK: a new request's context, keeping the raw
 * request target. NULL when out of memory (s_access then tries again). */
static void *s_on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    return dtx_gw_request_new(cls, &s_ops, conn, uri);
}

static enum MHD_Result s_access(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version,
                                const char *upload_data, size_t *upload_data_size,
                                void **con_cls)
{
    (void)version;
    if (!*con_cls) {
        *con_cls = dtx_gw_request_new(cls, &s_ops, conn, url);
        if (!*con_cls)
            return MHD_NO;
    }
    return dtx_gw_request_run(*con_cls, method, upload_data, upload_data_size) ? MHD_YES
                                                                                : MHD_NO;
}

static void s_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    dtx_gw_rctx_t *c = *con_cls;
    *con_cls = NULL;
    dtx_gw_request_completed(&c, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
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

/* ---------------- the engine ---------------- */

int dtx_gw_mhd_open(dtx_gw_worker_t *w, const struct sockaddr_in *sa)
{
    w->daemon = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO | MHD_USE_ERROR_LOG,
        0, NULL, NULL, s_access, w,
        MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)sa,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
        MHD_OPTION_URI_LOG_CALLBACK, s_on_uri, w,
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, w,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)10000,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
        /* MHD clears a connection's pool after every request: 16 KiB (room
         * for request headers as large as nginx's 8 KiB lines) rather than
         * 32 KiB halves that memset, 5 % of the worker's CPU at 32 KiB. */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(16 * 1024),
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
        MHD_OPTION_END);
    if (!w->daemon)
        return DTX_EIO;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(w->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &w->http_src };
    if (!di || epoll_ctl(w->epfd, EPOLL_CTL_ADD, di->epoll_fd, &ev) < 0)
        return DTX_EIO;
    return 0;
}

int dtx_gw_mhd_port(dtx_gw_worker_t *w)
{
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(w->daemon, MHD_DAEMON_INFO_BIND_PORT);
    return di ? di->port : 0;
}

int dtx_gw_mhd_timeout_ms(dtx_gw_worker_t *w)
{
    MHD_UNSIGNED_LONG_LONG ms;
    if (MHD_get_timeout(w->daemon, &ms) != MHD_YES)
        return -1;
    return ms > 60000 ? 60000 : (int)ms;
}

void dtx_gw_mhd_run(dtx_gw_worker_t *w)
{
    MHD_run(w->daemon);
}

void dtx_gw_mhd_quiesce(dtx_gw_worker_t *w)
{
    MHD_socket ls = MHD_quiesce_daemon(w->daemon);
    if (ls != MHD_INVALID_SOCKET)
        close(ls);
}

void dtx_gw_mhd_close(dtx_gw_worker_t *w)
{
    if (w->daemon)
        MHD_stop_daemon(w->daemon);  /* completes every connection (on_done) */
    w->daemon = NULL;
}
