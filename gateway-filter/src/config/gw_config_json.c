/*
 * gw_config_json.c — typed, checked reads of JSON members for the
 * configuration parser (gw_config_json.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/types.h"
#include "config/gw_config_json.h"


int dtx_gw_cfg_fail(dtx_gw_cfg_ctx_t *c, const char *path, const char *fmt, ...)
{
    char msg[DTX_GW_ERR_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->err && c->errlen)
        snprintf(c->err, c->errlen, "%s%s%s", path, *path ? ": " : "", msg);
    return DTX_ECONFIG;
}

int dtx_gw_statuses_has(const dtx_gw_statuses_t *set, int status)
{
    if (status < 100 || status > 599)
        return 0;
    int i = status - 100;
    return (set->bits[i / 64] >> (i % 64)) & 1;
}

void dtx_gw_statuses_add(dtx_gw_statuses_t *set, int lo, int hi)
{
    for (int s = lo < 100 ? 100 : lo; s <= hi && s <= 599; s++)
        set->bits[(s - 100) / 64] |= 1ULL << ((s - 100) % 64);
}

/* ---------------- field helpers ---------------- */

void dtx_gw_cfg_child(char *out, size_t cap, const char *path, const char *key)
{
    snprintf(out, cap, "%s%s%s", path, *path ? "." : "", key);
}

void dtx_gw_cfg_index(char *out, size_t cap, const char *path, size_t i)
{
    snprintf(out, cap, "%s[%zu]", path, i);
}

/* Every member of obj must be one of allowed (NULL-terminated). */
int dtx_gw_cfg_only(dtx_gw_cfg_ctx_t *c, json_object *obj, const char *path, const char *const *allowed)
{
    json_object_object_foreach(obj, key, val) {
        (void)val;
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, key) == 0;
        if (!ok) {
            char p[256];
            dtx_gw_cfg_child(p, sizeof p, path, key);
            return dtx_gw_cfg_fail(c, p, "unknown field");
        }
    }
    return 0;
}

int dtx_gw_cfg_object(dtx_gw_cfg_ctx_t *c, json_object *v, const char *path)
{
    if (!json_object_is_type(v, json_type_object))
        return dtx_gw_cfg_fail(c, path, "must be an object");
    return 0;
}

int dtx_gw_cfg_str(dtx_gw_cfg_ctx_t *c, json_object *obj, const char *path, const char *key,
                 int required, const char *def, char **out)
{
    json_object *v;
    char p[256];
    dtx_gw_cfg_child(p, sizeof p, path, key);
    if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null)) {
        if (required)
            return dtx_gw_cfg_fail(c, p, "is required");
        *out = def ? strdup(def) : NULL;
        return 0;
    }
    if (!json_object_is_type(v, json_type_string))
        return dtx_gw_cfg_fail(c, p, "must be a string");
    if (required && json_object_get_string_len(v) == 0)
        return dtx_gw_cfg_fail(c, p, "must not be empty");
    *out = strdup(json_object_get_string(v));
    return 0;
}

int dtx_gw_cfg_int(dtx_gw_cfg_ctx_t *c, json_object *obj, const char *path, const char *key,
                 int64_t lo, int64_t hi, int64_t def, int64_t *out)
{
    json_object *v;
    char p[256];
    dtx_gw_cfg_child(p, sizeof p, path, key);
    if (!json_object_object_get_ex(obj, key, &v)) {
        *out = def;
        return 0;
    }
    if (!json_object_is_type(v, json_type_int))
        return dtx_gw_cfg_fail(c, p, "must be an integer");
    errno = 0;
    int64_t x = json_object_get_int64(v);
    if (errno || x < lo || x > hi)
        return dtx_gw_cfg_fail(c, p, "must be between %lld and %lld", (long long)lo, (long long)hi);
    *out = x;
    return 0;
}

int dtx_gw_cfg_int32(dtx_gw_cfg_ctx_t *c, json_object *obj, const char *path, const char *key,
                   int lo, int hi, int def, int *out)
{
    int64_t x;
    if (dtx_gw_cfg_int(c, obj, path, key, lo, hi, def, &x) < 0)
        return DTX_ECONFIG;
    *out = (int)x;
    return 0;
}

int dtx_gw_cfg_num(dtx_gw_cfg_ctx_t *c, json_object *obj, const char *path, const char *key,
                 double lo, double hi, double def, double *out)
{
    json_object *v;
    char p[256];
    dtx_gw_cfg_child(p, sizeof p, path, key);
    if (!json_object_object_get_ex(obj, key, &v)) {
        *out = def;
        return 0;
    }
    if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
        return dtx_gw_cfg_fail(c, p, "must be a number");
    double x = json_object_get_double(v);
    if (!(x >= lo && x <= hi))
        return dtx_gw_cfg_fail(c, p, "must be between %g and %g", lo, hi);
    *out = x;
    return 0;
}

