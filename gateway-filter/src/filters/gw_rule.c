/*
 * gw_rule.c — rule objects (gw_rules.h): one rule's configuration, its
 * algorithm's parameters, its per-key state table under its lock, and
 * its reference count (a rule whose JSON is unchanged is carried into the
 * next configuration). The admission filter that applies them is
 * gw_rules.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "filters/gw_rules.h"

static int s_idle(const void *state, const void *arg, int64_t now_us)
{
    const dtx_gw_rule_t *r = arg;
    const dtx_gw_rule_state_t *s = state;
    switch (r->cfg.kind) {
    case DTX_GW_RULE_RATE:
        switch (r->cfg.algorithm) {
        case DTX_GW_ALG_LEAKY: return dtx_gw_leaky_idle(&r->leaky, &s->leaky, now_us);
        case DTX_GW_ALG_TOKEN:
            return dtx_gw_token_remaining(&r->token, &s->token, now_us) >= (int64_t)r->token.burst;
        case DTX_GW_ALG_WARMUP: return now_us / 1000000 > s->warmup.window_s + 120;
        case DTX_GW_ALG_QUEUE: return s->queue.latest_us + 60000000 < now_us;
        }
        return 0;
    case DTX_GW_RULE_CONCURRENCY: return s->conc.in_flight == 0 && s->conc.waiting == 0;
    case DTX_GW_RULE_BREAKER: return s->breaker.state == DTX_GW_BREAKER_CLOSED;
    case DTX_GW_RULE_ADAPTIVE: return s->adaptive.in_flight == 0;
    }
    return 0;
}

dtx_gw_rule_t *dtx_gw_rule_new(const dtx_gw_rule_cfg_t *cfg)
{
    dtx_gw_rule_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    atomic_init(&self->refs, 1);
    self->cfg = *cfg;
    self->cfg.name = strdup(cfg->name);
    self->cfg.key_header = cfg->key_header ? strdup(cfg->key_header) : NULL;
    self->cfg.sig = cfg->sig ? strdup(cfg->sig) : NULL;
    pthread_mutex_init(&self->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&self->freed, &attr);
    pthread_condattr_destroy(&attr);
    self->keys = dtx_gw_keytab_new(sizeof(dtx_gw_rule_state_t), cfg->max_keys, s_idle, self);
    if (!self->keys || !self->cfg.name) {
        dtx_gw_rule_unref(&self);
        return NULL;
    }
    double per_second = cfg->rate / (cfg->per_s > 0 ? cfg->per_s : 1);
    dtx_gw_leaky_params_set(&self->leaky, (int64_t)llround(cfg->rate), cfg->per_s,
                            cfg->burst, cfg->delay, cfg->nodelay);
    self->token.rate = per_second;
    self->token.burst = cfg->burst > 0 ? (double)cfg->burst : 1.0;
    dtx_gw_warmup_params_set(&self->warmup, per_second, (int)(cfg->warm_up_ms / 1000),
                             cfg->cold_factor);
    self->queue.rate = per_second;
    self->queue.max_wait_us = cfg->max_wait_ms * 1000;
    return self;
}

dtx_gw_rule_t *dtx_gw_rule_ref(dtx_gw_rule_t *self)
{
    atomic_fetch_add(&self->refs, 1);
    return self;
}

void dtx_gw_rule_unref(dtx_gw_rule_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_gw_rule_t *self = *self_p;
    *self_p = NULL;
    if (atomic_fetch_sub(&self->refs, 1) != 1)
        return;
    dtx_gw_keytab_destroy(&self->keys);
    pthread_cond_destroy(&self->freed);
    pthread_mutex_destroy(&self->lock);
    free(self->cfg.name);
    free(self->cfg.key_header);
    free(self->cfg.sig);
    free(self);
}

struct s_each_ctx {
    void (*fn)(const char *, dtx_gw_rule_state_t *, void *);
    void *arg;
};

static void s_each_cb(const char *key, void *state, void *arg)
{
    struct s_each_ctx *c = arg;
    c->fn(key, state, c->arg);
}

void dtx_gw_rule_each(dtx_gw_rule_t *self,
                      void (*fn)(const char *key, dtx_gw_rule_state_t *state, void *arg),
                      void *arg)
{
    struct s_each_ctx c = { fn, arg };
    pthread_mutex_lock(&self->lock);
    dtx_gw_keytab_each(self->keys, s_each_cb, &c);
    pthread_mutex_unlock(&self->lock);
}
