/*
 * gw_nconn.h — one client connection of the native engine (gw_nconn.c):
 * its state machine, as the engine (gw_native.c) drives it. The structs
 * are gw_native_int.h's.
 */
#ifndef DTX_GW_NCONN_H
#define DTX_GW_NCONN_H

#include <stdint.h>
#include <sys/socket.h>

#include "front/gw_native_int.h"

/* Puts nc on its engine's run list (nothing when already there): it runs
 * at the engine's next dtx_gw_native_run. */
void dtx_gw_nconn_schedule(dtx_gw_nconn_t *nc);
/* A new connection on fd, in the engine's `all` list (registered in
 * epoll by the caller; _close it if that fails). NULL when out of
 * memory. */
dtx_gw_nconn_t *dtx_gw_nconn_new(dtx_gw_native_t *eng, int fd, const struct sockaddr *peer,
                                 socklen_t peer_len);
/* An epoll event on nc: its readiness noted, nc run at the next
 * dtx_gw_native_run (after the batch of events). */
void dtx_gw_nconn_on_event(dtx_gw_nconn_t *nc, uint32_t events);
/* Drives nc as far as it can go. */
void dtx_gw_nconn_run(dtx_gw_nconn_t *nc);
/* nc's deadline passed: it closes. */
void dtx_gw_nconn_expire(dtx_gw_nconn_t *nc);
/* Closes nc; its request (if any) completes, ok says whether its answer
 * went whole. nc leaves the engine's `all` list and is freed now, or
 * (`dead`) when it comes off the run or async list. */
void dtx_gw_nconn_close(dtx_gw_nconn_t *nc, int ok);
/* Frees what nc holds and nc (after _close). */
void dtx_gw_nconn_free(dtx_gw_nconn_t *nc);

#endif
