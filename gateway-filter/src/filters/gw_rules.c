/*
 * gw_rules.c — the admission filter (gw_rules.h): a route's rules applied
 * to a request. The rule objects are gw_rule.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/gw_clock.h"
#include "limits/gw_dtxd_reading.h"
#include "filters/gw_cluster.h"
#include "filters/gw_route.h"
#include "filters/gw_rules.h"
#include "filters/gw_generation.h"

/* ---------------- admission ---------------- */

/* The key of rule r for req; NULL when the request has none (the rule
 * then does not apply, as nginx skips an empty key). */
static const char *s_key(const dtx_gw_rule_t *r, const dtx_gw_req_t *req)
{
    switch (r->cfg.key) {
    case DTX_GW_KEY_GLOBAL: return "";
    case DTX_GW_KEY_ROUTE: return req->route ? req->route->cfg->name : "";
    case DTX_GW_KEY_CLIENT_IP: return req->client_ip ? req->client_ip : "";
    case DTX_GW_KEY_HEADER: {
        const char *v = req->header ? req->header(req->header_ctx, r->cfg.key_header) : NULL;
        return v && *v ? v : NULL;
    }
    case DTX_GW_KEY_CONSUMER: return req->consumer[0] ? req->consumer : NULL;
    }
    return NULL;
}

/* The cluster engine when r has scope cluster and the gateway runs one
 * (gw_cluster.h); NULL: r counts on this instance. */
static dtx_gw_cluster_t *s_cluster(const dtx_gw_rule_t *r, const dtx_gw_req_t *req)
{
    return r->cfg.cluster && req->rt ? req->rt->shared->cluster : NULL;
}

/* Runs one rate rule on state s. Returns the verdict; fills the numbers
 * the RateLimit headers need. */
static int s_rate(const dtx_gw_rule_t *r, dtx_gw_rule_state_t *s, int64_t now_us,
                  int64_t *wait_us, int64_t *remaining, int64_t *limit)
{
    int v = DTX_GW_RL_PASS;
    int64_t excess = 0;
    *wait_us = 0;
    switch (r->cfg.algorithm) {
    case DTX_GW_ALG_LEAKY:
        v = dtx_gw_leaky_check(&r->leaky, &s->leaky, now_us, 1, &excess, wait_us);
        if (v == DTX_GW_RL_REJECT)  /* retry when one request has leaked out */
            *wait_us = (excess - r->leaky.burst_milli) * 1000000 / r->leaky.rate_milli;
        *remaining = dtx_gw_leaky_remaining(&r->leaky, &s->leaky, now_us);
        *limit = r->leaky.burst_milli / 1000 + 1;
        break;
    case DTX_GW_ALG_TOKEN:
        v = dtx_gw_token_take(&r->token, &s->token, now_us, wait_us);
        *remaining = dtx_gw_token_remaining(&r->token, &s->token, now_us);
        *limit = (int64_t)r->token.burst;
        break;
    case DTX_GW_ALG_WARMUP:
        v = dtx_gw_warmup_take(&r->warmup, &s->warmup, now_us, wait_us);
        *limit = (int64_t)dtx_gw_warmup_allowed(&r->warmup, &s->warmup);
        *remaining = *limit - s->warmup.pass_cur;
        break;
    case DTX_GW_ALG_QUEUE:
        v = dtx_gw_queue_take(&r->queue, &s->queue, now_us, wait_us);
        *limit = (int64_t)ceil(r->queue.rate);
        *remaining = v == DTX_GW_RL_PASS ? 1 : 0;
        break;
    }
    if (*remaining < 0)
        *remaining = 0;
    return v;
}

static void s_retry_after(dtx_gw_req_t *req, int64_t wait_us)
{
    int64_t secs = (wait_us + 999999) / 1000000;
    dtx_gw_reply_header(req, "Retry-After", "%lld", (long long)(secs > 0 ? secs : 1));
}

