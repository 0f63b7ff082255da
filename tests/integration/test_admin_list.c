/*
 * The admin HTTP API's lists over real HTTP against a real dtxd and
 * PostgreSQL (suite "admin_list"; the world is test_admin_util.h's): the
 * participants as they come and go, and paging through transactions
 * while new ones are inserted — no duplicate, no gap.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dtx/id.h"
#include "integ.h"
#include "test_admin_util.h"
#include "util.h"

static void test_participants_are_listed_live(void)
{
    ta_world_t w;
    CU_ASSERT_FATAL(ta_up(&w, "adm_parts", (const char *const[]){ "--heartbeat-ms", "100", NULL }, NULL) == 0);
    json_object *o = NULL;
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/api/v1/participants", NULL, NULL, &o), 200);
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"resource\":\"ra\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"instance\":\"adm_parts-part\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"in_flight\":0"));
    json_object_put(o);
    h_stop(w.part, SIGKILL, 5000);
    w.part = 0;
    int gone = 0;
    for (int i = 0; i < 100 && !gone; i++) {
        h_sleep_ms(50);
        ta_req(&w, "GET", "/api/v1/participants", NULL, NULL, &o);
        gone = strstr(json_object_to_json_string(o), "adm_parts-part") == NULL;
        json_object_put(o);
    }
    CU_ASSERT(gone);
    ta_down(&w);
}

/* --- paging --- */

#define S_ROWS 230

static void s_insert(PGconn *log, char gids[][32], int *n, int count, int state)
{
    for (int i = 0; i < count; i++) {
        char gid[32];
        dtx_id_new(gid);
        h_db_exec(log, "INSERT INTO dtx_global (gid, mode, state, deadline, owner) VALUES"
                       " ('%s', 1, %d, now(), 'x')", gid, state);
        h_db_exec(log, "INSERT INTO dtx_branch (gid, branch_no, resource, action, payload, state)"
                       " VALUES ('%s', 1, '%s', 'a', '', 4)", gid, i % 3 == 0 ? "rx" : "ry");
        if (gids)
            snprintf(gids[(*n)++], 32, "%s", gid);
    }
}

static int s_cmp_desc(const void *a, const void *b)
{
    return -strcmp(a, b);
}

/* Pages through query; between pages inserts newer rows. Returns the
 * number of gids seen and copies them into seen. */
static int s_page_all(ta_world_t *w, const char *query, int limit, char seen[][32], int cap)
{
    char cursor[64] = "", path[512];
    int n = 0, pages = 0;
    do {
        snprintf(path, sizeof path, "/api/v1/transactions?%s&limit=%d%s%s", query, limit,
                 cursor[0] ? "&cursor=" : "", cursor);
        json_object *o = NULL, *items = NULL;
        if (ta_req(w, "GET", path, NULL, NULL, &o) != 200 || !json_object_object_get_ex(o, "items", &items)) {
            json_object_put(o);
            return -1;
        }
        for (size_t i = 0; i < json_object_array_length(items) && n < cap; i++)
            snprintf(seen[n++], 32, "%.31s", ta_str(json_object_array_get_idx(items, i), "gid"));
        snprintf(cursor, sizeof cursor, "%.60s", ta_str(o, "next_cursor"));
        json_object_put(o);
        s_insert(w->log, NULL, NULL, 3, 3); /* concurrent inserts: newer gids */
        pages++;
    } while (cursor[0] && pages < 100);
    return n;
}

static void test_paging_has_no_duplicates_or_gaps_under_inserts(void)
{
    ta_world_t w;
    CU_ASSERT_FATAL(ta_up(&w, "adm_paging", NULL, (const char *const[]){ "none", NULL }) == 0);
    static char all[S_ROWS][32], seen[2 * S_ROWS][32], stuck[S_ROWS][32];
    int n = 0, ns = 0;
    s_insert(w.log, all, &n, S_ROWS - 30, 3);
    s_insert(w.log, stuck, &ns, 30, 6);
    for (int i = 0; i < ns; i++)
        memcpy(all[n++], stuck[i], 32);
    qsort(all, (size_t)n, 32, s_cmp_desc);
    /* newest first: exactly the rows that existed, in gid order */
    char lo[32];
    snprintf(lo, sizeof lo, "%s", all[n - 1]);
    int got = s_page_all(&w, "state=committed,stuck", 23, seen, 2 * S_ROWS);
    /* inserts during paging are newer than the first page: never seen */
    CU_ASSERT_EQUAL(got, n);
    for (int i = 0; i < got && i < n; i++)
        CU_ASSERT_STRING_EQUAL(seen[i], all[i]);
    /* oldest first from the same start: the initial rows come first, in order */
    got = s_page_all(&w, "order=oldest", 50, seen, 2 * S_ROWS);
    CU_ASSERT(got >= n);
    for (int i = 0; i < n && i < got; i++)
        CU_ASSERT_STRING_EQUAL(seen[i], all[n - 1 - i]);
    for (int i = 1; i < got; i++)
        CU_ASSERT(strcmp(seen[i - 1], seen[i]) < 0);
    /* a filter: stuck only, in pages of 7 */
    qsort(stuck, (size_t)ns, 32, s_cmp_desc);
    got = s_page_all(&w, "state=stuck", 7, seen, 2 * S_ROWS);
    CU_ASSERT_EQUAL(got, ns);
    for (int i = 0; i < got && i < ns; i++)
        CU_ASSERT_STRING_EQUAL(seen[i], stuck[i]);
    /* resource filter and gid prefix search */
    int rx = (int)h_db_scalar(w.log, "SELECT count(DISTINCT gid) FROM dtx_branch WHERE resource = 'rx'");
    got = s_page_all(&w, "resource=rx", 40, seen, 2 * S_ROWS);
    CU_ASSERT(got >= 1 && got <= rx);
    char q[64];
    snprintf(q, sizeof q, "q=%.24s", all[5]);
    got = s_page_all(&w, q, 10, seen, 2 * S_ROWS);
    CU_ASSERT_EQUAL(got, 1);
    CU_ASSERT_STRING_EQUAL(seen[0], all[5]);
    ta_down(&w);
}

INTEG_SUITE(admin_list)
{
    CU_pSuite s = CU_add_suite("admin_list", NULL, NULL);
    CU_add_test(s, "participants are listed live", test_participants_are_listed_live);
    CU_add_test(s, "paging has no duplicates or gaps under inserts",
                test_paging_has_no_duplicates_or_gaps_under_inserts);
}
