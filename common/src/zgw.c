/*
 * zgw.c — the "DTXGW/1" message of dtx-gateway's zmq pools (dtx/zgw.h):
 * checks and splits frames, nothing else. Every check a decoder makes is
 * one rule of the header's format; a refused message names the rule it
 * broke in *why.
 */
#include <string.h>

#include "dtx/types.h"
#include "dtx/zgw.h"

static int s_fail(const char **why, const char *reason, int rc)
{
    if (why)
        *why = reason;
    return rc;
}

static int s_version_ok(const dtx_zgw_frame_t *f)
{
    return f->len == sizeof DTX_ZGW_VERSION - 1 &&
           memcmp(f->data, DTX_ZGW_VERSION, f->len) == 0;
}

static int s_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

int dtx_zgw_headers_check(const char *p, size_t len, const char **why)
{
    if (len > DTX_ZGW_MAX_HEADERS)
        return s_fail(why, "header block too large", DTX_ETOOBIG);
    size_t i = 0;
    int lines = 0;
    while (i < len) {
        if (++lines > DTX_ZGW_MAX_HEADER_LINES)
            return s_fail(why, "too many header lines", DTX_ETOOBIG);
        size_t n = i;
        while (n < len && s_tchar((unsigned char)p[n]))
            n++;
        if (n == i || n >= len || p[n] != ':')
            return s_fail(why, "malformed header name", DTX_EPROTO);
        size_t v = n + 1;
        while (v < len && p[v] != '\r' && p[v] != '\n' && p[v] != '\0')
            v++;
        if (v + 1 >= len || p[v] != '\r' || p[v + 1] != '\n')
            return s_fail(why, "header line not ended by CRLF", DTX_EPROTO);
        i = v + 2;
    }
    return 0;
}

int dtx_zgw_headers_next(const char *p, size_t len, size_t *pos, dtx_zgw_frame_t *name,
                         dtx_zgw_frame_t *value)
{
    size_t i = *pos;
    if (i >= len)
        return 0;
    const char *colon = memchr(p + i, ':', len - i);
    const char *cr = memchr(p + i, '\r', len - i);
    if (!colon || !cr || cr < colon)
        return 0;                    /* not a checked block */
    name->data = p + i;
    name->len = (size_t)(colon - (p + i));
    const char *v = colon + 1;
    while (v < cr && (*v == ' ' || *v == '\t'))
        v++;
    const char *e = cr;
    while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    value->data = v;
    value->len = (size_t)(e - v);
    *pos = (size_t)(cr - p) + 2;
    return 1;
}

static int s_id(const dtx_zgw_frame_t *f, dtx_zgw_frame_t *id)
{
    if (f->len == 0 || f->len > DTX_ZGW_MAX_ID)
        return 0;
    *id = *f;
    return 1;
}

int dtx_zgw_reply_decode(const dtx_zgw_frame_t *f, int n, size_t max_body,
                         dtx_zgw_reply_t *out, const char **why)
{
    memset(out, 0, sizeof *out);
    if (n >= 3 && !s_id(&f[2], &out->id) && n >= DTX_ZGW_REPLY_FRAMES)
        return s_fail(why, "bad request id (1-64 bytes)", DTX_EPROTO);
    if (n < DTX_ZGW_REPLY_FRAMES)
        return s_fail(why, "too few frames", DTX_EPROTO);
    if (n > DTX_ZGW_REPLY_FRAMES)
        return s_fail(why, "too many frames", DTX_EPROTO);
    if (f[0].len != 0)
        return s_fail(why, "no empty delimiter frame", DTX_EPROTO);
    if (!s_version_ok(&f[1]))
        return s_fail(why, "bad version", DTX_EVERSION);
    const unsigned char *s = (const unsigned char *)f[3].data;
    if (f[3].len != 3 || s[0] < '2' || s[0] > '5' || s[1] < '0' || s[1] > '9' ||
        s[2] < '0' || s[2] > '9')
        return s_fail(why, "bad status (3 digits, 200-599)", DTX_EPROTO);
    out->status = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
    int rc = dtx_zgw_headers_check(f[4].data, f[4].len, why);
    if (rc < 0)
        return rc;
    if (max_body && f[5].len > max_body)
        return s_fail(why, "body too large", DTX_ETOOBIG);
    out->headers = f[4];
    out->body = f[5];
    return 0;
}

int dtx_zgw_request_decode(const dtx_zgw_frame_t *f, int n, dtx_zgw_request_t *out,
                           const char **why)
{
    memset(out, 0, sizeof *out);
    if (n >= 3 && !s_id(&f[2], &out->id) && n >= DTX_ZGW_REQUEST_FRAMES)
        return s_fail(why, "bad request id (1-64 bytes)", DTX_EPROTO);
    if (n < DTX_ZGW_REQUEST_FRAMES)
        return s_fail(why, "too few frames", DTX_EPROTO);
    if (n > DTX_ZGW_REQUEST_FRAMES)
        return s_fail(why, "too many frames", DTX_EPROTO);
    if (f[0].len != 0)
        return s_fail(why, "no empty delimiter frame", DTX_EPROTO);
    if (!s_version_ok(&f[1]))
        return s_fail(why, "bad version", DTX_EVERSION);
    if (f[3].len == 0 || f[3].len > 32)
        return s_fail(why, "bad method", DTX_EPROTO);
    for (size_t i = 0; i < f[3].len; i++)
        if (!s_tchar((unsigned char)f[3].data[i]))
            return s_fail(why, "bad method", DTX_EPROTO);
    if (f[4].len == 0 || f[4].data[0] != '/' || memchr(f[4].data, '?', f[4].len))
        return s_fail(why, "bad path", DTX_EPROTO);
    int rc = dtx_zgw_headers_check(f[7].data, f[7].len, why);
    if (rc < 0)
        return rc;
    out->method = f[3];
    out->path = f[4];
    out->query = f[5];
    out->gid = f[6];
    out->headers = f[7];
    out->body = f[8];
    return 0;
}

void dtx_zgw_request_frames(dtx_zgw_frame_t f[DTX_ZGW_REQUEST_FRAMES], const dtx_zgw_request_t *r)
{
    f[0] = (dtx_zgw_frame_t){ "", 0 };
    f[1] = (dtx_zgw_frame_t){ DTX_ZGW_VERSION, sizeof DTX_ZGW_VERSION - 1 };
    f[2] = r->id;
    f[3] = r->method;
    f[4] = r->path;
    f[5] = r->query;
    f[6] = r->gid;
    f[7] = r->headers;
    f[8] = r->body;
    for (int i = 2; i < DTX_ZGW_REQUEST_FRAMES; i++)
        if (!f[i].data)
            f[i] = (dtx_zgw_frame_t){ "", 0 };
}

int dtx_zgw_status_frame(char buf[3], int status)
{
    if (status < 200 || status > 599)
        return DTX_EINVAL;
    buf[0] = (char)('0' + status / 100);
    buf[1] = (char)('0' + status / 10 % 10);
    buf[2] = (char)('0' + status % 10);
    return 0;
}
