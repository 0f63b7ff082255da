/*
 * gw_native.h — the native HTTP/1.1 engine of a worker (gw_native.c,
 * its connections gw_nconn.c): a listening socket of its own on the
 * shared port (SO_REUSEPORT: the kernel spreads connections over the
 * workers), and each client connection an object of the worker, in the
 * worker's epoll set (edge-triggered, registered once), with its read
 * buffer, its request head (core/gw_reqhead.h), its body and its answer
 * written with writev. A connection whose request waits (upstream,
 * offload pool, cache fill) is simply not run until resumed: no epoll
 * change, no copy. Everything here runs on the worker's thread but
 * dtx_gw_native_resume_async's caller.
 */
#ifndef DTX_GW_NATIVE_H
#define DTX_GW_NATIVE_H

#include <netinet/in.h>
#include <stdint.h>

#include "core/gw_event.h"
#include "front/gw_server_int.h"

typedef struct dtx_gw_native dtx_gw_native_t;

/* w's engine listening on sa, its socket in w's epoll set. NULL on
 * failure (logged). */
dtx_gw_native_t *dtx_gw_native_open(dtx_gw_worker_t *w, const struct sockaddr_in *sa,
                                    const dtx_gw_native_opts_t *opts);
/* The port it is bound to. */
int  dtx_gw_native_port(const dtx_gw_native_t *self);
/* An epoll event of kind DTX_GW_EV_ACCEPT or DTX_GW_EV_CONN. */
void dtx_gw_native_on_event(dtx_gw_native_t *self, dtx_gw_event_source_t *src,
                            uint32_t events);
/* Runs the connections resumed since (on this thread, or handed over by
 * another: the worker's wake-up). Returns how many ran. */
int  dtx_gw_native_run(dtx_gw_native_t *self);
/* 1 when connections wait to be run (the loop must not block). */
int  dtx_gw_native_pending(const dtx_gw_native_t *self);
/* ms until the first connection deadline, or -1. */
int  dtx_gw_native_timeout_ms(const dtx_gw_native_t *self, int64_t now_us);
/* Closes the connections whose deadline passed. */
void dtx_gw_native_expire(dtx_gw_native_t *self, int64_t now_us);
/* Stops accepting (the listening socket closes). */
void dtx_gw_native_quiesce(dtx_gw_native_t *self);
/* Closes every connection (requests complete, on_done) and frees it. */
void dtx_gw_native_close(dtx_gw_native_t **self_p);

#endif
