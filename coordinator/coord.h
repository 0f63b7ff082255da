/*
 * coord.h — the coordinator's shared internals: its context, the in-memory
 * copy of in-flight transactions, and the functions the modules call on
 * each other.
 *
 * The PostgreSQL log is the only source of truth. The in-memory copy of a
 * transaction is a cache that makes the hot path avoid reads: it is created
 * by BEGIN (after the insert committed) or loaded from the log (recovery,
 * or a request for a gid not in memory), and it is discarded when the
 * transaction ends or when a write's outcome is unknown (database error):
 * the next request or the recovery scan re-reads it from the log.
 *
 * One thread runs everything (server.c's event loop), so nothing here is
 * locked.
 *
 * Module map:
 *   server.c    event loop over the ROUTER socket and the store's sockets,
 *               message decoding, who sent it and may it (auth.c,
 *               peerrate.c), dispatch, sending
 *   auth.c      CURVE keys, the allow-list and its roles, ZAP, identities
 *   peerrate.c  per-connection request and registration rates
 *   api.c       initiator requests: BEGIN, TRY, COMMIT, ROLLBACK, STATUS
 *   driver.c    decisions and phase driving: PHASE sends, replies,
 *               timeouts, retries with backoff, finishing
 *   participants.c  REGISTER, HEARTBEAT, expiry of silent instances
 *   recovery.c  loading transactions from the log and the periodic scan
 *   txntable.c  the gid hash table, the timer heap, write contexts
 *   registry.c  live participant instances and who owns their names
 *   lease.c     the node lease, its renewal and what a lapse drops
 *   store.c     libpq pipeline batches (group commit), a control connection
 */
#ifndef DTX_COORD_COORD_H
#define DTX_COORD_COORD_H

#include <stdint.h>

#include "dtx/config.h"
#include "dtx/proto.h"
#include "metrics.h"
#include "registry.h"
#include "store.h"

/* Configuration (coordinator/config.c lists every option). */
typedef struct dtx_coord_config {
    char    db[DTX_OPT_STRMAX];            /* libpq conninfo of the log */
    char    listen[DTX_OPT_STRMAX];        /* ZeroMQ endpoint to bind */
    char    endpoint_file[DTX_OPT_STRMAX]; /* where to write the bound endpoint */
    char    node_id[DTX_OPT_STRMAX];       /* this instance's name */
    char    log_level[DTX_OPT_STRMAX];
    int64_t default_timeout_ms;            /* transaction timeout when BEGIN says 0 */
    int64_t max_timeout_ms;                /* largest timeout BEGIN may ask */
    int64_t try_timeout_ms;                /* wait for a Try vote */
    int64_t phase_timeout_ms;              /* wait for a Confirm/Cancel ack */
    int64_t retry_base_ms;                 /* first retry delay */
    int64_t retry_max_ms;                  /* retry delay cap */
    int64_t heartbeat_ms;                  /* participants' heartbeat interval */
    int64_t db_connections;                /* log connections (shards) */
    int64_t recovery_interval_ms;          /* log scan period */
    int64_t sndhwm;                        /* ZeroMQ send high-water mark */
    int64_t lease_ms;                      /* node lease; renewed every third of it */
    int64_t max_attempts;                  /* Confirm/Cancel attempts before STUCK (0: no limit) */
    char    fault[DTX_OPT_STRMAX];         /* test-only fault injection (fault.h) */
    int     migrate_only;                  /* apply migrations and exit */
    char    http_listen[DTX_OPT_STRMAX];   /* admin HTTP host:port, or "off" (admin_http.h) */
    char    http_url_file[DTX_OPT_STRMAX]; /* where to write the admin URL once listening */
    char    admin_token_file[DTX_OPT_STRMAX]; /* name:token lines (admin_auth.h) */
    int     http_read_token_required;      /* reads need a token too */
    char    http_tls_cert[DTX_OPT_STRMAX]; /* PEM certificate: serve HTTPS */
    char    http_tls_key[DTX_OPT_STRMAX];  /* PEM private key */
    int64_t http_max_body;                 /* request body cap (bytes) */
    /* Wire security (auth.h). */
    char    curve_secret_file[DTX_OPT_STRMAX]; /* server key pair: CURVE on */
    char    curve_allow_file[DTX_OPT_STRMAX];  /* public keys and their roles */
    /* Limits: what one peer can make this node hold (0: no limit). */
    int64_t max_txns;                      /* transactions in memory */
    int64_t max_branches;                  /* branches per transaction */
    int64_t max_txn_payload;               /* payload bytes per transaction */
    int64_t max_payload;                   /* payload bytes in memory, in all */
    int64_t max_resources;                 /* resources per participant connection */
    int64_t max_registrations;             /* REGISTERs per second per connection */
    int64_t max_peer_rate;                 /* requests per second per connection */
    int64_t max_instances;                 /* participant connections in all */
} dtx_coord_config_t;

