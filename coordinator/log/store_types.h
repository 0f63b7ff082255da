/*
 * store_types.h — the log store's types (store.h has the store and its
 * contract): what a statement is, a completion, the counters.
 */
#ifndef DTX_COORD_STORE_TYPES_H
#define DTX_COORD_STORE_TYPES_H

#include <stdint.h>

#include <libpq-fe.h>

#include "core/metrics.h"

typedef struct dtx_store dtx_store_t;

/* Completion: rc is 0, DTX_EDB or DTX_EUNKNOWN (above); res (NULL on failure) is valid only
 * during the call. */
typedef void (*dtx_store_cb)(void *ctx, int rc, const PGresult *res);

typedef struct dtx_store_stmt {
    const char *name;  /* prepared statement name */
    const char *sql;   /* text with $1..$n */
    int         nparams;
    int         lazy;  /* 1: need not be flushed before its callback (see below) */
    const char *set_sql; /* NULL, or its set form (log/batch.h): every parameter an
                            array, one row per row the single form returns, led by
                            the operation's first parameter (its set key: below) */
    int         set_by_branch; /* 1: its set takes several operations of one gid, one
                            per branch (log/batch.h's set keys): the set key is
                            "gid/branch" ($1, and $2 as a number), the set form
                            gets the set keys as one more array, sorted, and leads
                            each row with its set key instead */
} dtx_store_stmt_t;

typedef struct dtx_store_stats {
    uint64_t round_trips;   /* batches committed */
    uint64_t lazy_round_trips; /* of those, lazy (synchronous_commit off) */
    uint64_t ops;           /* operations completed successfully */
    uint64_t statements;    /* statements executed in committed batches (a set counts once) */
    uint64_t failed_ops;    /* operations failed (DTX_EDB or DTX_EUNKNOWN) */
    uint64_t unknown_ops;   /* of those, lost in flight (DTX_EUNKNOWN) */
    uint32_t max_batch;     /* largest batch so far */
    int      connected;     /* connections up */
    dtx_hist_t batch_ms;    /* committed batches: sent to result of its Sync (ms) */
    dtx_hist_t batch_ops;   /* committed batches: statements each (the ms buckets as counts) */
} dtx_store_stats_t;

#endif
