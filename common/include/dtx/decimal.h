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
#include <string.h>

/* Room for any int64_t or uint64_t in decimal, a sign and the NUL. */
#define DTX_DEC_SIZE 21

/* Writes v in decimal at out (DTX_DEC_SIZE bytes are enough), with its
 * NUL; returns the number of digits. */
static inline size_t dtx_dec_u64(char *out, uint64_t v)
{
    static const char pairs[] =        /* "00" "01" ... "99": two digits a division */
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
        "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
        "8081828384858687888990919293949596979899";
    char tmp[DTX_DEC_SIZE];
    char *p = tmp + sizeof tmp;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        p -= 2;
        memcpy(p, pairs + 2 * r, 2);
    }
    if (v >= 10) {
        p -= 2;
        memcpy(p, pairs + 2 * v, 2);
    } else {
        *--p = (char)('0' + v);
    }
    size_t n = (size_t)(tmp + sizeof tmp - p);
    memcpy(out, p, n);
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
