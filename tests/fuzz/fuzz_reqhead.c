/*
 * fuzz_reqhead.c — libFuzzer target for the native front end's request
 * parser (gateway-filter/src/core/gw_reqhead.c) and the chunked decoder
 * its bodies go through (gw_http1.c): the bytes a client sends are
 * untrusted input.
 *
 * The input is read as a request: its head (up to the blank line) goes to
 * dtx_gw_reqhead_parse, the rest, when the head frames a chunked body, to
 * the decoder whole and one byte at a time. Whatever the input, nothing
 * may crash or read out of bounds, and:
 *   - a head is found only at a blank line, never past the input;
 *   - a refusal is one of 400, 431, 505 and says why;
 *   - an accepted head has a token method, a target without space or
 *     control bytes, fields whose values hold no CR, LF or NUL, a framing
 *     consistent with its fields, and keep-alive never with a bad framing;
 *   - the body decodes to the same bytes and the same verdict in any
 *     split.
 *
 *   make fuzz [FUZZ_SECONDS=60]    (runs every fuzz target)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_http1.h"
#include "gw_reqhead.h"

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "fuzz_reqhead: %s:%d: check failed: %s\n",      \
                    __FILE__, __LINE__, #cond);                            \
            abort();                                                       \
        }                                                                  \
    } while (0)

static dtx_gw_reqhead_t s_head;

/* Decodes in[0..len) as a chunked body in pieces of step bytes into out.
 * Returns -1 (broken framing) or 0; *done set. */
static int s_chunked(const uint8_t *in, size_t len, size_t step, uint8_t *out, size_t *out_len,
                     int *done)
{
    dtx_gw_http1_resp_t r;
    memset(&r, 0, sizeof r);
    r.body = DTX_GW_BODY_CHUNKED;
    *out_len = 0;
    size_t i = 0;
    while (i < len && !r.done) {
        size_t n = len - i < step ? len - i : step, off = 0;
        while (off < n && !r.done) {
            size_t used, plen;
            const char *piece;
            if (dtx_gw_http1_body(&r, (const char *)in + i + off, n - off, &used, &piece,
                                  &plen) < 0) {
                *done = r.done;
                return -1;
            }
            CHECK(used <= n - off && plen <= used);
            memcpy(out + *out_len, piece, plen);
            *out_len += plen;
            off += used;
            CHECK(used > 0 || r.done);
        }
        i += off;
    }
    *done = r.done;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t end = dtx_gw_reqhead_end((const char *)data, size);
    CHECK(end <= size);
    if (!end)
        return 0;
    CHECK(data[end - 1] == '\n');
    char *head = malloc(end + 1);
    memcpy(head, data, end);
    head[end] = '\0';
    const char *why = NULL;
    int st = dtx_gw_reqhead_parse(&s_head, head, end, &why);
    if (st) {
        CHECK(st == 400 || st == 431 || st == 505);
        CHECK(why && *why);
        free(head);
        return 0;
    }
    CHECK(s_head.method && *s_head.method && s_head.target && *s_head.target);
    CHECK(strlen(s_head.method) <= 32);
    for (const char *p = s_head.target; *p; p++)
        CHECK((unsigned char)*p > ' ' && *p != 0x7f);
    CHECK(s_head.minor == 0 || s_head.minor == 1);
    CHECK(s_head.nfields <= DTX_GW_REQHEAD_MAX_FIELDS);
    for (int i = 0; i < s_head.nfields; i++) {
        const dtx_gw_reqfield_t *f = &s_head.fields[i];
        CHECK(f->name_len > 0 && strlen(f->name) == f->name_len);
        CHECK(!strpbrk(f->name, " \t:\r\n"));
        CHECK(!strpbrk(f->value, "\r\n"));
        CHECK(f->name >= head && f->value < head + end);
    }
    CHECK(s_head.minor == 0 || dtx_gw_reqhead_field(&s_head, "Host"));
    switch (s_head.body) {
    case DTX_GW_REQBODY_LENGTH:
        CHECK(s_head.content_length > 0);
        break;
    case DTX_GW_REQBODY_NONE:
        CHECK(s_head.content_length <= 0);
        CHECK(!dtx_gw_reqhead_field(&s_head, "Transfer-Encoding"));
        break;
    case DTX_GW_REQBODY_BAD:
        CHECK(!s_head.keep_alive && s_head.content_length == -1);
        break;
    case DTX_GW_REQBODY_CHUNKED: {
        CHECK(s_head.content_length == -1);
        const uint8_t *body = data + end;
        size_t blen = size - end;
        uint8_t *a = malloc(blen + 1), *b = malloc(blen + 1);
        size_t alen, blen2;
        int da, db;
        int ra = s_chunked(body, blen, blen ? blen : 1, a, &alen, &da);
        int rb = s_chunked(body, blen, 1, b, &blen2, &db);
        CHECK(ra == rb && da == db);
        if (ra == 0)
            CHECK(alen == blen2 && memcmp(a, b, alen) == 0);
        free(a);
        free(b);
        break;
    }
    }
    free(head);
    return 0;
}
