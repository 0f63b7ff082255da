/*
 * Cluster-wide limits (issue 19): real dtx-gateway processes sharing
 * rules with scope "cluster" through a real redis-server that the suite
 * starts on a unix socket in a private directory (no TCP port, no
 * persistence) and stops after. Assertions are on counts, statuses and
 * /metrics, with bounds computed from the time the test actually took.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "gw_util.h"
#include "../harness/harness.h"
#include "integ.h"

static char s_dir[64];
static char s_sock[128];
static pid_t s_redis;
static gw_proc_t s_up;

static int s_redis_answers(void *arg)
{
    (void)arg;
    struct timeval tv = { 0, 200000 };
    redisContext *c = redisConnectUnixWithTimeout(s_sock, tv);
    int ok = 0;
    if (c && !c->err) {
        redisReply *r = redisCommand(c, "PING");
        ok = r && r->type == REDIS_REPLY_STATUS;
        if (r)
            freeReplyObject(r);
    }
    if (c)
        redisFree(c);
    return ok;
}

static int s_redis_start(void)
{
    char conf[160];
    snprintf(conf, sizeof conf, "%s/redis.conf", s_dir);
    FILE *f = fopen(conf, "w");
    if (!f)
        return -1;
    fprintf(f, "port 0\nunixsocket %s\nunixsocketperm 700\ndir %s\nsave \"\"\n"
               "appendonly no\ndaemonize no\nlogfile \"\"\n", s_sock, s_dir);
    fclose(f);
    char *argv[] = { "redis-server", conf, NULL };
    s_redis = h_spawn("redis", argv);
    return s_redis > 0 && h_wait_until(s_redis_answers, NULL, 10000) == 0 ? 0 : -1;
}

static int s_init(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/dtx-redis-XXXXXX");
    if (!mkdtemp(s_dir))
        return -1;
    snprintf(s_sock, sizeof s_sock, "%s/redis.sock", s_dir);
    if (s_redis_start() < 0)
        return -1;
    return gw_upstream_start(&s_up, "cluster-up", NULL);
}

static int s_cleanup(void)
{
    if (s_redis > 0)
        h_stop(s_redis, SIGTERM, 5000);
    if (s_up.pid > 0)
        h_stop(s_up.pid, SIGTERM, 5000);
    char path[200];
    snprintf(path, sizeof path, "%s/redis.conf", s_dir);
    remove(path);
    remove(s_sock);
    rmdir(s_dir);
    return 0;
}

/* A gateway whose one route has rule `rule` (JSON), sharing it through
 * the suite's Redis under key prefix `prefix`. */
static int s_gateway_x(gw_proc_t *gw, const char *logname, const char *prefix,
                       const char *failure, const char *rule, const char *extra)
{
    return gw_gateway_start(gw, logname,
        "{\"cluster\":{%s\"redis\":\"unix:%s\",\"key_prefix\":\"%s\",\"instance\":\"%s\","
        "\"failure\":\"%s\",\"timeout_ms\":500,\"lease_ms\":1000,\"heartbeat_ms\":200,\"retry_ms\":100},"
        "\"pools\":[{\"name\":\"p\",\"targets\":[\"http://127.0.0.1:%d\"],\"timeout_ms\":20000}],"
        "\"rules\":[%s],"
        "\"routes\":[{\"name\":\"all\",\"match\":{\"prefix\":\"/\"},\"pool\":\"p\","
        "\"rules\":[\"shared\"]}]}",
        extra, s_sock, prefix, logname, failure, s_up.port, rule);
}

static int s_gateway(gw_proc_t *gw, const char *logname, const char *prefix,
                     const char *failure, const char *rule)
{
    return s_gateway_x(gw, logname, prefix, failure, rule, "");
}

static long s_status(const gw_proc_t *gw, const char *path)
{
    char url[160];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", gw->port, path);
    gw_resp_t r;
    gw_http(&r, "GET", url, NULL, NULL);
    long st = r.status;
    gw_resp_free(&r);
    return st;
}

static double s_secs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Requests alternately to a and b for `secs`; admitted (200) out, the
 * time taken returned. Every answer must be 200 or 429. */
static double s_hammer(const gw_proc_t *a, const gw_proc_t *b, double secs, int *admitted,
                       int *odd)
{
    double t0 = s_secs(), t;
    *admitted = 0;
    *odd = 0;
    for (int i = 0; (t = s_secs()) - t0 < secs; i++) {
        long st = s_status(i % 2 ? b : a, "/x");
        *admitted += st == 200;
        *odd += st != 200 && st != 429;
    }
    return t - t0;
}

