/*
 * peerrate.h — per-connection token buckets: requests per second and
 * REGISTERs per second, so that one peer cannot take the loop from the
 * others. Keyed by routing id (one ZeroMQ connection); a connection idle
 * for a while is forgotten (its bucket would be full again anyway), so the
 * table holds only connections heard from recently, at most `max_peers`
 * (the least recently heard goes first).
 *
 * Buckets start full and hold one second of rate: a peer may burst to
 * `rate` requests, then `rate` per second. No sockets: unit-tested.
 */
#ifndef DTX_COORD_PEERRATE_H
#define DTX_COORD_PEERRATE_H

#include <stddef.h>
#include <stdint.h>

typedef struct dtx_peerrate dtx_peerrate_t;

#define DTX_PEERRATE_REQUEST  0
#define DTX_PEERRATE_REGISTER 1

/* rates per second for requests and registrations (0: unlimited). */
dtx_peerrate_t *dtx_peerrate_new(int64_t request_rate, int64_t register_rate, int max_peers);
void dtx_peerrate_destroy(dtx_peerrate_t **self_p);

/* Takes one token of kind for the connection rid at now_ms. Returns 0, or
 * DTX_ELIMIT with *retry_ms (may be NULL) set to the wait for the next
 * token. */
int dtx_peerrate_take(dtx_peerrate_t *self, const uint8_t *rid, size_t rid_len, int kind,
                      int64_t now_ms, int64_t *retry_ms);

/* Connections tracked now. */
size_t dtx_peerrate_count(const dtx_peerrate_t *self);

#endif
