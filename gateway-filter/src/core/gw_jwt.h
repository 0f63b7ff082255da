/*
 * gw_jwt.h — verifying JSON Web Tokens (RFC 7519, JWS compact form) with
 * OpenSSL's libcrypto, and the key sets they are checked against.
 *
 * Invariants:
 * - The KEY decides the algorithm, never the token: a key is loaded with
 *   one algorithm (HS256 secret, RS256 RSA public key, ES256 P-256 public
 *   key) and a token whose header names another ("none", HS256 against an
 *   RSA key, ...) fails with BAD_SIGNATURE before any signature work. So
 *   an RSA public key can never be used as an HMAC secret.
 * - No hand-written crypto: HMAC, SHA-256, RSA and ECDSA are libcrypto's;
 *   HMAC tags are compared with CRYPTO_memcmp.
 * - Checks, in order: form (three base64url parts, JSON objects, at most
 *   DTX_GW_JWT_MAX bytes), key (by "kid", else the first key of the
 *   token's algorithm), signature, then claims: "exp" is required,
 *   expired when now >= exp + leeway; not yet valid when now + leeway <
 *   nbf; "iss" / "aud" (a string or an array of strings) when asked.
 * - Secrets are never copied anywhere but the key set, and wiped when it
 *   is freed; nothing here logs.
 *
 * A key set is immutable once made and reference-counted, so a JWKS file
 * re-read (dtx_gw_jwks_t) can replace it while requests still hold the
 * old one.
 */
#ifndef DTX_GW_JWT_H
#define DTX_GW_JWT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DTX_GW_JWT_MAX 8192     /* longest token accepted, bytes */

/* Why an identity check failed (also the /metrics reason labels). */
typedef enum {
    DTX_GW_AUTH_OK = 0,
    DTX_GW_AUTH_MISSING,         /* no credential in the request */
    DTX_GW_AUTH_MALFORMED,       /* not a JWT / bad base64 / bad JSON / no exp or consumer claim */
    DTX_GW_AUTH_BAD_SIGNATURE,   /* wrong signature, or an algorithm the key does not allow */
    DTX_GW_AUTH_EXPIRED,
    DTX_GW_AUTH_NOT_YET_VALID,
    DTX_GW_AUTH_WRONG_ISSUER,
    DTX_GW_AUTH_WRONG_AUDIENCE,
    DTX_GW_AUTH_UNKNOWN_KEY,     /* no key with the token's kid; an API key nobody has */
    DTX_GW_AUTH_FORBIDDEN,       /* a consumer without access to the route */
    DTX_GW_AUTH_NREASONS
} dtx_gw_auth_result_t;

/* "missing", "malformed", ... ("ok" for DTX_GW_AUTH_OK). */
const char *dtx_gw_auth_reason(int result);

typedef enum { DTX_GW_JWT_HS256, DTX_GW_JWT_RS256, DTX_GW_JWT_ES256 } dtx_gw_jwt_alg_t;

/* "HS256" ... -> alg; -1 when not one of the three. */
int dtx_gw_jwt_alg_parse(const char *name);

typedef struct dtx_gw_jwt_key {
    char              kid[128];   /* "" when none */
    dtx_gw_jwt_alg_t  alg;
    void             *pkey;       /* EVP_PKEY * (RS256 / ES256) */
    unsigned char    *secret;     /* HS256 */
    size_t            secret_len;
} dtx_gw_jwt_key_t;

typedef struct dtx_gw_jwt_keyset {
    atomic_int        refs;
    int               nkeys;
    dtx_gw_jwt_key_t *keys;
} dtx_gw_jwt_keyset_t;

/* One key set holding an HS256 secret (at least 32 bytes: RFC 7518 3.2). */
int dtx_gw_jwt_keyset_secret(dtx_gw_jwt_keyset_t **out, const unsigned char *secret,
                             size_t len, char *err, size_t errlen);
/* One key set holding a PEM public key ("-----BEGIN PUBLIC KEY-----") for
 * alg RS256 (RSA, at least 2048 bits) or ES256 (EC P-256). */
int dtx_gw_jwt_keyset_pem(dtx_gw_jwt_keyset_t **out, dtx_gw_jwt_alg_t alg, const char *pem,
                          size_t len, char *err, size_t errlen);
/* A JWKS document ({"keys": [...]}, RFC 7517): RSA keys (n, e) as RS256,
 * EC P-256 keys (x, y) as ES256; "alg", when given, must agree; "use",
 * when given, must be "sig"; other key types are refused. */
int dtx_gw_jwt_keyset_jwks(dtx_gw_jwt_keyset_t **out, const char *json, size_t len,
                           char *err, size_t errlen);
void dtx_gw_jwt_keyset_ref(dtx_gw_jwt_keyset_t *self);
/* Drops one reference; the last one frees (and wipes) the keys. */
void dtx_gw_jwt_keyset_unref(dtx_gw_jwt_keyset_t **self_p);

typedef struct dtx_gw_jwt_params {
    const char *issuer;      /* NULL: "iss" not checked */
    const char *audience;    /* NULL: "aud" not checked */
    int64_t     leeway_s;    /* clock skew allowed on exp / nbf */
    const char *claim;       /* the claim naming the consumer ("sub") */
} dtx_gw_jwt_params_t;

/* Verifies token[0..len) at time now_s (epoch seconds). On DTX_GW_AUTH_OK
 * the consumer claim's value (a string of 1..cap-1 bytes) is in
 * claim_out. Returns a dtx_gw_auth_result_t. */
int dtx_gw_jwt_verify(const char *token, size_t len, const dtx_gw_jwt_keyset_t *keys,
                      const dtx_gw_jwt_params_t *params, int64_t now_s, char *claim_out,
                      size_t cap);

/* Base64url without padding (RFC 4648 5) -> bytes. out needs len*3/4+3
 * bytes. Returns the byte count or -1 (a character outside the
 * alphabet, '=' included, or a length of 4k+1). */
long dtx_gw_b64url_decode(const char *in, size_t len, unsigned char *out);

/* A JWKS file, re-read when it changes. The file is stat()ed at most once
 * per check_ms, by the first request past that time (the others keep
 * using the keys in hand: no lock is waited on, no stat made); when its
 * inode, size or mtime changed it is read again. A re-read that fails
 * keeps the previous keys (and counts in reload_errors). */
typedef struct dtx_gw_jwks {
    char                *path;
    int64_t              check_ms;
    pthread_mutex_t      lock;        /* guards keys, the file identity */
    dtx_gw_jwt_keyset_t *keys;
    dev_t                dev;
    ino_t                ino;
    off_t                size;
    int64_t              mtime_ns;
    atomic_llong         next_check_ms;
    atomic_int           checking;
    atomic_ullong        reloads, reload_errors;
} dtx_gw_jwks_t;

/* Loads path (it must load now). */
int dtx_gw_jwks_open(dtx_gw_jwks_t **out, const char *path, int64_t check_ms, char *err,
                     size_t errlen);
void dtx_gw_jwks_destroy(dtx_gw_jwks_t **self_p);
/* The keys in force (a reference: unref them), re-reading the file when
 * due and changed. now_ms: a monotonic clock. */
dtx_gw_jwt_keyset_t *dtx_gw_jwks_get(dtx_gw_jwks_t *self, int64_t now_ms);

#endif
