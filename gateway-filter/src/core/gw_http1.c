/*
 * gw_http1.c — HTTP/1.1 response parsing and body decoding (gw_http1.h).
 *
 * Chunked decoding is a byte state machine:
 *
 *   SIZE ─(hex)─▶ SIZE ─(';' ' ')─▶ EXT ─(LF)─┐
 *     │ (CR)─▶ SIZE_LF ─(LF)──────────────────┤ size > 0 ─▶ DATA ─▶ DATA_CR ─▶ DATA_LF ─▶ SIZE
 *     │                                       └ size = 0 ─▶ TRAILER ◀─▶ TRAILER_LINE
 *     │                                                      └ (CR LF | LF) ─▶ done
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dtx/hex.h"
#include "dtx/types.h"
#include "core/gw_http1.h"

enum { S_SIZE, S_EXT, S_SIZE_LF, S_DATA, S_DATA_CR, S_DATA_LF, S_TRAILER, S_TRAILER_LINE,
       S_TRAILER_LF };

#define S_MAX_CHUNK ((uint64_t)1 << 60)

size_t dtx_gw_http1_head_end(const char *buf, size_t len)
{
    const char *end = buf + len;
    for (const char *p = buf; (p = memchr(p, '\n', (size_t)(end - p))); p++) {
        if (p + 1 < end && p[1] == '\n')
            return (size_t)(p + 2 - buf);
        if (p + 2 < end && p[1] == '\r' && p[2] == '\n')
            return (size_t)(p + 3 - buf);
    }
    return 0;
}

int dtx_gw_http1_has_token(const char *list, const char *token)
{
    size_t n = strlen(token);
    for (const char *p = list; *p;) {
        p += strspn(p, " \t,");
        size_t k = strcspn(p, ",");
        size_t e = k;
        while (e > 0 && (p[e - 1] == ' ' || p[e - 1] == '\t'))
            e--;
        if (e == n && strncasecmp(p, token, n) == 0)
            return 1;
        p += k;
    }
    return 0;
}

/* Is the last transfer coding of the list "chunked"? */
static int s_ends_chunked(const char *list)
{
    const char *last = strrchr(list, ',');
    last = last ? last + 1 : list;
    last += strspn(last, " \t");
    size_t e = strlen(last);
    while (e > 0 && (last[e - 1] == ' ' || last[e - 1] == '\t'))
        e--;
    return e == 7 && strncasecmp(last, "chunked", 7) == 0;
}

#define S_T10(c) [c] = 1, [c + 1] = 1, [c + 2] = 1, [c + 3] = 1, [c + 4] = 1, \
                 [c + 5] = 1, [c + 6] = 1, [c + 7] = 1, [c + 8] = 1, [c + 9] = 1
const unsigned char dtx_gw_http1_tchar[256] = {
    S_T10('0'), S_T10('a'), S_T10('k'), [ 'u' ] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1, S_T10('A'), S_T10('K'), ['U'] = 1, ['V'] = 1, ['W'] = 1,
    ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1,
    ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1,
    ['_'] = 1, ['`'] = 1, ['|'] = 1, ['~'] = 1,
};
#undef S_T10

