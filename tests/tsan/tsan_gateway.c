/*
 * tsan-gateway — real traffic through dtx-gateway while its configuration
 * changes, for the tsan stage of make test: tests/tsan/run.sh points
 * $DTX_TEST_BIN/dtx-gateway at a -fsanitize=thread build, so every thread
 * of the gateway runs under ThreadSanitizer here.
 *
 * The world: a dtxd (database tsan_gw on the private PostgreSQL, admin
 * HTTP open for the gateway's dtxd watch), two gw-upstream processes and
 * the gateway with S_WORKERS workers. Its routes touch every thread the
 * gateway runs:
 *
 *   /plain    round robin over both upstreams, health-checked pool
 *             (the health thread)
 *   /limited  token bucket per client ip, concurrency with a wait queue,
 *             latency-adaptive shedding, least-inflight pool
 *   /queued   a spacing rate rule and a delaying leaky bucket (requests
 *             wait on the offload pool)
 *   /flaky    a breaker that trips and half-opens over and over, with a
 *             static fallback (three calls in four ask for a 500)
 *   /orders   transactional: BEGIN / COMMIT at dtxd from offload threads
 *             (dtx clients, hence ids, made on several threads); every
 *             other configuration also guards it with a dtxd_inflight
 *             rule, so the dtxd watch thread starts and stops
 *
 * S_LOADERS client threads (keep-alive connections, a new one now and
 * then so every worker accepts) send requests for S_LOAD_MS (env
 * TSAN_GW_LOAD_MS overrides) while the main thread swaps the
 * configuration through PUT /config, reads /metrics and GET /config,
 * and sends SIGHUP (reload of the file). Now and then a client leaves a
 * transactional call before its answer (the gateway rolls back). Then
 * SIGTERM with three slow requests in flight, which still get answers.
 *
 * Checks: every request got an HTTP answer of an expected status, every
 * route answered 200 at least once, every swap was applied, the metrics
 * show delayed requests, breaker openings, commits and rollbacks (the
 * threads really worked), the slow requests were answered, and the
 * gateway exited 0 — with TSAN_OPTIONS=halt_on_error=1 a report kills it
 * with the exitcode given there (run.sh: 66), failing the checks above.
 * Exit status 0 when all held, 1 otherwise.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "../harness/harness.h"
#include "../integration/gw_util.h"

#define S_TOKEN    "tsan-token-4e7b0c93a1"
#define S_WORKERS  "3"
#define S_LOADERS  6
#define S_LOAD_MS  5000
#define S_NROUTES  5

static int s_failures;

#define S_CHECK(cond)                                                          \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "tsan-gateway: %s:%d: check failed: %s\n", __FILE__, \
                    __LINE__, #cond);                                          \
            s_failures++;                                                      \
        }                                                                      \
    } while (0)

static const char *const s_paths[S_NROUTES] = { "/plain", "/limited", "/queued", "/flaky",
                                                "/orders" };

/* The configuration, variant v (0, 1, ...): limits and targets change
 * with v, so each swap rebuilds some rules and pools and carries the
 * others over ("spaced" and "brk" never change, so their counters cover
 * the whole run); even variants guard /orders with a dtxd_inflight rule.
 * Returns 0, or -1 when it does not fit. */
