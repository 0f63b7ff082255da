/*
 * test_proto_v2.c — protocol version 2 (docs/protocol.md §15): version-1
 * bodies followed by an extension section (tag u8, length u16, value; tags
 * increasing; tag 1 = traceparent), unknown types answered ERROR 18. The
 * golden frames here are the worked examples of §15.
 */
#include <stdint.h>
#include <string.h>

#include "dtx/proto.h"
#include "dtx/types.h"
#include "unit.h"

#define TP "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

/* §15's BEGIN: TCC, 30 s, corr 0x0102030405060708, traceparent TP. */
static const uint8_t s_golden_begin_v2[] = {
    0x44, 0x58, 0x02, 0x01, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
    0x01, 0x00, 0x00, 0x75, 0x30,
    0x01, 0x00, 0x37,
    '0', '0', '-', '0', 'a', 'f', '7', '6', '5', '1', '9', '1', '6', 'c', 'd', '4', '3', 'd',
    'd', '8', '4', '4', '8', 'e', 'b', '2', '1', '1', 'c', '8', '0', '3', '1', '9', 'c', '-',
    'b', '7', 'a', 'd', '6', 'b', '7', '1', '6', '9', '2', '0', '3', '3', '3', '1', '-', '0',
    '1',
};

/* The version-1 golden PHASE of §13 (53 bytes). */
static const uint8_t s_phase_v1[] = {
    0x44, 0x58, 0x01, 0x88, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x03, 0x67, 0x2d,
    0x31, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x03, 0x04, 0x62, 0x61, 0x6e, 0x6b,
    0x08, 0x74, 0x72, 0x61, 0x6e, 0x73, 0x66, 0x65, 0x72, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5,
    0x68, 0x00, 0x00, 0x00, 0x00, 0x02, 0x7b, 0x7d,
};

static uint8_t s_buf[DTX_MSG_MAX];

/* s_buf = the v1 PHASE as version 2, then extra bytes. Returns its length. */
static size_t s_phase_v2(const void *ext, size_t n)
{
    memcpy(s_buf, s_phase_v1, sizeof s_phase_v1);
    s_buf[2] = DTX_PROTO_V2;
    if (n > 0)
        memcpy(s_buf + sizeof s_phase_v1, ext, n);
    return sizeof s_phase_v1 + n;
}

static void test_begin_v2_with_traceparent_encodes_to_golden_bytes(void)
{
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.version = DTX_PROTO_V2;
    m.type = DTX_MSG_BEGIN;
    m.corr = 0x0102030405060708ull;
    m.mode = DTX_MODE_TCC;
    m.timeout_ms = 30000;
    strcpy(m.traceparent, TP);
    size_t len = 0;
    CU_ASSERT_EQUAL_FATAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), DTX_OK);
    CU_ASSERT_EQUAL(len, sizeof s_golden_begin_v2);
    CU_ASSERT_EQUAL(len, 75);
    CU_ASSERT_EQUAL(memcmp(s_buf, s_golden_begin_v2, sizeof s_golden_begin_v2), 0);

    dtx_msg_t got;
    CU_ASSERT_EQUAL_FATAL(dtx_msg_decode(&got, s_golden_begin_v2, sizeof s_golden_begin_v2,
                                         NULL, 0), DTX_OK);
    CU_ASSERT_EQUAL(got.version, DTX_PROTO_V2);
    CU_ASSERT_EQUAL(got.type, DTX_MSG_BEGIN);
    CU_ASSERT_EQUAL(got.timeout_ms, 30000);
    CU_ASSERT_STRING_EQUAL(got.traceparent, TP);
    CU_ASSERT_EQUAL(got.ext_skipped, 0);
}

static void test_v2_without_extensions_is_the_v1_layout_with_version_2(void)
{
    dtx_msg_t v1, v2;
    size_t n = s_phase_v2(NULL, 0);
    CU_ASSERT_EQUAL_FATAL(dtx_msg_decode(&v1, s_phase_v1, sizeof s_phase_v1, NULL, 0), DTX_OK);
    CU_ASSERT_EQUAL_FATAL(dtx_msg_decode(&v2, s_buf, n, NULL, 0), DTX_OK);
    CU_ASSERT_EQUAL(v1.version, DTX_PROTO_V1);
    CU_ASSERT_EQUAL(v2.version, DTX_PROTO_V2);
    CU_ASSERT_STRING_EQUAL(v2.gid, "g-1");
    CU_ASSERT_STRING_EQUAL(v2.traceparent, "");
    v2.version = DTX_PROTO_V1;
    v2.payload = v1.payload; /* points into another buffer */
    CU_ASSERT_EQUAL(memcmp(&v1, &v2, sizeof v1), 0);
    /* And encodes back to it. */
    dtx_msg_t m = v1;
    m.version = DTX_PROTO_V2;
    uint8_t out[128];
    size_t len = 0;
    CU_ASSERT_EQUAL(dtx_msg_encode(&m, out, sizeof out, &len), DTX_OK);
    CU_ASSERT_EQUAL(len, n);
    CU_ASSERT_EQUAL(memcmp(out, s_buf, n), 0);
}

