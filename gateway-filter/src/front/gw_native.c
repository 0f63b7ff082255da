/*
 * gw_native.c — the native engine of a worker (gw_native.h): its
 * listening socket and accepts, its connections' run list (resumed on the
 * worker's thread) and async list (resumed by other threads, under a
 * lock), their deadlines, and the Date of answers; and the accept
 * balance: a connection the kernel gave this worker goes to the least
 * loaded worker when gw_balance.h says so, through that worker's handoff
 * queue (under its lock; its wake-up tells it), and the worker takes it
 * in its next run as if it had accepted it. A connection is handed over
 * before a byte of it is read, so nothing of it (a request, the
 * generation in force, the send ring) belongs to the first worker.
 *
 * Invariants: a connection is in `all` from accept to close; it is freed
 * at close unless it is on the run or async list (then `dead`, freed when
 * its entry comes off). Only the worker's thread touches anything but
 * the async list and the handoff queue. A worker's counters.open counts
 * its connections plus those handed to it not taken yet: raised by
 * whoever decides where a connection goes, lowered when it closes.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dtx/log.h"
#include "front/gw_balance.h"
#include "front/gw_native.h"
#include "front/gw_nconn.h"

#define S_ACCEPTS_PER_EVENT 64

static int s_listen(dtx_gw_native_t *self, const struct sockaddr_in *sa)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 ||
        bind(fd, (const struct sockaddr *)sa, sizeof *sa) < 0 || listen(fd, 1024) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    struct sockaddr_in got;
    socklen_t gl = sizeof got;
    if (getsockname(fd, (struct sockaddr *)&got, &gl) == 0)
        self->port = ntohs(got.sin_port);
    self->lfd = fd;
    return 0;
}

dtx_gw_native_t *dtx_gw_native_open(dtx_gw_worker_t *w, const struct sockaddr_in *sa,
                                    const dtx_gw_native_opts_t *opts)
{
    dtx_gw_native_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->w = w;
    self->opts = *opts;
    self->lfd = -1;
    self->listen_src.kind = DTX_GW_EV_ACCEPT;
    pthread_mutex_init(&self->lock, NULL);
    atomic_init(&self->async_n, 0);
    int rc = s_listen(self, sa);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &self->listen_src };
    if (rc < 0 || epoll_ctl(w->epfd, EPOLL_CTL_ADD, self->lfd, &ev) < 0) {
        dtx_log_error("cannot listen", "err=\"%s\"", strerror(rc < 0 ? -rc : errno));
        dtx_gw_native_close(&self);
        return NULL;
    }
    return self;
}

int dtx_gw_native_port(const dtx_gw_native_t *self)
{
    return self->port;
}

/* Serves fd on this worker: a connection object in its epoll set. The
 * worker's `open` counts fd already; it comes off if fd is refused. */