static int s_config(char *out, size_t cap, int v, const char *dtxd_endpoint,
                    const char *dtxd_admin, int port_a, int port_b)
{
    char l_targets[128];
    if (v % 3 == 1)
        snprintf(l_targets, sizeof l_targets, "\"http://127.0.0.1:%d\"", port_a);
    else
        snprintf(l_targets, sizeof l_targets, "\"http://127.0.0.1:%d\",\"http://127.0.0.1:%d\"",
                 port_a, port_b);
    int n = snprintf(out, cap,
        "{\"admin\":{\"token\":\"" S_TOKEN "\"},"
        "\"dtxd\":{\"endpoint\":\"%s\",\"timeout_ms\":5000,\"admin\":\"%s\",\"poll_ms\":50},"
        "\"pools\":["
        "{\"name\":\"p\",\"targets\":[\"http://127.0.0.1:%d\",\"http://127.0.0.1:%d\"],"
        "\"health\":{\"path\":\"/_health\",\"interval_ms\":%d},"
        "\"ejection\":{\"consecutive_5xx\":0}},"
        "{\"name\":\"l\",\"lb\":\"least_inflight\",\"targets\":[%s]}],"
        "\"rules\":["
        "{\"name\":\"bucket\",\"type\":\"rate_limit\",\"algorithm\":\"token_bucket\","
        "\"rate\":%d,\"burst\":20,\"key\":\"client_ip\"},"
        "{\"name\":\"conc\",\"type\":\"concurrency\",\"max\":%d,\"queue\":4,\"max_wait_ms\":200},"
        "{\"name\":\"shed\",\"type\":\"adaptive\",\"signal\":\"latency\",\"window_samples\":10},"
        "{\"name\":\"spaced\",\"type\":\"rate_limit\",\"algorithm\":\"queue\",\"rate\":200,"
        "\"max_wait_ms\":300,\"key\":\"global\"},"
        "{\"name\":\"delayed\",\"type\":\"rate_limit\",\"rate\":%d,\"burst\":10},"
        "{\"name\":\"brk\",\"type\":\"breaker\",\"consecutive_failures\":3,\"open_ms\":50}"
        "%s],"
        "\"routes\":["
        "{\"name\":\"plain\",\"match\":{\"prefix\":\"/plain\"},\"pool\":\"p\"},"
        "{\"name\":\"limited\",\"match\":{\"prefix\":\"/limited\"},\"pool\":\"l\","
        "\"rules\":[\"bucket\",\"conc\",\"shed\"]},"
        "{\"name\":\"queued\",\"match\":{\"prefix\":\"/queued\"},\"pool\":\"p\","
        "\"rules\":[\"spaced\",\"delayed\"]},"
        "{\"name\":\"flaky\",\"match\":{\"prefix\":\"/flaky\"},\"pool\":\"p\",\"rules\":[\"brk\"],"
        "\"fallback\":{\"status\":200,\"body\":\"cached\",\"content_type\":\"text/plain\"}},"
        "{\"name\":\"orders\",\"match\":{\"prefix\":\"/orders\"},\"pool\":\"p\"%s,"
        "\"transaction\":{\"timeout_ms\":10000}}]}",
        dtxd_endpoint, dtxd_admin, port_a, port_b, 50 + 25 * (v % 2), l_targets,
        40 + 20 * (v % 2), 2 + v % 3, 100 + 10 * (v % 5),
        v % 2 ? "" : ",{\"name\":\"coord\",\"type\":\"adaptive\",\"signal\":\"dtxd_inflight\","
                     "\"dtxd_max_inflight\":100000}",
        v % 2 ? "" : ",\"rules\":[\"coord\"]");
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

typedef struct {
    int         port;
    int         index;
    atomic_int *stop;
    long        answered[S_NROUTES];  /* requests that got an HTTP answer */
    long        ok[S_NROUTES];        /* of which 200 */
    long        left;                 /* requests given up on purpose mid-call */
    long        failed;               /* no answer, or an unexpected status */
} s_loader_t;

static size_t s_discard(char *d, size_t sz, size_t n, void *arg)
{
    (void)d;
    (void)arg;
    return sz * n;
}

static CURL *s_handle(void)
{
    CURL *e = curl_easy_init();
    if (e) {
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 20000L);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_discard);
    }
    return e;
}

static int s_expected(int route, long status)
{
    switch (status) {
    case 200: return 1;
    case 429: return route == 1 || route == 2;            /* rate rules */
    case 503: return route == 1 || route == 2 || route == 4; /* limits, shedding, dtxd */
    case 500: return route == 3;                           /* /flaky's own failures */
    default:  return 0;
    }
}

static void *s_loader(void *arg)
{
    s_loader_t *l = arg;
    CURL *e = s_handle();
    struct curl_slist *fail = curl_slist_append(NULL, "X-Test-Status: 500");
    struct curl_slist *slow = curl_slist_append(NULL, "X-Test-Delay-Ms: 400");
    char url[256];
    for (unsigned i = (unsigned)l->index; e && !atomic_load(l->stop); i++) {
        int route = (int)(i % S_NROUTES);
        snprintf(url, sizeof url, "http://127.0.0.1:%d%s/%u", l->port, s_paths[route], i);
        curl_easy_setopt(e, CURLOPT_URL, url);
        int failing = route == 3 && (i / S_NROUTES) % 4 != 0;
        /* Now and then a client leaves a transactional call before the
         * (slow) answer: the gateway notices and rolls back. */
        int leaving = route == 4 && (i / S_NROUTES) % 20 == 7;
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, failing ? fail : leaving ? slow : NULL);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, leaving ? 100L : 20000L);
        if (route == 4) {
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, "{\"item\":1}");
        } else {
            curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        }
        long status = 0;
        CURLcode rc = curl_easy_perform(e);
        if (rc == CURLE_OK)
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        if (leaving && rc == CURLE_OPERATION_TIMEDOUT) {
            l->left++;
        } else if (rc == CURLE_OK && s_expected(route, status)) {
            l->answered[route]++;
            l->ok[route] += status == 200;
        } else {
            if (l->failed++ < 5)
                fprintf(stderr, "tsan-gateway: %s: %s, status %ld\n", url,
                        curl_easy_strerror(rc), status);
        }
        if (i % 40 == 39) {  /* a new connection: spread over the workers */
            curl_easy_cleanup(e);
            e = s_handle();
        }
    }
    curl_slist_free_all(fail);
    curl_slist_free_all(slow);
    curl_easy_cleanup(e);
    return NULL;
}

