/*
 * txn.h — the global transaction and branch state machines (TCC).
 *
 * Global states (wire and log codes in dtx/types.h):
 *
 *                 COMMIT (every branch tried)            all confirmed
 *     ACTIVE ───────────────────────────────▶ COMMITTING ─────────────▶ COMMITTED
 *       │                                         │ retry budget spent      ▲
 *       │ ROLLBACK / try refused / deadline       ▼                         │
 *       │ / COMMIT with a refused branch        STUCK ──── resume ──────────┘
 *       ▼                                         ▲           (back to its decision)
 *     ABORTING ───────────────────────────────────┼──────────────────────▶ ABORTED
 *                  all cancelled                  retry budget spent
 *
 * Invariants:
 *  - the decision (COMMITTING or ABORTING) is written to the log before any
 *    CONFIRM or CANCEL is sent and before the initiator hears of it;
 *  - a transaction never goes from a commit decision to an abort one or
 *    back; COMMITTED and ABORTED are final;
 *  - COMMIT is only decided when every branch voted yes; a branch whose
 *    vote is unknown (still trying, or lost in a crash) makes COMMIT abort.
 *
 * Branch states (log codes, dtx_branch.state):
 *
 *     TRYING ──yes──▶ TRIED ──confirm acked──▶ CONFIRMED
 *       │  └──no / failed / timeout──▶ REFUSED
 *       └──────────────┴───────────────────────────cancel acked──▶ CANCELLED
 *
 * Every branch of an aborting transaction is cancelled, whatever its vote:
 * a Try that timed out may still have run, and the participant's barrier
 * turns a cancel without a try into a recorded no-op.
 */
#ifndef DTX_COORD_TXN_H
#define DTX_COORD_TXN_H

#define DTX_BRANCH_TRYING    1
#define DTX_BRANCH_TRIED     2
#define DTX_BRANCH_REFUSED   3
#define DTX_BRANCH_CONFIRMED 4
#define DTX_BRANCH_CANCELLED 5

/* Events that move a global transaction. */
typedef enum dtx_txn_event {
    DTX_EV_COMMIT,        /* initiator asks to commit */
    DTX_EV_ROLLBACK,      /* initiator asks to roll back */
    DTX_EV_TRY_REFUSED,   /* a branch voted no, failed or timed out */
    DTX_EV_DEADLINE,      /* the deadline passed while active */
    DTX_EV_ALL_DONE,      /* every branch acknowledged the decision */
    DTX_EV_BUDGET_SPENT,  /* a branch exhausted its retry budget */
    DTX_EV_RESUME         /* an operator resumes a stuck transaction */
} dtx_txn_event_t;

/* Facts about the branches that the COMMIT event depends on. */
typedef struct dtx_txn_votes {
    int trying;   /* branches whose vote has not arrived */
    int refused;  /* branches that voted no */
    int unknown;  /* branches whose vote was lost (reloaded while trying) */
} dtx_txn_votes_t;

/* Next global state for event in state. decision is the transaction's
 * recorded decision (DTX_STATE_COMMITTING or _ABORTING; 0 when none) and
 * is used by STUCK/RESUME. Returns:
 *   0             legal: *next is the new state (may equal state: an
 *                 idempotent repeat such as COMMIT while COMMITTING);
 *   DTX_EBUSY     COMMIT while a try is in flight;
 *   DTX_EABORTED  COMMIT of a transaction decided abort;
 *   DTX_ESTATE    anything else that is illegal (ROLLBACK after a commit
 *                 decision, any event on a final state but a repeat).
 * Pure: no side effects. */
int dtx_txn_next(int state, dtx_txn_event_t ev, const dtx_txn_votes_t *votes,
                 int decision, int *next);

/* Phase operations by mode (TCC: try/confirm/cancel; 2PC:
 * prepare/commit/abort). In 2PC a branch's TRYING state means "enlisted,
 * vote not known", TRIED "prepared", CONFIRMED "committed", CANCELLED
 * "aborted". */
/* The op that carries out decision state (COMMITTING / ABORTING) in mode. */
int dtx_op_for_decision(int mode, int state);
/* 1 for ops that ask for a vote (TRY, PREPARE). */
int dtx_op_is_vote(int op);
/* Branch state an acknowledged op leaves: CONFIRMED or CANCELLED (0 for a
 * vote op). */
int dtx_op_done_state(int op);

/* Is a branch transition legal? (from, to are DTX_BRANCH_*). */
int dtx_branch_transition_ok(int from, int to);

/* "trying", "tried", ... or "unknown". */
const char *dtx_branch_state_name(int state);

/* 1 for COMMITTED and ABORTED. */
int dtx_state_is_final(int state);

#endif
