/*
 * proto.c — encoder and decoder of the dtx wire protocol, versions 1
 * and 2.
 *
 * dtx/proto.h and docs/protocol.md define the format; this file is its one
 * implementation. It is table-driven: proto_spec.c lists, for every message
 * type, its fields in wire order, each as a kind (u8, u32, u64, name, text,
 * blob) plus the dtx_msg_t member it maps to. One loop decodes any type
 * (s_decode_body) and one loop encodes any type (s_encode_body), so a new
 * message is one table row and the two directions cannot drift apart.
 *
 * Invariants:
 *  - the decoder never reads outside buf[0..len) and the encoder never
 *    writes outside buf[0..cap);
 *  - integers are read and written one byte at a time (big-endian), so no
 *    access is unaligned whatever the buffer's address;
 *  - nothing is allocated: names and text are copied into the fixed arrays
 *    of dtx_msg_t, the payload points into the caller's buffer;
 *  - every value has exactly one encoding, so decode(encode(m)) == m for
 *    every m that encode accepts and encode(decode(b)) == b for every b
 *    that decode accepts and that holds no unknown extension (those are
 *    skipped, so they are not encoded again; so is tag 3 on another type
 *    than TCC_RUN, once checked); tests/fuzz/fuzz_proto.c checks both;
 *  - version 2 = version 1's body, then extensions (s_decode_ext): the
 *    body table is the same for both versions, so they cannot drift.
 *
 * Beyond proto.h: whenever a frame has the right magic and at least 4
 * bytes, a failed decode still leaves msg->type filled, and msg->corr too
 * when the 12-byte header is complete (every other field is zero), so the
 * receiver can always answer ERROR with the sender's corr. A failed encode
 * for lack of room stores the size the frame needs in *len.
 */
#include <assert.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dtx/id.h"
#include "dtx/name.h"
#include "dtx/proto.h"
#include "dtx/tmsg.h"
#include "dtx/trace.h"
#include "codec_int.h"
#include "proto_spec.h"

/* ------------------------------------------------------------------ */
/* Members                                                            */
/* ------------------------------------------------------------------ */

/* Members are reached through their offset and copied with memcpy, so a
 * field's type never has to be spelled out at the call site. */
static void s_store(dtx_msg_t *msg, size_t member, const void *v, size_t n)
{
    memcpy((char *) msg + member, v, n);
}

static void s_load(const dtx_msg_t *msg, size_t member, void *v, size_t n)
{
    memcpy(v, (const char *) msg + member, n);
}

/* ------------------------------------------------------------------ */
/* Decoding                                                           */
/* ------------------------------------------------------------------ */

/* Decodes the version-2 extension section buf[pos..len) into msg. */
static int s_decode_ext(dtx_msg_t *msg, const dtx_proto_spec_t *spec,
                        const uint8_t *buf, size_t pos, size_t len,
                        char *errbuf, size_t errlen)
{
    if (len - pos > DTX_PROTO_EXT_MAX)
        return dtx_codec_fail(errbuf, errlen, DTX_EPROTO,
                              "%s: extensions of %zu bytes at byte %zu, over %u", spec->name,
                              len - pos, pos, DTX_PROTO_EXT_MAX);
    unsigned last = 0;  /* tags must increase strictly */
    while (pos < len) {
        size_t at = pos;
        if (len - pos < 3)
            return dtx_codec_fail(errbuf, errlen, DTX_EPROTO,
                                  "%s: extension truncated at byte %zu (frame has %zu bytes)",
                                  spec->name, at, len);
        unsigned tag = buf[pos];
        size_t n = (size_t) buf[pos + 1] << 8 | buf[pos + 2];
        if (tag <= last)
            return dtx_codec_fail(errbuf, errlen, DTX_EPROTO,
                                  "%s: extension tag %u at byte %zu not after tag %u", spec->name,
                                  tag, at, last);
        if (len - pos - 3 < n)
            return dtx_codec_fail(errbuf, errlen, DTX_EPROTO,
                                  "%s: extension %u truncated at byte %zu (frame has %zu bytes)",
                                  spec->name, tag, at, len);
        const uint8_t *value = buf + pos + 3;
        if (tag == DTX_EXT_TRACEPARENT) {
            char tp[DTX_TRACEPARENT_SIZE];
            if (n == DTX_TRACEPARENT_LEN) {
                memcpy(tp, value, n);
                tp[n] = '\0';
            }
            if (n != DTX_TRACEPARENT_LEN || !dtx_trace_valid(tp))
                return dtx_codec_fail(
                    errbuf, errlen, DTX_EPROTO,
                    "%s: extension 'traceparent' at byte %zu is not a version-00 traceparent",
                    spec->name, at);
            memcpy(msg->traceparent, tp, sizeof tp);
        } else if (tag == DTX_EXT_BUNDLE) {
            if (n != 0)
                return dtx_codec_fail(
                    errbuf, errlen, DTX_EPROTO,
                    "%s: extension 'bundle' at byte %zu has %zu value bytes, not 0", spec->name, at,
                    n);
            msg->bundle = 1;
        } else if (tag == DTX_EXT_GID) {
            char gid[DTX_ID_LEN + 1] = "";
            if (n == DTX_ID_LEN) {
                memcpy(gid, value, n);
                gid[n] = '\0';
            }
            if (!dtx_id_valid(gid))
                return dtx_codec_fail(
                    errbuf, errlen, DTX_EPROTO,
                    "%s: extension 'gid' at byte %zu is not a %d-character id (ULID, upper case)",
                    spec->name, at, DTX_ID_LEN);
            if (spec->type == DTX_MSG_TCC_RUN)
                memcpy(msg->gid, gid, sizeof gid);
            else
                msg->ext_skipped++; /* elsewhere gid is a field: ignored, as unknown */
        } else {
            msg->ext_skipped++;
        }
        last = tag;
        pos += 3 + n;
    }
    return DTX_OK;
}

