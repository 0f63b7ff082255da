/*
 * gw_auth.c — the identity filter (gw_auth.h).
 *
 * Invariants: an API key or token is never logged nor copied beyond this
 * request; the consumer header upstream is only ever the gateway's
 * (client copies are dropped on every route); the key decides a JWT's
 * algorithm (core/gw_jwt.h).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/gw_apikey.h"
#include "core/gw_clock.h"
#include "core/gw_jwks.h"
#include "core/gw_jwt.h"
#include "filters/gw_auth.h"
#include "filters/gw_generation.h"
#include "filters/gw_route.h"

#define S_REALM "dtx-gateway"

static int64_t (*s_clock)(void);

void dtx_gw_auth_clock_set(int64_t (*fn)(void))
{
    s_clock = fn;
}

static int64_t s_now_s(void)
{
    return s_clock ? s_clock() : (int64_t)time(NULL);
}

/* Percent-decodes [p, p+n) into out (cap bytes, NUL-terminated); -1 when
 * it does not fit or an escape is bad. '+' stays '+' (keys are not form
 * text). */
static long s_unescape(const char *p, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (ch == '%') {
            if (i + 2 >= n)
                return -1;
            char hx[3] = { p[i + 1], p[i + 2], 0 };
            char *end;
            long v = strtol(hx, &end, 16);
            if (end != hx + 2 || v == 0)
                return -1;
            ch = (char)v;
            i += 2;
        }
        if (o + 1 >= cap)
            return -1;
        out[o++] = ch;
    }
    out[o] = '\0';
    return (long)o;
}

/* The value of parameter name in query (its first occurrence): *at and
 * *len are the "name=value" span; value decoded into out. 1 found, 0 not,
 * -1 undecodable. */
static int s_query_param(const char *query, const char *name, char *out, size_t cap,
                         size_t *at, size_t *len)
{
    size_t nl = strlen(name);
    for (const char *p = query; p && *p;) {
        size_t k = strcspn(p, "&");
        if (k > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            *at = (size_t)(p - query);
            *len = k;
            return s_unescape(p + nl + 1, k - nl - 1, out, cap) < 0 ? -1 : 1;
        }
        p += k;
        if (*p == '&')
            p++;
    }
    return 0;
}

/* req->query without the span [at, at+len) and its '&'. 0, or -1 when
 * out of memory. */
static int s_query_drop(dtx_gw_req_t *req, size_t at, size_t len)
{
    const char *q = req->query;
    size_t ql = strlen(q);
    char *nq = malloc(ql + 1);
    if (!nq)
        return -1;
    size_t o = 0;
    memcpy(nq, q, at);
    o = at;
    size_t rest = at + len;
    if (q[rest] == '&')
        rest++;
    else if (o > 0)
        o--;   /* the last parameter: drop the '&' before it */
    memcpy(nq + o, q + rest, ql - rest);
    o += ql - rest;
    nq[o] = '\0';
    free(req->query_owned);
    req->query_owned = nq;
    req->query = o ? nq : NULL;
    return 0;
}

static int s_allowed(const dtx_gw_consumer_cfg_t *cs, const char *route)
{
    if (cs->any_route)
        return 1;
    for (int i = 0; i < cs->nroutes; i++)
        if (strcmp(cs->routes[i], route) == 0)
            return 1;
    return 0;
}

static int s_unauthorized(dtx_gw_req_t *req, int result, int tried_jwt, int tried_key)
{
    const dtx_gw_route_cfg_t *r = req->route->cfg;
    char ch[192];
    size_t n = 0;
    ch[0] = '\0';
    if (r->njwt) {
        n += (size_t)snprintf(ch + n, sizeof ch - n, "Bearer realm=\"" S_REALM "\"%s",
                              tried_jwt ? ", error=\"invalid_token\"" : "");
    }
    if (r->api_key && n < sizeof ch) {
        n += (size_t)snprintf(ch + n, sizeof ch - n, "%sApiKey realm=\"" S_REALM "\", %s=\"%s\"",
                              n ? ", " : "", r->key_header ? "header" : "query",
                              r->key_header ? r->key_header : r->key_query);
    }
    (void)tried_key;
    atomic_fetch_add(&req->route->stats->auth_failures[result], 1);
    dtx_gw_reply_set(req, 401, "application/json",
                     "{\"error\":\"unauthorized\",\"reason\":\"%s\"}", dtx_gw_auth_reason(result));
    dtx_gw_reply_header(req, "WWW-Authenticate", "%s", ch);
    return DTX_GW_REPLY;
}

static int s_forbidden(dtx_gw_req_t *req)
{
    atomic_fetch_add(&req->route->stats->auth_failures[DTX_GW_AUTH_FORBIDDEN], 1);
    dtx_gw_reply_set(req, 403, "application/json", "{\"error\":\"forbidden\"}");
    return DTX_GW_REPLY;
}

