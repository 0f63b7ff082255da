/*
 * bank-transfer — the initiator of the bank sample: moves money between
 * banks, one TCC transaction per transfer:
 *
 *     BEGIN tcc
 *     TRY  from-bank debit  {"account":from,"amount":cents}
 *     TRY  to-bank   credit {"account":to,"amount":cents}
 *     COMMIT                (or ROLLBACK when the line says "rollback")
 *
 * A refused try needs no rollback: the coordinator has already decided to
 * abort and cancels every branch that was tried.
 *
 * With --mode 2pc the same steps run as a 2PC transaction: the TRYs only
 * enlist the branches (they cannot be refused), and the banks do the work
 * and vote when COMMIT makes the coordinator prepare them; a no vote makes
 * COMMIT answer DTX_EABORTED.
 *
 * Prints one line per transfer (gid, from, to, amount, outcome) and, with
 * --wait-final, waits until the coordinator reports every transaction
 * committed or aborted, checking that each ended the way its outcome said.
 *
 * Usage: see bank_usage() in bank.c, or bank-transfer --help.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bank.h"
#include "dtx/dtx.h"
#include "../sample_log.h"

#define TRANSFER_MAX 4096   /* transfers in one batch */
#define OUTCOME_SIZE 160

/* One transfer and what became of it. */
typedef struct job {
    bank_transfer_t t;                  /* what to do */
    char            gid[DTX_GID_SIZE];  /* "" when BEGIN failed */
    char            outcome[OUTCOME_SIZE]; /* printed outcome */
    int             expect;             /* final state expected: DTX_STATE_*, 0 unknown */
    int             error;              /* 1: not a business outcome (coordinator error...) */
    int             final_state;        /* state seen by --wait-final */
} job_t;

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_sleep_ms(int ms)
{
    struct timespec req = { ms / 1000, (long)(ms % 1000) * 1000000L }, rem;
    while (nanosleep(&req, &rem) < 0 && errno == EINTR)
        req = rem;
}

/* Sets the outcome of an error and tries to roll back what was begun. */
static void s_fail(dtx_client_t *c, job_t *j, const char *step, int rc)
{
    const char *detail = dtx_client_last_error(c);
    snprintf(j->outcome, sizeof j->outcome, "error: %s: %s%s%s", step, dtx_strerror(rc),
             *detail ? ": " : "", detail);
    j->error = 1;
    j->expect = 0;
    if (j->gid[0] && dtx_client_rollback(c, j->gid, NULL) == 0)
        j->expect = DTX_STATE_ABORTED;
}

