/*
 * initiator_internal.h — what initiator.c and initiator_try.c lend the
 * other initiator files (initiator_handle.c, initiator_multi.c): the code
 * of each request once it may run. Not for the rest of the coordinator:
 * it goes through initiator.h.
 */
#ifndef DTX_COORD_INITIATOR_INTERNAL_H
#define DTX_COORD_INITIATOR_INTERNAL_H

#include "coord.h"

/* The answer to each branch of a TCC_RUN whose gid is the initiator's when
 * that gid was in the log already (initiator_try.c): its collector
 * (initiator_multi.c) answers the request as a repeat. Only ever sent to
 * a collector's virtual peer, never on the wire. */
#define DTX_COORD_ETAKEN 1000

/* May the sender of req change txn? 1 or 0; nothing answered. */
int dtx_initiator_allowed(const dtx_txn_t *txn, const dtx_request_t *req);
/* May the sender of req change txn? 1, or 0 with req refused. */
int dtx_initiator_may_change(dtx_coord_t *co, const dtx_txn_t *txn, const dtx_request_t *req);
/* BEGIN: the transaction (ACTIVE) in memory, BEGIN_OK. */
void dtx_initiator_begin(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_ident_t *id,
                         const dtx_msg_t *msg);
/* TRY on txn; takes req (initiator_try.c; initiator.c reaches it through
 * co->hooks.try_one, set by dtx_initiator_try_init). */
void dtx_initiator_try(dtx_coord_t *co, dtx_txn_t *txn, dtx_request_t *req);
/* A batch of TRYs that is txn's first write (a TCC_RUN's, or a TRY_MANY's
 * on a transaction BEGIN did not write): txn unlogged, ACTIVE, its sender
 * allowed (the caller checked the limits for the whole batch), with every
 * branch of reqs (a list of TRYs linked by next, 1 to DTX_TRYMANY_MAX, in
 * the batch's order; taken), numbered 1..n, in one statement. Each request
 * is answered as a TRY is: now when nothing is written (its deadline
 * passed: DTX_EEXPIRED; out of memory: DTX_ENOMEM; txn stays unlogged),
 * else once its branch votes or its write failed. */
void dtx_initiator_try_first(dtx_coord_t *co, dtx_txn_t *txn, dtx_request_t *reqs);
/* Runs r again against a fresh read of the log; takes r. At most once per
 * request, a decision waiter re-created by dtx_initiator_forget included
 * (it carries the flag): the second time r is answered DTX_EUNKNOWN (or
 * DTX_ESTATE if nothing it did can have landed). */
void dtx_initiator_rerun(dtx_coord_t *co, dtx_request_t *r, const char *why);
/* Drops txn from memory (co->hooks.forget: with DTX_EUNKNOWN, its writes'
 * outcome not known) and runs again what waited on it (its decision
 * waiter, its parked requests: dtx_initiator_rerun). err is what the
 * eviction tells anyone else still waiting, and what the recovery scan
 * learns of its row (DTX_EUNKNOWN: it may be in the log). */
void dtx_initiator_forget_as(dtx_coord_t *co, dtx_txn_t *txn, int err, const char *why);
/* COMMIT or ROLLBACK of txn. */
void dtx_initiator_decide_request(dtx_coord_t *co, dtx_txn_t *txn, const dtx_request_t *req);
/* RESUME of a stuck txn (operator). */
void dtx_initiator_resume_request(dtx_coord_t *co, dtx_txn_t *txn, const dtx_request_t *req);

#endif
