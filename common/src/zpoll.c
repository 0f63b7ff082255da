/*
 * zpoll.c — zmq_poll with one poll(2) per wait (dtx/zpoll.h says why and
 * the ZMQ_FD rule it relies on).
 *
 * Invariants: an item's revents is what zmq_poll would report for it at
 * the moment it is read; a socket is asked ZMQ_EVENTS before the wait and
 * after it only when its ZMQ_FD was readable, so no readiness is lost (an
 * unreadable ZMQ_FD after ZMQ_EVENTS means nothing changed since).
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>

#include "dtx/clock.h"
#include "dtx/zpoll.h"

/* Sets it->revents from the socket's ZMQ_EVENTS. 0, or -1 with errno. */
static int s_socket_events(zmq_pollitem_t *it)
{
    int ev = 0;
    size_t len = sizeof ev;
    if (zmq_getsockopt(it->socket, ZMQ_EVENTS, &ev, &len) != 0)
        return -1;
    it->revents = (short)(ev & it->events & (ZMQ_POLLIN | ZMQ_POLLOUT));
    return 0;
}

static short s_fd_events(short zmq_events)
{
    return (short)(((zmq_events & ZMQ_POLLIN) ? POLLIN : 0) |
                   ((zmq_events & ZMQ_POLLOUT) ? POLLOUT : 0) |
                   ((zmq_events & ZMQ_POLLPRI) ? POLLPRI : 0));
}

static short s_zmq_events(short fd_revents)
{
    return (short)(((fd_revents & POLLIN) ? ZMQ_POLLIN : 0) |
                   ((fd_revents & POLLOUT) ? ZMQ_POLLOUT : 0) |
                   ((fd_revents & POLLPRI) ? ZMQ_POLLPRI : 0) |
                   ((fd_revents & ~(POLLIN | POLLOUT | POLLPRI)) ? ZMQ_POLLERR : 0));
}

int dtx_zpoll(zmq_pollitem_t *items, int n, long timeout_ms)
{
    if (n > DTX_ZPOLL_MAX)
        return zmq_poll(items, n, timeout_ms); /* no room here: libzmq's own */
    if (n < 0 || (n > 0 && !items)) {
        errno = n < 0 ? EINVAL : EFAULT;
        return -1;
    }
    struct pollfd pfd[DTX_ZPOLL_MAX];
    int ready = 0;
    for (int i = 0; i < n; i++) {
        zmq_pollitem_t *it = &items[i];
        it->revents = 0;
        pfd[i].revents = 0;
        if (!it->socket) {
            pfd[i].fd = it->fd;
            pfd[i].events = s_fd_events(it->events);
            continue;
        }
        int fd = -1;
        size_t len = sizeof fd;
        if (zmq_getsockopt(it->socket, ZMQ_FD, &fd, &len) != 0)
            return -1;
        pfd[i].fd = fd;
        pfd[i].events = it->events ? POLLIN : 0;
        if (it->events && s_socket_events(it) != 0)
            return -1;
        ready += it->revents != 0;
    }
    int64_t end = timeout_ms > 0 ? dtx_clock_mono_ms() + timeout_ms : 0;
    long wait = ready ? 0 : timeout_ms;
    for (;;) {
        if (poll(pfd, (nfds_t)n, wait < 0 ? -1 : (int)(wait > INT32_MAX ? INT32_MAX : wait)) < 0)
            return -1;
        int count = 0;
        for (int i = 0; i < n; i++) {
            zmq_pollitem_t *it = &items[i];
            if (!it->socket)
                it->revents = s_zmq_events(pfd[i].revents);
            else if (!it->revents && (pfd[i].revents & POLLIN) && s_socket_events(it) != 0)
                return -1;
            count += it->revents != 0;
        }
        if (count || wait == 0)
            return count;
        /* Woken by a command that made nothing ready: wait for the rest. */
        if (timeout_ms > 0) {
            int64_t left = end - dtx_clock_mono_ms();
            if (left <= 0)
                return 0;
            wait = (long)left;
        }
    }
}
