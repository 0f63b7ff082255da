/*
 * The log database away: dtxd started before it, and an outage under load.
 * dtxd reaches its PostgreSQL through a proxy (pgproxy.h) the test switches
 * off and on; the participants and the test read the real server. A start
 * waits for the database (with backoff, a line every few seconds) instead
 * of exiting; an outage is logged once when it starts and once when it
 * ends, never a line per failed write, and the work goes on afterwards.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "dtx/dtx.h"
#include "integ.h"
#include "core/txn.h"
#include "pgproxy.h"
#include "util.h"

/* Lines of $DTX_TEST_DIR/<logname>.log from byte offset `from` on; with
 * needle, only those holding it. *end (may be NULL) gets the file size. */
static int s_lines(const char *logname, long from, const char *needle, long *end)
{
    char path[1024], name[128];
    snprintf(name, sizeof name, "%s.log", logname);
    if (h_scratch_path(name, path, sizeof path) < 0)
        return -1;
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    fseek(f, from, SEEK_SET);
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f))
        if (!needle || strstr(line, needle))
            n++;
    if (end)
        *end = ftell(f);
    fclose(f);
    return n;
}

/* One TCC transaction on ra, committed; 0 when it committed. */
static int s_transfer(dtx_client_t *c, PGconn *log)
{
    char gid[DTX_GID_SIZE];
    int state = 0;
    if (dtx_client_begin(c, DTX_MODE_TCC, 10000, gid) != 0 ||
        dtx_client_try(c, gid, "ra", "reserve", "x", 1, NULL) != 0 ||
        dtx_client_commit(c, gid, &state) != 0)
        return -1;
    return u_wait_state(log, gid, DTX_STATE_COMMITTED, 10000);
}

static void test_dtxd_started_before_its_database_waits_for_it(void)
{
    char real[H_CONNINFO_SIZE], viaproxy[H_CONNINFO_SIZE], da[H_CONNINFO_SIZE];
    CU_ASSERT_FATAL(h_db_create("outage_start_log", real, sizeof real) == 0);
    CU_ASSERT_FATAL(h_db_create("outage_start_a", da, sizeof da) == 0);
    u_pgproxy_t *px = u_pgproxy_new("pgproxy-start");
    CU_ASSERT_FATAL(px != NULL);
    CU_ASSERT_FATAL(u_pgproxy_conninfo(px, "outage_start_log", viaproxy, sizeof viaproxy) == 0);
    /* Down at the start; up 2 s later, while h_dtxd_start waits for the
     * endpoint file (which dtxd writes only once it serves). */
    CU_ASSERT_FATAL(u_pgproxy_up(px, 2000) == 0);
    h_dtxd_t d;
    memset(&d, 0, sizeof d);
    snprintf(d.logname, sizeof d.logname, "outage-start-dtxd");
    h_log_remove(d.logname);
    CU_ASSERT_FATAL(h_dtxd_start(&d, viaproxy, NULL) == 0);
    /* It did wait (it reached the database only through the proxy), and
     * said so, at most a line every few seconds. */
    int waiting = s_lines(d.logname, 0, "waiting for the log database", NULL);
    CU_ASSERT(waiting >= 1 && waiting <= 3);
    const char *aa[] = { "--resource", "ra", NULL };
    pid_t pa = h_participant_start("outage-start-pa", da, d.endpoint, aa);
    CU_ASSERT_FATAL(pa > 0);
    PGconn *log = h_db_connect("outage_start_log");
    int err = 0;
    dtx_client_t *c = dtx_client_new(d.endpoint, &err);
    CU_ASSERT_FATAL(c != NULL && log != NULL);
    dtx_client_set_timeout(c, 10000);
    CU_ASSERT_EQUAL(s_transfer(c, log), 0);
    dtx_client_destroy(&c);
    PQfinish(log);
    CU_ASSERT_EQUAL(h_stop(pa, SIGTERM, 5000), 0);
    CU_ASSERT_EQUAL(h_dtxd_stop(&d), 0);
    u_pgproxy_destroy(&px);
}

static void test_db_wait_limit_gives_up(void)
{
    char viaproxy[H_CONNINFO_SIZE];
    CU_ASSERT_FATAL(h_db_create("outage_limit_log", NULL, 0) == 0);
    u_pgproxy_t *px = u_pgproxy_new("pgproxy-limit");
    CU_ASSERT_FATAL(px != NULL);
    CU_ASSERT_FATAL(u_pgproxy_conninfo(px, "outage_limit_log", viaproxy, sizeof viaproxy) == 0);
    char bin[1024];
    CU_ASSERT_FATAL(h_bin_path("dtxd", bin, sizeof bin) == 0);
    char *argv[] = { bin, "--db", viaproxy, "--db-wait-ms", "600", "--http-listen", "off",
                     "--listen", "tcp://127.0.0.1:*", NULL };
    /* Never up: it gives up after about 0.6 s with status 1 (a runtime
     * failure, not a configuration error). */
    h_log_remove("outage-limit-dtxd");
    CU_ASSERT_EQUAL(h_run("outage-limit-dtxd", argv, 20000), 1);
    CU_ASSERT(s_lines("outage-limit-dtxd", 0, "gave up waiting for the log database", NULL) == 1);
    u_pgproxy_destroy(&px);
}

