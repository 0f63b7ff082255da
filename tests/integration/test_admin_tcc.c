/*
 * POST /api/v1/tcc — a whole TCC transaction in one HTTP request (one
 * TCC_RUN, docs/protocol.md §19; docs/console.md): committed when every
 * branch votes yes (201, state committing, then committed with its rows),
 * 409 "aborted" when one says no (the others cancelled), "commit": false
 * leaves it active for /commit, the caller's "id" makes the request safe to
 * send again (a repeat: 200 "repeat", nothing new), and every malformed
 * body is 400 with nothing written; dtxctl run does the same from the
 * command line.
 *
 * Rows: a committed TCC_RUN's branch rows are written once, by their
 * insert — the decision and the final state go to the global row only —
 * and still the API and dtxctl show every branch confirmed with a yes
 * vote (dtx_branch_now, sql/coordinator/014_branch_now.sql), also when
 * dtxd died between the decision and the final write and a restarted one
 * finished the transaction.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "integ.h"
#include "test_admin_util.h"

#define TWO_YES "\"tries\":[{\"resource\":\"ra\",\"action\":\"reserve\",\"payload\":\"ab\"}," \
                "{\"resource\":\"ra\",\"action\":\"reserve\",\"payload_base64\":\"aGVsbG8=\"}]"

/* The outcome of tries[i] in o ("" when absent). */
static const char *s_outcome(json_object *o, int i)
{
    json_object *tries = NULL;
    if (!json_object_object_get_ex(o, "tries", &tries) ||
        (int)json_object_array_length(tries) <= i)
        return "";
    return ta_str(json_object_array_get_idx(tries, (size_t)i), "outcome");
}

/* Branches of gid that GET /api/v1/transactions/<gid> shows in state
 * with a yes vote; -1 when the call fails. */
static int s_shown(const ta_world_t *w, const char *gid, const char *state)
{
    char path[200];
    json_object *o = NULL, *brs = NULL;
    snprintf(path, sizeof path, "/api/v1/transactions/%s", gid);
    if (ta_req(w, "GET", path, NULL, TA_TOKEN, &o) != 200 || !o)
        return -1;
    int n = 0;
    if (json_object_object_get_ex(o, "branches", &brs))
        for (size_t i = 0; i < json_object_array_length(brs); i++) {
            json_object *b = json_object_array_get_idx(brs, i);
            n += strcmp(ta_str(b, "state"), state) == 0 && strcmp(ta_str(b, "vote"), "yes") == 0;
        }
    json_object_put(o);
    return n;
}

/* Branch rows of gid never updated since their insert (still `trying`,
 * no vote, the time of their insert). */
static long s_untouched(PGconn *log, const char *gid)
{
    return (long)h_db_scalar(log, "SELECT count(*) FROM dtx_branch WHERE gid = '%s' AND state = 1"
                                  " AND vote IS NULL AND voted_at IS NULL AND attempts = 0"
                                  " AND updated_at = created_at", gid);
}

/* dtxctl show gid: every one of its n branches confirmed (a line of the
 * branch table each, and the transaction committed). */
static void s_ctl_shows_confirmed(const ta_world_t *w, const char *gid, int n)
{
    static char out[1 << 14];
    char cmd[160];
    snprintf(cmd, sizeof cmd, "--json show %.100s", gid);
    CU_ASSERT_EQUAL_FATAL(ta_ctl(w, out, sizeof out, cmd), 0);
    json_object *o = json_tokener_parse(out), *brs = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_TRUE(json_object_object_get_ex(o, "branches", &brs));
    CU_ASSERT_EQUAL(brs ? (int)json_object_array_length(brs) : -1, n);
    for (int i = 0; brs && i < (int)json_object_array_length(brs); i++)
        CU_ASSERT_STRING_EQUAL(ta_str(json_object_array_get_idx(brs, (size_t)i), "state"),
                               "confirmed");
    json_object_put(o);
    snprintf(cmd, sizeof cmd, "show %.100s", gid);
    CU_ASSERT_EQUAL(ta_ctl(w, out, sizeof out, cmd), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "committed"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "confirmed"));
}

