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
 * Replies are matched to slots by corr: corr = seq << S_SLOT_BITS | slot,
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
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <zmq.h>

#include "dtx/curve.h"
#include "dtx/proto.h"
#include "dtx/types.h"

#define S_SLOT_BITS     20                     /* corr bits naming the slot */
#define S_MAX_SLOTS     (1 << S_SLOT_BITS)
#define S_MAX_SOCKETS   64
#define S_MAX_RESOURCES 8
#define S_PAYLOAD_LEN   64                     /* bytes per TRY */
#define S_DRAIN_PER_SOCKET 256                 /* replies read per socket per turn */
#define S_SCAN_NS       (50 * 1000000LL)       /* reply-timeout scan period */

/* What a slot waits for. */
enum { S_IDLE, S_BEGIN, S_TRY, S_COMMIT, S_ROLLBACK };
/* Steps errors are attributed to (S_TRY is split per resource). */
#define S_STEP_BEGIN  0
#define S_STEP_TRY0   1                        /* + resource index */
#define S_STEP_COMMIT (S_STEP_TRY0 + S_MAX_RESOURCES)
#define S_NSTEPS      (S_STEP_COMMIT + 1)

/* Error kinds: 1..DTX_ERR_MIN are the wire codes of an ERROR reply (-DTX_E*),
 * 0 an ERROR with a code this build does not know, the rest are observed
 * by the bench itself. */
#define S_ERR_WIRE_MAX  (-DTX_ERR_MIN)
#define S_ERR_NOREPLY   (S_ERR_WIRE_MAX + 1)   /* no reply within --reply-timeout-ms */
#define S_ERR_REFUSED   (S_ERR_WIRE_MAX + 2)   /* TRY_OK with a no vote */
#define S_ERR_ABORTED   (S_ERR_WIRE_MAX + 3)   /* COMMIT answered with an abort state */
#define S_ERR_UNEXPECTED (S_ERR_WIRE_MAX + 4)  /* a reply of the wrong type */
#define S_ERR_SEND      (S_ERR_WIRE_MAX + 5)   /* zmq_send failed */
#define S_NERR          (S_ERR_WIRE_MAX + 6)

static const char *const s_err_names[S_NERR] = {
    [0] = "EUNKNOWN",
    [-DTX_EINVAL] = "EINVAL", [-DTX_EPROTO] = "EPROTO", [-DTX_EVERSION] = "EVERSION",
    [-DTX_ENOMEM] = "ENOMEM", [-DTX_ETOOBIG] = "ETOOBIG", [-DTX_ENOTFOUND] = "ENOTFOUND",
    [-DTX_ESTATE] = "ESTATE", [-DTX_ETIMEOUT] = "ETIMEOUT",
    [-DTX_ENOPARTICIPANT] = "ENOPARTICIPANT", [-DTX_EDB] = "EDB", [-DTX_EBUSY] = "EBUSY",
    [-DTX_EIO] = "EIO", [-DTX_EREFUSED] = "EREFUSED", [-DTX_ECONFIG] = "ECONFIG",
    [-DTX_EEXPIRED] = "EEXPIRED", [-DTX_EUNREGISTERED] = "EUNREGISTERED",
    [-DTX_EINTERNAL] = "EINTERNAL", [-DTX_EUNSUPPORTED] = "EUNSUPPORTED",
    [-DTX_EABORTED] = "EABORTED",
    [S_ERR_NOREPLY] = "no_reply", [S_ERR_REFUSED] = "refused", [S_ERR_ABORTED] = "aborted",
    [S_ERR_UNEXPECTED] = "unexpected_reply", [S_ERR_SEND] = "send_failed",
};

/* What an error kind means, for the human report. */
static const char *s_err_text(int kind)
{
    switch (kind) {
    case 0: return "error code unknown to this build";
    case S_ERR_NOREPLY: return "no reply in time";
    case S_ERR_REFUSED: return "the participant voted no";
    case S_ERR_ABORTED: return "commit answered with an abort state";
    case S_ERR_UNEXPECTED: return "reply of an unexpected type";
    case S_ERR_SEND: return "send failed";
    default: return dtx_strerror(-kind);
    }
}

