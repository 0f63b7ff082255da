/*
 * gw_http1.h — the HTTP/1.1 wire format of the gateway's upstream side:
 * a response head parser and body decoder (Content-Length, chunked, or
 * until close) and a small growable buffer to build requests in. Pure:
 * no sockets, no clock; tested on byte strings (tests/unit/test_gw_http1.c).
 *
 * Use on one answer:
 *  1. dtx_gw_http1_head_end finds the end of the head in the bytes so far;
 *  2. dtx_gw_http1_parse_head parses it in place (names and values are
 *     NUL-terminated inside the caller's buffer and handed to a callback)
 *     and sets the framing; a 1xx head is parsed and the next head follows;
 *  3. dtx_gw_http1_body decodes body bytes as they come, until it says
 *     the body is complete; dtx_gw_http1_at_eof says whether the upstream
 *     closing the connection ends the body well.
 * What a proxy must refuse is refused (RFC 9112): folded header lines, a
 * space before a colon, conflicting Content-Lengths, bad chunk sizes.
 */
#ifndef DTX_GW_HTTP1_H
#define DTX_GW_HTTP1_H

#include <stddef.h>
#include <stdint.h>
#include <strings.h>

#define DTX_GW_HTTP1_MAX_HEAD (16 * 1024)  /* an answer's head may be this long */

typedef enum {
    DTX_GW_BODY_NONE = 0,     /* HEAD, 1xx, 204, 304, Content-Length: 0 */
    DTX_GW_BODY_LENGTH,       /* Content-Length bytes */
    DTX_GW_BODY_CHUNKED,      /* Transfer-Encoding: chunked */
    DTX_GW_BODY_CLOSE         /* until the upstream closes */
} dtx_gw_body_kind_t;

typedef struct dtx_gw_http1_resp {
    int      status;
    int      minor;           /* HTTP/1.minor */
    int      keep_alive;      /* the connection may carry the next request */
    dtx_gw_body_kind_t body;
    int64_t  content_length;  /* -1 when not given */
    int      done;            /* the body is complete */
    /* decoder state */
    uint64_t left;            /* bytes left: LENGTH, or of the current chunk */
    int      cstate;
    int      digits;
} dtx_gw_http1_resp_t;

/* One field of a parsed head: name[0..name_len) and value[0..value_len),
 * both NUL-terminated in place. The name is a token; the value holds no
 * CR, LF or NUL (a bare CR inside it was replaced by a space, as RFC 9112
 * section 2.2 allows), so it can go on to a client as it is. */
typedef void (*dtx_gw_http1_header_fn)(const char *name, size_t name_len, const char *value,
                                       size_t value_len, void *arg);

/* Length of the head in buf[0..len) up to and with its blank line, 0 when
 * it is not complete yet. */
size_t dtx_gw_http1_head_end(const char *buf, size_t len);
/* Does the comma-separated field value list hold token (any case; blanks
 * around items ignored)? Connection: close / keep-alive, for answers here
 * and requests in gw_reqhead.c. */
int dtx_gw_http1_has_token(const char *list, const char *token);
/* 1 when header names a and b are equal in any case. The first bytes are
 * compared before strcasecmp: two names that differ there (most of the
 * pairs a head's fields meet) cost no call. */
/* 1 for the bytes of an RFC 9110 token (a field name, a method), else 0:
 * a table, where range checks and a strchr cost a dozen instructions a
 * byte of every field name of every head. */
extern const unsigned char dtx_gw_http1_tchar[256];

static inline int dtx_gw_http1_name_eq(const char *a, const char *b)
{
    return (((unsigned char)a[0] ^ (unsigned char)b[0]) & ~0x20u) == 0 && strcasecmp(a, b) == 0;
}

/* dtx_gw_http1_name_eq for a name of known length a_len and a literal b:
 * the lengths first (a compile-time one for b), so most names cost no
 * call at all. */
#define dtx_gw_http1_name_is(a, a_len, b) \
    ((a_len) == sizeof(b) - 1 && dtx_gw_http1_name_eq((a), (b)))

/* Parses the head buf[0..len) (as found by _head_end) in place and sets
 * self's framing. head_request: the request was HEAD (no body follows).
 * each header (name, value) goes to on_header when it is not NULL.
 * Returns 0, or DTX_EPROTO when the head is malformed. */
int dtx_gw_http1_parse_head(dtx_gw_http1_resp_t *self, char *buf, size_t len, int head_request,
                            dtx_gw_http1_header_fn on_header, void *arg);

/* Decodes body bytes in[0..len): sets *data / *data_len to the next piece
 * of body (may be empty) and *used to the bytes of in consumed. Call again
 * with the rest until all is used or self->done. Returns 0, or DTX_EPROTO when the
 * framing is broken. */
int dtx_gw_http1_body(dtx_gw_http1_resp_t *self, const char *in, size_t len, size_t *used,
                      const char **data, size_t *data_len);

/* The upstream closed the connection: 1 when that ends the body (body
 * until close, or already complete), 0 when the answer is cut short. */
int dtx_gw_http1_at_eof(const dtx_gw_http1_resp_t *self);

/* One response header kept for the client (pointers into the head).
 * The lengths are set by the upstream side that fills the array (the
 * HTTP exchange, the ZeroMQ reply), which also vouches that the name and
 * value hold no CR, LF or NUL: the answer copies them without a scan. */
typedef struct dtx_gw_resp_header {
    char    *name;
    char    *value;
    uint32_t name_len;
    uint32_t value_len;
} dtx_gw_resp_header_t;

/* A growable byte buffer (request heads, the /metrics text); data is
 * NUL-terminated once anything was appended. Start it zeroed. */
typedef struct dtx_gw_buf {
    char  *data;
    size_t len, cap;
    int    failed;   /* an append failed: every later one is refused too */
} dtx_gw_buf_t;

/* Appends n bytes: 0, or DTX_ENOMEM (now or at an earlier append). */
int  dtx_gw_buf_add(dtx_gw_buf_t *self, const void *bytes, size_t n);
/* Makes room for n more bytes and counts them in: where they are to be
 * written (the NUL after them is written), or NULL (DTX_ENOMEM, now or
 * at an earlier append). */
char *dtx_gw_buf_grow(dtx_gw_buf_t *self, size_t n);
/* Appends a NUL-terminated string. */
int  dtx_gw_buf_str(dtx_gw_buf_t *self, const char *s);
/* Appends the header line "name: value\r\n" (one room check, where four
 * appends made four: it runs for every field of every head). 0 or
 * DTX_ENOMEM. */
int  dtx_gw_buf_field(dtx_gw_buf_t *self, const char *name, size_t name_len,
                      const char *value, size_t value_len);
/* Appends printf-style text: 0, DTX_ENOMEM, or DTX_EINVAL for a format
 * that cannot be printed (the buffer is then failed too). */
int  dtx_gw_buf_printf(dtx_gw_buf_t *self, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Frees data and makes self empty (and not failed) again. */
void dtx_gw_buf_free(dtx_gw_buf_t *self);

#endif
