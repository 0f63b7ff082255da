#!/usr/bin/env bash
# tests/ha/windows.sh — each failover's unavailability window and throughput
# dip, from cluster.sh's DIR/failovers.txt and drill-load's journal.
#
#   windows.sh FAILOVERS JOURNAL
#
# For every kill of a primary (whose line carries the journal's clock at
# the kill, K):
#   promotion   wall time from the kill to the standby promoted and
#               writable (cluster.sh saw it);
#   no commits  the longest gap between two transfers answered committed,
#               from 2 s before K up to the next kill: how long initiators
#               could not commit (detection, promotion, dtxd reconnecting);
#   throughput  commits per second in the 10 s before K, in the 10 s from
#               K, and in the 10 s after that gap ended.
# Prints one line per failover, then the totals; exit 0.
set -euo pipefail
[ $# -eq 2 ] || { sed -n '2,15p' "$0" >&2; exit 2; }
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
{ echo -999999999; awk '$1 == "E" && $3 == "committed" { print $5 }' "$2" | sort -n; } >"$tmp"
awk '
FNR == NR { s[++m] = $1 + 0; next }
$1 == "kill" { fo++; kill_e[fo] = $2; node[fo] = $3; kill_j[fo] = ($4 == "" ? -1 : $4 + 0) }
$1 == "primary" && fo > 0 && !(fo in prom_e) { prom_e[fo] = $2; newp[fo] = $3 }
$1 == "rejoined" && fo > 0 && !(fo in rej_e) { rej_e[fo] = $2 }
END {
    total_gap = 0; worst = 0
    for (i = 1; i <= fo; i++) {
        k = kill_j[i]
        promo = (i in prom_e) ? sprintf("%.1f s", (prom_e[i] - kill_e[i]) / 1000) : "?"
        if (k < 0) {
            printf "failover %d: %s killed, %s promoted after %s (no journal clock)\n", i, node[i], newp[i], promo
            continue
        }
        # The window: the longest gap between two commits from 2 s before
        # the kill (the journal clock K is read just before it) up to the
        # next kill.
        lim = (i < fo && kill_j[i + 1] > 0) ? kill_j[i + 1] : k + 300000
        gap = -1; gstart = -1; gend = -1; before = 0; during = 0; after = 0
        prev = -1
        for (j = 1; j <= m; j++) {
            if (s[j] > k - 10000 && s[j] <= k) before++
            if (s[j] > k && s[j] <= k + 10000) during++
            if (s[j] < k - 2000 || s[j] > lim) continue
            if (prev >= 0 && s[j] - prev > gap) { gap = s[j] - prev; gstart = prev; gend = s[j] }
            prev = s[j]
        }
        for (j = 1; j <= m; j++)
            if (gend >= 0 && s[j] >= gend && s[j] < gend + 10000) after++
        gap = gap >= 0 ? gap / 1000 : -1
        if (gap > worst) worst = gap
        total_gap += gap > 0 ? gap : 0
        dip = before > 0 ? 100 * (1 - during / before) : 0
        printf "failover %d: primary %s killed (kill -9) at t=%.1f s of the load; %s promoted after %s; no commits for %.1f s; throughput %.1f tx/s before, %.1f tx/s in the 10 s from the kill (dip %.0f%%), %.1f tx/s once back (the 10 s after the gap)\n", \
            i, node[i], k / 1000, newp[i], promo, gap, before / 10, during / 10, dip, after / 10
    }
    if (fo > 0)
        printf "failovers: %d; commits unavailable %.1f s in all, %.1f s at worst\n", fo, total_gap, worst
}' "$tmp" "$1"
