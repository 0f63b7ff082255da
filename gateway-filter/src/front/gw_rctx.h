/*
 * gw_rctx.h — a request's context: what its state machine (gw_request.c)
 * and the making of its answer (gw_answer.c) share, and nothing else
 * includes. Not an interface: both files see every field. The phases and
 * what each field means for them are gw_request.c's.
 */
#ifndef DTX_GW_RCTX_H
#define DTX_GW_RCTX_H

#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/gw_offload.h"
#include "dtx/heap.h"
#include "filters/gw_filters.h"
#include "front/gw_front.h"
#include "front/gw_server_int.h"
#include "upstream/gw_proxy.h"

#define DTX_GW_RCTX_TEXT 512  /* a context's room for its uri and path */

typedef struct dtx_gw_rctx {
    dtx_gw_job_t            job;         /* first: container of the offload job */
    dtx_gw_server_t        *server;
    dtx_gw_worker_t        *worker;
    const dtx_gw_front_ops_t *ops;       /* its connection (gw_front.h) */
    void                   *conn;
    dtx_gw_req_t            req;
    char                   *uri;         /* raw request target (in text, or malloc'ed) */
    char                   *path;        /* normalised path (req.path: in text, or
                                            malloc'ed), or NULL */
    char                    client_ip[INET6_ADDRSTRLEN];
    int                     phase;
    int                     started;
    int                     job_kind;    /* S_HEAD, S_BODY, S_RESPONSE or S_JOB_DONE */
    int                     verdict;     /* of the last head/body hooks */
    int                     replied;     /* a local answer is set */
    int                     overflow;    /* body over max_body */
    int                     deferred;    /* local answer to send on the last call */
    int                     up_failed;   /* 1: no answer, 2: answer incomplete */
    int                     buffered;    /* the answer is sent from memory */
    int                     reply_before;/* reply status before on_response */
    int                     streaming;   /* the request body streams upstream */
    int64_t                 streamed;    /* body bytes handed to the call */
    int                     stream_end;  /* S_STREAM_*: the rest of the body is dropped */
    int                     up_waiting;  /* suspended until the call's `ready` */
    size_t                  body_cap;
    dtx_gw_upstream_t      *up;
    dtx_heap_node_t         wait_deadline; /* in worker->cache_waits while parked */
    struct dtx_gw_rctx     *spare_next;  /* in worker->spare once ended */
    /* last, not zeroed: room for the uri and its normalised path when they
     * fit (the usual request: no malloc for either) */
    char                    text[DTX_GW_RCTX_TEXT];
} dtx_gw_rctx_t;

/* A new context for a request of w (on w's thread), zeroed but for the
 * reply's header slots (read only below reply.nheaders, so written first)
 * and text (written before it is read):
 * one w kept when an earlier request ended, else a malloc (3 KB: beyond
 * glibc's per-thread cache, so its malloc and free cost the bins). NULL
 * when out of memory. */
dtx_gw_rctx_t *dtx_gw_rctx_alloc(dtx_gw_worker_t *w);
/* The context's memory, its request over: kept by its worker for the next
 * request when on_worker (the caller runs on the worker's thread, or the
 * worker's loop has ended) and it keeps fewer than a few, else freed. */
void dtx_gw_rctx_release(dtx_gw_rctx_t *c, int on_worker);
/* Frees the contexts w keeps (w's loop has ended). */
void dtx_gw_rctx_spares_free(dtx_gw_worker_t *w);

/* Suspends / resumes c's connection, counted: the server may only stop
 * once none is suspended (libmicrohttpd aborts otherwise). _resume is for
 * the worker's own thread; _resume_async for any other (it wakes the
 * worker). */
void dtx_gw_rctx_suspend(dtx_gw_rctx_t *c);
void dtx_gw_rctx_resume(dtx_gw_rctx_t *c);
void dtx_gw_rctx_resume_async(dtx_gw_rctx_t *c);

/* The request's header `name` (any case), or NULL; ctx is the context
 * (dtx_gw_req_t.header of the filters). */
const char *dtx_gw_rctx_header(void *ctx, const char *name);
/* Each request header to fn (dtx_gw_req_t.each_header). */
void dtx_gw_rctx_each_header(void *ctx, dtx_gw_header_visit_fn fn, void *arg);

#endif
