/*
 * test_proto_bundle.c — the BUNDLE messages (docs/protocol.md §20): the
 * golden frames of §20.3 both ways, extension tag 2, version 2 only, every
 * framing rule that makes a BUNDLE malformed (as opposed to an entry that
 * is framed right but does not decode: the receiver's, not the codec's),
 * the walk over the entries and the builder (dtx/bundle.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/bundle.h"
#include "dtx/proto.h"
#include "dtx/types.h"
#include "unit.h"

/* §20.3: a BUNDLE of two PHASE_REPLYs (the §13 reply in version 2, corr
 * 42, and one for branch 2, corr 43) — 84 bytes. */
static const uint8_t s_golden[] = {
    0x44, 0x58, 0x02, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x44,                               /* frames: 68 bytes */
    0x00, 0x00, 0x00, 0x1e,                               /* entry 1: 30 bytes */
    0x44, 0x58, 0x02, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a,
    0x03, 'g', '-', '1', 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x03,
    0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x1e,                               /* entry 2: 30 bytes */
    0x44, 0x58, 0x02, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2b,
    0x03, 'g', '-', '1', 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x03,
    0x00, 0x00, 0x00, 0x00, 0x00,
};

/* §20.3: REGISTER of instance p1 for bank, corr 7, with tag 2 — 23 bytes. */
static const uint8_t s_register[] = {
    0x44, 0x58, 0x02, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,
    0x02, 'p', '1', 0x04, 'b', 'a', 'n', 'k', 0x02, 0x00, 0x00,
};

static uint8_t s_buf[DTX_MSG_MAX];

static void s_reply(dtx_msg_t *m, uint64_t corr, uint32_t branch)
{
    memset(m, 0, sizeof *m);
    m->version = DTX_PROTO_V2;
    m->type = DTX_MSG_PHASE_REPLY;
    m->corr = corr;
    strcpy(m->gid, "g-1");
    m->branch = branch;
    m->op = DTX_OP_CONFIRM;
    m->attempt = 3;
    m->outcome = DTX_OUTCOME_OK;
}

static void test_bundle_golden_both_ways(void)
{
    dtx_bundle_t b;
    memset(&b, 0, sizeof b);
    dtx_msg_t r;
    s_reply(&r, 42, 1);
    CU_ASSERT_EQUAL_FATAL(dtx_bundle_add(&b, &r), 0);
    s_reply(&r, 43, 2);
    CU_ASSERT_EQUAL_FATAL(dtx_bundle_add(&b, &r), 0);
    const uint8_t *f = NULL;
    size_t len = 0;
    dtx_bundle_finish(&b, DTX_MSG_BUNDLE_REPLIES, &f, &len);
    CU_ASSERT_EQUAL_FATAL(len, sizeof s_golden);
    CU_ASSERT_EQUAL(memcmp(f, s_golden, len), 0);

    /* The codec: decode, then encode gives the same bytes back. */
    dtx_msg_t m;
    CU_ASSERT_EQUAL_FATAL(dtx_msg_decode(&m, s_golden, sizeof s_golden, NULL, 0), 0);
    CU_ASSERT_EQUAL(m.type, DTX_MSG_BUNDLE_REPLIES);
    CU_ASSERT_EQUAL(m.corr, 0);
    CU_ASSERT_EQUAL(m.payload_len, 68);
    CU_ASSERT_STRING_EQUAL(dtx_msg_type_name(DTX_MSG_BUNDLE_REPLIES), "BUNDLE");
    CU_ASSERT_STRING_EQUAL(dtx_msg_type_name(DTX_MSG_BUNDLE_PHASES), "BUNDLE");
    CU_ASSERT_EQUAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), 0);
    CU_ASSERT_EQUAL(len, sizeof s_golden);
    CU_ASSERT_EQUAL(memcmp(s_buf, s_golden, len), 0);

    /* The walk: each entry decodes as the PHASE_REPLY it is. */
    dtx_bundle_iter_t it;
    dtx_bundle_iter_init(&it, &m);
    const uint8_t *e;
    size_t elen;
    uint64_t corrs[3] = { 0 };
    int n = 0;
    while (dtx_bundle_iter_next(&it, &e, &elen)) {
        dtx_msg_t em;
        CU_ASSERT_EQUAL_FATAL(dtx_msg_decode(&em, e, elen, NULL, 0), 0);
        CU_ASSERT_EQUAL(em.type, DTX_MSG_PHASE_REPLY);
        CU_ASSERT_EQUAL(em.branch, (uint32_t)n + 1);
        if (n < 3)
            corrs[n] = em.corr;
        n++;
    }
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(corrs[0], 42);
    CU_ASSERT_EQUAL(corrs[1], 43);
    dtx_bundle_free(&b);
}

