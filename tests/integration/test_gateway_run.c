/*
 * A whole TCC transaction per request at the edge (docs/gateway.md, "A
 * whole TCC transaction per request"): a real dtx-gateway whose route has
 * mode "tcc" with branches sends one TCC_RUN to a real dtxd for each
 * request; real test-participant processes over PostgreSQL vote. The
 * client's answer is the transaction's outcome; the participants' ledger
 * shows what each branch received.
 *
 *   pt serves bank-a and bank-b, and refuses actions named "nope".
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "dtx/proto.h"
#include "dtx/types.h"
#include "gw_util.h"
#include "integ.h"
#include "util.h"

#define S_TOKEN "gw-admin-token-7b2e18c4"

static h_dtxd_t s_dtxd;
static gw_proc_t s_gw;
static PGconn *s_log, *s_pdb;
static pid_t s_pt;

static const char s_routes[] =
    "{\"name\":\"transfer\",\"match\":{\"path\":\"/transfer\"},"
    " \"transaction\":{\"mode\":\"tcc\",\"timeout_ms\":20000,\"branches\":["
    "  {\"resource\":\"bank-a\",\"action\":\"debit\","
    "   \"payload\":{\"amount\":\"$body.amount\",\"by\":\"$remote_addr\"}},"
    "  {\"resource\":\"bank-b\",\"action\":\"credit\"}]}},"
    "{\"name\":\"declined\",\"match\":{\"path\":\"/declined\"},"
    " \"transaction\":{\"branches\":["
    "  {\"resource\":\"bank-a\",\"action\":\"debit\"},"
    "  {\"resource\":\"bank-b\",\"action\":\"nope\"}]}},"
    "{\"name\":\"nobody\",\"match\":{\"path\":\"/nobody\"},"
    " \"transaction\":{\"mode\":\"tcc\",\"branches\":["
    "  {\"resource\":\"nobody-serves-this\",\"action\":\"x\"}]}}";

static void s_doc(char *out, size_t cap, const char *extra)
{
    snprintf(out, cap,
             "{\"admin\":{\"token\":\"" S_TOKEN "\"},"
             "\"dtxd\":{\"endpoint\":\"%s\",\"timeout_ms\":3000},"
             "\"pools\":[{\"name\":\"svc\",\"targets\":[\"http://127.0.0.1:1\"]}],"
             "\"routes\":[%s%s]}", s_dtxd.endpoint, s_routes, extra ? extra : "");
}

static int s_init(void)
{
    char log[H_CONNINFO_SIZE], pdb[H_CONNINFO_SIZE];
    if (h_init() < 0 || h_db_create("gw_run_log", log, sizeof log) < 0 ||
        h_db_create("gw_run_p", pdb, sizeof pdb) < 0)
        return -1;
    memset(&s_dtxd, 0, sizeof s_dtxd);
    snprintf(s_dtxd.logname, sizeof s_dtxd.logname, "gw-run-dtxd");
    static const char *fast[] = { "--retry-base-ms", "50", "--retry-max-ms", "200",
                                  "--try-timeout-ms", "1000", NULL };
    if (h_dtxd_start(&s_dtxd, log, fast) < 0)
        return -1;
    const char *pt[] = { "--resource", "bank-a", "--resource", "bank-b",
                         "--refuse-action", "nope", NULL };
    s_pt = h_participant_spawn("gw-run-pt", pdb, s_dtxd.endpoint, pt);
    if (s_pt < 0 || h_participant_ready("gw-run-pt", s_pt) < 0)
        return -1;
    char doc[8192];
    s_doc(doc, sizeof doc, NULL);
    if (gw_gateway_start(&s_gw, "gw-run", "%s", doc) < 0)
        return -1;
    s_log = h_db_connect("gw_run_log");
    s_pdb = h_db_connect("gw_run_p");
    return s_log && s_pdb ? 0 : -1;
}

static int s_cleanup(void)
{
    int rc = h_stop(s_gw.pid, SIGTERM, 10000) == 0 ? 0 : -1;
    if (s_pt > 0 && h_stop(s_pt, SIGTERM, 5000) != 0)
        rc = -1;
    if (h_dtxd_stop(&s_dtxd) != 0)
        rc = -1;
    PQfinish(s_log);
    PQfinish(s_pdb);
    s_log = s_pdb = NULL;
    return rc;
}

static void s_post(const char *path, const char *body, gw_outcome_t *a)
{
    gw_post_outcome(&s_gw, path, body, a);
}

/* What branch `branch` of gid received in its Try. */
static void s_payload(const char *gid, int branch, char *out, size_t cap)
{
    out[0] = '\0';
    h_db_scalar_text(s_pdb, out, cap,
                     "SELECT convert_from(payload, 'UTF8') FROM ledger WHERE gid = '%s'"
                     " AND branch = %d AND op = 'try' ORDER BY at LIMIT 1", gid, branch);
}

