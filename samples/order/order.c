/*
 * samples/order/order.c — payload, order line and seed parsing shared by
 * order-participant and order-client (see order.h).
 */
#include "order.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

int order_id_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > DTX_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '.' && c != '_' && c != '-')
            return 0;
    }
    return 1;
}

static int s_qty_parse(const char *s, int min, int *out)
{
    char *end;
    errno = 0;
    if (!*s || !isdigit((unsigned char)*s))
        return DTX_EINVAL;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > ORDER_QTY_MAX)
        return DTX_EINVAL;
    *out = (int)v;
    return 0;
}

static int s_valid(const order_t *o)
{
    return order_id_valid(o->order) && order_id_valid(o->customer) &&
           order_id_valid(o->item) && o->qty >= 1 && o->qty <= ORDER_QTY_MAX;
}

int order_payload_encode(const order_t *o, char *out, size_t cap)
{
    if (!s_valid(o))
        return DTX_EINVAL;
    json_object *obj = json_object_new_object();
    if (!obj)
        return DTX_ENOMEM;
    json_object_object_add(obj, "order", json_object_new_string(o->order));
    json_object_object_add(obj, "customer", json_object_new_string(o->customer));
    json_object_object_add(obj, "item", json_object_new_string(o->item));
    json_object_object_add(obj, "qty", json_object_new_int(o->qty));
    const char *s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
    int rc;
    size_t n = s ? strlen(s) : 0;
    if (!s)
        rc = DTX_ENOMEM;
    else if (n >= cap)
        rc = DTX_ETOOBIG;
    else {
        memcpy(out, s, n + 1);
        rc = (int)n;
    }
    json_object_put(obj);
    return rc;
}

/* Copies string field name of obj into out (DTX_NAME_SIZE) when it is a
 * valid id. */
static int s_get_id(json_object *obj, const char *name, char *out)
{
    json_object *v;
    if (!json_object_object_get_ex(obj, name, &v) || !json_object_is_type(v, json_type_string))
        return DTX_EINVAL;
    const char *s = json_object_get_string(v);
    if (!order_id_valid(s))
        return DTX_EINVAL;
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

int order_payload_decode(const void *buf, size_t len, order_t *out)
{
    if (!buf || len == 0 || len > 4096)
        return DTX_EINVAL;
    json_tokener *tok = json_tokener_new();
    if (!tok)
        return DTX_ENOMEM;
    json_object *obj = json_tokener_parse_ex(tok, buf, (int)len);
    int rc = DTX_EINVAL;
    order_t o;
    memset(&o, 0, sizeof o);
    json_object *qty;
    if (!obj || json_tokener_get_error(tok) != json_tokener_success ||
        json_tokener_get_parse_end(tok) != len || !json_object_is_type(obj, json_type_object) ||
        s_get_id(obj, "order", o.order) || s_get_id(obj, "customer", o.customer) ||
        s_get_id(obj, "item", o.item) || !json_object_object_get_ex(obj, "qty", &qty) ||
        !json_object_is_type(qty, json_type_int))
        goto done;
    errno = 0;
    int64_t q = json_object_get_int64(qty);
    if (errno || q < 1 || q > ORDER_QTY_MAX)
        goto done;
    o.qty = (int)q;
    *out = o;
    rc = 0;
done:
    json_object_put(obj);
    json_tokener_free(tok);
    return rc;
}

int order_line_parse(const char *line, order_t *out, const char **why)
{
    char buf[512];
    size_t n = strcspn(line, "#\r\n");
    const char *reason = "expected 'ORDER CUSTOMER ITEM QTY [rollback]'";
    if (n >= sizeof buf) {
        reason = "line too long";
        goto bad;
    }
    memcpy(buf, line, n);
    buf[n] = '\0';
    char *save = NULL;
    char *tok[6];
    int ntok = 0;
    for (char *t = strtok_r(buf, " \t", &save); t && ntok < 6; t = strtok_r(NULL, " \t", &save))
        tok[ntok++] = t;
    if (ntok == 0)
        return 0;
    if (ntok < 4 || ntok > 5)
        goto bad;
    order_t o;
    memset(&o, 0, sizeof o);
    if (!order_id_valid(tok[0]) || !order_id_valid(tok[1]) || !order_id_valid(tok[2])) {
        reason = "ids are 1..63 of [A-Za-z0-9._-]";
        goto bad;
    }
    snprintf(o.order, sizeof o.order, "%s", tok[0]);
    snprintf(o.customer, sizeof o.customer, "%s", tok[1]);
    snprintf(o.item, sizeof o.item, "%s", tok[2]);
    if (s_qty_parse(tok[3], 1, &o.qty) < 0) {
        reason = "quantity must be 1..1000000";
        goto bad;
    }
    if (ntok == 5) {
        if (strcmp(tok[4], "rollback") != 0) {
            reason = "only 'rollback' may follow the quantity";
            goto bad;
        }
        o.rollback = 1;
    }
    *out = o;
    return 1;
bad:
    if (why)
        *why = reason;
    return DTX_EINVAL;
}

int order_seed_parse(const char *spec, order_seed_t *out, int max)
{
    int n = 0;
    const char *p = spec;
    while (*p) {
        size_t len = strcspn(p, ",");
        char item[128];
        if (len == 0 || len >= sizeof item || n >= max)
            return DTX_EINVAL;
        memcpy(item, p, len);
        item[len] = '\0';
        char *eq = strchr(item, '=');
        if (!eq)
            return DTX_EINVAL;
        *eq = '\0';
        if (!order_id_valid(item) || s_qty_parse(eq + 1, 0, &out[n].qty) < 0)
            return DTX_EINVAL;
        memcpy(out[n].item, item, strlen(item) + 1); /* valid: at most DTX_NAME_MAX */
        n++;
        p += len;
        if (*p == ',')
            p++;
    }
    return n;
}