/* Fills defaults, then loads file/env/flags. 0, 1 (--help) or DTX_ECONFIG
 * with a message in err. */
int dtx_coord_config_load(dtx_coord_config_t *cfg, int argc, char **argv, char *err,
                          size_t errlen);

/* Where to send a reply. A ZeroMQ peer is its routing id and its request's
 * corr; an HTTP request (admin API) is a handle id the HTTP module gave it,
 * in corr. Replies go through dtx_coord_reply(), which knows both. */
#define DTX_PEER_ZMQ  0
#define DTX_PEER_HTTP 1
typedef struct dtx_peer {
    uint8_t  kind;                         /* DTX_PEER_* */
    uint8_t  rid[DTX_ROUTING_ID_MAX];
    uint8_t  rid_len;
    uint64_t corr;
} dtx_peer_t;

/* Who sent a message, as auth.c established it (CURVE key and its
 * allow-list entry, or the connection's lineage without CURVE; the admin
 * API's token for HTTP). Valid during the dispatch of one message; what a
 * parked request needs of it is copied into the request. */
#define DTX_ROLE_INITIATOR   1u            /* BEGIN, TRY, COMMIT, ROLLBACK, STATUS */
#define DTX_ROLE_PARTICIPANT 2u            /* REGISTER, HEARTBEAT, PHASE_REPLY */
#define DTX_ROLE_OPERATOR    4u            /* RESUME; any transaction */
typedef struct dtx_ident {
    unsigned    roles;                     /* DTX_ROLE_* bits */
    char        principal[DTX_OWNER_SIZE]; /* owns the gids it begins */
    char        owner[DTX_OWNER_SIZE];     /* owns the instance names it registers */
    const struct dtx_allow_entry *entry;   /* CURVE: its allow-list line; NULL otherwise */
} dtx_ident_t;

struct dtx_coord;
/* Delivers a reply to an HTTP peer (set by the HTTP module; NULL: dropped).
 * msg is valid only during the call. */
typedef void (*dtx_http_reply_fn)(struct dtx_coord *co, uint64_t handle, const dtx_msg_t *msg);

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
    uint32_t       shard;                  /* dtx_store_shard(gid) */
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

/* Counters for logs, tests and the benchmark. */
typedef struct dtx_coord_stats {
    uint64_t begun, committed, aborted, phase_sent, phase_retries, send_failures, bad_messages;
    uint64_t ignored_replies;              /* PHASE_REPLYs that matched no call sent */
} dtx_coord_stats_t;

typedef struct dtx_txntable dtx_txntable_t;

