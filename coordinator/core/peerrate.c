/*
 * peerrate.c — a hash of connections by routing id, with an LRU list for
 * forgetting the least recently heard (peerrate.h states the contract).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/hashtab.h"
#include "dtx/types.h"
#include "peerrate.h"
#include "registry.h"

#define S_IDLE_MS 10000 /* forgotten after this long unheard: its buckets are full */

typedef struct s_peer {
    uint8_t        rid[DTX_ROUTING_ID_MAX];
    uint8_t        rid_len;
    double         tokens[2];
    int64_t        last_ms;
    struct s_peer *hnext;
    struct s_peer *prev, *next; /* LRU: head most recent */
} s_peer_t;

struct dtx_peerrate {
    int64_t    rate[2];
    int        max_peers;
    dtx_hashtab_t by_rid;       /* every tracked peer */
    s_peer_t  *head, *tail;
};

static uint64_t s_hash(const void *elem)
{
    const s_peer_t *p = elem;
    return dtx_hash_bytes(p->rid, p->rid_len);
}

dtx_peerrate_t *dtx_peerrate_new(int64_t request_rate, int64_t register_rate, int max_peers)
{
    dtx_peerrate_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->rate[DTX_PEERRATE_REQUEST] = request_rate;
    self->rate[DTX_PEERRATE_REGISTER] = register_rate;
    self->max_peers = max_peers > 0 ? max_peers : 1;
    if (dtx_hashtab_init(&self->by_rid, offsetof(s_peer_t, hnext), s_hash,
                         (size_t)self->max_peers) != 0) {
        free(self);
        return NULL;
    }
    return self;
}

void dtx_peerrate_destroy(dtx_peerrate_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_peerrate_t *self = *self_p;
    for (s_peer_t *p = self->head, *n; p; p = n) {
        n = p->next;
        free(p);
    }
    dtx_hashtab_fini(&self->by_rid);
    free(self);
    *self_p = NULL;
}

static void s_unlink(dtx_peerrate_t *self, s_peer_t *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        self->head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    else
        self->tail = p->prev;
    p->prev = p->next = NULL;
}

static void s_push_front(dtx_peerrate_t *self, s_peer_t *p)
{
    p->next = self->head;
    p->prev = NULL;
    if (self->head)
        self->head->prev = p;
    self->head = p;
    if (!self->tail)
        self->tail = p;
}

static void s_forget(dtx_peerrate_t *self, s_peer_t *p)
{
    dtx_hashtab_remove(&self->by_rid, p);
    s_unlink(self, p);
    free(p);
}

int dtx_peerrate_take(dtx_peerrate_t *self, const uint8_t *rid, size_t rid_len, int kind,
                      int64_t now_ms, int64_t *retry_ms)
{
    int64_t rate = self->rate[kind];
    if (rate <= 0)
        return 0;
    if (rid_len > DTX_ROUTING_ID_MAX)
        rid_len = DTX_ROUTING_ID_MAX;
    /* Forget the idle ones first: bounded work, from the LRU end. */
    for (int i = 0; i < 8 && self->tail && self->tail->last_ms < now_ms - S_IDLE_MS; i++)
        s_forget(self, self->tail);
    s_peer_t *p = dtx_hashtab_head(&self->by_rid, dtx_hash_bytes(rid, rid_len));
    while (p && !(p->rid_len == rid_len && memcmp(p->rid, rid, rid_len) == 0))
        p = p->hnext;
    if (!p) {
        if (self->by_rid.count >= (size_t)self->max_peers)
            s_forget(self, self->tail);
        p = calloc(1, sizeof *p);
        if (!p)
            return 0; /* untracked: better than refusing everyone */
        memcpy(p->rid, rid, rid_len);
        p->rid_len = (uint8_t)rid_len;
        p->tokens[0] = (double)self->rate[0];
        p->tokens[1] = (double)self->rate[1];
        p->last_ms = now_ms;
        dtx_hashtab_insert(&self->by_rid, p);
    } else {
        s_unlink(self, p);
        int64_t dt = now_ms - p->last_ms;
        if (dt > 0) {
            for (int i = 0; i < 2; i++) {
                p->tokens[i] += (double)dt * (double)self->rate[i] / 1000.0;
                if (p->tokens[i] > (double)self->rate[i])
                    p->tokens[i] = (double)self->rate[i];
            }
            p->last_ms = now_ms;
        }
    }
    s_push_front(self, p);
    if (p->tokens[kind] >= 1.0) {
        p->tokens[kind] -= 1.0;
        return 0;
    }
    if (retry_ms)
        *retry_ms = (int64_t)((1.0 - p->tokens[kind]) * 1000.0 / (double)rate) + 1;
    return DTX_ELIMIT;
}

size_t dtx_peerrate_count(const dtx_peerrate_t *self)
{
    return self->by_rid.count;
}
