/*
 * driver.h — decisions and phase driving (driver.c; its timers, replies and
 * RESUME: driver_events.c).
 */
#ifndef DTX_COORD_DRIVER_H
#define DTX_COORD_DRIVER_H

#include "coord.h"

/* Records the decision (COMMITTING or ABORTING) then drives it. */
void dtx_driver_decide(dtx_coord_t *co, dtx_txn_t *txn, int decision, const char *reason);
/* Raises ev on an ACTIVE txn: the state machine (dtx_txn_next, with the
 * branches' votes) says whether it decides, and what; nothing happens when
 * it does not move. */
void dtx_driver_raise(dtx_coord_t *co, dtx_txn_t *txn, dtx_txn_event_t ev, const char *reason);
/* Starts (or restarts after a load) driving every unfinished branch. */
void dtx_driver_drive(dtx_coord_t *co, dtx_txn_t *txn);
/* 2PC COMMIT: sends Prepare to every branch; all yes decides commit. */
void dtx_driver_start_prepare(dtx_coord_t *co, dtx_txn_t *txn);
/* Sends the Try of a freshly recorded branch. */
void dtx_driver_start_try(dtx_coord_t *co, dtx_txn_t *txn, dtx_branch_t *br);
void dtx_driver_on_phase_reply(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_ident_t *id,
                               const dtx_msg_t *msg);
/* Resumes a stuck transaction (operator action): back to its decision. */
void dtx_driver_resume(dtx_coord_t *co, dtx_txn_t *txn, const dtx_peer_t *peer);
/* Runs the timers of txn (called by the loop when its timer is due). */
void dtx_driver_on_timer(dtx_coord_t *co, dtx_txn_t *txn, int64_t now_ms);

/* Recomputes txn's timer from its branches and deadline and reschedules. */
void dtx_driver_reschedule(dtx_coord_t *co, dtx_txn_t *txn);

/* driver_saga.c, driver_msg.c: register the Saga's and the transactional
 * message's hooks (coord.h). */
void dtx_driver_saga_init(dtx_coord_t *co);
void dtx_driver_msg_init(dtx_coord_t *co);

#endif
