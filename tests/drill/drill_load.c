/*
 * drill-load — the recovery drill's workload: concurrent bank transfers
 * that survive anything the drill does to the coordinators, the
 * participants and PostgreSQL.
 *
 *   drill-load --coordinator EP [--coordinator EP ...] --journal FILE
 *              --accounts bank-a:a0,a1,... --accounts bank-b:b0,b1,...
 *              [--mode tcc|2pc|mixed [--split-accounts]] [--workers N] [--transfers N]
 *              [--timeout-ms N] [--call-timeout-ms N] [--max-amount CENTS]
 *              [--think-ms N] [--seed N]
 *
 * N worker threads, each with one dtx_client_t per coordinator (one per
 * thread, as the SDK asks), start on coordinator (worker % ncoordinators)
 * and run transfers between random accounts of random banks (also within
 * one bank: two branches on one resource), with a random plan each:
 *
 *   commit    debit + credit tried (random order), COMMIT
 *   switch    the second Try, or the COMMIT, sent to another coordinator
 *             than the BEGIN (it claims the transaction from a live owner)
 *   rollback  both tried, then ROLLBACK (the initiator changes its mind)
 *   overdraw  an amount no account holds: the debit's Try is refused
 *   abandon   BEGIN and maybe a Try, then the initiator walks away: only
 *             the deadline ends it (abort)
 *   hurry     a deadline of 1..300 ms: the deadline races the Tries and
 *             the COMMIT
 *   race      COMMIT to one coordinator and, at the same moment from
 *             another thread, ROLLBACK to another: at most one may succeed
 *
 * --mode says which protocol the transfers use: tcc (the default), 2pc,
 * saga, or mixed (each transfer picks one of the three at random, so that
 * TCC reservations, 2PC prepared transactions and Saga steps meet on the
 * same accounts). A Saga transfer (drill_saga.h: pair, fanout or tail, a
 * credit as pivot) is submitted whole and waited for; overdraw and hurry
 * keep their meaning (a first debit that cannot pass, a deadline of
 * 1..300 ms), the other plans are a plain submit. In 2PC the plans
 * are the same but their outcomes show up elsewhere (docs/twophase.md):
 * a TRY only enlists the branch and always answers yes, COMMIT prepares
 * both banks, and a no vote (overdraw, a lock wait past the participant's
 * lock_timeout, a participant that died while preparing) surfaces at
 * COMMIT as DTX_EABORTED. A 2PC TRY answered "refused" and a 2PC overdraw
 * that COMMIT reports committed are contradictions. --split-accounts (mixed
 * only) gives each protocol its own half of every bank's accounts, so that
 * a TCC handler never meets a row a prepared transaction holds.
 *
 * Every error is tolerated: a call that fails (the coordinator was killed
 * or paused, PostgreSQL restarted...) makes the worker move to the next
 * coordinator and either walk away or ask there for a ROLLBACK.
 *
 * The journal is the drill checker's input, one line per event:
 *
 *   B gid worker coord ms mode   BEGIN (tcc or 2pc) returned gid, or a Saga
 *                                (saga) was submitted: then C follows at once
 *   C gid worker coord ms        COMMIT is about to be sent for gid
 *   E gid outcome worker ms why  what the initiator learned for sure:
 *                                committed | aborted | unknown | abandoned
 *   X gid worker coord ms what   any other call's result (for reading)
 *
 * so that a gid without a C line can only end aborted, and an E line with
 * committed or aborted says how it must end. Lines are written whole and
 * flushed, so the journal stays usable if this process is killed.
 *
 * Stops after --transfers BEGINs (0: no limit) or on SIGTERM/SIGINT: the
 * current transfers finish (each call is bounded by --call-timeout-ms),
 * then the counts are printed on stdout. Exit 0, or 2 on bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dtx/clock.h"
#include "dtx/dtx.h"
#include "dtx/log.h"
#include "drill_saga.h"

#define S_MAX_COORDINATORS 8
#define S_MAX_BANKS        4
#define S_MAX_ACCOUNTS     16     /* per bank, as bank-participant --seed allows */
#define S_MAX_WORKERS      64
#define S_OVERDRAW_CENTS   INT64_C(1000000000000) /* more than any account holds */
#define S_ERR_SLOTS        (1 - DTX_ERR_MIN)      /* index -rc, 0 unused */

/* One bank: its resource name and the accounts it was seeded with. */
typedef struct s_bank {
    char  resource[DTX_NAME_SIZE];                /* resource name, e.g. bank-a */
    char  accounts[S_MAX_ACCOUNTS][DTX_NAME_SIZE];/* account ids */
    int   naccounts;                              /* accounts used */
} s_bank_t;

