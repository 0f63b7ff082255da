/*
 * metrics.h — the coordinator's counters and latency histograms, and a
 * writer for the Prometheus text exposition format (version 0.0.4).
 *
 * Everything here is plain memory updated by the one loop thread: an
 * observation is a handful of integer additions, cheap enough for the hot
 * path. Histograms keep milliseconds and are exposed in seconds, with
 * cumulative `_bucket{le=...}`, `_sum` and `_count` series. No sockets, no
 * database: unit-tested in tests/unit/test_metrics.c.
 */
#ifndef DTX_COORD_METRICS_H
#define DTX_COORD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "dtx/types.h"
#include "series.h"

/* Upper bounds (ms) of the finite buckets; +Inf is implicit. */
#define DTX_HIST_BUCKETS 14
extern const int64_t dtx_hist_bounds_ms[DTX_HIST_BUCKETS];

typedef struct dtx_hist {
    uint64_t counts[DTX_HIST_BUCKETS + 1]; /* per bucket (not cumulative); last is +Inf */
    uint64_t count;                        /* observations */
    int64_t  sum_ms;                       /* their sum */
} dtx_hist_t;

_Static_assert(DTX_SERIES_BUCKETS == DTX_HIST_BUCKETS + 1, "the series keep dtx_hist_t's buckets");

/* Adds one observation of ms milliseconds (negative counts as 0). */
void dtx_hist_observe(dtx_hist_t *h, int64_t ms);
/* The bucket an observation of ms falls in (0..DTX_HIST_BUCKETS). */
int dtx_hist_bucket(int64_t ms);

/* Limits a request can be refused for (DTX_ELIMIT), and reasons a peer can
 * be refused for (DTX_EACCES or a refused handshake): each is a label of
 * dtx_limit_refusals_total / dtx_auth_refusals_total. */
enum {
    DTX_LIMIT_TXNS,           /* transactions in memory */
    DTX_LIMIT_BRANCHES,       /* branches per transaction */
    DTX_LIMIT_TXN_PAYLOAD,    /* payload bytes per transaction */
    DTX_LIMIT_PAYLOAD,        /* payload bytes in memory */
    DTX_LIMIT_PARKED,         /* requests waiting on one transaction */
    DTX_LIMIT_RESOURCES,      /* resources per participant connection */
    DTX_LIMIT_REGISTRATIONS,  /* REGISTERs per second per connection */
    DTX_LIMIT_INSTANCES,      /* participant connections */
    DTX_LIMIT_PEER_RATE,      /* requests per second per connection */
    DTX_LIMIT_COUNT
};
enum {
    DTX_DENY_HANDSHAKE,       /* CURVE key not in the allow-list */
    DTX_DENY_ROLE,            /* a message its key's roles do not allow */
    DTX_DENY_RESOURCE,        /* REGISTER of a resource not in its key's list */
    DTX_DENY_INSTANCE,        /* REGISTER of an instance name another key holds */
    DTX_DENY_GID,             /* TRY/COMMIT/ROLLBACK of another initiator's gid */
    DTX_DENY_COUNT
};
/* Suggested wait, in ms, that a DTX_ELIMIT answer names. */
#define DTX_RETRY_AFTER_MS 100
const char *dtx_limit_name(int which);
const char *dtx_deny_name(int why);

