/*
 * test_proto_tccrun.c — the TCC_RUN message (docs/protocol.md §19): its
 * golden frame of §19.1 both ways, version 2 only, the flags' range, the
 * initiator's gid (flag bit 1 with extension 3, §19.3), and the batch held
 * to TRY_MANY's rules (one codec, dtx/trymany.h).
 */
#include <stdint.h>
#include <string.h>

#include "dtx/proto.h"
#include "dtx/trymany.h"
#include "dtx/types.h"
#include "unit.h"

/* §19.1: TCC_RUN, corr 0x0102030405060708, timeout 30000 ms, flags 1
 * (commit when every branch votes yes); ra debit "5", rb credit "". */
static const uint8_t s_golden[] = {
    0x44, 0x58, 0x02, 0x0d, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
    0x00, 0x00, 0x75, 0x30,                                /* timeout_ms 30000 */
    0x01,                                                  /* flags */
    0x00, 0x00, 0x00, 0x1d,                                /* batch: 29 bytes */
    0x02,                                                  /* 2 branches */
    0x02, 'r', 'a', 0x05, 'd', 'e', 'b', 'i', 't', 0x00, 0x00, 0x00, 0x01, '5',
    0x02, 'r', 'b', 0x06, 'c', 'r', 'e', 'd', 'i', 't', 0x00, 0x00, 0x00, 0x00,
};

static uint8_t s_buf[DTX_MSG_MAX];
static uint8_t s_blob[256];

static void s_item(dtx_trymany_t *b, const char *r, const char *a, const char *p)
{
    dtx_trymany_item_t *it = &b->items[b->n++];
    memset(it, 0, sizeof *it);
    strcpy(it->resource, r);
    strcpy(it->action, a);
    it->payload = (const uint8_t *)p;
    it->payload_len = (uint32_t)strlen(p);
}

static void test_tccrun_golden_both_ways(void)
{
    static dtx_trymany_t b;
    memset(&b, 0, sizeof b);
    s_item(&b, "ra", "debit", "5");
    s_item(&b, "rb", "credit", "");
    size_t blen = 0;
    CU_ASSERT_EQUAL_FATAL(dtx_trymany_encode(&b, s_blob, sizeof s_blob, &blen), 0);
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.version = DTX_PROTO_V2;
    m.type = DTX_MSG_TCC_RUN;
    m.corr = 0x0102030405060708ull;
    m.timeout_ms = 30000;
    m.flags = DTX_TCC_RUN_COMMIT;
    m.payload = s_blob;
    m.payload_len = (uint32_t)blen;
    size_t len = 0;
    CU_ASSERT_EQUAL_FATAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), 0);
    CU_ASSERT_EQUAL_FATAL(len, sizeof s_golden);
    CU_ASSERT_EQUAL(memcmp(s_buf, s_golden, len), 0);

    dtx_msg_t got;
    CU_ASSERT_EQUAL_FATAL(dtx_msg_decode(&got, s_golden, sizeof s_golden, NULL, 0), 0);
    CU_ASSERT_EQUAL(got.type, DTX_MSG_TCC_RUN);
    CU_ASSERT_EQUAL(got.timeout_ms, 30000);
    CU_ASSERT_EQUAL(got.flags, DTX_TCC_RUN_COMMIT);
    CU_ASSERT_STRING_EQUAL(dtx_msg_type_name(DTX_MSG_TCC_RUN), "TCC_RUN");
    static dtx_trymany_t d;
    CU_ASSERT_EQUAL_FATAL(dtx_trymany_decode(&d, got.payload, got.payload_len, NULL, 0), 0);
    CU_ASSERT_EQUAL(d.n, 2);
    CU_ASSERT_STRING_EQUAL(d.items[1].resource, "rb");
    /* flags 0: the same frame but for byte 16 */
    uint8_t f[sizeof s_golden];
    memcpy(f, s_golden, sizeof f);
    f[16] = 0;
    CU_ASSERT_EQUAL(dtx_msg_decode(&got, f, sizeof f, NULL, 0), 0);
    CU_ASSERT_EQUAL(got.flags, 0);
}

