/*
 * test_participant_timing.c — the heartbeat interval a participant link
 * uses (participant-sdk/src/participant_timing.h): what a coordinator's
 * REGISTER_OK asks is obeyed only within a floor and a ceiling. Without
 * sockets.
 */
#include <stdint.h>

#include "../../participant-sdk/src/participant_timing.h"
#include "unit.h"

static void test_coordinator_heartbeat_of_one_ms_is_floored(void)
{
    CU_ASSERT_EQUAL(dtx_participant_link_interval(1000, 1), DTX_HEARTBEAT_MIN_MS);
    CU_ASSERT_EQUAL(dtx_participant_link_interval(200, 1), DTX_HEARTBEAT_MIN_MS);
    CU_ASSERT(DTX_HEARTBEAT_MIN_MS >= 50);
}

static void test_coordinator_shorter_interval_within_bounds_is_obeyed(void)
{
    CU_ASSERT_EQUAL(dtx_participant_link_interval(1000, 250), 250);
    CU_ASSERT_EQUAL(dtx_participant_link_interval(1000, DTX_HEARTBEAT_MIN_MS),
                    DTX_HEARTBEAT_MIN_MS);
}

static void test_coordinator_longer_or_no_interval_keeps_ours(void)
{
    CU_ASSERT_EQUAL(dtx_participant_link_interval(1000, 0), 1000);
    CU_ASSERT_EQUAL(dtx_participant_link_interval(1000, 5000), 1000);
    CU_ASSERT_EQUAL(dtx_participant_link_interval(1000, UINT32_MAX), 1000);
}

static void test_own_interval_is_clamped_and_defaulted(void)
{
    CU_ASSERT_EQUAL(dtx_participant_own_interval(0), DTX_HEARTBEAT_DEFAULT);
    CU_ASSERT_EQUAL(dtx_participant_own_interval(-5), DTX_HEARTBEAT_DEFAULT);
    CU_ASSERT_EQUAL(dtx_participant_own_interval(1), DTX_HEARTBEAT_MIN_MS);
    CU_ASSERT_EQUAL(dtx_participant_own_interval(200), 200);
    CU_ASSERT_EQUAL(dtx_participant_own_interval(1 << 30), DTX_HEARTBEAT_MAX_MS);
    /* An unclamped own value still never escapes the bounds. */
    CU_ASSERT_EQUAL(dtx_participant_link_interval(1 << 30, 0), DTX_HEARTBEAT_MAX_MS);
}

UNIT_SUITE(participant_timing)
{
    CU_pSuite s = CU_add_suite("participant_timing", NULL, NULL);
    CU_add_test(s, "coordinator heartbeat of one ms is floored",
                test_coordinator_heartbeat_of_one_ms_is_floored);
    CU_add_test(s, "coordinator shorter interval within bounds is obeyed",
                test_coordinator_shorter_interval_within_bounds_is_obeyed);
    CU_add_test(s, "coordinator longer or no interval keeps ours",
                test_coordinator_longer_or_no_interval_keeps_ours);
    CU_add_test(s, "own interval is clamped and defaulted",
                test_own_interval_is_clamped_and_defaulted);
}
