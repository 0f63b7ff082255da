/*
 * driver_internal.h — what driver.c lends the mode-specific drivers of the
 * engine (driver_saga.c, driver_msg.c); they answer through the hooks of
 * coord.h. Not for the rest
 * of the coordinator: they go through driver.h.
 */
#ifndef DTX_COORD_DRIVER_INTERNAL_H
#define DTX_COORD_DRIVER_INTERNAL_H

#include "coord.h"

/* driver.c: sends br's current op (attempt + 1) to a live instance of
 * br->resource, or counts a failed round; as for any branch. */
void dtx_driver_send_phase(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br, int64_t now);
/* driver.c: a call of br failed (why): backoff, the retry budget, STUCK. */
void dtx_driver_phase_failed(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br, int64_t now,
                             const char *why);
/* driver.c: a transaction whose every branch is final gets its final
 * write (as for every mode). */
void dtx_driver_check_done(dtx_coord_t *co, dtx_txn_t *txn);
/* driver.c: br's call is over (its instance freed, nothing due); when op
 * is not 0 and not br's op, br starts op afresh (attempts from 0). */
void dtx_driver_call_done(dtx_coord_t *co, dtx_branch_t *br, int op);

#endif
