/*
 * admit.h — the limits a new transaction must pass before anything of it
 * is kept (admit.c): the transactions in memory (max-txns), the deadline
 * asked (max-timeout-ms), a whole plan's branches and payload
 * (max-branches, max-txn-payload, max-payload); and its new gid. BEGIN,
 * SAGA, TMSG and the load of an unknown gid ask here, so each limit reads
 * and answers the same way.
 */
#ifndef DTX_ENGINE_ADMIT_H
#define DTX_ENGINE_ADMIT_H

#include <stdint.h>

#include "coord.h"

/* 0 when one more transaction fits in memory; else -1, peer refused
 * (LIMIT max-txns, with a retry-after). */
int dtx_admit_new_txn(dtx_coord_t *co, const dtx_peer_t *peer);

/* 0 when timeout_ms is within max-timeout-ms; else -1, peer answered
 * DTX_EINVAL. */
int dtx_admit_timeout(dtx_coord_t *co, const dtx_peer_t *peer, int64_t timeout_ms);

/* A whole plan (SAGA, TMSG): 0 when its n branches are within
 * max-branches and its bytes of payload within max-txn-payload and what
 * max-payload leaves; else -1, peer refused with the limit, the plan named
 * "<what> <n> <unit>" ("a saga of 3 steps") and "<noun> of <bytes> payload
 * bytes". */
int dtx_admit_plan(dtx_coord_t *co, const dtx_peer_t *peer, const char *what, int n,
                   const char *unit, const char *noun, int64_t bytes);

/* A new transaction's gid into gid (DTX_NAME_SIZE): a ULID, with a cell
 * "CELL:ULID" (core/cell.h), at most 43 characters. The ULID is ulid when
 * not NULL (a TCC_RUN's, the initiator's: the codec checked it), else a
 * new one. 0, or -1 with the peer answered DTX_EIO (no randomness). */
int dtx_admit_gid(dtx_coord_t *co, const dtx_peer_t *peer, const char *ulid, char *gid);

#endif
