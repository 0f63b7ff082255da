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
 * The key sets themselves are gw_jwk.h's; a watched JWKS file is
 * gw_jwks.h's.
 */
#ifndef DTX_GW_JWT_H
#define DTX_GW_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "core/gw_jwk.h"

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

#endif
