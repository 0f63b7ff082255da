/*
 * The admin HTTP API over real HTTP against a real dtxd, PostgreSQL and
 * test participant: probes and metrics, every error code, token
 * enforcement, the initiator operations, operator actions with their
 * audit. The lists (participants, paging) are test_admin_list.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "integ.h"
#include "test_admin_util.h"
#include "util.h"

static void test_probes_and_metrics_answer(void)
{
    ta_world_t w;
    CU_ASSERT_FATAL(ta_up(&w, "adm_probes", NULL, NULL) == 0);
    json_object *o = NULL;
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/healthz", NULL, NULL, &o), 200);
    CU_ASSERT_STRING_EQUAL(ta_str(o, "status"), "ok");
    json_object_put(o);
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/readyz", NULL, NULL, &o), 200);
    CU_ASSERT_STRING_EQUAL(ta_str(o, "status"), "ready");
    CU_ASSERT_STRING_EQUAL(ta_str(o, "schema"), ta_str(o, "schema_wanted"));
    json_object_put(o);
    char gid[64];
    CU_ASSERT_FATAL(ta_commit_one(&w, gid) == 0);
    CU_ASSERT_EQUAL(ta_wait_state(&w, gid, "committed", 5000), 0);
    static char text[1 << 16];
    CU_ASSERT_EQUAL(ta_req_raw(&w, "GET", "/metrics", NULL, 0, NULL, text, sizeof text), 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "# TYPE dtx_transactions_begun_total counter"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "dtx_transactions_begun_total 1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "dtx_transactions_committed_total 1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "# TYPE dtx_transactions_finished_total counter"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(text, "dtx_transactions_finished_total{mode=\"tcc\",outcome=\"committed\"} 1\n"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(text, "dtx_transactions_finished_total{mode=\"saga\",outcome=\"aborted\"} 0\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "# TYPE dtx_phase_latency_seconds histogram"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "dtx_phase_latency_seconds_bucket{op=\"try\",le=\"+Inf\"} 1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "dtx_phase_latency_seconds_count{op=\"confirm\"} 1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "dtx_transaction_duration_seconds_count{outcome=\"committed\"} 1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "dtx_store_round_trips_total{store=\"log\"}"));
    /* the Confirms' acknowledgements and the final state went lazily */
    const char *lazy = strstr(text, "\ndtx_store_lazy_round_trips_total ");
    CU_ASSERT_PTR_NOT_NULL(lazy);
    CU_ASSERT_TRUE(lazy && atoi(lazy + strlen("\ndtx_store_lazy_round_trips_total ")) >= 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "dtx_store_batch_size_max{store=\"admin\"}"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "dtx_participant_instances 1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "dtx_lease_held 1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "dtx_lease_lapses_total 0\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "dtx_transactions_stuck 0\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "dtx_recovery_due{scan=\"own\"}"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "# TYPE dtx_store_batch_seconds histogram"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "dtx_store_batch_seconds_bucket{store=\"log\",le=\"+Inf\"}"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "dtx_store_batch_ops_bucket{store=\"log\",le=\"1\"}"));
    ta_down(&w);
}

static int64_t s_sum(json_object *o, const char *key)
{
    json_object *a = NULL;
    int64_t n = 0;
    if (!json_object_object_get_ex(o, key, &a) || !json_object_is_type(a, json_type_array))
        return -1;
    for (size_t i = 0; i < json_object_array_length(a); i++)
        n += json_object_get_int64(json_object_array_get_idx(a, i));
    return n;
}

/* GET /api/v1/series: a transaction that ran shows in the last hour's
 * arrays (its second once it is over), gauges are sampled, and the window
 * is checked. */
