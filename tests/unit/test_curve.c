/*
 * test_curve.c — CURVE credentials files (common/src/curve.c) and the
 * routing ids of libdtx sockets (common/src/lineage.c). Files go to a
 * private mkdtemp directory; no sockets.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <zmq.h>

#include "dtx/curve.h"
#include "dtx/lineage.h"
#include "dtx/types.h"
#include "unit.h"

static char s_dir[64];

static int s_suite_init(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/dtx-curve-test-XXXXXX");
    return mkdtemp(s_dir) ? 0 : -1;
}

static int s_suite_clean(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void s_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", s_dir, name);
    unlink(out);
}

/* Writes text to a fresh file name with mode. */
static void s_write(const char *path, const char *text, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    CU_ASSERT_FATAL(fchmod(fd, mode) == 0);
    close(fd);
}

/* A file with a fresh key pair, written by hand in the given layout:
 * fmt gets the public key then the secret key (both %s). */
static void s_write_pair(const char *path, const char *fmt, dtx_curve_keys_t *keys)
{
    CU_ASSERT_FATAL(dtx_curve_keys_generate(keys) == 0);
    char text[1024];
    snprintf(text, sizeof text, fmt, keys->public_key, keys->secret_key);
    s_write(path, text, 0600);
}

static int s_load_fails(const char *path, const char *needle)
{
    dtx_curve_keys_t k;
    char err[512] = "";
    memset(&k, 0x55, sizeof k);
    int rc = dtx_curve_keys_load(path, &k, err, sizeof err);
    if (rc != DTX_ECONFIG) {
        fprintf(stderr, "load %s: rc=%d, expected DTX_ECONFIG\n", path, rc);
        return 0;
    }
    if (!strstr(err, needle)) {
        fprintf(stderr, "load %s: error \"%s\" lacks \"%s\"\n", path, err, needle);
        return 0;
    }
    /* Nothing half-loaded is left behind. */
    return k.public_key[0] == '\0' && k.secret_key[0] == '\0' && k.server_key[0] == '\0';
}

static void test_key_valid_takes_only_40_z85_chars_of_32_bytes(void)
{
    dtx_curve_keys_t k;
    CU_ASSERT_EQUAL_FATAL(dtx_curve_keys_generate(&k), 0);
    CU_ASSERT(dtx_curve_key_valid(k.public_key));
    CU_ASSERT(dtx_curve_key_valid(k.secret_key));
    CU_ASSERT_EQUAL(k.server_key[0], '\0');
    CU_ASSERT(!dtx_curve_key_valid(NULL));
    CU_ASSERT(!dtx_curve_key_valid(""));
    char shorter[DTX_CURVE_KEY_LEN + 1];
    memcpy(shorter, k.public_key, sizeof shorter);
    shorter[DTX_CURVE_KEY_LEN - 5] = '\0';
    CU_ASSERT(!dtx_curve_key_valid(shorter)); /* 35 chars decode, to 28 bytes */
    char bad[DTX_CURVE_KEY_LEN + 1];
    memcpy(bad, k.public_key, sizeof bad);
    bad[7] = ' ';
    CU_ASSERT(!dtx_curve_key_valid(bad));
    bad[7] = '~'; /* not in the Z85 alphabet */
    CU_ASSERT(!dtx_curve_key_valid(bad));
    /* Z85's own punctuation is fine ('=' is digit 66, '#' digit 84)... */
    CU_ASSERT(dtx_curve_key_valid("=####=####=####=####=####=####=####=####"));
    /* ...as long as no 5-char group exceeds 2^32 - 1. */
    CU_ASSERT(!dtx_curve_key_valid("########################################"));
}

