/*
 * test_proto.c — the wire codec (common/src/proto.c) and the names of the
 * shared constants (common/src/err.c).
 *
 * Malformed frames are built here byte by byte from the layout in
 * dtx/proto.h, not with the encoder, so an encoder bug cannot hide a
 * decoder bug. Truncated frames are copied into heap blocks of exactly
 * their length, so AddressSanitizer catches any read past the end.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/proto.h"
#include "dtx/types.h"
#include "unit.h"

/* ------------------------------------------------------------------ */
/* Fixtures                                                           */
/* ------------------------------------------------------------------ */

static const uint8_t s_all_types[] = {
    DTX_MSG_BEGIN, DTX_MSG_TRY, DTX_MSG_COMMIT, DTX_MSG_ROLLBACK,
    DTX_MSG_STATUS, DTX_MSG_RESUME, DTX_MSG_REGISTER, DTX_MSG_HEARTBEAT,
    DTX_MSG_PHASE_REPLY, DTX_MSG_BEGIN_OK, DTX_MSG_TRY_OK, DTX_MSG_STATE,
    DTX_MSG_REGISTER_OK, DTX_MSG_HEARTBEAT_OK, DTX_MSG_PHASE, DTX_MSG_ERROR,
};
#define NTYPES (sizeof s_all_types / sizeof s_all_types[0])

/* How far a sample message pushes its fields. */
enum {
    SAMPLE_SMALL,   /* 1-char names, empty text and payload, zero ints */
    SAMPLE_MEDIUM,  /* 63-char names, 255-byte text, 1000-byte payload */
    SAMPLE_MAX,     /* as MEDIUM with a DTX_PAYLOAD_MAX payload, max ints */
    SAMPLE_COUNT
};

static uint8_t s_payload[DTX_PAYLOAD_MAX];
static uint8_t s_frame[DTX_MSG_MAX + 16];

static void s_fill_payload(void)
{
    for (size_t i = 0; i < sizeof s_payload; i++)
        s_payload[i] = (uint8_t) (i * 31u + 7u);
}

/* 63 characters that use every kind of character a name may hold. */
static void s_long_name(char out[DTX_NAME_SIZE], char first)
{
    static const char chars[] = "AZaz09._:-";
    for (int i = 0; i < DTX_NAME_MAX; i++)
        out[i] = chars[i % (sizeof chars - 1)];
    out[0] = first;
    out[DTX_NAME_MAX] = '\0';
}

static void s_name(char out[DTX_NAME_SIZE], int variant, char first)
{
    if (variant == SAMPLE_SMALL) {
        out[0] = first;
        out[1] = '\0';
    } else {
        s_long_name(out, first);
    }
}

/* Fills m with a valid message of type t: only the fields of t are set. */
static void s_sample(dtx_msg_t *m, uint8_t t, int variant)
{
    int small = variant == SAMPLE_SMALL;
    int max = variant == SAMPLE_MAX;

    memset(m, 0, sizeof *m);
    m->type = t;
    m->corr = small ? 0 : max ? UINT64_MAX : 0x8000000000000001ull;
    uint32_t u32 = small ? 0 : max ? UINT32_MAX : 0x12345678u;
    uint64_t u64 = small ? 0 : max ? UINT64_MAX : 1700000000000ull;
    uint32_t plen = small ? 0 : max ? DTX_PAYLOAD_MAX : 1000;
    const uint8_t *payload = plen ? s_payload : NULL;

    switch (t) {
    case DTX_MSG_BEGIN:
        m->mode = small ? DTX_MODE_TCC : DTX_MODE_2PC;
        m->timeout_ms = u32;
        break;
    case DTX_MSG_TRY:
        s_name(m->gid, variant, 'g');
        s_name(m->resource, variant, 'r');
        s_name(m->action, variant, 'a');
        m->payload = payload;
        m->payload_len = plen;
        break;
    case DTX_MSG_COMMIT:
    case DTX_MSG_ROLLBACK:
    case DTX_MSG_STATUS:
    case DTX_MSG_RESUME:
        s_name(m->gid, variant, 'g');
        break;
    case DTX_MSG_REGISTER:
        s_name(m->instance, variant, 'i');
        s_name(m->resource, variant, 'r');
        break;
    case DTX_MSG_HEARTBEAT:
        s_name(m->instance, variant, 'i');
        break;
    case DTX_MSG_PHASE_REPLY:
        s_name(m->gid, variant, 'g');
        m->branch = u32;
        m->op = small ? DTX_OP_TRY : DTX_OP_CANCEL;
        m->attempt = u32;
        m->outcome = small ? DTX_OUTCOME_OK : DTX_OUTCOME_FAILED;
        m->payload = payload;
        m->payload_len = plen;
        break;
    case DTX_MSG_BEGIN_OK:
        s_name(m->gid, variant, 'g');
        m->deadline_ms = u64;
        break;
    case DTX_MSG_TRY_OK:
        s_name(m->gid, variant, 'g');
        m->branch = u32;
        m->outcome = small ? DTX_OUTCOME_OK : DTX_OUTCOME_FAILED;
        m->state = small ? DTX_STATE_ACTIVE : DTX_STATE_STUCK;
        m->payload = payload;
        m->payload_len = plen;
        break;
    case DTX_MSG_STATE:
        s_name(m->gid, variant, 'g');
        m->state = small ? DTX_STATE_ACTIVE : DTX_STATE_STUCK;
        break;
    case DTX_MSG_REGISTER_OK:
        s_name(m->resource, variant, 'r');
        m->heartbeat_ms = u32;
        s_name(m->coordinator, variant, 'c');
        break;
    case DTX_MSG_HEARTBEAT_OK:
        s_name(m->coordinator, variant, 'c');
        break;
    case DTX_MSG_PHASE:
        s_name(m->gid, variant, 'g');
        m->branch = u32;
        m->op = small ? DTX_OP_TRY : DTX_OP_CANCEL;
        m->attempt = u32;
        s_name(m->resource, variant, 'r');
        s_name(m->action, variant, 'a');
        m->deadline_ms = u64;
        m->payload = payload;
        m->payload_len = plen;
        break;
    case DTX_MSG_ERROR:
        m->code = small ? 0 : max ? UINT32_MAX : (uint32_t) -DTX_EUNREGISTERED;
        if (!small) {
            /* Every byte value but NUL: the text is not checked as UTF-8. */
            for (int i = 0; i < DTX_TEXT_MAX; i++)
                m->text[i] = (char) (i + 1);
            m->text[DTX_TEXT_MAX] = '\0';
        }
        break;
    default:
        CU_FAIL("s_sample: unknown type");
    }
}

