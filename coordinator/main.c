/*
 * main.c — dtxd: load options, apply migrations, serve until SIGTERM
 * (SIGHUP re-reads the CURVE allow-list).
 * Exit codes: 0 clean stop, 1 runtime failure, 2 bad configuration (also
 * found at start: key files, a listener that cannot bind, admin options —
 * always before the node lease is taken, so a misconfigured twin of a
 * live node harms nothing).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#include "engine/coord.h"
#include "dtx/log.h"
#include "dtx/migrate.h"
#include "loop.h"

static dtx_coord_t s_co;

static void s_on_signal(int sig)
{
    if (sig == SIGHUP)
        s_co.reload = 1; /* the allow-list, read by the loop */
    else
        s_co.stop = 1;
}

static int s_migrate(const char *conninfo)
{
    PGconn *conn = PQconnectdb(conninfo);
    int rc = DTX_EDB, applied = 0;
    if (PQstatus(conn) != CONNECTION_OK) {
        dtx_log_error("cannot connect to the log database", "error=\"%s\"",
                      PQerrorMessage(conn));
        goto out;
    }
    rc = dtx_migrate(conn, "coordinator", &applied);
    if (rc == 0)
        dtx_log_info("log schema ready", "version=%d applied=%d",
                     dtx_migrate_current(conn, "coordinator"), applied);
out:
    PQfinish(conn);
    return rc;
}

int main(int argc, char **argv)
{
    char err[512] = "";
    dtx_log_set_handler(dtx_log_stderr, "dtxd");
    int rc = dtx_coord_config_load(&s_co.cfg, argc, argv, err, sizeof err);
    if (rc == 1)
        return 0;
    if (rc != 0) {
        fprintf(stderr, "dtxd: %s\n", err);
        return 2;
    }
    dtx_log_set_level(dtx_log_level_parse(s_co.cfg.log_level));
    if (s_migrate(s_co.cfg.db) != 0)
        return 1;
    if (s_co.cfg.migrate_only)
        return 0;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    rc = dtx_loop_init(&s_co);
    if (rc == 0) {
        rc = dtx_loop_run(&s_co);
    } else {
        dtx_log_error("start failed", "error=\"%s\"", dtx_strerror(rc));
        if (rc == DTX_ECONFIG) {
            /* Found before the node lease was taken: nothing was touched. */
            dtx_loop_fini(&s_co);
            return 2;
        }
    }
    dtx_log_info("stopping", "begun=%llu committed=%llu aborted=%llu",
                 (unsigned long long)s_co.stats.begun, (unsigned long long)s_co.stats.committed,
                 (unsigned long long)s_co.stats.aborted);
    dtx_loop_fini(&s_co);
    return (rc == 0 && s_co.exit_code == 0) ? 0 : 1;
}
