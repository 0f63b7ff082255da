/*
 * gw_nio.c — a native connection's socket I/O (gw_nio.h): reads into its
 * buffer, writes of its pending answer bytes with writev, and the next
 * piece of a read body framed for the wire. Edge-triggered readiness:
 * `readable` / `writable` stay set until a read or write says the socket
 * is drained or full (a short read or write says it too, saving the
 * EAGAIN call). With the worker's send ring (core/gw_uring.h), writes go
 * through dtx_gw_nio_send: the ring takes small ones (and every one
 * while it holds bytes of the socket), the rest are writev; a socket the
 * ring may hold bytes for is shut down and closed through it. No state of
 * the connection changes here.
 */
#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

#include "front/gw_nio.h"
#include "front/gw_nout.h"
#include "core/gw_uring.h"

#define S_PIECE (32 * 1024)     /* a read body's piece */

/* Reads into buf[len, cap). DTX_GW_NC_GO: bytes came; DTX_GW_NC_WAIT: none yet; DTX_GW_NC_END:
 * the client closed, or an error. */
int dtx_gw_nio_read(dtx_gw_nconn_t *nc)
{
    if (!nc->readable)
        return DTX_GW_NC_WAIT;
    size_t room = nc->cap - nc->len;
    for (;;) {
        ssize_t n = read(nc->fd, nc->buf + nc->len, room);
        if (n > 0) {
            nc->len += (size_t)n;
            nc->progress = 1;
            if ((size_t)n < room && !nc->rdhup)
                nc->readable = 0;   /* drained: the next edge says when there is more */
            return DTX_GW_NC_GO;
        }
        if (n == 0)
            return DTX_GW_NC_END;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            nc->readable = 0;
            return DTX_GW_NC_WAIT;
        }
        return DTX_GW_NC_END;
    }
}

ssize_t dtx_gw_nio_send(dtx_gw_nconn_t *nc, const struct iovec *iov, int n)
{
    dtx_gw_uring_t *ring = nc->eng->w->ring;
    if (ring) {
        ssize_t r = dtx_gw_uring_send(ring, nc->fd, &nc->src, iov, n);
        if (r >= 0)
            return r;
        if (r == DTX_GW_URING_FULL) {
            errno = EAGAIN;     /* the ring's drained hook brings EPOLLOUT */
            return -1;
        }
        if (r != DTX_GW_URING_DIRECT) {
            errno = r == -ENOMEM ? ENOMEM : EPIPE;
            return -1;
        }
    }
    return writev(nc->fd, iov, n);
}

void dtx_gw_nio_shutdown_wr(dtx_gw_nconn_t *nc)
{
    dtx_gw_uring_t *ring = nc->eng->w->ring;
    if (ring)
        dtx_gw_uring_shutdown_wr(ring, nc->fd);
    else
        shutdown(nc->fd, SHUT_WR);
}

void dtx_gw_nio_close(dtx_gw_nconn_t *nc)
{
    dtx_gw_uring_t *ring = nc->eng->w->ring;
    if (!ring)
        close(nc->fd);  /* leaves the epoll set: the fd is not shared */
    else if (dtx_gw_uring_close(ring, nc->fd) > 0)
        epoll_ctl(nc->eng->w->epfd, EPOLL_CTL_DEL, nc->fd, NULL);  /* open until its bytes are out */
    nc->fd = -1;
}

/* Writes what is pending. DTX_GW_NC_GO: all of it; DTX_GW_NC_WAIT: the socket is full;
 * DTX_GW_NC_END: the client is gone. */
int dtx_gw_nio_flush(dtx_gw_nconn_t *nc)
{
    for (;;) {
        struct iovec iov[3];
        int n = 0;
        if (nc->wpos < nc->wbuf.len)
            iov[n++] = (struct iovec){ nc->wbuf.data + nc->wpos, nc->wbuf.len - nc->wpos };
        if (nc->woff < nc->wbody_len)
            iov[n++] = (struct iovec){ (void *)(nc->wbody + nc->woff), nc->wbody_len - nc->woff };
        if (nc->wtail_len)
            iov[n++] = (struct iovec){ (void *)nc->wtail, nc->wtail_len };
        if (!n)
            return DTX_GW_NC_GO;
        if (!nc->writable)
            return DTX_GW_NC_WAIT;
        ssize_t w = dtx_gw_nio_send(nc, iov, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                nc->writable = 0;
                return DTX_GW_NC_WAIT;
            }
            return DTX_GW_NC_END;
        }
        nc->progress = 1;
        size_t left = (size_t)w;
        size_t k = nc->wbuf.len - nc->wpos < left ? nc->wbuf.len - nc->wpos : left;
        nc->wpos += k;
        left -= k;
        k = nc->wbody_len - nc->woff < left ? nc->wbody_len - nc->woff : left;
        nc->woff += k;
        left -= k;
        nc->wtail += left;
        nc->wtail_len -= left;
        if (nc->wpos < nc->wbuf.len || nc->woff < nc->wbody_len || nc->wtail_len)
            nc->writable = 0;   /* a short write: the socket is full */
    }
}

/* The next piece of a read body into the pending bytes. DTX_GW_NC_GO, DTX_GW_NC_WAIT
 * (suspended until there is more), DTX_GW_NC_END (cut). */
int dtx_gw_nio_next_piece(dtx_gw_nconn_t *nc)
{
    if (!nc->sbuf && !(nc->sbuf = malloc(S_PIECE)))
        return DTX_GW_NC_END;
    ssize_t n = nc->out.read(nc->out.read_cls, nc->sbuf, S_PIECE);
    int chunked = nc->out_kind == DTX_GW_NOUT_CHUNKED;
    nc->wbuf.len = nc->wpos = 0;
    nc->woff = nc->wbody_len = 0;
    if (n > 0) {
        if (chunked) {
            dtx_gw_buf_printf(&nc->wbuf, "%zx\r\n", (size_t)n);
            nc->wtail = "\r\n";
            nc->wtail_len = 2;
        }
        nc->wbody = nc->sbuf;
        nc->wbody_len = (size_t)n;
        return DTX_GW_NC_GO;
    }
    if (n == 0)
        return nc->suspended ? DTX_GW_NC_WAIT : DTX_GW_NC_GO;
    if (n == DTX_GW_OUT_END) {
        nc->read_end = 1;
        if (chunked) {
            nc->wtail = "0\r\n\r\n";
            nc->wtail_len = 5;
        }
        return DTX_GW_NC_GO;
    }
    return DTX_GW_NC_END;
}