/* Compares every field of two messages, payload bytes included. */
static int s_msg_equal(const dtx_msg_t *a, const dtx_msg_t *b)
{
    return a->type == b->type && a->corr == b->corr && a->mode == b->mode
        && a->op == b->op && a->outcome == b->outcome && a->state == b->state
        && a->timeout_ms == b->timeout_ms && a->branch == b->branch
        && a->attempt == b->attempt && a->heartbeat_ms == b->heartbeat_ms
        && a->code == b->code && a->deadline_ms == b->deadline_ms
        && strcmp(a->gid, b->gid) == 0
        && strcmp(a->resource, b->resource) == 0
        && strcmp(a->action, b->action) == 0
        && strcmp(a->instance, b->instance) == 0
        && strcmp(a->coordinator, b->coordinator) == 0
        && strcmp(a->text, b->text) == 0
        && a->payload_len == b->payload_len
        && (a->payload_len == 0
            || memcmp(a->payload, b->payload, a->payload_len) == 0);
}

/* Encodes a sample of type t into s_frame; returns its length. */
static size_t s_encode_sample(dtx_msg_t *m, uint8_t t, int variant)
{
    size_t len = 0;
    s_sample(m, t, variant);
    int rc = dtx_msg_encode(m, s_frame, sizeof s_frame, &len);
    CU_ASSERT_EQUAL(rc, DTX_OK);
    return len;
}

/* A frame built by hand from the layout. */
typedef struct {
    uint8_t b[2048];
    size_t  n;
} frame_t;

static void fb_u8(frame_t *f, uint8_t v)
{
    f->b[f->n++] = v;
}

static void fb_u32(frame_t *f, uint32_t v)
{
    for (int s = 24; s >= 0; s -= 8)
        fb_u8(f, (uint8_t) (v >> s));
}

static void fb_u64(frame_t *f, uint64_t v)
{
    fb_u32(f, (uint32_t) (v >> 32));
    fb_u32(f, (uint32_t) v);
}

static void fb_bytes(frame_t *f, const void *p, size_t n)
{
    memcpy(f->b + f->n, p, n);
    f->n += n;
}

/* u8 length + bytes; used for name and text fields. */
static void fb_str(frame_t *f, const char *s)
{
    fb_u8(f, (uint8_t) strlen(s));
    fb_bytes(f, s, strlen(s));
}

static void fb_header(frame_t *f, uint8_t version, uint8_t type, uint64_t corr)
{
    f->n = 0;
    fb_u8(f, 'D');
    fb_u8(f, 'X');
    fb_u8(f, version);
    fb_u8(f, type);
    fb_u64(f, corr);
}

