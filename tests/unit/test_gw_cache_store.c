/* The response cache's store (core/gw_cache.c) without sockets: Vary
 * variants, one fill per key and its waiters, unparking, a purge during a
 * fill, LRU eviction under the byte cap. Times are passed in (s_now). */
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "core/gw_cache.h"
#include "gw_headers.h"
#include "unit.h"

static int64_t s_now = 1000000000;

static dtx_gw_cache_obj_t *s_obj(const char *vary, const char *vary_value, const char *body,
                                 int64_t fresh_s)
{
    const char *names[] = { "Content-Type" }, *values[] = { "text/plain" };
    const char *vn[] = { vary }, *vv[] = { vary_value };
    dtx_gw_cache_obj_t *o = dtx_gw_cache_obj_new(200, names, values, 1, vn, vv, vary ? 1 : 0,
                                                 body, strlen(body));
    CU_ASSERT_FATAL(o != NULL);
    o->stored_us = s_now;
    o->fresh_until_us = s_now + fresh_s * 1000000;
    o->stale_until_us = o->fresh_until_us;
    return o;
}

static void test_store_vary_variants(void)
{
    dtx_gw_cache_t *c = dtx_gw_cache_new(1 << 20, "sig");
    dtx_gw_cache_obj_t *o = NULL;
    gwt_headers_t json = { { "Accept" }, { "application/json" }, 1 };
    gwt_headers_t xml = { { "Accept" }, { "text/xml" }, 1 };
    gwt_headers_t none = { { NULL }, { NULL }, 0 };
    CU_ASSERT_EQUAL(dtx_gw_cache_lookup(c, "k", gwt_headers_get, &json, s_now, 1, &o),
                    DTX_GW_CACHE_LEAD);
    dtx_gw_cache_obj_t *j = s_obj("Accept", "application/json", "J", 60);
    dtx_gw_cache_finish(c, "k", j);
    /* Another Accept: not that variant; it fills its own. */
    CU_ASSERT_EQUAL(dtx_gw_cache_lookup(c, "k", gwt_headers_get, &xml, s_now, 1, &o),
                    DTX_GW_CACHE_LEAD);
    dtx_gw_cache_obj_t *x = s_obj("Accept", "text/xml", "X", 60);
    dtx_gw_cache_finish(c, "k", x);
    CU_ASSERT_EQUAL(dtx_gw_cache_lookup(c, "k", gwt_headers_get, &json, s_now, 1, &o), DTX_GW_CACHE_HIT);
    CU_ASSERT_STRING_EQUAL(o->body, "J");
    dtx_gw_cache_obj_unref(&o);
    CU_ASSERT_EQUAL(dtx_gw_cache_lookup(c, "k", gwt_headers_get, &xml, s_now, 1, &o), DTX_GW_CACHE_HIT);
    CU_ASSERT_STRING_EQUAL(o->body, "X");
    dtx_gw_cache_obj_unref(&o);
    /* No Accept at all matches neither stored value. */
    CU_ASSERT_EQUAL(dtx_gw_cache_lookup(c, "k", gwt_headers_get, &none, s_now, 0, &o),
                    DTX_GW_CACHE_MISS);
    CU_ASSERT_PTR_NULL(o);
    dtx_gw_cache_stats_t st;
    dtx_gw_cache_get_stats(c, &st);
    CU_ASSERT_EQUAL(st.objects, 2);
    dtx_gw_cache_obj_unref(&j);
    dtx_gw_cache_obj_unref(&x);
    dtx_gw_cache_unref(&c);
}

static int s_woken_outcome;
static void s_woken(void *arg, int outcome)
{
    (void)arg;
    s_woken_outcome = outcome;
}

