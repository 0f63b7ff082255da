/* Gateway saga routes: their configuration (config/gw_config_txn.c) and
 * the payloads built from a request (filters/gw_saga.c), without sockets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "config/gw_config.h"
#include "config/gw_config_parse.h"
#include "dtx/types.h"
#include "filters/gw_saga.h"
#include "unit.h"

/* A document with one route whose "transaction" is tx (with a pool when
 * tx is not of mode saga). */
static dtx_gw_config_t *s_parse(const char *tx, char *err, size_t cap)
{
    char doc[4096];
    snprintf(doc, sizeof doc,
             "{\"dtxd\":{\"endpoint\":\"tcp://127.0.0.1:7070\"},"
             "\"pools\":[{\"name\":\"a\",\"targets\":[\"http://127.0.0.1:1\"]}],"
             "\"routes\":[{\"name\":\"s\",\"match\":{\"path\":\"/s\"},%s\"transaction\":%s}]}",
             strstr(tx, "\"saga\"") ? "" : "\"pool\":\"a\",", tx);
    return dtx_gw_config_parse(doc, strlen(doc), err, cap);
}

static void s_refused(const char *tx, const char *want)
{
    char err[DTX_GW_ERR_SIZE] = "";
    dtx_gw_config_t *c = s_parse(tx, err, sizeof err);
    CU_ASSERT_PTR_NULL(c);
    dtx_gw_config_destroy(&c);
    if (!strstr(err, want))
        fprintf(stderr, "\n  expected \"%s\" in \"%s\"\n", want, err);
    CU_ASSERT(strstr(err, want) != NULL);
}

static void test_saga_route_loads_with_its_plan(void)
{
    char err[DTX_GW_ERR_SIZE] = "";
    dtx_gw_config_t *c = s_parse(
        "{\"mode\":\"saga\",\"timeout_ms\":9000,\"steps\":["
        "{\"resource\":\"f\",\"action\":\"book\",\"compensation\":\"cancel\","
        " \"payload\":{\"t\":\"$body.trip\",\"n\":[1,\"$consumer\"]}},"
        "{\"resource\":\"h\",\"action\":\"book\",\"compensation\":\"cancel\"},"
        "{\"resource\":\"p\",\"action\":\"charge\",\"pivot\":true,\"after\":[2,1]}]}",
        err, sizeof err);
    if (!c)
        fprintf(stderr, "\n  %s\n", err);
    CU_ASSERT_FATAL(c != NULL);
    const dtx_gw_route_cfg_t *r = &c->routes[0];
    CU_ASSERT_EQUAL(r->transactional, DTX_GW_TXN_SAGA);
    CU_ASSERT_EQUAL(r->nsplit, 0);
    CU_ASSERT_FATAL(r->saga != NULL);
    CU_ASSERT_EQUAL(r->saga->nsteps, 3);
    CU_ASSERT_EQUAL(r->saga->wait_ms, 9000);          /* defaults to timeout_ms */
    CU_ASSERT(r->saga->concurrent);
    CU_ASSERT_PTR_NULL(r->saga->steps[1].payload);     /* the body as sent */
    CU_ASSERT_PTR_NULL(r->saga->steps[2].compensation);
    CU_ASSERT(r->saga->steps[2].pivot);
    CU_ASSERT_EQUAL(r->saga->steps[2].nafter, 2);
    CU_ASSERT_EQUAL(r->saga->steps[2].after[0], 1);    /* kept increasing */
    CU_ASSERT_EQUAL(r->saga->steps[2].after[1], 2);
    dtx_gw_config_destroy(&c);
}

