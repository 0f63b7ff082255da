/*
 * tests/unit/proto_fixture.c — see proto_fixture.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/proto.h"
#include "dtx/types.h"
#include "proto_fixture.h"
#include "unit.h"

const uint8_t pf_all_types[] = {
    DTX_MSG_BEGIN, DTX_MSG_TRY, DTX_MSG_COMMIT, DTX_MSG_ROLLBACK,
    DTX_MSG_STATUS, DTX_MSG_RESUME, DTX_MSG_REGISTER, DTX_MSG_HEARTBEAT,
    DTX_MSG_PHASE_REPLY, DTX_MSG_BEGIN_OK, DTX_MSG_TRY_OK, DTX_MSG_STATE,
    DTX_MSG_REGISTER_OK, DTX_MSG_HEARTBEAT_OK, DTX_MSG_PHASE, DTX_MSG_ERROR,
};

uint8_t pf_payload[DTX_PAYLOAD_MAX];
uint8_t pf_frame[PF_FRAME_SIZE];

void pf_fill_payload(void)
{
    for (size_t i = 0; i < sizeof pf_payload; i++)
        pf_payload[i] = (uint8_t) (i * 31u + 7u);
}

/* 63 characters that use every kind of character a name may hold. */
void pf_long_name(char out[DTX_NAME_SIZE], char first)
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
        pf_long_name(out, first);
    }
}

/* Fills m with a valid message of type t: only the fields of t are set. */
void pf_sample(dtx_msg_t *m, uint8_t t, int variant)
{
    int small = variant == SAMPLE_SMALL;
    int max = variant == SAMPLE_MAX;

    memset(m, 0, sizeof *m);
    m->type = t;
    m->corr = small ? 0 : max ? UINT64_MAX : 0x8000000000000001ull;
    uint32_t u32 = small ? 0 : max ? UINT32_MAX : 0x12345678u;
    uint64_t u64 = small ? 0 : max ? UINT64_MAX : 1700000000000ull;
    uint32_t plen = small ? 0 : max ? DTX_PAYLOAD_MAX : 1000;
    const uint8_t *payload = plen ? pf_payload : NULL;

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
        CU_FAIL("pf_sample: unknown type");
    }
}

/* Compares every field of two messages, payload bytes included. */
int pf_msg_equal(const dtx_msg_t *a, const dtx_msg_t *b)
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

/* Encodes a sample of type t into pf_frame; returns its length. */
size_t pf_encode_sample(dtx_msg_t *m, uint8_t t, int variant)
{
    size_t len = 0;
    pf_sample(m, t, variant);
    int rc = dtx_msg_encode(m, pf_frame, sizeof pf_frame, &len);
    CU_ASSERT_EQUAL(rc, DTX_OK);
    return len;
}

void fb_u8(frame_t *f, uint8_t v)
{
    f->b[f->n++] = v;
}

void fb_u32(frame_t *f, uint32_t v)
{
    for (int s = 24; s >= 0; s -= 8)
        fb_u8(f, (uint8_t) (v >> s));
}

void fb_u64(frame_t *f, uint64_t v)
{
    fb_u32(f, (uint32_t) (v >> 32));
    fb_u32(f, (uint32_t) v);
}

void fb_bytes(frame_t *f, const void *p, size_t n)
{
    memcpy(f->b + f->n, p, n);
    f->n += n;
}

/* u8 length + bytes; used for name and text fields. */
void fb_str(frame_t *f, const char *s)
{
    fb_u8(f, (uint8_t) strlen(s));
    fb_bytes(f, s, strlen(s));
}

void fb_header(frame_t *f, uint8_t version, uint8_t type, uint64_t corr)
{
    f->n = 0;
    fb_u8(f, 'D');
    fb_u8(f, 'X');
    fb_u8(f, version);
    fb_u8(f, type);
    fb_u64(f, corr);
}

/* Decodes f from a heap copy of exactly its length. */
int pf_decode_exact(dtx_msg_t *m, const uint8_t *bytes, size_t n,
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

/* The golden BEGIN of docs/protocol.md §13, written out by hand from the
 * layout in proto.h (test_proto.c checks the encoder against it). */
const uint8_t pf_golden_begin[] = {
    0x44, 0x58, 0x01, 0x01,                         /* 'D' 'X' v1 BEGIN */
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, /* corr */
    0x01,                                           /* mode TCC */
    0x00, 0x00, 0x75, 0x30,                         /* timeout_ms 30000 */
};