int dtx_gw_http1_parse_head(dtx_gw_http1_resp_t *self, char *buf, size_t len, int head_request,
                            dtx_gw_http1_header_fn on_header, void *arg)
{
    memset(self, 0, sizeof *self);
    self->content_length = -1;
    char *end = buf + len, *p = buf;
    /* status line: HTTP/1.x SP 3DIGIT [SP reason] */
    if (len < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' || p[7] > '9' || p[8] != ' ')
        return DTX_EPROTO;
    self->minor = p[7] - '0';
    p += 9;
    if (p[0] < '1' || p[0] > '9' || p[1] < '0' || p[1] > '9' || p[2] < '0' || p[2] > '9')
        return DTX_EPROTO;
    self->status = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    p += 3;
    if (*p != ' ' && *p != '\r' && *p != '\n')
        return DTX_EPROTO;
    char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl)
        return DTX_EPROTO;
    p = nl + 1;
    int close = 0, keep = 0, chunked = 0, te = 0;
    for (;;) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return DTX_EPROTO;
        char *le = nl;
        if (le > p && le[-1] == '\r')
            le--;
        if (le == p)
            break;                      /* the blank line */
        if (*p == ' ' || *p == '\t')
            return DTX_EPROTO;                  /* obsolete line folding */
        char *colon = p;
        while (colon < le && dtx_gw_http1_tchar[(unsigned char)*colon])
            colon++;
        if (colon == p || colon == le || *colon != ':')
            return DTX_EPROTO;                  /* empty name, bad byte, space before the colon */
        *colon = '\0';
        size_t name_len = (size_t)(colon - p);
        char *v = colon + 1;
        while (v < le && (*v == ' ' || *v == '\t'))
            v++;
        char *ve = le;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        *ve = '\0';
        /* The name is all token bytes (no CR); a NUL in the value is
         * refused. */
        if (memchr(v, '\0', (size_t)(ve - v)))
            return DTX_EPROTO;
        if (dtx_gw_http1_name_is(p, name_len, "Content-Length")) {
            if (*v < '0' || *v > '9')
                return DTX_EPROTO;
            int64_t n = 0;                  /* by hand: strtoll took a hundred instructions */
            for (const char *d = v; *d; d++) {
                if (*d < '0' || *d > '9' || n > (INT64_MAX - (*d - '0')) / 10)
                    return DTX_EPROTO;  /* not a number, beyond int64 */
                n = n * 10 + (*d - '0');
            }
            if (self->content_length >= 0 && self->content_length != n)
                return DTX_EPROTO;      /* two that differ */
            self->content_length = n;
        } else if (dtx_gw_http1_name_is(p, name_len, "Transfer-Encoding")) {
            /* Only "chunked", alone and once: the gateway decodes no other
             * transfer coding (gzip, deflate), and relaying such a body
             * without its coding would hand the client other bytes than
             * the upstream meant. The answer is refused (502). */
            if (te || !s_ends_chunked(v) || strchr(v, ','))
                return DTX_EPROTO;
            te = 1;
            chunked = 1;
        } else if (dtx_gw_http1_name_is(p, name_len, "Connection")) {
            close |= dtx_gw_http1_has_token(v, "close");
            keep |= dtx_gw_http1_has_token(v, "keep-alive");
        }
        /* A bare CR becomes a space (RFC 9112 section 2.2) once the
         * framing fields were read as they came (a CR there refuses the
         * answer, as before), so the value can be relayed without another
         * scan. */
        for (char *cr = v; (cr = memchr(cr, '\r', (size_t)(ve - cr))); cr++)
            *cr = ' ';
        if (on_header)
            on_header(p, name_len, v, (size_t)(ve - v), arg);
        p = nl + 1;
    }
    self->keep_alive = !close && (self->minor >= 1 || keep);
    if (head_request || self->status < 200 || self->status == 204 || self->status == 304) {
        self->body = DTX_GW_BODY_NONE;
    } else if (te) {
        /* Transfer-Encoding wins over Content-Length; the connection is
         * not trusted after such an answer. */
        if (self->content_length >= 0)
            self->keep_alive = 0;
        self->content_length = -1;
        self->body = chunked ? DTX_GW_BODY_CHUNKED : DTX_GW_BODY_CLOSE;
        if (!chunked)
            self->keep_alive = 0;
    } else if (self->content_length >= 0) {
        self->body = self->content_length ? DTX_GW_BODY_LENGTH : DTX_GW_BODY_NONE;
        self->left = (uint64_t)self->content_length;
    } else {
        self->body = DTX_GW_BODY_CLOSE;
        self->keep_alive = 0;
    }
    self->done = self->body == DTX_GW_BODY_NONE;
    self->cstate = S_SIZE;
    return 0;
}

/* The chunk size line ended. */
static void s_size_done(dtx_gw_http1_resp_t *self)
{
    self->cstate = self->left ? S_DATA : S_TRAILER;
}

static int s_chunked(dtx_gw_http1_resp_t *self, const char *in, size_t len, size_t *used,
                     const char **data, size_t *data_len)
{
    size_t i = 0;
    while (i < len && !self->done) {
        char c = in[i];
        switch (self->cstate) {
        case S_SIZE: {
            int h = dtx_hex_digit(c);
            if (h >= 0) {
                if (self->left >= S_MAX_CHUNK)
                    return DTX_EPROTO;
                self->left = self->left * 16 + (uint64_t)h;
                self->digits++;
            } else if (!self->digits) {
                return DTX_EPROTO;
            } else if (c == ';' || c == ' ' || c == '\t') {
                self->cstate = S_EXT;
            } else if (c == '\r') {
                self->cstate = S_SIZE_LF;
            } else if (c == '\n') {
                s_size_done(self);
            } else {
                return DTX_EPROTO;
            }
            i++;
            break;
        }
        case S_EXT:
            if (c == '\n')
                s_size_done(self);
            i++;
            break;
        case S_SIZE_LF:
            if (c != '\n')
                return DTX_EPROTO;
            s_size_done(self);
            i++;
            break;
        case S_DATA: {
            size_t n = len - i;
            if ((uint64_t)n > self->left)
                n = (size_t)self->left;
            *data = in + i;
            *data_len = n;
            self->left -= n;
            if (!self->left)
                self->cstate = S_DATA_CR;
            *used = i + n;
            return 0;
        }
        case S_DATA_CR:
            if (c == '\r')
                self->cstate = S_DATA_LF;
            else if (c == '\n')
                self->cstate = S_SIZE, self->digits = 0;
            else
                return DTX_EPROTO;
            i++;
            break;
        case S_DATA_LF:
            if (c != '\n')
                return DTX_EPROTO;
            self->cstate = S_SIZE;
            self->digits = 0;
            i++;
            break;
        case S_TRAILER:
            if (c == '\r')
                self->cstate = S_TRAILER_LF;
            else if (c == '\n')
                self->done = 1;
            else
                self->cstate = S_TRAILER_LINE;
            i++;
            break;
        case S_TRAILER_LINE:
            if (c == '\n')
                self->cstate = S_TRAILER;
            i++;
            break;
        case S_TRAILER_LF:
            if (c != '\n')
                return DTX_EPROTO;
            self->done = 1;
            i++;
            break;
        default:
            return DTX_EPROTO;
        }
    }
    *used = i;
    return 0;
}

