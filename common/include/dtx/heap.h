/*
 * dtx/heap.h — an intrusive binary min-heap keyed by an int64: the
 * earliest node in O(1), set, move and remove in O(log n).
 *
 * A node is embedded in its owner (container_of gets back to it); it is in
 * the heap exactly while its idx >= 0, and keeps that index up to date, so
 * a node moves without a search. The coordinator's timers (one per
 * transaction) and the gateway's call deadlines (one per upstream call)
 * are both this heap. Not locked: one thread owns a heap.
 */
#ifndef DTX_HEAP_H
#define DTX_HEAP_H

#include <stdint.h>

typedef struct dtx_heap_node {
    int64_t key;     /* the order: the smallest key comes first */
    int     idx;     /* position in the heap; -1 when not in it */
} dtx_heap_node_t;

typedef struct dtx_heap {
    dtx_heap_node_t **nodes;  /* owned array of borrowed nodes */
    int               n;      /* nodes in the heap */
    int               cap;    /* slots allocated */
} dtx_heap_t;

/* An empty heap needs no call: zero it ({0}). */

/* A node in no heap. */
void dtx_heap_node_init(dtx_heap_node_t *node);
/* Puts node in the heap with key, or moves it there when it already is.
 * 0, or DTX_ENOMEM (the node is then in no heap). */
int  dtx_heap_set(dtx_heap_t *self, dtx_heap_node_t *node, int64_t key);
/* Takes node out; nothing when it is in no heap. */
void dtx_heap_remove(dtx_heap_t *self, dtx_heap_node_t *node);
/* The node with the smallest key, or NULL when empty. */
dtx_heap_node_t *dtx_heap_first(const dtx_heap_t *self);
/* Frees the array (not the nodes, which belong to their owners). */
void dtx_heap_free(dtx_heap_t *self);

#endif
