/*
 * keygen.c — `dtxctl keygen`: CurveZMQ credentials files for dtxd and its
 * peers (the format and its checks are in common/include/dtx/curve.h).
 * Talks to no server.
 *
 *   dtxctl keygen FILE                           a key pair: dtxd's own
 *                                                (--curve-secret-file FILE)
 *   dtxctl keygen FILE --server-key KEY          a peer's: a key pair and the
 *   dtxctl keygen FILE --server-key-file FILE2   coordinator's public key (KEY,
 *                                                or FILE2's public-key)
 *   dtxctl keygen --show FILE                    FILE's public key
 *
 * Every form prints one public key on stdout: the new one (for dtxd's
 * allow-list, or for the --server-key of its peers), or FILE's. FILE is
 * written with mode 0600 and never overwritten. A peer uses FILE through
 * DTX_CURVE_KEY_FILE or dtx_client_new_curve / dtx_participant_set_curve.
 *
 * Exit codes: 0 done; 1 a file cannot be read or written, or FILE exists;
 * 2 usage (a malformed KEY included).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "dtx/curve.h"
#include "dtxctl.h"

static int s_fail(const char *what, const char *err, int rc)
{
    fprintf(stderr, "dtxctl: keygen: %s%s%s\n", what, *err ? ": " : "", err);
    return rc;
}

int dtxctl_keygen(int argc, char **argv)
{
    static const struct option opts[] = {
        { "server-key", required_argument, NULL, 'k' },
        { "server-key-file", required_argument, NULL, 'f' },
        { "show", no_argument, NULL, 's' },
        { NULL, 0, NULL, 0 },
    };
    const char *server_key = NULL, *server_key_file = NULL;
    int show = 0, ch;
    optind = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch == 'k')
            server_key = optarg;
        else if (ch == 'f')
            server_key_file = optarg;
        else if (ch == 's')
            show = 1;
        else
            return s_fail("unknown option (dtxctl --help for usage)", "", DTXCTL_USAGE);
    }
    if (optind + 1 != argc)
        return s_fail("give exactly one FILE (dtxctl --help for usage)", "", DTXCTL_USAGE);
    const char *path = argv[optind];
    char err[512] = "";

    if (show) {
        if (server_key || server_key_file)
            return s_fail("--show takes no server key", "", DTXCTL_USAGE);
        char public_key[DTX_CURVE_KEY_LEN + 1];
        if (dtx_curve_public_key_load(path, public_key, err, sizeof err) != 0)
            return s_fail("cannot show the key", err, DTXCTL_REFUSED);
        printf("%s\n", public_key);
        return DTXCTL_OK;
    }

    dtx_curve_keys_t keys;
    if (server_key && server_key_file)
        return s_fail("give --server-key or --server-key-file, not both", "", DTXCTL_USAGE);
    if (server_key && !dtx_curve_key_valid(server_key))
        return s_fail("--server-key is not a CURVE public key (40 Z85 characters)", "",
                      DTXCTL_USAGE);
    char server_public[DTX_CURVE_KEY_LEN + 1] = "";
    if (server_key)
        snprintf(server_public, sizeof server_public, "%s", server_key);
    if (server_key_file &&
        dtx_curve_public_key_load(server_key_file, server_public, err, sizeof err) != 0)
        return s_fail("cannot read the server key", err, DTXCTL_REFUSED);
    if (dtx_curve_keys_generate(&keys) != 0)
        return s_fail("cannot make a key pair (libzmq without CURVE?)", "", DTXCTL_REFUSED);
    memcpy(keys.server_key, server_public, sizeof keys.server_key);
    int rc = dtx_curve_keys_save(path, &keys, err, sizeof err);
    if (rc == 0)
        printf("%s\n", keys.public_key);
    explicit_bzero(&keys, sizeof keys);
    return rc == 0 ? DTXCTL_OK : s_fail("cannot write the key file", err, DTXCTL_REFUSED);
}
