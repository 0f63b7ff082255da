/*
 * txntable.h — in-memory transactions: what a transaction and its branches
 * hold while this node drives them, the requests parked on one, and the
 * table that finds them by gid and orders their timers.
 *
 * The PostgreSQL log is the only source of truth. The in-memory copy of a
 * transaction is a cache that makes the hot path avoid reads: it is created
 * by BEGIN (after the insert committed) or loaded from the log (recovery,
 * or a request for a gid not in memory), and it is discarded when the
 * transaction ends or when a write's outcome is unknown (database error):
 * the next request or the recovery scan re-reads it from the log.
 *
 * One thread runs everything (the loop), so nothing here is locked.
 */
#ifndef DTX_COORD_TXNTABLE_H
#define DTX_COORD_TXNTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "dtx/types.h"
#include "txn.h"

typedef struct dtx_txntable dtx_txntable_t;

dtx_txntable_t *dtx_txntable_new(void);
void dtx_txntable_destroy(dtx_txntable_t **self_p);
dtx_txn_t *dtx_txn_find(dtx_txntable_t *self, const char *gid);
dtx_txn_t *dtx_txn_create(dtx_txntable_t *self, const char *gid);  /* inserted; NULL on ENOMEM */
dtx_branch_t *dtx_txn_add_branch(dtx_txn_t *txn, uint32_t no);  /* NULL on ENOMEM */
dtx_branch_t *dtx_txn_branch(dtx_txn_t *txn, uint32_t no);
/* Removes txn from the table and the timer heap and marks it dead; its
 * waiters and parked requests stay until dtx_txn_evict. Idempotent. */
void dtx_txn_unlink(dtx_txntable_t *self, dtx_txn_t *txn);
/* Unlinks txn, drops its waiters and parked requests unanswered (the
 * engine answers them first: dtx_outbox_drop) and frees it once no
 * callback holds it. */
void dtx_txn_evict(dtx_txntable_t *self, dtx_txn_t *txn);
void dtx_txn_ref(dtx_txn_t *txn);
/* Drops a reference; returns 1 when txn is still usable (not evicted). */
int  dtx_txn_unref(dtx_txn_t *txn);
size_t dtx_txn_count(const dtx_txntable_t *self);
/* Payload bytes held in memory by every transaction (branches and parked
 * TRYs); txn's own count is txn->payload_bytes. */
int64_t dtx_txn_payload_total(const dtx_txntable_t *self);
/* Adds (or with a negative n, releases) payload bytes held by txn. */
void dtx_txn_payload_add(dtx_txntable_t *self, dtx_txn_t *txn, int64_t n);
/* Calls fn on every transaction; fn may evict the one it is given. */
void dtx_txn_each(dtx_txntable_t *self, void (*fn)(dtx_txn_t *, void *), void *arg);
/* Timers: one per transaction, in a heap (dtx/heap.h) keyed by txn->timer. */
void dtx_timer_set(dtx_txntable_t *self, dtx_txn_t *txn, int64_t due_ms);  /* 0 = cancel */
dtx_txn_t *dtx_timer_due(dtx_txntable_t *self, int64_t now_ms);   /* pops one due txn */
int64_t dtx_timer_next(const dtx_txntable_t *self);                     /* earliest due, or -1 */

#endif
