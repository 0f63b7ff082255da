/*
 * saga.h — what a Saga runs next, as pure questions about a transaction in
 * memory (no I/O, no state written: txn.c is the only writer). The engine
 * (driver.c) asks them and sends; txn.h has the Saga's states and
 * invariants.
 */
#ifndef DTX_COORD_SAGA_H
#define DTX_COORD_SAGA_H

#include "txn.h"

/* 1 when every step br waits for is CONFIRMED (its action may be sent). */
int dtx_saga_deps_done(const dtx_txn_t *txn, const dtx_branch_t *br);
/* 1 when every step that waits for br is CANCELLED (br's compensation may
 * be sent: reverse order). */
int dtx_saga_dependents_undone(const dtx_txn_t *txn, const dtx_branch_t *br);
/* 1 when br's action ran or may have run: it is not TRYING, or an action
 * may have left (never_sent is 0). */
int dtx_saga_may_have_run(const dtx_branch_t *br);
/* 1 when every step is in state (CONFIRMED: the saga may commit;
 * CANCELLED: it may end aborted). */
int dtx_saga_all_in(const dtx_txn_t *txn, int state);
/* After a load from the log: a TRYING step's action may have left only if
 * its dependencies were all done; sets never_sent on the others (and
 * clears it on the rest, which may have run). */
void dtx_saga_mark_loaded(dtx_txn_t *txn);

#endif
