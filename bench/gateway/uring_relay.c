/*
 * uring_relay.c — a measuring prototype, not a gateway: what the kernel
 * side of the gateway's two TCP legs costs per request on an epoll loop
 * against io_uring, with none of the gateway's own work (issue 15).
 *
 *   uring_relay MODE PORT UPSTREAM_PORT   (PORT 0: the kernel picks one;
 *                                          the port is printed on stdout)
 *
 * One thread relays bytes between each client connection and its own
 * upstream connection (opened at accept: 1:1, so HTTP/1.1 keep-alive
 * passes through as bytes; one read holds a whole request or answer of
 * the benchmark). The modes:
 *
 *   epoll  edge-triggered epoll; per request recv + send on each leg (4
 *          system calls) and an epoll_wait per wake-up, as dtx-gateway's
 *          native engine does (read, writev, sendmsg, recvfrom);
 *   uring  every socket on one io_uring: multishot accept, multishot recv
 *          into a ring of provided buffers, sends as SQEs, one
 *          io_uring_submit_and_wait per wake-up (SINGLE_ISSUER |
 *          DEFER_TASKRUN: completions run in that call, on this thread);
 *   front  the client leg on the ring as in `uring`, the upstream leg on
 *          epoll with recv/send system calls: the ring polls the epoll
 *          set (multishot POLL_ADD) and a wake-up reads it with
 *          epoll_wait(0). The shape an engine behind gw_front.h would
 *          have, the upstream side (upstream/) left on epoll.
 *   sends  epoll and recv system calls as `epoll`, but every send of a
 *          wake-up queued as an SQE (the bytes copied to the connection's
 *          slot) and all handed to the kernel by one io_uring_submit at
 *          the end of the wake-up: the smallest change to an epoll loop;
 *   late   as `sends`, but the wake-up's sends made at its end with send
 *          system calls: whether the order alone (every send after every
 *          receive of a wake-up) is what `sends` gains.
 *
 * Built and driven by bench/gateway/uring_ab.sh (needs liburing-dev,
 * which the project itself does not use). No error recovery beyond what
 * a benchmark run needs: a failed send drops the bytes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define S_FDS     65536
#define S_NBUF    4096          /* provided buffers */
#define S_BUFSZ   4096
#define S_ANSWER  512           /* front mode: an answer's copy per client */

enum { S_ACCEPT = 1, S_RECV, S_SENT, S_EPOLL, S_SENT_COPY };

static int s_lfd, s_upport;
static int s_peer[S_FDS];       /* client <-> upstream */

static uint64_t s_ud(int kind, int v) { return ((uint64_t)kind << 32) | (uint32_t)v; }

static int s_up_connect(void)
{
    int u = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)s_upport),
                              .sin_addr.s_addr = htonl(0x7f000001) };
    if (u < 0 || u >= S_FDS || connect(u, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("connect");
        exit(1);
    }
    setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return u;
}

/* ---------------- epoll ---------------- */

static void s_run_epoll(void)
{
    static char buf[65536];
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = s_lfd }, evs[128];
    epoll_ctl(ep, EPOLL_CTL_ADD, s_lfd, &ev);
    for (;;) {
        int n = epoll_wait(ep, evs, 128, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == s_lfd) {
                int c;
                while ((c = accept4(s_lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0 && c < S_FDS) {
                    int one = 1, u = s_up_connect();
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct epoll_event e = { .events = EPOLLIN | EPOLLET | EPOLLRDHUP, .data.fd = c };
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
                    e.data.fd = u;
                    epoll_ctl(ep, EPOLL_CTL_ADD, u, &e);
                    s_peer[c] = u;
                    s_peer[u] = c;
                }
                continue;
            }
            for (;;) {
                ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
                if (r <= 0) {
                    if (r == 0 || errno != EAGAIN) {
                        close(fd);
                        close(s_peer[fd]);
                    }
                    break;
                }
                (void)send(s_peer[fd], buf, (size_t)r, MSG_DONTWAIT | MSG_NOSIGNAL);
                if ((size_t)r < sizeof buf)
                    break;              /* drained, as gw_nio: no EAGAIN read */
            }
        }
    }
}

/* ---------------- io_uring ---------------- */

