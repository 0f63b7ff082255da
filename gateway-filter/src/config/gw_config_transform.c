/*
 * gw_config_transform.c — a route's "transform": header edits on the way
 * up and down (remove, set, add; values with $consumer, $request_id,
 * $remote_addr, $gid) and a path rewrite by prefix or POSIX extended
 * regular expression (regex.h). Defaults and meanings: docs/gateway.md,
 * "Transforms".
 *
 * Invariants: every template's variables are known and every header name
 * is a token when the configuration loads; the regex is compiled here
 * (a bad one refuses the configuration) and freed with the route; a
 * rewrite can only produce a path that starts with '/'.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/types.h"
#include "config/gw_config_json.h"
#include "core/gw_vars.h"

static int s_token(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= 64 &&
           strspn(s, "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "abcdefghijklmnopqrstuvwxyz") == n;
}

static void s_free_list(char **v, int n)
{
    for (int i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

/* {"Name": "template", ...} into names/values. */
static int s_map(dtx_gw_cfg_ctx_t *c, json_object *o, const char *path, const char *key,
                 char ***names, char ***values, int *n)
{
    json_object *m;
    char p[400], q[500], bad[80];
    if (!json_object_object_get_ex(o, key, &m))
        return 0;
    dtx_gw_cfg_child(p, sizeof p, path, key);
    if (dtx_gw_cfg_object(c, m, p) < 0)
        return DTX_ECONFIG;
    int len = json_object_object_length(m);
    *names = calloc((size_t)len + 1, sizeof **names);
    *values = calloc((size_t)len + 1, sizeof **values);
    if (!*names || !*values)
        return dtx_gw_cfg_fail(c, p, "out of memory");
    json_object_object_foreach(m, name, val) {
        dtx_gw_cfg_child(q, sizeof q, p, name);
        if (!s_token(name))
            return dtx_gw_cfg_fail(c, q, "is not a header name (1-64 token characters)");
        if (!json_object_is_type(val, json_type_string))
            return dtx_gw_cfg_fail(c, q, "must be a string");
        const char *tv = json_object_get_string(val);
        if (strpbrk(tv, "\r\n"))
            return dtx_gw_cfg_fail(c, q, "must not hold CR or LF");
        if (dtx_gw_vars_check(tv, bad, sizeof bad) < 0)
            return dtx_gw_cfg_fail(c, q, "unknown variable %s (known: $consumer, $request_id, "
                                         "$remote_addr, $gid; $$ for a $)", bad);
        (*names)[*n] = strdup(name);
        (*values)[*n] = strdup(tv);
        (*n)++;
    }
    return 0;
}

static int s_edits(dtx_gw_cfg_ctx_t *c, json_object *t, const char *path, const char *key,
                   dtx_gw_header_edits_t *e)
{
    json_object *o;
    char p[300], q[400];
    if (!json_object_object_get_ex(t, key, &o))
        return 0;
    static const char *const keys[] = { "remove", "set", "add", NULL };
    dtx_gw_cfg_child(p, sizeof p, path, key);
    if (dtx_gw_cfg_object(c, o, p) < 0 || dtx_gw_cfg_only(c, o, p, keys) < 0 ||
        dtx_gw_cfg_strings(c, o, p, "remove", &e->remove, &e->nremove) < 0 ||
        s_map(c, o, p, "set", &e->set_names, &e->set_values, &e->nset) < 0 ||
        s_map(c, o, p, "add", &e->add_names, &e->add_values, &e->nadd) < 0)
        return DTX_ECONFIG;
    for (int i = 0; i < e->nremove; i++)
        if (!s_token(e->remove[i])) {
            snprintf(q, sizeof q, "%s.remove[%d]", p, i);
            return dtx_gw_cfg_fail(c, q, "is not a header name (1-64 token characters)");
        }
    return 0;
}

