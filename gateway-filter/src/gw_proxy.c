/*
 * gw_proxy.c — the upstream exchange over libcurl's multi socket API
 * (gw_proxy.h).
 *
 * States of one call (up->phase):
 *
 *   start ──▶ HEADERS ──(headers in; with buffer_whole: answer complete)──▶ BODY ──▶ end
 *               │  ▲                                                         │
 *               │  └─ connect failed: next target / backup pool              │
 *               └──────────────(no target left, timeout, client gone)──▶ failed
 *
 * Invariants: the easy handle is in the multi handle exactly while
 * `added`; `ready` runs only for an armed call and only from
 * dtx_gw_upstreams_dispatch (a call is armed by _start and by a read that
 * answered AGAIN, disarmed when `ready` runs); a call is on the `waiting`
 * list (client not watched yet, oldest first) only in HEADERS.
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
#include <unistd.h>

#include <curl/curl.h>

#include "dtx/log.h"
#include "gw_clock.h"
#include "gw_lb.h"
#include "gw_proxy.h"
#include "gw_route.h"

#define S_PAUSE_AT      (256 * 1024)  /* pause the transfer with this much unread */
#define S_MAX_IDLE      256           /* easy handles kept per worker */
#define S_MAX_HDRS      64
#define S_MAX_CONNECTS  1024          /* keep-alive connections kept per worker */
#define S_WATCH_AFTER_US 50000        /* watch the client of a call this old */

#define S_PHASE_HEADERS 0
#define S_PHASE_BODY    1

typedef struct s_easy {
    struct s_easy *next;
    CURL          *easy;
} s_easy_t;

/* A curl socket in the worker's epoll set. */
typedef struct s_sock {
    dtx_gw_event_source_t src;        /* DTX_GW_EV_UPSTREAM */
    curl_socket_t         fd;
    uint32_t              events;     /* interest registered */
    int                   registered; /* in the epoll set */
    int                   parked;     /* curl does not watch it now */
} s_sock_t;

struct dtx_gw_upstreams {
    int                epfd;
    CURLM             *multi;
    int64_t            timer_due_us;  /* curl's timer, -1 none */
    s_easy_t          *idle;          /* easy handles to reuse */
    int                nidle;
    dtx_gw_upstream_t *ready_head, *ready_tail;     /* armed calls whose wait is over */
    dtx_gw_upstream_t *waiting_head, *waiting_tail; /* HEADERS, client not watched */
    dtx_gw_upstream_t *all;           /* every call not ended */
    int                calls;         /* how many */
    s_sock_t         **socks;         /* by fd: curl sockets known */
    size_t             nsocks;
};

struct dtx_gw_upstream {
    dtx_gw_upstreams_t *loop;
    dtx_gw_req_t      *req;
    s_easy_t          *e;
    int                added;        /* easy is in multi */
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
    struct curl_slist *headers;
    char              *url;
    /* answer */
    int                status;
    int                headers_done;
    int                done;         /* transfer over (result says how) */
    int                failed;       /* the call failed (req->upstream_error) */
    CURLcode           result;
    int64_t            content_length;
    dtx_gw_resp_header_t hdrs[S_MAX_HDRS];
    int                nhdrs;
    char              *body;         /* received, unread bytes at body + off */
    size_t             len, off, cap;
    int                paused;
    int                too_big;      /* buffer_whole exceeded */
};

static void s_check(dtx_gw_upstream_t *up);

int dtx_gw_proxy_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : DTX_EINTERNAL;
}

void dtx_gw_proxy_shutdown(void)
{
    curl_global_cleanup();
}

/* ---------------- request headers ---------------- */

static int s_listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        p += strspn(p, " \t,");
        size_t k = strcspn(p, " \t,");
        if (k == n && strncasecmp(p, name, n) == 0)
            return 1;
        p += k;
    }
    return 0;
}

static int s_hop_by_hop(const char *name)
{
    static const char *const hop[] = { "Connection", "Keep-Alive", "Proxy-Authenticate",
        "Proxy-Authorization", "Proxy-Connection", "TE", "Trailer", "Trailers",
        "Transfer-Encoding", "Upgrade", NULL };
    for (const char *const *h = hop; *h; h++)
        if (strcasecmp(*h, name) == 0)
            return 1;
    return 0;
}

