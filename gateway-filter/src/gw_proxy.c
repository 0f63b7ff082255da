/*
 * gw_proxy.c — the upstream exchange: target choice, retries, failover
 * and HTTP/1.1 over the worker's keep-alive connections (gw_proxy.h,
 * gw_upconn.h for the connections, gw_http1.h for the wire format).
 *
 * States of one call (up->phase) and of its current attempt:
 *
 *   start ──▶ HEADERS: connect ─▶ send ─▶ read head ──(head in; with buffer_whole:
 *               │  ▲                                   answer complete)──▶ BODY ──▶ end
 *               │  └─ connect failed / timed out: next target, backup pool
 *               │  └─ a reused connection died before any answer byte: once more
 *               │     on a new connection to the same target
 *               └────────(no target left, timeout, bad answer, client gone)──▶ failed
 *
 * Invariants: a call holds at most one connection (up->conn), owned by it
 * until the answer is complete (then it goes back to the cache, or is
 * closed) or the call ends (an unfinished exchange closes it); `ready`
 * runs only for an armed call and only from dtx_gw_upstreams_dispatch
 * (armed by _start and by a read that answered AGAIN, disarmed when
 * `ready` runs); a call is on the `waiting` list (client not watched yet,
 * oldest first) only in HEADERS; a call with a deadline is in the
 * worker's deadline heap (gw_deadline.h) and only then.
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dtx/log.h"
#include "gw_clock.h"
#include "gw_deadline.h"
#include "gw_http1.h"
#include "gw_lb.h"
#include "gw_proxy.h"
#include "gw_route.h"
#include "gw_upconn.h"
#include "gw_upreq.h"

#define S_PAUSE_AT       (256 * 1024)  /* stop reading with this much unread */
#define S_MAX_HDRS       64
#define S_MAX_IDLE_CONNS 1024          /* keep-alive connections kept per worker */
#define S_WATCH_AFTER_US 50000         /* watch the client of a call this old */
#define S_READ_SIZE      (64 * 1024)   /* one recv at most */
#define S_STREAM_WINDOW  (256 * 1024)  /* streamed body bytes queued at most */

#define S_PHASE_HEADERS 0
#define S_PHASE_BODY    1

struct dtx_gw_upstreams {
    int                epfd;
    dtx_gw_conns_t    *conns;
    char              *rbuf;          /* S_READ_SIZE: what one recv brings */
    dtx_gw_deadlines_t deadlines;     /* calls by deadline */
    dtx_gw_upstream_t *ready_head, *ready_tail;     /* armed calls whose wait is over */
    dtx_gw_upstream_t *waiting_head, *waiting_tail; /* HEADERS, client not watched */
    dtx_gw_upstream_t *all;           /* every call not ended */
    int                calls;         /* how many */
};

struct dtx_gw_upstream {
    dtx_gw_upstreams_t *loop;
    dtx_gw_req_t      *req;
    dtx_gw_upstream_ready_fn ready;
    void              *arg;
    int                armed;
    int                phase;        /* S_PHASE_* */
    size_t             buffer_whole; /* 0: stream */
    /* lists */
    int                in_ready, in_waiting;
    dtx_gw_upstream_t *ready_prev, *ready_next;
    dtx_gw_upstream_t *wait_prev, *wait_next;
    dtx_gw_upstream_t *all_prev, *all_next;
    /* client watch */
    dtx_gw_event_source_t client_src; /* DTX_GW_EV_CLIENT; first: container_of */
    int                client_fd;
    int                watching;
    /* target choice */
    dtx_gw_pool_t     *pool;         /* pool of the current attempt */
    dtx_gw_pool_t     *backup;       /* still to try, or NULL */
    int                target;       /* its target, -1 none */
    unsigned char      tried[DTX_GW_MAX_TARGETS];
    int                attempts;
    int                last_error;
    int64_t            started_us;
    /* the exchange */
    dtx_gw_conn_t     *conn;         /* NULL between attempts and once complete */
    int                fresh_retry;  /* the attempt already moved to a new connection */
    dtx_gw_buf_t       out;          /* request head */
    size_t             sent;         /* bytes of head + body sent */
    int                sending;      /* request not all sent */
    /* a streamed request body (req->body_streaming) */
    int                streaming;
    int                chunked;      /* framed as chunks (no length known) */
    int                body_open;    /* more body bytes are to come */
    int                body_sent_any;/* a body byte left: no other attempt */
    int                want_write;   /* armed for room to write */
    dtx_gw_buf_t       sbuf;         /* body bytes not sent yet (from sbase) */
    size_t             sbase;        /* body bytes dropped from sbuf, sent */
    int                got_bytes;    /* answer bytes came on this attempt */
    dtx_gw_deadline_t  deadline;     /* the one in force (connect or call) */
    int64_t            connect_due_us, call_due_us;
    dtx_gw_buf_t       head;         /* the answer's head (headers point in it) */
    dtx_gw_http1_resp_t resp;
    /* answer */
    int                status;
    int                headers_done;
    int                done;         /* exchange over (failed says how) */
    int                failed;       /* the call failed (req->upstream_error) */
    int                cut;          /* the body was cut short */
    int64_t            content_length;
    dtx_gw_resp_header_t hdrs[S_MAX_HDRS];
    int                nhdrs;
    char              *body;         /* received, unread bytes at body + off */
    size_t             len, off, cap;
    int                paused;       /* not reading: S_PAUSE_AT unread */
};

