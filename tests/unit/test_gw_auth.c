/* Identity: JWT verification (core/gw_jwt.h) on tokens made here with
 * OpenSSL, hashed API keys (core/gw_apikey.h), the identity sections of
 * the configuration and the auth filter in the chain (filters/gw_auth.h),
 * without sockets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "config/gw_config_parse.h"
#include "core/gw_apikey.h"
#include "core/gw_clock.h"
#include "core/gw_jwks.h"
#include "core/gw_jwt.h"
#include "filters/gw_auth.h"
#include "filters/gw_filters.h"
#include "runtime/gw_runtime.h"
#include "upstream/gw_upreq.h"
#include "gw_headers.h"
#include "unit.h"

#define NOW 1800000000LL

static EVP_PKEY *s_rsa, *s_rsa2, *s_ec;
static char s_rsa_pem[4096], s_ec_pem[1024];
static const char *s_secret = "0123456789abcdef0123456789abcdef";   /* 32 bytes */

/* ---------------- making tokens ---------------- */

static void s_b64url(const unsigned char *in, size_t len, char *out)
{
    int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    int o = 0;
    for (int i = 0; i < n; i++) {
        char c = out[i];
        if (c == '=')
            break;
        out[o++] = c == '+' ? '-' : c == '/' ? '_' : c;
    }
    out[o] = '\0';
}

static void s_pem(EVP_PKEY *k, char *out, size_t cap)
{
    BIO *b = BIO_new(BIO_s_mem());
    int n = b && PEM_write_bio_PUBKEY(b, k) == 1 ? BIO_read(b, out, (int)cap - 1) : 0;
    out[n > 0 ? n : 0] = '\0';
    BIO_free(b);
}

/* header.payload signed with alg by key (EVP_PKEY) or secret; sig "none"
 * leaves the signature empty. Returns a malloc'ed token. */
static char *s_token(const char *header, const char *payload, const char *how, EVP_PKEY *key,
                     const unsigned char *secret, size_t slen)
{
    char *t = malloc(16384);
    s_b64url((const unsigned char *)header, strlen(header), t);
    strcat(t, ".");
    s_b64url((const unsigned char *)payload, strlen(payload), t + strlen(t));
    size_t signed_len = strlen(t);
    unsigned char sig[1024];
    size_t siglen = 0;
    if (strcmp(how, "HS256") == 0) {
        unsigned int ml = 0;
        HMAC(EVP_sha256(), secret, (int)slen, (unsigned char *)t, signed_len, sig, &ml);
        siglen = ml;
    } else if (strcmp(how, "RS256") == 0 || strcmp(how, "ES256") == 0) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        unsigned char der[256];
        size_t dl = sizeof der;
        siglen = sizeof sig;
        CU_ASSERT_FATAL(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1);
        CU_ASSERT_FATAL(EVP_DigestSign(ctx, strcmp(how, "RS256") == 0 ? sig : der,
                                       strcmp(how, "RS256") == 0 ? &siglen : &dl,
                                       (unsigned char *)t, signed_len) == 1);
        EVP_MD_CTX_free(ctx);
        if (strcmp(how, "ES256") == 0) {
            const unsigned char *p = der;
            ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)dl);
            memset(sig, 0, 64);
            BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32);
            BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32);
            ECDSA_SIG_free(es);
            siglen = 64;
        }
    }
    strcat(t, ".");
    s_b64url(sig, siglen, t + strlen(t));
    return t;
}

static char *s_claims(const char *alg, const char *extra_header, long long exp, long long nbf,
                      const char *more, const char *how, EVP_PKEY *key,
                      const unsigned char *secret, size_t slen)
{
    char h[256], p[1024];
    snprintf(h, sizeof h, "{\"alg\":\"%s\",\"typ\":\"JWT\"%s}", alg, extra_header);
    snprintf(p, sizeof p, "{\"sub\":\"alice\",\"iss\":\"https://idp.example\","
             "\"aud\":\"orders\",\"exp\":%lld%s%lld%s}", exp, nbf ? ",\"nbf\":" : "",
             nbf ? nbf : 0LL, more);
    if (!nbf) {   /* drop the ",nbf" leftovers */
        snprintf(p, sizeof p, "{\"sub\":\"alice\",\"iss\":\"https://idp.example\","
                 "\"aud\":\"orders\",\"exp\":%lld%s}", exp, more);
    }
    return s_token(h, p, how, key, secret, slen);
}

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

