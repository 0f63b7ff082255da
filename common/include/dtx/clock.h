/*
 * dtx/clock.h — time sources. Monotonic time drives timers and backoff;
 * wall time (epoch ms) is what deadlines are stored and sent as.
 */
#ifndef DTX_CLOCK_H
#define DTX_CLOCK_H

#include <stdint.h>

/* Milliseconds from an arbitrary fixed point; never goes backwards. */
int64_t dtx_clock_mono_ms(void);
/* Milliseconds since the Unix epoch. */
int64_t dtx_clock_wall_ms(void);

#endif
