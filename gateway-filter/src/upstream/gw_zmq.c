/*
 * gw_zmq.c — one attempt of an upstream call to a zmq+tcp:// target
 * (gw_zmq.h: its states and invariants), at the level of gw_exchange.c:
 * the proxy (gw_proxy.c) chose the target and moves on to the next one
 * when an attempt could not connect. The message is dtx/zgw.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <zmq.h>

#include "dtx/types.h"
#include "dtx/log.h"
#include "dtx/zgw.h"
#include "core/gw_clock.h"
#include "upstream/gw_upcall.h"
#include "upstream/gw_upreq.h"
#include "upstream/gw_zmq.h"
#include "upstream/gw_zmqmsg.h"

#define S_MAX_FRAMES 8               /* reply frames kept (the rest counted, dropped) */
#define S_HWM        100000

typedef struct dtx_gw_zsock {
    dtx_gw_event_source_t src;       /* DTX_GW_EV_ZMQ; first member */
    void                *sock;       /* DEALER */
    int                  fd;         /* its ZMQ_FD */
    int                  down;       /* a connect wait timed out, no room seen since */
    char                 endpoint[96];
    struct dtx_gw_zsock *next;
} dtx_gw_zsock_t;

struct dtx_gw_zmq {
    int             epfd;
    dtx_gw_zsock_t *socks;
};

/* ---------------- the process's context and counters ---------------- */

static pthread_mutex_t s_ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static void *s_ctx;
static int s_ctx_refs;
static atomic_ullong s_requests, s_replies, s_late, s_malformed;

static void *s_ctx_ref(void)
{
    pthread_mutex_lock(&s_ctx_lock);
    if (!s_ctx)
        s_ctx = zmq_ctx_new();
    void *c = s_ctx;
    if (c)
        s_ctx_refs++;
    pthread_mutex_unlock(&s_ctx_lock);
    return c;
}

static void s_ctx_unref(void)
{
    pthread_mutex_lock(&s_ctx_lock);
    if (--s_ctx_refs == 0) {
        zmq_ctx_term(s_ctx);         /* every socket closed, linger 0: returns at once */
        s_ctx = NULL;
    }
    pthread_mutex_unlock(&s_ctx_lock);
}

void dtx_gw_zmq_counters(dtx_gw_zmq_counters_t *out)
{
    out->requests = atomic_load(&s_requests);
    out->replies = atomic_load(&s_replies);
    out->late = atomic_load(&s_late);
    out->malformed = atomic_load(&s_malformed);
}

/* Logs a failed attempt with its pool and target (as gw_exchange.c does). */
static void s_log(const dtx_gw_upstream_t *up, const char *what, const char *why)
{
    dtx_log_warn(what, "pool=%s target=%s err=\"%s\"", up->pool->cfg.name,
                 up->target >= 0 ? up->pool->targets[up->target].url : "", why);
}

/* ---------------- sockets ---------------- */

static int s_endpoint(const dtx_gw_addr_t *a, char *out, size_t n)
{
    char ip[INET6_ADDRSTRLEN];
    if (a->sa.ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&a->sa;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
        return snprintf(out, n, "tcp://%s:%u", ip, ntohs(s4->sin_port)) < (int)n ? 0 : DTX_EINVAL;
    }
    if (a->sa.ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
        return snprintf(out, n, "tcp://[%s]:%u", ip, ntohs(s6->sin6_port)) < (int)n ? 0
                                                                                  : DTX_EINVAL;
    }
    return DTX_EINVAL;
}

static void s_sock_close(dtx_gw_zmq_t *z, dtx_gw_zsock_t *zs)
{
    if (zs->fd >= 0)
        epoll_ctl(z->epfd, EPOLL_CTL_DEL, zs->fd, NULL);
    if (zs->sock)
        zmq_close(zs->sock);
    free(zs);
    s_ctx_unref();
}

/* The worker's socket to addr, made and connected on first use. NULL
 * with errno set on failure. */
