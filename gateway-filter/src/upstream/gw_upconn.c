/*
 * gw_upconn.c — upstream connections and their keep-alive cache
 * (gw_upconn.h).
 */
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dtx/types.h"
#include "core/gw_uring.h"
#include "upstream/gw_upconn.h"

#define S_IDLE_MAX_US (60 * 1000000LL)   /* an idle connection older is closed */

struct dtx_gw_conn_host {
    dtx_gw_addr_t   addr;
    dtx_gw_conn_t  *idle;            /* most recently used first */
    int             nidle;
};

struct dtx_gw_conns {
    int                  epfd;
    int                  max_idle;
    int                  nidle;
    dtx_gw_conn_host_t **hosts;
    int                  nhosts;
    dtx_gw_conn_t       *closed;     /* closed, freed at the next reap */
    dtx_gw_uring_t      *ring;       /* the worker's send ring, or NULL */
};

dtx_gw_conns_t *dtx_gw_conns_new(int epoll_fd, int max_idle)
{
    dtx_gw_conns_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->epfd = epoll_fd;
    self->max_idle = max_idle;
    return self;
}

/* Out of the set and closed; freed at the next reap (gw_upconn.h). */
static void s_close(dtx_gw_conns_t *self, dtx_gw_conn_t *c)
{
    if (c->events)
        epoll_ctl(self->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    if (self->ring)
        dtx_gw_uring_close(self->ring, c->fd);  /* open until its queued bytes are out */
    else
        close(c->fd);
    c->fd = -1;
    c->events = 0;
    c->owner = NULL;
    c->src.kind = DTX_GW_EV_CLOSED;
    c->next = self->closed;
    self->closed = c;
}

void dtx_gw_conns_set_ring(dtx_gw_conns_t *self, struct dtx_gw_uring *ring)
{
    self->ring = ring;
}

struct dtx_gw_uring *dtx_gw_conns_ring(const dtx_gw_conns_t *self)
{
    return self->ring;
}

int dtx_gw_conns_reap(dtx_gw_conns_t *self)
{
    int n = 0;
    while (self->closed) {
        dtx_gw_conn_t *c = self->closed;
        self->closed = c->next;
        free(c);
        n++;
    }
    return n;
}

void dtx_gw_conns_destroy(dtx_gw_conns_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_gw_conns_t *self = *self_p;
    *self_p = NULL;
    for (int i = 0; i < self->nhosts; i++) {
        dtx_gw_conn_t *c = self->hosts[i]->idle;
        while (c) {
            dtx_gw_conn_t *next = c->next;
            s_close(self, c);
            c = next;
        }
        free(self->hosts[i]);
    }
    dtx_gw_conns_reap(self);
    free(self->hosts);
    free(self);
}

static dtx_gw_conn_host_t *s_host(dtx_gw_conns_t *self, const dtx_gw_addr_t *addr)
{
    for (int i = 0; i < self->nhosts; i++)
        if (dtx_gw_addr_same(&self->hosts[i]->addr, addr))
            return self->hosts[i];
    dtx_gw_conn_host_t **t = realloc(self->hosts, (size_t)(self->nhosts + 1) * sizeof *t);
    if (!t)
        return NULL;
    self->hosts = t;
    dtx_gw_conn_host_t *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->addr = *addr;
    t[self->nhosts++] = h;
    return h;
}

int dtx_gw_conn_watch(dtx_gw_conns_t *self, dtx_gw_conn_t *c, uint32_t events)
{
    if (events == c->events)
        return 0;
    struct epoll_event ev = { .events = events, .data.ptr = &c->src };
    int rc;
    if (!events)
        rc = epoll_ctl(self->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    else
        rc = epoll_ctl(self->epfd, c->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev);
    if (rc < 0)
        return DTX_EIO;
    c->events = events;
    return 0;
}

static dtx_gw_conn_t *s_take_idle(dtx_gw_conns_t *self, dtx_gw_conn_host_t *h, int64_t now_us)
{
    while (h->idle) {
        dtx_gw_conn_t *c = h->idle;
        h->idle = c->next;
        h->nidle--;
        self->nidle--;
        c->next = NULL;
        if (now_us - c->idle_since_us <= S_IDLE_MAX_US)
            return c;
        s_close(self, c);
    }
    return NULL;
}

dtx_gw_conn_t *dtx_gw_conns_get(dtx_gw_conns_t *self, const dtx_gw_addr_t *addr, void *owner,
                                int64_t now_us)
{
    if (!addr->salen) {
        errno = EDESTADDRREQ;
        return NULL;
    }
    dtx_gw_conn_host_t *h = s_host(self, addr);
    if (!h) {
        errno = ENOMEM;
        return NULL;
    }
    dtx_gw_conn_t *c = s_take_idle(self, h, now_us);
    if (c) {
        c->owner = owner;
        c->reused = 1;
        return c;
    }
    c = calloc(1, sizeof *c);
    if (!c) {
        errno = ENOMEM;
        return NULL;
    }
    c->src.kind = DTX_GW_EV_UPSTREAM;
    c->host = h;
    c->owner = owner;
    c->fd = socket(addr->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        int e = errno;
        free(c);
        errno = e;
        return NULL;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (const struct sockaddr *)&addr->sa, addr->salen) < 0) {
        if (errno != EINPROGRESS) {
            int e = errno;
            s_close(self, c);
            errno = e;
            return NULL;
        }
        c->connecting = 1;
    }
    if (dtx_gw_conn_watch(self, c, c->connecting ? EPOLLIN | EPOLLOUT : EPOLLIN) < 0) {
        int e = errno;
        s_close(self, c);
        errno = e;
        return NULL;
    }
    return c;
}

int dtx_gw_conn_connect_result(dtx_gw_conn_t *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return errno;
    if (!err)
        c->connecting = 0;
    return err;
}

void dtx_gw_conns_put(dtx_gw_conns_t *self, dtx_gw_conn_t *c, int keep, int64_t now_us)
{
    assert(c->owner);
    c->owner = NULL;
    if (!keep || c->connecting || self->nidle >= self->max_idle ||
        dtx_gw_conn_watch(self, c, EPOLLIN) < 0) {
        s_close(self, c);
        return;
    }
    c->reused = 1;
    c->idle_since_us = now_us;
    c->next = c->host->idle;
    c->host->idle = c;
    c->host->nidle++;
    self->nidle++;
}

void dtx_gw_conns_on_idle_event(dtx_gw_conns_t *self, dtx_gw_conn_t *c)
{
    dtx_gw_conn_host_t *h = c->host;
    for (dtx_gw_conn_t **p = &h->idle; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            h->nidle--;
            self->nidle--;
            s_close(self, c);
            return;
        }
    }
}

int dtx_gw_conns_idle(const dtx_gw_conns_t *self)
{
    return self->nidle;
}
