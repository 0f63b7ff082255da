/*
 * tmsg.c — the transactional message plan codec (dtx/tmsg.h has the
 * layout). As saga.c: one validator, dtx_tmsg_plan_decode with or without
 * an output plan; the encoder writes the bytes and runs that validator
 * over them, so a rule lives in one place.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dtx/name.h"
#include "dtx/tmsg.h"

#include "codec_int.h"

/* A name of 1..63 valid bytes at buf[*pos]. */
static int s_name(const uint8_t *buf, size_t len, size_t *pos, char *out)
{
    if (*pos >= len)
        return -1;
    size_t n = buf[*pos];
    if (n == 0 || n > DTX_NAME_MAX || len - *pos - 1 < n)
        return -1;
    char tmp[DTX_NAME_SIZE];
    memcpy(tmp, buf + *pos + 1, n);
    tmp[n] = '\0';
    if (strlen(tmp) != n || !dtx_name_valid(tmp)) /* a NUL inside is no name */
        return -1;
    if (out)
        memcpy(out, tmp, n + 1);
    *pos += 1 + n;
    return 0;
}

int dtx_tmsg_plan_decode(dtx_tmsg_plan_t *plan, const uint8_t *buf, size_t len, char *errbuf,
                         size_t errlen)
{
    assert(buf || len == 0);
    if (errbuf && errlen > 0)
        errbuf[0] = '\0';
    if (len > DTX_PAYLOAD_MAX)
        return dtx_codec_fail(errbuf, errlen, DTX_ETOOBIG,
                              "message plan of %zu bytes over the limit of %u", len,
                              DTX_PAYLOAD_MAX);
    if (plan)
        memset(plan, 0, sizeof *plan);
    size_t pos = 0;
    if (s_name(buf, len, &pos, plan ? plan->checkback : NULL) != 0)
        return dtx_codec_fail(errbuf, errlen, DTX_EPROTO,
                              "message plan: bad or truncated check-back resource");
    if (pos >= len)
        return dtx_codec_fail(errbuf, errlen, DTX_EPROTO,
                              "message plan: truncated destination count");
    uint8_t n = buf[pos++];
    if (n < 1 || n > DTX_TMSG_DESTS_MAX)
        return dtx_codec_fail(errbuf, errlen, DTX_EPROTO,
                              "message plan: %u destinations (1..%d allowed)", n,
                              DTX_TMSG_DESTS_MAX);
    if (plan)
        plan->ndests = n;
    for (int no = 1; no <= n; no++) {
        dtx_tmsg_dest_t *d = plan ? &plan->dests[no - 1] : NULL;
        if (s_name(buf, len, &pos, d ? d->resource : NULL) != 0)
            return dtx_codec_fail(errbuf, errlen, DTX_EPROTO,
                                  "message destination %d: bad or truncated resource", no);
        if (s_name(buf, len, &pos, d ? d->action : NULL) != 0)
            return dtx_codec_fail(errbuf, errlen, DTX_EPROTO,
                                  "message destination %d: bad or truncated action", no);
        if (len - pos < 4)
            return dtx_codec_fail(errbuf, errlen, DTX_EPROTO,
                                  "message destination %d: truncated payload", no);
        uint32_t plen = (uint32_t)buf[pos] << 24 | (uint32_t)buf[pos + 1] << 16 |
                        (uint32_t)buf[pos + 2] << 8 | buf[pos + 3];
        pos += 4;
        if (len - pos < plen)
            return dtx_codec_fail(errbuf, errlen, DTX_EPROTO,
                                  "message destination %d: truncated payload", no);
        if (d) {
            d->payload = plen ? buf + pos : NULL;
            d->payload_len = plen;
        }
        pos += plen;
    }
    if (pos != len)
        return dtx_codec_fail(errbuf, errlen, DTX_EPROTO, "message plan: %zu trailing byte(s)",
                              len - pos);
    return 0;
}

static void s_put(uint8_t *buf, size_t cap, size_t *pos, const void *src, size_t n)
{
    if (n > 0 && *pos <= cap && n <= cap - *pos)
        memcpy(buf + *pos, src, n);
    *pos += n;
}

static int s_put_name(uint8_t *buf, size_t cap, size_t *pos, const char *name)
{
    size_t n = strnlen(name, DTX_NAME_SIZE);
    if (n == 0 || n > DTX_NAME_MAX || !dtx_name_valid(name))
        return -1;
    uint8_t b = (uint8_t)n;
    s_put(buf, cap, pos, &b, 1);
    s_put(buf, cap, pos, name, n);
    return 0;
}

int dtx_tmsg_plan_encode(const dtx_tmsg_plan_t *plan, uint8_t *buf, size_t cap, size_t *len,
                         char *errbuf, size_t errlen)
{
    assert(plan && len && (buf || cap == 0));
    *len = 0;
    if (plan->ndests < 1 || plan->ndests > DTX_TMSG_DESTS_MAX)
        return dtx_codec_fail(errbuf, errlen, DTX_EINVAL,
                              "a message needs 1..%d destinations (has %d)", DTX_TMSG_DESTS_MAX,
                              plan->ndests);
    size_t pos = 0;
    if (s_put_name(buf, cap, &pos, plan->checkback) != 0)
        return dtx_codec_fail(errbuf, errlen, DTX_EINVAL, "invalid check-back resource name");
    s_put(buf, cap, &pos, &plan->ndests, 1);
    for (int i = 0; i < plan->ndests; i++) {
        const dtx_tmsg_dest_t *d = &plan->dests[i];
        if (s_put_name(buf, cap, &pos, d->resource) != 0 ||
            s_put_name(buf, cap, &pos, d->action) != 0)
            return dtx_codec_fail(errbuf, errlen, DTX_EINVAL,
                                  "message destination %d: invalid resource or action name", i + 1);
        if (d->payload_len > DTX_PAYLOAD_MAX || (d->payload_len && !d->payload))
            return dtx_codec_fail(errbuf, errlen, DTX_EINVAL, "message destination %d: bad payload",
                                  i + 1);
        uint8_t l[4] = { (uint8_t)(d->payload_len >> 24), (uint8_t)(d->payload_len >> 16),
                         (uint8_t)(d->payload_len >> 8), (uint8_t)d->payload_len };
        s_put(buf, cap, &pos, l, 4);
        s_put(buf, cap, &pos, d->payload, d->payload_len);
        if (pos > DTX_PAYLOAD_MAX)
            break;
    }
    *len = pos;
    if (pos > DTX_PAYLOAD_MAX)
        return dtx_codec_fail(errbuf, errlen, DTX_ETOOBIG,
                              "message plan over %u bytes (the destinations' payloads together)",
                              DTX_PAYLOAD_MAX);
    if (pos > cap)
        return DTX_ETOOBIG;
    return dtx_tmsg_plan_decode(NULL, buf, pos, errbuf, errlen) == 0 ? 0 : DTX_EINVAL;
}