/* Decodes f from a heap copy of exactly its length. */
static int s_decode_exact(dtx_msg_t *m, const uint8_t *bytes, size_t n,
                          char *err, size_t errlen)
{
    uint8_t *copy = malloc(n ? n : 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
    if (n)
        memcpy(copy, bytes, n);
    int rc = dtx_msg_decode(m, n ? copy : NULL, n, err, errlen);
    free(copy);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Round trips                                                        */
/* ------------------------------------------------------------------ */

static void s_round_trip_every_type(int variant)
{
    for (size_t i = 0; i < NTYPES; i++) {
        dtx_msg_t in, out;
        char err[256];
        size_t len = s_encode_sample(&in, s_all_types[i], variant);
        CU_ASSERT(len >= DTX_PROTO_HEADER && len <= DTX_MSG_MAX);
        int rc = dtx_msg_decode(&out, s_frame, len, err, sizeof err);
        CU_ASSERT_EQUAL(rc, DTX_OK);
        if (rc != DTX_OK)
            fprintf(stderr, "\n  %s: %s\n", dtx_msg_type_name(in.type), err);
        CU_ASSERT(s_msg_equal(&in, &out));
    }
}

static void test_every_type_round_trips_with_minimal_values(void)
{
    s_round_trip_every_type(SAMPLE_SMALL);
}

static void test_every_type_round_trips_with_max_names_and_text(void)
{
    s_round_trip_every_type(SAMPLE_MEDIUM);
}

static void test_every_type_round_trips_with_max_payload_and_integers(void)
{
    s_round_trip_every_type(SAMPLE_MAX);
}

static void test_largest_phase_fits_in_msg_max(void)
{
    dtx_msg_t m;
    size_t len = s_encode_sample(&m, DTX_MSG_PHASE, SAMPLE_MAX);
    /* header + 3 names of 1+63 + branch, op, attempt, deadline + blob */
    CU_ASSERT_EQUAL(len, 12u + 3 * 64 + 4 + 1 + 4 + 8 + 4 + DTX_PAYLOAD_MAX);
    CU_ASSERT(len <= DTX_MSG_MAX);
}

static void test_decoded_payload_points_into_the_frame(void)
{
    dtx_msg_t in, out;
    size_t len = s_encode_sample(&in, DTX_MSG_TRY, SAMPLE_MEDIUM);
    CU_ASSERT_EQUAL_FATAL(dtx_msg_decode(&out, s_frame, len, NULL, 0), DTX_OK);
    CU_ASSERT_PTR_EQUAL(out.payload, s_frame + len - out.payload_len);
}

static void test_decode_zeroes_fields_outside_the_type(void)
{
    dtx_msg_t in, out;
    size_t len = s_encode_sample(&in, DTX_MSG_COMMIT, SAMPLE_SMALL);
    memset(&out, 0x5a, sizeof out);
    CU_ASSERT_EQUAL_FATAL(dtx_msg_decode(&out, s_frame, len, NULL, 0), DTX_OK);
    CU_ASSERT_STRING_EQUAL(out.resource, "");
    CU_ASSERT_STRING_EQUAL(out.text, "");
    CU_ASSERT_EQUAL(out.branch, 0);
    CU_ASSERT_EQUAL(out.deadline_ms, 0);
    CU_ASSERT_PTR_NULL(out.payload);
    CU_ASSERT_EQUAL(out.payload_len, 0);
}

static void test_decode_reads_frames_at_unaligned_addresses(void)
{
    static uint8_t shifted[2048 + 8];
    dtx_msg_t in, out;
    size_t len = s_encode_sample(&in, DTX_MSG_PHASE, SAMPLE_SMALL);
    for (size_t off = 1; off < 8; off++) {
        memcpy(shifted + off, s_frame, len);
        CU_ASSERT_EQUAL(dtx_msg_decode(&out, shifted + off, len, NULL, 0), DTX_OK);
        CU_ASSERT(s_msg_equal(&in, &out));
    }
}

static void test_timeout_ms_accepts_any_value(void)
{
    const uint32_t values[] = { 0, 1, 30000, UINT32_MAX };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        frame_t f;
        dtx_msg_t m;
        fb_header(&f, 1, DTX_MSG_BEGIN, 9);
        fb_u8(&f, DTX_MODE_TCC);
        fb_u32(&f, values[i]);
        CU_ASSERT_EQUAL(dtx_msg_decode(&m, f.b, f.n, NULL, 0), DTX_OK);
        CU_ASSERT_EQUAL(m.timeout_ms, values[i]);
    }
}

/* ------------------------------------------------------------------ */
/* Golden vectors: written out by hand from the layout in proto.h.     */
/* docs/protocol.md shows the same bytes.                             */
/* ------------------------------------------------------------------ */

static const uint8_t s_golden_begin[] = {
    0x44, 0x58, 0x01, 0x01,                         /* 'D' 'X' v1 BEGIN */
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, /* corr */
    0x01,                                           /* mode TCC */
    0x00, 0x00, 0x75, 0x30,                         /* timeout_ms 30000 */
};

static const uint8_t s_golden_phase[] = {
    0x44, 0x58, 0x01, 0x88,                         /* 'D' 'X' v1 PHASE */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, /* corr 42 */
    0x03, 'g', '-', '1',                            /* gid "g-1" */
    0x00, 0x00, 0x00, 0x01,                         /* branch 1 */
    0x02,                                           /* op confirm */
    0x00, 0x00, 0x00, 0x03,                         /* attempt 3 */
    0x04, 'b', 'a', 'n', 'k',                       /* resource "bank" */
    0x08, 't', 'r', 'a', 'n', 's', 'f', 'e', 'r',   /* action "transfer" */
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* deadline 1700000000000 */
    0x00, 0x00, 0x00, 0x02, '{', '}',               /* payload "{}" */
};

static void s_golden_begin_msg(dtx_msg_t *m)
{
    memset(m, 0, sizeof *m);
    m->type = DTX_MSG_BEGIN;
    m->corr = 0x0102030405060708ull;
    m->mode = DTX_MODE_TCC;
    m->timeout_ms = 30000;
}

static void s_golden_phase_msg(dtx_msg_t *m)
{
    memset(m, 0, sizeof *m);
    m->type = DTX_MSG_PHASE;
    m->corr = 42;
    strcpy(m->gid, "g-1");
    m->branch = 1;
    m->op = DTX_OP_CONFIRM;
    m->attempt = 3;
    strcpy(m->resource, "bank");
    strcpy(m->action, "transfer");
    m->deadline_ms = 1700000000000ull;
    m->payload = (const uint8_t *) "{}";
    m->payload_len = 2;
}

static void test_begin_encodes_to_golden_bytes(void)
{
    dtx_msg_t m;
    uint8_t buf[64];
    size_t len = 0;
    s_golden_begin_msg(&m);
    CU_ASSERT_EQUAL_FATAL(dtx_msg_encode(&m, buf, sizeof buf, &len), DTX_OK);
    CU_ASSERT_EQUAL_FATAL(len, sizeof s_golden_begin);
    CU_ASSERT(memcmp(buf, s_golden_begin, len) == 0);
}

static void test_golden_begin_decodes_to_its_fields(void)
{
    dtx_msg_t want, got;
    s_golden_begin_msg(&want);
    CU_ASSERT_EQUAL_FATAL(s_decode_exact(&got, s_golden_begin,
                                         sizeof s_golden_begin, NULL, 0), DTX_OK);
    CU_ASSERT(s_msg_equal(&want, &got));
}

static void test_phase_encodes_to_golden_bytes(void)
{
    dtx_msg_t m;
    uint8_t buf[128];
    size_t len = 0;
    s_golden_phase_msg(&m);
    CU_ASSERT_EQUAL_FATAL(dtx_msg_encode(&m, buf, sizeof buf, &len), DTX_OK);
    CU_ASSERT_EQUAL_FATAL(len, sizeof s_golden_phase);
    CU_ASSERT(memcmp(buf, s_golden_phase, len) == 0);
}

static void test_golden_phase_decodes_to_its_fields(void)
{
    dtx_msg_t want, got;
    s_golden_phase_msg(&want);
    CU_ASSERT_EQUAL_FATAL(dtx_msg_decode(&got, s_golden_phase,
                                         sizeof s_golden_phase, NULL, 0), DTX_OK);
    CU_ASSERT(s_msg_equal(&want, &got));
}

/* ------------------------------------------------------------------ */
/* Malformed frames                                                   */
/* ------------------------------------------------------------------ */

static void test_every_truncated_prefix_of_every_type_is_eproto(void)
{
    for (int variant = SAMPLE_SMALL; variant <= SAMPLE_MEDIUM; variant++) {
        for (size_t i = 0; i < NTYPES; i++) {
            dtx_msg_t m;
            size_t len = s_encode_sample(&m, s_all_types[i], variant);
            for (size_t n = 0; n < len; n++) {
                char err[256];
                int rc = s_decode_exact(&m, s_frame, n, err, sizeof err);
                if (rc != DTX_EPROTO || !strstr(err, "truncated")) {
                    fprintf(stderr, "\n  %s prefix %zu/%zu: rc=%d err=%s\n",
                            dtx_msg_type_name(s_all_types[i]), n, len, rc, err);
                    CU_FAIL("prefix not rejected as truncated");
                    break;
                }
            }
        }
    }
}

static void test_truncation_error_names_type_field_and_offset(void)
{
    frame_t f;
    dtx_msg_t m;
    char err[256];
    fb_header(&f, 1, DTX_MSG_TRY, 7);
    fb_str(&f, "0123456789abcd");  /* gid: bytes 12..26 */
    fb_u8(&f, 5);                  /* resource: 5 bytes announced, 2 sent */
    fb_bytes(&f, "ba", 2);
    CU_ASSERT_EQUAL(s_decode_exact(&m, f.b, f.n, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "TRY: field 'resource' truncated at byte 27"));
    /* A failed decode keeps type and corr so the receiver can answer. */
    CU_ASSERT_EQUAL(m.type, DTX_MSG_TRY);
    CU_ASSERT_EQUAL(m.corr, 7);
    CU_ASSERT_STRING_EQUAL(m.gid, "");
}

static void test_bad_magic_is_eproto(void)
{
    dtx_msg_t m;
    char err[256];
    size_t len = s_encode_sample(&m, DTX_MSG_STATUS, SAMPLE_SMALL);
    for (int byte = 0; byte < 2; byte++) {
        uint8_t saved = s_frame[byte];
        s_frame[byte] ^= 0x20;  /* 'd' or 'x' */
        CU_ASSERT_EQUAL(dtx_msg_decode(&m, s_frame, len, err, sizeof err), DTX_EPROTO);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "magic"));
        CU_ASSERT_EQUAL(m.type, 0);
        s_frame[byte] = saved;
    }
}