static void test_store_one_fill_per_key_and_waiters(void)
{
    dtx_gw_cache_t *c = dtx_gw_cache_new(1 << 20, "sig");
    dtx_gw_cache_obj_t *o;
    CU_ASSERT_EQUAL(dtx_gw_cache_lookup(c, "k", NULL, NULL, s_now, 1, &o), DTX_GW_CACHE_LEAD);
    CU_ASSERT_EQUAL(dtx_gw_cache_lookup(c, "k", NULL, NULL, s_now, 1, &o), DTX_GW_CACHE_WAIT);
    dtx_gw_cache_waiter_t w = { s_woken, NULL, NULL };
    CU_ASSERT_EQUAL(dtx_gw_cache_park(c, "k", &w), 1);
    CU_ASSERT_EQUAL(dtx_gw_cache_park(c, "other", &w), 0);   /* no fill there */
    s_woken_outcome = 0;
    dtx_gw_cache_finish(c, "k", NULL);                      /* nothing stored */
    CU_ASSERT_EQUAL(s_woken_outcome, DTX_GW_CACHE_PASS);
    CU_ASSERT_EQUAL(dtx_gw_cache_lookup(c, "k", NULL, NULL, s_now, 1, &o), DTX_GW_CACHE_LEAD);
    CU_ASSERT_EQUAL(dtx_gw_cache_park(c, "k", &w), 1);
    dtx_gw_cache_obj_t *v = s_obj(NULL, NULL, "V", 10);
    dtx_gw_cache_finish(c, "k", v);
    CU_ASSERT_EQUAL(s_woken_outcome, DTX_GW_CACHE_FILLED);
    CU_ASSERT_EQUAL(dtx_gw_cache_lookup(c, "k", NULL, NULL, s_now, 1, &o), DTX_GW_CACHE_HIT);
    dtx_gw_cache_obj_unref(&o);
    dtx_gw_cache_obj_unref(&v);
    dtx_gw_cache_unref(&c);
}

static int s_woken_count;
static void s_count_woken(void *arg, int outcome)
{
    (void)arg;
    (void)outcome;
    s_woken_count++;
}

/* A waiter taken off its fill (its lock timeout passed) is not called
 * when the fill ends; the others are; once the fill has ended, unpark
 * finds nothing to take (the wake-up is the fill's). */
static void test_store_unpark_takes_a_waiter_off_its_fill(void)
{
    dtx_gw_cache_t *c = dtx_gw_cache_new(1 << 20, "sig");
    dtx_gw_cache_obj_t *o;
    CU_ASSERT_EQUAL(dtx_gw_cache_lookup(c, "k", NULL, NULL, s_now, 1, &o), DTX_GW_CACHE_LEAD);
    dtx_gw_cache_waiter_t w1 = { s_count_woken, NULL, NULL }, w2 = w1, w3 = w1;
    CU_ASSERT_EQUAL(dtx_gw_cache_park(c, "k", &w1), 1);
    CU_ASSERT_EQUAL(dtx_gw_cache_park(c, "k", &w2), 1);
    CU_ASSERT_EQUAL(dtx_gw_cache_park(c, "k", &w3), 1);
    CU_ASSERT_EQUAL(dtx_gw_cache_unpark(c, "k", &w2), 1);   /* the middle one */
    CU_ASSERT_EQUAL(dtx_gw_cache_unpark(c, "k", &w2), 0);   /* not twice */
    CU_ASSERT_EQUAL(dtx_gw_cache_unpark(c, "other", &w1), 0);
    s_woken_count = 0;
    dtx_gw_cache_finish(c, "k", NULL);
    CU_ASSERT_EQUAL(s_woken_count, 2);
    CU_ASSERT_EQUAL(dtx_gw_cache_unpark(c, "k", &w1), 0);   /* the fill took it */
    dtx_gw_cache_note(c, DTX_GW_CACHE_NOTE_LOCK_TIMEOUT);
    dtx_gw_cache_stats_t st;
    dtx_gw_cache_get_stats(c, &st);
    CU_ASSERT_EQUAL(st.lock_timeouts, 1);
    dtx_gw_cache_unref(&c);
}

static int s_match_all(const char *key, void *arg)
{
    (void)key;
    (void)arg;
    return 1;
}

/* A purge while a fill is under way: the answer that fill fetched may be
 * the very content the purge removes, so it is not stored. */
