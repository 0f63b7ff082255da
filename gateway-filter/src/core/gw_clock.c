/* gw_clock.c — monotonic microseconds, with a test hook. */
#include <errno.h>
#include <time.h>

#include "core/gw_clock.h"

static int64_t (*s_clock)(void);

int64_t dtx_gw_now_us(void)
{
    if (s_clock)
        return s_clock();
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
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
