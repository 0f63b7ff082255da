/*
 * gw_runtime.h — one generation of live rules: the routes, pools and
 * rules built from a configuration, and the atomic swap between them.
 *
 * Lifecycle:
 *  1. dtx_gw_runtime_build(cfg, old, shared) makes a generation; pools and rules
 *     whose JSON is unchanged from `old` are the same objects (shared by
 *     reference count), so their state and counters carry over;
 *  2. dtx_gw_current_swap() installs it: requests that started before
 *     keep the generation they took (dtx_gw_current_acquire) until they
 *     end, new requests take the new one; no request ever sees a mix;
 *  3. the old generation is freed when its last request releases it.
 */
#ifndef DTX_GW_RUNTIME_H
#define DTX_GW_RUNTIME_H

#include <pthread.h>
#include <stdatomic.h>

#include "config/gw_config.h"
#include "filters/gw_generation.h"

/* 0, or DTX_ENOMEM (self is then left empty: _fini is still safe). */
int  dtx_gw_shared_init(dtx_gw_shared_t *self);
void dtx_gw_shared_fini(dtx_gw_shared_t *self);

/* Builds a generation of the gateway that owns shared (which must
 * outlive it), taking ownership of cfg (even on failure). old may be
 * NULL. NULL on allocation failure. */
dtx_gw_runtime_t *dtx_gw_runtime_build(dtx_gw_config_t *cfg, const dtx_gw_runtime_t *old,
                                       dtx_gw_shared_t *shared);
dtx_gw_runtime_t *dtx_gw_runtime_ref(dtx_gw_runtime_t *self);
void dtx_gw_runtime_unref(dtx_gw_runtime_t **self_p);

/* The holder of the current generation. */
typedef struct dtx_gw_current {
    pthread_mutex_t   apply_lock;  /* serializes dtx_gw_current_apply */
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
/* Builds a generation from cfg (taking it) next to the one in force,
 * sharing its state, and swaps it in. Calls are serialized. Returns 0
 * (generation in *generation when not NULL), DTX_ENOMEM, or DTX_ESTATE
 * when self holds no generation to take the shared state from. */
int dtx_gw_current_apply(dtx_gw_current_t *self, dtx_gw_config_t *cfg, uint64_t *generation);
/* A new generation from the document in force (shared, not re-read), so
 * that pools whose discovered set changed (gw_discovery.h) are rebuilt;
 * every other pool and rule carries over. Returns as _apply. */
int dtx_gw_current_refresh(dtx_gw_current_t *self, uint64_t *generation);
void dtx_gw_current_on_swap(dtx_gw_current_t *self, void (*fn)(void *arg), void *arg);

#endif
