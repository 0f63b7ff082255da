/* gw_run.c — a whole TCC transaction per request, in one TCC_RUN (gw_run.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/dtx.h"
#include "dtx/id.h"
#include "dtx/log.h"
#include "filters/gw_generation.h"
#include "filters/gw_route.h"
#include "filters/gw_run.h"
#include "filters/gw_saga.h"
#include "filters/gw_txn.h"

/* What the batch's names and numbers take of one TCC_RUN's blob
 * (docs/protocol.md §18: n, then per branch two names and a length). */
#define S_BRANCH_OVERHEAD (2 * DTX_NAME_SIZE + 4)

typedef struct {
    dtx_try_spec_t    tries[DTX_TRY_MANY_MAX];
    char             *payloads[DTX_TRY_MANY_MAX];
    dtx_try_outcome_t out[DTX_TRY_MANY_MAX];
    int               n;
} s_run_t;

static void s_free(s_run_t *r)
{
    for (int i = 0; i < r->n; i++)
        free(r->payloads[i]);
    free(r);
}

/* The n branches of req's route with req's payloads, or NULL with the
 * answer set (400, 413, 500). */
static s_run_t *s_build(dtx_gw_req_t *req, const dtx_gw_saga_cfg_t *sc)
{
    s_run_t *r = calloc(1, sizeof *r);
    if (!r) {
        dtx_gw_reply_set(req, 500, "application/json",
                         "{\"error\":\"cannot build the transaction\",\"detail\":\"%s\"}\n",
                         dtx_strerror(DTX_ENOMEM));
        return NULL;
    }
    size_t room = DTX_PAYLOAD_MAX - 1 - (size_t)sc->nsteps * S_BRANCH_OVERHEAD, total = 0;
    char why[200];
    dtx_gw_saga_src_t src = { .body = req->body, .body_len = req->body_len };
    for (int i = 0; i < sc->nsteps; i++) {
        const dtx_gw_saga_step_cfg_t *st = &sc->steps[i];
        size_t len = 0;
        int rc = dtx_gw_saga_payload(st, req, &src, &r->payloads[i], &len, why, sizeof why);
        r->n = i + 1;
        if (rc == DTX_EINVAL) {
            atomic_fetch_add(&req->route->stats->invalid, 1);
            dtx_gw_reply_set(req, 400, "application/json",
                             "{\"error\":\"cannot build the transaction\",\"branch\":%d,"
                             "\"detail\":\"%s\"}\n", i + 1, why);
            goto fail;
        }
        if (rc != 0) {
            dtx_gw_reply_set(req, 500, "application/json",
                             "{\"error\":\"cannot build the transaction\",\"detail\":\"%s\"}\n",
                             dtx_strerror(rc));
            goto fail;
        }
        total += len;
        if (total > room) {
            atomic_fetch_add(&req->route->stats->invalid, 1);
            dtx_gw_reply_set(req, 413, "application/json",
                             "{\"error\":\"branch payloads too large\",\"max\":%zu}\n", room);
            goto fail;
        }
        r->tries[i].resource = st->resource;
        r->tries[i].action = st->action;
        r->tries[i].payload = r->payloads[i];
        r->tries[i].payload_len = len;
    }
    dtx_gw_saga_src_free(&src);
    return r;
fail:
    dtx_gw_saga_src_free(&src);
    s_free(r);
    return NULL;
}

/* {"outcome":"aborted","gid":..,"branches":[{"branch","outcome"[,"error"]}]} */
static void s_aborted(dtx_gw_req_t *req, const s_run_t *r)
{
    char list[DTX_TRY_MANY_MAX * 160] = "";
    size_t at = 0;
    for (int i = 0; i < r->n && at < sizeof list; i++) {
        const dtx_try_outcome_t *o = &r->out[i];
        const char *what = o->outcome == DTX_OUTCOME_OK ? "ok"
                           : o->outcome == DTX_OUTCOME_REFUSED ? "refused" : "failed";
        int w = snprintf(list + at, sizeof list - at, "%s{\"branch\":%u,\"outcome\":\"%s\"%s%s%s}",
                         i ? "," : "", (unsigned)o->branch, what, o->error ? ",\"error\":\"" : "",
                         o->error ? dtx_strerror(o->error) : "", o->error ? "\"" : "");
        at += w > 0 ? (size_t)w : 0;
    }
    dtx_gw_reply_set(req, 409, "application/json",
                     "{\"outcome\":\"aborted\",\"gid\":\"%s\",\"branches\":[%s]}\n", req->gid,
                     list);
}

/* The request's Dtx-Run-Id into req->gid: the transaction's id, the
 * client's (docs/protocol.md §19.3), so that the client may send the same
 * request again and the transaction runs at most once. 1 with one, 0
 * without (req->gid ""), -1 with 400 set for a value that is not an id. */
