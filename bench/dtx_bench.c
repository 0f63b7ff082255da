/*
 * dtx-bench — closed-loop load generator for dtxd.
 *
 * It speaks the wire protocol (dtx/proto.h) itself, over a few DEALER
 * sockets, instead of using the blocking dtx_client: one process keeps
 * exactly --concurrency transactions in flight. Each in-flight
 * transaction is a slot that runs, one request at a time:
 *
 *   [idle] --BEGIN(tcc)--> [begin] --BEGIN_OK--> [try r1] --TRY_OK yes--> ...
 *     ^                                                 [try rN] --TRY_OK yes--> [commit]
 *     |                                                                            |
 *     +---------------- STATE committing/committed: one commit, restart -----------+
 *     |
 *     +-- any failure (ERROR, no vote, no reply in time, wrong reply): one error
 *         counted by step and code; when the transaction may still be active
 *         (the coordinator did not decide abort itself) a ROLLBACK is sent
 *         first and its reply, whatever it is, frees the slot.
 *
 * With --try-many the tries of every resource go in one TRY_MANY
 * (docs/protocol.md §18, version 2) answered by one TRY_MANY_OK: BEGIN,
 * TRY_MANY, COMMIT — three round trips instead of 2 + N. With --tcc-run
 * the whole transaction is one TCC_RUN (§19) that commits when every vote
 * is yes, answered by one TRY_MANY_OK: one round trip; its latency is
 * TCC_RUN sent -> that answer.
 *
 * Replies are matched to slots by corr: corr = seq << BENCH_SLOT_BITS | slot,
 * seq only grows, so a late reply to a request that timed out matches
 * nothing and is counted as stale, never taken for a newer request.
 *
 * Time line: [0, warmup) warmup, [warmup, warmup + seconds) measured, then
 * no new transactions start and the ones in flight are drained. A
 * transaction counts in the measured window when its COMMIT reply arrives
 * inside it; its latency is BEGIN sent -> COMMIT reply. Errors are counted
 * and printed whenever they happen (warmup and drain included).
 *
 * Exit status: 0; 1 when more than 1% of finished transactions failed or
 * none committed; 2 on bad usage or setup failure.
 *
 * The code: this file (options, the run, main), bench_slots.c (the slots,
 * their replies and accounting), bench_report.c (the report).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <zmq.h>

#include "dtx/curve.h"
#include "dtx/zpoll.h"
#include "bench_report.h"
#include "bench_slots.h"

static volatile sig_atomic_t s_interrupted;

static void s_on_signal(int sig)
{
    (void)sig;
    s_interrupted = 1;
}

/* CPU seconds (user + system, every thread) this process has used. */
static double s_cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: dtx-bench --coordinator ENDPOINT [--concurrency C] [--seconds S]\n"
            "                 [--warmup S] [--json] [--sockets N] [--reply-timeout-ms MS]\n"
            "                 [--txn-timeout-ms MS] [--resource NAME]... [--try-many | --tcc-run]\n"
            "Keeps C TCC transactions in flight (BEGIN, one TRY \"reserve\" with a %d-byte\n"
            "payload per resource, default noop-a and noop-b, COMMIT) for S seconds after\n"
            "the warmup (--try-many: every TRY in one TRY_MANY; --tcc-run: the whole\n"
            "transaction in one TCC_RUN that commits itself); prints committed tx/s, latency percentiles and errors by code.\n"
            "Exits 1 when more than 1%% of the transactions failed.\n",
            BENCH_PAYLOAD_LEN);
}

static int s_parse_double(const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= min && v <= max))
        return -1;
    *out = v;
    return 0;
}

