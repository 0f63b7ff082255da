/*
 * gw_cache.h — a response cache store: stored answers by key, each key
 * with up to DTX_GW_CACHE_MAX_VARIANTS variants (one per set of `Vary`
 * request header values), bounded in bytes with LRU eviction, and the
 * bookkeeping of request coalescing (one fill in progress per key, the
 * other requests for the key parked until it ends).
 *
 * One store per cached route, shared by every worker (one lock); the
 * policy (what is cacheable, TTLs, headers sent) is the cache filter's
 * (filters/gw_cache_filter.c). The store never reads the clock: every
 * call that needs the time is given now_us (monotonic, core/gw_clock.h).
 *
 * A key's slot:
 *
 *   absent ──lookup, nothing fresh──▶ FILLING (one leader) ──finish──▶ variants only
 *      ▲                               │  lookups: parked as waiters       │
 *      └────── last variant evicted / purged / expired, no fill ◀──────────┘
 *
 * Invariants: a slot exists while it has a variant or a fill is in
 * progress; at most one fill per key; every parked waiter is called
 * exactly once, by the fill's finish, outside the store's lock; bytes
 * held (keys + objects) never exceed max_bytes after a store returns;
 * objects are immutable once stored and reference counted, so a hit
 * sends an object that a later purge or eviction cannot free under it.
 */
#ifndef DTX_GW_CACHE_H
#define DTX_GW_CACHE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define DTX_GW_CACHE_MAX_VARIANTS 8

typedef struct dtx_gw_cache dtx_gw_cache_t;

/* A stored answer: one allocation, immutable, reference counted. */
typedef struct dtx_gw_cache_obj {
    atomic_int   refs;
    int          status;
    int          nheaders;
    const char **names;           /* answer headers as stored */
    const char **values;
    int          nvary;           /* request headers the answer varies on */
    const char **vary_names;      /* lower case */
    const char **vary_values;     /* the storing request's values; NULL: absent */
    int64_t      stored_us;       /* monotonic time it was stored */
    int64_t      initial_age_s;   /* the upstream's Age when stored */
    int64_t      fresh_until_us;  /* fresh before this */
    int64_t      stale_until_us;  /* may be served stale (on error) before this */
    size_t       bytes;           /* accounted size */
    size_t       body_len;
    char        *body;            /* points into the allocation (first in data) */
    char         data[];
} dtx_gw_cache_obj_t;

/* Header lookup of the request (as dtx_gw_header_fn). */
typedef const char *(*dtx_gw_cache_header_fn)(void *ctx, const char *name);

/* A parked request: fn(arg, outcome) runs once, from the thread that
 * finishes the fill, outside the lock. The caller owns the memory and
 * must keep it until fn ran. */
typedef struct dtx_gw_cache_waiter {
    void (*fn)(void *arg, int outcome);
    void  *arg;
    struct dtx_gw_cache_waiter *next;
} dtx_gw_cache_waiter_t;

/* Outcomes of a fill, given to its waiters. */
#define DTX_GW_CACHE_FILLED  1   /* an answer was stored: look up again */
#define DTX_GW_CACHE_PASS    2   /* nothing stored (not cacheable, error, aborted) */

/* What a lookup found. */
#define DTX_GW_CACHE_HIT     1   /* a fresh variant (*obj) */
#define DTX_GW_CACHE_LEAD    2   /* nothing fresh: the caller fills (finish it!) */
#define DTX_GW_CACHE_WAIT    3   /* nothing fresh, a fill is in progress */
#define DTX_GW_CACHE_MISS    4   /* nothing fresh (lead 0 asked) */

typedef struct dtx_gw_cache_stats {
    uint64_t hits, misses, stale, coalesced, lock_timeouts, stored, evictions, purged;
    size_t   bytes, objects, keys;
} dtx_gw_cache_stats_t;

/* A store of max_bytes (> 0). sig names the configuration it belongs to
 * (copied; see dtx_gw_cache_sig). NULL on allocation failure. Reference
 * counted: _unref frees it with the last reference. */
