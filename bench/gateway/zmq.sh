#!/usr/bin/env bash
# bench/gateway/zmq.sh — dtx-gateway through a zmq pool against the same
# gateway through an HTTP pool, to equivalent services, one run.
#
#   BUILD=build bench/gateway/zmq.sh
#   BENCH_SECONDS=10 BENCH_CONNECTIONS=64 BENCH_ROUNDS=3 BENCH_WRK_THREADS=2   (defaults)
#
# Needs wrk and the built $BUILD/bin/dtx-gateway, $BUILD/bin/zmq-echo-service,
# $BUILD/tests/gw-upstream.
#
# One gateway (--workers default), two routes without rules:
#   http   /http -> an HTTP pool: gw-upstream (one epoll thread, a fixed
#          13-byte answer, keep-alive)
#   zmq    /zmq  -> a zmq pool: zmq-echo-service --answer (one thread, the
#          same 13 bytes; libdtx's dtx/zsvc.h)
# wrk -t BENCH_WRK_THREADS -c BENCH_CONNECTIONS drives each for
# BENCH_SECONDS, BENCH_ROUNDS rounds, the order alternating. Each run
# prints requests/s, p99, the CPU per request of the gateway and of the
# service (µs: what a request costs, whatever else the machine does), and
# the CPU other processes used meanwhile ("other CPU", cores: a busy
# machine skews a round); then the medians and min–max. Everything it
# starts is stopped on exit. Not a pass/fail test.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
BUILD=${BUILD:-build}
case $BUILD in /*) B=$BUILD ;; *) B=$ROOT/$BUILD ;; esac
SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-64}
ROUNDS=${BENCH_ROUNDS:-3}
THREADS=${BENCH_WRK_THREADS:-2}

command -v wrk >/dev/null || { echo "bench/gateway/zmq: wrk is not installed (scripts/deps.sh)" >&2; exit 2; }
for bin in "$B/bin/dtx-gateway" "$B/bin/zmq-echo-service" "$B/tests/gw-upstream"; do
    [ -x "$bin" ] || { echo "bench/gateway/zmq: $bin missing (make BUILD=$BUILD all)" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/dtx-gw-zmq-bench.XXXXXX)
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    sleep 0.3
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf -- "$WORK"
}
trap cleanup EXIT

wait_file() {  # wait_file PATH: up to 10 s
    local i
    for i in $(seq 1 200); do [ -s "$1" ] && return 0; sleep 0.05; done
    echo "bench/gateway/zmq: $1 never appeared" >&2; return 1
}

"$B/tests/gw-upstream" --name bench --threads 1 --body "hello, world\n" \
    --ready-file "$WORK/up.port" >"$WORK/up.log" 2>&1 &
pids+=($!)
UP_PID=$!
"$B/bin/zmq-echo-service" --bind "tcp://127.0.0.1:*" --name bench --answer "hello, world
" --ready-file "$WORK/zsvc.port" >"$WORK/zsvc.log" 2>&1 &
pids+=($!)
ZS_PID=$!
wait_file "$WORK/up.port"
wait_file "$WORK/zsvc.port"
UP=$(cat "$WORK/up.port")
ZS=$(cat "$WORK/zsvc.port")

cat >"$WORK/gw.json" <<GW
{
  "listen": "127.0.0.1:0",
  "admin": { "listen": "127.0.0.1:0" },
  "pools": [ { "name": "http", "targets": [ "http://127.0.0.1:$UP" ] },
             { "name": "zmq", "targets": [ "zmq+tcp://127.0.0.1:$ZS" ] } ],
  "routes": [
    { "name": "http", "match": { "prefix": "/http" }, "pool": "http" },
    { "name": "zmq", "match": { "prefix": "/zmq" }, "pool": "zmq" }
  ]
}
GW
"$B/bin/dtx-gateway" --config "$WORK/gw.json" --log-level warn \
    --ready-file "$WORK/gw.ready" >"$WORK/gw.log" 2>&1 &
pids+=($!)
GW_PID=$!
wait_file "$WORK/gw.ready"
read -r GW _ <"$WORK/gw.ready"

HZ=$(getconf CLK_TCK)
cpu_of() {  # cpu_of PID...: their CPU jiffies (with their threads)
    local p t=0
    for p in "$@"; do
        [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
    done
    echo "$t"
}
busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }

to_ms() {  # wrk prints 512.00us / 1.23ms / 1.01s
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 } }'
}

# run NAME: wrk on /NAME; prints and records rps, p99, gateway and
# service CPU per request, other CPU.
run() {
    local svc out g0 g1 s0 s1 b0 b1 o0 o1 w0 w1 total
    svc=$UP_PID; [ "$1" = zmq ] && svc=$ZS_PID
    g0=$(cpu_of "$GW_PID"); s0=$(cpu_of "$svc"); b0=$(busy); o0=$(cpu_of "${pids[@]}")
    w0=$(awk '{print $16 + $17}' /proc/$$/stat)
    out=$(wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency "http://127.0.0.1:$GW/$1")
    w1=$(awk '{print $16 + $17}' /proc/$$/stat)
    g1=$(cpu_of "$GW_PID"); s1=$(cpu_of "$svc"); b1=$(busy); o1=$(cpu_of "${pids[@]}")
    local rps p99 non2xx gcpu scpu other
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")
    total=$(awk '/requests in/ {print $1}' <<<"$out")
    gcpu=$(awk -v c=$((g1 - g0)) -v hz="$HZ" -v n="$total" 'BEGIN { printf "%.1f", c / hz * 1e6 / n }')
    scpu=$(awk -v c=$((s1 - s0)) -v hz="$HZ" -v n="$total" 'BEGIN { printf "%.1f", c / hz * 1e6 / n }')
    other=$(awk -v b=$((b1 - b0)) -v o=$((o1 - o0)) -v w=$((w1 - w0)) -v hz="$HZ" -v s="$SECS" \
        'BEGIN { x = (b - o - w) / hz / s; if (x < 0) x = 0; printf "%.2f", x }')
    printf '  %-5s %9.0f r/s  p99 %7.3f ms  gateway %6.1f us/request  service %6.1f us/request  non-2xx %s  other CPU %s cores\n' \
        "$1" "$rps" "$p99" "$gcpu" "$scpu" "${non2xx:-0}" "$other"
    echo "$rps" >>"$WORK/s-$1-rps"; echo "$p99" >>"$WORK/s-$1-p99"
    echo "$gcpu" >>"$WORK/s-$1-gcpu"; echo "$scpu" >>"$WORK/s-$1-scpu"
}

stats() { sort -g "$1" | awk '{ v[NR] = $1 } END {
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.1f (%.1f-%.1f)", m, v[1], v[NR] }'; }

# warm-up (connections, sockets)
wrk -t"$THREADS" -c"$CONNS" -d2s "http://127.0.0.1:$GW/http" >/dev/null
wrk -t"$THREADS" -c"$CONNS" -d2s "http://127.0.0.1:$GW/zmq" >/dev/null

echo "uptime before: $(uptime)"
for round in $(seq 1 "$ROUNDS"); do
    echo "round $round (wrk -t$THREADS -c$CONNS -d${SECS}s)"
    order="http zmq"; [ $((round % 2)) = 0 ] && order="zmq http"
    for who in $order; do run "$who"; done
done
echo "uptime after: $(uptime)"
echo
echo "medians (min-max) over $ROUNDS rounds:"
for who in http zmq; do
    printf '  %-5s requests/s %s  p99 ms %s  gateway CPU us/request %s  service CPU us/request %s\n' \
        "$who" "$(stats "$WORK/s-$who-rps")" "$(stats "$WORK/s-$who-p99")" \
        "$(stats "$WORK/s-$who-gcpu")" "$(stats "$WORK/s-$who-scpu")"
done