static void s_release(dtx_gw_req_t *req, int reached, int64_t now_us);

/* The dtxd_inflight signal: the poller's last reading against the rule's
 * threshold; a stale reading (or none) admits (gw_adaptive.h). */
static int s_dtxd_admit(const dtx_gw_rule_t *r, const dtx_gw_req_t *req, int64_t now_us)
{
    dtx_gw_dtxd_t *dtxd = &req->rt->shared->dtxd;
    dtx_gw_dtxd_reading_t reading;
    dtx_gw_dtxd_reading_get(dtxd, &reading);
    int64_t stale_ms = req->rt->cfg->dtxd_stale_ms > 0 ? req->rt->cfg->dtxd_stale_ms
                                                        : DTX_GW_DTXD_STALE_MS_FLOOR;
    dtx_gw_dtxd_verdict_t v = dtx_gw_dtxd_decide(reading.inflight, reading.at_us, now_us,
                                                 r->cfg.dtxd_max_inflight, stale_ms * 1000);
    if (v == DTX_GW_DTXD_STALE)
        dtx_gw_dtxd_count_fail_open(dtxd);
    return v != DTX_GW_DTXD_SHED;
}

/* Breaker or adaptive refusal: the route's fallback when it has one. */
static int s_degrade(dtx_gw_req_t *req, const char *why, const char *rule, int64_t wait_us)
{
    const dtx_gw_route_t *route = req->route;
    req->rejected_by = rule;
    if (route->fallback_pool) {
        req->fallback_pool = route->fallback_pool;
        dtx_gw_reply_header(req, "X-Dtx-Fallback", "%s", why);
        return DTX_GW_NEXT;
    }
    if (route->cfg->fallback_status > 0) {
        dtx_gw_reply_set(req, route->cfg->fallback_status, route->cfg->fallback_content_type,
                         "%s", route->cfg->fallback_body);
        dtx_gw_reply_header(req, "X-Dtx-Fallback", "%s", why);
        return DTX_GW_REPLY;
    }
    s_retry_after(req, wait_us);
    dtx_gw_reply_set(req, 503, "application/json",
                     "{\"error\":\"%s\",\"rule\":\"%s\",\"route\":\"%s\"}\n",
                     strcmp(why, "breaker") == 0 ? "circuit breaker open"
                                                 : "load shed: upstream overloaded",
                     rule, route->cfg->name);
    return DTX_GW_REPLY;
}

/* The rate rule of a route whose rules are one local rate rule and
 * breakers, else NULL: such a route is admitted in one pass with one lock
 * of the rate rule (s_admit_rate_last) instead of three steps with two. */
static dtx_gw_rule_t *s_rate_last(const dtx_gw_route_t *route)
{
    dtx_gw_rule_t *rate = NULL;
    for (int i = 0; i < route->nrules; i++) {
        dtx_gw_rule_t *r = route->rules[i];
        if (r->cfg.kind == DTX_GW_RULE_RATE && !rate && !r->cfg.cluster)
            rate = r;
        else if (r->cfg.kind != DTX_GW_RULE_BREAKER)
            return NULL;
    }
    return rate;
}

static int s_rate_reject(dtx_gw_req_t *req, dtx_gw_rule_t *r, int64_t wait);

/* Runs the local rate rule r for key under its lock, on its state when
 * count, else on a copy (a refusal still to come from elsewhere must not
 * have counted), and sets the RateLimit-* headers. Returns the verdict (a
 * key the table has no room for is refused); *wait as s_rate's. */