static int64_t s_globals(void)
{
    return h_db_scalar(s_log, "SELECT count(*) FROM dtx_global");
}

static void test_every_yes_answers_committed_with_payloads_from_the_body(void)
{
    gw_outcome_t a;
    s_post("/transfer", "{\"amount\":450,\"note\":\"rent\"}", &a);
    CU_ASSERT_EQUAL(a.status, 200);
    CU_ASSERT_STRING_EQUAL(a.outcome, "committed");
    CU_ASSERT_FATAL(a.gid[0] != '\0');
    CU_ASSERT_STRING_EQUAL(a.header, a.gid);
    CU_ASSERT_EQUAL(u_wait_state(s_log, a.gid, DTX_STATE_COMMITTED, 10000), 0);
    CU_ASSERT_EQUAL(u_effects(s_pdb, a.gid, "confirm"), 2);
    CU_ASSERT_EQUAL(u_effects(s_pdb, a.gid, "cancel"), 0);
    char pl[512];
    s_payload(a.gid, 1, pl, sizeof pl);   /* the template, filled */
    CU_ASSERT_STRING_EQUAL(pl, "{\"amount\":450,\"by\":\"127.0.0.1\"}");
    s_payload(a.gid, 2, pl, sizeof pl);   /* no template: the body as sent */
    CU_ASSERT_STRING_EQUAL(pl, "{\"amount\":450,\"note\":\"rent\"}");
    CU_ASSERT(gw_metric(&s_gw, "dtx_gw_run_total{route=\"transfer\",outcome=\"committed\"}") >= 1);
}

static void test_a_no_vote_answers_409_and_cancels_both(void)
{
    gw_outcome_t a;
    s_post("/declined", "{}", &a);
    CU_ASSERT_EQUAL(a.status, 409);
    CU_ASSERT_STRING_EQUAL(a.outcome, "aborted");
    CU_ASSERT_FATAL(a.gid[0] != '\0');
    CU_ASSERT_STRING_EQUAL(a.header, a.gid);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.body, "{\"branch\":2,\"outcome\":\"refused\"}"));
    CU_ASSERT_EQUAL(u_wait_state(s_log, a.gid, DTX_STATE_ABORTED, 10000), 0);
    CU_ASSERT_EQUAL(u_effects(s_pdb, a.gid, "confirm"), 0);
    CU_ASSERT(gw_metric(&s_gw, "dtx_gw_run_total{route=\"declined\",outcome=\"aborted\"}") >= 1);
}

static void test_bad_bodies_and_no_participant_run_nothing(void)
{
    int64_t before = s_globals();
    gw_outcome_t a;
    s_post("/transfer", "{\"note\":\"no amount\"}", &a);
    CU_ASSERT_EQUAL(a.status, 400);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.body, "\"branch\":1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.body, "missing field amount"));
    s_post("/transfer", "not json", &a);
    CU_ASSERT_EQUAL(a.status, 400);
    CU_ASSERT_EQUAL(s_globals(), before);
    CU_ASSERT_EQUAL(a.header[0], '\0');
    /* no live instance of the resource: nothing ran, no gid for the client */
    s_post("/nobody", "{}", &a);
    CU_ASSERT_EQUAL(a.status, 503);
    CU_ASSERT_EQUAL(a.header[0], '\0');
    CU_ASSERT(gw_metric(&s_gw, "dtx_gw_run_total{route=\"nobody\",outcome=\"failed\"}") >= 1);
}

/* Dtx-Run-Id (protocol §19.3): the client's id for the transaction, so the
 * same request may be sent again; a repeat runs nothing and answers the
 * first's outcome. A value that is not an id is 400, nothing run. */
