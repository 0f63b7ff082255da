/*
 * Gateway identity suite: a real dtx-gateway in front of a real echo
 * upstream; API keys and HS256 tokens made here with OpenSSL. Checks the
 * 401/403/200 answers, the consumer header the upstream sees (a forged
 * copy never), a rate rule keyed by consumer, and a hot swap of the
 * consumers under load with no failed request. No latency assertions.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "gw_util.h"
#include "integ.h"

#define TOKEN "test-token-5c1e9a7f3b"
#define SECRET "0123456789abcdef0123456789abcdef"
#define SECRET_B64 "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
#define ALICE_KEY "ak_alice_4f1d9c2b7e6a5d3c"
#define BOB_KEY "ak_bob_8e2a6c4d1f3b5a7c"
#define CAROL_KEY "ak_carol_1a2b3c4d5e6f7a8b"

static char s_alice[65], s_bob[65], s_carol[65];

static void s_hex(const char *key, char *out)
{
    unsigned char d[32];
    unsigned int n = 0;
    EVP_Digest(key, strlen(key), d, &n, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void s_b64url(const unsigned char *in, size_t len, char *out)
{
    int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    int o = 0;
    for (int i = 0; i < n && out[i] != '='; i++)
        out[o++] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    out[o] = '\0';
}

/* "Authorization: Bearer <HS256 token for sub, exp = now + exp_in>" */
static void s_bearer(const char *sub, long exp_in, char *out, size_t cap)
{
    char payload[256], t[1024];
    snprintf(payload, sizeof payload, "{\"sub\":\"%s\",\"iss\":\"https://idp.example\","
             "\"exp\":%lld}", sub, (long long)time(NULL) + exp_in);
    s_b64url((const unsigned char *)"{\"alg\":\"HS256\",\"typ\":\"JWT\"}", 27, t);
    strcat(t, ".");
    s_b64url((const unsigned char *)payload, strlen(payload), t + strlen(t));
    unsigned char mac[32];
    unsigned int ml = 0;
    HMAC(EVP_sha256(), SECRET, 32, (unsigned char *)t, strlen(t), mac, &ml);
    strcat(t, ".");
    s_b64url(mac, ml, t + strlen(t));
    snprintf(out, cap, "Authorization: Bearer %s", t);
}

/* %d upstream port, %s carol's consumer entry (or ""), %s bob's routes. */
static const char *s_doc =
    "{\"admin\":{\"token\":\"" TOKEN "\"},"
    "\"identity\":{\"consumer_header\":\"X-Consumer\"},"
    "\"pools\":[{\"name\":\"p\",\"targets\":[\"http://127.0.0.1:%d\"]}],"
    "\"rules\":[{\"name\":\"per-consumer\",\"type\":\"rate_limit\",\"rate\":1,\"per\":\"m\","
    "\"burst\":0,\"nodelay\":true,\"key\":\"consumer\"}],"
    "\"consumers\":[{\"name\":\"alice\",\"api_keys\":[{\"key_sha256\":\"%s\"}]},"
    "{\"name\":\"bob\",\"api_keys\":[{\"key_sha256\":\"%s\"}],\"routes\":%s}%s],"
    "\"jwt\":[{\"name\":\"idp\",\"algorithm\":\"HS256\",\"secret_base64\":\"" SECRET_B64 "\","
    "\"issuer\":\"https://idp.example\",\"leeway_s\":2}],"
    "\"routes\":[{\"name\":\"orders\",\"match\":{\"prefix\":\"/orders\"},\"pool\":\"p\","
    "\"auth\":{\"api_key\":{\"header\":\"X-Api-Key\",\"query\":\"api_key\"},\"jwt\":\"idp\"}},"
    "{\"name\":\"reports\",\"match\":{\"prefix\":\"/reports\"},\"pool\":\"p\","
    "\"auth\":{\"api_key\":{}}},"
    "{\"name\":\"limited\",\"match\":{\"prefix\":\"/limited\"},\"pool\":\"p\","
    "\"auth\":{\"api_key\":{}},\"rules\":[\"per-consumer\"]},"
    "{\"name\":\"open\",\"match\":{\"prefix\":\"/\"},\"pool\":\"p\"}]}";

static int s_start(gw_proc_t *up, gw_proc_t *gw, const char *name)
{
    if (gw_upstream_start(up, "echo", NULL) < 0)
        return -1;
    return gw_gateway_start(gw, name, s_doc, up->port, s_alice, s_bob,
                            "[\"orders\",\"limited\"]", "");
}

