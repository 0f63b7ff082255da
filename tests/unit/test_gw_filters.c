/* The gateway's filters run on a request struct, without sockets: route
 * matching, validation, admission (with a virtual clock) and the reuse of
 * rule state across configuration generations. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <CUnit/CUnit.h>

#include "core/gw_clock.h"
#include "config/gw_config_parse.h"
#include "filters/gw_filters.h"
#include "filters/gw_route.h"
#include "filters/gw_rules.h"
#include "runtime/gw_runtime.h"
#include "filters/gw_validate.h"
#include "unit.h"

static int64_t s_now;
static int64_t s_clock(void) { return s_now; }

typedef struct {
    const char *names[8];
    const char *values[8];
    int n;
} s_headers_t;

static const char *s_lookup(void *ctx, const char *name)
{
    s_headers_t *h = ctx;
    for (int i = 0; i < h->n; i++)
        if (strcasecmp(h->names[i], name) == 0)
            return h->values[i];
    return NULL;
}

static const char *s_doc =
    "{\"pools\":[{\"name\":\"p\",\"targets\":[\"http://127.0.0.1:1\"]},"
    "{\"name\":\"q\",\"targets\":[\"http://127.0.0.1:2\"]}],"
    "\"rules\":[{\"name\":\"wide\",\"type\":\"rate_limit\",\"rate\":100,\"burst\":1,\"nodelay\":true,"
    "\"key\":\"global\"},"
    "{\"name\":\"narrow\",\"type\":\"rate_limit\",\"rate\":1,\"burst\":0,\"key\":\"header:X-User\"},"
    "{\"name\":\"one\",\"type\":\"concurrency\",\"max\":1},"
    "{\"name\":\"brk\",\"type\":\"breaker\",\"consecutive_failures\":2,\"min_requests\":100,"
    "\"open_ms\":1000},"
    "{\"name\":\"brk2\",\"type\":\"breaker\",\"consecutive_failures\":2,\"min_requests\":100,"
    "\"open_ms\":100}],"
    "\"routes\":[{\"name\":\"exact\",\"match\":{\"path\":\"/api/x\"},\"pool\":\"p\"},"
    "{\"name\":\"short\",\"match\":{\"prefix\":\"/api\"},\"pool\":\"p\"},"
    "{\"name\":\"long\",\"match\":{\"prefix\":\"/api/long\",\"method\":[\"POST\"]},\"pool\":\"p\","
    "\"validate\":{\"max_body\":20,\"required_headers\":[\"X-User\"],"
    "\"content_types\":[\"application/json\"],\"json_fields\":{\"n\":\"integer\"}}},"
    "{\"name\":\"host\",\"match\":{\"prefix\":\"/\",\"host\":\"shop.example\"},\"pool\":\"q\"},"
    "{\"name\":\"limited\",\"match\":{\"prefix\":\"/lim\"},\"pool\":\"p\","
    "\"rules\":[\"wide\",\"narrow\"]},"
    "{\"name\":\"guarded\",\"match\":{\"prefix\":\"/brk\"},\"pool\":\"p\","
    "\"rules\":[\"brk\",\"one\"]},"
    "{\"name\":\"ratebrk\",\"match\":{\"prefix\":\"/rb\"},\"pool\":\"p\","
    "\"rules\":[\"narrow\",\"brk2\"]},"
    "{\"name\":\"degraded\",\"match\":{\"prefix\":\"/deg\"},\"pool\":\"p\",\"rules\":[\"brk\"],"
    "\"fallback\":{\"status\":200,\"body\":\"cached\"}},"
    "{\"name\":\"split\",\"match\":{\"prefix\":\"/split\"},"
    "\"split\":[{\"pool\":\"p\",\"weight\":3},{\"pool\":\"q\",\"weight\":1}]}]}";

/* The gateway-wide state every generation of these tests shares. */
static dtx_gw_shared_t s_shared;

static int s_suite_init(void)
{
    return dtx_gw_shared_init(&s_shared) == 0 ? 0 : -1;
}

