/*
 * lease.h — this node's lease (lease.c).
 */
#ifndef DTX_COORD_LEASE_H
#define DTX_COORD_LEASE_H

#include "coord.h"

/* Takes this node's lease (blocking, at start): sets co->epoch. 0/DTX_EDB. */
int  dtx_lease_acquire(dtx_coord_t *co, const char *endpoint);
/* Renews the lease when due; on a lapse drops every in-memory copy. */
void dtx_lease_tick(dtx_coord_t *co, int64_t now_ms);

#endif
