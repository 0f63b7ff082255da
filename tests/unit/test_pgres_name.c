/*
 * test_pgres_name.c — the names dtx/pgres.h gives prepared transactions
 * (participant-sdk/src/pgres_name.h): "dtx:<gid>:<branch>", within
 * PostgreSQL's 199-byte limit, parsed back exactly, and nothing else
 * accepted. Without a database.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../participant-sdk/src/pgres_name.h"
#include "dtx/types.h"
#include "unit.h"

static void test_name_is_prefix_gid_and_branch(void)
{
    char out[DTX_PGRES_NAME_SIZE];
    int n = dtx_pgres_name_build("01HV3K9T6M2Q8W5R0C7N4B1XZA", 2, out, sizeof out);
    CU_ASSERT_EQUAL(n, (int)strlen("dtx:01HV3K9T6M2Q8W5R0C7N4B1XZA:2"));
    CU_ASSERT_STRING_EQUAL(out, "dtx:01HV3K9T6M2Q8W5R0C7N4B1XZA:2");
}

static void test_longest_name_fits_postgres_limit(void)
{
    char gid[DTX_GID_SIZE], out[DTX_PGRES_NAME_SIZE];
    memset(gid, 'g', DTX_NAME_MAX);
    gid[DTX_NAME_MAX] = '\0';
    int n = dtx_pgres_name_build(gid, INT32_MAX, out, sizeof out);
    CU_ASSERT_EQUAL(n, 4 + DTX_NAME_MAX + 1 + 10);
    CU_ASSERT(n <= DTX_PGRES_PG_GID_MAX);
    CU_ASSERT_EQUAL((size_t)n + 1, DTX_PGRES_NAME_SIZE);
    CU_ASSERT(DTX_PGRES_NAME_SIZE - 1 <= 199);
}

static void test_build_rejects_bad_gid_and_branch(void)
{
    char out[DTX_PGRES_NAME_SIZE], gid[DTX_NAME_MAX + 2];
    CU_ASSERT_EQUAL(dtx_pgres_name_build(NULL, 1, out, sizeof out), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_pgres_name_build("", 1, out, sizeof out), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_pgres_name_build("has'quote", 1, out, sizeof out), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_pgres_name_build("has space", 1, out, sizeof out), DTX_EINVAL);
    memset(gid, 'g', DTX_NAME_MAX + 1);
    gid[DTX_NAME_MAX + 1] = '\0';
    CU_ASSERT_EQUAL(dtx_pgres_name_build(gid, 1, out, sizeof out), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_pgres_name_build("g", 0, out, sizeof out), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_pgres_name_build("g", (uint32_t)INT32_MAX + 1, out, sizeof out),
                    DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_pgres_name_build("g", UINT32_MAX, out, sizeof out), DTX_EINVAL);
}

static void test_build_reports_a_short_buffer(void)
{
    char out[8];
    CU_ASSERT_EQUAL(dtx_pgres_name_build("gid-1", 1, out, sizeof out), DTX_ETOOBIG);
    char exact[sizeof "dtx:gid-1:1"];
    CU_ASSERT_EQUAL(dtx_pgres_name_build("gid-1", 1, exact, sizeof exact), 11);
    CU_ASSERT_EQUAL(dtx_pgres_name_build("gid-1", 1, exact, sizeof exact - 1), DTX_ETOOBIG);
}

static void test_parse_round_trips_every_build(void)
{
    static const char *const gids[] = { "g", "01HV3K9T6M2Q8W5R0C7N4B1XZA", "a:b:c", "x.y_z-1" };
    static const uint32_t branches[] = { 1, 9, 10, 4294967, INT32_MAX };
    for (size_t i = 0; i < sizeof gids / sizeof gids[0]; i++)
        for (size_t j = 0; j < sizeof branches / sizeof branches[0]; j++) {
            char name[DTX_PGRES_NAME_SIZE], gid[DTX_GID_SIZE];
            uint32_t branch = 0;
            CU_ASSERT_FATAL(dtx_pgres_name_build(gids[i], branches[j], name, sizeof name) > 0);
            CU_ASSERT_EQUAL(dtx_pgres_name_parse(name, gid, &branch), 0);
            CU_ASSERT_STRING_EQUAL(gid, gids[i]);
            CU_ASSERT_EQUAL(branch, branches[j]);
        }
}

static void test_parse_splits_at_the_last_colon(void)
{
    char gid[DTX_GID_SIZE];
    uint32_t branch = 0;
    CU_ASSERT_EQUAL(dtx_pgres_name_parse("dtx:a:b:7", gid, &branch), 0);
    CU_ASSERT_STRING_EQUAL(gid, "a:b");
    CU_ASSERT_EQUAL(branch, 7);
}

static void test_parse_rejects_what_build_never_makes(void)
{
    static const char *const bad[] = {
        "", "dtx:", "dtx:g", "dtx::1", "dtx:g:", "dtx:g:0", "dtx:g:01", "dtx:g:-1",
        "dtx:g:+1", "dtx:g:1x", "dtx:g:2147483648", "dtx:g:99999999999", "DTX:g:1",
        "xtx:g:1", "other", "dtx:bad gid:1", "dtx:bad'gid:1", "dtx:g:1 ",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char gid[DTX_GID_SIZE] = "untouched";
        uint32_t branch = 42;
        CU_ASSERT_EQUAL(dtx_pgres_name_parse(bad[i], gid, &branch), DTX_EINVAL);
        CU_ASSERT_STRING_EQUAL(gid, "untouched");
        CU_ASSERT_EQUAL(branch, 42);
    }
    char gid[DTX_GID_SIZE];
    uint32_t branch;
    CU_ASSERT_EQUAL(dtx_pgres_name_parse(NULL, gid, &branch), DTX_EINVAL);
}

static void test_parse_rejects_a_gid_over_the_name_limit(void)
{
    char name[128], gid[DTX_GID_SIZE];
    uint32_t branch;
    char long_gid[DTX_NAME_MAX + 2];
    memset(long_gid, 'g', DTX_NAME_MAX + 1);
    long_gid[DTX_NAME_MAX + 1] = '\0';
    snprintf(name, sizeof name, "dtx:%s:1", long_gid);
    CU_ASSERT_EQUAL(dtx_pgres_name_parse(name, gid, &branch), DTX_EINVAL);
    long_gid[DTX_NAME_MAX] = '\0';
    snprintf(name, sizeof name, "dtx:%s:1", long_gid);
    CU_ASSERT_EQUAL(dtx_pgres_name_parse(name, gid, &branch), 0);
}

static void test_parse_rejects_names_over_postgres_limit(void)
{
    /* 200 bytes: one over what PostgreSQL can hold; never read past it. */
    char name[DTX_PGRES_PG_GID_MAX + 2], gid[DTX_GID_SIZE];
    uint32_t branch;
    memset(name, 'g', sizeof name - 1);
    memcpy(name, "dtx:", 4);
    name[sizeof name - 1] = '\0';
    CU_ASSERT_EQUAL(strlen(name), 200);
    CU_ASSERT_EQUAL(dtx_pgres_name_parse(name, gid, &branch), DTX_EINVAL);
}

UNIT_SUITE(pgres_name)
{
    CU_pSuite s = CU_add_suite("pgres_name", NULL, NULL);
    CU_add_test(s, "name is prefix, gid and branch", test_name_is_prefix_gid_and_branch);
    CU_add_test(s, "longest name fits postgres limit", test_longest_name_fits_postgres_limit);
    CU_add_test(s, "build rejects bad gid and branch", test_build_rejects_bad_gid_and_branch);
    CU_add_test(s, "build reports a short buffer", test_build_reports_a_short_buffer);
    CU_add_test(s, "parse round trips every build", test_parse_round_trips_every_build);
    CU_add_test(s, "parse splits at the last colon", test_parse_splits_at_the_last_colon);
    CU_add_test(s, "parse rejects what build never makes",
                test_parse_rejects_what_build_never_makes);
    CU_add_test(s, "parse rejects a gid over the name limit",
                test_parse_rejects_a_gid_over_the_name_limit);
    CU_add_test(s, "parse rejects names over postgres limit",
                test_parse_rejects_names_over_postgres_limit);
}