/* The echoed request header name ("" when absent); the status out. */
static long s_seen(const gw_proc_t *gw, const char *path, const char *const *hdrs,
                   const char *name, char *out, size_t cap, char *www, size_t wcap)
{
    gw_resp_t r;
    out[0] = '\0';
    gw_http(&r, "GET", gw_at(gw, path), hdrs, NULL);
    if (www && !gw_resp_header(&r, "WWW-Authenticate", www, wcap))
        www[0] = '\0';
    json_object *o = r.status == 200 ? json_tokener_parse(r.body) : NULL, *h, *v;
    if (o && json_object_object_get_ex(o, "headers", &h) && name &&
        json_object_object_get_ex(h, name, &v))
        snprintf(out, cap, "%s", json_object_get_string(v));
    if (o && name && strcmp(name, "uri") == 0 && json_object_object_get_ex(o, "uri", &v))
        snprintf(out, cap, "%s", json_object_get_string(v));
    json_object_put(o);
    long st = r.status;
    gw_resp_free(&r);
    return st;
}

static void test_401_403_200_and_the_consumer_header(void)
{
    gw_proc_t up, gw;
    CU_ASSERT_FATAL(s_start(&up, &gw, "gw-auth") == 0);
    char v[256], www[256];
    /* nothing: 401 with both challenges */
    CU_ASSERT_EQUAL(s_seen(&gw, "/orders", NULL, "X-Consumer", v, sizeof v, www, sizeof www),
                    401);
    CU_ASSERT_STRING_EQUAL(www, "Bearer realm=\"dtx-gateway\", ApiKey realm=\"dtx-gateway\", "
                                "header=\"X-Api-Key\"");
    const char *wrong[] = { "X-Api-Key: ak_nobody", NULL };
    CU_ASSERT_EQUAL(s_seen(&gw, "/orders", wrong, NULL, v, sizeof v, NULL, 0), 401);
    /* alice's key: the upstream sees the consumer, not the key */
    const char *alice[] = { "X-Api-Key: " ALICE_KEY, "X-Consumer: root", NULL };
    CU_ASSERT_EQUAL(s_seen(&gw, "/orders", alice, "X-Consumer", v, sizeof v, NULL, 0), 200);
    CU_ASSERT_STRING_EQUAL(v, "alice");
    CU_ASSERT_EQUAL(s_seen(&gw, "/orders", alice, "X-Api-Key", v, sizeof v, NULL, 0), 200);
    CU_ASSERT_STRING_EQUAL(v, "");
    /* in the query, stripped from the query sent on */
    CU_ASSERT_EQUAL(s_seen(&gw, "/orders?x=1&api_key=" ALICE_KEY, NULL, "uri", v, sizeof v,
                           NULL, 0), 200);
    CU_ASSERT_STRING_EQUAL(v, "/orders?x=1");
    /* a forged consumer header on a route without auth: dropped */
    const char *forged[] = { "X-Consumer: alice", NULL };
    CU_ASSERT_EQUAL(s_seen(&gw, "/elsewhere", forged, "X-Consumer", v, sizeof v, NULL, 0), 200);
    CU_ASSERT_STRING_EQUAL(v, "");
    /* bob: orders yes, reports no (403) */
    const char *bob[] = { "X-Api-Key: " BOB_KEY, NULL };
    CU_ASSERT_EQUAL(s_seen(&gw, "/orders", bob, "X-Consumer", v, sizeof v, NULL, 0), 200);
    CU_ASSERT_STRING_EQUAL(v, "bob");
    CU_ASSERT_EQUAL(s_seen(&gw, "/reports", bob, NULL, v, sizeof v, NULL, 0), 403);
    /* a JWT */
    char bearer[1200];
    s_bearer("alice", 60, bearer, sizeof bearer);
    const char *jwt[] = { bearer, NULL };
    CU_ASSERT_EQUAL(s_seen(&gw, "/orders", jwt, "X-Consumer", v, sizeof v, NULL, 0), 200);
    CU_ASSERT_STRING_EQUAL(v, "alice");
    s_bearer("alice", -60, bearer, sizeof bearer);
    CU_ASSERT_EQUAL(s_seen(&gw, "/orders", jwt, NULL, v, sizeof v, www, sizeof www), 401);
    CU_ASSERT_PTR_NOT_NULL(strstr(www, "Bearer realm=\"dtx-gateway\", error=\"invalid_token\""));
    CU_ASSERT(gw_metric(&gw, "dtx_gw_auth_failures_total{route=\"orders\",reason=\"missing\"}")
              >= 1);
    CU_ASSERT(gw_metric(&gw, "dtx_gw_auth_failures_total{route=\"orders\",reason=\"expired\"}")
              >= 1);
    CU_ASSERT(gw_metric(&gw, "dtx_gw_auth_failures_total{route=\"orders\","
                             "reason=\"unknown_key\"}") >= 1);
    CU_ASSERT(gw_metric(&gw, "dtx_gw_auth_failures_total{route=\"reports\","
                             "reason=\"forbidden\"}") >= 1);
    CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 10000), 0);
    h_stop(up.pid, SIGTERM, 10000);
}

