/*
 * gw_concurrency.h — concurrency limit with an optional bounded queue.
 *
 * The decision is a pure function of the counts (dtx_gw_conc_decide).
 * The waiting helpers work on a slot kept in the caller's table under the
 * caller's lock: a queued request waits on the caller's condition
 * variable (at most max_wait) for a slot; a release wakes the waiters.
 * The order among waiters is not guaranteed FIFO.
 */
#ifndef DTX_GW_CONCURRENCY_H
#define DTX_GW_CONCURRENCY_H

#include <pthread.h>
#include <stdint.h>

#define DTX_GW_CONC_PASS   0  /* a slot is free: take it */
#define DTX_GW_CONC_QUEUE  1  /* all slots busy, room in the queue: wait */
#define DTX_GW_CONC_REJECT 2  /* all slots busy and the queue full */

/* Pure: what a new request gets given the counts now. */
int dtx_gw_conc_decide(int limit, int queue_max, int in_flight, int waiting);

/* Counts of one key. A zeroed slot is empty. */
typedef struct dtx_gw_conc_slot {
    int in_flight;   /* slots taken */
    int waiting;     /* requests waiting for one */
} dtx_gw_conc_slot_t;

/* Takes a slot, waiting on cond (with lock, which the caller holds; cond
 * must use CLOCK_MONOTONIC) up to max_wait_ms when queued. Returns 1 when
 * a slot was taken (give it back with release), 0 when refused or the
 * wait ran out. The slot stays valid while waiting > 0. */
int  dtx_gw_conc_acquire(dtx_gw_conc_slot_t *slot, int limit, int queue_max,
                         int64_t max_wait_ms, pthread_mutex_t *lock,
                         pthread_cond_t *cond);
/* Gives a slot back (caller holds the lock) and wakes the waiters. */
void dtx_gw_conc_release(dtx_gw_conc_slot_t *slot, pthread_cond_t *cond);

#endif
