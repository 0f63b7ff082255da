/* admin_query.c — list filters into keyset bounds; see admin_query.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_query.h"
#include "dtx/proto.h"

static const char s_crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void dtx_ulid_time_prefix(int64_t ms, char out[11])
{
    uint64_t v = ms < 0 ? 0 : (uint64_t)ms & 0xFFFFFFFFFFFFull;
    for (int i = 9; i >= 0; i--) {
        out[i] = s_crockford[v & 31];
        v >>= 5;
    }
    out[10] = '\0';
}

int64_t dtx_duration_parse_ms(const char *s)
{
    if (!s || !isdigit((unsigned char)s[0]))
        return -1;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE || v < 0)
        return -1;
    int64_t mul;
    if (!*end || strcmp(end, "s") == 0)
        mul = 1000;
    else if (strcmp(end, "ms") == 0)
        mul = 1;
    else if (strcmp(end, "m") == 0)
        mul = 60000;
    else if (strcmp(end, "h") == 0)
        mul = 3600000;
    else if (strcmp(end, "d") == 0)
        mul = 86400000;
    else
        return -1;
    /* The bound is checked on the count before the unit multiplies it, so
     * the product can never overflow. */
    if (v > DTX_DURATION_MAX_MS / mul)
        return -1;
    return (int64_t)v * mul;
}

/* Keeps the larger lower bound / the smaller upper bound (byte order,
 * which is gid order for ULIDs). */
static void s_raise(char *bound, const char *v)
{
    if (!bound[0] || strcmp(v, bound) > 0)
        snprintf(bound, DTX_BOUND_SIZE, "%s", v);
}

static void s_lower(char *bound, const char *v)
{
    if (!bound[0] || strcmp(v, bound) < 0)
        snprintf(bound, DTX_BOUND_SIZE, "%s", v);
}

static int s_states(dtx_listq_t *q, const char *v, char *err, size_t errlen)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", v);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (strcmp(t, "unfinished") == 0) {
            static const int u[] = { DTX_STATE_ACTIVE, DTX_STATE_COMMITTING, DTX_STATE_ABORTING,
                                     DTX_STATE_STUCK };
            for (int i = 0; i < 4 && q->nstates < 6; i++)
                q->states[q->nstates++] = u[i];
            continue;
        }
        int s = dtx_state_parse(t);
        if (s < 0) {
            snprintf(err, errlen,
                     "state: '%.32s' is not one of active, committing, committed, aborting, "
                     "aborted, stuck, unfinished", t);
            return DTX_EINVAL;
        }
        int dup = 0;
        for (int i = 0; i < q->nstates; i++)
            dup |= q->states[i] == s;
        if (!dup && q->nstates < 6)
            q->states[q->nstates++] = s;
    }
    return 0;
}

int dtx_listq_parse(dtx_listq_t *q, dtx_listq_get_fn get, void *ctx, int64_t now_ms, char *err,
                    size_t errlen)
{
    return dtx_listq_parse_cell(q, get, ctx, now_ms, "", err, errlen);
}

void dtx_gid_time_bound(const char *cell, int64_t ms, char out[DTX_BOUND_SIZE])
{
    char p[11];
    dtx_ulid_time_prefix(ms, p);
    snprintf(out, DTX_BOUND_SIZE, "%.16s%s%s", cell ? cell : "", cell && cell[0] ? ":" : "", p);
}

int dtx_listq_parse_cell(dtx_listq_t *q, dtx_listq_get_fn get, void *ctx, int64_t now_ms,
                         const char *cell, char *err, size_t errlen)
{
    memset(q, 0, sizeof *q);
    q->limit = DTX_LIST_LIMIT_DEFAULT;
    const char *v;
    if ((v = get(ctx, "state")) && s_states(q, v, err, errlen) != 0)
        return DTX_EINVAL;
    if ((v = get(ctx, "mode"))) {
        if (strcmp(v, "tcc") == 0)
            q->mode = DTX_MODE_TCC;
        else if (strcmp(v, "2pc") == 0)
            q->mode = DTX_MODE_2PC;
        else if (strcmp(v, "saga") == 0)
            q->mode = DTX_MODE_SAGA;
        else if (strcmp(v, "msg") == 0)
            q->mode = DTX_MODE_MSG;
        else {
            snprintf(err, errlen, "mode: '%.16s' is not tcc, 2pc, saga or msg", v);
            return DTX_EINVAL;
        }
    }
    if ((v = get(ctx, "resource"))) {
        if (!dtx_name_valid(v)) {
            snprintf(err, errlen, "resource: not a valid resource name");
            return DTX_EINVAL;
        }
        snprintf(q->resource, sizeof q->resource, "%s", v);
    }
    if ((v = get(ctx, "order"))) {
        if (strcmp(v, "oldest") == 0 || strcmp(v, "asc") == 0)
            q->asc = 1;
        else if (strcmp(v, "newest") != 0 && strcmp(v, "desc") != 0) {
            snprintf(err, errlen, "order: '%.16s' is not newest or oldest", v);
            return DTX_EINVAL;
        }
    }
    if ((v = get(ctx, "limit"))) {
        char *end = NULL;
        long n = strtol(v, &end, 10);
        if (*end || n < 1 || n > DTX_LIST_LIMIT_MAX) {
            snprintf(err, errlen, "limit: must be 1..%d", DTX_LIST_LIMIT_MAX);
            return DTX_EINVAL;
        }
        q->limit = (int)n;
    }
    char p[DTX_BOUND_SIZE];
    if ((v = get(ctx, "min_age"))) {
        int64_t ms = dtx_duration_parse_ms(v);
        if (ms < 0) {
            snprintf(err, errlen, "min_age: '%.32s' is not a duration like 90s, 5m, 2h, 3d", v);
            return DTX_EINVAL;
        }
        dtx_gid_time_bound(cell, now_ms - ms, p); /* created before now - ms */
        s_lower(q->hi_ex, p);
    }
    if ((v = get(ctx, "max_age"))) {
        int64_t ms = dtx_duration_parse_ms(v);
        if (ms < 0) {
            snprintf(err, errlen, "max_age: '%.32s' is not a duration like 90s, 5m, 2h, 3d", v);
            return DTX_EINVAL;
        }
        dtx_gid_time_bound(cell, now_ms - ms, p); /* created at or after now - ms */
        s_raise(q->lo_in, p);
    }
    if ((v = get(ctx, "q"))) {
        char up[DTX_NAME_SIZE];
        size_t n = strlen(v);
        if (n >= sizeof up || !dtx_name_valid(v)) {
            snprintf(err, errlen, "q: a gid or the start of one ([A-Za-z0-9._:-], up to 63)");
            return DTX_EINVAL;
        }
        for (size_t i = 0; i <= n; i++)
            up[i] = (char)toupper((unsigned char)v[i]);
        snprintf(q->prefix, sizeof q->prefix, "%s", up);
        s_raise(q->lo_in, up);
        /* Every ULID starting with up sorts below up followed by 'Z's (the
         * largest digit of the alphabet), in byte order and in the usual
         * collations alike. */
        char hi[DTX_NAME_SIZE + 28];
        snprintf(hi, sizeof hi, "%sZZZZZZZZZZZZZZZZZZZZZZZZZZZ", up);
        s_lower(q->hi_ex, hi);
    }
    if ((v = get(ctx, "cursor"))) {
        if (!dtx_name_valid(v)) {
            snprintf(err, errlen, "cursor: not a cursor this server gave");
            return DTX_EINVAL;
        }
        if (q->asc)
            s_raise(q->lo_ex, v);
        else
            s_lower(q->hi_ex, v);
    }
    return 0;
}
