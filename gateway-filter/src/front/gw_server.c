/*
 * gw_server.c — the workers and the server's lifecycle: one thread per
 * worker running one epoll loop that holds the worker's engine (the
 * native one, gw_native.c, or a libmicrohttpd daemon in external epoll
 * mode, gw_mhd.c) and the worker's upstream side; start, wake-ups,
 * quiesce and stop (see gw_server.h for the design). What a request does,
 * its states and hooks, is gw_request.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dtx/clock.h"
#include "dtx/types.h"
#include "dtx/log.h"
#include "core/gw_clock.h"
#include "core/gw_offload.h"
#include "core/gw_uring.h"
#include "upstream/gw_proxy.h"
#include "front/gw_balance.h"
#include "front/gw_mhd.h"
#include "front/gw_native.h"
#include "front/gw_rctx.h"
#include "front/gw_waits.h"
#include "front/gw_server.h"
#include "core/gw_addr.h"
#include "front/gw_server_int.h"

#define S_MAX_OFFLOAD  4096          /* threads for blocking hooks */
#define S_EVENTS       128
/* The send ring (core/gw_uring.h): its queue, the writes it takes when a
 * socket has nothing queued (larger ones are writev: a copy would cost
 * more than the system call it saves), a socket's queue at most, and how
 * long a closed socket's last bytes may take. */
#define S_RING_ENTRIES 1024
#define S_RING_SMALL   (16 * 1024)
#define S_RING_CAP     (256 * 1024)
#define S_RING_LINGER_MS 5000

/* ---------------- workers ---------------- */

/* Each worker's counters fill cache lines of their own (gw_server_int.h). */
_Static_assert(sizeof(dtx_gw_worker_counters_t) % 64 == 0, "counters: whole cache lines");
_Static_assert(offsetof(dtx_gw_worker_t, counters) == 0 && _Alignof(dtx_gw_worker_t) >= 64,
               "counters: each worker's on a line of its own");

/* The wake-up: stop, closing (calls cut), quiesce (stop accepting).
 * Returns 1 when the loop is to end. */
static int s_woken(dtx_gw_worker_t *w)
{
    dtx_gw_wake_drain(&w->wake);
    if (!w->cancelled && atomic_load(&w->server->closing)) {
        dtx_gw_upstreams_cancel(w->upstreams);
        w->cancelled = 1;
    }
    if (!w->quiesced && atomic_load(&w->server->quiesce)) {
        if (w->native)
            dtx_gw_native_quiesce(w->native);
        else
            dtx_gw_mhd_quiesce(w);
        w->quiesced = 1;
    }
    return atomic_load(&w->server->stop);
}

/* The ring's drained hook: the socket whose write the ring refused may
 * write again, as if epoll said EPOLLOUT. */
static void s_ring_drained(void *cls, void *owner)
{
    dtx_gw_worker_t *w = cls;
    dtx_gw_event_source_t *src = owner;
    if (src->kind == DTX_GW_EV_CONN)
        dtx_gw_native_on_event(w->native, src, EPOLLOUT);
    else
        dtx_gw_upstreams_on_event(w->upstreams, src, EPOLLOUT);
}

/* Before the worker waits: the wake-up's writes go to the kernel in one
 * submit; completions taken; the ring's fd watched (once) while a send
 * waits in the kernel, so its completion wakes the worker. */
static void s_ring_flush(dtx_gw_worker_t *w)
{
    if (dtx_gw_uring_submit(w->ring) < 0)
        dtx_log_warn("send ring submit failed", "err=\"%s\"", strerror(errno));
    dtx_gw_uring_reap(w->ring, s_ring_drained, w);
    if (dtx_gw_uring_in_flight(w->ring) && !w->ring_armed) {
        struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.ptr = &w->ring_src };
        w->ring_armed = epoll_ctl(w->epfd, EPOLL_CTL_MOD, dtx_gw_uring_fd(w->ring), &ev) == 0;
    }
}

/* The loop of a native worker: every event goes to its owner (a client
 * connection's is noted, the connection runs after the batch, as an
 * upstream's `ready` does); then the timers, the upstream news and the
 * connections that are to run, until nothing more is ready. */
