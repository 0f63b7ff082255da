/*
 * coord.h — the coordinator's context: its configuration, who sent a
 * message, and the state every engine module reaches through `co`.
 *
 * One thread runs everything (the event loop, loop.c), so nothing here
 * is locked. The modules and their folders: coordinator/README.md.
 */
#ifndef DTX_COORD_COORD_H
#define DTX_COORD_COORD_H

#include <stdint.h>

#include "dtx/config.h"
#include "dtx/hashtab.h"
#include "dtx/proto.h"
#include "core/metrics.h"
#include "core/registry.h"
#include "log/store.h"
#include "core/txntable.h"

/* Configuration (coordinator/config.c lists every option). */
typedef struct dtx_coord_config {
    char    db[DTX_OPT_STRMAX];            /* libpq conninfo of the log */
    char    listen[DTX_OPT_STRMAX];        /* ZeroMQ endpoint to bind */
    char    endpoint_file[DTX_OPT_STRMAX]; /* where to write the bound endpoint */
    char    node_id[DTX_OPT_STRMAX];       /* this instance's name */
    char    cell[DTX_OPT_STRMAX];          /* this log's cell: gids begin "CELL:" ("" none) */
    char    log_level[DTX_OPT_STRMAX];
    char    log_format[DTX_OPT_STRMAX];    /* "text" or "json" (dtx_log_format_handler) */
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
    char    retention[DTX_OPT_STRMAX];     /* --retention as given ("7d"; "0" keeps forever) */
    int64_t retention_ms;                  /* the same in ms; 0: finished transactions stay */
    int64_t retention_interval_ms;         /* how often a retention run starts */
    char    fault[DTX_OPT_STRMAX];         /* test-only fault injection (fault.h) */
    int     migrate_only;                  /* apply migrations and exit */
    int64_t db_wait_ms;                    /* at start, wait this long for the log (0: forever) */
    char    http_listen[DTX_OPT_STRMAX];   /* admin HTTP host:port, or "off" (admin_http.h) */
    char    http_url_file[DTX_OPT_STRMAX]; /* where to write the admin URL once listening */
    char    admin_token_file[DTX_OPT_STRMAX]; /* name:token lines (admin_auth.h) */
    int     http_read_token_required;      /* reads need a token too */
    char    http_tls_cert[DTX_OPT_STRMAX]; /* PEM certificate: serve HTTPS */
    char    http_tls_key[DTX_OPT_STRMAX];  /* PEM private key */
    int64_t http_max_body;                 /* request body cap (bytes) */
    int64_t http_request_timeout_s;        /* a whole request must arrive within this */
    int64_t http_per_ip_connections;       /* open admin connections per client address */
    char    admin_allow_host[DTX_OPT_STRMAX]; /* extra Host header names, comma list */
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
    char    bundle_opt[DTX_OPT_STRMAX];    /* --bundle as given: "on" or "off" */
    int     bundle;                        /* 1: PHASEs may go in BUNDLEs, REGISTER_OK says
                                            * tag 2 (protocol.md §20) */
} dtx_coord_config_t;

/* Fills defaults, then loads file/env/flags. 0, 1 (--help) or DTX_ECONFIG
 * with a message in err. */
int dtx_coord_config_load(dtx_coord_config_t *cfg, int argc, char **argv, char *err,
                          size_t errlen);

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

/* Hooks of the initiator side (initiator.c registers them at init): modules
 * below it — the driver, recovery, the lease — reach parked requests
 * through these and never name initiator.c. */
typedef struct dtx_coord_hooks {
    /* Runs the requests parked on txn (its load or decision write is done). */
    void (*replay_parked)(struct dtx_coord *co, dtx_txn_t *txn);
    /* Drops txn from memory because the log may have moved on under it;
     * every request waiting on it gets an exact answer (initiator.h). */
    void (*forget)(struct dtx_coord *co, dtx_txn_t *txn, const char *why);
    /* A Saga's turn: what it runs next (driver_saga.c). */
    void (*saga_drive)(struct dtx_coord *co, dtx_txn_t *txn);
    /* A PHASE_REPLY that counts, to a Saga step's call. */
    void (*saga_reply)(struct dtx_coord *co, dtx_txn_t *txn, dtx_branch_t *br,
                       const dtx_msg_t *msg, int64_t now_ms);
    /* An ACTIVE message's turn (timer, load, resume): its check-back
     * (driver_msg.c). */
    void (*msg_turn)(struct dtx_coord *co, dtx_txn_t *txn, int64_t now_ms);
    /* A PHASE_REPLY that counts, to a message's check-back call. */
    void (*msg_reply)(struct dtx_coord *co, dtx_txn_t *txn, const dtx_msg_t *msg,
                      int64_t now_ms);
    /* Serves a TRY (takes req); set by initiator_try.c, which itself
     * uses initiator.c's helpers (so initiator.c reaches it only here). */
    void (*try_one)(struct dtx_coord *co, dtx_txn_t *txn, dtx_request_t *req);
    /* Serves a TRY_MANY (takes req); set by initiator_multi.c. */
    void (*try_many)(struct dtx_coord *co, dtx_txn_t *txn, dtx_request_t *req);
    /* Receives the answer to one branch of a TRY_MANY (a DTX_PEER_MULTI
     * peer); msg is valid only during the call. */
    void (*multi_reply)(struct dtx_coord *co, uint64_t corr, const dtx_msg_t *msg);
    /* txn leaves memory (outbox.c's drop, the one place it does; err: the
     * drop's, 0 none): set by recovery.c, which then knows when its row
     * may be due for the scan. */
    void (*left_memory)(struct dtx_coord *co, const dtx_txn_t *txn, int err);
    /* Handles an initiator message as if it had just arrived (set by
     * loop.c to initiator_handle.c's entry): a TCC_RUN's repeat found by
     * its write (initiator_multi.c) goes on as the COMMIT it is. */
    void (*initiator_request)(struct dtx_coord *co, const dtx_peer_t *peer,
                              const dtx_ident_t *id, const dtx_msg_t *msg);
} dtx_coord_hooks_t;

