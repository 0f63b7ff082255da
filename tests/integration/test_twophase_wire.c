/*
 * 2PC participants over PostgreSQL prepared transactions (dtx/pgres.h),
 * against real test-participant processes (--mode2pc) and real databases.
 * Suite twophase_wire: the test plays the coordinator on a raw ROUTER and
 * delivers PREPARE / COMMIT / ABORT in the orders a coordinator may produce
 * under retries and crashes — duplicates, ABORT before PREPARE, a late
 * PREPARE, an ABORT racing a PREPARE that runs in another process — and
 * checks the participant's database: effects (the work, visible only once
 * committed), dtx_barrier and pg_prepared_xacts. The last test restarts a
 * participant against a real dtxd whose log rows the test wrote by hand
 * and checks that dtx_pgres_recover resolves what was left prepared.
 * (Suite twophase, end to end with dtxd, is in test_twophase.c.)
 *
 * Every test ends with no prepared transaction left in its databases.
 * Prepared transaction names are unique per SERVER, so every gid here is
 * unique across the suites.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dtx/dtx.h"
#include "integ.h"
#include "util.h"

#define TW_MAX_PEERS 16

/* Barrier 'try' row origin of (gid, branch): "try", "cancel" or "". */
static void s_try_origin(PGconn *conn, const char *gid, int branch, char *out, size_t cap)
{
    if (h_db_scalar_text(conn, out, cap,
                         "SELECT coalesce((SELECT origin FROM dtx_barrier WHERE gid = '%s' "
                         "AND branch = %d AND op = 'try'), '')", gid, branch) != 0)
        snprintf(out, cap, "?");
}

/* ------------------------------------------------------------------ */
/* twophase_wire: the test is the coordinator                          */
/* ------------------------------------------------------------------ */

/* A participant instance that registered with our ROUTER. */
typedef struct tw_peer {
    char    instance[DTX_NAME_SIZE];
    uint8_t rid[256];
    size_t  rid_len;
} tw_peer_t;

static u_peer_t s_router;
static char s_router_ep[H_ENDPOINT_SIZE];
static tw_peer_t s_peers[TW_MAX_PEERS];
static int s_npeers;
static uint8_t s_buf[DTX_MSG_MAX];
static PGconn *s_pdb;     /* the shared participant database, tw_p */
static pid_t s_main_pid;  /* instance tw-main */
static uint64_t s_corr = 5000;

static tw_peer_t *s_peer(const char *instance)
{
    for (int i = 0; i < s_npeers; i++)
        if (strcmp(s_peers[i].instance, instance) == 0)
            return &s_peers[i];
    return NULL;
}

/* Receives the next message that is not registration or heartbeat
 * (those are answered here, as a coordinator would). 0, or -1 when
 * nothing came within timeout_ms. */
static int s_pump(dtx_msg_t *m, int timeout_ms)
{
    int64_t until = h_now_ms() + timeout_ms;
    while (h_now_ms() < until) {
        uint8_t rid[256];
        size_t rl = 0;
        if (u_recv(&s_router, m, s_buf, sizeof s_buf, rid, &rl, 100) != 0)
            continue;
        dtx_msg_t ok;
        memset(&ok, 0, sizeof ok);
        ok.corr = m->corr;
        strcpy(ok.coordinator, "fake-2pc-coordinator");
        if (m->type == DTX_MSG_REGISTER) {
            tw_peer_t *p = s_peer(m->instance);
            if (!p && s_npeers < TW_MAX_PEERS) {
                p = &s_peers[s_npeers++];
                snprintf(p->instance, sizeof p->instance, "%s", m->instance);
            }
            if (p && rl <= sizeof p->rid) {
                memcpy(p->rid, rid, rl);
                p->rid_len = rl;
            }
            ok.type = DTX_MSG_REGISTER_OK;
            strcpy(ok.resource, m->resource);
            ok.heartbeat_ms = 200;
            u_send(&s_router, rid, rl, &ok);
            continue;
        }
        if (m->type == DTX_MSG_HEARTBEAT) {
            ok.type = DTX_MSG_HEARTBEAT_OK;
            u_send(&s_router, rid, rl, &ok);
            continue;
        }
        return 0;
    }
    return -1;
}

/* Starts a --mode2pc test-participant connected to our ROUTER and waits
 * for its REGISTER. Returns its pid or -1. */
