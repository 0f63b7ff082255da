/*
 * trace.c — W3C traceparent: the strict check of the form dtx carries,
 * the lenient reader of what arrives over HTTP, and the makers of new
 * trace and span ids (dtx/trace.h).
 *
 * Invariants:
 *  - whatever it is given, every function writes into out either "" or a
 *    string dtx_trace_valid accepts (version 00, lower-case hex, 55
 *    characters, neither id all zeros);
 *  - nothing is read past len (dtx_trace_parse) or the NUL (the others);
 *  - digits are checked by hand, not with isxdigit(), so neither the
 *    locale nor upper case changes the answer.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dtx/hex.h"
#include "dtx/id.h"
#include "dtx/trace.h"

/* Offsets in "vv-<32>-<16>-ff". */
#define S_TRACE_AT  3
#define S_SPAN_AT   (S_TRACE_AT + DTX_TRACE_ID_HEX + 1)
#define S_FLAGS_AT  (S_SPAN_AT + DTX_TRACE_SPAN_HEX + 1)

/* 1 + the value of a lower-case hex digit, 0 for every other byte: the
 * encoder checks the 48 digits of every traced message it writes. */
static const uint8_t s_hex1[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,
    ['6'] = 7,  ['7'] = 8,  ['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12,
    ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

static int s_hex_digit(char c)
{
    return (int)s_hex1[(unsigned char)c] - 1;
}

/* 1 when s[0..n) are lower-case hex digits, not all '0'. */
static int s_hex_nonzero(const char *s, size_t n)
{
    unsigned all = 1, nonzero = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = s_hex1[(unsigned char)s[i]];
        all &= d != 0;
        nonzero |= d > 1;
    }
    return all && nonzero;
}

/* Checks the 55 characters at s (any version), the version's two digits
 * and the flags' two digits, into *version / *flags. */
static int s_check55(const char *s, int *version, int *flags)
{
    int v0 = s_hex_digit(s[0]), v1 = s_hex_digit(s[1]);
    int f0 = s_hex_digit(s[S_FLAGS_AT]), f1 = s_hex_digit(s[S_FLAGS_AT + 1]);
    if (v0 < 0 || v1 < 0 || f0 < 0 || f1 < 0)
        return 0;
    if (s[2] != '-' || s[S_SPAN_AT - 1] != '-' || s[S_FLAGS_AT - 1] != '-')
        return 0;
    if (!s_hex_nonzero(s + S_TRACE_AT, DTX_TRACE_ID_HEX)
        || !s_hex_nonzero(s + S_SPAN_AT, DTX_TRACE_SPAN_HEX))
        return 0;
    *version = v0 * 16 + v1;
    *flags = f0 * 16 + f1;
    return 1;
}

int dtx_trace_valid(const char *s)
{
    int version, flags;
    return s && strnlen(s, DTX_TRACEPARENT_LEN + 1) == DTX_TRACEPARENT_LEN
        && s_check55(s, &version, &flags) && version == 0;
}

int dtx_trace_parse(const char *s, size_t len, char out[DTX_TRACEPARENT_SIZE])
{
    assert(out);
    out[0] = '\0';
    if (!s)
        return DTX_EINVAL;
    while (len > 0 && (s[0] == ' ' || s[0] == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len < DTX_TRACEPARENT_LEN)
        return DTX_EINVAL;
    int version, flags;
    if (!s_check55(s, &version, &flags) || version == 0xff)
        return DTX_EINVAL;
    if (version == 0 && len != DTX_TRACEPARENT_LEN)
        return DTX_EINVAL;
    if (version > 0) {
        /* A later version may append fields after a dash; we keep what
         * version 00 defines, and of the flags only "sampled". */
        if (len > DTX_TRACEPARENT_LEN && s[DTX_TRACEPARENT_LEN] != '-')
            return DTX_EINVAL;
        flags &= 0x01;
    }
    memcpy(out, s, DTX_TRACEPARENT_LEN);
    out[0] = '0';
    out[1] = '0';
    snprintf(out + S_FLAGS_AT, 3, "%02x", (unsigned) flags);
    assert(dtx_trace_valid(out));
    return 0;
}

/* Writes n random lower-case hex digits (not all '0') at out: sixteen
 * digits a random word, and "all '0'" seen in the random bits, not in a
 * second pass over the digits (a gateway makes a trace per request). */
static void s_random_hex(char *out, size_t n)
{
    uint64_t nonzero;
    do {
        nonzero = 0;
        for (size_t i = 0; i < n; i += 16) {
            uint64_t r = dtx_random_u64();
            if (n - i >= 16) {
                dtx_hex16(r, out + i);
                nonzero |= r;
            } else {
                char d[16];
                size_t k = n - i;
                dtx_hex16(r, d);
                memcpy(out + i, d, k);
                nonzero |= r & ((1ULL << (4 * k)) - 1);  /* the bits written */
            }
        }
    } while (!nonzero);
}

int dtx_trace_new(char out[DTX_TRACEPARENT_SIZE])
{
    assert(out);
    memcpy(out, "00-", 3);
    s_random_hex(out + S_TRACE_AT, DTX_TRACE_ID_HEX);
    out[S_SPAN_AT - 1] = '-';
    s_random_hex(out + S_SPAN_AT, DTX_TRACE_SPAN_HEX);
    memcpy(out + S_FLAGS_AT - 1, "-01", 4);
    /* Valid by construction (s_random_hex never writes all '0'); the unit
     * tests check it over many draws. A gateway makes one per request: an
     * assert here re-read all 55 characters each time. */
    return 0;
}

int dtx_trace_child(const char *parent, char out[DTX_TRACEPARENT_SIZE])
{
    assert(out);
    if (!dtx_trace_valid(parent)) {
        out[0] = '\0';
        return DTX_EINVAL;
    }
    if (out != parent)
        memcpy(out, parent, DTX_TRACEPARENT_SIZE);
    s_random_hex(out + S_SPAN_AT, DTX_TRACE_SPAN_HEX);
    return 0;
}

char *dtx_trace_id(const char *tp, char out[DTX_TRACE_ID_HEX + 1])
{
    assert(out);
    out[0] = '\0';
    if (dtx_trace_valid(tp)) {
        memcpy(out, tp + S_TRACE_AT, DTX_TRACE_ID_HEX);
        out[DTX_TRACE_ID_HEX] = '\0';
    }
    return out;
}
