/*
 * txntable.h — in-memory transactions: what a transaction and its branches
 * hold while this node drives them, the requests parked on one, and the
 * table that finds them by gid and orders their timers.
 *
 * The PostgreSQL log is the only source of truth. The in-memory copy of a
 * transaction is a cache that makes the hot path avoid reads: it is created
 * by BEGIN (after the insert committed) or loaded from the log (recovery,
 * or a request for a gid not in memory), and it is discarded when the
 * transaction ends or when a write's outcome is unknown (database error):
 * the next request or the recovery scan re-reads it from the log.
 *
 * One thread runs everything (the loop), so nothing here is locked.
 */
#ifndef DTX_COORD_TXNTABLE_H
#define DTX_COORD_TXNTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "dtx/types.h"
#include "registry.h"

/* Where to send a reply. A ZeroMQ peer is its routing id and its request's
 * corr; an HTTP request (admin API) is a handle id the HTTP module gave it,
 * in corr. Replies go through dtx_outbox_reply(), which knows both. */
#define DTX_PEER_ZMQ  0
#define DTX_PEER_HTTP 1
typedef struct dtx_peer {
    uint8_t  kind;                         /* DTX_PEER_* */
    uint8_t  rid[DTX_ROUTING_ID_MAX];
    uint8_t  rid_len;
    uint64_t corr;
} dtx_peer_t;

/* A request parked until its transaction is loaded or its decision write
 * completes; replayed then. */
typedef struct dtx_request {
    struct dtx_request *next;
    dtx_peer_t peer;
    unsigned   roles;                      /* the sender's DTX_ROLE_* bits */
    char       principal[DTX_OWNER_SIZE];  /* the sender's principal */
    uint8_t    type;                       /* DTX_MSG_TRY, _COMMIT, ... */
    int        reloaded;                   /* already retried after a fresh load */
    int        maybe_done;                 /* its first run may have changed the log */
    char       gid[DTX_NAME_SIZE];
    char       resource[DTX_NAME_SIZE];
    char       action[DTX_NAME_SIZE];
    uint8_t   *payload;                    /* owned copy (TRY) */
    uint32_t   payload_len;
} dtx_request_t;

#define DTX_SENT_RING 4                    /* sends of one op a reply may answer */
#define DTX_PARKED_MAX 64                  /* requests parked on one transaction */

typedef struct dtx_branch {
    uint32_t   no;                         /* 1-based branch number */
    int        state;                      /* DTX_BRANCH_* as in the log */
    int        op;                         /* op being driven: DTX_OP_* */
    uint32_t   attempt;                    /* attempts of op sent so far */
    int        inflight;                   /* a PHASE awaits its reply */
    int        writing;                    /* a write of this branch is in flight */
    int        unknown_vote;               /* reloaded while trying: vote lost */
    int        never_sent;                 /* no PHASE ever left for it (fresh only) */
    int64_t    due_ms;                     /* monotonic: next send or timeout; 0 none */
    int64_t    first_wait_ms;              /* when it started waiting for an instance */
    int64_t    sent_ms;                    /* monotonic: when the in-flight call left (metrics) */
    /* The last sends of the current op: a reply counts only when it comes
     * from the instance an attempt went to and repeats that attempt's
     * corr. Cleared when the op changes. */
    struct { uint64_t serial, corr; uint32_t attempt; } sent[DTX_SENT_RING];
    char       resource[DTX_NAME_SIZE];
    char       action[DTX_NAME_SIZE];
    uint8_t   *payload;                    /* owned */
    uint32_t   payload_len;
    int        has_waiter;                 /* an initiator waits for the Try vote */
    dtx_peer_t waiter;
    uint64_t   inst_serial;                /* instance of the in-flight call; 0 none */
    char       last_error[128];
} dtx_branch_t;