static void test_phase_v2_round_trips_its_traceparent(void)
{
    static const uint8_t ext[] = { 0x01, 0x00, 0x37 };
    uint8_t frame[256];
    memcpy(frame, ext, 3);
    memcpy(frame + 3, TP, 55);
    size_t n = s_phase_v2(frame, 58);
    dtx_msg_t m;
    CU_ASSERT_EQUAL_FATAL(dtx_msg_decode(&m, s_buf, n, NULL, 0), DTX_OK);
    CU_ASSERT_STRING_EQUAL(m.traceparent, TP);
    CU_ASSERT_EQUAL(m.attempt, 3);
    uint8_t out[256];
    size_t len = 0;
    CU_ASSERT_EQUAL(dtx_msg_encode(&m, out, sizeof out, &len), DTX_OK);
    CU_ASSERT_EQUAL(len, n);
    CU_ASSERT_EQUAL(memcmp(out, s_buf, n), 0);
}

static void test_unknown_extension_is_skipped_and_not_reencoded(void)
{
    uint8_t ext[128];
    size_t k = 0;
    ext[k++] = 0x01; ext[k++] = 0x00; ext[k++] = 0x37;
    memcpy(ext + k, TP, 55); k += 55;
    ext[k++] = 0x09; ext[k++] = 0x00; ext[k++] = 0x03; /* tag 9, 3 bytes */
    memcpy(ext + k, "abc", 3); k += 3;
    ext[k++] = 0xff; ext[k++] = 0x00; ext[k++] = 0x00; /* tag 255, empty */
    size_t n = s_phase_v2(ext, k);
    dtx_msg_t m;
    CU_ASSERT_EQUAL_FATAL(dtx_msg_decode(&m, s_buf, n, NULL, 0), DTX_OK);
    CU_ASSERT_STRING_EQUAL(m.traceparent, TP);
    CU_ASSERT_EQUAL(m.ext_skipped, 2);
    uint8_t out[256];
    size_t len = 0;
    CU_ASSERT_EQUAL(dtx_msg_encode(&m, out, sizeof out, &len), DTX_OK);
    CU_ASSERT_EQUAL(len, sizeof s_phase_v1 + 58);
    /* Only an unknown one: skipped, no traceparent. */
    static const uint8_t only[] = { 0x04, 0x00, 0x01, 'x' }; /* tag 4: unassigned */
    n = s_phase_v2(only, sizeof only);
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, s_buf, n, NULL, 0), DTX_OK);
    CU_ASSERT_STRING_EQUAL(m.traceparent, "");
    CU_ASSERT_EQUAL(m.ext_skipped, 1);
}

static void test_malformed_extensions_are_eproto(void)
{
    char err[200];
    dtx_msg_t m;
    uint8_t tp_upper[58] = { 0x01, 0x00, 0x37 };
    memcpy(tp_upper + 3, "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01", 55);
    uint8_t tp_zero[58] = { 0x01, 0x00, 0x37 };
    memcpy(tp_zero + 3, "00-00000000000000000000000000000000-b7ad6b7169203331-01", 55);
    uint8_t tp_short[57] = { 0x01, 0x00, 0x36 };
    memcpy(tp_short + 3, TP, 54);
    uint8_t dup[6] = { 0x05, 0x00, 0x00, 0x05, 0x00, 0x00 };
    uint8_t down[6] = { 0x06, 0x00, 0x00, 0x05, 0x00, 0x00 };
    uint8_t tag0[3] = { 0x00, 0x00, 0x00 };
    uint8_t cut1[1] = { 0x05 };
    uint8_t cut2[2] = { 0x05, 0x00 };
    uint8_t past[5] = { 0x05, 0x00, 0x03, 'a', 'b' };
    struct { const uint8_t *b; size_t n; const char *why; } cases[] = {
        { tp_upper, sizeof tp_upper, "traceparent" },
        { tp_zero, sizeof tp_zero, "traceparent" },
        { tp_short, sizeof tp_short, "traceparent" },
        { dup, sizeof dup, "not after" },
        { down, sizeof down, "not after" },
        { tag0, sizeof tag0, "not after" },
        { cut1, sizeof cut1, "truncated" },
        { cut2, sizeof cut2, "truncated" },
        { past, sizeof past, "truncated" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = s_phase_v2(cases[i].b, cases[i].n);
        CU_ASSERT_EQUAL(dtx_msg_decode(&m, s_buf, n, err, sizeof err), DTX_EPROTO);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, cases[i].why));
        CU_ASSERT_EQUAL(m.version, DTX_PROTO_V2); /* to answer in it */
        CU_ASSERT_EQUAL(m.corr, 42);
        CU_ASSERT_STRING_EQUAL(m.traceparent, "");
    }
}

