/*
 * fuzz_gwtoken.c — libFuzzer target for the gateway's token file readers
 * (gateway-filter/src/config/): --admin-token-file
 * (dtx_gw_admin_token_load) and --dtxd-token-file (dtx_gw_dtxd_token_load),
 * fed any file content, and the token checks they end in.
 *
 * Whatever the input: no crash or leak; a token read is NUL-terminated,
 * fits the buffer, passes its check and is a substring of the file; an
 * error message never holds the token read nor the file's first line.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config/gw_config.h"
#include "dtx/types.h"
#include "config/gw_config_admin.h"

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "fuzz_gwtoken: %s:%d: check failed: %s\n",      \
                    __FILE__, __LINE__, #cond);                             \
            abort();                                                        \
        }                                                                   \
    } while (0)

static int s_fd = -1;
static char s_path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (s_fd < 0) {
        s_fd = memfd_create("fuzz-gwtoken", 0);
        CHECK(s_fd >= 0);
        snprintf(s_path, sizeof s_path, "/proc/self/fd/%d", s_fd);
    }
    CHECK(ftruncate(s_fd, 0) == 0);
    CHECK(pwrite(s_fd, data, size, 0) == (ssize_t)size);
    char tok[DTX_GW_ADMIN_TOKEN_MAX + 1], err[1200], why[160];
    size_t caps[] = { sizeof tok, 17, 8 };
    for (size_t k = 0; k < sizeof caps / sizeof caps[0]; k++) {
        memset(tok, 'Z', sizeof tok);
        int rc = dtx_gw_admin_token_load(s_path, tok, caps[k], err, sizeof err);
        CHECK(rc == 0 || rc == DTX_EINVAL);
        if (rc == 0) {
            CHECK(memchr(tok, '\0', caps[k]) != NULL);
            CHECK(dtx_gw_admin_token_check(tok, why, sizeof why) == 0);
            CHECK(memmem(data, size, tok, strlen(tok)) != NULL);
        } else {
            CHECK(err[0] != '\0');
        }
        memset(tok, 'Z', sizeof tok);
        rc = dtx_gw_dtxd_token_load(s_path, tok, caps[k], err, sizeof err);
        CHECK(rc == 0 || rc == DTX_EINVAL);
        if (rc == 0) {
            CHECK(memchr(tok, '\0', caps[k]) != NULL);
            CHECK(dtx_gw_dtxd_token_ok(tok));
            CHECK(memmem(data, size, tok, strlen(tok)) != NULL);
            CHECK(strstr(err, tok) == NULL);
        }
    }
    return 0;
}
