/*
 * gw_keytab.c — chained hash table of per-key rule states.
 */
#include <stdlib.h>
#include <string.h>

#include "core/gw_keytab.h"

typedef struct s_entry {
    struct s_entry *next;
    uint64_t        hash;
    char           *key;
    int             pins;
    /* the state follows, aligned */
    _Alignas(16) unsigned char state[];
} s_entry_t;

struct dtx_gw_keytab {
    s_entry_t           **buckets;
    size_t                nbuckets;
    size_t                count;
    size_t                max_keys;
    size_t                state_size;
    dtx_gw_keytab_idle_fn idle;
    const void           *idle_arg;
};

static uint64_t s_hash(const char *key)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return h;
}

dtx_gw_keytab_t *dtx_gw_keytab_new(size_t state_size, size_t max_keys,
                                   dtx_gw_keytab_idle_fn idle, const void *idle_arg)
{
    dtx_gw_keytab_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->nbuckets = 64;
    self->buckets = calloc(self->nbuckets, sizeof *self->buckets);
    if (!self->buckets) {
        free(self);
        return NULL;
    }
    self->state_size = state_size;
    self->max_keys = max_keys ? max_keys : 100000;
    self->idle = idle;
    self->idle_arg = idle_arg;
    return self;
}

void dtx_gw_keytab_destroy(dtx_gw_keytab_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_gw_keytab_t *self = *self_p;
    for (size_t i = 0; i < self->nbuckets; i++) {
        s_entry_t *e = self->buckets[i];
        while (e) {
            s_entry_t *next = e->next;
            free(e->key);
            free(e);
            e = next;
        }
    }
    free(self->buckets);
    free(self);
    *self_p = NULL;
}

static void s_grow(dtx_gw_keytab_t *self)
{
    size_t n = self->nbuckets * 2;
    s_entry_t **b = calloc(n, sizeof *b);
    if (!b)
        return;  /* keep the longer chains */
    for (size_t i = 0; i < self->nbuckets; i++) {
        s_entry_t *e = self->buckets[i];
        while (e) {
            s_entry_t *next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(self->buckets);
    self->buckets = b;
    self->nbuckets = n;
}

static size_t s_expire(dtx_gw_keytab_t *self, int64_t now_us)
{
    size_t freed = 0;
    for (size_t i = 0; i < self->nbuckets; i++) {
        s_entry_t **pp = &self->buckets[i];
        while (*pp) {
            s_entry_t *e = *pp;
            if (e->pins == 0 && self->idle && self->idle(e->state, self->idle_arg, now_us)) {
                *pp = e->next;
                free(e->key);
                free(e);
                self->count--;
                freed++;
            } else {
                pp = &e->next;
            }
        }
    }
    return freed;
}

void *dtx_gw_keytab_get(dtx_gw_keytab_t *self, const char *key, int64_t now_us)
{
    uint64_t h = s_hash(key);
    for (s_entry_t *e = self->buckets[h & (self->nbuckets - 1)]; e; e = e->next)
        if (e->hash == h && strcmp(e->key, key) == 0)
            return e->state;
    if (self->count >= self->max_keys && s_expire(self, now_us) == 0)
        return NULL;
    s_entry_t *e = calloc(1, sizeof *e + self->state_size);
    if (!e)
        return NULL;
    e->key = strdup(key);
    if (!e->key) {
        free(e);
        return NULL;
    }
    e->hash = h;
    if (self->count >= self->nbuckets * 2)
        s_grow(self);
    s_entry_t **head = &self->buckets[h & (self->nbuckets - 1)];
    e->next = *head;
    *head = e;
    self->count++;
    return e->state;
}

static s_entry_t *s_entry_of(void *state)
{
    return (s_entry_t *)((unsigned char *)state - offsetof(s_entry_t, state));
}

void dtx_gw_keytab_pin(void *state)
{
    s_entry_of(state)->pins++;
}

void dtx_gw_keytab_unpin(void *state)
{
    s_entry_t *e = s_entry_of(state);
    if (e->pins > 0)
        e->pins--;
}

size_t dtx_gw_keytab_count(const dtx_gw_keytab_t *self)
{
    return self->count;
}

void dtx_gw_keytab_each(dtx_gw_keytab_t *self,
                        void (*fn)(const char *key, void *state, void *arg), void *arg)
{
    for (size_t i = 0; i < self->nbuckets; i++)
        for (s_entry_t *e = self->buckets[i]; e; e = e->next)
            fn(e->key, e->state, arg);
}