int dtx_gw_http1_body(dtx_gw_http1_resp_t *self, const char *in, size_t len, size_t *used,
                      const char **data, size_t *data_len)
{
    *data = in;
    *data_len = 0;
    *used = 0;
    if (self->done)
        return 0;
    switch (self->body) {
    case DTX_GW_BODY_LENGTH: {
        size_t n = (uint64_t)len > self->left ? (size_t)self->left : len;
        *data_len = n;
        *used = n;
        self->left -= n;
        self->done = self->left == 0;
        return 0;
    }
    case DTX_GW_BODY_CLOSE:
        *data_len = len;
        *used = len;
        return 0;
    case DTX_GW_BODY_CHUNKED:
        return s_chunked(self, in, len, used, data, data_len);
    default:
        return 0;
    }
}

int dtx_gw_http1_at_eof(const dtx_gw_http1_resp_t *self)
{
    return self->done || self->body == DTX_GW_BODY_CLOSE;
}

/* Room for n more bytes and a NUL: 0, or DTX_ENOMEM (and failed). */
/* s_buf_room's way out: a failed buffer, or one to grow. */
static __attribute__((noinline, cold)) int s_buf_room_slow(dtx_gw_buf_t *self, size_t n)
{
    if (self->failed)
        return DTX_ENOMEM;
    size_t cap = self->cap ? self->cap : 1024;
    while (cap < self->len + n + 1)
        cap *= 2;
    char *d = realloc(self->data, cap);
    if (!d) {
        self->failed = 1;
        return DTX_ENOMEM;
    }
    self->data = d;
    self->cap = cap;
    return 0;
}

/* Room for n more bytes and a NUL: 0, or DTX_ENOMEM. The test that
 * passes (a buffer kept from the last request has room) is inlined into
 * every append, a dozen a request, where a call cost thirty instructions;
 * a failed buffer may still have room, so failed is tested too. */
static inline int s_buf_room(dtx_gw_buf_t *self, size_t n)
{
    if (__builtin_expect(!self->failed && self->len + n + 1 <= self->cap, 1))
        return 0;
    return s_buf_room_slow(self, n);
}

int dtx_gw_buf_add(dtx_gw_buf_t *self, const void *bytes, size_t n)
{
    if (s_buf_room(self, n) < 0)
        return DTX_ENOMEM;
    memcpy(self->data + self->len, bytes, n);
    self->len += n;
    self->data[self->len] = '\0';
    return 0;
}

char *dtx_gw_buf_grow(dtx_gw_buf_t *self, size_t n)
{
    if (s_buf_room(self, n) < 0)
        return NULL;
    char *p = self->data + self->len;
    self->len += n;
    self->data[self->len] = '\0';
    return p;
}

int dtx_gw_buf_str(dtx_gw_buf_t *self, const char *s)
{
    return dtx_gw_buf_add(self, s, strlen(s));
}

int dtx_gw_buf_field(dtx_gw_buf_t *self, const char *name, size_t name_len,
                     const char *value, size_t value_len)
{
    if (s_buf_room(self, name_len + value_len + 4) < 0)
        return DTX_ENOMEM;
    char *p = self->data + self->len;
    memcpy(p, name, name_len);
    p += name_len;
    *p++ = ':';
    *p++ = ' ';
    memcpy(p, value, value_len);
    p += value_len;
    *p++ = '\r';
    *p++ = '\n';
    *p = '\0';
    self->len = (size_t)(p - self->data);
    return 0;
}

int dtx_gw_buf_printf(dtx_gw_buf_t *self, const char *fmt, ...)
{
    if (self->failed)
        return DTX_ENOMEM;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        self->failed = 1;
        return DTX_EINVAL;
    }
    if (s_buf_room(self, (size_t)n) < 0)
        return DTX_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(self->data + self->len, self->cap - self->len, fmt, ap);
    va_end(ap);
    self->len += (size_t)n;
    return 0;
}

void dtx_gw_buf_free(dtx_gw_buf_t *self)
{
    free(self->data);
    self->data = NULL;
    self->len = self->cap = 0;
    self->failed = 0;
}
