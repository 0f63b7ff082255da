/*
 * sample_ready.c — see sample_ready.h.
 */
#include "sample_ready.h"

#include <errno.h>
#include <stdio.h>

int sample_ready_write(const char *path)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    int ok = fputs("registered\n", f) >= 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) < 0)
        return -1;
    return 0;
}
