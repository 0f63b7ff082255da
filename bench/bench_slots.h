/*
 * bench_slots.h — dtx-bench's state and its slots (bench_slots.c): the
 * limits, a slot (one in-flight transaction), the bench's options, run
 * state and results, and what the run (dtx_bench.c) calls on the slots.
 * The report is bench_report.h.
 */
#ifndef BENCH_SLOTS_H
#define BENCH_SLOTS_H

#include <stddef.h>
#include <stdint.h>

#include "dtx/proto.h"
#include "dtx/types.h"

#define BENCH_SLOT_BITS        20                   /* corr bits naming the slot */
#define BENCH_MAX_SLOTS        (1 << BENCH_SLOT_BITS)
#define BENCH_MAX_SOCKETS      64
#define BENCH_MAX_RESOURCES    8
#define BENCH_PAYLOAD_LEN      64                   /* bytes per TRY */
#define BENCH_DRAIN_PER_SOCKET 256                  /* replies read per socket per turn */
#define BENCH_SCAN_NS          (50 * 1000000LL)     /* reply-timeout scan period */

/* What a slot waits for. */
enum { BENCH_IDLE, BENCH_BEGIN, BENCH_TRY, BENCH_COMMIT, BENCH_ROLLBACK };
/* Steps errors are attributed to (BENCH_TRY is split per resource). */
#define BENCH_STEP_BEGIN       0
#define BENCH_STEP_TRY0        1                    /* + resource index */
#define BENCH_STEP_COMMIT      (BENCH_STEP_TRY0 + BENCH_MAX_RESOURCES)
#define BENCH_NSTEPS           (BENCH_STEP_COMMIT + 1)

/* Error kinds: 1..DTX_ERR_MIN are the wire codes of an ERROR reply (-DTX_E*),
 * 0 an ERROR with a code this build does not know, the rest are observed
 * by the bench itself. */
#define BENCH_ERR_WIRE_MAX     (-DTX_ERR_MIN)
#define BENCH_ERR_NOREPLY      (BENCH_ERR_WIRE_MAX + 1) /* no reply within --reply-timeout-ms */
#define BENCH_ERR_REFUSED      (BENCH_ERR_WIRE_MAX + 2) /* TRY_OK with a no vote */
#define BENCH_ERR_ABORTED      (BENCH_ERR_WIRE_MAX + 3) /* COMMIT answered with an abort state */
#define BENCH_ERR_UNEXPECTED   (BENCH_ERR_WIRE_MAX + 4) /* a reply of the wrong type */
#define BENCH_ERR_SEND         (BENCH_ERR_WIRE_MAX + 5) /* zmq_send failed */
#define BENCH_NERR             (BENCH_ERR_WIRE_MAX + 6)

/* One in-flight transaction. */
typedef struct bench_slot {
    int      wait;                       /* BENCH_IDLE, BENCH_BEGIN, ... */
    int      resource;                   /* BENCH_TRY: index of the resource tried */
    int      sock;                       /* index of the socket it uses */
    uint64_t corr;                       /* corr of the request awaiting its reply */
    int64_t  begun_ns;                   /* BEGIN sent */
    int64_t  sent_ns;                    /* current request sent */
    int64_t  step_ns[BENCH_NSTEPS];      /* reply time of each step so far */
    char     gid[DTX_NAME_SIZE];         /* "" before BEGIN_OK */
} bench_slot_t;

typedef struct bench {
    /* options */
    const char *endpoint;                /* --coordinator */
    int         concurrency;             /* --concurrency */
    double      seconds;                 /* --seconds: measured window */
    double      warmup;                  /* --warmup */
    int         json;                    /* --json */
    int         nsockets;                /* --sockets */
    int64_t     reply_timeout_ns;        /* --reply-timeout-ms */
    uint32_t    txn_timeout_ms;          /* --txn-timeout-ms (0: coordinator default) */
    const char *resources[BENCH_MAX_RESOURCES]; /* --resource, tried in order */
    int         nresources;
    int         try_many;                   /* --try-many: one TRY_MANY for all */
    int         tcc_run;                    /* --tcc-run: the whole transaction in one TCC_RUN */
    /* run */
    void         *zctx;
    void         *socks[BENCH_MAX_SOCKETS];
    /* Per socket: its ZMQ_FD; drained: a read found it empty (EAGAIN) when
     * calls (sends) was drained_at, no call since: only its ZMQ_FD can
     * bring news, so it is polled as a plain descriptor (no ZMQ_EVENTS). */
    int           sock_fd[BENCH_MAX_SOCKETS];
    int           drained[BENCH_MAX_SOCKETS];
    uint64_t      calls[BENCH_MAX_SOCKETS], drained_at[BENCH_MAX_SOCKETS];
    bench_slot_t *slots;
    uint64_t      next_seq;
    uint8_t      *buf;                   /* DTX_MSG_MAX: encode and receive */
    uint8_t       payload[BENCH_PAYLOAD_LEN];
    int64_t       start_ns, warm_end_ns, meas_end_ns;
    int           draining;              /* no new transactions */
    int           busy;                  /* slots not idle */
    /* results */
    uint64_t  started;                   /* BEGINs sent */
    uint64_t  finished;                  /* committed + failed, whole run */
    uint64_t  committed_total;           /* whole run */
    uint64_t  committed;                 /* in the measured window */
    uint64_t  errors[BENCH_NSTEPS][BENCH_NERR]; /* whole run */
    uint64_t  errors_total;
    uint64_t  errors_measured;           /* of which in the measured window */
    char      first_text[BENCH_NERR][DTX_TEXT_MAX + 1]; /* first detail seen per kind */
    uint64_t  stale;                     /* replies matching no waiting request */
    uint64_t  malformed;                 /* replies that did not decode */
    uint64_t  rollbacks, rollbacks_failed; /* cleanup after failures */
    uint32_t *lat_us;                    /* latencies in the measured window */
    size_t    nlat, caplat;
    uint32_t *per_second;                /* commits in each second of the window */
    int       nseconds;                  /* its length: ceil(--seconds) */
    double    step_sum_ns[BENCH_NSTEPS]; /* per step, over measured commits */
    int       window_open;               /* the measured window has begun */
    double    cpu_s0, cpu_s1;            /* own CPU seconds at the window's ends */
    int64_t   cpu_ns0, cpu_ns1;          /* when they were read */
} bench_t;

/* The monotonic clock, in ns. */
int64_t bench_now_ns(void);

/* Starts slot i's next transaction (a BEGIN). */
void bench_slot_start(bench_t *self, int i, int64_t now);
/* Counts a failure of slot i's current step (kind: one of
 * the error kinds); rolls back when asked and the transaction may still
 * be active, else frees the slot. */
void bench_slot_fail(bench_t *self, int i, int kind, const char *text, int64_t now,
                     int rollback);
/* Fails the requests that waited past --reply-timeout-ms
 * and restarts the slots a failed send left idle. */
void bench_scan(bench_t *self, int64_t now);
/* Reads and handles the replies waiting on socket s. */
void bench_drain_socket(bench_t *self, int s);

#endif
