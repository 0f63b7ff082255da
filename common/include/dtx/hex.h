/*
 * dtx/hex.h — the value of one hexadecimal digit, for the parsers that
 * read hex in either case: percent-escapes (common/src/log_json.c, the
 * gateway's path normalisation), HTTP chunk sizes and API key digests.
 * Not installed.
 */
#ifndef DTX_HEX_H
#define DTX_HEX_H

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

#endif
