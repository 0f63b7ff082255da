/*
 * bank-participant — one bank as a TCC resource over its own PostgreSQL.
 *
 *   accounts(id, balance, frozen, incoming)     amounts in cents
 *
 * Money a debit reserves moves from balance to frozen; money a credit
 * announces waits in incoming. So at any instant, summed over all banks,
 * balance + frozen is the money there is, and once every transaction is
 * final frozen and incoming are 0 everywhere.
 *
 *   action  try                            confirm                 cancel
 *   ------  -----------------------------  ----------------------  ------------------------
 *   debit   balance -= a, frozen += a      frozen -= a             balance += a, frozen -= a
 *           (refused when balance < a)
 *   credit  incoming += a                  balance += a,           incoming -= a
 *                                          incoming -= a
 *
 * Every handler runs under dtx_barrier_call, so a duplicate confirm or
 * cancel changes nothing, a cancel without its try changes nothing, and a
 * try that arrives after its cancel is refused. A try for an unknown
 * account or with a malformed payload is refused too (vote no).
 *
 * The same resource is also served in 2PC (dtx/pgres.h), when the server
 * allows prepared transactions. The prepare does the whole change at once
 * and PostgreSQL keeps it prepared (the account row stays locked) until
 * the coordinator's decision:
 *
 *   action  prepare (then PREPARE TRANSACTION)
 *   ------  ---------------------------------------------------------
 *   debit   balance -= a   (votes no when balance < a or no account)
 *   credit  balance += a   (votes no when there is no such account)
 *
 * And as Saga steps (DTX_OP_ACTION, DTX_OP_COMPENSATE, under the barrier:
 * a compensation before its action is a no-op, an action after its
 * compensation is refused), each changing balance at once:
 *
 *   step    action                          compensation
 *   ------  ------------------------------  ------------------------------
 *   debit   balance -= a (refused when      refund: balance += a
 *           balance < a or no account)
 *   credit  balance += a (refused when      uncredit: balance -= a (fails,
 *           there is no such account)       and is retried, while balance < a)
 *
 * A Saga transfer makes its credit the pivot, so that uncredit, which
 * could wait for money spent meanwhile, is never needed (tests/drill).
 *
 * And as a destination of transactional messages (DTX_OP_DELIVER, under
 * the barrier: a duplicate delivery is applied once):
 *
 *   message  deliver
 *   -------  --------------------------------------------------------
 *   credit   balance += a (not applied, so delivered again, when there
 *            is no such account)
 *
 * The bank is also the check-back resource of messages whose producer
 * wrote its outbox row in this bank's database (the drill's message
 * transfers debit an account and write the row in one local transaction):
 * QUERY_PREPARED is answered by dtx_tmsg_pg_query_prepared.
 *
 * frozen and incoming stay 0 in 2PC and in Sagas. At start the participant resolves
 * whatever an earlier run left prepared (dtx_pgres_recover). A prepare
 * that waits for an account row another branch holds prepared votes no
 * after --lock-timeout-ms (dtx_pgres_set_lock_timeout; pgres's default
 * otherwise): the process serves one phase at a time, so a long wait also
 * holds up the COMMITs queued behind it. The TCC handlers wait no longer
 * either (same option, 2000 ms by default).
 *
 * Usage: see bank_usage() in bank.c, or bank-participant --help.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "bank.h"
#include "dtx/barrier.h"
#include "dtx/dtx.h"
#include "dtx/pgres.h"
#include "../sample_db.h"
#include "../sample_log.h"
#include "../sample_ready.h"

typedef struct bank {
    bank_config_t cfg;                   /* from the command line */
    char          instance[DTX_NAME_SIZE];/* participant instance name */
    sample_db_t   db;                    /* the bank's database (TCC) */
    dtx_pgres_t  *pgres;                 /* 2PC over the same database; NULL when off */
    int           ready_failed;          /* s_on_ready failed (and logged why) */
} bank_t;

