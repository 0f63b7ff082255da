/*
 * hcurve.c — the run's CurveZMQ keys (harness.h, "CurveZMQ"): one key set
 * per test run, in $DTX_TEST_DIR/curve/, made once by h_curve_setup (called
 * from h_init).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dtx/curve.h"
#include "harness.h"
#include "hcurve.h"

static int s_on;
static char s_dir[1024];
static char s_server[1100];
static char s_allow[1100];
static char s_test[1100];
static dtx_curve_keys_t s_server_keys;
static int s_nkeys;

int h_curve_on(void)                   { return s_on; }
const char *h_curve_server_file(void)  { return s_on ? s_server : ""; }
const char *h_curve_allow_file(void)   { return s_on ? s_allow : ""; }
const char *h_curve_test_key_file(void) { return s_on ? s_test : ""; }

static int s_append_allow(const char *key, const char *name, const char *roles)
{
    FILE *f = fopen(s_allow, "a");
    if (!f) {
        fprintf(stderr, "harness: cannot write %s: %s\n", s_allow, strerror(errno));
        return -1;
    }
    int ok = fprintf(f, "%s %s %s\n", key, name, roles) > 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static int s_new_key(const char *path, const char *name, const char *roles)
{
    dtx_curve_keys_t k;
    char err[256];
    if (dtx_curve_keys_generate(&k) != 0) {
        fprintf(stderr, "harness: no CURVE in this libzmq\n");
        return -1;
    }
    memcpy(k.server_key, s_server_keys.public_key, sizeof k.server_key);
    if (dtx_curve_keys_save(path, &k, err, sizeof err) != 0) {
        fprintf(stderr, "harness: %s\n", err);
        return -1;
    }
    return s_append_allow(k.public_key, name, roles);
}

int h_curve_setup(const char *testdir)
{
    const char *env = getenv("DTX_TEST_CURVE");
    if (env && strcmp(env, "0") == 0)
        return 0;
    /* Each run (and each test process of it) gets its own folder: two
     * integration binaries in one scratch dir must not share key files. */
    snprintf(s_dir, sizeof s_dir, "%s/curve-%d", testdir, (int)getpid());
    if (mkdir(s_dir, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "harness: cannot create %s: %s\n", s_dir, strerror(errno));
        return -1;
    }
    snprintf(s_server, sizeof s_server, "%s/server.key", s_dir);
    snprintf(s_allow, sizeof s_allow, "%s/allow", s_dir);
    snprintf(s_test, sizeof s_test, "%s/test.key", s_dir);
    unlink(s_server);
    unlink(s_allow);
    unlink(s_test);
    char err[256];
    if (dtx_curve_keys_generate(&s_server_keys) != 0 ||
        dtx_curve_keys_save(s_server, &s_server_keys, err, sizeof err) != 0) {
        fprintf(stderr, "harness: cannot make the server key: %s\n", err);
        return -1;
    }
    FILE *f = fopen(s_allow, "w");
    if (!f || fputs("# the test run's allow-list (tests/harness/hcurve.c)\n", f) < 0 ||
        fclose(f) != 0) {
        fprintf(stderr, "harness: cannot write %s\n", s_allow);
        return -1;
    }
    if (s_new_key(s_test, "test", "initiator operator participant:*") != 0)
        return -1;
    if (setenv("DTX_CURVE_KEY_FILE", s_test, 1) != 0)
        return -1;
    s_on = 1;
    return 0;
}

int h_curve_add_key(const char *name, const char *roles, char *keyfile_out, size_t cap)
{
    if (!s_on) {
        fprintf(stderr, "harness: h_curve_add_key: CURVE is off in this run\n");
        return -1;
    }
    int n = snprintf(keyfile_out, cap, "%s/%s-%d.key", s_dir, name, ++s_nkeys);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    return s_new_key(keyfile_out, name, roles);
}
