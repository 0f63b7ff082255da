/*
 * fuzz_path.c — libFuzzer target for the gateway's path normaliser
 * (gateway-filter/src/core/gw_path.c): a request path is untrusted input,
 * and what it normalises to decides the route, its rules, and what goes
 * upstream.
 *
 * Whatever the input, nothing may crash or write past the buffer, and:
 *   - with the documented capacity (3 * length + 2) the answer is never
 *     DTX_ETOOBIG; with a smaller buffer it is that or the same answer;
 *   - a normalised path keeps the invariants of gw_path.h: it starts with
 *     '/', has no "//", no "." or ".." segment, no trailing '/' (but "/"),
 *     only printable ASCII but ';' and '\', and every '%' starts an
 *     upper-case escape of a byte that is not unreserved, '/' or NUL;
 *   - normalising is idempotent: the result normalises to itself (what
 *     goes upstream matches the same route at a second gateway).
 *
 *   make fuzz FUZZ_ONLY=path [FUZZ_SECONDS=60]
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/types.h"
#include "core/gw_path.h"

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "fuzz_path: %s:%d: check failed: %s\n",         \
                    __FILE__, __LINE__, #cond);                            \
            abort();                                                       \
        }                                                                  \
    } while (0)

static int s_unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

static int s_hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;                      /* lower case is not normal */
}

static void s_check_normal(const char *p, size_t n)
{
    CHECK(n >= 1 && p[0] == '/');
    CHECK(n == 1 || p[n - 1] != '/');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        CHECK(c > 0x20 && c < 0x7f && c != ';' && c != '\\');
        if (c == '/' && i + 1 < n) {
            CHECK(p[i + 1] != '/');
            size_t k = strcspn(p + i + 1, "/");
            CHECK(!(k == 1 && p[i + 1] == '.'));
            CHECK(!(k == 2 && p[i + 1] == '.' && p[i + 2] == '.'));
        }
        if (c == '%') {
            CHECK(i + 2 < n);
            int hi = s_hexval((unsigned char)p[i + 1]), lo = s_hexval((unsigned char)p[i + 2]);
            CHECK(hi >= 0 && lo >= 0);
            unsigned char v = (unsigned char)(hi * 16 + lo);
            CHECK(v != 0 && v != '/' && !s_unreserved(v));
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *raw = malloc(size + 1);
    if (!raw)
        return 0;
    memcpy(raw, data, size);
    raw[size] = '\0';                /* a path is a C string: stop at a NUL */
    size_t len = strlen(raw);
    size_t cap = 3 * len + 2;
    char *out = malloc(cap), *again = malloc(cap), *small = malloc(len + 1);
    if (!out || !again || !small)
        goto done;
    const char *why = NULL;
    int rc = dtx_gw_path_normalize(raw, out, cap, &why);
    CHECK(rc != DTX_ETOOBIG);
    if (rc < 0) {
        CHECK(rc == DTX_EINVAL && why != NULL);
    } else {
        CHECK((size_t)rc == strlen(out) && (size_t)rc < cap);
        s_check_normal(out, (size_t)rc);
        int rc2 = dtx_gw_path_normalize(out, again, cap, NULL);
        CHECK(rc2 == rc && strcmp(out, again) == 0);
    }
    /* A buffer too small for the worst case: the same answer or ETOOBIG. */
    int rc3 = dtx_gw_path_normalize(raw, small, len + 1, NULL);
    CHECK(rc3 == DTX_ETOOBIG || rc3 == rc);
    if (rc3 >= 0)
        CHECK(strcmp(small, out) == 0);
done:
    free(out);
    free(again);
    free(small);
    free(raw);
    return 0;
}
