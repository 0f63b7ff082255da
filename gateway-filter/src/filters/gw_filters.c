/* gw_filters.c — the default chain and its "edge" filter (gw_filters.h). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dtx/hex.h"
#include "dtx/id.h"
#include "filters/gw_auth.h"
#include "filters/gw_cache_filter.h"
#include "filters/gw_filters.h"
#include "filters/gw_route.h"
#include "filters/gw_rules.h"
#include "filters/gw_run.h"
#include "filters/gw_saga.h"
#include "filters/gw_transform.h"
#include "filters/gw_txn.h"
#include "filters/gw_validate.h"

/* A request id: 32 random lower-case hex digits (common's per-thread
 * generator, dtx/id.h; sixteen digits a word at once, dtx/hex.h: snprintf
 * was a visible share of a proxied request's CPU). */
void dtx_gw_request_id(char *out)
{
    dtx_hex16(dtx_random_u64(), out);
    dtx_hex16(dtx_random_u64(), out + 16);
    out[32] = '\0';
}

static int s_edge_head(dtx_gw_req_t *req)
{
    const char *id = req->header ? req->header(req->header_ctx, "X-Request-Id") : NULL;
    if (id && *id)
        snprintf(req->request_id, sizeof req->request_id, "%s", id);
    else
        dtx_gw_request_id(req->request_id);
    /* Every request goes upstream in a trace: the client's, under the
     * gateway's span, or a new one (W3C trace context). */
    dtx_gw_req_trace(req);
    return DTX_GW_NEXT;
}

static void s_edge_done(dtx_gw_req_t *req)
{
    if (!req->route)
        return;
    dtx_gw_route_stats_t *st = req->route->stats;
    dtx_gw_stats_observe(st, req->client_gone ? 0 : req->final_status,
                         req->sent ? req->upstream_us : 0);
    if (req->rejected_by && !req->fallback_pool && req->reply.status >= 429 &&
        req->reply.status != 504)
        atomic_fetch_add(&st->rejected, 1);
    if (req->rejected_by && (req->fallback_pool || req->route->cfg->fallback_status ==
                                                   req->reply.status))
        atomic_fetch_add(&st->fallbacks, 1);
    if (req->upstream_error != DTX_GW_UPERR_NONE &&
        req->upstream_error != DTX_GW_UPERR_CLIENT_GONE)
        atomic_fetch_add(&st->upstream_errors, 1);
}

static const dtx_gw_filter_t s_edge = { "edge", s_edge_head, NULL, NULL, s_edge_done };
static const dtx_gw_filter_t s_route = { "route", dtx_gw_route_head, NULL, NULL, NULL };
static const dtx_gw_filter_t s_auth = { "auth", dtx_gw_auth_head, NULL, NULL, NULL };
static const dtx_gw_filter_t s_validate = { "validate", dtx_gw_validate_head,
                                            dtx_gw_validate_body, NULL, NULL };
static const dtx_gw_filter_t s_cache = { "cache", dtx_gw_cache_head, NULL, dtx_gw_cache_response,
                                         dtx_gw_cache_done };
static const dtx_gw_filter_t s_admission = { "admission", dtx_gw_admission_head, NULL, NULL,
                                             dtx_gw_admission_done };
static const dtx_gw_filter_t s_transform = { "transform", dtx_gw_transform_head, NULL, NULL,
                                             NULL };
static const dtx_gw_filter_t s_txn = { "transaction", NULL, dtx_gw_txn_body,
                                       dtx_gw_txn_response, dtx_gw_txn_done };

static const dtx_gw_filter_t s_saga = { "saga", NULL, dtx_gw_saga_body, NULL, NULL };
static const dtx_gw_filter_t s_run = { "run", NULL, dtx_gw_run_body, NULL, NULL };

const dtx_gw_filter_t *const dtx_gw_default_chain[] = { &s_edge, &s_route, &s_auth,
                                                        &s_validate, &s_cache, &s_admission,
                                                        &s_transform, &s_txn, &s_saga,
                                                        &s_run };
const int dtx_gw_default_chain_len = 10;