static int s_run_id(dtx_gw_req_t *req)
{
    const char *v = req->header ? req->header(req->header_ctx, "Dtx-Run-Id") : NULL;
    req->gid[0] = '\0';
    if (!v)
        return 0;
    if (!dtx_id_valid(v)) {
        atomic_fetch_add(&req->route->stats->invalid, 1);
        dtx_gw_reply_set(req, 400, "application/json",
                         "{\"error\":\"Dtx-Run-Id is not an id\",\"detail\":\"26 characters of a "
                         "ULID, upper case (docs/gateway.md)\"}\n");
        return -1;
    }
    snprintf(req->gid, sizeof req->gid, "%s", v);
    return 1;
}

/* The answer for dtx_client_tcc_run's rc; returns the DTX_GW_RUN_* outcome. */
static int s_answer(dtx_gw_req_t *req, const s_run_t *r, int rc, int keyed)
{
    switch (rc) {
    case 0:
        dtx_gw_reply_set(req, 200, "application/json",
                         "{\"outcome\":\"committed\",\"gid\":\"%s\"}\n", req->gid);
        return DTX_GW_RUN_COMMITTED;
    case DTX_EABORTED:
        s_aborted(req, r);
        return DTX_GW_RUN_ABORTED;
    case DTX_ETIMEOUT:
    case DTX_EUNKNOWN:
    case DTX_EIO:
        /* Sent (libdtx says DTX_ENOTSENT when it was not), and no answer:
         * it may have committed; only the trace
         * (or dtxd's text, when it named the gid) finds it — or, with a
         * Dtx-Run-Id, the same request sent again. */
        dtx_gw_reply_set(req, 504, "application/json",
                         "{\"error\":\"transaction outcome unknown\",\"trace\":\"%.32s\","
                         "\"detail\":\"%s\"%s}\n", req->traceparent + 3, dtx_strerror(rc),
                         keyed ? ",\"retry\":\"send the same request with the same Dtx-Run-Id\""
                               : "");
        return DTX_GW_RUN_UNKNOWN;
    case DTX_ENOTSENT:
        /* The request never left (no connection to dtxd): nothing ran,
         * a retry is safe — as below. */
    default:
        /* Refused as a whole (limits, no live participant, ...) or dtxd
         * not reached: nothing ran. dtxd's text stays in the log. */
        dtx_gw_reply_header(req, "Retry-After", "1");
        dtx_gw_reply_set(req, 503, "application/json",
                         "{\"error\":\"cannot run the transaction\",\"detail\":\"%s\"}\n",
                         dtx_strerror(rc));
        return DTX_GW_RUN_FAILED;
    }
}

int dtx_gw_run_body(dtx_gw_req_t *req)
{
    const dtx_gw_route_cfg_t *c = req->route->cfg;
    if (c->transactional != DTX_GW_TXN_RUN || req->fallback_pool)
        return DTX_GW_NEXT;
    int keyed = s_run_id(req);
    s_run_t *r = keyed >= 0 ? s_build(req, c->saga) : NULL;
    if (!r)
        return DTX_GW_REPLY;
    const dtx_gw_config_t *cfg = req->rt->cfg;
    dtx_client_t *client = NULL;
    int rc = 0, state = 0;
    dtx_gw_txn_pooled_t *p = dtx_gw_txn_borrow_for(req, &client, &rc);
    if (rc == 0) {
        /* The Tries run within the transaction's deadline: wait that long
         * on top of the usual request time. */
        int64_t ttl = c->txn_timeout_ms ? c->txn_timeout_ms : 30000;
        dtx_client_set_timeout(client, (int)(ttl + cfg->dtxd_timeout_ms));
        rc = dtx_client_tcc_run(client, (uint32_t)c->txn_timeout_ms,
                                DTX_RUN_COMMIT | (keyed ? DTX_RUN_GID : 0u), r->tries, r->n,
                                req->gid, r->out, &state);
        dtx_client_set_timeout(client, (int)cfg->dtxd_timeout_ms);
    }
    const char *why = client ? dtx_client_last_error(client) : "";
    int outcome = s_answer(req, r, rc, keyed);
    atomic_fetch_add(&req->route->stats->run[outcome], 1);
    if (outcome == DTX_GW_RUN_FAILED || outcome == DTX_GW_RUN_UNKNOWN)
        dtx_log_warn("transaction run failed", "route=%s trace=%.32s err=%s reason=\"%s\"",
                     c->name, req->traceparent + 3, dtx_strerror(rc), why);
    if (p)
        dtx_gw_txn_give_back(req->rt->shared->txn, p, rc == DTX_EABORTED ? 0 : rc);
    if (req->gid[0] && (!keyed || state)) /* a Dtx-Run-Id alone is no transaction yet */
        dtx_gw_reply_header(req, "Dtx-Gid", "%s", req->gid);
    dtx_log_debug("transaction run answered", "gid=%s route=%s outcome=%s trace=%.32s", req->gid,
                  c->name, dtx_gw_run_outcome_name(outcome), req->traceparent + 3);
    s_free(r);
    return DTX_GW_REPLY;
}
