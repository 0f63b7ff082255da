/*
 * A TCC_RUN with the initiator's gid (docs/protocol.md §19.3,
 * dtx_client_tcc_run with DTX_RUN_GID) repeated against a real dtxd,
 * PostgreSQL and two test participants (world.h: pa serves ra, pb serves
 * rb and refuses "refuse-me"): whatever the first call became — committed,
 * aborted, still deciding, cut by a crash, held by a dtxd that restarted —
 * the repeat begins nothing and answers what became of it, and the
 * participants ran each Try once.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "core/txn.h"
#include "dtx/dtx.h"
#include "dtx/id.h"
#include "dtx/proto.h"
#include "dtx/trymany.h"
#include "integ.h"
#include "util.h"
#include "world.h"

static u_world_t s_w; /* the suite's world for the tests without a crash */

static int s_init(void)
{
    const char *args[] = { "--try-timeout-ms", "5000", NULL };
    const char *pa[] = { "--delay-ms-op", "try:1200", NULL };
    const char *pb[] = { "--refuse-action", "refuse-me", NULL };
    return u_world_up(&s_w, "tccrun_rep", args, pa, pb);
}

static int s_clean(void)
{
    return u_world_stop(&s_w);
}

static long s_globals(PGconn *log)
{
    return (long)h_db_scalar(log, "SELECT count(*) FROM dtx_global");
}

/* The branches of the tests: ra (slow: 1.2 s a Try) and rb. */
static const dtx_try_spec_t s_yes[2] = { { "ra", "reserve", "a", 1 }, { "rb", "reserve", "b", 1 } };
static const dtx_try_spec_t s_no[2] = { { "ra", "reserve", "a", 1 }, { "rb", "refuse-me", NULL, 0 } };

#define S_RUN (DTX_RUN_COMMIT | DTX_RUN_GID)

/* Sends, raw on p, the TCC_RUN of s_yes with id as the initiator's gid
 * (its answer is read later). 0 or -1. */
static int s_send_run(u_peer_t *p, const char *id, uint64_t corr)
{
    dtx_trymany_t b = { .n = 2 };
    for (int i = 0; i < 2; i++) {
        strcpy(b.items[i].resource, s_yes[i].resource);
        strcpy(b.items[i].action, s_yes[i].action);
        b.items[i].payload = (const uint8_t *)s_yes[i].payload;
        b.items[i].payload_len = (uint32_t)s_yes[i].payload_len;
    }
    uint8_t batch[64];
    size_t blen = 0;
    if (dtx_trymany_encode(&b, batch, sizeof batch, &blen) != 0)
        return -1;
    dtx_msg_t m = { .version = DTX_PROTO_V2, .type = DTX_MSG_TCC_RUN, .corr = corr,
                    .flags = DTX_TCC_RUN_COMMIT | DTX_TCC_RUN_GID, .payload = batch,
                    .payload_len = (uint32_t)blen };
    strcpy(m.gid, id);
    return u_send(p, NULL, 0, &m) == 0 ? 0 : -1;
}

