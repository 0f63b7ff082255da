/*
 * gw_periodic.h — a background thread that does one round of work, sleeps
 * as long as the round asked, and does the next, until stopped. A stop
 * wakes the sleep at once, so stopping never waits for a whole interval
 * (only for a round in progress to end).
 *
 *     start ──> round ──> sleep(wait) ──> round ──> ...
 *                 stop: the sleep ends, no further round, the thread ends
 *
 * The gateway's active health checker (app/gw_health.c) and discovery
 * thread (app/gw_discovery_watch.c) are such threads.
 */
#ifndef DTX_GW_PERIODIC_H
#define DTX_GW_PERIODIC_H

#include <stdint.h>

/* One round of work; returns how long to sleep before the next one, in
 * µs (at least 1). Runs on the periodic's thread, never twice at once. */
typedef int64_t (*dtx_gw_periodic_round_fn)(void *arg);

typedef struct dtx_gw_periodic dtx_gw_periodic_t;

/* Starts the thread; the first round runs at once. arg is the caller's
 * and must outlive the periodic. NULL when memory or a thread is lacking. */
dtx_gw_periodic_t *dtx_gw_periodic_start(dtx_gw_periodic_round_fn round, void *arg);

/* Stops the thread (waits for a round in progress), frees it and sets
 * *self_p to NULL. Idempotent. */
void dtx_gw_periodic_stop(dtx_gw_periodic_t **self_p);

#endif
