/*
 * gw_config.h — the gateway's JSON configuration: parsed, checked and
 * turned into plain structs. Nothing here runs; gw_runtime.c builds the
 * live objects from a dtx_gw_config_t.
 *
 * Every error names the field that is wrong with its JSON path, e.g.
 *   routes[1].rules[0]: no rule named "per-ip"
 * The document format, with every field and its default, is in
 * docs/gateway.md.
 */
#ifndef DTX_GW_CONFIG_H
#define DTX_GW_CONFIG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/gw_addr.h"
#include "core/gw_apikey.h"
#include "core/gw_jwks.h"
#include "core/gw_jwt.h"

#include "limits/gw_adaptive.h"
#include "limits/gw_breaker.h"

#define DTX_GW_ERR_SIZE 512

#define DTX_GW_DTXD_POLL_MS_DEFAULT 500   /* dtxd.poll_ms */
#define DTX_GW_DTXD_STALE_MS_FLOOR  2000  /* dtxd.stale_ms default: 4 x poll_ms, at least this */

/* A set of HTTP statuses (100..599). */
typedef struct dtx_gw_statuses {
    uint64_t bits[8];
} dtx_gw_statuses_t;

int  dtx_gw_statuses_has(const dtx_gw_statuses_t *set, int status);
void dtx_gw_statuses_add(dtx_gw_statuses_t *set, int lo, int hi);

typedef enum { DTX_GW_LB_ROUND_ROBIN, DTX_GW_LB_WEIGHTED, DTX_GW_LB_LEAST_INFLIGHT,
               DTX_GW_LB_HASH } dtx_gw_lb_kind_t;

typedef struct dtx_gw_target_cfg {
    char         *url;      /* http://host:port[/base] or zmq+tcp://host:port */
    int           weight;   /* >= 1 */
    dtx_gw_addr_t addr;     /* url split and resolved at load */
    char         *zone;     /* its zone, or NULL (gw_zone.h) */
} dtx_gw_target_cfg_t;

/* One source of a pool's "discovery" array (gw_config_discovery.h). */
typedef enum { DTX_GW_DISC_FILE, DTX_GW_DISC_DNS_A, DTX_GW_DISC_DNS_AAAA,
               DTX_GW_DISC_DNS_SRV } dtx_gw_disc_kind_t;

#define DTX_GW_DISC_FILE_CHECK_MS   1000    /* file: how often its mtime/size is looked at */
#define DTX_GW_DISC_MIN_REFRESH_MS  1000    /* dns: floor of the re-resolution interval */
#define DTX_GW_DISC_MAX_REFRESH_MS  300000  /* dns: ceiling */

/* One source of a pool's "discovery" array. */
struct dtx_gw_discovery_cfg {
    dtx_gw_disc_kind_t kind;
    char   *file;              /* file: its path */
    int64_t check_ms;          /* file: look for a change this often */
    char   *name;              /* dns: the name queried */
    int     port;              /* dns A/AAAA: the targets' port (SRV brings its own) */
    int     weight;            /* dns A/AAAA: each address's weight (SRV: its weight field) */
    char   *zone;              /* dns: the zone of its targets, or NULL */
    char   *resolver;          /* dns: "IPv4:port" of the DNS server, NULL: resolv.conf */
    int64_t min_refresh_ms;    /* dns: re-resolve no sooner than this after a TTL... */
    int64_t max_refresh_ms;    /* ...and no later than this */
    int     first, count;      /* its targets in the pool's targets after the load's read */
    int64_t first_refresh_ms;  /* when the load's read said to look again */
};
typedef struct dtx_gw_discovery_cfg dtx_gw_discovery_cfg_t;