/* late: 0 (sends on the ring) or 1 (send system calls at the wake-up's end). */
static void s_run_sends(int late)
{
    static char buf[65536];
    static int qfd[S_FDS], qlen[S_FDS];
    int nq = 0;
    static struct io_uring ring;
    struct io_uring_params p = { 0 };
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    char *slots = malloc((size_t)S_FDS * S_ANSWER);
    int rc = io_uring_queue_init_params(8192, &ring, &p);
    if (rc < 0 || !slots) {
        fprintf(stderr, "io_uring: %s\n", strerror(rc < 0 ? -rc : ENOMEM));
        exit(1);
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = s_lfd }, evs[128];
    epoll_ctl(ep, EPOLL_CTL_ADD, s_lfd, &ev);
    for (;;) {
        int n = epoll_wait(ep, evs, 128, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == s_lfd) {
                int c;
                while ((c = accept4(s_lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0 && c < S_FDS) {
                    int one = 1, u = s_up_connect();
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct epoll_event e = { .events = EPOLLIN | EPOLLET | EPOLLRDHUP, .data.fd = c };
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
                    e.data.fd = u;
                    epoll_ctl(ep, EPOLL_CTL_ADD, u, &e);
                    s_peer[c] = u;
                    s_peer[u] = c;
                }
                continue;
            }
            ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            if (r <= 0) {
                if (r == 0 || errno != EAGAIN) {
                    close(fd);
                    close(s_peer[fd]);
                }
                continue;
            }
            if (r > S_ANSWER)
                r = S_ANSWER;
            char *slot = slots + (size_t)s_peer[fd] * S_ANSWER;
            memcpy(slot, buf, (size_t)r);
            if (late) {
                qfd[nq] = s_peer[fd];
                qlen[nq++] = (int)r;
                continue;
            }
            struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
            if (!sqe) {
                io_uring_submit(&ring);
                sqe = io_uring_get_sqe(&ring);
            }
            io_uring_prep_send(sqe, s_peer[fd], slot, (size_t)r, MSG_NOSIGNAL);
            io_uring_sqe_set_data64(sqe, 0);
        }
        for (int q = 0; q < nq; q++)
            (void)send(qfd[q], slots + (size_t)qfd[q] * S_ANSWER, (size_t)qlen[q],
                       MSG_DONTWAIT | MSG_NOSIGNAL);
        nq = 0;
        io_uring_submit(&ring);         /* the wake-up's sends, one system call */
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe) seen++;
        io_uring_cq_advance(&ring, seen);
    }
}

typedef struct {
    struct io_uring           ring;
    struct io_uring_buf_ring *br;
    char                     *bufs;
    unsigned                  added;    /* buffers given back this wake-up */
} s_uring_t;

static void s_uring_init(s_uring_t *u)
{
    struct io_uring_params p = { 0 };
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    int rc = io_uring_queue_init_params(8192, &u->ring, &p);
    if (rc < 0 || posix_memalign((void **)&u->br, 4096, S_NBUF * sizeof(struct io_uring_buf))) {
        fprintf(stderr, "io_uring: %s\n", strerror(rc < 0 ? -rc : ENOMEM));
        exit(1);
    }
    struct io_uring_buf_reg reg = { .ring_addr = (unsigned long)u->br, .ring_entries = S_NBUF,
                                    .bgid = 1 };
    if ((rc = io_uring_register_buf_ring(&u->ring, &reg, 0)) < 0 ||
        !(u->bufs = malloc((size_t)S_NBUF * S_BUFSZ))) {
        fprintf(stderr, "buffer ring: %s\n", strerror(rc < 0 ? -rc : ENOMEM));
        exit(1);
    }
    io_uring_buf_ring_init(u->br);
    for (int i = 0; i < S_NBUF; i++)
        io_uring_buf_ring_add(u->br, u->bufs + (size_t)i * S_BUFSZ, S_BUFSZ, (unsigned short)i,
                              io_uring_buf_ring_mask(S_NBUF), i);
    io_uring_buf_ring_advance(u->br, S_NBUF);
}

static struct io_uring_sqe *s_sqe(s_uring_t *u)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
    if (!sqe) {                         /* full: hand what is queued to the kernel */
        io_uring_submit(&u->ring);
        sqe = io_uring_get_sqe(&u->ring);
    }
    return sqe;
}

static void s_arm_accept(s_uring_t *u)
{
    struct io_uring_sqe *sqe = s_sqe(u);
    io_uring_prep_multishot_accept(sqe, s_lfd, NULL, NULL, 0);
    io_uring_sqe_set_data64(sqe, s_ud(S_ACCEPT, 0));
}

static void s_arm_recv(s_uring_t *u, int fd)
{
    struct io_uring_sqe *sqe = s_sqe(u);
    io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = 1;
    io_uring_sqe_set_data64(sqe, s_ud(S_RECV, fd));
}

static void s_give_back(s_uring_t *u, int bid)
{
    io_uring_buf_ring_add(u->br, u->bufs + (size_t)bid * S_BUFSZ, S_BUFSZ, (unsigned short)bid,
                          io_uring_buf_ring_mask(S_NBUF), (int)u->added++);
}