static void *s_native_main(void *arg)
{
    dtx_gw_worker_t *w = arg;
    struct epoll_event evs[S_EVENTS];
    for (;;) {
        /* First the ring: its drained hook may make connections and calls
         * ready, which the timeout below must see. */
        if (w->ring)
            s_ring_flush(w);
        int64_t now = dtx_gw_now_us();
        int timeout = dtx_gw_upstreams_timeout_ms(w->upstreams, now);
        int t = dtx_gw_native_timeout_ms(w->native, now);
        if (t >= 0 && (timeout < 0 || t < timeout))
            timeout = t;
        t = dtx_gw_waits_timeout_ms(w, now);
        if (t >= 0 && (timeout < 0 || t < timeout))
            timeout = t;
        if (w->ring && dtx_gw_uring_queued(w->ring))
            timeout = 0;         /* a short send's rest */
        if (dtx_gw_native_pending(w->native))
            timeout = 0;
        int n = epoll_wait(w->epfd, evs, S_EVENTS, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            dtx_log_error("epoll_wait failed", "err=\"%s\"", strerror(errno));
            break;
        }
        now = dtx_gw_clock_tick();  /* this wake-up's time (gw_clock.h) */
        int stop = 0;
        for (int i = 0; i < n; i++) {
            dtx_gw_event_source_t *src = evs[i].data.ptr;
            switch (src->kind) {
            case DTX_GW_EV_ACCEPT:
            case DTX_GW_EV_CONN:
                dtx_gw_native_on_event(w->native, src, evs[i].events);
                break;
            case DTX_GW_EV_WAKE:
                stop |= s_woken(w);
                break;
            case DTX_GW_EV_RING:
                w->ring_armed = 0;
                dtx_gw_uring_reap(w->ring, s_ring_drained, w);
                break;
            default:
                dtx_gw_upstreams_on_event(w->upstreams, src, evs[i].events);
                break;
            }
        }
        dtx_gw_waits_expire(w, now);
        dtx_gw_native_expire(w->native, now);
        for (int pass = 0; pass < 8; pass++) {
            int ran = dtx_gw_upstreams_dispatch(w->upstreams, now);
            ran += dtx_gw_native_run(w->native);
            if (!ran)
                break;
        }
        if (stop) {
            dtx_gw_native_run(w->native);  /* the last resumed requests end */
            break;
        }
    }
    return NULL;
}

static void *s_mhd_main(void *arg)
{
    dtx_gw_worker_t *w = arg;
    struct epoll_event evs[S_EVENTS];
    for (;;) {
        int64_t now = dtx_gw_now_us();
        int timeout = dtx_gw_upstreams_timeout_ms(w->upstreams, now);
        int mhd_ms = dtx_gw_mhd_timeout_ms(w);
        if (mhd_ms >= 0 && (timeout < 0 || mhd_ms < timeout))
            timeout = mhd_ms;
        int waits = dtx_gw_waits_timeout_ms(w, now);
        if (waits >= 0 && (timeout < 0 || waits < timeout))
            timeout = waits;
        if (w->rerun)
            timeout = 0;  /* a resume MHD_run has not processed yet */
        int n = epoll_wait(w->epfd, evs, S_EVENTS, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            dtx_log_error("epoll_wait failed", "err=\"%s\"", strerror(errno));
            break;
        }
        dtx_gw_clock_tick();  /* this wake-up's time (gw_clock.h) */
        int http = n == 0;  /* a timeout may be MHD's */
        int stop = 0;
        for (int i = 0; i < n; i++) {
            dtx_gw_event_source_t *src = evs[i].data.ptr;
            switch (src->kind) {
            case DTX_GW_EV_HTTP:
                http = 1;
                break;
            case DTX_GW_EV_WAKE:
                stop = s_woken(w);
                http = 1;  /* a connection resumed by the offload pool */
                break;
            default:
                dtx_gw_upstreams_on_event(w->upstreams, src, evs[i].events);
                break;
            }
        }
        if (stop) {
            dtx_gw_mhd_run(w);  /* the last resumed connections close */
            break;
        }
        /* Upstream news first: the connections it resumes are served by
         * the MHD_run just after, in this same wake-up. A call that
         * MHD_run touched may be ready at once (a streamed body whose
         * answer is already in): one more pass serves it now rather than
         * after another epoll_wait. */
        if (dtx_gw_waits_expire(w, dtx_gw_now_us()) > 0)
            http = 1;
        for (int pass = 0; pass < 4; pass++) {
            if (dtx_gw_upstreams_dispatch(w->upstreams, dtx_gw_now_us()) > 0)
                http = 1;
            if (!http)
                break;
            w->rerun = 0;
            dtx_gw_mhd_run(w);
            http = w->rerun;  /* resumed inside that run: the next one moves it */
            if (dtx_gw_upstreams_timeout_ms(w->upstreams, dtx_gw_now_us()) != 0)
                break;
        }
    }
    return NULL;
}

