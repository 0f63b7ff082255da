/*
 * hashtab.c — the intrusive chained hash table of dtx/hashtab.h.
 *
 * Invariant: every element is in the chain of buckets[hash(e) & (nbuckets
 * - 1)], once; count is the number of elements in all chains.
 */
#include <stdlib.h>

#include "dtx/hashtab.h"
#include "dtx/types.h"

#define S_NEXT(t, e) (*(void **)((char *)(e) + (t)->next_off))

int dtx_hashtab_init(dtx_hashtab_t *self, size_t next_off, uint64_t (*hash)(const void *elem),
                     size_t nbuckets)
{
    size_t n = 16;
    while (n < nbuckets)
        n *= 2;
    self->buckets = calloc(n, sizeof *self->buckets);
    self->nbuckets = self->buckets ? n : 0;
    self->count = 0;
    self->next_off = next_off;
    self->hash = hash;
    return self->buckets ? 0 : DTX_ENOMEM;
}

void dtx_hashtab_fini(dtx_hashtab_t *self)
{
    free(self->buckets);
    self->buckets = NULL;
    self->nbuckets = self->count = 0;
}

static void s_grow(dtx_hashtab_t *self)
{
    size_t n = self->nbuckets * 2;
    void **b = calloc(n, sizeof *b);
    if (!b)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < self->nbuckets; i++) {
        for (void *e = self->buckets[i], *next; e; e = next) {
            next = S_NEXT(self, e);
            size_t k = self->hash(e) & (n - 1);
            S_NEXT(self, e) = b[k];
            b[k] = e;
        }
    }
    free(self->buckets);
    self->buckets = b;
    self->nbuckets = n;
}

void dtx_hashtab_insert(dtx_hashtab_t *self, void *elem)
{
    if (self->count >= self->nbuckets)
        s_grow(self);
    size_t k = self->hash(elem) & (self->nbuckets - 1);
    S_NEXT(self, elem) = self->buckets[k];
    self->buckets[k] = elem;
    self->count++;
}

void dtx_hashtab_remove(dtx_hashtab_t *self, void *elem)
{
    void **pp = &self->buckets[self->hash(elem) & (self->nbuckets - 1)];
    while (*pp && *pp != elem)
        pp = &S_NEXT(self, *pp);
    if (*pp) {
        *pp = S_NEXT(self, elem);
        self->count--;
    }
}

void *dtx_hashtab_head(const dtx_hashtab_t *self, uint64_t h)
{
    return self->buckets[h & (self->nbuckets - 1)];
}

void *dtx_hashtab_next(const dtx_hashtab_t *self, const void *elem)
{
    return S_NEXT(self, elem);
}

void dtx_hashtab_each(dtx_hashtab_t *self, void (*fn)(void *elem, void *arg), void *arg)
{
    for (size_t i = 0; i < self->nbuckets; i++) {
        for (void *e = self->buckets[i], *next; e; e = next) {
            next = S_NEXT(self, e); /* fn may remove e */
            fn(e, arg);
        }
    }
}

uint64_t dtx_hash_bytes(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}
