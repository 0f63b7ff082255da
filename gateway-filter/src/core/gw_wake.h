/*
 * gw_wake.h — a worker's wake-up: an eventfd in the worker's epoll set
 * that any thread can poke (dtx_gw_wake_signal) to make the loop run
 * once more; the loop sees an event of kind DTX_GW_EV_WAKE and drains it.
 * Pokes before the loop runs collapse into one wake-up.
 */
#ifndef DTX_GW_WAKE_H
#define DTX_GW_WAKE_H

#include "core/gw_event.h"

typedef struct dtx_gw_wake {
    dtx_gw_event_source_t src;  /* DTX_GW_EV_WAKE; what epoll hands back */
    int                   fd;   /* the eventfd; -1 when closed */
} dtx_gw_wake_t;

/* Sets self to closed (fd -1), so _close is safe before _open. */
void dtx_gw_wake_init(dtx_gw_wake_t *self);
/* Makes the eventfd and adds it to epoll_fd. 0, or DTX_EIO (errno
 * says why; _close then frees what was made). */
int  dtx_gw_wake_open(dtx_gw_wake_t *self, int epoll_fd);
/* Wakes the loop (any thread). A failure is logged: the loop then wakes
 * at its next timeout only. */
void dtx_gw_wake_signal(dtx_gw_wake_t *self);
/* Reads the pokes so far (the loop, on the event). */
void dtx_gw_wake_drain(dtx_gw_wake_t *self);
/* Closes the eventfd. Idempotent. */
void dtx_gw_wake_close(dtx_gw_wake_t *self);

#endif
