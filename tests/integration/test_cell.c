/*
 * Cells (docs/scaling.md): a dtxd with --cell makes gids CELL:ULID, serves
 * them and bare ones (made before the log had a cell), refuses another
 * cell's gids with an answer that names that cell, and its admin list's
 * age filters still select by creation time.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dtx/clock.h"
#include "dtx/dtx.h"
#include "integ.h"
#include "test_admin_util.h"
#include "util.h"

/* A gid made at epoch ms in cell ("" none): the ULID time prefix, then 16
 * zeros for the random part. */
static void s_gid_at(const char *cell, int64_t ms, char *out, size_t cap)
{
    static const char a[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    char p[11];
    uint64_t v = (uint64_t)ms & 0xFFFFFFFFFFFFull;
    for (int i = 9; i >= 0; i--) {
        p[i] = a[v & 31];
        v >>= 5;
    }
    p[10] = '\0';
    snprintf(out, cap, "%s%s%s0000000000000000", cell, cell[0] ? ":" : "", p);
}

/* 1 when the list answer for query holds gid. */
static int s_listed(const ta_world_t *w, const char *query, const char *gid)
{
    char path[256];
    snprintf(path, sizeof path, "/api/v1/transactions?%s", query);
    json_object *o = NULL, *items = NULL;
    int found = 0;
    if (ta_req(w, "GET", path, NULL, NULL, &o) == 200 &&
        json_object_object_get_ex(o, "items", &items))
        for (size_t i = 0; i < json_object_array_length(items); i++)
            found |= strcmp(ta_str(json_object_array_get_idx(items, i), "gid"), gid) == 0;
    json_object_put(o);
    return found;
}

static void test_a_cell_makes_its_gids_and_sends_others_away(void)
{
    ta_world_t w;
    CU_ASSERT_FATAL(ta_up(&w, "cell_eu1", (const char *const[]){ "--cell", "eu1", NULL }, NULL) == 0);
    char gid[64];
    CU_ASSERT_FATAL(ta_commit_one(&w, gid) == 0);
    CU_ASSERT_EQUAL(strncmp(gid, "eu1:", 4), 0);
    CU_ASSERT_EQUAL(strlen(gid), 30);
    CU_ASSERT_EQUAL(ta_wait_state(&w, gid, "committed", 10000), 0);

    /* Finished transactions of two days (this cell) and three days (bare,
     * from before the cell) ago. */
    int64_t now = dtx_clock_wall_ms();
    char old_cell[64], old_bare[64];
    s_gid_at("eu1", now - 2 * 86400000LL, old_cell, sizeof old_cell);
    s_gid_at("", now - 3 * 86400000LL, old_bare, sizeof old_bare);
    const char *olds[2] = { old_cell, old_bare };
    for (int i = 0; i < 2; i++)
        CU_ASSERT_FATAL(h_db_exec(w.log,
            "INSERT INTO dtx_global (gid, mode, state, branches, deadline, finished_at, owner,"
            " owner_epoch, decision) VALUES ('%s', 1, 3, 0, now(), now(), 'gone', 1, 2)",
            olds[i]) == 0);

    /* Age filters select by creation time, the cell's prefix included. */
    CU_ASSERT(s_listed(&w, "max_age=1h", gid));
    CU_ASSERT(!s_listed(&w, "max_age=1h", old_cell));
    CU_ASSERT(!s_listed(&w, "max_age=1h", old_bare));
    CU_ASSERT(s_listed(&w, "min_age=1d", old_cell));
    CU_ASSERT(s_listed(&w, "min_age=1d", old_bare));
    CU_ASSERT(!s_listed(&w, "min_age=1d", gid));
    CU_ASSERT(s_listed(&w, "min_age=1d&max_age=4d", old_cell));

    dtx_client_t *cl = dtx_client_new(w.d.endpoint, NULL);
    CU_ASSERT_FATAL(cl != NULL);
    dtx_client_set_timeout(cl, 10000);
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_status(cl, gid, &state), 0);
    CU_ASSERT_EQUAL(state, DTX_STATE_COMMITTED);
    CU_ASSERT_EQUAL(dtx_client_status(cl, old_bare, &state), 0);
    CU_ASSERT_EQUAL(state, DTX_STATE_COMMITTED);
    /* Another cell's gid: refused, naming the cell to go to. */
    char other[64];
    s_gid_at("us2", now, other, sizeof other);
    CU_ASSERT_EQUAL(dtx_client_status(cl, other, &state), DTX_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(dtx_client_last_error(cl), "belongs to cell us2"));
    CU_ASSERT_EQUAL(dtx_client_commit(cl, other, &state), DTX_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(dtx_client_last_error(cl), "cell us2"));
    dtx_client_destroy(&cl);
    ta_down(&w);
}

static void test_a_bad_cell_name_is_a_configuration_error(void)
{
    char log[H_CONNINFO_SIZE], dtxd[1024];
    CU_ASSERT_FATAL(h_db_create("cell_bad", log, sizeof log) == 0);
    CU_ASSERT_FATAL(h_bin_path("dtxd", dtxd, sizeof dtxd) == 0);
    char *argv[] = { dtxd, "--db", log, "--cell", "EU:1", NULL };
    CU_ASSERT_EQUAL(h_run("cell-bad", argv, 10000), 2);
}

INTEG_SUITE(cell)
{
    CU_pSuite s = CU_add_suite("cell", NULL, NULL);
    CU_add_test(s, "a cell makes its gids and sends others away",
                test_a_cell_makes_its_gids_and_sends_others_away);
    CU_add_test(s, "a bad cell name is a configuration error",
                test_a_bad_cell_name_is_a_configuration_error);
}