static void test_a_repeat_after_the_commit_begins_nothing(void)
{
    long g0 = s_globals(s_w.log);
    char gid[DTX_GID_SIZE] = "";
    dtx_try_outcome_t out[2];
    int state = 0;
    CU_ASSERT_EQUAL_FATAL(dtx_client_tcc_run(s_w.c, 0, S_RUN, s_yes, 2, gid, out, &state), 0);
    CU_ASSERT_EQUAL(state, DTX_STATE_COMMITTING);
    CU_ASSERT_TRUE(dtx_id_valid(gid)); /* the id libdtx chose, and the answer's gid */
    CU_ASSERT_EQUAL(out[1].branch, 2);
    char first[DTX_GID_SIZE];
    strcpy(first, gid);
    /* the same call again: the same transaction's outcome, nothing begun */
    memset(out, 0x5a, sizeof out);
    CU_ASSERT_EQUAL(dtx_client_tcc_run(s_w.c, 0, S_RUN, s_yes, 2, gid, out, &state), 0);
    CU_ASSERT_STRING_EQUAL(gid, first);
    CU_ASSERT_TRUE(state == DTX_STATE_COMMITTING || state == DTX_STATE_COMMITTED);
    CU_ASSERT_EQUAL(out[0].outcome, DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(out[0].branch, 0); /* a repeat's answer carries no outcomes */
    CU_ASSERT_EQUAL(out[1].error, 0);
    CU_ASSERT_EQUAL(s_globals(s_w.log), g0 + 1);
    CU_ASSERT_EQUAL(u_wait_state(s_w.log, gid, DTX_STATE_COMMITTED, 10000), 0);
    CU_ASSERT_EQUAL(u_effects(s_w.pa_db, gid, "try"), 1);
    CU_ASSERT_EQUAL(u_effects(s_w.pb_db, gid, "try"), 1);
    CU_ASSERT_EQUAL(u_effects(s_w.pb_db, gid, "confirm"), 1);
}

static void test_a_repeat_of_an_abort_answers_aborted(void)
{
    long g0 = s_globals(s_w.log);
    char gid[DTX_GID_SIZE] = "";
    dtx_try_outcome_t out[2];
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_tcc_run(s_w.c, 0, S_RUN, s_no, 2, gid, out, &state), DTX_EABORTED);
    CU_ASSERT_EQUAL(out[1].outcome, DTX_OUTCOME_REFUSED);
    CU_ASSERT_EQUAL(dtx_client_tcc_run(s_w.c, 0, S_RUN, s_no, 2, gid, out, &state), DTX_EABORTED);
    CU_ASSERT_TRUE(state == DTX_STATE_ABORTING || state == DTX_STATE_ABORTED);
    CU_ASSERT_EQUAL(out[0].error, DTX_EABORTED);
    CU_ASSERT_EQUAL(out[1].error, DTX_EABORTED);
    CU_ASSERT_EQUAL(s_globals(s_w.log), g0 + 1);
    /* decided on rb's no: ra's slow Try ran once or not at all */
    CU_ASSERT_EQUAL(u_wait_state(s_w.log, gid, DTX_STATE_ABORTED, 10000), 0);
    CU_ASSERT_TRUE(u_effects(s_w.pa_db, gid, "try") <= 1);
    CU_ASSERT_EQUAL(u_effects(s_w.pa_db, gid, "confirm"), 0);
}

/* The repeat arrives while the first request still waits for ra's slow
 * Try: it waits for the decision as a COMMIT would, and both are
 * answered, from one transaction. */
static void test_a_repeat_while_deciding_waits_for_the_decision(void)
{
    long g0 = s_globals(s_w.log);
    char id[DTX_ID_LEN + 1];
    CU_ASSERT_EQUAL_FATAL(dtx_id_new(id), 0);
    /* the first request, raw: sent, its answer read last */
    u_peer_t p;
    CU_ASSERT_EQUAL_FATAL(u_peer_dealer(&p, s_w.dtxd.endpoint), 0);
    CU_ASSERT_EQUAL_FATAL(s_send_run(&p, id, 91), 0);
    h_sleep_ms(300); /* in flight: ra's Try takes 1.2 s */
    char gid[DTX_GID_SIZE];
    strcpy(gid, id);
    dtx_try_outcome_t out[2];
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_tcc_run(s_w.c, 0, S_RUN, s_yes, 2, gid, out, &state), 0);
    CU_ASSERT_TRUE(state == DTX_STATE_COMMITTING || state == DTX_STATE_COMMITTED);
    static uint8_t buf[DTX_MSG_MAX];
    dtx_msg_t a;
    CU_ASSERT_EQUAL_FATAL(u_recv(&p, &a, buf, sizeof buf, NULL, NULL, 10000), 0);
    CU_ASSERT_EQUAL(a.type, DTX_MSG_TRY_MANY_OK);
    CU_ASSERT_EQUAL(a.corr, 91);
    CU_ASSERT_STRING_EQUAL(a.gid, gid);
    u_peer_close(&p);
    CU_ASSERT_EQUAL(s_globals(s_w.log), g0 + 1);
    CU_ASSERT_EQUAL(u_effects(s_w.pa_db, gid, "try"), 1);
    CU_ASSERT_EQUAL(u_effects(s_w.pb_db, gid, "try"), 1);
}

