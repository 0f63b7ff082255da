/* The response cache filter without sockets, on the default chain with a
 * virtual clock (TTLs, what is never cached, coalescing, stale-if-error
 * and stale while a breaker is open, purge, generations), and its
 * configuration errors. The store's suite is test_gw_cache_store.c, the
 * freshness rules' test_gw_cache_fresh.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <CUnit/CUnit.h>

#include "config/gw_config_parse.h"
#include "core/gw_cache.h"
#include "core/gw_clock.h"
#include "filters/gw_cache_filter.h"
#include "filters/gw_cache_key.h"
#include "filters/gw_filters.h"
#include "filters/gw_route.h"
#include "gw_headers.h"
#include "runtime/gw_runtime.h"
#include "unit.h"

static int64_t s_now = 1000000000;
static int64_t s_clock(void) { return s_now; }

static dtx_gw_shared_t s_shared;

static int s_init(void)
{
    dtx_gw_clock_set(s_clock);
    return dtx_gw_shared_init(&s_shared) == 0 ? 0 : -1;
}

static int s_fini(void)
{
    dtx_gw_clock_set(NULL);
    dtx_gw_shared_fini(&s_shared);
    return 0;
}

/* ---------------- the filter on the default chain ---------------- */

static const char *s_doc_fmt =
    "{\"pools\":[{\"name\":\"p\",\"targets\":[\"http://127.0.0.1:%d\"]}],"
    "\"rules\":[{\"name\":\"brk\",\"type\":\"breaker\",\"key\":\"route\","
    "\"consecutive_failures\":2,\"error_ratio\":0,\"open_ms\":60000}],"
    "\"routes\":[{\"name\":\"c\",\"match\":{\"prefix\":\"/c\"},\"pool\":\"p\","
    "\"rules\":[\"brk\"],\"cache\":{\"ttl_s\":%d,\"stale_if_error_s\":30}},"
    "{\"name\":\"auth\",\"match\":{\"prefix\":\"/a\"},\"pool\":\"p\","
    "\"cache\":{\"authorized\":true}},"
    "{\"name\":\"plain\",\"match\":{\"prefix\":\"/\"},\"pool\":\"p\"}]}";

static dtx_gw_runtime_t *s_rt(int port, int ttl, const dtx_gw_runtime_t *old)
{
    char doc[2048], err[DTX_GW_ERR_SIZE];
    snprintf(doc, sizeof doc, s_doc_fmt, port, ttl);
    dtx_gw_config_t *cfg = dtx_gw_config_parse(doc, strlen(doc), err, sizeof err);
    if (!cfg)
        fprintf(stderr, "\n  config: %s\n", err);
    CU_ASSERT_FATAL(cfg != NULL);
    dtx_gw_runtime_t *rt = dtx_gw_runtime_build(cfg, old, &s_shared);
    CU_ASSERT_FATAL(rt != NULL);
    return rt;
}

typedef struct {
    dtx_gw_req_t req;
    gwt_headers_t  h;
    int          replied;  /* on_head answered */
} s_rq_t;

static void s_begin(s_rq_t *q, dtx_gw_runtime_t *rt, const char *method, const char *path,
                    const char *query)
{
    memset(q, 0, sizeof *q);
    q->req.rt = rt;
    q->req.method = method;
    q->req.path = path;
    q->req.query = query;
    q->req.host = "Shop.Example";
    q->req.client_ip = "10.0.0.1";
    q->req.header = gwt_headers_get;
    q->req.each_header = gwt_headers_each;
    q->req.header_ctx = &q->h;
    q->req.content_length = -1;
}

static void s_hdr(s_rq_t *q, const char *name, const char *value)
{
    q->h.names[q->h.n] = name;
    q->h.values[q->h.n++] = value;
}

static void s_head(s_rq_t *q)
{
    q->replied = dtx_gw_chain_head(dtx_gw_default_chain, dtx_gw_default_chain_len, &q->req) ==
                 DTX_GW_REPLY;
}

/* The upstream's answer (hv: NULL-ended name, value pairs) or, with
 * status 0, a transport failure; on_response; the capture as the front
 * does it. */
