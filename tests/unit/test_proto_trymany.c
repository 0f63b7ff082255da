/*
 * test_proto_trymany.c — the TRY_MANY message and its TRY_MANY_OK reply
 * (dtx/trymany.h, docs/protocol.md §18): the golden frames of §18.1,
 * version 2 only, every malformed batch or outcome list refused with its
 * reason, the limits, and the codec's symmetry.
 */
#include <stdint.h>
#include <string.h>

#include "dtx/proto.h"
#include "dtx/trymany.h"
#include "dtx/types.h"
#include "unit.h"

/* §18.1: TRY_MANY, corr 0x0102030405060708, gid g1; ra debit "5", rb
 * credit with an empty payload. */
static const uint8_t s_golden[] = {
    0x44, 0x58, 0x02, 0x0c, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
    0x02, 'g', '1',
    0x00, 0x00, 0x00, 0x1d,                                /* batch: 29 bytes */
    0x02,                                                  /* 2 branches */
    0x02, 'r', 'a', 0x05, 'd', 'e', 'b', 'i', 't', 0x00, 0x00, 0x00, 0x01, '5',
    0x02, 'r', 'b', 0x06, 'c', 'r', 'e', 'd', 'i', 't', 0x00, 0x00, 0x00, 0x00,
};

/* §18.1: its TRY_MANY_OK: state aborting, branch 1 voted yes, branch 2
 * refused. */
static const uint8_t s_golden_ok[] = {
    0x44, 0x58, 0x02, 0x8c, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
    0x02, 'g', '1', 0x04,
    0x00, 0x00, 0x00, 0x15, 0x02,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static uint8_t s_buf[DTX_MSG_MAX];
static uint8_t s_blob[DTX_PAYLOAD_MAX + 64];

static void s_item(dtx_trymany_t *b, const char *r, const char *a, const char *p)
{
    dtx_trymany_item_t *it = &b->items[b->n++];
    memset(it, 0, sizeof *it);
    strcpy(it->resource, r);
    strcpy(it->action, a);
    it->payload = (const uint8_t *)p;
    it->payload_len = (uint32_t)strlen(p);
}

static void test_trymany_golden_both_ways(void)
{
    static dtx_trymany_t b;
    memset(&b, 0, sizeof b);
    s_item(&b, "ra", "debit", "5");
    s_item(&b, "rb", "credit", "");
    size_t blen = 0;
    CU_ASSERT_EQUAL_FATAL(dtx_trymany_encode(&b, s_blob, sizeof s_blob, &blen), 0);
    CU_ASSERT_EQUAL(blen, 29);
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.version = DTX_PROTO_V2;
    m.type = DTX_MSG_TRY_MANY;
    m.corr = 0x0102030405060708ull;
    strcpy(m.gid, "g1");
    m.payload = s_blob;
    m.payload_len = (uint32_t)blen;
    size_t len = 0;
    CU_ASSERT_EQUAL_FATAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), 0);
    CU_ASSERT_EQUAL_FATAL(len, sizeof s_golden);
    CU_ASSERT_EQUAL(memcmp(s_buf, s_golden, len), 0);

    dtx_msg_t got;
    CU_ASSERT_EQUAL_FATAL(dtx_msg_decode(&got, s_golden, sizeof s_golden, NULL, 0), 0);
    CU_ASSERT_EQUAL(got.type, DTX_MSG_TRY_MANY);
    CU_ASSERT_STRING_EQUAL(got.gid, "g1");
    CU_ASSERT_STRING_EQUAL(dtx_msg_type_name(DTX_MSG_TRY_MANY), "TRY_MANY");
    static dtx_trymany_t d;
    CU_ASSERT_EQUAL_FATAL(dtx_trymany_decode(&d, got.payload, got.payload_len, NULL, 0), 0);
    CU_ASSERT_EQUAL(d.n, 2);
    CU_ASSERT_STRING_EQUAL(d.items[0].resource, "ra");
    CU_ASSERT_STRING_EQUAL(d.items[0].action, "debit");
    CU_ASSERT_EQUAL(d.items[0].payload_len, 1);
    CU_ASSERT_EQUAL(d.items[0].payload[0], '5');
    CU_ASSERT_STRING_EQUAL(d.items[1].action, "credit");
    CU_ASSERT_EQUAL(d.items[1].payload_len, 0);

    static dtx_trymany_outcomes_t o;
    memset(&o, 0, sizeof o);
    o.n = 2;
    o.o[0].branch = 1;
    o.o[1].branch = 2;
    o.o[1].outcome = DTX_OUTCOME_REFUSED;
    CU_ASSERT_EQUAL_FATAL(dtx_trymany_outcomes_encode(&o, s_blob, sizeof s_blob, &blen), 0);
    memset(&m, 0, sizeof m);
    m.version = DTX_PROTO_V2;
    m.type = DTX_MSG_TRY_MANY_OK;
    m.corr = 0x0102030405060708ull;
    strcpy(m.gid, "g1");
    m.state = DTX_STATE_ABORTING;
    m.payload = s_blob;
    m.payload_len = (uint32_t)blen;
    CU_ASSERT_EQUAL_FATAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), 0);
    CU_ASSERT_EQUAL_FATAL(len, sizeof s_golden_ok);
    CU_ASSERT_EQUAL(memcmp(s_buf, s_golden_ok, len), 0);
    CU_ASSERT_EQUAL_FATAL(dtx_msg_decode(&got, s_golden_ok, sizeof s_golden_ok, NULL, 0), 0);
    static dtx_trymany_outcomes_t od;
    CU_ASSERT_EQUAL_FATAL(dtx_trymany_outcomes_decode(&od, got.payload, got.payload_len, NULL, 0), 0);
    CU_ASSERT_EQUAL(od.n, 2);
    CU_ASSERT_EQUAL(od.o[1].branch, 2);
    CU_ASSERT_EQUAL(od.o[1].outcome, DTX_OUTCOME_REFUSED);
}

