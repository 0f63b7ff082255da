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
/* Confirm/Cancel of br is done at the participant (written with the final
 * state, or with STUCK). */
void dtx_driver_branch_acked(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br);
/* A transaction whose every branch is final gets its final write (as for
 * every mode). */
void dtx_driver_check_done(dtx_coord_t *co, dtx_txn_t *txn);
/* The acknowledgements of txn's branches that only this node knows, written
 * now (lazy, fire and forget): DTX_ACK_FOLD_MS after the first of them
 * when the others take longer (a slow transaction shows its progress),
 * when a call fails and is retried — and then each later one as it comes
 * (txn->slow) —, when it goes STUCK, when a retried call succeeds (its
 * attempt count), and for every transaction when dtxd stops.
 * Otherwise they are written with the final state (DTX_SQL_FINISH, on the
 * global row, read for each branch through dtx_branch_now;
 * docs/operations.md, durability table). */
#define DTX_ACK_FOLD_MS 1000
void dtx_driver_log_progress(dtx_coord_t *co, dtx_txn_t *txn);
/* A branch spent its retry budget: the transaction goes STUCK. */
void dtx_driver_mark_stuck(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br);

#endif