static void s_run(dtx_client_t *c, const bank_config_t *cfg, job_t *j)
{
    char debit[BANK_PAYLOAD_MAX], credit[BANK_PAYLOAD_MAX];
    int nd = bank_payload_encode(j->t.from_account, j->t.amount, debit, sizeof debit);
    int nc = bank_payload_encode(j->t.to_account, j->t.amount, credit, sizeof credit);
    if (nd < 0 || nc < 0) {
        snprintf(j->outcome, sizeof j->outcome, "error: cannot encode payload");
        j->error = 1;
        return;
    }
    int rc = dtx_client_begin(c, cfg->mode, (uint32_t)cfg->txn_timeout_ms, j->gid);
    if (rc < 0) {
        j->gid[0] = '\0';
        s_fail(c, j, "begin", rc);
        return;
    }
    dtx_try_result_t r;
    rc = dtx_client_try(c, j->gid, j->t.from_bank, "debit", debit, (size_t)nd, &r);
    if (rc == DTX_EREFUSED) {
        snprintf(j->outcome, sizeof j->outcome, "aborted: insufficient funds");
        j->expect = DTX_STATE_ABORTED;
        return;
    }
    if (rc == DTX_ENOPARTICIPANT) {
        snprintf(j->outcome, sizeof j->outcome, "aborted: %s is not running", j->t.from_bank);
        j->expect = DTX_STATE_ABORTED;
        return;
    }
    if (rc < 0) {
        s_fail(c, j, "try debit", rc);
        return;
    }
    rc = dtx_client_try(c, j->gid, j->t.to_bank, "credit", credit, (size_t)nc, &r);
    if (rc == DTX_EREFUSED) {
        snprintf(j->outcome, sizeof j->outcome, "aborted: credit refused by %s",
                 j->t.to_bank);
        j->expect = DTX_STATE_ABORTED;
        return;
    }
    if (rc == DTX_ENOPARTICIPANT) {
        snprintf(j->outcome, sizeof j->outcome, "aborted: %s is not running", j->t.to_bank);
        j->expect = DTX_STATE_ABORTED;
        return;
    }
    if (rc < 0) {
        s_fail(c, j, "try credit", rc);
        return;
    }
    if (j->t.rollback) {
        rc = dtx_client_rollback(c, j->gid, NULL);
        if (rc < 0) {
            s_fail(c, j, "rollback", rc);
            return;
        }
        snprintf(j->outcome, sizeof j->outcome, "rolled back by initiator");
        j->expect = DTX_STATE_ABORTED;
        return;
    }
    rc = dtx_client_commit(c, j->gid, NULL);
    if (rc == DTX_EABORTED && cfg->mode == DTX_MODE_2PC) {
        /* In 2PC the banks vote at COMMIT, when the coordinator prepares. */
        snprintf(j->outcome, sizeof j->outcome,
                 "aborted: a bank voted no (insufficient funds or unknown account)");
        j->expect = DTX_STATE_ABORTED;
        return;
    }
    if (rc == DTX_EABORTED) {
        const char *detail = dtx_client_last_error(c);
        snprintf(j->outcome, sizeof j->outcome, "aborted by coordinator%s%s",
                 *detail ? ": " : "", detail);
        j->expect = DTX_STATE_ABORTED;
        return;
    }
    if (rc < 0) {
        s_fail(c, j, "commit", rc);
        return;
    }
    snprintf(j->outcome, sizeof j->outcome, "committed");
    j->expect = DTX_STATE_COMMITTED;
}

static void s_print(const job_t *j)
{
    char from[2 * DTX_NAME_SIZE + 2], to[2 * DTX_NAME_SIZE + 2], amount[32];
    snprintf(from, sizeof from, "%s:%s", j->t.from_bank, j->t.from_account);
    snprintf(to, sizeof to, "%s:%s", j->t.to_bank, j->t.to_account);
    bank_format_cents(j->t.amount, amount, sizeof amount);
    printf("%-26s  %-16s -> %-16s %10s  %s\n", j->gid[0] ? j->gid : "-", from, to, amount,
           j->outcome);
    fflush(stdout);
}

/* Reads the batch: --transfer lines first, then --file. */
static int s_load(const bank_config_t *cfg, job_t *jobs, int *njobs)
{
    int n = 0;
    const char *why = NULL;
    for (int i = 0; i < cfg->ntransfers; i++) {
        int rc = bank_transfer_parse(cfg->transfers[i], &jobs[n].t, &why);
        if (rc < 0) {
            fprintf(stderr, "bank-transfer: --transfer '%s': %s\n", cfg->transfers[i], why);
            return -1;
        }
        if (rc == 1 && ++n >= TRANSFER_MAX) {
            fprintf(stderr, "bank-transfer: more than %d transfers\n", TRANSFER_MAX);
            return -1;
        }
    }
    if (cfg->file) {
        int use_stdin = strcmp(cfg->file, "-") == 0;
        FILE *f = use_stdin ? stdin : fopen(cfg->file, "r");
        if (!f) {
            fprintf(stderr, "bank-transfer: cannot open %s: %s\n", cfg->file, strerror(errno));
            return -1;
        }
        char line[1024];
        int lineno = 0, bad = 0;
        while (!bad && fgets(line, sizeof line, f)) {
            lineno++;
            int rc = bank_transfer_parse(line, &jobs[n].t, &why);
            if (rc < 0) {
                fprintf(stderr, "bank-transfer: %s:%d: %s\n", cfg->file, lineno, why);
                bad = 1;
            } else if (rc == 1 && ++n >= TRANSFER_MAX) {
                fprintf(stderr, "bank-transfer: more than %d transfers\n", TRANSFER_MAX);
                bad = 1;
            }
        }
        if (!use_stdin)
            fclose(f);
        if (bad)
            return -1;
    }
    *njobs = n;
    return 0;
}

