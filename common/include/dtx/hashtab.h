/*
 * dtx/hashtab.h — an intrusive chained hash table: elements embed their
 * own chain pointer (at next_off) and the table recomputes an element's
 * hash with the function it was given (to grow, or to find its chain on
 * removal). It owns only its bucket array; elements belong to their
 * owners. Grows by doubling when it holds as many elements as buckets;
 * when that allocation fails it keeps working with longer chains.
 *
 * Lookup is the caller's loop, so a key needs no boxing:
 *     for (T *e = dtx_hashtab_head(t, h); e; e = dtx_hashtab_next(t, e))
 *         if (matches(e, key)) return e;
 * The coordinator's transactions (by gid), live participant instances (by
 * routing id, name and serial), resources and per-connection rates are all
 * this table. Not locked: one thread owns a table.
 */
#ifndef DTX_HASHTAB_H
#define DTX_HASHTAB_H

#include <stddef.h>
#include <stdint.h>

typedef struct dtx_hashtab {
    void   **buckets;                     /* owned; chains of elements */
    size_t   nbuckets;                    /* a power of two */
    size_t   count;                       /* elements held */
    size_t   next_off;                    /* offset of the chain pointer in an element */
    uint64_t (*hash)(const void *elem);   /* an element's hash */
} dtx_hashtab_t;

/* An empty table of at least nbuckets buckets (rounded up to a power of
 * two, at least 16). 0 or DTX_ENOMEM. */
int  dtx_hashtab_init(dtx_hashtab_t *self, size_t next_off, uint64_t (*hash)(const void *elem),
                      size_t nbuckets);
/* Frees the bucket array (not the elements). */
void dtx_hashtab_fini(dtx_hashtab_t *self);
void dtx_hashtab_insert(dtx_hashtab_t *self, void *elem);
/* Takes elem out; nothing when it is not in the table. */
void dtx_hashtab_remove(dtx_hashtab_t *self, void *elem);
/* The first element of the chain hash h falls in (NULL: none), then the
 * one after elem in its chain. */
void *dtx_hashtab_head(const dtx_hashtab_t *self, uint64_t h);
void *dtx_hashtab_next(const dtx_hashtab_t *self, const void *elem);
/* Calls fn on every element; fn may remove the element it is given. */
void dtx_hashtab_each(dtx_hashtab_t *self, void (*fn)(void *elem, void *arg), void *arg);

/* FNV-1a over n bytes: the hash the coordinator's tables use for names
 * and routing ids. */
uint64_t dtx_hash_bytes(const void *p, size_t n);

#endif
