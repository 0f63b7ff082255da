/*
 * store.h — the durable log's transport: libpq in non-blocking pipeline
 * mode with group commit.
 *
 * Callers submit prepared-statement executions with a completion callback.
 * Each connection accumulates submitted operations in a pending batch while
 * its previous batches are in flight (two at most: the second goes behind
 * the first, so the server starts it as the first commits); a flush sends
 * the whole pending batch as one pipeline ending in a Sync. The statements of one batch run in one
 * implicit transaction that commits at the Sync, so a batch is one round
 * trip and one WAL flush however many transactions it carries, and is
 * atomic: either every operation in it is durable or none is.
 *
 * Callbacks run only after the Sync result, i.e. after the commit is
 * durable (synchronous_commit as the server is configured) — except in a
 * lazy batch: a batch whose every statement is marked lazy commits with
 * SET LOCAL synchronous_commit = off, so its callbacks run once it is
 * committed and visible, maybe before its WAL is on disk (a crash of the
 * server in that moment loses it, and every commit after it: WAL is one
 * sequence, so the next synchronous commit makes it durable too). A batch
 * holding any synchronous statement is synchronous as a whole. What may be
 * lazy: docs/operations.md, "durability table". On a failure
 * of the batch every callback of the batch gets a negative code and res
 * NULL:
 *   DTX_EDB       the batch did not commit: never sent (the connection
 *                 was down), or rolled back (a statement failed);
 *   DTX_EUNKNOWN  the connection was lost with the batch in flight: its
 *                 commit may or may not have happened (a failover, a
 *                 crash after the commit and before its answer). The
 *                 caller must never assume either: re-read the log, or
 *                 tell the requester the outcome is unknown (ERROR 20).
 * A statement that matches no row is not a failure: check PQcmdTuples /
 * PQntuples.
 *
 * Order per shard key (a transaction's gid hash): while an operation of a
 * key is queued or in flight on a connection, the key's next operations
 * go to that connection, so they apply in submission order and never race
 * each other from two connections; a key with nothing outstanding goes to
 * whichever connection suits now (log/route.h: the first whose pending
 * batch is not yet spill-sized, so a low load fills one batch and a high
 * one spreads over the connections; a lazy write looks from the last
 * connection, so at a low load a synchronous write never queues behind a
 * lazy batch in flight).
 *
 * A statement with a set form runs once per batch for the operations of
 * that kind (log/batch.h: those whose gid's earlier operations in the
 * batch are all in that set, so order per gid is kept; one per gid, or
 * one per gid and branch for dtx_branch_vote and dtx_branch_done), each
 * row still fenced on its own: an operation
 * whose row fails its guard gets a result with no rows, the others theirs.
 * Such a result is a PGRES_TUPLES_OK result (check PQntuples, not
 * PQcmdTuples).
 */
#ifndef DTX_COORD_STORE_H
#define DTX_COORD_STORE_H

#include <stdint.h>

#include <libpq-fe.h>
#include <zmq.h>

#include "store_types.h"

/* Opens nconn connections (blocking), plus control (0..2) side ones: the
 * control connection (control >= 1), then the scan connection too
 * (control == 2); and prepares stmts (array of nstmts; the pointer must stay valid) on
 * each. A batch holds whatever was submitted while the previous ones were in
 * flight: its size adapts to the load. The control connection carries
 * only what is submitted with shard DTX_STORE_CONTROL (the node lease), so
 * a burst of log writes never delays it (without one, such submissions go
 * to the last shard). session_sql, when not NULL, runs on each connection
 * as it opens (session settings: PQexec, may hold several statements); a
 * connection that refuses it counts as down. Returns NULL and *err =
 * DTX_EDB / DTX_ENOMEM. */
#define DTX_STORE_CONTROL UINT32_MAX
/* The scan connection (control == 2): the recovery scans, whose reads
 * over every unfinished transaction must not hold up the shards' writes
 * (without one: the first shard). */
#define DTX_STORE_SCAN (UINT32_MAX - 1)
dtx_store_t *dtx_store_new(const char *conninfo, int nconn, int control,
                           const dtx_store_stmt_t *stmts, int nstmts, const char *session_sql,
                           int *err);
/* Background work (timers: deadlines, retries) yields to requests: ops
 * submitted while background mode is on are counted, and
 * dtx_store_backlog says how many of them are queued or in flight on the
 * busiest connection; the loop starts no more background work past a
 * bound, so a batch ahead of a request holds at most that many. */
void dtx_store_set_background(dtx_store_t *self, int on);
int  dtx_store_backlog(const dtx_store_t *self);
void dtx_store_destroy(dtx_store_t **self_p);
/* Free keys' writes go to the first shard whose pending batch holds fewer
 * than spill operations (default 64; at least 1); past it on every
 * shard, to the one with the fewest pending. */
void dtx_store_set_spill(dtx_store_t *self, int spill);

/* Queues one execution of stmt (index into stmts) on the connection of
 * shard. values/lengths/formats as for PQsendQueryPrepared (lengths and
 * formats may be NULL for all-text); values are copied. The callback is
 * always called exactly once, later, from dtx_store_process or
 * dtx_store_maintain (never from inside submit). */
void dtx_store_submit(dtx_store_t *self, uint32_t shard, int stmt, int nparams,
                      const char *const *values, const int *lengths, const int *formats,
                      dtx_store_cb cb, void *ctx);

/* Number of poll items the store needs, and fills them (up to cap). */
int dtx_store_poll_items(dtx_store_t *self, zmq_pollitem_t *items, int cap);
/* Handles the revents of the items filled by dtx_store_poll_items. */
void dtx_store_process(dtx_store_t *self, const zmq_pollitem_t *items, int n);
/* Sends the pending batch of every connection that has fewer than two in
 * flight (store.c). */
void dtx_store_flush(dtx_store_t *self);
/* Fails the operations of broken connections and reconnects them (at most
 * once per second each). */
void dtx_store_maintain(dtx_store_t *self, int64_t now_ms);
/* 1 when no operation is pending or in flight. */
int dtx_store_idle(const dtx_store_t *self);
/* 1 when every connection is up. */
int dtx_store_healthy(const dtx_store_t *self);
void dtx_store_stats(const dtx_store_t *self, dtx_store_stats_t *out);

#endif
