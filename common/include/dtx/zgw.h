/*
 * dtx/zgw.h — the HTTP ⇄ ZeroMQ message of dtx-gateway's zmq pools
 * ("DTXGW/1"), encoded and decoded on both sides: the gateway
 * (gateway-filter/src/upstream/gw_zmq*.c) and libdtx's service helper
 * (dtx/zsvc.h). Pure: no sockets, no allocation; frames point into the
 * caller's buffers. docs/gateway.md "ZeroMQ pools" is the reference a
 * service in another language follows; this is its C form.
 *
 * A request, as the gateway's DEALER sends it (the service's ROUTER sees
 * the peer's routing id first, then these 9 frames):
 *   0 ""            empty delimiter
 *   1 "DTXGW/1"     version
 *   2 request id    1..64 bytes, opaque: the reply echoes it
 *   3 method        "GET", "POST", ...
 *   4 path          as sent to an HTTP upstream (starts with '/', no query)
 *   5 query         without '?'; empty when none
 *   6 gid           the transaction's gid on a transactional route, else empty
 *   7 headers       "Name: value\r\n" lines (the headers an HTTP upstream would
 *                   get, minus Content-Length / Transfer-Encoding); may be empty
 *   8 body          may be empty
 * A reply, as the service's ROUTER sends it after the routing id (so the
 * gateway's DEALER receives these 6 frames):
 *   0 ""            empty delimiter
 *   1 "DTXGW/1"     version
 *   2 request id    the request's, byte for byte
 *   3 status        three ASCII digits, 200..599
 *   4 headers       as in the request
 *   5 body
 * Header block: zero or more lines NAME ":" [SP/HT...] VALUE CRLF; NAME
 * an RFC 9110 token, VALUE without CR, LF or NUL; at most
 * DTX_ZGW_MAX_HEADERS bytes and DTX_ZGW_MAX_HEADER_LINES lines.
 */
#ifndef DTX_ZGW_H
#define DTX_ZGW_H

#include <stddef.h>

#define DTX_ZGW_VERSION          "DTXGW/1"
#define DTX_ZGW_REQUEST_FRAMES   9
#define DTX_ZGW_REPLY_FRAMES     6
#define DTX_ZGW_MAX_ID           64
#define DTX_ZGW_MAX_HEADERS      16384     /* bytes of a header block */
#define DTX_ZGW_MAX_HEADER_LINES 256

typedef struct dtx_zgw_frame {
    const char *data;
    size_t      len;
} dtx_zgw_frame_t;

typedef struct dtx_zgw_request {
    dtx_zgw_frame_t id, method, path, query, gid, headers, body;
} dtx_zgw_request_t;

typedef struct dtx_zgw_reply {
    dtx_zgw_frame_t id;     /* set as soon as frame 2 is there and 1..64 bytes */
    int             status;
    dtx_zgw_frame_t headers, body;
} dtx_zgw_reply_t;

/* Checks a reply's frames (n of them) and fills out. max_body: the most
 * body bytes accepted (0: no limit). Returns 0, or DTX_EPROTO /
 * DTX_EVERSION / DTX_ETOOBIG with *why a short static reason ("too few
 * frames", "bad version", "bad status", ...). out->id is set (len > 0)
 * whenever the id frame could be read, even when the reply is refused,
 * so the caller can fail the call it belongs to. */
int dtx_zgw_reply_decode(const dtx_zgw_frame_t *f, int n, size_t max_body,
                         dtx_zgw_reply_t *out, const char **why);

/* The same for a request (the service's side), frames without the routing
 * id. out->id is set whenever it could be read. */
int dtx_zgw_request_decode(const dtx_zgw_frame_t *f, int n, dtx_zgw_request_t *out,
                           const char **why);

/* Fills the 9 request frames from their parts (each frame points to the
 * argument given; "" for empty ones). */
void dtx_zgw_request_frames(dtx_zgw_frame_t f[DTX_ZGW_REQUEST_FRAMES], const dtx_zgw_request_t *r);

/* Writes the status frame (3 digits) of a reply into buf[3]. Returns 0, or
 * DTX_EINVAL when status is not 200..599. */
int dtx_zgw_status_frame(char buf[3], int status);

/* Checks a header block (the rules above). 0 or DTX_EPROTO / DTX_ETOOBIG
 * with *why. */
int dtx_zgw_headers_check(const char *p, size_t len, const char **why);

/* Walks a checked header block: from *pos, the next line's name and value
 * (not NUL-terminated). Returns 1 when one was found, 0 at the end. */
int dtx_zgw_headers_next(const char *p, size_t len, size_t *pos, dtx_zgw_frame_t *name,
                         dtx_zgw_frame_t *value);

#endif