static int s_suite_fini(void)
{
    dtx_gw_shared_fini(&s_shared);
    return 0;
}

static dtx_gw_runtime_t *s_rt(const char *doc, const dtx_gw_runtime_t *old)
{
    char err[DTX_GW_ERR_SIZE];
    dtx_gw_config_t *cfg = dtx_gw_config_parse(doc, strlen(doc), err, sizeof err);
    if (!cfg)
        fprintf(stderr, "\n  config: %s\n", err);
    CU_ASSERT_FATAL(cfg != NULL);
    dtx_gw_runtime_t *rt = dtx_gw_runtime_build(cfg, old, &s_shared);
    CU_ASSERT_FATAL(rt != NULL);
    return rt;
}

static void s_req(dtx_gw_req_t *req, dtx_gw_runtime_t *rt, const char *method,
                  const char *path, s_headers_t *h)
{
    memset(req, 0, sizeof *req);
    req->rt = rt;
    req->method = method;
    req->path = path;
    req->header = s_lookup;
    req->header_ctx = h;
    req->host = s_lookup(h, "Host");
    req->client_ip = "10.0.0.1";
    req->content_length = -1;
}

/* Runs on_head of the default chain; returns the local status or 0. */
static int s_head(dtx_gw_req_t *req)
{
    if (dtx_gw_chain_head(dtx_gw_default_chain, dtx_gw_default_chain_len, req) == DTX_GW_REPLY)
        return req->reply.status;
    return 0;
}

static void s_done(dtx_gw_req_t *req)
{
    dtx_gw_chain_done(dtx_gw_default_chain, dtx_gw_default_chain_len, req);
    dtx_gw_req_fini(req);
}

static const char *s_reply_header(const dtx_gw_req_t *req, const char *name)
{
    for (int i = 0; i < req->reply.nheaders; i++)
        if (strcmp(req->reply.names[i], name) == 0)
            return req->reply.values[i];
    return NULL;
}

static void test_reply_header_int_formats_and_replaces(void)
{
    dtx_gw_req_t req;
    memset(&req, 0, sizeof req);
    dtx_gw_reply_header_int(&req, "RateLimit-Limit", 0);
    dtx_gw_reply_header_int(&req, "RateLimit-Remaining", 9223372036854775807LL);
    dtx_gw_reply_header_int(&req, "RateLimit-Reset", -9223372036854775807LL - 1);
    CU_ASSERT_EQUAL(req.reply.nheaders, 3);
    CU_ASSERT_STRING_EQUAL(s_reply_header(&req, "RateLimit-Limit"), "0");
    CU_ASSERT_STRING_EQUAL(s_reply_header(&req, "RateLimit-Remaining"), "9223372036854775807");
    CU_ASSERT_STRING_EQUAL(s_reply_header(&req, "RateLimit-Reset"), "-9223372036854775808");
    /* An integer's length is kept (the answer copies it without a scan);
     * Limit and Reset share a length and stay two slots. */
    CU_ASSERT_EQUAL(req.reply.name_lens[0], 15);
    CU_ASSERT_EQUAL(req.reply.value_lens[0], 1);
    CU_ASSERT_EQUAL(req.reply.value_lens[1], 19);
    CU_ASSERT_EQUAL(req.reply.value_lens[2], 20);
    dtx_gw_reply_header_int(&req, "RateLimit-Remaining", 41);     /* replaced, not added */
    CU_ASSERT_EQUAL(req.reply.value_lens[1], 2);
    dtx_gw_reply_header(&req, "RateLimit-Reset", "%s", "1\r\nX: y");
    CU_ASSERT_EQUAL(req.reply.value_lens[2], -1);   /* printed: checked when sent */
    dtx_gw_reply_header(&req, "RateLimit-Reset", "%s", "1");
    CU_ASSERT_EQUAL(req.reply.value_lens[2], -1);
    dtx_gw_reply_header_int(&req, "X-Bad\r\nName", 1);            /* no slot */
    dtx_gw_reply_header(&req, "X-Bad\nName", "%s", "1");
    CU_ASSERT_EQUAL(req.reply.nheaders, 3);
    CU_ASSERT_STRING_EQUAL(s_reply_header(&req, "RateLimit-Remaining"), "41");
    CU_ASSERT_STRING_EQUAL(s_reply_header(&req, "RateLimit-Reset"), "1");
    for (int i = 3; i < DTX_GW_MAX_REPLY_HDRS + 2; i++) {  /* full: ignored */
        char name[16];
        snprintf(name, sizeof name, "X-%d", i);
        dtx_gw_reply_header_int(&req, name, i);
    }
    CU_ASSERT_EQUAL(req.reply.nheaders, DTX_GW_MAX_REPLY_HDRS);
    CU_ASSERT_STRING_EQUAL(s_reply_header(&req, "X-7"), "7");
    CU_ASSERT_PTR_NULL(s_reply_header(&req, "X-8"));
}

