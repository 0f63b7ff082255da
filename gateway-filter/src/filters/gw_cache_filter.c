/* gw_cache_filter.c — the cache filter (gw_cache_filter.h): modes and
 * their transitions are in the header. An answer's freshness is read in
 * gw_cache_fresh.c; the store key's format and purge by key are in
 * gw_cache_key.c. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/gw_clock.h"
#include "filters/gw_cache_filter.h"
#include "filters/gw_cache_fresh.h"
#include "filters/gw_cache_key.h"
#include "filters/gw_route.h"
#include "filters/gw_rules.h"

enum { S_HIT = 1, S_LEAD, S_WAIT, S_STORE, S_PASS };

struct dtx_gw_cache_req {
    dtx_gw_cache_t        *store;     /* the route's (the request's generation holds it) */
    const dtx_gw_cache_cfg_t *cfg;
    char                  *key;
    int                    mode;
    int                    filling;   /* LEAD: the fill is ours to end */
    int                    parked;    /* was parked at least once */
    int                    gave_up;   /* waited lock_timeout_ms: no more waits on a fill */
    atomic_int             outcome;   /* of the last park (DTX_GW_CACHE_FILLED / _PASS) */
    dtx_gw_cache_waiter_t  waiter;
    void                 (*wake)(void *arg);
    void                  *wake_arg;
    dtx_gw_cache_obj_t    *stale;     /* matching variant past freshness, or NULL */
    dtx_gw_cache_obj_t    *send;      /* answer to send from the cache, or NULL */
    /* capture of the upstream answer (LEAD / STORE) */
    int                    capturing;
    dtx_gw_cache_obj_t    *head;      /* status, headers, vary and times; body empty */
    char                  *buf;
    size_t                 len, cap;
};

/* ---------------- keys ---------------- */

static char *s_make_key(const dtx_gw_req_t *req)
{
    size_t cap = strlen(req->path) + (req->query ? strlen(req->query) : 0) +
                 (req->host ? strlen(req->host) : 0) + strlen(req->consumer) + 16;
    char *k = malloc(cap);
    if (k)
        dtx_gw_cache_key(k, cap, req->host, req->path, req->query, req->consumer);
    return k;
}

/* ---------------- Vary values ---------------- */

/* A request header's value as the upstream saw it: every copy, joined
 * by ", " (RFC 9110 5.3) — a variant keyed on the first copy alone
 * would be served to requests that sent only that copy. */
typedef struct {
    const dtx_gw_req_t *req;
    const char *name;
    char        buf[2048];
    size_t      len;
    int         n, over;
    const char *first;
} s_vary_t;

static void s_vary_visit(const char *name, const char *value, void *arg)
{
    s_vary_t *v = arg;
    if (strcasecmp(name, v->name) != 0)
        return;
    if (v->n++ == 0) {
        v->first = value;
        return;
    }
    if (v->n == 2) {
        size_t l = strlen(v->first);
        if (l >= sizeof v->buf) {
            v->over = 1;
            return;
        }
        memcpy(v->buf, v->first, l + 1);
        v->len = l;
    }
    size_t l = strlen(value);
    if (v->over || v->len + 2 + l >= sizeof v->buf) {
        v->over = 1;
        return;
    }
    memcpy(v->buf + v->len, ", ", 2);
    memcpy(v->buf + v->len + 2, value, l + 1);
    v->len += 2 + l;
}

/* The lookup's header function (dtx_gw_cache_header_fn): ctx is an
 * s_vary_t; the value lives until the next call. A list too long for
 * the buffer gives a value no stored variant holds (capture refuses it). */
static const char *s_vary_value(void *ctx, const char *name)
{
    s_vary_t *v = ctx;
    const dtx_gw_req_t *req = v->req;
    if (!req->each_header)
        return req->header ? req->header(req->header_ctx, name) : NULL;
    v->name = name;
    v->len = 0;
    v->n = v->over = 0;
    v->first = NULL;
    req->each_header(req->header_ctx, s_vary_visit, v);
    if (v->over)
        return "\x1f(too long)";
    return v->n > 1 ? v->buf : v->first;
}

/* ---------------- answer headers ---------------- */

/* Sets (or replaces) an answer header of the request's reply. */
static void s_reply_set(dtx_gw_req_t *req, const char *name, const char *fmt, long long v)
{
    dtx_gw_reply_t *rep = &req->reply;
    for (int i = 0; i < rep->nheaders; i++)
        if (strcasecmp(rep->names[i], name) == 0) {
            snprintf(rep->values[i], sizeof rep->values[i], fmt, v);
            rep->value_lens[i] = -1;
            return;
        }
    dtx_gw_reply_header(req, name, fmt, v);
}