static void test_unknown_type_is_eproto(void)
{
    int unknown = 0;
    for (int t = 0; t < 256; t++) {
        if (memchr(s_all_types, t, NTYPES))
            continue;
        if (t == DTX_MSG_SAGA || t == DTX_MSG_TMSG) {
            /* Version 2 only: unknown in version 1 (test_proto_saga.c,
             * test_proto_tmsg.c). */
            unknown++;
            continue;
        }
        frame_t f;
        dtx_msg_t m;
        char err[256];
        fb_header(&f, 1, (uint8_t) t, 1);
        fb_str(&f, "g");
        CU_ASSERT_EQUAL(dtx_msg_decode(&m, f.b, f.n, err, sizeof err), DTX_EPROTO);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown message type"));
        CU_ASSERT_STRING_EQUAL(dtx_msg_type_name(t), "UNKNOWN");
        unknown++;
    }
    CU_ASSERT_EQUAL(unknown, 256 - (int) NTYPES);
}

static void test_other_version_is_eversion_with_type_and_corr(void)
{
    const uint8_t versions[] = { 0, 3, 255 };  /* 1 and 2 are spoken */
    for (size_t i = 0; i < sizeof versions; i++) {
        dtx_msg_t m;
        char err[256];
        memcpy(s_frame, s_golden_begin, sizeof s_golden_begin);
        s_frame[2] = versions[i];
        CU_ASSERT_EQUAL(s_decode_exact(&m, s_frame, sizeof s_golden_begin,
                                       err, sizeof err), DTX_EVERSION);
        CU_ASSERT_EQUAL(m.type, DTX_MSG_BEGIN);
        CU_ASSERT_EQUAL(m.corr, 0x0102030405060708ull);
        CU_ASSERT_EQUAL(m.mode, 0);  /* the body is not acted on */
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "version"));
    }
}

static void test_other_version_with_unknown_body_is_still_eversion(void)
{
    /* A future version may change the body and add types: only bytes
     * 0..3 (and corr) are read. */
    frame_t f;
    dtx_msg_t m;
    fb_header(&f, 3, 0x42, 0xfeedull);
    fb_bytes(&f, "\xff\xff\xff", 3);
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, f.b, f.n, NULL, 0), DTX_EVERSION);
    CU_ASSERT_EQUAL(m.type, 0x42);
    CU_ASSERT_EQUAL(m.corr, 0xfeedull);
    /* Shorter than a version 1 header: corr cannot be read. */
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, f.b, 4, NULL, 0), DTX_EVERSION);
    CU_ASSERT_EQUAL(m.type, 0x42);
    CU_ASSERT_EQUAL(m.corr, 0);
}

static void test_trailing_byte_is_eproto_for_every_type(void)
{
    for (size_t i = 0; i < NTYPES; i++) {
        dtx_msg_t m;
        char err[256];
        size_t len = s_encode_sample(&m, s_all_types[i], SAMPLE_SMALL);
        s_frame[len] = 0;
        CU_ASSERT_EQUAL(s_decode_exact(&m, s_frame, len + 1, err, sizeof err),
                        DTX_EPROTO);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "trailing"));
    }
}

/* A COMMIT whose gid is the given length byte and bytes. */
static int s_decode_commit_gid(uint8_t len, const char *bytes, size_t n,
                               char *err, size_t errlen)
{
    frame_t f;
    dtx_msg_t m;
    fb_header(&f, 1, DTX_MSG_COMMIT, 1);
    fb_u8(&f, len);
    fb_bytes(&f, bytes, n);
    return s_decode_exact(&m, f.b, f.n, err, errlen);
}

