/* An answer's freshness (filters/gw_cache_fresh.c): Cache-Control,
 * Expires against Date, Age, Set-Cookie and the route's bounds. */
#include <CUnit/CUnit.h>

#include "filters/gw_cache_fresh.h"
#include "unit.h"

static void test_ttl_rules(void)
{
    dtx_gw_cache_cfg_t cfg = { .ttl_s = 60, .max_ttl_s = 3600, .stale_if_error_s = 5 };
    dtx_gw_statuses_add(&cfg.statuses, 200, 200);
    dtx_gw_statuses_add(&cfg.statuses, 404, 404);
    int64_t st, age;
#define TTL(status, ...)                                                                   \
    ({                                                                                     \
        char *hv[] = { __VA_ARGS__ };                                                      \
        dtx_gw_resp_header_t h[8];                                                         \
        int n = 0;                                                                         \
        for (; n < (int)(sizeof hv / sizeof *hv) / 2; n++) {                               \
            h[n].name = hv[2 * n];                                                         \
            h[n].value = hv[2 * n + 1];                                                    \
        }                                                                                  \
        dtx_gw_cache_ttl(&cfg, status, h, n, 1700000000, &st, &age);                       \
    })
    CU_ASSERT_EQUAL(TTL(200, "X-A", "b"), 60);
    CU_ASSERT_EQUAL(TTL(200, "Cache-Control", "max-age=30"), 30);
    CU_ASSERT_EQUAL(TTL(200, "Cache-Control", "max-age=30, s-maxage=90"), 90);
    CU_ASSERT_EQUAL(TTL(200, "Cache-Control", "s-maxage=90", "Cache-Control", "max-age=5"), 90);
    CU_ASSERT_EQUAL(TTL(200, "Cache-Control", "max-age=99999"), 3600);   /* max_ttl_s */
    CU_ASSERT_EQUAL(TTL(200, "Cache-Control", "max-age=30", "Age", "10"), 20);
    CU_ASSERT_EQUAL(age, 10);
    CU_ASSERT_EQUAL(TTL(200, "Cache-Control", "max-age=30, stale-if-error=120"), 30);
    CU_ASSERT_EQUAL(st, 120);
    CU_ASSERT_EQUAL(TTL(200, "Date", "Sun, 06 Nov 1994 08:49:37 GMT", "Expires",
                        "Sun, 06 Nov 1994 08:50:17 GMT"), 40);
    CU_ASSERT_EQUAL(TTL(200, "Expires", "0"), 0);                         /* invalid: expired */
    /* out of range fields: invalid too (and no int overflow on them) */
    CU_ASSERT_EQUAL(TTL(200, "Date", "Sun, 06 Nov 1994 08:49:37 GMT", "Expires",
                        "Sun, 06 Nov 1994 99:00:00 GMT"), 0);
    CU_ASSERT_EQUAL(TTL(200, "Date", "Sun, 06 Nov 1994 08:49:37 GMT", "Expires",
                        "Sun, 06 Nov 1994 2147483647:00:00 GMT"), 0);
    CU_ASSERT_EQUAL(TTL(200, "Date", "Sun, 06 Nov 1994 08:49:37 GMT", "Expires",
                        "Sun, 45 Nov 1994 08:49:37 GMT"), 0);
    CU_ASSERT_EQUAL(TTL(200, "Cache-Control", "max-age=30", "Expires", "0"), 30);
    CU_ASSERT_EQUAL(TTL(200, "Cache-Control", "no-store"), 0);
    CU_ASSERT_EQUAL(TTL(200, "Cache-Control", "private, max-age=30"), 0);
    CU_ASSERT_EQUAL(TTL(200, "Cache-Control", "max-age=30, no-cache"), 0);
    CU_ASSERT_EQUAL(TTL(200, "Set-Cookie", "a=b", "Cache-Control", "max-age=30"), 0);
    CU_ASSERT_EQUAL(TTL(404, "X-A", "b"), 60);
    CU_ASSERT_EQUAL(TTL(500, "Cache-Control", "max-age=30"), 0);          /* status not listed */
#undef TTL
}

UNIT_SUITE(gw_cache_fresh)
{
    CU_pSuite s = CU_add_suite("gw_cache_fresh", NULL, NULL);
    CU_add_test(s, "TTL rules (s-maxage, max-age, Expires, Age, no-store...)", test_ttl_rules);
}