typedef struct {
    int  port;
    long status;
} s_slow_t;

/* One request the upstream answers after 600 ms, in flight when the
 * gateway is told to stop: it still gets its answer (grace 2000 ms). */
static void *s_slow_call(void *arg)
{
    s_slow_t *c = arg;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/plain/slow", c->port);
    const char *hdrs[] = { "X-Test-Delay-Ms: 600", NULL };
    gw_resp_t r;
    gw_http(&r, "GET", url, hdrs, NULL);
    c->status = r.status;
    gw_resp_free(&r);
    return NULL;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (h_init() != 0)
        return 1;
    const char *env_ms = getenv("TSAN_GW_LOAD_MS");
    int load_ms = env_ms && atoi(env_ms) > 0 ? atoi(env_ms) : S_LOAD_MS;

    /* dtxd with its admin HTTP (the gateway's dtxd watch reads /metrics). */
    char db[H_CONNINFO_SIZE], urlfile[1024], admin_url[256];
    h_dtxd_t dtxd = { 0 };
    snprintf(dtxd.logname, sizeof dtxd.logname, "tsan-gw-dtxd");
    if (h_scratch_path("tsan-gw-dtxd.url", urlfile, sizeof urlfile) != 0)
        return 1;
    remove(urlfile);
    const char *dtxd_args[] = { "--http-listen", "127.0.0.1:0", "--http-url-file", urlfile,
                                NULL };
    if (h_db_create("tsan_gw", db, sizeof db) != 0 || h_dtxd_start(&dtxd, db, dtxd_args) != 0 ||
        h_wait_file_line(urlfile, admin_url, sizeof admin_url, dtxd.pid, 10000) != 0) {
        fprintf(stderr, "tsan-gateway: cannot start dtxd\n");
        return 1;
    }
    gw_proc_t a, b, gw;
    if (gw_upstream_start(&a, "tsan-a", NULL) != 0 || gw_upstream_start(&b, "tsan-b", NULL) != 0) {
        fprintf(stderr, "tsan-gateway: cannot start the upstreams\n");
        return 1;
    }
    static char doc[16384];
    if (s_config(doc, sizeof doc, 0, dtxd.endpoint, admin_url, a.port, b.port) != 0)
        return 1;
    /* The send ring on (the default; said so the stage keeps it if the
     * default changes): its completions and closes run beside the offload
     * pool's resumes. */
    const char *gw_args[] = { "--workers", S_WORKERS, "--send-ring", "on", NULL };
    if (gw_gateway_start_args(&gw, "tsan-gateway", gw_args, "%s", doc) != 0) {
        fprintf(stderr, "tsan-gateway: cannot start the gateway (see tsan-gateway.log)\n");
        h_file_tail("tsan-gateway");
        return 1;
    }

    atomic_int stop = 0;
    s_loader_t loaders[S_LOADERS];
    pthread_t th[S_LOADERS];
    for (int i = 0; i < S_LOADERS; i++) {
        loaders[i] = (s_loader_t){ .port = gw.port, .index = i, .stop = &stop };
        S_CHECK(pthread_create(&th[i], NULL, s_loader, &loaders[i]) == 0);
    }
    int swaps = 0, applied = 0;
    int64_t t0 = h_now_ms();
    while (h_now_ms() - t0 < load_ms) {
        h_sleep_ms(150);
        if (!h_alive(gw.pid)) {
            fprintf(stderr, "tsan-gateway: the gateway died under load\n");
            break;
        }
        swaps++;
        gw_resp_t r = { 0 };
        if (s_config(doc, sizeof doc, swaps, dtxd.endpoint, admin_url, a.port, b.port) == 0 &&
            gw_admin_put(&gw, S_TOKEN, doc, 0, &r) == 200)
            applied++;
        else
            fprintf(stderr, "tsan-gateway: swap %d: %ld %s\n", swaps, r.status,
                    r.body ? r.body : "");
        gw_resp_free(&r);
        S_CHECK(gw_metric(&gw, "dtx_gw_unrouted_total") >= 0);
        if (swaps % 10 == 5) {
            char url[128];
            snprintf(url, sizeof url, "http://127.0.0.1:%d/config", gw.admin_port);
            const char *auth[] = { "Authorization: Bearer " S_TOKEN, NULL };
            S_CHECK(gw_http(&r, "GET", url, auth, NULL) == 0 && r.status == 200);
            gw_resp_free(&r);
            S_CHECK(kill(gw.pid, SIGHUP) == 0);  /* reload the file */
        }
    }
    atomic_store(&stop, 1);
    int64_t elapsed = h_now_ms() - t0;
    long answered[S_NROUTES] = { 0 }, ok[S_NROUTES] = { 0 }, failed = 0, left = 0, total = 0;
    for (int i = 0; i < S_LOADERS; i++) {
        pthread_join(th[i], NULL);
        for (int k = 0; k < S_NROUTES; k++) {
            answered[k] += loaders[i].answered[k];
            ok[k] += loaders[i].ok[k];
            total += loaders[i].answered[k];
        }
        failed += loaders[i].failed;
        left += loaders[i].left;
    }
    printf("tsan-gateway: %ld requests in %d ms (%ld more left mid-call), %d configuration "
           "swaps (%d applied), %ld failed\n", total, (int)elapsed, left, swaps, applied,
           failed);
    for (int k = 0; k < S_NROUTES; k++)
        printf("tsan-gateway:   %-9s %5ld answered, %5ld x 200\n", s_paths[k], answered[k],
               ok[k]);
    /* The threads this run is for did work: the offload pool (delayed
     * requests, transactions), the breaker's transitions. */
    double delayed = gw_metric(&gw, "dtx_gw_rule_total{rule=\"spaced\",verdict=\"delayed\"}");
    double opened = gw_metric(&gw, "dtx_gw_breaker_opened_total{rule=\"brk\",key=\"flaky\"}");
    double committed = gw_metric(&gw, "dtx_gw_txn_total{route=\"orders\",outcome=\"committed\"}");
    double rolled = gw_metric(&gw, "dtx_gw_txn_total{route=\"orders\",outcome=\"rolled_back\"}");
    double limited = gw_metric(&gw, "dtx_gw_rejected_total{route=\"limited\"}");
    printf("tsan-gateway: %.0f requests delayed on the offload pool, breaker opened %.0f "
           "times, %.0f transactions committed and %.0f rolled back, %.0f requests refused on "
           "/limited\n", delayed, opened, committed, rolled, limited);
    S_CHECK(failed == 0);
    S_CHECK(applied == swaps);
    for (int k = 0; k < S_NROUTES; k++)
        S_CHECK(ok[k] > 0);
    S_CHECK(delayed > 0 && opened > 0 && committed > 0 && rolled > 0);

    /* Stop with requests in flight: they finish, then the gateway exits. */
    s_slow_t slow[3];
    pthread_t sth[3];
    for (int i = 0; i < 3; i++) {
        slow[i] = (s_slow_t){ gw.port, 0 };
        S_CHECK(pthread_create(&sth[i], NULL, s_slow_call, &slow[i]) == 0);
    }
    h_sleep_ms(200);
    int gw_status = h_stop(gw.pid, SIGTERM, 20000);
    for (int i = 0; i < 3; i++) {
        pthread_join(sth[i], NULL);
        S_CHECK(slow[i].status == 200);
    }
    if (gw_status != 0) {
        fprintf(stderr, "tsan-gateway: the gateway exited %d (66: a ThreadSanitizer report)\n",
                gw_status);
        h_file_tail("tsan-gateway");
    }
    S_CHECK(gw_status == 0);
    h_stop(a.pid, SIGTERM, 5000);
    h_stop(b.pid, SIGTERM, 5000);
    S_CHECK(h_dtxd_stop(&dtxd) == 0);
    if (s_failures) {
        fprintf(stderr, "tsan-gateway: %d check(s) failed\n", s_failures);
        return 1;
    }
    printf("tsan-gateway: ok\n");
    return 0;
}
