/*
 * gw_periodic.h — a background thread that does one round of work, sleeps
 * as long as the round asked, and does the next, until stopped. A stop
 * wakes the sleep at once, so stopping never waits for a whole interval
 * (only for a round in progress to end); a kick ends the sleep too, and a
 * kick during a round skips the sleep after it.
 *
 *     run ──> round ──> sleep(wait) ──> round ──> ...
 *               │        IDLE: sleep until kicked
 *               kick: the next round now
 *               stop: the sleep ends, no further round, the thread ends
 *
 * The gateway's active health checker (app/gw_health.c), discovery thread
 * (app/gw_discovery_watch.c), dtxd poller (app/gw_dtxd_watch.c) and the
 * cluster-wide limits' Redis sync (filters/gw_cluster.c) are such threads.
 */
#ifndef DTX_GW_PERIODIC_H
#define DTX_GW_PERIODIC_H

#include <stdint.h>

/* What a round returns to sleep until kicked (or stopped). */
#define DTX_GW_PERIODIC_IDLE (-1)

/* One round of work; returns how long to sleep before the next one, in
 * µs (at least 1), or DTX_GW_PERIODIC_IDLE. Runs on the periodic's
 * thread, never twice at once. */
typedef int64_t (*dtx_gw_periodic_round_fn)(void *arg);

typedef struct dtx_gw_periodic dtx_gw_periodic_t;

/* A periodic whose thread does not run yet (kicks are kept until it
 * does). arg is the caller's and must outlive the periodic. NULL when
 * memory is lacking. */
dtx_gw_periodic_t *dtx_gw_periodic_new(dtx_gw_periodic_round_fn round, void *arg);
/* Starts the thread; the first round runs at once. 0, or DTX_ENOMEM when
 * no thread could be made (then _stop only frees). */
int dtx_gw_periodic_run(dtx_gw_periodic_t *self);
/* _new and _run; NULL when either fails. */
dtx_gw_periodic_t *dtx_gw_periodic_start(dtx_gw_periodic_round_fn round, void *arg);

/* Asks for a round now (any thread). */
void dtx_gw_periodic_kick(dtx_gw_periodic_t *self);

/* Stops the thread (waits for a round in progress), frees the periodic
 * and sets *self_p to NULL. Idempotent. */
void dtx_gw_periodic_stop(dtx_gw_periodic_t **self_p);

#endif
