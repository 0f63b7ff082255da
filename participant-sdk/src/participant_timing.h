/*
 * participant_timing.h — the heartbeat interval a participant link uses,
 * as a pure function so that its bounds are unit-tested without sockets.
 * Private to libdtx.
 *
 * Invariants:
 *  - the interval used is always within [DTX_HEARTBEAT_MIN_MS,
 *    DTX_HEARTBEAT_MAX_MS], whatever the program or a coordinator asks: a
 *    coordinator's REGISTER_OK saying heartbeat_ms=1 must not make the
 *    participant send a thousand HEARTBEATs a second, and a huge value must
 *    not make it silent long enough to be dropped;
 *  - a coordinator's interval is used only when it is shorter than the
 *    participant's own (it expires instances by its own interval); 0 means
 *    the coordinator asked for nothing.
 */
#ifndef DTX_PARTICIPANT_TIMING_H
#define DTX_PARTICIPANT_TIMING_H

#include <stdint.h>

#define DTX_HEARTBEAT_DEFAULT 1000   /* ms, when the program sets none */
#define DTX_HEARTBEAT_MIN_MS  50     /* floor of any interval used */
#define DTX_HEARTBEAT_MAX_MS  60000  /* ceiling of any interval used */

/* The participant's own interval from what the program asked (<= 0: the
 * default), clamped. */
static inline int dtx_participant_own_interval(int asked_ms)
{
    if (asked_ms <= 0)
        return DTX_HEARTBEAT_DEFAULT;
    if (asked_ms < DTX_HEARTBEAT_MIN_MS)
        return DTX_HEARTBEAT_MIN_MS;
    if (asked_ms > DTX_HEARTBEAT_MAX_MS)
        return DTX_HEARTBEAT_MAX_MS;
    return asked_ms;
}

/* The interval used with a coordinator that asked for coordinator_ms (0:
 * nothing), given the participant's own (already clamped) interval. */
static inline int dtx_participant_link_interval(int own_ms, uint32_t coordinator_ms)
{
    int used = own_ms;
    if (coordinator_ms > 0 && coordinator_ms < (uint32_t)own_ms)
        used = (int)coordinator_ms;
    if (used < DTX_HEARTBEAT_MIN_MS)
        used = DTX_HEARTBEAT_MIN_MS;
    if (used > DTX_HEARTBEAT_MAX_MS)
        used = DTX_HEARTBEAT_MAX_MS;
    return used;
}

#endif
