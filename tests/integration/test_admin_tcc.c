/*
 * POST /api/v1/tcc — a whole TCC transaction in one HTTP request (one
 * TCC_RUN, docs/protocol.md §19; docs/console.md): committed when every
 * branch votes yes (201, state committing, then committed with its rows),
 * 409 "aborted" when one says no (the others cancelled), "commit": false
 * leaves it active for /commit, and every malformed body is 400 with
 * nothing written; dtxctl run does the same from the command line.
 */
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

INTEG_SUITE(admin_tcc)
{
    CU_pSuite s = CU_add_suite("admin_tcc", NULL, NULL);
    CU_add_test(s, "tcc in one request commits, aborts or waits",
                test_tcc_in_one_request_commits_aborts_or_waits);
    CU_add_test(s, "tcc bad bodies are 400 and write nothing",
                test_tcc_bad_bodies_are_400_and_write_nothing);
}
