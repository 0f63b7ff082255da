/*
 * test_proto.c — the wire codec (common/src/proto.c): round trips, the
 * golden vectors and the encoder's checks; and the names of the shared
 * constants (common/src/err.c). Malformed frames given to the decoder are
 * in test_proto_decode.c, the samples and frame builders both use in
 * proto_fixture.c.
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
/* Round trips                                                        */
/* ------------------------------------------------------------------ */

static void s_round_trip_every_type(int variant)
{
    for (size_t i = 0; i < NTYPES; i++) {
        dtx_msg_t in, out;
        char err[256];
        size_t len = pf_encode_sample(&in, pf_all_types[i], variant);
        CU_ASSERT(len >= DTX_PROTO_HEADER && len <= DTX_MSG_MAX);
        int rc = dtx_msg_decode(&out, pf_frame, len, err, sizeof err);
        CU_ASSERT_EQUAL(rc, DTX_OK);
        if (rc != DTX_OK)
            fprintf(stderr, "\n  %s: %s\n", dtx_msg_type_name(in.type), err);
        CU_ASSERT(pf_msg_equal(&in, &out));
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
    size_t len = pf_encode_sample(&m, DTX_MSG_PHASE, SAMPLE_MAX);
    /* header + 3 names of 1+63 + branch, op, attempt, deadline + blob */
    CU_ASSERT_EQUAL(len, 12u + 3 * 64 + 4 + 1 + 4 + 8 + 4 + DTX_PAYLOAD_MAX);
    CU_ASSERT(len <= DTX_MSG_MAX);
}

static void test_decoded_payload_points_into_the_frame(void)
{
    dtx_msg_t in, out;
    size_t len = pf_encode_sample(&in, DTX_MSG_TRY, SAMPLE_MEDIUM);
    CU_ASSERT_EQUAL_FATAL(dtx_msg_decode(&out, pf_frame, len, NULL, 0), DTX_OK);
    CU_ASSERT_PTR_EQUAL(out.payload, pf_frame + len - out.payload_len);
}

static void test_decode_zeroes_fields_outside_the_type(void)
{
    dtx_msg_t in, out;
    size_t len = pf_encode_sample(&in, DTX_MSG_COMMIT, SAMPLE_SMALL);
    memset(&out, 0x5a, sizeof out);
    CU_ASSERT_EQUAL_FATAL(dtx_msg_decode(&out, pf_frame, len, NULL, 0), DTX_OK);
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
    size_t len = pf_encode_sample(&in, DTX_MSG_PHASE, SAMPLE_SMALL);
    for (size_t off = 1; off < 8; off++) {
        memcpy(shifted + off, pf_frame, len);
        CU_ASSERT_EQUAL(dtx_msg_decode(&out, shifted + off, len, NULL, 0), DTX_OK);
        CU_ASSERT(pf_msg_equal(&in, &out));
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
/* docs/protocol.md shows the same bytes (BEGIN's: proto_fixture.c).   */
/* ------------------------------------------------------------------ */

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
    CU_ASSERT_EQUAL_FATAL(len, sizeof pf_golden_begin);
    CU_ASSERT(memcmp(buf, pf_golden_begin, len) == 0);
}

static void test_golden_begin_decodes_to_its_fields(void)
{
    dtx_msg_t want, got;
    s_golden_begin_msg(&want);
    CU_ASSERT_EQUAL_FATAL(pf_decode_exact(&got, pf_golden_begin,
                                         sizeof pf_golden_begin, NULL, 0), DTX_OK);
    CU_ASSERT(pf_msg_equal(&want, &got));
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
    CU_ASSERT(pf_msg_equal(&want, &got));
}

/* ------------------------------------------------------------------ */
/* Encoder                                                            */
/* ------------------------------------------------------------------ */

static int s_encode(const dtx_msg_t *m)
{
    size_t len;
    return dtx_msg_encode(m, pf_frame, sizeof pf_frame, &len);
}

static void test_encode_rejects_invalid_names(void)
{
    dtx_msg_t m;
    pf_sample(&m, DTX_MSG_PHASE, SAMPLE_SMALL);
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
    pf_sample(&m, DTX_MSG_ERROR, SAMPLE_SMALL);
    memset(m.text, 'x', sizeof m.text);  /* 256 chars, no NUL */
    CU_ASSERT_EQUAL(s_encode(&m), DTX_EINVAL);
    m.text[DTX_TEXT_MAX] = '\0';
    CU_ASSERT_EQUAL(s_encode(&m), DTX_OK);
}

static void test_encode_rejects_bad_payloads(void)
{
    dtx_msg_t m;
    pf_sample(&m, DTX_MSG_TRY, SAMPLE_MAX);
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
    pf_sample(&m, DTX_MSG_BEGIN, SAMPLE_SMALL);
    m.mode = 0;
    CU_ASSERT_EQUAL(s_encode(&m), DTX_EINVAL);
    m.mode = 3;
    CU_ASSERT_EQUAL(s_encode(&m), DTX_EINVAL);
    pf_sample(&m, DTX_MSG_PHASE, SAMPLE_SMALL);
    m.op = DTX_OP_MAX + 1;
    CU_ASSERT_EQUAL(s_encode(&m), DTX_EINVAL);
    pf_sample(&m, DTX_MSG_TRY_OK, SAMPLE_SMALL);
    m.outcome = 3;
    CU_ASSERT_EQUAL(s_encode(&m), DTX_EINVAL);
    pf_sample(&m, DTX_MSG_STATE, SAMPLE_SMALL);
    m.state = 0;
    CU_ASSERT_EQUAL(s_encode(&m), DTX_EINVAL);
    m.state = 7;
    CU_ASSERT_EQUAL(s_encode(&m), DTX_EINVAL);
}

static void test_encode_ignores_fields_outside_the_type(void)
{
    dtx_msg_t m;
    pf_sample(&m, DTX_MSG_HEARTBEAT, SAMPLE_SMALL);
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
        size_t need = pf_encode_sample(&m, pf_all_types[i], SAMPLE_MEDIUM);
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
    size_t need = pf_encode_sample(&m, DTX_MSG_PHASE, SAMPLE_MAX);
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
            CU_ASSERT(strcmp(dtx_msg_type_name(pf_all_types[i]),
                             dtx_msg_type_name(pf_all_types[j])) != 0);
}

static void test_name_valid_accepts_1_to_63_chars_of_the_alphabet(void)
{
    char name[DTX_NAME_SIZE + 1];
    CU_ASSERT_TRUE(dtx_name_valid("a"));
    CU_ASSERT_TRUE(dtx_name_valid("bank-a_1.eu:7070"));
    pf_long_name(name, 'x');
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

/* Every byte value, against the alphabet spelled out: the table in
 * name.c lets in exactly [A-Za-z0-9._:-]. */
static void test_name_bad_char_knows_every_byte(void)
{
    const char *ok = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-";
    for (int c = 0; c < 256; c++) {
        uint8_t s[3] = { 'a', (uint8_t)c, 'b' };
        int want_ok = c != 0 && strchr(ok, c) != NULL;
        CU_ASSERT_EQUAL(dtx_name_bad_char(s, sizeof s), want_ok ? 3u : 1u);
    }
    CU_ASSERT_EQUAL(dtx_name_bad_char((const uint8_t *)"", 0), 0u);
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
    pf_long_name(long_name, 'z');
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
 * docs/protocol.md section 6.1 numbers them 1..23; 23 is libdtx's own), and each has its name. */
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
        { DTX_ELIMIT, 22 },       { DTX_ENOTSENT, 23 },
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
    pf_fill_payload();
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
    T(test_name_bad_char_knows_every_byte);
    T(test_name_copy_copies_valid_and_empties_on_invalid);
    T(test_strerror_names_every_code_distinctly);
    T(test_error_codes_are_distinct_and_wire_numbered);
    T(test_strerror_of_unknown_codes_is_unknown_error);
    T(test_state_names_parse_back);
    T(test_op_names);
#undef T
}
