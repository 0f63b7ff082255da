/*
 * admit.h — the limits a new transaction must pass before anything of it
 * is kept (admit.c): the transactions in memory (max-txns) and the
 * deadline asked (max-timeout-ms). BEGIN, SAGA, TMSG and the load of an
 * unknown gid ask here, so each limit reads and answers the same way.
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

#endif