static void test_tccrun_is_version_2_only(void)
{
    uint8_t f[sizeof s_golden];
    memcpy(f, s_golden, sizeof f);
    f[2] = DTX_PROTO_V1;
    dtx_msg_t m;
    char err[160];
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, f, sizeof f, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "needs version 2"));
    CU_ASSERT_EQUAL(m.corr, 0x0102030405060708ull);
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, s_golden, sizeof s_golden, NULL, 0), 0);
    m.version = DTX_PROTO_V1;
    size_t len;
    CU_ASSERT_EQUAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), DTX_EINVAL);
}

static void test_tccrun_flags_above_bit_1_are_malformed(void)
{
    uint8_t f[sizeof s_golden];
    memcpy(f, s_golden, sizeof f);
    dtx_msg_t m;
    char err[160];
    for (int v = 4; v < 256; v *= 2) {
        f[16] = (uint8_t)v;
        CU_ASSERT_EQUAL(dtx_msg_decode(&m, f, sizeof f, err, sizeof err), DTX_EPROTO);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "'flags'"));
    }
    /* bit 1 needs extension 3 (below) */
    f[16] = 0x03;
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, f, sizeof f, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "without extension 'gid'"));
    /* the encoder refuses them too */
    CU_ASSERT_EQUAL_FATAL(dtx_msg_decode(&m, s_golden, sizeof s_golden, NULL, 0), 0);
    m.flags = 4;
    size_t len;
    CU_ASSERT_EQUAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), DTX_EINVAL);
    m.flags = DTX_TCC_RUN_COMMIT | DTX_TCC_RUN_GID; /* no gid */
    CU_ASSERT_EQUAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), DTX_EINVAL);
}

/* §19.3: the frame of §19.1 with flags 3 and extension 3, the initiator's
 * gid (26 characters of a ULID). */
static const char s_ulid[] = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

static size_t s_keyed(uint8_t *f, uint8_t flags, const char *value, size_t n)
{
    memcpy(f, s_golden, sizeof s_golden);
    f[16] = flags;
    size_t len = sizeof s_golden;
    f[len++] = DTX_EXT_GID;
    f[len++] = (uint8_t)(n >> 8);
    f[len++] = (uint8_t)n;
    memcpy(f + len, value, n);
    return len + n;
}

static void test_tccrun_with_the_initiators_gid_both_ways(void)
{
    static uint8_t f[sizeof s_golden + 3 + 64];
    size_t n = s_keyed(f, 0x03, s_ulid, 26);
    CU_ASSERT_EQUAL(n, sizeof s_golden + 29);
    dtx_msg_t m;
    CU_ASSERT_EQUAL_FATAL(dtx_msg_decode(&m, f, n, NULL, 0), 0);
    CU_ASSERT_EQUAL(m.flags, DTX_TCC_RUN_COMMIT | DTX_TCC_RUN_GID);
    CU_ASSERT_STRING_EQUAL(m.gid, s_ulid);
    CU_ASSERT_EQUAL(m.ext_skipped, 0);
    size_t len = 0;
    CU_ASSERT_EQUAL_FATAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), 0);
    CU_ASSERT_EQUAL_FATAL(len, n);
    CU_ASSERT_EQUAL(memcmp(s_buf, f, n), 0);
    /* without bit 1 the encoder writes no gid, and refuses one */
    m.flags = DTX_TCC_RUN_COMMIT;
    CU_ASSERT_EQUAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), DTX_EINVAL);
    m.gid[0] = '\0';
    CU_ASSERT_EQUAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), 0);
    CU_ASSERT_EQUAL(len, sizeof s_golden);
    /* bit 1 without bit 0 */
    strcpy(m.gid, s_ulid);
    m.flags = DTX_TCC_RUN_GID;
    CU_ASSERT_EQUAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), DTX_EINVAL);
    /* with a traceparent too: tags 1 and 3 in that order, both ways */
    m.flags = DTX_TCC_RUN_COMMIT | DTX_TCC_RUN_GID;
    strcpy(m.traceparent, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    CU_ASSERT_EQUAL_FATAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), 0);
    CU_ASSERT_EQUAL(len, sizeof s_golden + 58 + 29);
    CU_ASSERT_EQUAL(s_buf[sizeof s_golden], DTX_EXT_TRACEPARENT);
    CU_ASSERT_EQUAL(s_buf[sizeof s_golden + 58], DTX_EXT_GID);
    dtx_msg_t back;
    CU_ASSERT_EQUAL_FATAL(dtx_msg_decode(&back, s_buf, len, NULL, 0), 0);
    CU_ASSERT_STRING_EQUAL(back.gid, s_ulid);
    CU_ASSERT_STRING_EQUAL(back.traceparent, m.traceparent);
}

