/*
 * sdk_curve.c — how libdtx finds and checks the CurveZMQ credentials of a
 * client or participant (private; the public side is in dtx/dtx.h).
 *
 * A peer's credentials come from, in order: the key file given to
 * dtx_client_new_curve / dtx_participant_set_curve, else the file named by
 * DTX_CURVE_KEY_FILE (as libpq reads PG* variables), else none (plain
 * ZeroMQ). A peer needs all three keys; a coordinator's credentials file
 * (no server-key) is refused here with a hint.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/curve.h"
#include "dtx/log.h"
#include "sdk_internal.h"

const char *dtx_sdk_curve_env(void)
{
    const char *v = getenv(DTX_SDK_CURVE_ENV);
    return v && *v ? v : NULL;
}

int dtx_sdk_curve_load(const char *key_file, const char *who, dtx_curve_keys_t *out)
{
    char err[512];
    int rc = dtx_curve_keys_load(key_file, out, err, sizeof err);
    if (rc == 0 && !out->server_key[0]) {
        snprintf(err, sizeof err,
                 "CURVE key file '%.200s' has no server-key (the coordinator's public key: "
                 "dtxctl keygen FILE --server-key KEY)", key_file);
        explicit_bzero(out, sizeof *out);
        rc = DTX_ECONFIG;
    }
    if (rc != 0)
        dtx_log_error("cannot use CURVE credentials", "%s%serror=\"%s\"", who,
                      *who ? " " : "", err);
    return rc;
}
