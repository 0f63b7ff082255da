/*
 * gw_request.c — a request's state machine, driven by its connection's
 * engine (the native one, gw_native.c, or libmicrohttpd's, gw_mhd.c,
 * through gw_request.h): a connection becomes a request for the filter
 * chain, its answer (local, or the upstream's, buffered or streamed) is
 * handed back to the connection (gw_front.h), and the hooks that may
 * block run on the offload pool.
 *
 * Lifecycle of a request (dtx_gw_rctx_t.phase):
 *
 *   NEW ─▶ HEAD ─(body read)─▶ BODY ─▶ UPSTREAM ─▶ RESPONSE ─▶ SENDING ─▶ completed
 *    │      │ refusal: local answer          │ no answer: 502/504 ──┘        (on_done,
 *    │      └───────────────────────────────────────────────────────▶ SENDING  freed)
 *    └─ each of HEAD, BODY, RESPONSE runs its hooks on the worker or, when
 *       they may block, suspended on the offload pool
 *
 *  1. headers complete: the generation in force is taken and on_head
 *     runs (edge, route, validation of headers, admission); a refusal is
 *     answered at once and the body is not read;
 *  2. the body is read into memory (up to the route's max_body: 413);
 *  3. on_body runs (JSON validation, transaction begin), then the
 *     upstream call; a transactional route buffers the whole answer and
 *     on_response runs before it is sent; otherwise a small answer that
 *     came whole is sent from memory and a larger one streams;
 *  4. whatever happened (sent, refused, client gone), on_done runs once
 *     and the context is freed.
 *
 * Threads: a request's context is touched by its worker, or — while its
 * connection is suspended for a blocking hook — by one offload thread;
 * never by both at once (suspend happens before the job is queued, the
 * job's last act is the resume).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "core/gw_addr.h"
#include "filters/gw_cache_filter.h"
#include "filters/gw_rules.h"
#include "core/gw_clock.h"
#include "filters/gw_filters.h"
#include "core/gw_offload.h"
#include "upstream/gw_proxy.h"
#include "front/gw_answer.h"
#include "front/gw_framing.h"
#include "front/gw_rctx.h"
#include "front/gw_request.h"
#include "front/gw_waits.h"
#include "filters/gw_route.h"
#include "filters/gw_transform.h"
#include "front/gw_server_int.h"

#define S_BUFFER_SMALL (64 * 1024)   /* answers this small are sent from memory */
#define S_STREAM_AT    (64 * 1024)   /* request bodies above this stream upstream */
#define S_TXN_MAX_BODY (64 << 20)    /* buffered answer limit on transactional routes */

enum {
    S_NEW,        /* nothing run yet */
    S_HEAD,       /* on_head run (or running offloaded); body being read */
    S_BODY,       /* on_body running offloaded */
    S_UPSTREAM,   /* waiting for the upstream's answer */
    S_RESPONSE,   /* on_response running offloaded */
    S_SENDING,    /* an answer is queued */
    S_CACHE_WAIT  /* parked until another request's cache fill ends */
};

#define S_JOB_DONE 100

#define S_STREAM_FAILED  1           /* the call failed: its error answer at the end */
#define S_STREAM_REFUSED 2           /* a local answer (on_body, max_body) at the end */


/* ---------------- blocking hooks ---------------- */

static void s_finish(dtx_gw_rctx_t *c, int on_worker);

static void s_run_job(dtx_gw_job_t *job)
{
    dtx_gw_rctx_t *c = (dtx_gw_rctx_t *)(void *)job;
    dtx_gw_req_t *req = &c->req;
    switch (c->job_kind) {
    case S_HEAD:
        c->verdict = dtx_gw_chain_head(dtx_gw_default_chain, dtx_gw_default_chain_len, req);
        break;
    case S_BODY:
        c->verdict = dtx_gw_chain_body(dtx_gw_default_chain, dtx_gw_default_chain_len, req);
        break;
    case S_RESPONSE:
        dtx_gw_chain_response(dtx_gw_default_chain, dtx_gw_default_chain_len, req);
        break;
    case S_JOB_DONE:
        s_finish(c, 0);              /* on the pool: its memory is freed */
        return;
    }
    dtx_gw_rctx_resume_async(c);  /* the job's last act: c may be gone after */
}