static void s_reply_xcache(dtx_gw_req_t *req, const char *what)
{
    dtx_gw_reply_t *rep = &req->reply;
    for (int i = 0; i < rep->nheaders; i++)
        if (strcasecmp(rep->names[i], "X-Cache") == 0) {
            snprintf(rep->values[i], sizeof rep->values[i], "%s", what);
            rep->value_lens[i] = -1;
            return;
        }
    dtx_gw_reply_header(req, "X-Cache", "%s", what);
}

/* Answer from obj (status, X-Cache, Age); the front sends it. */
static void s_serve(dtx_gw_req_t *req, dtx_gw_cache_obj_t *obj, const char *what)
{
    struct dtx_gw_cache_req *st = req->cache;
    int64_t now = dtx_gw_loop_us();
    dtx_gw_cache_obj_unref(&st->send);
    st->send = dtx_gw_cache_obj_ref(obj);
    req->reply.status = obj->status;
    s_reply_xcache(req, what);
    int64_t age = obj->initial_age_s + (now - obj->stored_us) / 1000000;
    s_reply_set(req, "Age", "%lld", (long long)(age > 0 ? age : 0));
}

static void s_end_fill(struct dtx_gw_cache_req *st, dtx_gw_cache_obj_t *obj)
{
    if (!st->filling)
        return;
    st->filling = 0;
    dtx_gw_cache_finish(st->store, st->key, obj);
}

/* ---------------- the hooks ---------------- */

/* Applies a lookup's result to the request. lead: the lookup could
 * lead. Returns DTX_GW_CACHE_SERVE / _PROXY / _PARK. */
static int s_apply(dtx_gw_req_t *req, int r, dtx_gw_cache_obj_t *obj, int after_park)
{
    struct dtx_gw_cache_req *st = req->cache;
    dtx_gw_cache_obj_unref(&st->stale);
    switch (r) {
    case DTX_GW_CACHE_HIT:
        st->mode = S_HIT;
        dtx_gw_cache_note(st->store, after_park ? DTX_GW_CACHE_NOTE_COALESCED
                                                : DTX_GW_CACHE_NOTE_HIT);
        s_serve(req, obj, "HIT");
        dtx_gw_cache_obj_unref(&obj);
        return DTX_GW_CACHE_SERVE;
    case DTX_GW_CACHE_WAIT:
        st->mode = S_WAIT;
        st->stale = obj;
        return DTX_GW_CACHE_PARK;
    case DTX_GW_CACHE_LEAD:
        st->mode = S_LEAD;
        st->filling = 1;
        break;
    default:   /* MISS */
        st->mode = strcmp(req->method, "GET") == 0 && !after_park ? S_STORE : S_PASS;
        break;
    }
    st->stale = obj;
    dtx_gw_cache_note(st->store, DTX_GW_CACHE_NOTE_MISS);
    s_reply_xcache(req, "MISS");
    return DTX_GW_CACHE_PROXY;
}

int dtx_gw_cache_head(dtx_gw_req_t *req)
{
    dtx_gw_route_t *route = req->route;
    if (!route || !route->cache || !route->cfg->cache)
        return DTX_GW_NEXT;
    const dtx_gw_cache_cfg_t *cfg = route->cfg->cache;
    int get = strcmp(req->method, "GET") == 0;
    if (!get && strcmp(req->method, "HEAD") != 0)
        return DTX_GW_NEXT;
    if (!cfg->authorized && req->header && req->header(req->header_ctx, "Authorization"))
        return DTX_GW_NEXT;
    struct dtx_gw_cache_req *st = calloc(1, sizeof *st);
    if (!st)
        return DTX_GW_NEXT;   /* uncached, not refused */
    st->key = s_make_key(req);
    if (!st->key) {
        free(st);
        return DTX_GW_NEXT;
    }
    st->store = route->cache;
    st->cfg = cfg;
    req->cache = st;
    dtx_gw_cache_obj_t *obj;
    s_vary_t vary = { .req = req };
    int r = dtx_gw_cache_lookup(st->store, st->key, s_vary_value, &vary, dtx_gw_loop_us(),
                                get && cfg->coalesce, &obj);
    return s_apply(req, r, obj, 0) == DTX_GW_CACHE_SERVE ? DTX_GW_REPLY : DTX_GW_NEXT;
}