typedef struct dtx_gw_pool_cfg {
    char               *name;
    dtx_gw_lb_kind_t    lb;
    char               *hash_header;       /* lb "hash": header hashed */
    dtx_gw_target_cfg_t *targets;
    int                 ntargets;
    int64_t             connect_timeout_ms;
    int64_t             timeout_ms;        /* whole upstream call */
    int                 retries;           /* other targets tried after a failed connect */
    /* active health check (health_path NULL: off) */
    char               *health_path;
    int64_t             health_interval_ms;
    int64_t             health_timeout_ms;
    int                 healthy_after;     /* successes to mark healthy */
    int                 unhealthy_after;   /* failures to mark unhealthy */
    /* passive ejection (0: off) */
    int                 eject_consecutive_5xx;
    int                 eject_consecutive_connect;
    int64_t             eject_base_ms;     /* first ejection; doubles each time */
    int64_t             eject_max_ms;
    int                 eject_max_percent; /* share of targets ejected at most */
    char               *sig;               /* canonical JSON: identity for reuse */
    /* discovery (gw_config_discovery.h): targets[0..nstatic) are the
     * static ones, the rest the sources' first read */
    int                 nstatic;
    struct dtx_gw_discovery_cfg *discovery;
    int                 ndiscovery;
    int                 overprovision_pct; /* zones: Envoy's overprovisioning factor x 100 */
    int                 zmq;               /* targets are zmq+tcp:// (gw_config_zmq.h) */
} dtx_gw_pool_cfg_t;

typedef enum { DTX_GW_RULE_RATE, DTX_GW_RULE_CONCURRENCY, DTX_GW_RULE_BREAKER,
               DTX_GW_RULE_ADAPTIVE } dtx_gw_rule_kind_t;
typedef enum { DTX_GW_ALG_LEAKY, DTX_GW_ALG_TOKEN, DTX_GW_ALG_WARMUP,
               DTX_GW_ALG_QUEUE } dtx_gw_rate_alg_t;
typedef enum { DTX_GW_KEY_GLOBAL, DTX_GW_KEY_ROUTE, DTX_GW_KEY_CLIENT_IP,
               DTX_GW_KEY_HEADER, DTX_GW_KEY_CONSUMER } dtx_gw_key_kind_t;

typedef struct dtx_gw_rule_cfg {
    char              *name;
    dtx_gw_rule_kind_t kind;
    dtx_gw_key_kind_t  key;
    char              *key_header;     /* key "header:NAME" */
    size_t             max_keys;
    /* rate */
    dtx_gw_rate_alg_t  algorithm;
    double             rate;           /* requests per `per_s` seconds */
    int                per_s;          /* 1 ("s") or 60 ("m") */
    int64_t            burst;
    int64_t            delay;          /* leaky: delay=N */
    int                nodelay;
    int64_t            warm_up_ms;
    int                cold_factor;
    int64_t            max_wait_ms;    /* queue / concurrency wait */
    /* concurrency */
    int                max;
    int                queue;
    /* breaker */
    dtx_gw_breaker_params_t breaker;
    dtx_gw_statuses_t  failure_statuses;
    /* adaptive */
    dtx_gw_signal_kind_t signal;
    dtx_gw_gradient_params_t gradient;
    int64_t            dtxd_max_inflight;
    int                cluster;        /* scope "cluster": shared through Redis (gw_cluster.h) */
    char              *sig;
} dtx_gw_rule_cfg_t;

/* The "cluster" section (gw_config_cluster.c): the Redis that holds the
 * shared state of rules with scope "cluster". */
typedef struct dtx_gw_cluster_cfg {
    char   *redis;              /* "host:port", or a unix socket path ("unix:" prefix optional) */
    char   *username;           /* ACL user, or NULL */
    char   *password;           /* a secret (never logged), or NULL */
    char   *key_prefix;         /* prepended to every key */
    char   *instance;           /* this gateway's id (default host:pid) */
    int64_t connect_timeout_ms;
    int64_t timeout_ms;         /* one round trip; longer = Redis unreachable */
    int64_t retry_ms;           /* between reconnection attempts */
    int64_t sync_ms;            /* the sync thread's period */
    int64_t slice_ms;           /* a rate slice = rate x slice_ms */
    int64_t idle_ms;            /* unused slices and spare slots go back after this */
    int64_t lease_ms;           /* concurrency leases and instance heartbeats expire after this */
    int64_t heartbeat_ms;       /* instance heartbeat period */
    int     fail_closed;        /* 1: refuse when Redis is unreachable; 0: local share */
    char   *sig;                /* canonical JSON (restart needed when it changes) */
} dtx_gw_cluster_cfg_t;

