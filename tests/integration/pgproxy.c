/*
 * tests/integration/pgproxy.c — see pgproxy.h.
 *
 * One thread owns every descriptor: the listening socket (only while up),
 * the pairs (client, server) it forwards between, and the read end of the
 * control pipe through which the test's thread asks for up / down / quit;
 * each command is acknowledged on a second pipe once done, so when
 * u_pgproxy_down returns the outage has begun.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../harness/harness.h"
#include "pgproxy.h"

#define S_PAIRS 64

struct u_pgproxy {
    char        dir[H_CONNINFO_SIZE];     /* the proxy's socket directory */
    char        path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* its socket */
    char        target[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* the server's */
    int         ctl[2];                   /* commands: test -> thread */
    int         ack[2];                   /* done: thread -> test */
    pthread_t   thread;
    int         started;
    atomic_int  accepted;
    /* Owned by the thread. */
    int         listen_fd;
    int64_t     up_at_ms;                 /* pending delayed up, 0: none */
    int         pair[S_PAIRS][2];         /* client, server; -1 when free */
};

typedef struct {
    char op;                              /* 'u' up, 'd' down, 'q' quit */
    int  after_ms;
} s_cmd_t;

static void s_close_pair(u_pgproxy_t *self, int i)
{
    for (int k = 0; k < 2; k++) {
        if (self->pair[i][k] >= 0)
            close(self->pair[i][k]);
        self->pair[i][k] = -1;
    }
}

static void s_do_down(u_pgproxy_t *self)
{
    if (self->listen_fd >= 0)
        close(self->listen_fd);
    self->listen_fd = -1;
    unlink(self->path);
    for (int i = 0; i < S_PAIRS; i++)
        s_close_pair(self, i);
}

static void s_do_up(u_pgproxy_t *self)
{
    self->up_at_ms = 0;
    if (self->listen_fd >= 0)
        return;
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof a.sun_path, "%s", self->path);
    unlink(self->path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0) {
        fprintf(stderr, "pgproxy: cannot listen on %s: %s\n", self->path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return;
    }
    self->listen_fd = fd;
}

static void s_accept(u_pgproxy_t *self)
{
    int c = accept4(self->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0)
        return;
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof a.sun_path, "%s", self->target);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int slot = -1;
    for (int i = 0; i < S_PAIRS && slot < 0; i++)
        if (self->pair[i][0] < 0)
            slot = i;
    if (s < 0 || slot < 0 || connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        if (s >= 0)
            close(s);
        close(c);
        return;
    }
    self->pair[slot][0] = c;
    self->pair[slot][1] = s;
    atomic_fetch_add(&self->accepted, 1);
}

/* Moves what is waiting on pair[i][from] to the other side; 0, or -1
 * when that connection ended. */
static int s_forward(u_pgproxy_t *self, int i, int from)
{
    char buf[65536];
    ssize_t n = read(self->pair[i][from], buf, sizeof buf);
    if (n <= 0)
        return -1;
    for (ssize_t off = 0; off < n;) {
        ssize_t w = write(self->pair[i][!from], buf + off, (size_t)(n - off));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        off += w;
    }
    return 0;
}

