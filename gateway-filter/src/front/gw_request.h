/*
 * gw_request.h — a request's state machine (gw_request.c), as its
 * connection's engine drives it (gw_native.c, gw_mhd.c). Internal to the
 * server.
 *
 * The engine calls _run once the head is in (upload_size 0), then with
 * each piece of the body (it keeps the bytes _run leaves unconsumed and
 * hands them again), then once more with upload_size 0 at the body's end,
 * and again each time the connection is resumed (gw_front.h) — the way
 * libmicrohttpd calls an access handler. Once the request queued its
 * answer, the engine sends it and calls _completed.
 */
#ifndef DTX_GW_REQUEST_H
#define DTX_GW_REQUEST_H

#include <stddef.h>

#include "front/gw_front.h"
#include "front/gw_server_int.h"

typedef struct dtx_gw_rctx dtx_gw_rctx_t;

/* A new request on (ops, conn) of worker w, with its raw request target
 * (copied). NULL when out of memory. */
dtx_gw_rctx_t *dtx_gw_request_new(dtx_gw_worker_t *w, const dtx_gw_front_ops_t *ops, void *conn,
                                  const char *target);

/* Drives the request through its phases, once per engine call (see
 * above). method: the request's, kept until _completed. Returns 1 to go
 * on, 0 when the connection is to be closed (on_done then runs at
 * _completed). */
int dtx_gw_request_run(dtx_gw_rctx_t *c, const char *method, const char *upload_data,
                       size_t *upload_size);

/* The request's body cannot be read (broken chunked framing, why says
 * how): unless its answer is decided already, a streamed body's call is
 * cut and the answer is a 400. Then as _run (the engine stops feeding
 * the body, calls _run again when resumed, and does not keep the
 * connection). */
int dtx_gw_request_bad_body(dtx_gw_rctx_t *c, const char *why);

/* The client left while the request's connection was suspended: 1 when
 * the request was waiting for its upstream call, which is cut (the
 * request is resumed at the worker's next dispatch and closes), 0 when it
 * waits for something else (the engine closes it once resumed). */
int dtx_gw_request_client_left(dtx_gw_rctx_t *c);

/* The request is over however it ended (ok: its answer was sent whole);
 * on_done runs and the context ends: kept by its worker for a next request
 * (gw_rctx.h), or freed on the offload pool when a transaction is to be
 * rolled back. Runs on the worker's thread (or once its loop has ended).
 * Sets *c_p to NULL. */
void dtx_gw_request_completed(dtx_gw_rctx_t **c_p, int ok);

#endif