static void test_series_show_what_ran(void)
{
    ta_world_t w;
    CU_ASSERT_FATAL(ta_up(&w, "adm_series", NULL, NULL) == 0);
    char gid[64];
    CU_ASSERT_FATAL(ta_commit_one(&w, gid) == 0);
    CU_ASSERT_EQUAL(ta_wait_state(&w, gid, "committed", 5000), 0);
    json_object *o = NULL, *a = NULL, *lat = NULL;
    int64_t commits = 0;
    for (int i = 0; i < 50 && commits < 1; i++) { /* until its second is over */
        json_object_put(o);
        o = NULL;
        CU_ASSERT_EQUAL_FATAL(ta_req(&w, "GET", "/api/v1/series?window=5m", NULL, NULL, &o), 200);
        commits = s_sum(o, "commits");
        if (commits < 1)
            h_sleep_ms(100);
    }
    CU_ASSERT_EQUAL(commits, 1);
    CU_ASSERT_EQUAL(s_sum(o, "aborts"), 0);
    CU_ASSERT_TRUE(json_object_object_get_ex(o, "in_flight", &a));
    CU_ASSERT_EQUAL(json_object_array_length(a), 300);
    CU_ASSERT_EQUAL(json_object_get_int64(json_object_object_get(o, "window_s")), 300);
    CU_ASSERT_TRUE(json_object_object_get_ex(o, "latency", &lat));
    CU_ASSERT_TRUE(s_sum(lat, "calls") >= 2); /* its try and its confirm */
    json_object *p99 = NULL;
    CU_ASSERT_TRUE(json_object_object_get_ex(lat, "p99_ms", &p99));
    int valued = 0;
    for (size_t i = 0; i < json_object_array_length(p99); i++)
        valued += json_object_array_get_idx(p99, i) != NULL;
    CU_ASSERT_TRUE(valued >= 1);
    json_object_put(o);
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/api/v1/series", NULL, NULL, &o), 200);
    CU_ASSERT_EQUAL(json_object_get_int64(json_object_object_get(o, "window_s")), 3600);
    json_object_put(o);
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/api/v1/series?window=2h", NULL, NULL, NULL), 400);
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/api/v1/series?window=10s", NULL, NULL, NULL), 400);
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/api/v1/series?window=x", NULL, NULL, NULL), 400);
    ta_down(&w);
}