typedef struct {
    dtx_gw_upstream_t *up;
    const char        *connection;   /* Connection header value */
    int                failed;
} s_hdr_ctx_t;

static void s_add(s_hdr_ctx_t *c, const char *line)
{
    struct curl_slist *l = curl_slist_append(c->up->headers, line);
    if (l)
        c->up->headers = l;
    else
        c->failed = 1;
}

static void s_visit(const char *name, const char *value, void *arg)
{
    s_hdr_ctx_t *c = arg;
    if (s_hop_by_hop(name) || s_listed(c->connection, name) ||
        strcasecmp(name, "Content-Length") == 0 || strcasecmp(name, "Expect") == 0 ||
        strcasecmp(name, "X-Forwarded-For") == 0 || strcasecmp(name, "Dtx-Gid") == 0 ||
        strcasecmp(name, "Dtx-Deadline") == 0)
        return;
    char line[8192];
    if (*value)
        snprintf(line, sizeof line, "%s: %s", name, value);
    else
        snprintf(line, sizeof line, "%s;", name);  /* curl's way to send an empty value */
    s_add(c, line);
}

static int s_build_headers(dtx_gw_upstream_t *up)
{
    dtx_gw_req_t *req = up->req;
    s_hdr_ctx_t c = { up, req->header(req->header_ctx, "Connection"), 0 };
    char line[1024];
    req->each_header(req->header_ctx, s_visit, &c);
    const char *xff = req->header(req->header_ctx, "X-Forwarded-For");
    snprintf(line, sizeof line, "X-Forwarded-For: %s%s%s", xff ? xff : "", xff ? ", " : "",
             req->client_ip ? req->client_ip : "");
    s_add(&c, line);
    if (!req->header(req->header_ctx, "X-Request-Id")) {
        snprintf(line, sizeof line, "X-Request-Id: %s", req->request_id);
        s_add(&c, line);
    }
    if (!req->header(req->header_ctx, "Accept"))
        s_add(&c, "Accept:");        /* curl must not add its own */
    s_add(&c, "Expect:");            /* no 100-continue round trip */
    if (req->txn_state == 1) {
        snprintf(line, sizeof line, "Dtx-Gid: %s", req->gid);
        s_add(&c, line);
        snprintf(line, sizeof line, "Dtx-Deadline: %lld", (long long)req->deadline_ms);
        s_add(&c, line);
    }
    return c.failed ? -1 : 0;
}

/* ---------------- curl callbacks ---------------- */

static void s_clear_answer(dtx_gw_upstream_t *up)
{
    for (int i = 0; i < up->nhdrs; i++) {
        free(up->hdrs[i].name);
        free(up->hdrs[i].value);
    }
    up->nhdrs = 0;
    up->status = 0;
    up->headers_done = 0;
    up->content_length = -1;
    up->len = up->off = 0;
}

static size_t s_on_header(char *data, size_t size, size_t n, void *arg)
{
    dtx_gw_upstream_t *up = arg;
    size_t len = size * n, end = len;
    while (end > 0 && (data[end - 1] == '\n' || data[end - 1] == '\r'))
        end--;
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        s_clear_answer(up);
        const char *sp = memchr(data, ' ', end);
        up->status = sp ? atoi(sp + 1) : 0;
        return len;
    }
    if (end == 0) {
        if (up->status >= 200) {
            up->headers_done = 1;
            up->req->upstream_us = dtx_gw_now_us() - up->started_us;  /* time to headers */
            up->req->upstream_status = up->status;
            up->req->upstream_error = DTX_GW_UPERR_NONE;
            s_check(up);
        }
        return len;
    }
    const char *colon = memchr(data, ':', end);
    if (!colon || up->status < 200)
        return len;
    size_t nl = (size_t)(colon - data);
    const char *v = colon + 1;
    while (v < data + end && (*v == ' ' || *v == '\t'))
        v++;
    size_t vl = (size_t)(data + end - v);
    char name[128];
    if (nl >= sizeof name)
        return len;
    memcpy(name, data, nl);
    name[nl] = '\0';
    if (strcasecmp(name, "Content-Length") == 0) {
        char num[32];
        size_t k = vl < sizeof num - 1 ? vl : sizeof num - 1;
        memcpy(num, v, k);
        num[k] = '\0';
        up->content_length = strtoll(num, NULL, 10);
        return len;
    }
    if (s_hop_by_hop(name) || up->nhdrs == S_MAX_HDRS)
        return len;
    up->hdrs[up->nhdrs].name = strdup(name);
    up->hdrs[up->nhdrs].value = strndup(v, vl);
    if (up->hdrs[up->nhdrs].name && up->hdrs[up->nhdrs].value) {
        up->nhdrs++;
    } else {
        free(up->hdrs[up->nhdrs].name);
        free(up->hdrs[up->nhdrs].value);
    }
    return len;
}

