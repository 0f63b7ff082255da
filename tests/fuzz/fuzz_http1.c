/*
 * fuzz_http1.c — libFuzzer target for the gateway's upstream answer
 * parser (gateway-filter/src/gw_http1.c): the bytes an upstream sends are
 * untrusted input.
 *
 * The input is read as an answer: its head (up to the blank line) goes to
 * dtx_gw_http1_parse_head, the rest to dtx_gw_http1_body. Whatever the
 * input, nothing may crash or read out of bounds, and:
 *   - a head is found only at a blank line, never past the input;
 *   - the body decodes to the same bytes, the same end and the same
 *     verdict whether it comes whole or one byte at a time (an upstream's
 *     answer arrives in arbitrary pieces);
 *   - a decoder never returns more body bytes than it consumed.
 *
 *   make fuzz [FUZZ_SECONDS=60]    (runs every fuzz target)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_http1.h"

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "fuzz_http1: %s:%d: check failed: %s\n",        \
                    __FILE__, __LINE__, #cond);                            \
            abort();                                                       \
        }                                                                  \
    } while (0)

static void s_on_header(const char *name, size_t name_len, const char *value,
                        size_t value_len, void *arg)
{
    (void)arg;
    CHECK(name[0] != '\0');
    CHECK(strlen(name) == name_len);
    CHECK(strlen(value) == value_len);                 /* no NUL inside */
    CHECK(strpbrk(value, "\r\n") == NULL);            /* relayed without a scan */
}

/* Decodes in[0..len) in pieces of step bytes; out gets the body. Returns
 * -1 (broken framing) or 0; *done, *out_len, *consumed set. */
static int s_decode(dtx_gw_http1_resp_t r, const uint8_t *in, size_t len, size_t step,
                    uint8_t *out, size_t *out_len, int *done, size_t *consumed)
{
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
                *consumed = i + off;
                return -1;
            }
            CHECK(used <= n - off);
            CHECK(plen <= used);
            CHECK(plen == 0 || (piece >= (const char *)in + i + off &&
                                piece + plen <= (const char *)in + i + off + used));
            memcpy(out + *out_len, piece, plen);
            *out_len += plen;
            off += used;
            CHECK(used > 0 || r.done);   /* progress, always */
        }
        i += off;
    }
    *done = r.done;
    *consumed = i;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int head_request = data[0] & 1;
    data++;
    size--;
    size_t end = dtx_gw_http1_head_end((const char *)data, size);
    CHECK(end <= size);
    if (!end)
        return 0;
    CHECK(data[end - 1] == '\n');
    char *head = malloc(end + 1);
    memcpy(head, data, end);
    head[end] = '\0';
    dtx_gw_http1_resp_t r;
    int rc = dtx_gw_http1_parse_head(&r, head, end, head_request, s_on_header, NULL);
    free(head);
    if (rc < 0)
        return 0;
    CHECK(r.status >= 100 && r.status <= 999);
    CHECK(r.body != DTX_GW_BODY_CLOSE || !r.keep_alive);
    const uint8_t *body = data + end;
    size_t blen = size - end;
    uint8_t *a = malloc(blen + 1), *b = malloc(blen + 1);
    size_t alen, blen2, ca, cb;
    int da, db;
    int ra = s_decode(r, body, blen, blen ? blen : 1, a, &alen, &da, &ca);
    int rb = s_decode(r, body, blen, 1, b, &blen2, &db, &cb);
    CHECK(ra == rb);
    CHECK(da == db);
    if (ra == 0) {
        CHECK(alen == blen2 && memcmp(a, b, alen) == 0);
        CHECK(ca == cb);
    }
    free(a);
    free(b);
    return 0;
}