/* What a transfer is meant to do. */
typedef enum s_plan {
    S_PLAN_COMMIT,
    S_PLAN_SWITCH,
    S_PLAN_ROLLBACK,
    S_PLAN_OVERDRAW,
    S_PLAN_ABANDON,
    S_PLAN_HURRY,
    S_PLAN_RACE,
} s_plan_t;

/* Counters shared by every worker (under s_lock). */
typedef struct s_stats {
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
    long errors[S_ERR_SLOTS];/* failed calls by DTX_E* code */
} s_stats_t;

/* Which protocol the transfers use. */
typedef enum s_mode_choice {
    S_MODES_TCC,   /* every transfer TCC */
    S_MODES_2PC,   /* every transfer 2PC */
    S_MODES_SAGA,  /* every transfer a Saga */
    S_MODES_MIXED, /* each transfer picks one of the three */
} s_mode_choice_t;

/* Options. */
typedef struct s_config {
    const char *coordinators[S_MAX_COORDINATORS]; /* endpoints */
    int         ncoordinators;
    s_bank_t    banks[S_MAX_BANKS];
    int         nbanks;
    const char *journal;         /* where gids and outcomes go */
    s_mode_choice_t modes;       /* tcc, 2pc, saga or mixed */
    int         split_accounts;  /* mixed: TCC on the first half of each bank, 2PC the rest */
    int         workers;         /* threads */
    long        transfers;       /* BEGINs to do; 0 = until SIGTERM */
    int         timeout_ms;      /* transaction deadline */
    int         call_timeout_ms; /* per SDK call */
    int64_t     max_amount;      /* cents */
    int         think_ms;        /* random pause between transfers, up to */
    uint64_t    seed;
} s_config_t;

/* One worker thread. */
typedef struct s_worker {
    int           id;                                   /* 0-based, in the journal */
    pthread_t     thread;
    uint64_t      rng;                                  /* xorshift state */
    int           home;                                 /* its own coordinator */
    int           coord;                                /* coordinator in use */
    int           away;                                 /* transfers left before going home */
    dtx_client_t *clients[S_MAX_COORDINATORS];          /* lazily created */
} s_worker_t;

static s_config_t s_cfg;
static s_stats_t s_stats;
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *s_journal;
static atomic_int s_stop;        /* set by main on SIGTERM/SIGINT */
static int64_t s_t0;

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static uint64_t s_rand(s_worker_t *self)
{
    uint64_t x = self->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    self->rng = x;
    return x;
}

/* A uniform integer in [0, n). */
static int64_t s_below(s_worker_t *self, int64_t n)
{
    return n > 0 ? (int64_t)(s_rand(self) % (uint64_t)n) : 0;
}

static void s_sleep_ms(int ms)
{
    struct timespec req = { ms / 1000, (long)(ms % 1000) * 1000000L }, rem;
    while (nanosleep(&req, &rem) < 0 && errno == EINTR)
        req = rem;
}

static long s_elapsed_ms(void)
{
    return (long)(dtx_clock_mono_ms() - s_t0);
}

/* Appends one journal line (whole, flushed). */
static void s_journal_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void s_journal_line(const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&s_lock);
    va_start(ap, fmt);
    vfprintf(s_journal, fmt, ap);
    va_end(ap);
    fputc('\n', s_journal);
    fflush(s_journal);
    pthread_mutex_unlock(&s_lock);
}

static void s_count(long *counter)
{
    pthread_mutex_lock(&s_lock);
    (*counter)++;
    pthread_mutex_unlock(&s_lock);
}

static void s_count_error(int rc)
{
    if (rc < 0 && rc >= DTX_ERR_MIN)
        s_count(&s_stats.errors[-rc]);
}

static dtx_client_t *s_client(s_worker_t *self, int coord)
{
    if (!self->clients[coord]) {
        int err = 0;
        self->clients[coord] = dtx_client_new(s_cfg.coordinators[coord], &err);
        if (!self->clients[coord]) {
            fprintf(stderr, "drill-load: worker %d: cannot create a client for %s: %s\n",
                    self->id, s_cfg.coordinators[coord], dtx_strerror(err));
            return NULL;
        }
        dtx_client_set_timeout(self->clients[coord], s_cfg.call_timeout_ms);
    }
    return self->clients[coord];
}

static int s_next_coord(int coord)
{
    return (coord + 1) % s_cfg.ncoordinators;
}

/* After a failure the worker uses the next coordinator for a few
 * transfers, then goes home, so that every coordinator keeps getting work
 * (a fault point armed on one must be reached). */