/* Queues the hooks of `kind` on the offload pool, the connection
 * suspended (but for S_JOB_DONE: the connection is gone). Returns 1 when
 * queued, 0 when the caller must run them itself (no pool: stopping). */
static int s_offload(dtx_gw_rctx_t *c, int kind)
{
    dtx_gw_offload_t *pool = c->server->offload;
    if (!pool)
        return 0;
    c->job_kind = kind;
    c->job.fn = s_run_job;
    if (kind != S_JOB_DONE)
        dtx_gw_rctx_suspend(c);
    if (dtx_gw_offload_submit(pool, &c->job) == 0)
        return 1;
    if (kind != S_JOB_DONE)
        dtx_gw_rctx_resume(c);
    c->job_kind = 0;
    return 0;
}

/* ---------------- the request ---------------- */

dtx_gw_rctx_t *dtx_gw_request_new(dtx_gw_worker_t *w, const dtx_gw_front_ops_t *ops, void *conn,
                                  const char *target)
{
    dtx_gw_rctx_t *c = dtx_gw_rctx_alloc(w);
    if (!c)
        return NULL;
    c->worker = w;
    c->server = w->server;
    c->ops = ops;
    c->conn = conn;
    if (!target)
        target = "/";
    size_t n = strlen(target) + 1;
    c->uri = n <= DTX_GW_RCTX_TEXT / 4 ? c->text : malloc(n);
    if (c->uri)
        memcpy(c->uri, target, n);
    c->req.content_length = -1;
    dtx_heap_node_init(&c->wait_deadline);
    return c;
}

static void s_start(dtx_gw_rctx_t *c, const char *method)
{
    dtx_gw_req_t *req = &c->req;
    c->started = 1;
    atomic_fetch_add(&c->server->in_flight, 1);
    req->start_us = dtx_gw_loop_us();
    req->rt = dtx_gw_current_acquire(c->server->current);
    req->method = method;
    char *q = c->uri ? strchr(c->uri, '?') : NULL;
    if (q) {
        *q = '\0';
        req->query = q + 1;
    }
    req->path = c->uri ? c->uri : "";
    /* the path's room: text after the uri when the uri is there */
    char *room = c->uri == c->text ? c->text + DTX_GW_RCTX_TEXT / 4 : NULL;
    req->refused = dtx_gw_framing_target(req->path, req->query, room,
                                         room ? DTX_GW_RCTX_TEXT - DTX_GW_RCTX_TEXT / 4 : 0,
                                         &c->path);
    req->path = c->path ? c->path : "";
    req->header = dtx_gw_rctx_header;
    req->each_header = dtx_gw_rctx_each_header;
    req->header_ctx = c;
    req->host = dtx_gw_rctx_header(c, "Host");
    c->ops->client_ip(c->conn, c->client_ip, sizeof c->client_ip);
    req->client_ip = c->client_ip;
    const char *cl = dtx_gw_rctx_header(c, "Content-Length");
    if (cl)
        req->content_length = strtoll(cl, NULL, 10);
    if (!req->refused)
        req->refused = dtx_gw_framing_refusal(dtx_gw_rctx_each_header, c);
}

/* After on_head (run here or resumed from the pool). */
static int s_after_head(dtx_gw_rctx_t *c)
{
    dtx_gw_req_t *req = &c->req;
    c->phase = S_HEAD;
    if (c->verdict == DTX_GW_REPLY) {
        c->replied = 1;
        dtx_gw_chain_response(dtx_gw_default_chain, dtx_gw_default_chain_len, req);
        /* With a body on its way, answer now and let the engine close
         * the connection rather than read it; without one, answer on the
         * next call so the connection stays open. */
        if (req->content_length > 0 || dtx_gw_rctx_header(c, "Transfer-Encoding")) {
            c->phase = S_SENDING;
            return dtx_gw_answer_local(c);
        }
        c->deferred = 1;
    }
    return 1;
}

