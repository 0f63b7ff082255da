/* The log's batch planner (coordinator/log/batch.h): which operations of a
 * batch run as one set statement and which alone, and in what order — a
 * set runs at the place of its first operation, so an operation joins it
 * only when every earlier one of its key is in it; a statement planned by
 * set key takes several operations of one key, one per set key. */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "log/batch.h"
#include "unit.h"

enum { S_VOTE, S_DECIDE, S_ADD, S_PLAIN, S_NSTMT };

static const unsigned char s_mode[S_NSTMT] = {
    [S_VOTE] = DTX_BATCH_BY_SETKEY,
    [S_DECIDE] = DTX_BATCH_BY_KEY,
    [S_ADD] = DTX_BATCH_BY_KEY,
    [S_PLAIN] = DTX_BATCH_ALONE,
};

/* The plan as text: "i" an operation alone, "[i j ...]" a set (its
 * members in set-key order), in the order they run. */
static void s_show(const dtx_batch_plan_t *p, char *out, size_t len)
{
    size_t n = 0;
    out[0] = '\0';
    for (int e = 0; e < p->nexec && n < len; e++) {
        int x = p->exec[e];
        if (x >= 0) {
            n += (size_t)snprintf(out + n, len - n, "%s%d", e ? " " : "", x);
            continue;
        }
        int s = -1 - x;
        n += (size_t)snprintf(out + n, len - n, "%s[", e ? " " : "");
        for (int k = 0; k < p->set_n[s] && n < len; k++)
            n += (size_t)snprintf(out + n, len - n, "%s%d", k ? " " : "",
                                  p->members[p->set_from[s] + k]);
        n += (size_t)snprintf(out + n, len - n, "]");
    }
}

/* Plans n operations: op i is statement stmt[i] of gid key[i] on branch
 * branch[i] (its set key "gid/branch" for S_VOTE, else the gid). */
static void s_plan(dtx_batch_plan_t *p, int n, const int *stmt, const char *const *key,
                   const int *branch, char *out, size_t len)
{
    static char buf[64][32];
    const char *setkey[64];
    for (int i = 0; i < n; i++) {
        snprintf(buf[i], sizeof buf[i], "%s/%d", key[i], branch[i]);
        setkey[i] = s_mode[stmt[i]] == DTX_BATCH_BY_SETKEY ? buf[i] : key[i];
    }
    CU_ASSERT_EQUAL_FATAL(dtx_batch_plan(p, n, stmt, key, setkey, s_mode), 0);
    s_show(p, out, len);
}

/* Statements planned by key: the first operation of each key joins its
 * kind's set, a later one runs alone at its place; a set of one is an
 * operation alone; a statement without a set form always alone. */
static void test_by_key_the_first_of_a_key_joins(void)
{
    dtx_batch_plan_t p;
    memset(&p, 0, sizeof p);
    char got[256];
    const int stmt[6] = { S_DECIDE, S_DECIDE, S_DECIDE, S_PLAIN, S_PLAIN, S_ADD };
    const char *key[6] = { "b", "a", "b", "c", "d", "e" };
    const int branch[6] = { 0, 0, 0, 0, 0, 0 };
    s_plan(&p, 6, stmt, key, branch, got, sizeof got);
    CU_ASSERT_STRING_EQUAL(got, "[1 0] 2 3 4 5");
    dtx_batch_plan_free(&p);
}

/* A statement planned by set key: a transaction's operations on several
 * branches join one set, sorted by set key ("a/10" before "a/2", byte by
 * byte, as PostgreSQL's "C" collation). */
static void test_by_setkey_a_keys_branches_join_one_set(void)
{
    dtx_batch_plan_t p;
    memset(&p, 0, sizeof p);
    char got[256];
    const int stmt[4] = { S_VOTE, S_VOTE, S_VOTE, S_VOTE };
    const char *key[4] = { "b", "a", "b", "a" };
    const int branch[4] = { 1, 2, 2, 10 };
    s_plan(&p, 4, stmt, key, branch, got, sizeof got);
    CU_ASSERT_STRING_EQUAL(got, "[3 1 0 2]");
    dtx_batch_plan_free(&p);
}

/* What keeps a key's order: once an operation of a key ran alone (another
 * kind, or a set key already in the set), every later one of that key
 * runs alone too, even of the set's kind; a key whose first operation is
 * of another kind never joins the set. Other keys are not held back. */
