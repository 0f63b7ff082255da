/*
 * Gateway cache suite: a real dtx-gateway (two workers) and the real
 * gw-upstream, whose /_stats counts the calls that reached it. Hits and
 * misses, concurrent misses coalesced into one upstream call, stale
 * answers when the upstream is down and while the breaker is open (no
 * call made), purge through the admin API, and hot swaps under load (a
 * compatible swap keeps the entries, an incompatible one does not; no
 * request fails), and a waiter resumed in its own handler call answered
 * (a 5 s wait for an answer that must come, not a latency bound).
 */
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "gw_raw.h"
#include "gw_util.h"
#include "integ.h"

#define TOKEN "test-token-cache-7e4d2a9b"

/* %d upstream port, %d ttl_s */
static const char *s_doc =
    "{\"admin\":{\"token\":\"" TOKEN "\"},"
    "\"pools\":[{\"name\":\"p\",\"targets\":[\"http://127.0.0.1:%d\"],\"timeout_ms\":5000}],"
    "\"rules\":[{\"name\":\"brk\",\"type\":\"breaker\",\"key\":\"route\","
    "\"consecutive_failures\":2,\"error_ratio\":0,\"open_ms\":60000}],"
    "\"routes\":[{\"name\":\"c\",\"match\":{\"prefix\":\"/c\"},\"pool\":\"p\","
    "\"rules\":[\"brk\"],\"cache\":{\"ttl_s\":%d,\"stale_if_error_s\":60}}]}";

static void s_upstream_control(const gw_proc_t *up, const char *query)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/_control?%s", up->port, query);
    gw_resp_t r;
    gw_http(&r, "GET", url, NULL, NULL);
    gw_resp_free(&r);
}

/* GET path: status, X-Cache into xc (or ""), the body's "n" (the upstream
 * call that made it) or -1. */
static long s_get(const gw_proc_t *gw, const char *path, char *xc, long *n)
{
    gw_resp_t r;
    long status = gw_http(&r, "GET", gw_at(gw, path), NULL, NULL) == 0 ? r.status : 0;
    if (!gw_resp_header(&r, "X-Cache", xc, 32))
        xc[0] = '\0';
    const char *p = r.body ? strstr(r.body, "\"n\":") : NULL;
    *n = p ? atol(p + 4) : -1;
    gw_resp_free(&r);
    return status;
}