#define RATE_RULE "{\"name\":\"shared\",\"type\":\"rate_limit\",\"algorithm\":\"token_bucket\"," \
                  "\"rate\":20,\"burst\":10,\"key\":\"global\",\"scope\":\"cluster\"}"
/* The bound of docs/gateway.md for 2 instances: capacity 10 + 5 slices
 * of headroom (a slice is 1 token at 20 r/s x 20 ms) in the shared
 * bucket, plus a slice and a debt (10 / 2 live) per instance; and one
 * token of rounding. */
#define RATE_SLACK (10 + 5 + 2 + 10 + 1)

static void test_two_gateways_admit_the_limit_in_total(void)
{
    gw_proc_t a, b;
    CU_ASSERT_FATAL(s_gateway(&a, "gw-cl-a", "t1:", "fail_open", RATE_RULE) == 0);
    CU_ASSERT_FATAL(s_gateway(&b, "gw-cl-b", "t1:", "fail_open", RATE_RULE) == 0);
    int admitted, odd;
    double took = s_hammer(&a, &b, 2.5, &admitted, &odd);
    double bound = 20 * took + RATE_SLACK;
    printf("[admitted %d in %.2f s, bound %.0f] ", admitted, took, bound);
    /* a limit per instance would admit about twice as many */
    CU_ASSERT(admitted <= bound);
    CU_ASSERT(admitted >= 20 * took * 0.6);
    CU_ASSERT_EQUAL(odd, 0);
    CU_ASSERT_EQUAL(gw_metric(&a, "dtx_gw_cluster_mode{mode=\"cluster\"}"), 1);
    CU_ASSERT_EQUAL(gw_metric(&a, "dtx_gw_cluster_live_instances"), 2);
    CU_ASSERT(gw_metric(&a, "dtx_gw_cluster_tokens_granted_total") > 0);
    CU_ASSERT(gw_metric(&b, "dtx_gw_cluster_tokens_granted_total") > 0);
    /* Redis forgets the scripts (SCRIPT FLUSH, as after a restart): the
     * next EVALSHA answers NOSCRIPT, the gateway loads them again and
     * goes on, with no error and no fallback */
    double errors = gw_metric(&a, "dtx_gw_cluster_redis_errors_total");
    double granted = gw_metric(&a, "dtx_gw_cluster_tokens_granted_total");
    struct timeval tv = { 1, 0 };
    redisContext *c = redisConnectUnixWithTimeout(s_sock, tv);
    CU_ASSERT_FATAL(c && !c->err);
    redisReply *rep = redisCommand(c, "SCRIPT FLUSH");
    CU_ASSERT(rep && rep->type == REDIS_REPLY_STATUS);
    freeReplyObject(rep);
    s_hammer(&a, &b, 1.0, &admitted, &odd);
    redisFree(c);
    CU_ASSERT(gw_metric(&a, "dtx_gw_cluster_tokens_granted_total") > granted);
    CU_ASSERT_EQUAL(gw_metric(&a, "dtx_gw_cluster_redis_errors_total"), errors);
    CU_ASSERT_EQUAL(gw_metric(&a, "dtx_gw_cluster_fallbacks_total"), 0);
    h_stop(a.pid, SIGTERM, 5000);
    h_stop(b.pid, SIGTERM, 5000);
}

typedef struct {
    const gw_proc_t *gw;
    atomic_long status;
} s_slow_t;

static void *s_slow(void *arg)
{
    s_slow_t *s = arg;
    s->status = s_status(s->gw, "/slow?delay_ms=14000");
    return NULL;
}

typedef struct {
    const gw_proc_t *gw;
    const char *metric;
    double want;
} s_metric_wait_t;

static int s_metric_is(void *arg)
{
    s_metric_wait_t *w = arg;
    return gw_metric(w->gw, w->metric) == w->want;
}

static int s_gw_admits(void *arg)
{
    return s_status(arg, "/x") == 200;
}

/* Starts a slow call through slow->gw on thread t, again until one is in
 * flight upstream (the gateway's dtx_gw_target_in_flight reaches
 * in_flight; a refusal answers at once). 0 when one is. */
