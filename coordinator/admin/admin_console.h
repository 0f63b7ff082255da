/*
 * admin_console.h — the web console's static files, compiled into dtxd
 * (scripts/embed-console.sh turns coordinator/admin/console/ into a C table at
 * build time, so dtxd never looks for files on disk).
 */
#ifndef DTX_COORD_ADMIN_CONSOLE_H
#define DTX_COORD_ADMIN_CONSOLE_H

#include <stddef.h>

typedef struct dtx_console_file {
    const char *name;   /* file name in coordinator/admin/console/ */
    const char *ctype;  /* Content-Type */
    const char *data;   /* contents */
    size_t      len;    /* bytes */
} dtx_console_file_t;

extern const dtx_console_file_t dtx_console_files[];
extern const int dtx_console_files_count;

#endif