static size_t s_on_body(char *data, size_t size, size_t n, void *arg)
{
    dtx_gw_upstream_t *up = arg;
    size_t len = size * n;
    if (up->buffer_whole) {
        if (up->len - up->off + len > up->buffer_whole) {
            up->too_big = 1;
            return 0;  /* aborts the transfer */
        }
    } else if (up->len - up->off >= S_PAUSE_AT) {
        up->paused = 1;
        return CURL_WRITEFUNC_PAUSE;
    }
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
                return 0;  /* aborts the transfer */
            up->body = b;
            up->cap = cap;
        }
    }
    memcpy(up->body + up->len, data, len);
    up->len += len;
    if (up->phase == S_PHASE_BODY)
        s_check(up);
    return len;
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

/* ---------------- curl glue ---------------- */

/* Curl sockets stay in the epoll set between transfers: when curl
 * forgets a socket (CURL_POLL_REMOVE: its connection goes back to the
 * cache) the entry is only "parked", and the next transfer on that
 * connection finds it registered with the same interest — no epoll_ctl
 * per request. A parked socket that turns ready (the upstream closed the
 * idle connection) is taken out of the set at once, so a dead connection
 * can never make the loop spin; a socket curl closes is dropped in
 * s_on_close. */
static s_sock_t *s_sock_at(dtx_gw_upstreams_t *l, curl_socket_t fd, int make)
{
    if (fd < 0)
        return NULL;
    if ((size_t)fd >= l->nsocks) {
        if (!make)
            return NULL;
        size_t n = l->nsocks ? l->nsocks : 64;
        while (n <= (size_t)fd)
            n *= 2;
        s_sock_t **t = realloc(l->socks, n * sizeof *t);
        if (!t)
            return NULL;
        memset(t + l->nsocks, 0, (n - l->nsocks) * sizeof *t);
        l->socks = t;
        l->nsocks = n;
    }
    if (!l->socks[fd] && make) {
        s_sock_t *s = calloc(1, sizeof *s);
        if (!s)
            return NULL;
        s->src.kind = DTX_GW_EV_UPSTREAM;
        s->fd = fd;
        l->socks[fd] = s;
    }
    return l->socks[fd];
}

static int s_on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    (void)socketp;
    dtx_gw_upstreams_t *l = userp;
    s_sock_t *s = s_sock_at(l, fd, what != CURL_POLL_REMOVE);
    if (!s)
        return what == CURL_POLL_REMOVE ? 0 : -1;
    if (what == CURL_POLL_REMOVE) {
        s->parked = 1;
        return 0;
    }
    s->parked = 0;
    uint32_t events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) |
                      ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
    if (s->registered && events == s->events)
        return 0;
    struct epoll_event ev = { .events = events, .data.ptr = s };
    if (s->registered) {
        if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 && errno == ENOENT)
            s->registered = 0;
    }
    if (!s->registered) {
        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 &&
            (errno != EEXIST || epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0))
            return -1;
        s->registered = 1;
    }
    s->events = events;
    return 0;
}