/* on_response, here or on the pool; then s_send_answer. */
static int s_send_answer(dtx_gw_rctx_t *c);

static int s_response(dtx_gw_rctx_t *c)
{
    c->reply_before = c->req.reply.status;
    if (c->req.txn_state == 1) {
        c->phase = S_RESPONSE;
        if (s_offload(c, S_RESPONSE))
            return 1;  /* resumed into S_RESPONSE */
    }
    dtx_gw_chain_response(dtx_gw_default_chain, dtx_gw_default_chain_len, &c->req);
    return s_send_answer(c);
}

static int s_send_answer(dtx_gw_rctx_t *c)
{
    dtx_gw_req_t *req = &c->req;
    c->phase = S_SENDING;
    if (c->up_failed == 1) {
        if (req->client_gone)
            return 0;
        return dtx_gw_answer_local(c);
    }
    if (c->up_failed == 2) {
        if (req->client_gone)
            return 0;
        dtx_gw_reply_set(req, 502, "application/json",
                         "{\"error\":\"upstream answer incomplete\",\"gid\":\"%s\"}\n", req->gid);
        return dtx_gw_answer_local(c);
    }
    if (req->reply.status != c->reply_before && req->reply.status)
        return dtx_gw_answer_local(c);  /* a filter replaced the answer (commit failed) */
    return dtx_gw_answer_upstream(c, c->buffered);
}

/* The upstream call is over, or has its headers (resumed by s_on_ready,
 * or called at once when it failed to start). */
static int s_after_upstream(dtx_gw_rctx_t *c)
{
    dtx_gw_req_t *req = &c->req;
    int txn = req->txn_state == 1;
    if (dtx_gw_upstream_result(c->up) < 0) {
        if (txn && req->upstream_status && !req->client_gone) {
            /* Headers came but the whole answer did not. */
            if (req->upstream_error == DTX_GW_UPERR_NONE)
                req->upstream_error = DTX_GW_UPERR_IO;
            c->up_failed = 2;
            return s_response(c);
        }
        c->up_failed = 1;
        if (!req->client_gone) {
            int timeout = req->upstream_error == DTX_GW_UPERR_TIMEOUT;
            dtx_gw_reply_set(req, timeout ? 504 : 502, "application/json",
                             "{\"error\":\"%s\",\"route\":\"%s\"}\n",
                             timeout ? "upstream timed out"
                             : req->upstream_error == DTX_GW_UPERR_NO_TARGET ? "no upstream available"
                             : req->upstream_error == DTX_GW_UPERR_CONNECT ? "upstream unreachable"
                                                                           : "upstream failed",
                             req->route->cfg->name);
        }
        return s_response(c);
    }
    if (txn || dtx_gw_transform_wants_body(req)) {
        c->buffered = 1;
    } else {
        /* Small answers usually arrive with their headers: send them whole. */
        size_t len;
        dtx_gw_upstream_body(c->up, &len);
        c->buffered = dtx_gw_upstream_complete(c->up) && len <= S_BUFFER_SMALL;
    }
    return s_response(c);
}

/* Where the call goes: the fallback pool a refusal chose, else the
 * route's weighted split with its backup pool; the route's timeout. */
static void s_plan(dtx_gw_req_t *req, dtx_gw_upstream_plan_t *plan)
{
    dtx_gw_route_t *route = req->route;
    plan->pool = req->fallback_pool ? req->fallback_pool : dtx_gw_route_pick_pool(route);
    plan->backup = req->fallback_pool ? NULL : route->backup;
    plan->timeout_ms = route->cfg->timeout_ms;
}

/* The upstream call of c has news (from the worker's dispatch). */
static void s_on_ready(void *arg)
{
    dtx_gw_rctx_t *c = arg;
    if (c->up_waiting) {             /* else: news read when the upload ends */
        c->up_waiting = 0;
        dtx_gw_rctx_resume(c);
    }
}

