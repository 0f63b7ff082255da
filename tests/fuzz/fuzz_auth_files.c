/*
 * fuzz_auth_files.c — libFuzzer target for the two credential files dtxd
 * reads: the admin token file (dtx_admin_tokens_parse,
 * coordinator/admin/admin_auth.c; dtx_admin_tokens_load reads the file and
 * hands its text to it) and the CURVE allow-list (dtx_auth_parse_allow,
 * coordinator/engine/auth.c: KEY NAME roles... lines).
 *
 * The first byte picks the parser; the rest is the file's text. Whatever
 * the text, nothing may crash, overflow or leak, and:
 *   - a refused file leaves a message;
 *   - checking "Bearer <token>X" against an accepted table (a token of
 *     the file one byte longer) matches only when that text is in the
 *     file too;
 *   - an accepted allow-list has as many entries as it says, each with a
 *     40-character key, a non-empty name and a role.
 *
 *   make fuzz FUZZ_ONLY=auth_files [FUZZ_SECONDS=60]
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin_auth.h"
#include "engine/auth.h"

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "fuzz_auth_files: %s:%d: check failed: %s\n",   \
                    __FILE__, __LINE__, #cond);                            \
            abort();                                                       \
        }                                                                  \
    } while (0)

static void s_tokens(const char *text)
{
    char err[256] = "";
    dtx_admin_tokens_t *t = dtx_admin_tokens_parse(text, err, sizeof err);
    if (!t) {
        CHECK(err[0] != '\0');
        return;
    }
    /* Every name:token line that parsed answers with its name. */
    int n = dtx_admin_tokens_count(t);
    CHECK(n >= 0);
    const char *line = text;
    while (line && *line) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        char buf[600];
        const char *colon = memchr(line, ':', len);
        if (colon && len < 300 && line[0] != '#' && line[0] != ' ' && line[0] != '\t') {
            size_t tl = len - (size_t)(colon + 1 - line);
            while (tl && (colon[tl] == '\r' || colon[tl] == ' ' || colon[tl] == '\t'))
                tl--;
            if (tl >= DTX_ADMIN_TOKEN_MIN && tl <= DTX_ADMIN_TOKEN_MAX) {
                snprintf(buf, sizeof buf, "Bearer %.*sX", (int)tl, colon + 1);
                CHECK(dtx_admin_tokens_check(t, buf) == NULL || strstr(text, buf + 7) != NULL);
            }
        }
        line = eol ? eol + 1 : NULL;
    }
    CHECK(dtx_admin_tokens_check(t, NULL) == NULL);
    dtx_admin_tokens_destroy(&t);
    CHECK(t == NULL);
}

static void s_allow(const char *text)
{
    char err[256] = "";
    dtx_allow_entry_t *list = NULL;
    int n = dtx_auth_parse_allow(text, &list, err, sizeof err);
    if (n < 0) {
        CHECK(err[0] != '\0');
        CHECK(list == NULL);
        return;
    }
    int seen = 0;
    for (dtx_allow_entry_t *e = list; e; e = e->hnext, seen++) {
        CHECK(strlen(e->key) == 40);
        CHECK(e->name[0] != '\0' && strlen(e->name) < sizeof e->name);
        CHECK(e->roles != 0);
        CHECK(e->nresources >= 0);
        for (int i = 0; i < e->nresources; i++)
            CHECK(memchr(e->resources[i], '\0', DTX_NAME_SIZE) != NULL);
    }
    CHECK(seen == n);
    dtx_auth_entries_free(list);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    int mode = data[0] & 1;
    char *s = malloc(size);
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    if (mode == 0)
        s_tokens(s);
    else
        s_allow(s);
    free(s);
    return 0;
}
