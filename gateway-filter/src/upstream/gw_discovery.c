/*
 * gw_discovery.c — the discovery registry (gw_discovery.h).
 *
 * Invariants: only the discovery thread calls _sync and _poll, so an
 * entry and its sources' configs change only there; the reads (file,
 * DNS) run outside the lock on that thread's private copies, and the
 * results go in under the lock, which lookup and each take to read.
 * entry->merged is always statics + every source's last good set, in
 * order, and entry->version counts its changes since tracking began.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dtx/log.h"
#include "dtx/types.h"
#include "upstream/gw_discovery.h"

typedef struct s_source {
    dtx_gw_discovery_cfg_t cfg;      /* deep copy */
    dtx_gw_target_set_t    set;      /* last good */
    int64_t                due_us;
    int                    stat_known;
    struct stat            st;       /* file: what it was when last read */
    uint64_t               reads, failures, changes;
    char                   last_error[256];
} s_source_t;

typedef struct s_entry {
    char               *name, *sig;
    dtx_gw_target_set_t statics;
    s_source_t         *src;
    int                 nsrc;
    dtx_gw_target_set_t merged;
    uint64_t            version;
    int                 seen;
    struct s_entry     *next;
} s_entry_t;

struct dtx_gw_discovery {
    pthread_mutex_t lock;
    s_entry_t      *entries;
};

static char *s_dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int s_copy_set(dtx_gw_target_set_t *out, const dtx_gw_target_cfg_t *v, int n)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < n; i++)
        if (dtx_gw_target_set_add(out, v[i].url, v[i].weight, v[i].zone, &v[i].addr) < 0) {
            dtx_gw_target_set_free(out);
            return DTX_ENOMEM;
        }
    return 0;
}

static void s_entry_free(s_entry_t *e)
{
    if (!e)
        return;
    for (int i = 0; e->src && i < e->nsrc; i++) {
        s_source_t *s = &e->src[i];
        free(s->cfg.file);
        free(s->cfg.name);
        free(s->cfg.zone);
        free(s->cfg.resolver);
        dtx_gw_target_set_free(&s->set);
    }
    free(e->src);
    dtx_gw_target_set_free(&e->statics);
    dtx_gw_target_set_free(&e->merged);
    free(e->name);
    free(e->sig);
    free(e);
}

dtx_gw_discovery_t *dtx_gw_discovery_new(void)
{
    dtx_gw_discovery_t *self = calloc(1, sizeof *self);
    if (self)
        pthread_mutex_init(&self->lock, NULL);
    return self;
}

void dtx_gw_discovery_destroy(dtx_gw_discovery_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_gw_discovery_t *self = *self_p;
    *self_p = NULL;
    while (self->entries) {
        s_entry_t *e = self->entries;
        self->entries = e->next;
        s_entry_free(e);
    }
    pthread_mutex_destroy(&self->lock);
    free(self);
}

static s_entry_t *s_find(dtx_gw_discovery_t *self, const char *name, const char *sig)
{
    for (s_entry_t *e = self->entries; e; e = e->next)
        if (strcmp(e->name, name) == 0 && strcmp(e->sig, sig) == 0)
            return e;
    return NULL;
}

static s_entry_t *s_entry_new(const dtx_gw_pool_cfg_t *pc, int64_t now_us)
{
    s_entry_t *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->name = s_dup(pc->name);
    e->sig = s_dup(pc->sig);
    e->src = calloc((size_t)pc->ndiscovery, sizeof *e->src);
    if (!e->name || !e->sig || !e->src)
        goto fail;
    e->nsrc = pc->ndiscovery;
    if (s_copy_set(&e->statics, pc->targets, pc->nstatic) < 0 ||
        s_copy_set(&e->merged, pc->targets, pc->ntargets) < 0)
        goto fail;
    for (int i = 0; i < e->nsrc; i++) {
        const dtx_gw_discovery_cfg_t *d = &pc->discovery[i];
        s_source_t *s = &e->src[i];
        s->cfg = *d;
        s->cfg.file = s_dup(d->file);
        s->cfg.name = s_dup(d->name);
        s->cfg.zone = s_dup(d->zone);
        s->cfg.resolver = s_dup(d->resolver);
        if ((d->file && !s->cfg.file) || (d->name && !s->cfg.name) ||
            (d->zone && !s->cfg.zone) || (d->resolver && !s->cfg.resolver) ||
            s_copy_set(&s->set, pc->targets + d->first, d->count) < 0)
            goto fail;
        /* A file is looked at at once (it may have changed since the load
         * read it: an unchanged one changes nothing); DNS when the load's
         * answer said. */
        s->due_us = d->kind == DTX_GW_DISC_FILE ? now_us : now_us + d->first_refresh_ms * 1000;
    }
    return e;
fail:
    s_entry_free(e);
    return NULL;
}

