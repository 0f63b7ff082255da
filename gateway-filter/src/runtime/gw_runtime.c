/* gw_runtime.c — building generations and swapping them (gw_runtime.h). */
#include <stdlib.h>
#include <string.h>

#include "filters/gw_cache_filter.h"
#include "filters/gw_route.h"
#include "filters/gw_rules.h"
#include "dtx/types.h"
#include "runtime/gw_runtime.h"
#include "filters/gw_txn.h"
#include "upstream/gw_discovery.h"

int dtx_gw_shared_init(dtx_gw_shared_t *self)
{
    memset(self, 0, sizeof *self);
    dtx_gw_dtxd_init(&self->dtxd);
    atomic_init(&self->generations, 0);
    self->stats = dtx_gw_stats_new();
    self->txn = dtx_gw_txn_clients_new();
    self->discovery = dtx_gw_discovery_new();
    if (!self->stats || !self->txn || !self->discovery) {
        dtx_gw_shared_fini(self);
        return DTX_ENOMEM;
    }
    return 0;
}

void dtx_gw_shared_fini(dtx_gw_shared_t *self)
{
    dtx_gw_txn_clients_destroy(&self->txn);
    dtx_gw_stats_destroy(&self->stats);
    dtx_gw_discovery_destroy(&self->discovery);
}

static int s_streq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The old pool to keep: same name, JSON, zone and discovered set. */
static dtx_gw_pool_t *s_find_pool(const dtx_gw_runtime_t *old, const dtx_gw_pool_cfg_t *c,
                                  const char *zone, uint64_t version)
{
    for (int i = 0; old && i < old->npools; i++)
        if (strcmp(old->pools[i]->cfg.name, c->name) == 0 &&
            strcmp(old->pools[i]->cfg.sig, c->sig) == 0 &&
            s_streq(old->pools[i]->local_zone, zone) && old->pools[i]->set_version == version)
            return dtx_gw_pool_ref(old->pools[i]);
    return NULL;
}

/* A new pool for c: the discovered set when the registry tracks it; when
 * that set is what changed (same JSON), the health and counters of the
 * old pool carry over and its dropped targets drain (gw_lb.h). */
static dtx_gw_pool_t *s_new_pool(const dtx_gw_runtime_t *old, const dtx_gw_pool_cfg_t *c,
                                 const char *zone, dtx_gw_discovery_t *disc)
{
    dtx_gw_target_set_t set;
    uint64_t version = 0;
    dtx_gw_pool_t *p;
    if (disc && dtx_gw_discovery_lookup(disc, c, &set, &version)) {
        p = dtx_gw_pool_new_set(c, set.v, set.n, zone);
        dtx_gw_target_set_free(&set);
    } else {
        p = dtx_gw_pool_new_set(c, c->targets, c->ntargets, zone);
    }
    if (!p)
        return NULL;
    p->set_version = version;
    for (int i = 0; old && i < old->npools; i++)
        if (c->ndiscovery && strcmp(old->pools[i]->cfg.name, c->name) == 0 &&
            strcmp(old->pools[i]->cfg.sig, c->sig) == 0)
            dtx_gw_pool_inherit(p, old->pools[i]);
    return p;
}

static dtx_gw_rule_t *s_find_rule(const dtx_gw_runtime_t *old, const dtx_gw_rule_cfg_t *c)
{
    for (int i = 0; old && i < old->nrules; i++)
        if (strcmp(old->rules[i]->cfg.name, c->name) == 0 &&
            strcmp(old->rules[i]->cfg.sig, c->sig) == 0)
            return dtx_gw_rule_ref(old->rules[i]);
    return NULL;
}

dtx_gw_runtime_t *dtx_gw_runtime_build(dtx_gw_config_t *cfg, const dtx_gw_runtime_t *old,
                                       dtx_gw_shared_t *shared)
{
    dtx_gw_runtime_t *self = calloc(1, sizeof *self);
    if (!self) {
        dtx_gw_config_destroy(&cfg);
        return NULL;
    }
    atomic_init(&self->refs, 1);
    self->cfg = cfg;
    self->shared = shared;
    self->generation = atomic_fetch_add(&shared->generations, 1) + 1;
    self->pools = calloc((size_t)cfg->npools + 1, sizeof *self->pools);
    self->rules = calloc((size_t)cfg->nrules + 1, sizeof *self->rules);
    self->routes = calloc((size_t)cfg->nroutes + 1, sizeof *self->routes);
    if (!self->pools || !self->rules || !self->routes)
        goto fail;
    const char *zone = shared->zone[0] ? shared->zone : cfg->zone;
    for (int i = 0; i < cfg->npools; i++) {
        uint64_t version = 0;
        dtx_gw_target_set_t set;
        if (cfg->pools[i].ndiscovery &&
            dtx_gw_discovery_lookup(shared->discovery, &cfg->pools[i], &set, &version))
            dtx_gw_target_set_free(&set);
        self->pools[i] = s_find_pool(old, &cfg->pools[i], zone, version);
        if (!self->pools[i])
            self->pools[i] = s_new_pool(old, &cfg->pools[i], zone, shared->discovery);
        if (!self->pools[i])
            goto fail;
        self->npools++;
    }
    for (int i = 0; i < cfg->nrules; i++) {
        self->rules[i] = s_find_rule(old, &cfg->rules[i]);
        if (!self->rules[i])
            self->rules[i] = dtx_gw_rule_new(&cfg->rules[i]);
        if (!self->rules[i])
            goto fail;
        self->nrules++;
    }
    for (int i = 0; i < cfg->nroutes; i++) {
        const dtx_gw_route_cfg_t *c = &cfg->routes[i];
        dtx_gw_route_t *r = &self->routes[i];
        self->nroutes++;
        r->cfg = c;
        /* + 1: a saga route has no pool (nsplit 0) */
        r->split = calloc((size_t)c->nsplit + 1, sizeof *r->split);
        r->weights = calloc((size_t)c->nsplit + 1, sizeof *r->weights);
        r->rules = calloc((size_t)c->nrules + 1, sizeof *r->rules);
        r->stats = dtx_gw_stats_route(shared->stats, c->name);
        r->cache = dtx_gw_cache_for_route(old, cfg, c);  /* kept when compatible */
        if (!r->split || !r->weights || !r->rules || !r->stats || (c->cache && !r->cache))
            goto fail;
        for (int k = 0; k < c->nsplit; k++) {
            r->split[k] = self->pools[dtx_gw_config_pool_index(cfg, c->split[k].pool)];
            r->weights[k] = c->split[k].weight;
            r->total_weight += c->split[k].weight;
        }
        r->nsplit = c->nsplit;
        if (c->backup_pool)
            r->backup = self->pools[dtx_gw_config_pool_index(cfg, c->backup_pool)];
        if (c->fallback_pool)
            r->fallback_pool = self->pools[dtx_gw_config_pool_index(cfg, c->fallback_pool)];
        for (int k = 0; k < c->nrules; k++)
            r->rules[k] = self->rules[dtx_gw_config_rule_index(cfg, c->rules[k])];
        r->nrules = c->nrules;
    }
    return self;
fail:
    dtx_gw_runtime_unref(&self);
    return NULL;
}

