/*
 * admin_internal.h — what the admin_*.c modules share: the request, the
 * daemon's context, response helpers and the handlers.
 *
 *   admin_daemon.c   daemon start/stop, listening socket, TLS, loop
 *   admin_conn.c     connections and the deadline of their requests
 *   admin_http.c     the router: headers, body, token, route
 *   admin_request.c  a request and its answer, shared handler helpers
 *   admin_engine.c   the door into the engine and its replies
 *   admin_query.c    parsing list filters into statement parameters (pure)
 *   admin_sql.c      the admin store's statements
 *   admin_read.c     healthz, readyz, overview, list, show, participants
 *   admin_metrics.c  GET /metrics (Prometheus text)
 *   admin_series.c   the last hour per second (GET /api/v1/series)
 *   admin_ops.c      initiator operations over HTTP
 *   admin_actions.c  operator actions, audited
 *   admin_console.c  the embedded web console
 *
 * A request's life: MHD calls s_on_request for its headers (the request
 * is allocated and gets a handle; its route, Host header and token are
 * checked, and a refusal is answered there, before any body), for each
 * body chunk, then once more
 * with nothing: the router runs its handler. A handler answers at once
 * (dtx_admin_respond*) or starts something asynchronous and returns: the
 * connection is then suspended until the answer is set, which resumes it.
 * Asynchronous completions find their request by handle id
 * (dtx_admin_find), never by pointer: a request that is gone (client
 * left, shutdown) makes the completion a no-op.
 */
#ifndef DTX_COORD_ADMIN_INTERNAL_H
#define DTX_COORD_ADMIN_INTERNAL_H

#include <stdint.h>

#include <json-c/json.h>
#include <microhttpd.h>

#include "admin_auth.h"
#include "admin_body.h"
#include "engine/coord.h"

#define DTX_ADMIN_PARTS 6

typedef struct dtx_admin dtx_admin_t;

/* Operator actions. */
enum { DTX_ACT_RETRY = 1, DTX_ACT_FORCE_COMMIT, DTX_ACT_FORCE_ROLLBACK, DTX_ACT_RESUME };

typedef struct dtx_admin_req dtx_admin_req_t;
/* Takes the engine's reply to a request (admin_engine.c). */
typedef void (*dtx_admin_reply_fn)(dtx_admin_req_t *r, const dtx_msg_t *msg);

struct dtx_admin_req {
    uint64_t    handle;                    /* id for asynchronous completions */
    dtx_admin_t *admin;
    struct MHD_Connection *conn;
    char        method[8];
    char        path[256];                 /* URL path without the query */
    char       *body;                      /* request body (NUL-terminated), owned */
    size_t      body_len;
    int         too_big;                   /* body over --http-max-body */
    int         route;                     /* index of its route, -1: none */
    int         keep_body;                 /* its route reads a body: buffer it */
    int         started;                   /* the handler ran */
    int         suspended;
    int         queued;                    /* the answer went to MHD */
    int         status;                    /* > 0: the answer is ready */
    char       *resp;                      /* answer body, owned unless resp_static */
    size_t      resp_len;
    int         resp_static;
    const char *ctype;                     /* answer content type (static) */
    const char *allow;                     /* Allow header of a 405 (static) */
    int64_t     t0;                        /* monotonic ms at arrival */
    const char *actor;                     /* token name, when one was presented */
    dtx_admin_reply_fn on_reply;           /* where the engine's reply goes */
    int         op;                        /* DTX_MSG_* (ops) or DTX_ACT_* (actions) */
    int         step;                      /* handler-defined progress */
    char        gid[DTX_NAME_SIZE];
    char        reason[DTX_ADMIN_REASON_MAX];
    char        operator_name[DTX_ADMIN_OPERATOR_MAX];
    long long   audit_id;
    json_object *parts[DTX_ADMIN_PARTS];   /* partial results of a multi-statement read */
};

/* One client connection, for the deadline of its request. */
typedef struct dtx_admin_conn {
    int     fd;                            /* its socket (MHD owns it) */
    int64_t since_ms;                      /* monotonic ms it began to wait for a request; 0
                                            * while a whole request is being answered */
    int     cut;                           /* shut down for missing its deadline */
    int     linger;                        /* answered before its body was read: its
                                            * socket lingers when MHD closes it */
} dtx_admin_conn_t;

typedef struct dtx_admin_linger dtx_admin_linger_t;

