/* gw_stats.c — route counters kept by name (gw_stats.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gw_stats.h"

static const int64_t s_bounds_us[DTX_GW_LATENCY_BUCKETS] = {
    250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000, 5000000 };

struct dtx_gw_stats {
    pthread_mutex_t        lock;      /* guards routes, nroutes, caproutes */
    dtx_gw_route_stats_t **routes;    /* in creation order */
    int                    nroutes, caproutes;
    atomic_ullong          unrouted;  /* requests no route matched */
};

dtx_gw_stats_t *dtx_gw_stats_new(void)
{
    dtx_gw_stats_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    pthread_mutex_init(&self->lock, NULL);
    atomic_init(&self->unrouted, 0);
    return self;
}

void dtx_gw_stats_destroy(dtx_gw_stats_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_gw_stats_t *self = *self_p;
    *self_p = NULL;
    for (int i = 0; i < self->nroutes; i++)
        free(self->routes[i]);
    free(self->routes);
    pthread_mutex_destroy(&self->lock);
    free(self);
}

dtx_gw_route_stats_t *dtx_gw_stats_route(dtx_gw_stats_t *self, const char *name)
{
    dtx_gw_route_stats_t *found = NULL;
    pthread_mutex_lock(&self->lock);
    for (int i = 0; i < self->nroutes && !found; i++)
        if (strcmp(self->routes[i]->name, name) == 0)
            found = self->routes[i];
    if (!found && self->nroutes == self->caproutes) {
        int cap = self->caproutes ? self->caproutes * 2 : 16;
        dtx_gw_route_stats_t **v = realloc(self->routes, (size_t)cap * sizeof *v);
        if (v) {
            self->routes = v;
            self->caproutes = cap;
        }
    }
    if (!found && self->nroutes < self->caproutes) {
        found = calloc(1, sizeof *found);
        if (found) {
            snprintf(found->name, sizeof found->name, "%s", name);
            self->routes[self->nroutes++] = found;
        }
    }
    pthread_mutex_unlock(&self->lock);
    return found;
}

void dtx_gw_stats_count_unrouted(dtx_gw_stats_t *self)
{
    atomic_fetch_add(&self->unrouted, 1);
}

uint64_t dtx_gw_stats_unrouted(dtx_gw_stats_t *self)
{
    return atomic_load(&self->unrouted);
}

void dtx_gw_stats_each(dtx_gw_stats_t *self,
                       void (*fn)(const dtx_gw_route_stats_t *route, void *arg), void *arg)
{
    pthread_mutex_lock(&self->lock);
    for (int i = 0; i < self->nroutes; i++)
        fn(self->routes[i], arg);
    pthread_mutex_unlock(&self->lock);
}

void dtx_gw_stats_observe(dtx_gw_route_stats_t *stats, int status, int64_t upstream_us)
{
    int cls = status >= 100 && status < 600 ? status / 100 : 0;
    atomic_fetch_add(&stats->responses[cls == 1 ? 0 : cls], 1);
    if (upstream_us > 0) {
        for (int i = 0; i < DTX_GW_LATENCY_BUCKETS; i++)
            if (upstream_us <= s_bounds_us[i])
                atomic_fetch_add(&stats->latency[i], 1);
        atomic_fetch_add(&stats->latency_sum_us, (unsigned long long)upstream_us);
        atomic_fetch_add(&stats->latency_count, 1);
    }
}

int64_t dtx_gw_stats_bucket_us(int i)
{
    return s_bounds_us[i];
}
