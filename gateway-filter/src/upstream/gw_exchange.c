/*
 * gw_exchange.c — the HTTP/1.1 exchange of one attempt of an upstream
 * call on one connection (gw_upcall.h): connect (through gw_upconn.c),
 * send the request head and body (whole, or streamed with a window),
 * read the answer (gw_http1.c) into the call's buffer with backpressure.
 *
 *   open ──(connecting)──▶ send ──▶ read head ──▶ read body ──▶ complete
 *     │         │            │          │                        (connection
 *     │         └ failed / timed out: DTX_GW_EXCHANGE_NEXT_TARGET  back to the
 *     │                      └──────────┴ a reused connection     cache)
 *     │                                   dead before any answer
 *     │                                   byte: once more on a new one
 *     └ anything else broken: the call fails (502/504), or a streamed
 *       answer is cut
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "dtx/types.h"
#include "dtx/log.h"
#include "core/gw_clock.h"
#include "core/gw_uring.h"
#include "upstream/gw_upcall.h"
#include "upstream/gw_upreq.h"

static int s_send_some(dtx_gw_upstream_t *up);

void dtx_gw_exchange_log(const dtx_gw_upstream_t *up, const char *what, const char *why)
{
    dtx_log_warn(what, "pool=%s target=%s err=\"%s\"", up->pool->cfg.name,
                 up->target >= 0 ? up->pool->targets[up->target].url : "", why);
}

/* The attempt could not connect: the caller (gw_proxy.c) tries the next
 * target, or the call fails. Returns DTX_GW_EXCHANGE_NEXT_TARGET. */
static int s_connect_failed(dtx_gw_upstream_t *up, const char *why)
{
    dtx_gw_exchange_log(up, "upstream connect failed", why);
    dtx_gw_call_release(up, 0);
    dtx_gw_call_attempt_over(up, DTX_GW_OUTCOME_CONNECT);
    up->last_error = DTX_GW_UPERR_CONNECT;
    return DTX_GW_EXCHANGE_NEXT_TARGET;
}

/* Starts the exchange on a connection to the current target. */
int dtx_gw_exchange_open(dtx_gw_upstream_t *up)
{
    const dtx_gw_target_t *t = &up->pool->targets[up->target];
    int64_t now = dtx_gw_loop_us();
    up->conn = dtx_gw_conns_get(up->loop->conns, &t->addr, up, now);
    if (!up->conn)
        return DTX_EIO;
    if (!up->conn->reused)
        atomic_fetch_add(&up->pool->targets[up->target].connects, 1);
    up->sent = 0;
    up->sbase = 0;
    up->sending = 1;
    up->got_bytes = 0;
    if (up->conn->connecting) {
        int64_t due = up->connect_due_us < up->call_due_us ? up->connect_due_us
                                                           : up->call_due_us;
        return dtx_gw_call_deadline(up, due);
    }
    if (dtx_gw_call_deadline(up, up->call_due_us) < 0)
        return DTX_EIO;
    if (s_send_some(up) == 0)
        return 0;
    if (up->conn->reused && !up->fresh_retry && !(up->streaming && up->body_sent_any)) {
        up->fresh_retry = 1;         /* the kept connection was dead: a new one */
        dtx_gw_call_release(up, 0);
        return dtx_gw_exchange_open(up);
    }
    return DTX_EIO;
}

/* A reused connection died before any answer byte (the upstream closed
 * it as the request left): the same target once more, on a new one. */
static int s_retry_fresh(dtx_gw_upstream_t *up)
{
    if (!up->conn || !up->conn->reused || up->got_bytes || up->fresh_retry ||
        (up->streaming && up->body_sent_any))
        return DTX_ESTATE;
    up->fresh_retry = 1;
    dtx_gw_call_release(up, 0);
    if (dtx_gw_exchange_open(up) == 0)
        return 0;
    dtx_gw_call_release(up, 0);
    return DTX_EIO;
}

/* An I/O error or an early close on the connection. */
static void s_broken(dtx_gw_upstream_t *up, const char *why)
{
    if (!up->headers_done && s_retry_fresh(up) == 0)
        return;
    dtx_gw_exchange_log(up, up->headers_done ? "upstream answer cut short"
                                             : "upstream call failed", why);
    dtx_gw_call_fail(up, DTX_GW_UPERR_IO);
}

