/* Identity: JWT verification (core/gw_jwt.h) on tokens made with OpenSSL
 * (gw_tokens.h) and hashed API keys (core/gw_apikey.h), without sockets.
 * The identity configuration and the auth filter in the chain are in
 * test_gw_auth_filter.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "core/gw_apikey.h"
#include "core/gw_jwks.h"
#include "core/gw_jwt.h"
#include "filters/gw_auth.h"
#include "gw_tokens.h"
#include "unit.h"

#define NOW GWT_NOW


static int s_verify(const char *tok, dtx_gw_jwt_keyset_t *ks, int64_t leeway, char *who)
{
    dtx_gw_jwt_params_t prm = { "https://idp.example", "orders", leeway, "sub" };
    char claim[72];
    int rc = dtx_gw_jwt_verify(tok, strlen(tok), ks, &prm, NOW, claim, sizeof claim);
    if (who)
        strcpy(who, claim);
    return rc;
}

static dtx_gw_jwt_keyset_t *s_ks_secret(const char *secret)
{
    dtx_gw_jwt_keyset_t *ks = NULL;
    char err[256];
    CU_ASSERT_FATAL(dtx_gw_jwt_keyset_secret(&ks, (const unsigned char *)secret, strlen(secret),
                                             err, sizeof err) == 0);
    return ks;
}

static dtx_gw_jwt_keyset_t *s_ks_pem(dtx_gw_jwt_alg_t alg, const char *pem)
{
    dtx_gw_jwt_keyset_t *ks = NULL;
    char err[256];
    int rc = dtx_gw_jwt_keyset_pem(&ks, alg, pem, strlen(pem), err, sizeof err);
    if (rc)
        fprintf(stderr, "\n  pem: %s\n", err);
    CU_ASSERT_FATAL(rc == 0);
    return ks;
}


/* ---------------- JWT ---------------- */

static void test_valid_tokens_of_each_algorithm_pass(void)
{
    const unsigned char *sec = (const unsigned char *)gwt_secret;
    dtx_gw_jwt_keyset_t *hs = s_ks_secret(gwt_secret);
    dtx_gw_jwt_keyset_t *rs = s_ks_pem(DTX_GW_JWT_RS256, gwt_rsa_pem);
    dtx_gw_jwt_keyset_t *es = s_ks_pem(DTX_GW_JWT_ES256, gwt_ec_pem);
    char who[72];
    char *t = gwt_claims("HS256", "", NOW + 60, 0, "", "HS256", NULL, sec, strlen(gwt_secret));
    CU_ASSERT_EQUAL(s_verify(t, hs, 0, who), DTX_GW_AUTH_OK);
    CU_ASSERT_STRING_EQUAL(who, "alice");
    free(t);
    t = gwt_claims("RS256", "", NOW + 60, NOW - 5, "", "RS256", gwt_rsa, NULL, 0);
    CU_ASSERT_EQUAL(s_verify(t, rs, 0, who), DTX_GW_AUTH_OK);
    free(t);
    t = gwt_claims("ES256", "", NOW + 60, 0, "", "ES256", gwt_ec, NULL, 0);
    CU_ASSERT_EQUAL(s_verify(t, es, 0, who), DTX_GW_AUTH_OK);
    free(t);
    dtx_gw_jwt_keyset_unref(&hs);
    dtx_gw_jwt_keyset_unref(&rs);
    dtx_gw_jwt_keyset_unref(&es);
}

