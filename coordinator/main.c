/*
 * main.c — dtxd: load options, wait for the log database, apply
 * migrations, serve until SIGTERM (SIGHUP re-reads the CURVE allow-list).
 * `dtxd --version` prints the version (VERSION, through dtx/version.h).
 * Under systemd (Type=notify, dtx/notify.h) it says READY=1 only once the
 * log is connected and the node lease is held (dtx_loop_init returned),
 * STOPPING=1 when it stops, and STATUS= while it waits.
 * Exit codes: 0 clean stop, 1 runtime failure (also: --db-wait-ms passed
 * without the database), 2 bad configuration (also found at start: a
 * conninfo libpq cannot parse, key files, a listener that cannot bind, an
 * endpoint file that cannot be written, admin options — always before the
 * node lease is taken, so a misconfigured twin of a live node harms
 * nothing).
 *
 * dtxd may start before its database (both started together, a database
 * restarting): it connects with backoff until it gets in, a line every
 * S_WAIT_LOG_MS at most. Nothing listens meanwhile (no ZeroMQ endpoint,
 * no admin HTTP, no endpoint file): whoever waits for dtxd sees it not
 * ready yet.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "core/backoff.h"
#include "dtx/clock.h"
#include "dtx/id.h"
#include "engine/coord.h"
#include "dtx/log.h"
#include "dtx/migrate.h"
#include "dtx/notify.h"
#include "dtx/version.h"
#include "log/pgconn.h"
#include "loop.h"

#define S_WAIT_BASE_MS 100
#define S_WAIT_MAX_MS 2000
#define S_WAIT_LOG_MS 5000

static dtx_coord_t s_co;

static void s_on_signal(int sig)
{
    if (sig == SIGHUP)
        s_co.reload = 1; /* the allow-list, read by the loop */
    else
        s_co.stop = 1;
}

/* Sleeps ms, in short slices so that SIGTERM ends the wait at once. */
static void s_nap(int64_t ms)
{
    int64_t until = dtx_clock_mono_ms() + ms;
    while (!s_co.stop && dtx_clock_mono_ms() < until) {
        struct timespec ts = { 0, 20 * 1000000L };
        nanosleep(&ts, NULL);
    }
}

/* A connection to the log database, once it takes one: attempts with
 * backoff (S_WAIT_BASE_MS doubling up to S_WAIT_MAX_MS, jittered), a
 * warning on the first failure and then at most every S_WAIT_LOG_MS.
 * NULL when --db-wait-ms passed first (logged) or a signal stopped it. */
static PGconn *s_wait_for_log(const char *conninfo, int64_t limit_ms)
{
    int64_t t0 = dtx_clock_mono_ms(), next_log = t0;
    char why[DTX_LOG_Q_SIZE];
    for (uint32_t attempt = 1; !s_co.stop; attempt++) {
        PGconn *conn = dtx_pgconn_open(conninfo);
        int64_t now = dtx_clock_mono_ms();
        if (PQstatus(conn) == CONNECTION_OK) {
            if (attempt > 1)
                dtx_log_info("log database reachable", "waited_ms=%lld attempts=%u",
                             (long long)(now - t0), attempt);
            return conn;
        }
        dtx_pgconn_error(conn, why, sizeof why);
        PQfinish(conn);
        if (limit_ms > 0 && now - t0 >= limit_ms) {
            dtx_log_error("gave up waiting for the log database (--db-wait-ms)",
                          "waited_ms=%lld attempts=%u error=\"%s\"", (long long)(now - t0),
                          attempt, DTX_Q(why));
            return NULL;
        }
        if (now >= next_log) {
            dtx_log_warn("waiting for the log database", "attempt=%u waited_ms=%lld error=\"%s\"",
                         attempt, (long long)(now - t0), DTX_Q(why));
            next_log = now + S_WAIT_LOG_MS;
        }
        int64_t delay = dtx_backoff_delay(S_WAIT_BASE_MS, S_WAIT_MAX_MS, attempt + 1,
                                          dtx_random_u64());
        if (limit_ms > 0 && now + delay > t0 + limit_ms)
            delay = t0 + limit_ms - now;
        s_nap(delay);
    }
    return NULL;
}

