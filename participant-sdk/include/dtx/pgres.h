/*
 * dtx/pgres.h — a ready-made 2PC participant over PostgreSQL: each branch's
 * work runs in a local transaction that PostgreSQL itself keeps prepared
 * (PREPARE TRANSACTION) until the coordinator's decision.
 *
 * You write one function, the branch's SQL; pgres does the rest:
 *
 *     static int work(PGconn *conn, const dtx_call_t *call, void *arg)
 *     {
 *         ... UPDATE stock SET qty = qty - $2 WHERE item = $1 ...
 *         return out_of_stock ? DTX_EREFUSED : DTX_OK;
 *     }
 *     dtx_pgres_t *pg = dtx_pgres_new(conninfo, work, NULL, &err, msg, sizeof msg);
 *     dtx_pgres_recover(pg, client, &resolved);   // at start, see below
 *     dtx_pgres_serve(pg, participant, "inventory");
 *
 * The lifecycle of one branch in the participant's database is:
 *
 *   PREPARE  BEGIN; barrier row (dtx_barrier, the same table as TCC, a 'try'
 *            row); work(); PREPARE TRANSACTION 'dtx:<gid>:<branch>' -> yes.
 *            work refused or failed -> ROLLBACK -> no. The prepared
 *            transaction holds the work's row locks until it is decided.
 *   COMMIT   COMMIT PREPARED 'dtx:<gid>:<branch>' -> done.
 *   ABORT    ROLLBACK PREPARED 'dtx:<gid>:<branch>' (when prepared), then an
 *            abort marker in dtx_barrier (a 'try' row of origin 'cancel'
 *            and a 'cancel' row) -> done.
 *
 *       PREPARE ok            COMMIT
 *   [-] -----------> [prepared] ------> [committed: barrier row origin 'try']
 *    |                   |
 *    | ABORT             | ABORT
 *    v                   v
 *   [aborted: abort marker, a later PREPARE votes no]
 *
 * Every delivery is safe to repeat or reorder:
 *   - PREPARE of a branch already prepared, or already committed: yes again,
 *     nothing done twice;
 *   - PREPARE after its ABORT (the marker is there): no, nothing done;
 *   - COMMIT of a branch already committed: ok; COMMIT of a branch that was
 *     never prepared (or was aborted): FAILED every time — the coordinator
 *     retries until its budget is spent and the transaction is STUCK for an
 *     operator (this only happens when the participant's database lost the
 *     prepared transaction, e.g. someone ran ROLLBACK PREPARED by hand);
 *   - ABORT of a branch never prepared: the marker is recorded, ok; again:
 *     ok.
 * An ABORT (or a duplicate PREPARE) delivered to another process while a
 * PREPARE of the same branch is still running there waits for its barrier
 * row at most the lock timeout (dtx_pgres_set_lock_timeout) and then
 * answers FAILED: the coordinator retries later, nobody deadlocks. The same
 * timeout bounds the work's own lock waits, e.g. on rows that another
 * prepared transaction holds; past it the prepare votes no.
 *
 * Requirements: the server's max_prepared_transactions must be > 0
 * (dtx_pgres_new checks it), and transaction identifiers are unique per
 * SERVER, not per database: 'dtx:<gid>:<branch>' is unique because gids
 * are. COMMIT/ROLLBACK PREPARED must run in the database that prepared,
 * which is why each dtx_pgres_t is bound to one database.
 *
 * Threads: a dtx_pgres_t owns one connection and is used from the thread
 * that runs the participant (handlers run one at a time).
 */
#ifndef DTX_PGRES_H
#define DTX_PGRES_H

#include <stddef.h>

#include <libpq-fe.h>

#include "dtx/dtx.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dtx_pgres dtx_pgres_t;

/* The branch's work: runs its SQL on conn, inside the local transaction
 * that is then prepared (it must not BEGIN, COMMIT or PREPARE itself).
 * call->op is DTX_OP_PREPARE; call->action and call->payload are what the
 * initiator gave dtx_client_try. Returns DTX_OK (vote yes), DTX_EREFUSED
 * (vote no: a business refusal such as out of stock) or another negative
 * code (a failure: also a no). Everything is rolled back unless it returns
 * DTX_OK; a statement that failed makes the prepare fail even then. */
