/*
 * recovery.h — loading transactions from the log, the periodic scan (recovery.c).
 */
#ifndef DTX_COORD_RECOVERY_H
#define DTX_COORD_RECOVERY_H

#include "coord.h"

/* Loads gid from the log into a new in-memory transaction (parked
 * requests are replayed when done). It is claimed for this node when its
 * owner is dead, or — steal — when it is active or stuck and a request
 * wants to change it: a request of principal (NULL: an operator) takes
 * only a transaction that principal began, so a request that will be
 * refused never moves it. Returns the loading txn or NULL. */
dtx_txn_t *dtx_recovery_load(dtx_coord_t *co, const char *gid, int steal, const char *principal);
/* Registers hooks.left_memory (before any transaction exists). */
void dtx_recovery_init(dtx_coord_t *co);
/* A recovery round when due: the own scan and the claim of orphans, each
 * only when it can find something (recovery.c says when). */
void dtx_recovery_tick(dtx_coord_t *co, int64_t now_ms);

#endif
