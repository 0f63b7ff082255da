/* gw_txn.c — BEGIN / COMMIT / ROLLBACK at the edge (gw_txn.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/clock.h"
#include "dtx/dtx.h"
#include "dtx/log.h"
#include "filters/gw_route.h"
#include "filters/gw_generation.h"
#include "filters/gw_txn.h"

typedef struct dtx_gw_txn_pooled s_pooled_t;
struct dtx_gw_txn_pooled {
    s_pooled_t   *next;
    dtx_client_t *client;
    char         *endpoint;
};

struct dtx_gw_txn_clients {
    pthread_mutex_t lock;  /* guards idle */
    s_pooled_t     *idle;  /* clients not in use, any endpoint */
};

dtx_gw_txn_clients_t *dtx_gw_txn_clients_new(void)
{
    dtx_gw_txn_clients_t *self = calloc(1, sizeof *self);
    if (self)
        pthread_mutex_init(&self->lock, NULL);
    return self;
}

static s_pooled_t *s_borrow(dtx_gw_txn_clients_t *self, const char *endpoint,
                            int64_t timeout_ms)
{
    pthread_mutex_lock(&self->lock);
    s_pooled_t *p = self->idle, **pp = &self->idle;
    while (p && strcmp(p->endpoint, endpoint) != 0) {
        pp = &p->next;
        p = p->next;
    }
    if (p)
        *pp = p->next;
    pthread_mutex_unlock(&self->lock);
    if (!p) {
        p = calloc(1, sizeof *p);
        if (!p)
            return NULL;
        int err = 0;
        p->client = dtx_client_new(endpoint, &err);
        p->endpoint = strdup(endpoint);
        if (!p->client || !p->endpoint) {
            dtx_log_error("cannot create dtx client", "endpoint=%s err=%s", endpoint,
                          dtx_strerror(err));
            dtx_client_destroy(&p->client);
            free(p->endpoint);
            free(p);
            return NULL;
        }
    }
    dtx_client_set_timeout(p->client, (int)timeout_ms);
    return p;
}

/* A client call that failed with rc leaves its client unfit for reuse:
 * no answer came (its socket may hold a late one), or nothing left. */
static int s_broken(int rc)
{
    return rc == DTX_ETIMEOUT || rc == DTX_EIO || rc == DTX_ENOTSENT;
}

static void s_give_back(dtx_gw_txn_clients_t *self, s_pooled_t *p, int broken)
{
    if (broken) {
        /* A timed-out client may still get a late reply; start afresh. */
        dtx_client_destroy(&p->client);
        free(p->endpoint);
        free(p);
        return;
    }
    pthread_mutex_lock(&self->lock);
    p->next = self->idle;
    self->idle = p;
    pthread_mutex_unlock(&self->lock);
}

dtx_gw_txn_pooled_t *dtx_gw_txn_borrow(dtx_gw_txn_clients_t *self, const char *endpoint,
                                       int64_t timeout_ms)
{
    return s_borrow(self, endpoint, timeout_ms);
}

dtx_client_t *dtx_gw_txn_pooled_client(dtx_gw_txn_pooled_t *p)
{
    return p->client;
}

void dtx_gw_txn_give_back(dtx_gw_txn_clients_t *self, dtx_gw_txn_pooled_t *p, int rc)
{
    s_give_back(self, p, s_broken(rc));
}

void dtx_gw_txn_clients_destroy(dtx_gw_txn_clients_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_gw_txn_clients_t *self = *self_p;
    *self_p = NULL;
    s_pooled_t *p = self->idle;
    while (p) {
        s_pooled_t *next = p->next;
        s_give_back(self, p, 1);
        p = next;
    }
    pthread_mutex_destroy(&self->lock);
    free(self);
}

dtx_gw_txn_pooled_t *dtx_gw_txn_borrow_for(dtx_gw_req_t *req, dtx_client_t **client, int *rc)
{
    const dtx_gw_config_t *cfg = req->rt->cfg;
    dtx_gw_txn_clients_t *clients = req->rt->shared->txn;
    s_pooled_t *p = s_borrow(clients, cfg->dtxd_endpoint, cfg->dtxd_timeout_ms);
    *client = p ? p->client : NULL;
    *rc = p ? dtx_client_set_traceparent(p->client, dtx_gw_req_trace(req)) : DTX_ENOMEM;
    if (p && *rc != 0) {
        dtx_gw_txn_give_back(clients, p, *rc);
        *client = NULL;
        return NULL;
    }
    return p;
}

