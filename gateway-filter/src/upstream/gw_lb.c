/*
 * gw_lb.c — pools, the four balancing policies and passive ejection.
 *
 * Policies (over available targets only):
 *  - round_robin: next in turn, weights ignored;
 *  - weighted: nginx's smooth weighted round robin (each pick adds every
 *    weight to its current_weight, takes the largest, subtracts the total);
 *  - least_inflight: fewest calls in flight per unit of weight, ties broken
 *    in round robin order;
 *  - hash: consistent hash (a ring of 100 x weight points per target) on
 *    the pool's hash header; a request without it goes round robin.
 *
 * Zones (gw_zone.h): when the pool has local-zone targets, each pick first
 * draws the priority — local zone or the others — so that load(0) picks
 * in every 100 go local (a fixed permutation of 0..99, not a random draw:
 * exact and testable), then runs the policy over that priority's targets
 * (the other one when none of them is usable).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upstream/gw_lb.h"

#define S_RING_POINTS 100

static uint32_t s_fnv(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    /* Final avalanche (murmur3 fmix) so close keys spread over the ring. */
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

static int s_point_cmp(const void *a, const void *b)
{
    uint32_t x = ((const dtx_gw_ring_point_t *)a)->hash;
    uint32_t y = ((const dtx_gw_ring_point_t *)b)->hash;
    return x < y ? -1 : (x > y);
}

static char *s_dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

dtx_gw_pool_t *dtx_gw_pool_new(const dtx_gw_pool_cfg_t *cfg)
{
    return dtx_gw_pool_new_set(cfg, cfg->targets, cfg->ntargets, NULL);
}

dtx_gw_pool_t *dtx_gw_pool_new_set(const dtx_gw_pool_cfg_t *cfg,
                                   const dtx_gw_target_cfg_t *targets, int ntargets,
                                   const char *local_zone)
{
    dtx_gw_pool_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    atomic_init(&self->refs, 1);
    pthread_mutex_init(&self->lock, NULL);
    self->cfg = *cfg;
    self->cfg.name = s_dup(cfg->name);
    self->cfg.hash_header = s_dup(cfg->hash_header);
    self->cfg.health_path = s_dup(cfg->health_path);
    self->cfg.sig = s_dup(cfg->sig);
    self->cfg.targets = NULL;
    self->cfg.discovery = NULL;
    self->local_zone = s_dup(local_zone);
    self->pick_prio = -1;
    self->ntargets = ntargets < DTX_GW_MAX_TARGETS ? ntargets : DTX_GW_MAX_TARGETS;
    self->targets = calloc((size_t)self->ntargets + 1, sizeof *self->targets);
    int points = 0;
    for (int i = 0; self->targets && i < self->ntargets; i++) {
        self->targets[i].url = s_dup(targets[i].url);
        self->targets[i].addr = targets[i].addr;
        self->targets[i].weight = targets[i].weight;
        self->targets[i].healthy = 1;
        self->targets[i].zone = s_dup(targets[i].zone);
        self->targets[i].local = local_zone && targets[i].zone &&
                                 strcmp(local_zone, targets[i].zone) == 0;
        self->nlocal += self->targets[i].local;
        points += S_RING_POINTS * targets[i].weight;
    }
    if (self->targets && cfg->lb == DTX_GW_LB_HASH) {
        self->ring = calloc((size_t)points + 1, sizeof *self->ring);
        for (int i = 0; self->ring && i < self->ntargets; i++)
            for (int k = 0; k < S_RING_POINTS * self->targets[i].weight; k++) {
                char label[1200];
                int n = snprintf(label, sizeof label, "%s#%d", self->targets[i].url, k);
                self->ring[self->nring].hash = s_fnv(label, (size_t)n);
                self->ring[self->nring].target = i;
                self->nring++;
            }
        if (self->ring)
            qsort(self->ring, (size_t)self->nring, sizeof *self->ring, s_point_cmp);
    }
    if (!self->targets || !self->cfg.name || (cfg->lb == DTX_GW_LB_HASH && !self->ring)) {
        dtx_gw_pool_unref(&self);
        return NULL;
    }
    return self;
}

dtx_gw_pool_t *dtx_gw_pool_ref(dtx_gw_pool_t *self)
{
    atomic_fetch_add(&self->refs, 1);
    return self;
}

void dtx_gw_pool_unref(dtx_gw_pool_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_gw_pool_t *self = *self_p;
    *self_p = NULL;
    if (atomic_fetch_sub(&self->refs, 1) != 1)
        return;
    for (int i = 0; self->targets && i < self->ntargets; i++) {
        free(self->targets[i].url);
        free(self->targets[i].zone);
    }
    free(self->targets);
    free(self->local_zone);
    dtx_gw_pool_unref(&self->drain_from);
    free(self->ring);
    free(self->cfg.name);
    free(self->cfg.hash_header);
    free(self->cfg.health_path);
    free(self->cfg.sig);
    pthread_mutex_destroy(&self->lock);
    free(self);
}

