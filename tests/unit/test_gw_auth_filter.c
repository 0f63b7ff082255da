/* Identity in the gateway: the identity sections of the configuration
 * (consumers, jwt verifiers, a route's auth) and the auth filter in the
 * chain (filters/gw_auth.h), on tokens and keys of gw_tokens.h, without
 * sockets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "config/gw_config_parse.h"
#include "core/gw_clock.h"
#include "filters/gw_auth.h"
#include "filters/gw_filters.h"
#include "runtime/gw_runtime.h"
#include "upstream/gw_upreq.h"
#include "gw_headers.h"
#include "gw_tokens.h"
#include "unit.h"

#define NOW GWT_NOW

/* ---------------- configuration ---------------- */

static char s_alice_hex[65], s_bob_hex[65];

static char *s_doc(const char *extra_root, const char *route_auth)
{
    char *d = malloc(8192);
    snprintf(d, 8192,
        "{\"pools\":[{\"name\":\"p\",\"targets\":[\"http://127.0.0.1:1\"]}],"
        "\"rules\":[{\"name\":\"per-consumer\",\"type\":\"rate_limit\",\"rate\":1,\"burst\":0,"
        "\"nodelay\":true,\"key\":\"consumer\"}],"
        "\"consumers\":[{\"name\":\"alice\",\"api_keys\":[{\"key_sha256\":\"%s\"}]},"
        "{\"name\":\"bob\",\"api_keys\":[{\"key_sha256\":\"%s\"}],\"routes\":[\"orders\"]}],"
        "\"jwt\":[{\"name\":\"idp\",\"algorithm\":\"HS256\","
        "\"secret_base64\":\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\","
        "\"issuer\":\"https://idp.example\",\"audience\":\"orders\",\"leeway_s\":5}]%s,"
        "\"routes\":[{\"name\":\"orders\",\"match\":{\"prefix\":\"/orders\"},\"pool\":\"p\","
        "\"auth\":%s},"
        "{\"name\":\"admin\",\"match\":{\"prefix\":\"/admin\"},\"pool\":\"p\","
        "\"auth\":{\"api_key\":{}}},"
        "{\"name\":\"limited\",\"match\":{\"prefix\":\"/lim\"},\"pool\":\"p\","
        "\"auth\":{\"api_key\":{}},\"rules\":[\"per-consumer\"]},"
        "{\"name\":\"open\",\"match\":{\"prefix\":\"/\"},\"pool\":\"p\"}]}",
        s_alice_hex, s_bob_hex, extra_root, route_auth);
    return d;
}

static const char *s_cfg_err(const char *extra_root, const char *route_auth)
{
    static char err[DTX_GW_ERR_SIZE];
    char *d = s_doc(extra_root, route_auth);
    dtx_gw_config_t *cfg = dtx_gw_config_parse(d, strlen(d), err, sizeof err);
    free(d);
    if (cfg) {
        dtx_gw_config_destroy(&cfg);
        return "";
    }
    return err;
}

static void s_expect(const char *doc_err, const char *want)
{
    if (!strstr(doc_err, want))
        fprintf(stderr, "\n  got \"%s\", want \"%s\"\n", doc_err, want);
    CU_ASSERT_PTR_NOT_NULL(strstr(doc_err, want));
}