typedef int (*dtx_pg_work_fn)(PGconn *conn, const dtx_call_t *call, void *arg);

/* Default of dtx_pgres_set_lock_timeout, in ms. Keep it well below the
 * coordinator's prepare timeout (dtxd --try-timeout-ms). */
#define DTX_PGRES_LOCK_TIMEOUT_DEFAULT 2000

/* Connects to conninfo (libpq), checks that the server allows prepared
 * transactions and creates the barrier table when missing
 * (dtx_barrier_migrate). work (required) and arg are kept for every
 * PREPARE. Returns NULL on failure with the code in *err and a one-line
 * explanation in errbuf (both optional): DTX_EINVAL (no conninfo or work),
 * DTX_EDB (cannot connect, migration failed), DTX_ECONFIG
 * (max_prepared_transactions is 0: the message names the database and the
 * fix), DTX_ENOMEM. The connection's PostgreSQL notices go to the log
 * handler (dtx/logging.h), never to stderr. A connection lost later is
 * made again with a backoff (100 ms doubling to 5 s): meanwhile phases
 * fail at once with DTX_EDB (answered FAILED; the coordinator retries),
 * and the outage is logged once when found and once when over. The
 * connection asks for a read-write session (target_session_attrs=
 * read-write unless conninfo sets it): with several hosts (host=a,b
 * port=p1,p2) it finds the primary, at start and at every reconnect after
 * a failover (docs/ha.md). */
DTX_EXPORT dtx_pgres_t *dtx_pgres_new(const char *conninfo, dtx_pg_work_fn work, void *arg,
                                      int *err, char *errbuf, size_t errlen);

/* Closes the connection (prepared transactions stay in the database, as
 * they must) and sets *self_p to NULL. Safe on NULL. */
DTX_EXPORT void dtx_pgres_destroy(dtx_pgres_t **self_p);

/* How long a statement of a PREPARE or ABORT may wait for a lock, in ms
 * (a value <= 0 restores DTX_PGRES_LOCK_TIMEOUT_DEFAULT). */
DTX_EXPORT void dtx_pgres_set_lock_timeout(dtx_pgres_t *self, int timeout_ms);

/* The three 2PC handlers (arg = self) into *out, for a caller that wraps
 * them (logging, fault injection) before dtx_participant_serve_2pc. */
DTX_EXPORT void dtx_pgres_handlers(dtx_pgres_t *self, dtx_2pc_handlers_t *out);

/* Serves resource on participant p with this pgres's 2PC handlers
 * (dtx_participant_serve_2pc). Several resources may share one pgres (the
 * work sees call->resource). self must outlive p's use of it. Returns as
 * dtx_participant_serve_2pc. */
DTX_EXPORT int dtx_pgres_serve(dtx_pgres_t *self, dtx_participant_t *p, const char *resource);

/* Resolves the prepared transactions this library left in ITS database
 * (pg_prepared_xacts named 'dtx:%'), asking coordinator the STATUS of each
 * gid: committing or committed -> COMMIT PREPARED; aborting, aborted or
 * unknown to the coordinator (DTX_ENOTFOUND: presumed abort) -> ROLLBACK
 * PREPARED and the abort marker; active or stuck -> left alone (the
 * coordinator still drives it: it aborts a transaction whose prepare phase
 * was interrupted and sends COMMIT/ABORT, which the handlers then apply).
 * Call it at participant start, from the participant's thread, with a
 * client of a coordinator that uses the same log as the ones that sent the
 * prepares (a coordinator of another log would presume abort). Logs every
 * transaction it looks at (to the handler of dtx/logging.h). *resolved (may be NULL) gets how many it
 * committed or rolled back. Returns 0 when every one was looked at;
 * DTX_EDB when the list could not be read; otherwise the last error of a
 * STATUS or of a resolution (the others were still tried): call it again
 * later. */
DTX_EXPORT int dtx_pgres_recover(dtx_pgres_t *self, dtx_client_t *coordinator, int *resolved);

#ifdef __cplusplus
}
#endif
#endif
