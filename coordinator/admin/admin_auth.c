/* admin_auth.c — token file parsing and constant-time checks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "admin_auth.h"
#include "dtx/log.h"

typedef struct s_token {
    char   name[64];
    char   secret[DTX_ADMIN_TOKEN_MAX + 1];
    size_t len;
} s_token_t;

struct dtx_admin_tokens {
    s_token_t *v;
    int        n;
};

static void s_wipe(void *p, size_t n)
{
    volatile unsigned char *q = p;
    while (n--)
        *q++ = 0;
}

int dtx_admin_ct_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    unsigned diff = (unsigned)(alen != blen);
    if (blen == 0)
        return 0;
    for (size_t i = 0; i < alen; i++)
        diff |= (unsigned)((unsigned char)a[i] ^ (unsigned char)b[i % blen]);
    return diff == 0;
}

static int s_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == '@'))
            return 0;
    }
    return 1;
}

static int s_secret_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~')
            return 0;
    return 1;
}

void dtx_admin_tokens_destroy(dtx_admin_tokens_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_admin_tokens_t *self = *self_p;
    if (self->v) {
        s_wipe(self->v, (size_t)self->n * sizeof *self->v);
        free(self->v);
    }
    free(self);
    *self_p = NULL;
}

dtx_admin_tokens_t *dtx_admin_tokens_parse(const char *text, char *err, size_t errlen)
{
    dtx_admin_tokens_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    int lineno = 0;
    for (const char *p = text; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        const char *next = eol ? eol + 1 : p + n;
        lineno++;
        while (n && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        while (n && (*p == ' ' || *p == '\t')) {
            p++;
            n--;
        }
        if (n == 0 || *p == '#') {
            p = next;
            continue;
        }
        const char *colon = memchr(p, ':', n);
        if (!colon) {
            snprintf(err, errlen, "line %d: expected name:token", lineno);
            goto err;
        }
        size_t nlen = (size_t)(colon - p), slen = n - nlen - 1;
        if (!s_name_ok(p, nlen)) {
            snprintf(err, errlen, "line %d: the name must be 1..63 characters of [A-Za-z0-9._@-]",
                     lineno);
            goto err;
        }
        if (slen < DTX_ADMIN_TOKEN_MIN || slen > DTX_ADMIN_TOKEN_MAX ||
            !s_secret_ok(colon + 1, slen)) {
            snprintf(err, errlen,
                     "line %d: the token must be %d..%d printable characters without spaces",
                     lineno, DTX_ADMIN_TOKEN_MIN, DTX_ADMIN_TOKEN_MAX);
            goto err;
        }
        for (int i = 0; i < self->n; i++)
            if (strlen(self->v[i].name) == nlen && memcmp(self->v[i].name, p, nlen) == 0) {
                snprintf(err, errlen, "line %d: name %.*s appears twice", lineno, (int)nlen, p);
                goto err;
            }
        s_token_t *v = realloc(self->v, (size_t)(self->n + 1) * sizeof *v);
        if (!v) {
            snprintf(err, errlen, "out of memory");
            goto err;
        }
        self->v = v;
        s_token_t *t = &self->v[self->n++];
        memset(t, 0, sizeof *t);
        memcpy(t->name, p, nlen);
        memcpy(t->secret, colon + 1, slen);
        t->len = slen;
        p = next;
    }
    return self;
err:
    dtx_admin_tokens_destroy(&self);
    return NULL;
}

dtx_admin_tokens_t *dtx_admin_tokens_load(const char *path, char *err, size_t errlen)
{
    if (!path || !path[0])
        return dtx_admin_tokens_parse("", err, errlen);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
        dtx_log_warn("admin token file is readable by group or others; chmod 600 it",
                     "path=%s", path);
    char buf[64 * 1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    int toolong = !feof(f);
    fclose(f);
    buf[n] = '\0';
    dtx_admin_tokens_t *self = NULL;
    if (toolong)
        snprintf(err, errlen, "%s: larger than 64 KiB", path);
    else
        self = dtx_admin_tokens_parse(buf, err, errlen);
    s_wipe(buf, sizeof buf);
    return self;
}

int dtx_admin_tokens_count(const dtx_admin_tokens_t *self)
{
    return self ? self->n : 0;
}

const char *dtx_admin_tokens_check(const dtx_admin_tokens_t *self, const char *authorization)
{
    if (!self || !authorization)
        return NULL;
    while (*authorization == ' ')
        authorization++;
    if (strncasecmp(authorization, "Bearer ", 7) != 0)
        return NULL;
    const char *tok = authorization + 7;
    while (*tok == ' ')
        tok++;
    size_t len = strlen(tok);
    while (len && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
        len--;
    if (len == 0 || len > DTX_ADMIN_TOKEN_MAX)
        return NULL;
    const char *found = NULL;
    /* Every token is compared, whatever matched before. */
    for (int i = 0; i < self->n; i++)
        if (dtx_admin_ct_equal(tok, len, self->v[i].secret, self->v[i].len) && !found)
            found = self->v[i].name;
    return found;
}