static void test_a_run_id_makes_the_request_safe_to_send_again(void)
{
    int64_t before = s_globals();
    gw_outcome_t a, b;
    const char *h = "Dtx-Run-Id: 01ARZ3NDEKTSV4RRFFQ69G5FB0";
    gw_post_outcome_with(&s_gw, "/transfer", "{\"amount\":7}", h, &a);
    CU_ASSERT_EQUAL(a.status, 200);
    CU_ASSERT_STRING_EQUAL(a.outcome, "committed");
    CU_ASSERT_STRING_EQUAL(a.gid, "01ARZ3NDEKTSV4RRFFQ69G5FB0");
    gw_post_outcome_with(&s_gw, "/transfer", "{\"amount\":7}", h, &b);
    CU_ASSERT_EQUAL(b.status, 200);
    CU_ASSERT_STRING_EQUAL(b.outcome, "committed");
    CU_ASSERT_STRING_EQUAL(b.header, a.gid);
    CU_ASSERT_EQUAL(s_globals(), before + 1);
    CU_ASSERT_EQUAL(u_wait_state(s_log, a.gid, DTX_STATE_COMMITTED, 10000), 0);
    CU_ASSERT_EQUAL(u_effects(s_pdb, a.gid, "try"), 2);
    /* an aborted one: 409 both times, one transaction */
    h = "Dtx-Run-Id: 01ARZ3NDEKTSV4RRFFQ69G5FB1";
    gw_post_outcome_with(&s_gw, "/declined", "{}", h, &a);
    CU_ASSERT_EQUAL(a.status, 409);
    gw_post_outcome_with(&s_gw, "/declined", "{}", h, &b);
    CU_ASSERT_EQUAL(b.status, 409);
    CU_ASSERT_STRING_EQUAL(b.outcome, "aborted");
    CU_ASSERT_EQUAL(s_globals(), before + 2);
    /* not an id: 400, nothing run, no Dtx-Gid */
    gw_post_outcome_with(&s_gw, "/transfer", "{\"amount\":7}", "Dtx-Run-Id: order-1", &a);
    CU_ASSERT_EQUAL(a.status, 400);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.body, "Dtx-Run-Id"));
    CU_ASSERT_EQUAL(a.header[0], '\0');
    CU_ASSERT_EQUAL(s_globals(), before + 2);
}

static void test_swap_checks_branches_and_takes_a_new_route_live(void)
{
    static const struct {
        const char *route, *error;
    } bad[] = {
        { "{\"name\":\"x\",\"match\":{\"path\":\"/x\"},\"transaction\":{\"branches\":["
          "{\"resource\":\"bank-a\",\"action\":\"a\",\"compensation\":\"c\"}]}}",
          "routes[3].transaction.branches[0]" },
        { "{\"name\":\"x\",\"match\":{\"path\":\"/x\"},\"transaction\":{\"branches\":[]}}",
          "routes[3].transaction.branches: must be an array of 1-16" },
        { "{\"name\":\"x\",\"match\":{\"path\":\"/x\"},\"transaction\":{\"mode\":\"saga\","
          "\"branches\":[{\"resource\":\"a\",\"action\":\"b\"}]}}",
          "routes[3].transaction.branches: only with mode" },
        { "{\"name\":\"x\",\"match\":{\"path\":\"/x\"},\"transaction\":{\"commit_on\":[\"2xx\"],"
          "\"branches\":[{\"resource\":\"a\",\"action\":\"b\"}]}}",
          "routes[3].transaction.commit_on: not with branches" },
        { "{\"name\":\"x\",\"match\":{\"path\":\"/x\"},\"pool\":\"svc\",\"transaction\":{"
          "\"branches\":[{\"resource\":\"a\",\"action\":\"b\"}]}}",
          "answers by itself" },
        { "{\"name\":\"x\",\"match\":{\"path\":\"/x\"},\"transaction\":{\"branches\":["
          "{\"resource\":\"bad name\",\"action\":\"b\"}]}}",
          "routes[3].transaction.branches[0].resource" },
        { "{\"name\":\"x\",\"match\":{\"path\":\"/x\"},\"transaction\":{\"branches\":["
          "{\"resource\":\"a\",\"action\":\"b\",\"payload\":{\"g\":\"$gid\"}}]}}",
          "unknown variable $gid" },
    };
    char doc[9000], extra[1024];
    gw_resp_t r;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(extra, sizeof extra, ",%s", bad[i].route);
        s_doc(doc, sizeof doc, extra);
        CU_ASSERT_EQUAL(gw_admin_put(&s_gw, S_TOKEN, doc, 1, &r), 400);
        if (!strstr(r.body ? r.body : "", bad[i].error)) {
            CU_FAIL("the refusal does not name the field");
            fprintf(stderr, "\n  want %s\n  got  %s\n", bad[i].error, r.body ? r.body : "");
        }
        gw_resp_free(&r);
    }
    /* a good one goes live */
    s_doc(doc, sizeof doc, ",{\"name\":\"one\",\"match\":{\"path\":\"/one\"},\"transaction\":{"
                           "\"branches\":[{\"resource\":\"bank-a\",\"action\":\"debit\"}]}}");
    CU_ASSERT_EQUAL(gw_admin_put(&s_gw, S_TOKEN, doc, 0, &r), 200);
    gw_resp_free(&r);
    gw_outcome_t a;
    s_post("/one", "{}", &a);
    CU_ASSERT_EQUAL(a.status, 200);
    CU_ASSERT_STRING_EQUAL(a.outcome, "committed");
}

