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
 * A transactional message's DELIVER is barriered as a try: a duplicate
 * delivery is skipped with DTX_OK (applied once).
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
 * 2PC or Saga, and DTX_OP_DELIVER, is known), call->branch over
 * INT32_MAX, conn already inside a transaction, or fn ended the
 * transaction itself. */
DTX_EXPORT int dtx_barrier_call(PGconn *conn, const dtx_call_t *call,
                                dtx_barrier_fn fn, void *arg);

/* ------------------------------------------------------------------ */
/* Transactional messages on PostgreSQL (since libdtx 1.1)             */
/* ------------------------------------------------------------------ */

/* The outbox of a transactional message (dtx/dtx.h, dtx_tmsg_t) is a
 * barrier row of the message's gid, branch 0 (a message has no branch 0):
 *
 *   row (gid, 0, 'try')  origin  meaning
 *   -------------------  ------  ---------------------------------------
 *   none                 -       the local transaction did not commit
 *                                (yet: it may still be running)
 *   present              try     it committed: the outbox row went in
 *                                with the business change
 *   present              cancel  the check-back found none and wrote this
 *                                rollback marker: the local transaction
 *                                can no longer commit its outbox row
 *
 * Both writers insert with ON CONFLICT DO NOTHING on the same key, so
 * exactly one wins, and a check-back that meets an uncommitted outbox row
 * waits for its transaction to end: "rolled back" is only ever answered
 * for a transaction that can never commit the message (the
 * insert-or-nothing trick of DTM's QueryPrepared). Run dtx_barrier_migrate
 * on the service's database first. */

/* The local part of a message: the business change, run on conn inside
 * the transaction dtx_tmsg_pg_run opened (no BEGIN/COMMIT of its own).
 * DTX_OK, or any other code to roll back (the message is dropped). */
typedef int (*dtx_tmsg_local_fn)(PGconn *conn, void *arg);

/* Ends the caller's local transaction on conn (open: BEGIN and the
 * business change done) with gid's outbox row, commits it, then submits
 * gid (dtx_client_tmsg_submit). Returns:
 *   DTX_OK       committed locally; the message is submitted, or will be
 *                delivered by the check-back (a submit that failed after
 *                the local commit is not an error: dtx_client_last_error
 *                says why);
 *   DTX_EABORTED the check-back had already found gid rolled back (the
 *                outbox row could not go in): rolled back locally, nothing
 *                is delivered;
 *   DTX_EDB      a statement or the COMMIT failed: rolled back locally,
 *                the message dropped (ROLLBACK sent, best effort);
 *   DTX_EUNKNOWN the connection broke during COMMIT: the local outcome is
 *                unknown, and the check-back decides the message by it;
 *   DTX_EINVAL   a bad gid, or conn not inside a transaction.
 * client may be NULL: the local transaction is ended as above and nothing
 * is sent (no submit, no drop): a later dtx_client_tmsg_submit, or else
 * the check-back at the deadline, decides the message. */
DTX_EXPORT int dtx_tmsg_pg_commit(dtx_client_t *client, PGconn *conn, const char *gid);

/* The whole initiator flow in one call: prepares msg (timeout_ms as
 * dtx_client_tmsg_prepare; its gid into gid_out), BEGINs on conn (idle),
 * runs fn, and ends with dtx_tmsg_pg_commit. fn's error rolls back and
 * drops the message (fn's code is returned). Returns as
 * dtx_client_tmsg_prepare (nothing done in the database then) or as
 * dtx_tmsg_pg_commit. */
DTX_EXPORT int dtx_tmsg_pg_run(dtx_client_t *client, const dtx_tmsg_t *msg,
                               uint32_t timeout_ms, PGconn *conn, dtx_tmsg_local_fn fn,
                               void *arg, char gid_out[DTX_GID_SIZE]);

/* The check-back's answer for gid (a QUERY_PREPARED handler's body), on
 * conn (idle; one autocommitted statement pair): DTX_OK the outbox row is
 * there (the local transaction committed); DTX_EREFUSED it is not, and a
 * rollback marker now makes sure it never will be; DTX_EDB the database
 * failed (unknown: asked again later); DTX_EINVAL a bad gid or conn in a
 * transaction. Waits for a local transaction that holds gid's outbox row
 * uncommitted. */
DTX_EXPORT int dtx_tmsg_pg_query_prepared(PGconn *conn, const char *gid);

/* Creates the barrier table if missing (idempotent; records its version in
 * dtx_schema_version). Returns 0 or DTX_EDB. */
DTX_EXPORT int dtx_barrier_migrate(PGconn *conn);

#ifdef __cplusplus
}
#endif
#endif
