/* gw_filters.c — the default chain and its "edge" filter (gw_filters.h). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "filters/gw_auth.h"
#include "filters/gw_cache_filter.h"
#include "filters/gw_filters.h"
#include "filters/gw_route.h"
#include "filters/gw_rules.h"
#include "filters/gw_transform.h"
#include "filters/gw_saga.h"
#include "filters/gw_txn.h"
#include "filters/gw_validate.h"

static _Thread_local uint64_t s_rng[2];

static uint64_t s_next(void)
{
    if (!s_rng[0] && !s_rng[1]) {
        if (getrandom(s_rng, sizeof s_rng, 0) != (ssize_t)sizeof s_rng || (!s_rng[0] && !s_rng[1])) {
            s_rng[0] = (uint64_t)(uintptr_t)&s_rng ^ 0x9E3779B97F4A7C15ull;
            s_rng[1] = 0xD1B54A32D192ED03ull;
        }
    }
    /* xorshift128+ */
    uint64_t x = s_rng[0], y = s_rng[1];
    s_rng[0] = y;
    x ^= x << 23;
    s_rng[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
    return s_rng[1] + y;
}

void dtx_gw_request_id(char *out)
{
    snprintf(out, 33, "%016llx%016llx", (unsigned long long)s_next(),
             (unsigned long long)s_next());
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

const dtx_gw_filter_t *const dtx_gw_default_chain[] = { &s_edge, &s_route, &s_auth,
                                                        &s_validate, &s_cache, &s_admission,
                                                        &s_transform, &s_txn, &s_saga };
const int dtx_gw_default_chain_len = 9;
