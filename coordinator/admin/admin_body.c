/* admin_body.c — request bodies of the admin API; see admin_body.h. */
#include <stdio.h>
#include <string.h>

#include "admin_body.h"
#include "dtx/types.h"
#include "dtx/log.h"

json_object *dtx_admin_json_parse(const char *body, size_t len, char *err, size_t errlen,
                                  int *oom)
{
    *oom = 0;
    if (!body || len == 0) {
        json_object *o = json_object_new_object();
        *oom = !o;
        return o;
    }
    if (len > (size_t)0x7fffffff) {
        snprintf(err, errlen, "the body is too large");
        return NULL;
    }
    json_tokener *tok = json_tokener_new();
    if (!tok) {
        *oom = 1;
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    json_object *o = json_tokener_parse_ex(tok, body, (int)len);
    enum json_tokener_error e = json_tokener_get_error(tok);
    if (!o || e != json_tokener_success || json_tokener_get_parse_end(tok) < len) {
        if (o)
            json_object_put(o);
        snprintf(err, errlen, "the body is not valid JSON: %s",
                 e != json_tokener_success ? json_tokener_error_desc(e)
                                           : "unexpected data after the value");
        json_tokener_free(tok);
        return NULL;
    }
    json_tokener_free(tok);
    if (!json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        snprintf(err, errlen, "the body must be a JSON object");
        return NULL;
    }
    return o;
}

int dtx_admin_text_ok(const char *s, size_t len, int allow_newlines)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (p[i] < 0x80) {
            if (p[i] == 0 || p[i] == 0x7f)
                return 0;
            if (p[i] < 0x20 && !(allow_newlines && (p[i] == '\t' || p[i] == '\n' || p[i] == '\r')))
                return 0;
            i++;
            continue;
        }
        size_t n = dtx_utf8_seq_len(p + i, len - i);
        if (n == 0)
            return 0;
        /* C1 controls (U+0080..U+009F) are controls too. */
        if (n == 2 && p[i] == 0xC2 && p[i + 1] < 0xA0)
            return 0;
        i += n;
    }
    return 1;
}

int dtx_admin_action_body_parse(const char *body, size_t len, dtx_admin_action_body_t *out,
                                char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int oom = 0;
    json_object *o = dtx_admin_json_parse(body, len, err, errlen, &oom), *v = NULL;
    if (!o)
        return oom ? DTX_ENOMEM : DTX_EINVAL;
    int rc = DTX_EINVAL;
    const char *reason = "";
    size_t rlen = 0;
    if (json_object_object_get_ex(o, "reason", &v) && json_object_is_type(v, json_type_string)) {
        reason = json_object_get_string(v);
        rlen = (size_t)json_object_get_string_len(v);
    }
    while (rlen && *reason == ' ') {
        reason++;
        rlen--;
    }
    if (rlen == 0 || rlen >= sizeof out->reason) {
        snprintf(err, errlen, "reason: required, a short text saying why (up to %d bytes); "
                              "it goes into the audit log",
                 (int)sizeof out->reason - 1);
        goto done;
    }
    if (!dtx_admin_text_ok(reason, rlen, 1)) {
        snprintf(err, errlen, "reason: must be UTF-8 text without control characters "
                              "other than tab and newline");
        goto done;
    }
    memcpy(out->reason, reason, rlen);
    out->reason[rlen] = '\0';
    if (json_object_object_get_ex(o, "operator", &v) && !json_object_is_type(v, json_type_null)) {
        size_t olen = (size_t)json_object_get_string_len(v);
        if (!json_object_is_type(v, json_type_string)) {
            snprintf(err, errlen, "operator: must be a string");
            goto done;
        }
        if (olen >= sizeof out->operator_name) {
            snprintf(err, errlen, "operator: longer than %d bytes",
                     (int)sizeof out->operator_name - 1);
            goto done;
        }
        if (!dtx_admin_text_ok(json_object_get_string(v), olen, 0)) {
            snprintf(err, errlen, "operator: must be UTF-8 text without control characters");
            goto done;
        }
        memcpy(out->operator_name, json_object_get_string(v), olen);
        out->operator_name[olen] = '\0';
    }
    rc = 0;
done:
    json_object_put(o);
    if (rc != 0)
        memset(out, 0, sizeof *out);
    return rc;
}