static void test_name_with_space_is_eproto(void)
{
    char err[256];
    CU_ASSERT_EQUAL(s_decode_commit_gid(3, "a b", 3, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "COMMIT: field 'gid'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "0x20"));
}

static void test_name_with_bytes_outside_the_alphabet_is_eproto(void)
{
    const char bad[] = { '/', ' ', '\0', '@', '[', '`', '{', '~', '\x7f',
                         '\xc3', '\xff', '+', ',', '=', '\n' };
    for (size_t i = 0; i < sizeof bad; i++) {
        char name[3] = { 'a', bad[i], 'b' };
        CU_ASSERT_EQUAL(s_decode_commit_gid(3, name, 3, NULL, 0), DTX_EPROTO);
    }
    CU_ASSERT_EQUAL(s_decode_commit_gid(8, "aZ09._:-", 8, NULL, 0), DTX_OK);
}

static void test_empty_name_is_eproto(void)
{
    char err[256];
    CU_ASSERT_EQUAL(s_decode_commit_gid(0, "", 0, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "gid"));
}

static void test_name_of_64_chars_is_eproto(void)
{
    char name[255];
    memset(name, 'n', sizeof name);
    CU_ASSERT_EQUAL(s_decode_commit_gid(63, name, 63, NULL, 0), DTX_OK);
    CU_ASSERT_EQUAL(s_decode_commit_gid(64, name, 64, NULL, 0), DTX_EPROTO);
    CU_ASSERT_EQUAL(s_decode_commit_gid(255, name, 255, NULL, 0), DTX_EPROTO);
}

static int s_decode_error_text(const char *text, size_t n, char *err, size_t errlen,
                               dtx_msg_t *m)
{
    frame_t f;
    fb_header(&f, 1, DTX_MSG_ERROR, 1);
    fb_u32(&f, 2);
    fb_u8(&f, (uint8_t) n);
    fb_bytes(&f, text, n);
    return s_decode_exact(m, f.b, f.n, err, errlen);
}

static void test_text_with_nul_is_eproto(void)
{
    dtx_msg_t m;
    char err[256];
    CU_ASSERT_EQUAL(s_decode_error_text("ab\0cd", 5, err, sizeof err, &m), DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "ERROR: field 'text'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "NUL"));
    CU_ASSERT_EQUAL(s_decode_error_text("\0", 1, NULL, 0, &m), DTX_EPROTO);
    CU_ASSERT_EQUAL(s_decode_error_text("abcd\0", 5, NULL, 0, &m), DTX_EPROTO);
}

static void test_empty_and_utf8_text_decode(void)
{
    dtx_msg_t m;
    CU_ASSERT_EQUAL(s_decode_error_text("", 0, NULL, 0, &m), DTX_OK);
    CU_ASSERT_STRING_EQUAL(m.text, "");
    CU_ASSERT_EQUAL(s_decode_error_text("d\xc3\xa9j\xc3\xa0", 6, NULL, 0, &m), DTX_OK);
    CU_ASSERT_STRING_EQUAL(m.text, "d\xc3\xa9j\xc3\xa0");
}

/* A TRY with short names and the given blob length and bytes. */
static void s_try_frame(frame_t *f, uint32_t blob_len, size_t bytes_present)
{
    fb_header(f, 1, DTX_MSG_TRY, 1);
    fb_str(f, "g");
    fb_str(f, "r");
    fb_str(f, "a");
    fb_u32(f, blob_len);
    f->n += bytes_present;  /* frame_t is zeroed by the caller */
}

static void test_blob_length_over_limit_is_eproto(void)
{
    static uint8_t big[DTX_MSG_MAX];
    dtx_msg_t m;
    char err[256];
    /* Length DTX_PAYLOAD_MAX + 1 with every byte present. */
    size_t n = 0;
    memcpy(big, "DX\x01\x02\0\0\0\0\0\0\0\x01\x01g\x01r\x01" "a", 18);
    n = 18;
    big[n++] = 0x00; big[n++] = 0x04; big[n++] = 0x00; big[n++] = 0x01;
    n += DTX_PAYLOAD_MAX + 1;
    CU_ASSERT_FATAL(n <= DTX_MSG_MAX);
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, big, n, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "TRY: field 'payload'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "262145"));
    /* The same frame one byte shorter, at the limit, is fine. */
    big[21] = 0x00;
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, big, n - 1, err, sizeof err), DTX_OK);
    CU_ASSERT_EQUAL(m.payload_len, DTX_PAYLOAD_MAX);
    /* A huge length with nothing behind it. */
    frame_t f = { .n = 0 };
    s_try_frame(&f, UINT32_MAX, 0);
    CU_ASSERT_EQUAL(s_decode_exact(&m, f.b, f.n, NULL, 0), DTX_EPROTO);
}

static void test_blob_past_the_end_is_eproto(void)
{
    frame_t f = { .n = 0 };
    dtx_msg_t m;
    char err[256];
    s_try_frame(&f, 10, 9);
    CU_ASSERT_EQUAL(s_decode_exact(&m, f.b, f.n, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "truncated"));
    f.n++;
    CU_ASSERT_EQUAL(s_decode_exact(&m, f.b, f.n, NULL, 0), DTX_OK);
}

/* Builders of frames with one enum field set to v, for every message that
 * carries an enum. */
static void b_begin_mode(frame_t *f, uint8_t v)
{
    fb_header(f, 1, DTX_MSG_BEGIN, 1);
    fb_u8(f, v);
    fb_u32(f, 0);
}

static void b_phase_op(frame_t *f, uint8_t v)
{
    fb_header(f, 1, DTX_MSG_PHASE, 1);
    fb_str(f, "g");
    fb_u32(f, 1);
    fb_u8(f, v);
    fb_u32(f, 1);
    fb_str(f, "r");
    fb_str(f, "a");
    fb_u64(f, 0);
    fb_u32(f, 0);
}

static void s_phase_reply(frame_t *f, uint8_t op, uint8_t outcome)
{
    fb_header(f, 1, DTX_MSG_PHASE_REPLY, 1);
    fb_str(f, "g");
    fb_u32(f, 1);
    fb_u8(f, op);
    fb_u32(f, 1);
    fb_u8(f, outcome);
    fb_u32(f, 0);
}

static void b_reply_op(frame_t *f, uint8_t v)
{
    s_phase_reply(f, v, DTX_OUTCOME_OK);
}

static void b_reply_outcome(frame_t *f, uint8_t v)
{
    s_phase_reply(f, DTX_OP_TRY, v);
}

static void s_try_ok(frame_t *f, uint8_t outcome, uint8_t state)
{
    fb_header(f, 1, DTX_MSG_TRY_OK, 1);
    fb_str(f, "g");
    fb_u32(f, 1);
    fb_u8(f, outcome);
    fb_u8(f, state);
    fb_u32(f, 0);
}

static void b_try_ok_outcome(frame_t *f, uint8_t v)
{
    s_try_ok(f, v, DTX_STATE_ACTIVE);
}

static void b_try_ok_state(frame_t *f, uint8_t v)
{
    s_try_ok(f, DTX_OUTCOME_OK, v);
}

static void b_state_state(frame_t *f, uint8_t v)
{
    fb_header(f, 1, DTX_MSG_STATE, 1);
    fb_str(f, "g");
    fb_u8(f, v);
}

static const struct {
    const char *what;
    void (*build)(frame_t *f, uint8_t v);
    int lo, hi;
} s_enum_cases[] = {
    { "BEGIN mode", b_begin_mode, DTX_MODE_TCC, DTX_MODE_2PC },
    { "PHASE op", b_phase_op, DTX_OP_TRY, DTX_OP_MAX },
    { "PHASE_REPLY op", b_reply_op, DTX_OP_TRY, DTX_OP_MAX },
    { "PHASE_REPLY outcome", b_reply_outcome, DTX_OUTCOME_OK, DTX_OUTCOME_FAILED },
    { "TRY_OK outcome", b_try_ok_outcome, DTX_OUTCOME_OK, DTX_OUTCOME_FAILED },
    { "TRY_OK state", b_try_ok_state, DTX_STATE_ACTIVE, DTX_STATE_STUCK },
    { "STATE state", b_state_state, DTX_STATE_ACTIVE, DTX_STATE_STUCK },
};

static void test_enum_out_of_range_is_eproto_and_in_range_decodes(void)
{
    for (size_t c = 0; c < sizeof s_enum_cases / sizeof s_enum_cases[0]; c++) {
        for (int v = 0; v < 256; v++) {
            frame_t f;
            dtx_msg_t m;
            char err[256];
            s_enum_cases[c].build(&f, (uint8_t) v);
            int rc = dtx_msg_decode(&m, f.b, f.n, err, sizeof err);
            int want = v >= s_enum_cases[c].lo && v <= s_enum_cases[c].hi
                     ? DTX_OK : DTX_EPROTO;
            if (rc != want) {
                fprintf(stderr, "\n  %s=%d: rc=%d want %d\n",
                        s_enum_cases[c].what, v, rc, want);
                CU_FAIL("enum range not enforced");
            }
            if (want == DTX_EPROTO)
                CU_ASSERT_PTR_NOT_NULL(strstr(err, "out of range"));
        }
    }
}

static void test_frame_over_msg_max_is_etoobig(void)
{
    static uint8_t big[DTX_MSG_MAX + 1];
    dtx_msg_t m;
    char err[256];
    memcpy(big, s_golden_begin, sizeof s_golden_begin);
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, big, sizeof big, err, sizeof err), DTX_ETOOBIG);
    CU_ASSERT_EQUAL(m.corr, 0x0102030405060708ull);
    /* Exactly DTX_MSG_MAX bytes is not "too big", only malformed here. */
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, big, DTX_MSG_MAX, NULL, 0), DTX_EPROTO);
    /* Garbage over the limit is too big too. */
    memset(big, 0xee, sizeof big);
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, big, sizeof big, NULL, 0), DTX_ETOOBIG);
}

