/*
 * gw_nconn.c — one client connection of the native engine: its request
 * heads read and parsed, each request driven through gw_request.h as
 * libmicrohttpd would drive it, its answers written with writev; kept
 * alive and pipelined requests taken in order.
 *
 *           ┌──────────── keep-alive: the next request (pipelined bytes first) ──┐
 *           ▼                                                                   │
 *   ──▶ HEAD ─(head parsed)─▶ BODY ─(answer queued)─▶ WRITE ─(answer sent)──────┘
 *         │ bad head: 400/431/505 ─────────────────────▶ WRITE ─▶ LINGER ─▶ close
 *         └─ EOF, error, deadline ─▶ close       (any state: error, deadline ─▶ close)
 *
 * LINGER: an answer sent before the request's bytes were all read (a
 * refusal before its body, a bad head) is followed by a half close and
 * reading, dropped, until the client closes or S_LINGER_MS pass, as
 * nginx's lingering close: closing with unread bytes would make the
 * kernel reset the connection, and the client could lose the answer.
 *
 * In BODY the request gets each piece of the body (Content-Length or
 * chunked, decoded in place in the read buffer), then a last call; it
 * answers at once (a refusal: the body is not read and the connection
 * closes after the answer), or after its upstream call. While the request
 * is suspended (gw_front.h) the connection is not run; bytes the client
 * sends meanwhile stay in the kernel, and a client that leaves cuts the
 * request's upstream call (dtx_gw_request_client_left).
 *
 * Invariants: the head's bytes stay where they are while the request
 * lives (its method, target and fields point into them): the buffer grows
 * only while no request is parsed, and bytes after the head move only
 * behind it; a suspended connection is never closed but at the engine's
 * close; nc->out is owned by the connection once answered.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/gw_addr.h"
#include "core/gw_clock.h"
#include "front/gw_nconn.h"
#include "front/gw_nio.h"
#include "front/gw_nout.h"

#define S_BUF_FIRST 4096            /* a new connection's read buffer */
#define S_BODY_ROOM 2048            /* room after a parsed head for body bytes */
#define S_IDLE_CALLS 8              /* calls without news before waiting */
#define S_LINGER_MS 2000            /* reading what the client still sends, after the answer */

enum { S_HEAD, S_BODY, S_WRITE, S_LINGER, S_CLOSED };

/* What a step returns to s_run. */
enum { S_GO = DTX_GW_NC_GO, S_WAIT = DTX_GW_NC_WAIT, S_END = DTX_GW_NC_END };

/* ---------------- the connection's operations (gw_front.h) ---------------- */

static void s_suspend(void *conn)
{
    ((dtx_gw_nconn_t *)conn)->suspended = 1;
}

static void s_resume(void *conn)
{
    dtx_gw_nconn_t *nc = conn;
    nc->suspended = 0;
    if (!nc->in_run)
        dtx_gw_nconn_schedule(nc);
}

static void s_resume_async(void *conn)
{
    dtx_gw_nconn_t *nc = conn;
    dtx_gw_native_t *eng = nc->eng;
    pthread_mutex_lock(&eng->lock);
    nc->on_async = 1;
    nc->async_next = eng->async_head;
    eng->async_head = nc;
    atomic_fetch_add(&eng->async_n, 1);
    pthread_mutex_unlock(&eng->lock);
}

static const char *s_header(void *conn, const char *name)
{
    return dtx_gw_reqhead_field(&((dtx_gw_nconn_t *)conn)->head, name);
}

static void s_each_header(void *conn, dtx_gw_header_visit_fn fn, void *arg)
{
    dtx_gw_nconn_t *nc = conn;
    for (int i = 0; i < nc->head.nfields; i++)
        fn(nc->head.fields[i].name, nc->head.fields[i].value, arg);
}

static void s_client_ip(void *conn, char *out, size_t cap)
{
    dtx_gw_nconn_t *nc = conn;
    if (!nc->ip[0])
        dtx_gw_addr_text((const struct sockaddr *)&nc->peer, nc->ip, sizeof nc->ip);
    if (!cap)
        return;
    size_t n = strnlen(nc->ip, cap - 1);
    memcpy(out, nc->ip, n);
    out[n] = '\0';
}

