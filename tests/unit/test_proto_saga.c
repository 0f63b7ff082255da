/*
 * test_proto_saga.c — the SAGA message and its plan (dtx/saga.h,
 * docs/protocol.md §16): the golden frame of §16, every rule of the plan
 * refused with its reason, and the codec's symmetry (what the encoder
 * writes the decoder reads back; what the decoder refuses the encoder
 * refuses).
 */
#include <stdint.h>
#include <string.h>

#include "dtx/proto.h"
#include "dtx/saga.h"
#include "dtx/types.h"
#include "unit.h"

/* §16: SAGA, corr 0x0102030405060708, timeout 30 s; a sequential plan of
 * 2 steps: ra book/unbook with payload "f", then the pivot rb pay. */
static const uint8_t s_golden[] = {
    0x44, 0x58, 0x02, 0x0a, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
    0x00, 0x00, 0x75, 0x30,                     /* timeout_ms */
    0x00, 0x00, 0x00, 0x26,                     /* plan: 38 bytes */
    0x00, 0x02,                                 /* flags, nsteps */
    0x02, 'r', 'a', 0x04, 'b', 'o', 'o', 'k', 0x06, 'u', 'n', 'b', 'o', 'o', 'k',
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 'f',    /* flags, ndeps, payload "f" */
    0x02, 'r', 'b', 0x03, 'p', 'a', 'y', 0x00,  /* no compensation */
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00,         /* pivot, ndeps 0, payload "" */
};

static uint8_t s_buf[DTX_MSG_MAX];
static uint8_t s_plan_buf[DTX_PAYLOAD_MAX + 64];

static void s_step(dtx_saga_plan_t *p, const char *r, const char *a, const char *c,
                   uint8_t flags)
{
    dtx_saga_step_t *st = &p->steps[p->nsteps++];
    memset(st, 0, sizeof *st);
    strcpy(st->resource, r);
    strcpy(st->action, a);
    strcpy(st->compensation, c);
    st->flags = flags;
}

static void test_saga_encodes_to_golden_bytes_and_back(void)
{
    static dtx_saga_plan_t plan;
    memset(&plan, 0, sizeof plan);
    s_step(&plan, "ra", "book", "unbook", 0);
    plan.steps[0].payload = (const uint8_t *)"f";
    plan.steps[0].payload_len = 1;
    s_step(&plan, "rb", "pay", "", DTX_SAGA_STEP_PIVOT);
    size_t plen = 0;
    CU_ASSERT_EQUAL_FATAL(dtx_saga_plan_encode(&plan, s_plan_buf, sizeof s_plan_buf, &plen, NULL, 0), 0);
    CU_ASSERT_EQUAL(plen, 38);
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.version = DTX_PROTO_V2;
    m.type = DTX_MSG_SAGA;
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
    CU_ASSERT_EQUAL(got.type, DTX_MSG_SAGA);
    CU_ASSERT_EQUAL(got.timeout_ms, 30000);
    static dtx_saga_plan_t back;
    CU_ASSERT_EQUAL_FATAL(dtx_saga_plan_decode(&back, got.payload, got.payload_len, NULL, 0), 0);
    CU_ASSERT_EQUAL(back.nsteps, 2);
    CU_ASSERT_EQUAL(back.flags, 0);
    CU_ASSERT_STRING_EQUAL(back.steps[0].resource, "ra");
    CU_ASSERT_STRING_EQUAL(back.steps[0].action, "book");
    CU_ASSERT_STRING_EQUAL(back.steps[0].compensation, "unbook");
    CU_ASSERT_EQUAL(back.steps[0].payload_len, 1);
    CU_ASSERT_EQUAL(back.steps[0].payload[0], 'f');
    CU_ASSERT_STRING_EQUAL(back.steps[1].compensation, "");
    CU_ASSERT_EQUAL(back.steps[1].flags, DTX_SAGA_STEP_PIVOT);
    uint8_t deps[DTX_SAGA_STEPS_MAX];
    CU_ASSERT_EQUAL(dtx_saga_plan_deps(&back, 1, deps), 0);
    CU_ASSERT_EQUAL(dtx_saga_plan_deps(&back, 2, deps), 1); /* sequential: after step 1 */
    CU_ASSERT_EQUAL(deps[0], 1);
}