static void test_exp_and_nbf_with_and_without_leeway(void)
{
    const unsigned char *sec = (const unsigned char *)gwt_secret;
    size_t sl = strlen(gwt_secret);
    dtx_gw_jwt_keyset_t *hs = s_ks_secret(gwt_secret);
    char *t = gwt_claims("HS256", "", NOW - 10, 0, "", "HS256", NULL, sec, sl);
    CU_ASSERT_EQUAL(s_verify(t, hs, 0, NULL), DTX_GW_AUTH_EXPIRED);
    CU_ASSERT_EQUAL(s_verify(t, hs, 30, NULL), DTX_GW_AUTH_OK);     /* within leeway */
    free(t);
    t = gwt_claims("HS256", "", NOW, 0, "", "HS256", NULL, sec, sl);   /* exp == now */
    CU_ASSERT_EQUAL(s_verify(t, hs, 0, NULL), DTX_GW_AUTH_EXPIRED);
    free(t);
    t = gwt_claims("HS256", "", NOW + 600, NOW + 10, "", "HS256", NULL, sec, sl);
    CU_ASSERT_EQUAL(s_verify(t, hs, 0, NULL), DTX_GW_AUTH_NOT_YET_VALID);
    CU_ASSERT_EQUAL(s_verify(t, hs, 5, NULL), DTX_GW_AUTH_NOT_YET_VALID);
    CU_ASSERT_EQUAL(s_verify(t, hs, 10, NULL), DTX_GW_AUTH_OK);
    free(t);
    /* no exp at all: refused (it would never expire) */
    char *n = gwt_token("{\"alg\":\"HS256\"}", "{\"sub\":\"alice\",\"iss\":\"https://idp.example\","
                      "\"aud\":\"orders\"}", "HS256", NULL, sec, sl);
    CU_ASSERT_EQUAL(s_verify(n, hs, 0, NULL), DTX_GW_AUTH_MALFORMED);
    free(n);
    dtx_gw_jwt_keyset_unref(&hs);
}

static void test_wrong_key_is_a_bad_signature(void)
{
    const unsigned char *other = (const unsigned char *)"another-secret-another-secret-xx";
    dtx_gw_jwt_keyset_t *hs = s_ks_secret(gwt_secret);
    dtx_gw_jwt_keyset_t *rs = s_ks_pem(DTX_GW_JWT_RS256, gwt_rsa_pem);
    char *t = gwt_claims("HS256", "", NOW + 60, 0, "", "HS256", NULL, other, 32);
    CU_ASSERT_EQUAL(s_verify(t, hs, 0, NULL), DTX_GW_AUTH_BAD_SIGNATURE);
    free(t);
    t = gwt_claims("RS256", "", NOW + 60, 0, "", "RS256", gwt_rsa2, NULL, 0);
    CU_ASSERT_EQUAL(s_verify(t, rs, 0, NULL), DTX_GW_AUTH_BAD_SIGNATURE);
    /* a payload changed after signing */
    char *dot = strchr(t, '.');
    dot[2] ^= 1;
    CU_ASSERT_NOT_EQUAL(s_verify(t, rs, 0, NULL), DTX_GW_AUTH_OK);
    free(t);
    dtx_gw_jwt_keyset_unref(&hs);
    dtx_gw_jwt_keyset_unref(&rs);
}

static void test_alg_none_is_refused(void)
{
    dtx_gw_jwt_keyset_t *hs = s_ks_secret(gwt_secret);
    dtx_gw_jwt_keyset_t *rs = s_ks_pem(DTX_GW_JWT_RS256, gwt_rsa_pem);
    char *t = gwt_claims("none", "", NOW + 60, 0, "", "none", NULL, NULL, 0);
    CU_ASSERT_EQUAL(s_verify(t, hs, 0, NULL), DTX_GW_AUTH_BAD_SIGNATURE);
    CU_ASSERT_EQUAL(s_verify(t, rs, 0, NULL), DTX_GW_AUTH_BAD_SIGNATURE);
    free(t);
    t = gwt_claims("None", "", NOW + 60, 0, "", "none", NULL, NULL, 0);
    CU_ASSERT_EQUAL(s_verify(t, hs, 0, NULL), DTX_GW_AUTH_BAD_SIGNATURE);
    free(t);
    dtx_gw_jwt_keyset_unref(&hs);
    dtx_gw_jwt_keyset_unref(&rs);
}