static void test_outage_under_load_is_logged_once_and_recovered(void)
{
    char real[H_CONNINFO_SIZE], viaproxy[H_CONNINFO_SIZE], da[H_CONNINFO_SIZE];
    CU_ASSERT_FATAL(h_db_create("outage_load_log", real, sizeof real) == 0);
    CU_ASSERT_FATAL(h_db_create("outage_load_a", da, sizeof da) == 0);
    u_pgproxy_t *px = u_pgproxy_new("pgproxy-load");
    CU_ASSERT_FATAL(px != NULL);
    CU_ASSERT_FATAL(u_pgproxy_conninfo(px, "outage_load_log", viaproxy, sizeof viaproxy) == 0);
    CU_ASSERT_FATAL(u_pgproxy_up(px, 0) == 0);
    h_dtxd_t d;
    memset(&d, 0, sizeof d);
    snprintf(d.logname, sizeof d.logname, "outage-load-dtxd");
    const char *args[] = { "--recovery-interval-ms", "100", "--phase-timeout-ms", "500",
                           "--retry-base-ms", "20", "--retry-max-ms", "200", NULL };
    CU_ASSERT_FATAL(h_dtxd_start(&d, viaproxy, args) == 0);
    const char *aa[] = { "--resource", "ra", NULL };
    pid_t pa = h_participant_start("outage-load-pa", da, d.endpoint, aa);
    CU_ASSERT_FATAL(pa > 0);
    PGconn *log = h_db_connect("outage_load_log");
    int err = 0;
    dtx_client_t *c = dtx_client_new(d.endpoint, &err);
    CU_ASSERT_FATAL(c != NULL && log != NULL);
    dtx_client_set_timeout(c, 2000);
    CU_ASSERT_EQUAL_FATAL(s_transfer(c, log), 0);

    /* Load: transactions back to back; 3 s into it the database goes away
     * for 3 s, with transactions in every stage. */
    long mark = 0;
    s_lines(d.logname, 0, NULL, &mark);
    int64_t t0 = h_now_ms(), down_at = t0 + 1000;
    int downs = 0, requests = 0;
    while (h_now_ms() - t0 < 7000) {
        if (!downs && h_now_ms() >= down_at) {
            CU_ASSERT_EQUAL(u_pgproxy_down(px), 0);
            CU_ASSERT_EQUAL(u_pgproxy_up(px, 3000), 0);
            downs = 1;
        }
        char gid[DTX_GID_SIZE];
        requests++;
        if (dtx_client_begin(c, DTX_MODE_TCC, 10000, gid) == 0 &&
            dtx_client_try(c, gid, "ra", "reserve", "x", 1, NULL) == 0)
            dtx_client_commit(c, gid, NULL);
    }
    /* Back: work goes on. */
    dtx_client_set_timeout(c, 10000);
    int ok = -1;
    for (int i = 0; i < 20 && ok != 0; i++)
        if ((ok = s_transfer(c, log)) != 0)
            h_sleep_ms(500);
    CU_ASSERT_EQUAL(ok, 0);
    h_sleep_ms(500);
    /* Every line about trouble (a transaction's own info lines go on). */
    int lines = s_lines(d.logname, mark, "level=error", NULL) +
                s_lines(d.logname, mark, "level=warn", NULL);
    int lost = s_lines(d.logname, mark, "log database unreachable", NULL);
    int back = s_lines(d.logname, mark, "log database reachable again", NULL);
    fprintf(stderr, "\n    %d requests, %d warn/error lines during and after the outage "
                    "(%d outage, %d back) ", requests, lines, lost, back);
    CU_ASSERT(lines >= 2 && lines < 50);
    CU_ASSERT_EQUAL(lost, 1);
    CU_ASSERT_EQUAL(back, 1);
    dtx_client_destroy(&c);
    PQfinish(log);
    CU_ASSERT_EQUAL(h_stop(pa, SIGTERM, 5000), 0);
    CU_ASSERT_EQUAL(h_dtxd_stop(&d), 0);
    u_pgproxy_destroy(&px);
}

INTEG_SUITE(db_outage)
{
    CU_pSuite s = CU_add_suite("db_outage", NULL, NULL);
    CU_add_test(s, "dtxd started before its database waits for it",
                test_dtxd_started_before_its_database_waits_for_it);
    CU_add_test(s, "db wait limit gives up", test_db_wait_limit_gives_up);
    CU_add_test(s, "outage under load is logged once and recovered",
                test_outage_under_load_is_logged_once_and_recovered);
}