/* The fill c waited for ended (any thread): back to the worker. */
static void s_cache_woken(void *arg)
{
    dtx_gw_rctx_resume_async(arg);
}

static int s_proxy(dtx_gw_rctx_t *c);

/* Served from the route's cache after a wait: on_response, then out. */
static int s_cache_serve(dtx_gw_rctx_t *c)
{
    c->up_failed = 1;   /* no upstream answer: the local (cached) one */
    return s_response(c);
}

/* Resumed from S_CACHE_WAIT. */
static int s_cache_resumed(dtx_gw_rctx_t *c)
{
    dtx_gw_waits_remove(c);
    switch (dtx_gw_cache_req_unparked(&c->req)) {
    case DTX_GW_CACHE_SERVE:
        return s_cache_serve(c);
    default:
        return s_proxy(c);   /* parks again when another fill is under way */
    }
}

static int s_proxy(dtx_gw_rctx_t *c)
{
    dtx_gw_req_t *req = &c->req;
    if (req->cache) {
        /* Coalescing: another request is fetching this answer. Suspended
         * first, as the fill may end (and resume us) before park returns. */
        dtx_gw_rctx_suspend(c);
        int r = dtx_gw_cache_req_park(req, s_cache_woken, c);
        if (r == DTX_GW_CACHE_PARK) {
            c->phase = S_CACHE_WAIT;
            dtx_gw_waits_add(c);
            return 1;
        }
        dtx_gw_rctx_resume(c);
        if (r == DTX_GW_CACHE_SERVE)
            return s_cache_serve(c);
    }
    int fd = c->ops->client_fd(c->conn);
    c->phase = S_UPSTREAM;
    dtx_gw_upstream_plan_t plan;
    s_plan(req, &plan);
    if (dtx_gw_upstream_start(&c->up, c->worker->upstreams, req, &plan, fd,
                              req->txn_state == 1 || dtx_gw_transform_wants_body(req)
                                  ? (size_t)S_TXN_MAX_BODY : 0, s_on_ready,
                              c) < 0)
        return s_after_upstream(c);
    c->up_waiting = 1;
    dtx_gw_rctx_suspend(c);
    return 1;
}

/* Does this request's body stream upstream rather than being read whole
 * first? When it is large (over S_STREAM_AT, or of unknown length) and
 * nothing needs it whole: no JSON field rule, no transaction to begin. */
static int s_should_stream(const dtx_gw_rctx_t *c)
{
    const dtx_gw_req_t *req = &c->req;
    const dtx_gw_route_cfg_t *rc = req->route ? req->route->cfg : NULL;
    if (!rc || rc->njson_fields > 0 || (rc->transactional && !req->fallback_pool))
        return 0;
    return req->content_length < 0 || req->content_length > S_STREAM_AT;
}

/* A piece of a streamed body (S_HEAD, upload data). Once the call failed
 * or the body was refused, the rest of the upload is read and dropped and
 * the answer goes out when it ends: answering first and closing with
 * unread bytes would make the kernel reset the connection, and the
 * client lose the answer. */