static void s_answer(s_rq_t *q, int status, const char *const *hv, const char *body)
{
    q->req.sent = 1;
    q->req.upstream_status = status;
    if (!status)
        q->req.upstream_error = DTX_GW_UPERR_CONNECT;
    dtx_gw_chain_response(dtx_gw_default_chain, dtx_gw_default_chain_len, &q->req);
    if (!status || dtx_gw_cache_answer(&q->req))
        return;
    dtx_gw_resp_header_t h[8];
    int n = 0;
    for (; hv && hv[2 * n]; n++) {
        h[n].name = (char *)hv[2 * n];
        h[n].value = (char *)hv[2 * n + 1];
    }
    if (dtx_gw_cache_capture(&q->req, h, n)) {
        dtx_gw_cache_append(&q->req, body, strlen(body));   /* streamed ... */
        dtx_gw_cache_commit(&q->req, NULL, 0);              /* ... to its end */
    }
}

static void s_end(s_rq_t *q)
{
    dtx_gw_chain_done(dtx_gw_default_chain, dtx_gw_default_chain_len, &q->req);
    dtx_gw_req_fini(&q->req);
}

/* The body of the answer from the cache, or "(none)". */
static const char *s_cached(const dtx_gw_req_t *req)
{
    const dtx_gw_cache_obj_t *o = dtx_gw_cache_answer(req);
    return o ? o->body : "(none)";
}

static const char *s_reply_header(const s_rq_t *q, const char *name)
{
    for (int i = 0; i < q->req.reply.nheaders; i++)
        if (strcasecmp(q->req.reply.names[i], name) == 0)
            return q->req.reply.values[i];
    return NULL;
}

/* The same, "(none)" when absent (for string comparisons). */
static const char *s_hv(const s_rq_t *q, const char *name)
{
    const char *v = s_reply_header(q, name);
    return v ? v : "(none)";
}

/* X-Cache of the answer ("" when none) into out, and the cached body
 * (or "-"). One whole request: head, the upstream when not answered,
 * done. */
static void s_get(dtx_gw_runtime_t *rt, const char *path, const char *query,
                  const char *const *upstream_hv, const char *upstream_body, char *xcache,
                  char *body)
{
    s_rq_t q;
    s_begin(&q, rt, "GET", path, query);
    s_head(&q);
    if (!q.replied)
        s_answer(&q, 200, upstream_hv, upstream_body);
    const char *x = s_reply_header(&q, "X-Cache");
    strcpy(xcache, x ? x : "");
    const dtx_gw_cache_obj_t *o = dtx_gw_cache_answer(&q.req);
    strcpy(body, o ? o->body : "-");
    s_end(&q);
}

static void test_ttl_from_headers_on_a_virtual_clock(void)
{
    dtx_gw_runtime_t *rt = s_rt(1, 60, NULL);
    char x[32], b[64];
    const char *max10[] = { "Cache-Control", "public, max-age=10", NULL };
    s_get(rt, "/c/ttl", "v=1", max10, "one", x, b);
    CU_ASSERT_STRING_EQUAL(x, "MISS");
    s_now += 9 * 1000000;
    s_get(rt, "/c/ttl", "v=1", max10, "two", x, b);
    CU_ASSERT_STRING_EQUAL(x, "HIT");
    CU_ASSERT_STRING_EQUAL(b, "one");
    s_get(rt, "/c/ttl", "v=2", max10, "other", x, b);   /* the query is in the key */
    CU_ASSERT_STRING_EQUAL(x, "MISS");
    s_now += 1 * 1000000;                               /* 10 s: expired */
    s_get(rt, "/c/ttl", "v=1", max10, "three", x, b);
    CU_ASSERT_STRING_EQUAL(x, "MISS");
    s_get(rt, "/c/ttl", "v=1", max10, "four", x, b);
    CU_ASSERT_STRING_EQUAL(b, "three");
    /* No freshness in the answer: the route's ttl_s (60). */
    s_get(rt, "/c/default", NULL, NULL, "d", x, b);
    s_now += 59 * 1000000;
    s_get(rt, "/c/default", NULL, NULL, "d2", x, b);
    CU_ASSERT_STRING_EQUAL(x, "HIT");
    s_now += 1 * 1000000;
    s_get(rt, "/c/default", NULL, NULL, "d3", x, b);
    CU_ASSERT_STRING_EQUAL(x, "MISS");
    /* Age grows with the virtual clock. */
    s_rq_t q;
    s_now += 7 * 1000000;
    s_begin(&q, rt, "GET", "/c/default", NULL);
    s_head(&q);
    CU_ASSERT(q.replied);
    CU_ASSERT_STRING_EQUAL(s_hv(&q, "Age"), "7");
    s_end(&q);
    dtx_gw_runtime_unref(&rt);
}