/* An id that names a transaction a BEGIN made (a caller's mistake: a gid
 * buffer reused) is refused: nothing committed, nothing begun. */
static void test_an_id_no_tcc_run_began_is_refused(void)
{
    char gid[DTX_GID_SIZE];
    CU_ASSERT_EQUAL_FATAL(dtx_client_begin(s_w.c, DTX_MODE_TCC, 0, gid), 0);
    dtx_try_result_t tr;
    CU_ASSERT_EQUAL_FATAL(dtx_client_try(s_w.c, gid, "rb", "reserve", "x", 1, &tr), 0);
    long g0 = s_globals(s_w.log);
    char id[DTX_GID_SIZE];
    strcpy(id, gid);
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_tcc_run(s_w.c, 0, S_RUN, s_yes, 2, id, NULL, &state),
                    DTX_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dtx_client_last_error(s_w.c), "no TCC_RUN began"));
    CU_ASSERT_EQUAL(s_globals(s_w.log), g0);
    CU_ASSERT_EQUAL(u_log_state(s_w.log, gid), DTX_STATE_ACTIVE); /* not committed */
    /* and once it left memory: the write finds the row, the log's mark
     * (none) says the same */
    CU_ASSERT_EQUAL(dtx_client_rollback(s_w.c, gid, NULL), 0);
    CU_ASSERT_EQUAL(u_wait_state(s_w.log, gid, DTX_STATE_ABORTED, 10000), 0);
    h_sleep_ms(300); /* finished: out of memory soon, or still in it */
    strcpy(id, gid);
    CU_ASSERT_EQUAL(dtx_client_tcc_run(s_w.c, 0, S_RUN, s_yes, 2, id, NULL, &state),
                    DTX_EINVAL);
    CU_ASSERT_EQUAL(s_globals(s_w.log), g0);
    CU_ASSERT_EQUAL(u_effects(s_w.pa_db, gid, "try"), 0);
}

static void test_ids_that_are_not_one_are_refused_unsent(void)
{
    char gid[DTX_GID_SIZE] = "not-an-id";
    long g0 = s_globals(s_w.log);
    CU_ASSERT_EQUAL(dtx_client_tcc_run(s_w.c, 0, S_RUN, s_yes, 2, gid, NULL, NULL), DTX_EINVAL);
    strcpy(gid, "01arz3ndektsv4rrffq69g5fav"); /* lower case */
    CU_ASSERT_EQUAL(dtx_client_tcc_run(s_w.c, 0, S_RUN, s_yes, 2, gid, NULL, NULL), DTX_EINVAL);
    gid[0] = '\0';
    CU_ASSERT_EQUAL(dtx_client_tcc_run(s_w.c, 0, DTX_RUN_GID, s_yes, 2, gid, NULL, NULL),
                    DTX_EINVAL); /* without DTX_RUN_COMMIT */
    CU_ASSERT_EQUAL(dtx_client_tcc_run(s_w.c, 0, S_RUN, s_yes, 2, NULL, NULL, NULL), DTX_EINVAL);
    CU_ASSERT_EQUAL(s_globals(s_w.log), g0);
}

/* dtxd dies between the two writes (the branches and the mark durable,
 * the votes in memory only): the caller got no answer, repeats the call
 * once dtxd is back, and learns that the transaction aborted — it was
 * not run twice. Then a repeat after a committed run and a restart: the
 * id is found in the log, not in memory. */
