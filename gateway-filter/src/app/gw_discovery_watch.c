/* gw_discovery_watch.c — the discovery thread (gw_discovery_watch.h). */
#include <stdlib.h>

#include "dtx/log.h"
#include "core/gw_clock.h"
#include "core/gw_periodic.h"
#include "upstream/gw_discovery.h"
#include "app/gw_discovery_watch.h"

#define S_MAX_SLEEP_US 200000  /* look again at least this often (a swap may bring pools) */
#define S_MIN_SLEEP_US 5000

struct dtx_gw_discovery_watch {
    dtx_gw_current_t  *current;
    dtx_gw_periodic_t *thread;     /* runs s_tick */
    int                draining;   /* calls on dropped targets at the last look */
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

/* A round, then how long to sleep: until the next source is due, at most
 * S_MAX_SLEEP_US (20 ms while removed targets drain). */
static int64_t s_tick(void *arg)
{
    dtx_gw_discovery_watch_t *self = arg;
    int64_t next = s_round(self);
    int64_t wait = next ? next - dtx_gw_now_us() : S_MAX_SLEEP_US;
    if (wait > S_MAX_SLEEP_US || self->draining)
        wait = self->draining ? 20000 : S_MAX_SLEEP_US;
    if (wait < S_MIN_SLEEP_US)
        wait = S_MIN_SLEEP_US;
    return wait;
}

dtx_gw_discovery_watch_t *dtx_gw_discovery_watch_start(dtx_gw_current_t *current)
{
    dtx_gw_discovery_watch_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->current = current;
    self->thread = dtx_gw_periodic_start(s_tick, self);
    if (!self->thread) {
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
    dtx_gw_periodic_stop(&self->thread);
    free(self);
}