static int s_client_fd(void *conn)
{
    (void)conn;
    return -1;    /* watched here: dtx_gw_request_client_left */
}

static int s_queue(void *conn, dtx_gw_out_t *out)
{
    dtx_gw_nconn_t *nc = conn;
    if (nc->answered || nc->state != S_BODY) {
        dtx_gw_out_fini(out);
        return 0;
    }
    nc->out = *out;
    nc->answered = 1;
    return 1;
}

static const dtx_gw_front_ops_t s_ops = {
    .suspend = s_suspend,
    .resume = s_resume,
    .resume_async = s_resume_async,
    .header = s_header,
    .each_header = s_each_header,
    .client_ip = s_client_ip,
    .client_fd = s_client_fd,
    .queue = s_queue,
};

/* ---------------- reading ---------------- */

/* ---------------- the head ---------------- */

/* The engine's own answer (a head it refuses): sent, then the
 * connection closes. */
static int s_refuse(dtx_gw_nconn_t *nc, int status, const char *why)
{
    dtx_gw_out_init(&nc->out, status);
    int n = snprintf(nc->errbody, sizeof nc->errbody, "{\"error\":\"%s\"}\n",
                     why ? why : dtx_gw_nout_reason(status));
    nc->out.body = nc->errbody;
    nc->out.body_len = n > 0 ? (size_t)n : 0;
    dtx_gw_out_field(&nc->out, "Content-Type", "application/json");
    nc->answered = 1;
    nc->keep_alive = 0;
    nc->body_done = 0;      /* what follows the head is not read: linger */
    nc->head.minor = 1;
    nc->head.method = "";
    nc->state = S_BODY;    /* s_body starts the write */
    return S_GO;
}

static int s_head(dtx_gw_nconn_t *nc)
{
    size_t end;
    dtx_gw_native_opts_t *o = &nc->eng->opts;
    while (!(end = dtx_gw_reqhead_end(nc->buf, nc->len))) {
        if ((int64_t)nc->len >= o->max_head)
            return s_refuse(nc, 431, "request head too large");
        if (nc->len == nc->cap) {
            size_t cap = nc->cap * 2;
            if ((int64_t)cap > o->max_head + S_BODY_ROOM)
                cap = (size_t)o->max_head + S_BODY_ROOM;
            char *b = realloc(nc->buf, cap);
            if (!b)
                return S_END;
            nc->buf = b;
            nc->cap = cap;
        }
        int r = dtx_gw_nio_read(nc);
        if (r != S_GO)
            return r;
    }
    if ((int64_t)end > o->max_head)
        return s_refuse(nc, 431, "request head too large");
    if (nc->cap - end < S_BODY_ROOM) {
        char *b = realloc(nc->buf, end + S_BODY_ROOM);   /* no pointer into it yet */
        if (!b)
            return S_END;
        nc->buf = b;
        nc->cap = end + S_BODY_ROOM;
    }
    const char *why;
    int st = dtx_gw_reqhead_parse(&nc->head, nc->buf, end, &why);
    nc->head_len = nc->pos = end;
    if (st)
        return s_refuse(nc, st, why);
    nc->keep_alive = nc->head.keep_alive && !atomic_load(&nc->eng->w->server->quiesce);
    nc->body_done = 0;
    switch (nc->head.body) {
    case DTX_GW_REQBODY_LENGTH:
        nc->body_left = nc->head.content_length;
        break;
    case DTX_GW_REQBODY_CHUNKED:
        memset(&nc->chunk, 0, sizeof nc->chunk);
        nc->chunk.body = DTX_GW_BODY_CHUNKED;
        break;
    case DTX_GW_REQBODY_BAD:
        nc->keep_alive = 0;   /* not read: the request refuses it (front/gw_framing.h) */
        nc->body_done = 1;
        break;
    default:
        nc->body_done = 1;
        break;
    }
    nc->rc = dtx_gw_request_new(nc->eng->w, &s_ops, nc, nc->head.target);
    if (!nc->rc)
        return S_END;
    nc->state = S_BODY;
    size_t zero = 0;
    return dtx_gw_request_run(nc->rc, nc->head.method, NULL, &zero) ? S_GO : S_END;
}

/* ---------------- the body ---------------- */

/* Decodes the next piece of body from buf[pos, len). 1: a piece, or the
 * body's end; 0: more bytes needed; -1: broken chunked framing. */
