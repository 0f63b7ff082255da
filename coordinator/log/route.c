/*
 * route.c — a key's hold on a connection (see route.h): an open-addressing
 * table of (key, connection, writes outstanding), linear probing, an entry
 * removed by shifting back the ones after it (no tombstones), so a lookup
 * stops at the first empty slot. An entry is in use when count > 0. At
 * most half full: it doubles before it would be more.
 */
#include <stdlib.h>

#include "dtx/types.h"
#include "route.h"

typedef struct s_entry {
    uint32_t key;
    uint32_t count; /* 0: the slot is empty */
    int      conn;
} s_entry_t;

typedef struct s_parked {
    uint32_t *keys;
    int       n;
    int       cap;
} s_parked_t;

struct dtx_route {
    s_entry_t  *slots;
    uint32_t    mask; /* slots - 1 (a power of 2) */
    uint32_t    used;
    s_parked_t *parked; /* per connection: holds kept until it is back */
    int         nparked;
};

#define S_MIN_SLOTS 256

static uint32_t s_home(const dtx_route_t *self, uint32_t key)
{
    /* Keys are hashes already; mixing spreads the low bits anyway. */
    return (key * 2654435761u) & self->mask;
}

dtx_route_t *dtx_route_new(void)
{
    dtx_route_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->slots = calloc(S_MIN_SLOTS, sizeof *self->slots);
    if (!self->slots) {
        free(self);
        return NULL;
    }
    self->mask = S_MIN_SLOTS - 1;
    return self;
}

void dtx_route_destroy(dtx_route_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    for (int i = 0; i < (*self_p)->nparked; i++)
        free((*self_p)->parked[i].keys);
    free((*self_p)->parked);
    free((*self_p)->slots);
    free(*self_p);
    *self_p = NULL;
}

static s_entry_t *s_find(const dtx_route_t *self, uint32_t key)
{
    for (uint32_t i = s_home(self, key);; i = (i + 1) & self->mask) {
        s_entry_t *e = &self->slots[i];
        if (e->count == 0 || e->key == key)
            return e;
    }
}

static int s_grow(dtx_route_t *self)
{
    uint32_t n = (self->mask + 1) * 2;
    s_entry_t *old = self->slots, *slots = calloc(n, sizeof *slots);
    if (!slots)
        return DTX_ENOMEM;
    uint32_t oldn = self->mask + 1;
    self->slots = slots;
    self->mask = n - 1;
    for (uint32_t i = 0; i < oldn; i++)
        if (old[i].count)
            *s_find(self, old[i].key) = old[i];
    free(old);
    return 0;
}

int dtx_route_conn(const dtx_route_t *self, uint32_t key)
{
    const s_entry_t *e = s_find(self, key);
    return e->count ? e->conn : -1;
}

uint32_t dtx_route_count(const dtx_route_t *self, uint32_t key)
{
    return s_find(self, key)->count;
}

uint32_t dtx_route_keys(const dtx_route_t *self)
{
    return self->used;
}

int dtx_route_hold(dtx_route_t *self, uint32_t key, int conn)
{
    s_entry_t *e = s_find(self, key);
    if (e->count) {
        e->count++;
        return 0;
    }
    if ((self->used + 1) * 2 > self->mask + 1) {
        if (s_grow(self) != 0)
            return DTX_ENOMEM;
        e = s_find(self, key);
    }
    e->key = key;
    e->conn = conn;
    e->count = 1;
    self->used++;
    return 0;
}

void dtx_route_release(dtx_route_t *self, uint32_t key)
{
    s_entry_t *e = s_find(self, key);
    if (e->count == 0 || --e->count > 0)
        return;
    self->used--;
    /* Shift back the entries after the hole that may not stay behind it. */
    uint32_t hole = (uint32_t)(e - self->slots);
    for (uint32_t i = (hole + 1) & self->mask; self->slots[i].count; i = (i + 1) & self->mask) {
        uint32_t home = s_home(self, self->slots[i].key);
        /* It may move to the hole when its home is not in (hole, i]. */
        int between = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
        if (between)
            continue;
        self->slots[hole] = self->slots[i];
        self->slots[i].count = 0;
        hole = i;
    }
    self->slots[hole].count = 0;
}

void dtx_route_park(dtx_route_t *self, uint32_t key, int conn)
{
    if (conn >= self->nparked) {
        s_parked_t *p = realloc(self->parked, (size_t)(conn + 1) * sizeof *p);
        if (!p)
            return;
        for (int i = self->nparked; i <= conn; i++)
            p[i] = (s_parked_t){ 0 };
        self->parked = p;
        self->nparked = conn + 1;
    }
    s_parked_t *p = &self->parked[conn];
    if (p->n == p->cap) {
        int cap = p->cap ? p->cap * 2 : 64;
        uint32_t *keys = realloc(p->keys, (size_t)cap * sizeof *keys);
        if (!keys)
            return;
        p->keys = keys;
        p->cap = cap;
    }
    p->keys[p->n++] = key;
}

void dtx_route_unpark(dtx_route_t *self, int conn)
{
    if (conn >= self->nparked)
        return;
    s_parked_t *p = &self->parked[conn];
    for (int i = 0; i < p->n; i++)
        dtx_route_release(self, p->keys[i]);
    p->n = 0;
}