static dtx_gw_zsock_t *s_sock(dtx_gw_zmq_t *z, const dtx_gw_addr_t *addr, int *fresh)
{
    char ep[96];
    *fresh = 0;
    if (s_endpoint(addr, ep, sizeof ep) < 0) {
        errno = EINVAL;
        return NULL;
    }
    for (dtx_gw_zsock_t *zs = z->socks; zs; zs = zs->next)
        if (strcmp(zs->endpoint, ep) == 0)
            return zs;
    void *ctx = s_ctx_ref();
    if (!ctx)
        return NULL;
    dtx_gw_zsock_t *zs = calloc(1, sizeof *zs);
    if (!zs) {
        s_ctx_unref();
        errno = ENOMEM;
        return NULL;
    }
    zs->src.kind = DTX_GW_EV_ZMQ;
    zs->fd = -1;
    memcpy(zs->endpoint, ep, sizeof ep);
    zs->sock = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0, one = 1, hwm = S_HWM, ivl = 100, ivl_max = 1000;
    int64_t max = (int64_t)DTX_GW_ZMQ_MAX_BODY + DTX_ZGW_MAX_HEADERS;
    size_t fdlen = sizeof zs->fd;
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &zs->src };
    if (!zs->sock ||
        zmq_setsockopt(zs->sock, ZMQ_LINGER, &zero, sizeof zero) < 0 ||
        zmq_setsockopt(zs->sock, ZMQ_IMMEDIATE, &one, sizeof one) < 0 ||
        zmq_setsockopt(zs->sock, ZMQ_SNDHWM, &hwm, sizeof hwm) < 0 ||
        zmq_setsockopt(zs->sock, ZMQ_RCVHWM, &hwm, sizeof hwm) < 0 ||
        zmq_setsockopt(zs->sock, ZMQ_MAXMSGSIZE, &max, sizeof max) < 0 ||
        zmq_setsockopt(zs->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl) < 0 ||
        zmq_setsockopt(zs->sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max) < 0 ||
        zmq_connect(zs->sock, ep) < 0 ||
        zmq_getsockopt(zs->sock, ZMQ_FD, &zs->fd, &fdlen) < 0 ||
        epoll_ctl(z->epfd, EPOLL_CTL_ADD, zs->fd, &ev) < 0) {
        int e = errno;
        zs->fd = -1;                 /* the epoll add is the last step: not in the set */
        s_sock_close(z, zs);
        errno = e;
        return NULL;
    }
    zs->next = z->socks;
    z->socks = zs;
    *fresh = 1;
    return zs;
}

void dtx_gw_zmq_destroy(dtx_gw_zmq_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_gw_zmq_t *z = *self_p;
    *self_p = NULL;
    while (z->socks) {
        dtx_gw_zsock_t *zs = z->socks;
        z->socks = zs->next;
        s_sock_close(z, zs);
    }
    free(z);
}

/* ---------------- slots and ids ---------------- */

static int s_slot_take(dtx_gw_upstream_t *up)
{
    dtx_gw_upstreams_t *l = up->loop;
    if (!l->zfree) {
        uint32_t n = l->nzslots ? l->nzslots * 2 : 64;
        dtx_gw_zslot_t *s = realloc(l->zslots, n * sizeof *s);
        if (!s)
            return DTX_ENOMEM;
        for (uint32_t i = l->nzslots; i < n; i++)
            s[i] = (dtx_gw_zslot_t){ NULL, 0, i + 1 < n ? i + 2 : 0 };
        l->zfree = l->nzslots + 1;
        l->zslots = s;
        l->nzslots = n;
    }
    uint32_t k = l->zfree;
    l->zfree = l->zslots[k - 1].next_free;
    l->zslots[k - 1].up = up;
    up->zslot = k;
    return 0;
}

/* The call a reply's id names, or NULL. */
static dtx_gw_upstream_t *s_find(dtx_gw_upstreams_t *l, const dtx_zgw_frame_t *id)
{
    uint32_t k, serial;
    if (dtx_gw_zmqmsg_id_parse(id->data, id->len, &k, &serial) < 0 || k >= l->nzslots ||
        l->zslots[k].serial != serial)
        return NULL;
    return l->zslots[k].up;
}