static void test_store_a_purge_voids_the_fill_in_progress(void)
{
    dtx_gw_cache_t *c = dtx_gw_cache_new(1 << 20, "sig");
    dtx_gw_cache_obj_t *o;
    CU_ASSERT_EQUAL(dtx_gw_cache_lookup(c, "k", NULL, NULL, s_now, 1, &o), DTX_GW_CACHE_LEAD);
    dtx_gw_cache_waiter_t w = { s_woken, NULL, NULL };
    CU_ASSERT_EQUAL(dtx_gw_cache_park(c, "k", &w), 1);
    dtx_gw_cache_purge(c, s_match_all, NULL);
    s_woken_outcome = 0;
    dtx_gw_cache_obj_t *v = s_obj(NULL, NULL, "before the purge", 10);
    dtx_gw_cache_finish(c, "k", v);
    CU_ASSERT_EQUAL(s_woken_outcome, DTX_GW_CACHE_PASS);
    CU_ASSERT_EQUAL(dtx_gw_cache_lookup(c, "k", NULL, NULL, s_now, 1, &o), DTX_GW_CACHE_LEAD);
    dtx_gw_cache_obj_unref(&o);
    /* the next fill, started after the purge, is stored */
    dtx_gw_cache_finish(c, "k", v);
    CU_ASSERT_EQUAL(dtx_gw_cache_lookup(c, "k", NULL, NULL, s_now, 1, &o), DTX_GW_CACHE_HIT);
    dtx_gw_cache_obj_unref(&o);
    dtx_gw_cache_obj_unref(&v);
    dtx_gw_cache_unref(&c);
}

static void test_store_evicts_least_recently_used_under_the_byte_cap(void)
{
    char body[1000];
    memset(body, 'b', sizeof body - 1);
    body[sizeof body - 1] = '\0';
    dtx_gw_cache_t *c = dtx_gw_cache_new(4096, "sig");
    dtx_gw_cache_obj_t *o;
    char key[16];
    for (int i = 0; i < 3; i++) {
        snprintf(key, sizeof key, "k%d", i);
        dtx_gw_cache_obj_t *v = s_obj(NULL, NULL, body, 60);
        dtx_gw_cache_finish(c, key, v);
        dtx_gw_cache_obj_unref(&v);
    }
    /* k0 used: k1 is now the least recently used. */
    CU_ASSERT_EQUAL(dtx_gw_cache_lookup(c, "k0", NULL, NULL, s_now, 0, &o), DTX_GW_CACHE_HIT);
    dtx_gw_cache_obj_unref(&o);
    for (int i = 3; i < 5; i++) {
        snprintf(key, sizeof key, "k%d", i);
        dtx_gw_cache_obj_t *v = s_obj(NULL, NULL, body, 60);
        dtx_gw_cache_finish(c, key, v);
        dtx_gw_cache_obj_unref(&v);
    }
    dtx_gw_cache_stats_t st;
    dtx_gw_cache_get_stats(c, &st);
    CU_ASSERT(st.bytes <= 4096);
    CU_ASSERT(st.evictions >= 1);
    CU_ASSERT_EQUAL(st.objects + st.evictions, 5);
    CU_ASSERT_EQUAL(dtx_gw_cache_lookup(c, "k1", NULL, NULL, s_now, 0, &o), DTX_GW_CACHE_MISS);
    CU_ASSERT_EQUAL(dtx_gw_cache_lookup(c, "k0", NULL, NULL, s_now, 0, &o), DTX_GW_CACHE_HIT);
    dtx_gw_cache_obj_unref(&o);
    CU_ASSERT_EQUAL(dtx_gw_cache_lookup(c, "k4", NULL, NULL, s_now, 0, &o), DTX_GW_CACHE_HIT);
    dtx_gw_cache_obj_unref(&o);
    /* An object larger than the whole store is never stored. */
    char *big = malloc(8192);
    memset(big, 'x', 8191);
    big[8191] = '\0';
    dtx_gw_cache_obj_t *v = s_obj(NULL, NULL, big, 60);
    dtx_gw_cache_finish(c, "big", v);
    dtx_gw_cache_obj_unref(&v);
    free(big);
    CU_ASSERT_EQUAL(dtx_gw_cache_lookup(c, "big", NULL, NULL, s_now, 0, &o), DTX_GW_CACHE_MISS);
    dtx_gw_cache_unref(&c);
}

UNIT_SUITE(gw_cache_store)
{
    CU_pSuite s = CU_add_suite("gw_cache_store", NULL, NULL);
    CU_add_test(s, "store: Vary variants", test_store_vary_variants);
    CU_add_test(s, "store: one fill per key and its waiters",
                test_store_one_fill_per_key_and_waiters);
    CU_add_test(s, "store: unpark takes a waiter off its fill",
                test_store_unpark_takes_a_waiter_off_its_fill);
    CU_add_test(s, "store: a purge voids the fill in progress",
                test_store_a_purge_voids_the_fill_in_progress);
    CU_add_test(s, "store: LRU eviction under the byte cap",
                test_store_evicts_least_recently_used_under_the_byte_cap);
}
