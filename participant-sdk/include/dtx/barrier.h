/*
 * dtx/barrier.h — the idempotency barrier: makes TCC (and 2PC) handlers
 * safe under at-least-once delivery, null compensation and hanging Try.
 *
 * The barrier is a row (gid, branch, op) in the participant's OWN
 * PostgreSQL database, inserted in the same local transaction as the
 * business change (table dtx_barrier, created by dtx_barrier_migrate):
 *
 *   op       barrier row already there      what happens
 *   -------  -----------------------------  -----------------------------
 *   try      no                             run fn, commit both
 *   try      yes, from an earlier try       duplicate: skip fn, DTX_OK
 *   try      yes, written by a cancel       hanging try: skip, DTX_EREFUSED
 *   confirm  no / yes                       run fn / duplicate: skip, DTX_OK
 *   cancel   try row absent                 null compensation: record, skip
 *                                           fn, DTX_OK; a later try refuses
 *   cancel   no / yes                       run fn / duplicate: skip, DTX_OK
 *
 * 2PC handlers use the same barrier: dtx_barrier_call accepts
 * DTX_OP_PREPARE, DTX_OP_COMMIT and DTX_OP_ABORT with the guarantees of
 * their TCC counterparts — prepare like try (a duplicate prepare is
 * skipped with DTX_OK, a prepare after its abort is refused), commit like
 * confirm, abort like cancel (an abort before its prepare is recorded and
 * skips fn). The table's CHECK allows only 'try', 'confirm' and 'cancel',
 * so a prepare writes a 'try' row, a commit a 'confirm' row and an abort a
 * 'cancel' row (and a 'try' row of origin 'cancel' when it comes first);
 * fn still sees call->op as delivered. With plain dtx_barrier_call the
 * prepare COMMITs locally (a reservation the commit finalises and the
 * abort undoes, as in TCC); dtx/pgres.h instead ends it with PREPARE
 * TRANSACTION, so PostgreSQL itself holds the work undecided.
 *
 * Saga steps use it the same way (DTX_OP_ACTION as try, DTX_OP_COMPENSATE
 * as cancel, rows 'try' and 'cancel'): a duplicate action is applied once,
 * a compensation before its action is a null compensation (recorded, fn
 * skipped, DTX_OK), and an action arriving after its compensation is
 * refused (DTX_EREFUSED, nothing applied).
 *
 * Concurrent deliveries of the same (gid, branch) serialise on the
 * primary key, so a Try racing its Cancel is also safe. (Under a default
 * isolation of REPEATABLE READ or SERIALIZABLE such a race may instead end
 * in a serialization failure: DTX_EDB, nothing changed, delivered again.)
 */
#ifndef DTX_BARRIER_H
#define DTX_BARRIER_H

#include <libpq-fe.h>

#include "dtx/dtx.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The business part of a handler: runs its SQL on conn, inside the
 * transaction the barrier opened (it must not BEGIN/COMMIT itself).
 * Returns DTX_OK, DTX_EREFUSED (try: vote no — everything is rolled back,
 * the barrier row too) or another negative code (rolled back; retried). */
typedef int (*dtx_barrier_fn)(PGconn *conn, const dtx_call_t *call, void *arg);

/* Runs fn for call under the barrier on conn (an open connection that is
 * not inside a transaction). Returns DTX_OK, DTX_EREFUSED, fn's own error,
 * or DTX_EDB when the database fails (nothing was changed then), also when
 * fn returned DTX_OK although one of its statements failed. DTX_EINVAL when
 * call->gid is not a valid name, call->op unknown (any DTX_OP_* of TCC,
 * 2PC or Saga is known), call->branch over
 * INT32_MAX, conn already inside a transaction, or fn ended the
 * transaction itself. */
DTX_EXPORT int dtx_barrier_call(PGconn *conn, const dtx_call_t *call,
                                dtx_barrier_fn fn, void *arg);

/* Creates the barrier table if missing (idempotent; records its version in
 * dtx_schema_version). Returns 0 or DTX_EDB. */
DTX_EXPORT int dtx_barrier_migrate(PGconn *conn);

#ifdef __cplusplus
}
#endif
#endif
