/*
 * gw_cluster.c — the cluster-limit engine (gw_cluster.h): per-key slices
 * and leases, the sync thread, the Redis modes.
 *
 * States of the engine (self->mode, read by workers without the lock):
 *   CLUSTER --(connect or round trip fails / times out)--> FALLBACK
 *   FALLBACK (FAIL_OPEN or FAIL_CLOSED, cluster.failure)
 *           --(reconnect every retry_ms, then a round trip answers)--> CLUSTER
 * It starts in CLUSTER with empty pools (requests are refused until the
 * first slices arrive, one sync period); a Redis that cannot be reached
 * at start turns it to FALLBACK at the first attempt.
 *
 * Invariants:
 *  - the lock guards the key table and every entry; it is never held
 *    across a round trip to Redis (the thread plans under it, runs the
 *    calls without it, applies the answers under it);
 *  - an entry with a call in flight is pinned (never dropped from the
 *    table) until its answer is applied;
 *  - workers read mode and live as atomics: the hot path never waits for
 *    the thread.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/log.h"
#include "dtx/types.h"
#include "core/gw_clock.h"
#include "core/gw_keytab.h"
#include "core/gw_periodic.h"
#include "filters/gw_cluster.h"

#define S_KEY_MAX 2048

typedef struct s_entry {
    int kind;                      /* 0 rate, 1 concurrency */
    dtx_gw_cq_rate_params_t rp;
    dtx_gw_cq_conc_params_t cp;
    dtx_gw_cq_rate_t rate;
    dtx_gw_cq_conc_t conc;
} s_entry_t;

struct dtx_gw_cluster {
    dtx_gw_cluster_cfg_t cfg;       /* strings owned */
    dtx_gw_cluster_transport_t tr;
    int64_t (*now)(void);
    pthread_mutex_t lock;           /* keys and every entry */
    dtx_gw_keytab_t *keys;
    atomic_int mode;
    atomic_int live;
    atomic_int redis_up;
    atomic_ullong round_trips, errors, fallbacks, granted, returned;
    /* the thread's own (no lock) */
    int connected;
    int ever_up;
    int64_t next_connect_us;
    int64_t next_beat_us;
    char beat_key[128];
    /* the sync thread (runs s_tick every sync_ms), NULL until started */
    dtx_gw_periodic_t *thread;
};

/* ---------------- the scripts ---------------- */

/* GCRA over Redis's clock: the bucket is the theoretical arrival time in
 * microseconds. n > 0 takes up to n tokens (as many as the tolerance
 * allows), n < 0 gives -n back (never beyond a full bucket). */