static int s_rate_local(dtx_gw_req_t *req, dtx_gw_rule_t *r, const char *key, int64_t now,
                        int count, int64_t *wait)
{
    int64_t remaining = 0, limit = 0;
    int v = DTX_GW_RL_REJECT;
    *wait = 1000000;
    pthread_mutex_lock(&r->lock);
    dtx_gw_rule_state_t *s = dtx_gw_keytab_get(r->keys, key, now);
    if (s && count) {
        v = s_rate(r, s, now, wait, &remaining, &limit);
    } else if (s) {
        dtx_gw_rule_state_t copy = *s;
        v = s_rate(r, &copy, now, wait, &remaining, &limit);
    }
    pthread_mutex_unlock(&r->lock);
    dtx_gw_reply_header_int(req, "RateLimit-Limit", (long long)limit);
    dtx_gw_reply_header_int(req, "RateLimit-Remaining",
                            (long long)(v == DTX_GW_RL_REJECT ? 0 : remaining));
    dtx_gw_reply_header_int(req, "RateLimit-Reset", (long long)((*wait + 999999) / 1000000));
    return v;
}

/* The request keeps what rule r admitted it with (state: the pinned
 * per-key state, or a cluster slot) in its next hold, which the caller
 * filled with the ticket: released by s_release. */
static void s_hold_keep(dtx_gw_req_t *req, dtx_gw_rule_t *r, void *state)
{
    dtx_gw_hold_t *h = &req->holds[req->nholds++];
    h->rule = r;
    h->state = state;
}

/* The request passed every rule: each rule it holds counts it, then it
 * waits out a rate rule's delay (0: none). */
static void s_admitted(dtx_gw_req_t *req, int64_t delay)
{
    for (int i = 0; i < req->nholds; i++)
        atomic_fetch_add(&req->holds[i].rule->passed, 1);
    dtx_gw_sleep_us(delay);
}

/* Admission of a route s_rate_last accepts: the breakers first, then the
 * rate rule decides and counts under one lock. The outcome is the
 * three-step one's: a request the rate rule refuses is refused by it (429)
 * whatever the breakers say, and counts in no breaker (its tickets are
 * cancelled, as a request that never reached the upstream); a request a
 * breaker refuses counts in no rate rule (decided on a copy, as step 1
 * does) and carries the rate's headers. */
static int s_admit_rate_last(dtx_gw_req_t *req, dtx_gw_rule_t *rate, int64_t now)
{
    dtx_gw_route_t *route = req->route;
    for (int i = 0; i < route->nrules; i++) {
        dtx_gw_rule_t *r = route->rules[i];
        if (r == rate)
            continue;
        const char *key = s_key(r, req);
        if (!key || req->nholds == DTX_GW_MAX_HOLDS)
            continue;
        dtx_gw_hold_t *h = &req->holds[req->nholds];
        memset(h, 0, sizeof *h);
        int64_t wait = 1000000;
        int ok = 0;
        pthread_mutex_lock(&r->lock);
        dtx_gw_rule_state_t *s = dtx_gw_keytab_get(r->keys, key, now);
        if (s) {
            dtx_gw_breaker_ticket_t t;
            ok = dtx_gw_breaker_admit(&s->breaker, &r->cfg.breaker, now, &t, &wait);
            h->generation = t.generation;
            h->probe = t.probe;
            if (ok)
                dtx_gw_keytab_pin(s);
        }
        pthread_mutex_unlock(&r->lock);
        if (ok) {
            s_hold_keep(req, r, s);
            continue;
        }
        s_release(req, 0, now);
        const char *rkey = s_key(rate, req);
        if (rkey) {        /* the rate rule first, on a copy: its refusal wins */
            int64_t rwait;
            int v = s_rate_local(req, rate, rkey, now, 0, &rwait);
            if (v == DTX_GW_RL_REJECT)
                return s_rate_reject(req, rate, rwait);
        }
        atomic_fetch_add(&r->rejected, 1);
        return s_degrade(req, "breaker", r->cfg.name, wait);
    }
    const char *key = s_key(rate, req);
    int64_t delay = 0;
    if (key) {
        int64_t wait;
        int v = s_rate_local(req, rate, key, now, 1, &wait);
        if (v == DTX_GW_RL_REJECT) {
            s_release(req, 0, now);      /* the breakers' tickets: never reached */
            return s_rate_reject(req, rate, wait);
        }
        if (v == DTX_GW_RL_DELAY) {
            atomic_fetch_add(&rate->delayed, 1);
            delay = wait;
        } else {
            atomic_fetch_add(&rate->passed, 1);
        }
    }
    s_admitted(req, delay);
    return DTX_GW_NEXT;
}