/* The body bytes still to send: *p, *n. */
static void s_body_left(const dtx_gw_upstream_t *up, const char **p, size_t *n)
{
    size_t done = dtx_gw_call_body_sent(up);
    *p = NULL;
    *n = 0;
    if (up->streaming) {
        if (up->sbuf.len > done - up->sbase) {
            *p = up->sbuf.data + (done - up->sbase);
            *n = up->sbuf.len - (done - up->sbase);
        }
    } else if (up->req->body_len > done) {
        *p = up->req->body + done;
        *n = up->req->body_len - done;
    }
}

/* Writes what it can of head + body. Returns 0 (all sent, or waiting for
 * EPOLLOUT or for more streamed body) or -1 when the connection broke
 * (the caller decides). */
static int s_send_some(dtx_gw_upstream_t *up)
{
    for (;;) {
        struct iovec iov[2];
        int n = 0;
        if (up->sent < up->out.len) {
            iov[n].iov_base = up->out.data + up->sent;
            iov[n++].iov_len = up->out.len - up->sent;
        }
        const char *bp;
        size_t bn;
        s_body_left(up, &bp, &bn);
        if (bn) {
            iov[n].iov_base = (void *)bp;
            iov[n++].iov_len = bn;
        }
        if (!n)
            break;
        dtx_gw_uring_t *ring = dtx_gw_conns_ring(up->loop->conns);
        ssize_t w = ring ? dtx_gw_uring_send(ring, up->conn->fd, &up->conn->src, iov, n)
                         : DTX_GW_URING_DIRECT;
        if (w == DTX_GW_URING_FULL)   /* the ring's drained hook brings EPOLLOUT */
            return dtx_gw_conn_watch(up->loop->conns, up->conn, EPOLLIN);
        if (w == DTX_GW_URING_BROKEN || w == -ENOMEM) {
            errno = w == -ENOMEM ? ENOMEM : EPIPE;
            return DTX_EIO;
        }
        if (w == DTX_GW_URING_DIRECT) {
            struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n };
            w = sendmsg(up->conn->fd, &mh, MSG_NOSIGNAL);
        }
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return dtx_gw_conn_watch(up->loop->conns, up->conn, EPOLLIN | EPOLLOUT);
            return DTX_EIO;
        }
        up->sent += (size_t)w;
        if (dtx_gw_call_body_sent(up))
            up->body_sent_any = 1;
    }
    if (up->streaming) {
        /* All queued body bytes are out: drop them. */
        up->sbase += up->sbuf.len;
        up->sbuf.len = 0;
        if (up->want_write)
            dtx_gw_call_check(up);
    }
    up->sending = up->body_open;
    return dtx_gw_conn_watch(up->loop->conns, up->conn, EPOLLIN);
}

static void s_on_header(const char *name, size_t name_len, const char *value,
                        size_t value_len, void *arg)
{
    dtx_gw_upstream_t *up = arg;
    /* Connection is kept for now: s_drop_connection_listed reads it once
     * the head is whole, then drops it with the headers it names. */
    if ((dtx_gw_hop_by_hop_n(name, name_len) &&
         !dtx_gw_http1_name_is(name, name_len, "Connection")) ||
        dtx_gw_http1_name_is(name, name_len, "Content-Length"))
        return;
    if (up->nhdrs == up->caphdrs) {
        /* Every header goes on (many Set-Cookie, say): more room. */
        int cap = up->caphdrs * 2;
        dtx_gw_resp_header_t *h = malloc((size_t)cap * sizeof *h);
        if (!h) {
            up->hdrs_oom = 1;
            return;
        }
        memcpy(h, up->hdrs, (size_t)up->nhdrs * sizeof *h);
        if (up->hdrs != up->hdrs_inline)
            free(up->hdrs);
        up->hdrs = h;
        up->caphdrs = cap;
    }
    /* The parser vouches for them: no CR, LF or NUL (gw_http1.h). */
    up->hdrs[up->nhdrs] = (dtx_gw_resp_header_t){ (char *)name, (char *)value,
                                                  (uint32_t)name_len, (uint32_t)value_len };
    up->nhdrs++;
}

/* Body bytes for the client. Returns 0, or -1 when they must not be kept
 * (buffer_whole exceeded, out of memory). */
