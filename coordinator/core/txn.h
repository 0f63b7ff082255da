/*
 * txn.h — the global transaction and branch state machines, both modes,
 * and the only code that writes a state (see "the only writer" below).
 *
 * Global states (wire and log codes in dtx/types.h):
 *
 *                 COMMIT (every branch tried)            all confirmed
 *     ACTIVE ───────────────────────────────▶ COMMITTING ─────────────▶ COMMITTED
 *       │                                         │ retry budget spent      ▲
 *       │ ROLLBACK / TRY_REFUSED / DEADLINE /     ▼                         │
 *       │ PREPARE_LOST (2PC, presumed abort)      │                         │
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
 *
 * Saga (DTX_MODE_SAGA; the plan is in the log before any action leaves,
 * docs/sagas.md). The same global states, other events:
 *
 *     ACTIVE ──FORWARD (every step done, or the pivot done)──▶ COMMITTING
 *       │        (actions run forward, each once its dependencies are done)
 *       │ TRY_REFUSED (a step refused, or spent its retry budget) /
 *       │ DEADLINE / ROLLBACK — not while the pivot may be running
 *       ▼
 *     ABORTING: compensations, a step only once every step that depends on
 *               it is compensated (reverse order); all compensated → ABORTED
 *     COMMITTING: forward only — the remaining actions are retried until
 *               they succeed; all done → COMMITTED
 *     both: a compensation or a post-pivot action over its retry budget →
 *           STUCK (resume goes back, as for TCC and 2PC).
 *
 * A step is a branch whose `step` is set. Its states (same codes):
 *
 *     TRYING (action not done) ──action ok──▶ CONFIRMED ─compensated─▶ CANCELLED
 *       │  └──action refused──▶ REFUSED ────compensated───────────────────▲
 *       └──compensated, or skipped (its action never left)────────────────┘
 *
 * Invariants (Saga):
 *  - a compensation is sent for every step that ran or may have run (not
 *    TRYING, or its action may have left: never_sent is 0), never for a
 *    step whose dependencies were not all done (its action never left);
 *  - a step is compensated only after every step depending on it is
 *    CANCELLED, so compensations run in reverse order;
 *  - while the pivot's action may be running (sent, no definitive
 *    answer) nothing aborts: it is retried until it succeeds (FORWARD) or
 *    is refused;
 *  - COMMITTED means every step CONFIRMED; ABORTED every step CANCELLED
 *    (the FINISH statement checks it in the log too).
 *
 * Transactional message (DTX_MODE_MSG, core/tmsg.h has its whole life and
 * its check-back). Its destinations are branches recorded TRIED by the
 * TMSG that prepared it (nothing to vote on); ACTIVE means "prepared, the
 * service's local transaction may still commit". COMMIT (the submit) and
 * ROLLBACK act as in TCC; past the deadline an ACTIVE message is not
 * aborted but asked about (QUERY_PREPARED to its check-back resource): its
 * answer is the COMMIT or ROLLBACK that never came. Delivery is the
 * confirm path (op DELIVER); an abort sends nothing (each branch is
 * recorded cancelled). One more STUCK: a check-back over its retry budget
 * goes STUCK with decision ACTIVE, and resume asks again.
 */
#ifndef DTX_COORD_TXN_H
#define DTX_COORD_TXN_H

#include <stdint.h>

#include "dtx/heap.h"
#include "dtx/saga.h"
#include "dtx/types.h"
#include "registry.h"

#define DTX_BRANCH_TRYING    1
#define DTX_BRANCH_TRIED     2
#define DTX_BRANCH_REFUSED   3
#define DTX_BRANCH_CONFIRMED 4
#define DTX_BRANCH_CANCELLED 5

/* --- what a transaction is --- */

/* Where to send a reply. A ZeroMQ peer is its routing id and its request's
 * corr; an HTTP request (admin API) is a handle id the HTTP module gave it,
 * in corr. Replies go through dtx_outbox_reply(), which knows both. */
#define DTX_PEER_ZMQ  0
#define DTX_PEER_HTTP 1
#define DTX_PEER_MULTI 2 /* one branch of a TRY_MANY (initiator_multi.c); corr: its key */
typedef struct dtx_peer {
    uint8_t  kind;                         /* DTX_PEER_* */
    uint8_t  rid[DTX_ROUTING_ID_MAX];
    uint8_t  rid_len;
    uint64_t corr;
    uint8_t  version;                      /* protocol version of the request (0 = 1): the reply's */
} dtx_peer_t;