/* front: 1 (client leg on the ring, upstream leg on epoll), 0 (all on the ring). */
static void s_run_uring(int front)
{
    static s_uring_t u;
    static char ubuf[65536];
    char *answers = front ? malloc((size_t)S_FDS * S_ANSWER) : NULL;
    int ep = front ? epoll_create1(0) : -1;
    s_uring_init(&u);
    s_arm_accept(&u);
    if (front) {
        struct io_uring_sqe *sqe = s_sqe(&u);
        io_uring_prep_poll_multishot(sqe, ep, POLLIN);
        io_uring_sqe_set_data64(sqe, s_ud(S_EPOLL, 0));
    }
    for (;;) {
        io_uring_submit_and_wait(&u.ring, 1);
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        int polled = 0;
        u.added = 0;
        io_uring_for_each_cqe(&u.ring, head, cqe) {
            seen++;
            int kind = (int)(cqe->user_data >> 32), fd = (int)(uint32_t)cqe->user_data;
            int more = (cqe->flags & IORING_CQE_F_MORE) != 0;
            switch (kind) {
            case S_ACCEPT:
                if (cqe->res >= 0 && cqe->res < S_FDS) {
                    int c = cqe->res, one = 1, up = s_up_connect();
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    s_peer[c] = up;
                    s_peer[up] = c;
                    s_arm_recv(&u, c);
                    if (front) {
                        struct epoll_event e = { .events = EPOLLIN | EPOLLET | EPOLLRDHUP,
                                                 .data.fd = up };
                        epoll_ctl(ep, EPOLL_CTL_ADD, up, &e);
                    } else {
                        s_arm_recv(&u, up);
                    }
                }
                if (!more)
                    s_arm_accept(&u);
                break;
            case S_RECV: {
                if (cqe->res <= 0) {
                    if (cqe->res == -ENOBUFS)
                        s_arm_recv(&u, fd);
                    else if (!more) {
                        close(fd);
                        if (front)
                            close(s_peer[fd]);
                    }
                    break;
                }
                int bid = (int)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
                char *b = u.bufs + (size_t)bid * S_BUFSZ;
                if (front) {            /* upstream leg: a system call, as today */
                    (void)send(s_peer[fd], b, (size_t)cqe->res, MSG_DONTWAIT | MSG_NOSIGNAL);
                    s_give_back(&u, bid);
                } else {                /* the buffer goes back when the send is done */
                    struct io_uring_sqe *sqe = s_sqe(&u);
                    io_uring_prep_send(sqe, s_peer[fd], b, (size_t)cqe->res, MSG_NOSIGNAL);
                    io_uring_sqe_set_data64(sqe, s_ud(S_SENT, bid));
                }
                if (!more)
                    s_arm_recv(&u, fd);
                break;
            }
            case S_SENT:
                s_give_back(&u, fd);
                break;
            case S_EPOLL:
                polled = 1;
                if (!more) {
                    struct io_uring_sqe *sqe = s_sqe(&u);
                    io_uring_prep_poll_multishot(sqe, ep, POLLIN);
                    io_uring_sqe_set_data64(sqe, s_ud(S_EPOLL, 0));
                }
                break;
            default:                    /* S_SENT_COPY: nothing to give back */
                break;
            }
        }
        if (u.added)
            io_uring_buf_ring_advance(u.br, (int)u.added);
        io_uring_cq_advance(&u.ring, seen);
        if (!polled)
            continue;
        struct epoll_event evs[128];
        int n = epoll_wait(ep, evs, 128, 0);
        for (int i = 0; i < n; i++) {   /* upstream answers: recv, then a send SQE */
            int up = evs[i].data.fd;
            ssize_t r = recv(up, ubuf, sizeof ubuf, MSG_DONTWAIT);
            if (r <= 0)
                continue;
            if (r > S_ANSWER)
                r = S_ANSWER;
            char *a = answers + (size_t)s_peer[up] * S_ANSWER;
            memcpy(a, ubuf, (size_t)r);
            struct io_uring_sqe *sqe = s_sqe(&u);
            io_uring_prep_send(sqe, s_peer[up], a, (size_t)r, MSG_NOSIGNAL);
            io_uring_sqe_set_data64(sqe, s_ud(S_SENT_COPY, 0));
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[1], "epoll") && strcmp(argv[1], "uring") &&
                      strcmp(argv[1], "front") && strcmp(argv[1], "sends") &&
                      strcmp(argv[1], "late"))) {
        fprintf(stderr, "usage: uring_relay epoll|uring|front|sends|late PORT UPSTREAM_PORT\n");
        return 2;
    }
    s_upport = atoi(argv[3]);
    int epoll_mode = !strcmp(argv[1], "epoll") || !strcmp(argv[1], "sends") ||
                     !strcmp(argv[1], "late"), one = 1;
    s_lfd = socket(AF_INET, SOCK_STREAM | (epoll_mode ? SOCK_NONBLOCK : 0), 0);
    setsockopt(s_lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])),
                              .sin_addr.s_addr = htonl(0x7f000001) };
    if (bind(s_lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(s_lfd, 1024) < 0) {
        perror("listen");
        return 1;
    }
    socklen_t sl = sizeof sa;
    getsockname(s_lfd, (struct sockaddr *)&sa, &sl);
    printf("%d\n", ntohs(sa.sin_port));
    fflush(stdout);
    if (!strcmp(argv[1], "epoll"))
        s_run_epoll();
    else if (!strcmp(argv[1], "sends") || !strcmp(argv[1], "late"))
        s_run_sends(!strcmp(argv[1], "late"));
    else
        s_run_uring(!strcmp(argv[1], "front"));
    return 0;
}
