/* Cells in gids (coordinator/core/cell.c) and the admin list's time bounds
 * for a node of a cell (coordinator/admin/admin_query.c). */
#include <string.h>

#include <CUnit/CUnit.h>

#include "admin/admin_query.h"
#include "core/cell.h"
#include "unit.h"

static void test_cell_names_are_a_letter_then_letters_digits_dashes(void)
{
    CU_ASSERT(dtx_cell_valid("eu1"));
    CU_ASSERT(dtx_cell_valid("a"));
    CU_ASSERT(dtx_cell_valid("us-east-2"));
    CU_ASSERT(dtx_cell_valid("abcdefghijklmnop"));   /* 16 */
    CU_ASSERT(!dtx_cell_valid("abcdefghijklmnopq")); /* 17 */
    CU_ASSERT(!dtx_cell_valid(""));
    CU_ASSERT(!dtx_cell_valid(NULL));
    CU_ASSERT(!dtx_cell_valid("1eu"));   /* would sort among bare ULIDs */
    CU_ASSERT(!dtx_cell_valid("EU1"));
    CU_ASSERT(!dtx_cell_valid("eu:1"));
    CU_ASSERT(!dtx_cell_valid("eu.1"));
}

static void test_cell_of_a_gid_and_who_serves_it(void)
{
    char c[DTX_CELL_MAX + 1];
    CU_ASSERT_EQUAL(dtx_cell_of("eu1:01JEX5W4V9K7J1Q9ZC2K3M8N0P", c, sizeof c), 3);
    CU_ASSERT_STRING_EQUAL(c, "eu1");
    CU_ASSERT_EQUAL(dtx_cell_of("01JEX5W4V9K7J1Q9ZC2K3M8N0P", c, sizeof c), 0);
    CU_ASSERT_STRING_EQUAL(c, "");
    /* Not a cell: empty, too long, or not a cell name before the colon. */
    CU_ASSERT_EQUAL(dtx_cell_of(":01JEX", c, sizeof c), 0);
    CU_ASSERT_EQUAL(dtx_cell_of("abcdefghijklmnopq:01JEX", c, sizeof c), 0);
    CU_ASSERT_EQUAL(dtx_cell_of("EU1:01JEX", c, sizeof c), 0);
    CU_ASSERT_EQUAL(dtx_cell_of("eu1:", c, sizeof c), 3);
    /* A node with a cell serves its own and bare gids; without one, all. */
    CU_ASSERT(dtx_cell_serves("eu1", "eu1:01JEX5W4V9K7J1Q9ZC2K3M8N0P"));
    CU_ASSERT(dtx_cell_serves("eu1", "01JEX5W4V9K7J1Q9ZC2K3M8N0P"));
    CU_ASSERT(!dtx_cell_serves("eu1", "us2:01JEX5W4V9K7J1Q9ZC2K3M8N0P"));
    CU_ASSERT(!dtx_cell_serves("eu1", "eu10:01JEX5W4V9K7J1Q9ZC2K3M8N0P"));
    CU_ASSERT(dtx_cell_serves("", "us2:01JEX5W4V9K7J1Q9ZC2K3M8N0P"));
    CU_ASSERT(dtx_cell_serves(NULL, "us2:01JEX5W4V9K7J1Q9ZC2K3M8N0P"));
}

static const char *const *s_args;

static const char *s_get(void *ctx, const char *name)
{
    (void)ctx;
    for (int i = 0; s_args[i]; i += 2)
        if (strcmp(s_args[i], name) == 0)
            return s_args[i + 1];
    return NULL;
}

static void test_age_bounds_carry_the_cell(void)
{
    char b[DTX_BOUND_SIZE], err[200];
    dtx_gid_time_bound("eu1", 1469918176385LL, b); /* the ULID spec's example time */
    CU_ASSERT_STRING_EQUAL(b, "eu1:01ARYZ6S41");
    dtx_gid_time_bound("", 1469918176385LL, b);
    CU_ASSERT_STRING_EQUAL(b, "01ARYZ6S41");
    dtx_listq_t q;
    static const char *const ages[] = { "min_age", "1h", "max_age", "2d", NULL };
    s_args = ages;
    int64_t now = 1700000000000LL;
    CU_ASSERT_EQUAL_FATAL(dtx_listq_parse_cell(&q, s_get, NULL, now, "eu1", err, sizeof err), 0);
    char hi[DTX_BOUND_SIZE], lo[DTX_BOUND_SIZE];
    dtx_gid_time_bound("eu1", now - 3600000, hi);
    dtx_gid_time_bound("eu1", now - 2 * 86400000LL, lo);
    CU_ASSERT_STRING_EQUAL(q.hi_ex, hi);
    CU_ASSERT_STRING_EQUAL(q.lo_in, lo);
    /* A gid of this cell made an hour and a half ago is inside. */
    char gid[DTX_BOUND_SIZE];
    dtx_gid_time_bound("eu1", now - 5400000, gid);
    strcat(gid, "0000000000000000");
    CU_ASSERT(strcmp(gid, q.lo_in) >= 0 && strcmp(gid, q.hi_ex) < 0);
    /* Without a cell, as before. */
    CU_ASSERT_EQUAL_FATAL(dtx_listq_parse(&q, s_get, NULL, now, err, sizeof err), 0);
    CU_ASSERT_EQUAL(strlen(q.hi_ex), 10);
}

UNIT_SUITE(cell)
{
    CU_pSuite s = CU_add_suite("cell", NULL, NULL);
    CU_add_test(s, "cell names are a letter then letters digits dashes",
                test_cell_names_are_a_letter_then_letters_digits_dashes);
    CU_add_test(s, "cell of a gid and who serves it", test_cell_of_a_gid_and_who_serves_it);
    CU_add_test(s, "age bounds carry the cell", test_age_bounds_carry_the_cell);
}
