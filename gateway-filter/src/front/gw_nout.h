/*
 * gw_nout.h — an answer's head as the native engine writes it
 * (gw_nout.c): status line, the answer's fields, Date, and the framing
 * the engine chooses for its body. Pure: tested on byte strings
 * (tests/unit/test_gw_native.c).
 */
#ifndef DTX_GW_NOUT_H
#define DTX_GW_NOUT_H

#include <stddef.h>
#include <time.h>

#include "core/gw_http1.h"
#include "front/gw_front.h"

typedef enum {
    DTX_GW_NOUT_NONE = 0,     /* no body goes (HEAD, 1xx, 204, 304) */
    DTX_GW_NOUT_MEMORY,       /* out->body, Content-Length */
    DTX_GW_NOUT_LENGTH,       /* read, out->length bytes (Content-Length) */
    DTX_GW_NOUT_CHUNKED,      /* read, chunked (HTTP/1.1, length unknown) */
    DTX_GW_NOUT_CLOSE         /* read until its end, then close (HTTP/1.0, length unknown) */
} dtx_gw_nout_body_t;

/* Appends the head of out to b for a request of HTTP/1.minor
 * (head_method: it was HEAD). *keep_alive: in, whether the connection
 * may carry another request; out, whether it will (a body framed by
 * close ends it). Fields the engine owns (Content-Length,
 * Transfer-Encoding, Connection) are dropped from out's; Date is added
 * (date: "Sun, 06 Dec 2026 22:00:00 GMT") unless out has one. Returns
 * the body's framing, or -1 when out of memory. */
int dtx_gw_nout_head(dtx_gw_buf_t *b, const dtx_gw_out_t *out, int minor, int head_method,
                     int *keep_alive, const char *date);

/* The Date of answers now ("Sun, 06 Dec 2026 22:00:00 GMT") in
 * buf[0..cap), made again when the second changed since *at. Returns buf. */
const char *dtx_gw_nout_date(char *buf, size_t cap, time_t *at);

/* The reason phrase of status ("OK"), "" for one unknown. */
const char *dtx_gw_nout_reason(int status);

#endif