/* Decodes the body of buf[0..len) (header already checked) into msg,
 * following spec. */
static int s_decode_body(dtx_msg_t *msg, const dtx_proto_spec_t *spec,
                         const uint8_t *buf, size_t len,
                         char *errbuf, size_t errlen)
{
    size_t pos = DTX_PROTO_HEADER;
    const dtx_proto_field_t *f = spec->fields;

    for (; f < spec->fields + DTX_PROTO_FIELDS_MAX && f->kind != DTX_PK_END; f++) {
        size_t at = pos;      /* where the field starts, for errors */
        size_t left = len - pos;
        size_t n;
        uint32_t u32;
        uint64_t u64;
        const uint8_t *data;

        switch (f->kind) {
        case DTX_PK_U8:
            if (left < 1)
                goto truncated;
            if (buf[pos] < f->min || buf[pos] > f->max)
                return dtx_codec_fail(errbuf, errlen, DTX_EPROTO,
                                      "%s: field '%s' value %u at byte %zu out of range %u..%u",
                                      spec->name, f->name, buf[pos], at, f->min, f->max);
            s_store(msg, f->member, &buf[pos], 1);
            pos += 1;
            break;
        case DTX_PK_U32:
            if (left < 4)
                goto truncated;
            u32 = dtx_codec_get_u32(buf + pos);
            s_store(msg, f->member, &u32, sizeof u32);
            pos += 4;
            break;
        case DTX_PK_U64:
            if (left < 8)
                goto truncated;
            u64 = dtx_codec_get_u64(buf + pos);
            s_store(msg, f->member, &u64, sizeof u64);
            pos += 8;
            break;
        case DTX_PK_NAME: {
            if (left < 1)
                goto truncated;
            n = buf[pos];
            if (n < 1 || n > DTX_NAME_MAX)
                return dtx_codec_fail(errbuf, errlen, DTX_EPROTO,
                                      "%s: field '%s' at byte %zu has length %zu, not 1..%d",
                                      spec->name, f->name, at, n, DTX_NAME_MAX);
            if (left - 1 < n)
                goto truncated;
            size_t bad = dtx_name_bad_char(buf + pos + 1, n);
            if (bad < n)
                return dtx_codec_fail(
                    errbuf, errlen, DTX_EPROTO,
                    "%s: field '%s' has invalid name character 0x%02x at byte %zu", spec->name,
                    f->name, buf[pos + 1 + bad], pos + 1 + bad);
            assert(n < f->size);
            s_store(msg, f->member, buf + pos + 1, n);
            s_store(msg, f->member + n, "", 1);
            pos += 1 + n;
            break;
        }
        case DTX_PK_TEXT: {
            if (left < 1)
                goto truncated;
            n = buf[pos];  /* a u8 cannot exceed DTX_TEXT_MAX */
            if (left - 1 < n)
                goto truncated;
            const uint8_t *nul = memchr(buf + pos + 1, 0, n);
            if (nul)
                return dtx_codec_fail(errbuf, errlen, DTX_EPROTO,
                                      "%s: field '%s' contains NUL at byte %zu", spec->name,
                                      f->name, (size_t)(nul - buf));
            assert(n < f->size);
            s_store(msg, f->member, buf + pos + 1, n);
            s_store(msg, f->member + n, "", 1);
            pos += 1 + n;
            break;
        }
        case DTX_PK_BLOB:
            if (left < 4)
                goto truncated;
            n = dtx_codec_get_u32(buf + pos);
            if (n > DTX_PAYLOAD_MAX)
                return dtx_codec_fail(errbuf, errlen, DTX_EPROTO,
                                      "%s: field '%s' at byte %zu has length %zu, over %u",
                                      spec->name, f->name, at, n, DTX_PAYLOAD_MAX);
            if (left - 4 < n)
                goto truncated;
            data = buf + pos + 4;
            u32 = (uint32_t) n;
            s_store(msg, f->member, &data, sizeof data);
            s_store(msg, f->length, &u32, sizeof u32);
            pos += 4 + n;
            break;
        case DTX_PK_END:
            break;
        }
        continue;
    truncated:
        return dtx_codec_fail(errbuf, errlen, DTX_EPROTO,
                              "%s: field '%s' truncated at byte %zu (frame has %zu bytes)",
                              spec->name, f->name, at, len);
    }
    if (pos != len && msg->version == DTX_PROTO_V1)
        return dtx_codec_fail(errbuf, errlen, DTX_EPROTO, "%s: %zu trailing byte(s) at byte %zu",
                              spec->name, len - pos, pos);
    return s_decode_ext(msg, spec, buf, pos, len, errbuf, errlen);
}