static void test_route_exact_beats_prefix_and_longest_prefix_wins(void)
{
    dtx_gw_runtime_t *rt = s_rt(s_doc, NULL);
    dtx_gw_route_t *r = rt->routes;
    int n = rt->nroutes;
    CU_ASSERT_STRING_EQUAL(dtx_gw_route_match(r, n, "GET", NULL, "/api/x")->cfg->name, "exact");
    CU_ASSERT_STRING_EQUAL(dtx_gw_route_match(r, n, "GET", NULL, "/api/xy")->cfg->name, "short");
    CU_ASSERT_STRING_EQUAL(dtx_gw_route_match(r, n, "POST", NULL, "/api/long/1")->cfg->name, "long");
    CU_ASSERT_STRING_EQUAL(dtx_gw_route_match(r, n, "GET", NULL, "/api/long/1")->cfg->name, "short");
    CU_ASSERT_STRING_EQUAL(dtx_gw_route_match(r, n, "GET", "Shop.Example:8080", "/z")->cfg->name,
                           "host");
    CU_ASSERT_PTR_NULL(dtx_gw_route_match(r, n, "GET", "other", "/z"));
    dtx_gw_runtime_unref(&rt);
}

/* Routes match the normalised path: case only where a route asks, a
 * prefix "/dir/" takes "/dir" (what "/dir/" normalises to), an exact path
 * must be in normal form, and a refused request is 400 before any route. */
static void test_route_case_option_slash_prefix_and_refusal(void)
{
    static const char doc[] =
        "{\"pools\":[{\"name\":\"p\",\"targets\":[\"http://127.0.0.1:1\"]}],"
        "\"routes\":[{\"name\":\"ci\",\"match\":{\"path\":\"/Limited\",\"path_case_insensitive\":true},"
        "\"pool\":\"p\"},"
        "{\"name\":\"cs\",\"match\":{\"path\":\"/exact\"},\"pool\":\"p\"},"
        "{\"name\":\"dir\",\"match\":{\"prefix\":\"/dir/\"},\"pool\":\"p\"},"
        "{\"name\":\"rest\",\"match\":{\"prefix\":\"/\"},\"pool\":\"p\"}]}";
    dtx_gw_runtime_t *rt = s_rt(doc, NULL);
    dtx_gw_route_t *r = rt->routes;
    int n = rt->nroutes;
    CU_ASSERT_STRING_EQUAL(dtx_gw_route_match(r, n, "GET", NULL, "/LIMITED")->cfg->name, "ci");
    CU_ASSERT_STRING_EQUAL(dtx_gw_route_match(r, n, "GET", NULL, "/limited")->cfg->name, "ci");
    CU_ASSERT_STRING_EQUAL(dtx_gw_route_match(r, n, "GET", NULL, "/EXACT")->cfg->name, "rest");
    CU_ASSERT_STRING_EQUAL(dtx_gw_route_match(r, n, "GET", NULL, "/dir")->cfg->name, "dir");
    CU_ASSERT_STRING_EQUAL(dtx_gw_route_match(r, n, "GET", NULL, "/dir/a")->cfg->name, "dir");
    CU_ASSERT_STRING_EQUAL(dtx_gw_route_match(r, n, "GET", NULL, "/dirt")->cfg->name, "rest");
    s_headers_t h = { 0 };
    dtx_gw_req_t req;
    s_req(&req, rt, "GET", "", &h);
    req.refused = "encoded / in path";
    CU_ASSERT_EQUAL(s_head(&req), 400);
    CU_ASSERT_PTR_NULL(req.route);
    CU_ASSERT_PTR_NOT_NULL(strstr(req.reply.body, "encoded / in path"));
    s_done(&req);
    dtx_gw_runtime_unref(&rt);
    static const char *const bad[] = { "/a/", "//a", "/a/../b", "/%61", "/a;b", "/a%2fb", NULL };
    for (int i = 0; bad[i]; i++) {
        char d[512], err[DTX_GW_ERR_SIZE];
        snprintf(d, sizeof d, "{\"pools\":[{\"name\":\"p\",\"targets\":[\"http://127.0.0.1:1\"]}],"
                 "\"routes\":[{\"name\":\"r\",\"match\":{\"path\":\"%s\"},\"pool\":\"p\"}]}", bad[i]);
        dtx_gw_config_t *cfg = dtx_gw_config_parse(d, strlen(d), err, sizeof err);
        CU_ASSERT_PTR_NULL(cfg);
        if (cfg)
            dtx_gw_config_destroy(&cfg);
        else
            CU_ASSERT_PTR_NOT_NULL(strstr(err, "normalised"));
    }
}

