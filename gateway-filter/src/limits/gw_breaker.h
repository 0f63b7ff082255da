/*
 * gw_breaker.h — circuit breaker as a pure state machine on an injected
 * clock (microseconds, monotonic). The caller holds the lock.
 *
 *            failures over threshold             open interval passed,
 *   CLOSED ──────────────────────────▶ OPEN ───── a request arrives ─────▶ HALF_OPEN
 *     ▲                                 ▲  ▲                                │ (that request
 *     │        probe succeeded          │  │     probe failed               │  is the probe)
 *     └─────────────────────────────────┼──┴────────────────────────────────┤
 *                                       │     probe cancelled (blocked by   │
 *                                       └──── another rule) or lost: OPEN ──┘
 *                                             with the interval already over,
 *                                             so the next request probes
 *
 * Invariants:
 *  - CLOSED admits everything and counts outcomes in a sliding window of
 *    `window_us` split in DTX_GW_BREAKER_BUCKETS buckets; it trips when
 *    the window holds at least min_requests calls and the error ratio or
 *    the slow-call ratio reaches its threshold, or when
 *    consecutive_failures calls in a row failed (0 disables a test);
 *  - OPEN admits nothing until open_until;
 *  - HALF_OPEN has exactly one probe in flight and admits nothing else;
 *    only the probe's own outcome (matched by ticket) moves the state; a
 *    probe neither reported nor cancelled within probe_timeout_us is
 *    deemed lost and the next request becomes the probe, so a probe that
 *    another rule blocked can never leave the breaker half-open forever;
 *  - outcomes of calls admitted before the last transition are ignored.
 */
#ifndef DTX_GW_BREAKER_H
#define DTX_GW_BREAKER_H

#include <stdint.h>

#define DTX_GW_BREAKER_BUCKETS 10

typedef enum {
    DTX_GW_BREAKER_CLOSED = 0,
    DTX_GW_BREAKER_OPEN = 1,
    DTX_GW_BREAKER_HALF_OPEN = 2
} dtx_gw_breaker_state_t;

typedef struct dtx_gw_breaker_params {
    double  error_ratio;          /* trip at failures/total >= this (0: off) */
    double  slow_ratio;           /* trip at slow/total >= this (0: off) */
    int64_t slow_us;              /* a call longer than this is slow */
    int     consecutive_failures; /* trip after this many in a row (0: off) */
    int     min_requests;         /* ratios need at least this many calls */
    int64_t window_us;            /* statistics window */
    int64_t open_us;              /* how long OPEN lasts */
    int64_t probe_timeout_us;     /* a probe silent this long is lost */
} dtx_gw_breaker_params_t;

typedef struct dtx_gw_breaker_bucket {
    int64_t start_us;   /* bucket start; stale when outside the window */
    int     total, failed, slow;
} dtx_gw_breaker_bucket_t;

typedef struct dtx_gw_breaker {
    dtx_gw_breaker_state_t state;
    uint64_t generation;      /* bumped on every transition */
    int64_t  open_until_us;   /* OPEN: when a probe may go */
    int64_t  probe_started_us;/* HALF_OPEN: when the probe left */
    int      consecutive;     /* failures in a row (CLOSED) */
    uint64_t opened_total;    /* how many times it tripped (metrics) */
    dtx_gw_breaker_bucket_t buckets[DTX_GW_BREAKER_BUCKETS];
} dtx_gw_breaker_t;

/* What admit hands out; give it back to record or cancel. */
typedef struct dtx_gw_breaker_ticket {
    uint64_t generation;  /* breaker generation at admission */
    int      probe;       /* 1 when this request is the half-open probe */
    int      admitted;    /* 1 when admitted */
} dtx_gw_breaker_ticket_t;

/* A zeroed struct is a closed breaker. */
void dtx_gw_breaker_init(dtx_gw_breaker_t *self);

/* Admits or refuses a request. Returns 1 (admitted, ticket filled) or 0
 * (refused: *retry_us = time until a probe may go, at least 1 s when a
 * probe is in flight). */
int dtx_gw_breaker_admit(dtx_gw_breaker_t *self, const dtx_gw_breaker_params_t *p,
                         int64_t now_us, dtx_gw_breaker_ticket_t *ticket,
                         int64_t *retry_us);

/* Records the outcome of an admitted request: failed (a failure status or
 * a transport error) and its duration. */
void dtx_gw_breaker_record(dtx_gw_breaker_t *self, const dtx_gw_breaker_params_t *p,
                           const dtx_gw_breaker_ticket_t *ticket, int64_t now_us,
                           int failed, int64_t duration_us);

/* The admitted request never reached the upstream (another rule refused
 * it): a probe goes back to OPEN with the interval over, so the next
 * request probes; a normal request is simply not counted. */
void dtx_gw_breaker_cancel(dtx_gw_breaker_t *self, const dtx_gw_breaker_ticket_t *ticket,
                           int64_t now_us);

const char *dtx_gw_breaker_state_name(dtx_gw_breaker_state_t state);

#endif
