/*
 * dtxd's log file stays a log: one line per event, each `ts=... level=...`.
 * Text that comes from outside (a peer's ERROR frame, PostgreSQL's
 * notices) is escaped: it can neither start a line of its own nor close a
 * quoted field and add fields; and PostgreSQL's NOTICEs (migrations,
 * CREATE ... IF NOT EXISTS) are log lines at debug level, never raw
 * "NOTICE:" lines on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "dtx/dtx.h"
#include "integ.h"
#include "util.h"

static uint8_t s_buf[DTX_MSG_MAX];

/* Lines of the log that are neither a dtx_log line nor the harness's
 * header; prints them. needle (may be NULL): also counts, into *found,
 * the lines holding it. */
static int s_foreign_lines(const char *logname, const char *needle, int *found)
{
    char path[1024], name[128];
    snprintf(name, sizeof name, "%s.log", logname);
    if (h_scratch_path(name, path, sizeof path) < 0)
        return -1;
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[8192];
    int foreign = 0;
    if (found)
        *found = 0;
    while (fgets(line, sizeof line, f)) {
        if (needle && found && strstr(line, needle))
            (*found)++;
        if (strncmp(line, "ts=", 3) == 0 || strncmp(line, "=== harness", 11) == 0)
            continue;
        fprintf(stderr, "\n    foreign line: %s", line);
        foreign++;
    }
    fclose(f);
    return foreign;
}

static void test_error_frame_text_cannot_forge_a_log_line_or_field(void)
{
    char log[H_CONNINFO_SIZE];
    CU_ASSERT_FATAL(h_db_create("dtxdlog_forge", log, sizeof log) == 0);
    h_dtxd_t d;
    memset(&d, 0, sizeof d);
    snprintf(d.logname, sizeof d.logname, "dtxdlog-forge-dtxd");
    h_log_remove(d.logname);
    CU_ASSERT_FATAL(h_dtxd_start(&d, log, NULL) == 0);
    u_peer_t p;
    CU_ASSERT_FATAL(u_peer_dealer(&p, d.endpoint) == 0);

    /* An ERROR frame (never answered) whose text closes the quoted field,
     * adds fields, starts a new line that looks like dtxd's own, and
     * carries a byte that is not UTF-8. */
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_ERROR;
    m.corr = 1;
    m.code = 2;
    snprintf(m.text, sizeof m.text, "%s",
             "oops\" level=error msg=\"forged field\n"
             "ts=2026-01-01T00:00:00.000Z level=error proc=dtxd msg=\"forged line\" \xff");
    CU_ASSERT_EQUAL_FATAL(u_send(&p, NULL, 0, &m), 0);
    /* Served in order on one connection: once BEGIN_OK is back, the
     * ERROR has been read and logged. */
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_BEGIN;
    m.corr = 2;
    m.mode = DTX_MODE_TCC;
    CU_ASSERT_EQUAL_FATAL(u_send(&p, NULL, 0, &m), 0);
    CU_ASSERT_EQUAL_FATAL(u_recv(&p, &m, s_buf, sizeof s_buf, NULL, NULL, 5000), 0);
    CU_ASSERT_EQUAL(m.type, DTX_MSG_BEGIN_OK);
    CU_ASSERT_EQUAL(m.corr, 2);
    u_peer_close(&p);
    CU_ASSERT_EQUAL(h_dtxd_stop(&d), 0);

    int escaped = 0, forged_field = 0, forged_line = 0;
    CU_ASSERT_EQUAL(s_foreign_lines(d.logname,
                                    "text=\"oops\\\" level=error msg=\\\"forged field\\n"
                                    "ts=2026-01-01T00:00:00.000Z level=error proc=dtxd "
                                    "msg=\\\"forged line\\\" \\xff\"",
                                    &escaped), 0);
    CU_ASSERT_EQUAL(escaped, 1);
    s_foreign_lines(d.logname, " msg=\"forged field", &forged_field);
    s_foreign_lines(d.logname, " msg=\"forged line", &forged_line);
    CU_ASSERT_EQUAL(forged_field, 0);
    CU_ASSERT_EQUAL(forged_line, 0);
}

static void test_start_prints_no_raw_notice(void)
{
    char log[H_CONNINFO_SIZE];
    CU_ASSERT_FATAL(h_db_create("dtxdlog_notice", log, sizeof log) == 0);
    h_dtxd_t d;
    memset(&d, 0, sizeof d);
    snprintf(d.logname, sizeof d.logname, "dtxdlog-notice-dtxd");
    h_log_remove(d.logname);
    /* Two starts: the first applies every migration, the second finds
     * them applied (CREATE ... IF NOT EXISTS: NOTICEs both times). */
    CU_ASSERT_FATAL(h_dtxd_start(&d, log, NULL) == 0);
    CU_ASSERT_EQUAL(h_dtxd_stop(&d), 0);
    CU_ASSERT_FATAL(h_dtxd_restart(&d) == 0);
    CU_ASSERT_EQUAL(h_dtxd_stop(&d), 0);
    int raw = 0;
    CU_ASSERT_EQUAL(s_foreign_lines(d.logname, "NOTICE:", &raw), 0);
    CU_ASSERT_EQUAL(raw, 0);

    /* At debug level they are there, as lines of dtxd's own. */
    CU_ASSERT_FATAL(h_db_create("dtxdlog_notice_debug", log, sizeof log) == 0);
    h_dtxd_t dd;
    memset(&dd, 0, sizeof dd);
    snprintf(dd.logname, sizeof dd.logname, "dtxdlog-notice-debug-dtxd");
    h_log_remove(dd.logname);
    const char *args[] = { "--log-level", "debug", NULL };
    CU_ASSERT_FATAL(h_dtxd_start(&dd, log, args) == 0);
    CU_ASSERT_EQUAL(h_dtxd_stop(&dd), 0);
    int notices = 0;
    CU_ASSERT_EQUAL(s_foreign_lines(dd.logname, "level=debug proc=dtxd msg=\"postgresql notice\" "
                                                "text=\"relation \\\"dtx_schema_version\\\" "
                                                "already exists, skipping\"",
                                    &notices), 0);
    CU_ASSERT(notices >= 1);
}

INTEG_SUITE(dtxd_log)
{
    CU_pSuite s = CU_add_suite("dtxd_log", NULL, NULL);
    CU_add_test(s, "error frame text cannot forge a log line or field",
                test_error_frame_text_cannot_forge_a_log_line_or_field);
    CU_add_test(s, "start prints no raw notice", test_start_prints_no_raw_notice);
}
