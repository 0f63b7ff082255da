/*
 * gw_dtxd_watch.h — the dtxd_inflight signal's poller: one
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

#include "limits/gw_dtxd_reading.h"
#include "runtime/gw_runtime.h"

typedef struct dtx_gw_dtxd_watch dtx_gw_dtxd_watch_t;

/* Starts the watch over the generations of current, publishing into
 * dtxd (both must outlive it). token (may be NULL) overrides
 * dtxd.admin_token (--dtxd-token, --dtxd-token-file); it is copied. NULL
 * when the thread cannot start. */
dtx_gw_dtxd_watch_t *dtx_gw_dtxd_watch_start(dtx_gw_current_t *current, dtx_gw_dtxd_t *dtxd,
                                             const char *token);
/* Stops and frees it quickly, even mid-fetch; clears the reading.
 * Idempotent; nulls *self_p. */
void dtx_gw_dtxd_watch_stop(dtx_gw_dtxd_watch_t **self_p);

#endif