/* Polls the coordinator until every begun transaction is final or the
 * timeout passes. Returns the number of transactions that are not final or
 * not in their expected state. */
static int s_wait_final(dtx_client_t *c, const bank_config_t *cfg, job_t *jobs, int n)
{
    int64_t deadline = s_now_ms() + cfg->wait_timeout_ms;
    int pending;
    for (;;) {
        pending = 0;
        for (int i = 0; i < n; i++) {
            job_t *j = &jobs[i];
            if (!j->gid[0] || j->final_state == DTX_STATE_COMMITTED ||
                j->final_state == DTX_STATE_ABORTED)
                continue;
            int state = 0;
            int rc = dtx_client_status(c, j->gid, &state);
            if (rc == 0)
                j->final_state = state;
            if (rc < 0 || (state != DTX_STATE_COMMITTED && state != DTX_STATE_ABORTED))
                pending++;
        }
        if (pending == 0 || s_now_ms() >= deadline)
            break;
        s_sleep_ms(50);
    }
    int bad = 0;
    for (int i = 0; i < n; i++) {
        job_t *j = &jobs[i];
        if (!j->gid[0])
            continue;
        int final = j->final_state == DTX_STATE_COMMITTED || j->final_state == DTX_STATE_ABORTED;
        if (!final) {
            printf("%s  not final after %d ms: %s\n", j->gid, cfg->wait_timeout_ms,
                   dtx_state_name(j->final_state));
            bad++;
        } else if (j->expect && j->final_state != j->expect) {
            printf("%s  ended %s, expected %s\n", j->gid, dtx_state_name(j->final_state),
                   dtx_state_name(j->expect));
            bad++;
        }
    }
    return bad;
}

int main(int argc, char **argv)
{
    bank_config_t cfg;
    if (bank_config_parse(&cfg, BANK_PROG_TRANSFER, argc, argv) < 0) {
        bank_usage(BANK_PROG_TRANSFER, 0);
        return 2;
    }
    sample_log_set_name("bank-transfer");
    job_t *jobs = calloc(TRANSFER_MAX, sizeof *jobs);
    if (!jobs) {
        fprintf(stderr, "bank-transfer: out of memory\n");
        return 1;
    }
    int n = 0, exit_code = 1;
    dtx_client_t *c = NULL;
    if (s_load(&cfg, jobs, &n) < 0) {
        exit_code = 2;
        goto out;
    }
    int err = 0;
    c = dtx_client_new(cfg.coordinators[0], &err);
    if (!c) {
        fprintf(stderr, "bank-transfer: cannot connect to %s: %s\n", cfg.coordinators[0],
                dtx_strerror(err));
        goto out;
    }
    dtx_client_set_timeout(c, cfg.call_timeout_ms);

    printf("%-26s  %-16s    %-16s %10s  %s\n", "gid", "from", "to", "amount", "outcome");
    int committed = 0, aborted = 0, errors = 0;
    for (int i = 0; i < n; i++) {
        s_run(c, &cfg, &jobs[i]);
        s_print(&jobs[i]);
        if (jobs[i].error)
            errors++;
        else if (jobs[i].expect == DTX_STATE_COMMITTED)
            committed++;
        else
            aborted++;
    }
    printf("transfers: %d, committed %d, aborted %d, errors %d\n", n, committed, aborted, errors);

    int unfinished = 0;
    if (cfg.wait_final) {
        unfinished = s_wait_final(c, &cfg, jobs, n);
        if (unfinished == 0)
            printf("all %d transactions final\n", n);
        else
            printf("%d transactions not final or not as expected\n", unfinished);
    }
    exit_code = (errors == 0 && unfinished == 0) ? 0 : 1;
out:
    dtx_client_destroy(&c);
    free(jobs);
    return exit_code;
}