static void test_empty_frame_is_eproto(void)
{
    dtx_msg_t m;
    char err[64];
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, NULL, 0, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "truncated header"));
}

static void test_error_text_is_terminated_in_a_small_errbuf(void)
{
    dtx_msg_t m;
    char err[8];
    memset(err, 'x', sizeof err);
    CU_ASSERT_EQUAL(s_decode_commit_gid(3, "a b", 3, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_EQUAL(err[7], '\0');
    CU_ASSERT_STRING_EQUAL(err, "COMMIT:");
    /* errlen 0: nothing is written. */
    err[0] = 'q';
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, "XX", 2, err, 0), DTX_EPROTO);
    CU_ASSERT_EQUAL(err[0], 'q');
}

static void test_successful_decode_clears_errbuf(void)
{
    dtx_msg_t m;
    char err[64] = "stale";
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, s_golden_begin, sizeof s_golden_begin,
                                   err, sizeof err), DTX_OK);
    CU_ASSERT_STRING_EQUAL(err, "");
}

/* ------------------------------------------------------------------ */
/* Encoder                                                            */
/* ------------------------------------------------------------------ */

static int s_encode(const dtx_msg_t *m)
{
    size_t len;
    return dtx_msg_encode(m, s_frame, sizeof s_frame, &len);
}

static void test_encode_rejects_invalid_names(void)
{
    dtx_msg_t m;
    s_sample(&m, DTX_MSG_PHASE, SAMPLE_SMALL);
    strcpy(m.action, "a b");
    CU_ASSERT_EQUAL(s_encode(&m), DTX_EINVAL);
    strcpy(m.action, "");
    CU_ASSERT_EQUAL(s_encode(&m), DTX_EINVAL);
    memset(m.action, 'a', sizeof m.action);  /* 64 chars, no NUL */
    CU_ASSERT_EQUAL(s_encode(&m), DTX_EINVAL);
    strcpy(m.action, "caf\xc3\xa9");
    CU_ASSERT_EQUAL(s_encode(&m), DTX_EINVAL);
    strcpy(m.action, "a");
    CU_ASSERT_EQUAL(s_encode(&m), DTX_OK);
}

static void test_encode_rejects_text_without_room_for_nul(void)
{
    dtx_msg_t m;
    s_sample(&m, DTX_MSG_ERROR, SAMPLE_SMALL);
    memset(m.text, 'x', sizeof m.text);  /* 256 chars, no NUL */
    CU_ASSERT_EQUAL(s_encode(&m), DTX_EINVAL);
    m.text[DTX_TEXT_MAX] = '\0';
    CU_ASSERT_EQUAL(s_encode(&m), DTX_OK);
}

static void test_encode_rejects_bad_payloads(void)
{
    dtx_msg_t m;
    s_sample(&m, DTX_MSG_TRY, SAMPLE_MAX);
    m.payload_len = DTX_PAYLOAD_MAX + 1;
    CU_ASSERT_EQUAL(s_encode(&m), DTX_EINVAL);
    m.payload_len = UINT32_MAX;
    CU_ASSERT_EQUAL(s_encode(&m), DTX_EINVAL);
    m.payload = NULL;
    m.payload_len = 1;
    CU_ASSERT_EQUAL(s_encode(&m), DTX_EINVAL);
    m.payload_len = 0;
    CU_ASSERT_EQUAL(s_encode(&m), DTX_OK);
}

static void test_encode_rejects_enum_out_of_range(void)
{
    dtx_msg_t m;
    s_sample(&m, DTX_MSG_BEGIN, SAMPLE_SMALL);
    m.mode = 0;
    CU_ASSERT_EQUAL(s_encode(&m), DTX_EINVAL);
    m.mode = 3;
    CU_ASSERT_EQUAL(s_encode(&m), DTX_EINVAL);
    s_sample(&m, DTX_MSG_PHASE, SAMPLE_SMALL);
    m.op = DTX_OP_MAX + 1;
    CU_ASSERT_EQUAL(s_encode(&m), DTX_EINVAL);
    s_sample(&m, DTX_MSG_TRY_OK, SAMPLE_SMALL);
    m.outcome = 3;
    CU_ASSERT_EQUAL(s_encode(&m), DTX_EINVAL);
    s_sample(&m, DTX_MSG_STATE, SAMPLE_SMALL);
    m.state = 0;
    CU_ASSERT_EQUAL(s_encode(&m), DTX_EINVAL);
    m.state = 7;
    CU_ASSERT_EQUAL(s_encode(&m), DTX_EINVAL);
}

static void test_encode_ignores_fields_outside_the_type(void)
{
    dtx_msg_t m;
    s_sample(&m, DTX_MSG_HEARTBEAT, SAMPLE_SMALL);
    m.mode = 99;                 /* not a HEARTBEAT field */
    strcpy(m.gid, "not a name"); /* neither */
    CU_ASSERT_EQUAL(s_encode(&m), DTX_OK);
}

static void test_encode_rejects_unknown_type(void)
{
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    const uint8_t bad[] = { 0x00, 0x0a, 0x80, 0x84, 0x85, 0x89, 0xfe };
    for (size_t i = 0; i < sizeof bad; i++) {
        m.type = bad[i];
        CU_ASSERT_EQUAL(s_encode(&m), DTX_EINVAL);
    }
}

