/*
 * saga.c — the Saga plan codec (dtx/saga.h has the layout and the rules).
 *
 * One validator: dtx_saga_plan_decode with or without an output plan.
 * The encoder writes the bytes and then runs that same validator over
 * them, so what the encoder accepts the decoder accepts, and a rule lives
 * in one place.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dtx/name.h"
#include "dtx/saga.h"

#include "codec_int.h"

/* A name of 1..63 valid bytes (or 0 bytes when empty_ok) at buf[*pos]. */
static int s_name(const uint8_t *buf, size_t len, size_t *pos, char *out, int empty_ok)
{
    if (*pos >= len)
        return -1;
    size_t n = buf[*pos];
    if (n > DTX_NAME_MAX || (n == 0 && !empty_ok) || len - *pos - 1 < n)
        return -1;
    char tmp[DTX_NAME_SIZE];
    memcpy(tmp, buf + *pos + 1, n);
    tmp[n] = '\0';
    if (n > 0 && (strlen(tmp) != n || !dtx_name_valid(tmp))) /* a NUL inside is no name */
        return -1;
    if (out)
        memcpy(out, tmp, n + 1);
    *pos += 1 + n;
    return 0;
}

int dtx_saga_plan_decode(dtx_saga_plan_t *plan, const uint8_t *buf, size_t len,
                         char *errbuf, size_t errlen)
{
    assert(buf || len == 0);
    if (errbuf && errlen > 0)
        errbuf[0] = '\0';
    if (len > DTX_PAYLOAD_MAX)
        return dtx_codec_fail(errbuf, errlen, DTX_ETOOBIG,
                              "saga plan of %zu bytes over the limit of %u", len, DTX_PAYLOAD_MAX);
    if (len < 2)
        return dtx_codec_fail(errbuf, errlen, DTX_EPROTO, "saga plan truncated (%zu bytes)", len);
    uint8_t pflags = buf[0], nsteps = buf[1];
    if (pflags & ~DTX_SAGA_CONCURRENT)
        return dtx_codec_fail(errbuf, errlen, DTX_EPROTO, "saga plan: unknown flag bits 0x%02x",
                              pflags);
    if (nsteps < 1 || nsteps > DTX_SAGA_STEPS_MAX)
        return dtx_codec_fail(errbuf, errlen, DTX_EPROTO, "saga plan: %u steps (1..%d allowed)",
                              nsteps, DTX_SAGA_STEPS_MAX);
    if (plan) {
        memset(plan, 0, sizeof *plan);
        plan->flags = pflags;
        plan->nsteps = nsteps;
    }
    size_t pos = 2;
    int pivot = 0; /* step number of the pivot, 0 none */
    for (int no = 1; no <= nsteps; no++) {
        dtx_saga_step_t *st = plan ? &plan->steps[no - 1] : NULL;
        if (s_name(buf, len, &pos, st ? st->resource : NULL, 0) != 0)
            return dtx_codec_fail(errbuf, errlen, DTX_EPROTO,
                                  "saga step %d: bad or truncated resource", no);
        if (s_name(buf, len, &pos, st ? st->action : NULL, 0) != 0)
            return dtx_codec_fail(errbuf, errlen, DTX_EPROTO,
                                  "saga step %d: bad or truncated action", no);
        size_t comp_at = pos;
        if (s_name(buf, len, &pos, st ? st->compensation : NULL, 1) != 0)
            return dtx_codec_fail(errbuf, errlen, DTX_EPROTO,
                                  "saga step %d: bad or truncated compensation", no);
        int has_comp = buf[comp_at] != 0;
        if (len - pos < 2)
            return dtx_codec_fail(errbuf, errlen, DTX_EPROTO, "saga step %d: truncated flags", no);
        uint8_t flags = buf[pos], ndeps = buf[pos + 1];
        pos += 2;
        if (flags & ~DTX_SAGA_STEP_PIVOT)
            return dtx_codec_fail(errbuf, errlen, DTX_EPROTO,
                                  "saga step %d: unknown flag bits 0x%02x", no, flags);
        int is_pivot = flags & DTX_SAGA_STEP_PIVOT;
        if (!has_comp && !is_pivot)
            return dtx_codec_fail(errbuf, errlen, DTX_EPROTO,
                                  "saga step %d: no compensation (only a pivot may have none)", no);
        if (is_pivot && pivot)
            return dtx_codec_fail(errbuf, errlen, DTX_EPROTO,
                                  "saga step %d: a second pivot (step %d is one already)", no,
                                  pivot);
        if (ndeps && !(pflags & DTX_SAGA_CONCURRENT))
            return dtx_codec_fail(errbuf, errlen, DTX_EPROTO,
                                  "saga step %d: dependencies in a sequential plan", no);
        if (ndeps > no - 1 || len - pos < ndeps)
            return dtx_codec_fail(errbuf, errlen, DTX_EPROTO,
                                  "saga step %d: bad or truncated dependencies", no);
        int prev = 0, on_pivot = 0;
        for (int i = 0; i < ndeps; i++) {
            int d = buf[pos + i];
            if (d <= prev || d >= no)
                return dtx_codec_fail(
                    errbuf, errlen, DTX_EPROTO,
                    "saga step %d: dependency %d is not an earlier step in increasing "
                    "order",
                    no, d);
            prev = d;
            if (d == pivot)
                on_pivot = 1;
            if (st)
                st->deps[i] = (uint8_t)d;
        }
        pos += ndeps;
        if ((pflags & DTX_SAGA_CONCURRENT) && pivot && !on_pivot)
            return dtx_codec_fail(
                errbuf, errlen, DTX_EPROTO,
                "saga step %d: must depend on the pivot (step %d): no action runs "
                "beside a pivot",
                no, pivot);
        if ((pflags & DTX_SAGA_CONCURRENT) && is_pivot && ndeps != no - 1)
            return dtx_codec_fail(errbuf, errlen, DTX_EPROTO,
                                  "saga step %d: a pivot must depend on every earlier step", no);
        if (len - pos < 4)
            return dtx_codec_fail(errbuf, errlen, DTX_EPROTO, "saga step %d: truncated payload",
                                  no);
        uint32_t plen = (uint32_t)buf[pos] << 24 | (uint32_t)buf[pos + 1] << 16 |
                        (uint32_t)buf[pos + 2] << 8 | buf[pos + 3];
        pos += 4;
        if (len - pos < plen)
            return dtx_codec_fail(errbuf, errlen, DTX_EPROTO, "saga step %d: truncated payload",
                                  no);
        if (st) {
            st->flags = flags;
            st->ndeps = ndeps;
            st->payload = plen ? buf + pos : NULL;
            st->payload_len = plen;
        }
        pos += plen;
        if (is_pivot)
            pivot = no;
    }
    if (pos != len)
        return dtx_codec_fail(errbuf, errlen, DTX_EPROTO, "saga plan: %zu trailing byte(s)",
                              len - pos);
    return 0;
}

