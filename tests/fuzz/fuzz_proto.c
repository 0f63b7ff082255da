/*
 * fuzz_proto.c — libFuzzer target for the wire codec (common/src/proto.c).
 *
 * Feeds arbitrary bytes to dtx_msg_decode. Whatever the input, the decoder
 * must not crash, must terminate its error text and must leave only the
 * documented fields behind on failure. When it accepts the input, the
 * codec's round-trip invariants must hold:
 *   - encode(decode(b)) == b byte for byte (every value has one encoding),
 *     for both versions; a version-2 frame with unknown extensions
 *     re-encodes without them (they are skipped), and that frame decodes
 *     to the same message;
 *   - decode(encode(m)) == m field for field.
 * Version 2: a frame of an unknown type is DTX_EUNSUPPORTED, never
 * DTX_EPROTO; a traceparent that decodes is one dtx_trace_valid accepts.
 * The same bytes are also read as the fields of a dtx_msg_t (names may be
 * unterminated, enums out of range): whatever the encoder accepts, the
 * decoder must accept too, so the two cannot disagree on what is valid.
 * A SAGA that decodes has a plan (dtx/saga.h) that decodes too and that
 * encodes back to the same bytes; so does a TMSG's (dtx/tmsg.h), and a
 * TRY_MANY's batch and a TRY_MANY_OK's outcomes (dtx/trymany.h). A
 * BUNDLE that decodes walks (dtx/bundle.h) over as many entries as its
 * check counts, each of the one type it allows, and the walk covers its
 * frames blob exactly; extension tag 2 (bundle) round-trips. A TCC_RUN's
 * extension 3 (the initiator's gid) comes with flag bit 1 and bit 0, and is
 * an id (dtx/id.h).
 *
 *   make fuzz [FUZZ_SECONDS=60]
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/bundle.h"
#include "dtx/id.h"
#include "dtx/proto.h"
#include "dtx/saga.h"
#include "dtx/tmsg.h"
#include "dtx/trace.h"
#include "dtx/trymany.h"

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
    return a->version == b->version && strcmp(a->traceparent, b->traceparent) == 0
        && a->bundle == b->bundle
        && a->type == b->type && a->corr == b->corr && a->mode == b->mode
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

/* On failure every field but version, type and corr is zero. */
static int s_only_header_left(const dtx_msg_t *m)
{
    dtx_msg_t z;
    memset(&z, 0, sizeof z);
    z.version = m->version;
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
    /* flags bit 1: version 2; bit 2: a traceparent from the input (may be
     * invalid: the encoder must refuse it then); bit 3: a valid one. */
    m.version = (flags & 2) ? DTX_PROTO_V2 : (flags & 16) ? DTX_PROTO_V1 : 0;
    if (flags & 4)
        s_take_string(&in, m.traceparent, sizeof m.traceparent);
    else if (flags & 8)
        memcpy(m.traceparent, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
               DTX_TRACEPARENT_SIZE);
    m.bundle = (flags & 32) ? 1 : (flags & 64) ? 2 : 0; /* 2 and version 1: refused */
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
    CHECK(back.version == (m.version ? m.version : DTX_PROTO_V1));
    CHECK(strcmp(back.traceparent, m.traceparent) == 0);
    CHECK(!m.traceparent[0] || m.version == DTX_PROTO_V2);
    CHECK(back.bundle == m.bundle && (!m.bundle || m.version == DTX_PROTO_V2));
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
        CHECK(rc == DTX_EPROTO || rc == DTX_EVERSION || rc == DTX_ETOOBIG ||
              rc == DTX_EUNSUPPORTED);
        CHECK(err[0] != '\0');
        CHECK(s_only_header_left(&m1));
        if (rc == DTX_EVERSION) {
            CHECK(size >= 4 && data[2] != DTX_PROTO_V1 && data[2] != DTX_PROTO_V2);
            CHECK(m1.type == data[3] && m1.version == 0);
        }
        if (rc == DTX_EUNSUPPORTED)
            CHECK(size >= DTX_PROTO_HEADER && data[2] == DTX_PROTO_V2 &&
                  strcmp(dtx_msg_type_name(data[3]), "UNKNOWN") == 0);
        if (size >= 3 && (data[2] == DTX_PROTO_V1 || data[2] == DTX_PROTO_V2) &&
            rc != DTX_ETOOBIG && size >= 2 && data[0] == DTX_PROTO_MAGIC0 &&
            data[1] == DTX_PROTO_MAGIC1)
            CHECK(m1.version == data[2]);
        return 0;
    }
    CHECK(err[0] == '\0');
    CHECK(m1.version == data[2]);
    if (m1.type == DTX_MSG_SAGA) {
        static dtx_saga_plan_t plan;
        static uint8_t again[DTX_PAYLOAD_MAX];
        size_t plen = 0;
        CHECK(m1.version == DTX_PROTO_V2);
        CHECK(dtx_saga_plan_decode(&plan, m1.payload, m1.payload_len, NULL, 0) == 0);
        CHECK(dtx_saga_plan_encode(&plan, again, sizeof again, &plen, NULL, 0) == 0);
        CHECK(plen == m1.payload_len && memcmp(again, m1.payload, plen) == 0);
    }
    if (m1.type == DTX_MSG_TMSG) {
        static dtx_tmsg_plan_t plan;
        static uint8_t again[DTX_PAYLOAD_MAX];
        size_t plen = 0;
        CHECK(m1.version == DTX_PROTO_V2);
        CHECK(dtx_tmsg_plan_decode(&plan, m1.payload, m1.payload_len, NULL, 0) == 0);
        CHECK(dtx_tmsg_plan_encode(&plan, again, sizeof again, &plen, NULL, 0) == 0);
        CHECK(plen == m1.payload_len && memcmp(again, m1.payload, plen) == 0);
    }
    if (m1.type == DTX_MSG_TRY_MANY || m1.type == DTX_MSG_TCC_RUN || m1.type == DTX_MSG_TRY_MANY_OK) {
        static dtx_trymany_t batch;
        static dtx_trymany_outcomes_t outs;
        static uint8_t again2[DTX_PAYLOAD_MAX];
        size_t plen = 0;
        CHECK(m1.version == DTX_PROTO_V2);
        if (m1.type == DTX_MSG_TRY_MANY || m1.type == DTX_MSG_TCC_RUN) {
            CHECK(dtx_trymany_decode(&batch, m1.payload, m1.payload_len, NULL, 0) == 0);
            CHECK(dtx_trymany_encode(&batch, again2, sizeof again2, &plen) == 0);
        } else {
            CHECK(dtx_trymany_outcomes_decode(&outs, m1.payload, m1.payload_len, NULL, 0) == 0);
            CHECK(dtx_trymany_outcomes_encode(&outs, again2, sizeof again2, &plen) == 0);
        }
        CHECK(plen == m1.payload_len && memcmp(again2, m1.payload, plen) == 0);
    }
    if (m1.type == DTX_MSG_TCC_RUN) {
        /* the initiator's gid (extension 3) exactly with flag bit 1, which
         * needs bit 0, and only an id as dtx_id_new writes */
        CHECK(!(m1.flags & DTX_TCC_RUN_GID) == !m1.gid[0]);
        CHECK(!(m1.flags & DTX_TCC_RUN_GID) || (m1.flags & DTX_TCC_RUN_COMMIT));
        CHECK(!m1.gid[0] || dtx_id_valid(m1.gid));
    }
    if (dtx_bundle_entry_type(m1.type)) {
        int n = dtx_bundle_check(m1.type, m1.payload, m1.payload_len, NULL, 0);
        CHECK(m1.version == DTX_PROTO_V2 && n >= 1 && n <= DTX_BUNDLE_MAX);
        dtx_bundle_iter_t it;
        dtx_bundle_iter_init(&it, &m1);
        const uint8_t *e;
        size_t elen, walked = 0;
        int seen = 0;
        while (dtx_bundle_iter_next(&it, &e, &elen)) {
            CHECK(elen >= DTX_PROTO_HEADER && e[2] == DTX_PROTO_V2 &&
                  e[3] == dtx_bundle_entry_type(m1.type));
            walked += 4 + elen;
            seen++;
        }
        CHECK(seen == n && walked == m1.payload_len);
    }
    CHECK(!m1.traceparent[0] || dtx_trace_valid(m1.traceparent));
    CHECK(m1.version == DTX_PROTO_V2 || !m1.bundle);
    CHECK(m1.version == DTX_PROTO_V2 || (!m1.traceparent[0] && m1.ext_skipped == 0));

    size_t len = 0;
    rc = dtx_msg_encode(&m1, s_out, sizeof s_out, &len);
    CHECK(rc == DTX_OK);
    if (m1.ext_skipped) {
        /* Unknown extensions are not re-encoded: a shorter frame with the
         * same meaning. */
        CHECK(len < size);
        CHECK(dtx_msg_decode(&m2, s_out, len, NULL, 0) == DTX_OK);
        CHECK(m2.ext_skipped == 0);
        m1.ext_skipped = 0;
        CHECK(s_msg_equal(&m1, &m2));
        return 0;
    }
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
