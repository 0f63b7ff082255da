/* admin_host.c — the Host header allow-list; see admin_host.h. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "admin_host.h"

/* Copies the host part of a Host header (brackets kept for IPv6) into out;
 * 0, or -1 when it is malformed or too long. */
static int s_host_part(const char *h, char *out, size_t cap)
{
    size_t n;
    if (h[0] == '[') {
        const char *close = strchr(h, ']');
        if (!close)
            return -1;
        n = (size_t)(close - h) + 1;
        if (close[1] && close[1] != ':')
            return -1;
    } else {
        n = strcspn(h, ":");
        if (h[n] && strchr(h + n + 1, ':'))
            return -1; /* an IPv6 address must be in brackets */
    }
    if (n == 0 || n >= cap)
        return -1;
    memcpy(out, h, n);
    out[n] = '\0';
    return 0;
}

/* 1 when name (len bytes, an allow-list entry) names host. */
static int s_same(const char *name, size_t len, const char *host)
{
    while (len && (*name == ' ' || *name == '\t')) {
        name++;
        len--;
    }
    while (len && (name[len - 1] == ' ' || name[len - 1] == '\t'))
        len--;
    if (len == 0)
        return 0;
    if (len == 1 && name[0] == '*')
        return 1;
    size_t hl = strlen(host);
    if (host[0] == '[' && name[0] != '[') /* a bare IPv6 entry */
        return hl == len + 2 && strncasecmp(host + 1, name, len) == 0;
    return hl == len && strncasecmp(host, name, len) == 0;
}

int dtx_admin_host_ok(const char *allow_list, const char *listen, const char *host_header)
{
    if (!host_header)
        return 1;
    char host[256];
    if (s_host_part(host_header, host, sizeof host) != 0)
        return 0;
    static const char *const s_always[] = { "localhost", "127.0.0.1", "[::1]" };
    for (size_t i = 0; i < sizeof s_always / sizeof s_always[0]; i++)
        if (strcasecmp(host, s_always[i]) == 0)
            return 1;
    if (listen && listen[0]) {
        const char *colon = strrchr(listen, ':');
        if (colon && colon > listen && s_same(listen, (size_t)(colon - listen), host))
            return 1;
    }
    for (const char *p = allow_list; p && *p;) {
        size_t n = strcspn(p, ",");
        if (s_same(p, n, host))
            return 1;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}