static void test_encode_into_small_buffer_is_etoobig_and_stays_in_bounds(void)
{
    for (size_t i = 0; i < NTYPES; i++) {
        dtx_msg_t m;
        size_t need = s_encode_sample(&m, s_all_types[i], SAMPLE_MEDIUM);
        for (size_t cap = 0; cap < need; cap++) {
            /* Exact-size heap blocks: ASan reports any write past cap. */
            uint8_t *buf = cap ? malloc(cap) : NULL;
            size_t len = 0;
            int rc = dtx_msg_encode(&m, buf, cap, &len);
            free(buf);
            if (rc != DTX_ETOOBIG || len != need) {
                fprintf(stderr, "\n  %s cap %zu: rc=%d len=%zu\n",
                        dtx_msg_type_name(m.type), cap, rc, len);
                CU_FAIL("small buffer not rejected");
                break;
            }
        }
        uint8_t *buf = malloc(need);
        size_t len = 0;
        CU_ASSERT_EQUAL(dtx_msg_encode(&m, buf, need, &len), DTX_OK);
        CU_ASSERT_EQUAL(len, need);
        free(buf);
    }
}

static void test_encode_of_max_payload_into_short_buffer_is_etoobig(void)
{
    dtx_msg_t m;
    size_t need = s_encode_sample(&m, DTX_MSG_PHASE, SAMPLE_MAX);
    uint8_t *buf = malloc(need - 1);
    size_t len = 0;
    CU_ASSERT_EQUAL(dtx_msg_encode(&m, buf, need - 1, &len), DTX_ETOOBIG);
    CU_ASSERT_EQUAL(len, need);
    free(buf);
}

/* ------------------------------------------------------------------ */
/* Names and constants                                                */
/* ------------------------------------------------------------------ */

static void test_type_names_match_the_header_table(void)
{
    CU_ASSERT_STRING_EQUAL(dtx_msg_type_name(DTX_MSG_BEGIN), "BEGIN");
    CU_ASSERT_STRING_EQUAL(dtx_msg_type_name(DTX_MSG_PHASE_REPLY), "PHASE_REPLY");
    CU_ASSERT_STRING_EQUAL(dtx_msg_type_name(DTX_MSG_HEARTBEAT_OK), "HEARTBEAT_OK");
    CU_ASSERT_STRING_EQUAL(dtx_msg_type_name(DTX_MSG_ERROR), "ERROR");
    CU_ASSERT_STRING_EQUAL(dtx_msg_type_name(-1), "UNKNOWN");
    CU_ASSERT_STRING_EQUAL(dtx_msg_type_name(0x1FF), "UNKNOWN");
    for (size_t i = 0; i < NTYPES; i++)
        for (size_t j = i + 1; j < NTYPES; j++)
            CU_ASSERT(strcmp(dtx_msg_type_name(s_all_types[i]),
                             dtx_msg_type_name(s_all_types[j])) != 0);
}

static void test_name_valid_accepts_1_to_63_chars_of_the_alphabet(void)
{
    char name[DTX_NAME_SIZE + 1];
    CU_ASSERT_TRUE(dtx_name_valid("a"));
    CU_ASSERT_TRUE(dtx_name_valid("bank-a_1.eu:7070"));
    s_long_name(name, 'x');
    CU_ASSERT_TRUE(dtx_name_valid(name));
    memset(name, 'x', DTX_NAME_SIZE);
    name[DTX_NAME_SIZE] = '\0';
    CU_ASSERT_FALSE(dtx_name_valid(name));
    CU_ASSERT_FALSE(dtx_name_valid(""));
    CU_ASSERT_FALSE(dtx_name_valid(NULL));
    CU_ASSERT_FALSE(dtx_name_valid("a b"));
    CU_ASSERT_FALSE(dtx_name_valid("a/b"));
    CU_ASSERT_FALSE(dtx_name_valid("caf\xc3\xa9"));
}

static void test_name_copy_copies_valid_and_empties_on_invalid(void)
{
    char dst[DTX_NAME_SIZE];
    char long_name[DTX_NAME_SIZE + 1];
    CU_ASSERT_EQUAL(dtx_name_copy(dst, "bank-a"), DTX_OK);
    CU_ASSERT_STRING_EQUAL(dst, "bank-a");
    CU_ASSERT_EQUAL(dtx_name_copy(dst, "a b"), DTX_EINVAL);
    CU_ASSERT_STRING_EQUAL(dst, "");
    memset(long_name, 'y', DTX_NAME_SIZE);
    long_name[DTX_NAME_SIZE] = '\0';
    strcpy(dst, "old");
    CU_ASSERT_EQUAL(dtx_name_copy(dst, long_name), DTX_EINVAL);
    CU_ASSERT_STRING_EQUAL(dst, "");
    CU_ASSERT_EQUAL(dtx_name_copy(dst, NULL), DTX_EINVAL);
    s_long_name(long_name, 'z');
    CU_ASSERT_EQUAL(dtx_name_copy(dst, long_name), DTX_OK);
    CU_ASSERT_STRING_EQUAL(dst, long_name);
}

static void test_strerror_names_every_code_distinctly(void)
{
    for (int a = DTX_ERR_MIN; a <= 0; a++) {
        const char *ta = dtx_strerror(a);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ta);
        CU_ASSERT(strcmp(ta, "unknown error") != 0);
        CU_ASSERT(strlen(ta) > 0);
        for (const char *c = ta; *c; c++)
            CU_ASSERT(!(*c >= 'A' && *c <= 'Z'));
        for (int b = a + 1; b <= 0; b++)
            CU_ASSERT(strcmp(ta, dtx_strerror(b)) != 0);
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(dtx_strerror(DTX_EUNREGISTERED), "registered"));
}

/* Every DTX_E* code is its own number (DTX_ENOMEM is not DTX_EINVAL), the
 * codes run without a gap from -1 to DTX_ERR_MIN (the wire carries -code:
 * docs/protocol.md section 6.1 numbers them 1..22), and each has its name. */
