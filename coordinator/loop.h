/*
 * loop.h — the event loop (loop.c): the top of the coordinator.
 */
#ifndef DTX_COORD_LOOP_H
#define DTX_COORD_LOOP_H

#include "engine/coord.h"

int  dtx_loop_init(dtx_coord_t *co);              /* sockets, store, tables */
int  dtx_loop_run(dtx_coord_t *co);               /* until co->stop */
void dtx_loop_fini(dtx_coord_t *co);

#endif