static void test_tccrun_gid_extension_rules(void)
{
    static uint8_t f[sizeof s_golden + 3 + 64];
    dtx_msg_t m;
    char err[160];
    /* the extension without flag bit 1, and bit 1 without bit 0 */
    size_t n = s_keyed(f, 0x01, s_ulid, 26);
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, f, n, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "clear, but extension 'gid' present"));
    n = s_keyed(f, 0x02, s_ulid, 26);
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, f, n, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "without flag bit 0"));
    /* values that are not an id: short, long, lower case, a letter Crockford
     * leaves out, a first character over 7 (more than 128 bits) */
    const char *bad[] = { "01ARZ3NDEKTSV4RRFFQ69G5FA", "01ARZ3NDEKTSV4RRFFQ69G5FAVX",
                          "01arz3ndektsv4rrffq69g5fav", "01ARZ3NDEKTSV4RRFFQ69G5FAU",
                          "81ARZ3NDEKTSV4RRFFQ69G5FAV", "01ARZ3NDEKTSV4RRFFQ69G5FA\0" };
    const size_t lens[] = { 25, 27, 26, 26, 26, 26 };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        n = s_keyed(f, 0x03, bad[i], lens[i]);
        CU_ASSERT_EQUAL(dtx_msg_decode(&m, f, n, err, sizeof err), DTX_EPROTO);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "extension 'gid'"));
    }
}

/* On another message extension 3 is checked and ignored: a BEGIN's gid is
 * not a field it has, a TRY's stays the body's. */
static void test_gid_extension_elsewhere_is_ignored(void)
{
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.version = DTX_PROTO_V2;
    m.type = DTX_MSG_STATUS;
    m.corr = 7;
    strcpy(m.gid, "g-body");
    size_t len = 0;
    CU_ASSERT_EQUAL_FATAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), 0);
    s_buf[len++] = DTX_EXT_GID;
    s_buf[len++] = 0;
    s_buf[len++] = 26;
    memcpy(s_buf + len, s_ulid, 26);
    len += 26;
    dtx_msg_t got;
    CU_ASSERT_EQUAL_FATAL(dtx_msg_decode(&got, s_buf, len, NULL, 0), 0);
    CU_ASSERT_STRING_EQUAL(got.gid, "g-body");
    CU_ASSERT_EQUAL(got.ext_skipped, 1);
    s_buf[len - 1] = 'u'; /* checked even there */
    CU_ASSERT_EQUAL(dtx_msg_decode(&got, s_buf, len, NULL, 0), DTX_EPROTO);
}

/* The batch follows TRY_MANY's rules: a few of them, with their reasons. */
static void test_tccrun_batch_rules_are_trymanys(void)
{
    uint8_t f[sizeof s_golden];
    dtx_msg_t m;
    char err[160];
    memcpy(f, s_golden, sizeof f);
    f[21] = 0; /* zero branches */
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, f, sizeof f, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not 1..16"));
    f[21] = 1; /* one announced, two present */
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, f, sizeof f, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "trailing"));
    memcpy(f, s_golden, sizeof f);
    f[23] = '!'; /* a bad name in branch 1's resource */
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, f, sizeof f, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "branch 1: resource"));
    /* a frame cut inside the flags or the batch */
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, s_golden, 16, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, s_golden, sizeof s_golden - 1, err, sizeof err),
                    DTX_EPROTO);
    /* an empty batch */
    memcpy(f, s_golden, 17);
    memset(f + 17, 0, 4);
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, f, 21, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "empty batch"));
}

UNIT_SUITE(proto_tccrun)
{
    CU_pSuite s = CU_add_suite("proto_tccrun", NULL, NULL);
#define T(fn) CU_add_test(s, #fn, fn)
    T(test_tccrun_golden_both_ways);
    T(test_tccrun_is_version_2_only);
    T(test_tccrun_flags_above_bit_1_are_malformed);
    T(test_tccrun_with_the_initiators_gid_both_ways);
    T(test_tccrun_gid_extension_rules);
    T(test_gid_extension_elsewhere_is_ignored);
    T(test_tccrun_batch_rules_are_trymanys);
#undef T
}
