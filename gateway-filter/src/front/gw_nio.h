/*
 * gw_nio.h — a native connection's socket I/O (gw_nio.c). Each returns
 * DTX_GW_NC_GO (done, or bytes came), DTX_GW_NC_WAIT (the socket is
 * drained or full, or the body's reader suspended the connection) or
 * DTX_GW_NC_END (the client closed, an error, or the body was cut).
 */
#ifndef DTX_GW_NIO_H
#define DTX_GW_NIO_H

#include "front/gw_native_int.h"

/* Reads into buf[len, cap) (cap > len). */
int dtx_gw_nio_read(dtx_gw_nconn_t *nc);
/* Writes what is pending: wbuf[wpos..], wbody[woff..], wtail. */
int dtx_gw_nio_flush(dtx_gw_nconn_t *nc);
/* The next piece of a read body (out.read) into the pending bytes, as a
 * chunk when out_kind is chunked; read_end once the body is over. */
int dtx_gw_nio_next_piece(dtx_gw_nconn_t *nc);

#endif