static void test_never_cached(void)
{
    dtx_gw_runtime_t *rt = s_rt(1, 60, NULL);
    char x[32], b[64];
    const char *nostore[] = { "Cache-Control", "no-store", NULL };
    const char *priv[] = { "Cache-Control", "private", NULL };
    const char *cookie[] = { "Set-Cookie", "s=1", NULL };
    const char *star[] = { "Vary", "*", NULL };
    const char *const *answers[] = { nostore, priv, cookie, star };
    for (int i = 0; i < 4; i++) {
        s_get(rt, "/c/never", NULL, answers[i], "n", x, b);
        CU_ASSERT_STRING_EQUAL(x, "MISS");
        s_get(rt, "/c/never", NULL, answers[i], "n", x, b);
        CU_ASSERT_STRING_EQUAL(x, "MISS");
    }
    /* POST: not looked up at all. */
    s_rq_t q;
    s_begin(&q, rt, "POST", "/c/never", NULL);
    s_head(&q);
    CU_ASSERT_PTR_NULL(q.req.cache);
    s_end(&q);
    /* Authorization: bypassed, but on a route that says "authorized". */
    for (int route = 0; route < 2; route++) {
        const char *path = route ? "/a/x" : "/c/authz";
        for (int i = 0; i < 2; i++) {
            s_begin(&q, rt, "GET", path, NULL);
            s_hdr(&q, "Authorization", "Bearer t");
            s_head(&q);
            if (!route)
                CU_ASSERT_PTR_NULL(q.req.cache);
            if (!q.replied)
                s_answer(&q, 200, NULL, "authz");
            if (route && i == 1)
                CU_ASSERT(q.replied);   /* stored by the first */
            if (!route)
                CU_ASSERT_PTR_NULL(s_reply_header(&q, "X-Cache"));
            s_end(&q);
        }
    }
    /* HEAD is served from a stored GET, and a HEAD miss stores nothing. */
    s_begin(&q, rt, "HEAD", "/c/head", NULL);
    s_head(&q);
    CU_ASSERT(!q.replied);
    s_answer(&q, 200, NULL, "");
    s_end(&q);
    s_get(rt, "/c/head", NULL, NULL, "body", x, b);
    CU_ASSERT_STRING_EQUAL(x, "MISS");
    s_begin(&q, rt, "HEAD", "/c/head", NULL);
    s_head(&q);
    CU_ASSERT(q.replied);
    CU_ASSERT_STRING_EQUAL(s_cached(&q.req), "body");
    s_end(&q);
    dtx_gw_runtime_unref(&rt);
}

static void test_vary_through_the_filter(void)
{
    dtx_gw_runtime_t *rt = s_rt(1, 60, NULL);
    const char *vary[] = { "Vary", "Accept-Language", NULL };
    const char *langs[] = { "en", "fr", "en" };
    const char *want[] = { "MISS", "MISS", "HIT" };
    for (int i = 0; i < 3; i++) {
        s_rq_t q;
        s_begin(&q, rt, "GET", "/c/vary", NULL);
        s_hdr(&q, "Accept-Language", langs[i]);
        s_head(&q);
        if (!q.replied)
            s_answer(&q, 200, vary, langs[i]);
        CU_ASSERT_STRING_EQUAL(s_hv(&q, "X-Cache"), want[i]);
        if (q.replied)
            CU_ASSERT_STRING_EQUAL(s_cached(&q.req), "en");
        s_end(&q);
    }
    dtx_gw_runtime_unref(&rt);
}

/* A request header named by Vary given twice: the upstream saw both
 * copies (as one list, RFC 9110 5.3), so the answer is the variant of
 * the list, not of the first copy — else one request poisons the
 * variant of everyone who sends the first value alone. */
