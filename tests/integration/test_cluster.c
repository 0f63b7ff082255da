/*
 * Surviving coordinators: several dtxd on one log (leases, take-over,
 * fencing), a coordinator paused past its lease, restarts, the retry
 * budget and STUCK/RESUME, and the built-in fault points.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dtx/dtx.h"
#include "integ.h"
#include "core/txn.h"
#include "util.h"

#define S_FAST "--lease-ms", "1000", "--recovery-interval-ms", "200", "--phase-timeout-ms", "500", \
               "--retry-base-ms", "50", "--retry-max-ms", "300", "--heartbeat-ms", "200"

typedef struct s_cluster {
    char          log[H_CONNINFO_SIZE], da[H_CONNINFO_SIZE], db[H_CONNINFO_SIZE];
    h_dtxd_t      d1, d2;
    PGconn       *logc, *pa_db, *pb_db;
    pid_t         pa, pb;
} s_cluster_t;

static int s_dbs(s_cluster_t *c, const char *name)
{
    char n[64];
    memset(c, 0, sizeof *c);
    snprintf(n, sizeof n, "%s_log", name);
    if (h_db_create(n, c->log, sizeof c->log) || !(c->logc = h_db_connect(n)))
        return -1;
    snprintf(n, sizeof n, "%s_a", name);
    if (h_db_create(n, c->da, sizeof c->da) || !(c->pa_db = h_db_connect(n)))
        return -1;
    snprintf(n, sizeof n, "%s_b", name);
    if (h_db_create(n, c->db, sizeof c->db) || !(c->pb_db = h_db_connect(n)))
        return -1;
    return 0;
}

/* Starts participant "ra"/"rb" connected to every running coordinator
 * (a frozen one counts as not running: pass skip_d1). */
static pid_t s_part_on(s_cluster_t *c, const char *inst, int b, const char *const *more,
                       int skip_d1)
{
    const char *args[24] = { "--resource", b ? "rb" : "ra", "--heartbeat-ms", "200" };
    int n = 4;
    const char *first = NULL;
    if (c->d1.pid > 0 && !skip_d1)
        first = c->d1.endpoint;
    if (c->d2.pid > 0) {
        if (!first) {
            first = c->d2.endpoint;
        } else {
            args[n++] = "--coordinator";
            args[n++] = c->d2.endpoint;
        }
    }
    for (int i = 0; more && more[i] && n < 22; i++)
        args[n++] = more[i];
    return h_participant_start(inst, b ? c->db : c->da, first, args);
}

static pid_t s_part(s_cluster_t *c, const char *inst, int b, const char *const *more)
{
    return s_part_on(c, inst, b, more, 0);
}

/* Starts n1 and n2 together (args a1, a2) and waits for both. */
static int s_both_up(s_cluster_t *c, const char *const *a1, const char *const *a2)
{
    if (h_dtxd_spawn(&c->d1, c->log, a1) != 0 || h_dtxd_spawn(&c->d2, c->log, a2) != 0)
        return -1;
    int r1 = h_dtxd_ready(&c->d1), r2 = h_dtxd_ready(&c->d2);
    return r1 == 0 && r2 == 0 ? 0 : -1;
}

/* Starts participants "<name>-pa" (ra, with more_a) and "<name>-pb" (rb)
 * together on every running coordinator and waits until both are
 * registered: c->pa and c->pb. Returns 0 or -1. */