static void test_repeats_after_a_crash_and_a_restart_find_the_log(void)
{
    u_world_t w;
    const char *args[] = { "--node-id", "tccrun_rep_k", "--recovery-interval-ms", "200",
                           "--fault", "after-all-voted", NULL };
    CU_ASSERT_FATAL(u_world_up(&w, "tccrun_rep_k", args, NULL, NULL) == 0);
    dtx_client_set_timeout(w.c, 3000);
    char gid[DTX_GID_SIZE] = "";
    dtx_try_outcome_t out[2];
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_tcc_run(w.c, 60000, S_RUN, s_yes, 2, gid, out, &state),
                    DTX_ETIMEOUT);
    CU_ASSERT_TRUE(dtx_id_valid(gid)); /* kept for the repeat */
    CU_ASSERT_EQUAL(h_wait_exit(w.dtxd.pid, 10000), 86);
    w.dtxd.pid = 0;
    CU_ASSERT_EQUAL(u_log_state(w.log, gid), DTX_STATE_ACTIVE);
    w.dtxd.nextra -= 2; /* not the fault again */
    CU_ASSERT_EQUAL_FATAL(h_dtxd_restart(&w.dtxd), 0);
    dtx_client_set_timeout(w.c, 10000);
    CU_ASSERT_EQUAL(dtx_client_tcc_run(w.c, 60000, S_RUN, s_yes, 2, gid, out, &state),
                    DTX_EABORTED);
    CU_ASSERT_TRUE(state == DTX_STATE_ABORTING || state == DTX_STATE_ABORTED);
    CU_ASSERT_EQUAL(u_wait_state(w.log, gid, DTX_STATE_ABORTED, 15000), 0);
    CU_ASSERT_EQUAL(s_globals(w.log), 1);
    CU_ASSERT_EQUAL(u_effects(w.pa_db, gid, "try"), 1);
    CU_ASSERT_EQUAL(u_effects(w.pa_db, gid, "cancel"), 1);
    CU_ASSERT_EQUAL(u_effects(w.pa_db, gid, "confirm") + u_effects(w.pb_db, gid, "confirm"), 0);
    /* committed, then dtxd restarted: the repeat's write finds the id */
    char g2[DTX_GID_SIZE] = "";
    CU_ASSERT_EQUAL_FATAL(dtx_client_tcc_run(w.c, 0, S_RUN, s_yes, 2, g2, out, &state), 0);
    CU_ASSERT_EQUAL(u_wait_state(w.log, g2, DTX_STATE_COMMITTED, 10000), 0);
    CU_ASSERT_EQUAL(h_dtxd_stop(&w.dtxd), 0);
    CU_ASSERT_EQUAL_FATAL(h_dtxd_restart(&w.dtxd), 0);
    CU_ASSERT_EQUAL(dtx_client_tcc_run(w.c, 0, S_RUN, s_yes, 2, g2, out, &state), 0);
    CU_ASSERT_EQUAL(state, DTX_STATE_COMMITTED);
    CU_ASSERT_EQUAL(out[0].outcome, DTX_OUTCOME_OK);
    CU_ASSERT_EQUAL(s_globals(w.log), 2);
    CU_ASSERT_EQUAL(u_effects(w.pb_db, g2, "try"), 1);
    CU_ASSERT_EQUAL(u_world_stop(&w), 0);
}

/* Two coordinators on one log. The run is deciding on the first (ra's Try
 * is slow) when a repeat reaches the second: it is told to repeat later
 * (DTX_EBUSY) and takes nothing — the first commits it — and a repeat
 * there once it is decided answers its state. */