static void test_extension_section_over_its_limit_is_eproto(void)
{
    static uint8_t ext[DTX_PROTO_EXT_MAX + 1];
    /* One unknown extension filling the section exactly: accepted. */
    size_t n = DTX_PROTO_EXT_MAX;
    ext[0] = 0x07;
    ext[1] = (uint8_t)((n - 3) >> 8);
    ext[2] = (uint8_t)(n - 3);
    dtx_msg_t m;
    char err[200];
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, s_buf, s_phase_v2(ext, n), NULL, 0), DTX_OK);
    n++;
    ext[1] = (uint8_t)((n - 3) >> 8);
    ext[2] = (uint8_t)(n - 3);
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, s_buf, s_phase_v2(ext, n), err, sizeof err), DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "extensions of"));
    /* The largest valid frame, with a full section, still fits. */
    CU_ASSERT_TRUE(262369u + DTX_PROTO_EXT_MAX <= DTX_MSG_MAX);
}

static void test_v1_frame_with_extension_bytes_is_eproto(void)
{
    uint8_t frame[128];
    memcpy(frame, s_phase_v1, sizeof s_phase_v1);
    memcpy(frame + sizeof s_phase_v1, "\x01\x00\x37" TP, 58);
    dtx_msg_t m;
    char err[200];
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, frame, sizeof s_phase_v1 + 58, err, sizeof err),
                    DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "trailing"));
    CU_ASSERT_EQUAL(m.version, DTX_PROTO_V1);
}

static void test_unknown_type_is_eunsupported_in_v2_and_eproto_in_v1(void)
{
    uint8_t frame[16] = { 0x44, 0x58, 0x02, 0x7e, 0, 0, 0, 0, 0, 0, 0, 0x63, 0xaa };
    dtx_msg_t m;
    char err[200];
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, frame, 13, err, sizeof err), DTX_EUNSUPPORTED);
    CU_ASSERT_EQUAL(m.type, 0x7e);
    CU_ASSERT_EQUAL(m.corr, 0x63);
    CU_ASSERT_EQUAL(m.version, DTX_PROTO_V2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown message type"));
    /* A v2 header cut short is still malformed: no corr to answer. */
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, frame, 8, NULL, 0), DTX_EPROTO);
    frame[2] = DTX_PROTO_V1;
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, frame, 13, NULL, 0), DTX_EPROTO);
    /* Version 3 is still not spoken: ERROR 3. */
    frame[2] = 3;
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, frame, 13, NULL, 0), DTX_EVERSION);
    CU_ASSERT_EQUAL(m.version, 0);
}

static void test_encode_refuses_trace_in_v1_invalid_trace_and_unknown_version(void)
{
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_BEGIN;
    m.mode = DTX_MODE_TCC;
    strcpy(m.traceparent, TP);
    size_t len = 99;
    CU_ASSERT_EQUAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), DTX_EINVAL); /* 0 = v1 */
    CU_ASSERT_EQUAL(len, 0);
    m.version = DTX_PROTO_V1;
    CU_ASSERT_EQUAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), DTX_EINVAL);
    m.version = DTX_PROTO_V2;
    CU_ASSERT_EQUAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), DTX_OK);
    m.traceparent[5] = 'G';
    CU_ASSERT_EQUAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), DTX_EINVAL);
    memset(m.traceparent, 'a', sizeof m.traceparent); /* no NUL */
    CU_ASSERT_EQUAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), DTX_EINVAL);
    m.traceparent[0] = '\0';
    m.version = 3;
    CU_ASSERT_EQUAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), DTX_EINVAL);
    /* Without a trace, version 0 is version 1. */
    m.version = 0;
    CU_ASSERT_EQUAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), DTX_OK);
    CU_ASSERT_EQUAL(s_buf[2], DTX_PROTO_V1);
}

UNIT_SUITE(proto_v2)
{
    CU_pSuite s = CU_add_suite("proto_v2", NULL, NULL);
#define T(fn) CU_add_test(s, #fn, fn)
    T(test_begin_v2_with_traceparent_encodes_to_golden_bytes);
    T(test_v2_without_extensions_is_the_v1_layout_with_version_2);
    T(test_phase_v2_round_trips_its_traceparent);
    T(test_unknown_extension_is_skipped_and_not_reencoded);
    T(test_malformed_extensions_are_eproto);
    T(test_extension_section_over_its_limit_is_eproto);
    T(test_v1_frame_with_extension_bytes_is_eproto);
    T(test_unknown_type_is_eunsupported_in_v2_and_eproto_in_v1);
    T(test_encode_refuses_trace_in_v1_invalid_trace_and_unknown_version);
#undef T
}
