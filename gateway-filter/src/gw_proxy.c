/*
 * gw_proxy.c — the upstream exchange over libcurl (gw_proxy.h).
 *
 * Each call borrows an easy handle paired with its own multi handle from
 * a process-wide free list; the multi handle keeps the keep-alive
 * connections, so a pair reused for the next request reuses them. The
 * call is driven with curl_multi_perform / curl_multi_poll from the
 * request's own thread, which lets it also watch the client socket and
 * stop at the end of the headers to stream the body.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "dtx/log.h"
#include "gw_clock.h"
#include "gw_lb.h"
#include "gw_proxy.h"
#include "gw_route.h"

#define S_PAUSE_AT   (256 * 1024)  /* pause the transfer with this much unread */
#define S_MAX_IDLE   4096          /* handle pairs kept */
#define S_MAX_HDRS   64

typedef struct s_handles {
    struct s_handles *next;
    CURL             *easy;
    CURLM            *multi;
} s_handles_t;

struct dtx_gw_upstream {
    dtx_gw_req_t      *req;
    s_handles_t       *h;
    int                added;        /* easy is in multi */
    int                client_fd;
    dtx_gw_pool_t     *pool;         /* pool of the current attempt */
    int                target;       /* its target, -1 none */
    int64_t            started_us;
    struct curl_slist *headers;
    char              *url;
    /* answer */
    int                status;
    int                headers_done;
    int                done;
    CURLcode           result;
    int64_t            content_length;
    dtx_gw_resp_header_t hdrs[S_MAX_HDRS];
    int                nhdrs;
    char              *body;         /* received, unread bytes at body + off */
    size_t             len, off, cap;
    int                paused;
};

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static s_handles_t *s_idle;
static int s_nidle;

int dtx_gw_proxy_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : DTX_EINTERNAL;
}

void dtx_gw_proxy_shutdown(void)
{
    pthread_mutex_lock(&s_lock);
    s_handles_t *h = s_idle;
    s_idle = NULL;
    s_nidle = 0;
    pthread_mutex_unlock(&s_lock);
    while (h) {
        s_handles_t *next = h->next;
        curl_multi_cleanup(h->multi);
        curl_easy_cleanup(h->easy);
        free(h);
        h = next;
    }
    curl_global_cleanup();
}

static s_handles_t *s_borrow(void)
{
    pthread_mutex_lock(&s_lock);
    s_handles_t *h = s_idle;
    if (h) {
        s_idle = h->next;
        s_nidle--;
    }
    pthread_mutex_unlock(&s_lock);
    if (h)
        return h;
    h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->easy = curl_easy_init();
    h->multi = curl_multi_init();
    if (!h->easy || !h->multi) {
        curl_easy_cleanup(h->easy);
        curl_multi_cleanup(h->multi);
        free(h);
        return NULL;
    }
    curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, 8L);
    return h;
}

static void s_give_back(s_handles_t *h, int broken)
{
    pthread_mutex_lock(&s_lock);
    if (!broken && s_nidle < S_MAX_IDLE) {
        h->next = s_idle;
        s_idle = h;
        s_nidle++;
        h = NULL;
    }
    pthread_mutex_unlock(&s_lock);
    if (h) {
        curl_multi_cleanup(h->multi);
        curl_easy_cleanup(h->easy);
        free(h);
    }
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
        if (up->status >= 200)
            up->headers_done = 1;
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
    if (up->len - up->off >= S_PAUSE_AT) {
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
        size_t cap = up->cap ? up->cap : 16384;
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
    return len;
}

/* ---------------- driving ---------------- */

/* Drives the transfer until want() holds, the transfer ends or the
 * client goes away. Returns 0, or -1 when the client went away. */
static int s_drive(dtx_gw_upstream_t *up, int (*want)(const dtx_gw_upstream_t *))
{
    int watch = up->client_fd >= 0;
    while (!up->done && !want(up)) {
        int running = 0;
        curl_multi_perform(up->h->multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(up->h->multi, &left)))
            if (m->msg == CURLMSG_DONE) {
                up->done = 1;
                up->result = m->data.result;
            }
        if (up->done || want(up))
            break;
        struct curl_waitfd fd = { up->client_fd, CURL_WAIT_POLLIN, 0 };
        curl_multi_wait(up->h->multi, watch ? &fd : NULL, watch ? 1 : 0, 200, NULL);
        if (watch && (fd.revents & (CURL_WAIT_POLLIN | POLLHUP | POLLERR))) {
            char b;
            ssize_t r = recv(up->client_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
                up->req->client_gone = 1;
                up->req->upstream_error = DTX_GW_UPERR_CLIENT_GONE;
                return -1;
            }
            watch = 0;  /* pipelined bytes: stop watching, keep going */
        }
    }
    return 0;
}

static int s_want_headers(const dtx_gw_upstream_t *up)
{
    return up->headers_done;
}

static int s_want_data(const dtx_gw_upstream_t *up)
{
    return up->len > up->off;
}

static int s_want_end(const dtx_gw_upstream_t *up)
{
    (void)up;
    return 0;
}

