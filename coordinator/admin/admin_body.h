/*
 * admin_body.h — request bodies of the admin API, parsed without MHD,
 * sockets or a database (unit-tested and fuzzed: tests/fuzz/fuzz_admin.c).
 *
 * Invariants: a body is at most the caller's cap (--http-max-body, checked
 * before it is buffered); what this module accepts as text is valid UTF-8
 * without NUL, so it can go to PostgreSQL as a text parameter and never
 * makes a statement fail; nothing accepted is ever cut (an over-long value
 * is refused, so no character is split).
 */
#ifndef DTX_COORD_ADMIN_BODY_H
#define DTX_COORD_ADMIN_BODY_H

#include <stddef.h>

#include <json-c/json.h>

#define DTX_ADMIN_REASON_MAX 512   /* bytes with the NUL */
#define DTX_ADMIN_OPERATOR_MAX 64  /* bytes with the NUL */

/* An operator action's body: {"reason": "...", "operator": "..."}. */
typedef struct dtx_admin_action_body {
    char reason[DTX_ADMIN_REASON_MAX];     /* leading spaces dropped; never empty */
    char operator_name[DTX_ADMIN_OPERATOR_MAX]; /* "" when not given */
} dtx_admin_action_body_t;

/* Parses body (len bytes, need not be NUL-terminated) as one JSON object;
 * an empty body gives an empty object. Returns the object (the caller puts
 * it), or NULL with a message in err (invalid JSON, not an object, out of
 * memory: *oom is set then). */
json_object *dtx_admin_json_parse(const char *body, size_t len, char *err, size_t errlen,
                                  int *oom);

/* 1 when s (len bytes) is valid UTF-8 with no NUL and, unless
 * allow_newlines, no control character (tab, CR and LF are allowed when
 * allow_newlines). */
int dtx_admin_text_ok(const char *s, size_t len, int allow_newlines);

/* Parses an action's body into out. Returns 0, or DTX_EINVAL with a
 * message for a 400 in err; DTX_ENOMEM when out of memory. */
int dtx_admin_action_body_parse(const char *body, size_t len, dtx_admin_action_body_t *out,
                                char *err, size_t errlen);

#endif