static void test_by_setkey_order_of_a_key_is_kept(void)
{
    dtx_batch_plan_t p;
    memset(&p, 0, sizeof p);
    char got[256];
    const int stmt[9] = { S_VOTE, S_ADD, S_VOTE, S_VOTE, S_VOTE, S_VOTE, S_DECIDE, S_VOTE, S_VOTE };
    const char *key[9] = { "c", "c", "c", "d", "d", "x", "y", "y", "x" };
    const int branch[9] = { 1, 0, 3, 1, 1, 1, 0, 1, 2 };
    s_plan(&p, 9, stmt, key, branch, got, sizeof got);
    /* c/1, d/1, x/1 and x/2 in the set, at c/1's place; c's add, then
     * c/3 alone after it; d/1 again alone; y's decision, then y/1 alone */
    CU_ASSERT_STRING_EQUAL(got, "[0 3 5 8] 1 2 4 6 7");
    dtx_batch_plan_free(&p);
}

/* A set of one key's two branches only is still a set; one operation of
 * the kind is an operation alone. */
static void test_by_setkey_one_key_two_branches(void)
{
    dtx_batch_plan_t p;
    memset(&p, 0, sizeof p);
    char got[256];
    const int stmt[3] = { S_VOTE, S_VOTE, S_DECIDE };
    const char *key[3] = { "g", "g", "g" };
    const int branch[3] = { 2, 1, 0 };
    s_plan(&p, 3, stmt, key, branch, got, sizeof got);
    CU_ASSERT_STRING_EQUAL(got, "[1 0] 2");
    const int one[1] = { S_VOTE };
    s_plan(&p, 1, one, key, branch, got, sizeof got);
    CU_ASSERT_STRING_EQUAL(got, "0");
    dtx_batch_plan_free(&p);
}

/* Plans reuse their arrays: a batch bigger than the last grows them, and
 * a set of 200 keys with two branches each is one set in set-key order. */
static void test_a_big_batch_is_one_set(void)
{
    enum { N = 400 };
    dtx_batch_plan_t p;
    memset(&p, 0, sizeof p);
    static int stmt[N], branch[N];
    static char gids[N / 2][16];
    static const char *key[N], *setkey[N];
    static char sk[N][24];
    for (int i = 0; i < N; i++) {
        int g = (i * 37) % (N / 2); /* every gid twice, out of order */
        snprintf(gids[g], sizeof gids[g], "g%03d", g);
        stmt[i] = S_VOTE;
        key[i] = gids[g];
        branch[i] = i < N / 2 ? 1 : 2;
        snprintf(sk[i], sizeof sk[i], "%s/%d", key[i], branch[i]);
        setkey[i] = sk[i];
    }
    /* a small batch first: the big one grows arrays and tables in use */
    CU_ASSERT_EQUAL_FATAL(dtx_batch_plan(&p, 3, stmt, key, setkey, s_mode), 0);
    CU_ASSERT_EQUAL(p.nexec, 1);
    CU_ASSERT_EQUAL_FATAL(dtx_batch_plan(&p, N, stmt, key, setkey, s_mode), 0);
    CU_ASSERT_EQUAL(p.nexec, 1);
    CU_ASSERT_EQUAL_FATAL(p.nsets, 1);
    CU_ASSERT_EQUAL(p.set_n[0], N);
    for (int k = 1; k < N; k++)
        CU_ASSERT(strcmp(setkey[p.members[k - 1]], setkey[p.members[k]]) < 0);
    dtx_batch_plan_free(&p);
}

UNIT_SUITE(batch_plan)
{
    CU_pSuite s = CU_add_suite("batch_plan", NULL, NULL);
    CU_add_test(s, "by key: the first of a key joins", test_by_key_the_first_of_a_key_joins);
    CU_add_test(s, "by set key: a key's branches join one set",
                test_by_setkey_a_keys_branches_join_one_set);
    CU_add_test(s, "by set key: the order of a key is kept", test_by_setkey_order_of_a_key_is_kept);
    CU_add_test(s, "by set key: one key's two branches", test_by_setkey_one_key_two_branches);
    CU_add_test(s, "a big batch is one set", test_a_big_batch_is_one_set);
}
