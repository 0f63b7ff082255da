/*
 * dtx-hop — what one message's hop costs on this machine, apart from dtx:
 * a 100-byte ping-pong between two processes over a raw TCP socket on
 * loopback (one thread wake-up per hop) and over ZeroMQ DEALER sockets
 * (three: the sender's I/O thread, the receiver's I/O thread, the
 * receiver's app thread). docs/operations.md ("where one transaction's
 * time goes at 1 in flight") compares it with dtx's hops.
 *
 *   dtx-hop [--count N] [--gap-us G]
 *
 * N round trips each (default 2000); G µs of idle before each (default 0;
 * 1000 is the chain's rhythm at 1 in flight, where each side idles between
 * messages). Prints, per transport, one line: "tcp|zmq one-way us p10 P
 * p50 P p90 P", half the round trip. Exit 0 after both runs, 1 when a run
 * failed, 2 on bad usage. The child process is always reaped.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#define S_SIZE 100

static double s_now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void s_print(const char *name, double *rt, int n)
{
    qsort(rt, (size_t)n, sizeof *rt, s_cmp);
    printf("%s one-way us p10 %.1f p50 %.1f p90 %.1f\n", name, rt[n / 10] / 2, rt[n / 2] / 2,
           rt[n * 9 / 10] / 2);
}

/* Raw TCP: the parent times, the child echoes. 0, or -1. */
static int s_tcp(int n, int gap, double *rt)
{
    char buf[S_SIZE] = { 0 };
    int one = 1, ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof a;
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 1) != 0 ||
        getsockname(ls, (struct sockaddr *)&a, &alen) != 0)
        return -1;
    pid_t child = fork();
    if (child < 0)
        return -1;
    if (child == 0) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(s, (struct sockaddr *)&a, sizeof a) != 0)
            _exit(1);
        for (int i = 0; i < n; i++)
            if (recv(s, buf, S_SIZE, MSG_WAITALL) != S_SIZE || send(s, buf, S_SIZE, 0) != S_SIZE)
                _exit(1);
        _exit(0);
    }
    int rc = 0, s = accept(ls, NULL, NULL);
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (int i = 0; i < n && s >= 0 && rc == 0; i++) {
        if (gap)
            usleep((useconds_t)gap);
        double t = s_now_us();
        if (send(s, buf, S_SIZE, 0) != S_SIZE || recv(s, buf, S_SIZE, MSG_WAITALL) != S_SIZE)
            rc = -1;
        rt[i] = s_now_us() - t;
    }
    if (s < 0)
        rc = -1;
    close(s);
    close(ls);
    int st = 0;
    waitpid(child, &st, 0);
    return rc == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* ZeroMQ: DEALER to DEALER over tcp on loopback. The fork comes before
 * any context (a context never crosses a fork): the parent binds to a port
 * the kernel picks and passes the endpoint through a pipe. */
static int s_zmq(int n, int gap, double *rt)
{
    char buf[S_SIZE] = { 0 }, ep[64] = "";
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t child = fork();
    if (child < 0)
        return -1;
    if (child == 0) {
        close(fds[1]);
        ssize_t len = read(fds[0], ep, sizeof ep - 1);
        void *ctx = zmq_ctx_new();
        void *c = ctx ? zmq_socket(ctx, ZMQ_DEALER) : NULL;
        if (len <= 0 || !c || zmq_connect(c, ep) != 0)
            _exit(1);
        for (int i = 0; i < n; i++)
            if (zmq_recv(c, buf, S_SIZE, 0) != S_SIZE || zmq_send(c, buf, S_SIZE, 0) != S_SIZE)
                _exit(1);
        zmq_close(c);
        zmq_ctx_term(ctx); /* waits until the last reply has left */
        _exit(0);
    }
    close(fds[0]);
    size_t eplen = sizeof ep;
    void *ctx = zmq_ctx_new();
    void *s = ctx ? zmq_socket(ctx, ZMQ_DEALER) : NULL;
    int rc = s && zmq_bind(s, "tcp://127.0.0.1:*") == 0 &&
                     zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &eplen) == 0 &&
                     write(fds[1], ep, strlen(ep)) == (ssize_t)strlen(ep)
                 ? 0
                 : -1;
    close(fds[1]); /* on failure the child reads nothing and exits */
    for (int i = 0; i < n && rc == 0; i++) {
        if (gap)
            usleep((useconds_t)gap);
        double t = s_now_us();
        if (zmq_send(s, buf, S_SIZE, 0) != S_SIZE || zmq_recv(s, buf, S_SIZE, 0) != S_SIZE)
            rc = -1;
        rt[i] = s_now_us() - t;
    }
    int st = 0;
    waitpid(child, &st, 0);
    int linger = 0;
    if (s) {
        zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
        zmq_close(s);
    }
    if (ctx)
        zmq_ctx_term(ctx);
    return rc == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static long s_num(const char *arg, long min, long max)
{
    char *end = NULL;
    long v = strtol(arg, &end, 10);
    return end && *end == '\0' && end != arg && v >= min && v <= max ? v : -1;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = { { "count", required_argument, NULL, 'n' },
                                          { "gap-us", required_argument, NULL, 'g' },
                                          { NULL, 0, NULL, 0 } };
    long n = 2000, gap = 0;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (o == 'n' && (n = s_num(optarg, 10, 1000000)) > 0)
            continue;
        if (o == 'g' && (gap = s_num(optarg, 0, 1000000)) >= 0)
            continue;
        fprintf(stderr, "usage: dtx-hop [--count N (10..1000000)] [--gap-us G (0..1000000)]\n");
        return 2;
    }
    if (optind != argc) {
        fprintf(stderr, "dtx-hop: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    double *rt = calloc((size_t)n, sizeof *rt);
    if (!rt)
        return 1;
    int rc = 0;
    if (s_tcp((int)n, (int)gap, rt) == 0) {
        s_print("tcp", rt, (int)n);
    } else {
        fprintf(stderr, "dtx-hop: the TCP run failed\n");
        rc = 1;
    }
    if (s_zmq((int)n, (int)gap, rt) == 0) {
        s_print("zmq", rt, (int)n);
    } else {
        fprintf(stderr, "dtx-hop: the ZeroMQ run failed\n");
        rc = 1;
    }
    free(rt);
    return rc;
}
