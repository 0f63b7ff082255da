/*
 * barrier_internal.h — the barrier's run function with the two hooks that
 * dtx/pgres.h needs and dtx_barrier_call does not expose. Private to
 * libdtx.
 */
#ifndef DTX_BARRIER_INTERNAL_H
#define DTX_BARRIER_INTERNAL_H

#include <libpq-fe.h>

#include "barrier_logic.h"
#include "dtx/barrier.h"

/* How dtx_barrier_call_ex differs from dtx_barrier_call. */
typedef struct dtx_barrier_opts {
    const char *setup_sql; /* run right after BEGIN (NULL: nothing), e.g.
                              "SET LOCAL lock_timeout = 2000", so that the
                              inserts wait no longer for a concurrent
                              delivery of the same branch */
    const char *end_sql;   /* how a RUN whose fn returned DTX_OK ends (NULL:
                              "COMMIT"); a "PREPARE TRANSACTION '...'" leaves
                              the barrier row and fn's work prepared together
                              (a null compensation always ends with COMMIT) */
    int         quiet;     /* 1: log decisions at debug level only (the
                              caller logs what they mean to it) */
} dtx_barrier_opts_t;

/* dtx_barrier_call with opts (NULL: the defaults); *action_out (may be
 * NULL) gets what the barrier decided (DTX_BARRIER_INVALID when it failed
 * before deciding). Returns as dtx_barrier_call. */
DTX_PRIVATE int dtx_barrier_call_ex(PGconn *conn, const dtx_call_t *call, dtx_barrier_fn fn,
                                    void *arg, const dtx_barrier_opts_t *opts,
                                    dtx_barrier_action_t *action_out);

#endif
