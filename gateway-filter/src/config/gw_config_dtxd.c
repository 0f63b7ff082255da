/*
 * gw_config_dtxd.c — the "dtxd" section of the configuration: where the
 * coordinator takes transactions (endpoint, for transactional routes) and
 * where its admin API answers (admin, for the dtxd_inflight signal of
 * adaptive rules), with the check that ties such rules to it, and the
 * checks of the admin token (dtxd.admin_token, --dtxd-token, a token
 * file). Defaults and meanings are in docs/gateway.md.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dtx/types.h"
#include "config/gw_config_json.h"

/* "http://X" or "https://X": a scheme, then a host (and port) with no
 * path, query, fragment or white space; one trailing '/' is trimmed. */
static int s_admin_url_ok(char *url)
{
    size_t skip = strncmp(url, "http://", 7) == 0    ? 7
                  : strncmp(url, "https://", 8) == 0 ? 8
                                                     : 0;
    size_t len = strlen(url);
    if (skip && len > skip && url[len - 1] == '/')
        url[--len] = '\0';
    if (!skip || len == skip || len > 1000)
        return 0;
    for (const char *p = url + skip; *p; p++)
        if (*p == '/' || *p == '?' || *p == '#' || *p == '@' || (unsigned char)*p <= ' ')
            return 0;
    return 1;
}

int dtx_gw_cfg_dtxd(dtx_gw_cfg_ctx_t *c, json_object *root, dtx_gw_config_t *cfg)
{
    static const char *const keys[] = { "endpoint", "timeout_ms", "admin", "admin_token",
                                        "admin_cacert", "poll_ms", "stale_ms", NULL };
    json_object *o;
    cfg->dtxd_timeout_ms = 5000;
    cfg->dtxd_poll_ms = DTX_GW_DTXD_POLL_MS_DEFAULT;
    cfg->dtxd_stale_ms = DTX_GW_DTXD_STALE_MS_FLOOR;
    if (!json_object_object_get_ex(root, "dtxd", &o))
        return 0;
    if (dtx_gw_cfg_object(c, o, "dtxd") < 0 || dtx_gw_cfg_only(c, o, "dtxd", keys) < 0 ||
        dtx_gw_cfg_str(c, o, "dtxd", "endpoint", 0, NULL, &cfg->dtxd_endpoint) < 0 ||
        dtx_gw_cfg_int(c, o, "dtxd", "timeout_ms", 1, 600000, 5000, &cfg->dtxd_timeout_ms) < 0 ||
        dtx_gw_cfg_str(c, o, "dtxd", "admin", 0, NULL, &cfg->dtxd_admin) < 0 ||
        dtx_gw_cfg_str(c, o, "dtxd", "admin_token", 0, NULL, &cfg->dtxd_admin_token) < 0 ||
        dtx_gw_cfg_str(c, o, "dtxd", "admin_cacert", 0, NULL, &cfg->dtxd_admin_cacert) < 0 ||
        dtx_gw_cfg_int(c, o, "dtxd", "poll_ms", 10, 600000, DTX_GW_DTXD_POLL_MS_DEFAULT,
                       &cfg->dtxd_poll_ms) < 0)
        return DTX_ECONFIG;
    if (!cfg->dtxd_endpoint && !cfg->dtxd_admin)
        return dtx_gw_cfg_fail(c, "dtxd", "needs endpoint (transactional routes) or admin "
                                          "(the dtxd_inflight signal), or both");
    if (cfg->dtxd_endpoint && !*cfg->dtxd_endpoint)
        return dtx_gw_cfg_fail(c, "dtxd.endpoint", "must not be empty");
    if (cfg->dtxd_admin && !s_admin_url_ok(cfg->dtxd_admin))
        return dtx_gw_cfg_fail(c, "dtxd.admin", "must be http://HOST:PORT or https://HOST:PORT "
                                                "(dtxd's --http-listen address, no path)");
    if (cfg->dtxd_admin_token && !dtx_gw_dtxd_token_ok(cfg->dtxd_admin_token))
        return dtx_gw_cfg_fail(c, "dtxd.admin_token", "must be 1-%d printable characters "
                                                      "without spaces", DTX_GW_DTXD_TOKEN_MAX);
    if (cfg->dtxd_admin_cacert && !*cfg->dtxd_admin_cacert)
        return dtx_gw_cfg_fail(c, "dtxd.admin_cacert", "must not be empty");
    int64_t stale_default = cfg->dtxd_poll_ms * 4;
    if (stale_default < DTX_GW_DTXD_STALE_MS_FLOOR)
        stale_default = DTX_GW_DTXD_STALE_MS_FLOOR;
    if (dtx_gw_cfg_int(c, o, "dtxd", "stale_ms", 20, 86400000, stale_default,
                       &cfg->dtxd_stale_ms) < 0)
        return DTX_ECONFIG;
    if (cfg->dtxd_stale_ms <= cfg->dtxd_poll_ms)
        return dtx_gw_cfg_fail(c, "dtxd.stale_ms", "must be greater than poll_ms (%lld): "
                                                   "every reading would be stale before the next",
                               (long long)cfg->dtxd_poll_ms);
    return 0;
}

