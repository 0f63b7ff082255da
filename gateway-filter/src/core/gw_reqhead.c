/*
 * gw_reqhead.c — the HTTP/1.1 request head parser (gw_reqhead.h).
 *
 * One pass over the head, line by line (CRLF or a bare LF ends a line; a
 * CR anywhere else is refused): the request line, then each field, then
 * the framing decided from what the fields said. Nothing is copied: names
 * and values are cut in place with NULs.
 */
#include <string.h>
#include <strings.h>

#include "core/gw_http1.h"
#include "core/gw_reqhead.h"

#define S_MAX_METHOD 32


size_t dtx_gw_reqhead_end(const char *buf, size_t len)
{
    size_t i = 0;
    while (i < len && (buf[i] == '\r' || buf[i] == '\n'))
        i++;                              /* empty lines before the request line */
    if (i == len)
        return 0;
    size_t n = dtx_gw_http1_head_end(buf + i, len - i);
    return n ? i + n : 0;
}

/* The end of the line starting at p (its '\n'), and *le where its content
 * ends (before a CR). NULL when a CR stands elsewhere than before the LF. */
static char *s_line(char *p, char *end, char **le)
{
    char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl)
        return NULL;
    *le = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
    if (memchr(p, '\r', (size_t)(*le - p)))
        return NULL;
    return nl;
}

/* The request line p..le: method SP target SP HTTP/1.x. */
static int s_request_line(dtx_gw_reqhead_t *self, char *p, char *le, const char **why)
{
    char *m = p;
    while (p < le && dtx_gw_http1_tchar[(unsigned char)*p])
        p++;
    if (p == m || p - m > S_MAX_METHOD || p == le || *p != ' ') {
        *why = "malformed method";
        return 400;
    }
    *p++ = '\0';
    self->method = m;
    char *t = p;
    while (p < le && (unsigned char)*p > ' ' && *p != 0x7f)
        p++;
    if (p == t || p == le || *p != ' ') {
        *why = "malformed request target";
        return 400;
    }
    *p++ = '\0';
    self->target = t;
    if (le - p != 8 || memcmp(p, "HTTP/", 5) != 0 || p[6] != '.' || p[5] < '0' || p[5] > '9' ||
        p[7] < '0' || p[7] > '9') {
        *why = "malformed HTTP version";
        return 400;
    }
    if (p[5] != '1') {
        *why = "HTTP version not supported";
        return 505;
    }
    self->minor = p[7] == '0' ? 0 : 1;   /* 1.2 and later are answered as 1.1 */
    return 0;
}

/* What one field says of the framing. */
typedef struct {
    int nhost, close, keep, nte, te_bad, cl_bad;
} s_framing_t;

static void s_framing_field(dtx_gw_reqhead_t *self, s_framing_t *f, const dtx_gw_reqfield_t *fl)
{
    const char *v = fl->value;
    if (fl->name_len == 14 && strcasecmp(fl->name, "Content-Length") == 0) {
        size_t n = strspn(v, "0123456789");
        if (n == 0 || v[n] != '\0' || n > 18) {
            f->cl_bad = 1;
            return;
        }
        int64_t cl = 0;
        for (size_t i = 0; i < n; i++)
            cl = cl * 10 + (v[i] - '0');
        if (self->content_length >= 0 && self->content_length != cl)
            f->cl_bad = 1;
        self->content_length = cl;
    } else if (fl->name_len == 17 && strcasecmp(fl->name, "Transfer-Encoding") == 0) {
        f->nte++;
        if (strcasecmp(v, "chunked") != 0)
            f->te_bad = 1;
    } else if (fl->name_len == 4 && strcasecmp(fl->name, "Host") == 0) {
        f->nhost++;
    } else if (fl->name_len == 10 && strcasecmp(fl->name, "Connection") == 0) {
        f->close |= dtx_gw_http1_has_token(v, "close");
        f->keep |= dtx_gw_http1_has_token(v, "keep-alive");
    } else if (fl->name_len == 6 && strcasecmp(fl->name, "Expect") == 0) {
        self->expect_continue = strcasecmp(v, "100-continue") == 0;
    }
}

