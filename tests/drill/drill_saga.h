/*
 * drill_saga.h — the Saga transfers of the recovery drill's load
 * (drill_transfer.c builds them with drill_saga_plan, submits and follows
 * them). Every shape moves money with the banks' Saga steps
 * (samples/bank/participant.c: debit/refund, credit/uncredit) and makes a
 * credit its pivot, so that no compensation ever needs money that may
 * have been spent meanwhile:
 *
 *   pair    1 debit from a (refund)  ─▶ 2 credit to a (pivot)
 *   fanout  1 debit from a1 (refund) ─┐
 *           2 debit from2 a2 (refund) ┴▶ 3 credit to a1+a2 (pivot)   (concurrent)
 *   tail    1 debit from a1+a2 (refund) ─▶ 2 credit to a1 (pivot)
 *                                        ─▶ 3 credit to2 a2 (forward only)
 *
 * With overdraw, the first debit asks for more than any account holds:
 * it is refused before the pivot, and the Saga must end compensated.
 */
#ifndef DRILL_SAGA_H
#define DRILL_SAGA_H

#include <stdint.h>

#include "dtx/dtx.h"

enum { DRILL_SAGA_PAIR, DRILL_SAGA_FANOUT, DRILL_SAGA_TAIL, DRILL_SAGA_SHAPES };

/* One side of a step: bank (resource) and account. */
typedef struct drill_saga_side {
    const char *bank;
    const char *account;
} drill_saga_side_t;

typedef struct drill_saga_transfer {
    int               shape;     /* DRILL_SAGA_* */
    drill_saga_side_t from;      /* the first debit */
    drill_saga_side_t from2;     /* fanout: the second debit */
    drill_saga_side_t to;        /* the pivot's credit */
    drill_saga_side_t to2;       /* tail: the credit after the pivot */
    int64_t           a1, a2;    /* amounts (cents, > 0; a2 unused by pair) */
    int64_t           overdraw;  /* > 0: the first debit asks this much instead */
} drill_saga_transfer_t;

/* The plan of t, or NULL (out of memory, or a plan libdtx refuses). */
dtx_saga_t *drill_saga_plan(const drill_saga_transfer_t *t);

/* "pair", "fanout", "tail". */
const char *drill_saga_shape_name(int shape);

#endif