static long s_purge(const gw_proc_t *gw, const char *token, const char *doc, char *body,
                    size_t cap)
{
    char url[128], auth[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/cache/purge", gw->admin_port);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    const char *h[] = { auth, "Content-Type: application/json", NULL };
    gw_resp_t r;
    long status = gw_http(&r, "POST", url, token ? h : NULL, doc) == 0 ? r.status : 0;
    snprintf(body, cap, "%s", r.body ? r.body : "");
    gw_resp_free(&r);
    return status;
}

static int s_start(gw_proc_t *up, gw_proc_t *gw, const char *name, int ttl)
{
    if (gw_upstream_start(up, "cache-up", NULL) != 0)
        return -1;
    return gw_gateway_start(gw, name, s_doc, up->port, ttl);
}

static void s_stop(gw_proc_t *up, gw_proc_t *gw)
{
    CU_ASSERT_EQUAL(h_stop(gw->pid, SIGTERM, 10000), 0);
    if (up->pid > 0)
        h_stop(up->pid, SIGTERM, 10000);
}

static void test_hit_and_miss(void)
{
    gw_proc_t up, gw;
    CU_ASSERT_FATAL(s_start(&up, &gw, "gw-cache-hit", 60) == 0);
    char xc[32];
    long n1, n2, n3;
    CU_ASSERT_EQUAL(s_get(&gw, "/c/item?a=1", xc, &n1), 200);
    CU_ASSERT_STRING_EQUAL(xc, "MISS");
    CU_ASSERT_EQUAL(s_get(&gw, "/c/item?a=1", xc, &n2), 200);
    CU_ASSERT_STRING_EQUAL(xc, "HIT");
    CU_ASSERT_EQUAL(n1, n2);
    CU_ASSERT_EQUAL(s_get(&gw, "/c/item?a=2", xc, &n3), 200);   /* another query */
    CU_ASSERT_STRING_EQUAL(xc, "MISS");
    CU_ASSERT(n3 != n1);
    CU_ASSERT_EQUAL(s_get(&gw, "/c/nostore?cc=no-store", xc, &n1), 200);
    CU_ASSERT_EQUAL(s_get(&gw, "/c/nostore?cc=no-store", xc, &n2), 200);
    CU_ASSERT_STRING_EQUAL(xc, "MISS");
    CU_ASSERT(n1 != n2);
    /* HEAD from the stored GET; Age present on hits. */
    gw_resp_t r;
    CU_ASSERT_FATAL(gw_http(&r, "HEAD", gw_at(&gw, "/c/item?a=1"), NULL, NULL) == 0);
    char v[64];
    CU_ASSERT(gw_resp_header(&r, "X-Cache", v, sizeof v) && strcmp(v, "HIT") == 0);
    CU_ASSERT_PTR_NOT_NULL(gw_resp_header(&r, "Age", v, sizeof v));
    gw_resp_free(&r);
    CU_ASSERT_EQUAL(gw_upstream_calls(&up), 4);   /* item a=1, a=2, nostore twice */
    CU_ASSERT_EQUAL(gw_metric(&gw, "dtx_gw_cache_total{route=\"c\",result=\"hit\"}"), 2);
    CU_ASSERT_EQUAL(gw_metric(&gw, "dtx_gw_cache_total{route=\"c\",result=\"miss\"}"), 4);
    CU_ASSERT_EQUAL(gw_metric(&gw, "dtx_gw_cache_objects{route=\"c\"}"), 2);
    s_stop(&up, &gw);
}

typedef struct {
    const gw_proc_t *gw;
    long status, n;
    char xc[32];
} s_one_t;

static void *s_one(void *arg)
{
    s_one_t *o = arg;
    o->status = s_get(o->gw, "/c/slow?delay_ms=600", o->xc, &o->n);
    return NULL;
}

static void test_concurrent_misses_make_one_upstream_call(void)
{
    gw_proc_t up, gw;
    CU_ASSERT_FATAL(s_start(&up, &gw, "gw-cache-coalesce", 60) == 0);
    enum { N = 8 };
    s_one_t one[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        one[i] = (s_one_t){ .gw = &gw };
        pthread_create(&th[i], NULL, s_one, &one[i]);
    }
    int misses = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        CU_ASSERT_EQUAL(one[i].status, 200);
        CU_ASSERT_EQUAL(one[i].n, one[0].n);
        misses += strcmp(one[i].xc, "MISS") == 0;
    }
    CU_ASSERT_EQUAL(misses, 1);
    CU_ASSERT_EQUAL(gw_upstream_calls(&up), 1);
    CU_ASSERT(gw_metric(&gw, "dtx_gw_cache_total{route=\"c\",result=\"coalesced\"}") >= 1);
    s_stop(&up, &gw);
}

/* Connects to 127.0.0.1:port, or -1. */
static int s_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
        return fd;
    if (fd >= 0)
        close(fd);
    return -1;
}

