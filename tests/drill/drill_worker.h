/*
 * drill_worker.h — what the parts of drill-load share (drill_load.c has
 * the workload and its journal): the options, the counters, a worker
 * thread, and the helpers every transfer uses (random numbers, clients,
 * moving to another coordinator, journal lines, counting).
 */
#ifndef DRILL_WORKER_H
#define DRILL_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "dtx/dtx.h"

#define DRILL_MAX_COORDINATORS 8
#define DRILL_MAX_BANKS        4
#define DRILL_MAX_ACCOUNTS     16                 /* per bank, as bank-participant --seed allows */
#define DRILL_MAX_WORKERS      64
#define DRILL_ERR_SLOTS        (1 - DTX_ERR_MIN)  /* index -rc, 0 unused */

/* One bank: its resource name and the accounts it was seeded with. */
typedef struct drill_bank {
    char  resource[DTX_NAME_SIZE];                    /* resource name, e.g. bank-a */
    char  accounts[DRILL_MAX_ACCOUNTS][DTX_NAME_SIZE];/* account ids */
    int   naccounts;                                  /* accounts used */
    const char *db;                                   /* --bank-db conninfo (messages), or NULL */
} drill_bank_t;

/* Counters shared by every worker (under drill_lock). */
typedef struct drill_stats {
    long begun;              /* BEGIN returned a gid */
    long begin_failures;     /* BEGIN failed (no gid) */
    long committed;          /* COMMIT returned 0 */
    long aborted_refused;    /* a Try was refused (the coordinator decided abort) */
    long aborted_rollback;   /* ROLLBACK returned 0 */
    long aborted_commit;     /* COMMIT answered aborted (deadline, lost vote...) */
    long abandoned;          /* walked away on purpose */
    long unknown;            /* a call failed; outcome left to the coordinator */
    long resolved;           /* of those, settled by a ROLLBACK on another coordinator */
    long races;              /* COMMIT and ROLLBACK sent at once */
    long contradictions;     /* the coordinator said something impossible */
    long begun_2pc;          /* of the BEGINs, in 2PC mode */
    long committed_2pc;      /* of the commits, 2PC ones */
    long aborted_commit_2pc; /* COMMIT answered aborted in 2PC (a no vote, the deadline...) */
    long begun_saga;         /* Sagas submitted (the plan is in the log) */
    long committed_saga;     /* of those, seen committed */
    long compensated_saga;   /* seen compensated */
    long begun_msg;          /* messages prepared (drill_msg.c) */
    long committed_msg;      /* committed locally and submitted */
    long nosubmit_msg;       /* committed locally, never submitted (check-back delivers) */
    long died_msg;           /* the producer died before its local commit (check-back drops) */
    long rolledback_msg;     /* rolled back locally: overdraw, the check-back first, a failure */
    long tcc_run;            /* TCC transfers sent as one TCC_RUN (commit flag) */
    long tcc_run_unanswered; /* of those, no transaction answered (no gid: unknown to the load) */
    long errors[DRILL_ERR_SLOTS]; /* failed calls by DTX_E* code */
} drill_stats_t;

/* Which protocol the transfers use. */
typedef enum drill_mode_choice {
    DRILL_MODES_TCC,   /* every transfer TCC */
    DRILL_MODES_2PC,   /* every transfer 2PC */
    DRILL_MODES_SAGA,  /* every transfer a Saga */
    DRILL_MODES_MSG,   /* every transfer a transactional message (drill_msg.h) */
    DRILL_MODES_MIXED, /* each transfer picks one of the four */
} drill_mode_choice_t;

/* Options. */
typedef struct drill_config {
    const char *coordinators[DRILL_MAX_COORDINATORS]; /* endpoints */
    int         ncoordinators;
    drill_bank_t banks[DRILL_MAX_BANKS];
    int         nbanks;
    const char *journal;         /* where gids and outcomes go */
    drill_mode_choice_t modes;   /* tcc, 2pc, saga, msg or mixed */
    int         split_accounts;  /* mixed: TCC on the first half of each bank, 2PC the rest */
    int         workers;         /* threads */
    long        transfers;       /* BEGINs to do; 0 = until SIGTERM */
    int         timeout_ms;      /* transaction deadline */
    int         call_timeout_ms; /* per SDK call */
    int64_t     max_amount;      /* cents */
    int         think_ms;        /* random pause between transfers, up to */
    uint64_t    seed;
} drill_config_t;

/* One worker thread. */
typedef struct drill_worker {
    int           id;                                   /* 0-based, in the journal */
    pthread_t     thread;
    uint64_t      rng;                                  /* xorshift state */
    int           home;                                 /* its own coordinator */
    int           coord;                                /* coordinator in use */
    int           away;                                 /* transfers left before going home */
    dtx_client_t *clients[DRILL_MAX_COORDINATORS];      /* lazily created */
    struct pg_conn *dbs[DRILL_MAX_BANKS];               /* messages: the producer's (lazily) */
} drill_worker_t;

/* drill_worker.c holds them; main sets them up before the workers start. */
extern drill_config_t  drill_cfg;
extern drill_stats_t   drill_stats;
extern pthread_mutex_t drill_lock;    /* the counters and the journal */
extern FILE           *drill_journal;
extern atomic_int      drill_stop;    /* set by main on SIGTERM/SIGINT */
extern int64_t         drill_t0;      /* main's start (monotonic ms) */

/* The worker's xorshift generator. */
uint64_t drill_rand(drill_worker_t *self);
/* A uniform integer in [0, n). */
int64_t drill_below(drill_worker_t *self, int64_t n);
void drill_sleep_ms(int ms);
/* Milliseconds since drill_t0 (the journal's times). */
long drill_elapsed_ms(void);
/* Appends one journal line (whole, flushed). */
void drill_journal_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Adds one to a counter of drill_stats; counts a failed call by code. */
void drill_count(long *counter);
void drill_count_error(int rc);
/* self's client for coordinator coord (created on first use), or NULL. */
dtx_client_t *drill_client(drill_worker_t *self, int coord);
int drill_next_coord(int coord);
/* After a failure the worker uses the next coordinator for a few
 * transfers, then goes home, so that every coordinator keeps getting work
 * (a fault point armed on one must be reached). */
void drill_fail_over(drill_worker_t *self);
/* Records the result of a call that is neither the happy path nor a
 * business outcome. */
void drill_note(drill_worker_t *self, const char *gid, int coord, const char *what, int rc,
                dtx_client_t *c);
/* Journals what the initiator learned for sure about gid (an E line). */
void drill_end(drill_worker_t *self, const char *gid, const char *outcome, const char *why);

#endif
