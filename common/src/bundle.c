/*
 * bundle.c — the BUNDLE message's frames blob (dtx/bundle.h,
 * docs/protocol.md §20): its framing check, the walk over its entries and
 * the builder that encodes entries in place.
 *
 * Invariants:
 *  - dtx_bundle_check reads only p[0..n) and accepts exactly the blobs
 *    the iterator can walk: 1..DTX_BUNDLE_MAX entries, each a u32 length
 *    within the blob and a frame of the one allowed type, version 2;
 *  - the builder's buf is HEAD bytes of room, then the entries (length +
 *    frame each) in the order added; len never passes DTX_BUNDLE_HEAD +
 *    DTX_PAYLOAD_MAX, so a finished BUNDLE always decodes;
 *  - a failed add leaves n, len and last as they were.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/bundle.h"

#include "codec_int.h"

int dtx_bundle_entry_type(int bundle_type)
{
    if (bundle_type == DTX_MSG_BUNDLE_PHASES)
        return DTX_MSG_PHASE;
    if (bundle_type == DTX_MSG_BUNDLE_REPLIES)
        return DTX_MSG_PHASE_REPLY;
    return 0;
}

int dtx_bundle_check(int bundle_type, const uint8_t *p, size_t n, char *why, size_t whylen)
{
    int want = dtx_bundle_entry_type(bundle_type);
    assert(want);
    if (why && whylen > 0)
        why[0] = '\0';
    if (n == 0)
        return dtx_codec_fail(why, whylen, DTX_EPROTO, "frames holds no entry (1..%d)",
                              DTX_BUNDLE_MAX);
    size_t pos = 0;
    int count = 0;
    while (pos < n) {
        if (count == DTX_BUNDLE_MAX)
            return dtx_codec_fail(why, whylen, DTX_EPROTO,
                                  "frames holds more than %d entries (byte %zu)", DTX_BUNDLE_MAX,
                                  pos);
        if (n - pos < 4)
            return dtx_codec_fail(why, whylen, DTX_EPROTO,
                                  "entry %d: length truncated at byte %zu of frames", count + 1,
                                  pos);
        size_t len = dtx_codec_get_u32(p + pos);
        if (len > n - pos - 4)
            return dtx_codec_fail(
                why, whylen, DTX_EPROTO,
                "entry %d of %zu bytes at byte %zu runs past the end of frames (%zu bytes)",
                count + 1, len, pos, n);
        const uint8_t *f = p + pos + 4;
        if (len < DTX_PROTO_HEADER)
            return dtx_codec_fail(why, whylen, DTX_EPROTO,
                                  "entry %d at byte %zu is %zu bytes, shorter than a header",
                                  count + 1, pos, len);
        if (f[0] != DTX_PROTO_MAGIC0 || f[1] != DTX_PROTO_MAGIC1)
            return dtx_codec_fail(why, whylen, DTX_EPROTO,
                                  "entry %d at byte %zu is not a dtx frame (bad magic)", count + 1,
                                  pos);
        if (f[2] != DTX_PROTO_V2)
            return dtx_codec_fail(why, whylen, DTX_EPROTO,
                                  "entry %d at byte %zu is version %u, not 2", count + 1, pos,
                                  f[2]);
        if (f[3] != want)
            return dtx_codec_fail(why, whylen, DTX_EPROTO,
                                  "entry %d at byte %zu is a %s (0x%02x), not a %s", count + 1, pos,
                                  dtx_msg_type_name(f[3]), f[3], dtx_msg_type_name(want));
        count++;
        pos += 4 + len;
    }
    return count;
}

void dtx_bundle_iter_init(dtx_bundle_iter_t *it, const dtx_msg_t *bundle)
{
    assert(dtx_bundle_entry_type(bundle->type));
    it->p = bundle->payload;
    it->n = bundle->payload_len;
    it->pos = 0;
}

int dtx_bundle_iter_next(dtx_bundle_iter_t *it, const uint8_t **frame, size_t *len)
{
    if (it->n - it->pos < 4)
        return 0;
    size_t n = dtx_codec_get_u32(it->p + it->pos);
    if (n > it->n - it->pos - 4)
        return 0; /* not a blob dtx_bundle_check accepted */
    *frame = it->p + it->pos + 4;
    *len = n;
    it->pos += 4 + n;
    return 1;
}

#define S_CAP_MAX ((size_t)DTX_BUNDLE_HEAD + DTX_PAYLOAD_MAX)
#define S_CAP_MIN ((size_t)4096)

int dtx_bundle_add(dtx_bundle_t *self, const dtx_msg_t *msg)
{
    assert(self && msg);
    if (msg->version != DTX_PROTO_V2)
        return DTX_EINVAL;
    size_t used = self->n ? self->len : DTX_BUNDLE_HEAD;
    size_t at = used + 4; /* the frame's place, after its length */
    for (;;) {
        size_t room = self->cap > at ? self->cap - at : 0;
        size_t need = 0;
        int rc = dtx_msg_encode(msg, room ? self->buf + at : NULL, room, &need);
        if (rc != 0 && rc != DTX_ETOOBIG)
            return DTX_EINVAL;
        if (4 + need > DTX_PAYLOAD_MAX)
            return DTX_ETOOBIG;     /* not even alone */
        if (at + need > S_CAP_MAX || self->n == DTX_BUNDLE_MAX)
            return DTX_ELIMIT;      /* not beside the others */
        if (rc == 0) {
            dtx_codec_set_u32(self->buf + used, (uint32_t)need);
            self->last = at;
            self->len = at + need;
            self->n++;
            return DTX_OK;
        }
        size_t cap = self->cap ? self->cap : S_CAP_MIN;
        while (cap < at + need)
            cap *= 2;
        if (cap > S_CAP_MAX)
            cap = S_CAP_MAX;
        uint8_t *buf = realloc(self->buf, cap);
        if (!buf)
            return DTX_ENOMEM;
        self->buf = buf;
        self->cap = cap;
    }
}

void dtx_bundle_finish(dtx_bundle_t *self, int bundle_type, const uint8_t **frame, size_t *len)
{
    assert(self->n >= 1 && dtx_bundle_entry_type(bundle_type));
    if (self->n == 1) {
        *frame = self->buf + self->last;
        *len = self->len - self->last;
        return;
    }
    uint8_t *h = self->buf;
    h[0] = DTX_PROTO_MAGIC0;
    h[1] = DTX_PROTO_MAGIC1;
    h[2] = DTX_PROTO_V2;
    h[3] = (uint8_t)bundle_type;
    memset(h + 4, 0, 8); /* corr 0 */
    dtx_codec_set_u32(h + 12, (uint32_t)(self->len - DTX_BUNDLE_HEAD));
    *frame = self->buf;
    *len = self->len;
}

void dtx_bundle_reset(dtx_bundle_t *self)
{
    self->n = 0;
    self->len = 0;
    self->last = 0;
}

void dtx_bundle_free(dtx_bundle_t *self)
{
    free(self->buf);
    memset(self, 0, sizeof *self);
}