dtx_gw_cache_obj_t *dtx_gw_cache_answer(const dtx_gw_req_t *req)
{
    return req->cache ? req->cache->send : NULL;
}

static void s_woken(void *arg, int outcome)
{
    struct dtx_gw_cache_req *st = arg;
    atomic_store(&st->outcome, outcome);
    st->wake(st->wake_arg);   /* st may be gone after this */
}

int dtx_gw_cache_req_unparked(dtx_gw_req_t *req)
{
    struct dtx_gw_cache_req *st = req->cache;
    if (!st || st->mode != S_WAIT)
        return DTX_GW_CACHE_PROXY;
    int pass = atomic_load(&st->outcome) == DTX_GW_CACHE_PASS;
    dtx_gw_cache_obj_t *obj;
    /* After a fill that stored nothing, the answer is likely not
     * cacheable: go upstream without leading (no queue of fills). */
    int lead = !pass && strcmp(req->method, "GET") == 0;   /* a HEAD never fills */
    s_vary_t vary = { .req = req };
    int r = dtx_gw_cache_lookup(st->store, st->key, s_vary_value, &vary, dtx_gw_loop_us(), lead,
                                &obj);
    if (r == DTX_GW_CACHE_WAIT && st->gave_up)
        r = DTX_GW_CACHE_MISS;   /* the fill it gave up on goes on: upstream, not stored */
    return s_apply(req, r, obj, st->parked);
}

int64_t dtx_gw_cache_req_wait_ms(const dtx_gw_req_t *req)
{
    const struct dtx_gw_cache_req *st = req->cache;
    return st ? st->cfg->lock_timeout_ms : 0;
}

int dtx_gw_cache_req_give_up(dtx_gw_req_t *req)
{
    struct dtx_gw_cache_req *st = req->cache;
    if (!st || st->mode != S_WAIT || !dtx_gw_cache_unpark(st->store, st->key, &st->waiter))
        return 0;
    st->gave_up = 1;
    atomic_store(&st->outcome, DTX_GW_CACHE_PASS);
    dtx_gw_cache_note(st->store, DTX_GW_CACHE_NOTE_LOCK_TIMEOUT);
    return 1;
}

int dtx_gw_cache_req_park(dtx_gw_req_t *req, void (*fn)(void *arg), void *arg)
{
    struct dtx_gw_cache_req *st = req->cache;
    for (;;) {
        if (!st || st->mode != S_WAIT)
            return DTX_GW_CACHE_PROXY;
        st->wake = fn;
        st->wake_arg = arg;
        st->waiter.fn = s_woken;
        st->waiter.arg = st;
        atomic_store(&st->outcome, DTX_GW_CACHE_FILLED);
        if (dtx_gw_cache_park(st->store, st->key, &st->waiter)) {
            st->parked = 1;
            return DTX_GW_CACHE_PARK;
        }
        /* The fill ended between the lookup and now: look again. */
        if (dtx_gw_cache_req_unparked(req) == DTX_GW_CACHE_SERVE)
            return DTX_GW_CACHE_SERVE;
    }
}

/* Was the request refused by a breaker or adaptive rule (degradation)? */
static int s_degraded(const dtx_gw_req_t *req)
{
    if (!req->rejected_by || req->sent || req->fallback_pool || !req->route)
        return 0;
    for (int i = 0; i < req->route->nrules; i++) {
        const dtx_gw_rule_t *r = req->route->rules[i];
        if (strcmp(r->cfg.name, req->rejected_by) == 0)
            return r->cfg.kind == DTX_GW_RULE_BREAKER || r->cfg.kind == DTX_GW_RULE_ADAPTIVE;
    }
    return 0;
}

static int s_upstream_failed(const dtx_gw_req_t *req)
{
    if (req->upstream_error != DTX_GW_UPERR_NONE)
        return req->upstream_error != DTX_GW_UPERR_CLIENT_GONE;
    int s = req->upstream_status;
    return req->sent && (s == 500 || s == 502 || s == 503 || s == 504);
}