static void test_bundle_tag_2_both_ways(void)
{
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.version = DTX_PROTO_V2;
    m.type = DTX_MSG_REGISTER;
    m.corr = 7;
    strcpy(m.instance, "p1");
    strcpy(m.resource, "bank");
    m.bundle = 1;
    size_t len = 0;
    CU_ASSERT_EQUAL_FATAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), 0);
    CU_ASSERT_EQUAL_FATAL(len, sizeof s_register);
    CU_ASSERT_EQUAL(memcmp(s_buf, s_register, len), 0);
    dtx_msg_t got;
    CU_ASSERT_EQUAL_FATAL(dtx_msg_decode(&got, s_register, sizeof s_register, NULL, 0), 0);
    CU_ASSERT_EQUAL(got.bundle, 1);
    CU_ASSERT_EQUAL(got.ext_skipped, 0);
    /* Without it: the 20 bytes, bundle 0. */
    CU_ASSERT_EQUAL_FATAL(dtx_msg_decode(&got, s_register, 20, NULL, 0), 0);
    CU_ASSERT_EQUAL(got.bundle, 0);
    /* A value is malformed (a known tag breaking its rule). */
    uint8_t f[sizeof s_register + 1];
    memcpy(f, s_register, sizeof s_register);
    f[22] = 1;
    f[23] = 'x';
    char err[160];
    CU_ASSERT_EQUAL(dtx_msg_decode(&got, f, sizeof f, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "'bundle'"));
    /* After tag 1 it is fine; before it, out of order. */
    static const char tp[] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    strcpy(m.traceparent, tp);
    CU_ASSERT_EQUAL_FATAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), 0);
    CU_ASSERT_EQUAL(len, 20 + 58 + 3);
    CU_ASSERT_EQUAL(s_buf[20], DTX_EXT_TRACEPARENT);
    CU_ASSERT_EQUAL(s_buf[78], DTX_EXT_BUNDLE);
    CU_ASSERT_EQUAL_FATAL(dtx_msg_decode(&got, s_buf, len, NULL, 0), 0);
    CU_ASSERT_EQUAL(got.bundle, 1);
    CU_ASSERT_STRING_EQUAL(got.traceparent, tp);
    uint8_t swapped[81];
    memcpy(swapped, s_buf, 20);
    memcpy(swapped + 20, s_buf + 78, 3);
    memcpy(swapped + 23, s_buf + 20, 58);
    CU_ASSERT_EQUAL(dtx_msg_decode(&got, swapped, sizeof swapped, NULL, 0), DTX_EPROTO);
    /* The encoder: not on version 1, and only 0 or 1. */
    m.traceparent[0] = '\0';
    m.version = DTX_PROTO_V1;
    CU_ASSERT_EQUAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), DTX_EINVAL);
    m.version = DTX_PROTO_V2;
    m.bundle = 2;
    CU_ASSERT_EQUAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), DTX_EINVAL);
}

static void test_bundle_is_version_2_only(void)
{
    uint8_t f[sizeof s_golden];
    memcpy(f, s_golden, sizeof f);
    f[2] = DTX_PROTO_V1;
    dtx_msg_t m;
    char err[160];
    /* In version 1 an unknown type: malformed, not ERROR 18. */
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, f, sizeof f, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "needs version 2"));
    f[3] = DTX_MSG_BUNDLE_PHASES;
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, f, sizeof f, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_EQUAL_FATAL(dtx_msg_decode(&m, s_golden, sizeof s_golden, NULL, 0), 0);
    m.version = DTX_PROTO_V1;
    size_t len;
    CU_ASSERT_EQUAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), DTX_EINVAL);
}

/* Builds a BUNDLE frame of type t around blob into s_buf; returns its length. */
static size_t s_frame(uint8_t t, const uint8_t *blob, size_t n)
{
    memcpy(s_buf, s_golden, 12);
    s_buf[3] = t;
    s_buf[11] = 0x63; /* corr 99: kept for the ERROR */
    s_buf[12] = (uint8_t)(n >> 24);
    s_buf[13] = (uint8_t)(n >> 16);
    s_buf[14] = (uint8_t)(n >> 8);
    s_buf[15] = (uint8_t)n;
    memcpy(s_buf + 16, blob, n);
    return 16 + n;
}

static void s_malformed(uint8_t t, const uint8_t *blob, size_t n, const char *why)
{
    dtx_msg_t m;
    char err[160];
    size_t len = s_frame(t, blob, n);
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, s_buf, len, err, sizeof err), DTX_EPROTO);
    CU_ASSERT_EQUAL(m.corr, 0x63); /* answered ERROR 2 with the BUNDLE's corr */
    CU_ASSERT_EQUAL(m.type, t);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, why));
    if (!strstr(err, why))
        fprintf(stderr, "\n  got \"%s\", wanted \"%s\"\n", err, why);
}

