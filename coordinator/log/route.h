/*
 * route.h — which log connection a shard key's writes go to (store.c's
 * routing; log/ internal).
 *
 * Invariant (the order of one transaction's writes): while a key has a
 * write queued or in flight on a connection, its next writes go to that
 * same connection (held: a count per key). A connection runs its batches
 * one after the other and a batch keeps its submission order per key
 * (batch.h), so they apply in the order submitted. Once the key has
 * nothing outstanding (count back to 0: every earlier write committed, or
 * is known not to have), it is free: its next write may go to any
 * connection, since every earlier one is already decided.
 *
 * A write whose outcome is unknown (its connection broke with it in
 * flight) keeps its key held on that connection until the connection is
 * back (store.c parks it and lets it go on reconnect), as before the
 * routing: a later write of that key fails like any write to a connection
 * that is down rather than racing, on another connection, a commit that
 * may still happen.
 *
 * Keys are the store's 32-bit shard keys (the gid's hash): two gids of the
 * same hash share a hold, which only routes them more strictly.
 */
#ifndef DTX_COORD_ROUTE_H
#define DTX_COORD_ROUTE_H

#include <stdint.h>

typedef struct dtx_route dtx_route_t;

dtx_route_t *dtx_route_new(void);
void dtx_route_destroy(dtx_route_t **self_p);
/* The connection key is held on, or -1 when it is free. */
int dtx_route_conn(const dtx_route_t *self, uint32_t key);
/* One more write of key outstanding on conn (which must be the one it is
 * held on, if it is held). 0 or DTX_ENOMEM (then nothing changed). */
int dtx_route_hold(dtx_route_t *self, uint32_t key, int conn);
/* One write of key decided: the key is free again when it was the last. */
void dtx_route_release(dtx_route_t *self, uint32_t key);
/* A write of key whose outcome is unknown (its connection conn broke
 * with it in flight): its hold stays until dtx_route_unpark(conn), when
 * conn is back. Out of memory, the hold stays for good (only stricter). */
void dtx_route_park(dtx_route_t *self, uint32_t key, int conn);
void dtx_route_unpark(dtx_route_t *self, int conn);
/* Writes outstanding for key (tests), and keys held. */
uint32_t dtx_route_count(const dtx_route_t *self, uint32_t key);
uint32_t dtx_route_keys(const dtx_route_t *self);

#endif