static void test_every_error_code_has_its_status(void)
{
    ta_world_t w;
    CU_ASSERT_FATAL(ta_up(&w, "adm_errors", NULL, (const char *const[]){ "none", NULL }) == 0);
    json_object *o = NULL;
    /* 404: unknown gid (show, status, actions), unknown endpoint */
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/api/v1/transactions/01AAAAAAAAAAAAAAAAAAAAAAAA", NULL,
                           NULL, &o), 404);
    CU_ASSERT_STRING_EQUAL(ta_str(o, "code"), "not_found");
    CU_ASSERT_PTR_NOT_NULL(strstr(ta_str(o, "error"), "01AAAAAAAAAAAAAAAAAAAAAAAA"));
    json_object_put(o);
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/api/v1/tx/01AAAAAAAAAAAAAAAAAAAAAAAA", NULL, NULL, NULL), 404);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/transactions/01AAAAAAAAAAAAAAAAAAAAAAAA/resume",
                           "{\"reason\":\"r\"}", TA_TOKEN, NULL), 404);
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/api/v1/nothing", NULL, NULL, NULL), 404);
    /* 400: bad JSON (with a message), bad filter, bad gid, missing reason */
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/tx", "{\"mode\":", TA_TOKEN, &o), 400);
    CU_ASSERT_PTR_NOT_NULL(strstr(ta_str(o, "error"), "not valid JSON"));
    json_object_put(o);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/tx", "[1]", TA_TOKEN, NULL), 400);
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/api/v1/transactions?state=nope", NULL, NULL, NULL), 400);
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/api/v1/transactions?limit=100000", NULL, NULL, NULL), 400);
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/api/v1/transactions/bad%20gid", NULL, NULL, NULL), 400);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/transactions/01AAAAAAAAAAAAAAAAAAAAAAAA/resume",
                           "{}", TA_TOKEN, &o), 400);
    CU_ASSERT_PTR_NOT_NULL(strstr(ta_str(o, "error"), "reason"));
    json_object_put(o);
    /* 401: no token, a wrong one; WWW-Authenticate is sent */
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/tx", "{}", NULL, &o), 401);
    CU_ASSERT_STRING_EQUAL(ta_str(o, "code"), "unauthorized");
    json_object_put(o);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/tx", "{}", "not-the-token-0123456789", NULL), 401);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/tx", "{}", TA_TOKEN "x", NULL), 401);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/transactions/01AAAAAAAAAAAAAAAAAAAAAAAA/resume",
                           "{\"reason\":\"r\"}", NULL, NULL), 401);
    /* 405 */
    CU_ASSERT_EQUAL(ta_req(&w, "DELETE", "/api/v1/transactions", NULL, TA_TOKEN, &o), 405);
    CU_ASSERT_STRING_EQUAL(ta_str(o, "code"), "method_not_allowed");
    json_object_put(o);
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/api/v1/tx", NULL, TA_TOKEN, NULL), 405);
    CU_ASSERT_EQUAL(ta_req(&w, "PUT", "/healthz", NULL, NULL, NULL), 405);
    /* 413: over --http-max-body (1 MiB by default) */
    size_t big = (1 << 20) + 10;
    char *body = malloc(big);
    CU_ASSERT_FATAL(body != NULL);
    memset(body, ' ', big);
    body[0] = '{';
    body[big - 1] = '}';
    char raw[512];
    CU_ASSERT_EQUAL(ta_req_raw(&w, "POST", "/api/v1/tx", body, big, TA_TOKEN, raw, sizeof raw), 413);
    CU_ASSERT_PTR_NOT_NULL(strstr(raw, "too_large"));
    free(body);
    /* 409: an action that is not allowed in the state */
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/tx", "{}", TA_TOKEN, &o), 201);
    char path[160];
    snprintf(path, sizeof path, "/api/v1/transactions/%s/retry", ta_str(o, "gid"));
    json_object_put(o);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", path, "{\"reason\":\"r\"}", TA_TOKEN, &o), 409);
    CU_ASSERT_STRING_EQUAL(ta_str(o, "code"), "conflict");
    json_object_put(o);
    /* The server is still fine after all that. */
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/healthz", NULL, NULL, NULL), 200);
    ta_down(&w);
}

static void test_reads_need_a_token_when_configured_and_probes_never(void)
{
    ta_world_t w;
    const char *args[] = { "--http-read-token-required", NULL };
    CU_ASSERT_FATAL(ta_up(&w, "adm_readtok", args, (const char *const[]){ "none", NULL }) == 0);
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/api/v1/transactions", NULL, NULL, NULL), 401);
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/metrics", NULL, NULL, NULL), 401);
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/api/v1/series", NULL, NULL, NULL), 401);
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/api/v1/series", NULL, TA_TOKEN, NULL), 200);
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/api/v1/participants", NULL, "wrong-token-0123456789", NULL), 401);
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/api/v1/transactions", NULL, TA_TOKEN, NULL), 200);
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/api/v1/participants", NULL, "other-token-0123456789abcdef", NULL), 200);
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/healthz", NULL, NULL, NULL), 200);
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/readyz", NULL, NULL, NULL), 200);
    ta_down(&w);
}

static void test_without_a_token_file_nothing_can_be_changed(void)
{
    ta_world_t w;
    const char *args[] = { "--no-token-file", NULL };
    CU_ASSERT_FATAL(ta_up(&w, "adm_notok", args, (const char *const[]){ "none", NULL }) == 0);
    json_object *o = NULL;
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/tx", "{}", "anything-at-all-0123456789", &o), 401);
    CU_ASSERT_PTR_NOT_NULL(strstr(ta_str(o, "error"), "--admin-token-file"));
    json_object_put(o);
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/api/v1/transactions", NULL, NULL, NULL), 200);
    ta_down(&w);
}

