/*
 * gw_clock.h — the gateway's monotonic clock, replaceable for tests.
 * Decision functions never read it themselves: callers pass `now`.
 */
#ifndef DTX_GW_CLOCK_H
#define DTX_GW_CLOCK_H

#include <stdint.h>

/* Microseconds from an arbitrary fixed point; never goes backwards. */
int64_t dtx_gw_now_us(void);
/* Replaces the clock (NULL restores CLOCK_MONOTONIC). Not thread-safe:
 * set it before any request runs. */
void dtx_gw_clock_set(int64_t (*fn)(void));
/* Sleeps us microseconds on the real clock (used for rate-limit delays). */
void dtx_gw_sleep_us(int64_t us);

#endif