static void *s_run(void *arg)
{
    u_pgproxy_t *self = arg;
    for (;;) {
        struct pollfd p[2 + 2 * S_PAIRS];
        int idx[2 + 2 * S_PAIRS];
        int n = 0;
        p[n].fd = self->ctl[0];
        p[n].events = POLLIN;
        idx[n++] = -1;
        if (self->listen_fd >= 0) {
            p[n].fd = self->listen_fd;
            p[n].events = POLLIN;
            idx[n++] = -2;
        }
        for (int i = 0; i < S_PAIRS; i++)
            for (int k = 0; k < 2 && self->pair[i][0] >= 0; k++) {
                p[n].fd = self->pair[i][k];
                p[n].events = POLLIN;
                idx[n++] = i * 2 + k;
            }
        int timeout = -1;
        if (self->up_at_ms) {
            int64_t left = self->up_at_ms - h_now_ms();
            timeout = left < 0 ? 0 : (int)left;
        }
        int r = poll(p, (nfds_t)n, timeout);
        if (r < 0 && errno != EINTR)
            break;
        if (self->up_at_ms && h_now_ms() >= self->up_at_ms)
            s_do_up(self);
        if (r <= 0)
            continue;
        for (int j = 1; j < n; j++) {
            if (!p[j].revents)
                continue;
            if (idx[j] == -2) {
                if (self->listen_fd >= 0)
                    s_accept(self);
                continue;
            }
            int i = idx[j] / 2, k = idx[j] % 2;
            if (self->pair[i][k] == p[j].fd && s_forward(self, i, k) != 0)
                s_close_pair(self, i);
        }
        if (p[0].revents) {
            s_cmd_t cmd;
            if (read(self->ctl[0], &cmd, sizeof cmd) != (ssize_t)sizeof cmd)
                break;
            if (cmd.op == 'q') {
                s_do_down(self);
                char done = 1;
                (void)!write(self->ack[1], &done, 1);
                return NULL;
            }
            if (cmd.op == 'd')
                s_do_down(self);
            else if (cmd.after_ms <= 0)
                s_do_up(self);
            else
                self->up_at_ms = h_now_ms() + cmd.after_ms;
            char done = 1;
            (void)!write(self->ack[1], &done, 1);
        }
    }
    s_do_down(self);
    return NULL;
}

static int s_command(u_pgproxy_t *self, char op, int after_ms)
{
    s_cmd_t cmd = { op, after_ms };
    char done;
    if (write(self->ctl[1], &cmd, sizeof cmd) != (ssize_t)sizeof cmd ||
        read(self->ack[0], &done, 1) != 1)
        return -1;
    return 0;
}

u_pgproxy_t *u_pgproxy_new(const char *name)
{
    if (h_init() < 0)
        return NULL;
    u_pgproxy_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->listen_fd = -1;
    self->ctl[0] = self->ctl[1] = self->ack[0] = self->ack[1] = -1;
    for (int i = 0; i < S_PAIRS; i++)
        self->pair[i][0] = self->pair[i][1] = -1;
    if (h_scratch_path(name, self->dir, sizeof self->dir) < 0)
        goto err;
    mkdir(self->dir, 0755);
    int n1 = snprintf(self->path, sizeof self->path, "%s/.s.PGSQL.%d", self->dir, h_pgport());
    int n2 = snprintf(self->target, sizeof self->target, "%s/.s.PGSQL.%d", h_pghost(),
                      h_pgport());
    if (n1 < 0 || (size_t)n1 >= sizeof self->path || n2 < 0 ||
        (size_t)n2 >= sizeof self->target) {
        fprintf(stderr, "pgproxy: socket path too long under %s\n", self->dir);
        goto err;
    }
    unlink(self->path); /* a previous run's: down means no file */
    if (pipe2(self->ctl, O_CLOEXEC) != 0 || pipe2(self->ack, O_CLOEXEC) != 0 ||
        pthread_create(&self->thread, NULL, s_run, self) != 0)
        goto err;
    self->started = 1;
    return self;
err:
    u_pgproxy_destroy(&self);
    return NULL;
}

int u_pgproxy_conninfo(const u_pgproxy_t *self, const char *dbname, char *out, size_t cap)
{
    char real[64];
    if (h_db_name(dbname, real, sizeof real) < 0)
        return -1;
    int n = snprintf(out, cap, "host=%s port=%d user=postgres dbname=%s", self->dir,
                     h_pgport(), real);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int u_pgproxy_up(u_pgproxy_t *self, int after_ms)
{
    return s_command(self, 'u', after_ms);
}

int u_pgproxy_down(u_pgproxy_t *self)
{
    return s_command(self, 'd', 0);
}

int u_pgproxy_accepted(const u_pgproxy_t *self)
{
    return atomic_load(&((u_pgproxy_t *)self)->accepted);
}

void u_pgproxy_destroy(u_pgproxy_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    u_pgproxy_t *self = *self_p;
    if (self->started) {
        s_command(self, 'q', 0);
        pthread_join(self->thread, NULL);
    }
    for (int i = 0; i < 2; i++) {
        if (self->ctl[i] >= 0)
            close(self->ctl[i]);
        if (self->ack[i] >= 0)
            close(self->ack[i]);
    }
    free(self);
    *self_p = NULL;
}
