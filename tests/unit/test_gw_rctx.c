/* A request context's memory (front/gw_rctx.h): kept by its worker for
 * the next request, zeroed again when handed out; no sockets. */
#include <string.h>

#include <CUnit/CUnit.h>

#include <stdlib.h>

#include "front/gw_framing.h"
#include "front/gw_rctx.h"
#include "unit.h"

static void test_ended_context_is_kept_and_handed_out_zeroed(void)
{
    dtx_gw_worker_t w;
    memset(&w, 0, sizeof w);
    dtx_gw_rctx_t *a = dtx_gw_rctx_alloc(&w);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    a->worker = &w;
    a->phase = 3;
    a->req.reply.nheaders = 2;
    a->req.content_length = 99;
    dtx_gw_rctx_release(a, 1);
    CU_ASSERT_EQUAL(w.nspare, 1);
    dtx_gw_rctx_t *b = dtx_gw_rctx_alloc(&w);
    CU_ASSERT_PTR_EQUAL(b, a);       /* the same memory, no malloc */
    CU_ASSERT_EQUAL(w.nspare, 0);
    CU_ASSERT_EQUAL(b->phase, 0);
    CU_ASSERT_EQUAL(b->req.reply.nheaders, 0);
    CU_ASSERT_EQUAL(b->req.content_length, 0);
    CU_ASSERT_PTR_NULL(b->worker);
    b->worker = &w;
    dtx_gw_rctx_release(b, 0);       /* off the worker's thread: freed */
    CU_ASSERT_EQUAL(w.nspare, 0);
    CU_ASSERT_PTR_NULL(w.spare);
}

static void test_worker_keeps_a_bounded_number(void)
{
    dtx_gw_worker_t w;
    memset(&w, 0, sizeof w);
    dtx_gw_rctx_t *c[100];
    for (int i = 0; i < 100; i++) {
        c[i] = dtx_gw_rctx_alloc(&w);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c[i]);
        c[i]->worker = &w;
    }
    for (int i = 0; i < 100; i++)
        dtx_gw_rctx_release(c[i], 1);
    CU_ASSERT_EQUAL(w.nspare, 64);
    dtx_gw_rctx_spares_free(&w);
    CU_ASSERT_EQUAL(w.nspare, 0);
    CU_ASSERT_PTR_NULL(w.spare);
}

/* A request's normalised path goes in its context's room when it surely
 * fits (3 bytes a byte + 2), else in memory of its own. */
static void test_path_goes_in_the_room_when_it_fits(void)
{
    char room[40], *out = NULL;     /* 3 * 11 + 2 = 35 fit */
    CU_ASSERT_PTR_NULL(dtx_gw_framing_target("/a/./b/../c", "x=1", room, sizeof room, &out));
    CU_ASSERT_PTR_EQUAL(out, room);
    CU_ASSERT_STRING_EQUAL(out, "/a/c");
    char long_path[64];
    memset(long_path, 'p', sizeof long_path - 1);
    long_path[0] = '/';
    long_path[sizeof long_path - 1] = '\0';
    CU_ASSERT_PTR_NULL(dtx_gw_framing_target(long_path, NULL, room, sizeof room, &out));
    CU_ASSERT_PTR_NOT_EQUAL_FATAL(out, room);
    CU_ASSERT_STRING_EQUAL(out, long_path);
    free(out);
    CU_ASSERT_PTR_NOT_NULL(dtx_gw_framing_target("/../x", NULL, NULL, 0, &out));
    CU_ASSERT_STRING_EQUAL(out, "");                 /* refused: empty, its own */
    free(out);
}

UNIT_SUITE(gw_rctx)
{
    CU_pSuite s = CU_add_suite("gw_rctx", NULL, NULL);
    CU_add_test(s, "ended context is kept and handed out zeroed",
                test_ended_context_is_kept_and_handed_out_zeroed);
    CU_add_test(s, "worker keeps a bounded number", test_worker_keeps_a_bounded_number);
    CU_add_test(s, "path goes in the room when it fits", test_path_goes_in_the_room_when_it_fits);
}