static void test_a_repeat_to_another_coordinator_takes_nothing(void)
{
    u_world_t w;
    const char *args[] = { "--node-id", "rep1", NULL };
    const char *pa[] = { "--delay-ms-op", "try:1500", NULL };
    CU_ASSERT_FATAL(u_world_up(&w, "tccrun_rep_2", args, pa, NULL) == 0);
    h_dtxd_t d2;
    memset(&d2, 0, sizeof d2);
    snprintf(d2.logname, sizeof d2.logname, "tccrun_rep_2-dtxd2");
    const char *a2[] = { "--node-id", "rep2", NULL };
    CU_ASSERT_FATAL(h_dtxd_start(&d2, w.dtxd.db, a2) == 0);
    int err = 0;
    dtx_client_t *c2 = dtx_client_new(d2.endpoint, &err);
    CU_ASSERT_FATAL(c2 != NULL);
    /* the first request, raw, to the first node */
    char id[DTX_ID_LEN + 1];
    CU_ASSERT_EQUAL_FATAL(dtx_id_new(id), 0);
    u_peer_t p;
    CU_ASSERT_EQUAL_FATAL(u_peer_dealer(&p, w.dtxd.endpoint), 0);
    CU_ASSERT_EQUAL_FATAL(s_send_run(&p, id, 92), 0);
    h_sleep_ms(400); /* written, ra's Try under way */
    char gid[DTX_GID_SIZE];
    strcpy(gid, id);
    int state = 0;
    CU_ASSERT_EQUAL(dtx_client_tcc_run(c2, 0, S_RUN, s_yes, 2, gid, NULL, &state), DTX_EBUSY);
    static uint8_t buf[DTX_MSG_MAX];
    dtx_msg_t a;
    CU_ASSERT_EQUAL_FATAL(u_recv(&p, &a, buf, sizeof buf, NULL, NULL, 10000), 0);
    CU_ASSERT_EQUAL(a.type, DTX_MSG_TRY_MANY_OK);
    CU_ASSERT_EQUAL(a.state, DTX_STATE_COMMITTING);
    u_peer_close(&p);
    char owner[64] = "";
    h_db_scalar_text(w.log, owner, sizeof owner, "SELECT owner FROM dtx_global WHERE gid = '%s'",
                     id);
    CU_ASSERT_STRING_EQUAL(owner, "rep1");
    strcpy(gid, id);
    CU_ASSERT_EQUAL(dtx_client_tcc_run(c2, 0, S_RUN, s_yes, 2, gid, NULL, &state), 0);
    CU_ASSERT_TRUE(state == DTX_STATE_COMMITTING || state == DTX_STATE_COMMITTED);
    CU_ASSERT_EQUAL(u_wait_state(w.log, id, DTX_STATE_COMMITTED, 10000), 0);
    CU_ASSERT_EQUAL(s_globals(w.log), 1);
    CU_ASSERT_EQUAL(u_effects(w.pa_db, id, "try"), 1);
    dtx_client_destroy(&c2);
    CU_ASSERT_EQUAL(h_dtxd_stop(&d2), 0);
    CU_ASSERT_EQUAL(u_world_stop(&w), 0);
}

INTEG_SUITE(tccrun_repeat) {
    CU_pSuite s = CU_add_suite("tccrun_repeat", s_init, s_clean);
    CU_add_test(s, "a repeat after the commit begins nothing",
                test_a_repeat_after_the_commit_begins_nothing);
    CU_add_test(s, "a repeat of an abort answers aborted",
                test_a_repeat_of_an_abort_answers_aborted);
    CU_add_test(s, "a repeat while deciding waits for the decision",
                test_a_repeat_while_deciding_waits_for_the_decision);
    CU_add_test(s, "an id no tcc run began is refused", test_an_id_no_tcc_run_began_is_refused);
    CU_add_test(s, "ids that are not one are refused unsent",
                test_ids_that_are_not_one_are_refused_unsent);
    CU_pSuite k = CU_add_suite("tccrun_repeat_crash", NULL, NULL);
    CU_add_test(k, "repeats after a crash and a restart find the log",
                test_repeats_after_a_crash_and_a_restart_find_the_log);
    CU_add_test(k, "a repeat to another coordinator takes nothing",
                test_a_repeat_to_another_coordinator_takes_nothing);
}
