/*
 * gw_proxy.c — the upstream call: target choice, retries, failover,
 * deadlines, the client watch, readiness, and gw_proxy.h's API. The
 * exchange of each attempt on its connection is gw_exchange.c; the state
 * both share is gw_upcall.h.
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
 * worker's deadline heap (dtx/heap.h) and only then.
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "dtx/types.h"
#include "dtx/log.h"
#include "core/gw_clock.h"
#include "upstream/gw_proxy.h"
#include "upstream/gw_upcall.h"
#include "upstream/gw_upreq.h"
#include "upstream/gw_zmq.h"

/* A call is allocated when a worker has no spare one: small enough for
 * glibc's per-thread cache (chunks up to 1,032 bytes), where a larger one
 * takes the slower bins on every malloc and free. An ended call is kept
 * (S_SPARE_CALLS a worker) with its request and answer head buffers and
 * its body buffer, so that the usual call allocates nothing. */
_Static_assert(sizeof(dtx_gw_upstream_t) <= 1024, "a call fits glibc's tcache");

#define S_UP_OF(node) ((dtx_gw_upstream_t *)(void *)((char *)(node) - \
                                                     offsetof(dtx_gw_upstream_t, deadline)))

/* ---------------- the client watch ---------------- */

static void s_watch(dtx_gw_upstream_t *up)
{
    dtx_gw_call_waiting_remove(up);
    struct epoll_event ev = { .events = EPOLLRDHUP, .data.ptr = &up->client_src };
    if (epoll_ctl(up->loop->epfd, EPOLL_CTL_ADD, up->client_fd, &ev) == 0)
        up->watching = 1;
}

/* ---------------- target choice ---------------- */

/* Sends to the next target to try. Returns 0, or -1 when none is left
 * (req->upstream_error set). */
static int s_try_next(dtx_gw_upstream_t *up)
{
    dtx_gw_req_t *req = up->req;
    dtx_gw_pool_t *pool = up->pool;
    for (;;) {
        int64_t now = dtx_gw_loop_us();
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
            return DTX_EIO;
        }
        up->tried[idx] = 1;
        up->attempts++;
        up->pool = pool;
        up->target = idx;
        dtx_gw_target_t *t = &pool->targets[idx];
        atomic_fetch_add(&t->in_flight, 1);
        atomic_fetch_add(&t->picked, 1);
        int64_t timeout = up->timeout_ms ? up->timeout_ms : pool->cfg.timeout_ms;
        up->call_due_us = now + timeout * 1000;
        up->connect_due_us = now + pool->cfg.connect_timeout_ms * 1000;
        up->fresh_retry = 0;
        int64_t blen = up->streaming ? (up->chunked ? -1 : req->content_length)
                                     : (int64_t)req->body_len;
        if (dtx_gw_upreq_head(&up->out, req, t, blen) < 0) {
            dtx_gw_call_attempt_over(up, DTX_GW_OUTCOME_OTHER);
            req->upstream_error = DTX_GW_UPERR_IO;
            return DTX_EIO;
        }
        if ((pool->cfg.zmq ? dtx_gw_zmq_open(up) : dtx_gw_exchange_open(up)) == 0)
            return 0;
        /* No connection at all: refused at once, or no socket. */
        dtx_gw_exchange_log(up, "upstream connect failed", strerror(errno));
        dtx_gw_call_release(up, 0);
        dtx_gw_call_attempt_over(up, DTX_GW_OUTCOME_CONNECT);
        up->last_error = DTX_GW_UPERR_CONNECT;
    }
}

/* What the exchange returned: an attempt that could not connect moves on
 * to the next target, or the call fails. */