static const char s_schema_sql[] =
    "BEGIN;"
    "SELECT pg_advisory_xact_lock(hashtext('dtx bank-participant schema'));"
    "CREATE TABLE IF NOT EXISTS accounts ("
    "  id       text   PRIMARY KEY,"
    "  balance  bigint NOT NULL CHECK (balance >= 0),"
    "  frozen   bigint NOT NULL DEFAULT 0,"
    "  incoming bigint NOT NULL DEFAULT 0);"
    "COMMIT;";

/* ------------------------------------------------------------------ */
/* Database helpers                                                    */
/* ------------------------------------------------------------------ */

/* Runs sql with $1 account, $2 amount; returns the number of rows it
 * changed, or DTX_EDB. */
static int s_update(PGconn *conn, const dtx_call_t *call, const char *sql,
                    const bank_payload_t *pay)
{
    char amount[32];
    snprintf(amount, sizeof amount, "%lld", (long long)pay->amount);
    const char *params[2] = { pay->account, amount };
    PGresult *r = PQexecParams(conn, sql, 2, NULL, params, NULL, NULL, 0);
    int rc;
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        sample_log_error("bank statement failed", "gid=%s branch=%u op=%s error=\"%s\"",
                         call->gid, (unsigned)call->branch, dtx_op_name(call->op),
                         PQresultErrorMessage(r));
        rc = DTX_EDB;
    } else {
        rc = atoi(PQcmdTuples(r));
    }
    PQclear(r);
    return rc;
}

static int s_account_exists(PGconn *conn, const char *account)
{
    const char *params[1] = { account };
    PGresult *r = PQexecParams(conn, "SELECT 1 FROM accounts WHERE id = $1", 1, NULL, params,
                               NULL, NULL, 0);
    int found = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    PQclear(r);
    return found;
}

/* A lost connection is made again with a backoff (sample_db.h): until
 * then phases fail at once with DTX_EDB, which the coordinator retries. */
static int s_conn_ready(bank_t *self)
{
    return sample_db_ready(&self->db) == 0 ? 0 : DTX_EDB;
}

/* ------------------------------------------------------------------ */
/* Handlers                                                            */
/* ------------------------------------------------------------------ */

/* SQL of each (action, op). An UPDATE that changes no row means the try
 * cannot reserve (try) or the reservation is not there (confirm/cancel). */
static const char *s_sql(int debit, int op)
{
    static const char *const debit_sql[4] = {
        NULL,
        "UPDATE accounts SET balance = balance - $2, frozen = frozen + $2 "
        "WHERE id = $1 AND balance >= $2",
        "UPDATE accounts SET frozen = frozen - $2 WHERE id = $1 AND frozen >= $2",
        "UPDATE accounts SET balance = balance + $2, frozen = frozen - $2 "
        "WHERE id = $1 AND frozen >= $2",
    };
    static const char *const credit_sql[4] = {
        NULL,
        "UPDATE accounts SET incoming = incoming + $2 WHERE id = $1",
        "UPDATE accounts SET balance = balance + $2, incoming = incoming - $2 "
        "WHERE id = $1 AND incoming >= $2",
        "UPDATE accounts SET incoming = incoming - $2 WHERE id = $1 AND incoming >= $2",
    };
    return debit ? debit_sql[op] : credit_sql[op];
}

/* SQL of a Saga step: action debit / credit, or the compensation that
 * undoes it, refund / uncredit (the op name the plan gave), or of a
 * delivered "credit" message. NULL for an unknown name. The action
 * changes balance at once; no reservation. */
