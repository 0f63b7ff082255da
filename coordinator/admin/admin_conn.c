/*
 * admin_conn.c — the admin HTTP connections and the deadline of their
 * requests (see "Slow clients" in admin_daemon.c).
 *
 * Invariants: every connection libmicrohttpd opens has one record in
 * a->conns (unless out of memory: then only libmicrohttpd's idle timeout
 * guards it), found from the connection through its socket context and
 * freed when libmicrohttpd closes it. since_ms is 0 exactly while a whole
 * request is being answered; otherwise the connection must deliver a whole
 * request by since_ms + --http-request-timeout or it is shut down
 * (shutdown(2), once; libmicrohttpd then sees the end and closes it; the fd
 * stays libmicrohttpd's, never closed here). A connection answered before
 * its body was read is marked linger; when libmicrohttpd closes it, a dup
 * of its fd lingers (admin_linger.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "admin_internal.h"
#include "dtx/clock.h"
#include "dtx/log.h"

void dtx_admin_conn_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                            enum MHD_ConnectionNotificationCode toe)
{
    dtx_admin_t *a = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        dtx_admin_conn_t *c = ci ? calloc(1, sizeof *c) : NULL;
        if (c && a->nconns == a->capconns) {
            int ncap = a->capconns ? a->capconns * 2 : 64;
            dtx_admin_conn_t **v = realloc(a->conns, (size_t)ncap * sizeof *v);
            if (!v) {
                free(c);
                c = NULL;
            } else {
                a->conns = v;
                a->capconns = ncap;
            }
        }
        if (!c) {
            /* Untracked: libmicrohttpd's idle timeout still applies. */
            *socket_context = NULL;
            return;
        }
        c->fd = ci->connect_fd;
        c->since_ms = dtx_clock_mono_ms();
        a->conns[a->nconns++] = c;
        *socket_context = c;
        return;
    }
    dtx_admin_conn_t *c = *socket_context;
    if (!c)
        return;
    /* Closed: libmicrohttpd closes the fd right after this call. */
    if (c->linger && !c->cut)
        dtx_admin_linger_add(a, c->fd);
    for (int i = 0; i < a->nconns; i++)
        if (a->conns[i] == c) {
            a->conns[i] = a->conns[--a->nconns];
            break;
        }
    free(c);
    *socket_context = NULL;
}

void dtx_admin_conn_busy(struct MHD_Connection *conn, int busy)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    dtx_admin_conn_t *c = ci ? ci->socket_context : NULL;
    if (c)
        c->since_ms = busy ? 0 : dtx_clock_mono_ms();
}

void dtx_admin_conn_linger(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    dtx_admin_conn_t *c = ci ? ci->socket_context : NULL;
    if (c)
        c->linger = 1;
}

int64_t dtx_admin_conn_cut_slow(dtx_admin_t *a, int64_t now_ms)
{
    int64_t limit = a->co->cfg.http_request_timeout_s * 1000, next = INT64_MAX;
    int cut = 0;
    for (int i = 0; i < a->nconns; i++) {
        dtx_admin_conn_t *c = a->conns[i];
        if (c->since_ms == 0 || c->cut)
            continue;
        int64_t left = c->since_ms + limit - now_ms;
        if (left > 0) {
            if (left < next)
                next = left;
            continue;
        }
        c->cut = 1;
        shutdown(c->fd, SHUT_RDWR);
        cut++;
    }
    /* One line a turn, however many were cut (an attack must not flood
     * the log). */
    if (cut > 0)
        dtx_log_warn("admin http connections closed: no whole request within "
                     "--http-request-timeout",
                     "connections=%d seconds=%lld open=%d", cut,
                     (long long)a->co->cfg.http_request_timeout_s, a->nconns);
    return next;
}

void dtx_admin_conns_free(dtx_admin_t *a)
{
    while (a->nconns > 0)
        free(a->conns[--a->nconns]);
    free(a->conns);
    a->conns = NULL;
    a->capconns = 0;
}