static void test_config_errors_name_the_field(void)
{
    const char *ok = "{\"api_key\":{\"header\":\"X-Api-Key\",\"query\":\"api_key\"},\"jwt\":\"idp\"}";
    CU_ASSERT_STRING_EQUAL(s_cfg_err("", ok), "");
    s_expect(s_cfg_err("", "{}"), "routes[0].auth: needs api_key, jwt or both");
    s_expect(s_cfg_err("", "{\"jwt\":[\"nope\"]}"),
             "routes[0].auth.jwt[0]: no jwt verifier named \"nope\"");
    s_expect(s_cfg_err("", "{\"api_key\":{\"header\":\"Bad Name\"}}"),
             "routes[0].auth.api_key.header: must be a header name");
    s_expect(s_cfg_err("", "{\"api_key\":{\"header\":\"X-Consumer\"}}"),
             "routes[0].auth.api_key.header: must differ from identity.consumer_header");
    s_expect(s_cfg_err(",\"identity\":{\"consumer_header\":\"a b\"}", ok),
             "identity.consumer_header: must be a header name");
    /* a key in clear */
    char *d = s_doc("", ok);
    char *at = strstr(d, "\"key_sha256\"");
    memcpy(at, "\"key\"       ", 12);
    char err[DTX_GW_ERR_SIZE];
    CU_ASSERT_PTR_NULL(dtx_gw_config_parse(d, strlen(d), err, sizeof err));
    s_expect(err, "consumers[0].api_keys[0]: keys are never given in clear");
    free(d);
    /* not hex */
    d = s_doc("", ok);
    at = strstr(d, s_alice_hex);
    at[5] = 'g';
    CU_ASSERT_PTR_NULL(dtx_gw_config_parse(d, strlen(d), err, sizeof err));
    s_expect(err, "consumers[0].api_keys[0].key_sha256: must be 64 hex digits");
    free(d);
    /* the same key twice */
    d = s_doc("", ok);
    at = strstr(d, s_bob_hex);
    memcpy(at, s_alice_hex, 64);
    CU_ASSERT_PTR_NULL(dtx_gw_config_parse(d, strlen(d), err, sizeof err));
    s_expect(err, "one API key (key_sha256) is given twice (consumers \"alice\" and \"bob\")");
    free(d);
    /* verifiers */
    d = s_doc("", ok);
    at = strstr(d, "\"HS256\"");
    memcpy(at, "\"none\" ", 7);
    CU_ASSERT_PTR_NULL(dtx_gw_config_parse(d, strlen(d), err, sizeof err));
    s_expect(err, "jwt[0].algorithm: must be HS256, RS256 or ES256 (\"none\" is never allowed)");
    free(d);
    d = s_doc("", ok);
    at = strstr(d, "\"HS256\"");
    memcpy(at, "\"RS256\"", 7);
    CU_ASSERT_PTR_NULL(dtx_gw_config_parse(d, strlen(d), err, sizeof err));
    s_expect(err, "jwt[0].secret_base64: is for HS256");
    free(d);
    d = s_doc("", ok);
    at = strstr(d, "MDEyMzQ1");
    memcpy(at, "MDEy====", 8);   /* a secret of 3 bytes... then garbage */
    CU_ASSERT_PTR_NULL(dtx_gw_config_parse(d, strlen(d), err, sizeof err));
    s_expect(err, "jwt[0].secret_base64: must be base64");
    free(d);
    s_expect(s_cfg_err(",\"identity\":{\"jwks_check_ms\":1}", ok), "identity.jwks_check_ms");
    /* a consumer allowed a route that does not exist */
    d = s_doc("", ok);
    at = strstr(d, "\"routes\":[\"orders\"]");
    memcpy(at, "\"routes\":[\"ordrs\"] ", 19);
    CU_ASSERT_PTR_NULL(dtx_gw_config_parse(d, strlen(d), err, sizeof err));
    s_expect(err, "consumers[1].routes[0]: no route named \"ordrs\"");
    free(d);
    /* a consumer-keyed rule on a route without auth */
    d = s_doc("", ok);
    at = strstr(d, "\"auth\":{\"api_key\":{}},\"rules\"");
    memcpy(at, "\"timeout_ms\":5000,    ", 22);
    dtx_gw_config_t *c = dtx_gw_config_parse(d, strlen(d), err, sizeof err);
    CU_ASSERT_PTR_NULL(c);
    s_expect(err, "is keyed by consumer: the route needs auth");
    free(d);
    /* secrets never show in an error */
    CU_ASSERT_PTR_NULL(strstr(err, "MDEy"));
}

/* ---------------- the filter in the chain ---------------- */

static dtx_gw_runtime_t *s_rt(void)
{
    char err[DTX_GW_ERR_SIZE];
    char *d = s_doc("", "{\"api_key\":{\"header\":\"X-Api-Key\",\"query\":\"api_key\"},"
                        "\"jwt\":\"idp\"}");
    dtx_gw_config_t *cfg = dtx_gw_config_parse(d, strlen(d), err, sizeof err);
    free(d);
    if (!cfg)
        fprintf(stderr, "\n  config: %s\n", err);
    CU_ASSERT_FATAL(cfg != NULL);
    dtx_gw_runtime_t *rt = dtx_gw_runtime_build(cfg, NULL, &gwt_shared);
    CU_ASSERT_FATAL(rt != NULL);
    return rt;
}

/* Runs the chain's heads; the status (0: on to the upstream). The head
 * sent upstream goes to up (when given). */