struct dtx_admin {
    dtx_coord_t        *co;
    struct MHD_Daemon  *mhd;
    int                 epoll_fd;
    dtx_store_t        *store;             /* admin reads and audit, one connection */
    dtx_admin_tokens_t *tokens;
    dtx_admin_req_t   **reqs;              /* live requests */
    int                 nreqs;
    int                 capreqs;
    uint64_t            next_handle;
    char                url[160];          /* http(s)://host:port */
    char               *tls_key;
    char               *tls_cert;
    int                 stopping;          /* new requests get 503 */
    dtx_admin_conn_t  **conns;             /* open connections */
    int                 nconns;
    int                 capconns;
    int64_t             next_sample_ms;    /* monotonic: next per-second sample (series) */
    int                 sample_inflight;   /* its stuck count is being read */
    /* MHD_run runs in a turn only when it has work: its epoll descriptor
     * ready, its own timeout (MHD_get_timeout: 0 when a connection has
     * data pending) reached, or a connection resumed (mhd_kick). */
    int64_t             mhd_due_ms;        /* monotonic; INT64_MAX: no timeout */
    int                 mhd_kick;
    int                 linger_epfd;       /* lingering sockets (admin_linger.c) */
    dtx_admin_linger_t *linger;
    int                 nlinger;
};

/* A store callback's context: which request, and one caller value. */
typedef struct dtx_admin_cb {
    dtx_admin_t *admin;
    uint64_t     handle;
    int          arg;
} dtx_admin_cb_t;

/* --- admin_http.c (the router) --- */
/* libmicrohttpd's request callback (admin_daemon.c registers it). */
enum MHD_Result dtx_admin_mhd_request(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls);

/* --- admin_conn.c --- */
/* libmicrohttpd's connection callback (cls: the dtx_admin_t). */
void dtx_admin_conn_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                           enum MHD_ConnectionNotificationCode toe);
/* Marks conn as answering a whole request (busy) or as waiting for the
 * next one (its --http-request-timeout deadline starts now). */
void dtx_admin_conn_busy(struct MHD_Connection *conn, int busy);
/* Shuts down connections past their deadline; returns ms until the next
 * deadline (INT64_MAX: none). */
int64_t dtx_admin_conn_cut_slow(dtx_admin_t *a, int64_t now_ms);
/* The request on conn was answered before its body was read: when
 * libmicrohttpd closes the connection, its socket lingers. */
void dtx_admin_conn_linger(struct MHD_Connection *conn);

/* admin_linger.c: lingering close. init: 0 or DTX_EIO. add: keeps a dup
 * of fd (best effort: at the limit or out of descriptors, nothing). run:
 * drains (readable: the epoll descriptor polled ready), closes what is
 * done; returns the ms until the next deadline (INT64_MAX: none). */
int dtx_admin_linger_init(dtx_admin_t *a);
void dtx_admin_linger_add(dtx_admin_t *a, int fd);
int64_t dtx_admin_linger_run(dtx_admin_t *a, int readable, int64_t now_ms);
void dtx_admin_linger_free(dtx_admin_t *a);
/* Frees every record (after the daemon stopped). */
void dtx_admin_conns_free(dtx_admin_t *a);

/* --- admin_request.c --- */
/* A new request with a fresh handle; NULL on ENOMEM. */
dtx_admin_req_t *dtx_admin_req_new(dtx_admin_t *a, struct MHD_Connection *conn, const char *url,
                                   const char *method);
/* Queues r's answer to libmicrohttpd (once), with the headers every
 * answer carries; counted and logged. */
enum MHD_Result dtx_admin_queue(dtx_admin_req_t *r);
/* libmicrohttpd's completion callback: frees the request. */
void dtx_admin_mhd_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                             enum MHD_RequestTerminationCode toe);
void dtx_admin_req_free(dtx_admin_req_t *r);
dtx_admin_req_t *dtx_admin_find(dtx_admin_t *a, uint64_t handle);
/* Sets the answer (takes body; NULL gives {}), resuming the request when
 * it waits. Later answers to the same request are ignored. */
