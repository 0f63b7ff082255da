/*
 * gw_pool_set.c — a pool that replaces another when its target set
 * changes (discovery): what carries over, and the targets it dropped
 * draining (gw_lb.h).
 *
 * Drain: a target dropped from the set is simply absent from the new
 * pool, so no new call picks it; a call already out holds the generation
 * it started with (gw_runtime.h), hence the old pool and the target, and
 * completes there. The new pool keeps the old one on its drain_from list
 * only so that /metrics shows those calls; dtx_gw_pool_drain_prune drops
 * the whole list once no dropped target on it has a call in flight.
 * A pool's drain_from is set before the pool is published and afterwards
 * only cleared, under its lock; a walk holds the head's lock and takes
 * each link's lock to read the next (locks go newer to older, never back).
 */
#include <string.h>

#include "upstream/gw_lb.h"

static int s_has(const dtx_gw_pool_t *self, const char *url)
{
    for (int i = 0; i < self->ntargets; i++)
        if (strcmp(self->targets[i].url, url) == 0)
            return 1;
    return 0;
}

void dtx_gw_pool_inherit(dtx_gw_pool_t *self, dtx_gw_pool_t *prev)
{
    if (!prev)
        return;
    pthread_mutex_lock(&prev->lock);
    int dropped = 0, chained = prev->drain_from != NULL;
    for (int k = 0; k < prev->ntargets; k++) {
        const dtx_gw_target_t *o = &prev->targets[k];
        int found = 0;
        for (int i = 0; i < self->ntargets; i++) {
            dtx_gw_target_t *t = &self->targets[i];
            if (strcmp(t->url, o->url) != 0)
                continue;
            found = 1;
            t->healthy = o->healthy;
            t->check_ok = o->check_ok;
            t->check_fail = o->check_fail;
            t->next_check_us = o->next_check_us;
            t->consecutive_5xx = o->consecutive_5xx;
            t->consecutive_connect = o->consecutive_connect;
            t->ejections = o->ejections;
            t->ejected_until_us = o->ejected_until_us;
            t->back_since_us = o->back_since_us;
            atomic_store(&t->picked, atomic_load(&o->picked));
            atomic_store(&t->connects, atomic_load(&o->connects));
        }
        dropped += !found;
    }
    pthread_mutex_unlock(&prev->lock);
    if (dropped || chained) {
        pthread_mutex_lock(&self->lock);
        self->drain_from = dtx_gw_pool_ref(prev);
        pthread_mutex_unlock(&self->lock);
    }
}

/* The next link after link (its lock taken to read it). */
static dtx_gw_pool_t *s_next(dtx_gw_pool_t *link)
{
    pthread_mutex_lock(&link->lock);
    dtx_gw_pool_t *next = link->drain_from;
    pthread_mutex_unlock(&link->lock);
    return next;
}

/* Calls in flight on targets of link that head no longer has. */
static int s_link_busy(const dtx_gw_pool_t *head, const dtx_gw_pool_t *link)
{
    int n = 0;
    for (int k = 0; k < link->ntargets; k++)
        if (!s_has(head, link->targets[k].url))
            n += atomic_load(&link->targets[k].in_flight);
    return n;
}

int dtx_gw_pool_drain_prune(dtx_gw_pool_t *self)
{
    int busy = 0;
    dtx_gw_pool_t *drop = NULL;
    pthread_mutex_lock(&self->lock);
    for (dtx_gw_pool_t *link = self->drain_from; link; link = s_next(link))
        busy += s_link_busy(self, link);
    if (busy == 0) {
        drop = self->drain_from;
        self->drain_from = NULL;
    }
    pthread_mutex_unlock(&self->lock);
    dtx_gw_pool_unref(&drop);
    return busy;
}

void dtx_gw_pool_draining_each(dtx_gw_pool_t *self,
                               void (*fn)(const dtx_gw_target_t *t, void *arg), void *arg)
{
    pthread_mutex_lock(&self->lock);
    for (dtx_gw_pool_t *link = self->drain_from; link; link = s_next(link))
        for (int k = 0; k < link->ntargets; k++) {
            const char *url = link->targets[k].url;
            if (s_has(self, url))
                continue;
            int seen = 0;                /* listed by a newer link already */
            for (dtx_gw_pool_t *l = self->drain_from; l != link && !seen; l = s_next(l))
                seen = s_has(l, url);
            if (!seen)
                fn(&link->targets[k], arg);
        }
    pthread_mutex_unlock(&self->lock);
}
