/*
 * dtx-storm — an expiry storm with a latency probe (bench/storm.sh).
 *
 *   dtx-storm --coordinator EP [--transactions N] [--txn-timeout-ms T]
 *             [--probe-ms P] [--seconds S] [--window W]
 *
 * Phases:
 *
 *   [load] N BEGINs (TCC, deadline T), W in flight, on one connection;
 *          nothing else is sent, so all N reach their deadline together
 *          (within the time the load took) and dtxd must abort every one.
 *      |
 *   [probe] for S seconds from the end of the load: one BEGIN every P ms
 *          on a second connection, each waited for (up to 10 s), its
 *          latency recorded. A probe with no answer in 10 s is "lost".
 *
 * Prints one line of key=value: begun, refused (BEGINs of the load that
 * got an ERROR, e.g. ELIMIT), load_s, probes, answered, lost, errors and
 * the probe latency p50, p99 and max in ms. Exit 0 when the run was made
 * (whatever the latencies: bench/storm.sh judges them), 2 on bad usage or
 * setup failure. CURVE from DTX_CURVE_KEY_FILE, like libdtx.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "dtx/clock.h"
#include "dtx/curve.h"
#include "dtx/proto.h"

#define S_PROBE_WAIT_MS 10000

static uint8_t s_buf[DTX_MSG_MAX];

static void *s_dealer(void *ctx, const char *endpoint)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0, hwm = 0;
    if (!s)
        return NULL;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    const char *kf = getenv("DTX_CURVE_KEY_FILE");
    if (kf && *kf) {
        dtx_curve_keys_t k;
        char err[256];
        if (dtx_curve_keys_load(kf, &k, err, sizeof err) != 0 ||
            dtx_curve_apply_client(s, &k) != 0) {
            fprintf(stderr, "dtx-storm: DTX_CURVE_KEY_FILE: %s\n", err);
            zmq_close(s);
            return NULL;
        }
    }
    if (zmq_connect(s, endpoint) != 0) {
        zmq_close(s);
        return NULL;
    }
    return s;
}

static int s_send_begin(void *s, uint64_t corr, uint32_t timeout_ms)
{
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_BEGIN;
    m.mode = DTX_MODE_TCC;
    m.corr = corr;
    m.timeout_ms = timeout_ms;
    size_t len = 0;
    if (dtx_msg_encode(&m, s_buf, sizeof s_buf, &len) != 0)
        return -1;
    return zmq_send(s, s_buf, len, 0) < 0 ? -1 : 0;
}

/* One reply within timeout_ms: 0 with *out, -1 on timeout or garbage. */
static int s_recv(void *s, dtx_msg_t *out, int timeout_ms)
{
    zmq_pollitem_t it = { s, 0, ZMQ_POLLIN, 0 };
    if (zmq_poll(&it, 1, timeout_ms) <= 0)
        return -1;
    int n = zmq_recv(s, s_buf, sizeof s_buf, 0);
    char err[160];
    if (n < 0 || (size_t)n > sizeof s_buf || dtx_msg_decode(out, s_buf, (size_t)n, err, sizeof err))
        return -1;
    return 0;
}

