/*
 * gw_reqhead.h — the HTTP/1.1 request head as a client sends it (RFC
 * 9112): request line, header fields, and the framing of the body that
 * follows. Pure: no sockets, no clock; parsed in place in the caller's
 * buffer (names and values NUL-terminated there). Tested on byte strings
 * (tests/unit/test_gw_reqhead.c) and fuzzed (tests/fuzz/fuzz_reqhead.c).
 *
 * Use on one request:
 *  1. dtx_gw_reqhead_end finds the end of the head in the bytes so far
 *     (empty lines before the request line are skipped, as RFC 9112 2.2
 *     allows); a head still incomplete past the limit is a 431;
 *  2. dtx_gw_reqhead_parse parses it and answers the status to refuse it
 *     with (400, 431, 501, 505), or 0;
 *  3. the body is self->body: none, Content-Length bytes, or chunked
 *     (decoded with gw_http1.h's chunked decoder, dtx_gw_http1_body; on
 *     HTTP/1.0 chunked is read but the connection not kept, RFC 9112
 *     6.1).
 *
 * Framing a gateway must not guess at (two Content-Lengths that differ,
 * Content-Length with Transfer-Encoding, a coding other than "chunked")
 * is not refused here: the head parses with body DTX_GW_REQBODY_BAD, the
 * request's framing check (front/gw_framing.h) gives the 400 and its
 * reason, and the connection closes after the answer, its body unread.
 */
#ifndef DTX_GW_REQHEAD_H
#define DTX_GW_REQHEAD_H

#include <stddef.h>
#include <stdint.h>

#define DTX_GW_REQHEAD_MAX_FIELDS 100   /* more header fields: 431 */

typedef enum {
    DTX_GW_REQBODY_NONE = 0,   /* no Content-Length, no Transfer-Encoding, or Content-Length: 0 */
    DTX_GW_REQBODY_LENGTH,     /* content_length bytes */
    DTX_GW_REQBODY_CHUNKED,    /* Transfer-Encoding: chunked */
    DTX_GW_REQBODY_BAD         /* framing refused (see above): nothing is read */
} dtx_gw_reqbody_t;

typedef struct dtx_gw_reqfield {
    const char *name;          /* NUL-terminated, in the caller's buffer */
    const char *value;         /* trimmed, NUL-terminated */
    size_t      name_len;
} dtx_gw_reqfield_t;

typedef struct dtx_gw_reqhead {
    const char       *method;
    char             *target;  /* as sent (the front normalises it) */
    int               minor;   /* HTTP/1.minor: 0 or 1 */
    int               keep_alive;      /* the connection may carry another request */
    int               expect_continue; /* Expect: 100-continue (HTTP/1.1) */
    dtx_gw_reqbody_t  body;
    int64_t           content_length;  /* -1 when not given (or refused) */
    int               nfields;
    dtx_gw_reqfield_t fields[DTX_GW_REQHEAD_MAX_FIELDS];
} dtx_gw_reqhead_t;

/* Length of the head in buf[0..len) with its blank line (and the empty
 * lines before it), or 0 when not complete yet. */
size_t dtx_gw_reqhead_end(const char *buf, size_t len);

/* Parses the head buf[0..len) (as found by _end) in place into self.
 * Returns 0, or the status to refuse it with: 400 (bad syntax: a method
 * that is not a token of 1-32 bytes, a target with a space or control
 * byte, a field name that is not a token or a space before its colon, a
 * control byte in a value, a folded line; no Host on HTTP/1.1, or two),
 * 431 (more than DTX_GW_REQHEAD_MAX_FIELDS fields), 505 (an HTTP major
 * version other than 1). *why gets a static reason. */
int dtx_gw_reqhead_parse(dtx_gw_reqhead_t *self, char *buf, size_t len, const char **why);

/* The field `name` (any case), or NULL: the first one. */
const char *dtx_gw_reqhead_field(const dtx_gw_reqhead_t *self, const char *name);

#endif