static void test_split_gives_each_pool_its_exact_share(void)
{
    dtx_gw_runtime_t *rt = s_rt(s_doc, NULL);
    dtx_gw_route_t *split = dtx_gw_route_match(rt->routes, rt->nroutes, "GET", NULL, "/split");
    int p = 0, q = 0;
    for (int i = 0; i < 400; i++) {
        dtx_gw_pool_t *pool = dtx_gw_route_pick_pool(split);
        p += strcmp(pool->cfg.name, "p") == 0;
        q += strcmp(pool->cfg.name, "q") == 0;
    }
    CU_ASSERT_EQUAL(p, 300);
    CU_ASSERT_EQUAL(q, 100);
    dtx_gw_runtime_unref(&rt);
}

static void test_unknown_route_is_404(void)
{
    dtx_gw_runtime_t *rt = s_rt(s_doc, NULL);
    s_headers_t h = { { "Host" }, { "other" }, 1 };
    dtx_gw_req_t req;
    s_req(&req, rt, "GET", "/nowhere", &h);
    CU_ASSERT_EQUAL(s_head(&req), 404);
    s_done(&req);
    dtx_gw_runtime_unref(&rt);
}

static int s_validate(dtx_gw_runtime_t *rt, s_headers_t *h, const char *body, int64_t len)
{
    dtx_gw_req_t req;
    s_req(&req, rt, "POST", "/api/long", h);
    req.content_length = len;
    int status = s_head(&req);
    if (!status) {
        req.body = body ? strdup(body) : NULL;
        req.body_len = body ? strlen(body) : 0;
        if (dtx_gw_chain_body(dtx_gw_default_chain, 4, &req) == DTX_GW_REPLY)
            status = req.reply.status;
        if (status && !strstr(req.reply.body, "error"))
            status = -1;
    }
    s_done(&req);
    return status;
}