static int s_available(const dtx_gw_target_t *t, int64_t now_us, int panic)
{
    return panic || (t->healthy && t->ejected_until_us <= now_us);
}

static int s_usable(dtx_gw_pool_t *self, int i, int64_t now_us,
                    const unsigned char *exclude, int panic)
{
    if (self->pick_prio >= 0 && self->targets[i].local != (self->pick_prio == 0))
        return 0;
    return !(exclude && exclude[i]) && s_available(&self->targets[i], now_us, panic);
}

static int s_round_robin(dtx_gw_pool_t *self, int64_t now_us, const unsigned char *exclude,
                         int panic)
{
    for (int k = 0; k < self->ntargets; k++) {
        int i = (int)(self->rr_next++ % (unsigned)self->ntargets);
        if (s_usable(self, i, now_us, exclude, panic))
            return i;
    }
    return -1;
}

static int s_weighted(dtx_gw_pool_t *self, int64_t now_us, const unsigned char *exclude,
                      int panic)
{
    int best = -1, total = 0;
    for (int i = 0; i < self->ntargets; i++) {
        dtx_gw_target_t *t = &self->targets[i];
        if (!s_usable(self, i, now_us, exclude, panic))
            continue;
        t->current_weight += t->weight;
        total += t->weight;
        if (best < 0 || t->current_weight > self->targets[best].current_weight)
            best = i;
    }
    if (best >= 0)
        self->targets[best].current_weight -= total;
    return best;
}

static int s_least(dtx_gw_pool_t *self, int64_t now_us, const unsigned char *exclude,
                   int panic)
{
    int best = -1;
    long best_load = 0;
    unsigned start = self->rr_next++;
    for (int k = 0; k < self->ntargets; k++) {
        int i = (int)((start + (unsigned)k) % (unsigned)self->ntargets);
        if (!s_usable(self, i, now_us, exclude, panic))
            continue;
        /* in_flight / weight compared without division */
        long load = (long)atomic_load(&self->targets[i].in_flight) * 10000 /
                    self->targets[i].weight;
        if (best < 0 || load < best_load) {
            best = i;
            best_load = load;
        }
    }
    return best;
}

