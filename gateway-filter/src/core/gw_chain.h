/*
 * gw_chain.h — the request context and the filter interface.
 *
 * A request passes an ordered chain of filters. Each filter is a small
 * unit with one job and up to four hooks:
 *
 *   on_head      request line and headers known (body not read yet)
 *   on_body      body complete, just before the upstream call
 *   on_response  the answer is known (upstream or local), before it is
 *                sent; may change it (runs in reverse order)
 *   on_done      the request is over: sent, failed or the client went
 *                away; release what was taken (runs in reverse order)
 *
 * on_head / on_body return DTX_GW_NEXT to continue or DTX_GW_REPLY after
 * filling req->reply: the chain stops there and that answer is sent.
 * A filter is "entered" once one of its hooks ran; only entered filters
 * get on_response and on_done, so each undoes exactly what it did.
 *
 * Filters see the request only through dtx_gw_req_t (headers through a
 * lookup callback), so each is tested without sockets. The default chain
 * (gw_filters.c): request id + metrics, route, identity, validation,
 * cache, admission (rate, concurrency, breaker, adaptive), transform,
 * transaction; then the server
 * balances and proxies (gw_proxy.c).
 */
#ifndef DTX_GW_CHAIN_H
#define DTX_GW_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "dtx/types.h"

#define DTX_GW_NEXT  0
#define DTX_GW_REPLY 1

#define DTX_GW_MAX_HOLDS       16  /* admission resources one request holds */
#define DTX_GW_MAX_REPLY_HDRS  8

/* Transport failures of the upstream call (req->upstream_error). */
#define DTX_GW_UPERR_NONE        0
#define DTX_GW_UPERR_CONNECT     1  /* no target could be connected */
#define DTX_GW_UPERR_TIMEOUT     2  /* the upstream did not answer in time */
#define DTX_GW_UPERR_IO          3  /* broken connection, bad answer */
#define DTX_GW_UPERR_CLIENT_GONE 4  /* the client went away first */
#define DTX_GW_UPERR_NO_TARGET   5  /* every target ejected or unhealthy */

struct dtx_gw_runtime;
struct dtx_gw_route;
struct dtx_gw_rule;
struct dtx_gw_pool;
struct dtx_gw_transform_cfg;

typedef const char *(*dtx_gw_header_fn)(void *ctx, const char *name);
typedef void (*dtx_gw_header_visit_fn)(const char *name, const char *value, void *arg);
typedef void (*dtx_gw_each_header_fn)(void *ctx, dtx_gw_header_visit_fn fn, void *arg);

/* A local answer, or headers to add to the upstream's. */
typedef struct dtx_gw_reply {
    int    status;                       /* 0: no local answer */
    char  *body;                         /* malloc'ed, owned by the request */
    size_t body_len;
    char   content_type[64];
    int    nheaders;
    /* Slot i's name is names[i], name_lens[i] bytes without CR or LF (a
     * name with them gets no slot). Its value is values[i]; value_lens[i]
     * is its length when it is known to hold no CR or LF (an integer's
     * digits, dtx_gw_reply_header_int), else -1 and the answer checks it.
     * Who writes values[i] by hand sets value_lens[i] to -1. */
    uint8_t name_lens[DTX_GW_MAX_REPLY_HDRS];
    int16_t value_lens[DTX_GW_MAX_REPLY_HDRS];
    char   names[DTX_GW_MAX_REPLY_HDRS][32];
    char   values[DTX_GW_MAX_REPLY_HDRS][192];
} dtx_gw_reply_t;

/* One admission resource a request holds until on_done. */
typedef struct dtx_gw_hold {
    struct dtx_gw_rule *rule;
    void               *state;      /* pinned per-key state */
    uint64_t            generation; /* breaker ticket */
    int                 probe;      /* breaker ticket */
    int                 in_flight;  /* adaptive: count when admitted */
} dtx_gw_hold_t;

