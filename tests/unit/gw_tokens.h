/*
 * tests/unit/gw_tokens.h — what the gateway's identity suites share
 * (test_gw_auth.c: JWT and API keys; test_gw_auth_filter.c: the identity
 * configuration and the auth filter in the chain): keys and tokens made
 * here with OpenSSL, API key digests, and a suite setup that injects the
 * wall and monotonic clocks.
 */
#ifndef DTX_TEST_GW_TOKENS_H
#define DTX_TEST_GW_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "runtime/gw_runtime.h"

#define GWT_NOW 1800000000LL   /* the wall clock's seconds at the start of a test */

extern EVP_PKEY *gwt_rsa, *gwt_rsa2, *gwt_ec;     /* made by gwt_suite_init */
extern char gwt_rsa_pem[4096], gwt_ec_pem[1024];  /* their public keys */
extern const char *const gwt_secret;              /* an HS256 secret, 32 bytes */
extern dtx_gw_shared_t gwt_shared;                /* for runtimes built in a test */
extern int64_t gwt_wall;                          /* the wall clock (s), GWT_NOW first */
extern int64_t gwt_mono;                          /* the monotonic clock (µs) */

/* Suite setup / cleanup: keys, the shared state, the clocks. 0 or -1. */
int gwt_suite_init(void);
int gwt_suite_fini(void);

/* base64url without padding of len bytes into out. */
void gwt_b64url(const unsigned char *in, size_t len, char *out);
/* The PEM of k's public key into out. */
void gwt_pem(EVP_PKEY *k, char *out, size_t cap);
/* header.payload signed as how ("HS256" with secret, "RS256" / "ES256"
 * with key; anything else leaves the signature empty). Returns a
 * malloc'ed token. */
char *gwt_token(const char *header, const char *payload, const char *how, EVP_PKEY *key,
                const unsigned char *secret, size_t slen);
/* A token for sub alice from https://idp.example to orders with exp (and
 * nbf when not 0), more claims and header fields appended. */
char *gwt_claims(const char *alg, const char *extra_header, long long exp, long long nbf,
                 const char *more, const char *how, EVP_PKEY *key,
                 const unsigned char *secret, size_t slen);
/* The SHA-256 of an API key in hex (65 bytes with the NUL) into out. */
void gwt_hex(const char *key, char *out);

#endif
