/*
 * tests/unit/gw_tokens.c — see gw_tokens.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "core/gw_apikey.h"
#include "core/gw_clock.h"
#include "filters/gw_auth.h"
#include "gw_tokens.h"

EVP_PKEY *gwt_rsa, *gwt_rsa2, *gwt_ec;
char gwt_rsa_pem[4096], gwt_ec_pem[1024];
const char *const gwt_secret = "0123456789abcdef0123456789abcdef";   /* 32 bytes */

/* ---------------- making tokens ---------------- */

void gwt_b64url(const unsigned char *in, size_t len, char *out)
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

void gwt_pem(EVP_PKEY *k, char *out, size_t cap)
{
    BIO *b = BIO_new(BIO_s_mem());
    int n = b && PEM_write_bio_PUBKEY(b, k) == 1 ? BIO_read(b, out, (int)cap - 1) : 0;
    out[n > 0 ? n : 0] = '\0';
    BIO_free(b);
}

/* header.payload signed with alg by key (EVP_PKEY) or secret; sig "none"
 * leaves the signature empty. Returns a malloc'ed token. */
char *gwt_token(const char *header, const char *payload, const char *how, EVP_PKEY *key,
                     const unsigned char *secret, size_t slen)
{
    char *t = malloc(16384);
    gwt_b64url((const unsigned char *)header, strlen(header), t);
    strcat(t, ".");
    gwt_b64url((const unsigned char *)payload, strlen(payload), t + strlen(t));
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
    gwt_b64url(sig, siglen, t + strlen(t));
    return t;
}

char *gwt_claims(const char *alg, const char *extra_header, long long exp, long long nbf,
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
    return gwt_token(h, p, how, key, secret, slen);
}

dtx_gw_shared_t gwt_shared;
int64_t gwt_wall = GWT_NOW;
static int64_t s_wall_clock(void) { return gwt_wall; }
int64_t gwt_mono;
static int64_t s_mono_clock(void) { return gwt_mono; }

int gwt_suite_init(void)
{
    if (dtx_gw_shared_init(&gwt_shared) < 0)
        return -1;
    dtx_gw_auth_clock_set(s_wall_clock);
    dtx_gw_clock_set(s_mono_clock);
    gwt_rsa = EVP_RSA_gen(2048);
    gwt_rsa2 = EVP_RSA_gen(2048);
    gwt_ec = EVP_EC_gen("P-256");
    if (!gwt_rsa || !gwt_rsa2 || !gwt_ec)
        return -1;
    gwt_pem(gwt_rsa, gwt_rsa_pem, sizeof gwt_rsa_pem);
    gwt_pem(gwt_ec, gwt_ec_pem, sizeof gwt_ec_pem);
    return 0;
}

int gwt_suite_fini(void)
{
    EVP_PKEY_free(gwt_rsa);
    EVP_PKEY_free(gwt_rsa2);
    EVP_PKEY_free(gwt_ec);
    dtx_gw_auth_clock_set(NULL);
    dtx_gw_clock_set(NULL);
    dtx_gw_shared_fini(&gwt_shared);
    return 0;
}

void gwt_hex(const char *key, char *out)
{
    unsigned char d[32];
    dtx_gw_sha256(key, strlen(key), d);
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}
