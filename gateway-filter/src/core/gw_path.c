/*
 * gw_path.c — path normalisation (gw_path.h states the steps and the
 * invariants of the result).
 *
 * One pass: each segment is written to out as it is decoded, then judged
 * when its '/' (or the end) comes: an empty or "." segment is taken back,
 * a ".." takes back itself and the segment before it. Dot segments are
 * judged after decoding, so "%2E%2E" is "..", as RFC 3986 6.2.2 orders.
 */
#include <string.h>

#include "dtx/hex.h"
#include "dtx/types.h"
#include "core/gw_path.h"

static const char s_hex[] = "0123456789ABCDEF";

static int s_unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

/* Characters a path segment carries as they are (RFC 3986 pchar, less
 * '%' and ';', which have their own rules). */
static int s_literal(unsigned char c)
{
    return s_unreserved(c) || strchr("!$&'()*+,=:@", c) != NULL;
}

static int s_refuse(const char **reason, const char *why)
{
    if (reason)
        *reason = why;
    return DTX_EINVAL;
}

/* Judges the segment out[start..*o): drops "", "." and ".." (with the
 * segment before it). Returns 0, or DTX_EINVAL for a ".." above the root. */
static int s_end_segment(char *out, size_t start, size_t *o)
{
    size_t n = *o - start;
    const char *s = out + start;
    if (n == 0 || (n == 1 && s[0] == '.')) {
        *o = start - 1;                 /* take back the '/' too */
        return 0;
    }
    if (n == 2 && s[0] == '.' && s[1] == '.') {
        size_t slash = start - 1;       /* this segment's '/' */
        if (slash == 0)
            return DTX_EINVAL;
        size_t prev = slash - 1;
        while (out[prev] != '/')
            prev--;
        *o = prev;
    }
    return 0;
}

int dtx_gw_path_normalize(const char *raw, char *out, size_t cap, const char **reason)
{
    if (!raw || raw[0] != '/')
        return s_refuse(reason, "path does not start with /");
    if (cap < 2)
        return DTX_ETOOBIG;
    size_t o = 0, start = 0;
    for (const unsigned char *p = (const unsigned char *)raw;; p++) {
        unsigned char c = *p;
        if (c == '/' || c == '\0') {
            if (p != (const unsigned char *)raw &&
                s_end_segment(out, start, &o) < 0)
                return s_refuse(reason, "path climbs above the root");
            if (c == '\0')
                break;
            if (o + 2 > cap)
                return DTX_ETOOBIG;
            out[o++] = '/';
            start = o;
            continue;
        }
        if (o + 4 > cap)
            return DTX_ETOOBIG;
        if (c == '%') {
            int hi = dtx_hex_digit(p[1]), lo = hi < 0 ? -1 : dtx_hex_digit(p[2]);
            if (hi < 0 || lo < 0)
                return s_refuse(reason, "malformed percent escape in path");
            unsigned char v = (unsigned char)(hi * 16 + lo);
            if (v == '/')
                return s_refuse(reason, "encoded / in path");
            if (v == 0)
                return s_refuse(reason, "encoded NUL in path");
            p += 2;
            if (s_unreserved(v)) {
                out[o++] = (char)v;
            } else {
                out[o++] = '%';
                out[o++] = s_hex[v >> 4];
                out[o++] = s_hex[v & 15];
            }
            continue;
        }
        if (c < 0x20 || c == 0x7f || c == ' ')
            return s_refuse(reason, "control byte or space in path");
        if (c == ';')
            return s_refuse(reason, "path parameters (;) refused");
        if (c == '\\')
            return s_refuse(reason, "backslash in path");
        if (s_literal(c)) {
            out[o++] = (char)c;
        } else {
            /* Printable but not a pchar, or a byte >= 0x80: the escaped
             * form, the one a careful client sends. */
            out[o++] = '%';
            out[o++] = s_hex[c >> 4];
            out[o++] = s_hex[c & 15];
        }
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = '\0';
    return (int)o;
}

int dtx_gw_path_query_bad(const char *query)
{
    for (const unsigned char *p = (const unsigned char *)query; p && *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == ' ')
            return 1;
    return 0;
}
