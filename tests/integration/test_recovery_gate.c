/*
 * When dtxd's recovery rounds walk the log (suite "recovery_gate";
 * coordinator/engine/recovery.c, docs/operations.md "How recovery
 * works"): a quiet round only reads dtx_node, and so does one after a
 * request that left nothing of this node's out of memory (an unknown
 * gid, a BEGIN rolled back before any branch); a node whose lease lapses
 * starts a claim at once; a row no rule foresees (written by hand for this
 * node) is still found by the round that walks everything, every 30th.
 * The counts come from /metrics (dtx_recovery_statements_total{kind}).
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dtx/id.h"
#include "dtx/types.h"
#include "integ.h"
#include "test_admin_util.h"
#include "util.h"

#define S_OWN    "dtx_recovery_statements_total{kind=\"own\"}"
#define S_CLAIM  "dtx_recovery_statements_total{kind=\"orphans\"}"
#define S_NODES  "dtx_recovery_statements_total{kind=\"nodes\"}"

static void test_quiet_rounds_read_only_the_nodes(void)
{
    ta_world_t w;
    CU_ASSERT_FATAL(ta_up(&w, "rg_quiet", (const char *const[]){ "--recovery-interval-ms", "100",
                                                                  NULL }, NULL) == 0);
    char gid[DTX_GID_SIZE];
    CU_ASSERT_EQUAL(ta_commit_one(&w, gid), 0);
    CU_ASSERT_EQUAL(ta_wait_state(&w, gid, "committed", 10000), 0);
    /* The first round walks both (the claim follows the nodes' read). */
    for (int i = 0; i < 100 && ta_metric(&w, S_CLAIM) < 1; i++)
        h_sleep_ms(50);
    double own0 = ta_metric(&w, S_OWN), claim0 = ta_metric(&w, S_CLAIM);
    double nodes0 = ta_metric(&w, S_NODES);
    CU_ASSERT(own0 >= 1 && claim0 >= 1 && nodes0 >= 1);
    /* What leaves memory without a row of this node's out of it opens
     * nothing: a COMMIT of a gid the log does not hold (read, not found,
     * dropped), a BEGIN never followed by a branch (rolled back: nothing
     * was written). */
    for (int i = 0; i < 5; i++) {
        char unknown[DTX_GID_SIZE], path[160];
        dtx_id_new(unknown);
        snprintf(path, sizeof path, "/api/v1/tx/%s/commit", unknown);
        CU_ASSERT_EQUAL(ta_req(&w, "POST", path, NULL, TA_TOKEN, NULL), 404);
        json_object *o = NULL;
        CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/tx", "{}", TA_TOKEN, &o), 201);
        snprintf(path, sizeof path, "/api/v1/tx/%s/rollback", ta_str(o, "gid"));
        json_object_put(o);
        CU_ASSERT_EQUAL(ta_req(&w, "POST", path, NULL, TA_TOKEN, NULL), 200);
    }
    /* At least 2 s and 8 rounds (a loaded machine ran 7 in 2 s: two
     * make tests at once), at most 15 s. */
    for (int waited = 0; waited < 15000; waited += 100) {
        if (waited >= 2000 && ta_metric(&w, S_NODES) - nodes0 >= 8)
            break;
        h_sleep_ms(100);
    }
    double own = ta_metric(&w, S_OWN) - own0, claim = ta_metric(&w, S_CLAIM) - claim0;
    double nodes = ta_metric(&w, S_NODES) - nodes0;
    /* About 20 rounds; at most one of them (the 30th) walks the rows. */
    CU_ASSERT(nodes >= 8);
    CU_ASSERT(own <= 1);
    CU_ASSERT(claim <= 1);
    if (nodes < 8 || own > 1 || claim > 1)
        fprintf(stderr, "rounds: nodes +%.0f own +%.0f orphans +%.0f\n", nodes, own, claim);
    ta_down(&w);
}

static int64_t s_owner_is(PGconn *log, const char *gid, const char *owner)
{
    return h_db_scalar(log, "SELECT count(*) FROM dtx_global WHERE gid = '%s' AND owner = '%s'",
                       gid, owner);
}