static dtx_gw_shared_t s_shared;
static int64_t s_wall = NOW;
static int64_t s_wall_clock(void) { return s_wall; }
static int64_t s_mono;
static int64_t s_mono_clock(void) { return s_mono; }

static int s_init(void)
{
    if (dtx_gw_shared_init(&s_shared) < 0)
        return -1;
    dtx_gw_auth_clock_set(s_wall_clock);
    dtx_gw_clock_set(s_mono_clock);
    s_rsa = EVP_RSA_gen(2048);
    s_rsa2 = EVP_RSA_gen(2048);
    s_ec = EVP_EC_gen("P-256");
    if (!s_rsa || !s_rsa2 || !s_ec)
        return -1;
    s_pem(s_rsa, s_rsa_pem, sizeof s_rsa_pem);
    s_pem(s_ec, s_ec_pem, sizeof s_ec_pem);
    return 0;
}

static int s_fini(void)
{
    EVP_PKEY_free(s_rsa);
    EVP_PKEY_free(s_rsa2);
    EVP_PKEY_free(s_ec);
    dtx_gw_auth_clock_set(NULL);
    dtx_gw_clock_set(NULL);
    dtx_gw_shared_fini(&s_shared);
    return 0;
}

/* ---------------- JWT ---------------- */

static void test_valid_tokens_of_each_algorithm_pass(void)
{
    const unsigned char *sec = (const unsigned char *)s_secret;
    dtx_gw_jwt_keyset_t *hs = s_ks_secret(s_secret);
    dtx_gw_jwt_keyset_t *rs = s_ks_pem(DTX_GW_JWT_RS256, s_rsa_pem);
    dtx_gw_jwt_keyset_t *es = s_ks_pem(DTX_GW_JWT_ES256, s_ec_pem);
    char who[72];
    char *t = s_claims("HS256", "", NOW + 60, 0, "", "HS256", NULL, sec, strlen(s_secret));
    CU_ASSERT_EQUAL(s_verify(t, hs, 0, who), DTX_GW_AUTH_OK);
    CU_ASSERT_STRING_EQUAL(who, "alice");
    free(t);
    t = s_claims("RS256", "", NOW + 60, NOW - 5, "", "RS256", s_rsa, NULL, 0);
    CU_ASSERT_EQUAL(s_verify(t, rs, 0, who), DTX_GW_AUTH_OK);
    free(t);
    t = s_claims("ES256", "", NOW + 60, 0, "", "ES256", s_ec, NULL, 0);
    CU_ASSERT_EQUAL(s_verify(t, es, 0, who), DTX_GW_AUTH_OK);
    free(t);
    dtx_gw_jwt_keyset_unref(&hs);
    dtx_gw_jwt_keyset_unref(&rs);
    dtx_gw_jwt_keyset_unref(&es);
}

static void test_exp_and_nbf_with_and_without_leeway(void)
{
    const unsigned char *sec = (const unsigned char *)s_secret;
    size_t sl = strlen(s_secret);
    dtx_gw_jwt_keyset_t *hs = s_ks_secret(s_secret);
    char *t = s_claims("HS256", "", NOW - 10, 0, "", "HS256", NULL, sec, sl);
    CU_ASSERT_EQUAL(s_verify(t, hs, 0, NULL), DTX_GW_AUTH_EXPIRED);
    CU_ASSERT_EQUAL(s_verify(t, hs, 30, NULL), DTX_GW_AUTH_OK);     /* within leeway */
    free(t);
    t = s_claims("HS256", "", NOW, 0, "", "HS256", NULL, sec, sl);   /* exp == now */
    CU_ASSERT_EQUAL(s_verify(t, hs, 0, NULL), DTX_GW_AUTH_EXPIRED);
    free(t);
    t = s_claims("HS256", "", NOW + 600, NOW + 10, "", "HS256", NULL, sec, sl);
    CU_ASSERT_EQUAL(s_verify(t, hs, 0, NULL), DTX_GW_AUTH_NOT_YET_VALID);
    CU_ASSERT_EQUAL(s_verify(t, hs, 5, NULL), DTX_GW_AUTH_NOT_YET_VALID);
    CU_ASSERT_EQUAL(s_verify(t, hs, 10, NULL), DTX_GW_AUTH_OK);
    free(t);
    /* no exp at all: refused (it would never expire) */
    char *n = s_token("{\"alg\":\"HS256\"}", "{\"sub\":\"alice\",\"iss\":\"https://idp.example\","
                      "\"aud\":\"orders\"}", "HS256", NULL, sec, sl);
    CU_ASSERT_EQUAL(s_verify(n, hs, 0, NULL), DTX_GW_AUTH_MALFORMED);
    free(n);
    dtx_gw_jwt_keyset_unref(&hs);
}

