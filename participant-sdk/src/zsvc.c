/*
 * zsvc.c — a ZeroMQ service behind dtx-gateway (dtx/zsvc.h): a ROUTER
 * socket, requests checked and split by dtx/zgw.h, replies built and
 * routed back to the gateway worker (DEALER) that asked.
 *
 * A received message: [routing id][9 request frames]. A request is one
 * allocation holding its strings; it remembers the routing id and the
 * request id its reply must carry.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <zmq.h>

#include "dtx/log.h"
#include "dtx/types.h"
#include "dtx/zgw.h"
#include "dtx/zsvc.h"

#define S_MAX_FRAMES (DTX_ZGW_REQUEST_FRAMES + 1)

struct dtx_zsvc {
    void *ctx;
    void *sock;
    char  endpoint[256];
};

typedef struct s_req {
    dtx_zsvc_request_t pub;          /* first: the caller's pointer */
    char   routing[256];
    size_t routing_len;
    char   id[DTX_ZGW_MAX_ID];
    size_t id_len;
} s_req_t;

dtx_zsvc_t *dtx_zsvc_new(const char *endpoint)
{
    dtx_zsvc_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    int zero = 0;
    size_t len = sizeof self->endpoint;
    self->ctx = zmq_ctx_new();
    if (!self->ctx || !(self->sock = zmq_socket(self->ctx, ZMQ_ROUTER)) ||
        zmq_setsockopt(self->sock, ZMQ_LINGER, &zero, sizeof zero) < 0 ||
        zmq_bind(self->sock, endpoint) < 0 ||
        zmq_getsockopt(self->sock, ZMQ_LAST_ENDPOINT, self->endpoint, &len) < 0) {
        dtx_log_error("zsvc bind failed", "endpoint=%s err=\"%s\"", endpoint,
                      zmq_strerror(zmq_errno()));
        dtx_zsvc_destroy(&self);
        return NULL;
    }
    return self;
}

const char *dtx_zsvc_endpoint(const dtx_zsvc_t *self)
{
    return self->endpoint;
}

void dtx_zsvc_destroy(dtx_zsvc_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_zsvc_t *self = *self_p;
    *self_p = NULL;
    if (self->sock)
        zmq_close(self->sock);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    free(self);
}

void dtx_zsvc_request_free(dtx_zsvc_request_t **req_p)
{
    if (!req_p || !*req_p)
        return;
    free(*req_p);
    *req_p = NULL;
}