static int s_run(dtx_gw_runtime_t *rt, const char *path, const char *query,
                 const char *const *hdrs, char *consumer, char *up, size_t upcap)
{
    dtx_gw_req_t req;
    memset(&req, 0, sizeof req);
    req.rt = rt;
    req.method = "GET";
    req.path = path;
    req.query = query;
    req.header = gwt_header;
    req.each_header = gwt_each_header;
    req.header_ctx = (void *)hdrs;
    req.client_ip = "10.0.0.1";
    req.content_length = -1;
    int status = 0;
    if (dtx_gw_chain_head(dtx_gw_default_chain, dtx_gw_default_chain_len, &req) == DTX_GW_REPLY)
        status = req.reply.status;
    if (consumer)
        strcpy(consumer, req.consumer);
    if (up) {
        up[0] = '\0';
        if (status) {
            for (int i = 0; i < req.reply.nheaders; i++)
                if (strcmp(req.reply.names[i], "WWW-Authenticate") == 0)
                    snprintf(up, upcap, "%s", req.reply.values[i]);
        } else {
            dtx_gw_target_t t;
            memset(&t, 0, sizeof t);
            t.url = (char *)"http://127.0.0.1:1";
            char e[128];
            dtx_gw_addr_parse(&t.addr, t.url, e, sizeof e);
            dtx_gw_buf_t b = { 0 };
            CU_ASSERT_EQUAL(dtx_gw_upreq_head(&b, &req, &t, 0), 0);
            snprintf(up, upcap, "%.*s", (int)b.len, b.data);
            free(b.data);
        }
    }
    dtx_gw_chain_done(dtx_gw_default_chain, dtx_gw_default_chain_len, &req);
    dtx_gw_req_fini(&req);
    return status;
}

static void test_filter_answers_401_403_and_names_the_consumer(void)
{
    dtx_gw_runtime_t *rt = s_rt();
    char who[72], up[4096];
    const char *none[] = { NULL };
    const char *alice[] = { "X-Api-Key", "key-of-alice-0123456789", NULL };
    const char *bob[] = { "X-Api-Key", "key-of-bob-0123456789", NULL };
    const char *wrong[] = { "X-Api-Key", "key-of-nobody", NULL };
    CU_ASSERT_EQUAL(s_run(rt, "/orders", NULL, none, who, up, sizeof up), 401);
    CU_ASSERT_STRING_EQUAL(up, "Bearer realm=\"dtx-gateway\", ApiKey realm=\"dtx-gateway\", "
                               "header=\"X-Api-Key\"");
    CU_ASSERT_EQUAL(s_run(rt, "/orders", NULL, wrong, who, up, sizeof up), 401);
    CU_ASSERT_EQUAL(s_run(rt, "/orders", NULL, alice, who, up, sizeof up), 0);
    CU_ASSERT_STRING_EQUAL(who, "alice");
    /* the key is not forwarded; the consumer header is */
    CU_ASSERT_PTR_NULL(strstr(up, "key-of-alice"));
    CU_ASSERT_PTR_NOT_NULL(strstr(up, "\r\nX-Consumer: alice\r\n"));
    /* bob may use orders only */
    CU_ASSERT_EQUAL(s_run(rt, "/orders", NULL, bob, who, NULL, 0), 0);
    CU_ASSERT_EQUAL(s_run(rt, "/admin", NULL, bob, who, NULL, 0), 403);
    CU_ASSERT_EQUAL(s_run(rt, "/admin", NULL, alice, who, NULL, 0), 0);
    /* the key in the query, stripped from what goes upstream */
    CU_ASSERT_EQUAL(s_run(rt, "/orders", "a=1&api_key=key-of-alice-0123456789&b=2", none, who,
                          up, sizeof up), 0);
    CU_ASSERT_STRING_EQUAL(who, "alice");
    CU_ASSERT_PTR_NOT_NULL(strstr(up, "GET /orders?a=1&b=2 HTTP/1.1"));
    CU_ASSERT_EQUAL(s_run(rt, "/orders", "api_key=key-of-alice-0123456789", none, who, up,
                          sizeof up), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(up, "GET /orders HTTP/1.1"));
    CU_ASSERT_EQUAL(s_run(rt, "/orders", "a=1&api_key=key-of-alice-0123456789", none, who, up,
                          sizeof up), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(up, "GET /orders?a=1 HTTP/1.1"));
    CU_ASSERT_EQUAL(s_run(rt, "/orders", "api_key=%zz", none, who, NULL, 0), 401);
    /* a JWT */
    char *t = gwt_claims("HS256", "", NOW + 60, 0, "", "HS256", NULL,
                       (const unsigned char *)gwt_secret, strlen(gwt_secret));
    char bearer[4200];
    snprintf(bearer, sizeof bearer, "Bearer %s", t);
    const char *jwt[] = { "Authorization", bearer, NULL };
    CU_ASSERT_EQUAL(s_run(rt, "/orders", NULL, jwt, who, up, sizeof up), 0);
    CU_ASSERT_STRING_EQUAL(who, "alice");
    gwt_wall = NOW + 70;   /* past exp + leeway (5) */
    CU_ASSERT_EQUAL(s_run(rt, "/orders", NULL, jwt, who, up, sizeof up), 401);
    CU_ASSERT_STRING_EQUAL(up, "Bearer realm=\"dtx-gateway\", error=\"invalid_token\", "
                               "ApiKey realm=\"dtx-gateway\", header=\"X-Api-Key\"");
    gwt_wall = NOW;
    free(t);
    /* a valid token for a consumer nobody configured: 403 */
    t = gwt_token("{\"alg\":\"HS256\"}", "{\"sub\":\"mallory\",\"iss\":\"https://idp.example\","
                "\"aud\":\"orders\",\"exp\":1800000060}", "HS256", NULL,
                (const unsigned char *)gwt_secret, strlen(gwt_secret));
    snprintf(bearer, sizeof bearer, "Bearer %s", t);
    CU_ASSERT_EQUAL(s_run(rt, "/orders", NULL, jwt, who, NULL, 0), 403);
    free(t);
    /* counted by reason */
    dtx_gw_route_stats_t *st = dtx_gw_stats_route(gwt_shared.stats, "orders");
    CU_ASSERT(atomic_load(&st->auth_failures[DTX_GW_AUTH_MISSING]) >= 1);
    CU_ASSERT(atomic_load(&st->auth_failures[DTX_GW_AUTH_UNKNOWN_KEY]) >= 1);
    CU_ASSERT(atomic_load(&st->auth_failures[DTX_GW_AUTH_EXPIRED]) >= 1);
    CU_ASSERT(atomic_load(&st->auth_failures[DTX_GW_AUTH_FORBIDDEN]) >= 1);
    dtx_gw_runtime_unref(&rt);
}