static void test_refuses_a_non_loopback_address_without_tokens(void)
{
    char db[H_CONNINFO_SIZE], dtxd[1024];
    CU_ASSERT_FATAL(h_db_create("adm_public", db, sizeof db) == 0);
    CU_ASSERT_FATAL(h_bin_path("dtxd", dtxd, sizeof dtxd) == 0);
    char *argv[] = { dtxd, "--db", db, "--listen", "tcp://127.0.0.1:*", "--http-listen",
                     "0.0.0.0:0", NULL };
    pid_t p = h_spawn("adm-public-dtxd", argv);
    CU_ASSERT_FATAL(p > 0);
    CU_ASSERT_EQUAL(h_wait_exit(p, 10000), 2);
    char bad_port[] = "127.0.0.1:notaport";
    argv[6] = bad_port;
    p = h_spawn("adm-badaddr-dtxd", argv);
    CU_ASSERT_FATAL(p > 0);
    CU_ASSERT_EQUAL(h_wait_exit(p, 10000), 2);
}

static void test_initiator_operations_over_http(void)
{
    ta_world_t w;
    CU_ASSERT_FATAL(ta_up(&w, "adm_ops", NULL, (const char *const[]){ "--refuse-action", "nope", NULL }) == 0);
    json_object *o = NULL;
    char gid[64], path[160];
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/tx", "{\"mode\":\"tcc\",\"timeout_ms\":60000}",
                           TA_TOKEN, &o), 201);
    snprintf(gid, sizeof gid, "%s", ta_str(o, "gid"));
    CU_ASSERT_STRING_EQUAL(ta_str(o, "state"), "active");
    json_object_put(o);
    snprintf(path, sizeof path, "/api/v1/tx/%s/try", gid);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", path,
                           "{\"resource\":\"ra\",\"action\":\"reserve\",\"payload_base64\":\"aGVsbG8=\"}",
                           TA_TOKEN, &o), 200);
    CU_ASSERT_STRING_EQUAL(ta_str(o, "outcome"), "ok");
    CU_ASSERT_STRING_EQUAL(ta_str(o, "branch"), "1");
    json_object_put(o);
    CU_ASSERT_EQUAL(h_db_scalar(w.log, "SELECT length(payload) FROM dtx_branch WHERE gid = '%s'", gid), 5);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", path, "{\"resource\":\"bad name\",\"action\":\"a\"}",
                           TA_TOKEN, NULL), 400);
    snprintf(path, sizeof path, "/api/v1/tx/%s", gid);
    CU_ASSERT_EQUAL(ta_req(&w, "GET", path, NULL, NULL, &o), 200);
    CU_ASSERT_STRING_EQUAL(ta_str(o, "state"), "active");
    json_object_put(o);
    snprintf(path, sizeof path, "/api/v1/tx/%s/commit", gid);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", path, NULL, TA_TOKEN, &o), 200);
    CU_ASSERT_STRING_EQUAL(ta_str(o, "state"), "committing");
    json_object_put(o);
    CU_ASSERT_EQUAL(ta_wait_state(&w, gid, "committed", 5000), 0);
    /* a refused Try answers with its outcome; COMMIT then says aborted (409) */
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/tx", "{}", TA_TOKEN, &o), 201);
    snprintf(gid, sizeof gid, "%s", ta_str(o, "gid"));
    json_object_put(o);
    snprintf(path, sizeof path, "/api/v1/tx/%s/try", gid);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", path, "{\"resource\":\"ra\",\"action\":\"nope\"}", TA_TOKEN, &o), 200);
    CU_ASSERT_STRING_EQUAL(ta_str(o, "outcome"), "refused");
    json_object_put(o);
    snprintf(path, sizeof path, "/api/v1/tx/%s/commit", gid);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", path, NULL, TA_TOKEN, &o), 409);
    CU_ASSERT_STRING_EQUAL(ta_str(o, "code"), "aborted");
    json_object_put(o);
    /* rollback of an active one */
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/tx", "{}", TA_TOKEN, &o), 201);
    snprintf(path, sizeof path, "/api/v1/tx/%s/rollback", ta_str(o, "gid"));
    json_object_put(o);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", path, NULL, TA_TOKEN, &o), 200);
    CU_ASSERT_STRING_EQUAL(ta_str(o, "state"), "aborting");
    json_object_put(o);
    /* several Tries in one request (TRY_MANY, docs/protocol.md §18) */
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/tx", "{}", TA_TOKEN, &o), 201);
    snprintf(gid, sizeof gid, "%s", ta_str(o, "gid"));
    json_object_put(o);
    snprintf(path, sizeof path, "/api/v1/tx/%s/tries", gid);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", path, "{\"tries\":[]}", TA_TOKEN, NULL), 400);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", path, "{\"tries\":[1]}", TA_TOKEN, NULL), 400);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", path, "{\"tries\":[{\"resource\":\"ra\",\"action\":\"a\"},"
                           "{\"resource\":\"bad name\",\"action\":\"a\"}]}", TA_TOKEN, NULL), 400);
    CU_ASSERT_EQUAL(h_db_scalar(w.log, "SELECT count(*) FROM dtx_branch WHERE gid = '%s'", gid), 0);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", path, "{\"tries\":[{\"resource\":\"ra\",\"action\":\"reserve\","
                           "\"payload\":\"ab\"},{\"resource\":\"ra\",\"action\":\"reserve\","
                           "\"payload_base64\":\"aGVsbG8=\"}]}", TA_TOKEN, &o), 200);
    CU_ASSERT_STRING_EQUAL(ta_str(o, "state"), "active");
    json_object *tries = NULL;
    CU_ASSERT_FATAL(json_object_object_get_ex(o, "tries", &tries) &&
                    json_object_array_length(tries) == 2);
    CU_ASSERT_STRING_EQUAL(ta_str(json_object_array_get_idx(tries, 0), "outcome"), "ok");
    CU_ASSERT_STRING_EQUAL(ta_str(json_object_array_get_idx(tries, 1), "branch"), "2");
    json_object_put(o);
    CU_ASSERT_EQUAL(h_db_scalar(w.log, "SELECT sum(length(payload)) FROM dtx_branch WHERE gid = '%s'",
                                gid), 7);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", path, "{\"tries\":[{\"resource\":\"ra\",\"action\":\"nope\"}]}",
                           TA_TOKEN, &o), 200);
    CU_ASSERT_STRING_EQUAL(ta_str(o, "state"), "aborting");
    CU_ASSERT_FATAL(json_object_object_get_ex(o, "tries", &tries));
    CU_ASSERT_STRING_EQUAL(ta_str(json_object_array_get_idx(tries, 0), "outcome"), "refused");
    json_object_put(o);
    /* refused whole now: one error, as a TRY gets it */
    CU_ASSERT_EQUAL(ta_req(&w, "POST", path, "{\"tries\":[{\"resource\":\"ra\",\"action\":\"a\"}]}",
                           TA_TOKEN, &o), 409);
    json_object_put(o);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/tx", "{\"mode\":\"xa\"}", TA_TOKEN, NULL), 400);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/tx", "{\"timeout_ms\":999999999}", TA_TOKEN, NULL), 400);
    ta_down(&w);
}

