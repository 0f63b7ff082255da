/*
 * gw_transform.c — path rewrite and answer header edits of a route's
 * transform (gw_transform.h).
 *
 * Invariant: the rewritten path starts with '/' and holds only bytes of
 * the normalised path and of the configured replacement (checked at
 * load: no space, '?', '#', CR or LF).
 */
#include <regex.h>
#include <stdio.h>

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/gw_config.h"
#include "core/gw_vars.h"
#include "filters/gw_route.h"
#include "filters/gw_transform.h"

static int s_put(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
    if (*o + n >= cap)
        return -1;
    memcpy(out + *o, s, n);
    *o += n;
    out[*o] = '\0';
    return 0;
}

int dtx_gw_transform_path(const struct dtx_gw_transform_cfg *t, const char *path, char *out,
                          size_t cap)
{
    size_t o = 0;
    if (!cap)
        return -1;
    out[0] = '\0';
    if (t->path_prefix) {
        size_t pl = strlen(t->path_prefix);
        if (strncmp(path, t->path_prefix, pl) != 0)
            return -1;
        const char *rest = path + pl;
        size_t rl = strlen(t->path_replace);
        if (s_put(out, cap, &o, t->path_replace, rl) < 0)
            return -1;
        if (rl && t->path_replace[rl - 1] == '/' && *rest == '/')
            rest++;
        if (s_put(out, cap, &o, rest, strlen(rest)) < 0)
            return -1;
        return 0;
    }
    if (!t->path_re)
        return -1;
    regmatch_t m[10];
    if (regexec(t->path_re, path, 10, m, 0) != 0)
        return -1;
    if (s_put(out, cap, &o, path, (size_t)m[0].rm_so) < 0)
        return -1;
    for (const char *s = t->path_replace; *s; s++) {
        if (*s == '\\' && s[1] >= '0' && s[1] <= '9') {
            int g = s[1] - '0';
            s++;
            if (m[g].rm_so >= 0 &&
                s_put(out, cap, &o, path + m[g].rm_so, (size_t)(m[g].rm_eo - m[g].rm_so)) < 0)
                return -1;
        } else if (s_put(out, cap, &o, s, 1) < 0) {
            return -1;
        }
    }
    const char *tail = path + m[0].rm_eo;
    if (s_put(out, cap, &o, tail, strlen(tail)) < 0)
        return -1;
    if (out[0] != '/') {   /* "a/b" from a match not at the start: make it a path */
        if (o + 1 >= cap)
            return -1;
        memmove(out + 1, out, o + 1);
        out[0] = '/';
    }
    return 0;
}

int dtx_gw_transform_head(dtx_gw_req_t *req)
{
    if (!req->route || !req->route->cfg->transform)
        return DTX_GW_NEXT;
    const dtx_gw_transform_cfg_t *t = req->route->cfg->transform;
    req->transform = t;
    if (!t->path_prefix && !t->path_re)
        return DTX_GW_NEXT;
    size_t cap = strlen(req->path) + strlen(t->path_replace) * 8 + 16;
    char *np = malloc(cap);
    if (!np) {
        dtx_gw_reply_set(req, 503, "application/json", "{\"error\":\"out of memory\"}");
        return DTX_GW_REPLY;
    }
    if (dtx_gw_transform_path(t, req->path, np, cap) < 0) {
        free(np);     /* no match: the path goes as it is */
        return DTX_GW_NEXT;
    }
    free(req->path_owned);
    req->path_owned = np;
    req->path = np;
    return DTX_GW_NEXT;
}

int dtx_gw_transform_drops(const dtx_gw_req_t *req, const char *name)
{
    const dtx_gw_transform_cfg_t *t = req->transform;
    if (!t)
        return 0;
    for (int i = 0; i < t->response.nremove; i++)
        if (strcasecmp(t->response.remove[i], name) == 0)
            return 1;
    for (int i = 0; i < t->response.nset; i++)
        if (strcasecmp(t->response.set_names[i], name) == 0)
            return 1;
    return 0;
}

void dtx_gw_transform_each_response(const dtx_gw_req_t *req,
                                    void (*fn)(void *arg, const char *name, const char *value),
                                    void *arg)
{
    const dtx_gw_transform_cfg_t *t = req->transform;
    if (!t)
        return;
    char v[1024];
    for (int i = 0; i < t->response.nset; i++)
        if (dtx_gw_vars_expand(t->response.set_values[i], req, v, sizeof v) == 0)
            fn(arg, t->response.set_names[i], v);
    for (int i = 0; i < t->response.nadd; i++)
        if (dtx_gw_vars_expand(t->response.add_values[i], req, v, sizeof v) == 0)
            fn(arg, t->response.add_names[i], v);
}

int dtx_gw_transform_wants_body(const dtx_gw_req_t *req)
{
    return req->transform && req->transform->njson_fields > 0;
}

static int s_listed(const dtx_gw_transform_cfg_t *t, const char *name)
{
    for (int i = 0; i < t->njson_fields; i++)
        if (strcmp(t->json_fields[i], name) == 0)
            return 1;
    return 0;
}

static void s_filter_object(const dtx_gw_transform_cfg_t *t, json_object *o)
{
    if (!json_object_is_type(o, json_type_object))
        return;
    /* collect first: deleting while iterating is not allowed */
    int n = json_object_object_length(o), k = 0;
    char **del = calloc((size_t)n + 1, sizeof *del);
    if (!del)
        return;
    json_object_object_foreach(o, name, val) {
        (void)val;
        if (s_listed(t, name) != t->json_keep)
            del[k++] = strdup(name);
    }
    for (int i = 0; i < k; i++) {
        if (del[i])
            json_object_object_del(o, del[i]);
        free(del[i]);
    }
    free(del);
}

static int s_json_type(const char *ct)
{
    if (!ct)
        return 0;
    size_t n = strcspn(ct, ";");
    while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
        return 1;
    return n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0;
}

int dtx_gw_transform_json(const dtx_gw_req_t *req, const char *content_type, const char *body,
                          size_t len, char **out, size_t *outlen)
{
    const dtx_gw_transform_cfg_t *t = req->transform;
    if (!t || !t->njson_fields || !s_json_type(content_type) || !body || len == 0 ||
        len > (size_t)1 << 30)
        return 0;
    json_tokener *tok = json_tokener_new_ex(64);
    if (!tok)
        return 0;
    json_object *root = json_tokener_parse_ex(tok, body, (int)len);
    int ok = json_tokener_get_error(tok) == json_tokener_success &&
             (size_t)json_tokener_get_parse_end(tok) <= len;
    json_tokener_free(tok);
    if (!ok || !root) {
        json_object_put(root);
        return 0;
    }
    if (json_object_is_type(root, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(root); i++)
            s_filter_object(t, json_object_array_get_idx(root, i));
    } else if (json_object_is_type(root, json_type_object)) {
        s_filter_object(t, root);
    } else {
        json_object_put(root);
        return 0;
    }
    size_t n = 0;
    const char *text = json_object_to_json_string_length(root, JSON_C_TO_STRING_PLAIN |
                                                         JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    char *copy = text ? malloc(n + 1) : NULL;
    if (copy)
        memcpy(copy, text, n + 1);
    json_object_put(root);
    if (!copy)
        return 0;
    *out = copy;
    *outlen = n;
    return 1;
}