static void test_vary_on_a_header_given_twice(void)
{
    dtx_gw_runtime_t *rt = s_rt(1, 60, NULL);
    const char *vary[] = { "Vary", "Accept-Language", NULL };
    s_rq_t q;
    s_begin(&q, rt, "GET", "/c/vary2", NULL);
    s_hdr(&q, "Accept-Language", "en");
    s_hdr(&q, "Accept-Language", "de");
    s_head(&q);
    CU_ASSERT(!q.replied);
    s_answer(&q, 200, vary, "de");            /* the upstream took the last */
    s_end(&q);
    s_begin(&q, rt, "GET", "/c/vary2", NULL);
    s_hdr(&q, "Accept-Language", "en");
    s_head(&q);
    CU_ASSERT(!q.replied);                     /* not the answer made for "en, de" */
    if (!q.replied)
        s_answer(&q, 200, vary, "en");
    s_end(&q);
    s_begin(&q, rt, "GET", "/c/vary2", NULL);
    s_hdr(&q, "Accept-Language", "en, de");   /* the same list in one line */
    s_head(&q);
    CU_ASSERT(q.replied);
    if (q.replied)
        CU_ASSERT_STRING_EQUAL(s_cached(&q.req), "de");
    s_end(&q);
    s_begin(&q, rt, "GET", "/c/vary2", NULL);
    s_hdr(&q, "Accept-Language", "en");
    s_head(&q);
    CU_ASSERT(q.replied);
    if (q.replied)
        CU_ASSERT_STRING_EQUAL(s_cached(&q.req), "en");
    s_end(&q);
    dtx_gw_runtime_unref(&rt);
}

static int s_wakes;
static void s_wake(void *arg)
{
    (void)arg;
    s_wakes++;
}

static void test_coalescing(void)
{
    dtx_gw_runtime_t *rt = s_rt(1, 60, NULL);
    s_rq_t a, b, c;
    s_begin(&a, rt, "GET", "/c/co", NULL);
    s_begin(&b, rt, "GET", "/c/co", NULL);
    s_begin(&c, rt, "GET", "/c/co", NULL);
    s_head(&a);
    s_head(&b);
    s_head(&c);
    CU_ASSERT(!a.replied && !b.replied && !c.replied);
    /* a leads (its call goes out), b and c park before theirs. */
    CU_ASSERT_EQUAL(dtx_gw_cache_req_park(&a.req, s_wake, NULL), DTX_GW_CACHE_PROXY);
    s_wakes = 0;
    CU_ASSERT_EQUAL(dtx_gw_cache_req_park(&b.req, s_wake, NULL), DTX_GW_CACHE_PARK);
    CU_ASSERT_EQUAL(dtx_gw_cache_req_park(&c.req, s_wake, NULL), DTX_GW_CACHE_PARK);
    CU_ASSERT_EQUAL(s_wakes, 0);
    s_answer(&a, 200, NULL, "shared");
    CU_ASSERT_EQUAL(s_wakes, 2);   /* woken by the fill, before a's end */
    CU_ASSERT_EQUAL(dtx_gw_cache_req_unparked(&b.req), DTX_GW_CACHE_SERVE);
    CU_ASSERT_EQUAL(dtx_gw_cache_req_unparked(&c.req), DTX_GW_CACHE_SERVE);
    CU_ASSERT_STRING_EQUAL(s_cached(&b.req), "shared");
    CU_ASSERT_STRING_EQUAL(s_hv(&c, "X-Cache"), "HIT");
    s_end(&a);
    s_end(&b);
    s_end(&c);
    dtx_gw_cache_stats_t st;
    dtx_gw_cache_get_stats(rt->routes[0].cache, &st);
    CU_ASSERT_EQUAL(st.coalesced, 2);

    /* A fill that stores nothing (no-store) lets the waiters go upstream
     * each, not one after the other. */
    const char *nostore[] = { "Cache-Control", "no-store", NULL };
    s_begin(&a, rt, "GET", "/c/co2", NULL);
    s_begin(&b, rt, "GET", "/c/co2", NULL);
    s_head(&a);
    s_head(&b);
    CU_ASSERT_EQUAL(dtx_gw_cache_req_park(&b.req, s_wake, NULL), DTX_GW_CACHE_PARK);
    s_wakes = 0;
    s_answer(&a, 200, nostore, "private stuff");
    CU_ASSERT_EQUAL(s_wakes, 1);
    CU_ASSERT_EQUAL(dtx_gw_cache_req_unparked(&b.req), DTX_GW_CACHE_PROXY);
    CU_ASSERT_PTR_NULL(dtx_gw_cache_answer(&b.req));
    s_begin(&c, rt, "GET", "/c/co2", NULL);
    s_head(&c);   /* b does not lead: c is not made to wait for it */
    CU_ASSERT_EQUAL(dtx_gw_cache_req_park(&c.req, s_wake, NULL), DTX_GW_CACHE_PROXY);
    s_end(&a);
    s_end(&b);
    s_end(&c);

    /* A leader that ends without an answer (client gone) wakes its
     * waiters; the first to look again leads. */
    s_begin(&a, rt, "GET", "/c/co3", NULL);
    s_begin(&b, rt, "GET", "/c/co3", NULL);
    s_head(&a);
    s_head(&b);
    CU_ASSERT_EQUAL(dtx_gw_cache_req_park(&b.req, s_wake, NULL), DTX_GW_CACHE_PARK);
    s_wakes = 0;
    s_end(&a);
    CU_ASSERT_EQUAL(s_wakes, 1);
    s_end(&b);
    dtx_gw_runtime_unref(&rt);
}