static void test_saga_errors_name_the_field(void)
{
    s_refused("{\"mode\":\"sago\"}", "routes[0].transaction.mode: must be \"tcc\" or \"saga\"");
    s_refused("{\"mode\":\"saga\"}", "routes[0].transaction.steps: is required with mode");
    s_refused("{\"mode\":\"saga\",\"steps\":[]}", "routes[0].transaction.steps: must be an array");
    s_refused("{\"mode\":\"saga\",\"commit_on\":[200],\"steps\":[]}",
              "routes[0].transaction.commit_on: only with mode \"tcc\"");
    s_refused("{\"mode\":\"saga\",\"steps\":[{\"resource\":\"f\",\"action\":\"b\"}]}",
              "routes[0].transaction.steps[0].compensation: is required");
    s_refused("{\"mode\":\"saga\",\"steps\":[{\"resource\":\"f\",\"action\":\"b\","
              "\"compensation\":\"c\",\"pivot\":true}]}",
              "steps[0].compensation: not allowed on the pivot");
    s_refused("{\"mode\":\"saga\",\"steps\":[{\"resource\":\"f g\",\"action\":\"b\","
              "\"compensation\":\"c\"}]}", "steps[0].resource: must be 1-");
    s_refused("{\"mode\":\"saga\",\"steps\":[{\"resource\":\"f\",\"action\":\"b\","
              "\"compensation\":\"c\",\"after\":[1]}]}", "steps[0].after: must list earlier");
    s_refused("{\"mode\":\"saga\",\"steps\":[{\"resource\":\"f\",\"action\":\"b\","
              "\"compensation\":\"c\"},{\"resource\":\"g\",\"action\":\"b\","
              "\"compensation\":\"c\",\"after\":[1,1]}]}", "steps[1].after: lists step 1 twice");
    s_refused("{\"mode\":\"saga\",\"steps\":[{\"resource\":\"f\",\"action\":\"b\","
              "\"compensation\":\"c\",\"payload\":{\"a\":[\"$gid\"]}}]}",
              "steps[0].payload.a[0]: unknown variable $gid");
    s_refused("{\"mode\":\"saga\",\"steps\":[{\"resource\":\"f\",\"action\":\"b\","
              "\"compensation\":\"c\",\"payload\":\"$body..x\"}]}",
              "steps[0].payload: \"$body..x\": a body reference");
    s_refused("{\"mode\":\"saga\",\"steps\":[{\"resource\":\"f\",\"action\":\"b\",\"pivot\":true},"
              "{\"resource\":\"g\",\"action\":\"b\",\"pivot\":true}]}",
              "steps[1].pivot: a plan has at most one pivot");
    s_refused("{\"mode\":\"saga\",\"steps\":[{\"resource\":\"f\",\"action\":\"b\","
              "\"compensation\":\"c\"},{\"resource\":\"g\",\"action\":\"b\",\"pivot\":true}],"
              "\"wait_ms\":-1}", "routes[0].transaction.wait_ms");
    s_refused("{\"mode\":\"tcc\",\"steps\":[]}", "routes[0].transaction.steps: only with mode "
                                                 "\"saga\"");
    /* a saga route has no pool */
    char err[DTX_GW_ERR_SIZE] = "";
    const char *doc =
        "{\"dtxd\":{\"endpoint\":\"tcp://127.0.0.1:7070\"},"
        "\"pools\":[{\"name\":\"a\",\"targets\":[\"http://127.0.0.1:1\"]}],"
        "\"routes\":[{\"name\":\"s\",\"match\":{\"path\":\"/s\"},\"pool\":\"a\","
        "\"transaction\":{\"mode\":\"saga\",\"steps\":[{\"resource\":\"f\",\"action\":\"b\","
        "\"compensation\":\"c\"}]}}]}";
    dtx_gw_config_t *c = dtx_gw_config_parse(doc, strlen(doc), err, sizeof err);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT(strstr(err, "routes[0]: a saga route, or a tcc route with branches, answers by itself: no pool") != NULL);
}

static void s_fill(const char *tmpl, const char *body, int want_rc, const char *want)
{
    dtx_gw_saga_step_cfg_t st = { 0 };
    st.payload = (char *)tmpl;
    dtx_gw_req_t req;
    memset(&req, 0, sizeof req);
    snprintf(req.consumer, sizeof req.consumer, "shop");
    req.client_ip = "10.0.0.9";
    char *out = NULL, why[128] = "";
    size_t len = 0;
    dtx_gw_saga_src_t src = { .body = body, .body_len = body ? strlen(body) : 0 };
    int rc = dtx_gw_saga_payload(&st, &req, &src, &out, &len, why, sizeof why);
    dtx_gw_saga_src_free(&src);
    CU_ASSERT_EQUAL(rc, want_rc);
    const char *got = rc == 0 ? out : why;
    if (!got || strcmp(got, want) != 0)
        fprintf(stderr, "\n  %s: got \"%s\", want \"%s\"\n", tmpl ? tmpl : "(body)",
                got ? got : "(null)", want);
    CU_ASSERT(got && strcmp(got, want) == 0);
    if (rc == 0)
        CU_ASSERT_EQUAL(len, strlen(want));
    free(out);
}