/* Is the log's commit acknowledged only once a synchronous standby has
 * it? Without that, a failover can promote a standby that never received
 * a decision dtxd already acted on (docs/ha.md). Warns when not; the
 * answer is kept for /readyz and the metrics. A single server without
 * any standby gets the warning too: it is the same risk, with the disk
 * as the only copy. */
static void s_check_replication(PGconn *conn)
{
    PGresult *res = PQexec(conn, "SELECT current_setting('synchronous_standby_names'),"
                                 " current_setting('synchronous_commit')");
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        dtx_log_warn("cannot read the log database's replication settings",
                     "error=\"%s\"", DTX_Q(PQresultErrorMessage(res)));
        PQclear(res);
        return;
    }
    const char *names = PQgetvalue(res, 0, 0);
    const char *commit = PQgetvalue(res, 0, 1);
    int waits = strcmp(commit, "off") != 0 && strcmp(commit, "local") != 0;
    s_co.log_sync_replication = names[0] != '\0' && waits;
    if (!s_co.log_sync_replication)
        dtx_log_warn("the log database has no synchronous standby: a failover may lose "
                     "decisions already acted on (docs/ha.md)",
                     "synchronous_standby_names=\"%s\" synchronous_commit=\"%s\"",
                     DTX_Q(names), DTX_Q(commit));
    else
        dtx_log_info("the log database replicates synchronously",
                     "synchronous_standby_names=\"%s\" synchronous_commit=\"%s\"",
                     DTX_Q(names), DTX_Q(commit));
    PQclear(res);
}

static int s_migrate(PGconn *conn)
{
    int applied = 0;
    int rc = dtx_migrate(conn, "coordinator", &applied);
    if (rc == 0)
        dtx_log_info("log schema ready", "version=%d applied=%d",
                     dtx_migrate_current(conn, "coordinator"), applied);
    return rc;
}

int main(int argc, char **argv)
{
    char err[512] = "";
    dtx_log_set_handler(dtx_log_stderr, "dtxd");
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("dtxd %s\n", DTX_VERSION_STRING);
        return 0;
    }
    int rc = dtx_coord_config_load(&s_co.cfg, argc, argv, err, sizeof err);
    if (rc == 1)
        return 0;
    if (rc != 0) {
        fprintf(stderr, "dtxd: %s\n", err);
        return 2;
    }
    if (dtx_pgconn_check(s_co.cfg.db, err, sizeof err) != 0) {
        fprintf(stderr, "dtxd: --db: %s\n", err);
        return 2;
    }
    dtx_log_set_level(dtx_log_level_parse(s_co.cfg.log_level));
    dtx_log_set_node(s_co.cfg.node_id);
    dtx_log_set_handler(dtx_log_format_handler(s_co.cfg.log_format), "dtxd");

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    dtx_notify_status("waiting for the log database");
    PGconn *conn = s_wait_for_log(s_co.cfg.db, s_co.cfg.db_wait_ms);
    if (!conn) { /* stopped while waiting: a clean stop, unless migrations were the job */
        dtx_notify_stopping(NULL);
        return s_co.stop && !s_co.cfg.migrate_only ? 0 : 1;
    }
    rc = s_migrate(conn);
    if (rc == 0 && !s_co.cfg.migrate_only)
        s_check_replication(conn);
    PQfinish(conn);
    if (rc != 0)
        return 1;
    if (s_co.cfg.migrate_only)
        return 0;

    dtx_notify_status("binding, taking the node lease");
    rc = dtx_loop_init(&s_co);
    if (rc == 0) {
        if (dtx_notify_ready("serving: node %s, lease held", s_co.cfg.node_id) != 0)
            dtx_log_warn("cannot notify the service manager", "state=READY");
        rc = dtx_loop_run(&s_co);
    } else {
        dtx_log_error("start failed", "error=\"%s\"", DTX_Q(dtx_strerror(rc)));
        if (rc == DTX_ECONFIG) {
            /* Found before the node lease was taken: nothing was touched. */
            dtx_loop_fini(&s_co);
            return 2;
        }
    }
    dtx_notify_stopping("stopping");
    dtx_log_info("stopping", "begun=%llu committed=%llu aborted=%llu",
                 (unsigned long long)s_co.stats.begun, (unsigned long long)s_co.stats.committed,
                 (unsigned long long)s_co.stats.aborted);
    dtx_loop_fini(&s_co);
    return (rc == 0 && s_co.exit_code == 0) ? 0 : 1;
}
