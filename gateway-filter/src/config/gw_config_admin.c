/*
 * gw_config_admin.c — the admin token's strength, its file, and the
 * fields a running gateway cannot change (gw_config_admin.h).
 *
 * Invariants: no message built here holds a token or a token file's
 * text; a line buffer that held a token is wiped before it is released.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dtx/types.h"
#include "config/gw_config_admin.h"

/* Lower-case, without '-', '_' and '.': what samples and how-tos ship. */
static const char *const s_placeholders[] = {
    "changeme", "changemeplease", "changethis", "changeit", "replaceme", "secret",
    "secrettoken", "mysecret", "supersecret", "password", "password123", "token",
    "admintoken", "admin", "example", "exampletoken", "yourtoken", "yourtokenhere",
    "yoursecrethere", "insertyourtokenhere", "placeholder", "default", "test", "testtoken",
    "please", "here", "your", "my", "the", "gateway", "dtx", "123", "1234", "12345",
    NULL
};

/* 1 when flat[at..] is made only of placeholder words ("changemechangeme",
 * "secretpassword"): a dynamic programme over the positions. */
static int s_words_only(const char *flat, size_t len)
{
    unsigned char ok[DTX_GW_ADMIN_TOKEN_MAX + 2] = { 0 };
    ok[len] = 1;
    for (size_t at = len; at-- > 0;)
        for (int i = 0; !ok[at] && s_placeholders[i]; i++) {
            size_t wl = strlen(s_placeholders[i]);
            ok[at] = wl <= len - at && ok[at + wl] &&
                     memcmp(flat + at, s_placeholders[i], wl) == 0;
        }
    return ok[0];
}

static int s_placeholder(const char *token)
{
    char flat[DTX_GW_ADMIN_TOKEN_MAX + 1];
    size_t n = 0;
    for (const char *p = token; *p && n < sizeof flat - 1; p++)
        if (*p != '-' && *p != '_' && *p != '.')
            flat[n++] = (char)tolower((unsigned char)*p);
    flat[n] = '\0';
    int hit = n > 0 && s_words_only(flat, n);
    dtx_gw_token_wipe(flat, sizeof flat);
    return hit;
}

int dtx_gw_admin_token_check(const char *token, char *why, size_t whylen)
{
    unsigned char seen[128] = { 0 };
    size_t n = 0;
    int distinct = 0;
    for (; token && token[n]; n++) {
        unsigned char ch = (unsigned char)token[n];
        if (ch <= ' ' || ch >= 0x7f) {
            snprintf(why, whylen, "must be printable ASCII without spaces");
            return DTX_EINVAL;
        }
        if (!seen[ch]++)
            distinct++;
    }
    if (n < DTX_GW_ADMIN_TOKEN_MIN || n > DTX_GW_ADMIN_TOKEN_MAX) {
        snprintf(why, whylen, "must be %d-%d characters (e.g. `openssl rand -hex 24`)",
                 DTX_GW_ADMIN_TOKEN_MIN, DTX_GW_ADMIN_TOKEN_MAX);
        return DTX_EINVAL;
    }
    if (distinct < DTX_GW_ADMIN_TOKEN_DISTINCT || s_placeholder(token)) {
        snprintf(why, whylen, "is a placeholder or too simple: use a random one "
                              "(e.g. `openssl rand -hex 24`)");
        return DTX_EINVAL;
    }
    return 0;
}

int dtx_gw_admin_token_load(const char *path, char *out, size_t cap, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return DTX_EIO;
    }
    char line[DTX_GW_ADMIN_TOKEN_MAX + 64];
    int rc = DTX_EINVAL;
    snprintf(err, errlen, "%s: holds no token (one line: the token)", path);
    while (fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        int whole = n > 0 && (line[n - 1] == '\n' || feof(f));
        line[strcspn(line, "\r\n")] = '\0';
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        n = strlen(s);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            s[--n] = '\0';
        if (whole && (!*s || *s == '#'))
            continue;
        char why[128];
        if (!whole || n >= cap)
            snprintf(err, errlen, "%s: the token is longer than %zu characters", path,
                     cap - 1 < DTX_GW_ADMIN_TOKEN_MAX ? cap - 1 : (size_t)DTX_GW_ADMIN_TOKEN_MAX);
        else if (dtx_gw_admin_token_check(s, why, sizeof why) < 0)
            snprintf(err, errlen, "%s: the token %s", path, why);
        else {
            snprintf(out, cap, "%s", s);
            err[0] = '\0';
            rc = 0;
        }
        break;
    }
    if (ferror(f) && rc < 0)
        snprintf(err, errlen, "%s: read error", path);
    dtx_gw_token_wipe(line, sizeof line);
    fclose(f);
    return rc;
}

static int s_differs(const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

const char *dtx_gw_config_restart_field(const dtx_gw_config_t *running,
                                        const dtx_gw_config_t *next)
{
    if (!running || !next)
        return NULL;
    if (s_differs(running->listen, next->listen))
        return "listen";
    if (s_differs(running->admin_listen, next->admin_listen))
        return "admin.listen";
    if (s_differs(running->cluster ? running->cluster->sig : NULL,
                  next->cluster ? next->cluster->sig : NULL))
        return "cluster";
    if (running->server_engine != next->server_engine ||
        running->server_header_timeout_ms != next->server_header_timeout_ms ||
        running->server_body_timeout_ms != next->server_body_timeout_ms ||
        running->server_idle_timeout_ms != next->server_idle_timeout_ms ||
        running->server_send_timeout_ms != next->server_send_timeout_ms ||
        running->server_max_head != next->server_max_head)
        return "server";
    return NULL;
}