static const char *s_saga_sql(const dtx_call_t *call, int *debit)
{
    static const struct { const char *name; int op, debit; const char *sql; } steps[] = {
        { "debit", DTX_OP_ACTION, 1,
          "UPDATE accounts SET balance = balance - $2 WHERE id = $1 AND balance >= $2" },
        { "credit", DTX_OP_ACTION, 0, "UPDATE accounts SET balance = balance + $2 WHERE id = $1" },
        { "credit", DTX_OP_DELIVER, 0, "UPDATE accounts SET balance = balance + $2 WHERE id = $1" },
        { "refund", DTX_OP_COMPENSATE, 1,
          "UPDATE accounts SET balance = balance + $2 WHERE id = $1" },
        { "uncredit", DTX_OP_COMPENSATE, 0,
          "UPDATE accounts SET balance = balance - $2 WHERE id = $1 AND balance >= $2" },
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (steps[i].op == call->op && strcmp(steps[i].name, call->action) == 0) {
            *debit = steps[i].debit;
            return steps[i].sql;
        }
    return NULL;
}

/* The business part, inside the barrier's transaction. */
static int s_apply(PGconn *conn, const dtx_call_t *call, void *arg)
{
    bank_t *self = arg;
    const char *op = dtx_op_name(call->op);
    int is_try = call->op == DTX_OP_TRY || call->op == DTX_OP_ACTION;
    /* A delivered message runs as a Saga step does (s_saga_sql). */
    int saga = call->op == DTX_OP_ACTION || call->op == DTX_OP_COMPENSATE ||
               call->op == DTX_OP_DELIVER;
    if (call->op != DTX_OP_TRY && call->op != DTX_OP_CONFIRM && call->op != DTX_OP_CANCEL &&
        !saga)
        return DTX_EINVAL;
    int debit = strcmp(call->action, "debit") == 0;
    const char *sql = saga ? s_saga_sql(call, &debit) : NULL;
    if (saga ? !sql : (!debit && strcmp(call->action, "credit") != 0)) {
        sample_log_warn("unknown action", "gid=%s branch=%u op=%s action=%s", call->gid,
                        (unsigned)call->branch, op, call->action);
        return is_try ? DTX_EREFUSED : DTX_EINVAL;
    }
    bank_payload_t pay;
    if (bank_payload_decode(call->payload, call->payload_len, &pay) < 0) {
        sample_log_warn("malformed payload", "gid=%s branch=%u op=%s action=%s bytes=%zu",
                        call->gid, (unsigned)call->branch, op, call->action, call->payload_len);
        return is_try ? DTX_EREFUSED : DTX_EINVAL;
    }
    /* Never wait forever for an account row: another branch (a 2PC branch
     * held prepared, say) may keep it until a COMMIT that this very
     * process has to deliver, and it serves one phase at a time. A Try that
     * times out votes no; a Confirm/Cancel is retried. */
    char lock_sql[64];
    snprintf(lock_sql, sizeof lock_sql, "SET LOCAL lock_timeout = %d",
             self->cfg.lock_timeout_ms > 0 ? self->cfg.lock_timeout_ms : 2000);
    PGresult *lr = PQexec(conn, lock_sql);
    int lock_ok = PQresultStatus(lr) == PGRES_COMMAND_OK;
    PQclear(lr);
    if (!lock_ok)
        return DTX_EDB;
    int rows = s_update(conn, call, saga ? sql : s_sql(debit, call->op), &pay);
    if (rows < 0)
        return rows;
    if (rows == 0) {
        if (is_try) {
            const char *why = !s_account_exists(conn, pay.account) ? "unknown account"
                              : "insufficient funds";
            sample_log_info("refused", "gid=%s branch=%u resource=%s action=%s account=%s "
                            "amount=%lld reason=\"%s\"", call->gid, (unsigned)call->branch,
                            self->cfg.resource, call->action, pay.account,
                            (long long)pay.amount, why);
            return DTX_EREFUSED;
        }
        /* The barrier guarantees the try was applied; a missing reservation
         * is a bug or a hand-edited table: keep failing so it shows. */
        sample_log_error("reservation missing", "gid=%s branch=%u resource=%s op=%s action=%s "
                         "account=%s amount=%lld", call->gid, (unsigned)call->branch,
                         self->cfg.resource, op, call->action, pay.account, (long long)pay.amount);
        return DTX_EINTERNAL;
    }
    sample_log_info("applied", "gid=%s branch=%u resource=%s op=%s action=%s account=%s amount=%lld",
                    call->gid, (unsigned)call->branch, self->cfg.resource, op, call->action,
                    pay.account, (long long)pay.amount);
    return DTX_OK;
}

static int s_handle(const dtx_call_t *call, void *arg)
{
    bank_t *self = arg;
    int rc = s_conn_ready(self);
    if (rc == 0)
        rc = dtx_barrier_call(self->db.conn, call, s_apply, self);
    /* DTX_EDB: the database is down; sample_db and libdtx log that, not
     * one line a phase. */
    if (rc != 0 && rc != DTX_EREFUSED && rc != DTX_EDB)
        sample_log_warn("handler failed", "gid=%s branch=%u op=%s attempt=%u error=\"%s\"",
                        call->gid, (unsigned)call->branch, dtx_op_name(call->op),
                        (unsigned)call->attempt, dtx_strerror(rc));
    return rc;
}

/* The check-back of a message whose outbox row this bank's database holds:
 * committed (DTX_OK), rolled back for good (DTX_EREFUSED), or unknown. */
static int s_query_prepared(const dtx_call_t *call, void *arg)
{
    bank_t *self = arg;
    int rc = s_conn_ready(self);
    if (rc == 0)
        rc = dtx_tmsg_pg_query_prepared(self->db.conn, call->gid);
    sample_log_info("check-back answered", "gid=%s resource=%s answer=\"%s\"", call->gid,
                    self->cfg.resource, rc == 0 ? "committed" : dtx_strerror(rc));
    return rc;
}

/* The work of a 2PC prepare, inside the transaction pgres prepares. */
static int s_prepare_work(PGconn *conn, const dtx_call_t *call, void *arg)
{
    bank_t *self = arg;
    int debit = strcmp(call->action, "debit") == 0;
    bank_payload_t pay;
    if ((!debit && strcmp(call->action, "credit") != 0) ||
        bank_payload_decode(call->payload, call->payload_len, &pay) < 0) {
        sample_log_warn("unknown action or malformed payload, voting no",
                        "gid=%s branch=%u action=%s bytes=%zu", call->gid, (unsigned)call->branch,
                        call->action, call->payload_len);
        return DTX_EREFUSED;
    }
    int rows = s_update(conn, call,
                        debit ? "UPDATE accounts SET balance = balance - $2 "
                                "WHERE id = $1 AND balance >= $2"
                              : "UPDATE accounts SET balance = balance + $2 WHERE id = $1",
                        &pay);
    if (rows < 0)
        return rows;
    if (rows == 0) {
        const char *why = !s_account_exists(conn, pay.account) ? "unknown account"
                          : "insufficient funds";
        sample_log_info("refused", "gid=%s branch=%u resource=%s action=%s account=%s "
                        "amount=%lld reason=\"%s\"", call->gid, (unsigned)call->branch,
                        self->cfg.resource, call->action, pay.account, (long long)pay.amount, why);
        return DTX_EREFUSED;
    }
    sample_log_info("prepared", "gid=%s branch=%u resource=%s action=%s account=%s amount=%lld",
                    call->gid, (unsigned)call->branch, self->cfg.resource, call->action,
                    pay.account, (long long)pay.amount);
    return DTX_OK;
}

/* ------------------------------------------------------------------ */
/* Setup                                                               */
/* ------------------------------------------------------------------ */

/* Opens the 2PC side and resolves what an earlier run left prepared. A
 * server without prepared transactions only loses 2PC: TCC is served as
 * before. */
static void s_setup_2pc(bank_t *self)
{
    char why[512];
    int rc;
    self->pgres = dtx_pgres_new(self->cfg.db, s_prepare_work, self, &rc, why, sizeof why);
    if (!self->pgres) {
        sample_log_warn("2PC disabled, serving TCC only", "resource=%s error=\"%s\" detail=\"%s\"",
                        self->cfg.resource, dtx_strerror(rc), why);
        return;
    }
    if (self->cfg.lock_timeout_ms > 0)
        dtx_pgres_set_lock_timeout(self->pgres, self->cfg.lock_timeout_ms);
    int err = 0, resolved = 0;
    dtx_client_t *c = dtx_client_new(self->cfg.coordinators[0], &err);
    if (!c) {
        sample_log_warn("no client for 2PC recovery", "error=\"%s\"", dtx_strerror(err));
        return;
    }
    dtx_client_set_timeout(c, 5000);
    rc = dtx_pgres_recover(self->pgres, c, &resolved);
    if (rc != 0)
        sample_log_warn("2PC recovery incomplete; the coordinator's retries finish it",
                        "resource=%s resolved=%d error=\"%s\"", self->cfg.resource, resolved,
                        dtx_strerror(rc));
    else if (resolved > 0)
        sample_log_info("2PC recovery done", "resource=%s resolved=%d", self->cfg.resource,
                        resolved);
    dtx_client_destroy(&c);
}

static int s_exec(PGconn *conn, const char *sql)
{
    PGresult *r = PQexec(conn, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        sample_log_error("statement failed", "error=\"%s\"", PQerrorMessage(conn));
    PQclear(r);
    return ok ? 0 : DTX_EDB;
}

/* Creates or resets the seeded accounts in one transaction. */
static int s_seed(bank_t *self)
{
    bank_seed_t seeds[BANK_LIST_MAX];
    int n = bank_seed_parse(self->cfg.seed, seeds, BANK_LIST_MAX);
    if (n < 0) {
        fprintf(stderr, "bank-participant: --seed wants account=cents[,account=cents...]\n");
        return DTX_EINVAL;
    }
    if (s_exec(self->db.conn, "BEGIN") < 0)
        return DTX_EDB;
    for (int i = 0; i < n; i++) {
        char balance[32];
        snprintf(balance, sizeof balance, "%lld", (long long)seeds[i].balance);
        const char *params[2] = { seeds[i].account, balance };
        PGresult *r = PQexecParams(self->db.conn,
                                   "INSERT INTO accounts (id, balance) VALUES ($1, $2) "
                                   "ON CONFLICT (id) DO UPDATE SET balance = EXCLUDED.balance, "
                                   "frozen = 0, incoming = 0",
                                   2, NULL, params, NULL, NULL, 0);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            sample_log_error("cannot seed account", "account=%s error=\"%s\"", seeds[i].account,
                             PQresultErrorMessage(r));
        PQclear(r);
        if (!ok) {
            s_exec(self->db.conn, "ROLLBACK");
            return DTX_EDB;
        }
        sample_log_info("seeded", "resource=%s account=%s balance=%lld", self->cfg.resource,
                        seeds[i].account, (long long)seeds[i].balance);
    }
    return s_exec(self->db.conn, "COMMIT");
}

/* Registered with every coordinator: say so, write --ready-file. */
static int s_on_ready(dtx_participant_t *p, void *arg)
{
    bank_t *self = arg;
    (void)p;
    sample_log_info("registered with every coordinator", "resource=%s", self->cfg.resource);
    if (self->cfg.ready_file && sample_ready_write(self->cfg.ready_file) < 0) {
        sample_log_error("cannot write ready file", "path=%s", self->cfg.ready_file);
        self->ready_failed = 1;
        return DTX_EIO;
    }
    return 0;
}

static volatile sig_atomic_t s_stop;

static void s_on_stop_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

int main(int argc, char **argv)
{
    bank_t self;
    memset(&self, 0, sizeof self);
    if (bank_config_parse(&self.cfg, BANK_PROG_PARTICIPANT, argc, argv) < 0) {
        bank_usage(BANK_PROG_PARTICIPANT, 0);
        return 2;
    }
    if (self.cfg.instance)
        snprintf(self.instance, sizeof self.instance, "%s", self.cfg.instance);
    else if (snprintf(self.instance, sizeof self.instance, "%s-1", self.cfg.resource) >=
             (int)sizeof self.instance) {
        fprintf(stderr, "bank-participant: resource name too long for a default --instance\n");
        return 2;
    }
    sample_log_set_name(self.instance);
    signal(SIGPIPE, SIG_IGN);

    int exit_code = 1, rc;
    dtx_participant_t *p = NULL;
    /* A database that is not up yet is waited for; SIGTERM/SIGINT stop
     * the wait (exit 0). libdtx's signal handling takes over after. */
    signal(SIGTERM, s_on_stop_signal);
    signal(SIGINT, s_on_stop_signal);
    if (sample_db_connect(&self.db, self.cfg.db, self.cfg.resource, &s_stop) < 0) {
        exit_code = 0;
        goto out;
    }
    /* Before the set-up, so that SIGTERM/SIGINT during it stop it cleanly. */
    p = dtx_participant_new(self.instance, &rc);
    if (!p) {
        sample_log_error("cannot create participant", "instance=%s error=\"%s\"", self.instance,
                         dtx_strerror(rc));
        goto out;
    }
    if (dtx_participant_stop_on_signals(p) < 0)
        goto out;
    if ((rc = dtx_barrier_migrate(self.db.conn)) < 0) {
        sample_log_error("barrier migration failed", "error=\"%s\"", dtx_strerror(rc));
        goto out;
    }
    if (s_exec(self.db.conn, s_schema_sql) < 0)
        goto out;
    /* Before seeding: a branch left prepared holds its account rows. */
    s_setup_2pc(&self);
    if (self.cfg.seed && s_seed(&self) < 0)
        goto out;

    if (self.cfg.heartbeat_ms > 0)
        dtx_participant_set_heartbeat(p, self.cfg.heartbeat_ms);
    const dtx_tcc_handlers_t handlers = { s_handle, s_handle, s_handle, &self };
    const dtx_saga_handlers_t saga = { s_handle, s_handle, &self };
    const dtx_tmsg_handlers_t tmsg = { s_handle, s_query_prepared, &self };
    if ((rc = dtx_participant_serve(p, self.cfg.resource, &handlers)) < 0 ||
        (rc = dtx_participant_serve_saga(p, self.cfg.resource, &saga)) < 0 ||
        (rc = dtx_participant_serve_tmsg(p, self.cfg.resource, &tmsg)) < 0 ||
        (self.pgres && (rc = dtx_pgres_serve(self.pgres, p, self.cfg.resource)) < 0)) {
        sample_log_error("cannot serve resource", "resource=%s error=\"%s\"", self.cfg.resource,
                         dtx_strerror(rc));
        goto out;
    }
    for (int i = 0; i < self.cfg.ncoordinators; i++) {
        if ((rc = dtx_participant_connect(p, self.cfg.coordinators[i])) < 0) {
            sample_log_error("cannot connect to coordinator", "endpoint=%s error=\"%s\"",
                             self.cfg.coordinators[i], dtx_strerror(rc));
            goto out;
        }
    }
    sample_log_info("bank participant started", "resource=%s instance=%s coordinators=%d",
                    self.cfg.resource, self.instance, self.cfg.ncoordinators);

    dtx_participant_set_ready(p, s_on_ready, &self);
    exit_code = 0;
    if ((rc = dtx_participant_run(p)) < 0) {
        if (!self.ready_failed)
            sample_log_error("participant poll failed", "error=\"%s\"", dtx_strerror(rc));
        exit_code = 1;
    }
    sample_log_info("bank participant stopping", "resource=%s", self.cfg.resource);

out:
    dtx_participant_destroy(&p);
    dtx_pgres_destroy(&self.pgres);
    PQfinish(self.db.conn);
    return exit_code;
}
