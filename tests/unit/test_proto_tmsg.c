/*
 * test_proto_tmsg.c — the TMSG message and its plan (dtx/tmsg.h,
 * docs/protocol.md §17): the golden frame of §17, malformed plans refused
 * with their reason, version 2 only, and the codec's symmetry.
 */
#include <stdint.h>
#include <string.h>

#include "dtx/proto.h"
#include "dtx/tmsg.h"
#include "dtx/types.h"
#include "unit.h"

/* §17: TMSG, corr 0x0102030405060708, timeout 30 s; check-back "orders";
 * to mail (action created, payload "o1") and stock (created, no payload). */
static const uint8_t s_golden[] = {
    0x44, 0x58, 0x02, 0x0b, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
    0x00, 0x00, 0x75, 0x30,                     /* timeout_ms */
    0x00, 0x00, 0x00, 0x2d,                     /* plan: 45 bytes */
    0x06, 'o', 'r', 'd', 'e', 'r', 's',         /* check-back resource */
    0x02,                                       /* ndests */
    0x04, 'm', 'a', 'i', 'l', 0x07, 'c', 'r', 'e', 'a', 't', 'e', 'd',
    0x00, 0x00, 0x00, 0x02, 'o', '1',
    0x05, 's', 't', 'o', 'c', 'k', 0x07, 'c', 'r', 'e', 'a', 't', 'e', 'd',
    0x00, 0x00, 0x00, 0x00,
};

static uint8_t s_buf[DTX_MSG_MAX];
static uint8_t s_plan_buf[DTX_PAYLOAD_MAX + 64];
static dtx_tmsg_plan_t s_plan;

static void s_golden_plan(dtx_tmsg_plan_t *p)
{
    memset(p, 0, sizeof *p);
    strcpy(p->checkback, "orders");
    p->ndests = 2;
    strcpy(p->dests[0].resource, "mail");
    strcpy(p->dests[0].action, "created");
    p->dests[0].payload = (const uint8_t *)"o1";
    p->dests[0].payload_len = 2;
    strcpy(p->dests[1].resource, "stock");
    strcpy(p->dests[1].action, "created");
}

static void test_tmsg_encodes_to_golden_bytes_and_back(void)
{
    s_golden_plan(&s_plan);
    size_t plen = 0;
    CU_ASSERT_EQUAL_FATAL(dtx_tmsg_plan_encode(&s_plan, s_plan_buf, sizeof s_plan_buf, &plen, NULL, 0), 0);
    CU_ASSERT_EQUAL(plen, 45);
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.version = DTX_PROTO_V2;
    m.type = DTX_MSG_TMSG;
    m.corr = 0x0102030405060708ull;
    m.timeout_ms = 30000;
    m.payload = s_plan_buf;
    m.payload_len = (uint32_t)plen;
    size_t len = 0;
    CU_ASSERT_EQUAL_FATAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), 0);
    CU_ASSERT_EQUAL(len, sizeof s_golden);
    CU_ASSERT_EQUAL(memcmp(s_buf, s_golden, sizeof s_golden), 0);
    dtx_msg_t got;
    CU_ASSERT_EQUAL_FATAL(dtx_msg_decode(&got, s_golden, sizeof s_golden, NULL, 0), 0);
    CU_ASSERT_EQUAL(got.type, DTX_MSG_TMSG);
    CU_ASSERT_EQUAL(got.timeout_ms, 30000);
    CU_ASSERT_STRING_EQUAL(dtx_msg_type_name(DTX_MSG_TMSG), "TMSG");
    static dtx_tmsg_plan_t back;
    CU_ASSERT_EQUAL_FATAL(dtx_tmsg_plan_decode(&back, got.payload, got.payload_len, NULL, 0), 0);
    CU_ASSERT_STRING_EQUAL(back.checkback, "orders");
    CU_ASSERT_EQUAL(back.ndests, 2);
    CU_ASSERT_STRING_EQUAL(back.dests[1].resource, "stock");
    CU_ASSERT_EQUAL(back.dests[0].payload_len, 2);
    CU_ASSERT_EQUAL(memcmp(back.dests[0].payload, "o1", 2), 0);
    CU_ASSERT_PTR_NULL(back.dests[1].payload);
}

static void test_tmsg_is_version_2_only(void)
{
    uint8_t f[sizeof s_golden];
    memcpy(f, s_golden, sizeof f);
    f[2] = DTX_PROTO_V1;
    dtx_msg_t m;
    char err[200];
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, f, sizeof f, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "TMSG needs version 2"));
    CU_ASSERT_EQUAL(m.type, DTX_MSG_TMSG);
    /* and the encoder will not write one */
    memset(&m, 0, sizeof m);
    m.version = DTX_PROTO_V1;
    m.type = DTX_MSG_TMSG;
    m.payload = s_golden + 20;
    m.payload_len = 45;
    size_t len;
    CU_ASSERT_EQUAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), DTX_EINVAL);
    m.version = DTX_PROTO_V2;
    CU_ASSERT_EQUAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), 0);
    m.payload_len = 44; /* a plan cut short */
    CU_ASSERT_EQUAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), DTX_EINVAL);
}

/* Decodes the golden plan with byte at changed to v (or cut to len when
 * v < 0) and checks the reason. */