/* A failure that says more than another (expired over bad_signature when
 * several verifiers were tried). */
static int s_rank(int result)
{
    return result == DTX_GW_AUTH_UNKNOWN_KEY ? 1 : result == DTX_GW_AUTH_BAD_SIGNATURE ? 2 : 3;
}

static int s_jwt(dtx_gw_req_t *req, const char *token, size_t len, int *who)
{
    const dtx_gw_config_t *cfg = req->rt->cfg;
    const dtx_gw_route_cfg_t *r = req->route->cfg;
    int best = DTX_GW_AUTH_UNKNOWN_KEY;
    int64_t now_s = s_now_s();
    char claim[72];
    for (int i = 0; i < r->njwt; i++) {
        dtx_gw_jwt_cfg_t *j = &cfg->jwts[r->jwt_index[i]];
        dtx_gw_jwt_keyset_t *ks = j->jwks ? dtx_gw_jwks_get(j->jwks, dtx_gw_loop_us() / 1000)
                                          : j->keys;
        dtx_gw_jwt_params_t prm = { j->issuer, j->audience, j->leeway_s, j->claim };
        int rc = dtx_gw_jwt_verify(token, len, ks, &prm, now_s, claim, sizeof claim);
        if (j->jwks)
            dtx_gw_jwt_keyset_unref(&ks);
        if (rc == DTX_GW_AUTH_OK) {
            *who = dtx_gw_config_consumer_index(cfg, claim);
            return DTX_GW_AUTH_OK;
        }
        if (rc == DTX_GW_AUTH_MALFORMED)
            return rc;   /* no other verifier will read it better */
        if (s_rank(rc) > s_rank(best) || i == 0)
            best = rc;
    }
    return best;
}

int dtx_gw_auth_head(dtx_gw_req_t *req)
{
    if (!req->rt || !req->rt->cfg)
        return DTX_GW_NEXT;
    const dtx_gw_config_t *cfg = req->rt->cfg;
    req->consumer_header = cfg->consumer_header;
    req->consumer[0] = '\0';
    if (!req->route || !req->route->cfg->auth)
        return DTX_GW_NEXT;
    const dtx_gw_route_cfg_t *r = req->route->cfg;
    int who = -1, result = DTX_GW_AUTH_MISSING, tried_jwt = 0, tried_key = 0;
    if (r->api_key) {
        const char *hv = r->key_header && req->header
                             ? req->header(req->header_ctx, r->key_header) : NULL;
        if (hv && *hv) {
            tried_key = 1;
            who = dtx_gw_apikey_find(cfg->apikeys, cfg->napikeys, hv, strlen(hv));
            result = who >= 0 ? DTX_GW_AUTH_OK : DTX_GW_AUTH_UNKNOWN_KEY;
            if (r->key_strip)
                req->drop_header = r->key_header;
        } else if (r->key_query && req->query) {
            char key[512];
            size_t at = 0, len = 0;
            int f = s_query_param(req->query, r->key_query, key, sizeof key, &at, &len);
            if (f != 0) {
                tried_key = 1;
                if (f < 0) {
                    result = DTX_GW_AUTH_MALFORMED;
                } else {
                    who = dtx_gw_apikey_find(cfg->apikeys, cfg->napikeys, key, strlen(key));
                    result = who >= 0 ? DTX_GW_AUTH_OK : DTX_GW_AUTH_UNKNOWN_KEY;
                }
                memset(key, 0, sizeof key);
                if (r->key_strip && s_query_drop(req, at, len) < 0) {
                    /* never forward a key the route strips */
                    dtx_gw_reply_set(req, 503, "application/json",
                                     "{\"error\":\"out of memory\"}");
                    return DTX_GW_REPLY;
                }
            }
        }
    }
    if (!tried_key && r->njwt) {
        const char *az = req->header ? req->header(req->header_ctx, "Authorization") : NULL;
        if (az && strncasecmp(az, "Bearer", 6) == 0 && (az[6] == ' ' || az[6] == '\t')) {
            const char *t = az + 7;
            while (*t == ' ' || *t == '\t')
                t++;
            size_t tl = strlen(t);
            while (tl && (t[tl - 1] == ' ' || t[tl - 1] == '\t'))
                tl--;
            tried_jwt = 1;
            result = tl ? s_jwt(req, t, tl, &who) : DTX_GW_AUTH_MALFORMED;
            if (result == DTX_GW_AUTH_OK && who < 0)
                return s_forbidden(req);   /* a valid token naming no consumer */
        }
    }
    if (result != DTX_GW_AUTH_OK)
        return s_unauthorized(req, result, tried_jwt, tried_key);
    const dtx_gw_consumer_cfg_t *cs = &cfg->consumers[who];
    if (!s_allowed(cs, r->name))
        return s_forbidden(req);
    snprintf(req->consumer, sizeof req->consumer, "%s", cs->name);
    return DTX_GW_NEXT;
}
