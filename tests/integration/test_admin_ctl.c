/*
 * dtxctl against a real dtxd: human tables, --json, and exit codes that
 * scripts can trust (0 ok, 1 refused or not found, 2 usage, 3 unreachable).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <CUnit/CUnit.h>

#include "dtx/dtx.h"
#include "integ.h"
#include "test_admin_util.h"

static void test_dtxctl_tables_json_and_exit_codes(void)
{
    ta_world_t w;
    const char *args[] = { "--max-attempts", "2", "--retry-base-ms", "20", "--retry-max-ms", "50", NULL };
    CU_ASSERT_FATAL(ta_up(&w, "adm_ctl", args,
                          (const char *const[]){ "--fail-confirm-times", "2", NULL }) == 0);
    static char out[1 << 16];
    char gid[64], cmd[256];
    /* begin / try / end / status: the initiator side */
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, "begin --timeout-ms 600000"), 0);
    out[strcspn(out, "\n")] = '\0';
    CU_ASSERT_EQUAL_FATAL(strlen(out), 26);
    snprintf(gid, sizeof gid, "%.63s", out);
    snprintf(cmd, sizeof cmd, "try %s ra reserve payload", gid);
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, cmd), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "branch 1: ok"));
    snprintf(cmd, sizeof cmd, "status %s --wait 0.3", gid);   /* active: still moving */
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, cmd), 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, " active"));
    snprintf(cmd, sizeof cmd, "end %s commit", gid);
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, cmd), 0);
    snprintf(cmd, sizeof cmd, "status --wait 10 %s", gid);   /* stuck rests: exit 0 */
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, cmd), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, " stuck"));
    CU_ASSERT_EQUAL(ta_wait_state(&w, gid, "stuck", 10000), 0);
    /* list: a table with a header, the stuck one in it */
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, "list --state stuck"), 0);
    CU_ASSERT(strncmp(out, "GID ", 4) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, gid));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "participant failed confirm"));
    /* --json: the server's JSON, parseable */
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, "--json list --state stuck"), 0);
    json_object *o = json_tokener_parse(out), *items = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_TRUE(json_object_object_get_ex(o, "items", &items));
    CU_ASSERT_EQUAL(json_object_array_length(items), 1);
    json_object_put(o);
    /* show: branches and timeline */
    snprintf(cmd, sizeof cmd, "show %s", gid);
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, cmd), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "state      stuck (decision: committing)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "confirm failed"));
    /* refused (409) and not found (404): exit 1 */
    snprintf(cmd, sizeof cmd, "rollback %s --reason 'want it gone'", gid);
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, cmd), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "refused"));
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, "show 01AAAAAAAAAAAAAAAAAAAAAAAA"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "HTTP 404"));
    /* usage: exit 2 (no reason, unknown command, nothing) */
    snprintf(cmd, sizeof cmd, "resume %s", gid);
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, cmd), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "--reason is required"));
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, "frobnicate"), 2);
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, ""), 2);
    /* resume: exit 0, and it ends committed */
    snprintf(cmd, sizeof cmd, "resume %s --reason 'participant fixed' --operator ops", gid);
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, cmd), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "resume"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, ": ok"));
    snprintf(cmd, sizeof cmd, "status %s --wait 10", gid);
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, cmd), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "committed"));
    snprintf(cmd, sizeof cmd, "status %s", gid);
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, cmd), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "committed"));
    snprintf(cmd, sizeof cmd, "status %s --wait soon", gid);   /* usage: exit 2 */
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, cmd), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "--wait takes seconds"));
    /* try-many: several branches in one request, then the initiator's rollback */
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, "begin"), 0);
    out[strcspn(out, "\n")] = '\0';
    snprintf(gid, sizeof gid, "%.63s", out);
    snprintf(cmd, sizeof cmd, "try-many %s ra:reserve:p2 ra:reserve", gid);
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, cmd), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "branch 1: ok"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "branch 2: ok"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "transaction active"));
    snprintf(cmd, sizeof cmd, "try-many %s ra", gid);          /* no action: usage */
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, cmd), 2);
    snprintf(cmd, sizeof cmd, "end %s rollback", gid);
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, cmd), 0);
    /* participants and overview tables */
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, "participants"), 0);
    CU_ASSERT(strncmp(out, "RESOURCE", 8) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "adm_ctl-part"));
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, "overview"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "stuck      0"));
    /* a write without a token: refused, exit 1 */
    char bin[1024], c2[2048];
    h_bin_path("dtxctl", bin, sizeof bin);
    snprintf(c2, sizeof c2, "env -u DTX_TOKEN %s --url %s begin >/dev/null 2>&1", bin, w.url);
    int st = system(c2);
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    ta_down(&w);
    /* nobody listening: exit 3 */
    CU_ASSERT_EQUAL(ta_ctl(NULL, out, sizeof out, "list"), 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "cannot reach"));
}