int dtx_gw_discovery_sync(dtx_gw_discovery_t *self, const dtx_gw_pool_cfg_t *const *pools,
                          int npools, int64_t now_us)
{
    int rc = 0;
    pthread_mutex_lock(&self->lock);
    for (s_entry_t *e = self->entries; e; e = e->next)
        e->seen = 0;
    for (int i = 0; i < npools; i++) {
        const dtx_gw_pool_cfg_t *pc = pools[i];
        if (pc->ndiscovery == 0)
            continue;
        s_entry_t *e = s_find(self, pc->name, pc->sig);
        if (!e) {
            e = s_entry_new(pc, now_us);
            if (!e) {
                rc = DTX_ENOMEM;
                continue;
            }
            e->next = self->entries;
            self->entries = e;
        }
        e->seen = 1;
    }
    for (s_entry_t **at = &self->entries; *at;) {
        s_entry_t *e = *at;
        if (e->seen) {
            at = &e->next;
            continue;
        }
        *at = e->next;
        s_entry_free(e);
    }
    pthread_mutex_unlock(&self->lock);
    return rc;
}

static int s_same_stat(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Reads source s if due and its input changed. Returns 1 when its set
 * was replaced, 0 otherwise. Runs without the lock: only this thread
 * touches s; the swap of s->set takes the lock. */
static int s_read(dtx_gw_discovery_t *self, s_entry_t *e, int idx, int64_t now_us,
                  dtx_gw_dns_query_fn query, void *qarg)
{
    s_source_t *s = &e->src[idx];
    if (s->due_us > now_us)
        return 0;
    struct stat st;
    int st_ok = 0;
    if (s->cfg.kind == DTX_GW_DISC_FILE) {
        pthread_mutex_lock(&self->lock);  /* due_us is read by _each */
        s->due_us = now_us + s->cfg.check_ms * 1000;
        pthread_mutex_unlock(&self->lock);
        st_ok = stat(s->cfg.file, &st) == 0;
        if (st_ok && s->stat_known && s_same_stat(&st, &s->st))
            return 0;                    /* unchanged since the last read, good or bad */
    }
    dtx_gw_target_set_t set;
    int64_t refresh_ms = 0;
    char err[256];
    int rc = dtx_gw_discovery_read(&s->cfg, query, qarg, &set, &refresh_ms, err, sizeof err);
    if (s->cfg.kind == DTX_GW_DISC_FILE) {
        /* The identity seen BEFORE the read: a file replaced while it was
         * read then looks changed at the next check and is read again. (A
         * stat taken after the read would name the new file while the
         * old contents were read, and hide the change for good.) */
        s->stat_known = st_ok;
        if (st_ok)
            s->st = st;
    }
    pthread_mutex_lock(&self->lock);
    int replaced = 0;
    if (rc < 0) {
        s->failures++;
        snprintf(s->last_error, sizeof s->last_error, "%s", err);
        if (s->cfg.kind != DTX_GW_DISC_FILE)
            s->due_us = now_us + s->cfg.min_refresh_ms * 1000;
    } else {
        s->reads++;
        s->last_error[0] = '\0';
        if (s->cfg.kind != DTX_GW_DISC_FILE)
            s->due_us = now_us + refresh_ms * 1000;
        if (!dtx_gw_target_set_same(&set, &s->set)) {
            dtx_gw_target_set_t old = s->set;
            s->set = set;
            set = old;
            replaced = 1;
        }
    }
    pthread_mutex_unlock(&self->lock);
    if (rc < 0)
        dtx_log_warn("discovery read failed: the last good targets stay",
                     "pool=%s source=%d targets=%d detail=\"%s\"", e->name, idx, s->set.n,
                     DTX_Q(err));
    else
        dtx_gw_target_set_free(&set);
    return replaced;
}

/* statics + every source's set into out. */
static int s_merge(const s_entry_t *e, dtx_gw_target_set_t *out)
{
    if (s_copy_set(out, e->statics.v, e->statics.n) < 0)
        return DTX_ENOMEM;
    for (int i = 0; i < e->nsrc; i++)
        for (int k = 0; k < e->src[i].set.n; k++) {
            const dtx_gw_target_cfg_t *t = &e->src[i].set.v[k];
            int dup = 0;
            for (int j = 0; j < out->n && !dup; j++)
                dup = strcmp(out->v[j].url, t->url) == 0;
            if (!dup && dtx_gw_target_set_add(out, t->url, t->weight, t->zone, &t->addr) < 0) {
                dtx_gw_target_set_free(out);
                return DTX_ENOMEM;
            }
        }
    return 0;
}

static int s_count_missing(const dtx_gw_target_set_t *a, const dtx_gw_target_set_t *b)
{
    int n = 0;
    for (int i = 0; i < a->n; i++) {
        int found = 0;
        for (int k = 0; k < b->n && !found; k++)
            found = strcmp(a->v[i].url, b->v[k].url) == 0;
        n += !found;
    }
    return n;
}

int dtx_gw_discovery_poll(dtx_gw_discovery_t *self, int64_t now_us, dtx_gw_dns_query_fn query,
                          void *qarg, int64_t *next_due_us)
{
    int changed = 0;
    int64_t next = 0;
    for (s_entry_t *e = self->entries; e; e = e->next) {
        int any = 0, last = -1;
        for (int i = 0; i < e->nsrc; i++)
            if (s_read(self, e, i, now_us, query, qarg)) {
                any = 1;
                last = i;
            }
        for (int i = 0; i < e->nsrc; i++)
            if (!next || e->src[i].due_us < next)
                next = e->src[i].due_us;
        if (!any)
            continue;
        dtx_gw_target_set_t merged;
        if (s_merge(e, &merged) < 0)
            continue;
        if (dtx_gw_target_set_same(&merged, &e->merged)) {
            dtx_gw_target_set_free(&merged);
            continue;
        }
        int added = s_count_missing(&merged, &e->merged);
        int removed = s_count_missing(&e->merged, &merged);
        pthread_mutex_lock(&self->lock);
        dtx_gw_target_set_t old = e->merged;
        e->merged = merged;
        e->version++;
        e->src[last].changes++;
        uint64_t version = e->version;
        pthread_mutex_unlock(&self->lock);
        dtx_gw_target_set_free(&old);
        dtx_log_info("discovery: pool targets changed",
                     "pool=%s version=%llu targets=%d added=%d removed=%d", e->name,
                     (unsigned long long)version, merged.n, added, removed);
        changed++;
    }
    if (next_due_us)
        *next_due_us = next;
    return changed;
}

int dtx_gw_discovery_lookup(dtx_gw_discovery_t *self, const dtx_gw_pool_cfg_t *cfg,
                            dtx_gw_target_set_t *out, uint64_t *version)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&self->lock);
    s_entry_t *e = cfg->ndiscovery ? s_find(self, cfg->name, cfg->sig) : NULL;
    int found = e && s_copy_set(out, e->merged.v, e->merged.n) == 0;
    if (found)
        *version = e->version;
    pthread_mutex_unlock(&self->lock);
    return found;
}

