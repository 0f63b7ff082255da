/*
 * gw_apikey.h — API keys kept as SHA-256 hashes, and the lookup of a
 * presented key among them.
 *
 * Invariants:
 * - A key in clear never lives longer than one lookup: the table holds
 *   SHA-256 digests only (the configuration gives "key_sha256" in hex).
 * - Lookup: the presented key is hashed, its digest found by binary
 *   search (the search's timing tells at most where an attacker's own
 *   digest would sit among the stored digests, not a byte of any key),
 *   then the stored digest and the presented one are compared in full
 *   with CRYPTO_memcmp (constant time).
 * - SHA-256 is libcrypto's (no hand-written crypto).
 */
#ifndef DTX_GW_APIKEY_H
#define DTX_GW_APIKEY_H

#include <stddef.h>

#define DTX_GW_SHA256_LEN 32

typedef struct dtx_gw_apikey {
    unsigned char digest[DTX_GW_SHA256_LEN];
    int           owner;      /* the consumer's index */
} dtx_gw_apikey_t;

/* SHA-256 of data into out. */
void dtx_gw_sha256(const void *data, size_t len, unsigned char out[DTX_GW_SHA256_LEN]);
/* 64 hex digits (either case) -> digest. 0, or DTX_EINVAL. */
int dtx_gw_sha256_hex_parse(const char *hex, unsigned char out[DTX_GW_SHA256_LEN]);
/* Sorts keys[0..n) by digest (before any lookup). Returns the index of a
 * digest listed twice (the later one), or -1. */
int dtx_gw_apikey_sort(dtx_gw_apikey_t *keys, int n);
/* The owner of key[0..len) in sorted keys[0..n), or -1. */
int dtx_gw_apikey_find(const dtx_gw_apikey_t *keys, int n, const char *key, size_t len);

#endif
