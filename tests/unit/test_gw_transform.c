/* Route transforms without sockets: template variables (core/gw_vars.h),
 * path rewrite by prefix and regex, the JSON answer field filter
 * (filters/gw_transform.h), header edits in the upstream head
 * (upstream/gw_upreq.h) and the configuration's checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <CUnit/CUnit.h>

#include "config/gw_config_parse.h"
#include "core/gw_vars.h"
#include "filters/gw_transform.h"
#include "upstream/gw_upreq.h"
#include "gw_headers.h"
#include "unit.h"

static dtx_gw_config_t *s_cfg(const char *transform, char *err, size_t errlen)
{
    char doc[4096];
    snprintf(doc, sizeof doc,
             "{\"pools\":[{\"name\":\"p\",\"targets\":[\"http://127.0.0.1:1\"]}],"
             "\"routes\":[{\"name\":\"r\",\"match\":{\"prefix\":\"/\"},\"pool\":\"p\","
             "\"transform\":%s}]}", transform);
    return dtx_gw_config_parse(doc, strlen(doc), err, errlen);
}

static void test_variables_expand_and_unknown_ones_are_refused(void)
{
    dtx_gw_req_t req;
    memset(&req, 0, sizeof req);
    strcpy(req.consumer, "alice");
    strcpy(req.request_id, "rid-7");
    req.client_ip = "10.0.0.9";
    char out[128], bad[32];
    CU_ASSERT_EQUAL(dtx_gw_vars_expand("c=$consumer r=$request_id a=$remote_addr g=$gid $$5",
                                       &req, out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "c=alice r=rid-7 a=10.0.0.9 g= $5");
    req.txn_state = 1;
    strcpy(req.gid, "g-1");
    CU_ASSERT_EQUAL(dtx_gw_vars_expand("$gid", &req, out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "g-1");
    CU_ASSERT_EQUAL(dtx_gw_vars_expand("$consumer-long", &req, out, 4), -1);   /* cut */
    CU_ASSERT_EQUAL(dtx_gw_vars_check("x $consumer $$ y", bad, sizeof bad), 0);
    CU_ASSERT_EQUAL(dtx_gw_vars_check("$host", bad, sizeof bad), DTX_EINVAL);
    CU_ASSERT_STRING_EQUAL(bad, "$host");
}