int dtx_msg_decode(dtx_msg_t *msg, const void *buf, size_t len,
                   char *errbuf, size_t errlen)
{
    assert(msg);
    assert(buf || len == 0);
    const uint8_t *p = buf;

    memset(msg, 0, sizeof *msg);
    if (errbuf && errlen > 0)
        errbuf[0] = '\0';

    int magic_ok = len >= 2 && p[0] == DTX_PROTO_MAGIC0
                && p[1] == DTX_PROTO_MAGIC1;
    /* Filled before any check so that the receiver can answer an ERROR. */
    if (magic_ok && len >= 4)
        msg->type = p[3];
    if (magic_ok && len >= DTX_PROTO_HEADER)
        msg->corr = dtx_codec_get_u64(p + 4);
    if (magic_ok && len >= 3 && (p[2] == DTX_PROTO_V1 || p[2] == DTX_PROTO_V2))
        msg->version = p[2];

    if (len > DTX_MSG_MAX)
        return dtx_codec_fail(errbuf, errlen, DTX_ETOOBIG,
                              "frame of %zu bytes over the limit of %u bytes", len, DTX_MSG_MAX);
    if (len >= 2 && !magic_ok)
        return dtx_codec_fail(errbuf, errlen, DTX_EPROTO,
                              "bad magic 0x%02x 0x%02x (not a dtx frame)", p[0], p[1]);
    if (len < 4)
        return dtx_codec_fail(errbuf, errlen, DTX_EPROTO, "truncated header (%zu of %d bytes)", len,
                              DTX_PROTO_HEADER);

    const dtx_proto_spec_t *spec = dtx_proto_spec_find(p[3]);
    const char *tname = spec ? spec->name : "UNKNOWN";
    if (p[2] != DTX_PROTO_V1 && p[2] != DTX_PROTO_V2)
        return dtx_codec_fail(errbuf, errlen, DTX_EVERSION,
                              "%s: protocol version %u not supported (this peer speaks %d and %d)",
                              tname, p[2], DTX_PROTO_V1, DTX_PROTO_V2);
    if (len < DTX_PROTO_HEADER)
        return dtx_codec_fail(errbuf, errlen, DTX_EPROTO, "%s: truncated header (%zu of %d bytes)",
                              tname, len, DTX_PROTO_HEADER);
    if (!spec && p[2] == DTX_PROTO_V2)
        return dtx_codec_fail(errbuf, errlen, DTX_EUNSUPPORTED,
                              "unknown message type 0x%02x (version 2)", p[3]);
    if (!spec || (dtx_proto_spec_v2_only(spec->type) && p[2] == DTX_PROTO_V1))
        return dtx_codec_fail(errbuf, errlen, DTX_EPROTO, "unknown message type 0x%02x%s%s%s", p[3],
                              spec ? " in version 1 (" : "", spec ? spec->name : "",
                              spec ? " needs version 2)" : "");

    int rc = s_decode_body(msg, spec, p, len, errbuf, errlen);
    if (rc == DTX_OK) {
        char why[160];
        if (dtx_proto_spec_check_blob(spec->type, msg->payload, msg->payload_len, why, sizeof why) != 0)
            rc = dtx_codec_fail(errbuf, errlen, DTX_EPROTO, "%s: %s", spec->name, why);
    }
    if (rc == DTX_OK && spec->type == DTX_MSG_TCC_RUN &&
        (!(msg->flags & DTX_TCC_RUN_GID) != !msg->gid[0] ||
         ((msg->flags & DTX_TCC_RUN_GID) && !(msg->flags & DTX_TCC_RUN_COMMIT))))
        rc = dtx_codec_fail(errbuf, errlen, DTX_EPROTO,
                            "TCC_RUN: flag bit 1 (the initiator's gid) %s",
                            !(msg->flags & DTX_TCC_RUN_GID) ? "clear, but extension 'gid' present"
                            : !msg->gid[0] ? "set without extension 'gid'"
                                           : "set without flag bit 0 (commit)");
    if (rc == DTX_OK && spec->type == DTX_MSG_TMSG) {
        char why[160];
        if (dtx_tmsg_plan_decode(NULL, msg->payload, msg->payload_len, why, sizeof why) != 0)
            rc = dtx_codec_fail(errbuf, errlen, DTX_EPROTO, "TMSG: %s", why);
    }
    if (rc != DTX_OK) {
        /* Leave no half-decoded fields behind. */
        uint64_t corr = msg->corr;
        uint8_t version = msg->version;
        memset(msg, 0, sizeof *msg);
        msg->type = p[3];
        msg->corr = corr;
        msg->version = version;
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* Encoding                                                           */
/* ------------------------------------------------------------------ */

/* Bounded output: bytes that do not fit are counted but not written, so
 * one pass both fills the buffer and learns the size the frame needs. */
typedef struct {
    uint8_t *buf;
    size_t   cap;
    size_t   pos;   /* bytes produced so far, may exceed cap */
} s_writer_t;

static void s_put(s_writer_t *w, const void *src, size_t n)
{
    if (n > 0 && w->pos <= w->cap && n <= w->cap - w->pos)
        memcpy(w->buf + w->pos, src, n);
    w->pos += n;
}

static void s_put_u8(s_writer_t *w, uint8_t v)
{
    s_put(w, &v, 1);
}

static void s_put_u32(s_writer_t *w, uint32_t v)
{
    uint8_t b[4];
    dtx_codec_set_u32(b, v);
    s_put(w, b, sizeof b);
}

static void s_put_u64(s_writer_t *w, uint64_t v)
{
    uint8_t b[8];
    dtx_codec_set_u64(b, v);
    s_put(w, b, sizeof b);
}

/* Validates and writes the body of msg following spec. Returns DTX_OK or
 * DTX_EINVAL (then stops at the first invalid field). */
static int s_encode_body(const dtx_msg_t *msg, const dtx_proto_spec_t *spec,
                         s_writer_t *w)
{
    const char *base = (const char *) msg;
    const dtx_proto_field_t *f = spec->fields;

    for (; f < spec->fields + DTX_PROTO_FIELDS_MAX && f->kind != DTX_PK_END; f++) {
        const char *s = base + f->member;
        size_t n;
        uint32_t u32;
        uint64_t u64;
        const uint8_t *data;

        switch (f->kind) {
        case DTX_PK_U8: {
            uint8_t v;
            s_load(msg, f->member, &v, 1);
            if (v < f->min || v > f->max)
                return DTX_EINVAL;
            s_put_u8(w, v);
            break;
        }
        case DTX_PK_U32:
            s_load(msg, f->member, &u32, sizeof u32);
            s_put_u32(w, u32);
            break;
        case DTX_PK_U64:
            s_load(msg, f->member, &u64, sizeof u64);
            s_put_u64(w, u64);
            break;
        case DTX_PK_NAME:
            assert(f->size >= DTX_NAME_SIZE);  /* dtx_name_valid reads that far */
            if (!dtx_name_valid(s))  /* also rejects a missing NUL */
                return DTX_EINVAL;
            n = strlen(s);
            s_put_u8(w, (uint8_t) n);
            s_put(w, s, n);
            break;
        case DTX_PK_TEXT:
            assert(f->size >= DTX_TEXT_MAX + 1);
            n = strnlen(s, DTX_TEXT_MAX + 1);
            if (n > DTX_TEXT_MAX)
                return DTX_EINVAL;
            s_put_u8(w, (uint8_t) n);
            s_put(w, s, n);
            break;
        case DTX_PK_BLOB:
            s_load(msg, f->member, &data, sizeof data);
            s_load(msg, f->length, &u32, sizeof u32);
            if (u32 > DTX_PAYLOAD_MAX || (u32 > 0 && !data))
                return DTX_EINVAL;
            s_put_u32(w, u32);
            s_put(w, data, u32);
            break;
        case DTX_PK_END:
            break;
        }
    }
    return DTX_OK;
}

int dtx_msg_encode(const dtx_msg_t *msg, uint8_t *buf, size_t cap, size_t *len)
{
    assert(msg);
    assert(buf || cap == 0);
    assert(len);
    *len = 0;

    const dtx_proto_spec_t *spec = dtx_proto_spec_find(msg->type);
    if (!spec)
        return DTX_EINVAL;
    uint8_t version = msg->version ? msg->version : DTX_PROTO_V1;
    if (version != DTX_PROTO_V1 && version != DTX_PROTO_V2)
        return DTX_EINVAL;
    if (dtx_proto_spec_v2_only(spec->type) &&
        (version != DTX_PROTO_V2 || msg->payload_len > DTX_PAYLOAD_MAX ||
         (msg->payload_len && !msg->payload) ||
         dtx_proto_spec_check_blob(spec->type, msg->payload, msg->payload_len, NULL, 0) != 0))
        return DTX_EINVAL;
    if (spec->type == DTX_MSG_TMSG &&
        (version != DTX_PROTO_V2 || msg->payload_len > DTX_PAYLOAD_MAX ||
         (msg->payload_len && !msg->payload) ||
         dtx_tmsg_plan_decode(NULL, msg->payload, msg->payload_len, NULL, 0) != 0))
        return DTX_EINVAL;
    /* strnlen: a traceparent without its NUL is invalid, never overread. */
    int traced = msg->traceparent[0] != '\0';
    if (traced && (version == DTX_PROTO_V1
                   || strnlen(msg->traceparent, sizeof msg->traceparent)
                          == sizeof msg->traceparent
                   || !dtx_trace_valid(msg->traceparent)))
        return DTX_EINVAL;
    if (msg->bundle > 1 || (msg->bundle && version == DTX_PROTO_V1))
        return DTX_EINVAL;
    /* TCC_RUN's gid is extension 3, with flag bit 1 (and bit 0). */
    int keyed = spec->type == DTX_MSG_TCC_RUN && (msg->flags & DTX_TCC_RUN_GID);
    if (spec->type == DTX_MSG_TCC_RUN &&
        (keyed ? !(msg->flags & DTX_TCC_RUN_COMMIT) || !dtx_id_valid(msg->gid) : msg->gid[0] != '\0'))
        return DTX_EINVAL;

    s_writer_t w = { buf, cap, 0 };
    s_put_u8(&w, DTX_PROTO_MAGIC0);
    s_put_u8(&w, DTX_PROTO_MAGIC1);
    s_put_u8(&w, version);
    s_put_u8(&w, msg->type);
    s_put_u64(&w, msg->corr);
    int rc = s_encode_body(msg, spec, &w);
    if (rc != DTX_OK)
        return rc;
    if (traced) {  /* extensions in increasing tag order */
        s_put_u8(&w, DTX_EXT_TRACEPARENT);
        s_put_u8(&w, 0);
        s_put_u8(&w, DTX_TRACEPARENT_LEN);
        s_put(&w, msg->traceparent, DTX_TRACEPARENT_LEN);
    }
    if (msg->bundle) {
        s_put_u8(&w, DTX_EXT_BUNDLE);
        s_put_u8(&w, 0);
        s_put_u8(&w, 0);
    }
    if (keyed) {
        s_put_u8(&w, DTX_EXT_GID);
        s_put_u8(&w, 0);
        s_put_u8(&w, DTX_ID_LEN);
        s_put(&w, msg->gid, DTX_ID_LEN);
    }
    /* The limits above keep every valid frame under DTX_MSG_MAX; this
     * guards the table against a future row that would not. */
    if (w.pos > DTX_MSG_MAX || w.pos > cap) {
        *len = w.pos;
        return DTX_ETOOBIG;
    }
    *len = w.pos;
    return DTX_OK;
}