/* Returns 0, 1 after --help, -1 on bad usage (message printed). */
static int s_parse(bench_t *self, int argc, char **argv)
{
    enum { O_COORD = 1, O_CONC, O_SECONDS, O_WARMUP, O_JSON, O_SOCKETS, O_REPLY_TO, O_TXN_TO,
           O_RESOURCE, O_TRY_MANY, O_TCC_RUN, O_HELP };
    static const struct option opts[] = {
        { "coordinator", required_argument, NULL, O_COORD },
        { "concurrency", required_argument, NULL, O_CONC },
        { "seconds", required_argument, NULL, O_SECONDS },
        { "warmup", required_argument, NULL, O_WARMUP },
        { "json", no_argument, NULL, O_JSON },
        { "sockets", required_argument, NULL, O_SOCKETS },
        { "reply-timeout-ms", required_argument, NULL, O_REPLY_TO },
        { "txn-timeout-ms", required_argument, NULL, O_TXN_TO },
        { "resource", required_argument, NULL, O_RESOURCE },
        { "try-many", no_argument, NULL, O_TRY_MANY },
        { "tcc-run", no_argument, NULL, O_TCC_RUN },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    self->concurrency = 16;
    self->seconds = 10;
    self->warmup = 2;
    self->nsockets = 4;
    self->reply_timeout_ns = 10000LL * 1000000LL;
    int c;
    double v;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_COORD:
            self->endpoint = optarg;
            break;
        case O_CONC:
            if (s_parse_double(optarg, 1, BENCH_MAX_SLOTS - 1, &v) < 0 || v != floor(v)) {
                fprintf(stderr, "dtx-bench: --concurrency wants 1..%d\n", BENCH_MAX_SLOTS - 1);
                return -1;
            }
            self->concurrency = (int)v;
            break;
        case O_SECONDS:
            if (s_parse_double(optarg, 0.1, 86400, &self->seconds) < 0) {
                fprintf(stderr, "dtx-bench: --seconds wants 0.1..86400\n");
                return -1;
            }
            break;
        case O_WARMUP:
            if (s_parse_double(optarg, 0, 3600, &self->warmup) < 0) {
                fprintf(stderr, "dtx-bench: --warmup wants 0..3600 seconds\n");
                return -1;
            }
            break;
        case O_JSON:
            self->json = 1;
            break;
        case O_SOCKETS:
            if (s_parse_double(optarg, 1, BENCH_MAX_SOCKETS, &v) < 0 || v != floor(v)) {
                fprintf(stderr, "dtx-bench: --sockets wants 1..%d\n", BENCH_MAX_SOCKETS);
                return -1;
            }
            self->nsockets = (int)v;
            break;
        case O_REPLY_TO:
            if (s_parse_double(optarg, 1, 3600000, &v) < 0) {
                fprintf(stderr, "dtx-bench: --reply-timeout-ms wants 1..3600000\n");
                return -1;
            }
            self->reply_timeout_ns = (int64_t)(v * 1e6);
            break;
        case O_TXN_TO:
            if (s_parse_double(optarg, 0, 86400000, &v) < 0 || v != floor(v)) {
                fprintf(stderr, "dtx-bench: --txn-timeout-ms wants 0..86400000\n");
                return -1;
            }
            self->txn_timeout_ms = (uint32_t)v;
            break;
        case O_RESOURCE:
            if (self->nresources == BENCH_MAX_RESOURCES || !dtx_name_valid(optarg)) {
                fprintf(stderr, "dtx-bench: --resource: at most %d valid names "
                                "([A-Za-z0-9._:-], 1..63)\n", BENCH_MAX_RESOURCES);
                return -1;
            }
            self->resources[self->nresources++] = optarg;
            break;
        case O_TRY_MANY:
            self->try_many = 1;
            break;
        case O_TCC_RUN:
            self->tcc_run = 1;
            break;
        case O_HELP:
            s_usage(stdout);
            return 1;
        default:
            s_usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "dtx-bench: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (!self->endpoint) {
        fprintf(stderr, "dtx-bench: --coordinator is required\n");
        s_usage(stderr);
        return -1;
    }
    if (self->try_many && self->tcc_run) {
        fprintf(stderr, "dtx-bench: --try-many and --tcc-run are two ways to run a transaction: "
                        "choose one\n");
        return -1;
    }
    if (self->nresources == 0) {
        self->resources[self->nresources++] = "noop-a";
        self->resources[self->nresources++] = "noop-b";
    }
    if (self->nsockets > self->concurrency)
        self->nsockets = self->concurrency;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Run                                                                 */
/* ------------------------------------------------------------------ */

static int s_setup(bench_t *self)
{
    self->buf = malloc(DTX_MSG_MAX);
    self->slots = calloc((size_t)self->concurrency, sizeof *self->slots);
    self->nseconds = (int)ceil(self->seconds);
    self->per_second = calloc((size_t)self->nseconds, sizeof *self->per_second);
    if (!self->buf || !self->slots || !self->per_second) {
        fprintf(stderr, "dtx-bench: out of memory\n");
        return -1;
    }
    for (int i = 0; i < BENCH_PAYLOAD_LEN; i++)
        self->payload[i] = (uint8_t)(0xA5 ^ i);
    self->next_seq = 1;
    self->zctx = zmq_ctx_new();
    if (!self->zctx) {
        fprintf(stderr, "dtx-bench: zmq_ctx_new: %s\n", zmq_strerror(errno));
        return -1;
    }
    /* CURVE as libdtx does it: the key file named by DTX_CURVE_KEY_FILE. */
    dtx_curve_keys_t keys;
    const char *key_file = getenv("DTX_CURVE_KEY_FILE");
    int curve = key_file && *key_file;
    if (curve) {
        char err[256];
        if (dtx_curve_keys_load(key_file, &keys, err, sizeof err) != 0) {
            fprintf(stderr, "dtx-bench: DTX_CURVE_KEY_FILE: %s\n", err);
            return -1;
        }
    }
    for (int s = 0; s < self->nsockets; s++) {
        void *sock = zmq_socket(self->zctx, ZMQ_DEALER);
        int linger = 0, hwm = 0; /* 0: no limit; the loop never has more than C queued */
        if (!sock || zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
            zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
            zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
            (curve && dtx_curve_apply_client(sock, &keys) != 0) ||
            zmq_connect(sock, self->endpoint) != 0 ||
            zmq_getsockopt(sock, ZMQ_FD, &self->sock_fd[s], &(size_t){ sizeof(int) }) != 0) {
            fprintf(stderr, "dtx-bench: cannot connect to %s: %s\n", self->endpoint,
                    zmq_strerror(errno));
            if (sock)
                zmq_close(sock);
            return -1;
        }
        self->socks[s] = sock;
    }
    for (int i = 0; i < self->concurrency; i++)
        self->slots[i].sock = i % self->nsockets;
    return 0;
}

static void s_teardown(bench_t *self)
{
    for (int s = 0; s < self->nsockets; s++)
        if (self->socks[s])
            zmq_close(self->socks[s]);
    if (self->zctx)
        zmq_ctx_term(self->zctx);
    free(self->slots);
    free(self->per_second);
    free(self->buf);
    free(self->lat_us);
}

static int s_run(bench_t *self)
{
    zmq_pollitem_t items[BENCH_MAX_SOCKETS];
    int64_t now = bench_now_ns();
    self->start_ns = now;
    self->warm_end_ns = now + (int64_t)(self->warmup * 1e9);
    self->meas_end_ns = self->warm_end_ns + (int64_t)(self->seconds * 1e9);
    int64_t drain_end = self->meas_end_ns + self->reply_timeout_ns + 1000000000LL;
    int64_t next_scan = now + BENCH_SCAN_NS;
    for (int i = 0; i < self->concurrency; i++)
        bench_slot_start(self, i, now);
    for (;;) {
        now = bench_now_ns();
        if (s_interrupted && !self->draining) {
            fprintf(stderr, "dtx-bench: interrupted; draining\n");
            if (self->meas_end_ns > now)
                self->meas_end_ns = now > self->warm_end_ns ? now : self->warm_end_ns;
            drain_end = now + self->reply_timeout_ns + 1000000000LL;
        }
        if (!self->window_open && now >= self->warm_end_ns) {
            self->window_open = 1;
            self->cpu_s0 = s_cpu_seconds();
            self->cpu_ns0 = now;
        }
        if (!self->draining && now >= self->meas_end_ns) {
            self->draining = 1;
            self->cpu_s1 = s_cpu_seconds();
            self->cpu_ns1 = now;
        }
        if (self->draining && (self->busy == 0 || now >= drain_end))
            break;
        int64_t wait_ns = next_scan - now;
        if (!self->draining && self->meas_end_ns - now < wait_ns)
            wait_ns = self->meas_end_ns - now;
        long wait_ms = wait_ns <= 0 ? 0 : (long)((wait_ns + 999999) / 1000000);
        for (int s = 0; s < self->nsockets; s++)
            items[s] = self->drained[s] && self->calls[s] == self->drained_at[s]
                           ? (zmq_pollitem_t){ .fd = self->sock_fd[s], .events = ZMQ_POLLIN }
                           : (zmq_pollitem_t){ .socket = self->socks[s], .events = ZMQ_POLLIN };
        int n = dtx_zpoll(items, self->nsockets, wait_ms);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "dtx-bench: poll: %s\n", zmq_strerror(errno));
            return -1;
        }
        for (int s = 0; s < self->nsockets; s++) {
            if (items[s].revents & ZMQ_POLLIN) {
                bench_drain_socket(self, s);
            } else if (items[s].socket) { /* ZMQ_EVENTS found it empty */
                self->drained[s] = 1;
                self->drained_at[s] = self->calls[s];
            }
        }
        now = bench_now_ns();
        if (now >= next_scan) {
            bench_scan(self, now);
            next_scan = now + BENCH_SCAN_NS;
        }
    }
    if (self->busy > 0) {
        /* Cannot happen (every request times out before drain_end); kept
         * so that a bug shows as errors, not as silence. */
        for (int i = 0; i < self->concurrency; i++)
            if (self->slots[i].wait != BENCH_IDLE && self->slots[i].wait != BENCH_ROLLBACK)
                bench_slot_fail(self, i, BENCH_ERR_NOREPLY, "still waiting at the end of the drain",
                                now, 0);
    }
    return 0;
}

int main(int argc, char **argv)
{
    bench_t self;
    memset(&self, 0, sizeof self);
    int rc = s_parse(&self, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (s_setup(&self) != 0 || s_run(&self) != 0) {
        s_teardown(&self);
        return 2;
    }
    bench_report(&self);
    rc = 0;
    if (self.committed == 0) {
        fprintf(stderr, "dtx-bench: no transaction committed in the measured window\n");
        rc = 1;
    }
    if (self.errors_total * 100 > self.finished) {
        fprintf(stderr, "dtx-bench: more than 1%% of the transactions failed\n");
        rc = 1;
    }
    s_teardown(&self);
    return rc;
}