static void test_rate_rule_by_consumer_limits_one_not_the_other(void)
{
    gw_proc_t up, gw;
    CU_ASSERT_FATAL(s_start(&up, &gw, "gw-auth-rate") == 0);
    char v[64];
    const char *alice[] = { "X-Api-Key: " ALICE_KEY, NULL };
    const char *bob[] = { "X-Api-Key: " BOB_KEY, NULL };
    /* 1 request a minute per consumer */
    CU_ASSERT_EQUAL(s_seen(&gw, "/limited", alice, NULL, v, sizeof v, NULL, 0), 200);
    CU_ASSERT_EQUAL(s_seen(&gw, "/limited", alice, NULL, v, sizeof v, NULL, 0), 429);
    CU_ASSERT_EQUAL(s_seen(&gw, "/limited", bob, NULL, v, sizeof v, NULL, 0), 200);
    CU_ASSERT_EQUAL(s_seen(&gw, "/limited", bob, NULL, v, sizeof v, NULL, 0), 429);
    CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 10000), 0);
    h_stop(up.pid, SIGTERM, 10000);
}

static void test_hot_swap_of_consumers_under_load_fails_no_request(void)
{
    gw_proc_t up, gw;
    CU_ASSERT_FATAL(s_start(&up, &gw, "gw-auth-swap") == 0);
    gw_load_t alice = { .port = gw.port, .path = "/orders", .header = "X-Api-Key: " ALICE_KEY };
    char bearer[1200];
    s_bearer("alice", 600, bearer, sizeof bearer);
    gw_load_t jwt = { .port = gw.port, .path = "/orders", .header = bearer };
    CU_ASSERT_FATAL(gw_load_start(&alice, 2) == 0);
    CU_ASSERT_FATAL(gw_load_start(&jwt, 2) == 0);
    char doc[8192], carol[256];
    snprintf(carol, sizeof carol, ",{\"name\":\"carol\",\"api_keys\":[{\"key_sha256\":\"%s\"}]}",
             s_carol);
    int swaps = 0, carol_seen = 0, carol_gone = 0;
    const char *ch[] = { "X-Api-Key: " CAROL_KEY, NULL };
    for (int i = 0; i < 30; i++) {
        /* carol comes and goes, bob's routes change; alice never changes */
        snprintf(doc, sizeof doc, s_doc, up.port, s_alice, s_bob,
                 i % 2 ? "[\"orders\"]" : "[\"orders\",\"limited\"]", i % 2 ? carol : "");
        gw_resp_t r;
        swaps += gw_admin_put(&gw, TOKEN, doc, 0, &r) == 200;
        gw_resp_free(&r);
        char v[64];
        long st = s_seen(&gw, "/orders", ch, NULL, v, sizeof v, NULL, 0);
        carol_seen += i % 2 && st == 200;
        carol_gone += !(i % 2) && st == 401;
        h_sleep_ms(20);
    }
    gw_load_stop(&alice);
    gw_load_stop(&jwt);
    CU_ASSERT_EQUAL(swaps, 30);
    CU_ASSERT_EQUAL(carol_seen, 15);
    CU_ASSERT_EQUAL(carol_gone, 15);
    CU_ASSERT(atomic_load(&alice.ok) > 0);
    CU_ASSERT(atomic_load(&jwt.ok) > 0);
    CU_ASSERT_EQUAL(atomic_load(&alice.failed), 0);
    CU_ASSERT_EQUAL(atomic_load(&jwt.failed), 0);
    CU_ASSERT_EQUAL(h_stop(gw.pid, SIGTERM, 10000), 0);
    h_stop(up.pid, SIGTERM, 10000);
}

static int s_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    s_hex(ALICE_KEY, s_alice);
    s_hex(BOB_KEY, s_bob);
    s_hex(CAROL_KEY, s_carol);
    return h_init() == 0 ? 0 : -1;
}

INTEG_SUITE(gateway_auth)
{
    CU_pSuite s = CU_add_suite("gateway_auth", s_init, NULL);
    CU_add_test(s, "401, 403, 200 and the consumer header",
                test_401_403_200_and_the_consumer_header);
    CU_add_test(s, "rate rule by consumer limits one, not the other",
                test_rate_rule_by_consumer_limits_one_not_the_other);
    CU_add_test(s, "hot swap of consumers under load fails no request",
                test_hot_swap_of_consumers_under_load_fails_no_request);
}