static void test_stale_if_error(void)
{
    dtx_gw_runtime_t *rt = s_rt(1, 60, NULL);
    char x[32], b[64];
    const char *max1[] = { "Cache-Control", "max-age=1", NULL };
    s_get(rt, "/c/stale", NULL, max1, "old", x, b);
    s_now += 2 * 1000000;
    int errors[] = { 0, 503, 500, 404 };   /* 0: transport failure */
    for (int i = 0; i < 4; i++) {
        s_rq_t q;
        s_begin(&q, rt, "GET", "/c/stale", NULL);
        s_head(&q);
        CU_ASSERT(!q.replied);
        s_answer(&q, errors[i], NULL, "err");
        if (errors[i] == 404) {
            CU_ASSERT_PTR_NULL(dtx_gw_cache_answer(&q.req));   /* not an error: passed on */
        } else {
            CU_ASSERT_STRING_EQUAL(s_hv(&q, "X-Cache"), "STALE");
            CU_ASSERT_STRING_EQUAL(s_cached(&q.req), "old");
            CU_ASSERT_EQUAL(q.req.reply.status, 200);
            CU_ASSERT_STRING_EQUAL(s_hv(&q, "Age"), "2");
        }
        q.req.upstream_error = DTX_GW_UPERR_NONE;   /* the breaker is not what is tested */
        q.req.upstream_status = 200;
        s_end(&q);
    }
    /* The 404 was stored (a listed status): a new fresh answer. Past
     * max-age + stale_if_error_s nothing stale is left. */
    s_get(rt, "/c/stale2", NULL, max1, "old", x, b);
    s_now += 32 * 1000000;
    s_rq_t q;
    s_begin(&q, rt, "GET", "/c/stale2", NULL);
    s_head(&q);
    s_answer(&q, 0, NULL, "");
    CU_ASSERT_PTR_NULL(dtx_gw_cache_answer(&q.req));
    q.req.upstream_error = DTX_GW_UPERR_NONE;
    s_end(&q);
    dtx_gw_runtime_unref(&rt);
}

/* An answer's own stale-if-error beyond any sane range (a 64-bit
 * overflow once in microseconds) still lets it be served stale. */
static void test_a_huge_stale_if_error_still_serves_stale(void)
{
    dtx_gw_runtime_t *rt = s_rt(1, 60, NULL);
    char x[32], b[64];
    const char *huge[] = { "Cache-Control", "max-age=1, stale-if-error=9223372036854775807",
                           NULL };
    s_get(rt, "/c/huge", NULL, huge, "old", x, b);
    CU_ASSERT_STRING_EQUAL(x, "MISS");
    s_now += 2 * 1000000;
    s_rq_t q;
    s_begin(&q, rt, "GET", "/c/huge", NULL);
    s_head(&q);
    CU_ASSERT(!q.replied);
    s_answer(&q, 0, NULL, "");
    CU_ASSERT_STRING_EQUAL(s_hv(&q, "X-Cache"), "STALE");
    CU_ASSERT_STRING_EQUAL(s_cached(&q.req), "old");
    q.req.upstream_error = DTX_GW_UPERR_NONE;
    s_end(&q);
    dtx_gw_runtime_unref(&rt);
}