static int s_parts(s_cluster_t *c, const char *name, const char *const *more_a)
{
    const char *args[2][24];
    char inst[2][64];
    pid_t pid[2];
    for (int b = 0; b < 2; b++) {
        int n = 0;
        args[b][n++] = "--resource";
        args[b][n++] = b ? "rb" : "ra";
        args[b][n++] = "--heartbeat-ms";
        args[b][n++] = "200";
        if (c->d1.pid > 0 && c->d2.pid > 0) {
            args[b][n++] = "--coordinator";
            args[b][n++] = c->d2.endpoint;
        }
        for (int i = 0; !b && more_a && more_a[i] && n < 22; i++)
            args[b][n++] = more_a[i];
        args[b][n] = NULL;
        snprintf(inst[b], sizeof inst[b], "%s-p%c", name, b ? 'b' : 'a');
        pid[b] = h_participant_spawn(inst[b], b ? c->db : c->da,
                                     c->d1.pid > 0 ? c->d1.endpoint : c->d2.endpoint, args[b]);
    }
    int ok = 1;
    for (int b = 0; b < 2; b++)
        if (h_participant_ready(inst[b], pid[b]) != 0) {
            pid[b] = 0;
            ok = 0;
        }
    c->pa = pid[0];
    c->pb = pid[1];
    return ok ? 0 : -1;
}

static void s_down(s_cluster_t *c)
{
    if (c->pa > 0)
        h_stop(c->pa, SIGTERM, 5000);
    if (c->pb > 0)
        h_stop(c->pb, SIGTERM, 5000);
    if (c->d1.pid > 0)
        CU_ASSERT_EQUAL(h_dtxd_stop(&c->d1), 0);
    if (c->d2.pid > 0)
        CU_ASSERT_EQUAL(h_dtxd_stop(&c->d2), 0);
    PQfinish(c->logc);
    PQfinish(c->pa_db);
    PQfinish(c->pb_db);
}

static dtx_client_t *s_client(const char *ep)
{
    dtx_client_t *cl = dtx_client_new(ep, NULL);
    if (cl)
        dtx_client_set_timeout(cl, 10000);
    return cl;
}

static int s_begin_tried(dtx_client_t *cl, char *gid)
{
    if (dtx_client_begin(cl, DTX_MODE_TCC, 60000, gid) != 0 ||
        dtx_client_try(cl, gid, "ra", "reserve", "a", 1, NULL) != 0)
        return -1;
    return dtx_client_try(cl, gid, "rb", "reserve", "b", 1, NULL);
}

static void s_owner(PGconn *logc, const char *gid, char *out, size_t cap)
{
    out[0] = '\0';
    h_db_scalar_text(logc, out, cap, "SELECT owner FROM dtx_global WHERE gid = '%s'", gid);
}

static void test_two_coordinators_share_the_work_and_either_serves_a_transaction(void)
{
    s_cluster_t c;
    CU_ASSERT_FATAL(s_dbs(&c, "cl_share") == 0);
    const char *a1[] = { S_FAST, "--node-id", "n1", NULL }, *a2[] = { S_FAST, "--node-id", "n2", NULL };
    CU_ASSERT_FATAL(s_both_up(&c, a1, a2) == 0);
    CU_ASSERT_FATAL(s_parts(&c, "cl_share", NULL) == 0);
    dtx_client_t *x = s_client(c.d1.endpoint), *y = s_client(c.d2.endpoint);
    char gid[DTX_GID_SIZE], owner[64];
    /* begun and tried on n1, committed through n2 */
    CU_ASSERT_FATAL(s_begin_tried(x, gid) == 0);
    s_owner(c.logc, gid, owner, sizeof owner);
    CU_ASSERT_STRING_EQUAL(owner, "n1");
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_commit(y, gid, &state), 0);
    CU_ASSERT_EQUAL(u_wait_state(c.logc, gid, DTX_STATE_COMMITTED, 10000), 0);
    s_owner(c.logc, gid, owner, sizeof owner);
    CU_ASSERT_STRING_EQUAL(owner, "n2");
    CU_ASSERT_EQUAL(u_effects(c.pa_db, gid, "confirm"), 1);
    CU_ASSERT_EQUAL(u_effects(c.pb_db, gid, "confirm"), 1);
    /* n1 answers questions about it from the log */
    CU_ASSERT_EQUAL(dtx_client_status(x, gid, &state), 0);
    CU_ASSERT_EQUAL(state, DTX_STATE_COMMITTED);
    /* and a batch spread over both ends well */
    char gids[10][DTX_GID_SIZE];
    for (int i = 0; i < 10; i++) {
        dtx_client_t *cl = (i % 2) ? y : x;
        CU_ASSERT_FATAL(s_begin_tried(cl, gids[i]) == 0);
        CU_ASSERT_EQUAL(dtx_client_commit(cl, gids[i], NULL), 0);
    }
    for (int i = 0; i < 10; i++)
        CU_ASSERT_EQUAL(u_wait_state(c.logc, gids[i], DTX_STATE_COMMITTED, 10000), 0);
    dtx_client_destroy(&x);
    dtx_client_destroy(&y);
    s_down(&c);
}

