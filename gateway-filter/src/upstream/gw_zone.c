/* gw_zone.c — the local zone's share of a pool's traffic (gw_zone.h). */
#include "upstream/gw_zone.h"

int dtx_gw_zone_health(int over_pct, int healthy, int total)
{
    if (total <= 0 || healthy <= 0)
        return 0;
    long h = (long)over_pct * healthy / total;
    return h > 100 ? 100 : (int)h;
}

int dtx_gw_zone_local_load(int over_pct, int local_healthy, int local_total,
                           int other_healthy, int other_total)
{
    int h0 = dtx_gw_zone_health(over_pct, local_healthy, local_total);
    int h1 = dtx_gw_zone_health(over_pct, other_healthy, other_total);
    int n = h0 + h1 > 100 ? 100 : h0 + h1;
    if (n == 0)
        return -1;
    int l0 = h0 * 100 / n;
    if (l0 > 100)
        l0 = 100;
    int l1 = h1 * 100 / n;
    if (l1 > 100 - l0)
        l1 = 100 - l0;
    if (h0 > 0)
        l0 = 100 - l1;               /* the leftover goes to priority 0 */
    return l0;
}
