/*
 * gw_targets_file.c — target sets and the target file format
 * (gw_targets_file.h): one target a line, `host:port [weight] [zone]`,
 * the way systems feed nginx upstreams. A file with one bad line is
 * refused whole: the caller keeps its last good set.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/types.h"
#include "config/gw_targets_file.h"

void dtx_gw_target_set_free(dtx_gw_target_set_t *self)
{
    for (int i = 0; self->v && i < self->n; i++) {
        free(self->v[i].url);
        free(self->v[i].zone);
    }
    free(self->v);
    self->v = NULL;
    self->n = 0;
}

int dtx_gw_target_set_add(dtx_gw_target_set_t *self, const char *url, int weight,
                          const char *zone, const dtx_gw_addr_t *addr)
{
    dtx_gw_target_cfg_t *v = realloc(self->v, (size_t)(self->n + 1) * sizeof *v);
    if (!v)
        return DTX_ENOMEM;
    self->v = v;
    dtx_gw_target_cfg_t *t = &v[self->n];
    memset(t, 0, sizeof *t);
    t->url = strdup(url);
    t->zone = zone ? strdup(zone) : NULL;
    t->weight = weight;
    t->addr = *addr;
    if (!t->url || (zone && !t->zone)) {
        free(t->url);
        free(t->zone);
        return DTX_ENOMEM;
    }
    self->n++;
    return 0;
}

static int s_streq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int dtx_gw_target_set_same(const dtx_gw_target_set_t *a, const dtx_gw_target_set_t *b)
{
    if (a->n != b->n)
        return 0;
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->v[i].url, b->v[i].url) != 0 || a->v[i].weight != b->v[i].weight ||
            !s_streq(a->v[i].zone, b->v[i].zone))
            return 0;
    return 1;
}

static int s_url_cmp(const void *x, const void *y)
{
    return strcmp(((const dtx_gw_target_cfg_t *)x)->url, ((const dtx_gw_target_cfg_t *)y)->url);
}

void dtx_gw_target_set_sort(dtx_gw_target_set_t *self)
{
    if (self->n > 1)
        qsort(self->v, (size_t)self->n, sizeof *self->v, s_url_cmp);
}

static int s_zone_ok(const char *s, size_t n)
{
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

/* One line (no newline, comment cut) into out; 0, 1 when blank, or
 * DTX_EINVAL with the reason in why. */
static int s_line(char *line, dtx_gw_target_set_t *out, char *why, size_t wlen)
{
    char *words[4];
    int n = 0;
    for (char *save = NULL, *w = strtok_r(line, " \t\r", &save); w;
         w = strtok_r(NULL, " \t\r", &save)) {
        if (n == 3) {
            snprintf(why, wlen, "too many fields (host:port [weight] [zone])");
            return DTX_EINVAL;
        }
        words[n++] = w;
    }
    if (n == 0)
        return 1;
    const char *hp = words[0];
    const char *colon = hp[0] == '[' ? strstr(hp, "]:") : strrchr(hp, ':');
    if (!colon || colon == hp || colon[hp[0] == '[' ? 2 : 1] == '\0') {
        snprintf(why, wlen, "\"%.64s\" is not host:port", hp);
        return DTX_EINVAL;
    }
    int weight = 1;
    const char *zone = NULL;
    for (int i = 1; i < n; i++) {
        char *end = NULL;
        errno = 0;
        long w = strtol(words[i], &end, 10);
        if (i == 1 && words[i][0] >= '0' && words[i][0] <= '9') {
            if (*end || errno || w < 1 || w > 10000) {
                snprintf(why, wlen, "weight \"%.32s\" must be 1..10000", words[i]);
                return DTX_EINVAL;
            }
            weight = (int)w;
        } else if (!zone) {
            if (!s_zone_ok(words[i], strlen(words[i]))) {
                snprintf(why, wlen, "zone \"%.32s\" must be 1-64 of [A-Za-z0-9._-]", words[i]);
                return DTX_EINVAL;
            }
            zone = words[i];
        } else {
            snprintf(why, wlen, "\"%.32s\": the zone is given twice", words[i]);
            return DTX_EINVAL;
        }
    }
    char url[300];
    if (snprintf(url, sizeof url, "http://%s", hp) >= (int)sizeof url) {
        snprintf(why, wlen, "host too long");
        return DTX_EINVAL;
    }
    dtx_gw_addr_t addr;
    char aw[128];
    int rc = dtx_gw_addr_parse(&addr, url, aw, sizeof aw);
    if (rc < 0) {
        snprintf(why, wlen, "\"%.64s\": %s", hp, aw);
        return DTX_EINVAL;
    }
    if (!strchr(addr.host, ':') || addr.host[strlen(addr.host) - 1] == ']') {
        snprintf(why, wlen, "\"%.64s\" has no port", hp);
        return DTX_EINVAL;
    }
    for (int i = 0; i < out->n; i++)
        if (strcmp(out->v[i].url, url) == 0) {
            snprintf(why, wlen, "\"%.64s\" is listed twice", hp);
            return DTX_EINVAL;
        }
    if (dtx_gw_target_set_add(out, url, weight, zone, &addr) < 0) {
        snprintf(why, wlen, "out of memory");
        return DTX_ENOMEM;
    }
    return 0;
}

int dtx_gw_targets_file_parse(const char *text, size_t len, dtx_gw_target_set_t *out,
                              char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int lineno = 0;
    size_t at = 0;
    while (at < len) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
        lineno++;
        char line[1024];
        if (n >= sizeof line) {
            snprintf(err, errlen, "line %d: longer than %zu bytes", lineno, sizeof line - 1);
            dtx_gw_target_set_free(out);
            return DTX_EINVAL;
        }
        memcpy(line, text + at, n);
        line[n] = '\0';
        at += n + 1;
        if (memchr(line, '\0', n)) {
            snprintf(err, errlen, "line %d: holds a NUL byte", lineno);
            dtx_gw_target_set_free(out);
            return DTX_EINVAL;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char why[200];
        int rc = s_line(line, out, why, sizeof why);
        if (rc < 0) {
            snprintf(err, errlen, "line %d: %s", lineno, why);
            dtx_gw_target_set_free(out);
            return rc;
        }
    }
    dtx_gw_target_set_sort(out);
    return 0;
}

int dtx_gw_targets_file_read(const char *path, dtx_gw_target_set_t *out, char *err,
                             size_t errlen)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return DTX_EIO;
    }
    size_t cap = 1 << 20, len;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        snprintf(err, errlen, "%s: out of memory", path);
        return DTX_ENOMEM;
    }
    len = fread(buf, 1, cap, f);
    int bad = ferror(f), big = len == cap;
    fclose(f);
    if (bad || big) {
        free(buf);
        snprintf(err, errlen, "%s: %s", path, bad ? "read error" : "larger than 1 MiB");
        return DTX_EIO;
    }
    char inner[256];
    int rc = dtx_gw_targets_file_parse(buf, len, out, inner, sizeof inner);
    free(buf);
    if (rc < 0)
        snprintf(err, errlen, "%s: %s", path, inner);
    return rc;
}