static void s_check(dtx_gw_upstream_t *up);

/* ---------------- deadlines ---------------- */

#define S_UP_OF(node) ((dtx_gw_upstream_t *)(void *)((char *)(node) - \
                                                     offsetof(dtx_gw_upstream_t, deadline)))

static void s_timer_clear(dtx_gw_upstream_t *up)
{
    dtx_gw_deadlines_clear(&up->loop->deadlines, &up->deadline);
}

/* Sets the call's deadline (-1: none). Returns 0 or -1 (out of memory). */
static int s_timer_set(dtx_gw_upstream_t *up, int64_t due_us)
{
    return dtx_gw_deadlines_set(&up->loop->deadlines, &up->deadline, due_us);
}

/* ---------------- lists ---------------- */

static void s_ready_push(dtx_gw_upstream_t *up)
{
    dtx_gw_upstreams_t *l = up->loop;
    if (up->in_ready)
        return;
    up->in_ready = 1;
    up->ready_next = NULL;
    up->ready_prev = l->ready_tail;
    if (l->ready_tail)
        l->ready_tail->ready_next = up;
    else
        l->ready_head = up;
    l->ready_tail = up;
}

static void s_ready_remove(dtx_gw_upstream_t *up)
{
    dtx_gw_upstreams_t *l = up->loop;
    if (!up->in_ready)
        return;
    up->in_ready = 0;
    if (up->ready_prev)
        up->ready_prev->ready_next = up->ready_next;
    else
        l->ready_head = up->ready_next;
    if (up->ready_next)
        up->ready_next->ready_prev = up->ready_prev;
    else
        l->ready_tail = up->ready_prev;
    up->ready_prev = up->ready_next = NULL;
}

static void s_waiting_push(dtx_gw_upstream_t *up)
{
    dtx_gw_upstreams_t *l = up->loop;
    if (up->in_waiting || up->client_fd < 0 || up->watching)
        return;
    up->in_waiting = 1;
    up->wait_next = NULL;
    up->wait_prev = l->waiting_tail;
    if (l->waiting_tail)
        l->waiting_tail->wait_next = up;
    else
        l->waiting_head = up;
    l->waiting_tail = up;
}

static void s_waiting_remove(dtx_gw_upstream_t *up)
{
    dtx_gw_upstreams_t *l = up->loop;
    if (!up->in_waiting)
        return;
    up->in_waiting = 0;
    if (up->wait_prev)
        up->wait_prev->wait_next = up->wait_next;
    else
        l->waiting_head = up->wait_next;
    if (up->wait_next)
        up->wait_next->wait_prev = up->wait_prev;
    else
        l->waiting_tail = up->wait_prev;
    up->wait_prev = up->wait_next = NULL;
}

/* Is the wait the call is armed for over? */
static int s_wait_over(const dtx_gw_upstream_t *up)
{
    if (up->failed)
        return 1;
    if (up->want_write)
        return up->done || up->headers_done ||
               up->sbuf.len - (up->sent > up->out.len ? up->sent - up->out.len - up->sbase : 0)
                   < S_STREAM_WINDOW / 2;
    if (up->phase == S_PHASE_HEADERS)
        return up->headers_done && (!up->buffer_whole || up->done);
    return up->len > up->off || up->done;
}