static void s_worker_fini(dtx_gw_worker_t *w)
{
    dtx_gw_mhd_close(w);
    dtx_gw_native_close(&w->native);
    dtx_gw_upstreams_destroy(&w->upstreams);
    dtx_gw_uring_destroy(&w->ring);  /* after both: they close their sockets through it */
    dtx_heap_free(&w->cache_waits);
    dtx_gw_rctx_spares_free(w);      /* after the engines: closing them ends requests */
    dtx_gw_wake_close(&w->wake);
    if (w->epfd >= 0)
        close(w->epfd);
    w->epfd = -1;
}

/* The worker's send ring, its fd in the worker's epoll set (disarmed
 * until a send waits), and the upstream side's writes through it. 0, or
 * -1 when io_uring is not available (said once, in the log). */
static int s_ring_open(dtx_gw_worker_t *w)
{
    int err = 0;
    w->ring = dtx_gw_uring_new(S_RING_ENTRIES, S_RING_SMALL, S_RING_CAP, S_RING_LINGER_MS, &err);
    if (!w->ring) {
        dtx_log_warn("send ring unavailable, answers are written with writev",
                     "err=\"%s\" hint=\"io_uring_queue_init failed: an old kernel, a seccomp "
                     "profile or kernel.io_uring_disabled; --send-ring off says so\"",
                     strerror(-err));
        return -1;
    }
    w->ring_src.kind = DTX_GW_EV_RING;
    struct epoll_event ev = { .events = 0, .data.ptr = &w->ring_src };
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, dtx_gw_uring_fd(w->ring), &ev) < 0) {
        dtx_log_warn("send ring unavailable, answers are written with writev",
                     "err=\"%s\"", strerror(errno));
        dtx_gw_uring_destroy(&w->ring);
        return -1;
    }
    dtx_gw_upstreams_set_ring(w->upstreams, w->ring);
    return 0;
}

static int s_worker_init(dtx_gw_worker_t *w, dtx_gw_server_t *server, struct sockaddr_in *sa)
{
    w->server = server;
    w->http_src.kind = DTX_GW_EV_HTTP;
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (w->epfd < 0 || dtx_gw_wake_open(&w->wake, w->epfd) < 0)
        return DTX_EIO;
    w->upstreams = dtx_gw_upstreams_new(w->epfd);
    if (!w->upstreams)
        return DTX_ENOMEM;
    if (server->engine == DTX_GW_ENGINE_MHD)
        return dtx_gw_mhd_open(w, sa);
    if (server->send_ring && s_ring_open(w) < 0)
        server->send_ring = 0;  /* no io_uring here: every worker writes directly */
    w->native = dtx_gw_native_open(w, sa, &server->native);
    return w->native ? 0 : DTX_EIO;
}

static void s_wake_all(dtx_gw_server_t *self)
{
    for (int i = 0; i < self->nworkers; i++)
        if (self->workers[i].wake.fd >= 0)
            dtx_gw_wake_signal(&self->workers[i].wake);
}