static int s_hash(dtx_gw_pool_t *self, const char *key, int64_t now_us,
                  const unsigned char *exclude, int panic)
{
    if (!key || self->nring == 0)
        return s_round_robin(self, now_us, exclude, panic);
    uint32_t h = s_fnv(key, strlen(key));
    int lo = 0, hi = self->nring;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (self->ring[mid].hash < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (int k = 0; k < self->nring; k++) {
        int i = self->ring[(lo + k) % self->nring].target;
        if (s_usable(self, i, now_us, exclude, panic))
            return i;
    }
    return -1;
}

static int s_policy(dtx_gw_pool_t *self, const char *hash_key, int64_t now_us,
                    const unsigned char *exclude, int panic)
{
    switch (self->cfg.lb) {
    case DTX_GW_LB_ROUND_ROBIN: return s_round_robin(self, now_us, exclude, panic);
    case DTX_GW_LB_WEIGHTED: return s_weighted(self, now_us, exclude, panic);
    case DTX_GW_LB_LEAST_INFLIGHT: return s_least(self, now_us, exclude, panic);
    case DTX_GW_LB_HASH: return s_hash(self, hash_key, now_us, exclude, panic);
    }
    return -1;
}

/* load(0) of gw_zone.h now, or -1 (no local target, or none healthy). */
static int s_zone_load(dtx_gw_pool_t *self, int64_t now_us)
{
    if (self->nlocal == 0)
        return -1;
    int lh = 0, oh = 0;
    for (int i = 0; i < self->ntargets; i++)
        if (s_available(&self->targets[i], now_us, 0)) {
            lh += self->targets[i].local;
            oh += !self->targets[i].local;
        }
    int load = dtx_gw_zone_local_load(self->cfg.overprovision_pct ? self->cfg.overprovision_pct
                                                                  : 140,
                                      lh, self->nlocal, oh, self->ntargets - self->nlocal);
    return load;
}

int dtx_gw_pool_zone_load(dtx_gw_pool_t *self, int64_t now_us)
{
    pthread_mutex_lock(&self->lock);
    int load = s_zone_load(self, now_us);
    pthread_mutex_unlock(&self->lock);
    return load;
}

/* The zone draw (gw_zone.h): 0 local, 1 the others, -1 no preference. */
static int s_draw_prio(dtx_gw_pool_t *self, int64_t now_us)
{
    int load = s_zone_load(self, now_us);
    if (load < 0)
        return -1;
    unsigned r = (self->zone_seq++ % 100u) * 37u % 100u;  /* 37 and 100 coprime: a permutation */
    return (int)r < load ? 0 : 1;
}

int dtx_gw_pool_pick(dtx_gw_pool_t *self, const char *hash_key, int64_t now_us,
                     const unsigned char *exclude, int panic)
{
    pthread_mutex_lock(&self->lock);
    int i = -1;
    int prio = panic ? -1 : s_draw_prio(self, now_us);
    if (prio >= 0) {
        self->pick_prio = prio;
        i = s_policy(self, hash_key, now_us, exclude, panic);
        if (i < 0) {
            self->pick_prio = 1 - prio;  /* none usable there: the other zones */
            i = s_policy(self, hash_key, now_us, exclude, panic);
        }
        self->pick_prio = -1;
    } else {
        i = s_policy(self, hash_key, now_us, exclude, panic);
    }
    pthread_mutex_unlock(&self->lock);
    return i;
}

int dtx_gw_pool_available(dtx_gw_pool_t *self, int64_t now_us)
{
    int n = 0;
    pthread_mutex_lock(&self->lock);
    for (int i = 0; i < self->ntargets; i++)
        n += s_available(&self->targets[i], now_us, 0);
    pthread_mutex_unlock(&self->lock);
    return n;
}

static int s_may_eject(dtx_gw_pool_t *self, int64_t now_us)
{
    int ejected = 0;
    for (int i = 0; i < self->ntargets; i++)
        ejected += self->targets[i].ejected_until_us > now_us;
    return ejected * 100 / self->ntargets < self->cfg.eject_max_percent;
}

int dtx_gw_pool_record(dtx_gw_pool_t *self, int idx, int64_t now_us, int outcome)
{
    if (idx < 0 || idx >= self->ntargets)
        return 0;
    int ejected = 0;
    pthread_mutex_lock(&self->lock);
    dtx_gw_target_t *t = &self->targets[idx];
    if (outcome == DTX_GW_OUTCOME_OK) {
        t->consecutive_5xx = 0;
        t->consecutive_connect = 0;
        if (t->ejections && t->ejected_until_us <= now_us &&
            now_us - t->back_since_us >= self->cfg.eject_max_ms * 1000)
            t->ejections = 0;
    } else if (outcome == DTX_GW_OUTCOME_5XX) {
        t->consecutive_5xx++;
    } else if (outcome == DTX_GW_OUTCOME_CONNECT) {
        t->consecutive_connect++;
    }
    int trip = (self->cfg.eject_consecutive_5xx > 0 &&
                t->consecutive_5xx >= self->cfg.eject_consecutive_5xx) ||
               (self->cfg.eject_consecutive_connect > 0 &&
                t->consecutive_connect >= self->cfg.eject_consecutive_connect);
    if (trip && t->ejected_until_us <= now_us && s_may_eject(self, now_us)) {
        t->ejections++;
        int64_t ms = self->cfg.eject_base_ms;
        for (int k = 1; k < t->ejections && ms < self->cfg.eject_max_ms; k++)
            ms *= 2;
        if (ms > self->cfg.eject_max_ms)
            ms = self->cfg.eject_max_ms;
        t->ejected_until_us = now_us + ms * 1000;
        t->back_since_us = t->ejected_until_us;
        t->consecutive_5xx = 0;
        t->consecutive_connect = 0;
        ejected = 1;
    }
    pthread_mutex_unlock(&self->lock);
    return ejected;
}

int dtx_gw_pool_health_result(dtx_gw_pool_t *self, int idx, int64_t now_us, int ok)
{
    (void)now_us;
    if (idx < 0 || idx >= self->ntargets)
        return 0;
    pthread_mutex_lock(&self->lock);
    dtx_gw_target_t *t = &self->targets[idx];
    if (ok) {
        t->check_fail = 0;
        if (++t->check_ok >= self->cfg.healthy_after)
            t->healthy = 1;
    } else {
        t->check_ok = 0;
        if (++t->check_fail >= self->cfg.unhealthy_after)
            t->healthy = 0;
    }
    int h = t->healthy;
    pthread_mutex_unlock(&self->lock);
    return h;
}

int dtx_gw_pool_ejected(dtx_gw_pool_t *self, int idx, int64_t now_us)
{
    pthread_mutex_lock(&self->lock);
    int e = idx >= 0 && idx < self->ntargets && self->targets[idx].ejected_until_us > now_us;
    pthread_mutex_unlock(&self->lock);
    return e;
}
