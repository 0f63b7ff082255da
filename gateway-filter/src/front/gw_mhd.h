/*
 * gw_mhd.h — the libmicrohttpd engine of a worker (gw_mhd.c): a daemon in
 * external epoll mode on its own SO_REUSEPORT socket, whose connections
 * carry requests (gw_request.h) through the operations of gw_front.h.
 * Everything here runs on the worker's thread.
 */
#ifndef DTX_GW_MHD_H
#define DTX_GW_MHD_H

#include <netinet/in.h>

#include "front/gw_server_int.h"

/* Starts w's daemon on sa and adds its epoll fd to w's set (events of
 * w->http_src). 0, or DTX_EIO. */
int  dtx_gw_mhd_open(dtx_gw_worker_t *w, const struct sockaddr_in *sa);
/* The port the daemon is bound to (0 when unknown). */
int  dtx_gw_mhd_port(dtx_gw_worker_t *w);
/* ms until the daemon needs to run (its timeouts), or -1. */
int  dtx_gw_mhd_timeout_ms(dtx_gw_worker_t *w);
/* Serves what is ready. */
void dtx_gw_mhd_run(dtx_gw_worker_t *w);
/* Stops accepting (closes the listening socket). */
void dtx_gw_mhd_quiesce(dtx_gw_worker_t *w);
/* Stops the daemon: every connection completes (on_done). Safe twice. */
void dtx_gw_mhd_close(dtx_gw_worker_t *w);

#endif
