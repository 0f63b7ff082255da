/*
 * gw_zone.h — zone-aware balancing: how much of a pool's traffic stays in
 * the gateway's own zone. The rule is Envoy's priority-level load
 * ("Priority levels" in Envoy's load balancing docs; distributeLoad() in
 * source/common/upstream/load_balancer_impl.cc) with the local zone as
 * priority 0 and every other zone together as priority 1:
 *
 *   health(P)  = min(100, over_pct x healthy(P) / total(P))   integer %, 0 when total(P) = 0
 *   N          = min(100, health(0) + health(1))               normalised total health
 *   load(0)    = min(100, health(0) x 100 / N)
 *   load(1)    = min(100 - load(0), health(1) x 100 / N)
 *   rounding leftovers (100 - load(0) - load(1)) go to the first priority
 *   whose health is above 0.
 *
 * over_pct is the overprovisioning factor x 100 (Envoy's default 140):
 * with every other zone healthy the local zone keeps all traffic while
 * 100/1.4 = 71.4 % or more of its targets are healthy (10 targets: 8
 * healthy -> 100 %, 7 -> 98 %, 5 -> 70 %, 0 -> 0 %), and when both
 * levels are degraded the load follows their health (2/10 and 2/10
 * healthy -> 50 % / 50 %).
 */
#ifndef DTX_GW_ZONE_H
#define DTX_GW_ZONE_H

/* health(P) above, in percent. */
int dtx_gw_zone_health(int over_pct, int healthy, int total);

/* load(0) above: the percentage (0..100) of picks that go to the local
 * zone; -1 when neither level has a healthy target (the caller's panic
 * rule applies). */
int dtx_gw_zone_local_load(int over_pct, int local_healthy, int local_total,
                           int other_healthy, int other_total);

#endif