static void test_stale_while_the_breaker_is_open(void)
{
    dtx_gw_runtime_t *rt = s_rt(1, 60, NULL);
    char x[32], b[64];
    const char *max1[] = { "Cache-Control", "max-age=1", NULL };
    s_get(rt, "/c/brk", NULL, max1, "kept", x, b);
    s_now += 2 * 1000000;
    /* Two transport failures open the breaker (each served stale). */
    for (int i = 0; i < 2; i++) {
        s_rq_t q;
        s_begin(&q, rt, "GET", "/c/brk", NULL);
        s_head(&q);
        s_answer(&q, 0, NULL, "");
        CU_ASSERT_STRING_EQUAL(s_hv(&q, "X-Cache"), "STALE");
        s_end(&q);
    }
    /* Open: admission refuses before any call; the stale answer wins. */
    s_rq_t q;
    s_begin(&q, rt, "GET", "/c/brk", NULL);
    s_head(&q);
    CU_ASSERT(q.replied);
    CU_ASSERT_STRING_EQUAL(q.req.rejected_by ? q.req.rejected_by : "", "brk");
    dtx_gw_chain_response(dtx_gw_default_chain, dtx_gw_default_chain_len, &q.req);
    CU_ASSERT_STRING_EQUAL(s_hv(&q, "X-Cache"), "STALE");
    CU_ASSERT_STRING_EQUAL(s_cached(&q.req), "kept");
    CU_ASSERT_EQUAL(q.req.reply.status, 200);
    s_end(&q);
    /* Without a stale answer the refusal stands. */
    s_begin(&q, rt, "GET", "/c/brk-none", NULL);
    s_head(&q);
    CU_ASSERT(q.replied);
    dtx_gw_chain_response(dtx_gw_default_chain, dtx_gw_default_chain_len, &q.req);
    CU_ASSERT_EQUAL(q.req.reply.status, 503);
    CU_ASSERT_PTR_NULL(dtx_gw_cache_answer(&q.req));
    s_end(&q);
    dtx_gw_runtime_unref(&rt);
}

static void test_purge_by_key_and_prefix(void)
{
    dtx_gw_runtime_t *rt = s_rt(1, 60, NULL);
    char x[32], b[64];
    s_get(rt, "/c/items/1", NULL, NULL, "1", x, b);
    s_get(rt, "/c/items/1", "lang=en", NULL, "1en", x, b);
    s_get(rt, "/c/items/2", NULL, NULL, "2", x, b);
    s_get(rt, "/c/other", NULL, NULL, "o", x, b);
    CU_ASSERT_EQUAL(dtx_gw_cache_purge_rt(rt, NULL, NULL, "/c/items/1", NULL), 1);
    s_get(rt, "/c/items/1", NULL, NULL, "1b", x, b);
    CU_ASSERT_STRING_EQUAL(x, "MISS");
    s_get(rt, "/c/items/1", "lang=en", NULL, "-", x, b);
    CU_ASSERT_STRING_EQUAL(x, "HIT");   /* another key: kept */
    CU_ASSERT_EQUAL(dtx_gw_cache_purge_rt(rt, "c", "other.host", NULL, "/c/items/"), 0);
    CU_ASSERT_EQUAL(dtx_gw_cache_purge_rt(rt, "c", "shop.example", NULL, "/c/items/"), 3);
    s_get(rt, "/c/items/2", NULL, NULL, "2b", x, b);
    CU_ASSERT_STRING_EQUAL(x, "MISS");
    s_get(rt, "/c/other", NULL, NULL, "-", x, b);
    CU_ASSERT_STRING_EQUAL(x, "HIT");
    CU_ASSERT_EQUAL(dtx_gw_cache_purge_rt(rt, "plain", NULL, NULL, "/"), -1);   /* no cache */
    dtx_gw_runtime_unref(&rt);
}

