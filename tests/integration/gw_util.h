/*
 * tests/integration/gw_util.h — helpers for the gateway's integration
 * suites: real gw-upstream and dtx-gateway processes (spawned through the
 * harness, so the runner kills and logs them) and a real HTTP client
 * (libcurl).
 */
#ifndef DTX_TEST_GW_UTIL_H
#define DTX_TEST_GW_UTIL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct gw_proc {
    pid_t pid;
    int   port;        /* proxy port (gateway) or listening port (upstream) */
    int   admin_port;  /* gateway only */
    char  config[1024];/* gateway only: its config file */
} gw_proc_t;

/* Starts $DTX_TEST_TESTBIN/gw-upstream --name name [extra...] (NULL-ended,
 * may be NULL). Returns 0 or -1. */
int gw_upstream_start(gw_proc_t *self, const char *name, const char *const *extra);

/* Writes config (a JSON document; printf-style) to a scratch file and
 * starts $DTX_TEST_BIN/dtx-gateway on free ports. Returns 0 or -1. */
int gw_gateway_start(gw_proc_t *self, const char *logname, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same with extra command-line arguments (NULL-ended, may be NULL). */
int gw_gateway_start_args(gw_proc_t *self, const char *logname, const char *const *extra,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The URL of path on gw's proxy port ("http://127.0.0.1:PORT/path"), in a
 * buffer of its own that the next call overwrites (main thread only). */
const char *gw_at(const gw_proc_t *gw, const char *path);

/* A load: threads that GET path on a gateway, one request after the
 * other, until gw_load_stop(), counting the answers. */
#define GW_LOAD_MAX_THREADS 8
typedef struct gw_load {
    int         port;      /* the gateway's proxy port */
    const char *path;      /* what the threads GET, e.g. "/load" */
    const char *header;    /* one "Name: value" header they send, or NULL */
    atomic_int  stop;      /* set by gw_load_stop() */
    atomic_long ok;        /* answers 200 */
    atomic_long failed;    /* any other answer, or none */
    int         nthreads;
    pthread_t   th[GW_LOAD_MAX_THREADS];
} gw_load_t;

/* Starts threads (1 to GW_LOAD_MAX_THREADS) loading l, whose port, path
 * and header are set (the rest zero). Returns 0 or -1. */
int gw_load_start(gw_load_t *l, int threads);
/* Stops and joins l's threads; l->ok and l->failed are then final. */
void gw_load_stop(gw_load_t *l);

/* A response. */
typedef struct gw_resp {
    long   status;        /* 0 when the request failed */
    char  *body;          /* NUL-terminated, malloc'ed */
    size_t body_len;
    char   headers[32768]; /* raw response header block */
} gw_resp_t;

/* Sends one request. headers: NULL-ended "Name: value" list (may be
 * NULL); body may be NULL. Returns 0 when an answer came (any status). */
int gw_http(gw_resp_t *resp, const char *method, const char *url,
            const char *const *headers, const char *body);
void gw_resp_free(gw_resp_t *resp);

/* Value of header name in resp (copied into out), or NULL. */
const char *gw_resp_header(const gw_resp_t *resp, const char *name, char *out, size_t cap);

/* Requests a gw-upstream has taken (its /_stats: counted when a request
 * arrives, before any delay), or -1. */
long gw_upstream_calls(const gw_proc_t *up);

/* The answer of a route that answers by itself (a saga route, a tcc route
 * with branches): status, its JSON body's "outcome" and "gid", and the
 * Dtx-Gid header ("" when absent). */
typedef struct gw_outcome {
    long status;
    char outcome[32];
    char gid[64];      /* the body's */
    char header[64];   /* Dtx-Gid */
    char body[1024];
} gw_outcome_t;

/* POSTs body (JSON) to path on gw; the answer into *a. */
void gw_post_outcome(const gw_proc_t *gw, const char *path, const char *body, gw_outcome_t *a);
/* The same with one more request header ("Name: value"; NULL none). */
void gw_post_outcome_with(const gw_proc_t *gw, const char *path, const char *body,
                          const char *header, gw_outcome_t *a);

/* Value of a Prometheus sample `line_prefix VALUE` from the gateway's
 * /metrics, or -1. */
double gw_metric(const gw_proc_t *gw, const char *line_prefix);

/* Sends a document to the admin API (PUT /config, or POST
 * /config/validate when validate) with the token. Returns the status. */
long gw_admin_put(const gw_proc_t *gw, const char *token, const char *doc, int validate,
                  gw_resp_t *resp);

#endif
