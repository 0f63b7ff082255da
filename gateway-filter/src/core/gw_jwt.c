/*
 * gw_jwt.c — JWT verification and key sets (gw_jwt.h).
 *
 * Invariant: the key chosen for a token fixes the algorithm; the token's
 * "alg" must equal it or the token is refused before any signature
 * work (no "none", no HS256 with an RSA key's bytes as the secret).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "dtx/types.h"
#include "core/gw_jwt.h"

const char *dtx_gw_auth_reason(int r)
{
    static const char *const names[] = { "ok", "missing", "malformed", "bad_signature",
        "expired", "not_yet_valid", "wrong_issuer", "wrong_audience", "unknown_key",
        "forbidden" };
    return r >= 0 && r < DTX_GW_AUTH_NREASONS ? names[r] : "unknown";
}

int dtx_gw_jwt_alg_parse(const char *name)
{
    if (!name)
        return -1;
    if (strcmp(name, "HS256") == 0) return DTX_GW_JWT_HS256;
    if (strcmp(name, "RS256") == 0) return DTX_GW_JWT_RS256;
    if (strcmp(name, "ES256") == 0) return DTX_GW_JWT_ES256;
    return -1;
}

/* ---------------- base64url ---------------- */

long dtx_gw_b64url_decode(const char *in, size_t len, unsigned char *out)
{
    if (len % 4 == 1)
        return -1;
    size_t padded = (len + 3) / 4 * 4;
    char *t = malloc(padded + 1);
    if (!t)
        return -1;
    for (size_t i = 0; i < len; i++) {
        char ch = in[i];
        if (ch == '-') ch = '+';
        else if (ch == '_') ch = '/';
        else if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                   (ch >= '0' && ch <= '9'))) {
            free(t);
            return -1;
        }
        t[i] = ch;
    }
    for (size_t i = len; i < padded; i++)
        t[i] = '=';
    t[padded] = '\0';
    long n = 0;
    if (padded) {
        int got = EVP_DecodeBlock(out, (const unsigned char *)t, (int)padded);
        n = got < 0 ? -1 : got - (long)(padded - len);
    }
    free(t);
    return n;
}

/* ---------------- key sets ---------------- */

static dtx_gw_jwt_keyset_t *s_keyset(int n)
{
    dtx_gw_jwt_keyset_t *ks = calloc(1, sizeof *ks);
    if (!ks)
        return NULL;
    ks->keys = calloc((size_t)(n ? n : 1), sizeof *ks->keys);
    if (!ks->keys) {
        free(ks);
        return NULL;
    }
    atomic_init(&ks->refs, 1);
    return ks;
}

static void s_keyset_free(dtx_gw_jwt_keyset_t *ks)
{
    for (int i = 0; i < ks->nkeys; i++) {
        EVP_PKEY_free(ks->keys[i].pkey);
        if (ks->keys[i].secret) {
            OPENSSL_cleanse(ks->keys[i].secret, ks->keys[i].secret_len);
            free(ks->keys[i].secret);
        }
    }
    free(ks->keys);
    free(ks);
}

void dtx_gw_jwt_keyset_ref(dtx_gw_jwt_keyset_t *self)
{
    if (self)
        atomic_fetch_add(&self->refs, 1);
}

void dtx_gw_jwt_keyset_unref(dtx_gw_jwt_keyset_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    if (atomic_fetch_sub(&(*self_p)->refs, 1) == 1)
        s_keyset_free(*self_p);
    *self_p = NULL;
}

int dtx_gw_jwt_keyset_secret(dtx_gw_jwt_keyset_t **out, const unsigned char *secret,
                             size_t len, char *err, size_t errlen)
{
    *out = NULL;
    if (len < 32) {
        snprintf(err, errlen, "an HS256 secret must be at least 32 bytes (RFC 7518 3.2)");
        return DTX_ECONFIG;
    }
    dtx_gw_jwt_keyset_t *ks = s_keyset(1);
    if (!ks || !(ks->keys[0].secret = malloc(len))) {
        if (ks)
            s_keyset_free(ks);
        snprintf(err, errlen, "out of memory");
        return DTX_ENOMEM;
    }
    memcpy(ks->keys[0].secret, secret, len);
    ks->keys[0].secret_len = len;
    ks->keys[0].alg = DTX_GW_JWT_HS256;
    ks->nkeys = 1;
    *out = ks;
    return 0;
}

