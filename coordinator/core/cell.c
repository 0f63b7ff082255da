/* cell.c — cell names in gids; see cell.h. Pure: no I/O. */
#include <string.h>

#include "cell.h"

int dtx_cell_valid(const char *name)
{
    if (!name || !(name[0] >= 'a' && name[0] <= 'z'))
        return 0;
    size_t n = 0;
    for (const char *c = name; *c; c++, n++) {
        int ok = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-';
        if (!ok || n >= DTX_CELL_MAX)
            return 0;
    }
    return 1;
}

size_t dtx_cell_of(const char *gid, char *out, size_t cap)
{
    if (cap)
        out[0] = '\0';
    const char *colon = gid ? strchr(gid, ':') : NULL;
    if (!colon)
        return 0;
    size_t n = (size_t)(colon - gid);
    if (n == 0 || n > DTX_CELL_MAX || n + 1 > cap)
        return 0;
    memcpy(out, gid, n);
    out[n] = '\0';
    if (!dtx_cell_valid(out)) {
        out[0] = '\0';
        return 0;
    }
    return n;
}

int dtx_cell_serves(const char *cell, const char *gid)
{
    char of[DTX_CELL_MAX + 1];
    if (!cell || !cell[0] || dtx_cell_of(gid, of, sizeof of) == 0)
        return 1;
    return strcmp(of, cell) == 0;
}
