/*
 * tests/unit/barrier_replay.h — one delivery replayed as
 * participant-sdk's barrier.c does it, on the decisions of barrier_logic.h,
 * for the suites of the barrier (test_barrier_logic.c) and of two-phase
 * commit in the SDK (test_twophase_sdk.c).
 */
#ifndef DTX_TEST_BARRIER_REPLAY_H
#define DTX_TEST_BARRIER_REPLAY_H

#include "../../participant-sdk/src/barrier_logic.h"

/* Replays what barrier.c does for one delivery of op, given what the
 * table holds: the try row's origin (NULL: no try row) and whether
 * cancel's own row (or confirm's) is there. Returns the final action. */
dtx_barrier_action_t br_deliver(int op, const char *try_origin, int own_row_present);

#endif