static void test_wrong_key_is_a_bad_signature(void)
{
    const unsigned char *other = (const unsigned char *)"another-secret-another-secret-xx";
    dtx_gw_jwt_keyset_t *hs = s_ks_secret(s_secret);
    dtx_gw_jwt_keyset_t *rs = s_ks_pem(DTX_GW_JWT_RS256, s_rsa_pem);
    char *t = s_claims("HS256", "", NOW + 60, 0, "", "HS256", NULL, other, 32);
    CU_ASSERT_EQUAL(s_verify(t, hs, 0, NULL), DTX_GW_AUTH_BAD_SIGNATURE);
    free(t);
    t = s_claims("RS256", "", NOW + 60, 0, "", "RS256", s_rsa2, NULL, 0);
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
    dtx_gw_jwt_keyset_t *hs = s_ks_secret(s_secret);
    dtx_gw_jwt_keyset_t *rs = s_ks_pem(DTX_GW_JWT_RS256, s_rsa_pem);
    char *t = s_claims("none", "", NOW + 60, 0, "", "none", NULL, NULL, 0);
    CU_ASSERT_EQUAL(s_verify(t, hs, 0, NULL), DTX_GW_AUTH_BAD_SIGNATURE);
    CU_ASSERT_EQUAL(s_verify(t, rs, 0, NULL), DTX_GW_AUTH_BAD_SIGNATURE);
    free(t);
    t = s_claims("None", "", NOW + 60, 0, "", "none", NULL, NULL, 0);
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
    dtx_gw_jwt_keyset_t *rs = s_ks_pem(DTX_GW_JWT_RS256, s_rsa_pem);
    char *t = s_claims("HS256", "", NOW + 60, 0, "", "HS256", NULL,
                       (const unsigned char *)s_rsa_pem, strlen(s_rsa_pem));
    CU_ASSERT_EQUAL(s_verify(t, rs, 0, NULL), DTX_GW_AUTH_BAD_SIGNATURE);
    free(t);
    /* ES key, RS token */
    dtx_gw_jwt_keyset_t *es = s_ks_pem(DTX_GW_JWT_ES256, s_ec_pem);
    t = s_claims("RS256", "", NOW + 60, 0, "", "RS256", s_rsa, NULL, 0);
    CU_ASSERT_EQUAL(s_verify(t, es, 0, NULL), DTX_GW_AUTH_BAD_SIGNATURE);
    free(t);
    /* and a key of one kind is never loaded for another */
    dtx_gw_jwt_keyset_t *x = NULL;
    char err[256];
    CU_ASSERT_EQUAL(dtx_gw_jwt_keyset_pem(&x, DTX_GW_JWT_ES256, s_rsa_pem, strlen(s_rsa_pem),
                                          err, sizeof err), DTX_ECONFIG);
    CU_ASSERT_EQUAL(dtx_gw_jwt_keyset_pem(&x, DTX_GW_JWT_HS256, s_rsa_pem, strlen(s_rsa_pem),
                                          err, sizeof err), DTX_ECONFIG);
    dtx_gw_jwt_keyset_unref(&rs);
    dtx_gw_jwt_keyset_unref(&es);
}