static void test_killed_coordinator_work_is_taken_over_after_its_lease(void)
{
    s_cluster_t c;
    CU_ASSERT_FATAL(s_dbs(&c, "cl_kill") == 0);
    const char *a1[] = { S_FAST, "--node-id", "n1", NULL }, *a2[] = { S_FAST, "--node-id", "n2", NULL };
    CU_ASSERT_FATAL(s_both_up(&c, a1, a2) == 0);
    CU_ASSERT_FATAL(s_parts(&c, "cl_kill", NULL) == 0);
    dtx_client_t *x = s_client(c.d1.endpoint);
    char gid[DTX_GID_SIZE], active[DTX_GID_SIZE], owner[64];
    CU_ASSERT_FATAL(s_begin_tried(x, gid) == 0);
    CU_ASSERT_FATAL(s_begin_tried(x, active) == 0);
    /* rb away: n1 holds a committing transaction it cannot finish */
    h_stop(c.pb, SIGKILL, 5000);
    c.pb = 0;
    CU_ASSERT_EQUAL(dtx_client_commit(x, gid, NULL), 0);
    h_dtxd_kill(&c.d1);
    dtx_client_destroy(&x);
    c.pb = s_part(&c, "cl_kill-pb2", 1, NULL);
    CU_ASSERT_FATAL(c.pb > 0);
    /* n2 claims both after n1's lease (1 s): finishes the decided one */
    CU_ASSERT_EQUAL(u_wait_state(c.logc, gid, DTX_STATE_COMMITTED, 15000), 0);
    s_owner(c.logc, gid, owner, sizeof owner);
    CU_ASSERT_STRING_EQUAL(owner, "n2");
    CU_ASSERT_EQUAL(u_effects(c.pb_db, gid, "confirm"), 1);
    /* and owns the active one, which it aborts at its deadline or lets an
     * initiator finish: here the initiator commits through n2 */
    int64_t until = h_now_ms() + 10000;
    do
        s_owner(c.logc, active, owner, sizeof owner);
    while (strcmp(owner, "n2") != 0 && h_now_ms() < until && (h_sleep_ms(50), 1));
    CU_ASSERT_STRING_EQUAL(owner, "n2");
    dtx_client_t *y = s_client(c.d2.endpoint);
    CU_ASSERT_EQUAL(dtx_client_commit(y, active, NULL), 0);
    CU_ASSERT_EQUAL(u_wait_state(c.logc, active, DTX_STATE_COMMITTED, 10000), 0);
    dtx_client_destroy(&y);
    s_down(&c);
}

