/*
 * version.c — dtx_version(): the version of this libdtx, as the build
 * wrote it into dtx/version.h from the file VERSION. Static text; never
 * NULL.
 */
#include "dtx/dtx.h"

const char *dtx_version(void)
{
    return DTX_VERSION_STRING;
}