static void test_hs_token_signed_with_the_rsa_public_key_is_refused(void)
{
    /* The classic confusion: an attacker signs HS256 with the PEM text of
     * the server's public key as the HMAC secret. A verifier that lets
     * the token pick the algorithm accepts it. */
    dtx_gw_jwt_keyset_t *rs = s_ks_pem(DTX_GW_JWT_RS256, gwt_rsa_pem);
    char *t = gwt_claims("HS256", "", NOW + 60, 0, "", "HS256", NULL,
                       (const unsigned char *)gwt_rsa_pem, strlen(gwt_rsa_pem));
    CU_ASSERT_EQUAL(s_verify(t, rs, 0, NULL), DTX_GW_AUTH_BAD_SIGNATURE);
    free(t);
    /* ES key, RS token */
    dtx_gw_jwt_keyset_t *es = s_ks_pem(DTX_GW_JWT_ES256, gwt_ec_pem);
    t = gwt_claims("RS256", "", NOW + 60, 0, "", "RS256", gwt_rsa, NULL, 0);
    CU_ASSERT_EQUAL(s_verify(t, es, 0, NULL), DTX_GW_AUTH_BAD_SIGNATURE);
    free(t);
    /* and a key of one kind is never loaded for another */
    dtx_gw_jwt_keyset_t *x = NULL;
    char err[256];
    CU_ASSERT_EQUAL(dtx_gw_jwt_keyset_pem(&x, DTX_GW_JWT_ES256, gwt_rsa_pem, strlen(gwt_rsa_pem),
                                          err, sizeof err), DTX_ECONFIG);
    CU_ASSERT_EQUAL(dtx_gw_jwt_keyset_pem(&x, DTX_GW_JWT_HS256, gwt_rsa_pem, strlen(gwt_rsa_pem),
                                          err, sizeof err), DTX_ECONFIG);
    dtx_gw_jwt_keyset_unref(&rs);
    dtx_gw_jwt_keyset_unref(&es);
}

static void test_issuer_and_audience(void)
{
    const unsigned char *sec = (const unsigned char *)gwt_secret;
    size_t sl = strlen(gwt_secret);
    dtx_gw_jwt_keyset_t *hs = s_ks_secret(gwt_secret);
    char *t = gwt_token("{\"alg\":\"HS256\"}", "{\"sub\":\"alice\",\"iss\":\"https://evil\","
                      "\"aud\":\"orders\",\"exp\":1800000060}", "HS256", NULL, sec, sl);
    CU_ASSERT_EQUAL(s_verify(t, hs, 0, NULL), DTX_GW_AUTH_WRONG_ISSUER);
    free(t);
    t = gwt_token("{\"alg\":\"HS256\"}", "{\"sub\":\"alice\",\"iss\":\"https://idp.example\","
                "\"aud\":\"billing\",\"exp\":1800000060}", "HS256", NULL, sec, sl);
    CU_ASSERT_EQUAL(s_verify(t, hs, 0, NULL), DTX_GW_AUTH_WRONG_AUDIENCE);
    free(t);
    t = gwt_token("{\"alg\":\"HS256\"}", "{\"sub\":\"alice\",\"iss\":\"https://idp.example\","
                "\"aud\":[\"billing\",\"orders\"],\"exp\":1800000060}", "HS256", NULL, sec, sl);
    CU_ASSERT_EQUAL(s_verify(t, hs, 0, NULL), DTX_GW_AUTH_OK);
    free(t);
    t = gwt_token("{\"alg\":\"HS256\"}", "{\"sub\":\"alice\",\"aud\":\"orders\","
                "\"exp\":1800000060}", "HS256", NULL, sec, sl);   /* no iss */
    CU_ASSERT_EQUAL(s_verify(t, hs, 0, NULL), DTX_GW_AUTH_WRONG_ISSUER);
    free(t);
    dtx_gw_jwt_keyset_unref(&hs);
}

