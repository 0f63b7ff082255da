/* drill_msg.c — the drill's transactional message transfers (drill_msg.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "dtx/barrier.h"
#include "dtx/dtx.h"
#include "drill_msg.h"

#define S_OVERDRAW_CENTS INT64_C(1000000000000) /* more than any account holds */
#define S_LOCK_TIMEOUT   "SET LOCAL lock_timeout = 300"

typedef enum s_plan { S_COMMIT, S_OVERDRAW, S_HURRY, S_NOSUBMIT, S_DIE } s_plan_t;

/* The local debit: the business change of the producer's transaction. */
typedef struct s_debit {
    const char *account;
    int64_t     amount;
    int         linger_ms; /* hurry: then waits this long before the commit */
} s_debit_t;

/* The worker's connection to bank's database (made, or made again after a
 * failure, on demand), idle; NULL when it cannot be had now. */
static PGconn *s_conn(drill_worker_t *self, int bank)
{
    PGconn *conn = self->dbs[bank];
    if (conn && (PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) != PQTRANS_IDLE)) {
        PQfinish(conn);
        conn = self->dbs[bank] = NULL;
    }
    if (!conn) {
        conn = PQconnectdb(drill_cfg.banks[bank].db);
        if (PQstatus(conn) != CONNECTION_OK) {
            PQfinish(conn);
            return NULL;
        }
        self->dbs[bank] = conn;
    }
    return conn;
}