static void s_check(dtx_gw_upstream_t *up)
{
    if (up->armed && s_wait_over(up))
        s_ready_push(up);
}

/* ---------------- client watch ---------------- */

static void s_unwatch(dtx_gw_upstream_t *up)
{
    s_waiting_remove(up);
    if (up->watching) {
        epoll_ctl(up->loop->epfd, EPOLL_CTL_DEL, up->client_fd, NULL);
        up->watching = 0;
    }
}

static void s_watch(dtx_gw_upstream_t *up)
{
    s_waiting_remove(up);
    struct epoll_event ev = { .events = EPOLLRDHUP, .data.ptr = &up->client_src };
    if (epoll_ctl(up->loop->epfd, EPOLL_CTL_ADD, up->client_fd, &ev) == 0)
        up->watching = 1;
}

/* ---------------- the exchange ---------------- */

/* Ends the attempt on the current target, feeding the pool. */
static void s_attempt_over(dtx_gw_upstream_t *up, int outcome)
{
    if (up->target >= 0) {
        atomic_fetch_sub(&up->pool->targets[up->target].in_flight, 1);
        dtx_gw_pool_record(up->pool, up->target, dtx_gw_now_us(), outcome);
        up->target = -1;
    }
}

/* Lets go of the connection: kept for the next request when keep. */
static void s_release(dtx_gw_upstream_t *up, int keep)
{
    if (up->conn) {
        dtx_gw_conns_put(up->loop->conns, up->conn, keep, dtx_gw_now_us());
        up->conn = NULL;
    }
}

static void s_fail(dtx_gw_upstream_t *up, int error)
{
    if (up->req->upstream_error == DTX_GW_UPERR_NONE || !up->headers_done)
        up->req->upstream_error = error;
    if (up->phase == S_PHASE_HEADERS)
        up->failed = 1;              /* nothing went to the client yet: an error answer */
    else
        up->cut = 1;                 /* the stream to the client is cut */
    up->done = 1;
    s_release(up, 0);
    s_timer_clear(up);
    s_unwatch(up);
    s_check(up);
}

static int s_try_next(dtx_gw_upstream_t *up);
static int s_send_some(dtx_gw_upstream_t *up);

static void s_log_failure(const dtx_gw_upstream_t *up, const char *what, const char *why)
{
    dtx_log_warn(what, "pool=%s target=%s err=\"%s\"", up->pool->cfg.name,
                 up->target >= 0 ? up->pool->targets[up->target].url : "", why);
}

/* The attempt could not connect: the next target, or the call fails. */
static void s_connect_failed(dtx_gw_upstream_t *up, const char *why)
{
    s_log_failure(up, "upstream connect failed", why);
    s_release(up, 0);
    s_attempt_over(up, DTX_GW_OUTCOME_CONNECT);
    up->last_error = DTX_GW_UPERR_CONNECT;
    if (s_try_next(up) < 0)
        s_fail(up, up->req->upstream_error);
}

/* Starts the exchange on a connection to the current target. */
static int s_open(dtx_gw_upstream_t *up)
{
    const dtx_gw_target_t *t = &up->pool->targets[up->target];
    int64_t now = dtx_gw_now_us();
    up->conn = dtx_gw_conns_get(up->loop->conns, &t->addr, up, now);
    if (!up->conn)
        return -1;
    up->sent = 0;
    up->sbase = 0;
    up->sending = 1;
    up->got_bytes = 0;
    if (up->conn->connecting)
        return s_timer_set(up, up->connect_due_us < up->call_due_us ? up->connect_due_us
                                                                    : up->call_due_us);
    if (s_timer_set(up, up->call_due_us) < 0)
        return -1;
    if (s_send_some(up) == 0)
        return 0;
    if (up->conn->reused && !up->fresh_retry && !(up->streaming && up->body_sent_any)) {
        up->fresh_retry = 1;         /* the kept connection was dead: a new one */
        s_release(up, 0);
        return s_open(up);
    }
    return -1;
}