/* The rate rule r refused req (step 1's answer): 429. */
static int s_rate_reject(dtx_gw_req_t *req, dtx_gw_rule_t *r, int64_t wait)
{
    atomic_fetch_add(&r->rejected, 1);
    req->rejected_by = r->cfg.name;
    s_retry_after(req, wait);
    dtx_gw_reply_header(req, "RateLimit-Remaining", "0");
    dtx_gw_reply_header(req, "RateLimit-Reset", "%lld", (long long)((wait + 999999) / 1000000));
    dtx_gw_reply_set(req, 429, "application/json",
                     "{\"error\":\"rate limit exceeded\",\"rule\":\"%s\","
                     "\"route\":\"%s\"}\n", r->cfg.name, req->route->cfg->name);
    return DTX_GW_REPLY;
}

int dtx_gw_admission_head(dtx_gw_req_t *req)
{
    dtx_gw_route_t *route = req->route;
    if (!route || route->nrules == 0)
        return DTX_GW_NEXT;
    int64_t now = dtx_gw_loop_us();
    dtx_gw_rule_t *rate_last = s_rate_last(route);
    if (rate_last)
        return s_admit_rate_last(req, rate_last, now);
    int first_rate = 1;

    /* 1. rate rules decide on a copy */
    for (int i = 0; i < route->nrules; i++) {
        dtx_gw_rule_t *r = route->rules[i];
        if (r->cfg.kind != DTX_GW_RULE_RATE)
            continue;
        const char *key = s_key(r, req);
        if (!key)
            continue;
        int64_t wait, remaining = 0, limit = 0;
        int v = DTX_GW_RL_REJECT;
        wait = 1000000;
        dtx_gw_cluster_t *cl = s_cluster(r, req);
        if (cl) {
            v = dtx_gw_cluster_rate(cl, &r->cfg, key, now, 0, &wait);
            limit = (int64_t)llround(r->cfg.rate);
            remaining = v == DTX_GW_RL_PASS;
        } else {
            pthread_mutex_lock(&r->lock);
            dtx_gw_rule_state_t *s = dtx_gw_keytab_get(r->keys, key, now);
            if (s) {
                dtx_gw_rule_state_t copy = *s;
                v = s_rate(r, &copy, now, &wait, &remaining, &limit);
            }
            pthread_mutex_unlock(&r->lock);
        }
        if (first_rate) {
            first_rate = 0;
            dtx_gw_reply_header_int(req, "RateLimit-Limit", (long long)limit);
            dtx_gw_reply_header_int(req, "RateLimit-Remaining",
                                    (long long)(v == DTX_GW_RL_REJECT ? 0 : remaining));
            dtx_gw_reply_header_int(req, "RateLimit-Reset",
                                    (long long)((wait + 999999) / 1000000));
        }
        if (v == DTX_GW_RL_REJECT)
            return s_rate_reject(req, r, wait);
    }

    /* 2. resources, in the route's order */
    for (int i = 0; i < route->nrules; i++) {
        dtx_gw_rule_t *r = route->rules[i];
        if (r->cfg.kind == DTX_GW_RULE_RATE)
            continue;
        const char *key = s_key(r, req);
        if (!key || req->nholds == DTX_GW_MAX_HOLDS)
            continue;
        dtx_gw_hold_t *h = &req->holds[req->nholds];
        memset(h, 0, sizeof *h);
        int ok = 0;
        int64_t wait = 1000000;
        dtx_gw_cluster_t *cl = r->cfg.kind == DTX_GW_RULE_CONCURRENCY ? s_cluster(r, req) : NULL;
        if (cl) {
            void *slot = dtx_gw_cluster_conc_acquire(cl, &r->cfg, key, now);
            if (slot) {
                s_hold_keep(req, r, slot);
                continue;
            }
        }
        pthread_mutex_lock(&r->lock);
        dtx_gw_rule_state_t *s = cl ? NULL : dtx_gw_keytab_get(r->keys, key, now);
        if (s) {
            switch (r->cfg.kind) {
            case DTX_GW_RULE_CONCURRENCY:
                ok = dtx_gw_conc_acquire(&s->conc, r->cfg.max, r->cfg.queue,
                                         r->cfg.queue > 0 ? r->cfg.max_wait_ms : 0,
                                         &r->lock, &r->freed);
                break;
            case DTX_GW_RULE_BREAKER: {
                dtx_gw_breaker_ticket_t t;
                ok = dtx_gw_breaker_admit(&s->breaker, &r->cfg.breaker, now, &t, &wait);
                h->generation = t.generation;
                h->probe = t.probe;
                break;
            }
            case DTX_GW_RULE_ADAPTIVE:
                if (r->cfg.signal == DTX_GW_SIGNAL_DTXD_INFLIGHT) {
                    ok = s_dtxd_admit(r, req, now);
                } else {
                    if (!s->adaptive.gradient.limit)
                        dtx_gw_gradient_init(&s->adaptive.gradient, &r->cfg.gradient);
                    ok = dtx_gw_gradient_admit(&s->adaptive.gradient, s->adaptive.in_flight);
                }
                if (ok)
                    h->in_flight = ++s->adaptive.in_flight;
                break;
            case DTX_GW_RULE_RATE:
                break;
            }
            if (ok)
                dtx_gw_keytab_pin(s);
        }
        pthread_mutex_unlock(&r->lock);
        if (ok) {
            s_hold_keep(req, r, s);
            continue;
        }
        atomic_fetch_add(&r->rejected, 1);
        s_release(req, 0, now);
        if (r->cfg.kind == DTX_GW_RULE_CONCURRENCY) {
            req->rejected_by = r->cfg.name;
            s_retry_after(req, 1000000);
            dtx_gw_reply_set(req, 503, "application/json",
                             "{\"error\":\"concurrency limit reached\",\"rule\":\"%s\","
                             "\"route\":\"%s\"}\n", r->cfg.name, route->cfg->name);
            return DTX_GW_REPLY;
        }
        return s_degrade(req, r->cfg.kind == DTX_GW_RULE_BREAKER ? "breaker" : "shed",
                         r->cfg.name, wait);
    }

    /* 3. rate rules count the request */
    int64_t delay = 0;
    for (int i = 0; i < route->nrules; i++) {
        dtx_gw_rule_t *r = route->rules[i];
        if (r->cfg.kind != DTX_GW_RULE_RATE)
            continue;
        const char *key = s_key(r, req);
        if (!key)
            continue;
        int64_t wait = 0, remaining, limit;
        int v;
        dtx_gw_cluster_t *cl = s_cluster(r, req);
        if (cl) {
            v = dtx_gw_cluster_rate(cl, &r->cfg, key, now, 1, &wait);
        } else {
            pthread_mutex_lock(&r->lock);
            dtx_gw_rule_state_t *s = dtx_gw_keytab_get(r->keys, key, now);
            v = s ? s_rate(r, s, now, &wait, &remaining, &limit) : DTX_GW_RL_PASS;
            pthread_mutex_unlock(&r->lock);
        }
        if (v == DTX_GW_RL_REJECT) {
            /* Another request took the last room between step 1 and here:
             * refuse, so a single rule admits exactly its rate. (Rules
             * counted before this one in this step keep the count; only a
             * race with several rate rules on one route can do that.) */
            atomic_fetch_add(&r->rejected, 1);
            req->rejected_by = r->cfg.name;
            s_release(req, 0, now);
            s_retry_after(req, wait);
            dtx_gw_reply_header(req, "RateLimit-Remaining", "0");
            dtx_gw_reply_set(req, 429, "application/json",
                             "{\"error\":\"rate limit exceeded\",\"rule\":\"%s\","
                             "\"route\":\"%s\"}\n", r->cfg.name, route->cfg->name);
            return DTX_GW_REPLY;
        }
        if (v == DTX_GW_RL_DELAY) {
            atomic_fetch_add(&r->delayed, 1);
            if (wait > delay)
                delay = wait;
        } else {
            atomic_fetch_add(&r->passed, 1);
        }
    }
    s_admitted(req, delay);
    return DTX_GW_NEXT;
}

