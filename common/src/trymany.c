/*
 * trymany.c — the batch of a TRY_MANY and the outcomes of its
 * TRY_MANY_OK (dtx/trymany.h holds the layouts; docs/protocol.md §18).
 *
 * Invariants, as in proto.c: the decoders never read outside buf[0..len),
 * the encoders never write outside buf[0..cap), every value has one
 * encoding (decode(encode(x)) == x and encode(decode(b)) == b).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dtx/name.h"
#include "dtx/trymany.h"

#include "codec_int.h"

/* Reads a name at *pos into out (may be NULL). */
static int s_name(const uint8_t *buf, size_t len, size_t *pos, char *out, const char *what,
                  int i, char *errbuf, size_t errlen)
{
    if (*pos >= len)
        return dtx_codec_fail(errbuf, errlen, DTX_EPROTO, "branch %d: %s truncated at byte %zu", i,
                              what, *pos);
    size_t n = buf[*pos];
    if (n < 1 || n > DTX_NAME_MAX)
        return dtx_codec_fail(errbuf, errlen, DTX_EPROTO, "branch %d: %s has length %zu, not 1..%d",
                              i, what, n, DTX_NAME_MAX);
    if (len - *pos - 1 < n)
        return dtx_codec_fail(errbuf, errlen, DTX_EPROTO, "branch %d: %s truncated at byte %zu", i,
                              what, *pos);
    if (dtx_name_bad_char(buf + *pos + 1, n) < n)
        return dtx_codec_fail(errbuf, errlen, DTX_EPROTO,
                              "branch %d: %s has an invalid name character", i, what);
    if (out) {
        memcpy(out, buf + *pos + 1, n);
        out[n] = '\0';
    }
    *pos += 1 + n;
    return 0;
}

int dtx_trymany_decode(dtx_trymany_t *out, const uint8_t *buf, size_t len,
                       char *errbuf, size_t errlen)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (len > DTX_PAYLOAD_MAX)
        return dtx_codec_fail(errbuf, errlen, DTX_EPROTO, "batch of %zu bytes over %u", len,
                              DTX_PAYLOAD_MAX);
    if (len < 1)
        return dtx_codec_fail(errbuf, errlen, DTX_EPROTO, "empty batch");
    size_t n = buf[0], pos = 1;
    if (n < 1 || n > DTX_TRYMANY_MAX)
        return dtx_codec_fail(errbuf, errlen, DTX_EPROTO, "batch of %zu branches, not 1..%d", n,
                              DTX_TRYMANY_MAX);
    for (size_t i = 0; i < n; i++) {
        dtx_trymany_item_t *it = out ? &out->items[i] : NULL;
        int no = (int)i + 1;
        if (s_name(buf, len, &pos, it ? it->resource : NULL, "resource", no, errbuf, errlen) ||
            s_name(buf, len, &pos, it ? it->action : NULL, "action", no, errbuf, errlen))
            goto bad;
        if (len - pos < 4)
            return dtx_codec_fail(errbuf, errlen, DTX_EPROTO,
                                  "branch %d: payload truncated at byte %zu", no, pos);
        uint32_t pl = dtx_codec_get_u32(buf + pos);
        if (len - pos - 4 < pl)
            return dtx_codec_fail(errbuf, errlen, DTX_EPROTO,
                                  "branch %d: payload of %u bytes truncated at byte %zu", no, pl,
                                  pos);
        if (it) {
            it->payload = pl ? buf + pos + 4 : NULL;
            it->payload_len = pl;
        }
        pos += 4 + pl;
    }
    if (pos != len)
        return dtx_codec_fail(errbuf, errlen, DTX_EPROTO, "%zu trailing byte(s) after the batch",
                              len - pos);
    if (out)
        out->n = (uint8_t)n;
    return 0;
bad:
    if (out)
        memset(out, 0, sizeof *out);
    return DTX_EPROTO;
}

/* Bounded writer: counts every byte, writes those that fit. */
typedef struct {
    uint8_t *buf;
    size_t   cap, pos;
} s_w_t;

static void s_put(s_w_t *w, const void *p, size_t n)
{
    if (n && w->buf && w->pos <= w->cap && n <= w->cap - w->pos)
        memcpy(w->buf + w->pos, p, n);
    w->pos += n;
}

static void s_put_u32(s_w_t *w, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
    s_put(w, b, 4);
}

static void s_put_len8(s_w_t *w, const char *s, size_t n)
{
    uint8_t l = (uint8_t)n;
    s_put(w, &l, 1);
    s_put(w, s, n);
}

static int s_finish(const s_w_t *w, size_t *len)
{
    *len = w->pos;
    return w->pos > DTX_PAYLOAD_MAX || w->pos > w->cap ? DTX_ETOOBIG : 0;
}