/* Runs dtxctl with an explicit environment prefix and args (shell). */
static int s_ctl_env(const char *env, char *out, size_t cap, const char *args)
{
    char bin[1024], cmd[4096];
    h_bin_path("dtxctl", bin, sizeof bin);
    snprintf(cmd, sizeof cmd, "env -u DTX_URL -u DTX_TOKEN -u DTX_TOKEN_FILE %s %s %s 2>&1", env,
             bin, args);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_dtxctl_escapes_what_the_server_sends_and_names_its_options(void)
{
    ta_world_t w;
    CU_ASSERT_FATAL(ta_up(&w, "adm_ctlesc", NULL, (const char *const[]){ "none", NULL }) == 0);
    static char out[1 << 16];
    char gid[64], cmd[512];
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, "begin --timeout-ms 600000"), 0);
    out[strcspn(out, "\n")] = '\0';
    snprintf(gid, sizeof gid, "%.63s", out);
    /* (its row goes to the log with its decision: BEGIN writes nothing) */
    snprintf(cmd, sizeof cmd, "rollback %s --reason 'in the log'", gid);
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, cmd), 0);
    /* Whoever can write the log database can put anything in an audit
     * reason (the API itself refuses control characters). */
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO dtx_audit (gid, action, actor, operator, reason, node_id, result, detail)"
             " VALUES ('%s', 'retry', 'tester', E'op\\x1b[31m', E'pwn\\x1b]0;title\\x07"
             "\\x1b[2J\\u009b done', 'n1', 'ok', E'det\\x1b[1m')", gid);
    PGresult *res = PQexec(w.log, sql);
    CU_ASSERT_EQUAL_FATAL(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    snprintf(cmd, sizeof cmd, "show %s", gid);
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, cmd), 0);
    CU_ASSERT_PTR_NULL(strchr(out, 0x1b));
    CU_ASSERT_PTR_NULL(strchr(out, 0x07));
    CU_ASSERT_PTR_NULL(strstr(out, "\xc2\x9b"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "pwn\\x1B]0;title\\x07"));
    snprintf(cmd, sizeof cmd, "--json show %s", gid);
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, cmd), 0);
    CU_ASSERT_PTR_NULL(strchr(out, 0x1b));
    CU_ASSERT_PTR_NULL(strstr(out, "\xc2\x9b"));
    json_object *o = json_tokener_parse(out);
    CU_ASSERT_PTR_NOT_NULL(o);
    json_object_put(o);
    /* Cannot reach: the message names --url and DTX_URL. */
    CU_ASSERT_EQUAL(s_ctl_env("", out, sizeof out, "--url http://127.0.0.1:1 overview"), 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "--url"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "DTX_URL"));
    /* 401 without a token and with a wrong one: names --token-file and the
     * environment variables. */
    snprintf(cmd, sizeof cmd, "--url %s begin", w.url);
    CU_ASSERT_EQUAL(s_ctl_env("", out, sizeof out, cmd), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "sent no token"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "--token-file"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "DTX_TOKEN_FILE"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "DTX_TOKEN"));
    CU_ASSERT_EQUAL(s_ctl_env("DTX_TOKEN=wrong-token-0123456789", out, sizeof out, cmd), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "was refused"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "--token-file"));
    ta_down(&w);
}

