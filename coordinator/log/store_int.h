/*
 * store_int.h — the log store's insides, shared by store.c (connections,
 * submission, outages) and store_pipe.c (sending a batch down the
 * pipeline, reading its results). log/ only.
 */
#ifndef DTX_COORD_STORE_INT_H
#define DTX_COORD_STORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "batch.h"
#include "route.h"
#include "store_types.h"

#define DTX_STORE_MAXPARAMS 12
/* Batches a connection has in flight at most: the second is sent while
 * the first still runs, so that its backend starts on it the moment the
 * first commits instead of waiting for this process to read the results,
 * run their callbacks and send again (store.c). */
#define DTX_STORE_DEPTH 2
/* Sent first in a batch of only lazy statements (store.h). */
#define DTX_STORE_LAZY_STMT "dtx_store_lazy_commit"
#define DTX_STORE_LAZY_SQL "SELECT set_config('synchronous_commit', 'off', true)"

typedef struct dtx_store_op {
    int          stmt;
    int          nparams;
    size_t       off[DTX_STORE_MAXPARAMS];   /* param offset in arena, or SIZE_MAX for NULL */
    int          len[DTX_STORE_MAXPARAMS];
    int          fmt[DTX_STORE_MAXPARAMS];
    dtx_store_cb cb;
    void        *ctx;
    PGresult    *res;                /* kept until the Sync */
    int          in_set;             /* ran in a set statement (res made from its rows) */
    uint32_t     key;                /* its shard key */
    int          held;               /* counted in the store's route (route.h) */
    size_t       setkey;             /* its set key "gid/branch" in the arena (a
                                        set_by_branch statement), or SIZE_MAX: its gid */
} dtx_store_op_t;

typedef struct dtx_store_batch {
    dtx_store_op_t  *ops;
    int      n;
    int      cap;
    char    *arena;
    size_t   used;
    size_t   arena_cap;
    int      cursor;   /* next op whose result is expected */
    int      failed;   /* a statement failed: the whole batch is rolled back */
    int      read_only; /* a statement met a read-only server (25006) */
    int      nbg;      /* ops submitted in background mode */
    int      nsync;    /* ops whose statement is not lazy */
    int      lazy;     /* sent lazy: a set_config result precedes the ops' */
    dtx_batch_plan_t plan; /* what runs, in order: cursor walks plan.exec */
    int     *kinds;    /* scratch for the plan: each op's statement */
    const char **keys; /* and its key (first parameter) */
    const char **setkeys; /* and its set key (log/batch.h) */
    int64_t  sent_ms;  /* monotonic: when it was sent (metrics) */
} dtx_store_batch_t;

typedef struct dtx_store_conn {
    PGconn   *pg;
    int       up;
    int       broken;        /* failure noticed; batches still to be failed */
    int       inflight;      /* batches sent, awaiting their Syncs: 0..DTX_STORE_DEPTH */
    const char *halt;        /* NULL, or why nothing more may be sent on it: it goes
                                down once the batches in flight are read (store_pipe.c) */
    int       want_write;    /* PQflush has more to send */
    int64_t   next_connect_ms;
    uint32_t  failed_connects; /* attempts failed since it went down */
    int       counted_down;    /* counted in the process-wide count of connections down */
    dtx_store_batch_t pending;
    dtx_store_batch_t flying;  /* the oldest batch in flight (inflight >= 1) */
    dtx_store_batch_t next;    /* the one sent behind it (inflight == 2) */
    dtx_store_batch_t done;    /* a committed batch whose callbacks run (store_pipe.c) */
} dtx_store_conn_t;

struct dtx_store {
    char                   *conninfo;
    char                   *session_sql; /* run on each connection after it opens, or NULL */
    const dtx_store_stmt_t *stmts;
    int                     nstmts;
    dtx_store_conn_t       *conns;
    int                     nconn;   /* connections: the shards, then the control one */
    int                     nshards; /* connections gids are spread over */
    int                     background; /* submissions now are background work */
    char                  (*set_names)[64]; /* per statement: its set form's name */
    unsigned char          *set_mode; /* per statement: how batch.h plans it (DTX_BATCH_*) */
    dtx_text_t              setbuf;  /* a set statement's array parameters, being built */
    dtx_route_t            *route;   /* shard keys with writes outstanding: their connection */
    int                     spill;   /* a shard's pending batch this big: the next one takes writes */
    dtx_store_stats_t       stats;
};

/* op's key (log/batch.h): its gid, the first parameter ("" when NULL). */
static inline const char *dtx_store_op_key(const dtx_store_batch_t *b, const dtx_store_op_t *op)
{
    return op->nparams > 0 && op->off[0] != SIZE_MAX ? b->arena + op->off[0] : "";
}

/* op's set key (log/batch.h): "gid/branch" for a set_by_branch
 * statement, else its key. */
static inline const char *dtx_store_op_setkey(const dtx_store_batch_t *b, const dtx_store_op_t *op)
{
    return op->setkey != SIZE_MAX ? b->arena + op->setkey : dtx_store_op_key(b, op);
}

/* store_pipe.c, below store.c: it never marks a connection down itself,
 * it says why it should be (the caller does, store.c). */
void dtx_store_batch_reset(dtx_store_batch_t *b);
/* Lets go of the holds of b's ops (route.h): they are decided. */
void dtx_store_batch_release(dtx_store_t *self, dtx_store_batch_t *b);
/* Fails every op of b with rc: DTX_EDB when the batch is known not to
 * have committed (never sent, or rolled back), DTX_EUNKNOWN when it may
 * have. */
void dtx_store_batch_fail(dtx_store_t *self, dtx_store_batch_t *b, int rc);
/* 1 when c's pending batch may be sent now: c is up and not halted, and
 * it has no batch in flight, or one that has not failed (a batch behind a
 * failed one would run on a session that may be going away: a demoted
 * primary's). */
static inline int dtx_store_can_send(const dtx_store_conn_t *c)
{
    return c->up && !c->halt && c->pending.n > 0 &&
           (c->inflight == 0 || (c->inflight < DTX_STORE_DEPTH && !c->flying.failed));
}
/* Sends c's pending batch (it becomes the oldest in flight, or the one
 * behind it). NULL, or why c is broken now (and c->halt says so too). */
const char *dtx_store_pipe_send(dtx_store_t *self, dtx_store_conn_t *c);
/* Reads what c's server answered; runs the callbacks of a batch whose
 * Sync came. NULL, or why c is broken now. */
const char *dtx_store_pipe_read(dtx_store_t *self, dtx_store_conn_t *c);

#endif