/* A request parked until its transaction is loaded or its decision write
 * completes; replayed then. */
typedef struct dtx_request {
    struct dtx_request *next;
    dtx_peer_t peer;
    unsigned   roles;                      /* the sender's DTX_ROLE_* bits */
    char       principal[DTX_OWNER_SIZE];  /* the sender's principal */
    uint8_t    type;                       /* DTX_MSG_TRY, _COMMIT, ... */
    int        reloaded;                   /* already retried after a fresh load */
    int        maybe_done;                 /* its first run may have changed the log */
    int        repeat;                     /* a COMMIT made of a TCC_RUN's repeat
                                              (docs/protocol.md §19.3) */
    char       gid[DTX_NAME_SIZE];
    char       resource[DTX_NAME_SIZE];
    char       action[DTX_NAME_SIZE];
    uint8_t   *payload;                    /* owned copy (TRY) */
    uint32_t   payload_len;
} dtx_request_t;

#define DTX_SENT_RING 4                    /* sends of one op a reply may answer */
#define DTX_PARKED_MAX 64                  /* requests parked on one transaction */

/* What a Saga step has beyond a TCC branch (owned by its branch). */
typedef struct dtx_step {
    char       undo[DTX_NAME_SIZE];        /* compensation op name; "" none (pivot) */
    uint8_t    flags;                      /* DTX_SAGA_STEP_* (dtx/saga.h) */
    uint8_t    nafter;                     /* entries of after */
    uint8_t    after[DTX_SAGA_STEPS_MAX];                  /* step numbers it waits for (effective) */
} dtx_step_t;

typedef struct dtx_branch {
    uint32_t   no;                         /* 1-based branch number */
    dtx_step_t *step;                      /* Saga only: owned; NULL for TCC and 2PC */
    int        state;                      /* DTX_BRANCH_*: as in the log, or ahead of
                                              it by an acknowledgement (ack_unlogged) */
    int        op;                         /* op being driven: DTX_OP_* */
    uint32_t   attempt;                    /* attempts of op sent so far */
    int        inflight;                   /* a PHASE awaits its reply */
    int        writing;                    /* a write of this branch is in flight */
    int        ack_unlogged;               /* final here, not in the log yet (its
                                              acknowledgement is written with the
                                              final state or STUCK) */
    int        unknown_vote;               /* reloaded while trying: vote lost */
    int        never_sent;                 /* no PHASE ever left for it (fresh only) */
    int64_t    due_ms;                     /* monotonic: next send or timeout; 0 none */
    int64_t    first_wait_ms;              /* when it started waiting for an instance */
    int64_t    sent_ms;                    /* monotonic: when the in-flight call left (metrics) */
    /* The last sends of the current op: a reply counts only when it comes
     * from the instance an attempt went to and repeats that attempt's
     * corr. Cleared when the op changes. */
    struct { uint64_t serial, corr; uint32_t attempt; } sent[DTX_SENT_RING];
    char       resource[DTX_NAME_SIZE];
    char       action[DTX_NAME_SIZE];
    uint8_t   *payload;                    /* owned */
    uint32_t   payload_len;
    int        has_waiter;                 /* an initiator waits for the Try vote */
    dtx_peer_t waiter;
    uint64_t   inst_serial;                /* instance of the in-flight call; 0 none */
    char       last_error[128];
} dtx_branch_t;

