/*
 * dtxctl keygen, the binary: the files it writes are what libdtx and dtxd
 * load (mode 0600, the keys it printed), it never overwrites, and its exit
 * codes say what went wrong. No dtxd, no database.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "dtx/curve.h"
#include "integ.h"

/* Runs `dtxctl args` (a shell fragment); its stdout into out (last newline
 * cut), stderr into the test log. Returns its exit status. */
static int s_ctl(char *out, size_t cap, const char *args)
{
    char bin[1024], cmd[4096];
    h_bin_path("dtxctl", bin, sizeof bin);
    snprintf(cmd, sizeof cmd, "cd '%s' && %s %s", h_testdir(), bin, args);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    if (n > 0 && out[n - 1] == '\n')
        out[n - 1] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void s_scratch(const char *name, char *path, size_t cap)
{
    h_scratch_path(name, path, cap);
    unlink(path);
}

static void test_keygen_writes_loadable_0600_files_and_prints_their_keys(void)
{
    char out[512], coord_key[64], server_path[1024], peer_path[1024], err[512];
    s_scratch("ctl-dtxd.keys", server_path, sizeof server_path);
    s_scratch("ctl-peer.keys", peer_path, sizeof peer_path);
    s_scratch("ctl-peer2.keys", out, sizeof out);

    /* the coordinator's own: a key pair, no server key */
    CU_ASSERT_EQUAL_FATAL(s_ctl(out, sizeof out, "keygen ctl-dtxd.keys 2>&1"), 0);
    CU_ASSERT_EQUAL_FATAL(strlen(out), DTX_CURVE_KEY_LEN);
    snprintf(coord_key, sizeof coord_key, "%.63s", out);
    dtx_curve_keys_t k;
    CU_ASSERT_EQUAL(dtx_curve_keys_load(server_path, &k, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(k.public_key, coord_key);
    CU_ASSERT_STRING_EQUAL(k.server_key, "");
    struct stat st;
    CU_ASSERT_FATAL(stat(server_path, &st) == 0);
    CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);

    /* --show prints it again */
    CU_ASSERT_EQUAL(s_ctl(out, sizeof out, "keygen --show ctl-dtxd.keys"), 0);
    CU_ASSERT_STRING_EQUAL(out, coord_key);

    /* a peer's, from the key on the command line (quoted: Z85 has $ ! & ...) */
    char args[256];
    snprintf(args, sizeof args, "keygen ctl-peer.keys --server-key '%s'", coord_key);
    CU_ASSERT_EQUAL(s_ctl(out, sizeof out, args), 0);
    CU_ASSERT_EQUAL(dtx_curve_keys_load(peer_path, &k, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(k.public_key, out);
    CU_ASSERT_STRING_EQUAL(k.server_key, coord_key);
    CU_ASSERT_FATAL(stat(peer_path, &st) == 0);
    CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);

    /* ...and from the coordinator's file */
    CU_ASSERT_EQUAL(s_ctl(out, sizeof out, "keygen ctl-peer2.keys --server-key-file ctl-dtxd.keys"),
                    0);
    char peer2[1024];
    h_scratch_path("ctl-peer2.keys", peer2, sizeof peer2);
    CU_ASSERT_EQUAL(dtx_curve_keys_load(peer2, &k, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(k.server_key, coord_key);
    CU_ASSERT_STRING_NOT_EQUAL(k.public_key, coord_key);
}

static void test_keygen_never_overwrites_and_exits_with_what_went_wrong(void)
{
    char out[512], path[1024];
    s_scratch("ctl-keep.keys", path, sizeof path);
    CU_ASSERT_EQUAL_FATAL(s_ctl(out, sizeof out, "keygen ctl-keep.keys"), 0);
    char first[64];
    snprintf(first, sizeof first, "%.63s", out);
    /* exists: 1, the file keeps its keys */
    CU_ASSERT_EQUAL(s_ctl(out, sizeof out, "keygen ctl-keep.keys 2>&1"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "exists"));
    CU_ASSERT_EQUAL(s_ctl(out, sizeof out, "keygen --show ctl-keep.keys"), 0);
    CU_ASSERT_STRING_EQUAL(out, first);
    /* a group-readable file is refused, as libdtx refuses it */
    CU_ASSERT_FATAL(chmod(path, 0640) == 0);
    CU_ASSERT_EQUAL(s_ctl(out, sizeof out, "keygen --show ctl-keep.keys 2>&1"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "chmod 600"));
    /* usage: 2, nothing written */
    char bad[1024];
    s_scratch("ctl-bad.keys", bad, sizeof bad);
    CU_ASSERT_EQUAL(s_ctl(out, sizeof out, "keygen ctl-bad.keys --server-key short 2>&1"), 2);
    CU_ASSERT(access(bad, F_OK) != 0);
    CU_ASSERT_EQUAL(s_ctl(out, sizeof out, "keygen 2>&1"), 2);
    CU_ASSERT_EQUAL(s_ctl(out, sizeof out, "keygen a.keys b.keys 2>&1"), 2);
    /* an unreadable server key file: 1, nothing written */
    CU_ASSERT_EQUAL(s_ctl(out, sizeof out, "keygen ctl-bad.keys --server-key-file nope 2>&1"), 1);
    CU_ASSERT(access(bad, F_OK) != 0);
    /* no server needed: a --url nobody listens on changes nothing */
    s_scratch("ctl-url.keys", path, sizeof path);
    CU_ASSERT_EQUAL(s_ctl(out, sizeof out, "--url http://127.0.0.1:1 keygen ctl-url.keys"), 0);
}

INTEG_SUITE(curve_ctl)
{
    CU_pSuite s = CU_add_suite("curve_ctl", NULL, NULL);
    CU_add_test(s, "keygen writes loadable 0600 files and prints their keys",
                test_keygen_writes_loadable_0600_files_and_prints_their_keys);
    CU_add_test(s, "keygen never overwrites and exits with what went wrong",
                test_keygen_never_overwrites_and_exits_with_what_went_wrong);
}
