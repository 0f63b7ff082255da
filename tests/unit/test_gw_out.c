/* An answer's fields as a request hands them to its connection
 * (front/gw_front.h, gw_out.c), and the head the native engine makes of
 * them (gw_nout.h); no sockets. */
#include <string.h>

#include <CUnit/CUnit.h>

#include "front/gw_front.h"
#include "front/gw_nout.h"
#include "unit.h"

static void test_fields_walk_back_with_their_lengths(void)
{
    dtx_gw_out_t out;
    dtx_gw_out_init(&out, 200);
    dtx_gw_out_field(&out, "Content-Type", "text/plain");
    dtx_gw_out_field(&out, "X-Empty", "");
    dtx_gw_out_field(&out, "X-Bad", "a\r\nInjected: 1");   /* refused */
    dtx_gw_out_field(&out, "Bad\nName", "v");               /* refused */
    dtx_gw_out_field(&out, "RateLimit-Remaining", "42");
    CU_ASSERT_EQUAL(out.nfields, 3);
    size_t pos = 0, nl, vl;
    const char *n, *v;
    CU_ASSERT_TRUE(dtx_gw_out_next_n(&out, &pos, &n, &nl, &v, &vl));
    CU_ASSERT_STRING_EQUAL(n, "Content-Type");
    CU_ASSERT_EQUAL(nl, 12);
    CU_ASSERT_STRING_EQUAL(v, "text/plain");
    CU_ASSERT_EQUAL(vl, 10);
    CU_ASSERT_TRUE(dtx_gw_out_next(&out, &pos, &n, &v));
    CU_ASSERT_STRING_EQUAL(n, "X-Empty");
    CU_ASSERT_STRING_EQUAL(v, "");
    CU_ASSERT_TRUE(dtx_gw_out_next_n(&out, &pos, &n, &nl, &v, &vl));
    CU_ASSERT_STRING_EQUAL(n, "RateLimit-Remaining");
    CU_ASSERT_EQUAL(vl, 2);
    CU_ASSERT_FALSE(dtx_gw_out_next_n(&out, &pos, &n, &nl, &v, &vl));
    CU_ASSERT_STRING_EQUAL(dtx_gw_out_get(&out, "ratelimit-remaining"), "42");
    CU_ASSERT_PTR_NULL(dtx_gw_out_get(&out, "X-Bad"));
    dtx_gw_buf_t b = { 0 };
    int keep = 1;
    out.body = "hi";
    out.body_len = 2;
    CU_ASSERT_EQUAL(dtx_gw_nout_head(&b, &out, 1, 0, &keep, "Mon, 07 Dec 2026 00:00:00 GMT"),
                    DTX_GW_NOUT_MEMORY);
    CU_ASSERT_STRING_EQUAL(b.data, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Empty: \r\n"
                                   "RateLimit-Remaining: 42\r\n"
                                   "Date: Mon, 07 Dec 2026 00:00:00 GMT\r\nContent-Length: 2\r\n\r\n");
    dtx_gw_buf_free(&b);
    dtx_gw_out_fini(&out);
}

/* A field the caller vouches for goes in with its lengths, no scan; the
 * engine's framing names are left out of the head whatever their case,
 * names of the same length that are not them are kept. */
static void test_vouched_fields_and_framing_names_by_length(void)
{
    dtx_gw_out_t out;
    dtx_gw_out_init(&out, 200);
    dtx_gw_out_field_n(&out, "X-Ab", 4, "value", 5);
    dtx_gw_out_field_n(&out, "", 0, "v", 1);                 /* an empty name: ignored */
    dtx_gw_out_field_n(&out, "content-length", 14, "9", 1);  /* the engine's own */
    dtx_gw_out_field_n(&out, "Content-Lengtx", 14, "1", 1);  /* not it */
    dtx_gw_out_field_n(&out, "CONNECTION", 10, "close", 5);
    dtx_gw_out_field_n(&out, "DATE", 4, "Sun, 06 Dec 2026 00:00:00 GMT", 29);
    CU_ASSERT_EQUAL(out.nfields, 5);
    CU_ASSERT_STRING_EQUAL(dtx_gw_out_get(&out, "x-ab"), "value");
    dtx_gw_buf_t b = { 0 };
    int keep = 1;
    out.body = "hi";
    out.body_len = 2;
    CU_ASSERT_EQUAL(dtx_gw_nout_head(&b, &out, 1, 0, &keep, "Mon, 07 Dec 2026 00:00:00 GMT"),
                    DTX_GW_NOUT_MEMORY);
    CU_ASSERT_STRING_EQUAL(b.data, "HTTP/1.1 200 OK\r\nX-Ab: value\r\nContent-Lengtx: 1\r\n"
                                   "DATE: Sun, 06 Dec 2026 00:00:00 GMT\r\nContent-Length: 2\r\n\r\n");
    dtx_gw_buf_free(&b);
    dtx_gw_out_fini(&out);
}

UNIT_SUITE(gw_out)
{
    CU_pSuite s = CU_add_suite("gw_out", NULL, NULL);
    CU_add_test(s, "fields walk back with their lengths", test_fields_walk_back_with_their_lengths);
    CU_add_test(s, "vouched fields and framing names by length",
                test_vouched_fields_and_framing_names_by_length);
}
