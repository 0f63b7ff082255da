/* gw_validate.c — request validation (gw_validate.h). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "filters/gw_route.h"
#include "filters/gw_validate.h"

static int s_invalid(dtx_gw_req_t *req, int status, const char *fmt, const char *a,
                     const char *b)
{
    char body[512];
    snprintf(body, sizeof body, fmt, a ? a : "", b ? b : "");
    dtx_gw_reply_set(req, status, "application/json", "%s\n", body);
    atomic_fetch_add(&req->route->stats->invalid, 1);
    return DTX_GW_REPLY;
}

/* Copies s into out without JSON-breaking characters (names echo user input). */
static const char *s_clean(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; s && *s && n + 1 < cap; s++)
        if ((unsigned char)*s >= 0x20 && *s != '"' && *s != '\\')
            out[n++] = *s;
    out[n] = '\0';
    return out;
}

int dtx_gw_validate_head(dtx_gw_req_t *req)
{
    const dtx_gw_route_cfg_t *c = req->route->cfg;
    char buf[128], lim[32];
    if (c->max_body > 0 && req->content_length > c->max_body) {
        snprintf(lim, sizeof lim, "%lld", (long long)c->max_body);
        return s_invalid(req, 413, "{\"error\":\"body too large\",\"max_body\":%s%s}", lim, "");
    }
    for (int i = 0; i < c->nrequired_headers; i++) {
        const char *v = req->header(req->header_ctx, c->required_headers[i]);
        if (!v || !*v)
            return s_invalid(req, 400, "{\"error\":\"missing required header\",\"header\":\"%s\"%s}",
                             c->required_headers[i], "");
    }
    if (c->ncontent_types) {
        const char *ct = req->header(req->header_ctx, "Content-Type");
        size_t n = ct ? strcspn(ct, "; \t") : 0;
        int ok = 0;
        for (int i = 0; ct && i < c->ncontent_types && !ok; i++)
            ok = strlen(c->content_types[i]) == n && strncasecmp(c->content_types[i], ct, n) == 0;
        if (!ok)
            return s_invalid(req, 415,
                             "{\"error\":\"unsupported content type\",\"content_type\":\"%s\"%s}",
                             s_clean(ct ? ct : "(none)", buf, sizeof buf), "");
    }
    return DTX_GW_NEXT;
}

static int s_type_ok(json_object *v, dtx_gw_json_type_t t)
{
    switch (t) {
    case DTX_GW_JSON_ANY: return 1;
    case DTX_GW_JSON_STRING: return json_object_is_type(v, json_type_string);
    case DTX_GW_JSON_NUMBER:
        return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
    case DTX_GW_JSON_INTEGER: return json_object_is_type(v, json_type_int);
    case DTX_GW_JSON_BOOLEAN: return json_object_is_type(v, json_type_boolean);
    case DTX_GW_JSON_OBJECT: return json_object_is_type(v, json_type_object);
    case DTX_GW_JSON_ARRAY: return json_object_is_type(v, json_type_array);
    }
    return 0;
}

static const char *const s_type_names[] = { "any", "string", "number", "integer",
                                            "boolean", "object", "array" };

int dtx_gw_validate_body(dtx_gw_req_t *req)
{
    const dtx_gw_route_cfg_t *c = req->route->cfg;
    char lim[32];
    if (c->max_body > 0 && (int64_t)req->body_len > c->max_body) {
        snprintf(lim, sizeof lim, "%lld", (long long)c->max_body);
        return s_invalid(req, 413, "{\"error\":\"body too large\",\"max_body\":%s%s}", lim, "");
    }
    if (!c->njson_fields)
        return DTX_GW_NEXT;
    json_tokener *tok = json_tokener_new();
    json_object *root = tok ? json_tokener_parse_ex(tok, req->body ? req->body : "",
                                                    (int)req->body_len) : NULL;
    int complete = tok && json_tokener_get_error(tok) == json_tokener_success;
    json_tokener_free(tok);
    if (!root || !complete || !json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        return s_invalid(req, 400, "{\"error\":\"body is not a JSON object\"%s%s}", "", "");
    }
    int rc = DTX_GW_NEXT;
    for (int i = 0; i < c->njson_fields && rc == DTX_GW_NEXT; i++) {
        json_object *v;
        const dtx_gw_json_field_t *f = &c->json_fields[i];
        if (!json_object_object_get_ex(root, f->name, &v))
            rc = s_invalid(req, 400, "{\"error\":\"missing JSON field\",\"field\":\"%s\"%s}",
                           f->name, "");
        else if (!s_type_ok(v, f->type))
            rc = s_invalid(req, 400,
                           "{\"error\":\"JSON field has the wrong type\",\"field\":\"%s\","
                           "\"expected\":\"%s\"}", f->name, s_type_names[f->type]);
    }
    json_object_put(root);
    return rc;
}