const char *dtx_zsvc_header(const dtx_zsvc_request_t *req, const char *name)
{
    for (int i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

static int s_send(dtx_zsvc_t *self, const char *routing, size_t rlen, const char *id,
                  size_t idlen, int status, const char *hdrs, size_t hlen, const char *body,
                  size_t blen)
{
    char st[3];
    if (dtx_zgw_status_frame(st, status) < 0)
        return DTX_EINVAL;
    const dtx_zgw_frame_t f[] = { { routing, rlen }, { "", 0 },
                                  { DTX_ZGW_VERSION, sizeof DTX_ZGW_VERSION - 1 },
                                  { id, idlen }, { st, 3 }, { hdrs, hlen },
                                  { body ? body : "", body ? blen : 0 } };
    int n = (int)(sizeof f / sizeof f[0]);
    for (int i = 0; i < n; i++)
        if (zmq_send(self->sock, f[i].data, f[i].len, i + 1 < n ? ZMQ_SNDMORE : 0) < 0) {
            dtx_log_warn("zsvc reply not sent", "err=\"%s\"", zmq_strerror(zmq_errno()));
            return DTX_EIO;
        }
    return 0;
}

/* The request of frames f[1..n) (f[0]: routing id), as one allocation. */
static s_req_t *s_request(const dtx_zgw_frame_t *f, const dtx_zgw_request_t *r)
{
    int nh = 0;
    size_t pos = 0;
    dtx_zgw_frame_t hn, hv;
    while (dtx_zgw_headers_next(r->headers.data, r->headers.len, &pos, &hn, &hv))
        nh++;
    size_t size = sizeof(s_req_t) + (size_t)nh * sizeof(dtx_zsvc_header_t) + r->method.len +
                  r->path.len + r->query.len + r->gid.len + r->headers.len + r->body.len + 8;
    s_req_t *q = malloc(size);
    if (!q)
        return NULL;
    memset(q, 0, sizeof *q);
    memcpy(q->routing, f[0].data, f[0].len);
    q->routing_len = f[0].len;
    memcpy(q->id, r->id.data, r->id.len);
    q->id_len = r->id.len;
    dtx_zsvc_header_t *h = (dtx_zsvc_header_t *)(void *)(q + 1);
    char *p = (char *)(h + nh);
#define S_STR(dst, fr) do { memcpy(p, (fr).data, (fr).len); p[(fr).len] = '\0'; \
                            (dst) = p; p += (fr).len + 1; } while (0)
    S_STR(q->pub.method, r->method);
    S_STR(q->pub.path, r->path);
    S_STR(q->pub.query, r->query);
    S_STR(q->pub.gid, r->gid);
    S_STR(q->pub.body, r->body);
    q->pub.body_len = r->body.len;
    /* Header names and values: each NUL-terminated, in the block's copy. */
    char *blk = p;
    memcpy(blk, r->headers.data, r->headers.len);
    pos = 0;
    int i = 0;
    while (i < nh && dtx_zgw_headers_next(blk, r->headers.len, &pos, &hn, &hv)) {
        ((char *)hn.data)[hn.len] = '\0';
        ((char *)hv.data)[hv.len] = '\0';
        h[i].name = hn.data;
        h[i].value = hv.data;
        i++;
    }
#undef S_STR
    q->pub.headers = h;
    q->pub.nheaders = nh;
    return q;
}

static long long s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int dtx_zsvc_recv(dtx_zsvc_t *self, dtx_zsvc_request_t **out, int timeout_ms)
{
    *out = NULL;
    long long until = timeout_ms < 0 ? -1 : s_now_ms() + timeout_ms;
    for (;;) {
        long long left = until < 0 ? -1 : until - s_now_ms();
        if (until >= 0 && left < 0)
            left = 0;
        zmq_pollitem_t it = { self->sock, 0, ZMQ_POLLIN, 0 };
        int r = zmq_poll(&it, 1, (long)left);
        if (r < 0)
            return DTX_EIO;
        if (r == 0)
            return DTX_ETIMEOUT;
        zmq_msg_t m[S_MAX_FRAMES];
        dtx_zgw_frame_t f[S_MAX_FRAMES];
        int n = 0, total = 0, more = 1;
        while (more) {
            zmq_msg_t extra, *msg = n < S_MAX_FRAMES ? &m[n] : &extra;
            zmq_msg_init(msg);
            if (zmq_msg_recv(msg, self->sock, 0) < 0) {
                zmq_msg_close(msg);
                for (int i = 0; i < n; i++)
                    zmq_msg_close(&m[i]);
                return DTX_EIO;
            }
            more = zmq_msg_more(msg);
            total++;
            if (msg == &extra)
                zmq_msg_close(msg);
            else
                n++;
        }
        for (int i = 0; i < n; i++)
            f[i] = (dtx_zgw_frame_t){ zmq_msg_data(&m[i]), zmq_msg_size(&m[i]) };
        dtx_zgw_request_t rq = { 0 };
        const char *why = "routing id too long";
        int rc = f[0].len <= sizeof ((s_req_t *)0)->routing
                     ? dtx_zgw_request_decode(f + 1, total - 1, &rq, &why) : DTX_EPROTO;
        s_req_t *q = NULL;
        if (rc < 0) {
            dtx_log_warn("zsvc request refused", "err=\"%s\"", why);
            if (rq.id.len && f[0].len <= sizeof q->routing)
                s_send(self, f[0].data, f[0].len, rq.id.data, rq.id.len, 400,
                       "Content-Type: text/plain\r\n", 26, why, strlen(why));
        } else if (!(q = s_request(f, &rq))) {
            dtx_log_warn("zsvc request dropped", "err=\"out of memory\"");
        }
        for (int i = 0; i < n; i++)
            zmq_msg_close(&m[i]);
        if (q) {
            *out = &q->pub;
            return 0;
        }
    }
}

int dtx_zsvc_reply(dtx_zsvc_t *self, dtx_zsvc_request_t **req_p, int status,
                   const dtx_zsvc_header_t *headers, int nheaders, const char *body, size_t len)
{
    s_req_t *q = (s_req_t *)(void *)*req_p;
    *req_p = NULL;
    if (!q)
        return DTX_EINVAL;
    size_t hlen = 0;
    for (int i = 0; i < nheaders; i++) {
        if (strpbrk(headers[i].value, "\r\n")) {
            dtx_log_warn("zsvc reply refused", "err=\"CR or LF in the value of %s\"",
                         headers[i].name);
            free(q);
            return DTX_EINVAL;
        }
        hlen += strlen(headers[i].name) + strlen(headers[i].value) + 4;
    }
    char *blk = malloc(hlen + 1);
    if (!blk) {
        free(q);
        return DTX_ENOMEM;
    }
    size_t o = 0;
    for (int i = 0; i < nheaders; i++) {
        size_t a = strlen(headers[i].name), b = strlen(headers[i].value);
        memcpy(blk + o, headers[i].name, a);
        memcpy(blk + o + a, ": ", 2);
        memcpy(blk + o + a + 2, headers[i].value, b);
        memcpy(blk + o + a + 2 + b, "\r\n", 2);
        o += a + b + 4;
    }
    const char *why;
    int rc = dtx_zgw_headers_check(blk, o, &why);
    if (rc == 0)
        rc = s_send(self, q->routing, q->routing_len, q->id, q->id_len, status, blk, o, body, len);
    else
        dtx_log_warn("zsvc reply refused", "err=\"%s\"", why);
    if (rc == DTX_ETOOBIG || rc == DTX_EPROTO)
        rc = DTX_EINVAL;
    free(blk);
    free(q);
    return rc;
}
