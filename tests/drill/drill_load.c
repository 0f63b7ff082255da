/*
 * drill-load — the recovery drill's workload: concurrent bank transfers
 * that survive anything the drill does to the coordinators, the
 * participants and PostgreSQL.
 *
 *   drill-load --coordinator EP [--coordinator EP ...] --journal FILE
 *              --accounts bank-a:a0,a1,... --accounts bank-b:b0,b1,...
 *              [--bank-db bank-a=CONNINFO ...]
 *              [--mode tcc|2pc|saga|msg|mixed [--split-accounts]] [--workers N] [--transfers N]
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
 * Half of the TCC commit and overdraw plans go as one TCC_RUN instead
 * (docs/protocol.md §19: BEGIN, both Tries and the COMMIT dtxd decides
 * itself): journaled once answered, since only the answer names the gid.
 *
 * --mode says which protocol the transfers use: tcc (the default), 2pc,
 * saga, msg, or mixed (each transfer picks one of the four at random, so
 * that TCC reservations, 2PC prepared transactions, Saga steps and
 * messages meet on the same accounts). A message transfer (drill_msg.h)
 * debits an account in its bank's own database (--bank-db, needed for
 * every bank by msg and mixed) with the outbox row in the same local
 * transaction, and the message credits the money elsewhere; its plans are
 * its own (commit, overdraw, hurry, nosubmit, die). A Saga transfer (drill_saga.h: pair, fanout or tail, a
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
 *   M gid bank account cents     a message's local debit (drill_msg.h): C
 *                                follows once its local COMMIT was sent
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dtx/clock.h"
#include "dtx/dtx.h"
#include "dtx/log.h"
#include "drill_msg.h"
#include "drill_transfer.h"
#include "drill_worker.h"

/* The code: this file (options, the workers, the counts), drill_transfer.c
 * (one transfer), drill_worker.c (what they share), drill_saga.c (the
 * Saga plans), drill_msg.c (the message transfers). */

