/*
 * gw_apikey.c — hashed API keys (gw_apikey.h). Only digests are stored;
 * the final comparison is CRYPTO_memcmp.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "dtx/hex.h"
#include "dtx/types.h"
#include "core/gw_apikey.h"

void dtx_gw_sha256(const void *data, size_t len, unsigned char out[DTX_GW_SHA256_LEN])
{
    unsigned int n = 0;
    if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL))
        memset(out, 0, DTX_GW_SHA256_LEN);
}

int dtx_gw_sha256_hex_parse(const char *hex, unsigned char out[DTX_GW_SHA256_LEN])
{
    if (!hex || strlen(hex) != 2 * DTX_GW_SHA256_LEN)
        return DTX_EINVAL;
    for (int i = 0; i < DTX_GW_SHA256_LEN; i++) {
        int hi = dtx_hex_digit(hex[2 * i]), lo = dtx_hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return DTX_EINVAL;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

static int s_cmp(const void *a, const void *b)
{
    return memcmp(((const dtx_gw_apikey_t *)a)->digest, ((const dtx_gw_apikey_t *)b)->digest,
                  DTX_GW_SHA256_LEN);
}

int dtx_gw_apikey_sort(dtx_gw_apikey_t *keys, int n)
{
    if (n > 1)
        qsort(keys, (size_t)n, sizeof *keys, s_cmp);
    for (int i = 1; i < n; i++)
        if (s_cmp(&keys[i - 1], &keys[i]) == 0)
            return i;
    return -1;
}

int dtx_gw_apikey_find(const dtx_gw_apikey_t *keys, int n, const char *key, size_t len)
{
    dtx_gw_apikey_t probe;
    dtx_gw_sha256(key, len, probe.digest);
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (s_cmp(&keys[mid], &probe) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    int found = -1;
    if (lo < n && CRYPTO_memcmp(keys[lo].digest, probe.digest, DTX_GW_SHA256_LEN) == 0)
        found = keys[lo].owner;
    OPENSSL_cleanse(&probe, sizeof probe);
    return found;
}
