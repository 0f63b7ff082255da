#include "backoff.h"

int64_t dtx_backoff_delay(int64_t base_ms, int64_t cap_ms, uint32_t attempt, uint64_t random)
{
    if (base_ms < 1)
        base_ms = 1;
    if (cap_ms < base_ms)
        cap_ms = base_ms;
    int64_t d = base_ms;
    for (uint32_t i = 2; i < attempt && d < cap_ms; i++)
        d *= 2;
    if (d > cap_ms)
        d = cap_ms;
    int64_t half = d / 2;
    return (d - half) + (int64_t)(random % (uint64_t)(half + 1));
}