static void test_malformed_tokens(void)
{
    const unsigned char *sec = (const unsigned char *)gwt_secret;
    size_t sl = strlen(gwt_secret);
    dtx_gw_jwt_keyset_t *hs = s_ks_secret(gwt_secret);
    static const char *const bad[] = {
        "abc", "a.b", "a.b.c.d", "..", "!!!.e30.sig", "e30.e30.@@",
        "eyJhbGciOiJIUzI1NiJ9.e30",                  /* two parts */
        "W10.e30.AAAA",                                /* header [] */
        "bm90IGpzb24.e30.AAAA",                        /* header "not json" */
        "eyJhbGciOjF9.e30.AAAA",                       /* alg 1 */
        "eyJhbGciOiJIUzI1NiIsImNyaXQiOlsieCJdfQ.e30.AAAA", /* crit */
        "eyJhbGciOiJIUzI1NiJ9.e30.A",                  /* 4k+1 base64 */
        "eyJhbGciOiJIUzI1NiJ9.e30.AA==",               /* padding */
        NULL };
    for (int i = 0; bad[i]; i++) {
        int rc = s_verify(bad[i], hs, 0, NULL);
        if (rc != DTX_GW_AUTH_MALFORMED && rc != DTX_GW_AUTH_BAD_SIGNATURE)
            fprintf(stderr, "\n  %s -> %s\n", bad[i], dtx_gw_auth_reason(rc));
        CU_ASSERT(rc == DTX_GW_AUTH_MALFORMED || rc == DTX_GW_AUTH_BAD_SIGNATURE);
    }
    /* a well-signed payload that is not JSON */
    char *t = gwt_token("{\"alg\":\"HS256\"}", "{\"sub\":", "HS256", NULL, sec, sl);
    CU_ASSERT_EQUAL(s_verify(t, hs, 0, NULL), DTX_GW_AUTH_MALFORMED);
    free(t);
    /* the consumer claim missing or not a string */
    t = gwt_token("{\"alg\":\"HS256\"}", "{\"sub\":7,\"iss\":\"https://idp.example\","
                "\"aud\":\"orders\",\"exp\":1800000060}", "HS256", NULL, sec, sl);
    CU_ASSERT_EQUAL(s_verify(t, hs, 0, NULL), DTX_GW_AUTH_MALFORMED);
    free(t);
    CU_ASSERT_EQUAL(s_verify("", hs, 0, NULL), DTX_GW_AUTH_MISSING);
    dtx_gw_jwt_keyset_unref(&hs);
}

static void s_jwk(EVP_PKEY *k, const char *kid, char *out, size_t cap)
{
    char a[600], b[600];
    unsigned char bin[512];
    BIGNUM *x = NULL, *y = NULL;
    if (EVP_PKEY_is_a(k, "RSA")) {
        EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &x);
        EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &y);
        gwt_b64url(bin, (size_t)BN_bn2bin(x, bin), a);
        gwt_b64url(bin, (size_t)BN_bn2bin(y, bin), b);
        snprintf(out, cap, "{\"kty\":\"RSA\",\"kid\":\"%s\",\"use\":\"sig\",\"alg\":\"RS256\","
                 "\"n\":\"%s\",\"e\":\"%s\"}", kid, a, b);
    } else {
        EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &x);
        EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &y);
        BN_bn2binpad(x, bin, 32);
        gwt_b64url(bin, 32, a);
        BN_bn2binpad(y, bin, 32);
        gwt_b64url(bin, 32, b);
        snprintf(out, cap, "{\"kty\":\"EC\",\"kid\":\"%s\",\"crv\":\"P-256\",\"x\":\"%s\","
                 "\"y\":\"%s\"}", kid, a, b);
    }
    BN_free(x);
    BN_free(y);
}