static int s_on_close(void *clientp, curl_socket_t fd)
{
    dtx_gw_upstreams_t *l = clientp;
    s_sock_t *s = s_sock_at(l, fd, 0);
    if (s) {
        if (s->registered)
            epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
        l->socks[fd] = NULL;
        free(s);
    }
    return close(fd);
}

static int s_on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    dtx_gw_upstreams_t *l = userp;
    l->timer_due_us = timeout_ms < 0 ? -1 : dtx_gw_now_us() + (int64_t)timeout_ms * 1000;
    return 0;
}

dtx_gw_upstreams_t *dtx_gw_upstreams_new(int epoll_fd)
{
    dtx_gw_upstreams_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->epfd = epoll_fd;
    self->timer_due_us = -1;
    self->multi = curl_multi_init();
    if (!self->multi) {
        free(self);
        return NULL;
    }
    curl_multi_setopt(self->multi, CURLMOPT_SOCKETFUNCTION, s_on_socket);
    curl_multi_setopt(self->multi, CURLMOPT_SOCKETDATA, self);
    curl_multi_setopt(self->multi, CURLMOPT_TIMERFUNCTION, s_on_timer);
    curl_multi_setopt(self->multi, CURLMOPT_TIMERDATA, self);
    curl_multi_setopt(self->multi, CURLMOPT_MAXCONNECTS, (long)S_MAX_CONNECTS);
    return self;
}

void dtx_gw_upstreams_destroy(dtx_gw_upstreams_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_gw_upstreams_t *self = *self_p;
    *self_p = NULL;
    assert(self->calls == 0);
    s_easy_t *e = self->idle;
    while (e) {
        s_easy_t *next = e->next;
        curl_easy_cleanup(e->easy);
        free(e);
        e = next;
    }
    curl_multi_cleanup(self->multi);  /* closes the cached connections */
    for (size_t i = 0; i < self->nsocks; i++)
        free(self->socks[i]);
    free(self->socks);
    free(self);
}

static s_easy_t *s_borrow(dtx_gw_upstreams_t *l)
{
    s_easy_t *e = l->idle;
    if (e) {
        l->idle = e->next;
        l->nidle--;
        return e;
    }
    e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->easy = curl_easy_init();
    if (!e->easy) {
        free(e);
        return NULL;
    }
    return e;
}

static void s_give_back(dtx_gw_upstreams_t *l, s_easy_t *e)
{
    if (l->nidle < S_MAX_IDLE) {
        e->next = l->idle;
        l->idle = e;
        l->nidle++;
        return;
    }
    curl_easy_cleanup(e->easy);
    free(e);
}

/* ---------------- one call ---------------- */

static void s_detach(dtx_gw_upstream_t *up)
{
    if (up->added) {
        curl_multi_remove_handle(up->loop->multi, up->e->easy);
        up->added = 0;
    }
}

/* Ends the attempt on the current target, feeding the pool. */
static void s_attempt_over(dtx_gw_upstream_t *up, int outcome)
{
    if (up->target >= 0) {
        atomic_fetch_sub(&up->pool->targets[up->target].in_flight, 1);
        dtx_gw_pool_record(up->pool, up->target, dtx_gw_now_us(), outcome);
        up->target = -1;
    }
}