static void test_saga_is_version_2_only(void)
{
    uint8_t f[sizeof s_golden];
    memcpy(f, s_golden, sizeof f);
    f[2] = DTX_PROTO_V1;
    dtx_msg_t m;
    char err[200];
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, f, sizeof f, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "version 1"));
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, s_golden, sizeof s_golden, NULL, 0), 0);
    m.version = DTX_PROTO_V1;
    size_t len;
    CU_ASSERT_EQUAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), DTX_EINVAL);
}

/* Decodes the golden frame with plan byte at (offset into the plan) set
 * to v; returns the result and the reason in err. */
static int s_mutated(size_t at, uint8_t v, char *err, size_t cap)
{
    uint8_t f[sizeof s_golden];
    memcpy(f, s_golden, sizeof f);
    f[20 + at] = v;
    dtx_msg_t m;
    return dtx_msg_decode(&m, f, sizeof f, err, cap);
}

static void test_malformed_plans_are_eproto_with_their_reason(void)
{
    char err[200];
    CU_ASSERT_EQUAL(s_mutated(0, 0x02, err, sizeof err), DTX_EPROTO); /* unknown plan flag */
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "flag"));
    CU_ASSERT_EQUAL(s_mutated(1, 0, err, sizeof err), DTX_EPROTO); /* no steps */
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "steps"));
    CU_ASSERT_EQUAL(s_mutated(1, 65, err, sizeof err), DTX_EPROTO); /* too many */
    CU_ASSERT_EQUAL(s_mutated(1, 3, err, sizeof err), DTX_EPROTO); /* a step missing */
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "step 3"));
    CU_ASSERT_EQUAL(s_mutated(3, ' ', err, sizeof err), DTX_EPROTO); /* bad resource name */
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "resource"));
    CU_ASSERT_EQUAL(s_mutated(30, 0, err, sizeof err), DTX_EPROTO); /* a NUL inside "pay" */
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "step 2: bad or truncated action"));
    CU_ASSERT_EQUAL(s_mutated(32, 0, err, sizeof err), DTX_EPROTO); /* pay: no compensation, no pivot */
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "only a pivot"));
    CU_ASSERT_EQUAL(s_mutated(17, 1, err, sizeof err), DTX_EPROTO); /* two pivots */
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "second pivot"));
    CU_ASSERT_EQUAL(s_mutated(17, 0x04, err, sizeof err), DTX_EPROTO); /* unknown step flag */
    CU_ASSERT_EQUAL(s_mutated(33, 1, err, sizeof err), DTX_EPROTO); /* deps in a sequential plan */
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "sequential"));
    CU_ASSERT_EQUAL(s_mutated(21, 1, err, sizeof err), DTX_EPROTO); /* payload past the end */
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "SAGA: saga step 1"));
    /* trailing byte inside the plan blob */
    uint8_t f[sizeof s_golden + 1];
    memcpy(f, s_golden, sizeof s_golden);
    f[19] = 0x27;
    f[sizeof s_golden] = 0;
    dtx_msg_t m;
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, f, sizeof f, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "trailing"));
    /* every truncation of the frame is refused, never read past */
    for (size_t n = 0; n < sizeof s_golden; n++)
        CU_ASSERT_NOT_EQUAL(dtx_msg_decode(&m, s_golden, n, NULL, 0), 0);
}