/* 0 when pkey suits alg, else a message in err. */
static int s_pkey_check(EVP_PKEY *pkey, dtx_gw_jwt_alg_t alg, char *err, size_t errlen)
{
    if (alg == DTX_GW_JWT_RS256) {
        if (!EVP_PKEY_is_a(pkey, "RSA")) {
            snprintf(err, errlen, "RS256 needs an RSA public key");
            return DTX_ECONFIG;
        }
        if (EVP_PKEY_get_bits(pkey) < 2048) {
            snprintf(err, errlen, "RSA key of %d bits: at least 2048 needed",
                     EVP_PKEY_get_bits(pkey));
            return DTX_ECONFIG;
        }
        return 0;
    }
    if (alg == DTX_GW_JWT_ES256) {
        char group[64] = "";
        if (!EVP_PKEY_is_a(pkey, "EC") ||
            !EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                            sizeof group, NULL) ||
            strcmp(group, "prime256v1") != 0) {
            snprintf(err, errlen, "ES256 needs an EC public key on P-256");
            return DTX_ECONFIG;
        }
        return 0;
    }
    snprintf(err, errlen, "HS256 takes a secret, not a public key");
    return DTX_ECONFIG;
}

int dtx_gw_jwt_keyset_pem(dtx_gw_jwt_keyset_t **out, dtx_gw_jwt_alg_t alg, const char *pem,
                          size_t len, char *err, size_t errlen)
{
    *out = NULL;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pkey = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!pkey) {
        snprintf(err, errlen, "not a PEM public key (-----BEGIN PUBLIC KEY-----)");
        return DTX_ECONFIG;
    }
    if (s_pkey_check(pkey, alg, err, errlen) < 0) {
        EVP_PKEY_free(pkey);
        return DTX_ECONFIG;
    }
    dtx_gw_jwt_keyset_t *ks = s_keyset(1);
    if (!ks) {
        EVP_PKEY_free(pkey);
        snprintf(err, errlen, "out of memory");
        return DTX_ENOMEM;
    }
    ks->keys[0].pkey = pkey;
    ks->keys[0].alg = alg;
    ks->nkeys = 1;
    *out = ks;
    return 0;
}

/* A base64url member of a JWK into a BIGNUM (or bytes). NULL when absent
 * or bad. */
static unsigned char *s_jwk_bytes(json_object *jwk, const char *name, long *n)
{
    json_object *v;
    if (!json_object_object_get_ex(jwk, name, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    size_t len = (size_t)json_object_get_string_len(v);
    unsigned char *b = malloc(len * 3 / 4 + 3);
    if (!b)
        return NULL;
    *n = dtx_gw_b64url_decode(json_object_get_string(v), len, b);
    if (*n <= 0) {
        free(b);
        return NULL;
    }
    return b;
}

static EVP_PKEY *s_jwk_rsa(json_object *jwk)
{
    long nl = 0, el = 0;
    unsigned char *n = s_jwk_bytes(jwk, "n", &nl), *e = s_jwk_bytes(jwk, "e", &el);
    EVP_PKEY *pkey = NULL;
    BIGNUM *bn = n ? BN_bin2bn(n, (int)nl, NULL) : NULL;
    BIGNUM *be = e ? BN_bin2bn(e, (int)el, NULL) : NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    if (bn && be && bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) &&
        (params = OSSL_PARAM_BLD_to_param(bld)) &&
        (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) &&
        EVP_PKEY_fromdata_init(ctx) > 0)
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    free(n);
    free(e);
    return pkey;
}

static EVP_PKEY *s_jwk_ec(json_object *jwk)
{
    json_object *crv;
    if (!json_object_object_get_ex(jwk, "crv", &crv) ||
        strcmp(json_object_get_string(crv), "P-256") != 0)
        return NULL;
    long xl = 0, yl = 0;
    unsigned char *x = s_jwk_bytes(jwk, "x", &xl), *y = s_jwk_bytes(jwk, "y", &yl);
    EVP_PKEY *pkey = NULL;
    if (x && y && xl == 32 && yl == 32) {
        unsigned char pub[65];
        pub[0] = 0x04;
        memcpy(pub + 1, x, 32);
        memcpy(pub + 33, y, 32);
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0),
            OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub),
            OSSL_PARAM_construct_end()
        };
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        if (ctx && EVP_PKEY_fromdata_init(ctx) > 0)
            EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
        EVP_PKEY_CTX_free(ctx);
        if (pkey) {
            /* The point must be on the curve. */
            EVP_PKEY_CTX *chk = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
            if (!chk || EVP_PKEY_public_check(chk) != 1) {
                EVP_PKEY_free(pkey);
                pkey = NULL;
            }
            EVP_PKEY_CTX_free(chk);
        }
    }
    free(x);
    free(y);
    return pkey;
}

