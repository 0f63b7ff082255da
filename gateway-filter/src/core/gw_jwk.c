/*
 * gw_jwk.c — JWT key sets (gw_jwk.h): an HS256 secret, a PEM public key or
 * a JWKS document made into an immutable, reference-counted set.
 *
 * Invariant: a key is made with one algorithm and keeps it; RSA keys
 * below 2048 bits and EC keys off P-256 are refused here, so verification
 * (gw_jwt.c) never meets them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "dtx/types.h"
#include "core/gw_jwk.h"

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