static void s_after_exchange(dtx_gw_upstream_t *up, int rc)
{
    if (rc == DTX_GW_EXCHANGE_NEXT_TARGET && s_try_next(up) < 0)
        dtx_gw_call_fail(up, up->req->upstream_error);
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

void dtx_gw_upstreams_set_ring(dtx_gw_upstreams_t *self, struct dtx_gw_uring *ring)
{
    dtx_gw_conns_set_ring(self->conns, ring);
}

void dtx_gw_upstreams_destroy(dtx_gw_upstreams_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_gw_upstreams_t *self = *self_p;
    *self_p = NULL;
    assert(self->calls == 0);
    while (self->spare) {
        dtx_gw_upstream_t *up = self->spare;
        self->spare = up->all_next;
        dtx_gw_buf_free(&up->out);
        dtx_gw_buf_free(&up->head);
        free(up->body);
        free(up);
    }
    dtx_gw_conns_destroy(&self->conns);  /* closes the kept connections */
    dtx_gw_zmq_destroy(&self->zmq);
    free(self->zslots);
    dtx_heap_free(&self->deadlines);
    free(self->rbuf);
    free(self);
}

void dtx_gw_upstreams_on_event(dtx_gw_upstreams_t *self, dtx_gw_event_source_t *src,
                               uint32_t events)
{
    if (src->kind == DTX_GW_EV_CLOSED)
        return;                      /* closed by an earlier event of this batch */
    if (src->kind == DTX_GW_EV_ZMQ) {
        dtx_gw_zmq_on_event(self, src);  /* fails or completes calls; never a next target */
        return;
    }
    if (src->kind == DTX_GW_EV_UPSTREAM) {
        dtx_gw_conn_t *c = (dtx_gw_conn_t *)src;
        dtx_gw_upstream_t *up = c->owner;  /* c may be freed by the exchange */
        if (!up)
            dtx_gw_conns_on_idle_event(self->conns, c);  /* closed by the upstream */
        else
            s_after_exchange(up, dtx_gw_exchange_on_event(up, events));
        return;
    }
    /* A watched client: gone, or pipelined bytes (then stop watching). */
    dtx_gw_upstream_t *up = (dtx_gw_upstream_t *)(void *)((char *)src -
                                                         offsetof(dtx_gw_upstream_t, client_src));
    char b;
    ssize_t r = recv(up->client_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        dtx_gw_upstream_client_gone(up);
        return;
    }
    dtx_gw_call_unwatch(up);
}

void dtx_gw_upstream_client_gone(dtx_gw_upstream_t *up)
{
    if (up->done)
        return;
    up->req->client_gone = 1;
    up->req->upstream_error = DTX_GW_UPERR_CLIENT_GONE;
    up->failed = 1;
    dtx_gw_call_fail(up, DTX_GW_UPERR_CLIENT_GONE);
}

int dtx_gw_upstreams_timeout_ms(dtx_gw_upstreams_t *self, int64_t now_us)
{
    dtx_heap_node_t *first = dtx_heap_first(&self->deadlines);
    int64_t due = first ? first->key : -1;
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
    dtx_gw_conns_reap(self->conns);  /* between batches: no event can point to them */
    dtx_heap_node_t *first;
    while ((first = dtx_heap_first(&self->deadlines)) && first->key <= now_us) {
        dtx_gw_upstream_t *up = S_UP_OF(first);
        dtx_gw_call_deadline_clear(up);
        s_after_exchange(up, up->zslot ? dtx_gw_zmq_on_deadline(up, now_us)  /* a zmq attempt */
                                       : dtx_gw_exchange_on_deadline(up, now_us));
    }
    while (self->waiting_head && self->waiting_head->started_us + S_WATCH_AFTER_US <= now_us)
        s_watch(self->waiting_head);
    int n = 0;
    while (self->ready_head) {
        dtx_gw_upstream_t *up = self->ready_head;
        dtx_gw_call_ready_remove(up);
        if (!up->armed)
            continue;
        up->armed = 0;
        if (up->want_write) {
            up->want_write = 0;          /* room to write (or news): not the answer yet */
        } else if (up->phase == S_PHASE_HEADERS && !up->failed) {
            up->phase = S_PHASE_BODY;
            dtx_gw_call_waiting_remove(up);
        }
        n++;
        up->ready(up->arg);
    }
    return n;
}

/* ---------------- one call ---------------- */

int dtx_gw_upstream_start(dtx_gw_upstream_t **out, dtx_gw_upstreams_t *loop,
                          dtx_gw_req_t *req, const dtx_gw_upstream_plan_t *plan,
                          int client_fd, size_t buffer_whole,
                          dtx_gw_upstream_ready_fn ready, void *arg)
{
    dtx_gw_upstream_t *up = loop->spare;
    dtx_gw_buf_t keep_out = { 0 }, keep_head = { 0 };
    char *keep_body = NULL;
    size_t keep_cap = 0;
    if (up) {
        loop->spare = up->all_next;
        loop->nspare--;
        keep_out = up->out;
        keep_head = up->head;
        keep_body = up->body;
        keep_cap = up->cap;
    } else if (!(up = malloc(sizeof *up))) {
        *out = NULL;
        req->upstream_error = DTX_GW_UPERR_IO;
        return DTX_ENOMEM;
    }
    *out = up;
    /* Zeroed but the inline answer headers (512 of its 1.1 KB, written
     * before they are read: below nhdrs only); a spare's head buffers
     * keep their memory, emptied. */
    size_t skip = offsetof(dtx_gw_upstream_t, hdrs_inline), end = skip + sizeof up->hdrs_inline;
    memset(up, 0, skip);
    memset((char *)up + end, 0, sizeof *up - end);
    up->out = (dtx_gw_buf_t){ .data = keep_out.data, .cap = keep_out.cap };
    up->head = (dtx_gw_buf_t){ .data = keep_head.data, .cap = keep_head.cap };
    up->body = keep_body;
    up->cap = keep_cap;
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
    dtx_heap_node_init(&up->deadline);
    up->hdrs = up->hdrs_inline;
    up->caphdrs = S_HDRS_INLINE;
    up->content_length = -1;
    up->last_error = DTX_GW_UPERR_NO_TARGET;
    up->pool = plan->pool;
    up->backup = plan->backup;
    up->timeout_ms = plan->timeout_ms;
    up->started_us = dtx_gw_loop_us();
    if (req->body_streaming) {
        up->streaming = 1;
        up->body_open = 1;
        up->chunked = req->content_length < 0;
    }
    req->sent = 1;
    up->armed = !up->streaming;      /* a streamed call is armed by _write / _wait */
    if (up->streaming && (plan->pool->cfg.zmq || (plan->backup && plan->backup->cfg.zmq))) {
        up->zbuffer = 1;             /* a zmq message is whole: the call starts at _write_end */
        return 0;
    }
    if (s_try_next(up) < 0) {
        up->armed = 0;
        return DTX_EIO;
    }
    if (!up->streaming)
        dtx_gw_call_waiting_push(up);
    return 0;
}

ssize_t dtx_gw_upstream_write(dtx_gw_upstream_t *self, const char *data, size_t len)
{
    assert(self->streaming && self->body_open);
    if (self->failed) {
        if (self->req->upstream_error == DTX_GW_UPERR_NONE)
            self->req->upstream_error = DTX_GW_UPERR_IO;
        return DTX_EIO;
    }
    if (self->done || self->headers_done)
        return (ssize_t)len;         /* answered already: the rest is not needed */
    if (self->zbuffer) {
        if (self->sbuf.len + len > DTX_GW_ZMQ_MAX_BODY || dtx_gw_buf_add(&self->sbuf, data, len) < 0) {
            dtx_gw_call_fail(self, DTX_GW_UPERR_IO);
            return DTX_EIO;
        }
        return (ssize_t)len;
    }
    size_t pending = self->sbuf.len - (dtx_gw_call_body_sent(self) - self->sbase);
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
            dtx_gw_buf_add(&self->sbuf, data, n) < 0 || dtx_gw_exchange_queue(self, "\r\n", 2) < 0)
            return DTX_EIO;
    } else if (dtx_gw_exchange_queue(self, data, n) < 0) {
        return DTX_EIO;
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
    if (self->zbuffer) {
        /* The body is whole: the request owns it, and the call goes as
         * one whose body was read whole (retries included). */
        dtx_gw_req_t *req = self->req;
        req->body = self->sbuf.data ? self->sbuf.data : calloc(1, 1);
        req->body_len = self->sbuf.len;
        req->body_streaming = 0;
        self->sbuf = (dtx_gw_buf_t){ 0 };
        self->streaming = 0;
        if (!req->body || s_try_next(self) < 0) {
            if (req->upstream_error == DTX_GW_UPERR_NONE)
                req->upstream_error = DTX_GW_UPERR_IO;
            dtx_gw_call_fail(self, req->upstream_error);
            return DTX_EIO;
        }
        return 0;
    }
    return dtx_gw_exchange_queue(self, self->chunked ? "0\r\n\r\n" : "", self->chunked ? 5 : 0);
}

