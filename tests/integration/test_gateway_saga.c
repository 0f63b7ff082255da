/*
 * Sagas started at the edge (docs/gateway.md, "Sagas at the edge"): a real
 * dtx-gateway whose saga routes submit plans to a real dtxd, run by real
 * test-participant processes over PostgreSQL. The answer the HTTP client
 * gets is the Saga's outcome; the participants' ledger shows what each
 * step received.
 *
 *   pt serves flights, hotels, payments (refuses actions named
 *      "decline") and cars;
 *   ps serves sticky: every compensation fails (the Saga goes stuck).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "dtx/types.h"
#include "gw_util.h"
#include "integ.h"
#include "util.h"

#define S_TOKEN "gw-admin-token-5a1c09e3"

static h_dtxd_t s_dtxd;
static gw_proc_t s_gw;
static PGconn *s_log, *s_pdb;
static pid_t s_pt, s_ps;

/* The routes every configuration of the suite has. */
static const char s_routes[] =
    "{\"name\":\"trips\",\"match\":{\"path\":\"/trips\"},"
    " \"validate\":{\"json_fields\":{\"trip\":\"string\"}},"
    " \"transaction\":{\"mode\":\"saga\",\"timeout_ms\":20000,\"steps\":["
    "  {\"resource\":\"flights\",\"action\":\"book\",\"compensation\":\"cancel\","
    "   \"payload\":{\"trip\":\"$body.trip\",\"seats\":\"$body.party.size\",\"by\":\"$remote_addr\"}},"
    "  {\"resource\":\"hotels\",\"action\":\"book\",\"compensation\":\"cancel\"},"
    "  {\"resource\":\"payments\",\"action\":\"charge\",\"compensation\":\"refund\","
    "   \"payload\":\"$body.amount\"}]}},"
    "{\"name\":\"declined\",\"match\":{\"path\":\"/declined\"},"
    " \"transaction\":{\"mode\":\"saga\",\"steps\":["
    "  {\"resource\":\"flights\",\"action\":\"book\",\"compensation\":\"cancel\"},"
    "  {\"resource\":\"hotels\",\"action\":\"book\",\"compensation\":\"cancel\"},"
    "  {\"resource\":\"payments\",\"action\":\"decline\",\"compensation\":\"refund\"}]}},"
    "{\"name\":\"fanout\",\"match\":{\"path\":\"/fanout\"},"
    " \"transaction\":{\"mode\":\"saga\",\"steps\":["
    "  {\"resource\":\"flights\",\"action\":\"book\",\"compensation\":\"cancel\"},"
    "  {\"resource\":\"hotels\",\"action\":\"book\",\"compensation\":\"cancel\"},"
    "  {\"resource\":\"payments\",\"action\":\"charge\",\"pivot\":true,\"after\":[1,2]},"
    "  {\"resource\":\"cars\",\"action\":\"book\",\"compensation\":\"cancel\",\"after\":[3]}]}},"
    "{\"name\":\"sticky\",\"match\":{\"path\":\"/sticky\"},"
    " \"transaction\":{\"mode\":\"saga\",\"steps\":["
    "  {\"resource\":\"sticky\",\"action\":\"hold\",\"compensation\":\"unhold\"},"
    "  {\"resource\":\"payments\",\"action\":\"decline\",\"compensation\":\"refund\"}]}},"
    "{\"name\":\"async\",\"match\":{\"path\":\"/async\"},"
    " \"transaction\":{\"mode\":\"saga\",\"wait_ms\":0,\"steps\":["
    "  {\"resource\":\"flights\",\"action\":\"book\",\"compensation\":\"cancel\"}]}}";

/* A whole configuration: dtxd at endpoint, s_routes and extra routes. */
static void s_doc(char *out, size_t cap, const char *endpoint, const char *extra)
{
    snprintf(out, cap,
             "{\"admin\":{\"token\":\"" S_TOKEN "\"},"
             "\"dtxd\":{\"endpoint\":\"%s\",\"timeout_ms\":3000},"
             "\"pools\":[{\"name\":\"svc\",\"targets\":[\"http://127.0.0.1:1\"]}],"
             "\"routes\":[%s%s]}", endpoint, s_routes, extra ? extra : "");
}

