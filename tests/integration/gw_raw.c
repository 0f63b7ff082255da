/*
 * tests/integration/gw_raw.c — a raw HTTP upstream on a thread (gw_raw.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/gw_http1.h"
#include "gw_raw.h"

#define S_MAX_CONNS 32


static struct {
    int             lfd, port;
    pthread_t       th;
    atomic_int      stop;
    pthread_mutex_t lock;
    gw_raw_script_fn     script;
    int             reset;               /* close every connection */
    int             slow;                /* read 16 KiB per ms at most */
    int             accepted, requests;  /* since the last reset */
    char            last_head[4096];
} s_raw = { .lfd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };

typedef struct {
    int    fd;
    int    id;
    int    nth;
    char   buf[8192];
    size_t len;
    /* the request body being read */
    int    in_body;
    dtx_gw_http1_resp_t framing;   /* the decoder works for request bodies too */
    uint64_t hash;                 /* FNV-1a of the body */
    int64_t  body_len;
    gw_raw_act_t  act;
} s_conn_t;

uint64_t gw_raw_fnv(uint64_t h, const void *bytes, size_t n)
{
    const unsigned char *p = bytes;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

void gw_raw_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

/* Answers the request of c (its body read, when it had one). Returns 0,
 * or -1 to close. */
static int s_answer(s_conn_t *c)
{
    const gw_raw_act_t *a = &c->act;
    if (a->echo_body) {
        char out[160], body[64];
        int bl = snprintf(body, sizeof body, "%lld %016llx", (long long)c->body_len,
                          (unsigned long long)c->hash);
        int n = snprintf(out, sizeof out, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s",
                         bl, body);
        gw_raw_write_all(c->fd, out, (size_t)n);
        return 0;
    }
    if (!a->answer)
        return -1;
    gw_raw_write_all(c->fd, a->answer, strlen(a->answer));
    return a->close_after ? -1 : 0;
}

/* Serves what c->buf holds: request heads, then their bodies (by
 * Content-Length or chunked). Returns 0, or -1 to close. */
static int s_serve(s_conn_t *c)
{
    for (;;) {
        if (!c->in_body) {
            char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
            if (!end)
                return 0;
            size_t hl = (size_t)(end + 4 - c->buf);
            c->nth++;
            pthread_mutex_lock(&s_raw.lock);
            s_raw.requests++;
            size_t k = hl < sizeof s_raw.last_head ? hl : sizeof s_raw.last_head - 1;
            memcpy(s_raw.last_head, c->buf, k);
            s_raw.last_head[k] = '\0';
            c->act = s_raw.script(c->id, c->nth);
            char *head = strndup(c->buf, hl);
            pthread_mutex_unlock(&s_raw.lock);
            memmove(c->buf, c->buf + hl, c->len - hl);
            c->len -= hl;
            memset(&c->framing, 0, sizeof c->framing);
            const char *cl = head ? strcasestr(head, "\r\nContent-Length:") : NULL;
            if (head && strcasestr(head, "\r\nTransfer-Encoding: chunked")) {
                c->framing.body = DTX_GW_BODY_CHUNKED;
                c->in_body = 1;
            } else if (cl && atoll(cl + 17) > 0) {
                c->framing.body = DTX_GW_BODY_LENGTH;
                c->framing.left = (uint64_t)atoll(cl + 17);
                c->in_body = 1;
            }
            free(head);
            c->hash = GW_RAW_FNV_START;
            c->body_len = 0;
            if (!c->in_body && s_answer(c) < 0)
                return -1;
            continue;
        }
        size_t off = 0;
        while (off < c->len && !c->framing.done) {
            size_t used, plen;
            const char *piece;
            if (dtx_gw_http1_body(&c->framing, c->buf + off, c->len - off, &used, &piece,
                                  &plen) < 0)
                return -1;
            c->hash = gw_raw_fnv(c->hash, piece, plen);
            c->body_len += (int64_t)plen;
            off += used;
        }
        memmove(c->buf, c->buf + off, c->len - off);
        c->len -= off;
        if (!c->framing.done)
            return 0;
        c->in_body = 0;
        if (s_answer(c) < 0)
            return -1;
    }
}

static void *s_raw_main(void *arg)
{
    (void)arg;
    s_conn_t *conns[S_MAX_CONNS] = { 0 };
    while (!atomic_load(&s_raw.stop)) {
        struct pollfd p[S_MAX_CONNS + 1];
        p[0].fd = s_raw.lfd;
        p[0].events = POLLIN;
        for (int i = 0; i < S_MAX_CONNS; i++) {
            p[i + 1].fd = conns[i] ? conns[i]->fd : -1;
            p[i + 1].events = POLLIN;
        }
        int n = poll(p, S_MAX_CONNS + 1, 20);
        pthread_mutex_lock(&s_raw.lock);
        int reset = s_raw.reset;
        s_raw.reset = 0;
        pthread_mutex_unlock(&s_raw.lock);
        if (reset) {
            for (int i = 0; i < S_MAX_CONNS; i++)
                if (conns[i]) {
                    close(conns[i]->fd);
                    free(conns[i]);
                    conns[i] = NULL;
                }
            continue;
        }
        if (n <= 0)
            continue;
        if (p[0].revents & POLLIN) {
            int fd = accept4(s_raw.lfd, NULL, NULL, SOCK_CLOEXEC);
            int slot = -1;
            for (int i = 0; fd >= 0 && i < S_MAX_CONNS && slot < 0; i++)
                if (!conns[i])
                    slot = i;
            if (slot < 0) {
                if (fd >= 0)
                    close(fd);
            } else {
                conns[slot] = calloc(1, sizeof *conns[slot]);
                conns[slot]->fd = fd;
                pthread_mutex_lock(&s_raw.lock);
                conns[slot]->id = ++s_raw.accepted;
                pthread_mutex_unlock(&s_raw.lock);
            }
        }
        for (int i = 0; i < S_MAX_CONNS; i++) {
            s_conn_t *c = conns[i];
            if (!c || !(p[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            pthread_mutex_lock(&s_raw.lock);
            int slow = s_raw.slow;
            pthread_mutex_unlock(&s_raw.lock);
            size_t room = sizeof c->buf - c->len;
            if (slow) {
                usleep(500);
                room = room < 8192 ? room : 8192;
            }
            ssize_t r = recv(c->fd, c->buf + c->len, room, 0);
            if (r > 0) {
                c->len += (size_t)r;
                if (s_serve(c) == 0 && c->len < sizeof c->buf)
                    continue;
            } else if (r < 0 && errno == EINTR) {
                continue;
            }
            close(c->fd);
            free(c);
            conns[i] = NULL;
        }
    }
    for (int i = 0; i < S_MAX_CONNS; i++)
        if (conns[i]) {
            close(conns[i]->fd);
            free(conns[i]);
        }
    return NULL;
}

void gw_raw_use(gw_raw_script_fn script)
{
    pthread_mutex_lock(&s_raw.lock);
    s_raw.script = script;
    s_raw.reset = 1;
    pthread_mutex_unlock(&s_raw.lock);
    for (int i = 0; i < 200; i++) {      /* the thread takes the reset */
        pthread_mutex_lock(&s_raw.lock);
        int pending = s_raw.reset;
        pthread_mutex_unlock(&s_raw.lock);
        if (!pending)
            break;
        usleep(5000);
    }
    pthread_mutex_lock(&s_raw.lock);
    s_raw.accepted = s_raw.requests = 0;
    s_raw.last_head[0] = '\0';
    pthread_mutex_unlock(&s_raw.lock);
}

int gw_raw_accepted(void)
{
    pthread_mutex_lock(&s_raw.lock);
    int n = s_raw.accepted;
    pthread_mutex_unlock(&s_raw.lock);
    return n;
}

int gw_raw_requests(void)
{
    pthread_mutex_lock(&s_raw.lock);
    int n = s_raw.requests;
    pthread_mutex_unlock(&s_raw.lock);
    return n;
}

int gw_raw_start(void)
{
    s_raw.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof a;
    if (s_raw.lfd < 0 || bind(s_raw.lfd, (struct sockaddr *)&a, sizeof a) < 0 ||
        listen(s_raw.lfd, 64) < 0 || getsockname(s_raw.lfd, (struct sockaddr *)&a, &al) < 0)
        return -1;
    s_raw.port = ntohs(a.sin_port);
    atomic_store(&s_raw.stop, 0);
    if (pthread_create(&s_raw.th, NULL, s_raw_main, NULL) != 0)
        return -1;
    return s_raw.port;
}

void gw_raw_stop(void)
{
    atomic_store(&s_raw.stop, 1);
    pthread_join(s_raw.th, NULL);
    close(s_raw.lfd);
    s_raw.lfd = -1;
}

int gw_raw_port(void)
{
    return s_raw.port;
}

void gw_raw_last_head(char *out, size_t cap)
{
    pthread_mutex_lock(&s_raw.lock);
    snprintf(out, cap, "%s", s_raw.last_head);
    pthread_mutex_unlock(&s_raw.lock);
}

void gw_raw_set_slow(int on)
{
    pthread_mutex_lock(&s_raw.lock);
    s_raw.slow = on;
    pthread_mutex_unlock(&s_raw.lock);
}
