/*
 * test_proto_decode.c — the wire decoder (common/src/proto.c) given
 * malformed frames: truncated, bad magic, unknown type, other version,
 * trailing bytes, bad names, text and blobs, enums out of range, frames too
 * large. The frames are built byte by byte (proto_fixture.h), not with the
 * encoder, so an encoder bug cannot hide a decoder bug. Truncated frames
 * are copied into heap blocks of exactly their length, so AddressSanitizer
 * catches any read past the end.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/proto.h"
#include "dtx/types.h"
#include "proto_fixture.h"
#include "unit.h"

/* ------------------------------------------------------------------ */
/* Malformed frames                                                   */
/* ------------------------------------------------------------------ */

static void test_every_truncated_prefix_of_every_type_is_eproto(void)
{
    for (int variant = SAMPLE_SMALL; variant <= SAMPLE_MEDIUM; variant++) {
        for (size_t i = 0; i < NTYPES; i++) {
            dtx_msg_t m;
            size_t len = pf_encode_sample(&m, pf_all_types[i], variant);
            for (size_t n = 0; n < len; n++) {
                char err[256];
                int rc = pf_decode_exact(&m, pf_frame, n, err, sizeof err);
                if (rc != DTX_EPROTO || !strstr(err, "truncated")) {
                    fprintf(stderr, "\n  %s prefix %zu/%zu: rc=%d err=%s\n",
                            dtx_msg_type_name(pf_all_types[i]), n, len, rc, err);
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
    CU_ASSERT_EQUAL(pf_decode_exact(&m, f.b, f.n, err, sizeof err), DTX_EPROTO);
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
    size_t len = pf_encode_sample(&m, DTX_MSG_STATUS, SAMPLE_SMALL);
    for (int byte = 0; byte < 2; byte++) {
        uint8_t saved = pf_frame[byte];
        pf_frame[byte] ^= 0x20;  /* 'd' or 'x' */
        CU_ASSERT_EQUAL(dtx_msg_decode(&m, pf_frame, len, err, sizeof err), DTX_EPROTO);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "magic"));
        CU_ASSERT_EQUAL(m.type, 0);
        pf_frame[byte] = saved;
    }
}

static void test_unknown_type_is_eproto(void)
{
    int unknown = 0;
    for (int t = 0; t < 256; t++) {
        if (memchr(pf_all_types, t, NTYPES))
            continue;
        if (t == DTX_MSG_SAGA || t == DTX_MSG_TMSG || t == DTX_MSG_TRY_MANY || t == DTX_MSG_TCC_RUN ||
            t == DTX_MSG_TRY_MANY_OK || t == DTX_MSG_BUNDLE_REPLIES || t == DTX_MSG_BUNDLE_PHASES) {
            /* Version 2 only: unknown in version 1 (test_proto_saga.c,
             * test_proto_tmsg.c, test_proto_trymany.c, test_proto_bundle.c). */
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
        memcpy(pf_frame, pf_golden_begin, sizeof pf_golden_begin);
        pf_frame[2] = versions[i];
        CU_ASSERT_EQUAL(pf_decode_exact(&m, pf_frame, sizeof pf_golden_begin,
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
        size_t len = pf_encode_sample(&m, pf_all_types[i], SAMPLE_SMALL);
        pf_frame[len] = 0;
        CU_ASSERT_EQUAL(pf_decode_exact(&m, pf_frame, len + 1, err, sizeof err),
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
    return pf_decode_exact(&m, f.b, f.n, err, errlen);
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
    return pf_decode_exact(m, f.b, f.n, err, errlen);
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
    CU_ASSERT_EQUAL(pf_decode_exact(&m, f.b, f.n, NULL, 0), DTX_EPROTO);
}

static void test_blob_past_the_end_is_eproto(void)
{
    frame_t f = { .n = 0 };
    dtx_msg_t m;
    char err[256];
    s_try_frame(&f, 10, 9);
    CU_ASSERT_EQUAL(pf_decode_exact(&m, f.b, f.n, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "truncated"));
    f.n++;
    CU_ASSERT_EQUAL(pf_decode_exact(&m, f.b, f.n, NULL, 0), DTX_OK);
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
    memcpy(big, pf_golden_begin, sizeof pf_golden_begin);
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
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, pf_golden_begin, sizeof pf_golden_begin,
                                   err, sizeof err), DTX_OK);
    CU_ASSERT_STRING_EQUAL(err, "");
}

/* ------------------------------------------------------------------ */

UNIT_SUITE(proto_decode)
{
    pf_fill_payload();
    CU_pSuite s = CU_add_suite("proto_decode", NULL, NULL);
#define T(fn) CU_add_test(s, #fn, fn)
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
#undef T
}