int dtx_trymany_encode(const dtx_trymany_t *in, uint8_t *buf, size_t cap, size_t *len)
{
    *len = 0;
    if (!in || in->n < 1 || in->n > DTX_TRYMANY_MAX)
        return DTX_EINVAL;
    s_w_t w = { buf, buf ? cap : 0, 0 };
    s_put(&w, &in->n, 1);
    for (int i = 0; i < in->n; i++) {
        const dtx_trymany_item_t *it = &in->items[i];
        if (!dtx_name_valid(it->resource) || !dtx_name_valid(it->action) ||
            (it->payload_len && !it->payload) || it->payload_len > DTX_PAYLOAD_MAX)
            return DTX_EINVAL;
        s_put_len8(&w, it->resource, strlen(it->resource));
        s_put_len8(&w, it->action, strlen(it->action));
        s_put_u32(&w, it->payload_len);
        s_put(&w, it->payload, it->payload_len);
    }
    return s_finish(&w, len);
}

int dtx_trymany_outcomes_decode(dtx_trymany_outcomes_t *out, const uint8_t *buf, size_t len,
                                char *errbuf, size_t errlen)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (len > DTX_PAYLOAD_MAX)
        return dtx_codec_fail(errbuf, errlen, DTX_EPROTO, "outcomes of %zu bytes over %u", len,
                              DTX_PAYLOAD_MAX);
    if (len < 1)
        return dtx_codec_fail(errbuf, errlen, DTX_EPROTO, "empty outcomes");
    size_t n = buf[0], pos = 1;
    if (n < 1 || n > DTX_TRYMANY_MAX)
        return dtx_codec_fail(errbuf, errlen, DTX_EPROTO, "%zu outcomes, not 1..%d", n,
                              DTX_TRYMANY_MAX);
    for (size_t i = 0; i < n; i++) {
        int no = (int)i + 1;
        if (len - pos < 10)
            goto truncated;
        uint32_t branch = dtx_codec_get_u32(buf + pos);
        uint8_t outcome = buf[pos + 4];
        uint32_t code = dtx_codec_get_u32(buf + pos + 5);
        size_t tl = buf[pos + 9];
        if (outcome > DTX_OUTCOME_FAILED)
            goto bad_outcome;
        if (len - pos - 10 < tl)
            goto truncated;
        if (memchr(buf + pos + 10, 0, tl)) {
            if (out)
                memset(out, 0, sizeof *out);
            return dtx_codec_fail(errbuf, errlen, DTX_EPROTO, "outcome %d: text contains NUL", no);
        }
        if ((code == 0) != (tl == 0) || (code != 0 && outcome != DTX_OUTCOME_FAILED)) {
            if (out)
                memset(out, 0, sizeof *out);
            return dtx_codec_fail(errbuf, errlen, DTX_EPROTO,
                                  "outcome %d: code %u with outcome %u and a text of %zu bytes", no,
                                  code, outcome, tl);
        }
        if (out) {
            out->o[i].branch = branch;
            out->o[i].outcome = outcome;
            out->o[i].code = code;
            memcpy(out->o[i].text, buf + pos + 10, tl);
            out->o[i].text[tl] = '\0';
        }
        pos += 10 + tl;
        continue;
    truncated:
        if (out)
            memset(out, 0, sizeof *out);
        return dtx_codec_fail(errbuf, errlen, DTX_EPROTO, "outcome %d truncated at byte %zu", no,
                              pos);
    bad_outcome:
        if (out)
            memset(out, 0, sizeof *out);
        return dtx_codec_fail(errbuf, errlen, DTX_EPROTO, "outcome %d: value %u out of range 0..%d",
                              no, outcome, DTX_OUTCOME_FAILED);
    }
    if (pos != len) {
        if (out)
            memset(out, 0, sizeof *out);
        return dtx_codec_fail(errbuf, errlen, DTX_EPROTO, "%zu trailing byte(s) after the outcomes",
                              len - pos);
    }
    if (out)
        out->n = (uint8_t)n;
    return 0;
}

int dtx_trymany_outcomes_encode(const dtx_trymany_outcomes_t *in, uint8_t *buf, size_t cap,
                                size_t *len)
{
    *len = 0;
    if (!in || in->n < 1 || in->n > DTX_TRYMANY_MAX)
        return DTX_EINVAL;
    s_w_t w = { buf, buf ? cap : 0, 0 };
    s_put(&w, &in->n, 1);
    for (int i = 0; i < in->n; i++) {
        const dtx_trymany_outcome_t *o = &in->o[i];
        size_t tl = strnlen(o->text, sizeof o->text);
        if (o->outcome > DTX_OUTCOME_FAILED || tl > DTX_TEXT_MAX || (o->code == 0) != (tl == 0) ||
            (o->code != 0 && o->outcome != DTX_OUTCOME_FAILED))
            return DTX_EINVAL;
        s_put_u32(&w, o->branch);
        s_put(&w, &o->outcome, 1);
        s_put_u32(&w, o->code);
        s_put_len8(&w, o->text, tl);
    }
    return s_finish(&w, len);
}
