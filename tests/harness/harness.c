/*
 * tests/harness/harness.c — see harness.h: the environment, paths and
 * time. The databases are in harness_db.c, child processes in
 * harness_proc.c, dtxd and test-participant in harness_daemon.c.
 */
#include "harness.h"
#include "harness_int.h"
#include "hcurve.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static int  s_initialised;
static char s_pghost[512];
static int  s_pgport;
static char s_bindir[512];
static char s_testbindir[512];
static char s_testdir[512];

/* ------------------------------------------------------------------ */
/* Environment                                                         */
/* ------------------------------------------------------------------ */

static int s_env_copy(const char *name, char *out, size_t cap)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "harness: %s is not set (run the tests through tests/run.sh)\n", name);
        return -1;
    }
    if (strlen(v) >= cap) {
        fprintf(stderr, "harness: %s is too long\n", name);
        return -1;
    }
    memcpy(out, v, strlen(v) + 1);
    return 0;
}

static void s_on_signal(int sig)
{
    h_kill_all();
    signal(sig, SIG_DFL);
    raise(sig);
}

int h_init(void)
{
    if (s_initialised)
        return 0;
    char port[32];
    if (s_env_copy("DTX_TEST_PGHOST", s_pghost, sizeof s_pghost) < 0 ||
        s_env_copy("DTX_TEST_PGPORT", port, sizeof port) < 0 ||
        s_env_copy("DTX_TEST_BIN", s_bindir, sizeof s_bindir) < 0 ||
        s_env_copy("DTX_TEST_TESTBIN", s_testbindir, sizeof s_testbindir) < 0 ||
        s_env_copy("DTX_TEST_DIR", s_testdir, sizeof s_testdir) < 0)
        return -1;
    char *end;
    long p = strtol(port, &end, 10);
    if (*end || p <= 0 || p > 65535) {
        fprintf(stderr, "harness: DTX_TEST_PGPORT='%s' is not a port\n", port);
        return -1;
    }
    s_pgport = (int)p;
    if (mkdir(s_testdir, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "harness: cannot create %s: %s\n", s_testdir, strerror(errno));
        return -1;
    }
    if (h_curve_setup(s_testdir) < 0)
        return -1;
    atexit(h_kill_all);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    s_initialised = 1;
    return 0;
}

const char *h_pghost(void)     { return s_pghost; }
int         h_pgport(void)     { return s_pgport; }
const char *h_bindir(void)     { return s_bindir; }
const char *h_testbindir(void) { return s_testbindir; }
const char *h_testdir(void)    { return s_testdir; }

static int s_join(const char *dir, const char *name, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "harness: path %s/%s too long\n", dir, name);
        return -1;
    }
    return 0;
}

int h_bin_path(const char *name, char *out, size_t cap)
{
    return s_join(s_bindir, name, out, cap);
}

int h_testbin_path(const char *name, char *out, size_t cap)
{
    return s_join(s_testbindir, name, out, cap);
}

int h_scratch_path(const char *name, char *out, size_t cap)
{
    return s_join(s_testdir, name, out, cap);
}

/* ------------------------------------------------------------------ */
/* Time                                                                */
/* ------------------------------------------------------------------ */

int64_t h_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void h_sleep_ms(int ms)
{
    struct timespec req = { ms / 1000, (long)(ms % 1000) * 1000000L }, rem;
    while (nanosleep(&req, &rem) < 0 && errno == EINTR)
        req = rem;
}

int h_wait_until(int (*fn)(void *arg), void *arg, int timeout_ms)
{
    int64_t deadline = h_now_ms() + timeout_ms;
    for (;;) {
        if (fn(arg))
            return 0;
        if (h_now_ms() >= deadline)
            return -1;
        h_sleep_ms(H_POLL_MS);
    }
}