static void s_fail_over(s_worker_t *self)
{
    self->coord = s_next_coord(self->coord);
    self->away = 3 + (int)s_below(self, 6);
}

/* Records the result of a call that is neither the happy path nor a
 * business outcome. */
static void s_note(s_worker_t *self, const char *gid, int coord, const char *what, int rc,
                   dtx_client_t *c)
{
    s_count_error(rc);
    s_journal_line("X %s %d %d %ld %s %s \"%s\"", gid, self->id, coord, s_elapsed_ms(), what,
                   dtx_strerror(rc), dtx_client_last_error(c));
}

static void s_end(s_worker_t *self, const char *gid, const char *outcome, const char *why)
{
    s_journal_line("E %s %s %d %ld %s", gid, outcome, self->id, s_elapsed_ms(), why);
}

/* ------------------------------------------------------------------ */
/* One transfer                                                        */
/* ------------------------------------------------------------------ */

/* One side of a transfer: which bank, account, action and payload. */
typedef struct s_leg {
    const char *resource;
    const char *action;
    char        payload[128];
    int         len;
} s_leg_t;

static void s_leg(s_leg_t *leg, const s_bank_t *bank, const char *account, const char *action,
                  int64_t amount)
{
    leg->resource = bank->resource;
    leg->action = action;
    leg->len = snprintf(leg->payload, sizeof leg->payload,
                        "{\"account\":\"%s\",\"amount\":%lld}", account, (long long)amount);
}

/* After a failed call: the worker moves to the next coordinator and, half
 * of the time, asks it to roll the transaction back, which settles what
 * the initiator knows; otherwise it walks away (the log decides). */
static void s_after_failure(s_worker_t *self, const char *gid, int commit_sent)
{
    s_fail_over(self);
    if (s_below(self, 2) == 0) {
        s_count(&s_stats.unknown);
        s_end(self, gid, "unknown", commit_sent ? "commit-unanswered" : "walked-away");
        return;
    }
    dtx_client_t *c = s_client(self, self->coord);
    int state = 0;
    int rc = c ? dtx_client_rollback(c, gid, &state) : DTX_ENOMEM;
    if (rc == 0) {
        s_count(&s_stats.resolved);
        s_count(&s_stats.aborted_rollback);
        s_end(self, gid, "aborted", "rollback-after-failure");
        return;
    }
    if (rc == DTX_ESTATE && (state == DTX_STATE_COMMITTING || state == DTX_STATE_COMMITTED)) {
        /* Only a COMMIT can have led there. */
        if (!commit_sent) {
            s_count(&s_stats.contradictions);
            fprintf(stderr, "drill-load: %s: rollback says %s but no COMMIT was ever sent\n", gid,
                    dtx_state_name(state));
        }
        s_count(&s_stats.resolved);
        s_count(&s_stats.committed);
        s_end(self, gid, "committed", "rollback-refused-committed");
        return;
    }
    s_note(self, gid, self->coord, "rollback-after-failure", rc, c);
    s_count(&s_stats.unknown);
    s_end(self, gid, "unknown", commit_sent ? "commit-unanswered" : "rollback-failed");
}

/* Runs one Try (in 2PC: enlists the branch); returns 0 (voted yes,
 * enlisted), 1 (refused: the transfer ended aborted) or -1 (failed:
 * handled, the transfer is over). */
static int s_try(s_worker_t *self, const char *gid, int mode, const s_leg_t *leg)
{
    dtx_client_t *c = s_client(self, self->coord);
    dtx_try_result_t r;
    int rc = c ? dtx_client_try(c, gid, leg->resource, leg->action, leg->payload,
                                (size_t)leg->len, &r)
               : DTX_ENOMEM;
    if (rc == 0)
        return 0;
    if (rc == DTX_EREFUSED && mode == DTX_MODE_2PC) {
        /* An enlisting TRY calls no participant: nobody could vote no. */
        s_count(&s_stats.contradictions);
        fprintf(stderr, "drill-load: %s: a 2PC TRY (%s %s) was answered refused\n", gid,
                leg->resource, leg->action);
        s_note(self, gid, self->coord, leg->action, rc, c);
        s_after_failure(self, gid, 0);
        return -1;
    }
    if (rc == DTX_EREFUSED || rc == DTX_ENOPARTICIPANT) {
        /* a no vote, or nobody to ask: either way decided abort */
        s_count(&s_stats.aborted_refused);
        s_end(self, gid, "aborted", rc == DTX_EREFUSED ? "try-refused" : "try-no-participant");
        return 1;
    }
    s_note(self, gid, self->coord, leg->action, rc, c);
    s_after_failure(self, gid, 0);
    return -1;
}