int dtx_gw_txn_body(dtx_gw_req_t *req)
{
    const dtx_gw_route_cfg_t *c = req->route->cfg;
    if (c->transactional != DTX_GW_TXN_TCC || req->fallback_pool)
        return DTX_GW_NEXT;
    const dtx_gw_config_t *cfg = req->rt->cfg;
    dtx_gw_txn_clients_t *clients = req->rt->shared->txn;
    s_pooled_t *p = s_borrow(clients, cfg->dtxd_endpoint, cfg->dtxd_timeout_ms);
    /* The transaction joins the request's trace, under the gateway's span
     * (the parent the upstream sees too). */
    int rc = p ? dtx_client_set_traceparent(p->client, dtx_gw_req_trace(req)) : DTX_ENOMEM;
    if (rc == 0)
        rc = dtx_client_begin(p->client, DTX_MODE_TCC, (uint32_t)c->txn_timeout_ms, req->gid);
    if (p)
        s_give_back(clients, p, s_broken(rc));
    if (rc != 0) {
        atomic_fetch_add(&req->route->stats->txn_begin_failed, 1);
        dtx_log_warn("transaction begin failed", "route=%s trace=%.32s err=%s", c->name,
                     req->traceparent + 3, dtx_strerror(rc));
        dtx_gw_reply_header(req, "Retry-After", "1");
        dtx_gw_reply_set(req, 503, "application/json",
                         "{\"error\":\"cannot start the transaction\",\"detail\":\"%s\"}\n",
                         dtx_strerror(rc));
        return DTX_GW_REPLY;
    }
    req->txn_state = 1;
    int64_t timeout = c->txn_timeout_ms ? c->txn_timeout_ms : 30000;
    req->deadline_ms = dtx_clock_wall_ms() + timeout;
    return DTX_GW_NEXT;
}

static int s_end(dtx_gw_req_t *req, int commit)
{
    const dtx_gw_config_t *cfg = req->rt->cfg;
    dtx_gw_txn_clients_t *clients = req->rt->shared->txn;
    s_pooled_t *p = s_borrow(clients, cfg->dtxd_endpoint, cfg->dtxd_timeout_ms);
    if (!p)
        return DTX_ENOMEM;
    int state = 0;
    int rc = commit ? dtx_client_commit(p->client, req->gid, &state)
                    : dtx_client_rollback(p->client, req->gid, &state);
    s_give_back(clients, p, s_broken(rc));
    return rc;
}

void dtx_gw_txn_response(dtx_gw_req_t *req)
{
    if (req->txn_state != 1)
        return;
    /* The client learns its transaction's gid whatever the outcome (to ask
     * dtxd, to match logs): on the upstream's answer or the local one. */
    dtx_gw_reply_header(req, "Dtx-Gid", "%s", req->gid);
    const dtx_gw_route_cfg_t *c = req->route->cfg;
    dtx_gw_route_stats_t *st = req->route->stats;
    int success = req->reply.status == 0 && req->upstream_error == DTX_GW_UPERR_NONE &&
                  dtx_gw_statuses_has(&c->commit_on, req->upstream_status);
    if (req->client_gone)
        success = 0;
    int rc = s_end(req, success);
    if (success && rc == 0) {
        req->txn_state = 2;
        atomic_fetch_add(&st->txn_committed, 1);
        dtx_log_debug("transaction committed", "gid=%s route=%s trace=%.32s", req->gid, c->name,
                      req->traceparent + 3);
        return;
    }
    if (!success) {
        req->txn_state = 3;
        atomic_fetch_add(&st->txn_rolled_back, 1);
        if (rc != 0 && rc != DTX_ESTATE)
            dtx_log_warn("transaction rollback failed", "gid=%s err=%s", req->gid,
                         dtx_strerror(rc));
        return;
    }
    /* The upstream succeeded but the commit did not. */
    req->txn_state = 3;
    atomic_fetch_add(&st->txn_rolled_back, 1);
    dtx_log_warn("transaction commit failed", "gid=%s trace=%.32s err=%s", req->gid,
                 req->traceparent + 3, dtx_strerror(rc));
    if (rc == DTX_EABORTED) {
        dtx_gw_reply_set(req, 409, "application/json",
                         "{\"error\":\"transaction aborted\",\"gid\":\"%s\"}\n", req->gid);
    } else if (rc == DTX_ENOTSENT || rc == DTX_ENOMEM) {
        /* The COMMIT was not acted on: it never left (DTX_ENOTSENT; out of
         * memory here), or dtxd refused it for memory before acting (its
         * ERROR 4). Only its initiator — this gateway, which will not —
         * or an operator may commit the transaction, so it rolls back at
         * its deadline (dtxd may be out of reach for a ROLLBACK): not an
         * unknown outcome, and a retry is safe. */
        dtx_gw_reply_header(req, "Retry-After", "1");
        dtx_gw_reply_set(req, 503, "application/json",
                         "{\"error\":\"transaction not committed: the commit was not acted "
                         "on; it rolls back\",\"gid\":\"%s\",\"detail\":\"%s\"}\n",
                         req->gid, dtx_strerror(rc));
    } else {
        dtx_gw_reply_set(req, 504, "application/json",
                         "{\"error\":\"transaction outcome unknown\",\"gid\":\"%s\","
                         "\"detail\":\"%s\"}\n", req->gid, dtx_strerror(rc));
    }
}

void dtx_gw_txn_done(dtx_gw_req_t *req)
{
    if (req->txn_state != 1)
        return;
    int rc = s_end(req, 0);
    req->txn_state = 3;
    atomic_fetch_add(&req->route->stats->txn_rolled_back, 1);
    if (rc != 0 && rc != DTX_ESTATE)
        dtx_log_warn("transaction rollback failed", "gid=%s err=%s", req->gid, dtx_strerror(rc));
}