/* One field line p..le into self->fields. */
static int s_field(dtx_gw_reqhead_t *self, char *p, char *le, const char **why)
{
    if (*p == ' ' || *p == '\t') {
        *why = "folded header line";
        return 400;
    }
    char *colon = p;
    while (colon < le && dtx_gw_http1_tchar[(unsigned char)*colon])
        colon++;
    if (colon == p || colon == le || *colon != ':') {
        *why = "malformed header name";
        return 400;
    }
    if (self->nfields == DTX_GW_REQHEAD_MAX_FIELDS) {
        *why = "too many header fields";
        return 431;
    }
    *colon = '\0';
    char *v = colon + 1;
    while (v < le && (*v == ' ' || *v == '\t'))
        v++;
    char *ve = le;
    while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
        ve--;
    for (const char *q = v; q < ve; q++)
        if (((unsigned char)*q < ' ' && *q != '\t') || *q == 0x7f) {
            *why = "control byte in a header value";
            return 400;
        }
    *ve = '\0';
    dtx_gw_reqfield_t *f = &self->fields[self->nfields++];
    f->name = p;
    f->name_len = (size_t)(colon - p);
    f->value = v;
    return 0;
}

int dtx_gw_reqhead_parse(dtx_gw_reqhead_t *self, char *buf, size_t len, const char **why)
{
    self->method = NULL;
    self->target = NULL;
    self->minor = 1;
    self->keep_alive = 0;
    self->expect_continue = 0;
    self->body = DTX_GW_REQBODY_NONE;
    self->content_length = -1;
    self->nfields = 0;
    *why = NULL;
    char *p = buf, *end = buf + len, *le;
    while (p < end && (*p == '\r' || *p == '\n'))
        p++;
    if (memchr(p, '\0', (size_t)(end - p))) {
        *why = "NUL byte in the head";
        return 400;
    }
    char *nl = s_line(p, end, &le);
    if (!nl) {
        *why = "malformed request line";
        return 400;
    }
    int st = s_request_line(self, p, le, why);
    if (st)
        return st;
    s_framing_t f = { 0 };
    for (p = nl + 1;; p = nl + 1) {
        nl = s_line(p, end, &le);
        if (!nl) {
            *why = "malformed header line";
            return 400;
        }
        if (le == p)
            break;                        /* the blank line */
        if ((st = s_field(self, p, le, why)) != 0)
            return st;
        s_framing_field(self, &f, &self->fields[self->nfields - 1]);
    }
    if (self->minor >= 1 && f.nhost != 1) {
        *why = f.nhost ? "more than one Host" : "no Host on an HTTP/1.1 request";
        return 400;
    }
    if (f.nhost > 1) {
        *why = "more than one Host";
        return 400;
    }
    self->keep_alive = self->minor >= 1 ? !f.close : (f.keep && !f.close);
    if (self->minor == 0)
        self->expect_continue = 0;
    if (f.cl_bad || f.te_bad || f.nte > 1 || (f.nte && self->content_length >= 0)) {
        self->body = DTX_GW_REQBODY_BAD;  /* the framing check answers 400 */
        self->keep_alive = 0;
        self->content_length = -1;
    } else if (f.nte) {
        self->body = DTX_GW_REQBODY_CHUNKED;
        if (self->minor == 0)
            self->keep_alive = 0;         /* RFC 9112 6.1: faulty framing on 1.0, close after */
    } else if (self->content_length > 0) {
        self->body = DTX_GW_REQBODY_LENGTH;
    }
    return 0;
}

const char *dtx_gw_reqhead_field(const dtx_gw_reqhead_t *self, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < self->nfields; i++)
        if (self->fields[i].name_len == n && strcasecmp(self->fields[i].name, name) == 0)
            return self->fields[i].value;
    return NULL;
}