/* One in-flight transaction. */
typedef struct bench_slot {
    int      wait;                   /* S_IDLE, S_BEGIN, ... */
    int      resource;               /* S_TRY: index of the resource tried */
    int      sock;                   /* index of the socket it uses */
    uint64_t corr;                   /* corr of the request awaiting its reply */
    int64_t  begun_ns;               /* BEGIN sent */
    int64_t  sent_ns;                /* current request sent */
    int64_t  step_ns[S_NSTEPS];      /* reply time of each step so far */
    char     gid[DTX_NAME_SIZE];     /* "" before BEGIN_OK */
} bench_slot_t;

typedef struct bench {
    /* options */
    const char *endpoint;                   /* --coordinator */
    int         concurrency;                /* --concurrency */
    double      seconds;                    /* --seconds: measured window */
    double      warmup;                     /* --warmup */
    int         json;                       /* --json */
    int         nsockets;                   /* --sockets */
    int64_t     reply_timeout_ns;           /* --reply-timeout-ms */
    uint32_t    txn_timeout_ms;             /* --txn-timeout-ms (0: coordinator default) */
    const char *resources[S_MAX_RESOURCES]; /* --resource, tried in order */
    int         nresources;
    /* run */
    void         *zctx;
    void         *socks[S_MAX_SOCKETS];
    bench_slot_t *slots;
    uint64_t      next_seq;
    uint8_t      *buf;                      /* DTX_MSG_MAX: encode and receive */
    uint8_t       payload[S_PAYLOAD_LEN];
    int64_t       start_ns, warm_end_ns, meas_end_ns;
    int           draining;                 /* no new transactions */
    int           busy;                     /* slots not idle */
    /* results */
    uint64_t  started;                      /* BEGINs sent */
    uint64_t  finished;                     /* committed + failed, whole run */
    uint64_t  committed_total;              /* whole run */
    uint64_t  committed;                    /* in the measured window */
    uint64_t  errors[S_NSTEPS][S_NERR];     /* whole run */
    uint64_t  errors_total;
    uint64_t  errors_measured;              /* of which in the measured window */
    char      first_text[S_NERR][DTX_TEXT_MAX + 1]; /* first detail seen per kind */
    uint64_t  stale;                        /* replies matching no waiting request */
    uint64_t  malformed;                    /* replies that did not decode */
    uint64_t  rollbacks, rollbacks_failed;  /* cleanup after failures */
    uint32_t *lat_us;                       /* latencies in the measured window */
    size_t    nlat, caplat;
    uint32_t *per_second;                   /* commits in each second of the window */
    int       nseconds;                     /* its length: ceil(--seconds) */
    double    step_sum_ns[S_NSTEPS];        /* per step, over measured commits */
    int       window_open;                  /* the measured window has begun */
    double    cpu_s0, cpu_s1;               /* own CPU seconds at the window's ends */
    int64_t   cpu_ns0, cpu_ns1;             /* when they were read */
} bench_t;

static volatile sig_atomic_t s_interrupted;

static void s_on_signal(int sig)
{
    (void)sig;
    s_interrupted = 1;
}

static int64_t s_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
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

