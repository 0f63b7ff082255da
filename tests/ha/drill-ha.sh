#!/usr/bin/env bash
# tests/ha/drill-ha.sh — the recovery drill on a replicated log, behind
# `make drill-ha` (docs/ha.md).
#
#   BUILD=build SAN=0 tests/ha/drill-ha.sh
#
# Runs tests/drill/drill.sh (the bank workload, drill-load journaling what
# every initiator was told, and the coordinator, participant and fault-
# point faults of `make drill`) on PostgreSQL under pg_auto_failover
# (tests/ha/cluster.sh: a monitor, a primary and a synchronous standby)
# instead of one server: the log and both bank databases live on the
# cluster, every process is given the multi-host conninfo. The drill's
# PostgreSQL restarts become failovers: the primary's machine is killed
# (kill -9 of its pg_autoctl and postmaster), the monitor promotes the
# standby, and the killed node rejoins as the new standby (pg_rewind) before
# the next one — at least DRILL_PG_RESTARTS (6) of them, and fewer than 5
# fails the drill. The drill's checker (tests/drill/check.sh) then proves
# that nothing the coordinator decided was lost (every transaction an
# initiator was told committed is committed, every branch confirmed),
# money conserved to the cent, no branch both confirmed and cancelled, no
# prepared transaction left; and this script prints each failover's
# unavailability window and throughput dip (tests/ha/windows.sh).
#
# Any DRILL_* variable set by the caller wins (see tests/drill/drill.sh).
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
export DRILL_PG=$ROOT/tests/ha/cluster.sh
export DRILL_NAME=${DRILL_NAME:-drill-ha}
export DRILL_MODE=${DRILL_MODE:-mixed}
export DRILL_PG_RESTARTS=${DRILL_PG_RESTARTS:-6}
export DRILL_MIN_PG_RESTARTS=${DRILL_MIN_PG_RESTARTS:-5}
export DRILL_PG_PAUSES=0 # SIGSTOP of one server's processes: pg.sh's layout only
export DRILL_TRANSFERS=${DRILL_TRANSFERS:-1000}
export DRILL_FAULT_ROUNDS=${DRILL_FAULT_ROUNDS:-1}
export DRILL_RANDOM_KILLS=${DRILL_RANDOM_KILLS:-4}
export DRILL_PARTICIPANT_KILLS=${DRILL_PARTICIPANT_KILLS:-4}
export DRILL_COORD_PAUSES=${DRILL_COORD_PAUSES:-1}
export DRILL_PAUSE_KILLS=${DRILL_PAUSE_KILLS:-1}
export DRILL_PARTICIPANT_PAUSES=${DRILL_PARTICIPANT_PAUSES:-1}
export DRILL_KILL_BOTH=${DRILL_KILL_BOTH:-1}
export DRILL_MIN_COORD_KILLS=${DRILL_MIN_COORD_KILLS:-10}
export DRILL_MIN_PARTICIPANT_KILLS=${DRILL_MIN_PARTICIPANT_KILLS:-3}
# A transaction whose deadline passes while no primary answers cannot be
# aborted before one is back: the window past the deadline covers a
# failover (and the rejoin that follows it) on a loaded machine.
export DRILL_RECOVERY_WINDOW_S=${DRILL_RECOVERY_WINDOW_S:-120}
# Confirms and Cancels fail while no primary answers (the participants'
# databases are on the cluster too): the retry budget (attempts x up to
# 1 s) must outlast a failover, or branches end stuck (docs/ha.md).
export DRILL_MAX_ATTEMPTS=${DRILL_MAX_ATTEMPTS:-300}
keep=${DRILL_KEEP:-0}
export DRILL_KEEP=1 # the failovers' record is read after the drill

command -v pg_autoctl >/dev/null || "$ROOT/scripts/deps.sh" ha
out=$(mktemp /tmp/dtx-drill-ha.XXXXXX)
trap 'rm -f "$out"' EXIT
rc=0
"$ROOT/tests/drill/drill.sh" 2>&1 | tee "$out" || rc=$?
run=$(sed -n 's/.*scratch kept[^/]*\(\/tmp\/dtx-drill\.[A-Za-z0-9]*\).*/\1/p' "$out" | tail -n 1)
[ -n "$run" ] || run=$(sed -n 's/.*scratch \(\/tmp\/dtx-drill\.[A-Za-z0-9]*\),.*/\1/p' "$out" | head -n 1)
echo "== failovers (tests/ha/windows.sh: kill -9 of the primary -> standby promoted -> dtxd writing again)"
n=0
if [ -n "$run" ] && [ -f "$run/pg/failovers.txt" ]; then
    "$ROOT/tests/ha/windows.sh" "$run/pg/failovers.txt" "$run/journal.txt" | sed 's/^/  /'
    n=$(grep -c '^kill ' "$run/pg/failovers.txt" || true)
else
    echo "  (no record of the failovers found)"
fi
if [ "$n" -lt "$DRILL_MIN_PG_RESTARTS" ]; then
    echo "drill-ha: FAILED — $n failovers < $DRILL_MIN_PG_RESTARTS"
    rc=1
fi
if [ "$rc" = 0 ] && [ "$keep" != 1 ] && [ -n "$run" ]; then
    rm -rf -- "$run"
elif [ -n "$run" ]; then
    echo "drill-ha: scratch kept: $run"
fi
[ "$rc" = 0 ] && echo "drill-ha: ok — $n failovers, every invariant held"
exit "$rc"