static void test_issuer_and_audience(void)
{
    const unsigned char *sec = (const unsigned char *)s_secret;
    size_t sl = strlen(s_secret);
    dtx_gw_jwt_keyset_t *hs = s_ks_secret(s_secret);
    char *t = s_token("{\"alg\":\"HS256\"}", "{\"sub\":\"alice\",\"iss\":\"https://evil\","
                      "\"aud\":\"orders\",\"exp\":1800000060}", "HS256", NULL, sec, sl);
    CU_ASSERT_EQUAL(s_verify(t, hs, 0, NULL), DTX_GW_AUTH_WRONG_ISSUER);
    free(t);
    t = s_token("{\"alg\":\"HS256\"}", "{\"sub\":\"alice\",\"iss\":\"https://idp.example\","
                "\"aud\":\"billing\",\"exp\":1800000060}", "HS256", NULL, sec, sl);
    CU_ASSERT_EQUAL(s_verify(t, hs, 0, NULL), DTX_GW_AUTH_WRONG_AUDIENCE);
    free(t);
    t = s_token("{\"alg\":\"HS256\"}", "{\"sub\":\"alice\",\"iss\":\"https://idp.example\","
                "\"aud\":[\"billing\",\"orders\"],\"exp\":1800000060}", "HS256", NULL, sec, sl);
    CU_ASSERT_EQUAL(s_verify(t, hs, 0, NULL), DTX_GW_AUTH_OK);
    free(t);
    t = s_token("{\"alg\":\"HS256\"}", "{\"sub\":\"alice\",\"aud\":\"orders\","
                "\"exp\":1800000060}", "HS256", NULL, sec, sl);   /* no iss */
    CU_ASSERT_EQUAL(s_verify(t, hs, 0, NULL), DTX_GW_AUTH_WRONG_ISSUER);
    free(t);
    dtx_gw_jwt_keyset_unref(&hs);
}

static void test_malformed_tokens(void)
{
    const unsigned char *sec = (const unsigned char *)s_secret;
    size_t sl = strlen(s_secret);
    dtx_gw_jwt_keyset_t *hs = s_ks_secret(s_secret);
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
    char *t = s_token("{\"alg\":\"HS256\"}", "{\"sub\":", "HS256", NULL, sec, sl);
    CU_ASSERT_EQUAL(s_verify(t, hs, 0, NULL), DTX_GW_AUTH_MALFORMED);
    free(t);
    /* the consumer claim missing or not a string */
    t = s_token("{\"alg\":\"HS256\"}", "{\"sub\":7,\"iss\":\"https://idp.example\","
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
        s_b64url(bin, (size_t)BN_bn2bin(x, bin), a);
        s_b64url(bin, (size_t)BN_bn2bin(y, bin), b);
        snprintf(out, cap, "{\"kty\":\"RSA\",\"kid\":\"%s\",\"use\":\"sig\",\"alg\":\"RS256\","
                 "\"n\":\"%s\",\"e\":\"%s\"}", kid, a, b);
    } else {
        EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &x);
        EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &y);
        BN_bn2binpad(x, bin, 32);
        s_b64url(bin, 32, a);
        BN_bn2binpad(y, bin, 32);
        s_b64url(bin, 32, b);
        snprintf(out, cap, "{\"kty\":\"EC\",\"kid\":\"%s\",\"crv\":\"P-256\",\"x\":\"%s\","
                 "\"y\":\"%s\"}", kid, a, b);
    }
    BN_free(x);
    BN_free(y);
}

