/*
 * gw_jwt.c — JWT verification and key sets (gw_jwt.h).
 *
 * Invariant: the key chosen for a token fixes the algorithm; the token's
 * "alg" must equal it or the token is refused before any signature
 * work (no "none", no HS256 with an RSA key's bytes as the secret).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "dtx/types.h"
#include "core/gw_jwt.h"

const char *dtx_gw_auth_reason(int r)
{
    static const char *const names[] = { "ok", "missing", "malformed", "bad_signature",
        "expired", "not_yet_valid", "wrong_issuer", "wrong_audience", "unknown_key",
        "forbidden" };
    return r >= 0 && r < DTX_GW_AUTH_NREASONS ? names[r] : "unknown";
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
