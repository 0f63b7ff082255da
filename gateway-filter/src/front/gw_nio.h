/*
 * gw_nio.h — a native connection's socket I/O (gw_nio.c). Each returns
 * DTX_GW_NC_GO (done, or bytes came), DTX_GW_NC_WAIT (the socket is
 * drained or full, or the body's reader suspended the connection) or
 * DTX_GW_NC_END (the client closed, an error, or the body was cut).
 */
#ifndef DTX_GW_NIO_H
#define DTX_GW_NIO_H

#include <sys/types.h>
#include <sys/uio.h>

#include "front/gw_native_int.h"

/* writev(2) of the connection's socket, through the worker's send ring
 * when it has one (taken whole, or -1 with errno EAGAIN when the ring's
 * queue for the socket is full, EPIPE when an earlier send failed). */
ssize_t dtx_gw_nio_send(dtx_gw_nconn_t *nc, const struct iovec *iov, int n);
/* shutdown(SHUT_WR) of the socket, after the bytes the ring holds for it. */
void dtx_gw_nio_shutdown_wr(dtx_gw_nconn_t *nc);
/* Closes the socket (fd -1 after): at once, or through the ring once its
 * bytes are out (out of the worker's epoll set now). */
void dtx_gw_nio_close(dtx_gw_nconn_t *nc);

/* Reads into buf[len, cap) (cap > len). */
int dtx_gw_nio_read(dtx_gw_nconn_t *nc);
/* Writes what is pending: wbuf[wpos..], wbody[woff..], wtail. */
int dtx_gw_nio_flush(dtx_gw_nconn_t *nc);
/* The next piece of a read body (out.read) into the pending bytes, as a
 * chunk when out_kind is chunked; read_end once the body is over. */
int dtx_gw_nio_next_piece(dtx_gw_nconn_t *nc);

#endif
