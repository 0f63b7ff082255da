/*
 * heap.c — the intrusive min-heap of dtx/heap.h.
 *
 * Invariant: for every i > 0, nodes[(i - 1) / 2]->key <= nodes[i]->key,
 * and nodes[i]->idx == i for every i < n.
 */
#include <stdlib.h>

#include "dtx/heap.h"
#include "dtx/types.h"

void dtx_heap_node_init(dtx_heap_node_t *node)
{
    node->key = 0;
    node->idx = -1;
}

static void s_swap(dtx_heap_t *self, int i, int j)
{
    dtx_heap_node_t *t = self->nodes[i];
    self->nodes[i] = self->nodes[j];
    self->nodes[j] = t;
    self->nodes[i]->idx = i;
    self->nodes[j]->idx = j;
}

static void s_up(dtx_heap_t *self, int i)
{
    while (i > 0 && self->nodes[(i - 1) / 2]->key > self->nodes[i]->key) {
        s_swap(self, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void s_down(dtx_heap_t *self, int i)
{
    for (;;) {
        int m = i, a = 2 * i + 1, b = a + 1;
        if (a < self->n && self->nodes[a]->key < self->nodes[m]->key)
            m = a;
        if (b < self->n && self->nodes[b]->key < self->nodes[m]->key)
            m = b;
        if (m == i)
            return;
        s_swap(self, i, m);
        i = m;
    }
}

void dtx_heap_remove(dtx_heap_t *self, dtx_heap_node_t *node)
{
    int i = node->idx;
    if (i < 0)
        return;
    node->idx = -1;
    int last = --self->n;
    if (i == last)
        return;
    dtx_heap_node_t *moved = self->nodes[last];
    self->nodes[i] = moved;
    moved->idx = i;
    s_down(self, i);
    s_up(self, moved->idx);
}

int dtx_heap_set(dtx_heap_t *self, dtx_heap_node_t *node, int64_t key)
{
    if (node->idx >= 0) {
        int64_t old = node->key;
        node->key = key;
        if (key < old)
            s_up(self, node->idx);
        else
            s_down(self, node->idx);
        return 0;
    }
    if (self->n == self->cap) {
        int cap = self->cap ? self->cap * 2 : 64;
        dtx_heap_node_t **t = realloc(self->nodes, (size_t)cap * sizeof *t);
        if (!t)
            return DTX_ENOMEM;
        self->nodes = t;
        self->cap = cap;
    }
    node->key = key;
    node->idx = self->n;
    self->nodes[self->n++] = node;
    s_up(self, node->idx);
    return 0;
}

dtx_heap_node_t *dtx_heap_first(const dtx_heap_t *self)
{
    return self->n > 0 ? self->nodes[0] : NULL;
}

void dtx_heap_free(dtx_heap_t *self)
{
    free(self->nodes);
    self->nodes = NULL;
    self->n = self->cap = 0;
}
