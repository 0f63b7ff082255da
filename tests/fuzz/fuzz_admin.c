/*
 * fuzz_admin.c — libFuzzer target for what a client sends the admin HTTP
 * API, parsed without MHD or a database: query parameters
 * (dtx_duration_parse_ms, dtx_listq_parse: coordinator/admin/admin_query.c),
 * action bodies (dtx_admin_action_body_parse, dtx_admin_json_parse:
 * admin_body.c) and the Host header (dtx_admin_host_ok: admin_host.c).
 *
 * The first byte picks the parser; the rest is its input. Whatever the
 * input, nothing may crash, overflow (UBSan aborts) or leak, and:
 *   - a duration is -1 or within 0..DTX_DURATION_MAX_MS;
 *   - list bounds and prefixes stay NUL-terminated within their buffers,
 *     the limit within 1..DTX_LIST_LIMIT_MAX;
 *   - an accepted action body has a non-empty reason and an operator that
 *     are valid UTF-8 without NUL (what PostgreSQL takes as text);
 *   - a refused one leaves a message.
 *
 *   make fuzz FUZZ_ONLY=admin [FUZZ_SECONDS=60]
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin_body.h"
#include "admin/admin_host.h"
#include "admin/admin_query.h"
#include "dtx/types.h"

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "fuzz_admin: %s:%d: check failed: %s\n",        \
                    __FILE__, __LINE__, #cond);                            \
            abort();                                                       \
        }                                                                  \
    } while (0)

/* A query string "k=v&k=v" (no decoding: MHD decodes before us). */
typedef struct s_query {
    char *text;
} s_query_t;

static const char *s_get(void *ctx, const char *name)
{
    s_query_t *q = ctx;
    size_t nl = strlen(name);
    for (char *p = q->text; p && *p;) {
        char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            static char v[4096];
            size_t vl = len - nl - 1;
            memcpy(v, p + nl + 1, vl);
            v[vl] = '\0';
            return v[0] ? v : NULL;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static void s_bounded(const char *s, size_t cap)
{
    CHECK(memchr(s, '\0', cap) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 8192)
        return 0;
    int mode = data[0] % 5;
    data++;
    size--;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    char err[256] = "";
    switch (mode) {
    case 0: {
        int64_t ms = dtx_duration_parse_ms(s);
        CHECK(ms == -1 || (ms >= 0 && ms <= DTX_DURATION_MAX_MS));
        break;
    }
    case 1: {
        s_query_t q = { s };
        dtx_listq_t lq;
        int rc = dtx_listq_parse(&lq, s_get, &q, 1700000000000LL, err, sizeof err);
        CHECK(rc == 0 || rc == DTX_EINVAL);
        if (rc == 0) {
            CHECK(lq.limit >= 1 && lq.limit <= DTX_LIST_LIMIT_MAX);
            CHECK(lq.nstates >= 0 && lq.nstates <= 6);
            s_bounded(lq.lo_ex, sizeof lq.lo_ex);
            s_bounded(lq.lo_in, sizeof lq.lo_in);
            s_bounded(lq.hi_ex, sizeof lq.hi_ex);
            s_bounded(lq.prefix, sizeof lq.prefix);
            s_bounded(lq.resource, sizeof lq.resource);
        } else {
            CHECK(err[0] != '\0');
        }
        break;
    }
    case 2: {
        dtx_admin_action_body_t b;
        int rc = dtx_admin_action_body_parse((const char *)data, size, &b, err, sizeof err);
        CHECK(rc == 0 || rc == DTX_EINVAL || rc == DTX_ENOMEM);
        if (rc == 0) {
            size_t rl = strnlen(b.reason, sizeof b.reason), ol = strnlen(b.operator_name,
                                                                         sizeof b.operator_name);
            CHECK(rl > 0 && rl < sizeof b.reason);
            CHECK(ol < sizeof b.operator_name);
            CHECK(dtx_admin_text_ok(b.reason, rl, 1));
            CHECK(dtx_admin_text_ok(b.operator_name, ol, 0));
        } else {
            CHECK(err[0] != '\0');
        }
        break;
    }
    case 3: {
        int oom = 0;
        json_object *o = dtx_admin_json_parse((const char *)data, size, err, sizeof err, &oom);
        CHECK(o ? json_object_is_type(o, json_type_object) : err[0] != '\0');
        if (o)
            json_object_put(o);
        break;
    }
    default: {
        /* allow-list \n listen \n Host */
        char *listen = strchr(s, '\n'), *host = NULL;
        if (listen) {
            *listen++ = '\0';
            host = strchr(listen, '\n');
            if (host)
                *host++ = '\0';
        }
        int ok = dtx_admin_host_ok(s, listen, host);
        CHECK(ok == 0 || ok == 1);
        if (host && strcmp(host, "127.0.0.1") == 0)
            CHECK(ok == 1);
        break;
    }
    }
    free(s);
    return 0;
}