static int s_keep_body(dtx_gw_upstream_t *up, const char *data, size_t len)
{
    if (!len)
        return 0;
    if (up->buffer_whole && up->len - up->off + len > up->buffer_whole)
        return DTX_ETOOBIG;
    if (up->off > 0 && up->off == up->len)
        up->off = up->len = 0;
    if (up->len + len > up->cap) {
        if (up->off > 0) {
            memmove(up->body, up->body + up->off, up->len - up->off);
            up->len -= up->off;
            up->off = 0;
        }
        /* First piece: the announced length when small (one right-sized
         * block for the usual whole answer), else 16 KiB. */
        size_t cap = up->cap ? up->cap
                     : (up->content_length > 0 && up->content_length <= 65536)
                         ? (size_t)up->content_length : 16384;
        while (cap < up->len + len)
            cap *= 2;
        if (cap != up->cap) {
            char *b = realloc(up->body, cap);
            if (!b)
                return DTX_ENOMEM;
            up->body = b;
            up->cap = cap;
        }
    }
    memcpy(up->body + up->len, data, len);
    up->len += len;
    return 0;
}

/* The answer is complete: the connection goes back to the cache. */
static void s_complete(dtx_gw_upstream_t *up, int keep)
{
    up->done = 1;
    dtx_gw_call_release(up, keep && up->resp.keep_alive && !up->sending);
    dtx_gw_call_deadline_clear(up);
    dtx_gw_call_unwatch(up);
    dtx_gw_call_check(up);
}

/* Drops the Connection headers of the answer and every header they name
 * (RFC 9110 7.6.1: hop-by-hop, for this connection only). Returns 0, or
 * DTX_EPROTO for an answer with more than 8 Connection headers. */
static int s_drop_connection_listed(dtx_gw_upstream_t *up)
{
    const char *lists[8];
    int nlists = 0;
    for (int i = 0; i < up->nhdrs; i++)
        if (dtx_gw_http1_name_eq(up->hdrs[i].name, "Connection")) {
            if (nlists == 8)
                return DTX_EPROTO;
            lists[nlists++] = up->hdrs[i].value;
        }
    int k = 0;
    for (int i = 0; i < up->nhdrs; i++) {
        const char *name = up->hdrs[i].name;
        int drop = dtx_gw_http1_name_eq(name, "Connection");
        for (int j = 0; j < nlists && !drop; j++)
            drop = dtx_gw_header_listed(lists[j], name);
        if (!drop)
            up->hdrs[k++] = up->hdrs[i];
    }
    up->nhdrs = k;
    return 0;
}

/* The head is in up->head: parse it. Returns 0, or -1 (bad answer). */
static int s_head_in(dtx_gw_upstream_t *up)
{
    up->nhdrs = 0;
    if (dtx_gw_http1_parse_head(&up->resp, up->head.data, up->head.len,
                                strcmp(up->req->method, "HEAD") == 0, s_on_header, up) < 0 ||
        up->hdrs_oom)
        return DTX_EPROTO;
    if (s_drop_connection_listed(up) < 0)
        return DTX_EPROTO;
    if (up->resp.status < 200)
        return 0;                    /* 1xx: the real head follows */
    up->status = up->resp.status;
    up->content_length = up->resp.content_length;
    up->headers_done = 1;
    dtx_gw_req_t *req = up->req;
    req->upstream_us = dtx_gw_loop_us() - up->started_us;  /* time to headers */
    req->upstream_status = up->status;
    req->upstream_error = DTX_GW_UPERR_NONE;
    dtx_gw_call_check(up);
    return 0;
}

/* Bytes from the upstream. Returns 0, or -1 when the call failed. */
static int s_feed(dtx_gw_upstream_t *up, const char *data, size_t len)
{
    while (len > 0 && !up->done) {
        if (!up->headers_done) {
            size_t had = up->head.len;
            size_t take = len;
            if (had + take > DTX_GW_HTTP1_MAX_HEAD)
                take = DTX_GW_HTTP1_MAX_HEAD - had;
            if (dtx_gw_buf_add(&up->head, data, take) < 0) {
                dtx_gw_call_fail(up, DTX_GW_UPERR_IO);
                return DTX_EIO;
            }
            size_t end = dtx_gw_http1_head_end(up->head.data, up->head.len);
            if (!end) {
                if (up->head.len >= DTX_GW_HTTP1_MAX_HEAD) {
                    dtx_gw_exchange_log(up, "upstream answer refused", "head too long");
                    dtx_gw_call_fail(up, DTX_GW_UPERR_IO);
                    return DTX_EIO;
                }
                return 0;
            }
            size_t used = end - had;
            up->head.len = end;
            up->head.data[end] = '\0';
            if (s_head_in(up) < 0) {
                dtx_gw_exchange_log(up, "upstream answer refused", "malformed head");
                dtx_gw_call_fail(up, DTX_GW_UPERR_IO);
                return DTX_EIO;
            }
            data += used;
            len -= used;
            if (!up->headers_done) {
                up->head.len = 0;    /* a 1xx went by */
                continue;
            }
            if (up->resp.done) {
                s_complete(up, len == 0);
                return 0;
            }
            continue;
        }
        size_t used;
        const char *piece;
        size_t plen;
        if (dtx_gw_http1_body(&up->resp, data, len, &used, &piece, &plen) < 0) {
            dtx_gw_exchange_log(up, "upstream answer refused", "malformed body framing");
            dtx_gw_call_fail(up, DTX_GW_UPERR_IO);
            return DTX_EIO;
        }
        if (s_keep_body(up, piece, plen) < 0) {
            dtx_gw_call_fail(up, DTX_GW_UPERR_IO);
            return DTX_EIO;
        }
        data += used;
        len -= used;
        if (up->resp.done) {
            s_complete(up, len == 0);  /* extra bytes: the connection is not trusted */
            return 0;
        }
        if (up->phase == S_PHASE_BODY)
            dtx_gw_call_check(up);
    }
    return 0;
}