static int s_send(dtx_gw_upstream_t *up)
{
    dtx_gw_req_t *req = up->req;
    dtx_gw_target_t *t = &up->pool->targets[up->target];
    CURL *e = up->e->easy;
    free(up->url);
    size_t ul = strlen(t->url) + strlen(req->path) + (req->query ? strlen(req->query) + 1 : 0) + 1;
    up->url = malloc(ul);
    if (!up->url)
        return -1;
    snprintf(up->url, ul, "%s%s%s%s", t->url, req->path, req->query ? "?" : "",
             req->query ? req->query : "");
    /* The handle is reused without curl_easy_reset (a measurable cost per
     * request): every option a call depends on is set below, each time. */
    s_clear_answer(up);
    up->done = 0;
    up->paused = 0;
    up->result = CURLE_OK;
    int64_t timeout = req->route->cfg->timeout_ms ? req->route->cfg->timeout_ms
                                                  : up->pool->cfg.timeout_ms;
    curl_easy_setopt(e, CURLOPT_URL, up->url);
    curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)up->pool->cfg.connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, up->headers);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, s_on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, up);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, up);
    curl_easy_setopt(e, CURLOPT_PRIVATE, up);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, s_on_close);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, up->loop);
    curl_easy_setopt(e, CURLOPT_HTTP_TRANSFER_DECODING, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L);
    /* Back to a plain GET first (what curl_easy_reset would leave). */
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, (char *)NULL);
    curl_easy_setopt(e, CURLOPT_NOBODY, 0L);
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    if (strcmp(req->method, "GET") == 0 && req->body_len == 0) {
        /* done */
    } else if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else {
        int with_body = req->body_len > 0 || strcmp(req->method, "POST") == 0 ||
                        strcmp(req->method, "PUT") == 0 || strcmp(req->method, "PATCH") == 0;
        if (with_body) {
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body ? req->body : "");
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        }
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
    }
    if (curl_multi_add_handle(up->loop->multi, e) != CURLM_OK)
        return -1;
    up->added = 1;
    atomic_fetch_add(&t->in_flight, 1);
    atomic_fetch_add(&t->picked, 1);
    return 0;
}

static int s_connect_failed(dtx_gw_upstream_t *up)
{
    if (up->result == CURLE_COULDNT_CONNECT)
        return 1;
    if (up->result == CURLE_OPERATION_TIMEDOUT) {
        /* Timed out before the request left (a reused connection has no
         * connect time, so look at what was sent). */
        long sent = 0;
        curl_easy_getinfo(up->e->easy, CURLINFO_REQUEST_SIZE, &sent);
        return sent == 0;
    }
    return 0;
}

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
        if (s_send(up) < 0) {
            s_attempt_over(up, DTX_GW_OUTCOME_OTHER);
            req->upstream_error = DTX_GW_UPERR_IO;
            return -1;
        }
        return 0;
    }
}

static void s_fail(dtx_gw_upstream_t *up)
{
    up->failed = 1;
    up->done = 1;
    s_unwatch(up);
    s_check(up);
}

/* The transfer of up ended with result. */
static void s_transfer_done(dtx_gw_upstream_t *up, CURLcode result)
{
    dtx_gw_req_t *req = up->req;
    up->done = 1;
    up->result = result;
    if (up->headers_done) {
        s_detach(up);  /* the connection goes back to the cache */
        if (result != CURLE_OK && req->upstream_error == DTX_GW_UPERR_NONE) {
            req->upstream_error = result == CURLE_OPERATION_TIMEDOUT ? DTX_GW_UPERR_TIMEOUT
                                                                     : DTX_GW_UPERR_IO;
            if (up->phase == S_PHASE_HEADERS)
                up->failed = 1;  /* buffering whole: the answer is incomplete */
        }
        if (up->phase == S_PHASE_HEADERS && !up->failed)
            up->phase = S_PHASE_BODY;
        s_unwatch(up);
        s_check(up);
        return;
    }
    /* The transfer ended without an answer. */
    int idx = up->target;
    const char *pool_name = up->pool->cfg.name;
    const char *url = idx >= 0 ? up->pool->targets[idx].url : "";
    if (s_connect_failed(up)) {
        dtx_log_warn("upstream connect failed", "pool=%s target=%s err=\"%s\"", pool_name, url,
                     curl_easy_strerror(result));
        s_detach(up);
        s_attempt_over(up, DTX_GW_OUTCOME_CONNECT);
        up->last_error = DTX_GW_UPERR_CONNECT;
        up->done = 0;
        if (s_try_next(up) == 0)
            return;
        s_fail(up);
        return;
    }
    req->upstream_error = result == CURLE_OPERATION_TIMEDOUT ? DTX_GW_UPERR_TIMEOUT
                                                             : DTX_GW_UPERR_IO;
    dtx_log_warn("upstream call failed", "pool=%s target=%s err=\"%s\"", pool_name, url,
                 curl_easy_strerror(result));
    s_detach(up);
    s_fail(up);
}

