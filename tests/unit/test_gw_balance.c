/* The accept balance's decision (front/gw_balance.h): which worker serves
 * a connection the kernel gave to one of them. Pure: no sockets. */
#include <CUnit/CUnit.h>

#include "front/gw_balance.h"
#include "unit.h"

static void test_balance_keeps_a_connection_within_the_slack(void)
{
    int open[] = { 5, 4 };
    CU_ASSERT_EQUAL(dtx_gw_balance_pick(open, 2, 0, 2), 0);   /* one more: kept */
    CU_ASSERT_EQUAL(dtx_gw_balance_pick(open, 2, 1, 2), 1);   /* the least loaded keeps */
    int even[] = { 3, 3, 3 };
    CU_ASSERT_EQUAL(dtx_gw_balance_pick(even, 3, 2, 2), 2);
}

static void test_balance_hands_over_at_the_slack_to_the_least_loaded(void)
{
    int open[] = { 6, 4 };
    CU_ASSERT_EQUAL(dtx_gw_balance_pick(open, 2, 0, 2), 1);
    int four[] = { 9, 7, 6, 6 };
    CU_ASSERT_EQUAL(dtx_gw_balance_pick(four, 4, 0, 2), 2);   /* lowest index among equals */
    CU_ASSERT_EQUAL(dtx_gw_balance_pick(four, 4, 1, 2), 1);   /* 7 - 6 < 2 */
}

static void test_balance_off_or_alone_keeps_everything(void)
{
    int open[] = { 100, 0 };
    CU_ASSERT_EQUAL(dtx_gw_balance_pick(open, 2, 0, 0), 0);
    CU_ASSERT_EQUAL(dtx_gw_balance_pick(open, 1, 0, 2), 0);
}

/* The promise of the rule: whatever worker the kernel picks for each new
 * connection (here the worst case, always worker 0, and a skewed hash),
 * no worker ends more than the slack above the least loaded. */
static void test_balance_bounds_the_spread_of_opening_connections(void)
{
    for (int slack = 1; slack <= 3; slack++) {
        int open[4] = { 0 };
        unsigned lcg = 7;
        for (int c = 0; c < 1000; c++) {
            lcg = lcg * 1103515245u + 12345u;
            int kernel = c % 2 ? 0 : (int)((lcg >> 8) % 3);  /* worker 3 never picked */
            open[dtx_gw_balance_pick(open, 4, kernel, slack)]++;
            int lo = open[0], hi = open[0];
            for (int i = 1; i < 4; i++) {
                lo = open[i] < lo ? open[i] : lo;
                hi = open[i] > hi ? open[i] : hi;
            }
            CU_ASSERT_FATAL(hi - lo <= slack);
        }
        CU_ASSERT_EQUAL(open[0] + open[1] + open[2] + open[3], 1000);
    }
}

UNIT_SUITE(gw_balance)
{
    CU_pSuite s = CU_add_suite("gw_balance", NULL, NULL);
    CU_add_test(s, "balance keeps a connection within the slack",
                test_balance_keeps_a_connection_within_the_slack);
    CU_add_test(s, "balance hands over at the slack to the least loaded",
                test_balance_hands_over_at_the_slack_to_the_least_loaded);
    CU_add_test(s, "balance off or alone keeps everything",
                test_balance_off_or_alone_keeps_everything);
    CU_add_test(s, "balance bounds the spread of opening connections",
                test_balance_bounds_the_spread_of_opening_connections);
}
