#!/usr/bin/env bash
# bench/gateway/spread.sh — how a dtx-gateway spreads connections and
# requests over its workers, from its /metrics (dtx_gw_worker_*), with the
# accept balance off ("before") and on ("after", the default).
#
#   bench/gateway/spread.sh [BIN=build/bin/dtx-gateway] [ROUNDS=2] [SECONDS=5] [CONNS="64 256"]
#
#   BENCH_UPSTREAM_THREADS=2 (default here)  the upstream's epoll threads
#   SPREAD_ARGS                              extra gateway arguments (--workers 4, say)
#
# Starts one gw-upstream (build/tests/gw-upstream) and, per round and per
# connection count, the gateway with --accept-balance off then on (the
# order alternates by round), each with its default workers and the
# route of ab.sh without rules; drives it with wrk -t2 -cN for SECONDS
# after a 1 s warm-up (whose connections close first), reads /metrics in
# the middle of the run (the connections each worker holds) and after it
# (the requests each answered during the run), and prints a line:
#   balance off|on  c N  conns W0/W1/..  gap MAX-MIN  reqs% W0/W1/..  cpu% W0/W1/..
#   cpu-s S  handed H  r/s R  p99 P
# (reqs% and cpu%: each worker's share of the requests answered and of
# the CPU its thread used during the run; cpu-s: the workers' CPU
# seconds together). The connection gap is what the balance bounds (2
# while connections only open); the requests' shares follow what the
# kernel's scheduling gives the workers' threads. Stops everything it
# starts.
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
BIN=${1:-$ROOT/build/bin/dtx-gateway}; ROUNDS=${2:-2}; SECS=${3:-5}; CONNS_LIST=${4:-64 256}
UPBIN=${BUILD:-$ROOT/build}/tests/gw-upstream
UP_THREADS=${BENCH_UPSTREAM_THREADS:-2}
[[ $UP_THREADS =~ ^[1-9][0-9]?$ ]] || { echo "spread.sh: BENCH_UPSTREAM_THREADS must be 1..99" >&2; exit 2; }
[[ $SECS =~ ^[1-9][0-9]*$ ]] || { echo "spread.sh: SECONDS must be a whole number >= 1" >&2; exit 2; }
command -v wrk >/dev/null || { echo "spread.sh: wrk is not installed (scripts/deps.sh)" >&2; exit 2; }
command -v curl >/dev/null || { echo "spread.sh: curl is not installed" >&2; exit 2; }
[ -x "$BIN" ] || { echo "spread.sh: $BIN is not an executable" >&2; exit 2; }
WORK=$(mktemp -d /tmp/dtx-gw-spread.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf -- "$WORK"; }
trap cleanup EXIT
wait_file() { for _ in $(seq 1 100); do [ -s "$1" ] && return 0; sleep 0.05; done; echo "spread.sh: $1 never came" >&2; exit 1; }

"$UPBIN" --name spread --threads "$UP_THREADS" --body "hello, world\n" --ready-file "$WORK/up.port" >"$WORK/up.log" 2>&1 &
pids+=($!)
wait_file "$WORK/up.port"
cat >"$WORK/gw.json" <<GW
{ "listen": "127.0.0.1:0", "admin": { "listen": "127.0.0.1:0" },
  "pools": [ { "name": "bench", "targets": [ "http://127.0.0.1:$(cat "$WORK/up.port")" ] } ],
  "routes": [ { "name": "bench", "match": { "prefix": "/" }, "pool": "bench" } ] }
GW
# series METRICS NAME: the values of NAME{worker="i"}, in worker order, space-separated.
series() { awk -v n="$2" 'index($0, n "{worker=") == 1 {split($1, a, "\""); v[a[2]] = $2; if (a[2] + 1 > k) k = a[2] + 1}
                          END {for (i = 0; i < k; i++) printf "%s%s", (i ? " " : ""), v[i]}' <<<"$1"; }
# shares BEFORE AFTER: each worker's percentage of the total growth, W0/W1/..
shares() { awk -v a="$1" '{split(a, b, " "); t = 0; for (i = 1; i <= NF; i++) {d[i] = $i - b[i]; t += d[i]}
                           for (i = 1; i <= NF; i++) printf "%s%.0f", (i > 1 ? "/" : ""), t ? 100 * d[i] / t : 0}' <<<"$2"; }
one() {  # one() on|off CONNS
    local bal=$1 conns=$2 pid port admin mid end out
    rm -f "$WORK/gw.ready"
    # shellcheck disable=SC2086  # word splitting wanted: a list of arguments
    "$BIN" --config "$WORK/gw.json" --log-level warn --ready-file "$WORK/gw.ready" \
        --accept-balance "$bal" ${SPREAD_ARGS:-} >"$WORK/gw.log" 2>&1 &
    pid=$!
    wait_file "$WORK/gw.ready"
    read -r port admin <"$WORK/gw.ready"
    wrk -t2 -c"$conns" -d1s "http://127.0.0.1:$port/" >/dev/null
    sleep 0.2                                    # the warm-up's connections close
    local r0 u0 m0
    m0=$(curl -s "http://127.0.0.1:$admin/metrics")
    r0=$(series "$m0" dtx_gw_worker_requests_total)
    u0=$(series "$m0" dtx_gw_worker_cpu_seconds_total)
    wrk -t2 -c"$conns" -d"${SECS}s" --latency "http://127.0.0.1:$port/" >"$WORK/wrk.out" 2>&1 &
    local wpid=$!
    sleep "$(awk -v s="$SECS" 'BEGIN{print s / 2}')"
    mid=$(curl -s "http://127.0.0.1:$admin/metrics")
    wait "$wpid"
    end=$(curl -s "http://127.0.0.1:$admin/metrics")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    out=$(cat "$WORK/wrk.out")
    local c r1 u1 h
    c=$(series "$mid" dtx_gw_worker_connections)
    r1=$(series "$end" dtx_gw_worker_requests_total)
    u1=$(series "$end" dtx_gw_worker_cpu_seconds_total)
    h=$(series "$end" dtx_gw_worker_handed_over_total | awk '{s = 0; for (i = 1; i <= NF; i++) s += $i; print s}')
    printf 'balance %-3s c %-4s conns %-9s gap %-3s reqs%% %-9s cpu%% %-9s cpu-s %-5s handed %-4s r/s %-10s p99 %s\n' \
        "$bal" "$conns" "$(tr ' ' / <<<"$c")" \
        "$(awk '{lo = $1; hi = $1; for (i = 2; i <= NF; i++) {if ($i < lo) lo = $i; if ($i > hi) hi = $i} print hi - lo}' <<<"$c")" \
        "$(shares "$r0" "$r1")" "$(shares "$u0" "$u1")" \
        "$(awk -v a="$u0" '{split(a, b, " "); t = 0; for (i = 1; i <= NF; i++) t += $i - b[i]; printf "%.1f", t}' <<<"$u1")" \
        "$h" "$(awk '/Requests\/sec/{print $2}' <<<"$out")" "$(awk '$1=="99%"{print $2}' <<<"$out")"
}
for r in $(seq 1 "$ROUNDS"); do
    for c in $CONNS_LIST; do
        if [ $((r % 2)) = 1 ]; then one off "$c"; one on "$c"; else one on "$c"; one off "$c"; fi
    done
done