typedef enum { DTX_GW_JSON_ANY, DTX_GW_JSON_STRING, DTX_GW_JSON_NUMBER, DTX_GW_JSON_INTEGER,
               DTX_GW_JSON_BOOLEAN, DTX_GW_JSON_OBJECT, DTX_GW_JSON_ARRAY } dtx_gw_json_type_t;

typedef struct dtx_gw_json_field {
    char              *name;   /* top-level member name */
    dtx_gw_json_type_t type;
} dtx_gw_json_field_t;

typedef struct dtx_gw_split {
    char *pool;
    int   weight;
} dtx_gw_split_t;

/* Header edits of a transform: remove these names, then set (replace)
 * and add; values are templates (core/gw_vars.h). */
typedef struct dtx_gw_header_edits {
    char **remove;
    int    nremove;
    char **set_names, **set_values;
    int    nset;
    char **add_names, **add_values;
    int    nadd;
} dtx_gw_header_edits_t;

/* A route's "transform" (gw_config_transform.c). */
typedef struct dtx_gw_transform_cfg {
    dtx_gw_header_edits_t request;     /* headers sent upstream */
    dtx_gw_header_edits_t response;    /* headers sent to the client */
    char  *path_prefix;                /* rewrite: this prefix of the path ... */
    char  *path_regex;                 /* ... or this POSIX extended regex ... */
    void  *path_re;                    /* (regex_t *) compiled */
    char  *path_replace;               /* ... becomes this (\1..\9 with a regex) */
    char **json_fields;                /* answer JSON: top-level fields kept or dropped */
    int    njson_fields;
    int    json_keep;                  /* 1 keep the listed, 0 drop them */
} dtx_gw_transform_cfg_t;

/* A route's "cache" (gw_config_cache.c; docs/gateway.md "Caching"). */
typedef struct dtx_gw_cache_cfg {
    int64_t ttl_s;             /* freshness when the answer gives none (0: not stored) */
    int64_t max_ttl_s;         /* freshness never longer than this */
    int64_t stale_if_error_s;  /* served stale on error / breaker this long after expiry */
    int64_t max_bytes;         /* the route's store */
    int64_t max_object_bytes;  /* larger answers are not stored */
    dtx_gw_statuses_t statuses;/* answer statuses stored */
    int     authorized;        /* requests with Authorization are cached too */
    int     coalesce;          /* concurrent misses of a key make one upstream call */
    int64_t lock_timeout_ms;   /* a coalesced miss waits this long for the fill, then goes
                                  upstream and stores nothing (0: until the fill ends) */
    char   *sig;               /* canonical JSON of the whole route (store identity) */
} dtx_gw_cache_cfg_t;

/* One step of a saga route's plan (gw_config_txn.c). */
typedef struct dtx_gw_saga_step_cfg {
    char *resource;       /* participant resource */
    char *action;         /* the action's op name */
    char *compensation;   /* the compensation's op name; NULL only for the pivot */
    int   pivot;          /* non-compensable: forward only once it is done */
    int  *after;          /* 1-based numbers of earlier steps it waits for */
    int   nafter;
    char *payload;        /* JSON template (text), or NULL: the request body as sent */
} dtx_gw_saga_step_cfg_t;

/* A saga route's "transaction" beyond mode and timeout_ms; or a run
 * route's branches (steps without compensation, pivot or after). */
typedef struct dtx_gw_saga_cfg {
    dtx_gw_saga_step_cfg_t *steps;
    int     nsteps;
    int     concurrent;   /* some step has "after": a concurrent plan */
    int64_t wait_ms;      /* how long the gateway waits for the outcome */
} dtx_gw_saga_cfg_t;

