/* gw_admin_cache.c — POST /cache/purge (gw_admin_cache.h). */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "app/gw_admin_cache.h"
#include "filters/gw_cache_key.h"

/* A string member, or NULL; *bad when present and not a non-empty string. */
static const char *s_str(json_object *o, const char *key, int *bad)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v))
        return NULL;
    if (!json_object_is_type(v, json_type_string) || !*json_object_get_string(v)) {
        *bad = 1;
        return NULL;
    }
    return json_object_get_string(v);
}

/* {"error": error, "detail": detail} into out, escaped by json-c (a
 * detail may quote a field or route name the caller sent). */
static void s_error(char *out, size_t cap, const char *error, const char *detail)
{
    json_object *e = json_object_new_object();
    if (e) {
        json_object_object_add(e, "error", json_object_new_string(error));
        json_object_object_add(e, "detail", json_object_new_string(detail));
    }
    const char *text = e ? json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE)
                         : NULL;
    snprintf(out, cap, "%s", text ? text : "{\"error\":\"out of memory\"}");
    json_object_put(e);
}

unsigned dtx_gw_admin_cache_purge(dtx_gw_current_t *current, const char *doc, size_t len,
                                  char *out, size_t cap)
{
    json_tokener *tok = json_tokener_new();
    json_object *o = tok ? json_tokener_parse_ex(tok, doc, (int)len) : NULL;
    if (tok)
        json_tokener_free(tok);
    unsigned status = 400;
    if (!o || !json_object_is_type(o, json_type_object)) {
        snprintf(out, cap, "{\"error\":\"invalid purge\",\"detail\":\"expected a JSON object: "
                           "{\\\"key\\\":\\\"/path?query\\\"} or {\\\"prefix\\\":\\\"/path\\\"}\"}");
        goto done;
    }
    json_object_object_foreach(o, k, v) {
        (void)v;
        if (strcmp(k, "key") && strcmp(k, "prefix") && strcmp(k, "route") && strcmp(k, "host")) {
            char detail[160];
            snprintf(detail, sizeof detail, "unknown field %.64s (known: key, prefix, route, host)",
                     k);
            s_error(out, cap, "invalid purge", detail);
            goto done;
        }
    }
    int bad = 0;
    const char *key = s_str(o, "key", &bad), *prefix = s_str(o, "prefix", &bad);
    const char *route = s_str(o, "route", &bad), *host = s_str(o, "host", &bad);
    if (bad || !key == !prefix || (key ? key : prefix)[0] != '/') {
        snprintf(out, cap, "{\"error\":\"invalid purge\",\"detail\":\"give exactly one of key "
                           "or prefix, starting with /; route and host are optional strings\"}");
        goto done;
    }
    dtx_gw_runtime_t *rt = dtx_gw_current_acquire(current);
    long n = rt ? dtx_gw_cache_purge_rt(rt, route, host, key, prefix) : 0;
    dtx_gw_runtime_unref(&rt);
    if (n < 0) {
        status = 404;
        char detail[128];
        snprintf(detail, sizeof detail, "route %.64s has no cache", route ? route : "");
        s_error(out, cap, "no cached route", detail);
        goto done;
    }
    status = 200;
    snprintf(out, cap, "{\"purged\":%ld}", n);
done:
    json_object_put(o);
    return status;
}
