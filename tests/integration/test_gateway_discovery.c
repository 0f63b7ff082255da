/*
 * Gateway discovery and zones (issue 19, items 3 and 4): a real
 * dtx-gateway, real gw-upstream processes, a watched target file, a real
 * DNS server (tests/tools/gw_dns.py, queried by libc's resolver) and a
 * real HTTP client. Waits poll for the state they need (at most a few
 * seconds); assertions are on who answered and on counts, never on
 * latencies.
 */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "gw_util.h"
#include "integ.h"



/* Who answered GET path (X-Upstream, "" on failure); status out. */
static const char *s_who(const gw_proc_t *gw, const char *path, long *status, char *out,
                         size_t cap)
{
    gw_resp_t r;
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", gw->port, path);
    out[0] = '\0';
    gw_http(&r, "GET", url, NULL, NULL);
    if (status)
        *status = r.status;
    if (r.status != 200 || !gw_resp_header(&r, "X-Upstream", out, cap))
        out[0] = '\0';
    gw_resp_free(&r);
    return out;
}

/* Writes a file atomically (the gateway never reads half of it). */
static int s_write(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int s_write(const char *path, const char *fmt, ...)
{
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
    return rename(tmp, path);
}

/* Polls until every one of 5 requests in a row is answered by want
 * (within timeout_ms). Returns 0 or -1. */
static int s_wait_all_from(const gw_proc_t *gw, const char *want, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 50) {
        int ok = 1;
        char who[64];
        for (int i = 0; i < 5 && ok; i++)
            ok = strcmp(s_who(gw, "/x", NULL, who, sizeof who), want) == 0;
        if (ok)
            return 0;
        usleep(50000);
    }
    return -1;
}

static double s_wait_metric(const gw_proc_t *gw, const char *line, double want, int timeout_ms)
{
    double v = -1;
    for (int waited = 0; waited <= timeout_ms; waited += 50) {
        v = gw_metric(gw, line);
        if (v == want)
            break;
        usleep(50000);
    }
    return v;
}

static double s_wait_metric_min(const gw_proc_t *gw, const char *line, double min, int timeout_ms)
{
    double v = -1;
    for (int waited = 0; waited <= timeout_ms; waited += 50) {
        v = gw_metric(gw, line);
        if (v >= min)
            break;
        usleep(50000);
    }
    return v;
}

static long s_admin_get(const gw_proc_t *gw, const char *path, gw_resp_t *r)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", gw->admin_port, path);
    gw_http(r, "GET", url, NULL, NULL);
    return r->status;
}

/* ---------------- the target file ---------------- */

static void test_target_file_changes_move_traffic(void)
{
    gw_proc_t u1, u2, gw;
    char path[1024], who[64];
    CU_ASSERT_FATAL(gw_upstream_start(&u1, "u1", NULL) == 0);
    CU_ASSERT_FATAL(gw_upstream_start(&u2, "u2", NULL) == 0);
    CU_ASSERT_FATAL(h_scratch_path("disco-file-targets.txt", path, sizeof path) == 0);
    CU_ASSERT_FATAL(s_write(path, "# the api\n127.0.0.1:%d\n", u1.port) == 0);
    CU_ASSERT_FATAL(gw_gateway_start(&gw, "gw-disco-file",
        "{\"pools\":[{\"name\":\"api\",\"discovery\":[{\"file\":\"%s\",\"check_ms\":50}]}],"
        "\"routes\":[{\"name\":\"all\",\"match\":{\"prefix\":\"/\"},\"pool\":\"api\"}]}",
        path) == 0);
    for (int i = 0; i < 10; i++)
        CU_ASSERT_STRING_EQUAL(s_who(&gw, "/x", NULL, who, sizeof who), "u1");
    /* both: traffic spreads over the two */
    CU_ASSERT_FATAL(s_write(path, "127.0.0.1:%d\n127.0.0.1:%d 1\n", u1.port, u2.port) == 0);
    CU_ASSERT_EQUAL(s_wait_metric(&gw, "dtx_gw_pool_targets{pool=\"api\"}", 2, 5000), 2);
    int n1 = 0, n2 = 0;
    for (int i = 0; i < 20; i++) {
        s_who(&gw, "/x", NULL, who, sizeof who);
        n1 += strcmp(who, "u1") == 0;
        n2 += strcmp(who, "u2") == 0;
    }
    CU_ASSERT_EQUAL(n1, 10);                   /* round robin over the set */
    CU_ASSERT_EQUAL(n2, 10);
    /* u1 removed: all of it moves to u2 */
    CU_ASSERT_FATAL(s_write(path, "127.0.0.1:%d\n", u2.port) == 0);
    CU_ASSERT_EQUAL(s_wait_all_from(&gw, "u2", 5000), 0);
    for (int i = 0; i < 10; i++)
        CU_ASSERT_STRING_EQUAL(s_who(&gw, "/x", NULL, who, sizeof who), "u2");
    /* a bad line: refused whole, the last good set stays, counted */
    CU_ASSERT_FATAL(s_write(path, "127.0.0.1:%d\n127.0.0.1:%d 0\n", u1.port, u2.port) == 0);
    CU_ASSERT_EQUAL(s_wait_metric(&gw, "dtx_gw_discovery_failures_total{pool=\"api\",source=\"0\","
                                       "kind=\"file\"}", 1, 5000), 1);
    for (int i = 0; i < 10; i++)
        CU_ASSERT_STRING_EQUAL(s_who(&gw, "/x", NULL, who, sizeof who), "u2");
    CU_ASSERT_EQUAL(gw_metric(&gw, "dtx_gw_discovery_changes_total{pool=\"api\",source=\"0\","
                                   "kind=\"file\"}"), 2);
    gw_resp_t r;
    CU_ASSERT_EQUAL(s_admin_get(&gw, "/pools", &r), 200);
    CU_ASSERT(r.body && strstr(r.body, "\"last_error\":\"") &&
              strstr(r.body, "line 2: weight \\\"0\\\" must be 1..10000"));
    char u2url[64];
    snprintf(u2url, sizeof u2url, "\"url\":\"http://127.0.0.1:%d\"", u2.port);
    CU_ASSERT(r.body && strstr(r.body, u2url));
    gw_resp_free(&r);
}