static void test_validation_answers_400_413_415(void)
{
    dtx_gw_runtime_t *rt = s_rt(s_doc, NULL);
    s_headers_t ok = { { "X-User", "Content-Type" }, { "u1", "application/json; charset=utf-8" }, 2 };
    s_headers_t no_user = { { "Content-Type" }, { "application/json" }, 1 };
    s_headers_t xml = { { "X-User", "Content-Type" }, { "u1", "text/xml" }, 2 };
    CU_ASSERT_EQUAL(s_validate(rt, &ok, "{\"n\":1}", 7), 0);
    CU_ASSERT_EQUAL(s_validate(rt, &ok, NULL, 1000), 413);         /* declared */
    CU_ASSERT_EQUAL(s_validate(rt, &ok, "{\"n\":1,\"pad\":\"xxxxxxxx\"}", -1), 413);
    CU_ASSERT_EQUAL(s_validate(rt, &no_user, "{\"n\":1}", 7), 400);
    CU_ASSERT_EQUAL(s_validate(rt, &xml, "{\"n\":1}", 7), 415);
    CU_ASSERT_EQUAL(s_validate(rt, &ok, "{\"n\":\"1\"}", 9), 400);   /* wrong type */
    CU_ASSERT_EQUAL(s_validate(rt, &ok, "{\"m\":1}", 7), 400);       /* missing */
    CU_ASSERT_EQUAL(s_validate(rt, &ok, "[1]", 3), 400);             /* not an object */
    CU_ASSERT_EQUAL(s_validate(rt, &ok, "{\"n\":", 5), 400);         /* truncated */
    dtx_gw_runtime_unref(&rt);
}

static int s_limited(dtx_gw_runtime_t *rt, const char *user, dtx_gw_req_t *keep)
{
    s_headers_t h = { { "X-User" }, { user }, 1 };
    dtx_gw_req_t req;
    s_req(&req, rt, "GET", "/lim", &h);
    int status = s_head(&req);
    if (keep)
        *keep = req;
    else
        s_done(&req);
    return status;
}

static void test_a_request_refused_by_one_rule_counts_in_none(void)
{
    dtx_gw_clock_set(s_clock);
    s_now = 1000000000;
    dtx_gw_runtime_t *rt = s_rt(s_doc, NULL);
    dtx_gw_rule_t *wide = rt->rules[0], *narrow = rt->rules[1];
    CU_ASSERT_EQUAL(s_limited(rt, "alice", NULL), 0);
    /* alice is over her own limit: refused by "narrow" ... */
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(s_limited(rt, "alice", NULL), 429);
    /* ... and "wide" counted none of it: bob still has wide's burst. */
    CU_ASSERT_EQUAL(s_limited(rt, "bob", NULL), 0);
    CU_ASSERT_EQUAL(atomic_load(&wide->passed), 2);
    CU_ASSERT_EQUAL(atomic_load(&narrow->rejected), 5);
    /* wide is now full for this ms: carol is refused by wide, and narrow
     * did not count her either. */
    dtx_gw_req_t req;
    CU_ASSERT_EQUAL(s_limited(rt, "carol", &req), 429);
    CU_ASSERT_STRING_EQUAL(req.rejected_by, "wide");
    CU_ASSERT_STRING_EQUAL(s_reply_header(&req, "RateLimit-Remaining"), "0");
    CU_ASSERT_PTR_NOT_NULL(s_reply_header(&req, "Retry-After"));
    s_done(&req);
    s_now += 1000000;
    CU_ASSERT_EQUAL(s_limited(rt, "carol", NULL), 0);
    dtx_gw_runtime_unref(&rt);
    dtx_gw_clock_set(NULL);
}

/* A /brk request through on_head; outcome applied in on_done. */
/* A worker's thread: the rules read the time of its last wake-up
 * (dtx_gw_clock_tick), not the clock; over many wake-ups the rate is the
 * configured one. */