int dtx_gw_jwt_keyset_jwks(dtx_gw_jwt_keyset_t **out, const char *json, size_t len,
                           char *err, size_t errlen)
{
    *out = NULL;
    json_tokener *tok = json_tokener_new_ex(16);
    json_object *root = tok ? json_tokener_parse_ex(tok, json, (int)len) : NULL;
    int ok = tok && root && json_tokener_get_error(tok) == json_tokener_success;
    json_tokener_free(tok);
    json_object *keys;
    if (!ok || !json_object_is_type(root, json_type_object) ||
        !json_object_object_get_ex(root, "keys", &keys) ||
        !json_object_is_type(keys, json_type_array) || json_object_array_length(keys) == 0) {
        json_object_put(root);
        snprintf(err, errlen, "not a JWKS document ({\"keys\": [...]} with at least one key)");
        return DTX_ECONFIG;
    }
    int n = (int)json_object_array_length(keys);
    dtx_gw_jwt_keyset_t *ks = s_keyset(n);
    if (!ks) {
        json_object_put(root);
        snprintf(err, errlen, "out of memory");
        return DTX_ENOMEM;
    }
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        json_object *jwk = json_object_array_get_idx(keys, (size_t)i), *v;
        dtx_gw_jwt_key_t *k = &ks->keys[ks->nkeys];
        const char *kty = json_object_is_type(jwk, json_type_object) &&
                                  json_object_object_get_ex(jwk, "kty", &v)
                              ? json_object_get_string(v) : "";
        if (json_object_object_get_ex(jwk, "use", &v) &&
            strcmp(json_object_get_string(v), "sig") != 0) {
            snprintf(err, errlen, "keys[%d].use: must be \"sig\"", i);
            rc = DTX_ECONFIG;
            break;
        }
        if (strcmp(kty, "RSA") == 0) {
            k->alg = DTX_GW_JWT_RS256;
            k->pkey = s_jwk_rsa(jwk);
        } else if (strcmp(kty, "EC") == 0) {
            k->alg = DTX_GW_JWT_ES256;
            k->pkey = s_jwk_ec(jwk);
        } else {
            snprintf(err, errlen, "keys[%d].kty: must be RSA or EC", i);
            rc = DTX_ECONFIG;
            break;
        }
        if (!k->pkey) {
            snprintf(err, errlen, "keys[%d]: not a valid %s public key", i,
                     k->alg == DTX_GW_JWT_RS256 ? "RSA (n, e)" : "EC P-256 (crv, x, y)");
            rc = DTX_ECONFIG;
            break;
        }
        ks->nkeys++;
        char why[160];
        if (s_pkey_check(k->pkey, k->alg, why, sizeof why) < 0) {
            snprintf(err, errlen, "keys[%d]: %s", i, why);
            rc = DTX_ECONFIG;
            break;
        }
        if (json_object_object_get_ex(jwk, "alg", &v) &&
            dtx_gw_jwt_alg_parse(json_object_get_string(v)) != (int)k->alg) {
            snprintf(err, errlen, "keys[%d].alg: must be %s for this key", i,
                     k->alg == DTX_GW_JWT_RS256 ? "RS256" : "ES256");
            rc = DTX_ECONFIG;
            break;
        }
        if (json_object_object_get_ex(jwk, "kid", &v)) {
            const char *kid = json_object_get_string(v);
            if (!json_object_is_type(v, json_type_string) || !*kid ||
                strlen(kid) >= sizeof k->kid) {
                snprintf(err, errlen, "keys[%d].kid: must be a string of 1-127 bytes", i);
                rc = DTX_ECONFIG;
                break;
            }
            snprintf(k->kid, sizeof k->kid, "%s", kid);
        }
    }
    json_object_put(root);
    if (rc < 0) {
        s_keyset_free(ks);
        return rc;
    }
    *out = ks;
    return 0;
}

