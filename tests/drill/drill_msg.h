/*
 * drill_msg.h — the transactional message transfers of the recovery
 * drill's load (DTX_MODE_MSG, the outbox pattern; docs/sagas.md).
 *
 * The producer is a bank itself: in one local transaction on the bank's
 * own database (drill-load --bank-db) it debits an account and writes the
 * message's outbox row (dtx/barrier.h's dtx_tmsg_pg_*), and the message
 * credits the money to one or two accounts (destinations: the banks'
 * "credit" DELIVER handler, samples/bank/participant.c). The producing
 * bank is the message's check-back resource. Plans:
 *
 *   commit     dtx_tmsg_pg_run: prepare, local debit + outbox row, commit,
 *              submit
 *   overdraw   the local debit finds no such money: rolled back, dropped
 *              (as any debit the account cannot pay: "msg-no-funds")
 *   hurry      a deadline of 1..300 ms and a local transaction that
 *              lingers up to 600 ms past it: the check-back races it (it
 *              may find no outbox row and write its rollback marker, and
 *              the local commit then fails)
 *   nosubmit   committed locally, the submit never sent (the producer
 *              "crashed" after its commit): the check-back delivers it
 *   die        the producer's connection drops inside the local
 *              transaction (as when the process dies before its commit;
 *              PostgreSQL rolls it back): only the check-back can end the
 *              message, and it must roll it back
 *
 * Journal (drill_load.c's lines, with mode "msg"): B at the prepare; M gid
 * bank account amount, the local debit; C once the local commit was sent
 * (committed or unknown); E as usual, why = died-before-commit for die.
 */
#ifndef DRILL_MSG_H
#define DRILL_MSG_H

#include "drill_worker.h"

/* One message transfer; plan_roll is the transfer's roll in [0, 100). */
void drill_msg_transfer(drill_worker_t *self, int64_t plan_roll);

/* Closes the worker's producer connections. */
void drill_msg_close(drill_worker_t *self);

#endif
