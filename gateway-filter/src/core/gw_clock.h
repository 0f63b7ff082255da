/*
 * gw_clock.h — the gateway's monotonic clock, replaceable for tests.
 * Decision functions never read it themselves: callers pass `now`.
 *
 * A worker reads the clock once per event-loop wake-up
 * (dtx_gw_clock_tick, after epoll_wait), as nginx keeps one
 * ngx_current_msec: what its requests, filters, limits and upstream calls
 * do in that wake-up reads that time (dtx_gw_loop_us), not a clock read
 * each (eleven a request before). The time a request sees is then at most
 * one wake-up's work old (tens of microseconds to a millisecond under
 * load) and never goes backwards; rates and breaker windows measure
 * differences between wake-ups, so over any interval they stay exact.
 */
#ifndef DTX_GW_CLOCK_H
#define DTX_GW_CLOCK_H

#include <stdint.h>

/* Microseconds from an arbitrary fixed point; never goes backwards. */
int64_t dtx_gw_now_us(void);
/* The calling thread's last wake-up time (dtx_gw_clock_tick); a fresh
 * dtx_gw_now_us() on a thread that never ticked (admin, health checks,
 * the offload pool, tests). */
int64_t dtx_gw_loop_us(void);
/* Reads the clock (dtx_gw_now_us) and makes it the calling thread's
 * wake-up time; returns it. A worker calls it once after each epoll_wait. */
int64_t dtx_gw_clock_tick(void);
/* Replaces the clock (NULL restores CLOCK_MONOTONIC). Not thread-safe:
 * set it before any request runs. */
void dtx_gw_clock_set(int64_t (*fn)(void));
/* Sleeps us microseconds on the real clock (used for rate-limit delays). */
void dtx_gw_sleep_us(int64_t us);

#endif