static void test_path_rewrite_by_prefix_and_regex(void)
{
    char err[DTX_GW_ERR_SIZE], out[256];
    dtx_gw_config_t *c = s_cfg("{\"path\":{\"prefix\":\"/api/v1\",\"replace\":\"/v1\"}}", err,
                               sizeof err);
    CU_ASSERT_FATAL(c != NULL);
    const dtx_gw_transform_cfg_t *t = c->routes[0].transform;
    CU_ASSERT_EQUAL(dtx_gw_transform_path(t, "/api/v1/orders/7", out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "/v1/orders/7");
    CU_ASSERT_EQUAL(dtx_gw_transform_path(t, "/other", out, sizeof out), -1);
    dtx_gw_config_destroy(&c);
    c = s_cfg("{\"path\":{\"prefix\":\"/api\",\"replace\":\"/\"}}", err, sizeof err);
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT_EQUAL(dtx_gw_transform_path(c->routes[0].transform, "/api/x", out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "/x");
    dtx_gw_config_destroy(&c);
    c = s_cfg("{\"path\":{\"regex\":\"^/users/([0-9]+)/orders$\","
              "\"replace\":\"/orders/by-user/\\\\1\"}}", err, sizeof err);
    if (!c)
        fprintf(stderr, "\n  %s\n", err);
    CU_ASSERT_FATAL(c != NULL);
    t = c->routes[0].transform;
    CU_ASSERT_EQUAL(dtx_gw_transform_path(t, "/users/42/orders", out, sizeof out), 0);
    CU_ASSERT_STRING_EQUAL(out, "/orders/by-user/42");
    CU_ASSERT_EQUAL(dtx_gw_transform_path(t, "/users/x/orders", out, sizeof out), -1);
    CU_ASSERT_EQUAL(dtx_gw_transform_path(t, "/users/42/orders", out, 5), -1);   /* too long */
    dtx_gw_config_destroy(&c);
}

static void test_json_fields_keep_and_drop(void)
{
    char err[DTX_GW_ERR_SIZE];
    dtx_gw_config_t *c = s_cfg("{\"json_fields\":{\"keep\":[\"id\",\"name\"]}}", err, sizeof err);
    CU_ASSERT_FATAL(c != NULL);
    dtx_gw_req_t req;
    memset(&req, 0, sizeof req);
    req.transform = c->routes[0].transform;
    CU_ASSERT(dtx_gw_transform_wants_body(&req));
    char *out = NULL;
    size_t n = 0;
    const char *b = "{\"id\":1,\"name\":\"a\",\"secret\":\"s\",\"nested\":{\"id\":2}}";
    CU_ASSERT_EQUAL(dtx_gw_transform_json(&req, "application/json; charset=utf-8", b, strlen(b),
                                          &out, &n), 1);
    CU_ASSERT_STRING_EQUAL(out, "{\"id\":1,\"name\":\"a\"}");
    CU_ASSERT_EQUAL(n, strlen(out));
    free(out);
    const char *arr = "[{\"id\":1,\"x\":0},{\"y\":1,\"name\":\"b\"},7]";
    CU_ASSERT_EQUAL(dtx_gw_transform_json(&req, "application/problem+json", arr, strlen(arr),
                                          &out, &n), 1);
    CU_ASSERT_STRING_EQUAL(out, "[{\"id\":1},{\"name\":\"b\"},7]");
    free(out);
    /* left alone: another type, not JSON, a scalar */
    CU_ASSERT_EQUAL(dtx_gw_transform_json(&req, "text/plain", b, strlen(b), &out, &n), 0);
    CU_ASSERT_EQUAL(dtx_gw_transform_json(&req, "application/json", "{\"id\":", 6, &out, &n), 0);
    CU_ASSERT_EQUAL(dtx_gw_transform_json(&req, "application/json", "12", 2, &out, &n), 0);
    CU_ASSERT_EQUAL(dtx_gw_transform_json(&req, NULL, b, strlen(b), &out, &n), 0);
    dtx_gw_config_destroy(&c);
    c = s_cfg("{\"json_fields\":{\"drop\":[\"secret\"]}}", err, sizeof err);
    CU_ASSERT_FATAL(c != NULL);
    req.transform = c->routes[0].transform;
    CU_ASSERT_EQUAL(dtx_gw_transform_json(&req, "application/json", b, strlen(b), &out, &n), 1);
    CU_ASSERT_STRING_EQUAL(out, "{\"id\":1,\"name\":\"a\",\"nested\":{\"id\":2}}");
    free(out);
    dtx_gw_config_destroy(&c);
}

static void test_request_header_edits_reach_the_upstream_head(void)
{
    char err[DTX_GW_ERR_SIZE];
    dtx_gw_config_t *c = s_cfg("{\"request_headers\":{\"remove\":[\"Cookie\"],"
                               "\"set\":{\"X-Caller\":\"$consumer@$remote_addr\"},"
                               "\"add\":{\"X-Trace\":\"$request_id\"}}}", err, sizeof err);
    CU_ASSERT_FATAL(c != NULL);
    static const char *const h[] = { "Cookie", "sid=1", "X-Caller", "forged", "Accept", "*/*",
                                     NULL };
    dtx_gw_req_t req;
    memset(&req, 0, sizeof req);
    req.method = "GET";
    req.path = "/x";
    req.client_ip = "10.1.2.3";
    req.header = gwt_header;
    req.each_header = gwt_each_header;
    req.header_ctx = (void *)h;
    strcpy(req.request_id, "rid-1");
    strcpy(req.consumer, "alice");
    req.transform = c->routes[0].transform;
    dtx_gw_target_t t;
    memset(&t, 0, sizeof t);
    t.url = (char *)"http://127.0.0.1:1";
    dtx_gw_addr_parse(&t.addr, t.url, err, sizeof err);
    dtx_gw_buf_t b = { 0 };
    CU_ASSERT_EQUAL_FATAL(dtx_gw_upreq_head(&b, &req, &t, 0), 0);
    char *head = strndup(b.data, b.len);
    CU_ASSERT_PTR_NULL(strstr(head, "Cookie"));
    CU_ASSERT_PTR_NULL(strstr(head, "forged"));
    CU_ASSERT_PTR_NOT_NULL(strstr(head, "\r\nX-Caller: alice@10.1.2.3\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(head, "\r\nX-Trace: rid-1\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(head, "\r\nAccept: */*\r\n"));
    free(head);
    free(b.data);
    /* answer side */
    dtx_gw_config_destroy(&c);
    c = s_cfg("{\"response_headers\":{\"remove\":[\"Server\"],\"set\":{\"X-Id\":\"$request_id\"}}}",
              err, sizeof err);
    CU_ASSERT_FATAL(c != NULL);
    req.transform = c->routes[0].transform;
    CU_ASSERT(dtx_gw_transform_drops(&req, "server"));
    CU_ASSERT(dtx_gw_transform_drops(&req, "X-Id"));
    CU_ASSERT(!dtx_gw_transform_drops(&req, "Content-Type"));
    dtx_gw_config_destroy(&c);
}

static void test_transform_config_errors_name_the_field(void)
{
    char err[DTX_GW_ERR_SIZE];
    static const char *const bad[][2] = {
        { "{\"request_headers\":{\"set\":{\"X-A\":\"$host\"}}}",
          "routes[0].transform.request_headers.set.X-A: unknown variable $host" },
        { "{\"response_headers\":{\"remove\":[\"a b\"]}}",
          "routes[0].transform.response_headers.remove[0]: is not a header name" },
        { "{\"path\":{\"regex\":\"([a-z\",\"replace\":\"/x\"}}",
          "routes[0].transform.path.regex: not a POSIX extended regular expression" },
        { "{\"path\":{\"regex\":\"^/(a)$\",\"replace\":\"/\\\\2\"}}",
          "routes[0].transform.path.replace: \\2: the regex has 1 group(s)" },
        { "{\"path\":{\"prefix\":\"/a\",\"regex\":\"b\",\"replace\":\"/\"}}",
          "routes[0].transform.path: needs exactly one of prefix or regex" },
        { "{\"path\":{\"prefix\":\"/a\",\"replace\":\"x\"}}",
          "routes[0].transform.path.replace: must start with /" },
        { "{\"json_fields\":{\"keep\":[\"a\"],\"drop\":[\"b\"]}}",
          "routes[0].transform.json_fields: needs exactly one of keep or drop" },
        { "{\"json_fields\":{}}",
          "routes[0].transform.json_fields: needs exactly one of keep or drop" },
        { "{\"colour\":1}", "routes[0].transform.colour: unknown field" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dtx_gw_config_t *c = s_cfg(bad[i][0], err, sizeof err);
        CU_ASSERT_PTR_NULL(c);
        if (!strstr(err, bad[i][1]))
            fprintf(stderr, "\n  got \"%s\"\n  want \"%s\"\n", err, bad[i][1]);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i][1]));
        dtx_gw_config_destroy(&c);
    }
}

UNIT_SUITE(gw_transform)
{
    CU_pSuite s = CU_add_suite("gw_transform", NULL, NULL);
    CU_add_test(s, "variables expand and unknown ones are refused",
                test_variables_expand_and_unknown_ones_are_refused);
    CU_add_test(s, "path rewrite by prefix and regex", test_path_rewrite_by_prefix_and_regex);
    CU_add_test(s, "JSON fields keep and drop", test_json_fields_keep_and_drop);
    CU_add_test(s, "request header edits reach the upstream head",
                test_request_header_edits_reach_the_upstream_head);
    CU_add_test(s, "transform config errors name the field",
                test_transform_config_errors_name_the_field);
}
