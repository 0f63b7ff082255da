/*
 * order-client — the initiator of the order sample: places each order as
 * one 2PC transaction over two databases:
 *
 *     BEGIN 2pc
 *     TRY orders    create   {"order":..,"customer":..,"item":..,"qty":..}
 *     TRY inventory reserve  (the same payload)
 *     COMMIT                 (or ROLLBACK when the line says "rollback")
 *
 * In 2PC the TRYs only enlist the branches; the participants do the work
 * when COMMIT makes the coordinator PREPARE both. If either votes no (out
 * of stock, unknown item, order id taken), COMMIT answers DTX_EABORTED and
 * neither database keeps anything.
 *
 * Prints one line per order:
 *     gid  order  customer  item  qty  outcome
 * where outcome is "committed", "aborted: ..." or "rolled back", and with
 * --wait-final waits until the coordinator reports every transaction
 * committed or aborted as expected.
 *
 * Usage: order-client --coordinator ENDPOINT [--order LINE]... [--file FILE|-]
 *                     [--wait-final] [--wait-timeout-ms N] [--timeout-ms N]
 *                     [--log-level LEVEL]
 * Exit status: 0 when every order ended as expected, 1 otherwise, 2 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dtx/dtx.h"
#include "order.h"
#include "../sample_log.h"

#define OC_MAX_ORDERS 1024
#define OC_OUTCOME_SIZE 160

typedef struct job {
    order_t o;                         /* the order */
    char    gid[DTX_GID_SIZE];         /* "" when BEGIN failed */
    char    outcome[OC_OUTCOME_SIZE];  /* printed outcome */
    int     expect;                    /* final state expected; 0 unknown */
    int     error;                     /* 1: not a business outcome */
    int     final_state;               /* seen by --wait-final */
} job_t;

typedef struct oc {
    const char *coordinator;           /* --coordinator */
    const char *file;                  /* --file */
    const char *lines[OC_MAX_ORDERS];  /* --order */
    int         nlines;
    int         wait_final;            /* --wait-final */
    long        wait_timeout_ms;       /* --wait-timeout-ms */
    long        txn_timeout_ms;        /* --timeout-ms */
} oc_t;

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

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: order-client --coordinator ENDPOINT [--order LINE]... [--file FILE|-]\n"
            "                    [--wait-final] [--wait-timeout-ms N] [--timeout-ms N]\n"
            "                    [--log-level LEVEL]\n"
            "Places each order as one 2PC transaction over resources 'orders' and\n"
            "'inventory'. A line reads\n"
            "    o-1 alice widget 2 [rollback]\n");
}

static void s_fail(dtx_client_t *c, job_t *j, const char *step, int rc)
{
    const char *detail = dtx_client_last_error(c);
    snprintf(j->outcome, sizeof j->outcome, "error: %s: %s%s%s", step, dtx_strerror(rc),
             *detail ? ": " : "", detail);
    j->error = 1;
    if (j->gid[0] && dtx_client_rollback(c, j->gid, NULL) == 0)
        j->expect = DTX_STATE_ABORTED;
}