static const char *s_kind(dtx_gw_disc_kind_t k)
{
    switch (k) {
    case DTX_GW_DISC_FILE: return "file";
    case DTX_GW_DISC_DNS_A: return "dns_a";
    case DTX_GW_DISC_DNS_AAAA: return "dns_aaaa";
    case DTX_GW_DISC_DNS_SRV: return "dns_srv";
    }
    return "?";
}

void dtx_gw_discovery_each(dtx_gw_discovery_t *self, int64_t now_us,
                           void (*fn)(const dtx_gw_discovery_stat_t *s, void *arg), void *arg)
{
    pthread_mutex_lock(&self->lock);
    for (s_entry_t *e = self->entries; e; e = e->next)
        for (int i = 0; i < e->nsrc; i++) {
            const s_source_t *s = &e->src[i];
            dtx_gw_discovery_stat_t st = {
                .pool = e->name, .source = i, .kind = s_kind(s->cfg.kind),
                .what = s->cfg.file ? s->cfg.file : s->cfg.name, .targets = s->set.n,
                .reads = s->reads, .failures = s->failures, .changes = s->changes,
                .version = e->version,
                .next_ms = s->due_us > now_us ? (s->due_us - now_us) / 1000 : 0,
                .last_error = s->last_error,
            };
            fn(&st, arg);
        }
    pthread_mutex_unlock(&self->lock);
}
