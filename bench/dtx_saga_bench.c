/*
 * dtx-saga-bench — closed-loop Saga load for `make bench`'s Saga row.
 *
 *   dtx-saga-bench --coordinator EP [--concurrency C] [--seconds S]
 *                  [--warmup S] [--poll-ms MS] [--resource NAME]... [--json]
 *
 * C threads, each with its own libdtx client (dtx_client_t is one per
 * thread), each running one Saga after another:
 *
 *   SAGA (one step per --resource: action "act", compensation "undo",
 *   sequential) ──BEGIN_OK──▶ STATUS every --poll-ms ──committed──▶ next
 *
 * A Saga runs by itself at dtxd once submitted, and the protocol has no
 * "tell me when it ends": its end is seen by polling STATUS, so the
 * latency (SAGA sent -> first STATUS that answers committed) carries up to
 * one poll interval (default 2 ms) of polling delay, and the polls are
 * load dtxd serves too. A Saga counts in the measured window when its
 * commit is seen inside it. Anything but committed (an error, a Saga
 * compensated or stuck, no end within 30 s) is an error.
 *
 * Output: one line of JSON with --json ({"tps","p50_ms","p99_ms",
 * "errors_total","committed_total","concurrency","poll_ms"}), else text.
 * Exit 0; 1 when more than 1% of the Sagas failed or none committed; 2 on
 * bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dtx/dtx.h"

#define S_MAX_THREADS   512
#define S_MAX_RESOURCES 8
#define S_MAX_SAMPLES   (1 << 22)
#define S_END_WAIT_MS   30000

static struct {
    const char *endpoint;
    int         concurrency;
    double      seconds, warmup;
    int         poll_ms;
    int         json;
    const char *resources[S_MAX_RESOURCES];
    int         nresources;
} s_opt = { NULL, 1, 10, 2, 2, 0, { NULL }, 0 };

static int64_t s_t0_ns, s_start_ns, s_end_ns;  /* run start, window start/end */
static atomic_long s_committed_in, s_committed_all, s_errors, s_nsamples;
static double *s_samples;                       /* latencies (ms) in the window */

static int64_t s_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void s_sleep_ms(int ms)
{
    struct timespec req = { ms / 1000, (long)(ms % 1000) * 1000000L }, rem;
    while (nanosleep(&req, &rem) < 0 && errno == EINTR)
        req = rem;
}

/* One Saga: 0 committed, else an error (counted by the caller). */
static int s_one(dtx_client_t *c, const dtx_saga_t *saga)
{
    char gid[DTX_GID_SIZE];
    int rc = dtx_client_saga_submit(c, saga, 0, gid);
    if (rc != 0)
        return rc;
    int64_t until = s_now_ns() + (int64_t)S_END_WAIT_MS * 1000000LL;
    for (;;) {
        int state = 0;
        rc = dtx_client_status(c, gid, &state);
        if (rc != 0)
            return rc;
        if (state == DTX_STATE_COMMITTED)
            return 0;
        if (state == DTX_STATE_ABORTED || state == DTX_STATE_STUCK)
            return DTX_EABORTED;
        if (s_now_ns() > until)
            return DTX_ETIMEOUT;
        s_sleep_ms(s_opt.poll_ms);
    }
}

