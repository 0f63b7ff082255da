/*
 * gw_framing.c — RFC 9112 message framing and field syntax of a request,
 * checked before any route is looked up, and its target normalised
 * (gw_framing.h).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/gw_http1.h"
#include "core/gw_path.h"
#include "dtx/log.h"
#include "front/gw_framing.h"


typedef struct {
    int         bad_name;      /* a field name that is not a token */
    int         ncl;           /* Content-Length fields */
    int         cl_bad;        /* a Content-Length that is not 1*DIGIT, or two that differ */
    const char *cl;            /* the first Content-Length */
    int         nte;           /* Transfer-Encoding fields */
    int         te_bad;        /* codings other than exactly "chunked" */
    int         te_obsfold;    /* a folded framing field (see s_framing_it) */
} s_framing_t;

static void s_framing_it(const char *key, const char *value, void *cls)
{
    s_framing_t *f = cls;
    const char *v = value ? value : "";
    if (!key || !*key)
        f->bad_name = 1;
    for (const unsigned char *p = (const unsigned char *)key; p && *p; p++)
        if (!dtx_gw_http1_tchar[(unsigned char)*p])
            f->bad_name = 1;
    if (!key || ((*key | 0x20) != 'c' && (*key | 0x20) != 't'))
        return;                          /* not a framing field (the common case) */
    if (strcasecmp(key, "Content-Length") == 0) {
        f->ncl++;
        size_t n = strspn(v, "0123456789");
        if (n == 0 || v[n] != '\0' || n > 18)
            f->cl_bad = 1;
        else if (f->cl && strcmp(f->cl, v) != 0)
            f->cl_bad = 1;
        if (!f->cl)
            f->cl = v;
    } else if (key && (strncasecmp(key, "Transfer-Encoding", 17) == 0 ||
                       strncasecmp(key, "Content-Length", 14) == 0) &&
               strcasecmp(key, "Content-Length") != 0 &&
               strcasecmp(key, "Transfer-Encoding") != 0) {
        /* libmicrohttpd 0.9.75 (the "mhd" engine; the native one
         * refuses every folded line) glues an obs-fold continuation line onto
         * the field's NAME ("Transfer-Encoding: gzip\r\n chunked" arrives
         * as "Transfer-Encodingchunked: gzip"): a framing field folded
         * this way is refused rather than passed on under a new name. A
         * fold of any other field yields a name with ':' or a space, or
         * an unknown name, and never frames anything here. */
        f->te_obsfold = 1;
    } else if (key && strcasecmp(key, "Transfer-Encoding") == 0) {
        f->nte++;
        if (strpbrk(v, "\r\n"))
            f->te_obsfold = 1;
        /* Exactly one coding, "chunked": the only one a gateway in front
         * of JSON services takes (RFC 9112 6.1: chunked not last is 400;
         * a coding not understood would be 501, refused here as 400). */
        size_t a = strspn(v, " \t"), len = strlen(v);
        while (len > a && (v[len - 1] == ' ' || v[len - 1] == '\t'))
            len--;
        if (f->nte > 1 || len - a != 7 || strncasecmp(v + a, "chunked", 7) != 0)
            f->te_bad = 1;
    }
}

/* RFC 9112 framing and field syntax, checked before any route is looked
 * up: what an engine lets through but a gateway must not guess at
 * (it would frame the body one way, the upstream another). */
const char *dtx_gw_framing_refusal(dtx_gw_each_header_fn each_header, void *ctx)
{
    s_framing_t f = { 0 };
    each_header(ctx, s_framing_it, &f);
    if (f.bad_name)
        return "malformed header name";
    if (f.cl_bad)
        return f.ncl > 1 ? "conflicting Content-Length" : "malformed Content-Length";
    if (f.nte && f.ncl)
        return "both Content-Length and Transfer-Encoding";
    if (f.te_obsfold)
        return "folded Transfer-Encoding or Content-Length";
    if (f.te_bad)
        return "unsupported Transfer-Encoding (only chunked)";
    return NULL;
}

const char *dtx_gw_framing_target(const char *path, const char *query, char *room,
                                  size_t room_len, char **out)
{
    size_t cap = 3 * strlen(path) + 2;
    *out = cap <= room_len ? room : malloc(cap);
    if (!*out)
        return "out of memory";
    const char *why = "bad path";
    if (dtx_gw_path_normalize(path, *out, cap, &why) < 0) {
        (*out)[0] = '\0';
        dtx_log_debug("request path refused", "reason=\"%s\" path=\"%s\"", why, DTX_Q(path));
        return why;
    }
    if (dtx_gw_path_query_bad(query))
        return "control byte or space in query";
    return NULL;
}
