/*
 * gw_uring.c — a worker's send ring (gw_uring.h).
 *
 * Each socket the ring has written to has a slot, indexed by fd, with two
 * byte buffers: `out`, whose unsent part [out_sent, out_len) is the one
 * send the kernel has (or is about to get), and `next`, where writes made
 * meanwhile pile up. The kernel only ever points into `out`, which never
 * moves while a send is in flight; `next` may grow. When `out` is sent,
 * the two swap. A slot's states:
 *
 *            send (copy into next)                submit
 *   IDLE ───────────────────────▶ LISTED ─────────────────▶ IN FLIGHT
 *    ▲ ▲                            ▲  completion: short, or  │
 *    │ │                            └──── next not empty ─────┤
 *    │ └──────────── completion: all sent, next empty ────────┤
 *    │                completion: error ─▶ BROKEN (bytes      │
 *    │                dropped, socket shut down) ─────────────┘
 *    └── close: now when IDLE/BROKEN, else CLOSING (the fd stays open
 *        until the slot is IDLE or BROKEN; each send of a CLOSING slot
 *        gets linger_ms, a linked timeout, or a timeout of its own when
 *        it was in flight at the close, after which it fails)
 *
 * Invariants:
 *  - a slot is LISTED (in self->list) or IN FLIGHT, never both; at most
 *    one send per socket is in the kernel, so bytes leave in the order
 *    they were taken;
 *  - a socket with anything queued takes every write through the ring
 *    (dtx_gw_uring_send never answers DIRECT then), so a direct write
 *    cannot overtake a queued one;
 *  - the fd of a slot that is LISTED or IN FLIGHT stays open: the caller
 *    closes through dtx_gw_uring_close, so an fd number reused by a new
 *    connection never gets the old one's bytes; a slot's `gen` changes at
 *    each close, and completions carry it (a stale one is ignored);
 *  - every buffer the kernel reads is the slot's own copy.
 * All on the worker's thread: no locks.
 */
#include <assert.h>
#include <errno.h>
#include <liburing.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/gw_uring.h"

#define S_TIMEOUT_TAG (1ULL << 63)   /* user_data of a closing socket's linger timeout */

typedef struct s_buf {
    char   *data;
    size_t  len, cap;
} s_buf_t;

typedef struct s_slot {
    s_buf_t   out;        /* the send in the kernel: [out_sent, out.len) */
    size_t    out_sent;
    s_buf_t   next;       /* taken meanwhile, after out */
    void     *owner;      /* told by `drained` after a refusal */
    uint32_t  gen;        /* changes at each close */
    unsigned  listed : 1, in_flight : 1, refused : 1, closing : 1, broken : 1, shut_wr : 1;
} s_slot_t;

struct dtx_gw_uring {
    struct io_uring ring;
    size_t          small, cap;
    struct __kernel_timespec linger;
    s_slot_t      **slots;    /* by fd */
    int             nslots;
    int            *list;     /* fds of LISTED slots */
    int             nlist, caplist;
    int             in_flight;  /* sends in the kernel (not their timeouts) */
};

dtx_gw_uring_t *dtx_gw_uring_new(unsigned entries, size_t small, size_t cap, int linger_ms,
                                 int *err)
{
    int e = 0;
    dtx_gw_uring_t *self = NULL;
    if (getenv("DTX_GW_URING_FAIL")) {
        e = -ENOSYS;        /* as a kernel without io_uring says */
        goto fail;
    }
    self = calloc(1, sizeof *self);
    if (!self) {
        e = -ENOMEM;
        goto fail;
    }
    e = io_uring_queue_init(entries, &self->ring, 0);
    if (e < 0)
        goto fail;
    self->small = small;
    self->cap = cap < small ? small : cap;
    self->linger.tv_sec = linger_ms / 1000;
    self->linger.tv_nsec = (long long)(linger_ms % 1000) * 1000000;
    return self;
fail:
    free(self);
    if (err)
        *err = e;
    return NULL;
}

void dtx_gw_uring_destroy(dtx_gw_uring_t **self_p)
{
    dtx_gw_uring_t *self = *self_p;
    if (!self)
        return;
    io_uring_queue_exit(&self->ring);   /* cancels what is in the kernel */
    for (int fd = 0; fd < self->nslots; fd++) {
        s_slot_t *s = self->slots[fd];
        if (!s)
            continue;
        if (s->closing)
            close(fd);
        free(s->out.data);
        free(s->next.data);
        free(s);
    }
    free(self->slots);
    free(self->list);
    free(self);
    *self_p = NULL;
}

int dtx_gw_uring_fd(const dtx_gw_uring_t *self)
{
    return self->ring.ring_fd;
}

int dtx_gw_uring_in_flight(const dtx_gw_uring_t *self)
{
    return self->in_flight > 0;
}

