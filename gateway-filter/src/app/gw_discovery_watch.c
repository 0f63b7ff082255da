/* gw_discovery_watch.c — the discovery thread (gw_discovery_watch.h). */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "dtx/log.h"
#include "core/gw_clock.h"
#include "upstream/gw_discovery.h"
#include "app/gw_discovery_watch.h"

#define S_MAX_SLEEP_US 200000  /* look again at least this often (a swap may bring pools) */
#define S_MIN_SLEEP_US 5000

struct dtx_gw_discovery_watch {
    dtx_gw_current_t *current;
    pthread_t         thread;
    pthread_mutex_t   lock;
    pthread_cond_t    wake;
    int               stop;
    int               draining;   /* calls on dropped targets at the last look */
};

/* One round: track the pools in force, read what is due, rebuild when a
 * set changed, prune drains. Returns when the next source is due (0: none). */
static int64_t s_round(dtx_gw_discovery_watch_t *self)
{
    dtx_gw_runtime_t *rt = dtx_gw_current_acquire(self->current);
    if (!rt)
        return 0;
    dtx_gw_discovery_t *reg = rt->shared->discovery;
    const dtx_gw_pool_cfg_t *cfgs[256];
    int n = 0;
    for (int i = 0; i < rt->npools && n < 256; i++)
        if (rt->pools[i]->cfg.ndiscovery)
            cfgs[n++] = &rt->cfg->pools[i];
    dtx_gw_discovery_sync(reg, cfgs, n, dtx_gw_now_us());
    dtx_gw_runtime_unref(&rt);
    int64_t next = 0;
    if (dtx_gw_discovery_poll(reg, dtx_gw_now_us(), NULL, NULL, &next) > 0) {
        uint64_t gen = 0;
        if (dtx_gw_current_refresh(self->current, &gen) == 0)
            dtx_log_info("discovery: new generation", "generation=%llu",
                         (unsigned long long)gen);
        else
            dtx_log_error("discovery: cannot build a generation (out of memory)", NULL);
    }
    rt = dtx_gw_current_acquire(self->current);
    int busy = 0;
    for (int i = 0; rt && i < rt->npools; i++)
        busy += dtx_gw_pool_drain_prune(rt->pools[i]);
    dtx_gw_runtime_unref(&rt);
    if (self->draining && !busy)
        dtx_log_info("discovery: removed targets drained", "calls=0");
    self->draining = busy;
    return next;
}

static void *s_main(void *arg)
{
    dtx_gw_discovery_watch_t *self = arg;
    pthread_mutex_lock(&self->lock);
    while (!self->stop) {
        pthread_mutex_unlock(&self->lock);
        int64_t next = s_round(self);
        pthread_mutex_lock(&self->lock);
        if (self->stop)
            break;
        int64_t wait = next ? next - dtx_gw_now_us() : S_MAX_SLEEP_US;
        if (wait > S_MAX_SLEEP_US || self->draining)
            wait = self->draining ? 20000 : S_MAX_SLEEP_US;
        if (wait < S_MIN_SLEEP_US)
            wait = S_MIN_SLEEP_US;
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += wait / 1000000;
        until.tv_nsec += (wait % 1000000) * 1000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&self->wake, &self->lock, &until);
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

dtx_gw_discovery_watch_t *dtx_gw_discovery_watch_start(dtx_gw_current_t *current)
{
    dtx_gw_discovery_watch_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->current = current;
    pthread_mutex_init(&self->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&self->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&self->thread, NULL, s_main, self) != 0) {
        pthread_cond_destroy(&self->wake);
        pthread_mutex_destroy(&self->lock);
        free(self);
        return NULL;
    }
    return self;
}

void dtx_gw_discovery_watch_stop(dtx_gw_discovery_watch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_gw_discovery_watch_t *self = *self_p;
    *self_p = NULL;
    pthread_mutex_lock(&self->lock);
    self->stop = 1;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
    pthread_join(self->thread, NULL);
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    free(self);
}