typedef struct dtx_txn {
    char           gid[DTX_NAME_SIZE];
    uint32_t       shard;                  /* dtx_id_hash(gid): its bucket and log connection */
    int            mode;                   /* DTX_MODE_* */
    int            state;                  /* DTX_STATE_* as in the log */
    int            loading;                /* being read from the log */
    int            writing;                /* a global-state write is in flight */
    int            finishing;              /* the final write is in flight */
    int            owned;                  /* this node holds it (else read-only) */
    char           gen[24];                /* owner_gen it was loaded/created with */
    char           initiator[DTX_OWNER_SIZE]; /* principal that began it ("" unknown) */
    int64_t        payload_bytes;          /* payload held by its branches and parked TRYs */
    int            pending_branches;       /* TRYs whose branch write is in flight */
    int64_t        pending_payload;        /* their payload bytes */
    int            nparked;                /* requests parked */
    int            decision;               /* recorded decision (for STUCK) */
    int            preparing;              /* 2PC: COMMIT started the prepare phase */
    int64_t        deadline_wall;          /* epoch ms */
    int64_t        deadline_mono;          /* the same, monotonic */
    int64_t        begun_ms;               /* monotonic BEGIN time; 0 when loaded (metrics) */
    dtx_branch_t **branches;               /* by position; branch no i+1 normally at i */
    int            nbranches;
    int            capbranches;
    dtx_request_t *parked;                 /* FIFO of parked requests */
    dtx_request_t *parked_tail;
    dtx_peer_t     decision_waiter;        /* COMMIT/ROLLBACK waiting on a decision */
    uint8_t        decision_waiter_type;   /* DTX_MSG_COMMIT or _ROLLBACK */
    unsigned       decision_waiter_roles;  /* its sender's roles and principal, */
    char           decision_waiter_principal[DTX_OWNER_SIZE]; /* to run it again */
    int            has_decision_waiter;
    int            refs;                   /* store callbacks holding it */
    int            dead;                   /* removed from the table */
    int64_t        due_ms;                 /* heap key: earliest timer */
    int            heap_idx;               /* -1 when not in the heap */
    struct dtx_txn *hnext;                 /* hash chain */
} dtx_txn_t;

typedef struct dtx_txntable dtx_txntable_t;

dtx_txntable_t *dtx_txntable_new(void);
void dtx_txntable_destroy(dtx_txntable_t **self_p);
dtx_txn_t *dtx_txn_find(dtx_txntable_t *self, const char *gid);
dtx_txn_t *dtx_txn_create(dtx_txntable_t *self, const char *gid);  /* inserted; NULL on ENOMEM */
dtx_branch_t *dtx_txn_add_branch(dtx_txn_t *txn, uint32_t no);  /* NULL on ENOMEM */
dtx_branch_t *dtx_txn_branch(dtx_txn_t *txn, uint32_t no);
/* Removes txn from the table and the timer heap and marks it dead; its
 * waiters and parked requests stay until dtx_txn_evict. Idempotent. */
void dtx_txn_unlink(dtx_txntable_t *self, dtx_txn_t *txn);
/* Unlinks txn, drops its waiters and parked requests unanswered (the
 * engine answers them first: dtx_outbox_drop) and frees it once no
 * callback holds it. */
void dtx_txn_evict(dtx_txntable_t *self, dtx_txn_t *txn);
void dtx_txn_ref(dtx_txn_t *txn);
/* Drops a reference; returns 1 when txn is still usable (not evicted). */
int  dtx_txn_unref(dtx_txn_t *txn);
size_t dtx_txn_count(const dtx_txntable_t *self);
/* Payload bytes held in memory by every transaction (branches and parked
 * TRYs); txn's own count is txn->payload_bytes. */
int64_t dtx_txn_payload_total(const dtx_txntable_t *self);
/* Adds (or with a negative n, releases) payload bytes held by txn. */
void dtx_txn_payload_add(dtx_txntable_t *self, dtx_txn_t *txn, int64_t n);
/* Calls fn on every transaction; fn may evict the one it is given. */
void dtx_txn_each(dtx_txntable_t *self, void (*fn)(dtx_txn_t *, void *), void *arg);
/* Timer heap keyed by txn->due_ms. */
void dtx_timer_set(dtx_txntable_t *self, dtx_txn_t *txn, int64_t due_ms);  /* 0 = cancel */
dtx_txn_t *dtx_timer_due(dtx_txntable_t *self, int64_t now_ms);   /* pops one due txn */
int64_t dtx_timer_next(const dtx_txntable_t *self);                     /* earliest due, or -1 */

#endif