typedef struct dtx_coord {
    dtx_coord_config_t  cfg;
    void               *zctx;
    void               *router;
    dtx_store_t        *store;
    dtx_registry_t     *registry;
    dtx_txntable_t     *txns;
    uint8_t            *sendbuf;           /* DTX_MSG_MAX bytes, reused */
    volatile int        stop;
    int                 exit_code;         /* set when the loop stops on a failure */
    int64_t             epoch;             /* this node's lease epoch */
    char                epoch_str[24];     /* the same, as a statement parameter */
    int64_t             lease_valid_ms;    /* monotonic: lease surely held until then */
    int64_t             lapse_dropped_ms;  /* monotonic: when a lapse last dropped memory */
    int64_t             next_renew_ms;
    int                 renew_inflight;
    int                 scan_inflight;
    int64_t             next_scan_ms;
    int64_t             next_expire_ms;
    dtx_coord_stats_t   stats;
    dtx_http_reply_fn   http_reply;        /* admin HTTP replies (may be NULL) */
    struct dtx_admin   *admin;             /* admin HTTP API (admin_http.h); NULL when off */
    dtx_metrics_t       metrics;           /* latency histograms and counters (/metrics) */
    struct dtx_auth    *auth;              /* wire security (auth.h) */
    int                 auth_on;           /* CURVE in force */
    struct dtx_peerrate *rates;            /* per-connection rates (peerrate.h) */
    volatile int        reload;            /* SIGHUP: re-read the allow-list */
    uint64_t            next_corr;         /* corr of the next PHASE: unique per call */
    int64_t             try_payload_inflight; /* TRY payload bytes on their way to the log */
} dtx_coord_t;

/* Prepared statements (sql.c). "me" is (owner, owner_epoch) of this node:
 * every write is fenced on it. */
enum {
    DTX_SQL_BEGIN,          /* gid mode deadline_ms me initiator */
    DTX_SQL_BRANCH_ADD,     /* gid resource action payload(bin) me -> branch_no */
    DTX_SQL_BRANCH_VOTE,    /* gid branch state last_error me */
    DTX_SQL_DECIDE,         /* gid new expected me(2) mark_prepared gen nbranches -> state */
    DTX_SQL_PREPARING,      /* gid me (2PC: the prepare phase started) */
    DTX_SQL_BRANCH_DONE,    /* gid branch state attempts me */
    DTX_SQL_BRANCH_ATTEMPT, /* gid branch attempts last_error me */
    DTX_SQL_FINISH,         /* gid final expected me */
    DTX_SQL_STUCK,          /* gid decision me */
    DTX_SQL_RESUME,         /* gid me -> state */
    DTX_SQL_CLAIM,          /* gid me epoch steal principal */
    DTX_SQL_LOAD_GLOBAL,    /* gid -> mode state deadline_ms owner owner_epoch decision preparing
                               owner_gen initiator */
    DTX_SQL_LOAD_BRANCHES,  /* gid -> branch_no resource action payload state attempts */
    DTX_SQL_SCAN,           /* limit grace_ms me -> gid (own work not in memory) */
    DTX_SQL_CLAIM_ORPHANS,  /* limit me -> gid (taken from dead owners) */
    DTX_SQL_STATUS,         /* gid -> state */
    DTX_SQL_NODE_RENEW,     /* node epoch lease_ms */
    DTX_SQL_COUNT
};
extern const dtx_store_stmt_t dtx_coord_sql[DTX_SQL_COUNT];

/* --- server.c --- */
int  dtx_coord_init(dtx_coord_t *co);              /* sockets, store, tables */
int  dtx_coord_run(dtx_coord_t *co);               /* until co->stop */
void dtx_coord_fini(dtx_coord_t *co);
/* Sends msg to peer (routing id + frame). Returns 0 or DTX_EIO /
 * DTX_ENOPARTICIPANT (peer unknown: disconnected) / DTX_EBUSY (HWM). */
