/* gw_cache.c — the response cache store (gw_cache.h). */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/gw_cache.h"

/* A stored variant: an object in its key's slot and in the LRU list. */
typedef struct s_node {
    dtx_gw_cache_obj_t *obj;
    struct s_slot      *slot;
    struct s_node      *lru_prev, *lru_next;  /* most recent first */
    size_t              bytes;                /* obj->bytes + key + this */
} s_node_t;

typedef struct s_slot {
    char                  *key;
    uint64_t               hash;
    struct s_slot         *next;             /* bucket chain */
    s_node_t              *variants[DTX_GW_CACHE_MAX_VARIANTS];
    int                    nvariants;
    int                    filling;          /* a fill is in progress */
    int                    voided;           /* purged during the fill: store nothing */
    dtx_gw_cache_waiter_t *waiters;
} s_slot_t;

struct dtx_gw_cache {
    atomic_int       refs;
    pthread_mutex_t  lock;
    char            *sig;
    size_t           max_bytes;
    size_t           bytes;
    size_t           nobjects;
    size_t           nslots;
    s_slot_t       **buckets;
    size_t           nbuckets;              /* a power of two */
    s_node_t        *lru_head, *lru_tail;
    atomic_ullong    hits, misses, stale, coalesced, lock_timeouts, stored, evictions, purged;
};

static uint64_t s_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* ---------------- objects ---------------- */