int dtx_gw_cfg_dtxd_check(dtx_gw_cfg_ctx_t *c, const dtx_gw_config_t *cfg)
{
    char p[64];
    for (int i = 0; i < cfg->nrules; i++) {
        const dtx_gw_rule_cfg_t *r = &cfg->rules[i];
        if (r->kind != DTX_GW_RULE_ADAPTIVE || r->signal != DTX_GW_SIGNAL_DTXD_INFLIGHT ||
            cfg->dtxd_admin)
            continue;
        snprintf(p, sizeof p, "rules[%d].signal", i);
        return dtx_gw_cfg_fail(c, p, "\"dtxd_inflight\" needs dtxd.admin, the URL of dtxd's "
                                     "admin API (e.g. \"http://127.0.0.1:7080\")");
    }
    return 0;
}

int dtx_gw_config_uses_dtxd_inflight(const dtx_gw_config_t *self)
{
    for (int i = 0; self && i < self->nrules; i++)
        if (self->rules[i].kind == DTX_GW_RULE_ADAPTIVE &&
            self->rules[i].signal == DTX_GW_SIGNAL_DTXD_INFLIGHT)
            return 1;
    return 0;
}

/* ---------------- the admin token ---------------- */

void dtx_gw_token_wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

int dtx_gw_dtxd_token_ok(const char *token)
{
    size_t n = 0;
    for (; token && token[n]; n++)
        if ((unsigned char)token[n] <= ' ' || (unsigned char)token[n] >= 0x7f)
            return 0;
    return n > 0 && n <= DTX_GW_DTXD_TOKEN_MAX;
}

int dtx_gw_dtxd_token_load(const char *path, char *out, size_t cap, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return DTX_EIO;
    }
    char line[1024];
    int rc = DTX_EINVAL;
    snprintf(err, errlen, "%s: holds no token (one line: the token, or name:token)", path);
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            s[--n] = '\0';
        if (!*s || *s == '#')
            continue;
        const char *tok = strchr(s, ':') ? strchr(s, ':') + 1 : s;
        if (*tok && strlen(tok) >= cap)
            snprintf(err, errlen, "%s: the token is longer than %zu characters", path, cap - 1);
        else if (*tok && !dtx_gw_dtxd_token_ok(tok))
            snprintf(err, errlen, "%s: the token must be 1-%d printable characters without "
                                  "spaces", path, DTX_GW_DTXD_TOKEN_MAX);
        else if (*tok) {
            snprintf(out, cap, "%s", tok);
            err[0] = '\0';
            rc = 0;
        }
        break;
    }
    dtx_gw_token_wipe(line, sizeof line);
    fclose(f);
    return rc;
}
