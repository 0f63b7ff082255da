/*
 * txntable.c — in-memory transactions: a hash table by gid (dtx/hashtab.h) and a
 * heap of timers (dtx/heap.h: one node per transaction, keyed by its
 * earliest due time, so that a reschedule is O(log n)).
 *
 * Lifetime: a transaction is freed when it has been evicted (dead) AND no
 * store callback still holds it (refs == 0). Callbacks check liveness
 * through dtx_wctx_put() (wctx.h).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/hashtab.h"
#include "dtx/heap.h"
#include "dtx/id.h"
#include "txn.h"
#include "txntable.h"

struct dtx_txntable {
    dtx_hashtab_t by_gid;      /* every live transaction, hashed by txn->shard */
    dtx_heap_t   timers;       /* every transaction with a timer, by txn->timer.key */
    int64_t      payload;      /* sum of payload_bytes of live transactions */
};

static uint64_t s_hash(const void *elem)
{
    return ((const dtx_txn_t *)elem)->shard;
}

dtx_txntable_t *dtx_txntable_new(void)
{
    dtx_txntable_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    if (dtx_hashtab_init(&self->by_gid, offsetof(dtx_txn_t, hnext), s_hash, 1024) != 0) {
        free(self);
        return NULL;
    }
    return self;
}

static void s_free_request(dtx_request_t *r)
{
    free(r->payload);
    free(r);
}

static void s_free_txn(dtx_txn_t *txn)
{
    for (int i = 0; i < txn->nbranches; i++) {
        free(txn->branches[i]->payload);
        free(txn->branches[i]->step);
        free(txn->branches[i]);
    }
    free(txn->branches);
    if (txn->checkback) {
        free(txn->checkback->payload);
        free(txn->checkback);
    }
    while (txn->parked) {
        dtx_request_t *r = txn->parked;
        txn->parked = r->next;
        s_free_request(r);
    }
    free(txn);
}

static void s_free_one(void *elem, void *arg)
{
    (void)arg;
    s_free_txn(elem);
}

void dtx_txntable_destroy(dtx_txntable_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_txntable_t *self = *self_p;
    dtx_hashtab_each(&self->by_gid, s_free_one, NULL);
    dtx_hashtab_fini(&self->by_gid);
    dtx_heap_free(&self->timers);
    free(self);
    *self_p = NULL;
}

dtx_txn_t *dtx_txn_find(dtx_txntable_t *self, const char *gid)
{
    uint32_t h = dtx_id_hash(gid);
    for (dtx_txn_t *t = dtx_hashtab_head(&self->by_gid, h); t; t = t->hnext)
        if (t->shard == h && strcmp(t->gid, gid) == 0)
            return t;
    return NULL;
}

dtx_txn_t *dtx_txn_create(dtx_txntable_t *self, const char *gid)
{
    dtx_txn_t *txn = calloc(1, sizeof *txn);
    if (!txn)
        return NULL;
    strcpy(txn->gid, gid);
    txn->shard = dtx_id_hash(gid);
    dtx_heap_node_init(&txn->timer);
    dtx_hashtab_insert(&self->by_gid, txn);
    return txn;
}

dtx_branch_t *dtx_txn_branch(dtx_txn_t *txn, uint32_t no)
{
    /* The log numbers branches 1, 2, 3 ... and they are added in that
     * order (one connection per gid, loads ORDER BY branch_no): branch no
     * sits at no - 1. The scan is for a copy that missed one. */
    if (no >= 1 && no <= (uint32_t)txn->nbranches && txn->branches[no - 1]->no == no)
        return txn->branches[no - 1];
    for (int i = 0; i < txn->nbranches; i++)
        if (txn->branches[i]->no == no)
            return txn->branches[i];
    return NULL;
}

dtx_branch_t *dtx_txn_add_branch(dtx_txn_t *txn, uint32_t no)
{
    if (txn->nbranches == txn->capbranches) {
        int ncap = txn->capbranches ? txn->capbranches * 2 : 4;
        dtx_branch_t **b = realloc(txn->branches, (size_t)ncap * sizeof *b);
        if (!b)
            return NULL;
        txn->branches = b;
        txn->capbranches = ncap;
    }
    dtx_branch_t *br = calloc(1, sizeof *br);
    if (!br)
        return NULL;
    br->no = no;
    dtx_branch_start(br);
    br->op = DTX_OP_TRY;
    txn->branches[txn->nbranches++] = br;
    return br;
}

size_t dtx_txn_count(const dtx_txntable_t *self)
{
    return self->by_gid.count;
}

int64_t dtx_txn_payload_total(const dtx_txntable_t *self)
{
    return self->payload;
}

void dtx_txn_payload_add(dtx_txntable_t *self, dtx_txn_t *txn, int64_t n)
{
    if (txn->dead)
        return;
    txn->payload_bytes += n;
    self->payload += n;
}

typedef struct {
    void (*fn)(dtx_txn_t *, void *);
    void *arg;
} s_each_t;

static void s_each_one(void *elem, void *arg)
{
    s_each_t *each = arg;
    each->fn(elem, each->arg); /* may evict elem: the table steps over it first */
}

void dtx_txn_each(dtx_txntable_t *self, void (*fn)(dtx_txn_t *, void *), void *arg)
{
    s_each_t each = { fn, arg };
    dtx_hashtab_each(&self->by_gid, s_each_one, &each);
}

/* --- timers --- */

void dtx_timer_set(dtx_txntable_t *self, dtx_txn_t *txn, int64_t due_ms)
{
    if (due_ms <= 0 || txn->dead) {
        dtx_heap_remove(&self->timers, &txn->timer);
        return;
    }
    /* Out of memory leaves it out of the heap: the recovery scan still
     * finds it. */
    (void)dtx_heap_set(&self->timers, &txn->timer, due_ms);
}

dtx_txn_t *dtx_timer_due(dtx_txntable_t *self, int64_t now_ms)
{
    dtx_heap_node_t *n = dtx_heap_first(&self->timers);
    if (!n || n->key > now_ms)
        return NULL;
    dtx_heap_remove(&self->timers, n);
    return (dtx_txn_t *)((char *)n - offsetof(dtx_txn_t, timer));
}

int64_t dtx_timer_next(const dtx_txntable_t *self)
{
    const dtx_heap_node_t *n = dtx_heap_first(&self->timers);
    return n ? n->key : -1;
}

/* --- lifetime --- */

void dtx_txn_ref(dtx_txn_t *txn)
{
    txn->refs++;
}

int dtx_txn_unref(dtx_txn_t *txn)
{
    txn->refs--;
    if (txn->dead) {
        if (txn->refs == 0)
            s_free_txn(txn);
        return 0;
    }
    return 1;
}

void dtx_txn_unlink(dtx_txntable_t *self, dtx_txn_t *txn)
{
    if (txn->dead)
        return;
    dtx_hashtab_remove(&self->by_gid, txn);
    dtx_heap_remove(&self->timers, &txn->timer);
    self->payload -= txn->payload_bytes;
    txn->payload_bytes = 0;
    txn->dead = 1;
}

void dtx_txn_evict(dtx_txntable_t *self, dtx_txn_t *txn)
{
    dtx_txn_unlink(self, txn);
    txn->has_decision_waiter = 0;
    for (int i = 0; i < txn->nbranches; i++)
        txn->branches[i]->has_waiter = 0;
    txn->nparked = 0;
    while (txn->parked) {
        dtx_request_t *r = txn->parked;
        txn->parked = r->next;
        s_free_request(r);
    }
    txn->parked_tail = NULL;
    if (txn->refs == 0)
        s_free_txn(txn);
}
