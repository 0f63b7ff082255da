/*
 * admin_console.c — serves the embedded console: "/" is index.html,
 * "/console/<name>" any other file. No disk, no directory walking: a name
 * either is in the compiled-in table or it is a 404.
 */
#include <string.h>

#include "admin_console.h"
#include "admin_internal.h"

int dtx_admin_console(dtx_admin_req_t *r)
{
    const char *name = NULL;
    if (strcmp(r->path, "/") == 0 || strcmp(r->path, "/index.html") == 0)
        name = "index.html";
    else if (strncmp(r->path, "/console/", 9) == 0)
        name = r->path + 9;
    if (!name)
        return DTX_ENOTFOUND;
    for (int i = 0; i < dtx_console_files_count; i++) {
        const dtx_console_file_t *f = &dtx_console_files[i];
        if (strcmp(f->name, name) != 0)
            continue;
        if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
            r->allow = "GET";
            dtx_admin_respond_error(r, 405, "%s is not allowed on %.200s", r->method, r->path);
            return 0;
        }
        dtx_admin_respond_raw(r, 200, f->ctype, f->data, f->len, 1);
        return 0;
    }
    return DTX_ENOTFOUND;
}
