/*
 * fuzz_zgw.c — libFuzzer target for the decoder of dtx-gateway's zmq
 * message (common/src/zgw.c, dtx/zgw.h): a service's reply is untrusted
 * input to the gateway, and a request to libdtx's service helper.
 *
 * The input is a list of frames: a first byte (the frame count, mod 12),
 * then for each frame a length byte and that many bytes (cut at the end
 * of the input). Whatever the input, nothing may crash or read out of
 * bounds, and:
 *   - a decoded reply's status is 200..599, its id 1..64 bytes, and its
 *     frames are the input's frames;
 *   - walking its header block gives non-empty names of token characters
 *     and values without CR, LF or NUL, and ends at the block's end;
 *   - a refused message always says why;
 *   - the same holds for a request (the service's side).
 *
 *   make fuzz [FUZZ_SECONDS=60]    (runs every fuzz target)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/zgw.h"

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "fuzz_zgw: %s:%d: check failed: %s\n",          \
                    __FILE__, __LINE__, #cond);                            \
            abort();                                                       \
        }                                                                  \
    } while (0)

static void s_check_headers(const dtx_zgw_frame_t *h)
{
    size_t pos = 0, lines = 0;
    dtx_zgw_frame_t n, v;
    while (dtx_zgw_headers_next(h->data, h->len, &pos, &n, &v)) {
        CHECK(n.len > 0);
        CHECK(n.data >= h->data && n.data + n.len <= h->data + h->len);
        CHECK(v.data >= h->data && v.data + v.len <= h->data + h->len);
        CHECK(memchr(n.data, ':', n.len) == NULL);
        CHECK(memchr(v.data, '\r', v.len) == NULL && memchr(v.data, '\n', v.len) == NULL &&
              memchr(v.data, '\0', v.len) == NULL);
        CHECK(++lines <= DTX_ZGW_MAX_HEADER_LINES);
    }
    CHECK(pos == h->len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    dtx_zgw_frame_t f[12];
    int n = data[0] % 12;
    size_t at = 1;
    for (int i = 0; i < n; i++) {
        size_t len = at < size ? data[at++] : 0;
        if (len > size - at)
            len = size - at;
        f[i].data = (const char *)data + at;
        f[i].len = len;
        at += len;
    }
    dtx_zgw_reply_t r;
    const char *why = NULL;
    int rc = dtx_zgw_reply_decode(f, n, 100, &r, &why);
    if (rc == 0) {
        CHECK(n == DTX_ZGW_REPLY_FRAMES);
        CHECK(r.status >= 200 && r.status <= 599);
        CHECK(r.id.len >= 1 && r.id.len <= DTX_ZGW_MAX_ID && r.id.data == f[2].data);
        CHECK(r.headers.data == f[4].data && r.body.data == f[5].data && r.body.len <= 100);
        s_check_headers(&r.headers);
    } else {
        CHECK(rc < 0 && why && why[0]);
    }
    dtx_zgw_request_t q;
    why = NULL;
    rc = dtx_zgw_request_decode(f, n, &q, &why);
    if (rc == 0) {
        CHECK(n == DTX_ZGW_REQUEST_FRAMES);
        CHECK(q.path.len > 0 && q.path.data[0] == '/');
        CHECK(q.method.len > 0);
        s_check_headers(&q.headers);
    } else {
        CHECK(rc < 0 && why && why[0]);
    }
    return 0;
}