static void s_run(dtx_client_t *c, const oc_t *cfg, job_t *j)
{
    char payload[ORDER_PAYLOAD_MAX];
    int n = order_payload_encode(&j->o, payload, sizeof payload);
    if (n < 0) {
        snprintf(j->outcome, sizeof j->outcome, "error: cannot encode payload");
        j->error = 1;
        return;
    }
    int rc = dtx_client_begin(c, DTX_MODE_2PC, (uint32_t)cfg->txn_timeout_ms, j->gid);
    if (rc < 0) {
        j->gid[0] = '\0';
        s_fail(c, j, "begin", rc);
        return;
    }
    /* Enlisting contacts no participant: it cannot be refused. */
    if ((rc = dtx_client_try(c, j->gid, "orders", "create", payload, (size_t)n, NULL)) < 0) {
        s_fail(c, j, "enlist orders", rc);
        return;
    }
    if ((rc = dtx_client_try(c, j->gid, "inventory", "reserve", payload, (size_t)n, NULL)) < 0) {
        s_fail(c, j, "enlist inventory", rc);
        return;
    }
    if (j->o.rollback) {
        if ((rc = dtx_client_rollback(c, j->gid, NULL)) < 0) {
            s_fail(c, j, "rollback", rc);
            return;
        }
        snprintf(j->outcome, sizeof j->outcome, "rolled back");
        j->expect = DTX_STATE_ABORTED;
        return;
    }
    rc = dtx_client_commit(c, j->gid, NULL);
    if (rc == DTX_EABORTED) {
        snprintf(j->outcome, sizeof j->outcome,
                 "aborted: a branch voted no (out of stock, unknown item or order id taken)");
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

static int s_wait_final(dtx_client_t *c, const oc_t *cfg, job_t *jobs, int n)
{
    int64_t deadline = s_now_ms() + cfg->wait_timeout_ms;
    for (;;) {
        int pending = 0;
        for (int i = 0; i < n; i++) {
            job_t *j = &jobs[i];
            if (!j->gid[0] || j->final_state == DTX_STATE_COMMITTED ||
                j->final_state == DTX_STATE_ABORTED)
                continue;
            int state = 0;
            if (dtx_client_status(c, j->gid, &state) == 0)
                j->final_state = state;
            if (state != DTX_STATE_COMMITTED && state != DTX_STATE_ABORTED)
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
        if (j->final_state != DTX_STATE_COMMITTED && j->final_state != DTX_STATE_ABORTED) {
            printf("%s  not final after %ld ms: %s\n", j->gid, cfg->wait_timeout_ms,
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

static int s_parse_ms(const char *flag, const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > 86400000) {
        fprintf(stderr, "order-client: %s wants milliseconds\n", flag);
        return -1;
    }
    *out = v;
    return 0;
}

static int s_parse(oc_t *cfg, int argc, char **argv)
{
    enum { O_COORD = 1, O_ORDER, O_FILE, O_WAIT, O_WAIT_TIMEOUT, O_TIMEOUT, O_LOG, O_HELP };
    static const struct option opts[] = {
        { "coordinator", required_argument, NULL, O_COORD },
        { "order", required_argument, NULL, O_ORDER },
        { "file", required_argument, NULL, O_FILE },
        { "wait-final", no_argument, NULL, O_WAIT },
        { "wait-timeout-ms", required_argument, NULL, O_WAIT_TIMEOUT },
        { "timeout-ms", required_argument, NULL, O_TIMEOUT },
        { "log-level", required_argument, NULL, O_LOG },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    cfg->wait_timeout_ms = 30000;
    cfg->txn_timeout_ms = 30000;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_COORD: cfg->coordinator = optarg; break;
        case O_FILE: cfg->file = optarg; break;
        case O_WAIT: cfg->wait_final = 1; break;
        case O_ORDER:
            if (cfg->nlines >= OC_MAX_ORDERS) {
                fprintf(stderr, "order-client: at most %d --order (use --file)\n",
                        OC_MAX_ORDERS);
                return -1;
            }
            cfg->lines[cfg->nlines++] = optarg;
            break;
        case O_WAIT_TIMEOUT:
            if (s_parse_ms("--wait-timeout-ms", optarg, &cfg->wait_timeout_ms) < 0)
                return -1;
            break;
        case O_TIMEOUT:
            if (s_parse_ms("--timeout-ms", optarg, &cfg->txn_timeout_ms) < 0)
                return -1;
            break;
        case O_LOG: {
            int level = dtx_log_level_parse(optarg);
            if (level < 0) {
                fprintf(stderr, "order-client: --log-level: debug, info, warn or error\n");
                return -1;
            }
            sample_log_set_level(level);
            break;
        }
        case O_HELP:
            s_usage(stdout);
            exit(0);
        default:
            return -1;
        }
    }
    if (optind != argc || !cfg->coordinator || (cfg->nlines == 0 && !cfg->file)) {
        fprintf(stderr, "order-client: --coordinator and --order or --file are required\n");
        return -1;
    }
    return 0;
}

/* Reads the orders: --order lines first, then --file. */
static int s_load(const oc_t *cfg, job_t *jobs, int *njobs)
{
    int n = 0;
    const char *why = "";
    for (int i = 0; i < cfg->nlines; i++) {
        int rc = order_line_parse(cfg->lines[i], &jobs[n].o, &why);
        if (rc < 0) {
            fprintf(stderr, "order-client: --order '%s': %s\n", cfg->lines[i], why);
            return -1;
        }
        n += rc;
    }
    if (cfg->file) {
        int use_stdin = strcmp(cfg->file, "-") == 0;
        FILE *f = use_stdin ? stdin : fopen(cfg->file, "r");
        if (!f) {
            fprintf(stderr, "order-client: cannot open %s: %s\n", cfg->file, strerror(errno));
            return -1;
        }
        char line[1024];
        int lineno = 0, bad = 0;
        while (!bad && fgets(line, sizeof line, f)) {
            lineno++;
            if (n >= OC_MAX_ORDERS) {
                fprintf(stderr, "order-client: more than %d orders\n", OC_MAX_ORDERS);
                bad = 1;
                break;
            }
            int rc = order_line_parse(line, &jobs[n].o, &why);
            if (rc < 0) {
                fprintf(stderr, "order-client: %s:%d: %s\n", cfg->file, lineno, why);
                bad = 1;
            }
            n += rc > 0;
        }
        if (!use_stdin)
            fclose(f);
        if (bad)
            return -1;
    }
    *njobs = n;
    return 0;
}

int main(int argc, char **argv)
{
    oc_t cfg;
    memset(&cfg, 0, sizeof cfg);
    if (s_parse(&cfg, argc, argv) < 0) {
        s_usage(stderr);
        return 2;
    }
    sample_log_set_name("order-client");
    job_t *jobs = calloc(OC_MAX_ORDERS, sizeof *jobs);
    if (!jobs) {
        fprintf(stderr, "order-client: out of memory\n");
        return 1;
    }
    int n = 0, exit_code = 1, err = 0;
    dtx_client_t *c = NULL;
    if (s_load(&cfg, jobs, &n) < 0) {
        exit_code = 2;
        goto out;
    }
    c = dtx_client_new(cfg.coordinator, &err);
    if (!c) {
        fprintf(stderr, "order-client: cannot connect to %s: %s\n", cfg.coordinator,
                dtx_strerror(err));
        goto out;
    }
    dtx_client_set_timeout(c, 15000);

    printf("%-26s  %-8s  %-10s  %-10s  %4s  %s\n", "gid", "order", "customer", "item", "qty",
           "outcome");
    int committed = 0, aborted = 0, errors = 0;
    for (int i = 0; i < n; i++) {
        job_t *j = &jobs[i];
        s_run(c, &cfg, j);
        printf("%-26s  %-8s  %-10s  %-10s  %4d  %s\n", j->gid[0] ? j->gid : "-", j->o.order,
               j->o.customer, j->o.item, j->o.qty, j->outcome);
        fflush(stdout);
        if (j->error)
            errors++;
        else if (j->expect == DTX_STATE_COMMITTED)
            committed++;
        else
            aborted++;
    }
    printf("orders: %d, committed %d, aborted %d, errors %d\n", n, committed, aborted, errors);
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