/* ---------------- verification ---------------- */

/* A base64url part decoded into a JSON object; NULL when it is not one. */
static json_object *s_part_json(const char *p, size_t len)
{
    unsigned char *b = malloc(len * 3 / 4 + 3);
    if (!b)
        return NULL;
    long n = dtx_gw_b64url_decode(p, len, b);
    json_object *o = NULL;
    if (n > 0) {
        json_tokener *tok = json_tokener_new_ex(16);
        if (tok) {
            o = json_tokener_parse_ex(tok, (const char *)b, (int)n);
            if (json_tokener_get_error(tok) != json_tokener_success ||
                (long)json_tokener_get_parse_end(tok) != n ||
                !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                o = NULL;
            }
            json_tokener_free(tok);
        }
    }
    free(b);
    return o;
}

static const char *s_str(json_object *o, const char *name)
{
    json_object *v;
    if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* A NumericDate claim: 1 with *out set, 0 when absent, -1 when not a number. */
static int s_time(json_object *o, const char *name, int64_t *out)
{
    json_object *v;
    if (!json_object_object_get_ex(o, name, &v))
        return 0;
    if (json_object_is_type(v, json_type_int)) {
        *out = json_object_get_int64(v);
        return 1;
    }
    if (json_object_is_type(v, json_type_double)) {
        double d = json_object_get_double(v);
        if (!(d > -9e15 && d < 9e15))
            return -1;
        *out = (int64_t)d;
        return 1;
    }
    return -1;
}

static int s_verify_sig(const dtx_gw_jwt_key_t *k, const char *signed_part, size_t slen,
                        const unsigned char *sig, long siglen)
{
    if (k->alg == DTX_GW_JWT_HS256) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int maclen = 0;
        if (!HMAC(EVP_sha256(), k->secret, (int)k->secret_len, (const unsigned char *)signed_part,
                  slen, mac, &maclen) || siglen != (long)maclen)
            return 0;
        return CRYPTO_memcmp(mac, sig, maclen) == 0;
    }
    unsigned char *der = NULL;
    const unsigned char *vsig = sig;
    size_t vlen = (size_t)siglen;
    if (k->alg == DTX_GW_JWT_ES256) {
        /* JWS: r || s, 32 bytes each; OpenSSL wants DER. */
        if (siglen != 64)
            return 0;
        ECDSA_SIG *es = ECDSA_SIG_new();
        BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
        if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
            BN_free(r);
            BN_free(s);
            ECDSA_SIG_free(es);
            return 0;
        }
        int dl = i2d_ECDSA_SIG(es, &der);
        ECDSA_SIG_free(es);
        if (dl <= 0)
            return 0;
        vsig = der;
        vlen = (size_t)dl;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
             EVP_DigestVerify(ctx, vsig, vlen, (const unsigned char *)signed_part, slen) == 1;
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    return ok;
}

static int s_aud_ok(json_object *payload, const char *want)
{
    json_object *v;
    if (!json_object_object_get_ex(payload, "aud", &v))
        return 0;
    if (json_object_is_type(v, json_type_string))
        return strcmp(json_object_get_string(v), want) == 0;
    if (!json_object_is_type(v, json_type_array))
        return 0;
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        json_object *e = json_object_array_get_idx(v, i);
        if (json_object_is_type(e, json_type_string) && strcmp(json_object_get_string(e), want) == 0)
            return 1;
    }
    return 0;
}