static void s_bad(int at, int v, size_t len, const char *reason)
{
    uint8_t p[64];
    memcpy(p, s_golden + 20, 45);
    if (v >= 0)
        p[at] = (uint8_t)v;
    char err[200];
    CU_ASSERT_EQUAL(dtx_tmsg_plan_decode(NULL, p, len, err, sizeof err), DTX_EPROTO);
    if (!strstr(err, reason))
        CU_FAIL(err);
}

static void test_malformed_plans_are_eproto_with_their_reason(void)
{
    s_bad(0, 0, 45, "check-back");               /* empty check-back name */
    s_bad(1, ' ', 45, "check-back");             /* not a name */
    s_bad(1, 0, 45, "check-back");               /* a NUL inside */
    s_bad(7, 0, 45, "0 destinations");
    s_bad(7, DTX_TMSG_DESTS_MAX + 1, 45, "destinations (1..");
    s_bad(8, 0, 45, "destination 1: bad or truncated resource");
    s_bad(13, 0, 45, "destination 1: bad or truncated action");
    s_bad(23, 1, 45, "destination 1: truncated payload"); /* length over the rest */
    s_bad(0, -1, 7, "destination count");
    s_bad(0, -1, 44, "destination 2: truncated payload");
    s_bad(0, -1, 30, "destination 2");
    uint8_t p[64];
    memcpy(p, s_golden + 20, 45);
    p[45] = 0;
    char err[200];
    CU_ASSERT_EQUAL(dtx_tmsg_plan_decode(NULL, p, 46, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "trailing"));
    CU_ASSERT_EQUAL(dtx_tmsg_plan_decode(NULL, p, 0, err, sizeof err), DTX_EPROTO);
    /* a frame with a bad plan is refused by the message codec, reason kept */
    uint8_t f[sizeof s_golden];
    memcpy(f, s_golden, sizeof f);
    f[27] = 3; /* ndests 3: the third is missing */
    dtx_msg_t m;
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, f, sizeof f, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "TMSG: message destination 3"));
}

static void test_encoder_refuses_what_the_decoder_refuses(void)
{
    size_t len = 0;
    char err[200];
    s_golden_plan(&s_plan);
    s_plan.ndests = 0;
    CU_ASSERT_EQUAL(dtx_tmsg_plan_encode(&s_plan, s_plan_buf, sizeof s_plan_buf, &len, err, sizeof err), DTX_EINVAL);
    s_golden_plan(&s_plan);
    strcpy(s_plan.checkback, "no way");
    CU_ASSERT_EQUAL(dtx_tmsg_plan_encode(&s_plan, s_plan_buf, sizeof s_plan_buf, &len, err, sizeof err), DTX_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "check-back"));
    s_golden_plan(&s_plan);
    s_plan.dests[1].action[0] = '\0';
    CU_ASSERT_EQUAL(dtx_tmsg_plan_encode(&s_plan, s_plan_buf, sizeof s_plan_buf, &len, err, sizeof err), DTX_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "destination 2"));
    /* over the payload limit in all: DTX_ETOOBIG with the size needed */
    s_golden_plan(&s_plan);
    s_plan.dests[0].payload = s_plan_buf;
    s_plan.dests[0].payload_len = DTX_PAYLOAD_MAX - 20;
    s_plan.dests[1].payload = s_plan_buf;
    s_plan.dests[1].payload_len = 64;
    static uint8_t out[DTX_PAYLOAD_MAX + 256];
    CU_ASSERT_EQUAL(dtx_tmsg_plan_encode(&s_plan, out, sizeof out, &len, err, sizeof err), DTX_ETOOBIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "over"));
    /* measuring: buf NULL, cap 0 */
    s_golden_plan(&s_plan);
    CU_ASSERT_EQUAL(dtx_tmsg_plan_encode(&s_plan, NULL, 0, &len, NULL, 0), DTX_ETOOBIG);
    CU_ASSERT_EQUAL(len, 45);
    /* the largest plan still fits a TMSG frame */
    s_plan.dests[0].payload = s_plan_buf;
    s_plan.dests[0].payload_len = DTX_PAYLOAD_MAX - 45 + 2;
    CU_ASSERT_EQUAL_FATAL(dtx_tmsg_plan_encode(&s_plan, out, sizeof out, &len, NULL, 0), 0);
    CU_ASSERT_EQUAL(len, DTX_PAYLOAD_MAX);
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.version = DTX_PROTO_V2;
    m.type = DTX_MSG_TMSG;
    m.payload = out;
    m.payload_len = (uint32_t)len;
    size_t flen;
    CU_ASSERT_EQUAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &flen), 0);
    dtx_msg_t got;
    CU_ASSERT_EQUAL(dtx_msg_decode(&got, s_buf, flen, NULL, 0), 0);
}

UNIT_SUITE(proto_tmsg)
{
    CU_pSuite s = CU_add_suite("proto_tmsg", NULL, NULL);
#define T(fn) CU_add_test(s, #fn, fn)
    T(test_tmsg_encodes_to_golden_bytes_and_back);
    T(test_tmsg_is_version_2_only);
    T(test_malformed_plans_are_eproto_with_their_reason);
    T(test_encoder_refuses_what_the_decoder_refuses);
#undef T
}