/* A Saga in dtxctl show, list --mode saga and GET /api/v1/tx/{gid}: its
 * plan (compensations, pivot, dependencies) and its progress. */
static void test_dtxctl_shows_a_saga_plan_and_progress(void)
{
    ta_world_t w;
    CU_ASSERT_FATAL(ta_up(&w, "adm_saga", NULL, NULL) == 0);
    int err = 0;
    dtx_client_t *c = dtx_client_new(w.d.endpoint, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    dtx_saga_t *s = dtx_saga_new(NULL);
    dtx_saga_add_step(s, "ra", "book", "unbook", NULL, 0, 0);
    dtx_saga_add_step(s, "ra", "hold", "unhold", NULL, 0, 0);
    dtx_saga_add_step(s, "ra", "charge", NULL, NULL, 0, DTX_STEP_PIVOT);
    dtx_saga_add_dependency(s, 3, 1);
    dtx_saga_add_dependency(s, 3, 2);
    char gid[DTX_GID_SIZE];
    CU_ASSERT_EQUAL_FATAL(dtx_client_saga_submit(c, s, 30000, gid), 0);
    dtx_saga_destroy(&s);
    CU_ASSERT_EQUAL(dtx_client_saga_wait(c, gid, 15000, NULL), 0);
    dtx_client_destroy(&c);
    static char out[1 << 16];
    char cmd[256];
    snprintf(cmd, sizeof cmd, "show %s", gid);
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, cmd), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "mode       saga"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "saga       3 steps: 3 done, 0 compensated"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "unhold"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "(pivot)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "1,2"));
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, "list --mode saga"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, gid));
    char path[128];
    snprintf(path, sizeof path, "/api/v1/transactions/%s", gid);
    json_object *o = NULL, *brs = NULL;
    CU_ASSERT_EQUAL(ta_req(&w, "GET", path, NULL, TA_TOKEN, &o), 200);
    CU_ASSERT_TRUE_FATAL(o && json_object_object_get_ex(o, "branches", &brs));
    CU_ASSERT_STRING_EQUAL(ta_str(json_object_array_get_idx(brs, 0), "compensation"), "unbook");
    CU_ASSERT_STRING_EQUAL(ta_str(json_object_array_get_idx(brs, 2), "pivot"), "true");
    json_object_put(o);
    /* its actions in the phase latency histogram, under their own op */
    static char text[1 << 17];
    CU_ASSERT_EQUAL(ta_req_raw(&w, "GET", "/metrics", NULL, 0, NULL, text, sizeof text), 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "dtx_phase_latency_seconds_count{op=\"action\"} 3\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "dtx_phase_latency_seconds_count{op=\"compensate\"} 0\n"));
    ta_down(&w);
}

/* Waits up to 5 s for dtxd's /metrics to hold line (a whole line). */
static int s_metric_line(ta_world_t *w, const char *line)
{
    static char text[1 << 16];
    char want[256];
    snprintf(want, sizeof want, "\n%s\n", line);
    for (int i = 0; i < 50; i++) {
        if (ta_req_raw(w, "GET", "/metrics", NULL, 0, NULL, text, sizeof text) == 200 &&
            strstr(text, want))
            return 0;
        h_sleep_ms(100);
    }
    fprintf(stderr, "\n  /metrics has no line \"%s\"\n", line);
    return -1;
}

/* POST /api/v1/saga: the HTTP form of SAGA; bad plans are 400 with the
 * rule they break, nothing written. */