int  dtx_coord_send(dtx_coord_t *co, const uint8_t *rid, size_t rid_len, dtx_msg_t *msg);
/* Answers a request: msg->corr is set from peer. Returns as dtx_coord_send. */
int  dtx_coord_reply(dtx_coord_t *co, const dtx_peer_t *peer, dtx_msg_t *msg);
void dtx_coord_reply_error(dtx_coord_t *co, const dtx_peer_t *peer, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void dtx_coord_reply_state(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_txn_t *txn);
/* Refusals (docs/protocol.md §14): counted (dtx_limit_refusals_total by
 * DTX_LIMIT_*, dtx_auth_refusals_total by DTX_DENY_*), logged at debug (a
 * peer repeating them must not flood the log: the metrics show them), and
 * answered ERROR 22 / ERROR 21 with the text. */
void dtx_coord_refuse_limit(dtx_coord_t *co, const dtx_peer_t *peer, int which,
                            const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void dtx_coord_refuse_access(dtx_coord_t *co, const dtx_peer_t *peer, int why,
                             const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* --- api.c --- */
/* Serves an initiator request from peer, sent by id (auth.c). */
void dtx_api_handle(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_ident_t *id,
                    const dtx_msg_t *msg);
/* Runs a parked request against its (now loaded / written) transaction. */
void dtx_api_replay(dtx_coord_t *co, dtx_txn_t *txn, dtx_request_t *req);
/* Parks a copy of a request on txn. 0, DTX_ENOMEM or DTX_ELIMIT (too many
 * parked on it already). */
int  dtx_api_park(dtx_coord_t *co, dtx_txn_t *txn, const dtx_peer_t *peer, const dtx_ident_t *id,
                  const dtx_msg_t *msg);
void dtx_api_replay_parked(dtx_coord_t *co, dtx_txn_t *txn);
/* Drops txn from memory because the log may have moved on under it (lease
 * lapsed, a write matched no row, claimed elsewhere, a decision write
 * failed). Every request waiting on it gets an exact answer: a COMMIT or
 * ROLLBACK awaiting its decision and every parked request are run again
 * against a fresh read of the log (once); a TRY whose call went out is
 * answered DTX_EUNKNOWN (its branch may have run: ask STATUS). */
void dtx_api_forget(dtx_coord_t *co, dtx_txn_t *txn, const char *why);
/* Copies msg into a new request (payload copied). NULL on ENOMEM. */
dtx_request_t *dtx_request_new(const dtx_peer_t *peer, const dtx_ident_t *id,
                               const dtx_msg_t *msg);
void dtx_request_free(dtx_request_t *req);

/* --- driver.c --- */
/* Records the decision (COMMITTING or ABORTING) then drives it. */
void dtx_driver_decide(dtx_coord_t *co, dtx_txn_t *txn, int decision, const char *reason);
/* Starts (or restarts after a load) driving every unfinished branch. */
void dtx_driver_drive(dtx_coord_t *co, dtx_txn_t *txn);
/* 2PC COMMIT: sends Prepare to every branch; all yes decides commit. */
void dtx_driver_start_prepare(dtx_coord_t *co, dtx_txn_t *txn);
/* Sends the Try of a freshly recorded branch. */
void dtx_driver_start_try(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br);
void dtx_driver_on_phase_reply(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_ident_t *id,
                               const dtx_msg_t *msg);
/* Resumes a stuck transaction (operator action): back to its decision. */
void dtx_driver_resume(dtx_coord_t *co, dtx_txn_t *txn, const dtx_peer_t *peer);
/* Runs the timers of txn (called by the loop when txn->due_ms passed). */
void dtx_driver_on_timer(dtx_coord_t *co, dtx_txn_t *txn, int64_t now_ms);

/* --- participants.c --- */
void dtx_driver_on_register(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_ident_t *id,
                            const dtx_msg_t *msg);
void dtx_driver_on_heartbeat(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_ident_t *id,
                             const dtx_msg_t *msg);
/* After an allow-list reload: drops the instances whose key may no longer
 * serve one of their resources (they are told to register again, and are
 * refused). Returns how many. */
int  dtx_participants_revoke(dtx_coord_t *co);
/* Periodic duties: expire silent instances. */
void dtx_driver_tick(dtx_coord_t *co, int64_t now_ms);
/* Recomputes txn->due_ms from its branches and deadline and reschedules. */
void dtx_driver_reschedule(dtx_coord_t *co, dtx_txn_t *txn);

/* --- recovery.c --- */
/* Loads gid from the log into a new in-memory transaction (parked
 * requests are replayed when done). It is claimed for this node when its
 * owner is dead, or — steal — when it is active or stuck and a request
 * wants to change it: a request of principal (NULL: an operator) takes
 * only a transaction that principal began, so a request that will be
 * refused never moves it. Returns the loading txn or NULL. */
dtx_txn_t *dtx_recovery_load(dtx_coord_t *co, const char *gid, int steal, const char *principal);
void dtx_recovery_tick(dtx_coord_t *co, int64_t now_ms);

/* --- lease.c --- */
/* Takes this node's lease (blocking, at start): sets co->epoch. 0/DTX_EDB. */
int  dtx_lease_acquire(dtx_coord_t *co, const char *endpoint);
/* Renews the lease when due; on a lapse drops every in-memory copy. */
void dtx_lease_tick(dtx_coord_t *co, int64_t now_ms);

/* --- txntable.c --- */
dtx_txntable_t *dtx_txntable_new(void);
void dtx_txntable_destroy(dtx_txntable_t **self_p);
dtx_txn_t *dtx_txn_find(dtx_coord_t *co, const char *gid);
dtx_txn_t *dtx_txn_create(dtx_coord_t *co, const char *gid);  /* inserted; NULL on ENOMEM */
dtx_branch_t *dtx_txn_add_branch(dtx_txn_t *txn, uint32_t no);  /* NULL on ENOMEM */
dtx_branch_t *dtx_txn_branch(dtx_txn_t *txn, uint32_t no);
/* Removes txn from the table and heap, answers parked requests with err
 * (when err != 0) and frees it once no callback holds it. */
void dtx_txn_evict(dtx_coord_t *co, dtx_txn_t *txn, int err, const char *why);
void dtx_txn_ref(dtx_txn_t *txn);
/* Drops a reference; returns 1 when txn is still usable (not evicted). */
int  dtx_txn_unref(dtx_txn_t *txn);
size_t dtx_txn_count(dtx_coord_t *co);
/* Payload bytes held in memory by every transaction (branches and parked
 * TRYs); txn's own count is txn->payload_bytes. */
int64_t dtx_txn_payload_total(dtx_coord_t *co);
/* Adds (or with a negative n, releases) payload bytes held by txn. */
void dtx_txn_payload_add(dtx_coord_t *co, dtx_txn_t *txn, int64_t n);
void dtx_txn_each(dtx_coord_t *co, void (*fn)(dtx_coord_t *, dtx_txn_t *, void *), void *arg);
/* Timer heap keyed by txn->due_ms. */
void dtx_timer_set(dtx_coord_t *co, dtx_txn_t *txn, int64_t due_ms);  /* 0 = cancel */
dtx_txn_t *dtx_timer_due(dtx_coord_t *co, int64_t now_ms);   /* pops one due txn */
int64_t dtx_timer_next(dtx_coord_t *co);                     /* earliest due, or -1 */

/* A write context: what a store callback needs, pooled. */
typedef struct dtx_wctx {
    struct dtx_wctx *next;   /* free list */
    dtx_coord_t *co;
    dtx_txn_t   *txn;        /* referenced (dtx_txn_ref) */
    uint32_t     branch;     /* branch number, 0 when none */
    int          kind;       /* caller-defined */
    int          arg;        /* caller-defined */
    dtx_peer_t   peer;       /* who to answer, when has_peer */
    int          has_peer;
    dtx_request_t *req;      /* owned request data (TRY), freed by the callback */
} dtx_wctx_t;
dtx_wctx_t *dtx_wctx_get(dtx_coord_t *co, dtx_txn_t *txn);  /* refs txn */
/* Releases ctx (unrefs its txn); returns 1 when ctx->txn is still usable. */
int dtx_wctx_put(dtx_wctx_t *ctx);

#endif
