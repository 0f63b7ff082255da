/*
 * gw_upconn.h — a worker's connections to its upstreams: connect without
 * blocking, and keep-alive connections kept per address for the next
 * request (most recently used first).
 *
 * A connection is either in use (owner set: one call's request and
 * answer) or idle in its address's cache. Every connection stays in the
 * worker's epoll set from its connect to its close, so taking an idle one
 * for a request and giving it back costs no epoll_ctl; an idle connection
 * watches EPOLLIN only, and when it stirs (the upstream closed it, or sent
 * bytes nobody asked for) it is closed at once (dtx_gw_conns_on_idle_event),
 * so a dead connection can neither be handed out later nor make a
 * level-triggered loop spin. Idle connections older than S_IDLE_MAX (60 s)
 * are closed when met. One worker owns its set: nothing here is locked.
 *
 * A closed connection leaves the epoll set and its socket is closed at
 * once, but its memory is kept (src.kind DTX_GW_EV_CLOSED) until
 * dtx_gw_conns_reap: an epoll batch may still hold an event pointing to
 * it (a call ended by an earlier event of the same batch, or an idle
 * connection too old closed while another is picked), and that event
 * must find a dead source to drop, not freed memory. The worker reaps
 * only between batches.
 */
#ifndef DTX_GW_UPCONN_H
#define DTX_GW_UPCONN_H

#include <stdint.h>

#include "core/gw_addr.h"
#include "core/gw_event.h"

typedef struct dtx_gw_conn_host dtx_gw_conn_host_t;

typedef struct dtx_gw_conn {
    dtx_gw_event_source_t src;  /* DTX_GW_EV_UPSTREAM; first member */
    int                   fd;
    uint32_t              events;     /* interest registered; 0 when out of the set */
    int                   connecting; /* connect() under way */
    int                   reused;     /* carried an earlier request */
    void                 *owner;      /* the call using it; NULL when idle */
    dtx_gw_conn_host_t   *host;
    struct dtx_gw_conn   *next;       /* idle list; the closed list once closed */
    int64_t               idle_since_us;
} dtx_gw_conn_t;

typedef struct dtx_gw_conns dtx_gw_conns_t;

/* max_idle: idle connections kept by the worker in all. NULL on failure. */
dtx_gw_conns_t *dtx_gw_conns_new(int epoll_fd, int max_idle);
/* Closes the idle connections; every connection must be idle or closed. */
void dtx_gw_conns_destroy(dtx_gw_conns_t **self_p);
/* The worker's send ring (core/gw_uring.h), or NULL: connections are
 * closed through it (a request's bytes it holds go first). */
struct dtx_gw_uring;
void dtx_gw_conns_set_ring(dtx_gw_conns_t *self, struct dtx_gw_uring *ring);
struct dtx_gw_uring *dtx_gw_conns_ring(const dtx_gw_conns_t *self);

/* A connection to addr for owner: an idle one (reused = 1), else a new
 * one whose connect is under way (connecting = 1) or done. Watches
 * EPOLLIN (and EPOLLOUT while connecting). NULL with errno set when no
 * socket could be made or the connect failed at once. */
dtx_gw_conn_t *dtx_gw_conns_get(dtx_gw_conns_t *self, const dtx_gw_addr_t *addr, void *owner,
                                int64_t now_us);
/* Sets the events watched (0: out of the set). Returns 0 or DTX_EIO. */
int dtx_gw_conn_watch(dtx_gw_conns_t *self, dtx_gw_conn_t *c, uint32_t events);
/* The connect finished: 0, or the error (errno value) it ended with. */
int dtx_gw_conn_connect_result(dtx_gw_conn_t *c);
/* The call is over with it: kept for the next request when keep is set
 * (and there is room), else closed. */
void dtx_gw_conns_put(dtx_gw_conns_t *self, dtx_gw_conn_t *c, int keep, int64_t now_us);
/* An epoll event on an idle connection: closes it. */
void dtx_gw_conns_on_idle_event(dtx_gw_conns_t *self, dtx_gw_conn_t *c);
/* Frees the connections closed since the last reap. Call it only where
 * no epoll event of the worker's is waiting to be handled (between
 * batches). Returns how many it freed. */
int dtx_gw_conns_reap(dtx_gw_conns_t *self);
/* Idle connections now kept (tests, metrics). */
int dtx_gw_conns_idle(const dtx_gw_conns_t *self);

#endif
