/*
 * fuzz_proto.c — libFuzzer target for the wire codec (common/src/proto.c).
 *
 * Feeds arbitrary bytes to dtx_msg_decode. Whatever the input, the decoder
 * must not crash, must terminate its error text and must leave only the
 * documented fields behind on failure. When it accepts the input, the
 * codec's round-trip invariants must hold:
 *   - encode(decode(b)) == b byte for byte (every value has one encoding);
 *   - decode(encode(m)) == m field for field.
 * The same bytes are also read as the fields of a dtx_msg_t (names may be
 * unterminated, enums out of range): whatever the encoder accepts, the
 * decoder must accept too, so the two cannot disagree on what is valid.
 *
 *   make fuzz [FUZZ_SECONDS=60]
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/proto.h"

static uint8_t s_out[DTX_MSG_MAX];
static uint8_t s_again[DTX_MSG_MAX];

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "fuzz_proto: %s:%d: check failed: %s\n",       \
                    __FILE__, __LINE__, #cond);                            \
            abort();                                                       \
        }                                                                  \
    } while (0)

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

/* On failure every field but type and corr is zero. */
static int s_only_header_left(const dtx_msg_t *m)
{
    dtx_msg_t z;
    memset(&z, 0, sizeof z);
    z.type = m->type;
    z.corr = m->corr;
    return s_msg_equal(m, &z) && m->payload == NULL;
}

/* The unread rest of the fuzz input. */
typedef struct {
    const uint8_t *p;
    size_t         left;
} s_input_t;

/* Takes the next n bytes of the input, or fewer at its end. */
static size_t s_take(s_input_t *in, void *dst, size_t n)
{
    if (n > in->left)
        n = in->left;
    if (n == 0)
        return 0;
    memcpy(dst, in->p, n);
    in->p += n;
    in->left -= n;
    return n;
}

/* A name or text member filled with up to size bytes, NUL-terminated only
 * when the input says so (or it runs out). */
static void s_take_string(s_input_t *in, char *dst, size_t size)
{
    uint8_t n = 0;
    s_take(in, &n, 1);
    memset(dst, 0, size);
    s_take(in, dst, n < size ? n : size);
}

static void s_check_encoder(const uint8_t *data, size_t size)
{
    s_input_t in = { data, size };
    dtx_msg_t m, back;
    uint8_t flags = 0;

    memset(&m, 0, sizeof m);
    s_take(&in, &flags, 1);
    s_take(&in, &m.type, 1);
    s_take(&in, &m.corr, sizeof m.corr);
    s_take(&in, &m.mode, 1);
    s_take(&in, &m.op, 1);
    s_take(&in, &m.outcome, 1);
    s_take(&in, &m.state, 1);
    s_take(&in, &m.timeout_ms, 4);
    s_take(&in, &m.branch, 4);
    s_take(&in, &m.code, 4);
    s_take(&in, &m.deadline_ms, 8);
    s_take_string(&in, m.gid, sizeof m.gid);
    s_take_string(&in, m.resource, sizeof m.resource);
    s_take_string(&in, m.action, sizeof m.action);
    s_take_string(&in, m.instance, sizeof m.instance);
    s_take_string(&in, m.coordinator, sizeof m.coordinator);
    s_take_string(&in, m.text, sizeof m.text);
    m.attempt = m.branch ^ 0x5a5a5a5au;
    m.heartbeat_ms = m.timeout_ms >> 3;
    m.payload = (flags & 1) ? NULL : in.p;
    m.payload_len = (uint32_t) in.left;

    size_t len = 0, len2 = 0;
    int rc = dtx_msg_encode(&m, s_out, sizeof s_out, &len);
    CHECK(rc == DTX_OK || rc == DTX_EINVAL);
    if (rc != DTX_OK)
        return;
    CHECK(len >= DTX_PROTO_HEADER && len <= sizeof s_out);
    CHECK(dtx_msg_decode(&back, s_out, len, NULL, 0) == DTX_OK);
    CHECK(back.type == m.type && back.corr == m.corr);
    /* back keeps only the fields of its type (its payload points into
     * s_out): its encoding must be the same bytes. */
    CHECK(dtx_msg_encode(&back, s_again, sizeof s_again, &len2) == DTX_OK);
    CHECK(len2 == len && memcmp(s_again, s_out, len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dtx_msg_t m1, m2;
    char err[128];

    s_check_encoder(data, size);

    memset(err, 'x', sizeof err);
    int rc = dtx_msg_decode(&m1, data, size, err, sizeof err);
    CHECK(memchr(err, '\0', sizeof err) != NULL);
    if (rc != DTX_OK) {
        CHECK(rc == DTX_EPROTO || rc == DTX_EVERSION || rc == DTX_ETOOBIG);
        CHECK(err[0] != '\0');
        CHECK(s_only_header_left(&m1));
        if (rc == DTX_EVERSION) {
            CHECK(size >= 4 && data[2] != DTX_PROTO_VERSION);
            CHECK(m1.type == data[3]);
        }
        return 0;
    }
    CHECK(err[0] == '\0');

    size_t len = 0;
    rc = dtx_msg_encode(&m1, s_out, sizeof s_out, &len);
    CHECK(rc == DTX_OK);
    CHECK(len == size);
    CHECK(memcmp(s_out, data, size) == 0);

    rc = dtx_msg_decode(&m2, s_out, len, NULL, 0);
    CHECK(rc == DTX_OK);
    CHECK(s_msg_equal(&m1, &m2));

    /* One byte short never fits, and never writes past the buffer. */
    uint8_t *small = malloc(len - 1);
    CHECK(small != NULL);
    CHECK(dtx_msg_encode(&m1, small, len - 1, &len) == DTX_ETOOBIG);
    CHECK(len == size);
    free(small);
    return 0;
}