/* ---------------- the request ---------------- */

/* Sends the request. 0 sent, 1 no room (EAGAIN), DTX_EIO. */
static int s_send(dtx_gw_upstream_t *up)
{
    dtx_gw_req_t *req = up->req;
    char id[17];
    dtx_gw_zmqmsg_id(id, up->zslot - 1, up->loop->zslots[up->zslot - 1].serial);
    dtx_zgw_frame_t f[DTX_ZGW_REQUEST_FRAMES];
    dtx_gw_zmqmsg_request(f, req, id, &up->out, req->body, req->body_len);
    for (int i = 0; i < DTX_ZGW_REQUEST_FRAMES; i++) {
        int more = i + 1 < DTX_ZGW_REQUEST_FRAMES ? ZMQ_SNDMORE : 0;
        if (zmq_send(up->zsock->sock, f[i].data, f[i].len, ZMQ_DONTWAIT | more) >= 0)
            continue;
        if (errno == EINTR && i == 0)
            return 1;
        if (errno == EAGAIN && i == 0)
            return 1;                /* nothing left: all parts go, or none */
        return DTX_EIO;
    }
    atomic_fetch_add(&s_requests, 1);
    return 0;
}

static void s_drain(dtx_gw_upstreams_t *l, dtx_gw_zsock_t *zs);

int dtx_gw_zmq_open(dtx_gw_upstream_t *up)
{
    dtx_gw_upstreams_t *l = up->loop;
    dtx_gw_target_t *t = &up->pool->targets[up->target];
    if (!l->zmq) {
        l->zmq = calloc(1, sizeof *l->zmq);
        if (!l->zmq) {
            errno = ENOMEM;
            return DTX_EIO;
        }
        l->zmq->epfd = l->epfd;
    }
    int fresh;
    dtx_gw_zsock_t *zs = s_sock(l->zmq, &t->addr, &fresh);
    if (!zs)
        return DTX_EIO;
    if (fresh)
        atomic_fetch_add(&t->connects, 1);
    if (s_slot_take(up) < 0) {
        errno = ENOMEM;
        return DTX_EIO;
    }
    up->zsock = zs;
    dtx_gw_zmqmsg_headers(&up->out);
    up->sent = 0;
    up->got_bytes = 0;
    int rc = s_send(up);
    if (rc < 0 || (rc == 1 && zs->down)) {
        int e = rc < 0 ? errno : ENOTCONN;  /* known down: the next target now */
        s_drain(l, zs);              /* the failed send may have reset ZMQ_FD too */
        errno = e;
        return DTX_EIO;
    }
    int64_t due = up->call_due_us;
    if (rc == 1) {
        dtx_gw_call_zwait_push(up);
        if (up->connect_due_us < due)
            due = up->connect_due_us;
    }
    if (dtx_gw_call_deadline(up, due) < 0) {
        errno = ENOMEM;
        return DTX_EIO;
    }
    s_drain(l, zs);                  /* the send may have reset ZMQ_FD */
    return 0;
}

/* ---------------- the reply ---------------- */

static int s_add_header(dtx_gw_upstream_t *up, char *name, char *value)
{
    if (dtx_gw_hop_by_hop(name) || strcasecmp(name, "Content-Length") == 0)
        return 0;
    /* The answer copies a header without a scan (gw_http1.h): one with
     * CR or LF in it is left out here, as the answer used to leave it. */
    size_t nl = strcspn(name, "\r\n"), vl = strcspn(value, "\r\n");
    if (!nl || name[nl] || value[vl] || nl > UINT32_MAX || vl > UINT32_MAX)
        return 0;
    if (up->nhdrs == up->caphdrs) {
        int cap = up->caphdrs * 2;
        dtx_gw_resp_header_t *h = malloc((size_t)cap * sizeof *h);
        if (!h)
            return DTX_ENOMEM;
        memcpy(h, up->hdrs, (size_t)up->nhdrs * sizeof *h);
        if (up->hdrs != up->hdrs_inline)
            free(up->hdrs);
        up->hdrs = h;
        up->caphdrs = cap;
    }
    up->hdrs[up->nhdrs] = (dtx_gw_resp_header_t){ name, value, (uint32_t)nl, (uint32_t)vl };
    up->nhdrs++;
    return 0;
}

