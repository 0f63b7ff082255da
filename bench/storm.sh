#!/usr/bin/env bash
# bench/storm.sh — an expiry storm with a BEGIN latency probe (make bench).
#
#   BUILD=build bench/storm.sh
#
# Environment:
#   BUILD              build directory holding bin/ (default build)
#   DTXD               the dtxd to measure (default $BUILD/bin/dtxd; an older
#                      build's, to compare: its options are probed, and CURVE
#                      is used only when it has it)
#   STORM_TXNS         transactions that reach their deadline together
#                      (default 424000, the storm of issue 11)
#   STORM_TIMEOUT_MS   their deadline (default 30000: all are begun before
#                      the first expires)
#   STORM_SECONDS      how long the probe runs after the load (default 45)
#   STORM_P99_MS       the probe's p99 the run must stay under (default 50)
#
# What it does: a private PostgreSQL (tests/harness/pg.sh), one dtxd
# (--max-txns raised above STORM_TXNS, a 3 s lease), dtx-storm: STORM_TXNS
# BEGINs with one deadline, then one probe BEGIN every 20 ms through their
# expiry. It then waits until the log holds every one of them aborted, and
# reports the probe's p50/p99/max, probes lost (no answer in 10 s), lease
# lapses in dtxd's log, dtxd's peak RSS, and how long the aborts took.
# Fails (exit 1) when a probe was lost, the p99 is over STORM_P99_MS, the
# lease lapsed, or a transaction did not end aborted.
set -Eeuo pipefail
trap 'echo "storm: line $LINENO: command failed (status $?): $BASH_COMMAND" >&2' ERR

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
BUILD=${BUILD:-build}
case $BUILD in
/*) BIN=$BUILD/bin ;;
*) BIN=$ROOT/$BUILD/bin ;;
esac
DTXD=${DTXD:-$BIN/dtxd}
TXNS=${STORM_TXNS:-424000}
TIMEOUT_MS=${STORM_TIMEOUT_MS:-30000}
SECONDS_PROBE=${STORM_SECONDS:-45}
P99_MAX=${STORM_P99_MS:-50}
PG=tests/harness/pg.sh
PSQL=/usr/lib/postgresql/15/bin/psql

for b in "$DTXD" "$BIN/dtx-storm" "$BIN/dtxctl"; do
    [ -x "$b" ] || { echo "storm: $b is missing: make BUILD=$BUILD all" >&2; exit 1; }
done

SCRATCH=$(mktemp -d /tmp/dtx-storm.XXXXXX)
chmod 0755 "$SCRATCH"
DTXD_PID=
cleanup() {
    local rc=$?
    trap - EXIT INT TERM ERR
    set +e
    if [ -n "$DTXD_PID" ]; then
        kill -TERM "$DTXD_PID" 2>/dev/null
        wait "$DTXD_PID" 2>/dev/null
    fi
    "$PG" stop "$SCRATCH/pg" >/dev/null 2>&1
    if [ "$rc" -ne 0 ]; then
        echo "storm: FAILED; dtxd's log kept in $SCRATCH.log" >&2
        cp "$SCRATCH/dtxd.log" "$SCRATCH.log" 2>/dev/null
    fi
    rm -rf -- "$SCRATCH"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

BASE=$("$PG" start "$SCRATCH/pg")
"$PG" createdb "$SCRATCH/pg" dtx
q() { "$PSQL" -X -q -At -d "$BASE dbname=dtx" -c "$1"; }

help=$("$DTXD" --help 2>&1 || true)
EXTRA=()
if grep -q -- '--max-txns' <<<"$help"; then
    EXTRA+=(--max-txns $((TXNS + 10000)) --max-peer-rate 0)
fi
if grep -q -- '--http-listen' <<<"$help"; then
    EXTRA+=(--http-listen off)
fi
CURVE=off
if grep -q -- '--curve-secret-file' <<<"$help"; then
    CURVE=on
    # shellcheck source=tests/harness/curve.sh
    . tests/harness/curve.sh
    curve_init "$SCRATCH/keys"
    DTX_CURVE_KEY_FILE=$(curve_peer "$SCRATCH/keys" storm storm initiator)
    export DTX_CURVE_KEY_FILE
    EXTRA+=("${CURVE_DTXD_ARGS[@]}")
fi

"$DTXD" --db "$BASE dbname=dtx" --listen 'tcp://127.0.0.1:*' --endpoint-file "$SCRATCH/ep" \
    --node-id storm --lease-ms 3000 "${EXTRA[@]}" >"$SCRATCH/dtxd.log" 2>&1 &
DTXD_PID=$!
n=0
until [ -s "$SCRATCH/ep" ]; do
    n=$((n + 1))
    [ $n -lt 300 ] && kill -0 "$DTXD_PID" 2>/dev/null || { tail -20 "$SCRATCH/dtxd.log" >&2; exit 1; }
    sleep 0.1
done
EP=$(head -n 1 "$SCRATCH/ep")

echo "== expiry storm: $TXNS transactions with a ${TIMEOUT_MS} ms deadline, a probe BEGIN every 20 ms for ${SECONDS_PROBE} s ($DTXD, CURVE $CURVE)"
out=$("$BIN/dtx-storm" --coordinator "$EP" --transactions "$TXNS" --txn-timeout-ms "$TIMEOUT_MS" \
    --probe-ms 20 --seconds "$SECONDS_PROBE")
echo "   $out"
val() { sed -n "s/.*\b$1=\([-0-9.]*\).*/\1/p" <<<"$out"; }
BEGUN=$(val begun)
[ -n "$BEGUN" ] && [ "$BEGUN" -gt 0 ] || { echo "storm: the load began nothing" >&2; exit 1; }
t0=$(date +%s)
aborted=0
while [ $(($(date +%s) - t0)) -lt 300 ]; do
    aborted=$(q "SELECT count(*) FROM dtx_global WHERE state = 5" 2>/dev/null || echo 0)
    [ "$aborted" -ge "$BEGUN" ] && break
    kill -0 "$DTXD_PID" 2>/dev/null || break
    sleep 1
done
lapses=$(grep -c 'lease lapsed' "$SCRATCH/dtxd.log" || true)
rss=$(awk '/VmHWM/ {print $2}' "/proc/$DTXD_PID/status" 2>/dev/null || echo '?')
echo "   aborted in the log: $aborted of $BEGUN begun (all within $(($(date +%s) - t0)) s of the probe's end); lease lapses: $lapses; dtxd peak RSS ${rss} kB"

fail=0
[ "$(val lost)" = 0 ] || { echo "storm: $(val lost) probe(s) got no answer in 10 s" >&2; fail=1; }
p99=$(val p99_ms)
[ -n "$p99" ] && [ "$p99" -ge 0 ] && [ "$p99" -lt "$P99_MAX" ] ||
    { echo "storm: probe p99 ${p99} ms, not under ${P99_MAX} ms" >&2; fail=1; }
[ "$lapses" = 0 ] || { echo "storm: the lease lapsed $lapses time(s)" >&2; fail=1; }
[ "$BEGUN" -ge "$TXNS" ] || { echo "storm: only $BEGUN of $TXNS BEGINs were answered BEGIN_OK" >&2; fail=1; }
[ "$aborted" -ge "$BEGUN" ] || { echo "storm: only $aborted of $BEGUN ended aborted" >&2; fail=1; }
[ "$fail" = 0 ] && echo "storm: ok (probe p99 $p99 ms < $P99_MAX ms, nothing lost, lease held)"
exit "$fail"
