/*
 * driver_finish.h — the finishing writes of the driver (driver_finish.c):
 * a branch's acknowledgement, the final state, STUCK. For driver.c and its
 * siblings only; the rest of the coordinator goes through driver.h.
 */
#ifndef DTX_COORD_DRIVER_FINISH_H
#define DTX_COORD_DRIVER_FINISH_H

#include "coord.h"

/* A write that matched no row: the copy in memory is stale or fenced off. */
int dtx_driver_no_rows(const PGresult *res);
/* br's Confirm/Cancel (or Saga step) is over: CONFIRMED or CANCELLED. */
int dtx_driver_is_final_branch(const dtx_branch_t *br);
/* Confirm/Cancel of br is done at the participant: record it. */
void dtx_driver_branch_acked(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br);
/* A transaction whose every branch is final gets its final write (as for
 * every mode). */
void dtx_driver_check_done(dtx_coord_t *co, dtx_txn_t *txn);
/* A branch spent its retry budget: the transaction goes STUCK. */
void dtx_driver_mark_stuck(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br);

#endif