static void s_refuse(dtx_gw_upstream_t *up, const char *why)
{
    char w[160];
    snprintf(w, sizeof w, "malformed zmq reply: %s", why);
    s_log(up, "upstream answer refused", w);
    dtx_gw_call_fail(up, DTX_GW_UPERR_IO);
}

/* A well-formed reply for up: the call's answer, whole. */
static void s_answer(dtx_gw_upstream_t *up, const dtx_zgw_reply_t *rep)
{
    if (up->buffer_whole && rep->body.len > up->buffer_whole) {
        char w[96];
        snprintf(w, sizeof w, "zmq reply body of %zu bytes over the %zu the route keeps",
                 rep->body.len, up->buffer_whole);
        s_log(up, "upstream answer refused", w);
        dtx_gw_call_fail(up, DTX_GW_UPERR_IO);
        return;
    }
    up->head.len = 0;
    if (dtx_gw_buf_add(&up->head, rep->headers.data, rep->headers.len) < 0 ||
        dtx_gw_buf_add(&up->head, "", 1) < 0) {
        dtx_gw_call_fail(up, DTX_GW_UPERR_IO);
        return;
    }
    up->nhdrs = 0;
    size_t pos = 0;
    dtx_zgw_frame_t n, v;
    while (dtx_zgw_headers_next(up->head.data, rep->headers.len, &pos, &n, &v)) {
        char *name = (char *)n.data, *value = (char *)v.data;
        name[n.len] = '\0';          /* the ':' */
        value[v.len] = '\0';         /* a trailing blank or the CR */
        if (s_add_header(up, name, value) < 0) {
            dtx_gw_call_fail(up, DTX_GW_UPERR_IO);
            return;
        }
    }
    /* HEAD, 204 and 304 answers have no body (RFC 9110 6.4.1): dropped; a
     * HEAD answer keeps the length its body had, as an HTTP upstream's. */
    int is_head = strcmp(up->req->method, "HEAD") == 0;
    int head = is_head || rep->status == 204 || rep->status == 304;
    if (rep->body.len && !head) {
        if (rep->body.len > up->cap) {   /* a kept call may hold a buffer already */
            char *b = realloc(up->body, rep->body.len);
            if (!b) {
                dtx_gw_call_fail(up, DTX_GW_UPERR_IO);
                return;
            }
            up->body = b;
            up->cap = rep->body.len;
        }
        memcpy(up->body, rep->body.data, rep->body.len);
        up->len = rep->body.len;
        up->off = 0;
    }
    up->content_length = head && !is_head ? -1 : (int64_t)rep->body.len;
    up->status = rep->status;
    up->headers_done = 1;
    up->done = 1;
    up->got_bytes = 1;
    dtx_gw_req_t *req = up->req;
    req->upstream_us = dtx_gw_loop_us() - up->started_us;
    req->upstream_status = up->status;
    req->upstream_error = DTX_GW_UPERR_NONE;
    atomic_fetch_add(&s_replies, 1);
    dtx_gw_call_release(up, 0);      /* the slot: a duplicate matches nothing */
    dtx_gw_call_deadline_clear(up);
    dtx_gw_call_unwatch(up);
    dtx_gw_call_check(up);
}

