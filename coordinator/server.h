/*
 * server.h — the event loop (server.c): the top of the coordinator.
 */
#ifndef DTX_COORD_SERVER_H
#define DTX_COORD_SERVER_H

#include "coord.h"

int  dtx_coord_init(dtx_coord_t *co);              /* sockets, store, tables */
int  dtx_coord_run(dtx_coord_t *co);               /* until co->stop */
void dtx_coord_fini(dtx_coord_t *co);

#endif