static void test_paused_coordinator_changes_nothing_it_no_longer_owns(void)
{
    s_cluster_t c;
    CU_ASSERT_FATAL(s_dbs(&c, "cl_pause") == 0);
    const char *a1[] = { S_FAST, "--node-id", "n1", NULL }, *a2[] = { S_FAST, "--node-id", "n2", NULL };
    CU_ASSERT_FATAL(s_both_up(&c, a1, a2) == 0);
    CU_ASSERT_FATAL(s_parts(&c, "cl_pause", NULL) == 0);
    dtx_client_t *x = s_client(c.d1.endpoint);
    char gid[DTX_GID_SIZE], owner[64];
    CU_ASSERT_FATAL(s_begin_tried(x, gid) == 0);
    h_stop(c.pb, SIGKILL, 5000);
    c.pb = 0;
    CU_ASSERT_EQUAL(dtx_client_commit(x, gid, NULL), 0);
    dtx_client_destroy(&x);
    /* n1 freezes with its copy of the transaction in memory */
    kill(c.d1.pid, SIGSTOP);
    c.pb = s_part_on(&c, "cl_pause-pb2", 1, NULL, 1);
    CU_ASSERT_EQUAL(u_wait_state(c.logc, gid, DTX_STATE_COMMITTED, 15000), 0);
    s_owner(c.logc, gid, owner, sizeof owner);
    CU_ASSERT_STRING_EQUAL(owner, "n2");
    int64_t before = h_db_scalar(c.logc,
        "SELECT (extract(epoch FROM max(updated_at)) * 1e6)::bigint FROM ("
        " SELECT updated_at FROM dtx_global WHERE gid = '%s' UNION ALL"
        " SELECT updated_at FROM dtx_branch WHERE gid = '%s') t", gid, gid);
    /* n1 wakes up: its retries and writes must change nothing */
    kill(c.d1.pid, SIGCONT);
    h_sleep_ms(2500);
    int64_t after = h_db_scalar(c.logc,
        "SELECT (extract(epoch FROM max(updated_at)) * 1e6)::bigint FROM ("
        " SELECT updated_at FROM dtx_global WHERE gid = '%s' UNION ALL"
        " SELECT updated_at FROM dtx_branch WHERE gid = '%s') t", gid, gid);
    CU_ASSERT_EQUAL(before, after);
    CU_ASSERT_EQUAL(u_log_state(c.logc, gid), DTX_STATE_COMMITTED);
    s_owner(c.logc, gid, owner, sizeof owner);
    CU_ASSERT_STRING_EQUAL(owner, "n2");
    CU_ASSERT_EQUAL(u_effects(c.pb_db, gid, "confirm"), 1);
    /* n1 is still a working coordinator */
    dtx_client_t *x2 = s_client(c.d1.endpoint);
    char g2[DTX_GID_SIZE];
    CU_ASSERT_EQUAL_FATAL(dtx_client_begin(x2, DTX_MODE_TCC, 0, g2), 0);
    CU_ASSERT_EQUAL(dtx_client_try(x2, g2, "ra", "reserve", "a", 1, NULL), 0);
    CU_ASSERT_EQUAL(dtx_client_commit(x2, g2, NULL), 0);
    CU_ASSERT_EQUAL(u_wait_state(c.logc, g2, DTX_STATE_COMMITTED, 10000), 0);
    dtx_client_destroy(&x2);
    s_down(&c);
}

/* A-B-A: n2 holds a copy of a transaction in memory, n1 takes it over and
 * adds a branch, n1 dies, n2 takes it back. n2 must not drive it from the
 * copy it held before (one branch): found by the drill, where a commit
 * then confirmed one branch of two and destroyed money. */
static void test_taken_back_transaction_is_never_driven_from_a_stale_copy(void)
{
    s_cluster_t c;
    CU_ASSERT_FATAL(s_dbs(&c, "cl_aba") == 0);
    const char *a1[] = { S_FAST, "--node-id", "n1", NULL }, *a2[] = { S_FAST, "--node-id", "n2", NULL };
    CU_ASSERT_FATAL(s_both_up(&c, a1, a2) == 0);
    CU_ASSERT_FATAL(s_parts(&c, "cl_aba", NULL) == 0);
    dtx_client_t *on1 = s_client(c.d1.endpoint), *on2 = s_client(c.d2.endpoint);
    char gid[DTX_GID_SIZE], owner[64];
    CU_ASSERT_EQUAL_FATAL(dtx_client_begin(on2, DTX_MODE_TCC, 60000, gid), 0);
    CU_ASSERT_EQUAL(dtx_client_try(on2, gid, "ra", "reserve", "a", 1, NULL), 0);
    CU_ASSERT_EQUAL(dtx_client_try(on1, gid, "rb", "reserve", "b", 1, NULL), 0); /* n1 takes it */
    s_owner(c.logc, gid, owner, sizeof owner);
    CU_ASSERT_STRING_EQUAL(owner, "n1");
    h_dtxd_kill(&c.d1);
    /* n2 claims the orphan after n1's lease (1 s) */
    int64_t until = h_now_ms() + 10000;
    do
        s_owner(c.logc, gid, owner, sizeof owner);
    while (strcmp(owner, "n2") != 0 && h_now_ms() < until && (h_sleep_ms(50), 1));
    CU_ASSERT_STRING_EQUAL(owner, "n2");
    CU_ASSERT_EQUAL(dtx_client_commit(on2, gid, NULL), 0);
    CU_ASSERT_EQUAL(u_wait_state(c.logc, gid, DTX_STATE_COMMITTED, 10000), 0);
    CU_ASSERT_EQUAL(u_branch_state(c.logc, gid, 1), DTX_BRANCH_CONFIRMED);
    CU_ASSERT_EQUAL(u_branch_state(c.logc, gid, 2), DTX_BRANCH_CONFIRMED);
    CU_ASSERT_EQUAL(u_effects(c.pa_db, gid, "confirm"), 1);
    CU_ASSERT_EQUAL(u_effects(c.pb_db, gid, "confirm"), 1);
    dtx_client_destroy(&on1);
    dtx_client_destroy(&on2);
    s_down(&c);
}