/* Reads from fd until "\r\n\r\n" or wait_ms of silence; what came, in out. */
static void s_read_head(int fd, char *out, size_t cap, int wait_ms)
{
    size_t got = 0;
    out[0] = '\0';
    struct pollfd p = { .fd = fd, .events = POLLIN };
    while (got + 1 < cap && !strstr(out, "\r\n\r\n") && poll(&p, 1, wait_ms) == 1) {
        ssize_t n = read(fd, out + got, cap - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        out[got] = '\0';
    }
}

/* A request that found a fill under way when its head came, and whose
 * body came only after the fill ended, is served from the cache at once:
 * its connection is suspended and resumed in one handler call, and the
 * worker must run libmicrohttpd again for it even though no other
 * traffic comes (it once waited for unrelated traffic, forever here). */
static void test_waiter_whose_fill_ended_before_its_body_is_answered(void)
{
    gw_proc_t up, gw;
    CU_ASSERT_FATAL(s_start(&up, &gw, "gw-cache-late", 60) == 0);
    s_one_t lead = { .gw = &gw };
    pthread_t th;
    pthread_create(&th, NULL, s_one, &lead);   /* the fill: 600 ms upstream */
    h_sleep_ms(150);
    int fd = s_connect(gw.port);
    CU_ASSERT_FATAL(fd >= 0);
    char head[512];
    snprintf(head, sizeof head,
             "GET /c/slow?delay_ms=600 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
             "Content-Length: 4\r\n\r\n", gw.port);
    gw_raw_write_all(fd, head, strlen(head));   /* head now: the lookup finds the fill */
    pthread_join(th, NULL);
    CU_ASSERT_EQUAL(lead.status, 200);
    h_sleep_ms(100);   /* nothing else moves on the gateway from here */
    gw_raw_write_all(fd, "body", 4);
    char ans[2048];
    s_read_head(fd, ans, sizeof ans, 5000);
    CU_ASSERT_PTR_NOT_NULL(strstr(ans, "HTTP/1.1 200"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ans, "X-Cache: HIT"));
    close(fd);
    CU_ASSERT_EQUAL(gw_upstream_calls(&up), 1);
    s_stop(&up, &gw);
}

/* %d upstream port: a route whose coalesced misses wait 300 ms at most,
 * with room for a 32 MiB object. */
static const char *s_lock_doc =
    "{\"admin\":{\"token\":\"" TOKEN "\"},"
    "\"pools\":[{\"name\":\"p\",\"targets\":[\"http://127.0.0.1:%d\"],\"timeout_ms\":5000}],"
    "\"routes\":[{\"name\":\"c\",\"match\":{\"prefix\":\"/c\"},\"pool\":\"p\","
    "\"cache\":{\"ttl_s\":60,\"max_bytes\":134217728,\"max_object_bytes\":67108864,"
    "\"lock_timeout_ms\":300}}]}";

/* nginx's proxy_cache_lock_timeout: a lead whose client reads nothing
 * holds its fill (a streamed answer is stored only once the client took
 * all of it); a request coalesced on it goes upstream itself after the
 * route's lock_timeout_ms, and its answer is not stored. Without the
 * timeout it would wait as long as the lead's client stalls. */
static void test_a_coalesced_miss_stops_waiting_after_lock_timeout(void)
{
    gw_proc_t up, gw;
    CU_ASSERT_FATAL(gw_upstream_start(&up, "cache-up", NULL) == 0);
    CU_ASSERT_FATAL(gw_gateway_start(&gw, "gw-cache-lock", s_lock_doc, up.port) == 0);
    int fd = s_connect(gw.port);   /* the lead: asks, never reads */
    CU_ASSERT_FATAL(fd >= 0);
    char head[256];
    snprintf(head, sizeof head,
             "GET /c/big?size=33554432 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", gw.port);
    gw_raw_write_all(fd, head, strlen(head));
    h_sleep_ms(300);
    char xc[32];
    long n;
    CU_ASSERT_EQUAL(s_get(&gw, "/c/big?size=33554432", xc, &n), 200);
    CU_ASSERT_STRING_EQUAL(xc, "MISS");
    CU_ASSERT_EQUAL(gw_upstream_calls(&up), 2);   /* the lead's and its own */
    CU_ASSERT_EQUAL(gw_metric(&gw, "dtx_gw_cache_total{route=\"c\",result=\"lock_timeout\"}"),
                    1);
    close(fd);
    s_stop(&up, &gw);
}

static void test_stale_when_the_upstream_is_down(void)
{
    gw_proc_t up, gw;
    CU_ASSERT_FATAL(s_start(&up, &gw, "gw-cache-down", 60) == 0);
    char xc[32];
    long n1, n2;
    CU_ASSERT_EQUAL(s_get(&gw, "/c/s?cc=max-age=1", xc, &n1), 200);
    CU_ASSERT_EQUAL(h_stop(up.pid, SIGTERM, 10000), 0);
    up.pid = 0;
    h_sleep_ms(1300);   /* past max-age */
    CU_ASSERT_EQUAL(s_get(&gw, "/c/s?cc=max-age=1", xc, &n2), 200);
    CU_ASSERT_STRING_EQUAL(xc, "STALE");
    CU_ASSERT_EQUAL(n1, n2);
    CU_ASSERT_EQUAL(s_get(&gw, "/c/never-seen", xc, &n2), 502);   /* nothing stale */
    CU_ASSERT(gw_metric(&gw, "dtx_gw_cache_total{route=\"c\",result=\"stale\"}") >= 1);
    s_stop(&up, &gw);
}

static void test_stale_while_the_breaker_is_open(void)
{
    gw_proc_t up, gw;
    CU_ASSERT_FATAL(s_start(&up, &gw, "gw-cache-breaker", 60) == 0);
    char xc[32];
    long n1, n2;
    CU_ASSERT_EQUAL(s_get(&gw, "/c/b?cc=max-age=1", xc, &n1), 200);
    h_sleep_ms(1300);
    s_upstream_control(&up, "status=500");
    for (int i = 0; i < 2; i++) {   /* 500s: served stale, and they open the breaker */
        CU_ASSERT_EQUAL(s_get(&gw, "/c/b?cc=max-age=1", xc, &n2), 200);
        CU_ASSERT_STRING_EQUAL(xc, "STALE");
    }
    CU_ASSERT_EQUAL(gw_metric(&gw, "dtx_gw_breaker_state{rule=\"brk\",key=\"c\"}"), 1);
    s_upstream_control(&up, "status=0");   /* healthy again; the breaker stays open */
    long before = gw_upstream_calls(&up);
    CU_ASSERT_EQUAL(s_get(&gw, "/c/b?cc=max-age=1", xc, &n2), 200);
    CU_ASSERT_STRING_EQUAL(xc, "STALE");
    CU_ASSERT_EQUAL(n1, n2);
    CU_ASSERT_EQUAL(s_get(&gw, "/c/nothing-stale", xc, &n2), 503);
    CU_ASSERT_EQUAL(gw_upstream_calls(&up), before);   /* no call went out */
    s_stop(&up, &gw);
}

static void test_admin_purge(void)
{
    gw_proc_t up, gw;
    CU_ASSERT_FATAL(s_start(&up, &gw, "gw-cache-purge", 60) == 0);
    char xc[32], body[256];
    long n;
    s_get(&gw, "/c/p/1", xc, &n);
    s_get(&gw, "/c/p/2?x=1", xc, &n);
    s_get(&gw, "/c/q", xc, &n);
    CU_ASSERT_EQUAL(s_purge(&gw, TOKEN, "{\"key\":\"/c/p/1\"}", body, sizeof body), 200);
    CU_ASSERT_STRING_EQUAL(body, "{\"purged\":1}");
    s_get(&gw, "/c/p/1", xc, &n);
    CU_ASSERT_STRING_EQUAL(xc, "MISS");
    s_get(&gw, "/c/p/2?x=1", xc, &n);
    CU_ASSERT_STRING_EQUAL(xc, "HIT");
    CU_ASSERT_EQUAL(s_purge(&gw, TOKEN, "{\"prefix\":\"/c/p/\",\"route\":\"c\"}", body,
                            sizeof body), 200);
    CU_ASSERT_STRING_EQUAL(body, "{\"purged\":2}");
    s_get(&gw, "/c/p/2?x=1", xc, &n);
    CU_ASSERT_STRING_EQUAL(xc, "MISS");
    s_get(&gw, "/c/q", xc, &n);
    CU_ASSERT_STRING_EQUAL(xc, "HIT");
    CU_ASSERT_EQUAL(s_purge(&gw, NULL, "{\"prefix\":\"/\"}", body, sizeof body), 401);
    CU_ASSERT_EQUAL(s_purge(&gw, TOKEN, "{\"key\":\"/a\",\"prefix\":\"/\"}", body, sizeof body),
                    400);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "exactly one of key or prefix"));
    CU_ASSERT_EQUAL(s_purge(&gw, TOKEN, "not json", body, sizeof body), 400);
    CU_ASSERT_EQUAL(s_purge(&gw, TOKEN, "{\"prefix\":\"/\",\"route\":\"nope\"}", body,
                            sizeof body), 404);
    /* Names the caller sent come back escaped: the answer stays JSON. */
    CU_ASSERT_EQUAL(s_purge(&gw, TOKEN, "{\"prefix\":\"/\",\"route\":\"no\\\"pe\"}", body,
                            sizeof body), 404);
    json_object *ans = json_tokener_parse(body);
    CU_ASSERT_PTR_NOT_NULL(ans);
    json_object *detail = NULL;
    CU_ASSERT(ans && json_object_object_get_ex(ans, "detail", &detail) &&
              strcmp(json_object_get_string(detail), "route no\"pe has no cache") == 0);
    json_object_put(ans);
    CU_ASSERT_EQUAL(s_purge(&gw, TOKEN, "{\"k\\\"ey\":\"/\"}", body, sizeof body), 400);
    ans = json_tokener_parse(body);
    CU_ASSERT_PTR_NOT_NULL(ans);
    json_object_put(ans);
    s_get(&gw, "/c/q", xc, &n);
    CU_ASSERT_STRING_EQUAL(xc, "HIT");   /* refused purges purged nothing */
    CU_ASSERT_EQUAL(gw_metric(&gw, "dtx_gw_cache_purged_total{route=\"c\"}"), 3);
    s_stop(&up, &gw);
}

