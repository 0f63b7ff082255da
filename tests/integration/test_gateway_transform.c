/*
 * Gateway transforms suite: a real dtx-gateway and a real echo upstream.
 * A route rewrites its path (prefix, then regex), edits request headers
 * with $consumer / $request_id, edits the answer's headers and keeps two
 * fields of the JSON answer; then a hot swap under load changes the
 * transform with no failed request. No latency assertions.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#include "gw_util.h"
#include "integ.h"

#define TOKEN "test-token-5c1e9a7f3b"
#define KEY "ak_transform_9c8b7a6d5e4f"

static char s_key_hex[65];

/* %d port, %s key digest, %s path transform */
static const char *s_doc =
    "{\"admin\":{\"token\":\"" TOKEN "\"},"
    "\"pools\":[{\"name\":\"p\",\"targets\":[\"http://127.0.0.1:%d\"]}],"
    "\"consumers\":[{\"name\":\"alice\",\"api_keys\":[{\"key_sha256\":\"%s\"}]}],"
    "\"routes\":[{\"name\":\"api\",\"match\":{\"prefix\":\"/api\"},\"pool\":\"p\","
    "\"auth\":{\"api_key\":{}},"
    "\"transform\":{\"path\":%s,"
    "\"request_headers\":{\"remove\":[\"Cookie\"],\"set\":{\"X-Caller\":\"$consumer\"},"
    "\"add\":{\"X-Req\":\"$request_id\"}},"
    "\"response_headers\":{\"remove\":[\"X-Upstream\"],\"set\":{\"X-Served-For\":\"$consumer\"}},"
    "\"json_fields\":{\"keep\":[\"uri\",\"headers\"]}}}]}";

static const char *s_prefix = "{\"prefix\":\"/api\",\"replace\":\"/v1\"}";
static const char *s_regex = "{\"regex\":\"^/api/users/([0-9]+)$\",\"replace\":\"/users/by-id/\\\\1\"}";

static void test_rewrite_header_edits_and_json_fields(void)
{
    gw_proc_t up, gw;
    CU_ASSERT_FATAL(gw_upstream_start(&up, "echo", NULL) == 0);
    CU_ASSERT_FATAL(gw_gateway_start(&gw, "gw-transform", s_doc, up.port, s_key_hex,
                                     s_prefix) == 0);
    const char *h[] = { "X-Api-Key: " KEY, "Cookie: sid=1", "X-Caller: forged",
                        "X-Request-Id: rid-42", NULL };
    gw_resp_t r;
    CU_ASSERT_FATAL(gw_http(&r, "GET", gw_at(&gw, "/api/orders?x=1"), h, NULL) == 0);
    CU_ASSERT_EQUAL(r.status, 200);
    json_object *o = json_tokener_parse(r.body), *v, *hd;
    CU_ASSERT_FATAL(o != NULL);
    CU_ASSERT(json_object_object_get_ex(o, "uri", &v) &&
              strcmp(json_object_get_string(v), "/v1/orders?x=1") == 0);
    CU_ASSERT(!json_object_object_get_ex(o, "method", &v));      /* not kept */
    CU_ASSERT_FATAL(json_object_object_get_ex(o, "headers", &hd));
    CU_ASSERT(!json_object_object_get_ex(hd, "Cookie", &v));
    CU_ASSERT(json_object_object_get_ex(hd, "X-Caller", &v) &&
              strcmp(json_object_get_string(v), "alice") == 0);
    CU_ASSERT(json_object_object_get_ex(hd, "X-Req", &v) &&
              strcmp(json_object_get_string(v), "rid-42") == 0);
    json_object_put(o);
    char val[128];
    CU_ASSERT_PTR_NULL(gw_resp_header(&r, "X-Upstream", val, sizeof val));
    CU_ASSERT(gw_resp_header(&r, "X-Served-For", val, sizeof val) &&
              strcmp(val, "alice") == 0);
    gw_resp_free(&r);
    CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 10000), 0);
    h_stop(up.pid, SIGTERM, 10000);
}

static void test_hot_swap_of_the_transform_under_load_fails_no_request(void)
{
    gw_proc_t up, gw;
    CU_ASSERT_FATAL(gw_upstream_start(&up, "echo", NULL) == 0);
    CU_ASSERT_FATAL(gw_gateway_start(&gw, "gw-transform-swap", s_doc, up.port, s_key_hex,
                                     s_prefix) == 0);
    gw_load_t load = { .port = gw.port, .path = "/api/users/7", .header = "X-Api-Key: " KEY };
    CU_ASSERT_FATAL(gw_load_start(&load, 3) == 0);
    char doc[4096];
    int swaps = 0, seen_regex = 0;
    const char *h[] = { "X-Api-Key: " KEY, NULL };
    for (int i = 0; i < 20; i++) {
        snprintf(doc, sizeof doc, s_doc, up.port, s_key_hex, i % 2 ? s_regex : s_prefix);
        gw_resp_t r;
        swaps += gw_admin_put(&gw, TOKEN, doc, 0, &r) == 200;
        gw_resp_free(&r);
        gw_http(&r, "GET", gw_at(&gw, "/api/users/7"), h, NULL);
        if (i % 2 && r.status == 200 && r.body && strstr(r.body, "by-id"))
            seen_regex++;
        gw_resp_free(&r);
        h_sleep_ms(20);
    }
    gw_load_stop(&load);
    CU_ASSERT_EQUAL(swaps, 20);
    CU_ASSERT_EQUAL(seen_regex, 10);
    CU_ASSERT(atomic_load(&load.ok) > 0);
    CU_ASSERT_EQUAL(atomic_load(&load.failed), 0);
    CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 10000), 0);
    h_stop(up.pid, SIGTERM, 10000);
}

static int s_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    unsigned char d[32];
    unsigned int n = 0;
    EVP_Digest(KEY, strlen(KEY), d, &n, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        sprintf(s_key_hex + 2 * i, "%02x", d[i]);
    return h_init() == 0 ? 0 : -1;
}

INTEG_SUITE(gateway_transform)
{
    CU_pSuite s = CU_add_suite("gateway_transform", s_init, NULL);
    CU_add_test(s, "rewrite, header edits and JSON fields",
                test_rewrite_header_edits_and_json_fields);
    CU_add_test(s, "hot swap of the transform under load fails no request",
                test_hot_swap_of_the_transform_under_load_fails_no_request);
}
