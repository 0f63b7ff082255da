#!/usr/bin/env bash
# bench/gateway/uring_ab.sh — the io_uring question of issue 15, measured
# without the gateway: bench/gateway/uring_relay.c (a one-thread byte
# relay, one upstream connection per client) in its modes epoll, uring,
# front (the client leg on io_uring, the upstream leg on epoll) and sends
# (epoll, with a wake-up's sends handed over in one io_uring_submit) and
# late (the same sends as system calls at the wake-up's end), in
# alternating rounds, between wrk and gw-upstream.
#
#   bench/gateway/uring_ab.sh [ROUNDS=3] [SECONDS=5] [CONNECTIONS=64] [MODES="epoll uring front sends"]
#
#   BUILD=build (gw-upstream from it), BENCH_UPSTREAM_THREADS=1.
#   Needs liburing-dev and a C compiler (the project does not link liburing).
#
# Prints, per run, r/s, p99 and the CPU per request (utime+stime from
# /proc, wrk's from /usr/bin/time) of the relay (with its user and system
# parts), of the upstream and of wrk, and their sum ("bench"); then each
# mode's medians. Stops everything it starts.
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
ROUNDS=${1:-3}; SECS=${2:-5}; CONNS=${3:-64}; MODES=${4:-epoll uring front sends}
BUILD=${BUILD:-build}
case $BUILD in /*) B=$BUILD ;; *) B=$ROOT/$BUILD ;; esac
UPT=${BENCH_UPSTREAM_THREADS:-1}
for t in wrk cc; do command -v "$t" >/dev/null || { echo "uring_ab.sh: $t is not installed" >&2; exit 2; }; done
[ -x /usr/bin/time ] || { echo "uring_ab.sh: /usr/bin/time is not installed (Debian package time)" >&2; exit 2; }
[ -f /usr/include/liburing.h ] || { echo "uring_ab.sh: liburing-dev is not installed" >&2; exit 2; }
W=$(mktemp -d /tmp/dtx-gw-uring.XXXXXX); pids=()
cleanup() { local p; for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf -- "$W"; }
trap cleanup EXIT
wf() { for _ in $(seq 1 100); do [ -s "$1" ] && return 0; sleep 0.05; done; echo "uring_ab.sh: $1 never came" >&2; exit 1; }

cc -O2 -Wall -Wextra -Werror -o "$W/relay" "$ROOT/bench/gateway/uring_relay.c" -luring
"$B/tests/gw-upstream" --name uring --threads "$UPT" --body "hello, world\n" --ready-file "$W/up.port" >"$W/up.log" 2>&1 &
pids+=($!); UPPID=$!
wf "$W/up.port"; UP=$(cat "$W/up.port")
TCK=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
one() {  # one MODE: a line, and the figures appended to $W/MODE.*
    local m=$1 port pid u0 s0 u1 s1 up0 up1 out req
    rm -f "$W/relay.port"
    "$W/relay" "$m" 0 "$UP" >"$W/relay.port" &
    pid=$!; pids+=("$pid")
    wf "$W/relay.port"; port=$(cat "$W/relay.port")
    wrk -t2 -c"$CONNS" -d1s "http://127.0.0.1:$port/" >/dev/null
    read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat"); up0=$(ticks "$UPPID")
    out=$(/usr/bin/time -f "WRKCPU %U %S" wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "http://127.0.0.1:$port/" 2>&1)
    read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat"); up1=$(ticks "$UPPID")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    if grep -q -E "Socket errors|Non-2xx" <<<"$out"; then echo "uring_ab.sh: $m: wrk saw errors" >&2; grep -E "Socket errors|Non-2xx" <<<"$out" >&2; fi
    req=$(awk '/requests in/{print $1}' <<<"$out")
    awk -v m="$m" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v up=$((up1 - up0)) -v t="$TCK" -v r="$req" \
        -v w="$(awk '/^WRKCPU/{print $2 + $3}' <<<"$out")" -v W="$W" \
        -v rps="$(awk '/Requests\/sec/{print $2}' <<<"$out")" -v p99="$(awk '$1=="99%"{print $2}' <<<"$out")" 'BEGIN{
        relay = (u + s) * 1e6 / t / r; ups = up * 1e6 / t / r; wc = w * 1e6 / r
        printf "%-5s r/s %-10s p99 %-9s relay CPU-us/request %.2f (user %.2f, system %.2f) upstream %.2f wrk %.2f bench %.2f\n",
            m, rps, p99, relay, u * 1e6 / t / r, s * 1e6 / t / r, ups, wc, relay + ups + wc
        printf "%.2f\n", relay >> (W "/" m ".relay"); printf "%.2f\n", relay + ups + wc >> (W "/" m ".bench") }'
}
for r in $(seq 1 "$ROUNDS"); do
    # shellcheck disable=SC2086  # MODES is a list
    set -- $MODES
    # shellcheck disable=SC2046  # the modes, reversed, are words again
    if [ $((r % 2)) = 0 ]; then set -- $(printf '%s\n' "$@" | tac); fi
    for m in "$@"; do one "$m"; done
done
med() { sort -n "$W/$1" | awk '{a[NR]=$1} END{print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
for m in $MODES; do echo "median $m: relay $(med "$m.relay") CPU-us/request, bench $(med "$m.bench")"; done
