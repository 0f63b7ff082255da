/*
 * gw_config_auth.c — the identity part of the configuration: the
 * "identity" settings, "consumers" (who calls, their hashed API keys and
 * route allow-lists), "jwt" verifiers (keys, issuer, audience, leeway)
 * and a route's "auth". Defaults and meanings are in docs/gateway.md
 * ("Identity").
 *
 * Invariants: no API key is ever given in clear (only "key_sha256"); a
 * verifier's keys are loaded (and so checked) here, at load time: a key
 * file that does not parse refuses the configuration; an error message
 * never holds a secret's or a file's text.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "dtx/types.h"
#include "config/gw_config_json.h"

/* An HTTP field name: 1..64 token characters (RFC 9110 5.6.2). */
static int s_header_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return 0;
    return strspn(s, "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") == n;
}

static int s_query_name_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= 64 &&
           strspn(s, "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") == n;
}

/* Standard base64 (padding optional, spaces around dropped) -> bytes. */
static long s_b64_decode(const char *in, unsigned char **out)
{
    while (*in == ' ' || *in == '\t' || *in == '\n' || *in == '\r')
        in++;
    size_t len = strlen(in);
    while (len && (in[len - 1] == ' ' || in[len - 1] == '\t' || in[len - 1] == '\n' ||
                   in[len - 1] == '\r'))
        len--;
    size_t pad = 0;
    while (pad < 2 && len > pad && in[len - 1 - pad] == '=')
        pad++;
    size_t bare = len - pad;
    if (bare % 4 == 1 || strspn(in, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                    "0123456789+/") < bare)
        return -1;
    size_t padded = (bare + 3) / 4 * 4;
    char *t = malloc(padded + 1);
    *out = malloc(padded / 4 * 3 + 1);
    long n = -1;
    if (t && *out) {
        memcpy(t, in, bare);
        memset(t + bare, '=', padded - bare);
        int got = EVP_DecodeBlock(*out, (const unsigned char *)t, (int)padded);
        if (got >= 0)
            n = got - (long)(padded - bare);
        OPENSSL_cleanse(t, padded);
    }
    free(t);
    if (n < 0) {
        free(*out);
        *out = NULL;
    }
    return n;
}

