/*
 * codec_int.h — what every codec of the wire protocol shares (common/src
 * only: proto.c, bundle.c, trymany.c, saga.c and tmsg.c include it;
 * nothing is exported).
 *
 * Invariants:
 *   - Integers on the wire are big-endian (docs/protocol.md §2); these turn
 *     them into host order and back byte by byte, so alignment and the
 *     host's order never matter. (saga.c, tmsg.c and trymany.c still read
 *     and write a few by hand, inline.)
 *   - A decoder fails through dtx_codec_fail: it writes its reason into
 *     the caller's buffer (when there is one) and returns the code, so
 *     every failure path is one return statement.
 */
#ifndef DTX_CODEC_INT_H
#define DTX_CODEC_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

static inline uint32_t dtx_codec_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline uint64_t dtx_codec_get_u64(const uint8_t *p)
{
    return (uint64_t)dtx_codec_get_u32(p) << 32 | dtx_codec_get_u32(p + 4);
}

static inline void dtx_codec_set_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void dtx_codec_set_u64(uint8_t *p, uint64_t v)
{
    dtx_codec_set_u32(p, (uint32_t)(v >> 32));
    dtx_codec_set_u32(p + 4, (uint32_t)v);
}

/* Writes the reason (printf-style) into errbuf[errlen] when errbuf is not
 * NULL and errlen > 0, and returns rc. */
__attribute__((format(printf, 4, 5)))
static inline int dtx_codec_fail(char *errbuf, size_t errlen, int rc, const char *fmt, ...)
{
    if (errbuf && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

#endif