void dtx_gw_cache_response(dtx_gw_req_t *req)
{
    struct dtx_gw_cache_req *st = req->cache;
    if (!st || st->mode == S_HIT)
        return;
    int64_t now = dtx_gw_loop_us();
    int failed = s_upstream_failed(req);
    if (st->stale && st->stale->stale_until_us > now && (s_degraded(req) || failed)) {
        dtx_gw_cache_note(st->store, DTX_GW_CACHE_NOTE_STALE);
        s_serve(req, st->stale, "STALE");
    }
    if (failed || !req->sent || req->fallback_pool || st->send)
        s_end_fill(st, NULL);   /* nothing to store: waiters go on */
}

int dtx_gw_cache_capture(dtx_gw_req_t *req, const dtx_gw_resp_header_t *h, int n)
{
    struct dtx_gw_cache_req *st = req->cache;
    if (!st || (st->mode != S_LEAD && st->mode != S_STORE) || st->send)
        return 0;
    if ((st->mode == S_LEAD && !st->filling) || req->fallback_pool ||
        strcmp(req->method, "GET") != 0) {
        s_end_fill(st, NULL);
        return 0;
    }
    int64_t stale_s, age_s;
    int64_t ttl = dtx_gw_cache_ttl(st->cfg, req->upstream_status, h, n, (int64_t)time(NULL),
                                   &stale_s, &age_s);
    /* Vary: the request headers the answer depends on. */
    const char *vnames[DTX_GW_CACHE_MAX_VARIANTS * 2];
    const char *vvalues[DTX_GW_CACHE_MAX_VARIANTS * 2];
    char vbuf[512];
    char valbuf[4096];   /* the request's values (each call of s_vary_value reuses its buffer) */
    size_t valused = 0;
    s_vary_t vary = { .req = req };
    int nvary = 0, ok = ttl > 0;
    size_t used = 0;
    for (int i = 0; ok && i < n; i++) {
        if (strcasecmp(h[i].name, "Vary") != 0)
            continue;
        const char *p = h[i].value;
        while (ok && *p) {
            p += strspn(p, " \t,");
            size_t l = strcspn(p, " \t,");
            if (!l)
                break;
            if ((l == 1 && *p == '*') || nvary == (int)(sizeof vnames / sizeof *vnames) ||
                used + l + 1 > sizeof vbuf) {
                ok = 0;   /* Vary: * (or too many): never served from a cache */
                break;
            }
            memcpy(vbuf + used, p, l);
            vbuf[used + l] = '\0';
            vnames[nvary] = vbuf + used;
            const char *val = s_vary_value(&vary, vbuf + used);
            if (val && (vary.over || valused + strlen(val) + 1 > sizeof valbuf)) {
                ok = 0;   /* a list too long to keep: not stored */
                break;
            }
            if (val) {
                memcpy(valbuf + valused, val, strlen(val) + 1);
                val = valbuf + valused;
                valused += strlen(val) + 1;
            }
            vvalues[nvary] = val;
            nvary++;
            used += l + 1;
            p += l;
        }
    }
    if (!ok) {
        s_end_fill(st, NULL);
        return 0;
    }
    /* Stored headers: the upstream's, but for those the gateway sets per
     * answer (Age, X-Cache, X-Request-Id, Dtx-Gid). */
    const char **names = calloc((size_t)n + 1, sizeof *names);
    const char **values = calloc((size_t)n + 1, sizeof *values);
    int k = 0;
    for (int i = 0; names && values && i < n; i++) {
        if (strcasecmp(h[i].name, "Age") == 0 || strcasecmp(h[i].name, "X-Cache") == 0 ||
            strcasecmp(h[i].name, "X-Request-Id") == 0 || strcasecmp(h[i].name, "Dtx-Gid") == 0)
            continue;
        names[k] = h[i].name;
        values[k] = h[i].value;
        k++;
    }
    if (names && values)
        st->head = dtx_gw_cache_obj_new(req->upstream_status, names, values, k, vnames,
                                        vvalues, nvary, NULL, 0);
    free(names);
    free(values);
    if (!st->head) {
        s_end_fill(st, NULL);
        return 0;
    }
    int64_t now = dtx_gw_loop_us();
    st->head->stored_us = now;
    st->head->initial_age_s = age_s;
    st->head->fresh_until_us = now + ttl * 1000000;
    st->head->stale_until_us = st->head->fresh_until_us + stale_s * 1000000;
    st->capturing = 1;
    return 1;
}

static void s_drop_capture(struct dtx_gw_cache_req *st)
{
    st->capturing = 0;
    free(st->buf);
    st->buf = NULL;
    st->len = st->cap = 0;
    dtx_gw_cache_obj_unref(&st->head);
    s_end_fill(st, NULL);
}