static pid_t s_start(const char *instance, const char *db, const char *const *extra)
{
    char bin[1024];
    if (h_testbin_path("test-participant", bin, sizeof bin))
        return -1;
    char *argv[40];
    int n = 0;
    argv[n++] = bin;
    argv[n++] = "--instance";
    argv[n++] = (char *)instance;
    argv[n++] = "--db";
    argv[n++] = (char *)db;
    argv[n++] = "--coordinator";
    argv[n++] = s_router_ep;
    argv[n++] = "--resource";
    argv[n++] = "r2";
    argv[n++] = "--heartbeat-ms";
    argv[n++] = "200";
    argv[n++] = "--mode2pc";
    for (int i = 0; extra && extra[i] && n < 39; i++)
        argv[n++] = (char *)extra[i];
    argv[n] = NULL;
    tw_peer_t *old = s_peer(instance);
    if (old)
        old->rid_len = 0;
    pid_t pid = h_spawn(instance, argv);
    if (pid <= 0)
        return -1;
    int64_t until = h_now_ms() + 10000;
    while (h_now_ms() < until) {
        tw_peer_t *p = s_peer(instance);
        if (p && p->rid_len > 0)
            return pid;
        dtx_msg_t m;
        s_pump(&m, 100); /* anything else is dropped */
        if (!h_alive(pid))
            break;
    }
    fprintf(stderr, "twophase: %s did not register\n", instance);
    h_file_tail(instance);
    return -1;
}

/* Sends a PHASE for resource r2 to instance. */
static void s_send_phase(const char *instance, const char *gid, uint32_t branch, int op,
                         uint32_t attempt, const char *action)
{
    tw_peer_t *p = s_peer(instance);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_PHASE;
    m.corr = s_corr++;
    strcpy(m.gid, gid);
    m.branch = branch;
    m.op = (uint8_t)op;
    m.attempt = attempt;
    strcpy(m.resource, "r2");
    snprintf(m.action, sizeof m.action, "%s", action);
    m.deadline_ms = 0;
    m.payload = (const uint8_t *)"{}";
    m.payload_len = 2;
    CU_ASSERT_EQUAL_FATAL(u_send(&s_router, p->rid, p->rid_len, &m), 0);
}

/* Waits for the PHASE_REPLY of (gid, branch, op, attempt); its outcome,
 * or -1 when none came within timeout_ms. */
static int s_wait_reply(const char *gid, uint32_t branch, int op, uint32_t attempt,
                        int timeout_ms)
{
    int64_t until = h_now_ms() + timeout_ms;
    dtx_msg_t m;
    while (h_now_ms() < until) {
        if (s_pump(&m, 100) != 0 || m.type != DTX_MSG_PHASE_REPLY)
            continue;
        if (strcmp(m.gid, gid) == 0 && m.branch == branch && m.op == op &&
            m.attempt == attempt)
            return m.outcome;
    }
    return -1;
}

static int s_phase_to(const char *instance, const char *gid, uint32_t branch, int op,
                      uint32_t attempt, const char *action)
{
    s_send_phase(instance, gid, branch, op, attempt, action);
    return s_wait_reply(gid, branch, op, attempt, 8000);
}

static int s_phase(const char *gid, uint32_t branch, int op, uint32_t attempt)
{
    return s_phase_to("tw-main", gid, branch, op, attempt, "work");
}

static int s_wire_init(void)
{
    char db[H_CONNINFO_SIZE];
    if (h_db_create("tw_p", db, sizeof db) ||
        u_peer_router(&s_router, s_router_ep, sizeof s_router_ep))
        return -1;
    const char *extra[] = { "--refuse-prepare-action", "no", "--lock-timeout-ms", "500", NULL };
    s_main_pid = s_start("tw-main", db, extra);
    if (s_main_pid <= 0)
        return -1;
    s_pdb = h_db_connect("tw_p");
    return s_pdb ? 0 : -1;
}

static int s_wire_clean(void)
{
    int rc = h_stop(s_main_pid, SIGTERM, 5000);
    u_peer_close(&s_router);
    PQfinish(s_pdb);
    s_pdb = NULL;
    return rc == 0 ? 0 : -1;
}