/* A worker thread: transfers until the target or a stop. */
static void *s_worker_main(void *arg)
{
    drill_worker_t *self = arg;
    for (;;) {
        if (drill_stop)
            break;
        pthread_mutex_lock(&drill_lock);
        int done = drill_cfg.transfers > 0 && drill_stats.begun >= drill_cfg.transfers;
        pthread_mutex_unlock(&drill_lock);
        if (done)
            break;
        drill_transfer(self);
        if (drill_cfg.think_ms > 0)
            drill_sleep_ms((int)drill_below(self, drill_cfg.think_ms + 1));
    }
    for (int i = 0; i < drill_cfg.ncoordinators; i++)
        dtx_client_destroy(&self->clients[i]);
    drill_msg_close(self);
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
            "                  [--bank-db BANK=CONNINFO ...]\n"
            "                  [--mode tcc|2pc|saga|msg|mixed [--split-accounts]] [--workers N]\n"
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
static int s_parse_accounts(const char *spec, drill_bank_t *bank)
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
        if (bank->naccounts == DRILL_MAX_ACCOUNTS || !*t || strlen(t) > DTX_NAME_MAX)
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
        { "bank-db", required_argument, NULL, 'D' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    drill_cfg.workers = 8;
    drill_cfg.timeout_ms = 4000;
    drill_cfg.call_timeout_ms = 3000;
    drill_cfg.max_amount = 20000;
    drill_cfg.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);
    const char *dbs[DRILL_MAX_BANKS];
    int ndbs = 0;
    long v;
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            if (drill_cfg.ncoordinators == DRILL_MAX_COORDINATORS)
                return -1;
            drill_cfg.coordinators[drill_cfg.ncoordinators++] = optarg;
            break;
        case 'a':
            if (drill_cfg.nbanks == DRILL_MAX_BANKS ||
                s_parse_accounts(optarg, &drill_cfg.banks[drill_cfg.nbanks]))
                return -1;
            drill_cfg.nbanks++;
            break;
        case 'j':
            drill_cfg.journal = optarg;
            break;
        case 'w':
            if (s_parse_long(optarg, 1, DRILL_MAX_WORKERS, &v))
                return -1;
            drill_cfg.workers = (int)v;
            break;
        case 'n':
            if (s_parse_long(optarg, 0, 100000000, &v))
                return -1;
            drill_cfg.transfers = v;
            break;
        case 't':
            if (s_parse_long(optarg, 1, 600000, &v))
                return -1;
            drill_cfg.timeout_ms = (int)v;
            break;
        case 'T':
            if (s_parse_long(optarg, 1, 600000, &v))
                return -1;
            drill_cfg.call_timeout_ms = (int)v;
            break;
        case 'm':
            if (s_parse_long(optarg, 1, 1000000000, &v))
                return -1;
            drill_cfg.max_amount = v;
            break;
        case 'k':
            if (s_parse_long(optarg, 0, 60000, &v))
                return -1;
            drill_cfg.think_ms = (int)v;
            break;
        case 's':
            if (s_parse_long(optarg, 0, 0x7fffffffL, &v))
                return -1;
            drill_cfg.seed = (uint64_t)v;
            break;
        case 'M':
            if (strcmp(optarg, "tcc") == 0)
                drill_cfg.modes = DRILL_MODES_TCC;
            else if (strcmp(optarg, "2pc") == 0)
                drill_cfg.modes = DRILL_MODES_2PC;
            else if (strcmp(optarg, "saga") == 0)
                drill_cfg.modes = DRILL_MODES_SAGA;
            else if (strcmp(optarg, "msg") == 0)
                drill_cfg.modes = DRILL_MODES_MSG;
            else if (strcmp(optarg, "mixed") == 0)
                drill_cfg.modes = DRILL_MODES_MIXED;
            else
                return -1;
            break;
        case 'S':
            drill_cfg.split_accounts = 1;
            break;
        case 'D':
            if (ndbs == DRILL_MAX_BANKS || !strchr(optarg, '='))
                return -1;
            dbs[ndbs++] = optarg;
            break;
        case 'h':
            s_usage();
            exit(0);
        default:
            return -1;
        }
    }
    if (optind != argc || drill_cfg.ncoordinators == 0 || drill_cfg.nbanks == 0 ||
        !drill_cfg.journal)
        return -1;
    /* --bank-db RESOURCE=CONNINFO: given in any order, for banks named by
     * --accounts; messages need one for every bank. */
    for (int i = 0; i < ndbs; i++) {
        size_t n = (size_t)(strchr(dbs[i], '=') - dbs[i]);
        int found = 0;
        for (int b = 0; b < drill_cfg.nbanks; b++)
            if (strlen(drill_cfg.banks[b].resource) == n &&
                strncmp(drill_cfg.banks[b].resource, dbs[i], n) == 0) {
                drill_cfg.banks[b].db = dbs[i] + n + 1;
                found = 1;
            }
        if (!found)
            return -1;
    }
    if (drill_cfg.modes == DRILL_MODES_MSG || drill_cfg.modes == DRILL_MODES_MIXED)
        for (int b = 0; b < drill_cfg.nbanks; b++)
            if (!drill_cfg.banks[b].db) {
                fprintf(stderr, "drill-load: messages need --bank-db %s=CONNINFO\n",
                        drill_cfg.banks[b].resource);
                return -1;
            }
    return 0;
}