static int s_init(void)
{
    static const char *fast[] = { "--phase-timeout-ms", "5000", "--retry-base-ms", "50",
                                  "--retry-max-ms", "200", "--max-attempts", "4", NULL };
    char log[H_CONNINFO_SIZE], pdb[H_CONNINFO_SIZE];
    if (h_init() < 0 || h_db_create("gw_saga_log", log, sizeof log) < 0 ||
        h_db_create("gw_saga_p", pdb, sizeof pdb) < 0)
        return -1;
    memset(&s_dtxd, 0, sizeof s_dtxd);
    snprintf(s_dtxd.logname, sizeof s_dtxd.logname, "gw-saga-dtxd");
    if (h_dtxd_start(&s_dtxd, log, fast) < 0)
        return -1;
    const char *pt[] = { "--resource", "flights", "--resource", "hotels", "--resource",
                         "payments", "--resource", "cars", "--refuse-action", "decline", NULL };
    const char *ps[] = { "--resource", "sticky", "--fail-op-times", "compensate:1000000", NULL };
    s_pt = h_participant_spawn("gw-saga-pt", pdb, s_dtxd.endpoint, pt);
    s_ps = h_participant_spawn("gw-saga-ps", pdb, s_dtxd.endpoint, ps);
    if (s_pt < 0 || s_ps < 0 || h_participant_ready("gw-saga-pt", s_pt) < 0 ||
        h_participant_ready("gw-saga-ps", s_ps) < 0)
        return -1;
    char doc[8192];
    s_doc(doc, sizeof doc, s_dtxd.endpoint, NULL);
    if (gw_gateway_start(&s_gw, "gw-saga", "%s", doc) < 0)
        return -1;
    s_log = h_db_connect("gw_saga_log");
    s_pdb = h_db_connect("gw_saga_p");
    return s_log && s_pdb ? 0 : -1;
}