void dtx_gw_cache_append(dtx_gw_req_t *req, const char *data, size_t len)
{
    struct dtx_gw_cache_req *st = req->cache;
    if (!st || !st->capturing)
        return;
    if ((int64_t)(st->len + len) > st->cfg->max_object_bytes) {
        s_drop_capture(st);
        return;
    }
    if (st->len + len > st->cap) {
        size_t cap = st->cap ? st->cap : 16384;
        while (cap < st->len + len)
            cap *= 2;
        char *b = realloc(st->buf, cap);
        if (!b) {
            s_drop_capture(st);
            return;
        }
        st->buf = b;
        st->cap = cap;
    }
    memcpy(st->buf + st->len, data, len);
    st->len += len;
}

void dtx_gw_cache_commit(dtx_gw_req_t *req, const char *body, size_t len)
{
    struct dtx_gw_cache_req *st = req->cache;
    if (!st || !st->capturing)
        return;
    if (!body) {
        body = st->buf;
        len = st->len;
    }
    if ((int64_t)len > st->cfg->max_object_bytes) {
        s_drop_capture(st);
        return;
    }
    const dtx_gw_cache_obj_t *h = st->head;
    dtx_gw_cache_obj_t *obj = dtx_gw_cache_obj_new(h->status, h->names, h->values, h->nheaders,
                                                   h->vary_names, h->vary_values, h->nvary,
                                                   body, len);
    if (obj) {
        obj->stored_us = h->stored_us;
        obj->initial_age_s = h->initial_age_s;
        obj->fresh_until_us = h->fresh_until_us;
        obj->stale_until_us = h->stale_until_us;
        if (st->filling) {
            st->filling = 0;
            dtx_gw_cache_finish(st->store, st->key, obj);
        } else {
            dtx_gw_cache_finish(st->store, st->key, obj);   /* STORE: no fill to end */
        }
        dtx_gw_cache_obj_unref(&obj);
    }
    st->capturing = 0;
    s_drop_capture(st);
}

void dtx_gw_cache_done(dtx_gw_req_t *req)
{
    struct dtx_gw_cache_req *st = req->cache;
    if (!st)
        return;
    req->cache = NULL;
    s_drop_capture(st);   /* an unfinished fill ends here: waiters go on */
    dtx_gw_cache_obj_unref(&st->stale);
    dtx_gw_cache_obj_unref(&st->send);
    free(st->key);
    free(st);
}

/* ---------------- generations ---------------- */

static char *s_route_sig(const dtx_gw_config_t *cfg, const dtx_gw_route_cfg_t *c)
{
    size_t len = strlen(c->cache->sig) + 1;
    const char *pools[64];
    int np = 0;
    for (int i = 0; i < c->nsplit && np < 62; i++)
        pools[np++] = c->split[i].pool;
    if (c->backup_pool)
        pools[np++] = c->backup_pool;
    if (c->fallback_pool)
        pools[np++] = c->fallback_pool;
    for (int i = 0; i < np; i++) {
        int k = dtx_gw_config_pool_index(cfg, pools[i]);
        len += (k >= 0 ? strlen(cfg->pools[k].sig) : 0) + 1;
    }
    char *s = malloc(len);
    if (!s)
        return NULL;
    strcpy(s, c->cache->sig);
    for (int i = 0; i < np; i++) {
        int k = dtx_gw_config_pool_index(cfg, pools[i]);
        strcat(s, "|");
        if (k >= 0)
            strcat(s, cfg->pools[k].sig);
    }
    return s;
}

dtx_gw_cache_t *dtx_gw_cache_for_route(const dtx_gw_runtime_t *old, const dtx_gw_config_t *cfg,
                                       const dtx_gw_route_cfg_t *c)
{
    if (!c->cache)
        return NULL;
    char *sig = s_route_sig(cfg, c);
    if (!sig)
        return NULL;
    dtx_gw_cache_t *store = NULL;
    for (int i = 0; old && i < old->nroutes && !store; i++) {
        const dtx_gw_route_t *r = &old->routes[i];
        if (r->cache && strcmp(r->cfg->name, c->name) == 0 &&
            strcmp(dtx_gw_cache_sig(r->cache), sig) == 0)
            store = dtx_gw_cache_ref(r->cache);
    }
    if (!store)
        store = dtx_gw_cache_new((size_t)c->cache->max_bytes, sig);
    free(sig);
    return store;
}