static int s_decode(dtx_gw_nconn_t *nc)
{
    while (nc->pos < nc->len) {
        size_t avail = nc->len - nc->pos;
        if (nc->head.body == DTX_GW_REQBODY_LENGTH) {
            size_t n = (uint64_t)avail > (uint64_t)nc->body_left ? (size_t)nc->body_left : avail;
            nc->piece = nc->buf + nc->pos;
            nc->piece_len = n;
            nc->pos += n;
            nc->body_left -= (int64_t)n;
            nc->body_done = nc->body_left == 0;
            return 1;
        }
        size_t used;
        const char *data;
        size_t dlen;
        if (dtx_gw_http1_body(&nc->chunk, nc->buf + nc->pos, avail, &used, &data, &dlen) < 0)
            return -1;
        nc->pos += used;
        nc->body_done = nc->chunk.done;
        if (dlen) {
            nc->piece = data;
            nc->piece_len = dlen;
            return 1;
        }
        if (nc->body_done)
            return 1;
    }
    return 0;
}

/* One more call of the request without body bytes (the last one, or
 * after a resume). */
static int s_call(dtx_gw_nconn_t *nc)
{
    size_t zero = 0;
    if (!dtx_gw_request_run(nc->rc, nc->head.method, NULL, &zero))
        return S_END;
    if (!nc->answered && !nc->suspended && ++nc->idle_calls > S_IDLE_CALLS)
        return S_WAIT;      /* no news: the next resume or event */
    return S_GO;
}

static void s_answer_start(dtx_gw_nconn_t *nc);

static int s_body(dtx_gw_nconn_t *nc)
{
    if (nc->answered) {
        if (!nc->body_done)
            nc->keep_alive = 0;   /* answered before its body: the body is not read */
        s_answer_start(nc);
        return S_GO;
    }
    if (nc->final_called)
        return s_call(nc);
    if (!nc->piece_len && !nc->body_done) {
        int d = s_decode(nc);
        if (d < 0) {
            nc->final_called = 1;     /* nothing more is fed; the body is never done */
            nc->keep_alive = 0;
            return dtx_gw_request_bad_body(nc->rc, "malformed chunked body") ? S_GO : S_END;
        }
        if (d == 0) {
            if (nc->head.expect_continue && !nc->sent_continue) {
                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                nc->sent_continue = 1;
                struct iovec iov = { (void *)cont, sizeof cont - 1 };
                if (dtx_gw_nio_send(nc, &iov, 1) < 0 && errno != EAGAIN)
                    return S_END;
            }
            nc->pos = nc->len = nc->head_len;   /* all decoded and taken: room again */
            int r = dtx_gw_nio_read(nc);
            return r;
        }
    }
    if (nc->piece_len) {
        size_t n = nc->piece_len;
        if (!dtx_gw_request_run(nc->rc, nc->head.method, nc->piece, &n))
            return S_END;
        if (n < nc->piece_len)
            nc->idle_calls = 0;
        else if (!nc->suspended && !nc->answered && ++nc->idle_calls > S_IDLE_CALLS)
            return S_WAIT;
        nc->piece += nc->piece_len - n;
        nc->piece_len = n;
        return S_GO;
    }
    nc->final_called = 1;
    nc->idle_calls = 0;
    return s_call(nc);
}

/* ---------------- the answer ---------------- */

static void s_answer_start(dtx_gw_nconn_t *nc)
{
    nc->wbuf.len = 0;
    int head_method = strcmp(nc->head.method, "HEAD") == 0;
    if (atomic_load(&nc->eng->w->server->quiesce))
        nc->keep_alive = 0;
    int kind = dtx_gw_nout_head(&nc->wbuf, &nc->out, nc->head.minor, head_method,
                                &nc->keep_alive, dtx_gw_nout_date(nc->eng->date, sizeof nc->eng->date, &nc->eng->date_at));
    nc->out_kind = kind < 0 ? DTX_GW_NOUT_NONE : kind;
    if (kind < 0)
        nc->keep_alive = 0;
    nc->wpos = 0;
    nc->wbody = kind == DTX_GW_NOUT_MEMORY ? nc->out.body : NULL;
    nc->wbody_len = kind == DTX_GW_NOUT_MEMORY ? nc->out.body_len : 0;
    nc->woff = 0;
    nc->wtail = NULL;
    nc->wtail_len = 0;
    nc->read_end = kind != DTX_GW_NOUT_LENGTH && kind != DTX_GW_NOUT_CHUNKED &&
                   kind != DTX_GW_NOUT_CLOSE;
    nc->state = S_WRITE;
}