static void test_prepare_then_commit_makes_the_work_visible_once(void)
{
    const char *gid = "01TWOPHASEPREPCOMMIT000001";
    CU_ASSERT_EQUAL(s_phase(gid, 1, DTX_OP_PREPARE, 1), DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(u_prepared_name(s_pdb, gid, 1), 1);
    CU_ASSERT_EQUAL(u_effects(s_pdb, gid, "prepare"), 0); /* prepared, not visible */
    CU_ASSERT_EQUAL(s_phase(gid, 1, DTX_OP_COMMIT, 1), DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(u_prepared_name(s_pdb, gid, 1), 0);
    CU_ASSERT_EQUAL(u_effects(s_pdb, gid, "prepare"), 1);
    char origin[16];
    s_try_origin(s_pdb, gid, 1, origin, sizeof origin);
    CU_ASSERT_STRING_EQUAL(origin, "try");
    CU_ASSERT_EQUAL(u_deliveries(s_pdb, gid, "prepare"), 1);
    CU_ASSERT_EQUAL(u_deliveries(s_pdb, gid, "commit"), 1);
    CU_ASSERT_EQUAL(u_prepared(s_pdb), 0);
}

static void test_duplicate_prepare_votes_yes_and_prepares_once(void)
{
    const char *gid = "01TWOPHASEDUPPREPARE000001";
    CU_ASSERT_EQUAL(s_phase(gid, 2, DTX_OP_PREPARE, 1), DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(s_phase(gid, 2, DTX_OP_PREPARE, 2), DTX_OUTCOME_OK); /* still prepared */
    CU_ASSERT_EQUAL(u_prepared_name(s_pdb, gid, 2), 1);
    CU_ASSERT_EQUAL(u_deliveries(s_pdb, gid, "prepare"), 2);
    CU_ASSERT_EQUAL(s_phase(gid, 2, DTX_OP_COMMIT, 1), DTX_OUTCOME_OK);
    /* A prepare delivered after the commit: yes again, nothing redone. */
    CU_ASSERT_EQUAL(s_phase(gid, 2, DTX_OP_PREPARE, 3), DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(u_prepared_name(s_pdb, gid, 2), 0);
    CU_ASSERT_EQUAL(u_effects(s_pdb, gid, "prepare"), 1);
    CU_ASSERT_EQUAL(u_prepared(s_pdb), 0);
}

static void test_commit_delivered_twice_is_ok_and_applies_once(void)
{
    const char *gid = "01TWOPHASECOMMITTWICE00001";
    CU_ASSERT_EQUAL(s_phase(gid, 1, DTX_OP_PREPARE, 1), DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(s_phase(gid, 1, DTX_OP_COMMIT, 1), DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(s_phase(gid, 1, DTX_OP_COMMIT, 2), DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(u_effects(s_pdb, gid, "prepare"), 1);
    CU_ASSERT_EQUAL(u_deliveries(s_pdb, gid, "commit"), 2);
    CU_ASSERT_EQUAL(u_prepared(s_pdb), 0);
}

static void test_abort_of_a_prepared_branch_rolls_it_back(void)
{
    const char *gid = "01TWOPHASEABORTPREPARED001";
    CU_ASSERT_EQUAL(s_phase(gid, 1, DTX_OP_PREPARE, 1), DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(u_prepared_name(s_pdb, gid, 1), 1);
    CU_ASSERT_EQUAL(s_phase(gid, 1, DTX_OP_ABORT, 1), DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(u_prepared_name(s_pdb, gid, 1), 0);
    CU_ASSERT_EQUAL(u_effects(s_pdb, gid, "prepare"), 0);
    char origin[16];
    s_try_origin(s_pdb, gid, 1, origin, sizeof origin);
    CU_ASSERT_STRING_EQUAL(origin, "cancel"); /* the abort marker */
    /* again: ok; and a prepare delivered late now votes no */
    CU_ASSERT_EQUAL(s_phase(gid, 1, DTX_OP_ABORT, 2), DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(s_phase(gid, 1, DTX_OP_PREPARE, 2), DTX_OUTCOME_REFUSED);
    CU_ASSERT_EQUAL(u_effects(s_pdb, gid, "prepare"), 0);
    CU_ASSERT_EQUAL(u_prepared(s_pdb), 0);
}

static void test_abort_before_prepare_then_late_prepare_is_refused(void)
{
    const char *gid = "01TWOPHASEABORTFIRST000001";
    CU_ASSERT_EQUAL(s_phase(gid, 4, DTX_OP_ABORT, 1), DTX_OUTCOME_OK);
    char origin[16];
    s_try_origin(s_pdb, gid, 4, origin, sizeof origin);
    CU_ASSERT_STRING_EQUAL(origin, "cancel");
    CU_ASSERT_EQUAL(s_phase(gid, 4, DTX_OP_PREPARE, 1), DTX_OUTCOME_REFUSED);
    CU_ASSERT_EQUAL(u_prepared_name(s_pdb, gid, 4), 0);
    CU_ASSERT_EQUAL(u_effects(s_pdb, gid, "prepare"), 0);
    CU_ASSERT_EQUAL(u_deliveries(s_pdb, gid, "prepare"), 1);
    CU_ASSERT_EQUAL(s_phase(gid, 4, DTX_OP_ABORT, 2), DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(h_db_scalar(s_pdb, "SELECT count(*) FROM dtx_barrier WHERE gid = '%s'", gid),
                    2);
    CU_ASSERT_EQUAL(u_prepared(s_pdb), 0);
}

static void test_refused_prepare_votes_no_and_leaves_nothing(void)
{
    const char *gid = "01TWOPHASEVOTENO0000000001";
    CU_ASSERT_EQUAL(s_phase_to("tw-main", gid, 1, DTX_OP_PREPARE, 1, "no"),
                    DTX_OUTCOME_REFUSED);
    CU_ASSERT_EQUAL(u_prepared_name(s_pdb, gid, 1), 0);
    CU_ASSERT_EQUAL(h_db_scalar(s_pdb, "SELECT count(*) FROM dtx_barrier WHERE gid = '%s'", gid),
                    0);
    /* the coordinator then aborts it: a null compensation */
    CU_ASSERT_EQUAL(s_phase(gid, 1, DTX_OP_ABORT, 1), DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(u_prepared(s_pdb), 0);
}

static void test_commit_of_a_branch_never_prepared_fails(void)
{
    const char *gid = "01TWOPHASECOMMITNOTPREP001";
    CU_ASSERT_EQUAL(s_phase(gid, 1, DTX_OP_COMMIT, 1), DTX_OUTCOME_FAILED);
    CU_ASSERT_EQUAL(s_phase(gid, 1, DTX_OP_COMMIT, 2), DTX_OUTCOME_FAILED);
    /* nor after its abort */
    CU_ASSERT_EQUAL(s_phase(gid, 2, DTX_OP_ABORT, 1), DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(s_phase(gid, 2, DTX_OP_COMMIT, 1), DTX_OUTCOME_FAILED);
    CU_ASSERT_EQUAL(u_effects(s_pdb, gid, "prepare"), 0);
    CU_ASSERT_EQUAL(u_prepared(s_pdb), 0);
}

static void test_abort_after_commit_is_refused_as_failed(void)
{
    const char *gid = "01TWOPHASEABORTAFTERCOMMIT";
    CU_ASSERT_EQUAL(s_phase(gid, 1, DTX_OP_PREPARE, 1), DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(s_phase(gid, 1, DTX_OP_COMMIT, 1), DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(s_phase(gid, 1, DTX_OP_ABORT, 1), DTX_OUTCOME_FAILED);
    CU_ASSERT_EQUAL(u_effects(s_pdb, gid, "prepare"), 1); /* nothing undone */
    CU_ASSERT_EQUAL(u_prepared(s_pdb), 0);
}

static void test_tcc_handlers_still_serve_the_same_resource(void)
{
    const char *gid = "01TWOPHASESAMERESOURCETCC1";
    CU_ASSERT_EQUAL(s_phase(gid, 1, DTX_OP_TRY, 1), DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(s_phase(gid, 1, DTX_OP_CONFIRM, 1), DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(u_effects(s_pdb, gid, "try"), 1);
    CU_ASSERT_EQUAL(u_effects(s_pdb, gid, "confirm"), 1);
    CU_ASSERT_EQUAL(u_prepared(s_pdb), 0);
}

/* An ABORT delivered to a second process while the first is still running
 * the PREPARE of the same branch must neither deadlock nor let the
 * prepare survive: it waits at most the lock timeout, answers FAILED, and
 * the coordinator's retry then rolls the prepared transaction back. */
static void test_abort_racing_a_running_prepare_fails_then_rolls_it_back(void)
{
    const char *gid = "01TWOPHASERACEABORTPREP001";
    char db[H_CONNINFO_SIZE];
    CU_ASSERT_FATAL(h_db_conninfo("tw_p", db, sizeof db) == 0);
    const char *slow[] = { "--prepare-work-delay-ms", "2500", "--lock-timeout-ms", "500", NULL };
    const char *quick[] = { "--lock-timeout-ms", "500", NULL };
    pid_t a = s_start("tw-slow", db, slow);
    pid_t b = s_start("tw-quick", db, quick);
    CU_ASSERT_FATAL(a > 0 && b > 0);

    s_send_phase("tw-slow", gid, 1, DTX_OP_PREPARE, 1, "work");
    h_sleep_ms(500); /* the prepare holds its barrier row now */
    int64_t t0 = h_now_ms();
    CU_ASSERT_EQUAL(s_phase_to("tw-quick", gid, 1, DTX_OP_ABORT, 1, "work"),
                    DTX_OUTCOME_FAILED);
    CU_ASSERT(h_now_ms() - t0 < 2500); /* it did not wait for the prepare */
    CU_ASSERT_EQUAL(s_wait_reply(gid, 1, DTX_OP_PREPARE, 1, 8000), DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(u_prepared_name(s_pdb, gid, 1), 1);
    /* the coordinator retries the abort */
    CU_ASSERT_EQUAL(s_phase_to("tw-quick", gid, 1, DTX_OP_ABORT, 2, "work"), DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(u_prepared_name(s_pdb, gid, 1), 0);
    CU_ASSERT_EQUAL(u_effects(s_pdb, gid, "prepare"), 0);
    /* and a prepare delivered even later is refused */
    CU_ASSERT_EQUAL(s_phase_to("tw-quick", gid, 1, DTX_OP_PREPARE, 2, "work"),
                    DTX_OUTCOME_REFUSED);
    CU_ASSERT_EQUAL(u_prepared(s_pdb), 0);
    CU_ASSERT_EQUAL(h_stop(a, SIGTERM, 5000), 0);
    CU_ASSERT_EQUAL(h_stop(b, SIGTERM, 5000), 0);
}

/* A participant that dies between PREPARE TRANSACTION and its reply
 * leaves the branch prepared; its database keeps it across the crash. */
static void test_exit_after_prepare_leaves_the_branch_prepared(void)
{
    const char *gid = "01TWOPHASEEXITPREPARED0001";
    char db[H_CONNINFO_SIZE];
    CU_ASSERT_FATAL(h_db_conninfo("tw_p", db, sizeof db) == 0);
    const char *extra[] = { "--exit-after-prepare", NULL };
    pid_t p = s_start("tw-crash", db, extra);
    CU_ASSERT_FATAL(p > 0);
    s_send_phase("tw-crash", gid, 1, DTX_OP_PREPARE, 1, "work");
    CU_ASSERT_EQUAL(h_wait_exit(p, 8000), 1);
    CU_ASSERT_EQUAL(s_wait_reply(gid, 1, DTX_OP_PREPARE, 1, 300), -1); /* no answer */
    CU_ASSERT_EQUAL(u_prepared_name(s_pdb, gid, 1), 1);
    /* the coordinator's abort reaches another instance */
    CU_ASSERT_EQUAL(s_phase(gid, 1, DTX_OP_ABORT, 1), DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(u_prepared(s_pdb), 0);
    CU_ASSERT_EQUAL(u_effects(s_pdb, gid, "prepare"), 0);
}

/* Branches left prepared, then a restart against a real dtxd whose log
 * says: committing, aborted, active, and nothing at all (presumed abort). */
static void test_recover_resolves_prepared_branches_by_asking_status(void)
{
    const char *g_commit = "01TWOPHASERECOVERCOMMIT001";
    const char *g_abort = "01TWOPHASERECOVERABORT0001";
    const char *g_active = "01TWOPHASERECOVERACTIVE001";
    const char *g_unknown = "01TWOPHASERECOVERUNKNOWN01";
    char pdb[H_CONNINFO_SIZE], logdb[H_CONNINFO_SIZE];
    CU_ASSERT_FATAL(h_db_create("tw_rec_p", pdb, sizeof pdb) == 0);
    CU_ASSERT_FATAL(h_db_create("tw_rec_log", logdb, sizeof logdb) == 0);
    pid_t p = s_start("tw-rec-1", pdb, NULL);
    CU_ASSERT_FATAL(p > 0);
    const char *gids[] = { g_commit, g_abort, g_active, g_unknown };
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(s_phase_to("tw-rec-1", gids[i], 1, DTX_OP_PREPARE, 1, "work"),
                        DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(h_stop(p, SIGTERM, 5000), 0);
    PGconn *conn = h_db_connect("tw_rec_p");
    CU_ASSERT_FATAL(conn != NULL);
    CU_ASSERT_EQUAL(u_prepared(conn), 4);

    h_dtxd_t d;
    memset(&d, 0, sizeof d);
    snprintf(d.logname, sizeof d.logname, "tw-rec-dtxd");
    CU_ASSERT_FATAL(h_dtxd_start(&d, logdb, NULL) == 0);
    PGconn *log = h_db_connect("tw_rec_log");
    CU_ASSERT_FATAL(log != NULL);
    const char *rows = "INSERT INTO dtx_global (gid, mode, state, deadline) VALUES "
                       "('%s', 2, %d, now() + interval '1 hour')";
    CU_ASSERT_EQUAL(h_db_exec(log, rows, g_commit, DTX_STATE_COMMITTING), 0);
    CU_ASSERT_EQUAL(h_db_exec(log, rows, g_abort, DTX_STATE_ABORTED), 0);
    CU_ASSERT_EQUAL(h_db_exec(log, rows, g_active, DTX_STATE_ACTIVE), 0);

    const char *extra[] = { "--resource", "r2", "--mode2pc", "--heartbeat-ms", "200", NULL };
    pid_t q = h_participant_start("tw-rec-2", pdb, d.endpoint, extra);
    CU_ASSERT_FATAL(q > 0);
    CU_ASSERT(h_log_has("tw-rec-2", "resolved=3"));
    CU_ASSERT_EQUAL(u_prepared_name(conn, g_commit, 1), 0);
    CU_ASSERT_EQUAL(u_prepared_name(conn, g_abort, 1), 0);
    CU_ASSERT_EQUAL(u_prepared_name(conn, g_unknown, 1), 0);
    CU_ASSERT_EQUAL(u_effects(conn, g_commit, "prepare"), 1);
    CU_ASSERT_EQUAL(u_effects(conn, g_abort, "prepare"), 0);
    CU_ASSERT_EQUAL(u_effects(conn, g_unknown, "prepare"), 0);
    char origin[16];
    s_try_origin(conn, g_unknown, 1, origin, sizeof origin);
    CU_ASSERT_STRING_EQUAL(origin, "cancel");
    /* The active one belongs to its coordinator: left prepared while the
     * log still says active. */
    if (u_log_state(log, g_active) == DTX_STATE_ACTIVE)
        CU_ASSERT_EQUAL(u_prepared_name(conn, g_active, 1), 1);
    CU_ASSERT(h_log_has("tw-rec-2", "left to its coordinator"));

    /* Leave nothing prepared behind. */
    if (u_prepared_name(conn, g_active, 1) == 1)
        CU_ASSERT_EQUAL(h_db_exec(conn, "ROLLBACK PREPARED 'dtx:%s:1'", g_active), 0);
    CU_ASSERT_EQUAL(u_prepared(conn), 0);
    CU_ASSERT_EQUAL(h_stop(q, SIGTERM, 5000), 0);
    CU_ASSERT_EQUAL(h_dtxd_stop(&d), 0);
    PQfinish(log);
    PQfinish(conn);
}

INTEG_SUITE(twophase_wire)
{
    CU_pSuite s = CU_add_suite("twophase_wire", s_wire_init, s_wire_clean);
    CU_add_test(s, "prepare then commit makes the work visible once",
                test_prepare_then_commit_makes_the_work_visible_once);
    CU_add_test(s, "duplicate prepare votes yes and prepares once",
                test_duplicate_prepare_votes_yes_and_prepares_once);
    CU_add_test(s, "commit delivered twice is ok and applies once",
                test_commit_delivered_twice_is_ok_and_applies_once);
    CU_add_test(s, "abort of a prepared branch rolls it back",
                test_abort_of_a_prepared_branch_rolls_it_back);
    CU_add_test(s, "abort before prepare then late prepare is refused",
                test_abort_before_prepare_then_late_prepare_is_refused);
    CU_add_test(s, "refused prepare votes no and leaves nothing",
                test_refused_prepare_votes_no_and_leaves_nothing);
    CU_add_test(s, "commit of a branch never prepared fails",
                test_commit_of_a_branch_never_prepared_fails);
    CU_add_test(s, "abort after commit is refused as failed",
                test_abort_after_commit_is_refused_as_failed);
    CU_add_test(s, "tcc handlers still serve the same resource",
                test_tcc_handlers_still_serve_the_same_resource);
    CU_add_test(s, "abort racing a running prepare fails, then rolls it back",
                test_abort_racing_a_running_prepare_fails_then_rolls_it_back);
    CU_add_test(s, "exit after prepare leaves the branch prepared",
                test_exit_after_prepare_leaves_the_branch_prepared);
    CU_add_test(s, "recover resolves prepared branches by asking status",
                test_recover_resolves_prepared_branches_by_asking_status);
}