dtx_gw_cache_t *dtx_gw_cache_new(size_t max_bytes, const char *sig);
dtx_gw_cache_t *dtx_gw_cache_ref(dtx_gw_cache_t *self);
void dtx_gw_cache_unref(dtx_gw_cache_t **self_p);
const char *dtx_gw_cache_sig(const dtx_gw_cache_t *self);

/* Makes an object (refs 1). names/values: n answer headers; vary_names:
 * nvary names (lower-cased copies are kept) with the request's values
 * (NULL: absent). NULL on allocation failure. */
dtx_gw_cache_obj_t *dtx_gw_cache_obj_new(int status, const char *const *names,
                                         const char *const *values, int n,
                                         const char *const *vary_names,
                                         const char *const *vary_values, int nvary,
                                         const char *body, size_t body_len);
dtx_gw_cache_obj_t *dtx_gw_cache_obj_ref(dtx_gw_cache_obj_t *obj);
void dtx_gw_cache_obj_unref(dtx_gw_cache_obj_t **obj_p);
/* The object whose body is body (obj->body), for a free callback that
 * is handed the body alone. */
dtx_gw_cache_obj_t *dtx_gw_cache_obj_of_body(char *body);

/* Looks key up for a request whose headers hdr(ctx, name) gives.
 * Returns DTX_GW_CACHE_HIT with a fresh variant in *obj (a reference);
 * otherwise *obj is the variant that matches but is no longer fresh
 * while it may still be served stale (a reference), or NULL; and the
 * result is _LEAD (lead set, no fill in progress: the caller's fill is
 * now in progress), _WAIT (a fill is in progress: park with _park) or
 * _MISS (lead 0). Expired variants past their stale time are dropped. A
 * hit moves the variant to the front of the LRU. */
int dtx_gw_cache_lookup(dtx_gw_cache_t *self, const char *key, dtx_gw_cache_header_fn hdr,
                        void *ctx, int64_t now_us, int lead, dtx_gw_cache_obj_t **obj);

/* Parks w on key's fill. 1 when parked (w->fn will run), 0 when no fill
 * is in progress any more (look up again). */
int dtx_gw_cache_park(dtx_gw_cache_t *self, const char *key, dtx_gw_cache_waiter_t *w);

/* Takes w, parked on key, off its fill's waiters: 1 when it was still
 * there (w->fn will not run: the caller goes on without the fill), 0
 * when the fill already ended and took it (w->fn runs, or has run). */
int dtx_gw_cache_unpark(dtx_gw_cache_t *self, const char *key, dtx_gw_cache_waiter_t *w);

/* Ends the fill of key that a _LEAD lookup started: stores obj when not
 * NULL and no purge matched the key since the fill began (the store
 * takes a reference of its own; a variant with the same vary names and
 * values, or with other vary names, is replaced; the
 * oldest variant goes when there are too many; least recently used
 * objects of any key are evicted until the store fits), then calls every
 * waiter with DTX_GW_CACHE_FILLED (obj stored) or DTX_GW_CACHE_PASS.
 * An object larger than the whole store is not stored (PASS). */
void dtx_gw_cache_finish(dtx_gw_cache_t *self, const char *key, dtx_gw_cache_obj_t *obj);

/* Removes every stored object whose key match(key, arg) accepts;
 * returns how many objects went. A fill in progress on such a key goes
 * on, but what it finishes with is not stored (it may have been fetched
 * before the purge): its waiters get DTX_GW_CACHE_PASS. */
size_t dtx_gw_cache_purge(dtx_gw_cache_t *self, int (*match)(const char *key, void *arg),
                          void *arg);

/* Counts an event the policy decides (the store counts stored,
 * evictions and purged itself). */
typedef enum { DTX_GW_CACHE_NOTE_HIT, DTX_GW_CACHE_NOTE_MISS, DTX_GW_CACHE_NOTE_STALE,
               DTX_GW_CACHE_NOTE_COALESCED, DTX_GW_CACHE_NOTE_LOCK_TIMEOUT } dtx_gw_cache_note_t;
void dtx_gw_cache_note(dtx_gw_cache_t *self, dtx_gw_cache_note_t what);

void dtx_gw_cache_get_stats(dtx_gw_cache_t *self, dtx_gw_cache_stats_t *out);

#endif