static void s_print_counts(void)
{
    pthread_mutex_lock(&drill_lock);
    drill_stats_t st = drill_stats;
    pthread_mutex_unlock(&drill_lock);
    long aborted = st.aborted_refused + st.aborted_rollback + st.aborted_commit;
    printf("drill-load: transfers begun %ld in %.1f s: committed %ld, aborted %ld "
           "(try refused %ld, rolled back %ld, commit answered aborted %ld), abandoned %ld, "
           "unknown %ld; settled after a failure %ld; COMMIT/ROLLBACK races %ld; "
           "BEGIN failures %ld; contradictions %ld\n",
           st.begun, drill_elapsed_ms() / 1000.0, st.committed, aborted, st.aborted_refused,
           st.aborted_rollback, st.aborted_commit, st.abandoned, st.unknown, st.resolved,
           st.races, st.begin_failures, st.contradictions);
    printf("drill-load: of which 2PC: begun %ld, committed %ld, commit answered aborted %ld\n",
           st.begun_2pc, st.committed_2pc, st.aborted_commit_2pc);
    printf("drill-load: of which Sagas: submitted %ld, seen committed %ld, seen compensated %ld\n",
           st.begun_saga, st.committed_saga, st.compensated_saga);
    printf("drill-load: TCC transfers sent as one TCC_RUN %ld, of which unanswered (no gid) %ld\n",
           st.tcc_run, st.tcc_run_unanswered);
    printf("drill-load: of which messages: prepared %ld, committed locally %ld (submitted %ld, "
           "never submitted %ld), producer died before its local commit %ld, rolled back "
           "locally %ld\n",
           st.begun_msg, st.committed_msg + st.nosubmit_msg, st.committed_msg, st.nosubmit_msg,
           st.died_msg, st.rolledback_msg);
    printf("drill-load: failed calls:");
    int any = 0;
    for (int i = 1; i < DRILL_ERR_SLOTS; i++)
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
    drill_journal = fopen(drill_cfg.journal, "a");
    if (!drill_journal) {
        fprintf(stderr, "drill-load: cannot open %s: %s\n", drill_cfg.journal, strerror(errno));
        return 1;
    }
    drill_t0 = dtx_clock_mono_ms();

    /* Workers never see SIGTERM/SIGINT: this thread waits for them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    static drill_worker_t workers[DRILL_MAX_WORKERS];
    int started = 0;
    for (int i = 0; i < drill_cfg.workers; i++) {
        drill_worker_t *w = &workers[i];
        w->id = i;
        w->home = w->coord = i % drill_cfg.ncoordinators;
        w->rng = (drill_cfg.seed + 1) * 0x9E3779B97F4A7C15ull +
                 (uint64_t)(i + 1) * 0xBF58476D1CE4E5B9ull;
        if (!w->rng)
            w->rng = 1;
        if (pthread_create(&w->thread, NULL, s_worker_main, w) != 0) {
            fprintf(stderr, "drill-load: cannot start worker %d\n", i);
            drill_stop = 1;
            break;
        }
        started++;
    }
    printf("drill-load: %d workers on %d coordinator(s), mode %s%s, seed %llu\n", started,
           drill_cfg.ncoordinators,
           drill_cfg.modes == DRILL_MODES_2PC     ? "2pc"
           : drill_cfg.modes == DRILL_MODES_SAGA  ? "saga"
           : drill_cfg.modes == DRILL_MODES_MSG   ? "msg"
           : drill_cfg.modes == DRILL_MODES_MIXED ? "mixed"
                                                  : "tcc",
           drill_cfg.split_accounts && drill_cfg.modes == DRILL_MODES_MIXED
               ? " (accounts split by protocol)"
               : "",
           (unsigned long long)drill_cfg.seed);
    fflush(stdout);

    /* Wait for a signal or for every worker to reach the target. */
    struct timespec tick = { 0, 200 * 1000000L };
    while (!drill_stop) {
        int sig = sigtimedwait(&set, NULL, &tick);
        if (sig == SIGTERM || sig == SIGINT)
            drill_stop = 1;
        pthread_mutex_lock(&drill_lock);
        int done = drill_cfg.transfers > 0 && drill_stats.begun >= drill_cfg.transfers;
        pthread_mutex_unlock(&drill_lock);
        if (done)
            break;
    }
    for (int i = 0; i < started; i++)
        pthread_join(workers[i].thread, NULL);
    s_print_counts();
    fclose(drill_journal);
    return 0;
}