static int s_take_slow(pthread_t *t, s_slow_t *slow, int in_flight)
{
    char metric[160];
    snprintf(metric, sizeof metric,
             "dtx_gw_target_in_flight{pool=\"p\",target=\"http://127.0.0.1:%d\"}", s_up.port);
    for (int k = 0; k < 100; k++) {
        slow->status = 0;
        pthread_create(t, NULL, s_slow, slow);
        for (int w = 0; w < 100; w++) {
            usleep(20000);
            if (gw_metric(slow->gw, metric) >= in_flight)
                return 0;
            if (slow->status != 0)
                break;   /* refused */
        }
        pthread_join(*t, NULL);
    }
    return -1;
}

static void test_leases_of_a_killed_gateway_come_back(void)
{
    const char *rule = "{\"name\":\"shared\",\"type\":\"concurrency\",\"max\":4,"
                       "\"key\":\"global\",\"scope\":\"cluster\"}";
    gw_proc_t a, b;
    CU_ASSERT_FATAL(s_gateway(&a, "gw-cl-la", "t2:", "fail_open", rule) == 0);
    CU_ASSERT_FATAL(s_gateway(&b, "gw-cl-lb", "t2:", "fail_open", rule) == 0);
    /* a holds two slots with slow calls and one spare, b one; b's
     * renewals keep the lease table alive, so only the expiry of a's own
     * lease can give its slots back */
    pthread_t t[3];
    s_slow_t slow[3] = { { &a, 0 }, { &a, 0 }, { &b, 0 } };
    CU_ASSERT_FATAL(s_take_slow(&t[0], &slow[0], 1) == 0);
    CU_ASSERT_FATAL(s_take_slow(&t[1], &slow[1], 2) == 0);
    CU_ASSERT_FATAL(s_take_slow(&t[2], &slow[2], 1) == 0);
    double t_slow = s_secs();
    CU_ASSERT_EQUAL(gw_metric(&a, "dtx_gw_cluster_mode{mode=\"cluster\"}"), 1);
    /* b: refused while a holds the other three */
    int refused = 0;
    for (int i = 0; i < 5; i++) {
        refused += s_status(&b, "/x") == 503;
        usleep(100000);
    }
    CU_ASSERT_EQUAL(refused, 5);
    /* a dies without giving back: its lease (1 s) runs out and b admits */
    h_stop(a.pid, SIGKILL, 5000);
    double t0 = s_secs();
    CU_ASSERT(h_wait_until(s_gw_admits, &b, 8000) == 0);
    printf("[b admitted %.2f s after a was killed] ", s_secs() - t0);
    /* ... while b's own call still holds its slot: the slot came from a */
    CU_ASSERT_EQUAL(slow[2].status, 0);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    /* b's call held its slot throughout (it was not cut short) */
    CU_ASSERT_EQUAL(slow[2].status, 200);
    CU_ASSERT(s_secs() - t_slow >= 12.0);
    h_stop(b.pid, SIGTERM, 5000);
}

static void test_redis_killed_falls_back_and_recovers(void)
{
    gw_proc_t a, b;
    CU_ASSERT_FATAL(s_gateway(&a, "gw-cl-open", "t3:", "fail_open", RATE_RULE) == 0);
    CU_ASSERT_FATAL(s_gateway(&b, "gw-cl-closed", "t3:", "fail_closed", RATE_RULE) == 0);
    int admitted, odd;
    s_hammer(&a, &b, 0.5, &admitted, &odd);
    s_metric_wait_t live = { &a, "dtx_gw_cluster_live_instances", 2 };
    CU_ASSERT(h_wait_until(s_metric_is, &live, 5000) == 0);
    /* Redis dies */
    h_stop(s_redis, SIGKILL, 5000);
    s_redis = 0;
    s_metric_wait_t wa = { &a, "dtx_gw_cluster_mode{mode=\"fail_open\"}", 1 };
    s_metric_wait_t wb = { &b, "dtx_gw_cluster_mode{mode=\"fail_closed\"}", 1 };
    CU_ASSERT(h_wait_until(s_metric_is, &wa, 5000) == 0);
    CU_ASSERT(h_wait_until(s_metric_is, &wb, 5000) == 0);
    CU_ASSERT_EQUAL(gw_metric(&a, "dtx_gw_cluster_redis_up"), 0);
    CU_ASSERT(gw_metric(&a, "dtx_gw_cluster_fallbacks_total") >= 1);
    /* fail-open: the local share (20 / 2 live = 10 r/s, burst 5) admits
     * some and refuses the rest; fail-closed refuses all */
    int pa = 0, pb = 0;
    double t0 = s_secs();
    for (int i = 0; i < 40; i++) {
        pa += s_status(&a, "/x") == 200;
        pb += s_status(&b, "/x") == 200;
    }
    double took = s_secs() - t0;
    printf("[fail-open admitted %d in %.2f s, fail-closed %d] ", pa, took, pb);
    CU_ASSERT(pa >= 1 && pa <= 5 + 10 * took + 1);
    CU_ASSERT_EQUAL(pb, 0);
    /* Redis back (empty): both enforce cluster-wide again */
    CU_ASSERT_FATAL(s_redis_start() == 0);
    s_metric_wait_t ca = { &a, "dtx_gw_cluster_mode{mode=\"cluster\"}", 1 };
    s_metric_wait_t cb = { &b, "dtx_gw_cluster_mode{mode=\"cluster\"}", 1 };
    CU_ASSERT(h_wait_until(s_metric_is, &ca, 5000) == 0);
    CU_ASSERT(h_wait_until(s_metric_is, &cb, 5000) == 0);
    took = s_hammer(&a, &b, 1.5, &admitted, &odd);
    printf("[after recovery admitted %d in %.2f s] ", admitted, took);
    CU_ASSERT(admitted <= 20 * took + RATE_SLACK);
    CU_ASSERT(admitted >= 1);
    CU_ASSERT_EQUAL(odd, 0);
    h_stop(a.pid, SIGTERM, 5000);
    h_stop(b.pid, SIGTERM, 5000);
}