static void s_adopt(dtx_gw_native_t *self, int fd, const struct sockaddr *peer, socklen_t len)
{
    dtx_gw_nconn_t *nc = NULL;
    if (self->nconns < self->opts.max_connections) {
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        nc = dtx_gw_nconn_new(self, fd, peer, len);
    }
    if (!nc) {
        close(fd);
        atomic_fetch_sub_explicit(&self->w->counters.open, 1, memory_order_relaxed);
        return;
    }
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                              .data.ptr = nc };
    if (epoll_ctl(self->w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        dtx_gw_nconn_close(nc, 0);   /* takes `open` down */
}

/* The worker that is to serve a connection this one accepted
 * (gw_balance.h), from every worker's `open` now. */
static dtx_gw_worker_t *s_pick(dtx_gw_native_t *self)
{
    dtx_gw_server_t *server = self->w->server;
    int open[DTX_GW_MAX_WORKERS];
    for (int i = 0; i < server->nworkers; i++)
        open[i] = atomic_load_explicit(&server->workers[i].counters.open, memory_order_relaxed);
    int to = dtx_gw_balance_pick(open, server->nworkers, self->w->index,
                                 self->opts.balance_slack);
    return &server->workers[to];
}

/* Queues fd for worker `to` and wakes it (it takes fd in its next run).
 * 0, or -1 when its queue is full: then fd stays with the caller. */
static int s_hand_over(dtx_gw_native_t *self, dtx_gw_worker_t *to, int fd,
                       const struct sockaddr_storage *peer, socklen_t len)
{
    dtx_gw_native_t *eng = to->native;
    pthread_mutex_lock(&eng->lock);
    int room = eng->nhandoff < DTX_GW_HANDOFF_MAX;
    if (room) {
        dtx_gw_handoff_t *h = &eng->handoff[eng->nhandoff++];
        h->fd = fd;
        h->peer_len = len;
        memcpy(&h->peer, peer, sizeof *peer);
        atomic_store(&eng->handoff_n, eng->nhandoff);
        /* Counted at once: the next accept, here or on another worker,
         * sees it before `to` takes fd. */
        atomic_fetch_add_explicit(&to->counters.open, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&eng->lock);
    if (!room)
        return -1;
    dtx_gw_worker_count(&self->w->counters.handed_out);
    dtx_gw_wake_signal(&to->wake);
    return 0;
}

static void s_accept(dtx_gw_native_t *self)
{
    for (int i = 0; i < S_ACCEPTS_PER_EVENT && self->lfd >= 0; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(self->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                dtx_log_warn("accept failed", "err=\"%s\"", strerror(errno));
            return;
        }
        dtx_gw_worker_count(&self->w->counters.accepted);
        dtx_gw_worker_t *to = self->opts.balance_slack > 0 && self->w->server->nworkers > 1
                                  ? s_pick(self) : self->w;
        if (to != self->w && s_hand_over(self, to, fd, &ss, sl) == 0)
            continue;
        atomic_fetch_add_explicit(&self->w->counters.open, 1, memory_order_relaxed);
        s_adopt(self, fd, (struct sockaddr *)&ss, sl);
    }
}

/* The connections other workers handed over, into this worker's set. */
static void s_take_handoffs(dtx_gw_native_t *self)
{
    if (atomic_load(&self->handoff_n) == 0)
        return;
    dtx_gw_handoff_t got[DTX_GW_HANDOFF_MAX];
    pthread_mutex_lock(&self->lock);
    int n = self->nhandoff;
    memcpy(got, self->handoff, (size_t)n * sizeof got[0]);
    self->nhandoff = 0;
    atomic_store(&self->handoff_n, 0);
    pthread_mutex_unlock(&self->lock);
    for (int i = 0; i < n; i++) {
        dtx_gw_worker_count(&self->w->counters.handed_in);
        s_adopt(self, got[i].fd, (struct sockaddr *)&got[i].peer, got[i].peer_len);
    }
}

void dtx_gw_native_on_event(dtx_gw_native_t *self, dtx_gw_event_source_t *src,
                            uint32_t events)
{
    if (src->kind == DTX_GW_EV_ACCEPT)
        s_accept(self);
    else
        dtx_gw_nconn_on_event((dtx_gw_nconn_t *)src, events);
}

/* The connections other threads resumed, onto the run list. */
static void s_take_async(dtx_gw_native_t *self)
{
    if (atomic_load(&self->async_n) == 0)
        return;
    pthread_mutex_lock(&self->lock);
    dtx_gw_nconn_t *l = self->async_head;
    self->async_head = NULL;
    atomic_store(&self->async_n, 0);
    pthread_mutex_unlock(&self->lock);
    while (l) {
        dtx_gw_nconn_t *next = l->async_next;
        l->on_async = 0;
        l->suspended = 0;
        if (l->dead)
            dtx_gw_nconn_free(l);
        else
            dtx_gw_nconn_schedule(l);
        l = next;
    }
}

int dtx_gw_native_pending(const dtx_gw_native_t *self)
{
    return self->run_head != NULL || atomic_load(&self->async_n) > 0 ||
           atomic_load(&self->handoff_n) > 0;
}

int dtx_gw_native_run(dtx_gw_native_t *self)
{
    s_take_handoffs(self);
    s_take_async(self);
    int n = 0;
    dtx_gw_nconn_t *nc;
    while ((nc = self->run_head)) {
        self->run_head = nc->run_next;
        if (!self->run_head)
            self->run_tail = NULL;
        nc->on_run = 0;
        if (nc->dead) {
            if (!nc->on_async)
                dtx_gw_nconn_free(nc);
            continue;
        }
        dtx_gw_nconn_run(nc);
        n++;
    }
    return n;
}

int dtx_gw_native_timeout_ms(const dtx_gw_native_t *self, int64_t now_us)
{
    dtx_heap_node_t *first = dtx_heap_first(&self->timers);
    if (!first)
        return -1;
    int64_t left = first->key - now_us;
    return left <= 0 ? 0 : (int)((left + 999) / 1000);
}

void dtx_gw_native_expire(dtx_gw_native_t *self, int64_t now_us)
{
    dtx_heap_node_t *first;
    while ((first = dtx_heap_first(&self->timers)) && first->key <= now_us) {
        dtx_heap_remove(&self->timers, first);
        dtx_gw_nconn_t *nc = (dtx_gw_nconn_t *)(void *)((char *)first -
                                                       offsetof(dtx_gw_nconn_t, timer));
        dtx_gw_nconn_expire(nc);
    }
}

void dtx_gw_native_quiesce(dtx_gw_native_t *self)
{
    if (self->lfd >= 0)
        close(self->lfd);
    self->lfd = -1;
}

void dtx_gw_native_close(dtx_gw_native_t **self_p)
{
    dtx_gw_native_t *self = *self_p;
    if (!self)
        return;
    *self_p = NULL;
    dtx_gw_native_quiesce(self);
    /* Nothing runs any more: the lists are dropped, every connection
     * closes (its request completes) and is freed. */
    pthread_mutex_lock(&self->lock);
    dtx_gw_nconn_t *a = self->async_head;
    self->async_head = NULL;
    for (int i = 0; i < self->nhandoff; i++)
        close(self->handoff[i].fd);        /* handed over, never served */
    self->nhandoff = 0;
    pthread_mutex_unlock(&self->lock);
    while (a) {
        dtx_gw_nconn_t *next = a->async_next;
        a->on_async = 0;
        if (a->dead && !a->on_run)
            dtx_gw_nconn_free(a);
        a = next;
    }
    while (self->run_head) {
        dtx_gw_nconn_t *nc = self->run_head;
        self->run_head = nc->run_next;
        nc->on_run = 0;
        if (nc->dead)
            dtx_gw_nconn_free(nc);
    }
    self->run_tail = NULL;
    while (self->all) {
        dtx_gw_nconn_t *nc = self->all;
        nc->suspended = 0;
        dtx_gw_nconn_close(nc, 0);
    }
    dtx_heap_free(&self->timers);
    pthread_mutex_destroy(&self->lock);
    free(self);
}