/* A reused connection died before any answer byte (the upstream closed
 * it as the request left): the same target once more, on a new one. */
static int s_retry_fresh(dtx_gw_upstream_t *up)
{
    if (!up->conn || !up->conn->reused || up->got_bytes || up->fresh_retry ||
        (up->streaming && up->body_sent_any))
        return -1;
    up->fresh_retry = 1;
    s_release(up, 0);
    if (s_open(up) == 0)
        return 0;
    s_release(up, 0);
    return -1;
}

/* An I/O error or an early close on the connection. */
static void s_broken(dtx_gw_upstream_t *up, const char *why)
{
    if (!up->headers_done && s_retry_fresh(up) == 0)
        return;
    s_log_failure(up, up->headers_done ? "upstream answer cut short" : "upstream call failed",
                  why);
    s_fail(up, DTX_GW_UPERR_IO);
}

/* Body bytes sent so far on this attempt. */
static size_t s_body_sent(const dtx_gw_upstream_t *up)
{
    return up->sent > up->out.len ? up->sent - up->out.len : 0;
}

/* The body bytes still to send: *p, *n. */
static void s_body_left(const dtx_gw_upstream_t *up, const char **p, size_t *n)
{
    size_t done = s_body_sent(up);
    if (up->streaming) {
        *p = up->sbuf.data + (done - up->sbase);
        *n = up->sbuf.len - (done - up->sbase);
    } else {
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
        struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n };
        ssize_t w = sendmsg(up->conn->fd, &mh, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return dtx_gw_conn_watch(up->loop->conns, up->conn, EPOLLIN | EPOLLOUT);
            return -1;
        }
        up->sent += (size_t)w;
        if (s_body_sent(up))
            up->body_sent_any = 1;
    }
    if (up->streaming) {
        /* All queued body bytes are out: drop them. */
        up->sbase += up->sbuf.len;
        up->sbuf.len = 0;
        if (up->want_write)
            s_check(up);
    }
    up->sending = up->body_open;
    return dtx_gw_conn_watch(up->loop->conns, up->conn, EPOLLIN);
}

static void s_on_header(const char *name, const char *value, void *arg)
{
    dtx_gw_upstream_t *up = arg;
    if (dtx_gw_hop_by_hop(name) || strcasecmp(name, "Content-Length") == 0 ||
        up->nhdrs == S_MAX_HDRS)
        return;
    up->hdrs[up->nhdrs].name = (char *)name;
    up->hdrs[up->nhdrs].value = (char *)value;
    up->nhdrs++;
}

/* Body bytes for the client. Returns 0, or -1 when they must not be kept
 * (buffer_whole exceeded, out of memory). */
static int s_keep_body(dtx_gw_upstream_t *up, const char *data, size_t len)
{
    if (!len)
        return 0;
    if (up->buffer_whole && up->len - up->off + len > up->buffer_whole)
        return -1;
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
                return -1;
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
    s_release(up, keep && up->resp.keep_alive && !up->sending);
    s_timer_clear(up);
    s_unwatch(up);
    s_check(up);
}