static void test_tcc_in_one_request_commits_aborts_or_waits(void)
{
    ta_world_t w;
    CU_ASSERT_FATAL(ta_up(&w, "adm_tcc", NULL,
                          (const char *const[]){ "--refuse-action", "nope", NULL }) == 0);
    json_object *o = NULL;
    char gid[64], path[200];

    /* every branch yes: committed by the coordinator, both rows written */
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/tcc", "{\"timeout_ms\":20000," TWO_YES "}",
                           TA_TOKEN, &o), 201);
    CU_ASSERT_STRING_EQUAL(ta_str(o, "state"), "committing");
    CU_ASSERT_STRING_EQUAL(s_outcome(o, 0), "ok");
    CU_ASSERT_STRING_EQUAL(s_outcome(o, 1), "ok");
    snprintf(gid, sizeof gid, "%s", ta_str(o, "gid"));
    json_object_put(o);
    CU_ASSERT_FATAL(gid[0] != '\0');
    CU_ASSERT_EQUAL(ta_wait_state(&w, gid, "committed", 5000), 0);
    CU_ASSERT_EQUAL(h_db_scalar(w.log, "SELECT count(*) FROM dtx_branch WHERE gid = '%s'", gid), 2);
    CU_ASSERT_EQUAL(h_db_scalar(w.log, "SELECT sum(length(payload)) FROM dtx_branch WHERE gid = '%s'",
                                gid), 7);
    /* the branch rows as inserted: nothing after the insert wrote them */
    CU_ASSERT_EQUAL(s_untouched(w.log, gid), 2);
    CU_ASSERT_EQUAL(s_shown(&w, gid, "confirmed"), 2);
    s_ctl_shows_confirmed(&w, gid, 2);

    /* one no: 409 aborted, the branch that said yes cancelled */
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/tcc",
                           "{\"tries\":[{\"resource\":\"ra\",\"action\":\"reserve\"},"
                           "{\"resource\":\"ra\",\"action\":\"nope\"}]}", TA_TOKEN, &o), 409);
    CU_ASSERT_STRING_EQUAL(ta_str(o, "code"), "aborted");
    CU_ASSERT_STRING_EQUAL(ta_str(o, "state"), "aborting");
    CU_ASSERT_STRING_EQUAL(s_outcome(o, 1), "refused");
    snprintf(gid, sizeof gid, "%s", ta_str(o, "gid"));
    json_object_put(o);
    CU_ASSERT_EQUAL(ta_wait_state(&w, gid, "aborted", 5000), 0);

    /* with the caller's "id" (protocol §19.3): the same request again is
     * 200, "repeat", the same transaction; nothing new is written */
    long g0 = h_db_scalar(w.log, "SELECT count(*) FROM dtx_global");
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/tcc",
                           "{\"id\":\"01ARZ3NDEKTSV4RRFFQ69G5FAV\"," TWO_YES "}", TA_TOKEN, &o),
                    201);
    CU_ASSERT_STRING_EQUAL(ta_str(o, "gid"), "01ARZ3NDEKTSV4RRFFQ69G5FAV");
    json_object_put(o);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/tcc",
                           "{\"id\":\"01ARZ3NDEKTSV4RRFFQ69G5FAV\"," TWO_YES "}", TA_TOKEN, &o),
                    200);
    CU_ASSERT_STRING_EQUAL(ta_str(o, "gid"), "01ARZ3NDEKTSV4RRFFQ69G5FAV");
    CU_ASSERT_TRUE(strcmp(ta_str(o, "state"), "committing") == 0 ||
                   strcmp(ta_str(o, "state"), "committed") == 0);
    json_object *rep = NULL;
    CU_ASSERT_TRUE(json_object_object_get_ex(o, "repeat", &rep) && json_object_get_boolean(rep));
    json_object_put(o);
    CU_ASSERT_EQUAL(h_db_scalar(w.log, "SELECT count(*) FROM dtx_global"), g0 + 1);
    /* and an aborted one: 409 both times */
    for (int i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/tcc",
                               "{\"id\":\"01ARZ3NDEKTSV4RRFFQ69G5FAW\",\"tries\":["
                               "{\"resource\":\"ra\",\"action\":\"nope\"}]}", TA_TOKEN, &o),
                        409);
        CU_ASSERT_STRING_EQUAL(ta_str(o, "code"), "aborted");
        json_object_put(o);
    }
    CU_ASSERT_EQUAL(h_db_scalar(w.log, "SELECT count(*) FROM dtx_global"), g0 + 2);

    /* "commit": false: the votes, then the caller decides by the gid */
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/tcc", "{\"commit\":false," TWO_YES "}",
                           TA_TOKEN, &o), 201);
    CU_ASSERT_STRING_EQUAL(ta_str(o, "state"), "active");
    snprintf(gid, sizeof gid, "%s", ta_str(o, "gid"));
    json_object_put(o);
    snprintf(path, sizeof path, "/api/v1/tx/%s/rollback", gid);
    CU_ASSERT_EQUAL(ta_req(&w, "POST", path, NULL, TA_TOKEN, &o), 200);
    CU_ASSERT_STRING_EQUAL(ta_str(o, "state"), "aborting");
    json_object_put(o);
    CU_ASSERT_EQUAL(ta_wait_state(&w, gid, "aborted", 5000), 0);

    /* the same from the command line: dtxctl run */
    static char out[1 << 14];
    char cmd[256];
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, "run --timeout-ms 20000 ra:reserve:r1 ra:reserve"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "branch 2: ok"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "transaction committing"));
    out[strcspn(out, "\n")] = '\0';                      /* the first line: the gid */
    snprintf(cmd, sizeof cmd, "status %.63s --wait 10", out);
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, cmd), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "committed"));
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, "run ra:reserve ra:nope"), 1);  /* decided abort */
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "branch 2: refused"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "transaction aborting"));
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, "run --id 01ARZ3NDEKTSV4RRFFQ69G5FAX ra:reserve"),
                    0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "01ARZ3NDEKTSV4RRFFQ69G5FAX"));
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, "run --id 01ARZ3NDEKTSV4RRFFQ69G5FAX ra:reserve"),
                    0);                                                      /* a repeat */
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "01ARZ3NDEKTSV4RRFFQ69G5FAX"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "transaction committ"));
    CU_ASSERT_EQUAL(h_db_scalar(w.log, "SELECT count(*) FROM dtx_global WHERE gid = "
                                "'01ARZ3NDEKTSV4RRFFQ69G5FAX'"), 1);
    CU_ASSERT_NOT_EQUAL(ta_ctl(&w, out, sizeof out, "run --id order-1 ra:reserve"), 0);
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, "run --no-commit ra:reserve"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "transaction active"));
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, "run"), 2);                     /* usage */
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, "run ra"), 2);
    CU_ASSERT_EQUAL(ta_ctl(&w, out, sizeof out, "run --timeout-ms soon ra:reserve"), 2);
    ta_down(&w);
}