/* ---------------- the drain ---------------- */

typedef struct {
    const gw_proc_t *gw;
    long             status;
    char             who[64];
} s_slow_t;

static void *s_slow_call(void *arg)
{
    s_slow_t *c = arg;
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/slow?delay_ms=1500", c->gw->port);
    gw_resp_t r;
    gw_http(&r, "GET", url, NULL, NULL);
    c->status = r.status;
    if (!gw_resp_header(&r, "X-Upstream", c->who, sizeof c->who))
        c->who[0] = '\0';
    gw_resp_free(&r);
    return NULL;
}

static void test_removed_target_drains_its_calls(void)
{
    gw_proc_t u1, u2, gw;
    char path[1024], who[64], line[256];
    CU_ASSERT_FATAL(gw_upstream_start(&u1, "u1", NULL) == 0);
    CU_ASSERT_FATAL(gw_upstream_start(&u2, "u2", NULL) == 0);
    CU_ASSERT_FATAL(h_scratch_path("disco-drain-targets.txt", path, sizeof path) == 0);
    CU_ASSERT_FATAL(s_write(path, "127.0.0.1:%d\n", u1.port) == 0);
    CU_ASSERT_FATAL(gw_gateway_start(&gw, "gw-disco-drain",
        "{\"pools\":[{\"name\":\"api\",\"timeout_ms\":10000,"
        "\"discovery\":{\"file\":\"%s\",\"check_ms\":50}}],"
        "\"routes\":[{\"name\":\"all\",\"match\":{\"prefix\":\"/\"},\"pool\":\"api\"}]}",
        path) == 0);
    enum { N = 8 };
    s_slow_t calls[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        calls[i] = (s_slow_t){ .gw = &gw };
        pthread_create(&th[i], NULL, s_slow_call, &calls[i]);
    }
    snprintf(line, sizeof line, "dtx_gw_target_in_flight{pool=\"api\",target=\"http://127.0.0.1:%d\"}",
             u1.port);
    CU_ASSERT_EQUAL(s_wait_metric(&gw, line, N, 1000), N);   /* all out on u1 */
    CU_ASSERT_FATAL(s_write(path, "127.0.0.1:%d\n", u2.port) == 0);   /* u1 leaves */
    /* new calls go to u2 at once, while u1's are still out */
    CU_ASSERT_EQUAL(s_wait_all_from(&gw, "u2", 1000), 0);
    snprintf(line, sizeof line,
             "dtx_gw_target_draining_in_flight{pool=\"api\",target=\"http://127.0.0.1:%d\"}",
             u1.port);
    CU_ASSERT_EQUAL(gw_metric(&gw, line), N);
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        CU_ASSERT_EQUAL(calls[i].status, 200);                  /* none failed */
        CU_ASSERT_STRING_EQUAL(calls[i].who, "u1");
    }
    /* drained: gone from /metrics */
    for (int waited = 0; waited < 2000 && gw_metric(&gw, line) >= 0; waited += 50)
        usleep(50000);
    CU_ASSERT_EQUAL(gw_metric(&gw, line), -1);
    CU_ASSERT_STRING_EQUAL(s_who(&gw, "/x", NULL, who, sizeof who), "u2");
}