static void test_a_lapsed_lease_starts_a_claim_at_once(void)
{
    ta_world_t w;
    /* Every 30th round (6 s) walks everything anyway: the claim must come
     * well before from the nodes' change. */
    CU_ASSERT_FATAL(ta_up(&w, "rg_lapse", (const char *const[]){ "--recovery-interval-ms", "200",
                                                                  NULL }, NULL) == 0);
    h_sleep_ms(500); /* past the first round, which claims whatever is there */
    char gid[DTX_GID_SIZE];
    dtx_id_new(gid);
    CU_ASSERT_FATAL(h_db_exec(w.log, "INSERT INTO dtx_node (node_id, epoch, lease_until)"
                                     " VALUES ('rg-ghost', 1, now() + interval '1 hour')") == 0);
    /* A decided transaction of the ghost with no branch: whoever claims
     * it finishes it at once. */
    CU_ASSERT_FATAL(h_db_exec(w.log, "INSERT INTO dtx_global (gid, mode, state, deadline, owner,"
                                     " owner_epoch, decision, next_attempt_at)"
                                     " VALUES ('%s', 1, %d, now() + interval '1 hour', 'rg-ghost',"
                                     " 1, %d, now())", gid, DTX_STATE_COMMITTING,
                                     DTX_STATE_COMMITTING) == 0);
    h_sleep_ms(1000);
    CU_ASSERT_EQUAL(s_owner_is(w.log, gid, "rg-ghost"), 1); /* its owner lives */
    int64_t t0 = h_now_ms();
    CU_ASSERT_FATAL(h_db_exec(w.log, "UPDATE dtx_node SET lease_until = now() - interval '1 s'"
                                     " WHERE node_id = 'rg-ghost'") == 0);
    CU_ASSERT_EQUAL(u_wait_state(w.log, gid, DTX_STATE_COMMITTED, 10000), 0);
    int64_t took = h_now_ms() - t0;
    CU_ASSERT_EQUAL(s_owner_is(w.log, gid, "rg-ghost"), 0);
    /* A few rounds, not the 6 s of the round that walks everything. */
    CU_ASSERT(took < 3000);
    if (took >= 3000)
        fprintf(stderr, "claimed after %lld ms\n", (long long)took);
    ta_down(&w);
}

static void test_a_row_no_rule_foresees_is_found_by_the_full_round(void)
{
    ta_world_t w;
    CU_ASSERT_FATAL(ta_up(&w, "rg_hand", (const char *const[]){ "--recovery-interval-ms", "100",
                                                                 NULL }, NULL) == 0);
    /* Past the first round (it walks everything: start). */
    for (int i = 0; i < 100 && ta_metric(&w, S_NODES) < 3; i++)
        h_sleep_ms(50);
    double own0 = ta_metric(&w, S_OWN);
    /* This node's own decided transaction, out of its memory, and not
     * because anything left it: written by hand. Only a round that walks
     * this node's rows finds it; no drop, no node change asks for one. */
    char node[128] = "", gid[DTX_GID_SIZE];
    CU_ASSERT_FATAL(h_db_scalar_text(w.log, node, sizeof node,
                                     "SELECT node_id FROM dtx_node LIMIT 1") == 0);
    int64_t epoch = h_db_scalar(w.log, "SELECT epoch FROM dtx_node WHERE node_id = '%s'", node);
    dtx_id_new(gid);
    CU_ASSERT_FATAL(h_db_exec(w.log, "INSERT INTO dtx_global (gid, mode, state, deadline, owner,"
                                     " owner_epoch, decision, next_attempt_at)"
                                     " VALUES ('%s', 1, %d, now() + interval '1 hour', '%s', %lld,"
                                     " %d, now() - interval '1 hour')", gid, DTX_STATE_COMMITTING,
                                     node, (long long)epoch, DTX_STATE_COMMITTING) == 0);
    /* Every 30th round: within 3 s (and its scan's time) of the last. */
    CU_ASSERT_EQUAL(u_wait_state(w.log, gid, DTX_STATE_COMMITTED, 10000), 0);
    CU_ASSERT(ta_metric(&w, S_OWN) > own0); /* a walk found it, not a load on demand */
    ta_down(&w);
}

INTEG_SUITE(recovery_gate)
{
    CU_pSuite s = CU_add_suite("recovery_gate", NULL, NULL);
    CU_add_test(s, "quiet rounds read only the nodes", test_quiet_rounds_read_only_the_nodes);
    CU_add_test(s, "a lapsed lease starts a claim at once",
                test_a_lapsed_lease_starts_a_claim_at_once);
    CU_add_test(s, "a row no rule foresees is found by the full round",
                test_a_row_no_rule_foresees_is_found_by_the_full_round);
}