/* Counters for logs, tests and the benchmark. */
typedef struct dtx_coord_stats {
    uint64_t begun, committed, aborted, phase_sent, phase_retries, send_failures, bad_messages;
    uint64_t ignored_replies;              /* PHASE_REPLYs that matched no call sent */
    uint64_t bundles_sent, bundle_frames_sent; /* BUNDLEs of PHASEs and the PHASEs in them */
    uint64_t bundles_received, bundle_frames_received; /* BUNDLEs of PHASE_REPLYs, entries */
    uint64_t bundle_lost_frames;           /* PHASEs of BUNDLEs whose send failed */
    /* Transactions finished here by mode (DTX_MODE_TCC..DTX_MODE_MSG, 0 unused) and
     * outcome (0 committed, 1 aborted: a Saga compensated, a message dropped). */
    uint64_t finished[DTX_MODE_MSG + 1][2];
} dtx_coord_stats_t;

typedef struct dtx_coord {
    dtx_coord_config_t  cfg;
    void               *zctx;
    void               *router;
    dtx_store_t        *store;
    dtx_registry_t     *registry;
    dtx_txntable_t     *txns;
    uint8_t            *sendbuf;           /* DTX_MSG_MAX bytes, reused */
    struct dtx_outq    *outq;              /* BUNDLEs pending this loop turn (outbox.c) */
    uint64_t            router_calls;      /* sends on router (outbox.c): loop.c's readiness
                                            * bookkeeping (any call may take its commands) */
    volatile int        stop;
    int                 exit_code;         /* set when the loop stops on a failure */
    int64_t             epoch;             /* this node's lease epoch */
    char                epoch_str[24];     /* the same, as a statement parameter */
    int64_t             lease_valid_ms;    /* monotonic: lease surely held until then */
    int                 log_sync_replication; /* at start: 1 the log's primary waits for a
                                               * synchronous standby, 0 not (docs/ha.md) */
    int64_t             lapse_dropped_ms;  /* monotonic: when a lapse last dropped memory */
    int64_t             next_renew_ms;
    int                 renew_inflight;
    int                 scan_inflight;     /* recovery statements on their way (recovery.c) */
    int64_t             next_scan_ms;
    struct {                               /* when the scans' index walks run (recovery.c) */
        int      own_due;                  /* the own scan runs next round */
        int64_t  own_until_ms;             /* monotonic: ...and every round until then */
        int      orphans_due;              /* a claim must run whatever the nodes look like */
        uint64_t nodes_seen;               /* hash of DTX_SQL_NODES at the last complete claim */
        uint64_t nodes_now;                /* the same, read this round */
        int64_t  full_ms;                  /* monotonic: both run then anyway (the safety net) */
    } scan;
    int64_t             next_expire_ms;
    struct {                               /* retention runs (retention.c) */
        int      inflight;                 /* a batch is on its way to the log */
        int64_t  next_ms;                  /* monotonic: next batch; 0 at once */
        int64_t  started_ms;               /* monotonic: this run's first batch; 0 none */
        uint64_t removed, branches, batches; /* this run's counts so far */
    } retain;
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
    dtx_text_t          first_params;      /* a first branch write's array parameters,
                                            * reused (initiator_try.c) */
    dtx_coord_hooks_t   hooks;             /* set by initiator.c at init (saga_*, msg_*: driver_saga.c, driver_msg.c) */
    struct dtx_wctx    *free_wctx;         /* pooled write contexts (wctx.h) */
    dtx_hashtab_t       multi;             /* TRY_MANYs collecting answers, by key (initiator_multi.c) */
    uint64_t            next_multi;        /* key of the next one */
} dtx_coord_t;

#endif