int dtx_gw_uring_queued(const dtx_gw_uring_t *self)
{
    return self->nlist > 0;
}

static s_slot_t *s_slot(dtx_gw_uring_t *self, int fd, int make)
{
    if (fd < self->nslots && self->slots[fd])
        return self->slots[fd];
    if (!make)
        return NULL;
    if (fd >= self->nslots) {
        int n = self->nslots ? self->nslots : 64;
        while (n <= fd)
            n *= 2;
        s_slot_t **p = realloc(self->slots, (size_t)n * sizeof *p);
        if (!p)
            return NULL;
        memset(p + self->nslots, 0, (size_t)(n - self->nslots) * sizeof *p);
        self->slots = p;
        self->nslots = n;
    }
    return self->slots[fd] = calloc(1, sizeof(s_slot_t));
}

static size_t s_pending(const s_slot_t *s)
{
    return s->out.len - s->out_sent + s->next.len;
}

static int s_busy(const s_slot_t *s)
{
    return s->listed || s->in_flight;
}

static int s_list(dtx_gw_uring_t *self, int fd, s_slot_t *s)
{
    if (self->nlist == self->caplist) {
        int n = self->caplist ? self->caplist * 2 : 64;
        int *p = realloc(self->list, (size_t)n * sizeof *p);
        if (!p)
            return -ENOMEM;
        self->list = p;
        self->caplist = n;
    }
    self->list[self->nlist++] = fd;
    s->listed = 1;
    return 0;
}

ssize_t dtx_gw_uring_send(dtx_gw_uring_t *self, int fd, void *owner, const struct iovec *iov,
                          int n)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += iov[i].iov_len;
    s_slot_t *s = s_slot(self, fd, 0);
    if (s && s->broken)
        return DTX_GW_URING_BROKEN;
    int busy = s && s_busy(s);
    if (!busy && total > self->small)
        return DTX_GW_URING_DIRECT;
    if (busy && s_pending(s) + total > self->cap) {
        s->refused = 1;
        s->owner = owner;
        return DTX_GW_URING_FULL;
    }
    if (!s && !(s = s_slot(self, fd, 1)))
        return -ENOMEM;
    if (s->next.len + total > s->next.cap) {
        size_t c = s->next.cap ? s->next.cap : 1024;
        while (c < s->next.len + total)
            c *= 2;
        char *p = realloc(s->next.data, c);
        if (!p)
            return -ENOMEM;
        s->next.data = p;
        s->next.cap = c;
    }
    if (!busy && s_list(self, fd, s) < 0)
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        memcpy(s->next.data + s->next.len, iov[i].iov_base, iov[i].iov_len);
        s->next.len += iov[i].iov_len;
    }
    s->owner = owner;
    return (ssize_t)total;
}

static struct io_uring_sqe *s_sqe(dtx_gw_uring_t *self)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&self->ring);
    if (!sqe) {
        io_uring_submit(&self->ring);   /* the queue is full: hand it over, go on */
        sqe = io_uring_get_sqe(&self->ring);
    }
    return sqe;
}

static uint64_t s_data(int fd, const s_slot_t *s)
{
    return ((uint64_t)s->gen << 32) | (uint32_t)fd;
}

#define S_KEEP (32 * 1024)   /* an idle slot keeps buffers up to this much each */

static void s_buf_trim(s_buf_t *b)
{
    if (b->cap > S_KEEP) {
        free(b->data);
        b->data = NULL;
        b->cap = 0;
    }
}

/* The slot is neither LISTED nor IN FLIGHT, and holds no bytes: what its
 * state asks now. Buffers a slow reader made large are let go. */
static void s_settled(dtx_gw_uring_t *self, int fd, s_slot_t *s, dtx_gw_uring_drained_fn drained,
                      void *cls)
{
    s_buf_trim(&s->out);
    s_buf_trim(&s->next);
    if (!s->broken && s->shut_wr) {
        shutdown(fd, SHUT_WR);
        s->shut_wr = 0;
    }
    if (s->closing) {
        close(fd);
        s->gen++;
        s->closing = s->broken = s->shut_wr = s->refused = 0;
        s->owner = NULL;
        return;
    }
    if (s->refused) {
        s->refused = 0;
        if (drained && s->owner)
            drained(cls, s->owner);
    }
    (void)self;
}