static void s_detach(dtx_gw_upstream_t *up)
{
    if (up->added) {
        curl_multi_remove_handle(up->h->multi, up->h->easy);
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
    CURL *e = up->h->easy;
    free(up->url);
    size_t ul = strlen(t->url) + strlen(req->path) + (req->query ? strlen(req->query) + 1 : 0) + 1;
    up->url = malloc(ul);
    if (!up->url)
        return -1;
    snprintf(up->url, ul, "%s%s%s%s", t->url, req->path, req->query ? "?" : "",
             req->query ? req->query : "");
    curl_easy_reset(e);
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
    curl_easy_setopt(e, CURLOPT_HTTP_TRANSFER_DECODING, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L);
    if (strcmp(req->method, "GET") == 0 && req->body_len == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
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
    if (curl_multi_add_handle(up->h->multi, e) != CURLM_OK)
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
        curl_easy_getinfo(up->h->easy, CURLINFO_REQUEST_SIZE, &sent);
        return sent == 0;
    }
    return 0;
}

int dtx_gw_upstream_start(dtx_gw_upstream_t **out, dtx_gw_req_t *req, int client_fd)
{
    dtx_gw_upstream_t *up = calloc(1, sizeof *up);
    *out = up;
    if (!up) {
        req->upstream_error = DTX_GW_UPERR_IO;
        return -1;
    }
    up->req = req;
    up->client_fd = client_fd;
    up->target = -1;
    up->content_length = -1;
    up->h = s_borrow();
    if (!up->h || s_build_headers(up) < 0) {
        req->upstream_error = DTX_GW_UPERR_IO;
        return -1;
    }
    dtx_gw_route_t *route = req->route;
    dtx_gw_pool_t *pool = req->fallback_pool ? req->fallback_pool : dtx_gw_route_pick_pool(route);
    dtx_gw_pool_t *backup = req->fallback_pool ? NULL : route->backup;
    unsigned char tried[DTX_GW_MAX_TARGETS] = { 0 };
    int attempts = 0, last_error = DTX_GW_UPERR_NO_TARGET;
    up->started_us = dtx_gw_now_us();
    req->sent = 1;
    for (;;) {
        int64_t now = dtx_gw_now_us();
        const char *hk = pool->cfg.hash_header ? req->header(req->header_ctx,
                                                             pool->cfg.hash_header) : NULL;
        int idx = attempts <= pool->cfg.retries ? dtx_gw_pool_pick(pool, hk, now, tried, 0) : -1;
        if (idx < 0 && attempts == 0 && !backup)
            idx = dtx_gw_pool_pick(pool, hk, now, tried, 1);  /* panic: anyone */
        if (idx < 0) {
            if (backup) {
                pool = backup;
                backup = NULL;
                attempts = 0;
                memset(tried, 0, sizeof tried);
                continue;
            }
            req->upstream_error = last_error;
            break;
        }
        tried[idx] = 1;
        attempts++;
        up->pool = pool;
        up->target = idx;
        if (s_send(up) < 0) {
            s_attempt_over(up, DTX_GW_OUTCOME_OTHER);
            req->upstream_error = DTX_GW_UPERR_IO;
            break;
        }
        if (s_drive(up, s_want_headers) < 0)
            break;  /* client gone */
        if (up->headers_done) {
            req->upstream_us = dtx_gw_now_us() - up->started_us;  /* time to headers */
            req->upstream_status = up->status;
            req->upstream_error = DTX_GW_UPERR_NONE;
            return 0;
        }
        /* The transfer ended without an answer. */
        if (s_connect_failed(up)) {
            dtx_log_warn("upstream connect failed", "pool=%s target=%s err=\"%s\"",
                         pool->cfg.name, pool->targets[idx].url, curl_easy_strerror(up->result));
            s_detach(up);
            s_attempt_over(up, DTX_GW_OUTCOME_CONNECT);
            last_error = DTX_GW_UPERR_CONNECT;
            continue;
        }
        req->upstream_error = up->result == CURLE_OPERATION_TIMEDOUT ? DTX_GW_UPERR_TIMEOUT
                                                                     : DTX_GW_UPERR_IO;
        dtx_log_warn("upstream call failed", "pool=%s target=%s err=\"%s\"", pool->cfg.name,
                     pool->targets[idx].url, curl_easy_strerror(up->result));
        break;
    }
    return -1;
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

static int s_body_failed(dtx_gw_upstream_t *self)
{
    if (self->done && self->result != CURLE_OK) {
        if (self->req->upstream_error == DTX_GW_UPERR_NONE)
            self->req->upstream_error = self->result == CURLE_OPERATION_TIMEDOUT
                                            ? DTX_GW_UPERR_TIMEOUT : DTX_GW_UPERR_IO;
        return 1;
    }
    return 0;
}

ssize_t dtx_gw_upstream_read(dtx_gw_upstream_t *self, char *buf, size_t max)
{
    if (self->len == self->off) {
        if (self->paused) {
            self->paused = 0;
            curl_easy_pause(self->h->easy, CURLPAUSE_CONT);
        }
        if (s_drive(self, s_want_data) < 0)
            return -1;
    }
    if (self->len > self->off) {
        size_t n = self->len - self->off < max ? self->len - self->off : max;
        memcpy(buf, self->body + self->off, n);
        self->off += n;
        return (ssize_t)n;
    }
    return s_body_failed(self) ? -1 : 0;
}

int dtx_gw_upstream_finish(dtx_gw_upstream_t *self, size_t limit)
{
    while (!self->done) {
        if (self->len - self->off > limit)
            return -1;
        if (self->paused) {
            /* Buffering whole: the pause threshold does not apply. */
            self->paused = 0;
            curl_easy_pause(self->h->easy, CURLPAUSE_CONT);
        }
        if (s_drive(self, s_want_end) < 0)
            return -1;
    }
    if (self->len - self->off > limit || s_body_failed(self))
        return -1;
    return 0;
}

int dtx_gw_upstream_complete(const dtx_gw_upstream_t *self)
{
    return self->done && self->result == CURLE_OK;
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
    /* A transfer cut short leaves its connection unusable: curl closes it
     * when the handle is removed. */
    if (up->h) {
        s_detach(up);
        s_give_back(up->h, 0);
    }
    s_clear_answer(up);
    curl_slist_free_all(up->headers);
    free(up->url);
    free(up->body);
    free(up);
}