/* The ROLLBACK half of a race, on its own thread and its own client. */
typedef struct s_race {
    dtx_client_t *client;
    const char   *gid;
    int           rc;
    int           state;
} s_race_t;

static void *s_race_rollback(void *arg)
{
    s_race_t *r = arg;
    r->rc = dtx_client_rollback(r->client, r->gid, &r->state);
    return NULL;
}

/* COMMIT on the worker's coordinator while another thread sends ROLLBACK
 * to the next one. Both may fail; both succeeding is a contradiction. */
static void s_race(s_worker_t *self, const char *gid, int mode)
{
    int other = s_next_coord(self->coord);
    dtx_client_t *c = s_client(self, self->coord);
    s_race_t r = { s_client(self, other), gid, DTX_ENOMEM, 0 };
    if (!c || !r.client) {
        s_after_failure(self, gid, 0);
        return;
    }
    s_count(&s_stats.races);
    s_journal_line("C %s %d %d %ld", gid, self->id, self->coord, s_elapsed_ms());
    pthread_t t;
    int threaded = pthread_create(&t, NULL, s_race_rollback, &r) == 0;
    int state = 0;
    int rc = dtx_client_commit(c, gid, &state);
    if (threaded)
        pthread_join(t, NULL);
    else
        s_race_rollback(&r);
    if (rc == 0 && r.rc == 0) {
        s_count(&s_stats.contradictions);
        fprintf(stderr, "drill-load: %s: COMMIT (%s) and ROLLBACK (%s) both succeeded\n", gid,
                s_cfg.coordinators[self->coord], s_cfg.coordinators[other]);
        s_end(self, gid, "unknown", "race-both-succeeded");
        return;
    }
    if (rc == 0) {
        s_count(&s_stats.committed);
        if (mode == DTX_MODE_2PC)
            s_count(&s_stats.committed_2pc);
        s_end(self, gid, "committed", "race-commit-won");
    } else if (r.rc == 0) {
        s_count(&s_stats.aborted_rollback);
        s_end(self, gid, "aborted", "race-rollback-won");
    } else if (rc == DTX_EABORTED) {
        s_count(&s_stats.aborted_commit);
        if (mode == DTX_MODE_2PC)
            s_count(&s_stats.aborted_commit_2pc);
        s_end(self, gid, "aborted", "race-commit-answered-aborted");
    } else {
        s_note(self, gid, self->coord, "race-commit", rc, c);
        s_note(self, gid, other, "race-rollback", r.rc, r.client);
        s_count(&s_stats.unknown);
        s_end(self, gid, "unknown", "race-unsettled");
    }
}

/* A random account index of bank for a transfer in mode. */
static int s_account(s_worker_t *self, const s_bank_t *bank, int mode)
{
    int n = bank->naccounts;
    if (!s_cfg.split_accounts || n < 2)
        return (int)s_below(self, n);
    int half = n / 2;
    return mode != DTX_MODE_2PC ? (int)s_below(self, half) : half + (int)s_below(self, n - half);
}

/* A random account of a random bank, for a transfer in mode. */
static drill_saga_side_t s_side(s_worker_t *self, int mode)
{
    const s_bank_t *bank = &s_cfg.banks[s_below(self, s_cfg.nbanks)];
    drill_saga_side_t side = { bank->resource, bank->accounts[s_account(self, bank, mode)] };
    return side;
}

/* A Saga transfer (drill_saga.h): submitted whole, then followed until it
 * ends or the wait gives up. The plan is the initiator's COMMIT: the
 * journal gets B and C at once. overdraw: its first debit cannot pass;
 * hurry: a deadline of 1..300 ms races the actions (a Saga not yet at its
 * pivot is then compensated). */