/* A transaction whose confirm fails until its budget (2) is spent. */
static int s_stuck_one(const ta_world_t *w, char *gid)
{
    if (ta_commit_one(w, gid) != 0)
        return -1;
    return ta_wait_state(w, gid, "stuck", 10000);
}

static const char *const s_stuck_dtxd[] = { "--max-attempts", "2", "--retry-base-ms", "20",
                                            "--retry-max-ms", "50", NULL };

static void test_stuck_transaction_is_shown_refused_what_is_unsafe_and_resumed_with_audit(void)
{
    ta_world_t w;
    CU_ASSERT_FATAL(ta_up(&w, "adm_stuck", s_stuck_dtxd,
                          (const char *const[]){ "--fail-confirm-times", "2", NULL }) == 0);
    char gid[64], path[200];
    CU_ASSERT_FATAL(s_stuck_one(&w, gid) == 0);
    json_object *o = NULL, *v = NULL;
    CU_ASSERT_EQUAL(ta_req(&w, "GET", "/api/v1/transactions?state=stuck", NULL, NULL, &o), 200);
    CU_ASSERT_FATAL(json_object_object_get_ex(o, "items", &v));
    CU_ASSERT_EQUAL(json_object_array_length(v), 1);
    CU_ASSERT_STRING_EQUAL(ta_str(json_object_array_get_idx(v, 0), "gid"), gid);
    CU_ASSERT_STRING_EQUAL(ta_str(json_object_array_get_idx(v, 0), "decision"), "committing");
    json_object_put(o);
    snprintf(path, sizeof path, "/api/v1/transactions/%s", gid);
    CU_ASSERT_EQUAL(ta_req(&w, "GET", path, NULL, NULL, &o), 200);
    CU_ASSERT_FATAL(json_object_object_get_ex(o, "attempts", &v));
    CU_ASSERT_EQUAL(json_object_array_length(v), 2);
    CU_ASSERT_STRING_EQUAL(ta_str(json_object_array_get_idx(v, 0), "error"), "participant failed confirm");
    CU_ASSERT_FATAL(json_object_object_get_ex(o, "timeline", &v));
    const char *want[] = { "begun", "branch recorded", "voted yes", "decided commit", "confirm failed",
                           "confirm failed", "stuck" };
    CU_ASSERT_EQUAL(json_object_array_length(v), 7);
    for (size_t i = 0; i < 7 && i < json_object_array_length(v); i++)
        CU_ASSERT_STRING_EQUAL(ta_str(json_object_array_get_idx(v, i), "event"), want[i]);
    json_object_put(o);
    /* unsafe or pointless: refused (409) and recorded */
    snprintf(path, sizeof path, "/api/v1/transactions/%s/force-rollback", gid);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", path, "{\"reason\":\"try it\"}", TA_TOKEN, NULL), 409);
    snprintf(path, sizeof path, "/api/v1/transactions/%s/retry", gid);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", path, "{\"reason\":\"try it\"}", TA_TOKEN, NULL), 409);
    CU_ASSERT_EQUAL(u_log_state(w.log, gid), 6);
    /* resume: back to committing, and the participant now confirms */
    snprintf(path, sizeof path, "/api/v1/transactions/%s/resume", gid);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", path,
                           "{\"reason\":\"participant fixed\",\"operator\":\"alice\"}", TA_TOKEN, &o), 200);
    CU_ASSERT_STRING_EQUAL(ta_str(o, "result"), "ok");
    json_object_put(o);
    CU_ASSERT_EQUAL(ta_wait_state(&w, gid, "committed", 5000), 0);
    CU_ASSERT_EQUAL(h_db_scalar(w.log, "SELECT count(*) FROM dtx_audit WHERE gid = '%s'", gid), 3);
    CU_ASSERT_EQUAL(h_db_scalar(w.log, "SELECT count(*) FROM dtx_audit WHERE gid = '%s' AND actor = '"
                                TA_TOKEN_NAME "' AND finished_at IS NOT NULL", gid), 3);
    CU_ASSERT_EQUAL(h_db_scalar(w.log, "SELECT count(*) FROM dtx_audit WHERE gid = '%s' AND result = 'refused'"
                                " AND http_status = 409", gid), 2);
    CU_ASSERT_EQUAL(h_db_scalar(w.log, "SELECT count(*) FROM dtx_audit WHERE gid = '%s' AND action = 'resume'"
                                " AND result = 'ok' AND operator = 'alice' AND reason = 'participant fixed'", gid), 1);
    snprintf(path, sizeof path, "/api/v1/transactions/%s", gid);
    CU_ASSERT_EQUAL(ta_req(&w, "GET", path, NULL, NULL, &o), 200);
    CU_ASSERT_FATAL(json_object_object_get_ex(o, "actions", &v));
    CU_ASSERT_EQUAL(json_object_array_length(v), 3);
    const char *tl = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    CU_ASSERT_PTR_NOT_NULL(strstr(tl, "operator resume"));
    CU_ASSERT_PTR_NOT_NULL(strstr(tl, "\"event\":\"committed\""));
    json_object_put(o);
    /* the token's secret is never logged */
    char logpath[1024], name[128], line[2048];
    snprintf(name, sizeof name, "%s.log", w.d.logname);
    h_scratch_path(name, logpath, sizeof logpath);
    FILE *f = fopen(logpath, "r");
    int leaked = 0;
    while (f && fgets(line, sizeof line, f))
        leaked |= strstr(line, TA_TOKEN) != NULL || strstr(line, "participant fixed") != NULL;
    if (f)
        fclose(f);
    CU_ASSERT_FALSE(leaked);
    ta_down(&w);
}