void dtx_gw_upstreams_on_event(dtx_gw_upstreams_t *self, dtx_gw_event_source_t *src,
                               uint32_t events)
{
    if (src->kind == DTX_GW_EV_UPSTREAM) {
        s_sock_t *s = (s_sock_t *)src;
        if (s->parked) {
            /* An idle cached connection stirred (closed by the upstream):
             * out of the set; curl finds it dead when it tries it. */
            epoll_ctl(self->epfd, EPOLL_CTL_DEL, s->fd, NULL);
            s->registered = 0;
            return;
        }
        int flags = ((events & EPOLLIN) ? CURL_CSELECT_IN : 0) |
                    ((events & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
                    ((events & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
        int running;
        curl_multi_socket_action(self->multi, s->fd, flags, &running);
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
        s_detach(up);
        s_fail(up);
        return;
    }
    s_unwatch(up);
}

int dtx_gw_upstreams_timeout_ms(dtx_gw_upstreams_t *self, int64_t now_us)
{
    int64_t due = self->timer_due_us;
    if (self->waiting_head) {
        int64_t w = self->waiting_head->started_us + S_WATCH_AFTER_US;
        if (due < 0 || w < due)
            due = w;
    }
    if (due < 0)
        return -1;
    if (due <= now_us)
        return 0;
    return (int)((due - now_us + 999) / 1000);
}

int dtx_gw_upstreams_dispatch(dtx_gw_upstreams_t *self, int64_t now_us)
{
    if (self->timer_due_us >= 0 && self->timer_due_us <= now_us) {
        int running;
        self->timer_due_us = -1;
        curl_multi_socket_action(self->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(self->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        dtx_gw_upstream_t *up = NULL;
        CURL *easy = m->easy_handle;
        CURLcode result = m->data.result;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&up);
        if (up)
            s_transfer_done(up, result);  /* may remove easy: m is stale after */
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
        if (up->phase == S_PHASE_HEADERS && !up->failed) {
            up->phase = S_PHASE_BODY;
            s_waiting_remove(up);
        }
        n++;
        up->ready(up->arg);
    }
    return n;
}

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
    up->content_length = -1;
    up->last_error = DTX_GW_UPERR_NO_TARGET;
    up->e = s_borrow(loop);
    if (!up->e || s_build_headers(up) < 0) {
        req->upstream_error = DTX_GW_UPERR_IO;
        return -1;
    }
    dtx_gw_route_t *route = req->route;
    up->pool = req->fallback_pool ? req->fallback_pool : dtx_gw_route_pick_pool(route);
    up->backup = req->fallback_pool ? NULL : route->backup;
    up->started_us = dtx_gw_now_us();
    req->sent = 1;
    if (s_try_next(up) < 0)
        return -1;
    up->armed = 1;
    s_waiting_push(up);
    return 0;
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
    if (self->len == self->off && self->paused && !self->done) {
        self->paused = 0;
        curl_easy_pause(self->e->easy, CURLPAUSE_CONT);  /* may deliver at once */
    }
    if (self->len > self->off) {
        size_t n = self->len - self->off < max ? self->len - self->off : max;
        memcpy(buf, self->body + self->off, n);
        self->off += n;
        return (ssize_t)n;
    }
    if (self->done) {
        if (self->failed || self->result != CURLE_OK) {
            if (self->req->upstream_error == DTX_GW_UPERR_NONE)
                self->req->upstream_error = self->result == CURLE_OPERATION_TIMEDOUT
                                                ? DTX_GW_UPERR_TIMEOUT : DTX_GW_UPERR_IO;
            return -1;
        }
        return 0;
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
    return self->done && !self->failed && self->result == CURLE_OK;
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
    /* A transfer cut short leaves its connection unusable: curl closes it
     * when the handle is removed. */
    if (up->e) {
        s_detach(up);
        s_give_back(loop, up->e);
    }
    s_clear_answer(up);
    curl_slist_free_all(up->headers);
    free(up->url);
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
        s_detach(up);
        if (up->req->upstream_error == DTX_GW_UPERR_NONE)
            up->req->upstream_error = DTX_GW_UPERR_IO;
        s_fail(up);
    }
}