typedef struct dtx_txn {
    char           gid[DTX_NAME_SIZE];
    uint32_t       shard;                  /* dtx_id_hash(gid): its bucket and log connection */
    int            mode;                   /* DTX_MODE_* */
    int            state;                  /* DTX_STATE_* as in the log */
    int            loading;                /* being read from the log */
    int            writing;                /* a global-state write is in flight */
    int            finishing;              /* the final write is in flight */
    int            slow;                   /* a Confirm/Cancel failed: acknowledgements
                                              are written as they come */
    int64_t        progress_due_ms;        /* mono: acknowledgements not in the log are
                                              written then, unless the final write
                                              carries them first (0: none) */
    int            owned;                  /* this node holds it (else read-only) */
    int            unlogged;               /* begun, no row in the log yet (written with
                                              its first branch, or with its decision) */
    char           gen[24];                /* owner_gen it was loaded/created with */
    char           initiator[DTX_OWNER_SIZE]; /* principal that began it ("" unknown) */
    char           traceparent[DTX_TRACEPARENT_SIZE]; /* W3C trace context of its BEGIN ("" logged before 009) */
    int64_t        payload_bytes;          /* payload held by its branches and parked TRYs */
    int            pending_branches;       /* TRYs whose branch write is in flight */
    int64_t        pending_payload;        /* their payload bytes */
    int            nparked;                /* requests parked */
    int            decision;               /* recorded decision (for STUCK) */
    int            preparing;              /* 2PC: COMMIT started the prepare phase;
                                              TCC: a TCC_RUN that commits by itself */
    int            run_branches;           /* that TCC_RUN's batch size: it commits
                                              only with every one recorded (0: none) */
    int            keyed;                  /* begun by a TCC_RUN whose gid is the
                                              initiator's (flag bit 1): its id found
                                              in the log makes it a repeat */
    int            run;                    /* begun by a TCC_RUN that commits by
                                              itself (the log's mark: preparing on a
                                              TCC row, never cleared): what a repeat
                                              may name (docs/protocol.md §19.3) */
    int64_t        deadline_wall;          /* epoch ms */
    int64_t        deadline_mono;          /* the same, monotonic */
    int64_t        begun_ms;               /* monotonic BEGIN time; 0 when loaded (metrics) */
    dtx_branch_t **branches;               /* by position; branch no i+1 normally at i */
    dtx_branch_t  *checkback;              /* MSG only: the check-back call (branch number 0,
                                            * op QUERY_PREPARED, the check-back resource);
                                            * owned, not in branches */
    int            nbranches;
    int            capbranches;
    dtx_request_t *parked;                 /* FIFO of parked requests */
    dtx_request_t *parked_tail;
    dtx_peer_t     decision_waiter;        /* COMMIT/ROLLBACK waiting on a decision */
    uint8_t        decision_waiter_type;   /* DTX_MSG_COMMIT or _ROLLBACK */
    unsigned       decision_waiter_roles;  /* its sender's roles and principal, */
    char           decision_waiter_principal[DTX_OWNER_SIZE]; /* to run it again */
    int            decision_waiter_reloaded; /* its request's reloaded: it was run again
                                            * once already (dtx_initiator_rerun: at most once) */
    int            has_decision_waiter;
    int            refs;                   /* store callbacks holding it */
    int            dead;                   /* removed from the table */
    dtx_heap_node_t timer;                 /* in the table's timer heap; key: earliest due, monotonic ms */
    struct dtx_txn *hnext;                 /* hash chain */
} dtx_txn_t;

/* For log lines: "trace=%.32s" with DTX_TXN_TRACE(txn) shows the trace-id
 * of txn's traceparent, or "-" when it has none. */
#define DTX_TXN_TRACE(txn) ((txn)->traceparent[0] ? (txn)->traceparent + 3 : "-")

/* Events that move a global transaction. */
typedef enum dtx_txn_event {
    DTX_EV_COMMIT,        /* initiator asks to commit */
    DTX_EV_ROLLBACK,      /* initiator asks to roll back */
    DTX_EV_TRY_REFUSED,   /* a branch voted no, failed or timed out */
    DTX_EV_DEADLINE,      /* the deadline passed while active */
    DTX_EV_ALL_DONE,      /* every branch acknowledged the decision */
    DTX_EV_BUDGET_SPENT,  /* a branch exhausted its retry budget */
    DTX_EV_RESUME,        /* an operator resumes a stuck transaction */
    DTX_EV_PREPARE_LOST,  /* 2PC: the prepare phase lost its coordinator (presumed abort) */
    DTX_EV_FORWARD        /* Saga: every step done, or the pivot done: forward only */
} dtx_txn_event_t;

/* Facts about the branches that the COMMIT event depends on. */
typedef struct dtx_txn_votes {
    int trying;   /* branches whose vote has not arrived */
    int refused;  /* branches that voted no */
    int unknown;  /* branches whose vote was lost (reloaded while trying) */
    int pivot_open; /* Saga: the pivot's action may be running, or is done (no abort then) */
} dtx_txn_votes_t;

/* Counts the votes of txn's branches. In 2PC a TRYING branch is enlisted
 * and votes at COMMIT (Prepare): it is not "trying". */
void dtx_txn_votes(const dtx_txn_t *txn, dtx_txn_votes_t *out);