static void test_force_commit_and_rollback_only_where_safe(void)
{
    ta_world_t w;
    CU_ASSERT_FATAL(ta_up(&w, "adm_force", s_stuck_dtxd, NULL) == 0);
    json_object *o = NULL;
    char gid[64], path[200];
    /* active, every branch voted yes: force commit commits */
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/tx", "{}", TA_TOKEN, &o), 201);
    snprintf(gid, sizeof gid, "%s", ta_str(o, "gid"));
    json_object_put(o);
    snprintf(path, sizeof path, "/api/v1/tx/%s/try", gid);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", path, "{\"resource\":\"ra\",\"action\":\"a\"}", TA_TOKEN, NULL), 200);
    snprintf(path, sizeof path, "/api/v1/transactions/%s/force-commit", gid);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", path, "{\"reason\":\"initiator died\"}", TA_TOKEN, &o), 200);
    CU_ASSERT_STRING_EQUAL(ta_str(o, "state"), "committing");
    json_object_put(o);
    CU_ASSERT_EQUAL(ta_wait_state(&w, gid, "committed", 5000), 0);
    /* committed: force rollback refused, force commit is a no-op */
    snprintf(path, sizeof path, "/api/v1/transactions/%s/force-rollback", gid);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", path, "{\"reason\":\"r\"}", TA_TOKEN, NULL), 409);
    snprintf(path, sizeof path, "/api/v1/transactions/%s/force-commit", gid);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", path, "{\"reason\":\"r\"}", TA_TOKEN, NULL), 200);
    /* active: force rollback aborts; then force commit is refused */
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/tx", "{}", TA_TOKEN, &o), 201);
    snprintf(gid, sizeof gid, "%s", ta_str(o, "gid"));
    json_object_put(o);
    snprintf(path, sizeof path, "/api/v1/transactions/%s/force-rollback", gid);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", path, "{\"reason\":\"initiator died\"}", TA_TOKEN, NULL), 200);
    CU_ASSERT_EQUAL(ta_wait_state(&w, gid, "aborted", 5000), 0);
    snprintf(path, sizeof path, "/api/v1/transactions/%s/force-commit", gid);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", path, "{\"reason\":\"r\"}", TA_TOKEN, NULL), 409);
    ta_down(&w);
}