static void test_http_saga_submit_runs_the_plan_and_refuses_bad_ones(void)
{
    ta_world_t w;
    CU_ASSERT_FATAL(ta_up(&w, "adm_saga_http", NULL, NULL) == 0);
    json_object *o = NULL;
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/saga",
                           "{\"timeout_ms\":30000,\"steps\":["
                           "{\"resource\":\"ra\",\"action\":\"book\",\"compensation\":\"unbook\","
                           "\"payload\":\"{}\"},"
                           "{\"resource\":\"ra\",\"action\":\"hold\",\"compensation\":\"unhold\","
                           "\"payload_base64\":\"AAEC\"},"
                           "{\"resource\":\"ra\",\"action\":\"pay\",\"pivot\":true,\"after\":[2,1]}]}",
                           TA_TOKEN, &o), 201);
    char gid[64];
    snprintf(gid, sizeof gid, "%s", ta_str(o, "gid"));
    json_object_put(o);
    CU_ASSERT_EQUAL_FATAL(strlen(gid), 26);
    CU_ASSERT_EQUAL(ta_wait_state(&w, gid, "committed", 15000), 0);
    CU_ASSERT_EQUAL(h_db_scalar(w.log, "SELECT length(payload) FROM dtx_branch WHERE gid = '%s'"
                                       " AND branch_no = 2", gid), 3);
    CU_ASSERT_EQUAL(s_metric_line(&w, "dtx_transactions_finished_total{mode=\"saga\","
                                      "outcome=\"committed\"} 1"), 0);
    /* a pivot that does not follow every earlier step */
    char raw[1024];
    CU_ASSERT_EQUAL(ta_req_raw(&w, "POST", "/api/v1/saga",
                               "{\"steps\":[{\"resource\":\"ra\",\"action\":\"a\",\"compensation\":\"u\"},"
                               "{\"resource\":\"ra\",\"action\":\"b\",\"compensation\":\"u\"},"
                               "{\"resource\":\"ra\",\"action\":\"p\",\"pivot\":true,\"after\":[1]}]}",
                               (size_t)-1, TA_TOKEN, raw, sizeof raw), 400);
    CU_ASSERT_PTR_NOT_NULL(strstr(raw, "every earlier step"));
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/saga", "{\"steps\":[]}", TA_TOKEN, NULL), 400);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/saga",
                           "{\"steps\":[{\"resource\":\"ra\",\"action\":\"a\"}]}", TA_TOKEN, NULL),
                    400); /* no compensation, no pivot */
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/saga",
                           "{\"steps\":[{\"resource\":\"ra\",\"action\":\"a\",\"compensation\":\"u\"}]}",
                           NULL, NULL), 401);
    CU_ASSERT_EQUAL(h_db_scalar(w.log, "SELECT count(*) FROM dtx_global"), 1);
    ta_down(&w);
}

/* POST /api/v1/msg: the HTTP form of TMSG; /tx/{gid}/commit submits it;
 * dtxctl show tells its destinations and check-back; an undecided message
 * cannot be forced; bad input is 400 with its reason, nothing written. */