static void test_restart_with_the_same_node_id_recovers_at_once(void)
{
    s_cluster_t c;
    CU_ASSERT_FATAL(s_dbs(&c, "cl_sameid") == 0);
    /* a long lease: only the epoch bump can explain a quick recovery */
    const char *a1[] = { "--lease-ms", "60000", "--recovery-interval-ms", "200", "--node-id", "n1", NULL };
    CU_ASSERT_FATAL(h_dtxd_start(&c.d1, c.log, a1) == 0);
    CU_ASSERT_FATAL(s_parts(&c, "cl_sameid", NULL) == 0);
    dtx_client_t *x = s_client(c.d1.endpoint);
    char gid[DTX_GID_SIZE];
    CU_ASSERT_FATAL(s_begin_tried(x, gid) == 0);
    h_stop(c.pb, SIGKILL, 5000);
    c.pb = 0;
    CU_ASSERT_EQUAL(dtx_client_commit(x, gid, NULL), 0);
    dtx_client_destroy(&x);
    h_dtxd_kill(&c.d1);
    CU_ASSERT_EQUAL_FATAL(h_dtxd_restart(&c.d1), 0);
    c.pb = s_part(&c, "cl_sameid-pb2", 1, NULL);
    CU_ASSERT_EQUAL(u_wait_state(c.logc, gid, DTX_STATE_COMMITTED, 8000), 0);
    CU_ASSERT_EQUAL(h_db_scalar(c.logc, "SELECT epoch FROM dtx_node WHERE node_id = 'n1'"), 2);
    CU_ASSERT_EQUAL(h_db_scalar(c.logc, "SELECT owner_epoch FROM dtx_global WHERE gid = '%s'", gid), 2);
    s_down(&c);
}

