/*
 * gw_deadline.h — a min-heap of deadlines: the earliest in O(1), set and
 * clear in O(log n). A worker keeps one for its upstream calls, whose
 * deadlines (connect, whole call) change as a call moves on.
 *
 * A node is embedded in its owner (container_of to get back); a node is
 * in the heap exactly while idx >= 0. Not locked: one thread owns a heap.
 */
#ifndef DTX_GW_DEADLINE_H
#define DTX_GW_DEADLINE_H

#include <stdint.h>

typedef struct dtx_gw_deadline {
    int64_t due_us;
    int     idx;       /* -1: not in the heap */
} dtx_gw_deadline_t;

typedef struct dtx_gw_deadlines {
    dtx_gw_deadline_t **nodes;
    int                 n, cap;
} dtx_gw_deadlines_t;

/* A node not in any heap. */
void dtx_gw_deadline_init(dtx_gw_deadline_t *node);
/* (Re)sets node's deadline; due_us < 0 takes it out. 0, or DTX_ENOMEM when out
 * of memory (the node is then out of the heap). */
int  dtx_gw_deadlines_set(dtx_gw_deadlines_t *self, dtx_gw_deadline_t *node, int64_t due_us);
void dtx_gw_deadlines_clear(dtx_gw_deadlines_t *self, dtx_gw_deadline_t *node);
/* The earliest node, or NULL when empty. */
dtx_gw_deadline_t *dtx_gw_deadlines_first(const dtx_gw_deadlines_t *self);
void dtx_gw_deadlines_free(dtx_gw_deadlines_t *self);

#endif