/* 2PC: an active transaction's branches are enlisted and vote at COMMIT
 * (Prepare). A force commit goes through the state machine as a COMMIT
 * does: it prepares and commits (it used to be refused as "no vote yet"). */
static void test_force_commit_of_an_active_2pc_transaction_prepares_and_commits(void)
{
    ta_world_t w;
    CU_ASSERT_FATAL(ta_up(&w, "adm_force2", s_stuck_dtxd,
                          (const char *const[]){ "--mode2pc", NULL }) == 0);
    json_object *o = NULL;
    char gid[64], path[200];
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/tx", "{\"mode\":\"2pc\"}", TA_TOKEN, &o), 201);
    snprintf(gid, sizeof gid, "%s", o ? ta_str(o, "gid") : "");
    json_object_put(o);
    snprintf(path, sizeof path, "/api/v1/tx/%s/try", gid);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", path, "{\"resource\":\"ra\",\"action\":\"a\"}", TA_TOKEN,
                           NULL), 200);
    snprintf(path, sizeof path, "/api/v1/transactions/%s/force-commit", gid);
    o = NULL;
    CU_ASSERT_EQUAL(ta_req(&w, "POST", path, "{\"reason\":\"initiator died\"}", TA_TOKEN, &o), 200);
    if (o)
        CU_ASSERT_STRING_EQUAL(ta_str(o, "state"), "committing");
    json_object_put(o);
    CU_ASSERT_EQUAL(ta_wait_state(&w, gid, "committed", 5000), 0);
    ta_down(&w);
}

