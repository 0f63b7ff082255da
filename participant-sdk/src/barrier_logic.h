/*
 * barrier_logic.h — the decisions of the idempotency barrier (dtx/barrier.h)
 * as a pure function, so that every row of its table is unit-tested without
 * a database. barrier.c runs the SQL and asks this function what to do
 * after each insert.
 *
 * Rows each op inserts, with ON CONFLICT DO NOTHING, in one transaction:
 *
 *   op       step   row (op, origin)       inserted?  existing    action
 *   -------  -----  ---------------------  ---------  ----------  -------------------
 *   try      FIRST  (try, try)             yes        -           RUN
 *   try      FIRST  (try, try)             no         unknown     LOOKUP_ORIGIN
 *   try      FIRST  (try, try)             no         'try'       DUPLICATE
 *   try      FIRST  (try, try)             no         'cancel'    HANGING
 *   confirm  FIRST  (confirm, confirm)     yes / no   -           RUN / DUPLICATE
 *   cancel   FIRST  (try, cancel)          yes        -           NULL_COMPENSATION
 *   cancel   FIRST  (try, cancel)          no         -           INSERT_CANCEL
 *   cancel   CANCEL (cancel, cancel)       yes / no   -           RUN / DUPLICATE
 *
 * NULL_COMPENSATION inserts (cancel, cancel) too, so that a repeated cancel
 * is a DUPLICATE and a later try is HANGING.
 *
 * 2PC ops use the rows of their TCC counterpart (dtx_barrier_row_op), since
 * the table's CHECK allows only 'try', 'confirm' and 'cancel': prepare
 * behaves as try, commit as confirm, abort as cancel. A gid is either TCC
 * or 2PC, so the two never meet on one (gid, branch). Saga ops likewise: an
 * action behaves as try (a duplicate is skipped, one after its compensation
 * is refused), a compensation as cancel (before its action: a null
 * compensation). A message's DELIVER behaves as try: a duplicate is
 * skipped (nothing ever cancels a delivery).
 */
#ifndef DTX_BARRIER_LOGIC_H
#define DTX_BARRIER_LOGIC_H

/* Private to libdtx: linkable from the static library (unit tests), not
 * exported by the shared one. */
#define DTX_PRIVATE __attribute__((visibility("hidden")))

/* Which insert just ran. */
typedef enum dtx_barrier_step {
    DTX_BARRIER_STEP_FIRST = 0,  /* the op's first insert (see the table) */
    DTX_BARRIER_STEP_CANCEL_ROW, /* cancel's insert of (cancel, cancel) */
} dtx_barrier_step_t;

/* What the barrier does next. */
typedef enum dtx_barrier_action {
    DTX_BARRIER_RUN = 0,              /* run fn; COMMIT on DTX_OK, else ROLLBACK */
    DTX_BARRIER_DUPLICATE,            /* already done: skip fn, ROLLBACK, DTX_OK */
    DTX_BARRIER_HANGING,              /* try after its cancel: skip fn, ROLLBACK, DTX_EREFUSED */
    DTX_BARRIER_NULL_COMPENSATION,    /* cancel before any try: insert (cancel, cancel),
                                         skip fn, COMMIT, DTX_OK */
    DTX_BARRIER_INSERT_CANCEL,        /* cancel after a try: insert (cancel, cancel) next */
    DTX_BARRIER_LOOKUP_ORIGIN,        /* read the existing try row's origin, decide again */
    DTX_BARRIER_INVALID,              /* unknown op or step, or an origin the barrier never
                                         writes: ROLLBACK, error */
} dtx_barrier_action_t;

/* The TCC op whose barrier rows op uses: DTX_OP_PREPARE, DTX_OP_ACTION and
 * DTX_OP_DELIVER
 * -> DTX_OP_TRY, DTX_OP_COMMIT -> DTX_OP_CONFIRM, DTX_OP_ABORT and
 * DTX_OP_COMPENSATE -> DTX_OP_CANCEL; a TCC op
 * maps to itself. DTX_EINVAL for an unknown op. */
DTX_PRIVATE int dtx_barrier_row_op(int op);

/* The row (op, origin) an op (TCC or 2PC) inserts first. Returns 0, or DTX_EINVAL for
 * an unknown op (*row_op and *origin are then NULL). */
DTX_PRIVATE int dtx_barrier_first_row(int op, const char **row_op, const char **origin);

/* Decides after an insert. op is DTX_OP_* (TCC or 2PC); step is which insert ran;
 * inserted is 1 when it added a row, 0 on conflict; origin is the existing
 * try row's origin when known ("try" or "cancel"), else NULL. */
DTX_PRIVATE dtx_barrier_action_t dtx_barrier_decide(int op, dtx_barrier_step_t step,
                                                    int inserted, const char *origin);

/* "run", "duplicate", ... for log lines and test messages. */
DTX_PRIVATE const char *dtx_barrier_action_name(dtx_barrier_action_t action);

#endif