static void test_jwks_picks_by_kid_and_is_reread_when_changed(void)
{
    char j1[1400], j2[1400], doc[3000];
    s_jwk(s_rsa, "r1", j1, sizeof j1);
    s_jwk(s_ec, "e1", j2, sizeof j2);
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
    char *rs = s_claims("RS256", ",\"kid\":\"r1\"", NOW + 60, 0, "", "RS256", s_rsa, NULL, 0);
    char *es = s_claims("ES256", ",\"kid\":\"e1\"", NOW + 60, 0, "", "ES256", s_ec, NULL, 0);
    char *unk = s_claims("RS256", ",\"kid\":\"zz\"", NOW + 60, 0, "", "RS256", s_rsa, NULL, 0);
    /* kid r1 but an ES256 header: the key (RSA) decides */
    char *mix = s_claims("ES256", ",\"kid\":\"r1\"", NOW + 60, 0, "", "ES256", s_ec, NULL, 0);
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

static void s_hex(const char *key, char *out)
{
    unsigned char d[32];
    dtx_gw_sha256(key, strlen(key), d);
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_api_key_hit_and_miss(void)
{
    dtx_gw_apikey_t k[3];
    char hex[65];
    const char *keys[] = { "key-of-alice-0123456789", "key-of-bob-0123456789", "third" };
    for (int i = 0; i < 3; i++) {
        s_hex(keys[i], hex);
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
    s_hex("abc", hex);
    CU_ASSERT_STRING_EQUAL(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* ---------------- configuration ---------------- */

static char s_alice_hex[65], s_bob_hex[65];

static char *s_doc(const char *extra_root, const char *route_auth)
{
    char *d = malloc(8192);
    snprintf(d, 8192,
        "{\"pools\":[{\"name\":\"p\",\"targets\":[\"http://127.0.0.1:1\"]}],"
        "\"rules\":[{\"name\":\"per-consumer\",\"type\":\"rate_limit\",\"rate\":1,\"burst\":0,"
        "\"nodelay\":true,\"key\":\"consumer\"}],"
        "\"consumers\":[{\"name\":\"alice\",\"api_keys\":[{\"key_sha256\":\"%s\"}]},"
        "{\"name\":\"bob\",\"api_keys\":[{\"key_sha256\":\"%s\"}],\"routes\":[\"orders\"]}],"
        "\"jwt\":[{\"name\":\"idp\",\"algorithm\":\"HS256\","
        "\"secret_base64\":\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\","
        "\"issuer\":\"https://idp.example\",\"audience\":\"orders\",\"leeway_s\":5}]%s,"
        "\"routes\":[{\"name\":\"orders\",\"match\":{\"prefix\":\"/orders\"},\"pool\":\"p\","
        "\"auth\":%s},"
        "{\"name\":\"admin\",\"match\":{\"prefix\":\"/admin\"},\"pool\":\"p\","
        "\"auth\":{\"api_key\":{}}},"
        "{\"name\":\"limited\",\"match\":{\"prefix\":\"/lim\"},\"pool\":\"p\","
        "\"auth\":{\"api_key\":{}},\"rules\":[\"per-consumer\"]},"
        "{\"name\":\"open\",\"match\":{\"prefix\":\"/\"},\"pool\":\"p\"}]}",
        s_alice_hex, s_bob_hex, extra_root, route_auth);
    return d;
}

static const char *s_cfg_err(const char *extra_root, const char *route_auth)
{
    static char err[DTX_GW_ERR_SIZE];
    char *d = s_doc(extra_root, route_auth);
    dtx_gw_config_t *cfg = dtx_gw_config_parse(d, strlen(d), err, sizeof err);
    free(d);
    if (cfg) {
        dtx_gw_config_destroy(&cfg);
        return "";
    }
    return err;
}

static void s_expect(const char *doc_err, const char *want)
{
    if (!strstr(doc_err, want))
        fprintf(stderr, "\n  got \"%s\", want \"%s\"\n", doc_err, want);
    CU_ASSERT_PTR_NOT_NULL(strstr(doc_err, want));
}

static void test_config_errors_name_the_field(void)
{
    const char *ok = "{\"api_key\":{\"header\":\"X-Api-Key\",\"query\":\"api_key\"},\"jwt\":\"idp\"}";
    CU_ASSERT_STRING_EQUAL(s_cfg_err("", ok), "");
    s_expect(s_cfg_err("", "{}"), "routes[0].auth: needs api_key, jwt or both");
    s_expect(s_cfg_err("", "{\"jwt\":[\"nope\"]}"),
             "routes[0].auth.jwt[0]: no jwt verifier named \"nope\"");
    s_expect(s_cfg_err("", "{\"api_key\":{\"header\":\"Bad Name\"}}"),
             "routes[0].auth.api_key.header: must be a header name");
    s_expect(s_cfg_err("", "{\"api_key\":{\"header\":\"X-Consumer\"}}"),
             "routes[0].auth.api_key.header: must differ from identity.consumer_header");
    s_expect(s_cfg_err(",\"identity\":{\"consumer_header\":\"a b\"}", ok),
             "identity.consumer_header: must be a header name");
    /* a key in clear */
    char *d = s_doc("", ok);
    char *at = strstr(d, "\"key_sha256\"");
    memcpy(at, "\"key\"       ", 12);
    char err[DTX_GW_ERR_SIZE];
    CU_ASSERT_PTR_NULL(dtx_gw_config_parse(d, strlen(d), err, sizeof err));
    s_expect(err, "consumers[0].api_keys[0]: keys are never given in clear");
    free(d);
    /* not hex */
    d = s_doc("", ok);
    at = strstr(d, s_alice_hex);
    at[5] = 'g';
    CU_ASSERT_PTR_NULL(dtx_gw_config_parse(d, strlen(d), err, sizeof err));
    s_expect(err, "consumers[0].api_keys[0].key_sha256: must be 64 hex digits");
    free(d);
    /* the same key twice */
    d = s_doc("", ok);
    at = strstr(d, s_bob_hex);
    memcpy(at, s_alice_hex, 64);
    CU_ASSERT_PTR_NULL(dtx_gw_config_parse(d, strlen(d), err, sizeof err));
    s_expect(err, "one API key (key_sha256) is given twice (consumers \"alice\" and \"bob\")");
    free(d);
    /* verifiers */
    d = s_doc("", ok);
    at = strstr(d, "\"HS256\"");
    memcpy(at, "\"none\" ", 7);
    CU_ASSERT_PTR_NULL(dtx_gw_config_parse(d, strlen(d), err, sizeof err));
    s_expect(err, "jwt[0].algorithm: must be HS256, RS256 or ES256 (\"none\" is never allowed)");
    free(d);
    d = s_doc("", ok);
    at = strstr(d, "\"HS256\"");
    memcpy(at, "\"RS256\"", 7);
    CU_ASSERT_PTR_NULL(dtx_gw_config_parse(d, strlen(d), err, sizeof err));
    s_expect(err, "jwt[0].secret_base64: is for HS256");
    free(d);
    d = s_doc("", ok);
    at = strstr(d, "MDEyMzQ1");
    memcpy(at, "MDEy====", 8);   /* a secret of 3 bytes... then garbage */
    CU_ASSERT_PTR_NULL(dtx_gw_config_parse(d, strlen(d), err, sizeof err));
    s_expect(err, "jwt[0].secret_base64: must be base64");
    free(d);
    s_expect(s_cfg_err(",\"identity\":{\"jwks_check_ms\":1}", ok), "identity.jwks_check_ms");
    /* a consumer allowed a route that does not exist */
    d = s_doc("", ok);
    at = strstr(d, "\"routes\":[\"orders\"]");
    memcpy(at, "\"routes\":[\"ordrs\"] ", 19);
    CU_ASSERT_PTR_NULL(dtx_gw_config_parse(d, strlen(d), err, sizeof err));
    s_expect(err, "consumers[1].routes[0]: no route named \"ordrs\"");
    free(d);
    /* a consumer-keyed rule on a route without auth */
    d = s_doc("", ok);
    at = strstr(d, "\"auth\":{\"api_key\":{}},\"rules\"");
    memcpy(at, "\"timeout_ms\":5000,    ", 22);
    dtx_gw_config_t *c = dtx_gw_config_parse(d, strlen(d), err, sizeof err);
    CU_ASSERT_PTR_NULL(c);
    s_expect(err, "is keyed by consumer: the route needs auth");
    free(d);
    /* secrets never show in an error */
    CU_ASSERT_PTR_NULL(strstr(err, "MDEy"));
}

/* ---------------- the filter in the chain ---------------- */

static dtx_gw_runtime_t *s_rt(void)
{
    char err[DTX_GW_ERR_SIZE];
    char *d = s_doc("", "{\"api_key\":{\"header\":\"X-Api-Key\",\"query\":\"api_key\"},"
                        "\"jwt\":\"idp\"}");
    dtx_gw_config_t *cfg = dtx_gw_config_parse(d, strlen(d), err, sizeof err);
    free(d);
    if (!cfg)
        fprintf(stderr, "\n  config: %s\n", err);
    CU_ASSERT_FATAL(cfg != NULL);
    dtx_gw_runtime_t *rt = dtx_gw_runtime_build(cfg, NULL, &s_shared);
    CU_ASSERT_FATAL(rt != NULL);
    return rt;
}

/* Runs the chain's heads; the status (0: on to the upstream). The head
 * sent upstream goes to up (when given). */
static int s_run(dtx_gw_runtime_t *rt, const char *path, const char *query,
                 const char *const *hdrs, char *consumer, char *up, size_t upcap)
{
    dtx_gw_req_t req;
    memset(&req, 0, sizeof req);
    req.rt = rt;
    req.method = "GET";
    req.path = path;
    req.query = query;
    req.header = gwt_header;
    req.each_header = gwt_each_header;
    req.header_ctx = (void *)hdrs;
    req.client_ip = "10.0.0.1";
    req.content_length = -1;
    int status = 0;
    if (dtx_gw_chain_head(dtx_gw_default_chain, dtx_gw_default_chain_len, &req) == DTX_GW_REPLY)
        status = req.reply.status;
    if (consumer)
        strcpy(consumer, req.consumer);
    if (up) {
        up[0] = '\0';
        if (status) {
            for (int i = 0; i < req.reply.nheaders; i++)
                if (strcmp(req.reply.names[i], "WWW-Authenticate") == 0)
                    snprintf(up, upcap, "%s", req.reply.values[i]);
        } else {
            dtx_gw_target_t t;
            memset(&t, 0, sizeof t);
            t.url = (char *)"http://127.0.0.1:1";
            char e[128];
            dtx_gw_addr_parse(&t.addr, t.url, e, sizeof e);
            dtx_gw_buf_t b = { 0 };
            CU_ASSERT_EQUAL(dtx_gw_upreq_head(&b, &req, &t, 0), 0);
            snprintf(up, upcap, "%.*s", (int)b.len, b.data);
            free(b.data);
        }
    }
    dtx_gw_chain_done(dtx_gw_default_chain, dtx_gw_default_chain_len, &req);
    dtx_gw_req_fini(&req);
    return status;
}

static void test_filter_answers_401_403_and_names_the_consumer(void)
{
    dtx_gw_runtime_t *rt = s_rt();
    char who[72], up[4096];
    const char *none[] = { NULL };
    const char *alice[] = { "X-Api-Key", "key-of-alice-0123456789", NULL };
    const char *bob[] = { "X-Api-Key", "key-of-bob-0123456789", NULL };
    const char *wrong[] = { "X-Api-Key", "key-of-nobody", NULL };
    CU_ASSERT_EQUAL(s_run(rt, "/orders", NULL, none, who, up, sizeof up), 401);
    CU_ASSERT_STRING_EQUAL(up, "Bearer realm=\"dtx-gateway\", ApiKey realm=\"dtx-gateway\", "
                               "header=\"X-Api-Key\"");
    CU_ASSERT_EQUAL(s_run(rt, "/orders", NULL, wrong, who, up, sizeof up), 401);
    CU_ASSERT_EQUAL(s_run(rt, "/orders", NULL, alice, who, up, sizeof up), 0);
    CU_ASSERT_STRING_EQUAL(who, "alice");
    /* the key is not forwarded; the consumer header is */
    CU_ASSERT_PTR_NULL(strstr(up, "key-of-alice"));
    CU_ASSERT_PTR_NOT_NULL(strstr(up, "\r\nX-Consumer: alice\r\n"));
    /* bob may use orders only */
    CU_ASSERT_EQUAL(s_run(rt, "/orders", NULL, bob, who, NULL, 0), 0);
    CU_ASSERT_EQUAL(s_run(rt, "/admin", NULL, bob, who, NULL, 0), 403);
    CU_ASSERT_EQUAL(s_run(rt, "/admin", NULL, alice, who, NULL, 0), 0);
    /* the key in the query, stripped from what goes upstream */
    CU_ASSERT_EQUAL(s_run(rt, "/orders", "a=1&api_key=key-of-alice-0123456789&b=2", none, who,
                          up, sizeof up), 0);
    CU_ASSERT_STRING_EQUAL(who, "alice");
    CU_ASSERT_PTR_NOT_NULL(strstr(up, "GET /orders?a=1&b=2 HTTP/1.1"));
    CU_ASSERT_EQUAL(s_run(rt, "/orders", "api_key=key-of-alice-0123456789", none, who, up,
                          sizeof up), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(up, "GET /orders HTTP/1.1"));
    CU_ASSERT_EQUAL(s_run(rt, "/orders", "a=1&api_key=key-of-alice-0123456789", none, who, up,
                          sizeof up), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(up, "GET /orders?a=1 HTTP/1.1"));
    CU_ASSERT_EQUAL(s_run(rt, "/orders", "api_key=%zz", none, who, NULL, 0), 401);
    /* a JWT */
    char *t = s_claims("HS256", "", NOW + 60, 0, "", "HS256", NULL,
                       (const unsigned char *)s_secret, strlen(s_secret));
    char bearer[4200];
    snprintf(bearer, sizeof bearer, "Bearer %s", t);
    const char *jwt[] = { "Authorization", bearer, NULL };
    CU_ASSERT_EQUAL(s_run(rt, "/orders", NULL, jwt, who, up, sizeof up), 0);
    CU_ASSERT_STRING_EQUAL(who, "alice");
    s_wall = NOW + 70;   /* past exp + leeway (5) */
    CU_ASSERT_EQUAL(s_run(rt, "/orders", NULL, jwt, who, up, sizeof up), 401);
    CU_ASSERT_STRING_EQUAL(up, "Bearer realm=\"dtx-gateway\", error=\"invalid_token\", "
                               "ApiKey realm=\"dtx-gateway\", header=\"X-Api-Key\"");
    s_wall = NOW;
    free(t);
    /* a valid token for a consumer nobody configured: 403 */
    t = s_token("{\"alg\":\"HS256\"}", "{\"sub\":\"mallory\",\"iss\":\"https://idp.example\","
                "\"aud\":\"orders\",\"exp\":1800000060}", "HS256", NULL,
                (const unsigned char *)s_secret, strlen(s_secret));
    snprintf(bearer, sizeof bearer, "Bearer %s", t);
    CU_ASSERT_EQUAL(s_run(rt, "/orders", NULL, jwt, who, NULL, 0), 403);
    free(t);
    /* counted by reason */
    dtx_gw_route_stats_t *st = dtx_gw_stats_route(s_shared.stats, "orders");
    CU_ASSERT(atomic_load(&st->auth_failures[DTX_GW_AUTH_MISSING]) >= 1);
    CU_ASSERT(atomic_load(&st->auth_failures[DTX_GW_AUTH_UNKNOWN_KEY]) >= 1);
    CU_ASSERT(atomic_load(&st->auth_failures[DTX_GW_AUTH_EXPIRED]) >= 1);
    CU_ASSERT(atomic_load(&st->auth_failures[DTX_GW_AUTH_FORBIDDEN]) >= 1);
    dtx_gw_runtime_unref(&rt);
}

static void test_forged_consumer_header_never_reaches_the_upstream(void)
{
    dtx_gw_runtime_t *rt = s_rt();
    char who[72], up[4096];
    const char *forged[] = { "X-Consumer", "alice", "x-consumer", "root", NULL };
    /* a route without auth */
    CU_ASSERT_EQUAL(s_run(rt, "/somewhere", NULL, forged, who, up, sizeof up), 0);
    CU_ASSERT_STRING_EQUAL(who, "");
    CU_ASSERT_PTR_NULL(strcasestr(up, "X-Consumer"));
    /* a route with auth: only the gateway's copy */
    const char *bob[] = { "X-Consumer", "alice", "X-Api-Key", "key-of-bob-0123456789", NULL };
    CU_ASSERT_EQUAL(s_run(rt, "/orders", NULL, bob, who, up, sizeof up), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(up, "\r\nX-Consumer: bob\r\n"));
    CU_ASSERT_PTR_NULL(strstr(up, "X-Consumer: alice"));
    dtx_gw_runtime_unref(&rt);
}

static void test_rate_rule_keyed_by_consumer(void)
{
    dtx_gw_runtime_t *rt = s_rt();
    const char *alice[] = { "X-Api-Key", "key-of-alice-0123456789", NULL };
    const char *bob[] = { "X-Api-Key", "key-of-bob-0123456789", NULL };
    s_mono = 1000000000;
    /* 1 r/s, no burst: alice's second request is refused, bob's first is not */
    CU_ASSERT_EQUAL(s_run(rt, "/lim", NULL, alice, NULL, NULL, 0), 0);
    CU_ASSERT_EQUAL(s_run(rt, "/lim", NULL, alice, NULL, NULL, 0), 429);
    /* bob may not use /lim (his routes: orders): 403 before any rule */
    CU_ASSERT_EQUAL(s_run(rt, "/lim", NULL, bob, NULL, NULL, 0), 403);
    dtx_gw_runtime_unref(&rt);
}

UNIT_SUITE(gw_auth)
{
    s_hex("key-of-alice-0123456789", s_alice_hex);
    s_hex("key-of-bob-0123456789", s_bob_hex);
    CU_pSuite s = CU_add_suite("gw_auth", s_init, s_fini);
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
    CU_add_test(s, "config errors name the field", test_config_errors_name_the_field);
    CU_add_test(s, "filter answers 401, 403 and names the consumer",
                test_filter_answers_401_403_and_names_the_consumer);
    CU_add_test(s, "forged consumer header never reaches the upstream",
                test_forged_consumer_header_never_reaches_the_upstream);
    CU_add_test(s, "rate rule keyed by consumer", test_rate_rule_keyed_by_consumer);
}