static void test_payloads_are_filled_from_the_request(void)
{
    const char *body = "{\"trip\":\"T1\",\"party\":{\"size\":2,\"kids\":[1]},\"ok\":true}";
    s_fill(NULL, body, 0, body);                                  /* no template: as sent */
    s_fill(NULL, NULL, 0, "");
    s_fill("{\"t\":\"$body.trip\",\"k\":\"$body.party.kids\"}", body, 0,
           "{\"t\":\"T1\",\"k\":[1]}");
    s_fill("\"$body\"", body, 0, body);
    s_fill("[\"$body.ok\",\"by $consumer from $remote_addr\",\"$$body\",7]", body, 0,
           "[true,\"by shop from 10.0.0.9\",\"$body\",7]");
    s_fill("{\"x\":\"$body.party.age\"}", body, DTX_EINVAL, "missing field party.age");
    s_fill("{\"x\":\"$body.trip.name\"}", body, DTX_EINVAL, "missing field trip.name");
    s_fill("\"$body.trip\"", "not json", DTX_EINVAL, "the body is not a JSON object");
    s_fill("\"$body.trip\"", "[1]", DTX_EINVAL, "the body is not a JSON object");
    s_fill("\"$body.trip\"", NULL, DTX_EINVAL, "the body is not a JSON object");
    s_fill("{\"fixed\":1}", NULL, 0, "{\"fixed\":1}");             /* no body needed */
}

/* A route's steps share one parse of the body: the second payload reads
 * the tree the first one parsed, and a step with no template parses
 * nothing. */
static void test_the_body_is_parsed_once_for_all_steps(void)
{
    const char *body = "{\"trip\":\"T1\",\"n\":2}";
    dtx_gw_saga_step_cfg_t plain = { 0 }, a = { 0 }, b = { 0 };
    a.payload = (char *)"{\"t\":\"$body.trip\"}";
    b.payload = (char *)"{\"n\":\"$body.n\"}";
    dtx_gw_req_t req;
    memset(&req, 0, sizeof req);
    dtx_gw_saga_src_t src = { .body = body, .body_len = strlen(body) };
    char *out = NULL, why[128] = "";
    size_t len = 0;
    CU_ASSERT_EQUAL(dtx_gw_saga_payload(&plain, &req, &src, &out, &len, why, sizeof why), 0);
    CU_ASSERT_EQUAL(src.parsed, 0);
    free(out);
    CU_ASSERT_EQUAL(dtx_gw_saga_payload(&a, &req, &src, &out, &len, why, sizeof why), 0);
    CU_ASSERT_STRING_EQUAL(out, "{\"t\":\"T1\"}");
    free(out);
    struct json_object *tree = src.json;
    CU_ASSERT_PTR_NOT_NULL(tree);
    CU_ASSERT_EQUAL(dtx_gw_saga_payload(&b, &req, &src, &out, &len, why, sizeof why), 0);
    CU_ASSERT_STRING_EQUAL(out, "{\"n\":2}");
    free(out);
    CU_ASSERT_PTR_EQUAL(src.json, tree);
    dtx_gw_saga_src_free(&src);
    CU_ASSERT_PTR_NULL(src.json);
}

UNIT_SUITE(gw_saga)
{
    CU_pSuite s = CU_add_suite("gw_saga", NULL, NULL);
    CU_add_test(s, "saga route loads with its plan", test_saga_route_loads_with_its_plan);
    CU_add_test(s, "saga errors name the field", test_saga_errors_name_the_field);
    CU_add_test(s, "payloads are filled from the request",
                test_payloads_are_filled_from_the_request);
    CU_add_test(s, "the body is parsed once for all steps",
                test_the_body_is_parsed_once_for_all_steps);
}