static void test_bundle_framing_rules_make_it_malformed(void)
{
    const uint8_t *blob = s_golden + 16;
    const size_t n = 68;
    static uint8_t b[4096 * 4];
    /* 0 entries */
    s_malformed(DTX_MSG_BUNDLE_REPLIES, blob, 0, "no entry");
    /* a length running past the end */
    memcpy(b, blob, n);
    b[3] = 0x1f;
    s_malformed(DTX_MSG_BUNDLE_REPLIES, b, n, "runs past the end");
    /* trailing bytes: 1..3 (a length cut short), 4..11 (no header) */
    memcpy(b, blob, n);
    b[n] = 0;
    s_malformed(DTX_MSG_BUNDLE_REPLIES, b, n + 1, "length truncated");
    memset(b + n, 0, 4);
    s_malformed(DTX_MSG_BUNDLE_REPLIES, b, n + 4, "shorter than a header");
    /* an entry of another type, of another version, not a dtx frame */
    memcpy(b, blob, n);
    b[4 + 3] = DTX_MSG_PHASE;
    s_malformed(DTX_MSG_BUNDLE_REPLIES, b, n, "is a PHASE (0x88), not a PHASE_REPLY");
    s_malformed(DTX_MSG_BUNDLE_PHASES, blob, n, "is a PHASE_REPLY (0x08), not a PHASE");
    memcpy(b, blob, n);
    b[38 + 2] = DTX_PROTO_V1;
    s_malformed(DTX_MSG_BUNDLE_REPLIES, b, n, "entry 2 at byte 34 is version 1, not 2");
    memcpy(b, blob, n);
    b[4] = 'X';
    s_malformed(DTX_MSG_BUNDLE_REPLIES, b, n, "bad magic");
    /* nesting: a BUNDLE inside a BUNDLE */
    memcpy(b, blob, 4);
    memcpy(b + 4, s_golden, 12);
    b[3] = 12;
    s_malformed(DTX_MSG_BUNDLE_REPLIES, b, 16, "is a BUNDLE (0x0e), not a PHASE_REPLY");
    /* too many: 65 entries of 34 bytes; 64 are fine */
    for (int i = 0; i < 65; i++)
        memcpy(b + 34 * i, blob, 34);
    dtx_msg_t m;
    size_t len = s_frame(DTX_MSG_BUNDLE_REPLIES, b, 34 * 64);
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, s_buf, len, NULL, 0), 0);
    s_malformed(DTX_MSG_BUNDLE_REPLIES, b, 34 * 65, "more than 64 entries");
    /* The codec checks framing only: an entry framed right whose body
     * is bad (here a name with a bad character) decodes as a BUNDLE; the
     * entry alone is malformed, with its own corr. */
    memcpy(b, blob, n);
    b[34 + 4 + 13] = '!';
    len = s_frame(DTX_MSG_BUNDLE_REPLIES, b, n);
    CU_ASSERT_EQUAL_FATAL(dtx_msg_decode(&m, s_buf, len, NULL, 0), 0);
    dtx_bundle_iter_t it;
    dtx_bundle_iter_init(&it, &m);
    const uint8_t *e;
    size_t elen;
    dtx_msg_t em;
    CU_ASSERT_EQUAL_FATAL(dtx_bundle_iter_next(&it, &e, &elen), 1);
    CU_ASSERT_EQUAL(dtx_msg_decode(&em, e, elen, NULL, 0), 0);
    CU_ASSERT_EQUAL_FATAL(dtx_bundle_iter_next(&it, &e, &elen), 1);
    CU_ASSERT_EQUAL(dtx_msg_decode(&em, e, elen, NULL, 0), DTX_EPROTO);
    CU_ASSERT_EQUAL(em.corr, 43);
    CU_ASSERT_EQUAL(dtx_bundle_iter_next(&it, &e, &elen), 0);
    /* The encoder refuses a blob the decoder would. */
    memset(&m, 0, sizeof m);
    m.version = DTX_PROTO_V2;
    m.type = DTX_MSG_BUNDLE_PHASES;
    m.payload = blob;
    m.payload_len = (uint32_t)n;
    CU_ASSERT_EQUAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), DTX_EINVAL);
    m.payload_len = 0;
    CU_ASSERT_EQUAL(dtx_msg_encode(&m, s_buf, sizeof s_buf, &len), DTX_EINVAL);
}