static const char *s_step_name(const bench_t *self, int step, char *buf, size_t len)
{
    if (step == S_STEP_BEGIN)
        return "begin";
    if (step == S_STEP_COMMIT)
        return "commit";
    snprintf(buf, len, "try:%s", self->resources[step - S_STEP_TRY0]);
    return buf;
}

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: dtx-bench --coordinator ENDPOINT [--concurrency C] [--seconds S]\n"
            "                 [--warmup S] [--json] [--sockets N] [--reply-timeout-ms MS]\n"
            "                 [--txn-timeout-ms MS] [--resource NAME]...\n"
            "Keeps C TCC transactions in flight (BEGIN, one TRY \"reserve\" with a %d-byte\n"
            "payload per resource, default noop-a and noop-b, COMMIT) for S seconds after\n"
            "the warmup; prints committed tx/s, latency percentiles and errors by code.\n"
            "Exits 1 when more than 1%% of the transactions failed.\n",
            S_PAYLOAD_LEN);
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
           O_RESOURCE, O_HELP };
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
            if (s_parse_double(optarg, 1, S_MAX_SLOTS - 1, &v) < 0 || v != floor(v)) {
                fprintf(stderr, "dtx-bench: --concurrency wants 1..%d\n", S_MAX_SLOTS - 1);
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
            if (s_parse_double(optarg, 1, S_MAX_SOCKETS, &v) < 0 || v != floor(v)) {
                fprintf(stderr, "dtx-bench: --sockets wants 1..%d\n", S_MAX_SOCKETS);
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
            if (self->nresources == S_MAX_RESOURCES || !dtx_name_valid(optarg)) {
                fprintf(stderr, "dtx-bench: --resource: at most %d valid names "
                                "([A-Za-z0-9._:-], 1..63)\n", S_MAX_RESOURCES);
                return -1;
            }
            self->resources[self->nresources++] = optarg;
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
    if (self->nresources == 0) {
        self->resources[self->nresources++] = "noop-a";
        self->resources[self->nresources++] = "noop-b";
    }
    if (self->nsockets > self->concurrency)
        self->nsockets = self->concurrency;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Accounting                                                          */
/* ------------------------------------------------------------------ */

static int s_in_window(const bench_t *self, int64_t t)
{
    return t >= self->warm_end_ns && t < self->meas_end_ns;
}

static int s_latency_add(bench_t *self, int64_t ns)
{
    if (self->nlat == self->caplat) {
        size_t ncap = self->caplat ? self->caplat * 2 : 65536;
        uint32_t *p = realloc(self->lat_us, ncap * sizeof *p);
        if (!p)
            return -1;
        self->lat_us = p;
        self->caplat = ncap;
    }
    int64_t us = ns / 1000;
    self->lat_us[self->nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
    return 0;
}

static void s_error(bench_t *self, int step, int kind, const char *text, int64_t now)
{
    self->errors[step][kind]++;
    self->errors_total++;
    if (s_in_window(self, now))
        self->errors_measured++;
    if (!self->first_text[kind][0] && text && text[0])
        snprintf(self->first_text[kind], sizeof self->first_text[kind], "%s", text);
}

/* ------------------------------------------------------------------ */
/* Slots                                                               */
/* ------------------------------------------------------------------ */

static void s_slot_start(bench_t *self, int i, int64_t now);

/* Sends the request msg for slot i (corr assigned here). */
static int s_slot_send(bench_t *self, int i, dtx_msg_t *msg, int64_t now)
{
    bench_slot_t *sl = &self->slots[i];
    msg->corr = (self->next_seq++ << S_SLOT_BITS) | (uint64_t)i;
    size_t len = 0;
    int rc = dtx_msg_encode(msg, self->buf, DTX_MSG_MAX, &len);
    if (rc != 0) {
        fprintf(stderr, "dtx-bench: cannot encode %s: %s\n", dtx_msg_type_name(msg->type),
                dtx_strerror(rc));
        return -1;
    }
    if (zmq_send(self->socks[sl->sock], self->buf, len, ZMQ_DONTWAIT) < 0) {
        if (!self->first_text[S_ERR_SEND][0])
            snprintf(self->first_text[S_ERR_SEND], sizeof self->first_text[S_ERR_SEND], "%s",
                     zmq_strerror(errno));
        return -1;
    }
    sl->corr = msg->corr;
    sl->sent_ns = now;
    return 0;
}

/* The slot's transaction is over (committed or failed): free it, and start
 * the next one unless the run is draining. After a failed send the next
 * one waits for the periodic scan instead, so a socket that refuses every
 * send cannot recurse here. */
static void s_slot_done(bench_t *self, int i, int64_t now, int restart)
{
    bench_slot_t *sl = &self->slots[i];
    sl->wait = S_IDLE;
    sl->corr = 0;
    sl->gid[0] = '\0';
    self->busy--;
    if (restart && !self->draining)
        s_slot_start(self, i, now);
}

static void s_slot_rollback(bench_t *self, int i, int64_t now)
{
    bench_slot_t *sl = &self->slots[i];
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_ROLLBACK;
    snprintf(m.gid, sizeof m.gid, "%s", sl->gid);
    self->rollbacks++;
    if (s_slot_send(self, i, &m, now) != 0) {
        self->rollbacks_failed++;
        s_slot_done(self, i, now, 0);
        return;
    }
    sl->wait = S_ROLLBACK;
}

/* Counts a failure of the slot's current step; rolls back when the
 * transaction may still be active, else frees the slot. */
static void s_slot_fail(bench_t *self, int i, int kind, const char *text, int64_t now,
                        int rollback)
{
    bench_slot_t *sl = &self->slots[i];
    int step = sl->wait == S_BEGIN ? S_STEP_BEGIN
             : sl->wait == S_TRY   ? S_STEP_TRY0 + sl->resource
                                   : S_STEP_COMMIT;
    s_error(self, step, kind, text, now);
    self->finished++;
    if (rollback && sl->gid[0]) {
        s_slot_rollback(self, i, now);
        return;
    }
    s_slot_done(self, i, now, kind != S_ERR_SEND);
}

static void s_slot_try(bench_t *self, int i, int64_t now)
{
    bench_slot_t *sl = &self->slots[i];
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_TRY;
    snprintf(m.gid, sizeof m.gid, "%s", sl->gid);
    snprintf(m.resource, sizeof m.resource, "%s", self->resources[sl->resource]);
    snprintf(m.action, sizeof m.action, "reserve");
    m.payload = self->payload;
    m.payload_len = S_PAYLOAD_LEN;
    sl->wait = S_TRY;
    if (s_slot_send(self, i, &m, now) != 0)
        s_slot_fail(self, i, S_ERR_SEND, NULL, now, 1);
}

static void s_slot_commit(bench_t *self, int i, int64_t now)
{
    bench_slot_t *sl = &self->slots[i];
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_COMMIT;
    snprintf(m.gid, sizeof m.gid, "%s", sl->gid);
    sl->wait = S_COMMIT;
    if (s_slot_send(self, i, &m, now) != 0)
        s_slot_fail(self, i, S_ERR_SEND, NULL, now, 1);
}

static void s_slot_start(bench_t *self, int i, int64_t now)
{
    bench_slot_t *sl = &self->slots[i];
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_BEGIN;
    m.mode = DTX_MODE_TCC;
    m.timeout_ms = self->txn_timeout_ms;
    sl->gid[0] = '\0';
    sl->resource = 0;
    sl->begun_ns = now;
    sl->wait = S_BEGIN;
    self->busy++;
    self->started++;
    if (s_slot_send(self, i, &m, now) != 0)
        s_slot_fail(self, i, S_ERR_SEND, NULL, now, 0);
}

/* Handles one decoded reply. */
static void s_on_reply(bench_t *self, const dtx_msg_t *msg, int64_t now)
{
    uint64_t idx = msg->corr & (S_MAX_SLOTS - 1);
    if (idx >= (uint64_t)self->concurrency || self->slots[idx].wait == S_IDLE ||
        self->slots[idx].corr != msg->corr) {
        self->stale++;
        return;
    }
    int i = (int)idx;
    bench_slot_t *sl = &self->slots[i];
    if (sl->wait == S_ROLLBACK) {
        /* Cleanup only: STATE (aborting) or an ERROR both end it. */
        if (msg->type != DTX_MSG_STATE)
            self->rollbacks_failed++;
        s_slot_done(self, i, now, 1);
        return;
    }
    if (msg->type == DTX_MSG_ERROR) {
        uint32_t code = msg->code <= (uint32_t)S_ERR_WIRE_MAX ? msg->code : 0;
        /* A failed BEGIN has no transaction; after a failed COMMIT the
         * coordinator decided or does not know: only a TRY rolls back. */
        s_slot_fail(self, i, (int)code, msg->text, now, sl->wait == S_TRY);
        return;
    }
    int step = sl->wait == S_BEGIN ? S_STEP_BEGIN
             : sl->wait == S_TRY   ? S_STEP_TRY0 + sl->resource
                                   : S_STEP_COMMIT;
    char text[DTX_TEXT_MAX + 1];
    switch (sl->wait) {
    case S_BEGIN:
        if (msg->type != DTX_MSG_BEGIN_OK)
            break;
        snprintf(sl->gid, sizeof sl->gid, "%s", msg->gid);
        sl->step_ns[step] = now - sl->sent_ns;
        s_slot_try(self, i, now);
        return;
    case S_TRY:
        if (msg->type != DTX_MSG_TRY_OK)
            break;
        if (msg->outcome != DTX_OUTCOME_OK) {
            snprintf(text, sizeof text, "gid %s branch %u voted %s, state %s", sl->gid,
                     msg->branch, msg->outcome == DTX_OUTCOME_REFUSED ? "no" : "failed",
                     dtx_state_name(msg->state));
            s_slot_fail(self, i, S_ERR_REFUSED, text, now, 0);
            return;
        }
        sl->step_ns[step] = now - sl->sent_ns;
        if (++sl->resource < self->nresources)
            s_slot_try(self, i, now);
        else
            s_slot_commit(self, i, now);
        return;
    case S_COMMIT:
        if (msg->type != DTX_MSG_STATE)
            break;
        if (msg->state != DTX_STATE_COMMITTING && msg->state != DTX_STATE_COMMITTED) {
            snprintf(text, sizeof text, "gid %s: commit answered state %s", sl->gid,
                     dtx_state_name(msg->state));
            s_slot_fail(self, i, S_ERR_ABORTED, text, now, 0);
            return;
        }
        sl->step_ns[step] = now - sl->sent_ns;
        self->finished++;
        self->committed_total++;
        if (s_in_window(self, now)) {
            self->committed++;
            int64_t sec = (now - self->warm_end_ns) / 1000000000LL;
            if (sec >= 0 && sec < self->nseconds)
                self->per_second[sec]++;
            if (s_latency_add(self, now - sl->begun_ns) != 0) {
                fprintf(stderr, "dtx-bench: out of memory for latency samples\n");
                exit(2);
            }
            self->step_sum_ns[S_STEP_BEGIN] += (double)sl->step_ns[S_STEP_BEGIN];
            for (int r = 0; r < self->nresources; r++)
                self->step_sum_ns[S_STEP_TRY0 + r] += (double)sl->step_ns[S_STEP_TRY0 + r];
            self->step_sum_ns[S_STEP_COMMIT] += (double)sl->step_ns[S_STEP_COMMIT];
        }
        s_slot_done(self, i, now, 1);
        return;
    default:
        break;
    }
    snprintf(text, sizeof text, "got %s (gid %s)", dtx_msg_type_name(msg->type), sl->gid);
    s_slot_fail(self, i, S_ERR_UNEXPECTED, text, now, sl->wait != S_BEGIN);
}

/* Fails every request that has waited longer than the reply timeout, and
 * restarts slots left idle by a failed send. */
static void s_scan(bench_t *self, int64_t now)
{
    for (int i = 0; i < self->concurrency; i++) {
        bench_slot_t *sl = &self->slots[i];
        if (sl->wait == S_IDLE) {
            if (!self->draining)
                s_slot_start(self, i, now);
            continue;
        }
        if (now - sl->sent_ns < self->reply_timeout_ns)
            continue;
        if (sl->wait == S_ROLLBACK) {
            self->rollbacks_failed++;
            s_slot_done(self, i, now, 1);
            continue;
        }
        char text[DTX_TEXT_MAX + 1];
        snprintf(text, sizeof text, "no reply in %lld ms (gid %s)",
                 (long long)(self->reply_timeout_ns / 1000000), sl->gid[0] ? sl->gid : "-");
        s_slot_fail(self, i, S_ERR_NOREPLY, text, now, 1);
    }
}

/* Reads what is waiting on socket s (bounded). */
static void s_drain_socket(bench_t *self, int s)
{
    for (int n = 0; n < S_DRAIN_PER_SOCKET; n++) {
        int len = zmq_recv(self->socks[s], self->buf, DTX_MSG_MAX, ZMQ_DONTWAIT);
        if (len < 0)
            return;
        int more = 0;
        size_t more_size = sizeof more;
        zmq_getsockopt(self->socks[s], ZMQ_RCVMORE, &more, &more_size);
        int bad = more || (size_t)len > DTX_MSG_MAX;
        while (more) {
            uint8_t sink;
            if (zmq_recv(self->socks[s], &sink, sizeof sink, ZMQ_DONTWAIT) < 0)
                break;
            more_size = sizeof more;
            zmq_getsockopt(self->socks[s], ZMQ_RCVMORE, &more, &more_size);
        }
        dtx_msg_t msg;
        char why[160];
        if (bad || dtx_msg_decode(&msg, self->buf, (size_t)len, why, sizeof why) != 0) {
            if (self->malformed++ == 0)
                fprintf(stderr, "dtx-bench: malformed reply dropped: %s\n",
                        bad ? "several frames or too big" : why);
            continue;
        }
        s_on_reply(self, &msg, s_now_ns());
    }
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
    for (int i = 0; i < S_PAYLOAD_LEN; i++)
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
            zmq_connect(sock, self->endpoint) != 0) {
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
    zmq_pollitem_t items[S_MAX_SOCKETS];
    for (int s = 0; s < self->nsockets; s++)
        items[s] = (zmq_pollitem_t){ .socket = self->socks[s], .events = ZMQ_POLLIN };
    int64_t now = s_now_ns();
    self->start_ns = now;
    self->warm_end_ns = now + (int64_t)(self->warmup * 1e9);
    self->meas_end_ns = self->warm_end_ns + (int64_t)(self->seconds * 1e9);
    int64_t drain_end = self->meas_end_ns + self->reply_timeout_ns + 1000000000LL;
    int64_t next_scan = now + S_SCAN_NS;
    for (int i = 0; i < self->concurrency; i++)
        s_slot_start(self, i, now);
    for (;;) {
        now = s_now_ns();
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
        int n = zmq_poll(items, self->nsockets, wait_ms);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "dtx-bench: poll: %s\n", zmq_strerror(errno));
            return -1;
        }
        for (int s = 0; s < self->nsockets && n > 0; s++)
            if (items[s].revents & ZMQ_POLLIN)
                s_drain_socket(self, s);
        now = s_now_ns();
        if (now >= next_scan) {
            s_scan(self, now);
            next_scan = now + S_SCAN_NS;
        }
    }
    if (self->busy > 0) {
        /* Cannot happen (every request times out before drain_end); kept
         * so that a bug shows as errors, not as silence. */
        for (int i = 0; i < self->concurrency; i++)
            if (self->slots[i].wait != S_IDLE && self->slots[i].wait != S_ROLLBACK)
                s_slot_fail(self, i, S_ERR_NOREPLY, "still waiting at the end of the drain",
                            now, 0);
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Report                                                              */
/* ------------------------------------------------------------------ */

static int s_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile in ms of the sorted samples (0 when none). */
static double s_pct_ms(const bench_t *self, double p)
{
    if (self->nlat == 0)
        return 0;
    size_t rank = (size_t)ceil(p * (double)self->nlat);
    if (rank < 1)
        rank = 1;
    return self->lat_us[rank - 1] / 1000.0;
}

static void s_report(bench_t *self)
{
    qsort(self->lat_us, self->nlat, sizeof *self->lat_us, s_cmp_u32);
    double window_s = (double)(self->meas_end_ns - self->warm_end_ns) / 1e9;
    double tps = window_s > 0 ? (double)self->committed / window_s : 0;
    double mean = 0;
    for (size_t i = 0; i < self->nlat; i++)
        mean += self->lat_us[i];
    mean = self->nlat ? mean / (double)self->nlat / 1000.0 : 0;
    double rate = self->finished ? (double)self->errors_total / (double)self->finished : 0;
    double step_ms[S_NSTEPS];
    for (int s = 0; s < S_NSTEPS; s++)
        step_ms[s] = self->committed ? self->step_sum_ns[s] / (double)self->committed / 1e6 : 0;
    char name[96];
    /* Whole seconds only (the last one is partial when --seconds is not
     * whole, or cut short by an interrupt). */
    int whole = (int)floor(window_s);
    if (whole > self->nseconds)
        whole = self->nseconds;
    double cpu_pct = self->cpu_ns1 > self->cpu_ns0
                         ? (self->cpu_s1 - self->cpu_s0) * 100 / ((double)(self->cpu_ns1 - self->cpu_ns0) / 1e9)
                         : 0;
    uint32_t sec_min = 0, sec_max = 0;
    for (int i = 0; i < whole; i++) {
        if (i == 0 || self->per_second[i] < sec_min)
            sec_min = self->per_second[i];
        if (self->per_second[i] > sec_max)
            sec_max = self->per_second[i];
    }

    /* Errors are always printed, to stderr in JSON mode. */
    FILE *out = self->json ? stderr : stdout;
    if (!self->json || self->errors_total || self->malformed || self->rollbacks_failed) {
        fprintf(out, "dtx-bench: %" PRIu64 " error(s) in %" PRIu64 " finished transactions "
                     "(%.2f%%; %" PRIu64 " in the measured window)\n",
                self->errors_total, self->finished, rate * 100, self->errors_measured);
        for (int s = 0; s < S_NSTEPS; s++)
            for (int k = 0; k < S_NERR; k++)
                if (self->errors[s][k])
                    fprintf(out, "  %-14s %-16s %10" PRIu64 "  %s%s%s\n",
                            s_step_name(self, s, name, sizeof name), s_err_names[k],
                            self->errors[s][k], s_err_text(k),
                            self->first_text[k][0] ? "; e.g. " : "", self->first_text[k]);
        if (self->stale || self->malformed || self->rollbacks)
            fprintf(out, "  stale replies %" PRIu64 ", malformed replies %" PRIu64
                         ", rollbacks sent %" PRIu64 " (%" PRIu64 " failed)\n",
                    self->stale, self->malformed, self->rollbacks, self->rollbacks_failed);
    }
    if (self->json) {
        printf("{\"concurrency\":%d,\"seconds\":%.3f,\"warmup\":%.3f,\"sockets\":%d,"
               "\"committed\":%" PRIu64 ",\"tps\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
               "\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,\"mean_ms\":%.3f,"
               "\"step_mean_ms\":{\"begin\":%.3f",
               self->concurrency, window_s, self->warmup, self->nsockets, self->committed, tps,
               s_pct_ms(self, 0.50), s_pct_ms(self, 0.90), s_pct_ms(self, 0.99),
               s_pct_ms(self, 0.999), s_pct_ms(self, 1.0), mean, step_ms[S_STEP_BEGIN]);
        for (int r = 0; r < self->nresources; r++)
            printf(",\"try:%s\":%.3f", self->resources[r], step_ms[S_STEP_TRY0 + r]);
        printf(",\"commit\":%.3f},\"started\":%" PRIu64 ",\"finished\":%" PRIu64
               ",\"committed_total\":%" PRIu64 ",\"errors_total\":%" PRIu64
               ",\"errors_measured\":%" PRIu64 ",\"error_rate\":%.6f,\"errors\":{",
               step_ms[S_STEP_COMMIT], self->started, self->finished, self->committed_total,
               self->errors_total, self->errors_measured, rate);
        int first = 1;
        for (int s = 0; s < S_NSTEPS; s++)
            for (int k = 0; k < S_NERR; k++)
                if (self->errors[s][k]) {
                    printf("%s\"%s/%s\":%" PRIu64, first ? "" : ",",
                           s_step_name(self, s, name, sizeof name), s_err_names[k],
                           self->errors[s][k]);
                    first = 0;
                }
        printf("},\"stale\":%" PRIu64 ",\"malformed\":%" PRIu64 ",\"rollbacks\":%" PRIu64
               ",\"rollbacks_failed\":%" PRIu64 ",\"tps_min_1s\":%" PRIu32
               ",\"tps_max_1s\":%" PRIu32 ",\"cpu_pct\":%.1f,\"per_second\":[",
               self->stale, self->malformed, self->rollbacks, self->rollbacks_failed, sec_min,
               sec_max, cpu_pct);
        for (int i = 0; i < whole; i++)
            printf("%s%" PRIu32, i ? "," : "", self->per_second[i]);
        printf("]}\n");
        fflush(stdout);
        return;
    }
    printf("dtx-bench: concurrency %d over %d socket(s), %.1f s measured after %.1f s warmup\n",
           self->concurrency, self->nsockets, window_s, self->warmup);
    printf("  committed     %" PRIu64 " (%.1f tx/s); %" PRIu64 " in the whole run\n",
           self->committed, tps, self->committed_total);
    printf("  per second    min %" PRIu32 "  max %" PRIu32 " tx (whole seconds of the window)\n",
           sec_min, sec_max);
    printf("  latency ms    p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  mean %.3f\n",
           s_pct_ms(self, 0.50), s_pct_ms(self, 0.90), s_pct_ms(self, 0.99),
           s_pct_ms(self, 0.999), s_pct_ms(self, 1.0), mean);
    printf("  own CPU       %.1f%% of one CPU over the window\n", cpu_pct);
    printf("  step means ms begin %.3f", step_ms[S_STEP_BEGIN]);
    for (int r = 0; r < self->nresources; r++)
        printf("  try:%s %.3f", self->resources[r], step_ms[S_STEP_TRY0 + r]);
    printf("  commit %.3f\n", step_ms[S_STEP_COMMIT]);
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
    s_report(&self);
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