/* The request is over and its answer went: the next one, or close. */
static int s_next_request(dtx_gw_nconn_t *nc)
{
    dtx_gw_request_completed(&nc->rc, 1);
    dtx_gw_out_fini(&nc->out);
    nc->served++;
    dtx_gw_worker_count(&nc->eng->w->counters.requests);
    if (!nc->body_done && !nc->hup) {
        dtx_gw_nio_shutdown_wr(nc);
        nc->state = S_LINGER;
        return S_GO;
    }
    if (!nc->keep_alive || nc->hup) {
        nc->state = S_CLOSED;
        return S_END;
    }
    size_t rest = nc->len - nc->pos;
    memmove(nc->buf, nc->buf + nc->pos, rest);   /* pipelined bytes */
    nc->len = rest;
    nc->pos = nc->head_len = 0;
    nc->answered = nc->final_called = nc->sent_continue = nc->idle_calls = 0;
    nc->piece = NULL;
    nc->piece_len = 0;
    nc->head.nfields = 0;
    nc->state = S_HEAD;
    return S_GO;
}

/* Reads and drops until the client closes (S_END) or nothing more is
 * there yet (S_WAIT). */
static int s_linger(dtx_gw_nconn_t *nc)
{
    for (;;) {
        nc->pos = nc->len = 0;
        int r = dtx_gw_nio_read(nc);
        if (r != S_GO)
            return r;
    }
}

static int s_write(dtx_gw_nconn_t *nc)
{
    for (;;) {
        int r = dtx_gw_nio_flush(nc);
        if (r != S_GO)
            return r;
        if (nc->read_end)
            return s_next_request(nc);
        if ((r = dtx_gw_nio_next_piece(nc)) != S_GO)
            return r;
    }
}

/* ---------------- the connection ---------------- */

/* The deadline of nc's state (set when its kind changes, or on progress
 * for a body or an answer). */
static void s_timer(dtx_gw_nconn_t *nc)
{
    dtx_gw_native_opts_t *o = &nc->eng->opts;
    int kind = DTX_GW_NT_NONE;
    int64_t ms = 0;
    if (nc->suspended) {
        kind = DTX_GW_NT_NONE;
    } else if (nc->state == S_HEAD) {
        int idle = nc->len == 0 && nc->served > 0;
        kind = idle ? DTX_GW_NT_IDLE : DTX_GW_NT_HEAD;
        ms = idle ? o->idle_timeout_ms : o->header_timeout_ms;
    } else if (nc->state == S_BODY && !nc->final_called && !nc->answered) {
        kind = DTX_GW_NT_BODY;
        ms = o->body_timeout_ms;
    } else if (nc->state == S_WRITE && !nc->writable) {
        kind = DTX_GW_NT_SEND;
        ms = o->send_timeout_ms;
    } else if (nc->state == S_LINGER) {
        kind = DTX_GW_NT_LINGER;   /* set once: S_LINGER_MS at most */
        ms = S_LINGER_MS;
    }
    if (kind == nc->tkind && !(nc->progress && (kind == DTX_GW_NT_BODY || kind == DTX_GW_NT_SEND)))
        return;
    nc->tkind = kind;
    nc->progress = 0;
    if (kind == DTX_GW_NT_NONE)
        dtx_heap_remove(&nc->eng->timers, &nc->timer);
    else
        (void)dtx_heap_set(&nc->eng->timers, &nc->timer, dtx_gw_loop_us() + ms * 1000);
}