typedef struct dtx_gw_req {
    /* Set by whoever runs the chain. */
    const char *method;
    const char *path;           /* normalised path (core/gw_path.h), no query */
    const char *query;          /* raw query without '?', or NULL */
    const char *host;           /* Host header, or NULL */
    const char *client_ip;
    dtx_gw_header_fn header;    /* header lookup (case-insensitive) */
    dtx_gw_each_header_fn each_header; /* every header in order (for proxying) */
    void       *header_ctx;     /* passed to both */
    int64_t     content_length; /* declared, -1 when unknown */
    const char *refused;        /* why the front refuses the request (400), or NULL */
    char       *body;           /* complete request body (on_body on) */
    size_t      body_len;
    int         body_streaming; /* the body streams upstream: body stays NULL */
    int64_t     start_us;
    struct dtx_gw_runtime *rt;  /* rules in force for this request */

    /* Filled along the chain. */
    char        request_id[40];       /* X-Request-Id to send upstream */
    struct dtx_gw_route *route;
    dtx_gw_hold_t holds[DTX_GW_MAX_HOLDS];
    int         nholds;
    struct dtx_gw_pool *fallback_pool;/* degradation: send here instead */
    char        gid[DTX_GID_SIZE];    /* transactional routes */
    char        traceparent[DTX_TRACEPARENT_SIZE]; /* sent upstream and to BEGIN; "" not yet
                                         (dtx_gw_req_trace fills it) */
    int         trace_restarted;      /* the client's traceparent was absent or invalid */
    int64_t     deadline_ms;          /* epoch ms */
    int         txn_state;            /* 0 none, 1 begun, 2 committed, 3 rolled back */
    int         entered;              /* filters entered */
    /* Identity (filters/gw_auth.c), and what it changes upstream. */
    char        consumer[72];         /* the caller's consumer name, "" when none */
    const char *consumer_header;      /* sent upstream = consumer; client copies always dropped */
    const char *drop_header;          /* a client header not sent upstream (the API key's) */
    char       *query_owned;          /* query without the API key (query points here) */
    /* Transforms (filters/gw_transform.c). */
    const struct dtx_gw_transform_cfg *transform; /* the route's, or NULL */
    char       *path_owned;           /* the rewritten path (path points here) */
    /* Response cache (filters/gw_cache_filter.c): its state, or NULL. */
    struct dtx_gw_cache_req *cache;

    /* The outcome. */
    int         sent;                 /* the upstream call went out */
    int         upstream_status;      /* 0 when none */
    int         upstream_error;       /* DTX_GW_UPERR_* */
    int64_t     upstream_us;          /* duration of the upstream call */
    int         client_gone;
    dtx_gw_reply_t reply;             /* local answer / extra headers */
    int         final_status;         /* status sent to the client */
    const char *rejected_by;          /* rule name when refused */
} dtx_gw_req_t;

typedef struct dtx_gw_filter {
    const char *name;
    int  (*on_head)(dtx_gw_req_t *req);
    int  (*on_body)(dtx_gw_req_t *req);
    void (*on_response)(dtx_gw_req_t *req);
    void (*on_done)(dtx_gw_req_t *req);
} dtx_gw_filter_t;

/* Fills req->traceparent once (later calls keep it): the gateway's span
 * in the request's trace — the client's `traceparent` header when valid
 * (dtx/trace.h dtx_trace_parse: the W3C rules), with a new parent-id (the
 * gateway's span), else a new trace (trace_restarted set: the client's
 * tracestate no longer applies). Returns req->traceparent. */
const char *dtx_gw_req_trace(dtx_gw_req_t *req);

/* Runs the hooks over chain[0..n). head/body return DTX_GW_NEXT or
 * DTX_GW_REPLY (the filter that replied counts as entered). */
int  dtx_gw_chain_head(const dtx_gw_filter_t *const *chain, int n, dtx_gw_req_t *req);
int  dtx_gw_chain_body(const dtx_gw_filter_t *const *chain, int n, dtx_gw_req_t *req);
void dtx_gw_chain_response(const dtx_gw_filter_t *const *chain, int n, dtx_gw_req_t *req);
void dtx_gw_chain_done(const dtx_gw_filter_t *const *chain, int n, dtx_gw_req_t *req);

/* Sets a local answer (body copied; fmt may be NULL for an empty body). */
void dtx_gw_reply_set(dtx_gw_req_t *req, int status, const char *content_type,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Same, body given as bytes (copied). */
void dtx_gw_reply_bytes(dtx_gw_req_t *req, int status, const char *content_type,
                        const char *body, size_t len);
/* Adds a header to the answer, whichever it is (ignored when full, or
 * when the name holds CR or LF), or replaces the value of the one of that
 * name (case-sensitive). */
void dtx_gw_reply_header(dtx_gw_req_t *req, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same, the value a decimal integer, formatted without printf (the rate
 * rules' RateLimit-* headers, set on every request). */
void dtx_gw_reply_header_int(dtx_gw_req_t *req, const char *name, long long value);
/* Frees what the request owns (body, reply body, rewritten query). */
void dtx_gw_req_fini(dtx_gw_req_t *req);

#endif