#define DTX_GW_TXN_TCC  1   /* BEGIN at the edge, COMMIT/ROLLBACK by the answer */
#define DTX_GW_TXN_SAGA 2   /* a Saga plan submitted; the gateway answers itself */
#define DTX_GW_TXN_RUN  3   /* mode "tcc" with branches: one TCC_RUN; the gateway answers */

typedef struct dtx_gw_route_cfg {
    char   *name;
    char  **methods;        /* empty: any */
    int     nmethods;
    char   *host;           /* NULL: any (compared without port, case-insensitive) */
    char   *path;           /* exact path, or */
    char   *prefix;         /* path prefix ("/" matches all) */
    int     path_case_insensitive; /* path/prefix compared ignoring ASCII case */
    dtx_gw_split_t *split;  /* one entry for a plain "pool"; none on a saga route */
    int     nsplit;
    char   *backup_pool;
    char  **rules;
    int     nrules;
    int64_t timeout_ms;     /* 0: the pool's */
    /* validation */
    int64_t max_body;
    char  **required_headers;
    int     nrequired_headers;
    char  **content_types;
    int     ncontent_types;
    dtx_gw_json_field_t *json_fields;
    int     njson_fields;
    /* degradation: fallback_status > 0 (static) or fallback_pool */
    int     fallback_status;
    char   *fallback_body;
    char   *fallback_content_type;
    char   *fallback_pool;
    /* transaction */
    int     transactional;  /* DTX_GW_TXN_TCC, _SAGA or _RUN; 0: none */
    int64_t txn_timeout_ms;
    dtx_gw_statuses_t commit_on;          /* tcc */
    dtx_gw_saga_cfg_t *saga;              /* saga: the plan; run: the branches; else NULL */
    /* identity ("auth", gw_config_auth.c): auth 0: none */
    int     auth;
    int     api_key;        /* API keys accepted */
    char   *key_header;     /* taken from this header, or NULL */
    char   *key_query;      /* or this query parameter, or NULL */
    int     key_strip;      /* the key is not forwarded upstream */
    char  **jwt;            /* names of "jwt" verifiers accepted */
    int    *jwt_index;      /* their index in cfg->jwts */
    int     njwt;
    dtx_gw_transform_cfg_t *transform;  /* NULL: none */
    dtx_gw_cache_cfg_t *cache;          /* NULL: none */
} dtx_gw_route_cfg_t;

/* A consumer: who calls (gw_config_auth.c). */
typedef struct dtx_gw_consumer_cfg {
    char  *name;
    char **routes;          /* allow-list of route names */
    int    nroutes;
    int    any_route;       /* no "routes" given: every route with auth */
} dtx_gw_consumer_cfg_t;

/* A JWT verifier: its keys and the claims it checks. */
typedef struct dtx_gw_jwt_cfg {
    char                *name;
    char                *issuer;     /* NULL: not checked */
    char                *audience;   /* NULL: not checked */
    char                *claim;      /* names the consumer ("sub") */
    int64_t              leeway_s;
    dtx_gw_jwt_keyset_t *keys;       /* a secret or a PEM key, or */
    dtx_gw_jwks_t       *jwks;       /* a JWKS file re-read on change */
} dtx_gw_jwt_cfg_t;

#define DTX_GW_SERVER_ENGINE_DEFAULT (-1) /* not given: the server's default */
#define DTX_GW_SERVER_ENGINE_NATIVE 0  /* "native": the gateway's own HTTP/1.1 */
#define DTX_GW_SERVER_ENGINE_MHD    1  /* "mhd": libmicrohttpd */