static void test_forged_consumer_header_never_reaches_the_upstream(void)
{
    dtx_gw_runtime_t *rt = s_rt();
    char who[72], up[4096];
    const char *forged[] = { "X-Consumer", "alice", "x-consumer", "root", NULL };
    /* a route without auth */
    CU_ASSERT_EQUAL(s_run(rt, "/somewhere", NULL, forged, who, up, sizeof up), 0);
    CU_ASSERT_STRING_EQUAL(who, "");
    CU_ASSERT_PTR_NULL(strcasestr(up, "X-Consumer"));
    /* a route with auth: only the gateway's copy */
    const char *bob[] = { "X-Consumer", "alice", "X-Api-Key", "key-of-bob-0123456789", NULL };
    CU_ASSERT_EQUAL(s_run(rt, "/orders", NULL, bob, who, up, sizeof up), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(up, "\r\nX-Consumer: bob\r\n"));
    CU_ASSERT_PTR_NULL(strstr(up, "X-Consumer: alice"));
    dtx_gw_runtime_unref(&rt);
}

static void test_rate_rule_keyed_by_consumer(void)
{
    dtx_gw_runtime_t *rt = s_rt();
    const char *alice[] = { "X-Api-Key", "key-of-alice-0123456789", NULL };
    const char *bob[] = { "X-Api-Key", "key-of-bob-0123456789", NULL };
    gwt_mono = 1000000000;
    /* 1 r/s, no burst: alice's second request is refused, bob's first is not */
    CU_ASSERT_EQUAL(s_run(rt, "/lim", NULL, alice, NULL, NULL, 0), 0);
    CU_ASSERT_EQUAL(s_run(rt, "/lim", NULL, alice, NULL, NULL, 0), 429);
    /* bob may not use /lim (his routes: orders): 403 before any rule */
    CU_ASSERT_EQUAL(s_run(rt, "/lim", NULL, bob, NULL, NULL, 0), 403);
    dtx_gw_runtime_unref(&rt);
}

UNIT_SUITE(gw_auth_filter)
{
    gwt_hex("key-of-alice-0123456789", s_alice_hex);
    gwt_hex("key-of-bob-0123456789", s_bob_hex);
    CU_pSuite s = CU_add_suite("gw_auth_filter", gwt_suite_init, gwt_suite_fini);
    CU_add_test(s, "config errors name the field", test_config_errors_name_the_field);
    CU_add_test(s, "filter answers 401, 403 and names the consumer",
                test_filter_answers_401_403_and_names_the_consumer);
    CU_add_test(s, "forged consumer header never reaches the upstream",
                test_forged_consumer_header_never_reaches_the_upstream);
    CU_add_test(s, "rate rule keyed by consumer", test_rate_rule_keyed_by_consumer);
}
