/*
 * driver_internal.h — what driver.c lends the mode-specific drivers of the
 * engine (driver_saga.c, driver_msg.c) and driver_events.c; the
 * mode-specific ones answer through the hooks of
 * coord.h. Not for the rest
 * of the coordinator: they go through driver.h.
 */
#ifndef DTX_COORD_DRIVER_INTERNAL_H
#define DTX_COORD_DRIVER_INTERNAL_H

#include "coord.h"
#include "driver_finish.h" /* dtx_driver_check_done and the other final writes */

/* driver.c: sends br's current op (attempt + 1) to a live instance of
 * br->resource, or counts a failed round; as for any branch. */
void dtx_driver_send_phase(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br, int64_t now);
/* driver.c: a call of br failed (why): backoff, the retry budget, STUCK. */
void dtx_driver_phase_failed(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br, int64_t now,
                             const char *why);
/* driver.c: br's call is over (its instance freed, nothing due); when op
 * is not 0 and not br's op, br starts op afresh (attempts from 0). */
void dtx_driver_call_done(dtx_coord_t *co, dtx_branch_t *br, int op);

/* For driver_events.c (timers, replies, RESUME). */

/* driver.c: br's instance has one call fewer in flight. */
void dtx_driver_instance_done(dtx_coord_t *co, dtx_branch_t *br);
/* driver.c: a new op starts on br: replies to the old one's sends no
 * longer count. */
void dtx_driver_new_op(dtx_branch_t *br, int op);
/* driver.c: every branch voted yes: decide commit. */
void dtx_driver_prepared_check(dtx_coord_t *co, dtx_txn_t *txn);
/* driver.c: records br's vote (TRIED or REFUSED). */
void dtx_driver_submit_vote(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br, int vote);
/* driver.c: br's Try was refused (why): its no vote, then the abort. */
void dtx_driver_try_refused(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br, const char *why);

#endif