int dtx_gw_cfg_bool(dtx_gw_cfg_ctx_t *c, json_object *obj, const char *path, const char *key,
                  int def, int *out)
{
    json_object *v;
    char p[256];
    dtx_gw_cfg_child(p, sizeof p, path, key);
    if (!json_object_object_get_ex(obj, key, &v)) {
        *out = def;
        return 0;
    }
    if (!json_object_is_type(v, json_type_boolean))
        return dtx_gw_cfg_fail(c, p, "must be true or false");
    *out = json_object_get_boolean(v);
    return 0;
}

/* An array of non-empty strings (a single string is accepted as one). */
int dtx_gw_cfg_strings(dtx_gw_cfg_ctx_t *c, json_object *obj, const char *path, const char *key,
                     char ***out, int *n)
{
    json_object *v;
    char p[256], q[300];
    dtx_gw_cfg_child(p, sizeof p, path, key);
    *out = NULL;
    *n = 0;
    if (!json_object_object_get_ex(obj, key, &v))
        return 0;
    if (json_object_is_type(v, json_type_string)) {
        *out = calloc(1, sizeof **out);
        if (!*out)
            return dtx_gw_cfg_fail(c, p, "out of memory");
        (*out)[0] = strdup(json_object_get_string(v));
        *n = 1;
        return 0;
    }
    if (!json_object_is_type(v, json_type_array))
        return dtx_gw_cfg_fail(c, p, "must be an array of strings");
    size_t len = json_object_array_length(v);
    *out = calloc(len ? len : 1, sizeof **out);
    if (!*out)
        return dtx_gw_cfg_fail(c, p, "out of memory");
    for (size_t i = 0; i < len; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        dtx_gw_cfg_index(q, sizeof q, p, i);
        if (!json_object_is_type(e, json_type_string) || json_object_get_string_len(e) == 0)
            return dtx_gw_cfg_fail(c, q, "must be a non-empty string");
        (*out)[i] = strdup(json_object_get_string(e));
        (*n)++;
    }
    return 0;
}

/* Statuses: [200, "2xx", "500-504"]. */
int dtx_gw_cfg_statuses(dtx_gw_cfg_ctx_t *c, json_object *obj, const char *path, const char *key,
                      const char *def, dtx_gw_statuses_t *out)
{
    json_object *v;
    char p[256], q[300];
    dtx_gw_cfg_child(p, sizeof p, path, key);
    memset(out, 0, sizeof *out);
    json_object *owned = NULL;
    if (!json_object_object_get_ex(obj, key, &v)) {
        owned = json_tokener_parse(def);
        v = owned;
    }
    int rc = 0;
    if (!json_object_is_type(v, json_type_array)) {
        rc = dtx_gw_cfg_fail(c, p, "must be an array of statuses (404, \"5xx\", \"500-504\")");
        goto out;
    }
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        json_object *e = json_object_array_get_idx(v, i);
        dtx_gw_cfg_index(q, sizeof q, p, i);
        int lo = 0, hi = 0;
        if (json_object_is_type(e, json_type_int)) {
            lo = hi = json_object_get_int(e);
        } else if (json_object_is_type(e, json_type_string)) {
            const char *s = json_object_get_string(e);
            char x[3];
            if (strlen(s) == 3 && s[0] >= '1' && s[0] <= '5' &&
                sscanf(s + 1, "%2[xX]", x) == 1 && strlen(x) == 2) {
                lo = (s[0] - '0') * 100;
                hi = lo + 99;
            } else {
                char rest = 0;
                int k = sscanf(s, "%d-%d%c", &lo, &hi, &rest);
                if (k == 1 && strspn(s, "0123456789") == strlen(s))
                    hi = lo;
                else if (k != 2)
                    lo = hi = 0;
            }
        }
        if (lo < 100 || hi > 599 || lo > hi) {
            rc = dtx_gw_cfg_fail(c, q, "must be a status 100..599, \"Nxx\" or \"LO-HI\"");
            goto out;
        }
        dtx_gw_statuses_add(out, lo, hi);
    }
out:
    json_object_put(owned);
    return rc;
}

char *dtx_gw_cfg_sig(json_object *v)
{
    return strdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
                                                        JSON_C_TO_STRING_NOSLASHESCAPE));
}

int dtx_gw_cfg_name_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
            return 0;
    return 1;
}