static void test_redis_password_right_and_wrong(void)
{
    struct timeval tv = { 1, 0 };
    redisContext *c = redisConnectUnixWithTimeout(s_sock, tv);
    CU_ASSERT_FATAL(c && !c->err);
    redisReply *rep = redisCommand(c, "CONFIG SET requirepass %s", "pw-19-8c1f");
    CU_ASSERT(rep && rep->type == REDIS_REPLY_STATUS);
    freeReplyObject(rep);
    gw_proc_t good, bad;
    CU_ASSERT_FATAL(s_gateway_x(&good, "gw-cl-pw", "t4:", "fail_open", RATE_RULE,
                                "\"password\":\"pw-19-8c1f\",") == 0);
    CU_ASSERT_FATAL(s_gateway_x(&bad, "gw-cl-badpw", "t4:", "fail_open", RATE_RULE,
                                "\"password\":\"not-the-one\",") == 0);
    s_metric_wait_t g = { &good, "dtx_gw_cluster_mode{mode=\"cluster\"}", 1 };
    s_metric_wait_t b = { &bad, "dtx_gw_cluster_mode{mode=\"fail_open\"}", 1 };
    CU_ASSERT(h_wait_until(s_metric_is, &g, 5000) == 0);
    CU_ASSERT(h_wait_until(s_metric_is, &b, 5000) == 0);
    /* never reached Redis: counts itself alone (its share is the whole limit) */
    CU_ASSERT_EQUAL(gw_metric(&bad, "dtx_gw_cluster_live_instances"), 1);
    CU_ASSERT(h_wait_log("gw-cl-badpw", "auth refused", 5000) == 0);
    CU_ASSERT(!h_log_has("gw-cl-badpw", "not-the-one"));  /* never the password */
    /* the first request borrows a token (the pool fills on demand) */
    CU_ASSERT_EQUAL(s_status(&good, "/x"), 200);
    h_stop(good.pid, SIGTERM, 5000);
    h_stop(bad.pid, SIGTERM, 5000);
    rep = redisCommand(c, "AUTH %s", "pw-19-8c1f");
    freeReplyObject(rep);
    rep = redisCommand(c, "CONFIG SET requirepass %s", "");
    CU_ASSERT(rep && rep->type == REDIS_REPLY_STATUS);
    freeReplyObject(rep);
    redisFree(c);
}

INTEG_SUITE(gateway_cluster)
{
    CU_pSuite s = CU_add_suite("gateway_cluster", s_init, s_cleanup);
    CU_add_test(s, "two gateways admit the limit in total",
                test_two_gateways_admit_the_limit_in_total);
    CU_add_test(s, "leases of a killed gateway come back",
                test_leases_of_a_killed_gateway_come_back);
    CU_add_test(s, "Redis password: right one enforces, wrong one falls back and says so",
                test_redis_password_right_and_wrong);
    CU_add_test(s, "Redis killed: fail-open/closed in /metrics, then enforced again",
                test_redis_killed_falls_back_and_recovers);
}
