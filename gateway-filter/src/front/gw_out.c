/*
 * gw_out.c — an answer as a request hands it to its connection
 * (gw_front.h): its fields in one buffer, each as the lengths of its
 * name and value (two uint32_t, unaligned: memcpy) then "name\0value\0",
 * written with one room check and walked without a strlen.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "front/gw_front.h"

void dtx_gw_out_init(dtx_gw_out_t *self, int status)
{
    memset(self, 0, sizeof *self);
    self->status = status;
    self->length = -1;
}

/* The length of s when it holds no CR or LF, else -1: one scan (strcspn)
 * where a check (strpbrk) and a strlen made two, for every field of
 * every answer. */
static ptrdiff_t s_clean_len(const char *s)
{
    size_t n = strcspn(s, "\r\n");
    return s[n] ? -1 : (ptrdiff_t)n;
}

void dtx_gw_out_field_n(dtx_gw_out_t *self, const char *name, size_t name_len,
                        const char *value, size_t value_len)
{
    if (!name_len || name_len > UINT32_MAX || value_len > UINT32_MAX)
        return;
    uint32_t len[2] = { (uint32_t)name_len, (uint32_t)value_len };
    char *p = dtx_gw_buf_grow(&self->fields, sizeof len + name_len + value_len + 2);
    if (!p)
        return;
    memcpy(p, len, sizeof len);
    p += sizeof len;
    memcpy(p, name, name_len);
    p[name_len] = '\0';
    memcpy(p + name_len + 1, value, value_len);
    p[name_len + 1 + value_len] = '\0';
    self->nfields++;
}

void dtx_gw_out_field(dtx_gw_out_t *self, const char *name, const char *value)
{
    if (!name || !*name || !value)
        return;
    ptrdiff_t nl = s_clean_len(name), vl = s_clean_len(value);
    if (nl < 0 || vl < 0)
        return;
    dtx_gw_out_field_n(self, name, (size_t)nl, value, (size_t)vl);
}

int dtx_gw_out_next_n(const dtx_gw_out_t *self, size_t *pos, const char **name,
                      size_t *name_len, const char **value, size_t *value_len)
{
    if (self->fields.failed || *pos >= self->fields.len)
        return 0;
    uint32_t len[2];
    memcpy(len, self->fields.data + *pos, sizeof len);
    *name = self->fields.data + *pos + sizeof len;
    *name_len = len[0];
    *value = *name + len[0] + 1;
    *value_len = len[1];
    *pos += sizeof len + (size_t)len[0] + (size_t)len[1] + 2;
    return 1;
}

int dtx_gw_out_next(const dtx_gw_out_t *self, size_t *pos, const char **name,
                    const char **value)
{
    size_t nl, vl;
    return dtx_gw_out_next_n(self, pos, name, &nl, value, &vl);
}

const char *dtx_gw_out_get(const dtx_gw_out_t *self, const char *name)
{
    if (self->fields.failed)
        return NULL;
    size_t len = strlen(name);
    const char *p = self->fields.data, *end = p + self->fields.len;
    while (p < end) {      /* the lengths first: most fields are passed over by them */
        uint32_t l[2];
        memcpy(l, p, sizeof l);
        const char *n = p + sizeof l;
        if (l[0] == len && dtx_gw_http1_name_eq(n, name))
            return n + l[0] + 1;
        p = n + l[0] + l[1] + 2;
    }
    return NULL;
}

void dtx_gw_out_fini(dtx_gw_out_t *self)
{
    dtx_gw_buf_free(&self->fields);
    self->nfields = 0;
    if (self->body_free)
        self->body_free(self->body_arg);
    self->body_free = NULL;
    self->body = NULL;
    self->read = NULL;
}