void dtx_gw_nconn_run(dtx_gw_nconn_t *nc)
{
    if (nc->in_run || nc->state == S_CLOSED || nc->dead)
        return;
    nc->in_run = 1;
    int r = S_GO;
    while (r == S_GO) {
        if (nc->suspended) {
            if ((nc->rdhup || nc->hup) && nc->rc && !nc->told_left) {
                nc->told_left = 1;
                dtx_gw_request_client_left(nc->rc);
            }
            break;
        }
        if (nc->hup || (nc->told_left && nc->rc)) {
            r = S_END;
            break;
        }
        switch (nc->state) {
        case S_HEAD:  r = s_head(nc); break;
        case S_BODY:  r = s_body(nc); break;
        case S_WRITE: r = s_write(nc); break;
        case S_LINGER: r = s_linger(nc); break;
        default:      r = S_END; break;
        }
    }
    nc->in_run = 0;
    if (r == S_END) {
        dtx_gw_nconn_close(nc, 0);
        return;
    }
    s_timer(nc);
}

void dtx_gw_nconn_on_event(dtx_gw_nconn_t *nc, uint32_t events)
{
    if (events & (EPOLLIN | EPOLLRDHUP))
        nc->readable = 1;
    if (events & EPOLLOUT)
        nc->writable = 1;
    if (events & EPOLLRDHUP)
        nc->rdhup = 1;
    if (events & (EPOLLERR | EPOLLHUP))
        nc->hup = 1;
    /* Run after the wake-up's events: running now could end the request's
     * upstream call, freeing an upstream connection whose event is later
     * in the same batch. */
    dtx_gw_nconn_schedule(nc);
}

void dtx_gw_nconn_expire(dtx_gw_nconn_t *nc)
{
    nc->tkind = DTX_GW_NT_NONE;
    if (!nc->suspended)
        dtx_gw_nconn_close(nc, 0);
}

dtx_gw_nconn_t *dtx_gw_nconn_new(dtx_gw_native_t *eng, int fd, const struct sockaddr *peer,
                                 socklen_t peer_len)
{
    dtx_gw_nconn_t *nc = calloc(1, sizeof *nc);
    if (!nc)
        return NULL;
    nc->buf = malloc(S_BUF_FIRST);
    if (!nc->buf) {
        free(nc);
        return NULL;
    }
    nc->cap = S_BUF_FIRST;
    nc->src.kind = DTX_GW_EV_CONN;
    nc->eng = eng;
    nc->fd = fd;
    if (peer_len > sizeof nc->peer)
        peer_len = sizeof nc->peer;
    memcpy(&nc->peer, peer, peer_len);
    nc->writable = 1;
    nc->state = S_HEAD;
    dtx_heap_node_init(&nc->timer);
    nc->all_next = eng->all;
    if (eng->all)
        eng->all->all_prev = nc;
    eng->all = nc;
    eng->nconns++;
    s_timer(nc);
    return nc;
}

void dtx_gw_nconn_close(dtx_gw_nconn_t *nc, int ok)
{
    if (nc->state == S_CLOSED && nc->fd < 0)
        return;
    nc->state = S_CLOSED;
    if (nc->rc)
        dtx_gw_request_completed(&nc->rc, ok);
    dtx_gw_out_fini(&nc->out);
    dtx_heap_remove(&nc->eng->timers, &nc->timer);
    if (nc->fd >= 0)
        dtx_gw_nio_close(nc);
    dtx_gw_native_t *eng = nc->eng;
    if (nc->all_prev)
        nc->all_prev->all_next = nc->all_next;
    else if (eng->all == nc)
        eng->all = nc->all_next;
    if (nc->all_next)
        nc->all_next->all_prev = nc->all_prev;
    nc->all_next = nc->all_prev = NULL;
    eng->nconns--;
    atomic_fetch_sub_explicit(&eng->w->counters.open, 1, memory_order_relaxed);
    if (nc->on_run || nc->on_async)
        nc->dead = 1;          /* freed when its list entry comes off */
    else
        dtx_gw_nconn_free(nc);
}

void dtx_gw_nconn_schedule(dtx_gw_nconn_t *nc)
{
    dtx_gw_native_t *eng = nc->eng;
    if (nc->on_run)
        return;
    nc->on_run = 1;
    nc->run_next = NULL;
    if (eng->run_tail)
        eng->run_tail->run_next = nc;
    else
        eng->run_head = nc;
    eng->run_tail = nc;
}

void dtx_gw_nconn_free(dtx_gw_nconn_t *nc)
{
    dtx_gw_buf_free(&nc->wbuf);
    free(nc->sbuf);
    free(nc->buf);
    free(nc);
}
