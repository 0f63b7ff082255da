/*
 * gw_front.h — what a request (gw_request.c, gw_answer.c) needs from the
 * connection it came on, whichever engine serves it: the native HTTP/1.1
 * connections (gw_native.c) or libmicrohttpd's (gw_mhd.c). A request
 * holds its connection as (ops, conn) and calls nothing else of it.
 *
 * An answer is handed over as a dtx_gw_out_t: status, header fields, and
 * a body from memory or read piece by piece. The engine frames it
 * (Content-Length, chunked or until close, HEAD, Connection) and adds
 * Date.
 *
 * Suspension: a request that waits (upstream, offload pool, cache fill)
 * suspends its connection; the engine then neither calls it nor reads a
 * new request from that connection until it is resumed — on the worker's
 * thread with resume, from any other thread with resume_async (after
 * which the caller wakes the worker, gw_wake.h).
 */
#ifndef DTX_GW_FRONT_H
#define DTX_GW_FRONT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/gw_chain.h"
#include "core/gw_http1.h"

/* A streamed body's read: > 0 bytes put in buf; 0: nothing yet, the
 * connection was suspended and read is called again once resumed;
 * DTX_GW_OUT_END: the body is over; DTX_GW_OUT_ERROR: cut (the
 * connection closes, the client sees a short answer). */
#define DTX_GW_OUT_END   (-1)
#define DTX_GW_OUT_ERROR (-2)
typedef ssize_t (*dtx_gw_out_read_fn)(void *cls, char *buf, size_t max);

typedef struct dtx_gw_out {
    int           status;
    int           nfields;
    dtx_gw_buf_t  fields;        /* nfields of: the name's and the value's lengths
                                    (two uint32_t), "name\0value\0" (gw_out.c) */
    /* The body: from memory (read NULL), or read piece by piece. */
    const char   *body;
    size_t        body_len;
    void        (*body_free)(void *arg);   /* called with body_arg once sent, or NULL */
    void         *body_arg;
    dtx_gw_out_read_fn read;
    void         *read_cls;
    int64_t       length;        /* of a read body, -1 when unknown */
} dtx_gw_out_t;

/* Starts an empty answer of status (body none). */
void dtx_gw_out_init(dtx_gw_out_t *self, int status);
/* Adds a field (ignored when the name or value holds CR, LF or NUL, or
 * out of memory). */
void dtx_gw_out_field(dtx_gw_out_t *self, const char *name, const char *value);
/* Adds the field name[0..name_len) value[0..value_len) (both also
 * NUL-terminated there) without looking for CR, LF or NUL: for a field
 * the caller vouches for (an upstream answer's, dtx_gw_resp_header_t).
 * An empty name is ignored, as out of memory is. */
void dtx_gw_out_field_n(dtx_gw_out_t *self, const char *name, size_t name_len,
                        const char *value, size_t value_len);
/* The field's value (any case), or NULL. */
const char *dtx_gw_out_get(const dtx_gw_out_t *self, const char *name);
/* Walks the fields: *pos starts at 0; 1 and *name / *value while there
 * is one, 0 at the end. */
int dtx_gw_out_next(const dtx_gw_out_t *self, size_t *pos, const char **name,
                    const char **value);
/* The same, with the lengths (no strlen: every field of every answer). */
int dtx_gw_out_next_n(const dtx_gw_out_t *self, size_t *pos, const char **name,
                      size_t *name_len, const char **value, size_t *value_len);
/* Frees the fields and the body (body_free). */
void dtx_gw_out_fini(dtx_gw_out_t *self);

typedef struct dtx_gw_front_ops {
    void        (*suspend)(void *conn);
    void        (*resume)(void *conn);        /* on the worker's thread */
    void        (*resume_async)(void *conn);  /* any thread; the caller then wakes the worker */
    const char *(*header)(void *conn, const char *name);
    void        (*each_header)(void *conn, dtx_gw_header_visit_fn fn, void *arg);
    /* The client's address as text (empty when unknown). */
    void        (*client_ip)(void *conn, char *out, size_t cap);
    /* The socket the upstream side may watch for the client leaving, or
     * -1 when the engine watches it itself. */
    int         (*client_fd)(void *conn);
    /* Queues the answer: 1 (out taken), or 0 (the connection is closing,
     * or no memory: out freed). */
    int         (*queue)(void *conn, dtx_gw_out_t *out);
} dtx_gw_front_ops_t;

#endif