static void s_saga_transfer(s_worker_t *self, int overdraw, int timeout_ms)
{
    drill_saga_transfer_t t = { .shape = (int)s_below(self, DRILL_SAGA_SHAPES),
                                .from = s_side(self, DTX_MODE_SAGA),
                                .from2 = s_side(self, DTX_MODE_SAGA),
                                .to = s_side(self, DTX_MODE_SAGA),
                                .to2 = s_side(self, DTX_MODE_SAGA),
                                .a1 = 1 + s_below(self, s_cfg.max_amount),
                                .a2 = 1 + s_below(self, s_cfg.max_amount),
                                .overdraw = overdraw ? S_OVERDRAW_CENTS : 0 };
    if (self->away > 0)
        self->away--;
    else
        self->coord = self->home;
    dtx_client_t *c = s_client(self, self->coord);
    dtx_saga_t *saga = drill_saga_plan(&t);
    char gid[DTX_GID_SIZE] = "";
    int rc = c && saga ? dtx_client_saga_submit(c, saga, (uint32_t)timeout_ms, gid) : DTX_ENOMEM;
    dtx_saga_destroy(&saga);
    if (rc != 0) {
        /* DTX_EUNKNOWN: the plan may be in the log and run (the check
         * counts it as a lost reply). */
        s_count(&s_stats.begin_failures);
        s_count_error(rc);
        s_fail_over(self);
        s_sleep_ms(20 + (int)s_below(self, 80));
        return;
    }
    s_count(&s_stats.begun);
    s_count(&s_stats.begun_saga);
    long at = s_elapsed_ms();
    s_journal_line("B %s %d %d %ld saga", gid, self->id, self->coord, at);
    s_journal_line("C %s %d %d %ld", gid, self->id, self->coord, at);
    int state = 0;
    rc = dtx_client_saga_wait(c, gid, 3 * s_cfg.timeout_ms, &state);
    if (rc == 0 && overdraw) {
        s_count(&s_stats.contradictions);
        fprintf(stderr, "drill-load: %s: a Saga (%s) whose first debit is %lld cents committed\n",
                gid, drill_saga_shape_name(t.shape), (long long)S_OVERDRAW_CENTS);
        s_end(self, gid, "committed", "saga-overdraw-committed");
    } else if (rc == 0) {
        s_count(&s_stats.committed);
        s_count(&s_stats.committed_saga);
        s_end(self, gid, "committed", "saga-committed");
    } else if (rc == DTX_EABORTED) {
        s_count(&s_stats.compensated_saga);
        s_count(&s_stats.aborted_commit);
        s_end(self, gid, "aborted", overdraw ? "saga-overdraw-compensated" : "saga-compensated");
    } else {
        /* Still running, stuck, or the coordinator went away: the log
         * decides (no ROLLBACK: a Saga is never rolled back by the load). */
        s_note(self, gid, self->coord, "saga-wait", rc, c);
        s_fail_over(self);
        s_count(&s_stats.unknown);
        s_end(self, gid, "unknown", "saga-unsettled");
    }
}

