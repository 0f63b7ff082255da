/*
 * gw_deadline.c — a min-heap of deadlines (gw_deadline.h).
 */
#include <stdlib.h>

#include "dtx/types.h"
#include "core/gw_deadline.h"

void dtx_gw_deadline_init(dtx_gw_deadline_t *node)
{
    node->due_us = -1;
    node->idx = -1;
}

static void s_swap(dtx_gw_deadlines_t *self, int i, int j)
{
    dtx_gw_deadline_t *t = self->nodes[i];
    self->nodes[i] = self->nodes[j];
    self->nodes[j] = t;
    self->nodes[i]->idx = i;
    self->nodes[j]->idx = j;
}

static void s_up(dtx_gw_deadlines_t *self, int i)
{
    while (i > 0 && self->nodes[(i - 1) / 2]->due_us > self->nodes[i]->due_us) {
        s_swap(self, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void s_down(dtx_gw_deadlines_t *self, int i)
{
    for (;;) {
        int m = i, a = 2 * i + 1, b = 2 * i + 2;
        if (a < self->n && self->nodes[a]->due_us < self->nodes[m]->due_us)
            m = a;
        if (b < self->n && self->nodes[b]->due_us < self->nodes[m]->due_us)
            m = b;
        if (m == i)
            return;
        s_swap(self, i, m);
        i = m;
    }
}

void dtx_gw_deadlines_clear(dtx_gw_deadlines_t *self, dtx_gw_deadline_t *node)
{
    int i = node->idx;
    if (i < 0)
        return;
    node->idx = -1;
    self->n--;
    if (i == self->n)
        return;
    self->nodes[i] = self->nodes[self->n];
    self->nodes[i]->idx = i;
    s_up(self, i);
    s_down(self, self->nodes[i]->idx);
}

int dtx_gw_deadlines_set(dtx_gw_deadlines_t *self, dtx_gw_deadline_t *node, int64_t due_us)
{
    dtx_gw_deadlines_clear(self, node);
    node->due_us = due_us;
    if (due_us < 0)
        return 0;
    if (self->n == self->cap) {
        int cap = self->cap ? self->cap * 2 : 64;
        dtx_gw_deadline_t **t = realloc(self->nodes, (size_t)cap * sizeof *t);
        if (!t)
            return DTX_ENOMEM;
        self->nodes = t;
        self->cap = cap;
    }
    node->idx = self->n;
    self->nodes[self->n++] = node;
    s_up(self, node->idx);
    return 0;
}

dtx_gw_deadline_t *dtx_gw_deadlines_first(const dtx_gw_deadlines_t *self)
{
    return self->n ? self->nodes[0] : NULL;
}

void dtx_gw_deadlines_free(dtx_gw_deadlines_t *self)
{
    free(self->nodes);
    self->nodes = NULL;
    self->n = self->cap = 0;
}