/* Gives back every hold; reached says whether the upstream was called
 * (its outcome is in req). */
static void s_release(dtx_gw_req_t *req, int reached, int64_t now_us)
{
    int failed_transport = req->upstream_error != DTX_GW_UPERR_NONE &&
                           req->upstream_error != DTX_GW_UPERR_CLIENT_GONE;
    for (int i = req->nholds - 1; i >= 0; i--) {
        dtx_gw_hold_t *h = &req->holds[i];
        dtx_gw_rule_t *r = h->rule;
        dtx_gw_rule_state_t *s = h->state;
        dtx_gw_cluster_t *cl = r->cfg.kind == DTX_GW_RULE_CONCURRENCY ? s_cluster(r, req) : NULL;
        if (cl) {
            dtx_gw_cluster_conc_release(cl, h->state);
            continue;
        }
        pthread_mutex_lock(&r->lock);
        switch (r->cfg.kind) {
        case DTX_GW_RULE_CONCURRENCY:
            dtx_gw_conc_release(&s->conc, &r->freed);
            break;
        case DTX_GW_RULE_BREAKER: {
            dtx_gw_breaker_ticket_t t = { h->generation, h->probe, 1 };
            if (!reached || req->upstream_error == DTX_GW_UPERR_CLIENT_GONE) {
                dtx_gw_breaker_cancel(&s->breaker, &t, now_us);
            } else {
                int failed = failed_transport ||
                             dtx_gw_statuses_has(&r->cfg.failure_statuses, req->upstream_status);
                dtx_gw_breaker_record(&s->breaker, &r->cfg.breaker, &t, now_us, failed,
                                      req->upstream_us);
            }
            break;
        }
        case DTX_GW_RULE_ADAPTIVE:
            if (s->adaptive.in_flight > 0)
                s->adaptive.in_flight--;
            if (reached && r->cfg.signal == DTX_GW_SIGNAL_LATENCY && !failed_transport)
                dtx_gw_gradient_sample(&s->adaptive.gradient, &r->cfg.gradient, now_us,
                                       req->upstream_us, h->in_flight);
            break;
        case DTX_GW_RULE_RATE:
            break;
        }
        dtx_gw_keytab_unpin(s);
        pthread_mutex_unlock(&r->lock);
    }
    req->nholds = 0;
}

void dtx_gw_admission_done(dtx_gw_req_t *req)
{
    if (req->nholds)
        s_release(req, req->sent, dtx_gw_loop_us());
}

int dtx_gw_rules_may_block(dtx_gw_rule_t *const *rules, int n)
{
    for (int i = 0; i < n; i++) {
        const dtx_gw_rule_t *r = rules[i];
        switch (r->cfg.kind) {
        case DTX_GW_RULE_RATE:
            if (r->cfg.algorithm == DTX_GW_ALG_QUEUE)
                return 1;
            if (r->cfg.algorithm == DTX_GW_ALG_LEAKY && r->leaky.delay_milli < r->leaky.burst_milli)
                return 1;
            break;
        case DTX_GW_RULE_CONCURRENCY:
            if (r->cfg.queue > 0 && r->cfg.max_wait_ms > 0)
                return 1;
            break;
        default:
            break;
        }
    }
    return 0;
}
