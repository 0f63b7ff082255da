/*
 * gw_dtxd_watch.h — what the dtxd_inflight signal knows about dtxd: one
 * background thread reads dtxd's admin /metrics and publishes how many
 * transactions the coordinator holds in flight (the gauge
 * dtx_transactions_in_memory); admission reads the last good reading
 * without a lock (gw_adaptive.h decides).
 *
 * Lifecycle:
 *  1. main starts the watch (dtx_gw_dtxd_watch_start) with its other
 *     background threads; the watch asks the generation holder to wake it
 *     after every configuration swap;
 *  2. while the configuration in force has an adaptive rule with signal
 *     dtxd_inflight, the thread GETs <dtxd.admin>/metrics every
 *     dtxd.poll_ms (one fetch takes at most min(dtxd.timeout_ms,
 *     dtxd.stale_ms)) and publishes each good reading with the time it
 *     arrived. While no rule uses the signal it polls nothing, sleeps
 *     without a timer, and the published reading is cleared;
 *  3. dtx_gw_dtxd_watch_stop wakes it (a sleep or a fetch in progress ends
 *     at once) and joins it.
 *
 * The reading, as the thread logs it (one line per change):
 *
 *     none ──good poll──▶ fresh ──no good poll for stale_ms──▶ stale
 *                           ▲                                   │
 *                           └──────────── good poll ────────────┘
 *
 * A stale reading (or none) fails open: the signal admits, and every
 * request so admitted counts in dtx_gw_dtxd_fail_open_total. A failed
 * poll (unreachable, a status other than 200, no gauge, a bad value)
 * counts in dtx_gw_dtxd_poll_errors_total and leaves the last good reading
 * to age; the first failure after a success is logged at warn, the next
 * success at info. The token is never logged.
 */
#ifndef DTX_GW_DTXD_WATCH_H
#define DTX_GW_DTXD_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "gw_runtime.h"

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

/* A consistent copy of the last good reading (lock-free; any thread). */
void dtx_gw_dtxd_reading_get(dtx_gw_dtxd_reading_t *out);
/* Publishes a reading; at_us 0 clears it. One writer at a time (the
 * watch thread; unit tests). */
void dtx_gw_dtxd_reading_publish(int64_t inflight, int64_t at_us);

/* Counters for /metrics (process lifetime). */
uint64_t dtx_gw_dtxd_poll_errors(void);
uint64_t dtx_gw_dtxd_fail_open(void);
/* Counts one request admitted only because the reading was stale. */
void dtx_gw_dtxd_count_fail_open(void);

#define DTX_GW_DTXD_TOKEN_MAX 1000  /* longest token sent (characters) */

/* 1 when token can go in an Authorization header: 1..DTX_GW_DTXD_TOKEN_MAX
 * printable ASCII characters, no space. */
int dtx_gw_dtxd_token_ok(const char *token);

/* Reads a token file the way dtxctl --token-file does: the first line that
 * is neither blank nor a # comment; from "name:token" the token. 0 with the
 * token in out, or DTX_EIO (cannot read) / DTX_EINVAL (no token, longer
 * than cap - 1, or not dtx_gw_dtxd_token_ok) with a message in err that
 * never holds the file's text. */
int dtx_gw_dtxd_token_load(const char *path, char *out, size_t cap, char *err, size_t errlen);

typedef struct dtx_gw_dtxd_watch dtx_gw_dtxd_watch_t;

/* Starts the watch over the generations of current (which must outlive
 * it). token (may be NULL) overrides dtxd.admin_token (--dtxd-token,
 * --dtxd-token-file); it is copied. NULL when the thread cannot start. */
dtx_gw_dtxd_watch_t *dtx_gw_dtxd_watch_start(dtx_gw_current_t *current, const char *token);
/* Stops and frees it quickly, even mid-fetch; clears the reading.
 * Idempotent; nulls *self_p. */
void dtx_gw_dtxd_watch_stop(dtx_gw_dtxd_watch_t **self_p);

#endif
