/*
 * dtx/zpoll.h — zmq_poll with one poll(2) per wait.
 *
 * libzmq's zmq_poll() polls every file descriptor twice per call that
 * waits (a first pass with timeout 0, then the real wait) and asks every
 * socket for ZMQ_EVENTS after each pass: with two sockets and a few
 * libpq connections, six system calls per loop turn before any work. An
 * event loop turns once or more per message, so this is CPU per message
 * and microseconds per hop.
 *
 * dtx_zpoll() gives the same answer with fewer calls, following the
 * ZMQ_FD rule of zmq_getsockopt(3): a socket's ZMQ_FD becomes readable
 * when its state may have changed, and only ZMQ_EVENTS says what is
 * ready; ZMQ_EVENTS also resets ZMQ_FD. So: ZMQ_EVENTS of every socket
 * first (a socket already ready: no wait, one poll(2) with timeout 0 for
 * the plain descriptors); otherwise one poll(2) over every descriptor,
 * and ZMQ_EVENTS again only for the sockets whose ZMQ_FD woke it. A wake
 * with nothing ready (a command that was not a message) waits again for
 * what is left of the timeout, as zmq_poll does.
 * Not installed.
 */
#ifndef DTX_ZPOLL_H
#define DTX_ZPOLL_H

#include <zmq.h>

/* zmq_poll(items, n, timeout_ms) with its contract: fills each item's
 * revents (ZMQ_POLLIN / ZMQ_POLLOUT / ZMQ_POLLPRI / ZMQ_POLLERR, as
 * zmq_poll maps them); timeout_ms < 0 waits until something is ready, 0
 * does not wait. Returns how many items have events, or -1 with errno
 * (EINTR when a signal came; ETERM, ENOTSOCK, EFAULT as zmq_poll;
 * EINVAL for n < 0). More than DTX_ZPOLL_MAX items: zmq_poll itself. */
#define DTX_ZPOLL_MAX 256
int dtx_zpoll(zmq_pollitem_t *items, int n, long timeout_ms);

#endif
