/*
 * name.c — the names of the protocol (gids, resources, actions, instances,
 * node ids): 1..DTX_NAME_MAX bytes of [A-Za-z0-9._:-], the same in every
 * locale. The wire codec (proto.c), the Saga plan codec (saga.c) and the
 * coordinator's inputs all check names here.
 */
#include <assert.h>
#include <string.h>

#include "dtx/name.h"

/* The bytes a name may hold. Not isalnum(): names must not depend on the
 * locale. A table, not a chain of comparisons: every message's names pass
 * here (tests/unit/test_proto.c checks all 256 bytes). */
static const uint8_t s_name_char[256] = {
    ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1, ['0' ... '9'] = 1,
    ['.'] = 1, ['_'] = 1, [':'] = 1, ['-'] = 1,
};

size_t dtx_name_bad_char(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!s_name_char[s[i]])
            return i;
    return n;
}

int dtx_name_valid(const char *s)
{
    if (!s)
        return 0;
    size_t n = strnlen(s, DTX_NAME_MAX + 1);
    return n >= 1 && n <= DTX_NAME_MAX
        && dtx_name_bad_char((const uint8_t *) s, n) == n;
}

int dtx_name_copy(char dst[DTX_NAME_SIZE], const char *src)
{
    assert(dst);
    if (!dtx_name_valid(src)) {
        dst[0] = '\0';
        return DTX_EINVAL;
    }
    size_t n = strlen(src);
    memcpy(dst, src, n + 1);
    return DTX_OK;
}
