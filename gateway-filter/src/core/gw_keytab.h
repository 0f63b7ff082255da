/*
 * gw_keytab.h — per-key state of a rule: a hash table from a key (client
 * address, header value, route name) to a fixed-size state block.
 *
 * Not locked: the rule that owns it holds its lock around every call.
 * States are created zeroed on first use. When the table is full, idle
 * states (the rule's idle callback says so, and nobody pins them) are
 * dropped to make room, as nginx expires limit_req nodes; when none is
 * idle the lookup fails and the rule refuses the request.
 */
#ifndef DTX_GW_KEYTAB_H
#define DTX_GW_KEYTAB_H

#include <stddef.h>
#include <stdint.h>

typedef struct dtx_gw_keytab dtx_gw_keytab_t;

/* Returns 1 when state may be forgotten at now. */
typedef int (*dtx_gw_keytab_idle_fn)(const void *state, const void *arg, int64_t now_us);

/* NULL on allocation failure. max_keys 0 means 100000. */
dtx_gw_keytab_t *dtx_gw_keytab_new(size_t state_size, size_t max_keys,
                                   dtx_gw_keytab_idle_fn idle, const void *idle_arg);
void dtx_gw_keytab_destroy(dtx_gw_keytab_t **self_p);

/* The state of key (created zeroed when new), or NULL when the table is
 * full of busy states or memory ran out. */
void *dtx_gw_keytab_get(dtx_gw_keytab_t *self, const char *key, int64_t now_us);

/* A pinned state is never dropped; pins nest. */
void dtx_gw_keytab_pin(void *state);
void dtx_gw_keytab_unpin(void *state);

/* Number of keys held. */
size_t dtx_gw_keytab_count(const dtx_gw_keytab_t *self);

/* Calls fn for every key and state (for metrics and status). */
void dtx_gw_keytab_each(dtx_gw_keytab_t *self,
                        void (*fn)(const char *key, void *state, void *arg), void *arg);

#endif