static void s_destroy(dtx_gw_server_t *self)
{
    /* End what is in flight: no new waits, upstream calls cut, and every
     * suspended connection resumed (the pool's jobs end on their own)
     * and closed by its worker before the daemons stop. */
    atomic_store(&self->closing, 1);
    s_wake_all(self);
    while (atomic_load(&self->suspended) > 0)
        dtx_gw_sleep_us(5000);
    atomic_store(&self->stop, 1);
    s_wake_all(self);
    for (int i = 0; i < self->nworkers; i++)
        if (self->workers[i].started)
            pthread_join(self->workers[i].thread, NULL);
    /* No loop runs now. Jobs still on the pool end (and resume, which is
     * harmless) before the daemons go; then hooks run inline. */
    if (self->offload)
        dtx_gw_offload_drain(self->offload);
    dtx_gw_offload_t *pool = self->offload;
    self->offload = NULL;
    for (int i = 0; i < self->nworkers; i++)
        s_worker_fini(&self->workers[i]);
    dtx_gw_offload_destroy(&pool);
    free(self);
}

/* Is sa free for this process? The workers bind it with SO_REUSEPORT
 * (one listening socket each, the kernel spreads connections), and so
 * would a second gateway: it would bind the same port without error and
 * take a share of the traffic. A probe without SO_REUSEPORT fails on a
 * port any socket listens on, ours included, so it runs before the
 * workers bind. Returns 0, or -errno. Two gateways started in the same
 * instant may both pass the probe: the window is the time between it and
 * worker 0's bind. */
static int s_port_free(const struct sockaddr_in *sa)
{
    if (sa->sin_port == 0)
        return 0;                       /* the kernel picks a free port */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1, rc = 0;
    /* SO_REUSEADDR as MHD sets it: a port in TIME_WAIT is free. */
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)sa, sizeof *sa) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

void dtx_gw_server_opts_default(dtx_gw_server_opts_t *opts)
{
    opts->workers = 0;
    opts->engine = DTX_GW_ENGINE_NATIVE;
    opts->send_ring = 1;            /* docs/gateway.md, "io_uring": measured quiet 2026-12-07 */
    opts->native.header_timeout_ms = 60000;
    opts->native.body_timeout_ms = 60000;
    opts->native.idle_timeout_ms = 120000;
    opts->native.send_timeout_ms = 60000;
    opts->native.max_head = 16 * 1024;
    opts->native.max_connections = 10000;
    opts->native.balance_slack = DTX_GW_BALANCE_SLACK;
}

dtx_gw_server_t *dtx_gw_server_start(const char *listen, dtx_gw_current_t *current,
                                     const dtx_gw_server_opts_t *opts)
{
    int workers = opts->workers;
    struct sockaddr_in sa;
    if (dtx_gw_listen_parse(listen, &sa, NULL, 0) < 0) {
        dtx_log_error("bad listen address", "listen=%s", listen);
        return NULL;
    }
    int perr = s_port_free(&sa);
    if (perr < 0) {
        dtx_log_error("cannot listen", "listen=%s err=\"%s\" detail=\"%s\"", listen,
                      strerror(-perr), perr == -EADDRINUSE
                          ? "another process (another gateway?) listens on this address"
                          : "bind failed");
        return NULL;
    }
    if (workers <= 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        workers = cpus > 0 ? (int)cpus : 1;
    }
    if (workers > DTX_GW_MAX_WORKERS)
        workers = DTX_GW_MAX_WORKERS;
    /* Aligned as its workers' counters want (their own cache lines). */
    size_t size = (sizeof(dtx_gw_server_t) + _Alignof(dtx_gw_server_t) - 1) /
                  _Alignof(dtx_gw_server_t) * _Alignof(dtx_gw_server_t);
    dtx_gw_server_t *self = aligned_alloc(_Alignof(dtx_gw_server_t), size);
    if (!self)
        return NULL;
    memset(self, 0, size);
    self->current = current;
    self->engine = opts->engine;
    self->native = opts->native;
    self->send_ring = opts->send_ring && opts->engine == DTX_GW_ENGINE_NATIVE;
    atomic_init(&self->in_flight, 0);
    atomic_init(&self->stop, 0);
    atomic_init(&self->quiesce, 0);
    atomic_init(&self->closing, 0);
    atomic_init(&self->suspended, 0);
    for (int i = 0; i < DTX_GW_MAX_WORKERS; i++) {
        dtx_gw_wake_init(&self->workers[i].wake);
        self->workers[i].epfd = -1;
        self->workers[i].index = i;
    }
    self->offload = dtx_gw_offload_new(S_MAX_OFFLOAD);
    if (!self->offload)
        goto fail;
    for (int i = 0; i < workers; i++) {
        dtx_gw_worker_t *w = &self->workers[i];
        self->nworkers = i + 1;
        if (s_worker_init(w, self, &sa) < 0) {
            dtx_log_error("cannot listen", "listen=%s worker=%d", listen, i);
            goto fail;
        }
        if (i == 0) {
            /* Port 0: the others join the port the first one got. */
            self->port = w->native ? dtx_gw_native_port(w->native) : dtx_gw_mhd_port(w);
            sa.sin_port = htons((uint16_t)self->port);
        }
    }
    for (int i = 0; i < self->nworkers; i++) {
        if (pthread_create(&self->workers[i].thread, NULL,
                           self->engine == DTX_GW_ENGINE_MHD ? s_mhd_main : s_native_main,
                           &self->workers[i]) != 0) {
            dtx_log_error("cannot start a worker", "worker=%d", i);
            goto fail;
        }
        self->workers[i].started = 1;
    }
    dtx_log_info("http workers started", "workers=%d engine=%s send_ring=%s accept_balance=%d",
                 self->nworkers, self->engine == DTX_GW_ENGINE_MHD ? "mhd" : "native",
                 self->send_ring ? "on" : "off",
                 self->engine == DTX_GW_ENGINE_MHD ? 0 : self->native.balance_slack);
    return self;
fail:
    s_destroy(self);
    return NULL;
}