static void test_retry_now_skips_the_backoff(void)
{
    ta_world_t w;
    const char *args[] = { "--retry-base-ms", "20000", "--retry-max-ms", "30000", NULL };
    CU_ASSERT_FATAL(ta_up(&w, "adm_retry", args,
                          (const char *const[]){ "--fail-confirm-times", "1", NULL }) == 0);
    char gid[64], path[200];
    CU_ASSERT_FATAL(ta_commit_one(&w, gid) == 0);
    h_sleep_ms(300); /* the first confirm failed: the next waits 10..20 s */
    CU_ASSERT_EQUAL(ta_wait_state(&w, gid, "committing", 100), 0);
    int64_t t0 = h_now_ms();
    snprintf(path, sizeof path, "/api/v1/transactions/%s/retry", gid);
    json_object *o = NULL;
    CU_ASSERT_EQUAL(ta_req(&w, "POST", path, "{\"reason\":\"participant is back\"}", TA_TOKEN, &o), 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(ta_str(o, "detail"), "1 branch(es) due now"));
    json_object_put(o);
    CU_ASSERT_EQUAL(ta_wait_state(&w, gid, "committed", 3000), 0);
    CU_ASSERT(h_now_ms() - t0 < 3000);
    ta_down(&w);
}

INTEG_SUITE(admin)
{
    CU_pSuite s = CU_add_suite("admin", NULL, NULL);
    CU_add_test(s, "probes and metrics answer", test_probes_and_metrics_answer);
    CU_add_test(s, "series show what ran", test_series_show_what_ran);
    CU_add_test(s, "every error code has its status", test_every_error_code_has_its_status);
    CU_add_test(s, "reads need a token when configured, probes never",
                test_reads_need_a_token_when_configured_and_probes_never);
    CU_add_test(s, "without a token file nothing can be changed",
                test_without_a_token_file_nothing_can_be_changed);
    CU_add_test(s, "refuses a non-loopback address without tokens",
                test_refuses_a_non_loopback_address_without_tokens);
    CU_add_test(s, "initiator operations over http", test_initiator_operations_over_http);
    CU_add_test(s, "stuck transaction is shown, unsafe actions refused, resumed with audit",
                test_stuck_transaction_is_shown_refused_what_is_unsafe_and_resumed_with_audit);
    CU_add_test(s, "force commit and rollback only where safe",
                test_force_commit_and_rollback_only_where_safe);
    CU_add_test(s, "force commit of an active 2pc transaction prepares and commits",
                test_force_commit_of_an_active_2pc_transaction_prepares_and_commits);
    CU_add_test(s, "retry now skips the backoff", test_retry_now_skips_the_backoff);
}