/* Next global state for event in state. decision is the transaction's
 * recorded decision (DTX_STATE_COMMITTING or _ABORTING; 0 when none) and
 * is used by STUCK/RESUME. Returns:
 *   0             legal: *next is the new state (may equal state: an
 *                 idempotent repeat such as COMMIT while COMMITTING);
 *   DTX_EBUSY     COMMIT while a try is in flight; ROLLBACK while a
 *                 Saga's pivot may be running (DEADLINE and TRY_REFUSED
 *                 then leave the state as it is);
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
/* The same for a Saga step. */
int dtx_step_transition_ok(int from, int to);

/* "trying", "tried", ... or "unknown". */
const char *dtx_branch_state_name(int state);

/* 1 for COMMITTED and ABORTED. */
int dtx_state_is_final(int state);

/* --- the only writer of states ---
 *
 * Every state of a transaction or a branch in memory is written by the
 * functions below and by nothing else (tests/layers/run.sh fails on an
 * assignment anywhere else). The engine computes what to record with
 * dtx_txn_next, records it in the log, and once the log has it calls
 * dtx_txn_enter / dtx_branch_enter; a load copies the log's row through
 * dtx_txn_restore / dtx_branch_restore, which refuse what this machine
 * never writes.
 *
 * The flags that ride beside `state`, and their legal combinations
 * (dtx_txn_check asserts them after every change):
 *   decision   0 while ACTIVE; equal to state in COMMITTING and ABORTING;
 *              COMMITTING or ABORTING in STUCK (what resume goes back to),
 *              or ACTIVE for a message whose check-back spent its budget;
 *              kept in the final states (0 when loaded from a log that
 *              finished before decisions were kept).
 *   preparing  only in 2PC and TCC, only while ACTIVE (2PC: COMMIT sent
 *              the Prepares; TCC: a TCC_RUN with the commit flag, whose
 *              coordinator decides commit itself once every vote is yes
 *              — docs/protocol.md §19; the decision clears it). Either
 *              way the decision lives in one coordinator's memory: one
 *              that loads the transaction ACTIVE and preparing aborts it.
 *   loading, writing, finishing, owned, dead: the engine's bookkeeping of
 *              its log writes, not states; a dead transaction is never
 *              moved.
 * A branch's flags:
 *   unknown_vote  TCC only: loaded while TRYING, its vote lost with the
 *              coordinator that sent the Try; the branch can then only be
 *              CANCELLED (never CONFIRMED: dtx_branch_enter asserts it).
 *   inflight, writing, never_sent, has_waiter: the engine's bookkeeping
 *              (a PHASE awaits its reply; a write of the branch is in
 *              flight; no PHASE ever left; an initiator awaits the vote).
 */
/* A new transaction: ACTIVE in mode, no decision. */
void dtx_txn_start(dtx_txn_t *txn, int mode);
/* Copies a transaction row from the log. The log's preparing flag counts
 * only while ACTIVE in 2PC or TCC. Returns 0, or DTX_EPROTO for a mode, state or
 * decision this machine never writes (txn unchanged). */
int  dtx_txn_restore(dtx_txn_t *txn, int mode, int state, int decision, int preparing);
/* 1 when next is a legal successor of txn's state (or equals it). */
int  dtx_txn_can_enter(const dtx_txn_t *txn, int next);
/* The log recorded next: moves txn there and keeps the flags in step
 * (entering COMMITTING or ABORTING records the decision and ends the
 * prepare phase). next must be legal (assert). */
void dtx_txn_enter(dtx_txn_t *txn, int next);
/* 2PC: COMMIT sent the Prepares; TCC: a TCC_RUN that commits by itself
 * (on) / presumed abort (off). ACTIVE only. */
void dtx_txn_set_preparing(dtx_txn_t *txn, int on);
/* Asserts the legal combinations of state and flags. */
void dtx_txn_check(const dtx_txn_t *txn);

/* A new branch: TRYING. */
void dtx_branch_start(dtx_branch_t *br);
/* Copies a branch row from the log; DTX_EPROTO for a state that does not
 * exist, or that a Saga step never has (TRIED) when br->step is set (br
 * unchanged). */
int  dtx_branch_restore(dtx_branch_t *br, int state);
/* Moves br to next: a legal transition (dtx_branch_transition_ok, or
 * dtx_step_transition_ok for a Saga step) or a repeat of its state
 * (assert). */
void dtx_branch_enter(dtx_branch_t *br, int next);

#endif