static void test_concurrent_plan_rules(void)
{
    static dtx_saga_plan_t p;
    char err[200];
    size_t len;
    memset(&p, 0, sizeof p);
    p.flags = DTX_SAGA_CONCURRENT;
    s_step(&p, "a", "x", "ux", 0);
    s_step(&p, "b", "y", "uy", 0);
    s_step(&p, "c", "z", "uz", 0);
    p.steps[2].ndeps = 2;
    p.steps[2].deps[0] = 1;
    p.steps[2].deps[1] = 2;
    CU_ASSERT_EQUAL(dtx_saga_plan_encode(&p, s_plan_buf, sizeof s_plan_buf, &len, err, sizeof err), 0);
    static dtx_saga_plan_t back;
    CU_ASSERT_EQUAL_FATAL(dtx_saga_plan_decode(&back, s_plan_buf, len, NULL, 0), 0);
    uint8_t deps[DTX_SAGA_STEPS_MAX];
    CU_ASSERT_EQUAL(dtx_saga_plan_deps(&back, 2, deps), 0); /* concurrent: none */
    CU_ASSERT_EQUAL(dtx_saga_plan_deps(&back, 3, deps), 2);
    /* a dependency on a later step, on itself, or out of order */
    p.steps[2].deps[0] = 2;
    p.steps[2].deps[1] = 1;
    CU_ASSERT_EQUAL(dtx_saga_plan_encode(&p, s_plan_buf, sizeof s_plan_buf, &len, err, sizeof err),
                    DTX_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "increasing"));
    p.steps[2].ndeps = 1;
    p.steps[2].deps[0] = 3;
    CU_ASSERT_EQUAL(dtx_saga_plan_encode(&p, s_plan_buf, sizeof s_plan_buf, &len, err, sizeof err),
                    DTX_EINVAL);
    /* a pivot (step 2) must follow every earlier step and precede every later one */
    p.steps[1].flags = DTX_SAGA_STEP_PIVOT;
    p.steps[2].deps[0] = 1;
    CU_ASSERT_EQUAL(dtx_saga_plan_encode(&p, s_plan_buf, sizeof s_plan_buf, &len, err, sizeof err),
                    DTX_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "every earlier step"));
    p.steps[1].ndeps = 1;
    p.steps[1].deps[0] = 1;
    CU_ASSERT_EQUAL(dtx_saga_plan_encode(&p, s_plan_buf, sizeof s_plan_buf, &len, err, sizeof err),
                    DTX_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "must depend on the pivot"));
    p.steps[2].deps[0] = 2;
    CU_ASSERT_EQUAL(dtx_saga_plan_encode(&p, s_plan_buf, sizeof s_plan_buf, &len, err, sizeof err), 0);
}

static void test_plan_limits(void)
{
    static dtx_saga_plan_t p;
    char err[200];
    size_t len;
    memset(&p, 0, sizeof p);
    for (int i = 0; i < DTX_SAGA_STEPS_MAX; i++)
        s_step(&p, "r", "a", "u", 0);
    CU_ASSERT_EQUAL(dtx_saga_plan_encode(&p, s_plan_buf, sizeof s_plan_buf, &len, err, sizeof err), 0);
    p.nsteps = DTX_SAGA_STEPS_MAX + 1;
    CU_ASSERT_EQUAL(dtx_saga_plan_encode(&p, s_plan_buf, sizeof s_plan_buf, &len, err, sizeof err),
                    DTX_EINVAL);
    /* the steps' payloads together over DTX_PAYLOAD_MAX */
    static uint8_t big[DTX_PAYLOAD_MAX];
    memset(&p, 0, sizeof p);
    s_step(&p, "r", "a", "u", 0);
    s_step(&p, "r", "b", "u", 0);
    p.steps[0].payload = big;
    p.steps[0].payload_len = DTX_PAYLOAD_MAX / 2;
    p.steps[1].payload = big;
    p.steps[1].payload_len = DTX_PAYLOAD_MAX / 2;
    CU_ASSERT_EQUAL(dtx_saga_plan_encode(&p, s_plan_buf, sizeof s_plan_buf, &len, err, sizeof err),
                    DTX_ETOOBIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "payloads together"));
    p.steps[1].payload_len = DTX_PAYLOAD_MAX / 2 - 64;
    CU_ASSERT_EQUAL(dtx_saga_plan_encode(&p, s_plan_buf, sizeof s_plan_buf, &len, err, sizeof err), 0);
    /* and the largest plan still fits a SAGA frame */
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.version = DTX_PROTO_V2;
    m.type = DTX_MSG_SAGA;
    m.payload = s_plan_buf;
    m.payload_len = (uint32_t)len;
    size_t flen;
    CU_ASSERT_EQUAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &flen), 0);
    dtx_msg_t got;
    CU_ASSERT_EQUAL(dtx_msg_decode(&got, s_buf, flen, NULL, 0), 0);
}

UNIT_SUITE(proto_saga)
{
    CU_pSuite s = CU_add_suite("proto_saga", NULL, NULL);
#define T(fn) CU_add_test(s, #fn, fn)
    T(test_saga_encodes_to_golden_bytes_and_back);
    T(test_saga_is_version_2_only);
    T(test_malformed_plans_are_eproto_with_their_reason);
    T(test_concurrent_plan_rules);
    T(test_plan_limits);
#undef T
}
