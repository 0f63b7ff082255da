/*
 * dtx/decimal.h — integers as decimal text, for the hot paths that hand
 * numbers to libpq as text parameters (a branch number, a state, a
 * deadline: several per transaction). snprintf("%u") costs about a
 * thousand instructions (stdio's stream set-up, the format parse); these
 * cost a few dozen and write exactly what "%llu" / "%lld" would.
 * Not installed.
 */
#ifndef DTX_DECIMAL_H
#define DTX_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

/* Room for any int64_t or uint64_t in decimal, a sign and the NUL. */
#define DTX_DEC_SIZE 21

/* Writes v in decimal at out (DTX_DEC_SIZE bytes are enough), with its
 * NUL; returns the number of digits. */
static inline size_t dtx_dec_u64(char *out, uint64_t v)
{
    char tmp[DTX_DEC_SIZE];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return n;
}

/* Same for a signed value: a '-' before the digits of a negative one
 * (INT64_MIN included). Returns the length written, sign included. */
static inline size_t dtx_dec_i64(char *out, int64_t v)
{
    if (v >= 0)
        return dtx_dec_u64(out, (uint64_t)v);
    out[0] = '-';
    return 1 + dtx_dec_u64(out + 1, (uint64_t)0 - (uint64_t)v);
}

#endif
