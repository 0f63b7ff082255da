/*
 * series.h — the last hour of the coordinator, second by second, for the
 * console's plots (GET /api/v1/series).
 *
 * Two rings of fixed size, plain memory, no allocation, no I/O, no clock
 * of their own: every call takes the time (milliseconds of a monotonic
 * clock) from its caller, so tests drive it with made-up times.
 *
 *   seconds ring   DTX_SERIES_SECONDS slots of one second each: commits
 *                  and aborts counted in that second, and the last sample
 *                  of the stuck and in-flight gauges taken in it.
 *   latency ring   DTX_SERIES_LAT_SLOTS slots of DTX_SERIES_LAT_STEP_S
 *                  seconds each: a histogram of phase-call latencies by
 *                  bucket index (the caller's buckets: metrics.c uses those
 *                  of dtx_hist_t), from which p50 and p99 are interpolated
 *                  (as Prometheus' histogram_quantile).
 *
 * Invariants: a slot remembers which second (or step) it holds, stored
 * plus one so that zeroed memory is a ring of empty slots. A write to a
 * slot holding an older second clears it first (the ring wraps); a read of
 * a slot holding another second than the one asked for sees nothing (a gap:
 * counters 0, gauges not sampled). Times going backwards only hit slots of
 * their own second; nothing here ever reads outside the ring. Memory:
 * about 80 KiB, embedded in dtx_metrics_t.
 */
#ifndef DTX_COORD_SERIES_H
#define DTX_COORD_SERIES_H

#include <stdint.h>

#define DTX_SERIES_SECONDS    3600 /* one hour, one slot a second */
#define DTX_SERIES_LAT_STEP_S 10   /* seconds a latency slot covers */
#define DTX_SERIES_LAT_SLOTS  (DTX_SERIES_SECONDS / DTX_SERIES_LAT_STEP_S)
#define DTX_SERIES_BUCKETS    15   /* latency buckets, the last one unbounded */

typedef struct dtx_series_second {
    int64_t  second;    /* the second held, plus one; 0 = never written */
    uint32_t commits;   /* transactions finished committed in it */
    uint32_t aborts;    /* transactions finished aborted in it */
    uint32_t stuck;     /* stuck transactions (the log's count), last sample */
    uint32_t in_flight; /* transactions in memory, last sample */
    uint8_t  sampled;   /* 1 when stuck and in_flight were sampled */
} dtx_series_second_t;

typedef struct dtx_series_lat {
    int64_t  step;                          /* the step held, plus one; 0 = never */
    uint32_t counts[DTX_SERIES_BUCKETS];  /* phase calls by latency bucket */
} dtx_series_lat_t;

typedef struct dtx_series {
    int64_t             first;  /* the first second ever written, plus one; 0 = none */
    dtx_series_second_t sec[DTX_SERIES_SECONDS];
    dtx_series_lat_t    lat[DTX_SERIES_LAT_SLOTS];
} dtx_series_t;

/* What a finished transaction counts as. */
enum { DTX_SERIES_COMMIT, DTX_SERIES_ABORT };

/* Counts one transaction finished (what: DTX_SERIES_COMMIT or _ABORT) at now_ms. */
void dtx_series_finished(dtx_series_t *s, int64_t now_ms, int what);
/* Adds one phase call, at now_ms, to latency bucket (0..DTX_SERIES_BUCKETS-1;
 * others are ignored). */
void dtx_series_latency(dtx_series_t *s, int64_t now_ms, int bucket);
/* Records the gauges at now_ms (the last sample of a second wins). */
void dtx_series_sample(dtx_series_t *s, int64_t now_ms, uint32_t stuck, uint32_t in_flight);

/* The first second anything was written in (events or samples): before
 * it the series did not exist (no data, rather than zero); -1 when nothing
 * was ever written. */
int64_t dtx_series_first_second(const dtx_series_t *s);
/* The slot of second `second` (now_ms / 1000 of the writer's clock) as it
 * was written, or a zeroed slot (a gap) when the ring holds another second
 * there. */
dtx_series_second_t dtx_series_second_at(const dtx_series_t *s, int64_t second);
/* Copies the latency histogram of step `step` (second / DTX_SERIES_LAT_STEP_S)
 * into counts (DTX_SERIES_BUCKETS entries); returns the number of calls
 * (0 for a gap). */
uint64_t dtx_series_latency_at(const dtx_series_t *s, int64_t step,
                               uint32_t counts[DTX_SERIES_BUCKETS]);

/* The q-quantile (0 <= q <= 1) of a histogram whose finite buckets end at
 * bounds[0..DTX_SERIES_BUCKETS-2] (ascending; the last bucket is +Inf):
 * linear within the bucket the rank falls in (the first one starts at 0);
 * a rank in the +Inf bucket gives the largest finite bound. Returns -1
 * when the histogram is empty. */
double dtx_series_quantile(const uint32_t counts[DTX_SERIES_BUCKETS], const int64_t *bounds,
                           double q);

#endif
