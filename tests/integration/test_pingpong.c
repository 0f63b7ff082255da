/*
 * The ping-pong the model found (verify/README.md, "Finding (fixed)"):
 * the initiator sends one COMMIT to two coordinators; each time one of
 * them claims the transaction, the other's claim lands between that claim
 * and its DECIDE, so every DECIDE is fenced off (0 rows). Before the fix,
 * dtx_initiator_forget re-created the decision waiter as a fresh request
 * (reloaded = 0), so s_rerun's once-only reload never limited it: claim,
 * fenced, claim again, for as long as the other kept winning.
 *
 * Here the other coordinator is played by the log itself, so the
 * interleaving is exact and not left to timing: a BEFORE UPDATE trigger
 * on dtx_global, on a decision write by dtxd, first claims the row for
 * node "peer-c2" (owner, owner_epoch, owner_gen + 1, as DTX_SQL_CLAIM
 * writes it) and then skips the DECIDE (RETURN NULL): the statement
 * matches 0 rows, exactly as when the other's claim committed just before
 * it. peer-c2 holds a live lease in dtx_node, as a running coordinator
 * does. The trigger steals at most S_STEALS times (then lets the DECIDE
 * land), so the code before the fix ends too, with a COMMIT that claimed
 * S_STEALS times; the fixed code claims once and answers DTX_EUNKNOWN.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dtx/dtx.h"
#include "integ.h"

#define S_STEALS 6
#define S_STR_(x) #x
#define S_STR(x) S_STR_(x)

/* The other coordinator, in the log: steals every decision write of any
 * other node while pingpong_steals.left lasts. */
static const char s_trigger[] =
    "CREATE TABLE pingpong_steals (left_n int NOT NULL, done int NOT NULL DEFAULT 0);"
    "INSERT INTO pingpong_steals (left_n) VALUES (" S_STR(S_STEALS) ");"
    "INSERT INTO dtx_node (node_id, epoch, lease_until)"
    "  VALUES ('peer-c2', 1, now() + interval '1 hour');"
    "CREATE FUNCTION pingpong_steal() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    "  IF NEW.decision IS DISTINCT FROM OLD.decision"
    "     AND OLD.owner IS DISTINCT FROM 'peer-c2'"
    "     AND (SELECT left_n FROM pingpong_steals) > 0 THEN"
    "    UPDATE pingpong_steals SET left_n = left_n - 1, done = done + 1;"
    "    UPDATE dtx_global SET owner = 'peer-c2', owner_epoch = 1,"
    "           owner_gen = owner_gen + 1, updated_at = now() WHERE gid = OLD.gid;"
    "    RETURN NULL;"
    "  END IF;"
    "  RETURN NEW;"
    " END $$;"
    "CREATE TRIGGER pingpong_steal BEFORE UPDATE ON dtx_global"
    "  FOR EACH ROW EXECUTE FUNCTION pingpong_steal();";

static void test_a_commit_fenced_off_twice_is_answered_unknown_not_run_again(void)
{
    char log[H_CONNINFO_SIZE];
    CU_ASSERT_FATAL(h_db_create("pingpong_log", log, sizeof log) == 0);
    h_dtxd_t d;
    memset(&d, 0, sizeof d);
    snprintf(d.logname, sizeof d.logname, "pingpong-dtxd");
    CU_ASSERT_FATAL(h_dtxd_start(&d, log, NULL) == 0);
    PGconn *db = h_db_connect("pingpong_log");
    CU_ASSERT_FATAL(db != NULL);
    int err = 0;
    dtx_client_t *c = dtx_client_new(d.endpoint, &err);
    CU_ASSERT_FATAL(c != NULL);
    dtx_client_set_timeout(c, 10000);

    char gid[DTX_GID_SIZE];
    CU_ASSERT_FATAL(dtx_client_begin(c, DTX_MODE_TCC, 60000, gid) == 0);
    CU_ASSERT_FATAL(h_db_exec(db, "%s", s_trigger) == 0);

    /* dtxd holds the transaction and decides; the trigger claims it for
     * peer-c2 first (steal 1): fenced off, forget, run again once: claim
     * (steal back) and DECIDE; fenced off again (steal 2): the waiter is
     * itself a rerun, so it is answered, not run a third time. */
    int state = -1;
    int rc = dtx_client_commit(c, gid, &state);
    CU_ASSERT_EQUAL(rc, DTX_EUNKNOWN);
    int64_t steals = h_db_scalar(db, "SELECT done FROM pingpong_steals");
    CU_ASSERT_EQUAL(steals, 2);
    /* dtxd took it back once (gen 1), peer-c2 twice (gens 1 and 3). */
    CU_ASSERT_EQUAL(h_db_scalar(db, "SELECT owner_gen FROM dtx_global WHERE gid = '%s'", gid), 3);
    if (rc != DTX_EUNKNOWN || steals != 2)
        fprintf(stderr, "pingpong: COMMIT answered %d (state %d) after %lld fenced DECIDEs\n", rc,
                state, (long long)steals);
    /* Nothing was decided behind the initiator's back: it is still active,
     * held by peer-c2 (live), and dtxd claims nothing more. */
    CU_ASSERT_EQUAL(h_db_scalar(db, "SELECT state FROM dtx_global WHERE gid = '%s'", gid),
                    DTX_STATE_ACTIVE);
    h_sleep_ms(300);
    CU_ASSERT_EQUAL(h_db_scalar(db, "SELECT owner_gen FROM dtx_global WHERE gid = '%s'", gid), 3);

    dtx_client_destroy(&c);
    PQfinish(db);
    CU_ASSERT_EQUAL(h_dtxd_stop(&d), 0);
}

INTEG_SUITE(pingpong) {
    CU_pSuite s = CU_add_suite("pingpong", NULL, NULL);
    CU_add_test(s, "a COMMIT fenced off twice is answered unknown, not run again",
                test_a_commit_fenced_off_twice_is_answered_unknown_not_run_again);
}