static void test_jwks_picks_by_kid_and_is_reread_when_changed(void)
{
    char j1[1400], j2[1400], doc[3000];
    s_jwk(gwt_rsa, "r1", j1, sizeof j1);
    s_jwk(gwt_ec, "e1", j2, sizeof j2);
    snprintf(doc, sizeof doc, "{\"keys\":[%s,%s]}", j1, j2);
    char path[] = "/tmp/gw-jwks-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(write(fd, doc, strlen(doc)) == (ssize_t)strlen(doc));
    close(fd);
    dtx_gw_jwks_t *jw = NULL;
    char err[256];
    int rc = dtx_gw_jwks_open(&jw, path, 0, err, sizeof err);
    if (rc)
        fprintf(stderr, "\n  jwks: %s\n", err);
    CU_ASSERT_FATAL(rc == 0);
    dtx_gw_jwt_keyset_t *ks = dtx_gw_jwks_get(jw, 1);
    char *rs = gwt_claims("RS256", ",\"kid\":\"r1\"", NOW + 60, 0, "", "RS256", gwt_rsa, NULL, 0);
    char *es = gwt_claims("ES256", ",\"kid\":\"e1\"", NOW + 60, 0, "", "ES256", gwt_ec, NULL, 0);
    char *unk = gwt_claims("RS256", ",\"kid\":\"zz\"", NOW + 60, 0, "", "RS256", gwt_rsa, NULL, 0);
    /* kid r1 but an ES256 header: the key (RSA) decides */
    char *mix = gwt_claims("ES256", ",\"kid\":\"r1\"", NOW + 60, 0, "", "ES256", gwt_ec, NULL, 0);
    CU_ASSERT_EQUAL(s_verify(rs, ks, 0, NULL), DTX_GW_AUTH_OK);
    CU_ASSERT_EQUAL(s_verify(es, ks, 0, NULL), DTX_GW_AUTH_OK);
    CU_ASSERT_EQUAL(s_verify(unk, ks, 0, NULL), DTX_GW_AUTH_UNKNOWN_KEY);
    CU_ASSERT_EQUAL(s_verify(mix, ks, 0, NULL), DTX_GW_AUTH_BAD_SIGNATURE);
    dtx_gw_jwt_keyset_unref(&ks);
    /* the file is replaced (rename: a new inode) by one with only e1 */
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    snprintf(doc, sizeof doc, "{\"keys\":[%s]}", j2);
    FILE *f = fopen(tmp, "w");
    fputs(doc, f);
    fclose(f);
    CU_ASSERT_FATAL(rename(tmp, path) == 0);
    ks = dtx_gw_jwks_get(jw, 2);
    CU_ASSERT_EQUAL(s_verify(rs, ks, 0, NULL), DTX_GW_AUTH_UNKNOWN_KEY);
    CU_ASSERT_EQUAL(s_verify(es, ks, 0, NULL), DTX_GW_AUTH_OK);
    dtx_gw_jwt_keyset_unref(&ks);
    /* a broken rewrite keeps the keys in force */
    f = fopen(path, "w");
    fputs("{\"keys\":", f);
    fclose(f);
    ks = dtx_gw_jwks_get(jw, 3);
    CU_ASSERT_EQUAL(s_verify(es, ks, 0, NULL), DTX_GW_AUTH_OK);
    CU_ASSERT(atomic_load(&jw->reload_errors) >= 1);
    dtx_gw_jwt_keyset_unref(&ks);
    free(rs);
    free(es);
    free(unk);
    free(mix);
    dtx_gw_jwks_destroy(&jw);
    unlink(path);
}

/* ---------------- API keys ---------------- */

static void test_api_key_hit_and_miss(void)
{
    dtx_gw_apikey_t k[3];
    char hex[65];
    const char *keys[] = { "key-of-alice-0123456789", "key-of-bob-0123456789", "third" };
    for (int i = 0; i < 3; i++) {
        gwt_hex(keys[i], hex);
        CU_ASSERT_EQUAL(dtx_gw_sha256_hex_parse(hex, k[i].digest), 0);
        k[i].owner = i;
    }
    CU_ASSERT_EQUAL(dtx_gw_apikey_sort(k, 3), -1);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(dtx_gw_apikey_find(k, 3, keys[i], strlen(keys[i])), i);
    CU_ASSERT_EQUAL(dtx_gw_apikey_find(k, 3, "key-of-alice-012345678", 22), -1);
    CU_ASSERT_EQUAL(dtx_gw_apikey_find(k, 3, "", 0), -1);
    CU_ASSERT_EQUAL(dtx_gw_apikey_find(k, 0, "third", 5), -1);
    CU_ASSERT_EQUAL(dtx_gw_sha256_hex_parse("abc", k[0].digest), DTX_EINVAL);
    /* the digest of "abc" (FIPS 180-2) */
    gwt_hex("abc", hex);
    CU_ASSERT_STRING_EQUAL(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

UNIT_SUITE(gw_auth)
{
    CU_pSuite s = CU_add_suite("gw_auth", gwt_suite_init, gwt_suite_fini);
    CU_add_test(s, "valid tokens of each algorithm pass", test_valid_tokens_of_each_algorithm_pass);
    CU_add_test(s, "exp and nbf with and without leeway",
                test_exp_and_nbf_with_and_without_leeway);
    CU_add_test(s, "wrong key is a bad signature", test_wrong_key_is_a_bad_signature);
    CU_add_test(s, "alg none is refused", test_alg_none_is_refused);
    CU_add_test(s, "HS token signed with the RSA public key is refused",
                test_hs_token_signed_with_the_rsa_public_key_is_refused);
    CU_add_test(s, "issuer and audience", test_issuer_and_audience);
    CU_add_test(s, "malformed tokens", test_malformed_tokens);
    CU_add_test(s, "JWKS picks by kid and is re-read when changed",
                test_jwks_picks_by_kid_and_is_reread_when_changed);
    CU_add_test(s, "API key hit and miss", test_api_key_hit_and_miss);
}