static void test_http_msg_prepare_submit_and_show(void)
{
    ta_world_t w;
    CU_ASSERT_FATAL(ta_up(&w, "adm_msg_http", NULL, NULL) == 0);
    json_object *o = NULL;
    const char *body = "{\"timeout_ms\":30000,\"checkback\":\"ra\",\"destinations\":["
                       "{\"resource\":\"ra\",\"action\":\"created\",\"payload\":\"{}\"},"
                       "{\"resource\":\"ra\",\"action\":\"billed\",\"payload_base64\":\"AAEC\"}]}";
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/msg", body, TA_TOKEN, &o), 201);
    char gid[64], path[160];
    snprintf(gid, sizeof gid, "%s", ta_str(o, "gid"));
    json_object_put(o);
    CU_ASSERT_EQUAL_FATAL(strlen(gid), 26);
    /* not decided yet: no operator may force it either way */
    snprintf(path, sizeof path, "/api/v1/transactions/%s/force-rollback", gid);
    char raw[1024];
    CU_ASSERT_EQUAL(ta_req_raw(&w, "POST", path, "{\"reason\":\"test\"}", (size_t)-1, TA_TOKEN,
                               raw, sizeof raw), 409);
    CU_ASSERT_PTR_NOT_NULL(strstr(raw, "not decided yet"));
    snprintf(path, sizeof path, "/api/v1/tx/%s/commit", gid);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", path, "{}", TA_TOKEN, NULL), 200);
    CU_ASSERT_EQUAL(ta_wait_state(&w, gid, "committed", 15000), 0);
    CU_ASSERT_EQUAL(h_db_scalar(w.log, "SELECT length(payload) FROM dtx_branch WHERE gid = '%s'"
                                       " AND branch_no = 2", gid), 3);
    static char out[1 << 16];
    char cmd[256];
    snprintf(cmd, sizeof cmd, "show %s", gid);
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, cmd), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "mode       msg"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "message    2 destinations: 2 delivered; check-back ra"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "billed"));
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, "list --mode msg"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, gid));
    snprintf(path, sizeof path, "/api/v1/transactions/%s", gid);
    json_object *tx = NULL;
    CU_ASSERT_EQUAL(ta_req(&w, "GET", path, NULL, TA_TOKEN, &o), 200);
    CU_ASSERT_TRUE(o && json_object_object_get_ex(o, "transaction", &tx));
    CU_ASSERT_STRING_EQUAL(ta_str(tx, "checkback"), "ra");
    json_object_put(o);
    /* never submitted: its check-back finds no outbox row, it is dropped */
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/msg",
                           "{\"timeout_ms\":300,\"checkback\":\"ra\",\"destinations\":["
                           "{\"resource\":\"ra\",\"action\":\"created\"}]}", TA_TOKEN, &o), 201);
    snprintf(gid, sizeof gid, "%s", ta_str(o, "gid"));
    json_object_put(o);
    CU_ASSERT_EQUAL(ta_wait_state(&w, gid, "aborted", 15000), 0);
    CU_ASSERT_EQUAL(s_metric_line(&w, "dtx_transactions_finished_total{mode=\"msg\","
                                      "outcome=\"committed\"} 1"), 0);
    CU_ASSERT_EQUAL(s_metric_line(&w, "dtx_transactions_finished_total{mode=\"msg\","
                                      "outcome=\"aborted\"} 1"), 0);
    CU_ASSERT_EQUAL(s_metric_line(&w, "dtx_transactions_finished_total{mode=\"tcc\","
                                      "outcome=\"committed\"} 0"), 0);
    int64_t before = h_db_scalar(w.log, "SELECT count(*) FROM dtx_global");
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/msg", "{\"checkback\":\"ra\",\"destinations\":[]}",
                           TA_TOKEN, NULL), 400);
    CU_ASSERT_EQUAL(ta_req_raw(&w, "POST", "/api/v1/msg",
                               "{\"destinations\":[{\"resource\":\"ra\",\"action\":\"a\"}]}",
                               (size_t)-1, TA_TOKEN, raw, sizeof raw), 400);
    CU_ASSERT_PTR_NOT_NULL(strstr(raw, "checkback"));
    CU_ASSERT_EQUAL(ta_req_raw(&w, "POST", "/api/v1/msg",
                               "{\"checkback\":\"ra\",\"destinations\":[{\"resource\":\"no such\","
                               "\"action\":\"a\"}]}", (size_t)-1, TA_TOKEN, raw, sizeof raw), 400);
    CU_ASSERT_PTR_NOT_NULL(strstr(raw, "destinations[0]"));
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/msg",
                           "{\"checkback\":\"ra\",\"destinations\":[{\"resource\":\"ra\"}]}",
                           NULL, NULL), 401);
    CU_ASSERT_EQUAL(h_db_scalar(w.log, "SELECT count(*) FROM dtx_global"), before);
    ta_down(&w);
}

INTEG_SUITE(admin_ctl)
{
    CU_pSuite s = CU_add_suite("admin_ctl", NULL, NULL);
    CU_add_test(s, "dtxctl tables, json and exit codes", test_dtxctl_tables_json_and_exit_codes);
    CU_add_test(s, "dtxctl shows a saga plan and progress", test_dtxctl_shows_a_saga_plan_and_progress);
    CU_add_test(s, "http saga submit runs the plan and refuses bad ones", test_http_saga_submit_runs_the_plan_and_refuses_bad_ones);
    CU_add_test(s, "http msg prepare, submit and show", test_http_msg_prepare_submit_and_show);
    CU_add_test(s, "dtxctl escapes what the server sends and names its options",
                test_dtxctl_escapes_what_the_server_sends_and_names_its_options);
}
