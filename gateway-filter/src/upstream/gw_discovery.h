/*
 * gw_discovery.h — the discovery registry: for every pool with a
 * "discovery" section (config/gw_config_discovery.h), the last good
 * target set of each of its sources, when to read each again, and what
 * happened (reads, failures, changes). The generation builder
 * (runtime/gw_runtime.c) takes a discovered pool's targets from here;
 * the discovery thread (app/gw_discovery_watch.c) reads the sources.
 *
 * Rules of a refresh:
 *  - a file source is looked at (stat) every check_ms and read when its
 *    size, mtime or inode changed; a DNS source is resolved again when
 *    its TTL runs out, the interval clamped to [min_refresh_ms,
 *    max_refresh_ms];
 *  - a read that fails (a bad line, an unreadable file, no DNS answer,
 *    an answer naming no target) keeps the source's last good set,
 *    counts a failure and logs one line; a failed DNS source is tried
 *    again after min_refresh_ms, a bad file when it changes again;
 *  - the pool's set is its static targets, then each source's set in
 *    order; when it differs from the one in force, the entry's version
 *    goes up and dtx_gw_discovery_poll says so: the caller builds a new
 *    generation (gw_runtime.h), whose pool has the new set; the old pool
 *    stays with the calls still out (the drain, gw_pool_set.c).
 *
 * Entries are keyed by pool name and the pool's JSON (its sig). One
 * thread writes (sync, poll); lookup and each run from any thread.
 */
#ifndef DTX_GW_DISCOVERY_H
#define DTX_GW_DISCOVERY_H

#include <stdint.h>

#include "config/gw_config_discovery.h"

typedef struct dtx_gw_discovery dtx_gw_discovery_t;

dtx_gw_discovery_t *dtx_gw_discovery_new(void);
void dtx_gw_discovery_destroy(dtx_gw_discovery_t **self_p);

/* Starts tracking the discovered pools among pools (their configs: the
 * generation in force) and forgets the entries of pools no longer there.
 * now_us: the clock. Returns 0 or DTX_ENOMEM. */
int dtx_gw_discovery_sync(dtx_gw_discovery_t *self, const dtx_gw_pool_cfg_t *const *pools,
                          int npools, int64_t now_us);

/* Reads every source that is due (blocking: the discovery thread's job),
 * with query for DNS (NULL: the system's). Returns how many pools' sets
 * changed; *next_due_us (may be NULL) gets when the next source is due
 * (0: none tracked). */
int dtx_gw_discovery_poll(dtx_gw_discovery_t *self, int64_t now_us, dtx_gw_dns_query_fn query,
                          void *qarg, int64_t *next_due_us);

/* The current set of the discovered pool cfg: 1 with a copy in out and
 * its version, 0 when not tracked (use cfg's own targets, version 0). */
int dtx_gw_discovery_lookup(dtx_gw_discovery_t *self, const dtx_gw_pool_cfg_t *cfg,
                            dtx_gw_target_set_t *out, uint64_t *version);

/* What a source did, for /metrics and the admin API. */
typedef struct dtx_gw_discovery_stat {
    const char *pool;
    int         source;        /* index in the pool's discovery array */
    const char *kind;          /* "file", "dns_a", "dns_aaaa", "dns_srv" */
    const char *what;          /* the file's path or the DNS name */
    int         targets;       /* in its last good set */
    uint64_t    reads;         /* reads that succeeded (a file: re-reads after a change) */
    uint64_t    failures;      /* reads that failed (the last good set kept) */
    uint64_t    changes;       /* times the pool's set changed because of this source */
    uint64_t    version;       /* the pool's set version */
    int64_t     next_ms;       /* in how long it is read again */
    const char *last_error;    /* "" when the last read succeeded */
} dtx_gw_discovery_stat_t;

/* Calls fn for every source, under the registry's lock (fn must be quick
 * and must not call the registry). */
void dtx_gw_discovery_each(dtx_gw_discovery_t *self, int64_t now_us,
                           void (*fn)(const dtx_gw_discovery_stat_t *s, void *arg), void *arg);

#endif