static void *s_thread(void *arg)
{
    (void)arg;
    int err = 0;
    dtx_client_t *c = dtx_client_new(s_opt.endpoint, &err);
    dtx_saga_t *saga = dtx_saga_new(&err);
    for (int i = 0; saga && i < s_opt.nresources; i++)
        if (dtx_saga_add_step(saga, s_opt.resources[i], "act", "undo", "bench", 5, 0) < 0)
            dtx_saga_destroy(&saga);
    if (!c || !saga) {
        fprintf(stderr, "dtx-saga-bench: cannot set up a client: %s\n", dtx_strerror(err));
        atomic_fetch_add(&s_errors, 1);
        dtx_client_destroy(&c);
        dtx_saga_destroy(&saga);
        return NULL;
    }
    dtx_client_set_timeout(c, 5000);
    while (s_now_ns() < s_end_ns) {
        int64_t t = s_now_ns();
        int rc = s_one(c, saga);
        int64_t done = s_now_ns();
        if (rc != 0) {
            if (atomic_fetch_add(&s_errors, 1) < 10)
                fprintf(stderr, "dtx-saga-bench: %s (%s)\n", dtx_strerror(rc),
                        dtx_client_last_error(c));
            continue;
        }
        atomic_fetch_add(&s_committed_all, 1);
        if (done >= s_start_ns && done < s_end_ns) {
            atomic_fetch_add(&s_committed_in, 1);
            long k = atomic_fetch_add(&s_nsamples, 1);
            if (k < S_MAX_SAMPLES)
                s_samples[k] = (double)(done - t) / 1e6;
        }
    }
    dtx_saga_destroy(&saga);
    dtx_client_destroy(&c);
    return NULL;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double s_pct(const double *v, long n, double p)
{
    if (n <= 0)
        return 0;
    long i = (long)(p * (double)(n - 1) + 0.5);
    return v[i];
}

static int s_args(int argc, char **argv)
{
    static const struct option opts[] = {
        { "coordinator", required_argument, NULL, 'c' }, { "concurrency", required_argument, NULL, 'n' },
        { "seconds", required_argument, NULL, 's' },     { "warmup", required_argument, NULL, 'w' },
        { "poll-ms", required_argument, NULL, 'p' },     { "resource", required_argument, NULL, 'r' },
        { "json", no_argument, NULL, 'j' },              { NULL, 0, NULL, 0 },
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': s_opt.endpoint = optarg; break;
        case 'n': s_opt.concurrency = atoi(optarg); break;
        case 's': s_opt.seconds = atof(optarg); break;
        case 'w': s_opt.warmup = atof(optarg); break;
        case 'p': s_opt.poll_ms = atoi(optarg); break;
        case 'r':
            if (s_opt.nresources == S_MAX_RESOURCES)
                return -1;
            s_opt.resources[s_opt.nresources++] = optarg;
            break;
        case 'j': s_opt.json = 1; break;
        default: return -1;
        }
    }
    if (!s_opt.endpoint || optind != argc || s_opt.concurrency < 1 ||
        s_opt.concurrency > S_MAX_THREADS || !(s_opt.seconds >= 0.1) || s_opt.warmup < 0 ||
        s_opt.poll_ms < 1 || s_opt.poll_ms > 1000)
        return -1;
    if (!s_opt.nresources) {
        s_opt.resources[0] = "noop-a";
        s_opt.resources[1] = "noop-b";
        s_opt.nresources = 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (s_args(argc, argv) != 0) {
        fprintf(stderr, "usage: dtx-saga-bench --coordinator EP [--concurrency 1..%d] "
                        "[--seconds S] [--warmup S] [--poll-ms 1..1000] [--resource NAME]... "
                        "[--json]\n", S_MAX_THREADS);
        return 2;
    }
    s_samples = malloc(sizeof *s_samples * S_MAX_SAMPLES);
    if (!s_samples)
        return 2;
    s_t0_ns = s_now_ns();
    s_start_ns = s_t0_ns + (int64_t)(s_opt.warmup * 1e9);
    s_end_ns = s_start_ns + (int64_t)(s_opt.seconds * 1e9);
    static pthread_t threads[S_MAX_THREADS];
    int started = 0;
    for (int i = 0; i < s_opt.concurrency; i++, started++)
        if (pthread_create(&threads[i], NULL, s_thread, NULL) != 0)
            break;
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    long n = atomic_load(&s_nsamples);
    if (n > S_MAX_SAMPLES)
        n = S_MAX_SAMPLES;
    qsort(s_samples, (size_t)n, sizeof *s_samples, s_cmp);
    long in = atomic_load(&s_committed_in), all = atomic_load(&s_committed_all);
    long errs = atomic_load(&s_errors);
    double tps = (double)in / s_opt.seconds;
    if (s_opt.json)
        printf("{\"tps\":%.1f,\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"errors_total\":%ld,"
               "\"committed_total\":%ld,\"concurrency\":%d,\"poll_ms\":%d}\n",
               tps, s_pct(s_samples, n, 0.50), s_pct(s_samples, n, 0.99), errs, all,
               s_opt.concurrency, s_opt.poll_ms);
    else
        printf("sagas: %.1f/s, p50 %.2f ms, p99 %.2f ms, %ld error(s), %ld committed in all "
               "(%d in flight, STATUS every %d ms)\n",
               tps, s_pct(s_samples, n, 0.50), s_pct(s_samples, n, 0.99), errs, all,
               s_opt.concurrency, s_opt.poll_ms);
    free(s_samples);
    return all == 0 || errs * 100 > all + errs ? 1 : 0;
}