static void test_error_codes_are_distinct_and_wire_numbered(void)
{
    static const struct { int code; int wire; } codes[] = {
        { DTX_EINVAL, 1 },        { DTX_EPROTO, 2 },     { DTX_EVERSION, 3 },
        { DTX_ENOMEM, 4 },        { DTX_ETOOBIG, 5 },    { DTX_ENOTFOUND, 6 },
        { DTX_ESTATE, 7 },        { DTX_ETIMEOUT, 8 },   { DTX_ENOPARTICIPANT, 9 },
        { DTX_EDB, 10 },          { DTX_EBUSY, 11 },     { DTX_EIO, 12 },
        { DTX_EREFUSED, 13 },     { DTX_ECONFIG, 14 },   { DTX_EEXPIRED, 15 },
        { DTX_EUNREGISTERED, 16 }, { DTX_EINTERNAL, 17 }, { DTX_EUNSUPPORTED, 18 },
        { DTX_EABORTED, 19 },     { DTX_EUNKNOWN, 20 },  { DTX_EACCES, 21 },
        { DTX_ELIMIT, 22 },
    };
    const size_t n = sizeof codes / sizeof codes[0];
    CU_ASSERT_EQUAL(n, (size_t)-DTX_ERR_MIN);
    CU_ASSERT(DTX_ENOMEM != DTX_EINVAL);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT(codes[i].code < 0);
        CU_ASSERT_EQUAL(-codes[i].code, codes[i].wire);
        CU_ASSERT(strcmp(dtx_strerror(codes[i].code), "unknown error") != 0);
        for (size_t j = i + 1; j < n; j++) {
            CU_ASSERT(codes[i].code != codes[j].code);
            CU_ASSERT(strcmp(dtx_strerror(codes[i].code), dtx_strerror(codes[j].code)) != 0);
        }
    }
}

static void test_strerror_of_unknown_codes_is_unknown_error(void)
{
    const int codes[] = { 1, 2, 100, DTX_ERR_MIN - 1, -1000, INT_MIN, INT_MAX };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        CU_ASSERT_STRING_EQUAL(dtx_strerror(codes[i]), "unknown error");
}

static void test_state_names_parse_back(void)
{
    for (int s = DTX_STATE_ACTIVE; s <= DTX_STATE_STUCK; s++) {
        CU_ASSERT(strcmp(dtx_state_name(s), "unknown") != 0);
        CU_ASSERT_EQUAL(dtx_state_parse(dtx_state_name(s)), s);
    }
    CU_ASSERT_STRING_EQUAL(dtx_state_name(DTX_STATE_COMMITTING), "committing");
    CU_ASSERT_STRING_EQUAL(dtx_state_name(0), "unknown");
    CU_ASSERT_STRING_EQUAL(dtx_state_name(7), "unknown");
    CU_ASSERT_STRING_EQUAL(dtx_state_name(-1), "unknown");
    CU_ASSERT_EQUAL(dtx_state_parse("unknown"), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_state_parse(""), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_state_parse("committedx"), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_state_parse(NULL), DTX_EINVAL);
}

static void test_op_names(void)
{
    CU_ASSERT_STRING_EQUAL(dtx_op_name(DTX_OP_TRY), "try");
    CU_ASSERT_STRING_EQUAL(dtx_op_name(DTX_OP_CONFIRM), "confirm");
    CU_ASSERT_STRING_EQUAL(dtx_op_name(DTX_OP_CANCEL), "cancel");
    CU_ASSERT_STRING_EQUAL(dtx_op_name(DTX_OP_PREPARE), "prepare");
    CU_ASSERT_STRING_EQUAL(dtx_op_name(DTX_OP_COMMIT), "commit");
    CU_ASSERT_STRING_EQUAL(dtx_op_name(DTX_OP_ABORT), "abort");
    CU_ASSERT_STRING_EQUAL(dtx_op_name(0), "unknown");
    CU_ASSERT_STRING_EQUAL(dtx_op_name(DTX_OP_MAX + 1), "unknown");
}

/* ------------------------------------------------------------------ */

UNIT_SUITE(proto)
{
    s_fill_payload();
    CU_pSuite s = CU_add_suite("proto", NULL, NULL);
#define T(fn) CU_add_test(s, #fn, fn)
    T(test_every_type_round_trips_with_minimal_values);
    T(test_every_type_round_trips_with_max_names_and_text);
    T(test_every_type_round_trips_with_max_payload_and_integers);
    T(test_largest_phase_fits_in_msg_max);
    T(test_decoded_payload_points_into_the_frame);
    T(test_decode_zeroes_fields_outside_the_type);
    T(test_decode_reads_frames_at_unaligned_addresses);
    T(test_timeout_ms_accepts_any_value);
    T(test_begin_encodes_to_golden_bytes);
    T(test_golden_begin_decodes_to_its_fields);
    T(test_phase_encodes_to_golden_bytes);
    T(test_golden_phase_decodes_to_its_fields);
    T(test_every_truncated_prefix_of_every_type_is_eproto);
    T(test_truncation_error_names_type_field_and_offset);
    T(test_bad_magic_is_eproto);
    T(test_unknown_type_is_eproto);
    T(test_other_version_is_eversion_with_type_and_corr);
    T(test_other_version_with_unknown_body_is_still_eversion);
    T(test_trailing_byte_is_eproto_for_every_type);
    T(test_name_with_space_is_eproto);
    T(test_name_with_bytes_outside_the_alphabet_is_eproto);
    T(test_empty_name_is_eproto);
    T(test_name_of_64_chars_is_eproto);
    T(test_text_with_nul_is_eproto);
    T(test_empty_and_utf8_text_decode);
    T(test_blob_length_over_limit_is_eproto);
    T(test_blob_past_the_end_is_eproto);
    T(test_enum_out_of_range_is_eproto_and_in_range_decodes);
    T(test_frame_over_msg_max_is_etoobig);
    T(test_empty_frame_is_eproto);
    T(test_error_text_is_terminated_in_a_small_errbuf);
    T(test_successful_decode_clears_errbuf);
    T(test_encode_rejects_invalid_names);
    T(test_encode_rejects_text_without_room_for_nul);
    T(test_encode_rejects_bad_payloads);
    T(test_encode_rejects_enum_out_of_range);
    T(test_encode_ignores_fields_outside_the_type);
    T(test_encode_rejects_unknown_type);
    T(test_encode_into_small_buffer_is_etoobig_and_stays_in_bounds);
    T(test_encode_of_max_payload_into_short_buffer_is_etoobig);
    T(test_type_names_match_the_header_table);
    T(test_name_valid_accepts_1_to_63_chars_of_the_alphabet);
    T(test_name_copy_copies_valid_and_empties_on_invalid);
    T(test_strerror_names_every_code_distinctly);
    T(test_error_codes_are_distinct_and_wire_numbered);
    T(test_strerror_of_unknown_codes_is_unknown_error);
    T(test_state_names_parse_back);
    T(test_op_names);
#undef T
}
