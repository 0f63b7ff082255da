/*
 * admin_linger.c — lingering close for answers sent before a request's
 * body was read (401, 413, 503 answered from the head: admin_http.c).
 *
 * libmicrohttpd sends such an answer, shuts the socket down for writing
 * and closes it at once. A close with unread bytes in the socket makes the
 * kernel send a reset instead of waiting, and a client still sending its
 * body then fails its next send and never reads the answer already in its
 * socket (curl: "connection reset", no status). So, as nginx's lingering
 * close: the socket is kept — a dup of its fd, taken when libmicrohttpd
 * reports the connection closed and before it closes its own — and read,
 * the bytes dropped, until the client closes, S_IDLE_MS pass without a
 * byte or S_MAX_MS in all. At most S_MAX sockets linger; past that a
 * socket is closed as libmicrohttpd would have closed it.
 *
 *   answer queued before the body ──▶ conn marked ──▶ MHD closes: dup ──▶ LINGER
 *   LINGER ── bytes: dropped ──▶ LINGER
 *   LINGER ── end of stream, error, S_IDLE_MS quiet, S_MAX_MS in all ──▶ closed
 *
 * Invariants: every fd in a->linger is ours (a dup), registered in
 * a->linger_epfd, and closed exactly once, by s_drop.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admin_internal.h"
#include "dtx/clock.h"
#include "dtx/log.h"

#define S_MAX 64            /* sockets lingering at once */
#define S_IDLE_MS 2000      /* quiet this long: the client is not sending */
#define S_MAX_MS 10000      /* lingering at most this long in all */
#define S_READS_A_TURN 16   /* reads of 64 KiB per socket a turn: the loop goes on */

struct dtx_admin_linger {
    int     fd;
    int64_t since_ms;       /* monotonic: lingering since */
    int64_t last_ms;        /* monotonic: last byte read */
};

int dtx_admin_linger_init(dtx_admin_t *a)
{
    a->linger_epfd = epoll_create1(EPOLL_CLOEXEC);
    return a->linger_epfd < 0 ? DTX_EIO : 0;
}

static void s_drop(dtx_admin_t *a, int i)
{
    epoll_ctl(a->linger_epfd, EPOLL_CTL_DEL, a->linger[i].fd, NULL);
    close(a->linger[i].fd);
    a->linger[i] = a->linger[--a->nlinger];
}

void dtx_admin_linger_add(dtx_admin_t *a, int fd)
{
    if (a->linger_epfd < 0 || a->nlinger == S_MAX)
        return;
    if (!a->linger) {
        a->linger = calloc(S_MAX, sizeof *a->linger);
        if (!a->linger)
            return;
    }
    int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (d < 0)
        return;
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.fd = d };
    if (epoll_ctl(a->linger_epfd, EPOLL_CTL_ADD, d, &ev) < 0) {
        close(d);
        return;
    }
    int64_t now = dtx_clock_mono_ms();
    a->linger[a->nlinger++] = (struct dtx_admin_linger){ d, now, now };
}

/* Reads what fd has, dropped. Returns 1 while it may send more. */
static int s_drain(int fd)
{
    static char sink[65536];
    for (int k = 0; k < S_READS_A_TURN; k++) {
        ssize_t n = recv(fd, sink, sizeof sink, MSG_DONTWAIT);
        if (n > 0)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return 1;
        return 0; /* end of stream or error */
    }
    return 1;
}

int64_t dtx_admin_linger_run(dtx_admin_t *a, int readable, int64_t now_ms)
{
    int64_t next = INT64_MAX;
    if (readable) {
        struct epoll_event evs[S_MAX];
        int n = epoll_wait(a->linger_epfd, evs, S_MAX, 0);
        for (int e = 0; e < n; e++)
            for (int i = 0; i < a->nlinger; i++)
                if (a->linger[i].fd == evs[e].data.fd) {
                    a->linger[i].last_ms = now_ms;
                    if (!s_drain(a->linger[i].fd))
                        s_drop(a, i);
                    break;
                }
    }
    for (int i = 0; i < a->nlinger;) {
        int64_t due = a->linger[i].last_ms + S_IDLE_MS;
        if (a->linger[i].since_ms + S_MAX_MS < due)
            due = a->linger[i].since_ms + S_MAX_MS;
        if (due <= now_ms) {
            s_drop(a, i);
            continue;
        }
        if (due - now_ms < next)
            next = due - now_ms;
        i++;
    }
    return next;
}

void dtx_admin_linger_free(dtx_admin_t *a)
{
    while (a->nlinger > 0)
        s_drop(a, 0);
    free(a->linger);
    a->linger = NULL;
    if (a->linger_epfd >= 0)
        close(a->linger_epfd);
    a->linger_epfd = -1;
}