static const char s_rate_lua[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local n = tonumber(ARGV[1])\n"
    "local iv = tonumber(ARGV[2])\n"
    "local tau = tonumber(ARGV[3])\n"
    "local tat = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
    "if tat < now then tat = now end\n"
    "local got = n\n"
    "if n > 0 then\n"
    "  local avail = math.floor((now + tau - tat) / iv) + 1\n"
    "  if avail < 0 then avail = 0 end\n"
    "  if avail < n then got = avail end\n"
    "  tat = tat + got * iv\n"
    "else\n"
    "  tat = tat + n * iv\n"
    "  if tat < now then tat = now end\n"
    "end\n"
    "redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX',\n"
    "           math.floor((tat - now + tau) / 1000) + 1000)\n"
    "return got\n";

/* Concurrency leases: a hash instance -> "slots:expiry_ms". Expired
 * leases are dropped; the caller gets min(want, max - others' slots). */
static const char s_conc_lua[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local me = ARGV[1]\n"
    "local want = tonumber(ARGV[2])\n"
    "local max = tonumber(ARGV[3])\n"
    "local lease = tonumber(ARGV[4])\n"
    "local all = redis.call('HGETALL', KEYS[1])\n"
    "local others = 0\n"
    "for i = 1, #all, 2 do\n"
    "  if all[i] ~= me then\n"
    "    local slots, exp = string.match(all[i + 1], '^(%d+):(%d+)$')\n"
    "    if slots == nil or tonumber(exp) <= now then\n"
    "      redis.call('HDEL', KEYS[1], all[i])\n"
    "    else\n"
    "      others = others + tonumber(slots)\n"
    "    end\n"
    "  end\n"
    "end\n"
    "local got = max - others\n"
    "if got > want then got = want end\n"
    "if got < 0 then got = 0 end\n"
    "if got > 0 then\n"
    "  redis.call('HSET', KEYS[1], me, string.format('%d:%d', got, now + lease))\n"
    "  redis.call('PEXPIRE', KEYS[1], lease * 2)\n"
    "else\n"
    "  redis.call('HDEL', KEYS[1], me)\n"
    "end\n"
    "return got\n";

/* Heartbeat: the instance's expiry in a sorted set; returns the number of
 * instances alive (ttl 0 removes this one). */
static const char s_beat_lua[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local ttl = tonumber(ARGV[2])\n"
    "if ttl > 0 then\n"
    "  redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])\n"
    "  redis.call('PEXPIRE', KEYS[1], ttl * 4)\n"
    "else\n"
    "  redis.call('ZREM', KEYS[1], ARGV[1])\n"
    "end\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)\n"
    "return redis.call('ZCARD', KEYS[1])\n";

const char *dtx_gw_cluster_script(int script)
{
    switch (script) {
    case DTX_GW_CLUSTER_RATE: return s_rate_lua;
    case DTX_GW_CLUSTER_CONC: return s_conc_lua;
    case DTX_GW_CLUSTER_BEAT: return s_beat_lua;
    }
    return NULL;
}

/* ---------------- entries ---------------- */

static int s_idle(const void *state, const void *arg, int64_t now_us)
{
    (void)arg;
    const s_entry_t *e = state;
    if (e->kind == 0)
        return e->rate.pool == 0 && !e->rate.asking &&
               now_us - e->rate.last_use_us > e->rp.idle_us + 1000000;
    return e->conc.held == 0 && e->conc.in_flight == 0 && !e->conc.asking;
}

static char *s_dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

dtx_gw_cluster_t *dtx_gw_cluster_new(const dtx_gw_cluster_cfg_t *cfg,
                                     const dtx_gw_cluster_transport_t *transport,
                                     int64_t (*now_fn)(void))
{
    dtx_gw_cluster_t *self = calloc(1, sizeof *self);
    if (!self) {
        if (transport->destroy)
            transport->destroy(transport->ctx);
        return NULL;
    }
    self->tr = *transport;
    self->cfg = *cfg;
    self->cfg.redis = s_dup(cfg->redis);
    self->cfg.username = NULL;
    self->cfg.password = NULL;  /* the transport has its copy */
    self->cfg.key_prefix = s_dup(cfg->key_prefix ? cfg->key_prefix : "");
    self->cfg.instance = s_dup(cfg->instance ? cfg->instance : "gateway");
    self->cfg.sig = NULL;
    self->now = now_fn ? now_fn : dtx_gw_now_us;
    pthread_mutex_init(&self->lock, NULL);
    atomic_init(&self->mode, DTX_GW_CQ_CLUSTER);
    atomic_init(&self->live, 1);
    self->keys = dtx_gw_keytab_new(sizeof(s_entry_t), 1000000, s_idle, self);
    snprintf(self->beat_key, sizeof self->beat_key, "%sinstances",
             self->cfg.key_prefix ? self->cfg.key_prefix : "");
    if (!self->keys || !self->cfg.key_prefix || !self->cfg.instance) {
        dtx_gw_cluster_destroy(&self);
        return NULL;
    }
    return self;
}

/* ---------------- modes ---------------- */

static void s_down(dtx_gw_cluster_t *self, int64_t now_us, const char *why)
{
    atomic_fetch_add(&self->errors, 1);
    if (self->connected && self->tr.close)
        self->tr.close(self->tr.ctx);
    self->connected = 0;
    self->next_connect_us = now_us + self->cfg.retry_ms * 1000;
    atomic_store(&self->redis_up, 0);
    int fallback = self->cfg.fail_closed ? DTX_GW_CQ_FAIL_CLOSED : DTX_GW_CQ_FAIL_OPEN;
    if (atomic_exchange(&self->mode, fallback) != fallback) {
        atomic_fetch_add(&self->fallbacks, 1);
        dtx_log_warn("cluster: Redis unreachable, limits fall back",
                     "mode=%s live_instances=%d redis=%s detail=\"%s\"",
                     dtx_gw_cq_mode_name(fallback), atomic_load(&self->live),
                     self->cfg.redis ? self->cfg.redis : "-", DTX_Q(why));
    }
}

static void s_up(dtx_gw_cluster_t *self)
{
    atomic_store(&self->redis_up, 1);
    int was = atomic_exchange(&self->mode, DTX_GW_CQ_CLUSTER);
    if (was != DTX_GW_CQ_CLUSTER || !self->ever_up)
        dtx_log_info(was != DTX_GW_CQ_CLUSTER ? "cluster: Redis answers again, limits enforced "
                                                "cluster-wide"
                                              : "cluster: Redis answers, limits enforced "
                                                "cluster-wide",
                     "mode=cluster live_instances=%d redis=%s", atomic_load(&self->live),
                     self->cfg.redis ? self->cfg.redis : "-");
    self->ever_up = 1;
}

/* ---------------- the sync pass ---------------- */

typedef struct {
    dtx_gw_cluster_call_t *calls;
    s_entry_t **entries;   /* NULL for the heartbeat */
    int64_t *asked;        /* plan's n (rate) or target (conc) */
    int n, cap;
    int failed;            /* out of memory */
} s_batch_t;

static int s_batch_add(s_batch_t *b, int script, const char *key, const char *instance,
                       s_entry_t *e, int64_t asked)
{
    if (b->n == b->cap) {
        int cap = b->cap ? b->cap * 2 : 16;
        dtx_gw_cluster_call_t *c = realloc(b->calls, (size_t)cap * sizeof *c);
        if (c)
            b->calls = c;
        s_entry_t **es = c ? realloc(b->entries, (size_t)cap * sizeof *es) : NULL;
        if (es)
            b->entries = es;
        int64_t *as = es ? realloc(b->asked, (size_t)cap * sizeof *as) : NULL;
        if (!as) {
            b->failed = 1;
            return -1;
        }
        b->asked = as;
        b->cap = cap;
    }
    char *k = strdup(key);
    if (!k) {
        b->failed = 1;
        return -1;
    }
    dtx_gw_cluster_call_t *c = &b->calls[b->n];
    memset(c, 0, sizeof *c);
    c->script = script;
    c->key = k;
    c->instance = instance;
    b->entries[b->n] = e;
    b->asked[b->n] = asked;
    b->n++;
    return 0;
}

static void s_batch_free(s_batch_t *b)
{
    for (int i = 0; i < b->n; i++)
        free((char *)b->calls[i].key);
    free(b->calls);
    free(b->entries);
    free(b->asked);
}

static void s_rate_call(dtx_gw_cluster_call_t *c, const dtx_gw_cq_rate_params_t *p, int64_t n)
{
    double iv = 1e6 / p->rate;
    c->arg[0] = (double)n;
    c->arg[1] = iv;
    /* the shared bucket holds capacity + headroom (5 slices, 100 ms of
     * the rate by default): tokens that accrue while every instance's
     * sync thread is late (a loaded machine) are not lost */
    c->arg[2] = (double)(p->capacity + DTX_GW_CLUSTER_HEADROOM_SLICES * p->slice - 1) * iv;
}

typedef struct {
    dtx_gw_cluster_t *self;
    s_batch_t *b;
    int64_t now;
    int final;   /* destroy: give everything back */
} s_plan_ctx_t;

static void s_plan_one(const char *key, void *state, void *arg)
{
    s_plan_ctx_t *pc = arg;
    s_entry_t *e = state;
    if (e->kind == 0) {
        int64_t n;
        if (pc->final) {
            /* give the pool back (a debt is left: Redis's bucket was
             * not charged for it, the cost of the loan) */
            n = e->rate.asking || e->rate.pool <= 0 ? 0 : -e->rate.pool;
            if (n)
                e->rate.pool = 0, e->rate.asking = 1;
        } else {
            n = dtx_gw_cq_rate_plan(&e->rp, &e->rate, pc->now);
        }
        if (!n)
            return;
        if (s_batch_add(pc->b, DTX_GW_CLUSTER_RATE, key, NULL, e, n) < 0) {
            dtx_gw_cq_rate_apply(&e->rate, n, 0, 0);
            return;
        }
        s_rate_call(&pc->b->calls[pc->b->n - 1], &e->rp, n);
    } else {
        int want;
        if (pc->final) {
            want = e->conc.asking || e->conc.held == 0 ? -1 : 0;
            if (want == 0)
                e->conc.asking = 1;
        } else {
            want = dtx_gw_cq_conc_plan(&e->cp, &e->conc, pc->now);
        }
        if (want < 0)
            return;
        if (s_batch_add(pc->b, DTX_GW_CLUSTER_CONC, key, pc->self->cfg.instance, e, want) < 0) {
            dtx_gw_cq_conc_apply(&e->conc, 0, 0, pc->now);
            return;
        }
        dtx_gw_cluster_call_t *c = &pc->b->calls[pc->b->n - 1];
        c->arg[0] = want;
        c->arg[1] = e->cp.max;
        c->arg[2] = (double)(e->cp.lease_us / 1000);
    }
    dtx_gw_keytab_pin(e);
}

static void s_apply(dtx_gw_cluster_t *self, s_batch_t *b, int answered, int64_t now)
{
    uint64_t granted = 0, returned = 0;
    pthread_mutex_lock(&self->lock);
    for (int i = 0; i < b->n; i++) {
        dtx_gw_cluster_call_t *c = &b->calls[i];
        s_entry_t *e = b->entries[i];
        int ok = answered && c->ok;
        if (!e) {
            if (ok && c->result >= 0)
                atomic_store(&self->live, c->result > 0 ? (int)c->result : 1);
            continue;
        }
        if (c->script == DTX_GW_CLUSTER_RATE) {
            int64_t n = b->asked[i];
            int64_t got = c->result < 0 ? 0 : c->result;
            if (n > 0 && got > n)
                got = n;
            dtx_gw_cq_rate_apply(&e->rate, n, ok, got);
            if (ok && n > 0)
                granted += (uint64_t)got;
            else if (ok)
                returned += (uint64_t)-n;
        } else {
            int64_t got = c->result < 0 ? 0 : c->result;
            dtx_gw_cq_conc_apply(&e->conc, ok, (int)got, now);
        }
        dtx_gw_keytab_unpin(e);
    }
    pthread_mutex_unlock(&self->lock);
    atomic_fetch_add(&self->granted, granted);
    atomic_fetch_add(&self->returned, returned);
}

static void s_sync(dtx_gw_cluster_t *self, int64_t now_us, int final)
{
    char err[256] = "";
    if (!self->connected) {
        if (final || now_us < self->next_connect_us)
            return;
        if (self->tr.connect(self->tr.ctx, err, sizeof err) < 0) {
            s_down(self, now_us, err);
            return;
        }
        self->connected = 1;
        self->next_beat_us = 0;
    }
    s_batch_t b = { 0 };
    if (final || now_us >= self->next_beat_us) {
        if (s_batch_add(&b, DTX_GW_CLUSTER_BEAT, self->beat_key, self->cfg.instance, NULL, 0) == 0)
            b.calls[0].arg[0] = final ? 0 : (double)self->cfg.lease_ms;
        self->next_beat_us = now_us + self->cfg.heartbeat_ms * 1000;
    }
    s_plan_ctx_t pc = { self, &b, now_us, final };
    pthread_mutex_lock(&self->lock);
    dtx_gw_keytab_each(self->keys, s_plan_one, &pc);
    pthread_mutex_unlock(&self->lock);
    if (b.n == 0) {
        s_batch_free(&b);
        return;
    }
    int rc = self->tr.exec(self->tr.ctx, b.calls, b.n, err, sizeof err);
    s_apply(self, &b, rc == 0, now_us);
    s_batch_free(&b);
    if (rc < 0) {
        s_down(self, now_us, err);
        return;
    }
    atomic_fetch_add(&self->round_trips, 1);
    if (!final)
        s_up(self);
}

void dtx_gw_cluster_step(dtx_gw_cluster_t *self, int64_t now_us)
{
    s_sync(self, now_us, 0);
}

static int64_t s_tick(void *arg)
{
    dtx_gw_cluster_t *self = arg;
    s_sync(self, self->now(), 0);
    return (int64_t)self->cfg.sync_ms * 1000;
}

int dtx_gw_cluster_start(dtx_gw_cluster_t *self)
{
    self->thread = dtx_gw_periodic_start(s_tick, self);
    return self->thread ? 0 : DTX_EIO;
}

void dtx_gw_cluster_destroy(dtx_gw_cluster_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_gw_cluster_t *self = *self_p;
    *self_p = NULL;
    dtx_gw_periodic_stop(&self->thread);
    if (self->keys && self->connected)
        s_sync(self, self->now(), 1);   /* give back pools and leases, leave the count */
    if (self->connected && self->tr.close)
        self->tr.close(self->tr.ctx);
    if (self->tr.destroy)
        self->tr.destroy(self->tr.ctx);
    dtx_gw_keytab_destroy(&self->keys);
    pthread_mutex_destroy(&self->lock);
    free(self->cfg.redis);
    free(self->cfg.key_prefix);
    free(self->cfg.instance);
    free(self);
}

/* ---------------- the hot path ---------------- */

/* The entry of rule r for key (lock held), or NULL (table full). */
static s_entry_t *s_entry(dtx_gw_cluster_t *self, const dtx_gw_rule_cfg_t *r, const char *key,
                          int64_t now_us)
{
    char k[S_KEY_MAX];
    int kind = r->kind == DTX_GW_RULE_CONCURRENCY;
    snprintf(k, sizeof k, "%s%s:%s:%s", self->cfg.key_prefix, kind ? "conc" : "rate", r->name,
             key);
    s_entry_t *e = dtx_gw_keytab_get(self->keys, k, now_us);
    if (!e)
        return NULL;
    e->kind = kind;
    int live = atomic_load(&self->live);
    if (kind) {
        dtx_gw_cq_conc_params_set(&e->cp, r->max, live, self->cfg.lease_ms, self->cfg.idle_ms);
    } else {
        double per_s = r->rate / (r->per_s > 0 ? r->per_s : 1);
        int64_t cap = r->algorithm == DTX_GW_ALG_TOKEN ? (r->burst > 0 ? r->burst : 1)
                                                       : r->burst + 1;
        dtx_gw_cq_rate_params_set(&e->rp, per_s, cap, self->cfg.slice_ms, self->cfg.idle_ms);
    }
    return e;
}

int dtx_gw_cluster_rate(dtx_gw_cluster_t *self, const dtx_gw_rule_cfg_t *r, const char *key,
                        int64_t now_us, int account, int64_t *retry_us)
{
    int mode = atomic_load(&self->mode), live = atomic_load(&self->live);
    pthread_mutex_lock(&self->lock);
    s_entry_t *e = s_entry(self, r, key, now_us);
    int v = DTX_GW_RL_REJECT;
    *retry_us = 1000000;
    if (e)
        v = dtx_gw_cq_rate_take(&e->rp, &e->rate, mode, live, now_us, account, retry_us);
    pthread_mutex_unlock(&self->lock);
    return v;
}

void *dtx_gw_cluster_conc_acquire(dtx_gw_cluster_t *self, const dtx_gw_rule_cfg_t *r,
                                  const char *key, int64_t now_us)
{
    int mode = atomic_load(&self->mode), live = atomic_load(&self->live);
    pthread_mutex_lock(&self->lock);
    s_entry_t *e = s_entry(self, r, key, now_us);
    if (e && dtx_gw_cq_conc_acquire(&e->cp, &e->conc, mode, live, now_us))
        dtx_gw_keytab_pin(e);
    else
        e = NULL;
    pthread_mutex_unlock(&self->lock);
    return e;
}

void dtx_gw_cluster_conc_release(dtx_gw_cluster_t *self, void *slot)
{
    s_entry_t *e = slot;
    if (!e)
        return;
    pthread_mutex_lock(&self->lock);
    dtx_gw_cq_conc_release(&e->conc);
    dtx_gw_keytab_unpin(e);
    pthread_mutex_unlock(&self->lock);
}

/* ---------------- status ---------------- */

void dtx_gw_cluster_status(dtx_gw_cluster_t *self, dtx_gw_cluster_status_t *out)
{
    memset(out, 0, sizeof *out);
    out->mode = atomic_load(&self->mode);
    out->fail_closed = self->cfg.fail_closed;
    out->redis_up = atomic_load(&self->redis_up);
    out->live = atomic_load(&self->live);
    out->round_trips = atomic_load(&self->round_trips);
    out->errors = atomic_load(&self->errors);
    out->fallbacks = atomic_load(&self->fallbacks);
    out->tokens_granted = atomic_load(&self->granted);
    out->tokens_returned = atomic_load(&self->returned);
    pthread_mutex_lock(&self->lock);
    out->keys = dtx_gw_keytab_count(self->keys);
    pthread_mutex_unlock(&self->lock);
}

char *dtx_gw_cluster_metrics(dtx_gw_cluster_t *self)
{
    dtx_gw_cluster_status_t s;
    dtx_gw_cluster_status(self, &s);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f)
        return NULL;
    for (int m = DTX_GW_CQ_CLUSTER; m <= DTX_GW_CQ_FAIL_CLOSED; m++)
        fprintf(f, "dtx_gw_cluster_mode{mode=\"%s\"} %d\n", dtx_gw_cq_mode_name(m), s.mode == m);
    fprintf(f, "dtx_gw_cluster_redis_up %d\n"
               "dtx_gw_cluster_live_instances %d\n"
               "dtx_gw_cluster_keys %llu\n"
               "dtx_gw_cluster_round_trips_total %llu\n"
               "dtx_gw_cluster_redis_errors_total %llu\n"
               "dtx_gw_cluster_fallbacks_total %llu\n"
               "dtx_gw_cluster_tokens_granted_total %llu\n"
               "dtx_gw_cluster_tokens_returned_total %llu\n",
            s.redis_up, s.live, (unsigned long long)s.keys,
            (unsigned long long)s.round_trips, (unsigned long long)s.errors,
            (unsigned long long)s.fallbacks, (unsigned long long)s.tokens_granted,
            (unsigned long long)s.tokens_returned);
    if (fclose(f) != 0) {
        free(out);
        return NULL;
    }
    return out;
}