static void *s_ticking_worker(void *arg)
{
    dtx_gw_runtime_t *rt = arg;
    char user[32];
    CU_ASSERT_EQUAL(dtx_gw_clock_tick(), s_now);
    CU_ASSERT_EQUAL(s_limited(rt, "alice", NULL), 0);
    CU_ASSERT_EQUAL(s_limited(rt, "alice", NULL), 429);    /* narrow: 1 r/s */
    s_now += 2000000;                                      /* no wake-up yet */
    CU_ASSERT_EQUAL(dtx_gw_loop_us(), s_now - 2000000);
    CU_ASSERT_EQUAL(s_limited(rt, "alice", NULL), 429);    /* same wake-up */
    CU_ASSERT_EQUAL(dtx_gw_clock_tick(), s_now);
    CU_ASSERT_EQUAL(s_limited(rt, "alice", NULL), 0);      /* two seconds on */
    /* 1 s of wake-ups 2 ms apart, 3 requests each from new users: "wide"
     * (100 r/s, burst 1) lets 100 through, give or take its burst. */
    int passed = 0;
    for (int k = 0; k < 500; k++) {
        s_now += 2000;
        dtx_gw_clock_tick();
        for (int j = 0; j < 3; j++) {
            snprintf(user, sizeof user, "u%d-%d", k, j);
            passed += s_limited(rt, user, NULL) == 0;
        }
    }
    CU_ASSERT(passed >= 99 && passed <= 102);
    return NULL;
}

static void test_rules_read_the_wake_up_time_and_keep_the_rate(void)
{
    dtx_gw_clock_set(s_clock);
    s_now = 3000000000;
    dtx_gw_runtime_t *rt = s_rt(s_doc, NULL);
    pthread_t th;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, s_ticking_worker, rt), 0);
    pthread_join(th, NULL);
    /* this thread never ticked: it reads the clock itself */
    s_now += 5;
    CU_ASSERT_EQUAL(dtx_gw_loop_us(), s_now);
    dtx_gw_runtime_unref(&rt);
    dtx_gw_clock_set(NULL);
}

static int s_guarded(dtx_gw_runtime_t *rt, const char *path, int status, dtx_gw_req_t *keep)
{
    s_headers_t h = { { 0 }, { 0 }, 0 };
    dtx_gw_req_t req;
    s_req(&req, rt, "GET", path, &h);
    int local = s_head(&req);
    if (keep) {
        *keep = req;
        return local;
    }
    if (!local) {
        req.sent = 1;
        req.upstream_status = status;
    }
    s_done(&req);
    return local;
}

static void test_probe_blocked_by_concurrency_does_not_wedge_the_breaker(void)
{
    dtx_gw_clock_set(s_clock);
    s_now = 1000000000;
    dtx_gw_runtime_t *rt = s_rt(s_doc, NULL);
    CU_ASSERT_EQUAL(s_guarded(rt, "/brk", 500, NULL), 0);
    CU_ASSERT_EQUAL(s_guarded(rt, "/brk", 500, NULL), 0);
    CU_ASSERT_EQUAL(s_guarded(rt, "/brk", 200, NULL), 503);   /* open */
    s_now += 2000000;
    /* The probe is admitted by the breaker and takes the only concurrency
     * slot; it is then dropped before reaching the upstream (as when a
     * later filter refuses it). */
    dtx_gw_req_t holder;
    CU_ASSERT_EQUAL(s_guarded(rt, "/brk", 0, &holder), 0);    /* the probe, holds "one" */
    CU_ASSERT_EQUAL(s_guarded(rt, "/brk", 200, NULL), 503);   /* half-open: refused */
    holder.sent = 0;                                          /* never reached upstream */
    s_done(&holder);                                          /* cancels the probe */
    /* The next request becomes the probe at once, and its success closes it. */
    CU_ASSERT_EQUAL(s_guarded(rt, "/brk", 200, NULL), 0);
    CU_ASSERT_EQUAL(s_guarded(rt, "/brk", 200, NULL), 0);
    dtx_gw_runtime_unref(&rt);
    dtx_gw_clock_set(NULL);
}

/* /rb as user through on_head; the outcome (status) applied in on_done
 * unless keep. */
static int s_ratebrk(dtx_gw_runtime_t *rt, const char *user, int status, dtx_gw_req_t *keep)
{
    s_headers_t h = { { "X-User" }, { user }, 1 };
    dtx_gw_req_t req;
    s_req(&req, rt, "GET", "/rb", &h);
    int local = s_head(&req);
    if (keep) {
        *keep = req;
        return local;
    }
    if (!local) {
        req.sent = 1;
        req.upstream_status = status;
    }
    s_done(&req);
    return local;
}