static void test_hot_swap_under_load(void)
{
    gw_proc_t up, gw;
    CU_ASSERT_FATAL(s_start(&up, &gw, "gw-cache-swap", 60) == 0);
    char xc[32], doc[2048];
    long n1, n2;
    s_get(&gw, "/c/w", xc, &n1);
    /* The same document: the route's entries are kept. */
    snprintf(doc, sizeof doc, s_doc, up.port, 60);
    gw_resp_t r;
    CU_ASSERT_EQUAL(gw_admin_put(&gw, TOKEN, doc, 0, &r), 200);
    gw_resp_free(&r);
    CU_ASSERT_EQUAL(s_get(&gw, "/c/w", xc, &n2), 200);
    CU_ASSERT_STRING_EQUAL(xc, "HIT");
    CU_ASSERT_EQUAL(n1, n2);
    /* Another cache setting: a new, empty cache for the route. */
    snprintf(doc, sizeof doc, s_doc, up.port, 30);
    CU_ASSERT_EQUAL(gw_admin_put(&gw, TOKEN, doc, 0, &r), 200);
    gw_resp_free(&r);
    CU_ASSERT_EQUAL(s_get(&gw, "/c/w", xc, &n2), 200);
    CU_ASSERT_STRING_EQUAL(xc, "MISS");
    CU_ASSERT(n1 != n2);
    /* Swaps under load: no request fails. */
    gw_load_t load = { .port = gw.port, .path = "/c/load" };
    CU_ASSERT_FATAL(gw_load_start(&load, 3) == 0);
    int swaps = 0;
    for (int i = 0; i < 16; i++) {
        snprintf(doc, sizeof doc, s_doc, up.port, i % 2 ? 30 : 20);
        swaps += gw_admin_put(&gw, TOKEN, doc, 0, &r) == 200;
        gw_resp_free(&r);
        h_sleep_ms(25);
    }
    gw_load_stop(&load);
    CU_ASSERT_EQUAL(swaps, 16);
    CU_ASSERT(atomic_load(&load.ok) > 0);
    CU_ASSERT_EQUAL(atomic_load(&load.failed), 0);
    s_stop(&up, &gw);
}

static int s_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return h_init() == 0 ? 0 : -1;
}

INTEG_SUITE(gateway_cache)
{
    CU_pSuite s = CU_add_suite("gateway_cache", s_init, NULL);
    CU_add_test(s, "hit and miss", test_hit_and_miss);
    CU_add_test(s, "concurrent misses make one upstream call",
                test_concurrent_misses_make_one_upstream_call);
    CU_add_test(s, "a waiter whose fill ended before its body came is answered",
                test_waiter_whose_fill_ended_before_its_body_is_answered);
    CU_add_test(s, "a coalesced miss stops waiting after lock_timeout_ms",
                test_a_coalesced_miss_stops_waiting_after_lock_timeout);
    CU_add_test(s, "stale when the upstream is down", test_stale_when_the_upstream_is_down);
    CU_add_test(s, "stale while the breaker is open (no call made)",
                test_stale_while_the_breaker_is_open);
    CU_add_test(s, "admin purge by key and prefix", test_admin_purge);
    CU_add_test(s, "hot swap under load", test_hot_swap_under_load);
}