int dtx_gw_jwt_verify(const char *token, size_t len, const dtx_gw_jwt_keyset_t *keys,
                      const dtx_gw_jwt_params_t *params, int64_t now_s, char *claim_out,
                      size_t cap)
{
    if (cap)
        claim_out[0] = '\0';
    if (!token || len == 0)
        return DTX_GW_AUTH_MISSING;
    if (len > DTX_GW_JWT_MAX)
        return DTX_GW_AUTH_MALFORMED;
    const char *d1 = memchr(token, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
    if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)))
        return DTX_GW_AUTH_MALFORMED;
    size_t hl = (size_t)(d1 - token), pl = (size_t)(d2 - d1 - 1);
    size_t sl = len - (size_t)(d2 + 1 - token);
    json_object *header = s_part_json(token, hl);
    if (!header)
        return DTX_GW_AUTH_MALFORMED;
    json_object *payload = NULL;
    unsigned char *sig = NULL;
    int rc = DTX_GW_AUTH_MALFORMED;
    const char *algname = s_str(header, "alg");
    json_object *crit;
    if (!algname || json_object_object_get_ex(header, "crit", &crit))
        goto out;   /* "crit" names extensions this verifier does not know */
    int alg = dtx_gw_jwt_alg_parse(algname);
    if (alg < 0) {   /* "none", "HS512", ...: no key of ours allows it */
        rc = DTX_GW_AUTH_BAD_SIGNATURE;
        goto out;
    }
    json_object *kidv = NULL;
    const char *kid = NULL;
    if (json_object_object_get_ex(header, "kid", &kidv)) {
        if (!json_object_is_type(kidv, json_type_string))
            goto out;
        kid = json_object_get_string(kidv);
    }
    const dtx_gw_jwt_key_t *key = NULL;
    for (int i = 0; keys && i < keys->nkeys && !key; i++) {
        const dtx_gw_jwt_key_t *k = &keys->keys[i];
        if (kid ? (k->kid[0] && strcmp(k->kid, kid) == 0) : (int)k->alg == alg)
            key = k;
    }
    /* A set of one key without a kid takes every token, whatever its kid. */
    if (!key && keys && keys->nkeys == 1 && !keys->keys[0].kid[0])
        key = &keys->keys[0];
    if (!key) {
        rc = DTX_GW_AUTH_UNKNOWN_KEY;
        goto out;
    }
    if ((int)key->alg != alg) {   /* the key decides, not the token */
        rc = DTX_GW_AUTH_BAD_SIGNATURE;
        goto out;
    }
    sig = malloc(sl * 3 / 4 + 3);
    if (!sig)
        goto out;
    long siglen = dtx_gw_b64url_decode(d2 + 1, sl, sig);
    if (siglen <= 0)
        goto out;
    if (!s_verify_sig(key, token, (size_t)(d2 - token), sig, siglen)) {
        rc = DTX_GW_AUTH_BAD_SIGNATURE;
        goto out;
    }
    payload = s_part_json(d1 + 1, pl);
    if (!payload)
        goto out;
    int64_t exp = 0, nbf = 0;
    int has_exp = s_time(payload, "exp", &exp), has_nbf = s_time(payload, "nbf", &nbf);
    if (has_exp <= 0 || has_nbf < 0)
        goto out;    /* a token without exp would never expire: refused */
    int64_t leeway = params ? params->leeway_s : 0;
    if (now_s >= exp + leeway) {
        rc = DTX_GW_AUTH_EXPIRED;
        goto out;
    }
    if (has_nbf && now_s + leeway < nbf) {
        rc = DTX_GW_AUTH_NOT_YET_VALID;
        goto out;
    }
    if (params && params->issuer) {
        const char *iss = s_str(payload, "iss");
        if (!iss || strcmp(iss, params->issuer) != 0) {
            rc = DTX_GW_AUTH_WRONG_ISSUER;
            goto out;
        }
    }
    if (params && params->audience && !s_aud_ok(payload, params->audience)) {
        rc = DTX_GW_AUTH_WRONG_AUDIENCE;
        goto out;
    }
    const char *who = s_str(payload, params && params->claim ? params->claim : "sub");
    if (!who || !*who || strlen(who) >= cap)
        goto out;
    memcpy(claim_out, who, strlen(who) + 1);
    rc = DTX_GW_AUTH_OK;
out:
    free(sig);
    json_object_put(payload);
    json_object_put(header);
    return rc;
}

/* ---------------- JWKS files ---------------- */

static int s_read_file(const char *path, char **text, size_t *len, struct stat *st)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return DTX_EIO;
    if (fstat(fileno(f), st) < 0 || !S_ISREG(st->st_mode) || st->st_size > (1 << 20)) {
        fclose(f);
        return DTX_ETOOBIG;
    }
    char *buf = malloc((size_t)st->st_size + 1);
    size_t n = buf ? fread(buf, 1, (size_t)st->st_size, f) : 0;
    fclose(f);
    if (!buf)
        return DTX_ENOMEM;
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