/* A route of one rate rule and a breaker is admitted in one pass
 * (gw_rules.h): the outcome is the three steps' one. */
static void test_rate_and_breaker_in_one_pass_keep_the_three_step_outcome(void)
{
    dtx_gw_clock_set(s_clock);
    s_now = 1000000000;
    dtx_gw_runtime_t *rt = s_rt(s_doc, NULL);
    dtx_gw_rule_t *narrow = rt->rules[1], *brk2 = rt->rules[4];
    CU_ASSERT_STRING_EQUAL(brk2->cfg.name, "brk2");
    CU_ASSERT_EQUAL(s_ratebrk(rt, "frank", 500, NULL), 0);
    CU_ASSERT_EQUAL(s_ratebrk(rt, "gina", 500, NULL), 0);     /* brk2 opens */
    CU_ASSERT_EQUAL(atomic_load(&narrow->passed), 2);
    CU_ASSERT_EQUAL(atomic_load(&brk2->passed), 2);
    /* The breaker refuses; the rate rule did not count it (a second one
     * in the same ms is refused by the breaker again, not by the rate)
     * and its headers are on the answer. */
    dtx_gw_req_t req;
    CU_ASSERT_EQUAL(s_ratebrk(rt, "hans", 0, &req), 503);
    CU_ASSERT_STRING_EQUAL(req.rejected_by, "brk2");
    CU_ASSERT_STRING_EQUAL(s_reply_header(&req, "RateLimit-Limit"), "1");
    CU_ASSERT_STRING_EQUAL(s_reply_header(&req, "RateLimit-Remaining"), "0");
    s_done(&req);
    CU_ASSERT_EQUAL(s_ratebrk(rt, "hans", 0, NULL), 503);
    CU_ASSERT_EQUAL(atomic_load(&brk2->rejected), 2);
    CU_ASSERT_EQUAL(atomic_load(&narrow->passed), 2);
    CU_ASSERT_EQUAL(atomic_load(&narrow->rejected), 0);
    /* Over the rate and the breaker open: the rate refuses (429), the
     * breaker counts nothing. */
    CU_ASSERT_EQUAL(s_ratebrk(rt, "frank", 0, &req), 429);
    CU_ASSERT_STRING_EQUAL(req.rejected_by, "narrow");
    CU_ASSERT_STRING_EQUAL(s_reply_header(&req, "RateLimit-Remaining"), "0");
    CU_ASSERT_PTR_NOT_NULL(s_reply_header(&req, "Retry-After"));
    s_done(&req);
    CU_ASSERT_EQUAL(atomic_load(&brk2->rejected), 2);
    CU_ASSERT_EQUAL(atomic_load(&narrow->rejected), 1);
    /* The breaker's open time over: frank would be its probe, but the rate
     * refuses him; his ticket is given back, so the next request probes
     * at once, and its success closes the breaker. */
    s_now += 200000;
    CU_ASSERT_EQUAL(s_ratebrk(rt, "frank", 200, NULL), 429);
    CU_ASSERT_EQUAL(s_ratebrk(rt, "ida", 200, NULL), 0);       /* the probe */
    CU_ASSERT_EQUAL(s_ratebrk(rt, "jan", 200, NULL), 0);       /* closed */
    CU_ASSERT_EQUAL(atomic_load(&narrow->passed), 4);
    CU_ASSERT_EQUAL(atomic_load(&brk2->passed), 4);
    dtx_gw_runtime_unref(&rt);
    dtx_gw_clock_set(NULL);
}

static void test_open_breaker_answers_the_static_fallback(void)
{
    dtx_gw_clock_set(s_clock);
    s_now = 1000000000;
    dtx_gw_runtime_t *rt = s_rt(s_doc, NULL);
    s_guarded(rt, "/deg", 502, NULL);
    s_guarded(rt, "/deg", 502, NULL);
    dtx_gw_req_t req;
    CU_ASSERT_EQUAL(s_guarded(rt, "/deg", 0, &req), 200);
    CU_ASSERT_EQUAL(req.reply.body_len, 6);
    CU_ASSERT(memcmp(req.reply.body, "cached", 6) == 0);
    CU_ASSERT_STRING_EQUAL(s_reply_header(&req, "X-Dtx-Fallback"), "breaker");
    s_done(&req);
    dtx_gw_runtime_unref(&rt);
    dtx_gw_clock_set(NULL);
}