static int s_cleanup(void)
{
    int rc = h_stop(s_gw.pid, SIGTERM, 10000) == 0 ? 0 : -1;
    if (s_pt > 0 && h_stop(s_pt, SIGTERM, 5000) != 0)
        rc = -1;
    if (s_ps > 0 && h_stop(s_ps, SIGTERM, 5000) != 0)
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

/* What step `branch` of gid received in its action. */
static void s_payload(const char *gid, int branch, char *out, size_t cap)
{
    out[0] = '\0';
    h_db_scalar_text(s_pdb, out, cap,
                     "SELECT convert_from(payload, 'UTF8') FROM ledger WHERE gid = '%s'"
                     " AND branch = %d AND op = 'action' ORDER BY at LIMIT 1", gid, branch);
}

static int64_t s_globals(void)
{
    return h_db_scalar(s_log, "SELECT count(*) FROM dtx_global");
}

static void test_saga_route_answers_committed_with_payloads_from_the_body(void)
{
    gw_outcome_t a;
    s_post("/trips", "{\"trip\":\"T-17\",\"party\":{\"size\":3},\"amount\":450}", &a);
    CU_ASSERT_EQUAL(a.status, 200);
    CU_ASSERT_STRING_EQUAL(a.outcome, "committed");
    CU_ASSERT_FATAL(a.gid[0] != '\0');
    CU_ASSERT_STRING_EQUAL(a.header, a.gid);
    CU_ASSERT_EQUAL(u_log_state(s_log, a.gid), DTX_STATE_COMMITTED);
    CU_ASSERT_EQUAL(u_effects(s_pdb, a.gid, "action"), 3);
    CU_ASSERT_EQUAL(u_deliveries(s_pdb, a.gid, "compensate"), 0);
    char pl[512];
    s_payload(a.gid, 1, pl, sizeof pl);   /* the template, filled */
    CU_ASSERT_STRING_EQUAL(pl, "{\"trip\":\"T-17\",\"seats\":3,\"by\":\"127.0.0.1\"}");
    s_payload(a.gid, 2, pl, sizeof pl);   /* no template: the body as sent */
    CU_ASSERT_STRING_EQUAL(pl, "{\"trip\":\"T-17\",\"party\":{\"size\":3},\"amount\":450}");
    s_payload(a.gid, 3, pl, sizeof pl);
    CU_ASSERT_STRING_EQUAL(pl, "450");
    CU_ASSERT(gw_metric(&s_gw, "dtx_gw_saga_total{route=\"trips\",outcome=\"committed\"}") >= 1);
}

static void test_refused_step_answers_compensated_and_undoes_the_others(void)
{
    gw_outcome_t a;
    s_post("/declined", "{\"trip\":\"T-18\"}", &a);
    CU_ASSERT_EQUAL(a.status, 409);
    CU_ASSERT_STRING_EQUAL(a.outcome, "compensated");
    CU_ASSERT_FATAL(a.gid[0] != '\0');
    CU_ASSERT_STRING_EQUAL(a.header, a.gid);
    CU_ASSERT_EQUAL(u_log_state(s_log, a.gid), DTX_STATE_ABORTED);
    CU_ASSERT_EQUAL(u_effects(s_pdb, a.gid, "action"), 2);       /* payments refused */
    CU_ASSERT_EQUAL(u_effects(s_pdb, a.gid, "compensate"), 2);   /* flights and hotels undone */
    CU_ASSERT(gw_metric(&s_gw, "dtx_gw_saga_total{route=\"declined\",outcome=\"compensated\"}") >= 1);
}

static void test_concurrent_plan_with_a_pivot_commits(void)
{
    gw_outcome_t a;
    s_post("/fanout", "{}", &a);
    CU_ASSERT_EQUAL(a.status, 200);
    CU_ASSERT_STRING_EQUAL(a.outcome, "committed");
    CU_ASSERT_EQUAL(u_effects(s_pdb, a.gid, "action"), 4);
    /* the plan as dtxd recorded it: the pivot has no compensation */
    char undo[64] = "";
    h_db_scalar_text(s_log, undo, sizeof undo,
                     "SELECT string_agg(coalesce(undo_action, '-'), ',' ORDER BY branch_no)"
                     " FROM dtx_branch WHERE gid = '%s'", a.gid);
    CU_ASSERT_STRING_EQUAL(undo, "cancel,cancel,-,cancel");
}

static void test_compensation_that_never_succeeds_answers_stuck(void)
{
    gw_outcome_t a;
    s_post("/sticky", "{}", &a);
    CU_ASSERT_EQUAL(a.status, 500);
    CU_ASSERT_STRING_EQUAL(a.outcome, "stuck");
    CU_ASSERT(strstr(a.body, "dtxctl resume") != NULL);
    CU_ASSERT_EQUAL(u_log_state(s_log, a.gid), DTX_STATE_STUCK);
}

static void test_wait_ms_0_answers_202_at_once_and_the_saga_still_runs(void)
{
    gw_outcome_t a;
    s_post("/async", "{}", &a);
    CU_ASSERT_EQUAL(a.status, 202);
    CU_ASSERT_STRING_EQUAL(a.outcome, "running");
    CU_ASSERT_FATAL(a.gid[0] != '\0');
    CU_ASSERT_EQUAL(u_wait_state(s_log, a.gid, DTX_STATE_COMMITTED, 10000), 0);
}

static void test_body_without_a_templated_field_is_refused_before_any_saga(void)
{
    int64_t before = s_globals();
    gw_outcome_t a;
    s_post("/trips", "{\"trip\":\"T-19\",\"amount\":10}", &a);   /* no party.size */
    CU_ASSERT_EQUAL(a.status, 400);
    CU_ASSERT(strstr(a.body, "missing field party.size") != NULL);
    CU_ASSERT(strstr(a.body, "\"step\":1") != NULL);
    CU_ASSERT_STRING_EQUAL(a.header, "");
    s_post("/trips", "{\"amount\":10}", &a);                     /* validation: no trip */
    CU_ASSERT_EQUAL(a.status, 400);
    CU_ASSERT_EQUAL(s_globals(), before);
}

static void test_swap_checks_plans_and_takes_a_new_saga_route_live(void)
{
    char doc[9000];
    gw_resp_t r;
    /* a step without a compensation (not the pivot): refused, naming it */
    s_doc(doc, sizeof doc, s_dtxd.endpoint,
          ",{\"name\":\"bad\",\"match\":{\"path\":\"/bad\"},\"transaction\":{\"mode\":\"saga\","
          "\"steps\":[{\"resource\":\"flights\",\"action\":\"book\"}]}}");
    CU_ASSERT_EQUAL(gw_admin_put(&s_gw, S_TOKEN, doc, 0, &r), 400);
    CU_ASSERT(strstr(r.body ? r.body : "", "routes[5].transaction.steps[0].compensation: "
                                           "is required") != NULL);
    gw_resp_free(&r);
    /* a pivot that does not wait for an earlier step of a concurrent plan */
    s_doc(doc, sizeof doc, s_dtxd.endpoint,
          ",{\"name\":\"bad\",\"match\":{\"path\":\"/bad\"},\"transaction\":{\"mode\":\"saga\","
          "\"steps\":[{\"resource\":\"a\",\"action\":\"x\",\"compensation\":\"y\"},"
          "{\"resource\":\"b\",\"action\":\"x\",\"compensation\":\"y\",\"after\":[1]},"
          "{\"resource\":\"c\",\"action\":\"x\",\"pivot\":true,\"after\":[2]}]}}");
    CU_ASSERT_EQUAL(gw_admin_put(&s_gw, S_TOKEN, doc, 1, &r), 400);
    CU_ASSERT(strstr(r.body ? r.body : "", "routes[5].transaction.steps:") != NULL);
    CU_ASSERT(strstr(r.body ? r.body : "", "pivot") != NULL);
    gw_resp_free(&r);
    /* the old configuration still serves */
    gw_outcome_t a;
    s_post("/bad", "{}", &a);
    CU_ASSERT_EQUAL(a.status, 404);
    /* a good new route, live */
    s_doc(doc, sizeof doc, s_dtxd.endpoint,
          ",{\"name\":\"cars\",\"match\":{\"path\":\"/cars\"},\"transaction\":{\"mode\":\"saga\","
          "\"steps\":[{\"resource\":\"cars\",\"action\":\"book\",\"compensation\":\"cancel\","
          "\"payload\":[\"$body.model\",\"$consumer\",\"$$5\"]}]}}");
    CU_ASSERT_EQUAL(gw_admin_put(&s_gw, S_TOKEN, doc, 0, &r), 200);
    gw_resp_free(&r);
    s_post("/cars", "{\"model\":\"zoe\"}", &a);
    CU_ASSERT_EQUAL(a.status, 200);
    char pl[256];
    s_payload(a.gid, 1, pl, sizeof pl);
    CU_ASSERT_STRING_EQUAL(pl, "[\"zoe\",\"\",\"$5\"]");
    /* dtxd unreachable: 503, no gid */
    s_doc(doc, sizeof doc, "tcp://127.0.0.1:1", NULL);
    CU_ASSERT_EQUAL(gw_admin_put(&s_gw, S_TOKEN, doc, 0, &r), 200);
    gw_resp_free(&r);
    s_post("/async", "{}", &a);
    CU_ASSERT_EQUAL(a.status, 503);
    CU_ASSERT(strstr(a.body, "cannot start the saga") != NULL);
    CU_ASSERT_STRING_EQUAL(a.header, "");
    CU_ASSERT(gw_metric(&s_gw, "dtx_gw_saga_total{route=\"async\",outcome=\"submit_failed\"}") >= 1);
    s_doc(doc, sizeof doc, s_dtxd.endpoint, NULL);
    CU_ASSERT_EQUAL(gw_admin_put(&s_gw, S_TOKEN, doc, 0, &r), 200);
    gw_resp_free(&r);
}

INTEG_SUITE(gateway_saga)
{
    CU_pSuite s = CU_add_suite("gateway_saga", s_init, s_cleanup);
    CU_add_test(s, "saga route answers committed with payloads from the body",
                test_saga_route_answers_committed_with_payloads_from_the_body);
    CU_add_test(s, "refused step answers compensated and undoes the others",
                test_refused_step_answers_compensated_and_undoes_the_others);
    CU_add_test(s, "concurrent plan with a pivot commits",
                test_concurrent_plan_with_a_pivot_commits);
    CU_add_test(s, "compensation that never succeeds answers stuck",
                test_compensation_that_never_succeeds_answers_stuck);
    CU_add_test(s, "wait_ms 0 answers 202 at once and the saga still runs",
                test_wait_ms_0_answers_202_at_once_and_the_saga_still_runs);
    CU_add_test(s, "body without a templated field is refused before any saga",
                test_body_without_a_templated_field_is_refused_before_any_saga);
    CU_add_test(s, "swap checks plans and takes a new saga route live",
                test_swap_checks_plans_and_takes_a_new_saga_route_live);
}