int dtx_gw_upstream_wait(dtx_gw_upstream_t *self)
{
    self->want_write = 0;
    if (self->failed || self->headers_done) {
        if (!self->failed && self->phase == S_PHASE_HEADERS &&
            (!self->buffer_whole || self->done)) {
            self->phase = S_PHASE_BODY;
            dtx_gw_call_waiting_remove(self);
            return 0;
        }
        if (self->failed)
            return 0;
    }
    self->armed = 1;
    dtx_gw_call_waiting_push(self);
    dtx_gw_call_check(self);         /* news already in: ready at the next dispatch */
    return 1;
}

int dtx_gw_upstream_result(const dtx_gw_upstream_t *self)
{
    if (self->failed || !self->headers_done)
        return DTX_EIO;
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
            return DTX_EIO;
        }
        return 0;
    }
    if (self->paused && self->conn) {
        self->paused = 0;            /* drained: read again */
        if (dtx_gw_conn_watch(self->loop->conns, self->conn, EPOLLIN) < 0) {
            dtx_gw_call_fail(self, DTX_GW_UPERR_IO);
            return DTX_EIO;
        }
    }
    self->armed = 1;
    return DTX_GW_UPSTREAM_AGAIN;
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
        dtx_gw_call_attempt_over(up, outcome);
    }
    if (up->started_us && !req->upstream_us)
        req->upstream_us = dtx_gw_loop_us() - up->started_us;
    dtx_gw_call_ready_remove(up);
    dtx_gw_call_unwatch(up);
    dtx_gw_call_deadline_clear(up);
    dtx_gw_call_release(up, 0);                /* an unfinished exchange: the connection closes */
    dtx_gw_buf_free(&up->sbuf);
    if (up->hdrs != up->hdrs_inline)
        free(up->hdrs);
    if (up->all_prev)
        up->all_prev->all_next = up->all_next;
    else
        loop->all = up->all_next;
    if (up->all_next)
        up->all_next->all_prev = up->all_prev;
    loop->calls--;
    if (loop->nspare < S_SPARE_CALLS) {
        if (up->out.cap > S_SPARE_BUF || up->out.failed)
            dtx_gw_buf_free(&up->out);
        if (up->head.cap > S_SPARE_BUF || up->head.failed)
            dtx_gw_buf_free(&up->head);
        if (up->cap > S_SPARE_BODY) {
            free(up->body);
            up->body = NULL;
            up->cap = 0;
        }
        up->all_next = loop->spare;
        loop->spare = up;
        loop->nspare++;
        return;
    }
    dtx_gw_buf_free(&up->out);
    dtx_gw_buf_free(&up->head);
    free(up->body);
    free(up);
}

void dtx_gw_upstreams_cancel(dtx_gw_upstreams_t *self)
{
    for (dtx_gw_upstream_t *up = self->all; up; up = up->all_next) {
        if (up->done)
            continue;
        dtx_gw_call_fail(up, DTX_GW_UPERR_IO);
    }
}