static void test_tcc_bad_bodies_are_400_and_write_nothing(void)
{
    ta_world_t w;
    CU_ASSERT_FATAL(ta_up(&w, "adm_tccbad", NULL, NULL) == 0);
    static const char *const bad[] = {
        "{}",                                                       /* no tries */
        "{\"tries\":[]}",
        "{\"tries\":[1]}",
        "{\"tries\":[{\"resource\":\"bad name\",\"action\":\"a\"}]}",
        "{\"commit\":\"yes\",\"tries\":[{\"resource\":\"ra\",\"action\":\"a\"}]}",
        "{\"mode\":\"2pc\",\"tries\":[{\"resource\":\"ra\",\"action\":\"a\"}]}",
        "{\"mode\":\"xa\",\"tries\":[{\"resource\":\"ra\",\"action\":\"a\"}]}",
        "{\"timeout_ms\":-1,\"tries\":[{\"resource\":\"ra\",\"action\":\"a\"}]}",
        "{\"traceparent\":\"00-zz\",\"tries\":[{\"resource\":\"ra\",\"action\":\"a\"}]}",
        "{\"id\":\"order-1\",\"tries\":[{\"resource\":\"ra\",\"action\":\"a\"}]}",
        "{\"id\":42,\"tries\":[{\"resource\":\"ra\",\"action\":\"a\"}]}",
        "{\"id\":\"01arz3ndektsv4rrffq69g5fav\",\"tries\":[{\"resource\":\"ra\",\"action\":\"a\"}]}",
        "{\"id\":\"01ARZ3NDEKTSV4RRFFQ69G5FAV\",\"commit\":false,"
        "\"tries\":[{\"resource\":\"ra\",\"action\":\"a\"}]}",
        "not json",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_object *o = NULL;
        long st = ta_req(&w, "POST", "/api/v1/tcc", bad[i], TA_TOKEN, &o);
        CU_ASSERT_EQUAL(st, 400);
        if (st != 400)
            fprintf(stderr, "\n  %s: %ld\n", bad[i], st);
        CU_ASSERT(o == NULL || ta_str(o, "error")[0] != '\0');
        if (o)
            json_object_put(o);
    }
    /* no token: refused before anything */
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/tcc", "{" TWO_YES "}", NULL, NULL), 401);
    CU_ASSERT_EQUAL(h_db_scalar(w.log, "SELECT count(*) FROM dtx_global"), 0);
    CU_ASSERT_EQUAL(h_db_scalar(w.log, "SELECT count(*) FROM dtx_branch"), 0);
    ta_down(&w);
}