static void test_bundle_builder_limits(void)
{
    dtx_bundle_t b;
    memset(&b, 0, sizeof b);
    dtx_msg_t r;
    const uint8_t *f;
    size_t len;
    /* One entry finishes as that frame alone, plain. */
    s_reply(&r, 42, 1);
    CU_ASSERT_EQUAL_FATAL(dtx_bundle_add(&b, &r), 0);
    dtx_bundle_finish(&b, DTX_MSG_BUNDLE_REPLIES, &f, &len);
    CU_ASSERT_EQUAL(len, 30);
    CU_ASSERT_EQUAL(memcmp(f, s_golden + 20, 30), 0);
    /* DTX_BUNDLE_MAX entries, then DTX_ELIMIT with nothing changed. */
    for (int i = 1; i < DTX_BUNDLE_MAX; i++)
        CU_ASSERT_EQUAL(dtx_bundle_add(&b, &r), 0);
    CU_ASSERT_EQUAL(b.n, DTX_BUNDLE_MAX);
    size_t before = b.len;
    CU_ASSERT_EQUAL(dtx_bundle_add(&b, &r), DTX_ELIMIT);
    CU_ASSERT_EQUAL(b.n, DTX_BUNDLE_MAX);
    CU_ASSERT_EQUAL(b.len, before);
    dtx_bundle_finish(&b, DTX_MSG_BUNDLE_REPLIES, &f, &len);
    dtx_msg_t m;
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, f, len, NULL, 0), 0);
    CU_ASSERT_EQUAL(dtx_bundle_check(DTX_MSG_BUNDLE_REPLIES, m.payload, m.payload_len, NULL, 0),
                    DTX_BUNDLE_MAX);
    /* Reset keeps the buffer. */
    uint8_t *buf = b.buf;
    dtx_bundle_reset(&b);
    CU_ASSERT_EQUAL(b.n, 0);
    CU_ASSERT_EQUAL(dtx_bundle_add(&b, &r), 0);
    CU_ASSERT_PTR_EQUAL(b.buf, buf);
    /* The blob's limit: PHASEs with 100 KiB payloads, two fit, the third
     * does not (DTX_ELIMIT); one with a full payload never does. */
    dtx_bundle_reset(&b);
    static uint8_t payload[DTX_PAYLOAD_MAX];
    dtx_msg_t p;
    memset(&p, 0, sizeof p);
    p.version = DTX_PROTO_V2;
    p.type = DTX_MSG_PHASE;
    p.corr = 1;
    strcpy(p.gid, "g");
    p.branch = 1;
    p.op = DTX_OP_TRY;
    p.attempt = 1;
    strcpy(p.resource, "r");
    strcpy(p.action, "a");
    p.payload = payload;
    p.payload_len = 100 * 1024;
    CU_ASSERT_EQUAL(dtx_bundle_add(&b, &p), 0);
    CU_ASSERT_EQUAL(dtx_bundle_add(&b, &p), 0);
    CU_ASSERT_EQUAL(dtx_bundle_add(&b, &p), DTX_ELIMIT);
    CU_ASSERT_EQUAL(b.n, 2);
    dtx_bundle_finish(&b, DTX_MSG_BUNDLE_PHASES, &f, &len);
    CU_ASSERT_EQUAL(dtx_msg_decode(&m, f, len, NULL, 0), 0);
    CU_ASSERT_EQUAL(m.type, DTX_MSG_BUNDLE_PHASES);
    dtx_bundle_reset(&b);
    p.payload_len = DTX_PAYLOAD_MAX;
    CU_ASSERT_EQUAL(dtx_bundle_add(&b, &p), DTX_ETOOBIG);
    CU_ASSERT_EQUAL(b.n, 0);
    /* Only version 2 frames, only frames that encode. */
    p.payload_len = 0;
    p.version = DTX_PROTO_V1;
    CU_ASSERT_EQUAL(dtx_bundle_add(&b, &p), DTX_EINVAL);
    p.version = DTX_PROTO_V2;
    p.gid[0] = '\0';
    CU_ASSERT_EQUAL(dtx_bundle_add(&b, &p), DTX_EINVAL);
    CU_ASSERT_EQUAL(b.n, 0);
    dtx_bundle_free(&b);
    CU_ASSERT_PTR_NULL(b.buf);
}

UNIT_SUITE(proto_bundle)
{
    CU_pSuite s = CU_add_suite("proto_bundle", NULL, NULL);
#define T(fn) CU_add_test(s, #fn, fn)
    T(test_bundle_golden_both_ways);
    T(test_bundle_tag_2_both_ways);
    T(test_bundle_is_version_2_only);
    T(test_bundle_framing_rules_make_it_malformed);
    T(test_bundle_builder_limits);
#undef T
}
