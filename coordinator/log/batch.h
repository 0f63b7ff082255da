/*
 * batch.h — set-based statements: one execution per statement kind per
 * batch (store.c sends them; log/ internal, but for dtx_batch_elem, which
 * engine/initiator_try.c also uses for DTX_SQL_BRANCH_FIRST's arrays).
 *
 * A statement with a set form (dtx_store_stmt_t.set_sql, store_types.h) takes each of its
 * parameters as an array, one element per operation, and returns one row
 * per row the single form would have returned, led by the operation's set
 * key (below; mostly its first parameter, the gid) — so that a row failing
 * its fence, which the single form would have returned nothing for, only
 * leaves its own operation without rows.
 *
 * A set's operations are in the order of their set keys, compared byte by
 * byte (strcmp: PostgreSQL's "C" collation), so that a statement finds a
 * key's place in its array of keys by binary search (width_bucket,
 * sql.c).
 *
 * Ordering: the operations of one batch on one key must run in the order
 * they were submitted. A set runs at the place of its first operation, so
 * an operation joins its kind's set only when every operation of its key
 * before it in the batch is in that set too (for most statements: only
 * when it is the first of its key); any other runs alone, at its own
 * place, and so does every later operation of its key. Then everything
 * before a set on each of its keys ran before it or runs in it, and
 * everything after it on those keys runs later.
 *
 * Set keys: a set's operations write distinct rows. For most statements
 * a row is its key's (the global row, or the branch the transaction's
 * first write makes), so a set holds one operation per key. A statement
 * planned DTX_BATCH_BY_SETKEY writes one row of several per key (a
 * branch: dtx_branch_vote, dtx_branch_done) and names it by a set key (gid/branch, built by
 * the store): its set holds several operations of one key, one per set
 * key, and is sorted, searched and cut by set key instead.
 */
#ifndef DTX_COORD_BATCH_H
#define DTX_COORD_BATCH_H

#include <stddef.h>

#include <libpq-fe.h>

#include "core/metrics.h"


/* What a batch runs, in order. */
typedef struct dtx_batch_plan {
    int *exec;     /* nexec entries: >= 0 one operation alone, < 0 set -1-entry */
    int  nexec;
    int *set_stmt; /* per set: its statement */
    int *set_from; /* per set: its first entry in members */
    int *set_n;    /* per set: how many operations */
    int  nsets;
    int *members;  /* operation indexes, set by set, each set in set-key order */
    int *slot;     /* scratch: per operation, its set or -1 */
    int *seen;     /* scratch: open-addressing table of keys (operation index, -1 free) */
    int *seen_set; /* scratch: the same for set keys of DTX_BATCH_BY_SETKEY sets */
    int *key_set;  /* scratch: per operation first of its key, the set every
                      operation of that key so far is in, or -1 */
    int  cap;      /* operations the arrays hold */
    int  seen_cap; /* entries of seen and seen_set (a power of 2) */
} dtx_batch_plan_t;

/* How a statement is planned (dtx_batch_plan's mode[stmt]). */
enum {
    DTX_BATCH_ALONE = 0,    /* no set form: each operation alone */
    DTX_BATCH_BY_KEY = 1,   /* a set holds one operation per key */
    DTX_BATCH_BY_SETKEY = 2 /* one per set key, several per key (above) */
};

/* Plans n operations (stmt[i] their statement, key[i] their key, setkey[i]
 * their set key — key[i] itself unless their statement is planned
 * DTX_BATCH_BY_SETKEY; mode[s] how statement s is planned): sets of two or
 * more, each in set-key order; the rest alone. 0 or DTX_ENOMEM. */
int dtx_batch_plan(dtx_batch_plan_t *self, int n, const int *stmt, const char *const *key,
                   const char *const *setkey, const unsigned char *mode);
void dtx_batch_plan_free(dtx_batch_plan_t *self);

/* Appends to buf (core/metrics.h's growing text, reused between batches),
 * as one element of a PostgreSQL array literal, the parameter (value,
 * len, binary): NULL as NULL, text quoted, binary as a bytea hex literal.
 * 0 or DTX_ENOMEM. */
int dtx_batch_elem(dtx_text_t *buf, const char *value, int len, int binary, int first);

/* Cutting a set's result into each operation's rows: order is the
 * result's rows sorted by their first column (the key) byte by byte,
 * malloc'd (the caller frees it), NULL on ENOMEM. Then, for the set's
 * operations in the order of their keys (batch plan's members), starting
 * with *at = 0: dtx_batch_rows_at returns the rows whose first column is
 * key, without that column — what the single form would have returned to
 * that operation — and moves *at past them. One sort and one walk for the
 * whole set, where a search per operation would read every row each time.
 * NULL on ENOMEM. The caller PQclears it. */
int *dtx_batch_order(const PGresult *set);
PGresult *dtx_batch_rows_at(PGconn *conn, const PGresult *set, const int *order, int *at,
                            const char *key);

#endif