static void s_put(uint8_t *buf, size_t cap, size_t *pos, const void *src, size_t n)
{
    if (n > 0 && *pos <= cap && n <= cap - *pos)
        memcpy(buf + *pos, src, n);
    *pos += n;
}

int dtx_saga_plan_encode(const dtx_saga_plan_t *plan, uint8_t *buf, size_t cap, size_t *len,
                         char *errbuf, size_t errlen)
{
    assert(plan && len && (buf || cap == 0));
    *len = 0;
    if (plan->nsteps < 1 || plan->nsteps > DTX_SAGA_STEPS_MAX)
        return dtx_codec_fail(errbuf, errlen, DTX_EINVAL, "a saga needs 1..%d steps (has %d)",
                              DTX_SAGA_STEPS_MAX, plan->nsteps);
    size_t pos = 0;
    s_put(buf, cap, &pos, &plan->flags, 1);
    s_put(buf, cap, &pos, &plan->nsteps, 1);
    for (int i = 0; i < plan->nsteps; i++) {
        const dtx_saga_step_t *st = &plan->steps[i];
        const char *names[3] = { st->resource, st->action, st->compensation };
        for (int k = 0; k < 3; k++) {
            size_t n = strnlen(names[k], DTX_NAME_SIZE);
            if (n > DTX_NAME_MAX || (n > 0 && !dtx_name_valid(names[k])) || (n == 0 && k < 2))
                return dtx_codec_fail(errbuf, errlen, DTX_EINVAL, "saga step %d: invalid %s name",
                                      i + 1,
                                      k == 0   ? "resource"
                                      : k == 1 ? "action"
                                               : "compensation");
            uint8_t b = (uint8_t)n;
            s_put(buf, cap, &pos, &b, 1);
            s_put(buf, cap, &pos, names[k], n);
        }
        if (st->ndeps > DTX_SAGA_STEPS_MAX || st->payload_len > DTX_PAYLOAD_MAX ||
            (st->payload_len && !st->payload))
            return dtx_codec_fail(errbuf, errlen, DTX_EINVAL,
                                  "saga step %d: bad dependencies or payload", i + 1);
        s_put(buf, cap, &pos, &st->flags, 1);
        s_put(buf, cap, &pos, &st->ndeps, 1);
        s_put(buf, cap, &pos, st->deps, st->ndeps);
        uint8_t l[4] = { (uint8_t)(st->payload_len >> 24), (uint8_t)(st->payload_len >> 16),
                         (uint8_t)(st->payload_len >> 8), (uint8_t)st->payload_len };
        s_put(buf, cap, &pos, l, 4);
        s_put(buf, cap, &pos, st->payload, st->payload_len);
        if (pos > DTX_PAYLOAD_MAX)
            break;
    }
    *len = pos;
    if (pos > DTX_PAYLOAD_MAX)
        return dtx_codec_fail(errbuf, errlen, DTX_ETOOBIG,
                              "saga plan over %u bytes (the steps' payloads together)",
                              DTX_PAYLOAD_MAX);
    if (pos > cap)
        return DTX_ETOOBIG;
    int rc = dtx_saga_plan_decode(NULL, buf, pos, errbuf, errlen);
    return rc == 0 ? 0 : DTX_EINVAL;
}

int dtx_saga_plan_deps(const dtx_saga_plan_t *plan, int no, uint8_t *out)
{
    assert(plan && out && no >= 1 && no <= plan->nsteps);
    if (!(plan->flags & DTX_SAGA_CONCURRENT)) {
        if (no == 1)
            return 0;
        out[0] = (uint8_t)(no - 1);
        return 1;
    }
    const dtx_saga_step_t *st = &plan->steps[no - 1];
    memcpy(out, st->deps, st->ndeps);
    return st->ndeps;
}