static int s_stream_body(dtx_gw_rctx_t *c, const char *data, size_t *upload_data_size)
{
    dtx_gw_req_t *req = &c->req;
    size_t n = *upload_data_size;
    if (c->stream_end) {
        *upload_data_size = 0;       /* dropped: the answer is decided */
        return 1;
    }
    if (!c->up) {
        /* The first piece: on_body (no body to look at), then the call. */
        req->body_streaming = 1;
        c->verdict = dtx_gw_chain_body(dtx_gw_default_chain, dtx_gw_default_chain_len, req);
        if (c->verdict == DTX_GW_REPLY) {
            c->stream_end = S_STREAM_REFUSED;
            *upload_data_size = 0;
            return 1;
        }
        dtx_gw_upstream_plan_t plan;
        s_plan(req, &plan);
        if (dtx_gw_upstream_start(&c->up, c->worker->upstreams, req, &plan,
                                  c->ops->client_fd(c->conn), 0, s_on_ready, c) < 0) {
            c->stream_end = S_STREAM_FAILED;
            *upload_data_size = 0;
            return 1;
        }
    }
    int64_t max = req->route->cfg->max_body;
    if (max > 0 && c->streamed + (int64_t)n > max) {
        /* A body of unknown length grew past max_body: the call is cut. */
        dtx_gw_upstream_end(&c->up);
        dtx_gw_reply_set(req, 413, "application/json",
                         "{\"error\":\"body too large\",\"max_body\":%lld}\n", (long long)max);
        atomic_fetch_add(&req->route->stats->invalid, 1);
        c->stream_end = S_STREAM_REFUSED;
        *upload_data_size = 0;
        return 1;
    }
    ssize_t w = dtx_gw_upstream_write(c->up, data, n);
    if (w == DTX_GW_UPSTREAM_AGAIN) {
        c->up_waiting = 1;           /* resumed when there is room: the rest again */
        dtx_gw_rctx_suspend(c);
        return 1;
    }
    if (w < 0) {
        c->stream_end = S_STREAM_FAILED;
        *upload_data_size = 0;
        return 1;
    }
    c->streamed += w;
    *upload_data_size = n - (size_t)w;
    return 1;
}

/* The last call of a streamed body: close it, then wait for the answer. */
static int s_stream_end(dtx_gw_rctx_t *c)
{
    c->replied = 1;
    if (c->stream_end == S_STREAM_REFUSED) {
        c->up_failed = 1;            /* the local answer set by a filter or max_body */
        return s_response(c);
    }
    c->phase = S_UPSTREAM;
    if (c->stream_end == S_STREAM_FAILED)
        return s_after_upstream(c);
    if (dtx_gw_upstream_write_end(c->up) == 0 && dtx_gw_upstream_wait(c->up)) {
        c->up_waiting = 1;
        dtx_gw_rctx_suspend(c);
        return 1;
    }
    return s_after_upstream(c);
}

/* After on_body (run here or resumed from the pool). */
static int s_after_body(dtx_gw_rctx_t *c)
{
    if (c->verdict == DTX_GW_REPLY) {
        c->up_failed = 1;  /* the local answer set by the filter */
        return s_response(c);
    }
    return s_proxy(c);
}