/* Whether the TCC_RUN left the gateway: no dtxd listens → it never left,
 * 503 with the reason (nothing ran, a retry is safe); a stand-in dtxd
 * that reads every request and never answers → it left, 504 (the outcome
 * is unknown). Before DTX_ENOTSENT both were "timed out", 504. */
static void test_not_sent_answers_503_and_sent_without_answer_504(void)
{
    u_peer_t fake;
    char ep[128];
    CU_ASSERT_FATAL(u_peer_router(&fake, ep, sizeof ep) == 0);
    static const char route[] =
        "{\"name\":\"run\",\"match\":{\"path\":\"/run\"},"
        " \"transaction\":{\"mode\":\"tcc\",\"timeout_ms\":1000,\"branches\":["
        "  {\"resource\":\"bank-a\",\"action\":\"debit\"}]}}";
    const char *where[2] = { "tcp://127.0.0.1:1", ep };
    const long want[2] = { 503, 504 };
    const char *says[2] = { "not sent", "outcome unknown" };
    for (int i = 0; i < 2; i++) {
        gw_proc_t gw;
        CU_ASSERT_FATAL(gw_gateway_start(&gw, i ? "gw-run-sent" : "gw-run-unsent",
                                         "{\"admin\":{\"token\":\"" S_TOKEN "\"},"
                                         "\"dtxd\":{\"endpoint\":\"%s\",\"timeout_ms\":1000},"
                                         "\"pools\":[{\"name\":\"svc\","
                                         "\"targets\":[\"http://127.0.0.1:1\"]}],"
                                         "\"routes\":[%s]}", where[i], route) == 0);
        gw_outcome_t a;
        gw_post_outcome(&gw, "/run", "{}", &a);
        CU_ASSERT_EQUAL(a.status, want[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(a.body, says[i]));
        if (a.status != want[i])
            fprintf(stderr, "gateway_run: %s answered %ld %s", where[i], a.status, a.body);
        CU_ASSERT_EQUAL(a.header[0], '\0');
        CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 10000), 0);
    }
    /* the stand-in got the request the second gateway sent */
    static uint8_t buf[DTX_MSG_MAX];
    dtx_msg_t m;
    uint8_t rid[256];
    size_t rl = sizeof rid;
    CU_ASSERT_EQUAL(u_recv(&fake, &m, buf, sizeof buf, rid, &rl, 1000), 0);
    CU_ASSERT_EQUAL(m.type, DTX_MSG_TCC_RUN);
    u_peer_close(&fake);
}

INTEG_SUITE(gateway_run)
{
    CU_pSuite s = CU_add_suite("gateway_run", s_init, s_cleanup);
    CU_add_test(s, "every yes answers committed with payloads from the body",
                test_every_yes_answers_committed_with_payloads_from_the_body);
    CU_add_test(s, "a no vote answers 409 and cancels both",
                test_a_no_vote_answers_409_and_cancels_both);
    CU_add_test(s, "bad bodies and no participant run nothing",
                test_bad_bodies_and_no_participant_run_nothing);
    CU_add_test(s, "a run id makes the request safe to send again",
                test_a_run_id_makes_the_request_safe_to_send_again);
    CU_add_test(s, "swap checks branches and takes a new route live",
                test_swap_checks_branches_and_takes_a_new_route_live);
    CU_add_test(s, "not sent answers 503 and sent without answer 504",
                test_not_sent_answers_503_and_sent_without_answer_504);
}
