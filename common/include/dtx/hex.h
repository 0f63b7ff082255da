/*
 * dtx/hex.h — the value of one hexadecimal digit, for the parsers that
 * read hex in either case: percent-escapes (common/src/log_json.c, the
 * gateway's path normalisation), HTTP chunk sizes and API key digests;
 * and a word's sixteen digits at once, for the random ids made per
 * request (trace and span ids, the gateway's request ids).
 * Not installed.
 */
#ifndef DTX_HEX_H
#define DTX_HEX_H

#include <stdint.h>
#include <string.h>

/* 0..15 for '0'-'9', 'a'-'f' and 'A'-'F'; -1 for anything else (a char
 * above 0x7f included, signed or not). */
static inline int dtx_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The 16 nibbles of r as 16 lower-case hex digits at out (no NUL), the
 * nibble i bits up at out[i / 4] on a little-endian machine: for random
 * words, whose digits may come in any order. Each half spreads a nibble a
 * byte, then adds '0', or 'a' - 10 where the nibble is over 9, to every
 * byte at once (a table walk took a dozen instructions a digit). */
static inline void dtx_hex16(uint64_t r, char out[16])
{
    uint64_t w[2];
    for (int h = 0; h < 2; h++) {
        uint64_t v = h ? r >> 32 : r & 0xffffffffULL;
        v = (v | (v << 16)) & 0x0000ffff0000ffffULL;
        v = (v | (v << 8)) & 0x00ff00ff00ff00ffULL;
        v = (v | (v << 4)) & 0x0f0f0f0f0f0f0f0fULL;
        uint64_t letters = ((v + 0x0606060606060606ULL) >> 4) & 0x0101010101010101ULL;
        w[h] = v + 0x3030303030303030ULL + letters * ('a' - '0' - 10);
    }
    memcpy(out, w, sizeof w);
}

#endif