static void test_swap_keeps_unchanged_rules_and_renews_changed_ones(void)
{
    dtx_gw_runtime_t *a = s_rt(s_doc, NULL);
    atomic_store(&a->rules[0]->passed, 42);
    char doc[8192];
    const char *from = "\"rate\":1,\"burst\":0";
    const char *at = strstr(s_doc, from);
    snprintf(doc, sizeof doc, "%.*s\"rate\":2,\"burst\":0%s", (int)(at - s_doc), s_doc,
             at + strlen(from));
    dtx_gw_runtime_t *b = s_rt(doc, a);
    CU_ASSERT_PTR_EQUAL(b->rules[0], a->rules[0]);      /* "wide": same object, same state */
    CU_ASSERT_EQUAL(atomic_load(&b->rules[0]->passed), 42);
    CU_ASSERT_PTR_NOT_EQUAL(b->rules[1], a->rules[1]);  /* "narrow" changed */
    CU_ASSERT_PTR_EQUAL(b->pools[0], a->pools[0]);
    CU_ASSERT_PTR_EQUAL(b->routes[0].stats, a->routes[0].stats);
    dtx_gw_runtime_unref(&a);
    CU_ASSERT_EQUAL(atomic_load(&b->rules[0]->refs), 1);
    dtx_gw_runtime_unref(&b);
}

/* A request id is 32 lower-case hex digits, new each time. */
static void test_request_id_is_32_hex_digits_and_new_each_time(void)
{
    char a[33], b[33];
    memset(a, 'x', sizeof a);
    dtx_gw_request_id(a);
    dtx_gw_request_id(b);
    CU_ASSERT_EQUAL(strlen(a), 32);
    CU_ASSERT_EQUAL(strspn(a, "0123456789abcdef"), 32);
    CU_ASSERT_STRING_NOT_EQUAL(a, b);
}


UNIT_SUITE(gw_filters)
{
    CU_pSuite s = CU_add_suite("gw_filters", s_suite_init, s_suite_fini);
    CU_add_test(s, "request id is 32 hex digits, new each time",
                test_request_id_is_32_hex_digits_and_new_each_time);
    CU_add_test(s, "reply header int formats and replaces",
                test_reply_header_int_formats_and_replaces);
    CU_add_test(s, "route: exact beats prefix, longest prefix wins",
                test_route_exact_beats_prefix_and_longest_prefix_wins);
    CU_add_test(s, "route case option, slash prefix and refusal",
                test_route_case_option_slash_prefix_and_refusal);
    CU_add_test(s, "split gives each pool its exact share",
                test_split_gives_each_pool_its_exact_share);
    CU_add_test(s, "unknown route is 404", test_unknown_route_is_404);
    CU_add_test(s, "validation answers 400, 413, 415", test_validation_answers_400_413_415);
    CU_add_test(s, "a request refused by one rule counts in none",
                test_a_request_refused_by_one_rule_counts_in_none);
    CU_add_test(s, "rules read the wake-up time and keep the rate",
                test_rules_read_the_wake_up_time_and_keep_the_rate);
    CU_add_test(s, "probe blocked by concurrency does not wedge the breaker",
                test_probe_blocked_by_concurrency_does_not_wedge_the_breaker);
    CU_add_test(s, "rate and breaker in one pass keep the three-step outcome",
                test_rate_and_breaker_in_one_pass_keep_the_three_step_outcome);
    CU_add_test(s, "open breaker answers the static fallback",
                test_open_breaker_answers_the_static_fallback);
    CU_add_test(s, "swap keeps unchanged rules and renews changed ones",
                test_swap_keeps_unchanged_rules_and_renews_changed_ones);
}
