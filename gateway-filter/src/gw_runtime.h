/*
 * gw_runtime.h — one generation of live rules: the routes, pools and
 * rules built from a configuration, and the atomic swap between them.
 *
 * Lifecycle:
 *  1. dtx_gw_runtime_build(cfg, old) makes a generation; pools and rules
 *     whose JSON is unchanged from `old` are the same objects (shared by
 *     reference count), so their state and counters carry over;
 *  2. dtx_gw_gateway_swap() installs it: requests that started before
 *     keep the generation they took (dtx_gw_runtime_acquire) until they
 *     end, new requests take the new one; no request ever sees a mix;
 *  3. the old generation is freed when its last request releases it.
 */
#ifndef DTX_GW_RUNTIME_H
#define DTX_GW_RUNTIME_H

#include <pthread.h>
#include <stdatomic.h>

#include "gw_config.h"
#include "gw_dtxd_reading.h"
#include "gw_lb.h"
#include "gw_route.h"
#include "gw_rules.h"
#include "gw_stats.h"

struct dtx_gw_txn_clients;

/* What every generation of one gateway shares and outlives them all:
 * owned by the app, set up before the first generation is built and
 * torn down after the last one is gone. */
typedef struct dtx_gw_shared {
    dtx_gw_stats_t            *stats;       /* route counters, by route name */
    dtx_gw_dtxd_t              dtxd;        /* the dtxd_inflight reading */
    struct dtx_gw_txn_clients *txn;         /* dtx clients of the transaction filter */
    atomic_ullong              generations; /* generations built so far */
} dtx_gw_shared_t;

/* 0, or DTX_ENOMEM (self is then left empty: _fini is still safe). */
int  dtx_gw_shared_init(dtx_gw_shared_t *self);
void dtx_gw_shared_fini(dtx_gw_shared_t *self);

typedef struct dtx_gw_runtime {
    atomic_int         refs;
    dtx_gw_shared_t   *shared;   /* the gateway's; not owned */
    dtx_gw_config_t   *cfg;      /* owned */
    dtx_gw_route_t    *routes;
    int                nroutes;
    dtx_gw_pool_t    **pools;    /* index as cfg->pools */
    int                npools;
    dtx_gw_rule_t    **rules;    /* index as cfg->rules */
    int                nrules;
    uint64_t           generation;
} dtx_gw_runtime_t;

/* Builds a generation of the gateway that owns shared (which must
 * outlive it), taking ownership of cfg (even on failure). old may be
 * NULL. NULL on allocation failure. */
dtx_gw_runtime_t *dtx_gw_runtime_build(dtx_gw_config_t *cfg, const dtx_gw_runtime_t *old,
                                       dtx_gw_shared_t *shared);
dtx_gw_runtime_t *dtx_gw_runtime_ref(dtx_gw_runtime_t *self);
void dtx_gw_runtime_unref(dtx_gw_runtime_t **self_p);

/* The holder of the current generation. */
typedef struct dtx_gw_current {
    pthread_mutex_t   lock;
    dtx_gw_runtime_t *rt;
    void            (*on_swap)(void *arg); /* told after each swap, or NULL */
    void             *on_swap_arg;
} dtx_gw_current_t;

void dtx_gw_current_init(dtx_gw_current_t *self, dtx_gw_runtime_t *rt);
void dtx_gw_current_fini(dtx_gw_current_t *self);
/* A reference to the generation in force (release with runtime_unref). */
dtx_gw_runtime_t *dtx_gw_current_acquire(dtx_gw_current_t *self);
/* Installs rt (taking its reference) and drops the old one. */
void dtx_gw_current_swap(dtx_gw_current_t *self, dtx_gw_runtime_t *rt);
/* Sets the one listener told after every swap (fn NULL: none). fn runs in
 * the swapping thread under the holder's lock: it must be quick and must
 * not call this holder. Once this returns, the previous listener is never
 * called again, so its owner may free arg. */
void dtx_gw_current_on_swap(dtx_gw_current_t *self, void (*fn)(void *arg), void *arg);

#endif