static int s_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *endpoint = NULL;
    long n = 100000, txn_timeout = 5000, probe_ms = 20, seconds = 30, window = 4000;
    static const struct option opts[] = {
        { "coordinator", required_argument, NULL, 'c' },
        { "transactions", required_argument, NULL, 'n' },
        { "txn-timeout-ms", required_argument, NULL, 't' },
        { "probe-ms", required_argument, NULL, 'p' },
        { "seconds", required_argument, NULL, 's' },
        { "window", required_argument, NULL, 'w' },
        { NULL, 0, NULL, 0 },
    };
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'c': endpoint = optarg; break;
        case 'n': n = atol(optarg); break;
        case 't': txn_timeout = atol(optarg); break;
        case 'p': probe_ms = atol(optarg); break;
        case 's': seconds = atol(optarg); break;
        case 'w': window = atol(optarg); break;
        default:
            fprintf(stderr, "usage: dtx-storm --coordinator EP [--transactions N] "
                            "[--txn-timeout-ms T] [--probe-ms P] [--seconds S] [--window W]\n");
            return 2;
        }
    }
    if (!endpoint || n < 1 || txn_timeout < 1 || probe_ms < 1 || seconds < 1 || window < 1) {
        fprintf(stderr, "dtx-storm: --coordinator is required; numbers must be >= 1\n");
        return 2;
    }
    void *ctx = zmq_ctx_new();
    void *load = ctx ? s_dealer(ctx, endpoint) : NULL;
    void *probe = ctx ? s_dealer(ctx, endpoint) : NULL;
    if (!load || !probe) {
        fprintf(stderr, "dtx-storm: cannot connect to %s\n", endpoint);
        return 2;
    }

    /* [load] */
    long sent = 0, got = 0, begun = 0, refused = 0;
    int64_t t0 = dtx_clock_mono_ms();
    dtx_msg_t r;
    while (got < n) {
        while (sent < n && sent - got < window) {
            if (s_send_begin(load, (uint64_t)sent + 1, (uint32_t)txn_timeout) != 0) {
                fprintf(stderr, "dtx-storm: send failed\n");
                return 2;
            }
            sent++;
        }
        if (s_recv(load, &r, 30000) != 0) {
            fprintf(stderr, "dtx-storm: no answer to the load for 30 s (%ld of %ld)\n", got, n);
            break;
        }
        got++;
        if (r.type == DTX_MSG_BEGIN_OK)
            begun++;
        else
            refused++;
    }
    double load_s = (double)(dtx_clock_mono_ms() - t0) / 1000.0;

    /* [probe] */
    size_t cap = (size_t)(seconds * 1000 / probe_ms) + 16, np = 0;
    int64_t *lat = calloc(cap, sizeof *lat);
    long probes = 0, lost = 0, errors = 0;
    uint64_t corr = (uint64_t)n + 1000;
    int64_t until = dtx_clock_mono_ms() + seconds * 1000;
    while (lat && dtx_clock_mono_ms() < until && np < cap) {
        int64_t start = dtx_clock_mono_ms();
        uint64_t want = ++corr;
        probes++;
        if (s_send_begin(probe, want, 60000) != 0) {
            lost++;
            break;
        }
        int answered = 0;
        while (!answered) {
            int64_t left = start + S_PROBE_WAIT_MS - dtx_clock_mono_ms();
            if (left <= 0 || s_recv(probe, &r, (int)left) != 0)
                break;
            if (r.corr == want)
                answered = 1;
        }
        int64_t took = dtx_clock_mono_ms() - start;
        if (getenv("DTX_STORM_TRACE") && took >= 50)
            fprintf(stderr, "slow probe at +%.1f s: %lld ms\n",
                    (double)(start - (until - seconds * 1000)) / 1000.0, (long long)took);
        if (!answered) {
            lost++;
        } else {
            lat[np++] = took;
            if (r.type != DTX_MSG_BEGIN_OK)
                errors++;
        }
        if (took < probe_ms)
            zmq_poll(NULL, 0, (long)(probe_ms - took));
    }
    /* The load socket's late answers are not counted: drop them. */
    qsort(lat, np, sizeof *lat, s_cmp);
    int64_t p50 = np ? lat[np / 2] : -1;
    int64_t p99 = np ? lat[(np * 99) / 100] : -1;
    int64_t mx = np ? lat[np - 1] : -1;
    printf("begun=%ld refused=%ld load_s=%.1f probes=%ld answered=%zu lost=%ld errors=%ld "
           "p50_ms=%lld p99_ms=%lld max_ms=%lld\n",
           begun, refused, load_s, probes, np, lost, errors, (long long)p50, (long long)p99,
           (long long)mx);
    free(lat);
    zmq_close(load);
    zmq_close(probe);
    zmq_ctx_term(ctx);
    return 0;
}
