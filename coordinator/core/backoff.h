/*
 * backoff.h — retry delays: exponential with a cap and "equal jitter"
 * (half the delay fixed, half random), so that a participant coming back
 * after an outage is not hit by every retry in the same millisecond.
 */
#ifndef DTX_COORD_BACKOFF_H
#define DTX_COORD_BACKOFF_H

#include <stdint.h>

/* Delay before attempt number `attempt` (2 = first retry) given base and
 * cap (ms) and a random value. Result is in [d/2, d] where
 * d = min(cap, base * 2^(attempt-2)). Pure. */
int64_t dtx_backoff_delay(int64_t base_ms, int64_t cap_ms, uint32_t attempt, uint64_t random);

#endif
