/*
 * pgres_name.c — the names of dtx/pgres.h's prepared transactions
 * (pgres_name.h), pure functions.
 */
#include <assert.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dtx/name.h"
#include "pgres_name.h"

int dtx_pgres_name_build(const char *gid, uint32_t branch, char *out, size_t cap)
{
    assert(out || cap == 0);
    if (!gid || !dtx_name_valid(gid) || branch == 0 || branch > INT32_MAX)
        return DTX_EINVAL;
    int n = snprintf(out, cap, DTX_PGRES_NAME_PREFIX "%s:%" PRIu32, gid, branch);
    if (n < 0 || (size_t)n >= cap)
        return DTX_ETOOBIG;
    assert(n <= DTX_PGRES_PG_GID_MAX);
    return n;
}

int dtx_pgres_name_parse(const char *name, char gid[DTX_GID_SIZE], uint32_t *branch)
{
    assert(gid && branch);
    const size_t prefix = sizeof DTX_PGRES_NAME_PREFIX - 1;
    if (!name)
        return DTX_EINVAL;
    size_t len = strnlen(name, DTX_PGRES_PG_GID_MAX + 1);
    if (len > DTX_PGRES_PG_GID_MAX || len <= prefix ||
        memcmp(name, DTX_PGRES_NAME_PREFIX, prefix) != 0)
        return DTX_EINVAL;
    const char *colon = strrchr(name, ':');
    assert(colon); /* the prefix has one */
    if (colon < name + prefix)
        return DTX_EINVAL;
    const char *digits = colon + 1;
    size_t ndigits = len - (size_t)(digits - name);
    if (ndigits == 0 || ndigits > 10 || digits[0] == '0')
        return DTX_EINVAL;
    uint64_t v = 0;
    for (size_t i = 0; i < ndigits; i++) {
        if (!isdigit((unsigned char)digits[i]))
            return DTX_EINVAL;
        v = v * 10 + (uint64_t)(digits[i] - '0');
    }
    if (v > INT32_MAX)
        return DTX_EINVAL;
    size_t ngid = (size_t)(colon - (name + prefix));
    if (ngid == 0 || ngid > DTX_NAME_MAX)
        return DTX_EINVAL;
    char tmp[DTX_GID_SIZE];
    memcpy(tmp, name + prefix, ngid);
    tmp[ngid] = '\0';
    if (!dtx_name_valid(tmp))
        return DTX_EINVAL;
    memcpy(gid, tmp, ngid + 1);
    *branch = (uint32_t)v;
    return 0;
}
