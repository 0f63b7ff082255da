/*
 * tmsg.h — a transactional message (DTX_MODE_MSG, the outbox pattern;
 * docs/sagas.md "Transactional messages"): its life in one picture and the
 * pure questions the engine asks about it (no I/O, no state written:
 * txn.c is the only writer). "tmsg", not "msg": dtx_msg_t is a wire
 * message and engine/outbox.c the ZeroMQ send path.
 *
 *   TMSG (plan in the log: destinations TRIED, the check-back resource)
 *     │
 *     ▼            COMMIT (the submit)                    every destination
 *   ACTIVE ──────────────────────────────▶ COMMITTING ───── acknowledged ──▶ COMMITTED
 *   "prepared"  check-back answers         │  DELIVER to each destination,
 *     │  │      "committed" ───────────────┘  retried with backoff until
 *     │  │                                    acknowledged; over the retry
 *     │  │ deadline passed: QUERY_PREPARED     budget → STUCK (resume: deliver
 *     │  │ to the check-back resource;         again)
 *     │  │ "unknown" / no answer: asked again
 *     │  │ with backoff; over the retry budget → STUCK (decision ACTIVE;
 *     │  │ resume asks again)
 *     │  ▼
 *     │ ROLLBACK, or the check-back answers "rolled back"
 *     └──────────────────────────────────▶ ABORTING ──(nothing sent)──▶ ABORTED
 *
 * Invariants:
 *  - nothing is delivered before the commit decision is in the log;
 *  - the decision comes from the service only: its COMMIT / ROLLBACK, or
 *    its check-back's answer — never from the clock (the deadline only
 *    starts the check-back);
 *  - a check-back answer of "rolled back" is final at the service too:
 *    its handler records a rollback marker that the local transaction's
 *    own outbox row can then never join (dtx/barrier.h,
 *    dtx_tmsg_pg_query_prepared), so the service can never commit a
 *    message dtxd aborted;
 *  - every destination gets its DELIVER at least once after COMMITTING;
 *    its barrier applies a duplicate once.
 */
#ifndef DTX_COORD_TMSG_H
#define DTX_COORD_TMSG_H

#include <stdint.h>

#include "txn.h"

/* The decision a check-back's answer (a PHASE_REPLY outcome to
 * QUERY_PREPARED) makes: DTX_STATE_COMMITTING for OK (the local
 * transaction committed), DTX_STATE_ABORTING for REFUSED (it rolled back),
 * 0 for anything else (unknown: ask again later). */
int dtx_tmsg_answer(int outcome);

/* 1 when txn is a message that should be asked about now: ACTIVE, owned,
 * no write or load in flight, and now past its deadline. */
int dtx_tmsg_checkback_due(const dtx_txn_t *txn, int64_t now_ms);

/* Gives txn (a message) its check-back call on resource: txn->checkback,
 * branch number 0, op QUERY_PREPARED. 0, DTX_EPROTO (not a name) or
 * DTX_ENOMEM. */
int dtx_tmsg_attach(dtx_txn_t *txn, const char *resource);

/* The earlier of due (monotonic ms, 0 none) and what txn's check-back
 * waits for while ACTIVE with no write or load in flight (one that ends
 * reschedules it). */
int64_t dtx_tmsg_due(const dtx_txn_t *txn, int64_t due);

#endif