static void test_spent_retry_budget_makes_stuck_and_resume_finishes(void)
{
    s_cluster_t c;
    CU_ASSERT_FATAL(s_dbs(&c, "cl_stuck") == 0);
    const char *a1[] = { S_FAST, "--max-attempts", "3", NULL };
    CU_ASSERT_FATAL(h_dtxd_start(&c.d1, c.log, a1) == 0);
    const char *failing[] = { "--fail-confirm-times", "1000000", NULL };
    CU_ASSERT_FATAL(s_parts(&c, "cl_stuck", failing) == 0);
    dtx_client_t *x = s_client(c.d1.endpoint);
    char gid[DTX_GID_SIZE];
    CU_ASSERT_FATAL(s_begin_tried(x, gid) == 0);
    CU_ASSERT_EQUAL(dtx_client_commit(x, gid, NULL), 0);
    CU_ASSERT_EQUAL(u_wait_state(c.logc, gid, DTX_STATE_STUCK, 10000), 0);
    CU_ASSERT_EQUAL(h_db_scalar(c.logc, "SELECT decision FROM dtx_global WHERE gid = '%s'", gid),
                    DTX_STATE_COMMITTING);
    CU_ASSERT_EQUAL(h_db_scalar(c.logc, "SELECT attempts FROM dtx_branch WHERE gid = '%s' AND branch_no = 1", gid), 3);
    /* stays stuck: nobody drives it */
    h_sleep_ms(1000);
    CU_ASSERT_EQUAL(u_log_state(c.logc, gid), DTX_STATE_STUCK);
    CU_ASSERT_EQUAL(u_deliveries(c.pa_db, gid, "confirm"), 3);
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_status(x, gid, &state), 0);
    CU_ASSERT_EQUAL(state, DTX_STATE_STUCK);
    CU_ASSERT_EQUAL(dtx_client_commit(x, gid, &state), DTX_ESTATE);
    /* the operator fixes the participant and resumes */
    h_stop(c.pa, SIGTERM, 5000);
    c.pa = s_part(&c, "cl_stuck-pa2", 0, NULL);
    CU_ASSERT_EQUAL(dtx_client_resume(x, gid, &state), 0);
    CU_ASSERT_EQUAL(state, DTX_STATE_COMMITTING);
    CU_ASSERT_EQUAL(u_wait_state(c.logc, gid, DTX_STATE_COMMITTED, 10000), 0);
    CU_ASSERT_EQUAL(u_effects(c.pa_db, gid, "confirm"), 1);
    CU_ASSERT_EQUAL(dtx_client_resume(x, gid, &state), 0);
    CU_ASSERT_EQUAL(state, DTX_STATE_COMMITTED);
    char g2[DTX_GID_SIZE];
    CU_ASSERT_EQUAL_FATAL(dtx_client_begin(x, DTX_MODE_TCC, 0, g2), 0);
    CU_ASSERT_EQUAL(dtx_client_resume(x, g2, &state), DTX_ESTATE);
    dtx_client_destroy(&x);
    s_down(&c);
}

/* One fault point: dtxd exits there (status 86) during a commit; after a
 * restart every transaction still ends committed or aborted on every
 * branch, each effect applied at most once. */
static void s_fault_case(const char *point, int expect_committed)
{
    s_cluster_t c;
    char name[64];
    snprintf(name, sizeof name, "flt_%.20s", point);
    for (char *p = name; *p; p++)
        if (*p == '-')
            *p = '_';
    CU_ASSERT_FATAL(s_dbs(&c, name) == 0);
    const char *a1[] = { S_FAST, "--node-id", "n1", "--fault", point, NULL };
    CU_ASSERT_FATAL(h_dtxd_start(&c.d1, c.log, a1) == 0);
    CU_ASSERT_FATAL(s_parts(&c, "flt", NULL) == 0);
    dtx_client_t *x = s_client(c.d1.endpoint);
    dtx_client_set_timeout(x, 1500);
    char gid[DTX_GID_SIZE] = "";
    int rc = dtx_client_begin(x, DTX_MODE_TCC, 4000, gid);
    if (rc == 0 && dtx_client_try(x, gid, "ra", "reserve", "a", 1, NULL) == 0 &&
        dtx_client_try(x, gid, "rb", "reserve", "b", 1, NULL) == 0)
        dtx_client_commit(x, gid, NULL);
    CU_ASSERT_EQUAL(h_wait_exit(c.d1.pid, 10000), 86);
    c.d1.pid = 0;
    dtx_client_destroy(&x);
    /* the restarted coordinator must not inherit the fault */
    c.d1.nextra -= 2;
    CU_ASSERT_EQUAL_FATAL(h_dtxd_restart(&c.d1), 0);
    if (!gid[0]) /* died before BEGIN was answered: take the only gid */
        h_db_scalar_text(c.logc, gid, sizeof gid, "SELECT coalesce(max(gid), '') FROM dtx_global");
    if (gid[0]) {
        int want = expect_committed ? DTX_STATE_COMMITTED : DTX_STATE_ABORTED;
        CU_ASSERT_EQUAL(u_wait_state(c.logc, gid, want, 15000), 0);
        int64_t bad = h_db_scalar(c.logc,
            "SELECT count(*) FROM dtx_branch_now WHERE gid = '%s' AND state NOT IN (%d)", gid,
            expect_committed ? DTX_BRANCH_CONFIRMED : DTX_BRANCH_CANCELLED);
        CU_ASSERT_EQUAL(bad, 0);
        for (int side = 0; side < 2; side++) {
            PGconn *p = side ? c.pb_db : c.pa_db;
            CU_ASSERT_TRUE(u_effects(p, gid, "confirm") + u_effects(p, gid, "cancel") <= 1);
            if (expect_committed) {
                CU_ASSERT_EQUAL(u_effects(p, gid, "confirm"), 1);
            } else {
                CU_ASSERT_EQUAL(u_effects(p, gid, "try"), u_effects(p, gid, "cancel"));
            }
        }
    }
    s_down(&c);
}