static void test_trymany_is_version_2_only(void)
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

/* A TRY_MANY whose batch is b[0..n). */
static int s_decode_batch(const uint8_t *b, size_t n, char *err, size_t errlen)
{
    memcpy(s_buf, s_golden, 15);
    s_buf[15] = (uint8_t)(n >> 24);
    s_buf[16] = (uint8_t)(n >> 16);
    s_buf[17] = (uint8_t)(n >> 8);
    s_buf[18] = (uint8_t)n;
    memcpy(s_buf + 19, b, n);
    dtx_msg_t m;
    return dtx_msg_decode(&m, s_buf, 19 + n, err, errlen);
}

static void test_malformed_batches_are_eproto_with_their_reason(void)
{
    char err[160];
    const uint8_t *batch = s_golden + 19;
    size_t n = sizeof s_golden - 19;
    CU_ASSERT_EQUAL(s_decode_batch(batch, n, err, sizeof err), 0);
    /* empty, zero branches, 17 branches */
    CU_ASSERT_EQUAL(s_decode_batch(batch, 0, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "empty batch"));
    uint8_t b[64];
    memcpy(b, batch, n);
    b[0] = 0;
    CU_ASSERT_EQUAL(s_decode_batch(b, n, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not 1..16"));
    b[0] = 17;
    CU_ASSERT_EQUAL(s_decode_batch(b, n, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "17 branches"));
    /* one branch announced, two present: trailing bytes */
    b[0] = 1;
    CU_ASSERT_EQUAL(s_decode_batch(b, n, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "trailing"));
    /* three announced, two present: truncated */
    b[0] = 3;
    CU_ASSERT_EQUAL(s_decode_batch(b, n, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "branch 3"));
    b[0] = 2;
    /* a bad name character in branch 2's resource */
    b[16] = '!';
    CU_ASSERT_EQUAL(s_decode_batch(b, n, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "branch 2: resource"));
    b[16] = 'r';
    /* branch 1's payload longer than the batch */
    b[13] = 0x7f;
    CU_ASSERT_EQUAL(s_decode_batch(b, n, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "branch 1: payload"));
    b[13] = 0x01;
    CU_ASSERT_EQUAL(s_decode_batch(b, n, err, sizeof err), 0);
}

static void test_outcome_rules(void)
{
    static dtx_trymany_outcomes_t o;
    size_t len;
    memset(&o, 0, sizeof o);
    o.n = 1;
    o.o[0].code = 9; /* an error needs its reason and outcome failed */
    CU_ASSERT_EQUAL(dtx_trymany_outcomes_encode(&o, s_blob, sizeof s_blob, &len), DTX_EINVAL);
    strcpy(o.o[0].text, "no live participant");
    CU_ASSERT_EQUAL(dtx_trymany_outcomes_encode(&o, s_blob, sizeof s_blob, &len), DTX_EINVAL);
    o.o[0].outcome = DTX_OUTCOME_FAILED;
    CU_ASSERT_EQUAL_FATAL(dtx_trymany_outcomes_encode(&o, s_blob, sizeof s_blob, &len), 0);
    static dtx_trymany_outcomes_t d;
    CU_ASSERT_EQUAL_FATAL(dtx_trymany_outcomes_decode(&d, s_blob, len, NULL, 0), 0);
    CU_ASSERT_EQUAL(d.o[0].code, 9);
    CU_ASSERT_STRING_EQUAL(d.o[0].text, "no live participant");
    char err[160];
    s_blob[5] = 3; /* outcome out of range */
    CU_ASSERT_EQUAL(dtx_trymany_outcomes_decode(&d, s_blob, len, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "out of range"));
    CU_ASSERT_EQUAL(d.n, 0);
    s_blob[5] = DTX_OUTCOME_OK; /* a code with outcome ok */
    CU_ASSERT_EQUAL(dtx_trymany_outcomes_decode(&d, s_blob, len, err, sizeof err), DTX_EPROTO);
    o.n = 0;
    CU_ASSERT_EQUAL(dtx_trymany_outcomes_encode(&o, s_blob, sizeof s_blob, &len), DTX_EINVAL);
    o.n = DTX_TRYMANY_MAX + 1;
    CU_ASSERT_EQUAL(dtx_trymany_outcomes_encode(&o, s_blob, sizeof s_blob, &len), DTX_EINVAL);
}

static void test_batch_limits(void)
{
    static dtx_trymany_t b;
    static uint8_t big[DTX_PAYLOAD_MAX];
    size_t len;
    memset(&b, 0, sizeof b);
    for (int i = 0; i < DTX_TRYMANY_MAX; i++)
        s_item(&b, "r", "a", "x");
    CU_ASSERT_EQUAL(dtx_trymany_encode(&b, s_blob, sizeof s_blob, &len), 0);
    b.n = DTX_TRYMANY_MAX + 1;
    CU_ASSERT_EQUAL(dtx_trymany_encode(&b, s_blob, sizeof s_blob, &len), DTX_EINVAL);
    b.n = 0;
    CU_ASSERT_EQUAL(dtx_trymany_encode(&b, s_blob, sizeof s_blob, &len), DTX_EINVAL);
    /* the payloads together over DTX_PAYLOAD_MAX */
    memset(&b, 0, sizeof b);
    s_item(&b, "r", "a", "");
    s_item(&b, "r", "b", "");
    b.items[0].payload = big;
    b.items[0].payload_len = DTX_PAYLOAD_MAX / 2;
    b.items[1].payload = big;
    b.items[1].payload_len = DTX_PAYLOAD_MAX / 2;
    CU_ASSERT_EQUAL(dtx_trymany_encode(&b, s_blob, sizeof s_blob, &len), DTX_ETOOBIG);
    b.items[1].payload_len = DTX_PAYLOAD_MAX / 2 - 64;
    CU_ASSERT_EQUAL_FATAL(dtx_trymany_encode(&b, s_blob, sizeof s_blob, &len), 0);
    /* the largest batch still fits a frame */
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.version = DTX_PROTO_V2;
    m.type = DTX_MSG_TRY_MANY;
    strcpy(m.gid, "g");
    m.payload = s_blob;
    m.payload_len = (uint32_t)len;
    size_t flen;
    CU_ASSERT_EQUAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &flen), 0);
    dtx_msg_t got;
    CU_ASSERT_EQUAL(dtx_msg_decode(&got, s_buf, flen, NULL, 0), 0);
    /* a bad name or a missing payload pointer */
    memset(&b, 0, sizeof b);
    s_item(&b, "r", "a", "");
    strcpy(b.items[0].action, "a b");
    CU_ASSERT_EQUAL(dtx_trymany_encode(&b, s_blob, sizeof s_blob, &len), DTX_EINVAL);
    strcpy(b.items[0].action, "a");
    b.items[0].payload = NULL;
    b.items[0].payload_len = 1;
    CU_ASSERT_EQUAL(dtx_trymany_encode(&b, s_blob, sizeof s_blob, &len), DTX_EINVAL);
}

UNIT_SUITE(proto_trymany)
{
    CU_pSuite s = CU_add_suite("proto_trymany", NULL, NULL);
#define T(fn) CU_add_test(s, #fn, fn)
    T(test_trymany_golden_both_ways);
    T(test_trymany_is_version_2_only);
    T(test_malformed_batches_are_eproto_with_their_reason);
    T(test_outcome_rules);
    T(test_batch_limits);
#undef T
}