static void test_saved_file_loads_back_the_same_keys_with_mode_0600(void)
{
    char path[128], err[512] = "";
    s_path(path, sizeof path, "round-trip.keys");
    dtx_curve_keys_t keys, server, back;
    CU_ASSERT_EQUAL_FATAL(dtx_curve_keys_generate(&keys), 0);
    CU_ASSERT_EQUAL_FATAL(dtx_curve_keys_generate(&server), 0);
    memcpy(keys.server_key, server.public_key, sizeof keys.server_key);
    mode_t old = umask(0); /* a lax umask must not leak into the mode */
    int rc = dtx_curve_keys_save(path, &keys, err, sizeof err);
    umask(old);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    struct stat st;
    CU_ASSERT_FATAL(stat(path, &st) == 0);
    CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
    CU_ASSERT_EQUAL(dtx_curve_keys_load(path, &back, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(back.public_key, keys.public_key);
    CU_ASSERT_STRING_EQUAL(back.secret_key, keys.secret_key);
    CU_ASSERT_STRING_EQUAL(back.server_key, server.public_key);

    /* Without a server key (a coordinator's own file): none is written. */
    s_path(path, sizeof path, "server.keys");
    CU_ASSERT_EQUAL(dtx_curve_keys_save(path, &server, err, sizeof err), 0);
    CU_ASSERT_EQUAL(dtx_curve_keys_load(path, &back, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(back.public_key, server.public_key);
    CU_ASSERT_STRING_EQUAL(back.server_key, "");
}

static void test_save_never_overwrites_and_refuses_bad_keys(void)
{
    char path[128], err[512] = "";
    s_path(path, sizeof path, "exists.keys");
    s_write(path, "keep me\n", 0600);
    dtx_curve_keys_t keys;
    CU_ASSERT_EQUAL_FATAL(dtx_curve_keys_generate(&keys), 0);
    CU_ASSERT_EQUAL(dtx_curve_keys_save(path, &keys, err, sizeof err), DTX_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "exists"));
    char buf[32] = "";
    FILE *f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_PTR_NOT_NULL(fgets(buf, sizeof buf, f));
    fclose(f);
    CU_ASSERT_STRING_EQUAL(buf, "keep me\n");

    /* A public key that is not the secret's: nothing written. */
    dtx_curve_keys_t other;
    CU_ASSERT_EQUAL_FATAL(dtx_curve_keys_generate(&other), 0);
    memcpy(keys.public_key, other.public_key, sizeof keys.public_key);
    s_path(path, sizeof path, "mismatch.keys");
    CU_ASSERT_EQUAL(dtx_curve_keys_save(path, &keys, err, sizeof err), DTX_ECONFIG);
    CU_ASSERT(access(path, F_OK) != 0);
    /* A directory that does not exist: DTX_EIO. */
    CU_ASSERT_EQUAL(dtx_curve_keys_save("/nonexistent-dtx-dir/x.keys", &other, err, sizeof err),
                    DTX_EIO);
}

static void test_load_accepts_comments_blanks_and_punctuation_in_keys(void)
{
    char path[128], err[512] = "";
    s_path(path, sizeof path, "layout.keys");
    dtx_curve_keys_t keys, back;
    s_write_pair(path,
                 "# a comment\n"
                 "\n"
                 "   # an indented comment = with an equals sign\n"
                 "public-key=%s\n"
                 "\t secret-key \t=   %s   \r\n",
                 &keys);
    CU_ASSERT_EQUAL(dtx_curve_keys_load(path, &back, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(back.public_key, keys.public_key);
    CU_ASSERT_STRING_EQUAL(back.secret_key, keys.secret_key);

    /* A server key starting with '=' and holding '#': a value, not a
     * comment, split at the first '=' only. */
    const char *server = "=####=####=####=####=####=####=####=####";
    CU_ASSERT_FATAL(dtx_curve_key_valid(server));
    char text[512];
    snprintf(text, sizeof text, "public-key = %s\nsecret-key = %s\nserver-key = %s\n",
             keys.public_key, keys.secret_key, server);
    s_write(path, text, 0600);
    CU_ASSERT_EQUAL(dtx_curve_keys_load(path, &back, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(back.server_key, server);
    /* "server-key==####...": the value begins at the second =. */
    snprintf(text, sizeof text, "public-key = %s\nsecret-key = %s\nserver-key=%s\n",
             keys.public_key, keys.secret_key, server);
    s_write(path, text, 0600);
    CU_ASSERT_EQUAL(dtx_curve_keys_load(path, &back, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(back.server_key, server);
}

static void test_load_refuses_missing_or_open_files(void)
{
    char path[128];
    s_path(path, sizeof path, "missing.keys");
    CU_ASSERT(s_load_fails(path, "cannot open"));
    CU_ASSERT(s_load_fails(s_dir, "not a regular file"));
    dtx_curve_keys_t keys;
    s_path(path, sizeof path, "open.keys");
    s_write_pair(path, "public-key = %s\nsecret-key = %s\n", &keys);
    CU_ASSERT_FATAL(chmod(path, 0640) == 0);
    CU_ASSERT(s_load_fails(path, "mode 0640"));
    CU_ASSERT_FATAL(chmod(path, 0604) == 0);
    CU_ASSERT(s_load_fails(path, "chmod 600"));
    CU_ASSERT_FATAL(chmod(path, 0620) == 0);
    CU_ASSERT(s_load_fails(path, "mode 0620"));
    CU_ASSERT_FATAL(chmod(path, 0400) == 0); /* stricter than 0600 is fine */
    char err[512];
    CU_ASSERT_EQUAL(dtx_curve_keys_load(path, &keys, err, sizeof err), 0);
}

static void test_load_refuses_malformed_unknown_repeated_or_missing_lines(void)
{
    char path[128], text[1024];
    dtx_curve_keys_t keys, other;
    CU_ASSERT_EQUAL_FATAL(dtx_curve_keys_generate(&keys), 0);
    CU_ASSERT_EQUAL_FATAL(dtx_curve_keys_generate(&other), 0);
    s_path(path, sizeof path, "bad.keys");

    snprintf(text, sizeof text, "public-key = %.39s\nsecret-key = %s\n", keys.public_key,
             keys.secret_key);
    s_write(path, text, 0600);
    CU_ASSERT(s_load_fails(path, "line 1: public-key is not a CURVE key"));

    snprintf(text, sizeof text, "public-key = %s\nsecret-key = %s~\n", keys.public_key,
             keys.secret_key);
    s_write(path, text, 0600);
    CU_ASSERT(s_load_fails(path, "line 2: secret-key is not a CURVE key"));

    snprintf(text, sizeof text, "public-key = %s\nsecret-key = %s\n", other.public_key,
             keys.secret_key);
    s_write(path, text, 0600);
    CU_ASSERT(s_load_fails(path, "not the public key of secret-key"));

    snprintf(text, sizeof text, "public-key = %s\nsecret-key = %s\nsecret_key = %s\n",
             keys.public_key, keys.secret_key, keys.secret_key);
    s_write(path, text, 0600);
    CU_ASSERT(s_load_fails(path, "line 3: unknown name 'secret_key'"));

    snprintf(text, sizeof text, "public-key = %s\nsecret-key = %s\npublic-key = %s\n",
             keys.public_key, keys.secret_key, keys.public_key);
    s_write(path, text, 0600);
    CU_ASSERT(s_load_fails(path, "line 3: public-key given twice (first on line 1)"));

    /* No '=' at all (a key may hold one: Z85 has '=' in its alphabet). */
    snprintf(text, sizeof text, "public-key\nsecret-key = %s\n", keys.secret_key);
    s_write(path, text, 0600);
    CU_ASSERT(s_load_fails(path, "line 1: expected 'name = value'"));

    snprintf(text, sizeof text, "public-key = %s\n", keys.public_key);
    s_write(path, text, 0600);
    CU_ASSERT(s_load_fails(path, "has no secret-key"));

    snprintf(text, sizeof text, "# only\nsecret-key = %s\n", keys.secret_key);
    s_write(path, text, 0600);
    CU_ASSERT(s_load_fails(path, "has no public-key"));

    char longline[600];
    memset(longline, 'a', sizeof longline - 2);
    longline[sizeof longline - 2] = '\n';
    longline[sizeof longline - 1] = '\0';
    s_write(path, longline, 0600);
    CU_ASSERT(s_load_fails(path, "line too long"));

    /* No message ever carries a key. */
    snprintf(text, sizeof text, "public-key = %s\nsecret-key = %s\nsecret-key = %s\n",
             keys.public_key, keys.secret_key, keys.secret_key);
    s_write(path, text, 0600);
    char err[512] = "";
    dtx_curve_keys_t k;
    CU_ASSERT_EQUAL(dtx_curve_keys_load(path, &k, err, sizeof err), DTX_ECONFIG);
    CU_ASSERT_PTR_NULL(strstr(err, keys.secret_key));
    CU_ASSERT_PTR_NULL(strstr(err, keys.public_key));
}

static void test_public_key_load_reads_credentials_or_a_public_only_file(void)
{
    char path[128], text[256], err[512] = "", pub[DTX_CURVE_KEY_LEN + 1];
    dtx_curve_keys_t keys;
    /* A credentials file: checked like dtx_curve_keys_load, mode included. */
    s_path(path, sizeof path, "creds.keys");
    s_write_pair(path, "public-key = %s\nsecret-key = %s\n", &keys);
    CU_ASSERT_EQUAL(dtx_curve_public_key_load(path, pub, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(pub, keys.public_key);
    CU_ASSERT_FATAL(chmod(path, 0644) == 0);
    CU_ASSERT_EQUAL(dtx_curve_public_key_load(path, pub, err, sizeof err), DTX_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "mode 0644"));
    CU_ASSERT_STRING_EQUAL(pub, "");
    /* The public key alone: any mode will do. */
    snprintf(text, sizeof text, "# the coordinator\npublic-key = %s\n", keys.public_key);
    s_write(path, text, 0644);
    CU_ASSERT_EQUAL(dtx_curve_public_key_load(path, pub, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(pub, keys.public_key);
    /* ...but a public key it must hold. */
    s_write(path, "# nothing\n", 0644);
    CU_ASSERT_EQUAL(dtx_curve_public_key_load(path, pub, err, sizeof err), DTX_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "has no public-key"));
}

/* ------------------------------------------------------------------ */
/* Routing ids                                                         */
/* ------------------------------------------------------------------ */

static uint32_t s_counter(const uint8_t *id)
{
    const uint8_t *c = id + DTX_LINEAGE_COUNTER_OFFSET;
    return (uint32_t)c[0] << 24 | (uint32_t)c[1] << 16 | (uint32_t)c[2] << 8 | c[3];
}

static void test_routing_id_layout_same_lineage_new_counter(void)
{
    uint8_t a[DTX_LINEAGE_ID_LEN], b[DTX_LINEAGE_ID_LEN], la[DTX_LINEAGE_LEN];
    CU_ASSERT_EQUAL_FATAL(DTX_LINEAGE_ID_LEN, 22);
    CU_ASSERT_EQUAL_FATAL(dtx_lineage_routing_id(a), 0);
    CU_ASSERT_EQUAL_FATAL(dtx_lineage_routing_id(b), 0);
    CU_ASSERT_EQUAL(a[0], 0xD7);
    CU_ASSERT_EQUAL(a[1], 0x01);
    CU_ASSERT_EQUAL(memcmp(a + 2, b + 2, 16), 0);
    CU_ASSERT_EQUAL(s_counter(b), s_counter(a) + 1);
    CU_ASSERT_NOT_EQUAL(memcmp(a, b, sizeof a), 0);
    static const uint8_t zero[DTX_LINEAGE_LEN];
    CU_ASSERT_NOT_EQUAL(memcmp(a + 2, zero, sizeof zero), 0);
    /* parse reads back what the builder wrote, and nothing else */
    CU_ASSERT_EQUAL(dtx_lineage_parse(a, sizeof a, la), 1);
    CU_ASSERT_EQUAL(memcmp(la, a + 2, sizeof la), 0);
    CU_ASSERT_EQUAL(dtx_lineage_parse(a, sizeof a - 1, la), 0);
    uint8_t zmq_id[5] = { 0x00, 0x6b, 0x8b, 0x45, 0x67 }; /* ZeroMQ's own kind */
    CU_ASSERT_EQUAL(dtx_lineage_parse(zmq_id, sizeof zmq_id, NULL), 0);
    a[1] = 0x02;
    CU_ASSERT_EQUAL(dtx_lineage_parse(a, sizeof a, NULL), 0);
}

static void test_routing_id_lineage_differs_in_a_forked_child(void)
{
    uint8_t parent[DTX_LINEAGE_ID_LEN], child[DTX_LINEAGE_ID_LEN], again[DTX_LINEAGE_ID_LEN];
    CU_ASSERT_EQUAL_FATAL(dtx_lineage_routing_id(parent), 0);
    int fds[2];
    CU_ASSERT_FATAL(pipe(fds) == 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        uint8_t id[2 * DTX_LINEAGE_ID_LEN];
        int ok = dtx_lineage_routing_id(id) == 0 &&
                 dtx_lineage_routing_id(id + DTX_LINEAGE_ID_LEN) == 0;
        ssize_t w = ok ? write(fds[1], id, sizeof id) : 0;
        _exit(w == (ssize_t)sizeof id ? 0 : 1);
    }
    close(fds[1]);
    uint8_t got[2 * DTX_LINEAGE_ID_LEN];
    CU_ASSERT_EQUAL(read(fds[0], got, sizeof got), (ssize_t)sizeof got);
    close(fds[0]);
    int status = 0;
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    memcpy(child, got, sizeof child);
    CU_ASSERT_EQUAL(child[0], 0xD7);
    CU_ASSERT_NOT_EQUAL(memcmp(child + 2, parent + 2, DTX_LINEAGE_LEN), 0);
    /* the child keeps one lineage across its own calls */
    CU_ASSERT_EQUAL(memcmp(got + 2, got + DTX_LINEAGE_ID_LEN + 2, DTX_LINEAGE_LEN), 0);
    /* and the parent keeps its own */
    CU_ASSERT_EQUAL_FATAL(dtx_lineage_routing_id(again), 0);
    CU_ASSERT_EQUAL(memcmp(again + 2, parent + 2, DTX_LINEAGE_LEN), 0);
}

UNIT_SUITE(curve)
{
    CU_pSuite s = CU_add_suite("curve", s_suite_init, s_suite_clean);
    CU_add_test(s, "key valid takes only 40 z85 chars of 32 bytes",
                test_key_valid_takes_only_40_z85_chars_of_32_bytes);
    CU_add_test(s, "saved file loads back the same keys with mode 0600",
                test_saved_file_loads_back_the_same_keys_with_mode_0600);
    CU_add_test(s, "save never overwrites and refuses bad keys",
                test_save_never_overwrites_and_refuses_bad_keys);
    CU_add_test(s, "load accepts comments, blanks and punctuation in keys",
                test_load_accepts_comments_blanks_and_punctuation_in_keys);
    CU_add_test(s, "load refuses missing or open files", test_load_refuses_missing_or_open_files);
    CU_add_test(s, "load refuses malformed, unknown, repeated or missing lines",
                test_load_refuses_malformed_unknown_repeated_or_missing_lines);
    CU_add_test(s, "public key load reads credentials or a public-only file",
                test_public_key_load_reads_credentials_or_a_public_only_file);
    CU_add_test(s, "routing id layout: same lineage, new counter",
                test_routing_id_layout_same_lineage_new_counter);
    CU_add_test(s, "routing id lineage differs in a forked child",
                test_routing_id_lineage_differs_in_a_forked_child);
}
