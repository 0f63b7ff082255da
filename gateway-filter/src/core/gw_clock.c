/* gw_clock.c — monotonic microseconds, with a test hook, and each
 * worker thread's wake-up time (gw_clock.h). Invariant: s_ticked is 0
 * until the thread's first dtx_gw_clock_tick, then s_tick_us is the
 * value of its latest tick. */
#include <errno.h>
#include <time.h>

#include "core/gw_clock.h"

static int64_t (*s_clock)(void);
static _Thread_local int64_t s_tick_us;
static _Thread_local int s_ticked;

int64_t dtx_gw_now_us(void)
{
    if (s_clock)
        return s_clock();
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t dtx_gw_loop_us(void)
{
    return s_ticked ? s_tick_us : dtx_gw_now_us();
}

int64_t dtx_gw_clock_tick(void)
{
    s_tick_us = dtx_gw_now_us();
    s_ticked = 1;
    return s_tick_us;
}

void dtx_gw_clock_set(int64_t (*fn)(void))
{
    s_clock = fn;
}

void dtx_gw_sleep_us(int64_t us)
{
    if (us <= 0)
        return;
    struct timespec ts = { (time_t)(us / 1000000), (long)(us % 1000000) * 1000 };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}