static void s_transfer(s_worker_t *self)
{
    /* The plan. */
    int64_t roll = s_below(self, 100);
    s_plan_t plan = roll < 50   ? S_PLAN_COMMIT
                    : roll < 60 ? S_PLAN_SWITCH
                    : roll < 70 ? S_PLAN_ROLLBACK
                    : roll < 80 ? S_PLAN_OVERDRAW
                    : roll < 86 ? S_PLAN_ABANDON
                    : roll < 94 ? S_PLAN_HURRY
                                : S_PLAN_RACE;
    if (s_cfg.ncoordinators < 2 && (plan == S_PLAN_SWITCH || plan == S_PLAN_RACE))
        plan = S_PLAN_COMMIT;
    int timeout_ms = plan == S_PLAN_HURRY ? 1 + (int)s_below(self, 300) : s_cfg.timeout_ms;
    int pick = (int)s_below(self, 3);
    int mode = s_cfg.modes == S_MODES_2PC    ? DTX_MODE_2PC
               : s_cfg.modes == S_MODES_SAGA ? DTX_MODE_SAGA
               : s_cfg.modes == S_MODES_MIXED
                   ? (pick == 0 ? DTX_MODE_TCC : pick == 1 ? DTX_MODE_2PC : DTX_MODE_SAGA)
                   : DTX_MODE_TCC;
    if (mode == DTX_MODE_SAGA) {
        /* A Saga's initiator submits and waits: overdraw and hurry have
         * their Saga meaning, the other plans are one submit. */
        s_saga_transfer(self, plan == S_PLAN_OVERDRAW, timeout_ms);
        return;
    }
    const s_bank_t *from = &s_cfg.banks[s_below(self, s_cfg.nbanks)];
    const s_bank_t *to = &s_cfg.banks[s_below(self, s_cfg.nbanks)];
    const char *from_acc = from->accounts[s_account(self, from, mode)];
    const char *to_acc = to->accounts[s_account(self, to, mode)];
    int64_t amount = 1 + s_below(self, s_cfg.max_amount);
    s_leg_t legs[2];
    s_leg(&legs[0], from, from_acc, "debit", plan == S_PLAN_OVERDRAW ? S_OVERDRAW_CENTS : amount);
    s_leg(&legs[1], to, to_acc, "credit", amount);
    int first = (int)s_below(self, 2); /* which leg is tried first */

    /* BEGIN. */
    if (self->away > 0)
        self->away--;
    else
        self->coord = self->home;
    dtx_client_t *c = s_client(self, self->coord);
    char gid[DTX_GID_SIZE];
    int rc = c ? dtx_client_begin(c, mode, (uint32_t)timeout_ms, gid) : DTX_ENOMEM;
    if (rc != 0) {
        s_count(&s_stats.begin_failures);
        s_count_error(rc);
        s_fail_over(self);
        s_sleep_ms(20 + (int)s_below(self, 80)); /* both may be down: no busy loop */
        return;
    }
    s_count(&s_stats.begun);
    if (mode == DTX_MODE_2PC)
        s_count(&s_stats.begun_2pc);
    s_journal_line("B %s %d %d %ld %s", gid, self->id, self->coord, s_elapsed_ms(),
                   mode == DTX_MODE_2PC ? "2pc" : "tcc");

    /* Tries. */
    int ntries = 2;
    if (plan == S_PLAN_ABANDON)
        ntries = (int)s_below(self, 3);
    int switch_at_try = plan == S_PLAN_SWITCH && s_below(self, 2) == 0;
    for (int i = 0; i < ntries; i++) {
        if (i == 1 && switch_at_try)
            self->coord = s_next_coord(self->coord);
        rc = s_try(self, gid, mode, &legs[(first + i) % 2]);
        if (rc != 0)
            return;
    }
    if (plan == S_PLAN_OVERDRAW && mode == DTX_MODE_TCC) {
        /* Both legs were accepted: the debit was not an overdraw after all. */
        s_count(&s_stats.contradictions);
        fprintf(stderr, "drill-load: %s: a debit of %lld cents was accepted\n", gid,
                (long long)S_OVERDRAW_CENTS);
        plan = S_PLAN_ROLLBACK;
    }

    /* The end. */
    if (plan == S_PLAN_ABANDON) {
        s_count(&s_stats.abandoned);
        s_end(self, gid, "abandoned", "walked-away");
        return;
    }
    if (plan == S_PLAN_RACE) {
        s_race(self, gid, mode);
        return;
    }
    if (plan == S_PLAN_SWITCH && !switch_at_try)
        self->coord = s_next_coord(self->coord);
    c = s_client(self, self->coord);
    int state = 0;
    if (plan == S_PLAN_ROLLBACK) {
        rc = c ? dtx_client_rollback(c, gid, &state) : DTX_ENOMEM;
        if (rc == 0) {
            s_count(&s_stats.aborted_rollback);
            s_end(self, gid, "aborted", "rolled-back");
            return;
        }
        s_note(self, gid, self->coord, "rollback", rc, c);
        s_after_failure(self, gid, 0);
        return;
    }
    s_journal_line("C %s %d %d %ld", gid, self->id, self->coord, s_elapsed_ms());
    rc = c ? dtx_client_commit(c, gid, &state) : DTX_ENOMEM;
    if (rc == 0 && plan == S_PLAN_OVERDRAW) {
        /* 2PC: the debit's prepare must have voted no. */
        s_count(&s_stats.contradictions);
        fprintf(stderr, "drill-load: %s: a 2PC debit of %lld cents was committed\n", gid,
                (long long)S_OVERDRAW_CENTS);
        s_end(self, gid, "committed", "overdraw-committed");
        return;
    }
    if (rc == 0) {
        s_count(&s_stats.committed);
        if (mode == DTX_MODE_2PC)
            s_count(&s_stats.committed_2pc);
        s_end(self, gid, "committed", "commit-ok");
        return;
    }
    if (rc == DTX_EABORTED) {
        s_count(&s_stats.aborted_commit);
        if (mode == DTX_MODE_2PC)
            s_count(&s_stats.aborted_commit_2pc);
        s_end(self, gid, "aborted", plan == S_PLAN_OVERDRAW ? "overdraw-answered-aborted"
                                                             : "commit-answered-aborted");
        return;
    }
    s_note(self, gid, self->coord, "commit", rc, c);
    s_after_failure(self, gid, 1);
}

