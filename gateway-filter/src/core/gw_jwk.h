/*
 * gw_jwk.h — the keys JSON Web Tokens are checked against (RFC 7517/7518):
 * an HS256 secret, an RS256 or ES256 public key (PEM), or a JWKS document,
 * made into a key set.
 *
 * A key set is immutable once made and reference-counted, so a JWKS file
 * re-read (gw_jwks.h) can replace it while requests still hold the old
 * one. Secrets are never copied anywhere but the key set, and wiped when
 * it is freed; nothing here logs.
 */
#ifndef DTX_GW_JWK_H
#define DTX_GW_JWK_H

#include <stdatomic.h>
#include <stddef.h>

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

/* Base64url without padding (RFC 4648 5) -> bytes. out needs len*3/4+3
 * bytes. Returns the byte count or -1 (a character outside the
 * alphabet, '=' included, or a length of 4k+1). */
long dtx_gw_b64url_decode(const char *in, size_t len, unsigned char *out);

#endif
