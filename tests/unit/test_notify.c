/* tests/unit/test_notify.c — the datagrams dtx/notify.h sends to systemd
 * (common/notify/notify.c): one state, one STATUS line that cannot forge
 * another assignment, a bounded length. */
#include <string.h>

#include <CUnit/CUnit.h>

#include "dtx/notify.h"
#include "unit.h"

static void test_ready_with_status_is_two_lines(void)
{
    char m[DTX_NOTIFY_MSG_MAX];
    size_t n = dtx_notify_message(m, sizeof m, "READY=1", "serving: node a");
    CU_ASSERT_STRING_EQUAL(m, "READY=1\nSTATUS=serving: node a");
    CU_ASSERT_EQUAL(n, strlen(m));
    dtx_notify_message(m, sizeof m, "STOPPING=1", NULL);
    CU_ASSERT_STRING_EQUAL(m, "STOPPING=1");
    dtx_notify_message(m, sizeof m, "", "waiting");
    CU_ASSERT_STRING_EQUAL(m, "STATUS=waiting");
}

/* A newline in a status (a name from a configuration, a peer's text)
 * would start a new assignment: "x\nREADY=1" must not say READY. */
static void test_status_newline_cannot_forge_ready(void)
{
    char m[DTX_NOTIFY_MSG_MAX];
    dtx_notify_message(m, sizeof m, "", "x\nREADY=1\r\x7f\x01");
    CU_ASSERT_STRING_EQUAL(m, "STATUS=x?READY=1???");
    CU_ASSERT_PTR_NULL(strchr(m, '\n'));
}

static void test_long_status_is_cut(void)
{
    char status[DTX_NOTIFY_STATUS_MAX * 2], m[DTX_NOTIFY_MSG_MAX];
    memset(status, 'a', sizeof status - 1);
    status[sizeof status - 1] = '\0';
    size_t n = dtx_notify_message(m, sizeof m, "READY=1", status);
    CU_ASSERT_EQUAL(n, strlen("READY=1\nSTATUS=") + DTX_NOTIFY_STATUS_MAX);
    CU_ASSERT_EQUAL(strlen(m), n);
    char tiny[8];
    CU_ASSERT_EQUAL(dtx_notify_message(tiny, sizeof tiny, "READY=1", "abc"), 7);
    CU_ASSERT_STRING_EQUAL(tiny, "READY=1");
}

UNIT_SUITE(notify)
{
    CU_pSuite s = CU_add_suite("notify", NULL, NULL);
    CU_add_test(s, "ready with status is two lines", test_ready_with_status_is_two_lines);
    CU_add_test(s, "status newline cannot forge READY", test_status_newline_cannot_forge_ready);
    CU_add_test(s, "long status is cut", test_long_status_is_cut);
}