static void *s_worker_main(void *arg)
{
    s_worker_t *self = arg;
    for (;;) {
        if (s_stop)
            break;
        pthread_mutex_lock(&s_lock);
        int done = s_cfg.transfers > 0 && s_stats.begun >= s_cfg.transfers;
        pthread_mutex_unlock(&s_lock);
        if (done)
            break;
        s_transfer(self);
        if (s_cfg.think_ms > 0)
            s_sleep_ms((int)s_below(self, s_cfg.think_ms + 1));
    }
    for (int i = 0; i < s_cfg.ncoordinators; i++)
        dtx_client_destroy(&self->clients[i]);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Options and main                                                    */
/* ------------------------------------------------------------------ */

static void s_usage(void)
{
    fprintf(stderr,
            "usage: drill-load --coordinator EP [--coordinator EP ...] --journal FILE\n"
            "                  --accounts BANK:ACC,ACC,... [--accounts ...]\n"
            "                  [--mode tcc|2pc|saga|mixed [--split-accounts]] [--workers N]\n"
            "                  [--transfers N] [--timeout-ms N]\n"
            "                  [--call-timeout-ms N] [--max-amount CENTS] [--think-ms N]\n"
            "                  [--seed N]\n"
            "Runs concurrent bank transfers until --transfers BEGINs (0: until SIGTERM);\n"
            "journals every gid to FILE (see tests/drill/drill_load.c).\n");
}

static int s_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || !*s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* "bank-a:a0,a1,a2" */
static int s_parse_accounts(const char *spec, s_bank_t *bank)
{
    const char *colon = strchr(spec, ':');
    if (!colon || colon == spec || (size_t)(colon - spec) > DTX_NAME_MAX)
        return -1;
    memset(bank, 0, sizeof *bank);
    memcpy(bank->resource, spec, (size_t)(colon - spec));
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", colon + 1);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (bank->naccounts == S_MAX_ACCOUNTS || !*t || strlen(t) > DTX_NAME_MAX)
            return -1;
        snprintf(bank->accounts[bank->naccounts++], DTX_NAME_SIZE, "%s", t);
    }
    return bank->naccounts > 0 ? 0 : -1;
}

static int s_parse_args(int argc, char **argv)
{
    static const struct option opts[] = {
        { "coordinator", required_argument, NULL, 'c' },
        { "accounts", required_argument, NULL, 'a' },
        { "journal", required_argument, NULL, 'j' },
        { "workers", required_argument, NULL, 'w' },
        { "transfers", required_argument, NULL, 'n' },
        { "timeout-ms", required_argument, NULL, 't' },
        { "call-timeout-ms", required_argument, NULL, 'T' },
        { "max-amount", required_argument, NULL, 'm' },
        { "think-ms", required_argument, NULL, 'k' },
        { "seed", required_argument, NULL, 's' },
        { "mode", required_argument, NULL, 'M' },
        { "split-accounts", no_argument, NULL, 'S' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    s_cfg.workers = 8;
    s_cfg.timeout_ms = 4000;
    s_cfg.call_timeout_ms = 3000;
    s_cfg.max_amount = 20000;
    s_cfg.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);
    long v;
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            if (s_cfg.ncoordinators == S_MAX_COORDINATORS)
                return -1;
            s_cfg.coordinators[s_cfg.ncoordinators++] = optarg;
            break;
        case 'a':
            if (s_cfg.nbanks == S_MAX_BANKS || s_parse_accounts(optarg, &s_cfg.banks[s_cfg.nbanks]))
                return -1;
            s_cfg.nbanks++;
            break;
        case 'j':
            s_cfg.journal = optarg;
            break;
        case 'w':
            if (s_parse_long(optarg, 1, S_MAX_WORKERS, &v))
                return -1;
            s_cfg.workers = (int)v;
            break;
        case 'n':
            if (s_parse_long(optarg, 0, 100000000, &v))
                return -1;
            s_cfg.transfers = v;
            break;
        case 't':
            if (s_parse_long(optarg, 1, 600000, &v))
                return -1;
            s_cfg.timeout_ms = (int)v;
            break;
        case 'T':
            if (s_parse_long(optarg, 1, 600000, &v))
                return -1;
            s_cfg.call_timeout_ms = (int)v;
            break;
        case 'm':
            if (s_parse_long(optarg, 1, 1000000000, &v))
                return -1;
            s_cfg.max_amount = v;
            break;
        case 'k':
            if (s_parse_long(optarg, 0, 60000, &v))
                return -1;
            s_cfg.think_ms = (int)v;
            break;
        case 's':
            if (s_parse_long(optarg, 0, 0x7fffffffL, &v))
                return -1;
            s_cfg.seed = (uint64_t)v;
            break;
        case 'M':
            if (strcmp(optarg, "tcc") == 0)
                s_cfg.modes = S_MODES_TCC;
            else if (strcmp(optarg, "2pc") == 0)
                s_cfg.modes = S_MODES_2PC;
            else if (strcmp(optarg, "saga") == 0)
                s_cfg.modes = S_MODES_SAGA;
            else if (strcmp(optarg, "mixed") == 0)
                s_cfg.modes = S_MODES_MIXED;
            else
                return -1;
            break;
        case 'S':
            s_cfg.split_accounts = 1;
            break;
        case 'h':
            s_usage();
            exit(0);
        default:
            return -1;
        }
    }
    if (optind != argc || s_cfg.ncoordinators == 0 || s_cfg.nbanks == 0 || !s_cfg.journal)
        return -1;
    return 0;
}