/* ---------------- zones ---------------- */

static void test_local_zone_preferred_then_spill_then_backup(void)
{
    gw_proc_t a1, a2, b1, b2, bk, gw;
    char path[1024], who[64];
    CU_ASSERT_FATAL(gw_upstream_start(&a1, "a1", NULL) == 0);
    CU_ASSERT_FATAL(gw_upstream_start(&a2, "a2", NULL) == 0);
    CU_ASSERT_FATAL(gw_upstream_start(&b1, "b1", NULL) == 0);
    CU_ASSERT_FATAL(gw_upstream_start(&b2, "b2", NULL) == 0);
    CU_ASSERT_FATAL(gw_upstream_start(&bk, "backup", NULL) == 0);
    CU_ASSERT_FATAL(h_scratch_path("disco-zone-targets.txt", path, sizeof path) == 0);
    CU_ASSERT_FATAL(s_write(path, "127.0.0.1:%d zone-a\n127.0.0.1:%d zone-a\n"
                                  "127.0.0.1:%d zone-b\n", a1.port, a2.port, b1.port) == 0);
    const char *args[] = { "--zone", "zone-a", NULL };
    CU_ASSERT_FATAL(gw_gateway_start_args(&gw, "gw-disco-zone", args,
        "{\"zone\":\"zone-b\","                 /* --zone wins over the file */
        "\"pools\":[{\"name\":\"api\","
        "\"targets\":[{\"url\":\"http://127.0.0.1:%d\",\"zone\":\"zone-b\"}],"
        "\"discovery\":[{\"file\":\"%s\",\"check_ms\":50}],"
        "\"health\":{\"path\":\"/_health\",\"interval_ms\":50,\"timeout_ms\":500,"
        "\"healthy\":1,\"unhealthy\":1}},"
        "{\"name\":\"dr\",\"targets\":[\"http://127.0.0.1:%d\"]}],"
        "\"routes\":[{\"name\":\"all\",\"match\":{\"prefix\":\"/\"},\"pool\":\"api\","
        "\"backup_pool\":\"dr\"}]}", b2.port, path, bk.port) == 0);
    /* all four healthy: zone-a keeps everything */
    CU_ASSERT_EQUAL(gw_metric(&gw, "dtx_gw_pool_local_share_percent{pool=\"api\"}"), 100);
    int local = 0;
    for (int i = 0; i < 40; i++) {
        s_who(&gw, "/x", NULL, who, sizeof who);
        local += strcmp(who, "a1") == 0 || strcmp(who, "a2") == 0;
    }
    CU_ASSERT_EQUAL(local, 40);
    /* a1 dies: zone-a is 1/2 healthy, health 140 x 1/2 = 70: 70 % stays, 30 % spills */
    h_stop(a1.pid, SIGTERM, 5000);
    CU_ASSERT_EQUAL(s_wait_metric(&gw, "dtx_gw_pool_local_share_percent{pool=\"api\"}", 70, 5000),
                    70);
    int n[3] = { 0 };
    long status;
    for (int i = 0; i < 100; i++) {
        s_who(&gw, "/x", &status, who, sizeof who);
        CU_ASSERT_EQUAL(status, 200);
        n[0] += strcmp(who, "a2") == 0;
        n[1] += strcmp(who, "b1") == 0 || strcmp(who, "b2") == 0;
        n[2] += strcmp(who, "a1") == 0;
    }
    if (n[0] < 65 || n[0] > 75)
        printf("\n    zone-a answered %d of 100\n", n[0]);
    CU_ASSERT(n[0] >= 65 && n[0] <= 75);       /* 70 picks in every 100 (health checks may */
    CU_ASSERT_EQUAL(n[0] + n[1], 100);         /* shift one draw either way) */
    CU_ASSERT_EQUAL(n[2], 0);
    /* a2 dies too: every call spills to zone-b, none fails */
    h_stop(a2.pid, SIGTERM, 5000);
    CU_ASSERT_EQUAL(s_wait_metric(&gw, "dtx_gw_pool_local_share_percent{pool=\"api\"}", 0, 5000), 0);
    for (int i = 0; i < 20; i++) {
        s_who(&gw, "/x", &status, who, sizeof who);
        CU_ASSERT_EQUAL(status, 200);
        CU_ASSERT(strcmp(who, "b1") == 0 || strcmp(who, "b2") == 0);
    }
    /* the whole site is gone: backup_pool takes over */
    h_stop(b1.pid, SIGTERM, 5000);
    h_stop(b2.pid, SIGTERM, 5000);
    CU_ASSERT_EQUAL(s_wait_all_from(&gw, "backup", 5000), 0);
}

/* ---------------- DNS ---------------- */