dtx_gw_runtime_t *dtx_gw_runtime_ref(dtx_gw_runtime_t *self)
{
    atomic_fetch_add(&self->refs, 1);
    return self;
}

void dtx_gw_runtime_unref(dtx_gw_runtime_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_gw_runtime_t *self = *self_p;
    *self_p = NULL;
    if (atomic_fetch_sub(&self->refs, 1) != 1)
        return;
    for (int i = 0; self->routes && i < self->nroutes; i++) {
        free(self->routes[i].split);
        free(self->routes[i].weights);
        free(self->routes[i].rules);
        dtx_gw_cache_unref(&self->routes[i].cache);
    }
    for (int i = 0; self->pools && i < self->npools; i++)
        dtx_gw_pool_unref(&self->pools[i]);
    for (int i = 0; self->rules && i < self->nrules; i++)
        dtx_gw_rule_unref(&self->rules[i]);
    free(self->routes);
    free(self->pools);
    free(self->rules);
    dtx_gw_config_destroy(&self->cfg);
    free(self);
}

void dtx_gw_current_init(dtx_gw_current_t *self, dtx_gw_runtime_t *rt)
{
    pthread_mutex_init(&self->apply_lock, NULL);
    pthread_mutex_init(&self->lock, NULL);
    self->rt = rt;
    self->on_swap = NULL;
    self->on_swap_arg = NULL;
}

void dtx_gw_current_fini(dtx_gw_current_t *self)
{
    dtx_gw_runtime_unref(&self->rt);
    pthread_mutex_destroy(&self->lock);
    pthread_mutex_destroy(&self->apply_lock);
}

dtx_gw_runtime_t *dtx_gw_current_acquire(dtx_gw_current_t *self)
{
    pthread_mutex_lock(&self->lock);
    dtx_gw_runtime_t *rt = self->rt ? dtx_gw_runtime_ref(self->rt) : NULL;
    pthread_mutex_unlock(&self->lock);
    return rt;
}

void dtx_gw_current_swap(dtx_gw_current_t *self, dtx_gw_runtime_t *rt)
{
    pthread_mutex_lock(&self->lock);
    dtx_gw_runtime_t *old = self->rt;
    self->rt = rt;
    if (self->on_swap)
        self->on_swap(self->on_swap_arg);
    pthread_mutex_unlock(&self->lock);
    dtx_gw_runtime_unref(&old);
}

void dtx_gw_current_on_swap(dtx_gw_current_t *self, void (*fn)(void *arg), void *arg)
{
    pthread_mutex_lock(&self->lock);
    self->on_swap = fn;
    self->on_swap_arg = arg;
    pthread_mutex_unlock(&self->lock);
}

int dtx_gw_current_apply(dtx_gw_current_t *self, dtx_gw_config_t *cfg, uint64_t *generation)
{
    pthread_mutex_lock(&self->apply_lock);
    dtx_gw_runtime_t *old = dtx_gw_current_acquire(self);
    if (!old) {  /* the app always holds a generation: a misuse */
        pthread_mutex_unlock(&self->apply_lock);
        dtx_gw_config_destroy(&cfg);
        return DTX_ESTATE;
    }
    if (!cfg)                        /* dtx_gw_current_refresh: the same document */
        cfg = dtx_gw_config_share(old->cfg);
    dtx_gw_runtime_t *rt = dtx_gw_runtime_build(cfg, old, old->shared);
    dtx_gw_runtime_unref(&old);
    if (!rt) {
        pthread_mutex_unlock(&self->apply_lock);
        return DTX_ENOMEM;
    }
    if (generation)
        *generation = rt->generation;
    dtx_gw_current_swap(self, rt);
    pthread_mutex_unlock(&self->apply_lock);
    return 0;
}

int dtx_gw_current_refresh(dtx_gw_current_t *self, uint64_t *generation)
{
    return dtx_gw_current_apply(self, NULL, generation);
}