static int s_exec(PGconn *conn, const char *sql)
{
    PGresult *r = PQexec(conn, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok ? DTX_OK : DTX_EDB;
}

/* dtx_tmsg_local_fn: balance -= amount, refused when there is not that
 * much, then lingers (a slow producer). Never waits long for a row
 * another transfer holds. */
static int s_local_debit(PGconn *conn, void *arg)
{
    const s_debit_t *d = arg;
    if (s_exec(conn, S_LOCK_TIMEOUT) != DTX_OK)
        return DTX_EDB;
    char amount[32];
    snprintf(amount, sizeof amount, "%lld", (long long)d->amount);
    const char *params[2] = { d->account, amount };
    PGresult *r = PQexecParams(conn,
                               "UPDATE accounts SET balance = balance - $2::bigint "
                               "WHERE id = $1 AND balance >= $2::bigint",
                               2, NULL, params, NULL, NULL, 0);
    int rc = PQresultStatus(r) != PGRES_COMMAND_OK ? DTX_EDB
             : atoi(PQcmdTuples(r)) == 1           ? DTX_OK
                                                   : DTX_EREFUSED;
    PQclear(r);
    if (rc == DTX_OK && d->linger_ms > 0)
        drill_sleep_ms(d->linger_ms);
    return rc;
}

/* The message: one or two "credit" destinations adding up to total. */
static dtx_tmsg_t *s_message(drill_worker_t *self, const char *checkback, int64_t total)
{
    dtx_tmsg_t *msg = dtx_tmsg_new(checkback, NULL);
    int n = total > 1 && drill_below(self, 2) ? 2 : 1;
    int64_t first = n == 2 ? 1 + drill_below(self, total - 1) : total;
    for (int i = 0; msg && i < n; i++) {
        const drill_bank_t *to = &drill_cfg.banks[drill_below(self, drill_cfg.nbanks)];
        char pay[128];
        int len = snprintf(pay, sizeof pay, "{\"account\":\"%s\",\"amount\":%lld}",
                           to->accounts[drill_below(self, to->naccounts)],
                           (long long)(i == 0 ? first : total - first));
        if (dtx_tmsg_add(msg, to->resource, "credit", pay, (size_t)len) < 0)
            dtx_tmsg_destroy(&msg);
    }
    return msg;
}

/* The producer "dies" inside its local transaction, or commits it and
 * never submits. Returns as dtx_tmsg_pg_commit; DTX_EABORTED for a death
 * (nothing committed, nothing sent: only the check-back ends it). */
static int s_crash(drill_worker_t *self, int bank, PGconn *conn, const s_debit_t *d,
                   const char *gid, int die)
{
    if (s_exec(conn, "BEGIN") != DTX_OK)
        return DTX_EDB;
    int rc = s_local_debit(conn, (void *)d);
    if (die || rc != DTX_OK) {
        /* As a process death looks to PostgreSQL: the connection drops,
         * the transaction is rolled back. */
        PQfinish(conn);
        self->dbs[bank] = NULL;
        return die ? DTX_EABORTED : rc;
    }
    return dtx_tmsg_pg_commit(NULL, conn, gid);
}

void drill_msg_transfer(drill_worker_t *self, int64_t roll)
{
    s_plan_t plan = roll < 55 ? S_COMMIT
                    : roll < 70 ? S_NOSUBMIT
                    : roll < 82 ? S_DIE
                    : roll < 92 ? S_OVERDRAW
                                : S_HURRY;
    int bank = (int)drill_below(self, drill_cfg.nbanks);
    const drill_bank_t *from = &drill_cfg.banks[bank];
    int timeout_ms = plan == S_HURRY ? 1 + (int)drill_below(self, 300) : drill_cfg.timeout_ms;
    /* A hurried producer is also slow: its local transaction may outlast
     * the deadline, and the check-back then finds no outbox row. */
    s_debit_t d = { from->accounts[drill_below(self, from->naccounts)],
                    1 + drill_below(self, drill_cfg.max_amount),
                    plan == S_HURRY ? (int)drill_below(self, timeout_ms + 600) : 0 };
    if (self->away > 0)
        self->away--;
    else
        self->coord = self->home;
    dtx_client_t *c = drill_client(self, self->coord);
    PGconn *conn = s_conn(self, bank);
    dtx_tmsg_t *msg = s_message(self, from->resource, d.amount);
    char gid[DTX_GID_SIZE] = "";
    int rc = DTX_ENOMEM;
    if (plan == S_OVERDRAW)
        d.amount = S_OVERDRAW_CENTS;
    if (c && conn && msg && (plan == S_NOSUBMIT || plan == S_DIE)) {
        rc = dtx_client_tmsg_prepare(c, msg, (uint32_t)timeout_ms, gid);
        if (rc == 0)
            rc = s_crash(self, bank, conn, &d, gid, plan == S_DIE);
    } else if (c && conn && msg) {
        rc = dtx_tmsg_pg_run(c, msg, (uint32_t)timeout_ms, conn, s_local_debit, &d, gid);
    } else if (!conn) {
        rc = DTX_EDB;
    }
    dtx_tmsg_destroy(&msg);
    if (!gid[0]) {
        /* Not prepared (DTX_EUNKNOWN: maybe in the log; nothing committed
         * locally, so the check-back rolls it back). */
        drill_count(&drill_stats.begin_failures);
        drill_count_error(rc);
        drill_fail_over(self);
        drill_sleep_ms(20 + (int)drill_below(self, 80));
        return;
    }
    drill_count(&drill_stats.begun);
    drill_count(&drill_stats.begun_msg);
    long at = drill_elapsed_ms();
    drill_journal_line("B %s %d %d %ld msg", gid, self->id, self->coord, at);
    drill_journal_line("M %s %s %s %lld", gid, from->resource, d.account, (long long)d.amount);
    if (rc == 0 || rc == DTX_EUNKNOWN)
        drill_journal_line("C %s %d %d %ld", gid, self->id, self->coord, drill_elapsed_ms());
    if (rc == 0 && plan == S_OVERDRAW) {
        drill_count(&drill_stats.contradictions);
        fprintf(stderr, "drill-load: %s: a local debit of %lld cents was committed\n", gid,
                (long long)S_OVERDRAW_CENTS);
        drill_end(self, gid, "committed", "msg-overdraw-committed");
    } else if (rc == 0) {
        drill_count(&drill_stats.committed);
        drill_count(plan == S_NOSUBMIT ? &drill_stats.nosubmit_msg : &drill_stats.committed_msg);
        drill_end(self, gid, "committed", plan == S_NOSUBMIT ? "msg-committed-not-submitted"
                                                             : "msg-committed");
    } else if (plan == S_DIE && rc == DTX_EABORTED) {
        drill_count(&drill_stats.died_msg);
        drill_end(self, gid, "aborted", "died-before-commit");
    } else if (rc == DTX_EABORTED || rc == DTX_EREFUSED || rc == DTX_EDB) {
        /* Rolled back locally (DTX_EABORTED: the check-back's marker came
         * first): the message must be dropped. */
        drill_count(&drill_stats.rolledback_msg);
        drill_end(self, gid, "aborted",
                  rc == DTX_EABORTED   ? "msg-checkback-first"
                  : rc == DTX_EREFUSED ? (plan == S_OVERDRAW ? "msg-overdraw" : "msg-no-funds")
                                       : "msg-local-rollback");
    } else {
        /* DTX_EUNKNOWN: the local COMMIT's outcome is unknown; the
         * check-back decides by it. */
        drill_note(self, gid, self->coord, "tmsg", rc, c);
        drill_count(&drill_stats.unknown);
        drill_end(self, gid, "unknown", "msg-local-commit-unknown");
    }
}

void drill_msg_close(drill_worker_t *self)
{
    for (int i = 0; i < DRILL_MAX_BANKS; i++) {
        PQfinish(self->dbs[i]);
        self->dbs[i] = NULL;
    }
}