int dtx_gw_request_run(dtx_gw_rctx_t *c, const char *method, const char *upload_data,
                       size_t *upload_data_size)
{
    dtx_gw_req_t *req = &c->req;
    if (atomic_load(&c->server->closing))
        return 0;  /* stopping, grace over: close (on_done runs) */
    switch (c->phase) {
    case S_NEW: {
        s_start(c, method);
        if (!req->rt)
            return 0;
        dtx_gw_route_t *route = dtx_gw_route_match(req->rt->routes, req->rt->nroutes, req->method,
                                                   req->host, req->path);
        c->phase = S_HEAD;
        if ((route && dtx_gw_rules_may_block(route->rules, route->nrules)) && s_offload(c, S_HEAD))
            return 1;  /* resumed into S_HEAD with c->verdict */
        c->verdict = dtx_gw_chain_head(dtx_gw_default_chain, dtx_gw_default_chain_len, req);
        return s_after_head(c);
    }
    case S_HEAD:
        if (c->job_kind == S_HEAD) {
            c->job_kind = 0;  /* resumed after the pool ran on_head */
            return s_after_head(c);
        }
        break;
    case S_BODY:
        c->job_kind = 0;
        return s_after_body(c);
    case S_UPSTREAM:
        return s_after_upstream(c);
    case S_RESPONSE:
        c->job_kind = 0;
        return s_send_answer(c);
    case S_CACHE_WAIT:
        return s_cache_resumed(c);
    default:
        return 1;  /* answer already queued */
    }
    /* S_HEAD: the body, then the call. */
    if (*upload_data_size) {
        if (!c->replied && !c->overflow && (c->streaming || (!req->body_len &&
                                                             s_should_stream(c)))) {
            c->streaming = 1;
            return s_stream_body(c, upload_data, upload_data_size);
        }
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (c->replied || c->overflow)
            return 1;
        int64_t max = req->route->cfg->max_body;
        if (max > 0 && (int64_t)(req->body_len + n) > max) {
            c->overflow = 1;
            return 1;
        }
        if (req->body_len + n + 1 > c->body_cap) {
            size_t cap = c->body_cap ? c->body_cap : 4096;
            while (cap < req->body_len + n + 1)
                cap *= 2;
            char *b = realloc(req->body, cap);
            if (!b)
                return 0;
            req->body = b;
            c->body_cap = cap;
        }
        memcpy(req->body + req->body_len, upload_data, n);
        req->body_len += n;
        req->body[req->body_len] = '\0';
        return 1;
    }
    if (c->deferred) {
        c->deferred = 0;
        c->phase = S_SENDING;
        return dtx_gw_answer_local(c);
    }
    if (c->replied)
        return 1;  /* answer already queued */
    if (c->streaming)
        return s_stream_end(c);
    c->replied = 1;
    if (c->overflow) {
        dtx_gw_reply_set(req, 413, "application/json",
                         "{\"error\":\"body too large\",\"max_body\":%lld}\n",
                         (long long)req->route->cfg->max_body);
        atomic_fetch_add(&req->route->stats->invalid, 1);
        c->up_failed = 1;
        return s_response(c);
    }
    if (req->route->cfg->transactional && !req->fallback_pool) {
        c->phase = S_BODY;
        if (s_offload(c, S_BODY))
            return 1;  /* resumed into S_BODY with c->verdict */
    }
    c->verdict = dtx_gw_chain_body(dtx_gw_default_chain, dtx_gw_default_chain_len, req);
    return s_after_body(c);
}

/* on_done and the context's end (on_worker: on its worker's thread, else
 * on the pool). */
static void s_finish(dtx_gw_rctx_t *c, int on_worker)
{
    if (c->started) {
        dtx_gw_chain_done(dtx_gw_default_chain, dtx_gw_default_chain_len, &c->req);
        dtx_gw_runtime_unref(&c->req.rt);
        atomic_fetch_sub(&c->server->in_flight, 1);
    }
    dtx_gw_req_fini(&c->req);
    if (c->uri != c->text)
        free(c->uri);
    if (c->path != c->text + DTX_GW_RCTX_TEXT / 4)
        free(c->path);
    dtx_gw_rctx_release(c, on_worker);
}

void dtx_gw_request_completed(dtx_gw_rctx_t **c_p, int ok)
{
    dtx_gw_rctx_t *c = *c_p;
    *c_p = NULL;
    if (!c)
        return;
    dtx_gw_waits_remove(c);
    if (c->started) {
        if (!ok)
            c->req.client_gone = 1;
        dtx_gw_upstream_end(&c->up);  /* on the worker: the multi handle is its own */
        if (c->req.txn_state == 1 && s_offload(c, S_JOB_DONE))
            return;  /* rollback at dtxd: may block */
    }
    s_finish(c, 1);
}

int dtx_gw_request_client_left(dtx_gw_rctx_t *c)
{
    if (!c->up_waiting || !c->up)
        return 0;
    dtx_gw_upstream_client_gone(c->up);   /* `ready` runs: resumed, then closed */
    return 1;
}

int dtx_gw_request_bad_body(dtx_gw_rctx_t *c, const char *why)
{
    dtx_gw_req_t *req = &c->req;
    if (c->phase != S_HEAD || c->job_kind || c->replied || c->stream_end)
        return 1;                    /* the answer is decided already: it goes */
    dtx_gw_upstream_end(&c->up);     /* a streamed body: the call is cut */
    c->replied = 1;
    c->up_failed = 1;
    dtx_gw_reply_set(req, 400, "application/json",
                     "{\"error\":\"bad request\",\"detail\":\"%s\"}\n", why);
    return s_response(c);
}