/* The whole of a small file (at most 1 MiB), NUL-terminated. */
static char *s_slurp(const char *path, size_t *len, char *why, size_t whylen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, whylen, "cannot read \"%s\": %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        snprintf(why, whylen, "\"%s\" is not a regular file", path);
        return NULL;
    }
    size_t cap = 1 << 20;
    char *buf = malloc(cap + 1);
    size_t n = buf ? fread(buf, 1, cap + 1, f) : 0;
    fclose(f);
    if (!buf || n > cap) {
        free(buf);
        snprintf(why, whylen, "\"%s\" is larger than 1 MiB", path);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int s_consumer(dtx_gw_cfg_ctx_t *c, json_object *v, const char *path, int index,
                      dtx_gw_consumer_cfg_t *cs, dtx_gw_config_t *cfg)
{
    static const char *const keys[] = { "name", "api_keys", "routes", NULL };
    char p[256], q[300];
    if (dtx_gw_cfg_object(c, v, path) < 0 || dtx_gw_cfg_only(c, v, path, keys) < 0 ||
        dtx_gw_cfg_str(c, v, path, "name", 1, NULL, &cs->name) < 0)
        return DTX_ECONFIG;
    dtx_gw_cfg_child(p, sizeof p, path, "name");
    if (!dtx_gw_cfg_name_ok(cs->name))
        return dtx_gw_cfg_fail(c, p, "must be 1-64 of [A-Za-z0-9._-]");
    json_object *r;
    cs->any_route = !json_object_object_get_ex(v, "routes", &r);
    if (dtx_gw_cfg_strings(c, v, path, "routes", &cs->routes, &cs->nroutes) < 0)
        return DTX_ECONFIG;
    json_object *ak;
    if (!json_object_object_get_ex(v, "api_keys", &ak))
        return 0;
    dtx_gw_cfg_child(p, sizeof p, path, "api_keys");
    if (!json_object_is_type(ak, json_type_array))
        return dtx_gw_cfg_fail(c, p, "must be an array of {\"key_sha256\": \"<64 hex digits>\"}");
    size_t n = json_object_array_length(ak);
    dtx_gw_apikey_t *grown = realloc(cfg->apikeys, (size_t)(cfg->napikeys + (int)n + 1) *
                                                       sizeof *cfg->apikeys);
    if (!grown)
        return dtx_gw_cfg_fail(c, p, "out of memory");
    cfg->apikeys = grown;
    for (size_t i = 0; i < n; i++) {
        static const char *const kkeys[] = { "key_sha256", NULL };
        json_object *e = json_object_array_get_idx(ak, i);
        char *hex = NULL;
        dtx_gw_cfg_index(q, sizeof q, p, i);
        if (json_object_is_type(e, json_type_object) && json_object_object_get_ex(e, "key", NULL))
            return dtx_gw_cfg_fail(c, q, "keys are never given in clear: give key_sha256, "
                                         "the SHA-256 of the key in hex (docs/gateway.md, "
                                         "Identity)");
        if (dtx_gw_cfg_object(c, e, q) < 0 || dtx_gw_cfg_only(c, e, q, kkeys) < 0 ||
            dtx_gw_cfg_str(c, e, q, "key_sha256", 1, NULL, &hex) < 0)
            return DTX_ECONFIG;
        dtx_gw_apikey_t *k = &cfg->apikeys[cfg->napikeys];
        int bad = dtx_gw_sha256_hex_parse(hex, k->digest) < 0;
        free(hex);
        if (bad) {
            char kp[360];
            dtx_gw_cfg_child(kp, sizeof kp, q, "key_sha256");
            return dtx_gw_cfg_fail(c, kp, "must be 64 hex digits (the SHA-256 of the key)");
        }
        k->owner = index;
        cfg->napikeys++;
    }
    return 0;
}

static int s_jwt(dtx_gw_cfg_ctx_t *c, json_object *v, const char *path, dtx_gw_jwt_cfg_t *j,
                 int64_t jwks_check_ms)
{
    static const char *const keys[] = { "name", "algorithm", "secret_base64", "secret_file",
        "public_key", "public_key_file", "jwks_file", "issuer", "audience", "leeway_s",
        "consumer_claim", NULL };
    char p[256], why[300];
    char *alg = NULL, *secret = NULL, *secret_file = NULL, *pem = NULL, *pem_file = NULL,
         *jwks = NULL;
    int rc = DTX_ECONFIG;
    if (dtx_gw_cfg_object(c, v, path) < 0 || dtx_gw_cfg_only(c, v, path, keys) < 0 ||
        dtx_gw_cfg_str(c, v, path, "name", 1, NULL, &j->name) < 0)
        return DTX_ECONFIG;
    dtx_gw_cfg_child(p, sizeof p, path, "name");
    if (!dtx_gw_cfg_name_ok(j->name))
        return dtx_gw_cfg_fail(c, p, "must be 1-64 of [A-Za-z0-9._-]");
    if (dtx_gw_cfg_str(c, v, path, "algorithm", 0, NULL, &alg) < 0 ||
        dtx_gw_cfg_str(c, v, path, "secret_base64", 0, NULL, &secret) < 0 ||
        dtx_gw_cfg_str(c, v, path, "secret_file", 0, NULL, &secret_file) < 0 ||
        dtx_gw_cfg_str(c, v, path, "public_key", 0, NULL, &pem) < 0 ||
        dtx_gw_cfg_str(c, v, path, "public_key_file", 0, NULL, &pem_file) < 0 ||
        dtx_gw_cfg_str(c, v, path, "jwks_file", 0, NULL, &jwks) < 0 ||
        dtx_gw_cfg_str(c, v, path, "issuer", 0, NULL, &j->issuer) < 0 ||
        dtx_gw_cfg_str(c, v, path, "audience", 0, NULL, &j->audience) < 0 ||
        dtx_gw_cfg_int(c, v, path, "leeway_s", 0, 3600, 0, &j->leeway_s) < 0 ||
        dtx_gw_cfg_str(c, v, path, "consumer_claim", 0, "sub", &j->claim) < 0)
        goto out;
    int sources = !!secret + !!secret_file + !!pem + !!pem_file + !!jwks;
    if (sources != 1) {
        dtx_gw_cfg_fail(c, path, "needs exactly one of secret_base64, secret_file (HS256), "
                                 "public_key, public_key_file (RS256, ES256) or jwks_file");
        goto out;
    }
    dtx_gw_cfg_child(p, sizeof p, path, "algorithm");
    int a = dtx_gw_jwt_alg_parse(alg);
    if (jwks) {
        if (alg) {
            dtx_gw_cfg_fail(c, p, "is not given with jwks_file (each key's type sets it)");
            goto out;
        }
        dtx_gw_cfg_child(p, sizeof p, path, "jwks_file");
        if (dtx_gw_jwks_open(&j->jwks, jwks, jwks_check_ms, why, sizeof why) < 0) {
            dtx_gw_cfg_fail(c, p, "%s", why);
            goto out;
        }
    } else if (a < 0) {
        dtx_gw_cfg_fail(c, p, alg ? "must be HS256, RS256 or ES256 (\"none\" is never allowed)"
                                  : "is required (HS256, RS256 or ES256)");
        goto out;
    } else if (secret || secret_file) {
        const char *field = secret ? "secret_base64" : "secret_file";
        dtx_gw_cfg_child(p, sizeof p, path, field);
        if (a != DTX_GW_JWT_HS256) {
            dtx_gw_cfg_fail(c, p, "is for HS256; RS256 and ES256 take public_key or "
                                  "public_key_file");
            goto out;
        }
        char *text = secret;
        size_t tl;
        if (secret_file && !(text = s_slurp(secret_file, &tl, why, sizeof why))) {
            dtx_gw_cfg_fail(c, p, "%s", why);
            goto out;
        }
        unsigned char *raw = NULL;
        long n = s_b64_decode(text, &raw);
        if (secret_file) {
            OPENSSL_cleanse(text, strlen(text));
            free(text);
        }
        if (n < 0) {
            dtx_gw_cfg_fail(c, p, "must be base64 (make one with: openssl rand -base64 32)");
            goto out;
        }
        int r = dtx_gw_jwt_keyset_secret(&j->keys, raw, (size_t)n, why, sizeof why);
        OPENSSL_cleanse(raw, (size_t)n);
        free(raw);
        if (r < 0) {
            dtx_gw_cfg_fail(c, p, "%s", why);
            goto out;
        }
    } else {
        const char *field = pem ? "public_key" : "public_key_file";
        dtx_gw_cfg_child(p, sizeof p, path, field);
        if (a == DTX_GW_JWT_HS256) {
            dtx_gw_cfg_fail(c, p, "is for RS256 or ES256; HS256 takes secret_base64 or "
                                  "secret_file");
            goto out;
        }
        char *text = pem;
        size_t tl = pem ? strlen(pem) : 0;
        if (pem_file && !(text = s_slurp(pem_file, &tl, why, sizeof why))) {
            dtx_gw_cfg_fail(c, p, "%s", why);
            goto out;
        }
        int r = dtx_gw_jwt_keyset_pem(&j->keys, (dtx_gw_jwt_alg_t)a, text, tl, why, sizeof why);
        if (pem_file)
            free(text);
        if (r < 0) {
            dtx_gw_cfg_fail(c, p, "%s", why);
            goto out;
        }
    }
    dtx_gw_cfg_child(p, sizeof p, path, "consumer_claim");
    if (!*j->claim) {
        dtx_gw_cfg_fail(c, p, "must not be empty");
        goto out;
    }
    rc = 0;
out:
    if (secret)
        OPENSSL_cleanse(secret, strlen(secret));
    free(alg);
    free(secret);
    free(secret_file);
    free(pem);
    free(pem_file);
    free(jwks);
    return rc;
}

int dtx_gw_cfg_identity(dtx_gw_cfg_ctx_t *c, json_object *root, dtx_gw_config_t *cfg)
{
    json_object *o;
    char p[64];
    cfg->jwks_check_ms = 1000;
    if (json_object_object_get_ex(root, "identity", &o)) {
        static const char *const keys[] = { "consumer_header", "jwks_check_ms", NULL };
        if (dtx_gw_cfg_object(c, o, "identity") < 0 ||
            dtx_gw_cfg_only(c, o, "identity", keys) < 0 ||
            dtx_gw_cfg_str(c, o, "identity", "consumer_header", 0, "X-Consumer",
                           &cfg->consumer_header) < 0 ||
            dtx_gw_cfg_int(c, o, "identity", "jwks_check_ms", 10, 3600000, 1000,
                           &cfg->jwks_check_ms) < 0)
            return DTX_ECONFIG;
    } else {
        cfg->consumer_header = strdup("X-Consumer");
    }
    if (!cfg->consumer_header || !s_header_name_ok(cfg->consumer_header))
        return dtx_gw_cfg_fail(c, "identity.consumer_header", "must be a header name "
                                                             "(1-64 token characters)");
    if (json_object_object_get_ex(root, "consumers", &o)) {
        if (!json_object_is_type(o, json_type_array))
            return dtx_gw_cfg_fail(c, "consumers", "must be an array");
        size_t n = json_object_array_length(o);
        cfg->consumers = calloc(n ? n : 1, sizeof *cfg->consumers);
        if (!cfg->consumers)
            return dtx_gw_cfg_fail(c, "consumers", "out of memory");
        for (size_t i = 0; i < n; i++) {
            snprintf(p, sizeof p, "consumers[%zu]", i);
            cfg->nconsumers++;
            if (s_consumer(c, json_object_array_get_idx(o, i), p, (int)i,
                           &cfg->consumers[i], cfg) < 0)
                return DTX_ECONFIG;
            for (size_t k = 0; k < i; k++)
                if (strcmp(cfg->consumers[k].name, cfg->consumers[i].name) == 0) {
                    snprintf(p, sizeof p, "consumers[%zu].name", i);
                    return dtx_gw_cfg_fail(c, p, "duplicate consumer name \"%s\"",
                                           cfg->consumers[i].name);
                }
        }
    }
    int dup = dtx_gw_apikey_sort(cfg->apikeys, cfg->napikeys);
    if (dup >= 0)
        return dtx_gw_cfg_fail(c, "consumers", "one API key (key_sha256) is given twice "
                                               "(consumers \"%s\" and \"%s\")",
                               cfg->consumers[cfg->apikeys[dup - 1].owner].name,
                               cfg->consumers[cfg->apikeys[dup].owner].name);
    if (json_object_object_get_ex(root, "jwt", &o)) {
        if (!json_object_is_type(o, json_type_array))
            return dtx_gw_cfg_fail(c, "jwt", "must be an array");
        size_t n = json_object_array_length(o);
        cfg->jwts = calloc(n ? n : 1, sizeof *cfg->jwts);
        if (!cfg->jwts)
            return dtx_gw_cfg_fail(c, "jwt", "out of memory");
        for (size_t i = 0; i < n; i++) {
            snprintf(p, sizeof p, "jwt[%zu]", i);
            cfg->njwts++;
            if (s_jwt(c, json_object_array_get_idx(o, i), p, &cfg->jwts[i],
                      cfg->jwks_check_ms) < 0)
                return DTX_ECONFIG;
            for (size_t k = 0; k < i; k++)
                if (strcmp(cfg->jwts[k].name, cfg->jwts[i].name) == 0) {
                    snprintf(p, sizeof p, "jwt[%zu].name", i);
                    return dtx_gw_cfg_fail(c, p, "duplicate jwt name \"%s\"", cfg->jwts[i].name);
                }
        }
    }
    return 0;
}

int dtx_gw_cfg_route_auth(dtx_gw_cfg_ctx_t *c, json_object *v, const char *path,
                          dtx_gw_route_cfg_t *r)
{
    json_object *a, *k;
    char p[256], q[300];
    if (!json_object_object_get_ex(v, "auth", &a))
        return 0;
    static const char *const keys[] = { "api_key", "jwt", NULL };
    dtx_gw_cfg_child(p, sizeof p, path, "auth");
    if (dtx_gw_cfg_object(c, a, p) < 0 || dtx_gw_cfg_only(c, a, p, keys) < 0 ||
        dtx_gw_cfg_strings(c, a, p, "jwt", &r->jwt, &r->njwt) < 0)
        return DTX_ECONFIG;
    if (json_object_object_get_ex(a, "api_key", &k)) {
        static const char *const kkeys[] = { "header", "query", "strip", NULL };
        dtx_gw_cfg_child(q, sizeof q, p, "api_key");
        if (dtx_gw_cfg_object(c, k, q) < 0 || dtx_gw_cfg_only(c, k, q, kkeys) < 0 ||
            dtx_gw_cfg_str(c, k, q, "query", 0, NULL, &r->key_query) < 0 ||
            dtx_gw_cfg_str(c, k, q, "header", 0, r->key_query ? NULL : "X-Api-Key",
                           &r->key_header) < 0 ||
            dtx_gw_cfg_bool(c, k, q, "strip", 1, &r->key_strip) < 0)
            return DTX_ECONFIG;
        char f[360];
        if (r->key_header && !s_header_name_ok(r->key_header)) {
            dtx_gw_cfg_child(f, sizeof f, q, "header");
            return dtx_gw_cfg_fail(c, f, "must be a header name (1-64 token characters)");
        }
        if (r->key_query && !s_query_name_ok(r->key_query)) {
            dtx_gw_cfg_child(f, sizeof f, q, "query");
            return dtx_gw_cfg_fail(c, f, "must be 1-64 of [A-Za-z0-9._~-]");
        }
        r->api_key = 1;
    }
    if (!r->api_key && r->njwt == 0)
        return dtx_gw_cfg_fail(c, p, "needs api_key, jwt or both");
    r->auth = 1;
    return 0;
}

int dtx_gw_cfg_auth_check(dtx_gw_cfg_ctx_t *c, dtx_gw_config_t *cfg)
{
    char p[300];
    for (int i = 0; i < cfg->nroutes; i++) {
        dtx_gw_route_cfg_t *r = &cfg->routes[i];
        if (r->njwt) {
            r->jwt_index = calloc((size_t)r->njwt, sizeof *r->jwt_index);
            if (!r->jwt_index)
                return dtx_gw_cfg_fail(c, "routes", "out of memory");
        }
        for (int k = 0; k < r->njwt; k++) {
            r->jwt_index[k] = -1;
            for (int j = 0; j < cfg->njwts; j++)
                if (strcmp(cfg->jwts[j].name, r->jwt[k]) == 0)
                    r->jwt_index[k] = j;
            if (r->jwt_index[k] < 0) {
                snprintf(p, sizeof p, "routes[%d].auth.jwt[%d]", i, k);
                return dtx_gw_cfg_fail(c, p, "no jwt verifier named \"%s\"", r->jwt[k]);
            }
        }
        if (r->key_header && strcasecmp(r->key_header, cfg->consumer_header) == 0) {
            snprintf(p, sizeof p, "routes[%d].auth.api_key.header", i);
            return dtx_gw_cfg_fail(c, p, "must differ from identity.consumer_header");
        }
    }
    for (int i = 0; i < cfg->nconsumers; i++)
        for (int k = 0; k < cfg->consumers[i].nroutes; k++) {
            int found = 0;
            for (int j = 0; j < cfg->nroutes && !found; j++)
                found = strcmp(cfg->routes[j].name, cfg->consumers[i].routes[k]) == 0;
            if (!found) {
                snprintf(p, sizeof p, "consumers[%d].routes[%d]", i, k);
                return dtx_gw_cfg_fail(c, p, "no route named \"%s\"",
                                       cfg->consumers[i].routes[k]);
            }
        }
    /* A rule keyed by consumer on a route without auth would never apply. */
    for (int i = 0; i < cfg->nroutes; i++)
        for (int k = 0; !cfg->routes[i].auth && k < cfg->routes[i].nrules; k++) {
            int ri = dtx_gw_config_rule_index(cfg, cfg->routes[i].rules[k]);
            if (ri >= 0 && cfg->rules[ri].key == DTX_GW_KEY_CONSUMER) {
                snprintf(p, sizeof p, "routes[%d].rules[%d]", i, k);
                return dtx_gw_cfg_fail(c, p, "rule \"%s\" is keyed by consumer: the route "
                                             "needs auth", cfg->rules[ri].name);
            }
        }
    return 0;
}
