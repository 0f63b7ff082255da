/*
 * drill_transfer.c — one transfer of drill-load: its plan (commit, switch,
 * rollback, overdraw, abandon, hurry, race; drill_load.c says what each
 * does), the protocol (TCC, 2PC or a Saga), the calls, and what the
 * initiator learned, journaled and counted.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "dtx/dtx.h"
#include "drill_msg.h"
#include "drill_saga.h"
#include "drill_transfer.h"
#include "drill_worker.h"

#define S_OVERDRAW_CENTS   INT64_C(1000000000000) /* more than any account holds */

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

/* One side of a transfer: which bank, account, action and payload. */
typedef struct s_leg {
    const char *resource;
    const char *action;
    char        payload[128];
    int         len;
} s_leg_t;

static void s_leg(s_leg_t *leg, const drill_bank_t *bank, const char *account, const char *action,
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
static void s_after_failure(drill_worker_t *self, const char *gid, int commit_sent)
{
    drill_fail_over(self);
    if (drill_below(self, 2) == 0) {
        drill_count(&drill_stats.unknown);
        drill_end(self, gid, "unknown", commit_sent ? "commit-unanswered" : "walked-away");
        return;
    }
    dtx_client_t *c = drill_client(self, self->coord);
    int state = 0;
    int rc = c ? dtx_client_rollback(c, gid, &state) : DTX_ENOMEM;
    if (rc == 0) {
        drill_count(&drill_stats.resolved);
        drill_count(&drill_stats.aborted_rollback);
        drill_end(self, gid, "aborted", "rollback-after-failure");
        return;
    }
    if (rc == DTX_ESTATE && (state == DTX_STATE_COMMITTING || state == DTX_STATE_COMMITTED)) {
        /* Only a COMMIT can have led there. */
        if (!commit_sent) {
            drill_count(&drill_stats.contradictions);
            fprintf(stderr, "drill-load: %s: rollback says %s but no COMMIT was ever sent\n", gid,
                    dtx_state_name(state));
        }
        drill_count(&drill_stats.resolved);
        drill_count(&drill_stats.committed);
        drill_end(self, gid, "committed", "rollback-refused-committed");
        return;
    }
    drill_note(self, gid, self->coord, "rollback-after-failure", rc, c);
    drill_count(&drill_stats.unknown);
    drill_end(self, gid, "unknown", commit_sent ? "commit-unanswered" : "rollback-failed");
}

/* Runs one Try (in 2PC: enlists the branch); returns 0 (voted yes,
 * enlisted), 1 (refused: the transfer ended aborted) or -1 (failed:
 * handled, the transfer is over). */
static int s_try(drill_worker_t *self, const char *gid, int mode, const s_leg_t *leg)
{
    dtx_client_t *c = drill_client(self, self->coord);
    dtx_try_result_t r;
    int rc = c ? dtx_client_try(c, gid, leg->resource, leg->action, leg->payload,
                                (size_t)leg->len, &r)
               : DTX_ENOMEM;
    if (rc == 0)
        return 0;
    if (rc == DTX_EREFUSED && mode == DTX_MODE_2PC) {
        /* An enlisting TRY calls no participant: nobody could vote no. */
        drill_count(&drill_stats.contradictions);
        fprintf(stderr, "drill-load: %s: a 2PC TRY (%s %s) was answered refused\n", gid,
                leg->resource, leg->action);
        drill_note(self, gid, self->coord, leg->action, rc, c);
        s_after_failure(self, gid, 0);
        return -1;
    }
    if (rc == DTX_EREFUSED || rc == DTX_ENOPARTICIPANT) {
        /* a no vote, or nobody to ask: either way decided abort */
        drill_count(&drill_stats.aborted_refused);
        drill_end(self, gid, "aborted", rc == DTX_EREFUSED ? "try-refused" : "try-no-participant");
        return 1;
    }
    drill_note(self, gid, self->coord, leg->action, rc, c);
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
static void s_race(drill_worker_t *self, const char *gid, int mode)
{
    int other = drill_next_coord(self->coord);
    dtx_client_t *c = drill_client(self, self->coord);
    s_race_t r = { drill_client(self, other), gid, DTX_ENOMEM, 0 };
    if (!c || !r.client) {
        s_after_failure(self, gid, 0);
        return;
    }
    drill_count(&drill_stats.races);
    drill_journal_line("C %s %d %d %ld", gid, self->id, self->coord, drill_elapsed_ms());
    pthread_t t;
    int threaded = pthread_create(&t, NULL, s_race_rollback, &r) == 0;
    int state = 0;
    int rc = dtx_client_commit(c, gid, &state);
    if (threaded)
        pthread_join(t, NULL);
    else
        s_race_rollback(&r);
    if (rc == 0 && r.rc == 0) {
        drill_count(&drill_stats.contradictions);
        fprintf(stderr, "drill-load: %s: COMMIT (%s) and ROLLBACK (%s) both succeeded\n", gid,
                drill_cfg.coordinators[self->coord], drill_cfg.coordinators[other]);
        drill_end(self, gid, "unknown", "race-both-succeeded");
        return;
    }
    if (rc == 0) {
        drill_count(&drill_stats.committed);
        if (mode == DTX_MODE_2PC)
            drill_count(&drill_stats.committed_2pc);
        drill_end(self, gid, "committed", "race-commit-won");
    } else if (r.rc == 0) {
        drill_count(&drill_stats.aborted_rollback);
        drill_end(self, gid, "aborted", "race-rollback-won");
    } else if (rc == DTX_EABORTED) {
        drill_count(&drill_stats.aborted_commit);
        if (mode == DTX_MODE_2PC)
            drill_count(&drill_stats.aborted_commit_2pc);
        drill_end(self, gid, "aborted", "race-commit-answered-aborted");
    } else {
        drill_note(self, gid, self->coord, "race-commit", rc, c);
        drill_note(self, gid, other, "race-rollback", r.rc, r.client);
        drill_count(&drill_stats.unknown);
        drill_end(self, gid, "unknown", "race-unsettled");
    }
}

/* A TCC transfer as one TCC_RUN that commits when both vote yes
 * (docs/protocol.md §19). Only the answer names the gid, so it is
 * journaled then, begun and committed at once (the request is its
 * COMMIT, as a Saga's submit is). One that got no transaction back (no
 * answer, ERROR 20 or 9) is unknown to the load: check.sh knows it by its
 * row's mark (preparing) and holds it to the money and barrier rules. */
static void s_tcc_run(drill_worker_t *self, const s_leg_t *legs, int first, int overdraw,
                      int timeout_ms)
{
    if (self->away > 0)
        self->away--;
    else
        self->coord = self->home;
    dtx_client_t *c = drill_client(self, self->coord);
    dtx_try_spec_t t[2];
    for (int i = 0; i < 2; i++) {
        const s_leg_t *l = &legs[(first + i) % 2];
        t[i] = (dtx_try_spec_t){ l->resource, l->action, l->payload, (size_t)l->len };
    }
    char gid[DTX_GID_SIZE] = "";
    int state = 0;
    int rc = c ? dtx_client_tcc_run(c, (uint32_t)timeout_ms, DTX_RUN_COMMIT, t, 2, gid, NULL,
                                    &state)
               : DTX_ENOMEM;
    drill_count(&drill_stats.tcc_run);
    if (!gid[0]) {
        drill_count(&drill_stats.tcc_run_unanswered);
        drill_count_error(rc);
        if (rc != DTX_ENOPARTICIPANT && rc != DTX_ELIMIT)
            drill_fail_over(self);
        drill_sleep_ms(20 + (int)drill_below(self, 80)); /* as after a failed BEGIN */
        return;
    }
    long at = drill_elapsed_ms();
    drill_count(&drill_stats.begun);
    drill_journal_line("B %s %d %d %ld tcc", gid, self->id, self->coord, at);
    drill_journal_line("C %s %d %d %ld", gid, self->id, self->coord, at);
    if (rc == 0 && overdraw) {
        drill_count(&drill_stats.contradictions);
        fprintf(stderr, "drill-load: %s: a TCC_RUN with a debit of %lld cents committed\n", gid,
                (long long)S_OVERDRAW_CENTS);
        drill_end(self, gid, "committed", "tcc-run-overdraw-committed");
    } else if (rc == 0) {
        drill_count(&drill_stats.committed);
        drill_end(self, gid, "committed", "tcc-run-committed");
    } else if (rc == DTX_EABORTED) {
        drill_count(&drill_stats.aborted_commit);
        drill_end(self, gid, "aborted", overdraw ? "tcc-run-overdraw-aborted" : "tcc-run-aborted");
    } else {
        /* DTX_EREFUSED with the transaction active (a branch refused before
         * it was recorded): roll it back. */
        drill_note(self, gid, self->coord, "tcc-run", rc, c);
        s_after_failure(self, gid, 1);
    }
}

/* A random account index of bank for a transfer in mode. */
static int s_account(drill_worker_t *self, const drill_bank_t *bank, int mode)
{
    int n = bank->naccounts;
    if (!drill_cfg.split_accounts || n < 2)
        return (int)drill_below(self, n);
    int half = n / 2;
    return mode != DTX_MODE_2PC ? (int)drill_below(self, half)
                                : half + (int)drill_below(self, n - half);
}

/* A random account of a random bank, for a transfer in mode. */
static drill_saga_side_t s_side(drill_worker_t *self, int mode)
{
    const drill_bank_t *bank = &drill_cfg.banks[drill_below(self, drill_cfg.nbanks)];
    drill_saga_side_t side = { bank->resource, bank->accounts[s_account(self, bank, mode)] };
    return side;
}

/* A Saga transfer (drill_saga.h): submitted whole, then followed until it
 * ends or the wait gives up. The plan is the initiator's COMMIT: the
 * journal gets B and C at once. overdraw: its first debit cannot pass;
 * hurry: a deadline of 1..300 ms races the actions (a Saga not yet at its
 * pivot is then compensated). */
static void s_saga_transfer(drill_worker_t *self, int overdraw, int timeout_ms)
{
    drill_saga_transfer_t t = { .shape = (int)drill_below(self, DRILL_SAGA_SHAPES),
                                .from = s_side(self, DTX_MODE_SAGA),
                                .from2 = s_side(self, DTX_MODE_SAGA),
                                .to = s_side(self, DTX_MODE_SAGA),
                                .to2 = s_side(self, DTX_MODE_SAGA),
                                .a1 = 1 + drill_below(self, drill_cfg.max_amount),
                                .a2 = 1 + drill_below(self, drill_cfg.max_amount),
                                .overdraw = overdraw ? S_OVERDRAW_CENTS : 0 };
    if (self->away > 0)
        self->away--;
    else
        self->coord = self->home;
    dtx_client_t *c = drill_client(self, self->coord);
    dtx_saga_t *saga = drill_saga_plan(&t);
    char gid[DTX_GID_SIZE] = "";
    int rc = c && saga ? dtx_client_saga_submit(c, saga, (uint32_t)timeout_ms, gid) : DTX_ENOMEM;
    dtx_saga_destroy(&saga);
    if (rc != 0) {
        /* DTX_EUNKNOWN: the plan may be in the log and run (the check
         * counts it as a lost reply). */
        drill_count(&drill_stats.begin_failures);
        drill_count_error(rc);
        drill_fail_over(self);
        drill_sleep_ms(20 + (int)drill_below(self, 80));
        return;
    }
    drill_count(&drill_stats.begun);
    drill_count(&drill_stats.begun_saga);
    long at = drill_elapsed_ms();
    drill_journal_line("B %s %d %d %ld saga", gid, self->id, self->coord, at);
    drill_journal_line("C %s %d %d %ld", gid, self->id, self->coord, at);
    int state = 0;
    rc = dtx_client_saga_wait(c, gid, 3 * drill_cfg.timeout_ms, &state);
    if (rc == 0 && overdraw) {
        drill_count(&drill_stats.contradictions);
        fprintf(stderr, "drill-load: %s: a Saga (%s) whose first debit is %lld cents committed\n",
                gid, drill_saga_shape_name(t.shape), (long long)S_OVERDRAW_CENTS);
        drill_end(self, gid, "committed", "saga-overdraw-committed");
    } else if (rc == 0) {
        drill_count(&drill_stats.committed);
        drill_count(&drill_stats.committed_saga);
        drill_end(self, gid, "committed", "saga-committed");
    } else if (rc == DTX_EABORTED) {
        drill_count(&drill_stats.compensated_saga);
        drill_count(&drill_stats.aborted_commit);
        drill_end(self, gid, "aborted",
                  overdraw ? "saga-overdraw-compensated" : "saga-compensated");
    } else {
        /* Still running, stuck, or the coordinator went away: the log
         * decides (no ROLLBACK: a Saga is never rolled back by the load). */
        drill_note(self, gid, self->coord, "saga-wait", rc, c);
        drill_fail_over(self);
        drill_count(&drill_stats.unknown);
        drill_end(self, gid, "unknown", "saga-unsettled");
    }
}

void drill_transfer(drill_worker_t *self)
{
    /* The plan. */
    int64_t roll = drill_below(self, 100);
    s_plan_t plan = roll < 50   ? S_PLAN_COMMIT
                    : roll < 60 ? S_PLAN_SWITCH
                    : roll < 70 ? S_PLAN_ROLLBACK
                    : roll < 80 ? S_PLAN_OVERDRAW
                    : roll < 86 ? S_PLAN_ABANDON
                    : roll < 94 ? S_PLAN_HURRY
                                : S_PLAN_RACE;
    if (drill_cfg.ncoordinators < 2 && (plan == S_PLAN_SWITCH || plan == S_PLAN_RACE))
        plan = S_PLAN_COMMIT;
    int timeout_ms = plan == S_PLAN_HURRY ? 1 + (int)drill_below(self, 300) : drill_cfg.timeout_ms;
    int pick = (int)drill_below(self, 4);
    int mode = drill_cfg.modes == DRILL_MODES_2PC    ? DTX_MODE_2PC
               : drill_cfg.modes == DRILL_MODES_SAGA ? DTX_MODE_SAGA
               : drill_cfg.modes == DRILL_MODES_MSG  ? DTX_MODE_MSG
               : drill_cfg.modes == DRILL_MODES_MIXED
                   ? (pick == 0   ? DTX_MODE_TCC
                      : pick == 1 ? DTX_MODE_2PC
                      : pick == 2 ? DTX_MODE_SAGA
                                  : DTX_MODE_MSG)
                   : DTX_MODE_TCC;
    if (mode == DTX_MODE_MSG) {
        drill_msg_transfer(self, roll); /* its own plans (drill_msg.h) */
        return;
    }
    if (mode == DTX_MODE_SAGA) {
        /* A Saga's initiator submits and waits: overdraw and hurry have
         * their Saga meaning, the other plans are one submit. */
        s_saga_transfer(self, plan == S_PLAN_OVERDRAW, timeout_ms);
        return;
    }
    const drill_bank_t *from = &drill_cfg.banks[drill_below(self, drill_cfg.nbanks)];
    const drill_bank_t *to = &drill_cfg.banks[drill_below(self, drill_cfg.nbanks)];
    const char *from_acc = from->accounts[s_account(self, from, mode)];
    const char *to_acc = to->accounts[s_account(self, to, mode)];
    int64_t amount = 1 + drill_below(self, drill_cfg.max_amount);
    s_leg_t legs[2];
    s_leg(&legs[0], from, from_acc, "debit", plan == S_PLAN_OVERDRAW ? S_OVERDRAW_CENTS : amount);
    s_leg(&legs[1], to, to_acc, "credit", amount);
    int first = (int)drill_below(self, 2); /* which leg is tried first */
    if (mode == DTX_MODE_TCC && (plan == S_PLAN_COMMIT || plan == S_PLAN_OVERDRAW) &&
        drill_below(self, 2) == 0) {
        s_tcc_run(self, legs, first, plan == S_PLAN_OVERDRAW, timeout_ms);
        return;
    }

    /* BEGIN. */
    if (self->away > 0)
        self->away--;
    else
        self->coord = self->home;
    dtx_client_t *c = drill_client(self, self->coord);
    char gid[DTX_GID_SIZE];
    int rc = c ? dtx_client_begin(c, mode, (uint32_t)timeout_ms, gid) : DTX_ENOMEM;
    if (rc != 0) {
        drill_count(&drill_stats.begin_failures);
        drill_count_error(rc);
        drill_fail_over(self);
        drill_sleep_ms(20 + (int)drill_below(self, 80)); /* both may be down: no busy loop */
        return;
    }
    drill_count(&drill_stats.begun);
    if (mode == DTX_MODE_2PC)
        drill_count(&drill_stats.begun_2pc);
    drill_journal_line("B %s %d %d %ld %s", gid, self->id, self->coord, drill_elapsed_ms(),
                       mode == DTX_MODE_2PC ? "2pc" : "tcc");

    /* Tries. */
    int ntries = 2;
    if (plan == S_PLAN_ABANDON)
        ntries = (int)drill_below(self, 3);
    int switch_at_try = plan == S_PLAN_SWITCH && drill_below(self, 2) == 0;
    for (int i = 0; i < ntries; i++) {
        if (i == 1 && switch_at_try)
            self->coord = drill_next_coord(self->coord);
        rc = s_try(self, gid, mode, &legs[(first + i) % 2]);
        if (rc != 0)
            return;
    }
    if (plan == S_PLAN_OVERDRAW && mode == DTX_MODE_TCC) {
        /* Both legs were accepted: the debit was not an overdraw after all. */
        drill_count(&drill_stats.contradictions);
        fprintf(stderr, "drill-load: %s: a debit of %lld cents was accepted\n", gid,
                (long long)S_OVERDRAW_CENTS);
        plan = S_PLAN_ROLLBACK;
    }

    /* The end. */
    if (plan == S_PLAN_ABANDON) {
        drill_count(&drill_stats.abandoned);
        drill_end(self, gid, "abandoned", "walked-away");
        return;
    }
    if (plan == S_PLAN_RACE) {
        s_race(self, gid, mode);
        return;
    }
    if (plan == S_PLAN_SWITCH && !switch_at_try)
        self->coord = drill_next_coord(self->coord);
    c = drill_client(self, self->coord);
    int state = 0;
    if (plan == S_PLAN_ROLLBACK) {
        rc = c ? dtx_client_rollback(c, gid, &state) : DTX_ENOMEM;
        if (rc == 0) {
            drill_count(&drill_stats.aborted_rollback);
            drill_end(self, gid, "aborted", "rolled-back");
            return;
        }
        drill_note(self, gid, self->coord, "rollback", rc, c);
        s_after_failure(self, gid, 0);
        return;
    }
    drill_journal_line("C %s %d %d %ld", gid, self->id, self->coord, drill_elapsed_ms());
    rc = c ? dtx_client_commit(c, gid, &state) : DTX_ENOMEM;
    if (rc == 0 && plan == S_PLAN_OVERDRAW) {
        /* 2PC: the debit's prepare must have voted no. */
        drill_count(&drill_stats.contradictions);
        fprintf(stderr, "drill-load: %s: a 2PC debit of %lld cents was committed\n", gid,
                (long long)S_OVERDRAW_CENTS);
        drill_end(self, gid, "committed", "overdraw-committed");
        return;
    }
    if (rc == 0) {
        drill_count(&drill_stats.committed);
        if (mode == DTX_MODE_2PC)
            drill_count(&drill_stats.committed_2pc);
        drill_end(self, gid, "committed", "commit-ok");
        return;
    }
    if (rc == DTX_EABORTED) {
        drill_count(&drill_stats.aborted_commit);
        if (mode == DTX_MODE_2PC)
            drill_count(&drill_stats.aborted_commit_2pc);
        drill_end(self, gid, "aborted", plan == S_PLAN_OVERDRAW ? "overdraw-answered-aborted"
                                                                 : "commit-answered-aborted");
        return;
    }
    drill_note(self, gid, self->coord, "commit", rc, c);
    s_after_failure(self, gid, 1);
}