static void test_generations_keep_only_compatible_stores(void)
{
    dtx_gw_runtime_t *a = s_rt(1, 60, NULL);
    dtx_gw_runtime_t *same = s_rt(1, 60, a);
    CU_ASSERT_PTR_EQUAL(a->routes[0].cache, same->routes[0].cache);
    dtx_gw_runtime_t *ttl = s_rt(1, 30, same);       /* the route's cache changed */
    CU_ASSERT_PTR_NOT_EQUAL(ttl->routes[0].cache, same->routes[0].cache);
    dtx_gw_runtime_t *pool = s_rt(2, 30, ttl);       /* its pool's target changed */
    CU_ASSERT_PTR_NOT_EQUAL(pool->routes[0].cache, ttl->routes[0].cache);
    CU_ASSERT_PTR_NULL(pool->routes[2].cache);       /* no cache on "plain" */
    dtx_gw_runtime_unref(&a);
    dtx_gw_runtime_unref(&same);
    dtx_gw_runtime_unref(&ttl);
    dtx_gw_runtime_unref(&pool);
}

static void s_bad(const char *cache, const char *extra, const char *want)
{
    char doc[1024], err[DTX_GW_ERR_SIZE] = "";
    snprintf(doc, sizeof doc,
             "{\"dtxd\":{\"endpoint\":\"tcp://127.0.0.1:1\"},"
             "\"pools\":[{\"name\":\"p\",\"targets\":[\"http://127.0.0.1:1\"]}],"
             "\"routes\":[{\"name\":\"r\",\"match\":{\"prefix\":\"/\"},\"pool\":\"p\"%s,"
             "\"cache\":%s}]}", extra, cache);
    dtx_gw_config_t *cfg = dtx_gw_config_parse(doc, strlen(doc), err, sizeof err);
    CU_ASSERT_PTR_NULL(cfg);
    if (!strstr(err, want))
        fprintf(stderr, "\n  want \"%s\" in \"%s\"\n", want, err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
    dtx_gw_config_destroy(&cfg);
}

static void test_bad_cache_config_is_refused_with_its_field(void)
{
    s_bad("{\"ttl\":5}", "", "routes[0].cache.ttl: unknown field");
    s_bad("[]", "", "routes[0].cache");
    s_bad("{\"ttl_s\":-1}", "", "routes[0].cache.ttl_s");
    s_bad("{\"ttl_s\":100,\"max_ttl_s\":10}", "", "routes[0].cache.ttl_s: must not be above");
    s_bad("{\"max_bytes\":10}", "", "routes[0].cache.max_bytes");
    s_bad("{\"max_bytes\":8192,\"max_object_bytes\":10000}", "",
          "routes[0].cache.max_object_bytes: must not be above max_bytes");
    s_bad("{\"statuses\":[206]}", "", "routes[0].cache.statuses: 206 answers cannot be stored");
    s_bad("{\"authorized\":\"yes\"}", "", "routes[0].cache.authorized");
    s_bad("{\"lock_timeout_ms\":-1}", "", "routes[0].cache.lock_timeout_ms");
    s_bad("{\"lock_timeout_ms\":600001}", "", "routes[0].cache.lock_timeout_ms");
    s_bad("{}", ",\"transaction\":{}", "routes[0].cache: not allowed on a transactional route");
}

UNIT_SUITE(gw_cache)
{
    CU_pSuite s = CU_add_suite("gw_cache", s_init, s_fini);
    CU_add_test(s, "TTL from headers on a virtual clock", test_ttl_from_headers_on_a_virtual_clock);
    CU_add_test(s, "never cached: no-store, private, Set-Cookie, Vary *, Authorization, POST",
                test_never_cached);
    CU_add_test(s, "Vary through the filter", test_vary_through_the_filter);
    CU_add_test(s, "Vary on a header given twice", test_vary_on_a_header_given_twice);
    CU_add_test(s, "coalescing: one call, waiters served, no-store, leader gone",
                test_coalescing);
    CU_add_test(s, "stale-if-error", test_stale_if_error);
    CU_add_test(s, "a huge stale-if-error still serves stale",
                test_a_huge_stale_if_error_still_serves_stale);
    CU_add_test(s, "stale while the breaker is open", test_stale_while_the_breaker_is_open);
    CU_add_test(s, "purge by key and prefix", test_purge_by_key_and_prefix);
    CU_add_test(s, "generations keep only compatible stores",
                test_generations_keep_only_compatible_stores);
    CU_add_test(s, "bad cache config is refused with its field",
                test_bad_cache_config_is_refused_with_its_field);
}