/* Reads one whole message (ZMQ_POLLIN was set) and hands it over. */
static void s_recv_one(dtx_gw_upstreams_t *l, dtx_gw_zsock_t *zs)
{
    zmq_msg_t m[S_MAX_FRAMES];
    dtx_zgw_frame_t f[S_MAX_FRAMES];
    int n = 0, total = 0, more = 1;
    while (more) {
        zmq_msg_t extra, *msg = n < S_MAX_FRAMES ? &m[n] : &extra;
        zmq_msg_init(msg);
        if (zmq_msg_recv(msg, zs->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(msg);
            for (int i = 0; i < n; i++)
                zmq_msg_close(&m[i]);
            return;                  /* not a whole message (cannot happen) */
        }
        more = zmq_msg_more(msg);
        total++;
        if (msg == &extra)
            zmq_msg_close(msg);      /* over the count: only counted */
        else
            n++;
    }
    for (int i = 0; i < n; i++)
        f[i] = (dtx_zgw_frame_t){ zmq_msg_data(&m[i]), zmq_msg_size(&m[i]) };
    dtx_zgw_reply_t rep;
    const char *why = NULL;
    int rc = dtx_zgw_reply_decode(f, total, DTX_GW_ZMQ_MAX_BODY, &rep, &why);
    dtx_gw_upstream_t *up = rep.id.len ? s_find(l, &rep.id) : NULL;
    if (up && up->zsock != zs)
        up = NULL;                   /* an id from another target's socket */
    if (rc < 0) {
        atomic_fetch_add(&s_malformed, 1);
        if (up)
            s_refuse(up, why);
        else
            dtx_log_warn("zmq reply dropped", "endpoint=%s err=\"malformed: %s\"",
                         zs->endpoint, why);
    } else if (!up) {
        atomic_fetch_add(&s_late, 1);
        dtx_log_debug("zmq reply dropped", "endpoint=%s err=\"no call waits for it (late)\"",
                      zs->endpoint);
    } else {
        s_answer(up, &rep);
    }
    for (int i = 0; i < n; i++)
        zmq_msg_close(&m[i]);
}

/* Sends the requests waiting on zs while it has room. 1 when one left. */
static int s_flush(dtx_gw_upstreams_t *l, dtx_gw_zsock_t *zs)
{
    int moved = 0;
    dtx_gw_upstream_t *up = l->zwait_head, *next;
    for (; up; up = next) {
        next = up->zw_next;
        if (up->zsock != zs)
            continue;
        int rc = s_send(up);
        if (rc == 1)
            break;
        dtx_gw_call_zwait_remove(up);
        if (rc < 0) {
            s_log(up, "upstream call failed", "zmq send failed");
            dtx_gw_call_fail(up, DTX_GW_UPERR_IO);
        } else if (dtx_gw_call_deadline(up, up->call_due_us) < 0) {
            dtx_gw_call_fail(up, DTX_GW_UPERR_IO);
        }
        moved = 1;
    }
    return moved;
}

/* Until nothing moves: room for waiting requests, replies to read. */
static void s_drain(dtx_gw_upstreams_t *l, dtx_gw_zsock_t *zs)
{
    for (;;) {
        int ev = 0;
        size_t len = sizeof ev;
        if (zmq_getsockopt(zs->sock, ZMQ_EVENTS, &ev, &len) < 0)
            return;
        int moved = 0;
        if (ev & ZMQ_POLLOUT) {
            zs->down = 0;
            moved = s_flush(l, zs);
        }
        if (ev & ZMQ_POLLIN) {
            s_recv_one(l, zs);
            moved = 1;
        }
        if (!moved)
            return;
    }
}

void dtx_gw_zmq_on_event(dtx_gw_upstreams_t *loop, dtx_gw_event_source_t *src)
{
    s_drain(loop, (dtx_gw_zsock_t *)src);
}

int dtx_gw_zmq_on_deadline(dtx_gw_upstream_t *up, int64_t now_us)
{
    if (up->zwaiting) {
        /* No connection came within connect_timeout_ms: the socket is down
         * until it has room again, and the attempt a connect failure. */
        up->zsock->down = 1;
        s_log(up, "upstream connect failed", "no zmq connection in time");
        dtx_gw_call_release(up, 0);
        dtx_gw_call_attempt_over(up, DTX_GW_OUTCOME_CONNECT);
        up->last_error = DTX_GW_UPERR_CONNECT;
        if (now_us < up->call_due_us)
            return DTX_GW_EXCHANGE_NEXT_TARGET;
        dtx_gw_call_fail(up, DTX_GW_UPERR_TIMEOUT);
        return 0;
    }
    s_log(up, "upstream call failed", "timed out");
    dtx_gw_call_fail(up, DTX_GW_UPERR_TIMEOUT);
    return 0;
}
