/*
 * gw_vars.c — header template variables (gw_vars.h). Pure: reads the
 * request, writes a buffer.
 */
#include <stdio.h>
#include <string.h>

#include "dtx/types.h"
#include "core/gw_vars.h"

static size_t s_name_len(const char *p)
{
    size_t n = 0;
    while ((p[n] >= 'a' && p[n] <= 'z') || p[n] == '_')
        n++;
    return n;
}

static const char *s_value(const char *name, size_t n, const dtx_gw_req_t *req)
{
    if (n == 8 && strncmp(name, "consumer", 8) == 0)
        return req ? req->consumer : "";
    if (n == 10 && strncmp(name, "request_id", 10) == 0)
        return req ? req->request_id : "";
    if (n == 11 && strncmp(name, "remote_addr", 11) == 0)
        return req && req->client_ip ? req->client_ip : "";
    if (n == 3 && strncmp(name, "gid", 3) == 0)
        return req && req->txn_state == 1 ? req->gid : "";
    return NULL;
}

int dtx_gw_vars_check(const char *tmpl, char *bad, size_t cap)
{
    for (const char *p = tmpl; *p; p++) {
        if (*p != '$')
            continue;
        if (p[1] == '$') {
            p++;
            continue;
        }
        size_t n = s_name_len(p + 1);
        if (!s_value(p + 1, n, NULL)) {
            snprintf(bad, cap, "$%.*s", (int)(n ? n : 0), p + 1);
            return DTX_EINVAL;
        }
        p += n;
    }
    return 0;
}

int dtx_gw_vars_expand(const char *tmpl, const dtx_gw_req_t *req, char *out, size_t cap)
{
    size_t o = 0;
    int cut = 0;
    for (const char *p = tmpl; *p; p++) {
        const char *v = NULL;
        size_t vl = 1;
        if (*p == '$' && p[1] == '$') {
            v = "$";
            p++;
        } else if (*p == '$') {
            size_t n = s_name_len(p + 1);
            v = s_value(p + 1, n, req);
            if (!v)
                v = "";
            p += n;
            vl = strlen(v);
        } else {
            v = p;
        }
        if (o + vl >= cap) {
            cut = 1;
            break;
        }
        memcpy(out + o, v, vl);
        o += vl;
    }
    out[o] = '\0';
    return cut || strpbrk(out, "\r\n") ? -1 : 0;
}