/* The head is in up->head: parse it. Returns 0, or -1 (bad answer). */
static int s_head_in(dtx_gw_upstream_t *up)
{
    up->nhdrs = 0;
    if (dtx_gw_http1_parse_head(&up->resp, up->head.data, up->head.len,
                                strcmp(up->req->method, "HEAD") == 0, s_on_header, up) < 0)
        return -1;
    if (up->resp.status < 200)
        return 0;                    /* 1xx: the real head follows */
    up->status = up->resp.status;
    up->content_length = up->resp.content_length;
    up->headers_done = 1;
    dtx_gw_req_t *req = up->req;
    req->upstream_us = dtx_gw_now_us() - up->started_us;  /* time to headers */
    req->upstream_status = up->status;
    req->upstream_error = DTX_GW_UPERR_NONE;
    s_check(up);
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
                s_fail(up, DTX_GW_UPERR_IO);
                return -1;
            }
            size_t end = dtx_gw_http1_head_end(up->head.data, up->head.len);
            if (!end) {
                if (up->head.len >= DTX_GW_HTTP1_MAX_HEAD) {
                    s_log_failure(up, "upstream answer refused", "head too long");
                    s_fail(up, DTX_GW_UPERR_IO);
                    return -1;
                }
                return 0;
            }
            size_t used = end - had;
            up->head.len = end;
            up->head.data[end] = '\0';
            if (s_head_in(up) < 0) {
                s_log_failure(up, "upstream answer refused", "malformed head");
                s_fail(up, DTX_GW_UPERR_IO);
                return -1;
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
            s_log_failure(up, "upstream answer refused", "malformed body framing");
            s_fail(up, DTX_GW_UPERR_IO);
            return -1;
        }
        if (s_keep_body(up, piece, plen) < 0) {
            s_fail(up, DTX_GW_UPERR_IO);
            return -1;
        }
        data += used;
        len -= used;
        if (up->resp.done) {
            s_complete(up, len == 0);  /* extra bytes: the connection is not trusted */
            return 0;
        }
        if (up->phase == S_PHASE_BODY)
            s_check(up);
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
static void s_on_conn(dtx_gw_upstream_t *up, uint32_t events)
{
    if (up->conn->connecting) {
        int err = dtx_gw_conn_connect_result(up->conn);
        if (err) {
            s_connect_failed(up, strerror(err));
            return;
        }
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        if (s_timer_set(up, up->call_due_us) < 0 || s_send_some(up) < 0) {
            s_broken(up, strerror(errno));
            return;
        }
    } else if (up->sending && (events & (EPOLLOUT | EPOLLERR))) {
        if (s_send_some(up) < 0) {
            s_broken(up, strerror(errno));
            return;
        }
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        s_read(up);
}

/* The call's deadline passed. */
static void s_on_deadline(dtx_gw_upstream_t *up, int64_t now_us)
{
    if (up->conn && up->conn->connecting && now_us < up->call_due_us) {
        s_connect_failed(up, "connect timed out");
        return;
    }
    if (up->conn && up->conn->connecting) {
        /* The whole call's time is over before the connect: nothing
         * left, counted as a connect failure of that target. */
        s_log_failure(up, "upstream connect failed", "timed out");
        s_release(up, 0);
        s_attempt_over(up, DTX_GW_OUTCOME_CONNECT);
        s_fail(up, DTX_GW_UPERR_TIMEOUT);
        return;
    }
    s_log_failure(up, "upstream call failed", "timed out");
    s_fail(up, DTX_GW_UPERR_TIMEOUT);
}

/* ---------------- target choice ---------------- */

/* Sends to the next target to try. Returns 0, or -1 when none is left
 * (req->upstream_error set). */
static int s_try_next(dtx_gw_upstream_t *up)
{
    dtx_gw_req_t *req = up->req;
    dtx_gw_pool_t *pool = up->pool;
    for (;;) {
        int64_t now = dtx_gw_now_us();
        const char *hk = pool->cfg.hash_header ? req->header(req->header_ctx,
                                                             pool->cfg.hash_header) : NULL;
        int idx = up->attempts <= pool->cfg.retries ? dtx_gw_pool_pick(pool, hk, now, up->tried, 0)
                                                    : -1;
        if (idx < 0 && up->attempts == 0 && !up->backup)
            idx = dtx_gw_pool_pick(pool, hk, now, up->tried, 1);  /* panic: anyone */
        if (idx < 0) {
            if (up->backup) {
                pool = up->pool = up->backup;
                up->backup = NULL;
                up->attempts = 0;
                memset(up->tried, 0, sizeof up->tried);
                continue;
            }
            req->upstream_error = up->last_error;
            return -1;
        }
        up->tried[idx] = 1;
        up->attempts++;
        up->pool = pool;
        up->target = idx;
        dtx_gw_target_t *t = &pool->targets[idx];
        atomic_fetch_add(&t->in_flight, 1);
        atomic_fetch_add(&t->picked, 1);
        int64_t timeout = req->route->cfg->timeout_ms ? req->route->cfg->timeout_ms
                                                      : pool->cfg.timeout_ms;
        up->call_due_us = now + timeout * 1000;
        up->connect_due_us = now + pool->cfg.connect_timeout_ms * 1000;
        up->fresh_retry = 0;
        int64_t blen = up->streaming ? (up->chunked ? -1 : req->content_length)
                                     : (int64_t)req->body_len;
        if (dtx_gw_upreq_head(&up->out, req, t, blen) < 0) {
            s_attempt_over(up, DTX_GW_OUTCOME_OTHER);
            req->upstream_error = DTX_GW_UPERR_IO;
            return -1;
        }
        if (s_open(up) == 0)
            return 0;
        /* No connection at all: refused at once, or no socket. */
        s_log_failure(up, "upstream connect failed", strerror(errno));
        s_release(up, 0);
        s_attempt_over(up, DTX_GW_OUTCOME_CONNECT);
        up->last_error = DTX_GW_UPERR_CONNECT;
    }
}

/* ---------------- the worker's side ---------------- */

dtx_gw_upstreams_t *dtx_gw_upstreams_new(int epoll_fd)
{
    dtx_gw_upstreams_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->epfd = epoll_fd;
    self->conns = dtx_gw_conns_new(epoll_fd, S_MAX_IDLE_CONNS);
    self->rbuf = malloc(S_READ_SIZE);
    if (!self->conns || !self->rbuf) {
        dtx_gw_conns_destroy(&self->conns);
        free(self->rbuf);
        free(self);
        return NULL;
    }
    return self;
}

void dtx_gw_upstreams_destroy(dtx_gw_upstreams_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_gw_upstreams_t *self = *self_p;
    *self_p = NULL;
    assert(self->calls == 0);
    dtx_gw_conns_destroy(&self->conns);  /* closes the kept connections */
    dtx_gw_deadlines_free(&self->deadlines);
    free(self->rbuf);
    free(self);
}

void dtx_gw_upstreams_on_event(dtx_gw_upstreams_t *self, dtx_gw_event_source_t *src,
                               uint32_t events)
{
    if (src->kind == DTX_GW_EV_UPSTREAM) {
        dtx_gw_conn_t *c = (dtx_gw_conn_t *)src;
        if (!c->owner)
            dtx_gw_conns_on_idle_event(self->conns, c);  /* closed by the upstream */
        else
            s_on_conn(c->owner, events);
        return;
    }
    /* A watched client: gone, or pipelined bytes (then stop watching). */
    dtx_gw_upstream_t *up = (dtx_gw_upstream_t *)(void *)((char *)src -
                                                         offsetof(dtx_gw_upstream_t, client_src));
    char b;
    ssize_t r = recv(up->client_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        up->req->client_gone = 1;
        up->req->upstream_error = DTX_GW_UPERR_CLIENT_GONE;
        up->failed = 1;
        s_fail(up, DTX_GW_UPERR_CLIENT_GONE);
        return;
    }
    s_unwatch(up);
}

int dtx_gw_upstreams_timeout_ms(dtx_gw_upstreams_t *self, int64_t now_us)
{
    dtx_gw_deadline_t *first = dtx_gw_deadlines_first(&self->deadlines);
    int64_t due = first ? first->due_us : -1;
    if (self->waiting_head) {
        int64_t w = self->waiting_head->started_us + S_WATCH_AFTER_US;
        if (due < 0 || w < due)
            due = w;
    }
    if (self->ready_head)
        due = now_us;
    if (due < 0)
        return -1;
    if (due <= now_us)
        return 0;
    return (int)((due - now_us + 999) / 1000);
}

int dtx_gw_upstreams_dispatch(dtx_gw_upstreams_t *self, int64_t now_us)
{
    dtx_gw_deadline_t *first;
    while ((first = dtx_gw_deadlines_first(&self->deadlines)) && first->due_us <= now_us) {
        dtx_gw_upstream_t *up = S_UP_OF(first);
        s_timer_clear(up);
        s_on_deadline(up, now_us);
    }
    while (self->waiting_head && self->waiting_head->started_us + S_WATCH_AFTER_US <= now_us)
        s_watch(self->waiting_head);
    int n = 0;
    while (self->ready_head) {
        dtx_gw_upstream_t *up = self->ready_head;
        s_ready_remove(up);
        if (!up->armed)
            continue;
        up->armed = 0;
        if (up->want_write) {
            up->want_write = 0;          /* room to write (or news): not the answer yet */
        } else if (up->phase == S_PHASE_HEADERS && !up->failed) {
            up->phase = S_PHASE_BODY;
            s_waiting_remove(up);
        }
        n++;
        up->ready(up->arg);
    }
    return n;
}

/* ---------------- one call ---------------- */

int dtx_gw_upstream_start(dtx_gw_upstream_t **out, dtx_gw_upstreams_t *loop,
                          dtx_gw_req_t *req, int client_fd, size_t buffer_whole,
                          dtx_gw_upstream_ready_fn ready, void *arg)
{
    dtx_gw_upstream_t *up = calloc(1, sizeof *up);
    *out = up;
    if (!up) {
        req->upstream_error = DTX_GW_UPERR_IO;
        return -1;
    }
    loop->calls++;
    up->all_next = loop->all;
    if (loop->all)
        loop->all->all_prev = up;
    loop->all = up;
    up->loop = loop;
    up->req = req;
    up->ready = ready;
    up->arg = arg;
    up->buffer_whole = buffer_whole;
    up->client_src.kind = DTX_GW_EV_CLIENT;
    up->client_fd = client_fd;
    up->target = -1;
    dtx_gw_deadline_init(&up->deadline);
    up->content_length = -1;
    up->last_error = DTX_GW_UPERR_NO_TARGET;
    dtx_gw_route_t *route = req->route;
    up->pool = req->fallback_pool ? req->fallback_pool : dtx_gw_route_pick_pool(route);
    up->backup = req->fallback_pool ? NULL : route->backup;
    up->started_us = dtx_gw_now_us();
    if (req->body_streaming) {
        up->streaming = 1;
        up->body_open = 1;
        up->chunked = req->content_length < 0;
    }
    req->sent = 1;
    up->armed = !up->streaming;      /* a streamed call is armed by _write / _wait */
    if (s_try_next(up) < 0) {
        up->armed = 0;
        return -1;
    }
    if (!up->streaming)
        s_waiting_push(up);
    return 0;
}

/* Queues streamed body bytes and sends what the connection takes. */
static int s_queue(dtx_gw_upstream_t *up, const char *data, size_t len)
{
    if (dtx_gw_buf_add(&up->sbuf, data, len) < 0)
        return -1;
    if (up->conn && !up->conn->connecting && !up->done && s_send_some(up) < 0) {
        s_broken(up, strerror(errno));
        return up->failed ? -1 : 0;
    }
    return 0;
}

ssize_t dtx_gw_upstream_write(dtx_gw_upstream_t *self, const char *data, size_t len)
{
    assert(self->streaming && self->body_open);
    if (self->failed) {
        if (self->req->upstream_error == DTX_GW_UPERR_NONE)
            self->req->upstream_error = DTX_GW_UPERR_IO;
        return -1;
    }
    if (self->done || self->headers_done)
        return (ssize_t)len;         /* answered already: the rest is not needed */
    size_t pending = self->sbuf.len - (s_body_sent(self) - self->sbase);
    if (pending >= S_STREAM_WINDOW) {
        self->want_write = 1;
        self->armed = 1;
        return DTX_GW_UPSTREAM_AGAIN;
    }
    size_t n = S_STREAM_WINDOW - pending < len ? S_STREAM_WINDOW - pending : len;
    char frame[24];
    if (self->chunked && n) {
        int fl = snprintf(frame, sizeof frame, "%zx\r\n", n);
        if (dtx_gw_buf_add(&self->sbuf, frame, (size_t)fl) < 0 ||
            dtx_gw_buf_add(&self->sbuf, data, n) < 0 || s_queue(self, "\r\n", 2) < 0)
            return -1;
    } else if (s_queue(self, data, n) < 0) {
        return -1;
    }
    return (ssize_t)n;
}

int dtx_gw_upstream_write_end(dtx_gw_upstream_t *self)
{
    assert(self->streaming);
    if (!self->body_open)
        return 0;
    self->body_open = 0;
    if (self->done || self->headers_done)
        return 0;
    return s_queue(self, self->chunked ? "0\r\n\r\n" : "", self->chunked ? 5 : 0);
}

int dtx_gw_upstream_wait(dtx_gw_upstream_t *self)
{
    self->want_write = 0;
    if (self->failed || self->headers_done) {
        if (!self->failed && self->phase == S_PHASE_HEADERS &&
            (!self->buffer_whole || self->done)) {
            self->phase = S_PHASE_BODY;
            s_waiting_remove(self);
            return 0;
        }
        if (self->failed)
            return 0;
    }
    self->armed = 1;
    s_waiting_push(self);
    s_check(self);                   /* news already there: ready at the next dispatch */
    return 1;
}

int dtx_gw_upstream_result(const dtx_gw_upstream_t *self)
{
    if (self->failed || !self->headers_done)
        return -1;
    return 0;
}

const dtx_gw_resp_header_t *dtx_gw_upstream_headers(const dtx_gw_upstream_t *self, int *n)
{
    *n = self->nhdrs;
    return self->hdrs;
}

int64_t dtx_gw_upstream_content_length(const dtx_gw_upstream_t *self)
{
    return self->content_length;
}

ssize_t dtx_gw_upstream_read(dtx_gw_upstream_t *self, char *buf, size_t max)
{
    if (self->len > self->off) {
        size_t n = self->len - self->off < max ? self->len - self->off : max;
        memcpy(buf, self->body + self->off, n);
        self->off += n;
        return (ssize_t)n;
    }
    if (self->done) {
        if (self->failed || self->cut) {
            if (self->req->upstream_error == DTX_GW_UPERR_NONE)
                self->req->upstream_error = DTX_GW_UPERR_IO;
            return -1;
        }
        return 0;
    }
    if (self->paused && self->conn) {
        self->paused = 0;            /* drained: read again */
        if (dtx_gw_conn_watch(self->loop->conns, self->conn, EPOLLIN) < 0) {
            s_fail(self, DTX_GW_UPERR_IO);
            return -1;
        }
    }
    self->armed = 1;
    return DTX_GW_UPSTREAM_AGAIN;
}

char *dtx_gw_upstream_take_body(dtx_gw_upstream_t *self, size_t *len)
{
    if (!self->body || self->off != 0 || !dtx_gw_upstream_complete(self))
        return NULL;
    char *b = self->body;
    *len = self->len;
    self->body = NULL;
    self->len = self->off = self->cap = 0;
    return b;
}

int dtx_gw_upstream_complete(const dtx_gw_upstream_t *self)
{
    return self->done && !self->failed && !self->cut;
}

const char *dtx_gw_upstream_body(const dtx_gw_upstream_t *self, size_t *len)
{
    *len = self->len - self->off;
    return self->body ? self->body + self->off : "";
}

void dtx_gw_upstream_end(dtx_gw_upstream_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_gw_upstream_t *up = *self_p;
    *self_p = NULL;
    dtx_gw_req_t *req = up->req;
    dtx_gw_upstreams_t *loop = up->loop;
    if (up->target >= 0) {
        int outcome = DTX_GW_OUTCOME_OK;
        if (req->upstream_status >= 500)
            outcome = DTX_GW_OUTCOME_5XX;
        else if (req->upstream_error == DTX_GW_UPERR_CONNECT)
            outcome = DTX_GW_OUTCOME_CONNECT;
        else if (req->upstream_error != DTX_GW_UPERR_NONE &&
                 req->upstream_error != DTX_GW_UPERR_CLIENT_GONE)
            outcome = DTX_GW_OUTCOME_OTHER;
        s_attempt_over(up, outcome);
    }
    if (up->started_us && !req->upstream_us)
        req->upstream_us = dtx_gw_now_us() - up->started_us;
    s_ready_remove(up);
    s_unwatch(up);
    s_timer_clear(up);
    s_release(up, 0);                /* an unfinished exchange: the connection closes */
    dtx_gw_buf_free(&up->out);
    dtx_gw_buf_free(&up->sbuf);
    dtx_gw_buf_free(&up->head);
    free(up->body);
    if (up->all_prev)
        up->all_prev->all_next = up->all_next;
    else
        loop->all = up->all_next;
    if (up->all_next)
        up->all_next->all_prev = up->all_prev;
    free(up);
    loop->calls--;
}

void dtx_gw_upstreams_cancel(dtx_gw_upstreams_t *self)
{
    for (dtx_gw_upstream_t *up = self->all; up; up = up->all_next) {
        if (up->done)
            continue;
        s_fail(up, DTX_GW_UPERR_IO);
    }
}