static size_t s_align(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

dtx_gw_cache_obj_t *dtx_gw_cache_obj_new(int status, const char *const *names,
                                         const char *const *values, int n,
                                         const char *const *vary_names,
                                         const char *const *vary_values, int nvary,
                                         const char *body, size_t body_len)
{
    size_t strs = 0;
    for (int i = 0; i < n; i++)
        strs += strlen(names[i]) + strlen(values[i]) + 2;
    for (int i = 0; i < nvary; i++)
        strs += strlen(vary_names[i]) + 1 + (vary_values[i] ? strlen(vary_values[i]) + 1 : 0);
    size_t body_at = 0;
    size_t ptrs_at = s_align(body_at + body_len + 1);
    size_t nptrs = 2 * (size_t)n + 2 * (size_t)nvary;
    size_t strs_at = ptrs_at + nptrs * sizeof(char *);
    size_t total = sizeof(dtx_gw_cache_obj_t) + strs_at + strs;
    dtx_gw_cache_obj_t *o = malloc(total);
    if (!o)
        return NULL;
    memset(o, 0, sizeof *o);
    atomic_init(&o->refs, 1);
    o->status = status;
    o->bytes = total;
    o->body = o->data + body_at;
    if (body_len)
        memcpy(o->body, body, body_len);
    o->body[body_len] = '\0';
    o->body_len = body_len;
    const char **p = (const char **)(void *)(o->data + ptrs_at);
    char *s = o->data + strs_at;
    o->names = p;
    o->values = p + n;
    o->vary_names = p + 2 * n;
    o->vary_values = p + 2 * n + nvary;
    o->nheaders = n;
    o->nvary = nvary;
    for (int i = 0; i < n; i++) {
        size_t a = strlen(names[i]) + 1, b = strlen(values[i]) + 1;
        memcpy(s, names[i], a);
        o->names[i] = s;
        s += a;
        memcpy(s, values[i], b);
        o->values[i] = s;
        s += b;
    }
    for (int i = 0; i < nvary; i++) {
        size_t a = strlen(vary_names[i]) + 1;
        for (size_t k = 0; k < a; k++)
            s[k] = (char)tolower((unsigned char)vary_names[i][k]);
        o->vary_names[i] = s;
        s += a;
        if (vary_values[i]) {
            size_t b = strlen(vary_values[i]) + 1;
            memcpy(s, vary_values[i], b);
            o->vary_values[i] = s;
            s += b;
        } else {
            o->vary_values[i] = NULL;
        }
    }
    return o;
}

dtx_gw_cache_obj_t *dtx_gw_cache_obj_ref(dtx_gw_cache_obj_t *obj)
{
    atomic_fetch_add(&obj->refs, 1);
    return obj;
}

void dtx_gw_cache_obj_unref(dtx_gw_cache_obj_t **obj_p)
{
    if (!obj_p || !*obj_p)
        return;
    dtx_gw_cache_obj_t *o = *obj_p;
    *obj_p = NULL;
    if (atomic_fetch_sub(&o->refs, 1) == 1)
        free(o);
}

dtx_gw_cache_obj_t *dtx_gw_cache_obj_of_body(char *body)
{
    return (dtx_gw_cache_obj_t *)(void *)(body - offsetof(dtx_gw_cache_obj_t, data));
}

/* Does obj's variant match the request? Values compare exactly after
 * the header lookup (absent matches absent only). */
static int s_matches(const dtx_gw_cache_obj_t *o, dtx_gw_cache_header_fn hdr, void *ctx)
{
    for (int i = 0; i < o->nvary; i++) {
        const char *v = hdr ? hdr(ctx, o->vary_names[i]) : NULL;
        if (!v != !o->vary_values[i])
            return 0;
        if (v && strcmp(v, o->vary_values[i]) != 0)
            return 0;
    }
    return 1;
}

static int s_same_variant(const dtx_gw_cache_obj_t *a, const dtx_gw_cache_obj_t *b)
{
    if (a->nvary != b->nvary)
        return 0;
    for (int i = 0; i < a->nvary; i++) {
        if (strcmp(a->vary_names[i], b->vary_names[i]) != 0)
            return 0;
        if (!a->vary_values[i] != !b->vary_values[i])
            return 0;
        if (a->vary_values[i] && strcmp(a->vary_values[i], b->vary_values[i]) != 0)
            return 0;
    }
    return 1;
}

static int s_same_names(const dtx_gw_cache_obj_t *a, const dtx_gw_cache_obj_t *b)
{
    if (a->nvary != b->nvary)
        return 0;
    for (int i = 0; i < a->nvary; i++)
        if (strcmp(a->vary_names[i], b->vary_names[i]) != 0)
            return 0;
    return 1;
}

/* ---------------- the store ---------------- */

dtx_gw_cache_t *dtx_gw_cache_new(size_t max_bytes, const char *sig)
{
    dtx_gw_cache_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    atomic_init(&self->refs, 1);
    self->max_bytes = max_bytes;
    self->sig = strdup(sig ? sig : "");
    self->nbuckets = 64;
    self->buckets = calloc(self->nbuckets, sizeof *self->buckets);
    if (!self->sig || !self->buckets) {
        free(self->sig);
        free(self->buckets);
        free(self);
        return NULL;
    }
    pthread_mutex_init(&self->lock, NULL);
    return self;
}

dtx_gw_cache_t *dtx_gw_cache_ref(dtx_gw_cache_t *self)
{
    atomic_fetch_add(&self->refs, 1);
    return self;
}

const char *dtx_gw_cache_sig(const dtx_gw_cache_t *self)
{
    return self->sig;
}

static void s_slot_free(s_slot_t *slot)
{
    free(slot->key);
    free(slot);
}

void dtx_gw_cache_unref(dtx_gw_cache_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_gw_cache_t *self = *self_p;
    *self_p = NULL;
    if (atomic_fetch_sub(&self->refs, 1) != 1)
        return;
    /* No request holds the store any more: no fill, no waiter. */
    for (size_t b = 0; b < self->nbuckets; b++) {
        s_slot_t *slot = self->buckets[b];
        while (slot) {
            s_slot_t *next = slot->next;
            for (int i = 0; i < slot->nvariants; i++) {
                dtx_gw_cache_obj_unref(&slot->variants[i]->obj);
                free(slot->variants[i]);
            }
            s_slot_free(slot);
            slot = next;
        }
    }
    free(self->buckets);
    free(self->sig);
    pthread_mutex_destroy(&self->lock);
    free(self);
}

static s_slot_t *s_find(dtx_gw_cache_t *self, const char *key, uint64_t h)
{
    for (s_slot_t *s = self->buckets[h & (self->nbuckets - 1)]; s; s = s->next)
        if (s->hash == h && strcmp(s->key, key) == 0)
            return s;
    return NULL;
}

static void s_grow(dtx_gw_cache_t *self)
{
    size_t n = self->nbuckets * 2;
    s_slot_t **b = calloc(n, sizeof *b);
    if (!b)
        return;  /* longer chains, still correct */
    for (size_t i = 0; i < self->nbuckets; i++) {
        s_slot_t *s = self->buckets[i];
        while (s) {
            s_slot_t *next = s->next;
            s->next = b[s->hash & (n - 1)];
            b[s->hash & (n - 1)] = s;
            s = next;
        }
    }
    free(self->buckets);
    self->buckets = b;
    self->nbuckets = n;
}

static s_slot_t *s_add_slot(dtx_gw_cache_t *self, const char *key, uint64_t h)
{
    s_slot_t *s = calloc(1, sizeof *s);
    if (!s || !(s->key = strdup(key))) {
        free(s);
        return NULL;
    }
    s->hash = h;
    if (self->nslots + 1 > self->nbuckets)
        s_grow(self);
    size_t b = h & (self->nbuckets - 1);
    s->next = self->buckets[b];
    self->buckets[b] = s;
    self->nslots++;
    return s;
}

/* Frees slot when it holds nothing any more. */
static void s_maybe_drop_slot(dtx_gw_cache_t *self, s_slot_t *slot)
{
    if (slot->nvariants || slot->filling)
        return;
    s_slot_t **pp = &self->buckets[slot->hash & (self->nbuckets - 1)];
    while (*pp && *pp != slot)
        pp = &(*pp)->next;
    if (*pp)
        *pp = slot->next;
    self->nslots--;
    s_slot_free(slot);
}

static void s_lru_unlink(dtx_gw_cache_t *self, s_node_t *n)
{
    if (n->lru_prev)
        n->lru_prev->lru_next = n->lru_next;
    else
        self->lru_head = n->lru_next;
    if (n->lru_next)
        n->lru_next->lru_prev = n->lru_prev;
    else
        self->lru_tail = n->lru_prev;
    n->lru_prev = n->lru_next = NULL;
}

static void s_lru_front(dtx_gw_cache_t *self, s_node_t *n)
{
    n->lru_prev = NULL;
    n->lru_next = self->lru_head;
    if (self->lru_head)
        self->lru_head->lru_prev = n;
    self->lru_head = n;
    if (!self->lru_tail)
        self->lru_tail = n;
}

/* Removes variant i of slot (the slot itself may go; do not use it
 * after unless keep_slot). */
static void s_remove(dtx_gw_cache_t *self, s_slot_t *slot, int i, int keep_slot)
{
    s_node_t *n = slot->variants[i];
    s_lru_unlink(self, n);
    self->bytes -= n->bytes;
    self->nobjects--;
    slot->variants[i] = slot->variants[--slot->nvariants];
    slot->variants[slot->nvariants] = NULL;
    dtx_gw_cache_obj_unref(&n->obj);
    free(n);
    if (!keep_slot)
        s_maybe_drop_slot(self, slot);
}

static int s_index(const s_slot_t *slot, const s_node_t *n)
{
    for (int i = 0; i < slot->nvariants; i++)
        if (slot->variants[i] == n)
            return i;
    return -1;
}

int dtx_gw_cache_lookup(dtx_gw_cache_t *self, const char *key, dtx_gw_cache_header_fn hdr,
                        void *ctx, int64_t now_us, int lead, dtx_gw_cache_obj_t **obj)
{
    *obj = NULL;
    uint64_t h = s_hash(key);
    pthread_mutex_lock(&self->lock);
    s_slot_t *slot = s_find(self, key, h);
    if (slot) {
        for (int i = 0; i < slot->nvariants; i++) {
            s_node_t *n = slot->variants[i];
            if (n->obj->stale_until_us <= now_us && n->obj->fresh_until_us <= now_us) {
                s_remove(self, slot, i, 1);   /* past any use */
                i--;
                continue;
            }
            if (!s_matches(n->obj, hdr, ctx))
                continue;
            *obj = dtx_gw_cache_obj_ref(n->obj);
            if (n->obj->fresh_until_us > now_us) {
                s_lru_unlink(self, n);
                s_lru_front(self, n);
                pthread_mutex_unlock(&self->lock);
                return DTX_GW_CACHE_HIT;
            }
            break;
        }
    }
    int r = DTX_GW_CACHE_MISS;
    if (slot && slot->filling) {
        r = DTX_GW_CACHE_WAIT;
    } else if (lead) {
        if (!slot)
            slot = s_add_slot(self, key, h);
        if (slot) {
            slot->filling = 1;
            r = DTX_GW_CACHE_LEAD;
        }
        /* no memory for a slot: the caller fetches uncoalesced (MISS) */
    }
    if (slot && r == DTX_GW_CACHE_MISS)
        s_maybe_drop_slot(self, slot);
    pthread_mutex_unlock(&self->lock);
    return r;
}

int dtx_gw_cache_park(dtx_gw_cache_t *self, const char *key, dtx_gw_cache_waiter_t *w)
{
    int parked = 0;
    pthread_mutex_lock(&self->lock);
    s_slot_t *slot = s_find(self, key, s_hash(key));
    if (slot && slot->filling) {
        w->next = slot->waiters;
        slot->waiters = w;
        parked = 1;
    }
    pthread_mutex_unlock(&self->lock);
    return parked;
}

int dtx_gw_cache_unpark(dtx_gw_cache_t *self, const char *key, dtx_gw_cache_waiter_t *w)
{
    int taken = 0;
    pthread_mutex_lock(&self->lock);
    s_slot_t *slot = s_find(self, key, s_hash(key));
    for (dtx_gw_cache_waiter_t **pp = slot ? &slot->waiters : NULL; pp && *pp;
         pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            w->next = NULL;
            taken = 1;
            break;
        }
    pthread_mutex_unlock(&self->lock);
    return taken;
}

/* Evicts least recently used objects until bytes fit under max. */
static void s_evict(dtx_gw_cache_t *self)
{
    while (self->bytes > self->max_bytes && self->lru_tail) {
        s_node_t *n = self->lru_tail;
        s_slot_t *slot = n->slot;
        atomic_fetch_add(&self->evictions, 1);
        s_remove(self, slot, s_index(slot, n), 0);
    }
}

void dtx_gw_cache_finish(dtx_gw_cache_t *self, const char *key, dtx_gw_cache_obj_t *obj)
{
    uint64_t h = s_hash(key);
    int outcome = DTX_GW_CACHE_PASS;
    pthread_mutex_lock(&self->lock);
    s_slot_t *slot = s_find(self, key, h);
    if (!slot && obj)
        slot = s_add_slot(self, key, h);
    dtx_gw_cache_waiter_t *waiters = NULL;
    if (slot) {
        waiters = slot->waiters;
        slot->waiters = NULL;
        slot->filling = 0;
        int voided = slot->voided;   /* its answer may be what the purge removed */
        slot->voided = 0;
        size_t need = obj ? obj->bytes + strlen(key) + sizeof(s_node_t) : 0;
        s_node_t *n = obj && !voided && need <= self->max_bytes ? calloc(1, sizeof *n) : NULL;
        if (n) {
            for (int i = 0; i < slot->nvariants; i++)
                if (s_same_variant(slot->variants[i]->obj, obj) ||
                    !s_same_names(slot->variants[i]->obj, obj)) {
                    s_remove(self, slot, i, 1);
                    i--;
                }
            if (slot->nvariants == DTX_GW_CACHE_MAX_VARIANTS) {
                int oldest = 0;
                for (int i = 1; i < slot->nvariants; i++)
                    if (slot->variants[i]->obj->stored_us < slot->variants[oldest]->obj->stored_us)
                        oldest = i;
                s_remove(self, slot, oldest, 1);
            }
            n->obj = dtx_gw_cache_obj_ref(obj);
            n->slot = slot;
            n->bytes = need;
            slot->variants[slot->nvariants++] = n;
            s_lru_front(self, n);
            self->bytes += need;
            self->nobjects++;
            atomic_fetch_add(&self->stored, 1);
            outcome = DTX_GW_CACHE_FILLED;
            s_evict(self);   /* never the new object: it is the most recent and fits */
        } else {
            s_maybe_drop_slot(self, slot);
        }
    }
    pthread_mutex_unlock(&self->lock);
    while (waiters) {
        dtx_gw_cache_waiter_t *w = waiters;
        waiters = w->next;
        w->fn(w->arg, outcome);   /* w may be gone after this */
    }
}

size_t dtx_gw_cache_purge(dtx_gw_cache_t *self, int (*match)(const char *key, void *arg),
                          void *arg)
{
    size_t n = 0;
    pthread_mutex_lock(&self->lock);
    for (size_t b = 0; b < self->nbuckets; b++) {
        s_slot_t *slot = self->buckets[b];
        while (slot) {
            s_slot_t *next = slot->next;
            if ((slot->nvariants || slot->filling) && match(slot->key, arg)) {
                slot->voided = slot->filling;
                while (slot->nvariants) {
                    n++;
                    s_remove(self, slot, slot->nvariants - 1, 1);
                }
                s_maybe_drop_slot(self, slot);
            }
            slot = next;
        }
    }
    atomic_fetch_add(&self->purged, n);
    pthread_mutex_unlock(&self->lock);
    return n;
}

void dtx_gw_cache_note(dtx_gw_cache_t *self, dtx_gw_cache_note_t what)
{
    switch (what) {
    case DTX_GW_CACHE_NOTE_HIT:       atomic_fetch_add(&self->hits, 1); break;
    case DTX_GW_CACHE_NOTE_MISS:      atomic_fetch_add(&self->misses, 1); break;
    case DTX_GW_CACHE_NOTE_STALE:     atomic_fetch_add(&self->stale, 1); break;
    case DTX_GW_CACHE_NOTE_COALESCED: atomic_fetch_add(&self->coalesced, 1); break;
    case DTX_GW_CACHE_NOTE_LOCK_TIMEOUT: atomic_fetch_add(&self->lock_timeouts, 1); break;
    }
}

void dtx_gw_cache_get_stats(dtx_gw_cache_t *self, dtx_gw_cache_stats_t *out)
{
    pthread_mutex_lock(&self->lock);
    out->bytes = self->bytes;
    out->objects = self->nobjects;
    out->keys = self->nslots;
    pthread_mutex_unlock(&self->lock);
    out->hits = atomic_load(&self->hits);
    out->misses = atomic_load(&self->misses);
    out->stale = atomic_load(&self->stale);
    out->coalesced = atomic_load(&self->coalesced);
    out->lock_timeouts = atomic_load(&self->lock_timeouts);
    out->stored = atomic_load(&self->stored);
    out->evictions = atomic_load(&self->evictions);
    out->purged = atomic_load(&self->purged);
}
