/*
 * gw_dtxd_reading.h — what the gateway knows of dtxd's load for the
 * dtxd_inflight signal: the parser of dtxd's /metrics text, and the last
 * good reading, published by the watch (app/gw_dtxd_watch.h) and read by
 * admission without a lock (gw_adaptive.h decides).
 *
 * A stale reading (or none) fails open: the signal admits, and every
 * request so admitted counts in dtx_gw_dtxd_fail_open_total. A failed
 * poll counts in dtx_gw_dtxd_poll_errors_total and leaves the last good
 * reading to age.
 */
#ifndef DTX_GW_DTXD_READING_H
#define DTX_GW_DTXD_READING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define DTX_GW_DTXD_GAUGE "dtx_transactions_in_memory"

/* Parses Prometheus text (at most len bytes; need not end in NUL): the sum
 * of every sample of DTX_GW_DTXD_GAUGE, labels ignored, an optional
 * timestamp allowed. Returns 0 with *inflight set; DTX_EUNSUPPORTED when
 * the text has no such sample (a dtxd older than the gauge);
 * DTX_EPROTO when a sample is malformed or its value is not a finite
 * number in [0, 2^53) (NaN, Inf, negative, huge), or the sum is out of
 * that range. A fraction is truncated. *why (may be NULL) gets a static
 * phrase naming the problem, "" on success. */
int dtx_gw_dtxd_parse_inflight(const char *text, size_t len, int64_t *inflight,
                               const char **why);

/* The last good reading. */
typedef struct dtx_gw_dtxd_reading {
    int64_t inflight;  /* dtxd's transactions in flight */
    int64_t at_us;     /* when it arrived (gw_clock.h); 0: no reading */
} dtx_gw_dtxd_reading_t;

/* What one gateway knows of dtxd: the last good reading behind a
 * sequence lock (seq odd while the writer is between its stores), and
 * the counters. Owned by the app (gw_runtime.h: dtx_gw_shared_t); fields
 * are read and written only through the functions below. */
typedef struct dtx_gw_dtxd {
    atomic_uint   seq;
    atomic_llong  inflight;
    atomic_llong  at_us;
    atomic_ullong poll_errors;  /* dtx_gw_dtxd_poll_errors_total */
    atomic_ullong fail_open;    /* dtx_gw_dtxd_fail_open_total */
} dtx_gw_dtxd_t;

/* No reading, counters at 0. */
void dtx_gw_dtxd_init(dtx_gw_dtxd_t *self);

/* A consistent copy of the last good reading (lock-free; any thread). */
void dtx_gw_dtxd_reading_get(dtx_gw_dtxd_t *self, dtx_gw_dtxd_reading_t *out);
/* Publishes a reading; at_us 0 clears it. One writer at a time (the
 * watch thread; unit tests). */
void dtx_gw_dtxd_reading_publish(dtx_gw_dtxd_t *self, int64_t inflight, int64_t at_us);

/* Counters for /metrics (life of self). */
uint64_t dtx_gw_dtxd_poll_errors(dtx_gw_dtxd_t *self);
uint64_t dtx_gw_dtxd_fail_open(dtx_gw_dtxd_t *self);
/* Counts one failed poll (the watch). */
void dtx_gw_dtxd_count_poll_error(dtx_gw_dtxd_t *self);
/* Counts one request admitted only because the reading was stale. */
void dtx_gw_dtxd_count_fail_open(dtx_gw_dtxd_t *self);

#endif