static void test_dns_srv_reresolved_on_its_ttl(void)
{
    gw_proc_t u1, u2, gw;
    char zone[1024], ready[1024], qlog[1024], bin[1024], who[64], line[64];
    CU_ASSERT_FATAL(gw_upstream_start(&u1, "u1", NULL) == 0);
    CU_ASSERT_FATAL(gw_upstream_start(&u2, "u2", NULL) == 0);
    CU_ASSERT_FATAL(h_scratch_path("disco-dns-zone.json", zone, sizeof zone) == 0 &&
                    h_scratch_path("disco-dns.port", ready, sizeof ready) == 0 &&
                    h_scratch_path("disco-dns-queries.log", qlog, sizeof qlog) == 0 &&
                    h_testbin_path("gw-dns", bin, sizeof bin) == 0);
    remove(ready);
    remove(qlog);
    CU_ASSERT_FATAL(s_write(zone, "{\"_api._tcp.test\":{\"SRV\":[[10,1,%d,\"h1.test\",1]]},"
                                  "\"h1.test\":{\"A\":[[\"127.0.0.1\",1]]}}", u1.port) == 0);
    char *argv[] = { bin, "--zone", zone, "--ready-file", ready, "--log", qlog, NULL };
    pid_t dns = h_spawn("gw-dns", argv);
    CU_ASSERT_FATAL(dns > 0 && h_wait_file_line(ready, line, sizeof line, dns, 10000) == 0);
    int dport = atoi(line);
    CU_ASSERT_FATAL(gw_gateway_start(&gw, "gw-disco-dns",
        "{\"pools\":[{\"name\":\"api\",\"discovery\":[{\"dns\":\"_api._tcp.test\","
        "\"type\":\"SRV\",\"resolver\":\"127.0.0.1:%d\",\"min_refresh_ms\":200,"
        "\"max_refresh_ms\":60000}]}],"
        "\"routes\":[{\"name\":\"all\",\"match\":{\"prefix\":\"/\"},\"pool\":\"api\"}]}",
        dport) == 0);
    for (int i = 0; i < 5; i++)
        CU_ASSERT_STRING_EQUAL(s_who(&gw, "/x", NULL, who, sizeof who), "u1");
    /* the answer changes: after its 1 s TTL the gateway asks again and moves */
    CU_ASSERT_FATAL(s_write(zone, "{\"_api._tcp.test\":{\"SRV\":[[10,3,%d,\"h2.test\",1]]},"
                                  "\"h2.test\":{\"A\":[[\"127.0.0.1\",1]]}}", u2.port) == 0);
    CU_ASSERT_EQUAL(s_wait_all_from(&gw, "u2", 5000), 0);
    char url[96];
    snprintf(url, sizeof url, "\"url\":\"http://127.0.0.1:%d\"", u2.port);
    gw_resp_t r;
    CU_ASSERT_EQUAL(s_admin_get(&gw, "/pools", &r), 200);
    CU_ASSERT(r.body && strstr(r.body, url) && strstr(r.body, "\"weight\":3") &&
              strstr(r.body, "\"kind\":\"dns_srv\""));
    gw_resp_free(&r);
    /* the name goes away (NXDOMAIN): the last good set stays, counted */
    CU_ASSERT_FATAL(s_write(zone, "{}") == 0);
    CU_ASSERT(s_wait_metric_min(&gw, "dtx_gw_discovery_failures_total{pool=\"api\",source=\"0\","
                                     "kind=\"dns_srv\"}", 1, 5000) >= 1);
    for (int i = 0; i < 5; i++)
        CU_ASSERT_STRING_EQUAL(s_who(&gw, "/x", NULL, who, sizeof who), "u2");
    /* the queries went to the DNS server, each at least a TTL apart: the
     * load's one, then one per refresh (not one per request) */
    FILE *f = fopen(qlog, "r");
    int srv = 0;
    char q[256];
    while (f && fgets(q, sizeof q, f))
        srv += strstr(q, "_api._tcp.test SRV") != NULL;
    if (f)
        fclose(f);
    CU_ASSERT(srv >= 2 && srv <= 12);
    h_stop(dns, SIGTERM, 2000);
}

INTEG_SUITE(gateway_discovery)
{
    CU_pSuite s = CU_add_suite("gateway_discovery", NULL, NULL);
    CU_add_test(s, "target file changes move traffic", test_target_file_changes_move_traffic);
    CU_add_test(s, "removed target drains its calls", test_removed_target_drains_its_calls);
    CU_add_test(s, "local zone preferred, then spill, then backup",
                test_local_zone_preferred_then_spill_then_backup);
    CU_add_test(s, "DNS SRV re-resolved on its TTL", test_dns_srv_reresolved_on_its_ttl);
}