int dtx_gw_server_port(const dtx_gw_server_t *self)
{
    return self->port;
}

int dtx_gw_server_in_flight(const dtx_gw_server_t *self)
{
    return atomic_load(&self->in_flight);
}

int dtx_gw_server_workers(const dtx_gw_server_t *self, dtx_gw_worker_view_t *out, int max)
{
    if (self->engine == DTX_GW_ENGINE_MHD)
        return 0;
    int n = self->nworkers < max ? self->nworkers : max;
    for (int i = 0; i < n; i++) {
        const dtx_gw_worker_counters_t *c = &self->workers[i].counters;
        out[i].open = atomic_load_explicit(&c->open, memory_order_relaxed);
        out[i].accepted = atomic_load_explicit(&c->accepted, memory_order_relaxed);
        out[i].handed_out = atomic_load_explicit(&c->handed_out, memory_order_relaxed);
        out[i].handed_in = atomic_load_explicit(&c->handed_in, memory_order_relaxed);
        out[i].requests = atomic_load_explicit(&c->requests, memory_order_relaxed);
        /* The thread's CPU clock: where the requests' share comes from
         * when the workers' threads get unequal shares of the machine. */
        clockid_t cid;
        struct timespec ts;
        out[i].cpu_seconds = -1;
        if (self->workers[i].started &&
            pthread_getcpuclockid(self->workers[i].thread, &cid) == 0 &&
            clock_gettime(cid, &ts) == 0)
            out[i].cpu_seconds = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    }
    return n;
}

void dtx_gw_server_stop(dtx_gw_server_t **self_p, int grace_ms)
{
    if (!self_p || !*self_p)
        return;
    dtx_gw_server_t *self = *self_p;
    *self_p = NULL;
    /* Stop accepting: each worker quiesces its own daemon (an external
     * loop's daemon is only touched by its thread). */
    atomic_store(&self->quiesce, 1);
    s_wake_all(self);
    /* The grace is a deadline on the monotonic clock, not a count of
     * 10 ms sleeps (on a loaded machine those took far longer, so requests
     * outlived the grace). */
    int64_t until = dtx_clock_mono_ms() + grace_ms;
    while (atomic_load(&self->in_flight) > 0 && dtx_clock_mono_ms() < until)
        dtx_gw_sleep_us(10000);
    s_destroy(self);
}
