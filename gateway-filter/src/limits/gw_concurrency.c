/*
 * gw_concurrency.c — concurrency limit and its bounded wait queue.
 */
#include <errno.h>
#include <time.h>

#include "limits/gw_concurrency.h"

int dtx_gw_conc_decide(int limit, int queue_max, int in_flight, int waiting)
{
    if (in_flight < limit && waiting == 0)
        return DTX_GW_CONC_PASS;
    if (waiting < queue_max)
        return DTX_GW_CONC_QUEUE;
    return DTX_GW_CONC_REJECT;
}

int dtx_gw_conc_acquire(dtx_gw_conc_slot_t *slot, int limit, int queue_max,
                        int64_t max_wait_ms, pthread_mutex_t *lock,
                        pthread_cond_t *cond)
{
    int verdict = dtx_gw_conc_decide(limit, queue_max, slot->in_flight, slot->waiting);
    if (verdict == DTX_GW_CONC_PASS) {
        slot->in_flight++;
        return 1;
    }
    if (verdict == DTX_GW_CONC_REJECT || max_wait_ms <= 0)
        return 0;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += max_wait_ms / 1000;
    until.tv_nsec += (max_wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    slot->waiting++;
    int got = 0;
    for (;;) {
        if (slot->in_flight < limit) {
            slot->in_flight++;
            got = 1;
            break;
        }
        if (pthread_cond_timedwait(cond, lock, &until) == ETIMEDOUT) {
            if (slot->in_flight < limit) {
                slot->in_flight++;
                got = 1;
            }
            break;
        }
    }
    slot->waiting--;
    return got;
}

void dtx_gw_conc_release(dtx_gw_conc_slot_t *slot, pthread_cond_t *cond)
{
    if (slot->in_flight > 0)
        slot->in_flight--;
    if (slot->waiting > 0)
        pthread_cond_broadcast(cond);
}
