/*
 * admin_auth.h — bearer tokens of the admin HTTP API.
 *
 * Tokens come from a file (--admin-token-file), one `name:token` per line;
 * blank lines and lines starting with '#' are ignored. The name says who
 * acted (it goes into the audit log); the token is the secret. There are
 * no default credentials: with no file, no token exists and every call
 * that needs one is refused. A token must be at least
 * DTX_ADMIN_TOKEN_MIN characters of printable ASCII without spaces.
 *
 * Checking a presented token takes time that depends only on the length
 * of what was presented and on the number of tokens, never on how much of
 * a real token it matches. Secrets are wiped from memory when destroyed
 * and never logged. No sockets, no MHD: unit-tested.
 */
#ifndef DTX_COORD_ADMIN_AUTH_H
#define DTX_COORD_ADMIN_AUTH_H

#include <stddef.h>

#define DTX_ADMIN_TOKEN_MIN 16
#define DTX_ADMIN_TOKEN_MAX 256

typedef struct dtx_admin_tokens dtx_admin_tokens_t;

/* Parses the text of a token file. Returns the table (possibly empty), or
 * NULL with a message in err naming the line ("line 3: token shorter than
 * 16 characters") — the message never contains a token. */
dtx_admin_tokens_t *dtx_admin_tokens_parse(const char *text, char *err, size_t errlen);
/* Reads and parses path (NULL or "" gives an empty table). */
dtx_admin_tokens_t *dtx_admin_tokens_load(const char *path, char *err, size_t errlen);
void dtx_admin_tokens_destroy(dtx_admin_tokens_t **self_p);

int dtx_admin_tokens_count(const dtx_admin_tokens_t *self);

/* Checks an Authorization header value ("Bearer <token>", scheme
 * case-insensitive). Returns the matching token's name (owned by the
 * table), or NULL when the header is missing, malformed or matches none. */
const char *dtx_admin_tokens_check(const dtx_admin_tokens_t *self, const char *authorization);

/* Constant-time comparison of a (alen bytes) with b (blen bytes): 1 when
 * equal. Its time depends on alen only. */
int dtx_admin_ct_equal(const char *a, size_t alen, const char *b, size_t blen);

#endif