/* dtxd dies right after the commit decision of a TCC_RUN (the final write
 * never made): the restarted dtxd loads the branches through
 * dtx_branch_now (tried, under the decision), confirms both and finishes;
 * the rows stay as inserted and the console shows them confirmed. */
static void test_tcc_crash_after_the_decision_confirms_every_branch(void)
{
    ta_world_t w;
    const char *extra[] = { "--node-id", "adm_tcccrash", "--recovery-interval-ms", "200",
                            "--http-listen", "127.0.0.1:0",
                            "--fault", "after-decision-write", NULL };
    CU_ASSERT_FATAL(ta_up(&w, "adm_tcccrash", extra, NULL) == 0);
    /* no answer: dtxd dies with the decision durable */
    CU_ASSERT_EQUAL(ta_req(&w, "POST", "/api/v1/tcc", "{\"timeout_ms\":60000," TWO_YES "}",
                           TA_TOKEN, NULL), 0);
    CU_ASSERT_EQUAL(h_wait_exit(w.d.pid, 10000), 86);
    w.d.pid = 0;
    char gid[64] = "";
    CU_ASSERT_EQUAL_FATAL(h_db_scalar_text(w.log, gid, sizeof gid, "SELECT gid FROM dtx_global"), 0);
    CU_ASSERT_EQUAL(h_db_scalar(w.log, "SELECT state FROM dtx_global"), 2); /* committing */
    CU_ASSERT_EQUAL(s_untouched(w.log, gid), 2);
    CU_ASSERT_EQUAL(h_db_scalar(w.log, "SELECT count(*) FROM dtx_branch_now WHERE gid = '%s'"
                                       " AND state = 2 AND vote = 2", gid), 2); /* tried, yes */
    /* restarted without the fault, on a new port (its URL file again) */
    char n[96], urlfile[1024];
    snprintf(n, sizeof n, "%s.url", w.name);
    h_scratch_path(n, urlfile, sizeof urlfile);
    remove(urlfile);
    w.d.nextra -= 2;
    CU_ASSERT_EQUAL_FATAL(h_dtxd_restart(&w.d), 0);
    CU_ASSERT_EQUAL_FATAL(h_wait_file_line(urlfile, w.url, sizeof w.url, w.d.pid, 5000), 0);
    CU_ASSERT_EQUAL(ta_wait_state(&w, gid, "committed", 15000), 0);
    CU_ASSERT_EQUAL(h_db_scalar(w.log, "SELECT count(*) FROM dtx_branch_now WHERE gid = '%s'"
                                       " AND state = 4", gid), 2);
    CU_ASSERT_EQUAL(s_shown(&w, gid, "confirmed"), 2);
    s_ctl_shows_confirmed(&w, gid, 2);
    ta_down(&w);
}

INTEG_SUITE(admin_tcc)
{
    CU_pSuite s = CU_add_suite("admin_tcc", NULL, NULL);
    CU_add_test(s, "tcc in one request commits, aborts or waits",
                test_tcc_in_one_request_commits_aborts_or_waits);
    CU_add_test(s, "tcc bad bodies are 400 and write nothing",
                test_tcc_bad_bodies_are_400_and_write_nothing);
    CU_add_test(s, "tcc crash after the decision confirms every branch",
                test_tcc_crash_after_the_decision_confirms_every_branch);
}