int dtx_gw_cfg_transform(dtx_gw_cfg_ctx_t *c, json_object *v, const char *path,
                         dtx_gw_route_cfg_t *r)
{
    json_object *t, *pa;
    char p[256], q[300];
    if (!json_object_object_get_ex(v, "transform", &t))
        return 0;
    static const char *const keys[] = { "request_headers", "response_headers", "path",
                                        "json_fields", NULL };
    dtx_gw_cfg_child(p, sizeof p, path, "transform");
    if (dtx_gw_cfg_object(c, t, p) < 0 || dtx_gw_cfg_only(c, t, p, keys) < 0)
        return DTX_ECONFIG;
    r->transform = calloc(1, sizeof *r->transform);
    if (!r->transform)
        return dtx_gw_cfg_fail(c, p, "out of memory");
    dtx_gw_transform_cfg_t *x = r->transform;
    if (s_edits(c, t, p, "request_headers", &x->request) < 0 ||
        s_edits(c, t, p, "response_headers", &x->response) < 0)
        return DTX_ECONFIG;
    json_object *jf;
    if (json_object_object_get_ex(t, "json_fields", &jf)) {
        static const char *const jkeys[] = { "keep", "drop", NULL };
        char **drop = NULL;
        int ndrop = 0;
        dtx_gw_cfg_child(q, sizeof q, p, "json_fields");
        if (dtx_gw_cfg_object(c, jf, q) < 0 || dtx_gw_cfg_only(c, jf, q, jkeys) < 0 ||
            dtx_gw_cfg_strings(c, jf, q, "keep", &x->json_fields, &x->njson_fields) < 0 ||
            dtx_gw_cfg_strings(c, jf, q, "drop", &drop, &ndrop) < 0) {
            s_free_list(drop, ndrop);
            return DTX_ECONFIG;
        }
        if (!x->njson_fields == !ndrop) {
            s_free_list(drop, ndrop);
            return dtx_gw_cfg_fail(c, q, "needs exactly one of keep or drop (a non-empty list)");
        }
        x->json_keep = x->njson_fields > 0;
        if (!x->json_keep) {
            s_free_list(x->json_fields, x->njson_fields);
            x->json_fields = drop;
            x->njson_fields = ndrop;
        }
    }
    if (!json_object_object_get_ex(t, "path", &pa))
        return 0;
    static const char *const pkeys[] = { "prefix", "regex", "replace", NULL };
    dtx_gw_cfg_child(q, sizeof q, p, "path");
    if (dtx_gw_cfg_object(c, pa, q) < 0 || dtx_gw_cfg_only(c, pa, q, pkeys) < 0 ||
        dtx_gw_cfg_str(c, pa, q, "prefix", 0, NULL, &x->path_prefix) < 0 ||
        dtx_gw_cfg_str(c, pa, q, "regex", 0, NULL, &x->path_regex) < 0 ||
        dtx_gw_cfg_str(c, pa, q, "replace", 1, NULL, &x->path_replace) < 0)
        return DTX_ECONFIG;
    if (!x->path_prefix == !x->path_regex)
        return dtx_gw_cfg_fail(c, q, "needs exactly one of prefix or regex");
    char f[400];
    if (x->path_replace[0] != '/' || strpbrk(x->path_replace, " ?#\r\n\t")) {
        dtx_gw_cfg_child(f, sizeof f, q, "replace");
        return dtx_gw_cfg_fail(c, f, "must start with / and hold no space, ? or #");
    }
    if (x->path_prefix && x->path_prefix[0] != '/') {
        dtx_gw_cfg_child(f, sizeof f, q, "prefix");
        return dtx_gw_cfg_fail(c, f, "must start with /");
    }
    if (x->path_regex) {
        x->path_re = calloc(1, sizeof(regex_t));
        if (!x->path_re)
            return dtx_gw_cfg_fail(c, q, "out of memory");
        int rc = regcomp(x->path_re, x->path_regex, REG_EXTENDED);
        if (rc != 0) {
            char why[160];
            regerror(rc, x->path_re, why, sizeof why);
            free(x->path_re);
            x->path_re = NULL;
            dtx_gw_cfg_child(f, sizeof f, q, "regex");
            return dtx_gw_cfg_fail(c, f, "not a POSIX extended regular expression: %s", why);
        }
        for (const char *s = x->path_replace; *s; s++)
            if (*s == '\\' && s[1] >= '1' && s[1] <= '9' &&
                (size_t)(s[1] - '0') > ((regex_t *)x->path_re)->re_nsub) {
                dtx_gw_cfg_child(f, sizeof f, q, "replace");
                return dtx_gw_cfg_fail(c, f, "\\%c: the regex has %zu group(s)", s[1],
                                       ((regex_t *)x->path_re)->re_nsub);
            }
    }
    return 0;
}