static void s_print_counts(void)
{
    pthread_mutex_lock(&s_lock);
    s_stats_t st = s_stats;
    pthread_mutex_unlock(&s_lock);
    long aborted = st.aborted_refused + st.aborted_rollback + st.aborted_commit;
    printf("drill-load: transfers begun %ld in %.1f s: committed %ld, aborted %ld "
           "(try refused %ld, rolled back %ld, commit answered aborted %ld), abandoned %ld, "
           "unknown %ld; settled after a failure %ld; COMMIT/ROLLBACK races %ld; "
           "BEGIN failures %ld; contradictions %ld\n",
           st.begun, s_elapsed_ms() / 1000.0, st.committed, aborted, st.aborted_refused,
           st.aborted_rollback, st.aborted_commit, st.abandoned, st.unknown, st.resolved,
           st.races, st.begin_failures, st.contradictions);
    printf("drill-load: of which 2PC: begun %ld, committed %ld, commit answered aborted %ld\n",
           st.begun_2pc, st.committed_2pc, st.aborted_commit_2pc);
    printf("drill-load: of which Sagas: submitted %ld, seen committed %ld, seen compensated %ld\n",
           st.begun_saga, st.committed_saga, st.compensated_saga);
    printf("drill-load: failed calls:");
    int any = 0;
    for (int i = 1; i < S_ERR_SLOTS; i++)
        if (st.errors[i]) {
            printf("%s %s %ld", any ? "," : "", dtx_strerror(-i), st.errors[i]);
            any = 1;
        }
    printf("%s\n", any ? "" : " none");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (s_parse_args(argc, argv) != 0) {
        s_usage();
        return 2;
    }
    dtx_log_set_handler(dtx_log_stderr, "drill-load");
    s_journal = fopen(s_cfg.journal, "a");
    if (!s_journal) {
        fprintf(stderr, "drill-load: cannot open %s: %s\n", s_cfg.journal, strerror(errno));
        return 1;
    }
    s_t0 = dtx_clock_mono_ms();

    /* Workers never see SIGTERM/SIGINT: this thread waits for them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    static s_worker_t workers[S_MAX_WORKERS];
    int started = 0;
    for (int i = 0; i < s_cfg.workers; i++) {
        s_worker_t *w = &workers[i];
        w->id = i;
        w->home = w->coord = i % s_cfg.ncoordinators;
        w->rng = (s_cfg.seed + 1) * 0x9E3779B97F4A7C15ull + (uint64_t)(i + 1) * 0xBF58476D1CE4E5B9ull;
        if (!w->rng)
            w->rng = 1;
        if (pthread_create(&w->thread, NULL, s_worker_main, w) != 0) {
            fprintf(stderr, "drill-load: cannot start worker %d\n", i);
            s_stop = 1;
            break;
        }
        started++;
    }
    printf("drill-load: %d workers on %d coordinator(s), mode %s%s, seed %llu\n", started,
           s_cfg.ncoordinators,
           s_cfg.modes == S_MODES_2PC     ? "2pc"
           : s_cfg.modes == S_MODES_SAGA  ? "saga"
           : s_cfg.modes == S_MODES_MIXED ? "mixed"
                                          : "tcc",
           s_cfg.split_accounts && s_cfg.modes == S_MODES_MIXED ? " (accounts split by protocol)"
                                                                : "",
           (unsigned long long)s_cfg.seed);
    fflush(stdout);

    /* Wait for a signal or for every worker to reach the target. */
    struct timespec tick = { 0, 200 * 1000000L };
    while (!s_stop) {
        int sig = sigtimedwait(&set, NULL, &tick);
        if (sig == SIGTERM || sig == SIGINT)
            s_stop = 1;
        pthread_mutex_lock(&s_lock);
        int done = s_cfg.transfers > 0 && s_stats.begun >= s_cfg.transfers;
        pthread_mutex_unlock(&s_lock);
        if (done)
            break;
    }
    for (int i = 0; i < started; i++)
        pthread_join(workers[i].thread, NULL);
    s_print_counts();
    fclose(s_journal);
    return 0;
}
