/*
 * gw_request.h — a request's state machine (gw_request.c), as the three
 * libmicrohttpd callbacks each worker's daemon is started with
 * (gw_server.c). Internal to the server: cls is always the daemon's
 * worker (dtx_gw_worker_t *, gw_server_int.h).
 */
#ifndef DTX_GW_REQUEST_H
#define DTX_GW_REQUEST_H

#include <stddef.h>

#include <microhttpd.h>

/* MHD_OPTION_URI_LOG_CALLBACK: a new request's context, keeping the raw
 * request target. NULL when out of memory (dtx_gw_request_access then
 * tries again). */
void *dtx_gw_request_on_uri(void *cls, const char *uri, struct MHD_Connection *conn);

/* The access handler: drives the request through its phases, once per
 * MHD call (headers, each piece of the body, the end, each resume). */
enum MHD_Result dtx_gw_request_access(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls);

/* MHD_OPTION_NOTIFY_COMPLETED: the request is over however it ended;
 * on_done runs and the context is freed (on the offload pool when a
 * transaction is to be rolled back). Sets *con_cls to NULL. */
void dtx_gw_request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                              enum MHD_RequestTerminationCode toe);

#endif