typedef struct dtx_metrics {
    dtx_hist_t phase[DTX_OP_MAX + 1]; /* send-to-reply latency by DTX_OP_* (index 0 unused) */
    dtx_hist_t duration[2];    /* BEGIN to final state: [0] committed, [1] aborted */
    uint64_t   stuck;          /* transactions this node marked stuck */
    uint64_t   http[6];        /* HTTP answers by status class: [2] 2xx ... [5] 5xx */
    uint64_t   actions;        /* operator actions requested over HTTP */
    uint64_t   limited[DTX_LIMIT_COUNT]; /* refusals by limit */
    uint64_t   denied[DTX_DENY_COUNT];   /* refusals by reason */
    uint64_t   retained[2];    /* rows retention removed: [0] transactions, [1] branches */
    uint64_t   retention_runs; /* retention runs completed */
    uint64_t   retention_failures; /* retention batches that failed (retried next run) */
    int64_t    retention_last_ms; /* wall ms when the last run completed; 0 never */
    uint64_t   lease_lapses;   /* times the node lease ran out before it was renewed */
    uint64_t   recovery_due[2]; /* due in the last recovery scan: [0] own, [1] orphans taken over */
    uint64_t   recovery_runs[3]; /* recovery statements run: [0] own scan, [1] claim, [2] nodes read */
    int64_t    stuck_now;      /* stuck transactions in the log, last count (0 until counted) */
    dtx_series_t series;       /* the last hour, per second (console plots) */
} dtx_metrics_t;

void dtx_metrics_limited(dtx_metrics_t *m, int which);
void dtx_metrics_denied(dtx_metrics_t *m, int why);

/* A phase reply arrived ms after its call was sent. */
void dtx_metrics_phase(dtx_metrics_t *m, int op, int64_t ms);
/* A transaction begun at begun_ms (monotonic; 0 = unknown: loaded from the
 * log, not observed) reached final_state (DTX_STATE_COMMITTED/_ABORTED). */
void dtx_metrics_finished(dtx_metrics_t *m, int final_state, int64_t begun_ms);
/* Counts a stuck transaction when happened is non-zero. */
void dtx_metrics_stuck(dtx_metrics_t *m, int happened);
/* Counts one HTTP answer with status. */
void dtx_metrics_http(dtx_metrics_t *m, int status);
/* A recovery scan found n transactions due: this node's own overdue ones
 * (orphans 0) or those of dead coordinators it took over (orphans 1). A
 * full scan (its limit) means more wait: the backlog recovery works on. */
void dtx_metrics_recovery(dtx_metrics_t *m, int orphans, int n);
/* A recovery statement was sent: DTX_RECOVERY_OWN, _CLAIM or _NODES. */
#define DTX_RECOVERY_OWN   0
#define DTX_RECOVERY_CLAIM 1
#define DTX_RECOVERY_NODES 2
void dtx_metrics_recovery_run(dtx_metrics_t *m, int kind);
/* The node lease ran out before its renewal took effect. */
void dtx_metrics_lease_lapsed(dtx_metrics_t *m);
/* Once a second: the stuck count read from the log (-1 when it could not
 * be read: the series keeps the last count) and the transactions in memory. */
void dtx_metrics_sample(dtx_metrics_t *m, int64_t stuck, size_t in_memory);

/* A growing text buffer. On allocation failure `failed` is set and later
 * writes are ignored; data is always NUL-terminated when not NULL. */
typedef struct dtx_text {
    char  *data;
    size_t len;
    size_t cap;
    int    failed;
} dtx_text_t;

void dtx_text_printf(dtx_text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dtx_text_append(dtx_text_t *t, const char *s, size_t n);
/* Room for extra more characters and a NUL at data + len (to write in
 * place): 0, or DTX_ENOMEM (and `failed` set). */
int dtx_text_reserve(dtx_text_t *t, size_t extra);
void dtx_text_free(dtx_text_t *t);

/* Prometheus writers. type is "counter", "gauge" or "histogram"; labels is
 * NULL or the inside of the braces (`op="try"`), already escaped. */
void dtx_prom_header(dtx_text_t *t, const char *name, const char *type, const char *help);
void dtx_prom_value(dtx_text_t *t, const char *name, const char *labels, double value);
void dtx_prom_hist(dtx_text_t *t, const char *name, const char *labels, const dtx_hist_t *h);
/* The same with the observations divided by divisor instead of 1000: 1
 * exposes a histogram of counts (bounds and sum as observed). */
void dtx_prom_hist_scaled(dtx_text_t *t, const char *name, const char *labels,
                          const dtx_hist_t *h, double divisor);

#endif