typedef struct dtx_gw_config {
    char   *listen;           /* "host:port" of the proxy */
    char   *zone;             /* the gateway's own zone, or NULL (gw_zone.h) */
    char   *admin_listen;     /* "host:port" of the admin API */
    char   *admin_token;      /* NULL: config endpoints refuse every call */
    char   *dtxd_endpoint;    /* NULL: no transactional route allowed */
    int64_t dtxd_timeout_ms;  /* SDK calls, and the cap of one /metrics fetch */
    char   *dtxd_admin;       /* dtxd's admin API base URL; NULL: no dtxd_inflight rule allowed */
    char   *dtxd_admin_token; /* bearer token for it (a secret: never logged), or NULL */
    char   *dtxd_admin_cacert;/* PEM CA file for an https admin URL, or NULL */
    int64_t dtxd_poll_ms;     /* interval between /metrics fetches */
    int64_t dtxd_stale_ms;    /* a reading older than this is ignored (fail open) */
    /* "server" (gw_config_server.c): the front's engine and the native
     * engine's limits; read at start only (a live swap keeps the first). */
    int     server_engine;    /* DTX_GW_SERVER_ENGINE_* */
    int64_t server_header_timeout_ms;
    int64_t server_body_timeout_ms;
    int64_t server_idle_timeout_ms;
    int64_t server_send_timeout_ms;
    int64_t server_max_head;
    int64_t max_body;         /* default for routes */
    dtx_gw_pool_cfg_t  *pools;
    int                 npools;
    dtx_gw_rule_cfg_t  *rules;
    int                 nrules;
    dtx_gw_route_cfg_t *routes;
    int                 nroutes;
    /* identity (gw_config_auth.c) */
    char               *consumer_header;  /* set to the consumer upstream; client copies dropped */
    int64_t             jwks_check_ms;
    dtx_gw_consumer_cfg_t *consumers;
    int                 nconsumers;
    dtx_gw_apikey_t    *apikeys;          /* sorted by digest */
    int                 napikeys;
    dtx_gw_jwt_cfg_t   *jwts;
    int                 njwts;
    dtx_gw_cluster_cfg_t *cluster;        /* NULL: no "cluster" section */
    char               *text; /* the document as loaded (pretty JSON) */
    atomic_int          extra_owners; /* dtx_gw_config_share: owners besides the first */
} dtx_gw_config_t;

/* Drops an owner's hold; the last one frees it. Sets *self_p to NULL. */
void dtx_gw_config_destroy(dtx_gw_config_t **self_p);
/* One more owner (a generation rebuilt from the same document when
 * discovered targets change): each calls _destroy. Returns self. */
dtx_gw_config_t *dtx_gw_config_share(dtx_gw_config_t *self);


/* Index of the named pool / rule, or -1. */
int dtx_gw_config_pool_index(const dtx_gw_config_t *self, const char *name);
int dtx_gw_config_rule_index(const dtx_gw_config_t *self, const char *name);
int dtx_gw_config_consumer_index(const dtx_gw_config_t *self, const char *name);
/* 1 when an adaptive rule of self uses signal dtxd_inflight (self may be
 * NULL: 0). */
int dtx_gw_config_uses_dtxd_inflight(const dtx_gw_config_t *self);

#define DTX_GW_DTXD_TOKEN_MAX 1000  /* longest token sent (characters) */

/* 1 when token can go in an Authorization header: 1..DTX_GW_DTXD_TOKEN_MAX
 * printable ASCII characters, no space. */
int dtx_gw_dtxd_token_ok(const char *token);

/* Reads a token file the way dtxctl --token-file does: the first line that
 * is neither blank nor a # comment; from "name:token" the token. 0 with the
 * token in out, or DTX_EIO (cannot read) / DTX_EINVAL (no token, longer
 * than cap - 1, or not dtx_gw_dtxd_token_ok) with a message in err that
 * never holds the file's text. */
int dtx_gw_dtxd_token_load(const char *path, char *out, size_t cap, char *err, size_t errlen);

/* Overwrites n bytes at p with zeros (a secret no longer needed); the
 * compiler does not drop it. */
void dtx_gw_token_wipe(void *p, size_t n);

#endif