void dtx_admin_respond(dtx_admin_req_t *r, int status, json_object *body);
void dtx_admin_respond_error(dtx_admin_req_t *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Raw answer: data copied unless is_static (then it must outlive the request). */
void dtx_admin_respond_raw(dtx_admin_req_t *r, int status, const char *ctype, const char *data,
                           size_t len, int is_static);
/* A query-string argument, or NULL. */
const char *dtx_admin_arg(dtx_admin_req_t *r, const char *name);
/* Parses the body as a JSON object; on failure answers 400 and returns NULL.
 * An empty body gives an empty object. The caller puts the result. */
json_object *dtx_admin_body_json(dtx_admin_req_t *r);
/* Submits stmt on the admin store with a callback context for r. */
void dtx_admin_submit(dtx_admin_req_t *r, int stmt, int nparams, const char *const *values,
                      dtx_store_cb cb, int arg);
/* Ends a store callback: frees the context and returns its live request,
 * or NULL when the request is gone. */
dtx_admin_req_t *dtx_admin_cb_take(void *ctx, int *arg);
/* Maps a DTX_E* code to an HTTP status. */
int dtx_admin_http_status(int err);

/* GET /api/v1/series (admin_series.c). */
void dtx_admin_series(dtx_admin_req_t *r);

/* --- admin_sql.c --- */
enum {
    DTX_ASQL_CUSTOM_PLAN,   /* this batch plans with its parameters' values */
    DTX_ASQL_LIST_DESC,     /* state mode resource lo_ex lo_in hi_ex prefix limit */
    DTX_ASQL_LIST_ASC,
    DTX_ASQL_LIST_DESC_ANY, /* the same with states as an array */
    DTX_ASQL_LIST_ASC_ANY,
    DTX_ASQL_COUNTS,        /* since_gid -> state count */
    DTX_ASQL_GLOBAL,        /* gid -> one row */
    DTX_ASQL_BRANCHES,      /* gid */
    DTX_ASQL_ATTEMPTS,      /* gid */
    DTX_ASQL_AUDIT,         /* gid */
    DTX_ASQL_TIMELINE,      /* gid */
    DTX_ASQL_AUDIT_BEGIN,   /* gid action actor operator reason node -> id */
    DTX_ASQL_AUDIT_END,     /* id result detail http_status */
    DTX_ASQL_SCHEMA,        /* -> coordinator schema version */
    DTX_ASQL_STUCK_COUNT,   /* -> stuck transactions (the per-second sample) */
    DTX_ASQL_COUNT
};
extern const dtx_store_stmt_t dtx_admin_sql[DTX_ASQL_COUNT];
/* Columns of DTX_ASQL_GLOBAL. */
enum { DTX_AG_GID, DTX_AG_MODE, DTX_AG_STATE, DTX_AG_DECISION, DTX_AG_BRANCHES, DTX_AG_CREATED,
       DTX_AG_UPDATED, DTX_AG_DEADLINE, DTX_AG_OWNER, DTX_AG_EPOCH, DTX_AG_OWNER_ALIVE,
       DTX_AG_TRYING, DTX_AG_REFUSED, DTX_AG_DECIDED, DTX_AG_STUCK, DTX_AG_FINISHED,
       DTX_AG_TRACEPARENT, DTX_AG_CHECKBACK };

/* --- admin_read.c --- */
void dtx_admin_healthz(dtx_admin_req_t *r);
void dtx_admin_readyz(dtx_admin_req_t *r);
void dtx_admin_overview(dtx_admin_req_t *r);
void dtx_admin_list(dtx_admin_req_t *r);
void dtx_admin_show(dtx_admin_req_t *r);
void dtx_admin_participants(dtx_admin_req_t *r);
/* A DTX_ASQL_GLOBAL row as JSON. */
json_object *dtx_admin_global_json(const PGresult *res, int row);
/* dtx_registry_each callback: counts instances into arg[0] and their calls
 * in flight into arg[1] (arg is int[2]). */
void dtx_admin_count_instances(const char *resource, const dtx_instance_t *in, void *arg);

/* --- admin_metrics.c --- */
void dtx_admin_metrics(dtx_admin_req_t *r);

/* --- admin_engine.c --- */
/* Sends msg to the engine on behalf of r (peer = HTTP, corr = handle); its
 * reply goes to on_reply. */
void dtx_admin_engine(dtx_admin_req_t *r, dtx_msg_t *msg, dtx_admin_reply_fn on_reply);
/* co->http_reply: routes an engine reply to its request. */
void dtx_admin_on_engine_reply(dtx_coord_t *co, uint64_t handle, const dtx_msg_t *msg);

/* --- admin_ops.c --- */
void dtx_admin_op(dtx_admin_req_t *r, int type);   /* DTX_MSG_BEGIN ... STATUS */

/* --- admin_actions.c --- */
void dtx_admin_action(dtx_admin_req_t *r, int action);
/* The engine answered an action's request. */
void dtx_admin_action_reply(dtx_admin_req_t *r, const dtx_msg_t *msg);

/* --- admin_console.c --- */
/* Serves a console file for path; 0, or DTX_ENOTFOUND when there is none. */
int dtx_admin_console(dtx_admin_req_t *r);

#endif