static void test_fault_after_begin_write(void) { s_fault_case("after-begin-write", 0); }
static void test_fault_after_branch_write(void) { s_fault_case("after-branch-write", 0); }
static void test_fault_after_try_sent(void) { s_fault_case("after-try-sent", 0); }
static void test_fault_after_vote_write(void) { s_fault_case("after-vote-write", 0); }
static void test_fault_after_decision_write(void) { s_fault_case("after-decision-write", 1); }
static void test_fault_after_decision_reply(void) { s_fault_case("after-decision-reply", 1); }
static void test_fault_between_phases(void) { s_fault_case("between-phases", 1); }
static void test_fault_before_finish_write(void) { s_fault_case("before-finish-write", 1); }
static void test_fault_after_finish_write(void) { s_fault_case("after-finish-write", 1); }

static void test_bad_fault_spec_is_a_config_error(void)
{
    char bin[1024];
    CU_ASSERT_FATAL(h_bin_path("dtxd", bin, sizeof bin) == 0);
    char *argv[] = { bin, "--db", "dbname=none", "--fault", "after-lunch", NULL };
    CU_ASSERT_EQUAL(h_run("dtxd-badfault", argv, 5000), 2);
    char *argv2[] = { bin, "--db", "dbname=none", "--fault", "between-phases:0", NULL };
    CU_ASSERT_EQUAL(h_run("dtxd-badfault", argv2, 5000), 2);
}

INTEG_SUITE(cluster)
{
    CU_pSuite s = CU_add_suite("cluster", NULL, NULL);
    CU_add_test(s, "two coordinators share the work and either serves a transaction", test_two_coordinators_share_the_work_and_either_serves_a_transaction);
    CU_add_test(s, "killed coordinator's work is taken over after its lease", test_killed_coordinator_work_is_taken_over_after_its_lease);
    CU_add_test(s, "paused coordinator changes nothing it no longer owns", test_paused_coordinator_changes_nothing_it_no_longer_owns);
    CU_add_test(s, "taken back transaction is never driven from a stale copy", test_taken_back_transaction_is_never_driven_from_a_stale_copy);
    CU_add_test(s, "restart with the same node id recovers at once", test_restart_with_the_same_node_id_recovers_at_once);
    CU_add_test(s, "spent retry budget makes stuck and resume finishes", test_spent_retry_budget_makes_stuck_and_resume_finishes);
    CU_add_test(s, "fault after-begin-write", test_fault_after_begin_write);
    CU_add_test(s, "fault after-branch-write", test_fault_after_branch_write);
    CU_add_test(s, "fault after-try-sent", test_fault_after_try_sent);
    CU_add_test(s, "fault after-vote-write", test_fault_after_vote_write);
    CU_add_test(s, "fault after-decision-write", test_fault_after_decision_write);
    CU_add_test(s, "fault after-decision-reply", test_fault_after_decision_reply);
    CU_add_test(s, "fault between-phases", test_fault_between_phases);
    CU_add_test(s, "fault before-finish-write", test_fault_before_finish_write);
    CU_add_test(s, "fault after-finish-write", test_fault_after_finish_write);
    CU_add_test(s, "bad fault spec is a config error", test_bad_fault_spec_is_a_config_error);
}