int dtx_gw_uring_submit(dtx_gw_uring_t *self)
{
    if (!self->nlist && !io_uring_sq_ready(&self->ring))
        return 0;
    for (int i = 0; i < self->nlist; i++) {
        int fd = self->list[i];
        s_slot_t *s = self->slots[fd];
        s->listed = 0;
        if (s->out_sent == s->out.len) {   /* out is sent: next becomes out */
            s_buf_t t = s->out;
            s->out = s->next;
            s->next = t;
            s->next.len = 0;
            s->out_sent = 0;
        }
        struct io_uring_sqe *sqe = s_sqe(self);
        if (!sqe) {           /* cannot happen after a submit; keep it listed */
            memmove(self->list, self->list + i, (size_t)(self->nlist - i) * sizeof(int));
            self->nlist -= i;
            for (int k = 0; k < self->nlist; k++)
                self->slots[self->list[k]]->listed = 1;
            return -EBUSY;
        }
        io_uring_prep_send(sqe, fd, s->out.data + s->out_sent, s->out.len - s->out_sent,
                           MSG_NOSIGNAL | MSG_WAITALL);
        io_uring_sqe_set_data64(sqe, s_data(fd, s));
        s->in_flight = 1;
        self->in_flight++;
        if (s->closing) {
            /* Its connection is gone: the send gets linger to make progress,
             * then it is cancelled (and the fd closed). */
            sqe->flags |= IOSQE_IO_LINK;
            struct io_uring_sqe *t = s_sqe(self);
            if (t) {
                io_uring_prep_link_timeout(t, &self->linger, 0);
                io_uring_sqe_set_data64(t, s_data(fd, s) | S_TIMEOUT_TAG);
            } else {
                sqe->flags &= (unsigned char)~IOSQE_IO_LINK;
            }
        }
    }
    self->nlist = 0;
    int rc = io_uring_submit(&self->ring);
    return rc < 0 ? rc : 0;
}

/* A send's completion: res bytes went, or -errno. */
static void s_sent(dtx_gw_uring_t *self, int fd, s_slot_t *s, int res,
                   dtx_gw_uring_drained_fn drained, void *cls)
{
    s->in_flight = 0;
    if (res > 0) {
        s->out_sent += (size_t)res;
    } else if (res != -EAGAIN && res != -EINTR) {
        s->broken = 1;       /* a failed writev: the stream has a hole, end it */
        s->out.len = s->out_sent = s->next.len = 0;
        shutdown(fd, SHUT_RDWR);
    }
    if (s->out_sent == s->out.len)
        s->out.len = s->out_sent = 0;
    if (!s->broken && s_pending(s)) {
        if (s_list(self, fd, s) == 0)
            return;
        s->broken = 1;
        s->out.len = s->out_sent = s->next.len = 0;
        shutdown(fd, SHUT_RDWR);
    }
    s_settled(self, fd, s, drained, cls);
}

int dtx_gw_uring_reap(dtx_gw_uring_t *self, dtx_gw_uring_drained_fn drained, void *cls)
{
    struct io_uring_cqe *cqe;
    int seen = 0;
    while (io_uring_peek_cqe(&self->ring, &cqe) == 0) {
        uint64_t data = io_uring_cqe_get_data64(cqe);
        int res = cqe->res;
        io_uring_cqe_seen(&self->ring, cqe);
        seen++;
        int fd = (int)(uint32_t)data;
        uint32_t gen = (uint32_t)((data & ~S_TIMEOUT_TAG) >> 32);
        s_slot_t *s = s_slot(self, fd, 0);
        if (data & S_TIMEOUT_TAG) {
            /* A linger timeout: cancelled (-ECANCELED) when its send came
             * first; fired (-ETIME) on a send still waiting for a reader. */
            if (res == -ETIME && s && s->gen == gen && s->closing && s->in_flight)
                shutdown(fd, SHUT_RDWR);   /* fails the send: then the close */
            continue;
        }
        self->in_flight--;
        assert(s && s->gen == gen && s->in_flight);
        s_sent(self, fd, s, res, drained, cls);
    }
    return seen;
}

void dtx_gw_uring_shutdown_wr(dtx_gw_uring_t *self, int fd)
{
    s_slot_t *s = s_slot(self, fd, 0);
    if (s && s_busy(s))
        s->shut_wr = 1;
    else
        shutdown(fd, SHUT_WR);
}

int dtx_gw_uring_close(dtx_gw_uring_t *self, int fd)
{
    s_slot_t *s = s_slot(self, fd, 0);
    if (!s || !s_busy(s)) {
        if (s) {
            s->gen++;
            s->broken = s->refused = s->shut_wr = 0;
            s->owner = NULL;
        }
        close(fd);
        return 0;
    }
    s->closing = 1;
    s->refused = 0;
    s->owner = NULL;
    if (s->in_flight) {
        /* A send already in the kernel (a slow reader): a timeout of its
         * own, handed over with the next submit. A LISTED one gets a
         * linked timeout when it is submitted. */
        struct io_uring_sqe *sqe = s_sqe(self);
        if (sqe) {
            io_uring_prep_timeout(sqe, &self->linger, 0, 0);
            io_uring_sqe_set_data64(sqe, s_data(fd, s) | S_TIMEOUT_TAG);
        }
    }
    return 1;
}