/* Reads what the connection has. */
static void s_read(dtx_gw_upstream_t *up)
{
    dtx_gw_upstreams_t *l = up->loop;
    while (up->conn && !up->done && !up->paused) {
        ssize_t r = recv(up->conn->fd, l->rbuf, S_READ_SIZE, 0);
        if (r > 0) {
            up->got_bytes = 1;
            if (s_feed(up, l->rbuf, (size_t)r) < 0)
                return;
            if (!up->buffer_whole && up->conn && !up->done && up->len - up->off >= S_PAUSE_AT) {
                up->paused = 1;          /* backpressure: the client reads first */
                dtx_gw_conn_watch(l->conns, up->conn, 0);
                return;
            }
            if ((size_t)r < S_READ_SIZE)
                return;                  /* drained: epoll says when there is more */
            continue;
        }
        if (r == 0) {
            if (up->headers_done && dtx_gw_http1_at_eof(&up->resp)) {
                up->resp.done = 1;
                s_complete(up, 0);
            } else {
                s_broken(up, "connection closed by the upstream");
            }
            return;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            s_broken(up, strerror(errno));
        return;
    }
}

/* An epoll event on the call's connection. */
int dtx_gw_exchange_on_event(dtx_gw_upstream_t *up, uint32_t events)
{
    if (up->conn->connecting) {
        int err = dtx_gw_conn_connect_result(up->conn);
        if (err)
            return s_connect_failed(up, strerror(err));
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return 0;
        if (dtx_gw_call_deadline(up, up->call_due_us) < 0 || s_send_some(up) < 0) {
            s_broken(up, strerror(errno));
            return 0;
        }
    } else if (up->sending && (events & (EPOLLOUT | EPOLLERR))) {
        if (s_send_some(up) < 0) {
            s_broken(up, strerror(errno));
            return 0;
        }
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        s_read(up);
    return 0;
}

/* The call's deadline passed. */
int dtx_gw_exchange_on_deadline(dtx_gw_upstream_t *up, int64_t now_us)
{
    if (up->conn && up->conn->connecting && now_us < up->call_due_us)
        return s_connect_failed(up, "connect timed out");
    if (up->conn && up->conn->connecting) {
        /* The whole call's time is over before the connect: nothing
         * left, counted as a connect failure of that target. */
        dtx_gw_exchange_log(up, "upstream connect failed", "timed out");
        dtx_gw_call_release(up, 0);
        dtx_gw_call_attempt_over(up, DTX_GW_OUTCOME_CONNECT);
        dtx_gw_call_fail(up, DTX_GW_UPERR_TIMEOUT);
        return 0;
    }
    dtx_gw_exchange_log(up, "upstream call failed", "timed out");
    dtx_gw_call_fail(up, DTX_GW_UPERR_TIMEOUT);
    return 0;
}

/* Queues streamed body bytes and sends what the connection takes. */
int dtx_gw_exchange_queue(dtx_gw_upstream_t *up, const char *data, size_t len)
{
    if (dtx_gw_buf_add(&up->sbuf, data, len) < 0)
        return DTX_ENOMEM;
    if (up->conn && !up->conn->connecting && !up->done && s_send_some(up) < 0) {
        s_broken(up, strerror(errno));
        return up->failed ? DTX_EIO : 0;
    }
    return 0;
}