static int64_t s_mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static int s_jwks_load(const char *path, dtx_gw_jwt_keyset_t **ks, struct stat *st, char *err,
                       size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    int rc = s_read_file(path, &text, &len, st);
    if (rc < 0) {
        snprintf(err, errlen, "cannot read: %s", rc == DTX_EIO ? strerror(errno)
                                                  : "not a regular file, larger than 1 MiB or out of memory");
        return DTX_ECONFIG;
    }
    rc = dtx_gw_jwt_keyset_jwks(ks, text, len, err, errlen);
    free(text);
    return rc;
}

int dtx_gw_jwks_open(dtx_gw_jwks_t **out, const char *path, int64_t check_ms, char *err,
                     size_t errlen)
{
    *out = NULL;
    dtx_gw_jwks_t *self = calloc(1, sizeof *self);
    if (!self || !(self->path = strdup(path))) {
        free(self);
        snprintf(err, errlen, "out of memory");
        return DTX_ENOMEM;
    }
    struct stat st;
    int rc = s_jwks_load(path, &self->keys, &st, err, errlen);
    if (rc < 0) {
        free(self->path);
        free(self);
        return rc;
    }
    pthread_mutex_init(&self->lock, NULL);
    self->check_ms = check_ms;
    self->dev = st.st_dev;
    self->ino = st.st_ino;
    self->size = st.st_size;
    self->mtime_ns = s_mtime_ns(&st);
    *out = self;
    return 0;
}

void dtx_gw_jwks_destroy(dtx_gw_jwks_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_gw_jwks_t *self = *self_p;
    dtx_gw_jwt_keyset_unref(&self->keys);
    pthread_mutex_destroy(&self->lock);
    free(self->path);
    free(self);
    *self_p = NULL;
}

static void s_jwks_check(dtx_gw_jwks_t *self)
{
    struct stat st;
    if (stat(self->path, &st) < 0)
        return;   /* gone for now (being replaced): keep the keys */
    pthread_mutex_lock(&self->lock);
    int changed = st.st_dev != self->dev || st.st_ino != self->ino ||
                  st.st_size != self->size || s_mtime_ns(&st) != self->mtime_ns;
    pthread_mutex_unlock(&self->lock);
    if (!changed)
        return;
    dtx_gw_jwt_keyset_t *ks = NULL;
    char err[256];
    if (s_jwks_load(self->path, &ks, &st, err, sizeof err) < 0) {
        atomic_fetch_add(&self->reload_errors, 1);
        /* Do not retry the same broken file every interval. */
        pthread_mutex_lock(&self->lock);
        self->dev = st.st_dev;
        self->ino = st.st_ino;
        self->size = st.st_size;
        self->mtime_ns = s_mtime_ns(&st);
        pthread_mutex_unlock(&self->lock);
        return;
    }
    pthread_mutex_lock(&self->lock);
    dtx_gw_jwt_keyset_t *old = self->keys;
    self->keys = ks;
    self->dev = st.st_dev;
    self->ino = st.st_ino;
    self->size = st.st_size;
    self->mtime_ns = s_mtime_ns(&st);
    pthread_mutex_unlock(&self->lock);
    dtx_gw_jwt_keyset_unref(&old);
    atomic_fetch_add(&self->reloads, 1);
}

dtx_gw_jwt_keyset_t *dtx_gw_jwks_get(dtx_gw_jwks_t *self, int64_t now_ms)
{
    long long due = atomic_load_explicit(&self->next_check_ms, memory_order_relaxed);
    if (now_ms >= due && !atomic_exchange(&self->checking, 1)) {
        atomic_store(&self->next_check_ms, now_ms + self->check_ms);
        s_jwks_check(self);
        atomic_store(&self->checking, 0);
    }
    pthread_mutex_lock(&self->lock);
    dtx_gw_jwt_keyset_t *ks = self->keys;
    dtx_gw_jwt_keyset_ref(ks);
    pthread_mutex_unlock(&self->lock);
    return ks;
}
