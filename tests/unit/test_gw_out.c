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

UNIT_SUITE(gw_out)
{
    CU_pSuite s = CU_add_suite("gw_out", NULL, NULL);
    CU_add_test(s, "fields walk back with their lengths", test_fields_walk_back_with_their_lengths);
}
