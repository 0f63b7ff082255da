#!/usr/bin/env bash
# bench/gateway/ab.sh — A/B two dtx-gateway binaries on CPU per request:
# the measure that says whether a change made a request cheaper, and that
# a shared, busy machine skews least (requests/s and p99 swing with other
# load; CPU-µs per request much less).
#
#   bench/gateway/ab.sh OLD_BIN NEW_BIN [ROUNDS=3] [SECONDS=5] [CONNECTIONS=64]
#
#   BENCH_UPSTREAM_THREADS=1 (default)  the upstream's epoll threads (use 2 at
#                                      -c256: one collapses there, see run.sh)
#   AB_OLD_ARGS, AB_NEW_ARGS           extra arguments for each binary (the same
#                                      binary twice with --workers 1 and 2, say)
#   AB_OLD_ENV, AB_NEW_ENV             extra environment (VAR=value ...) for each
#
# Starts one gw-upstream (build/tests/gw-upstream, fixed 13-byte answer)
# and, per round, each binary in turn with the route of the gateway
# benchmark (a wide-open rate-limit rule and a breaker), drives it with
# wrk -t2 -cCONNECTIONS for SECONDS after a 1 s warm-up, and prints r/s,
# p99 and the gateway process's CPU (utime+stime) per request in µs, with
# its user and system parts; then the medians of each. A change to the
# gateway's own code shows in the user part first: the system part (the
# kernel's TCP, on loopback the receiver's too) is most of the total and
# moves with the machine's load. Each line also gives the CPU per request of
# the upstream and of wrk, their sum with the gateway's ("bench": what the
# three processes of the benchmark spent, r/s = cores / that on a machine
# they have to themselves) and the whole machine's busy CPU from /proc/stat
# (other processes' load included). Stops everything it starts.
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
OLD=${1:?old gateway binary}; NEW=${2:?new gateway binary}
ROUNDS=${3:-3}; SECS=${4:-5}; CONNS=${5:-64}
UPBIN=${BUILD:-$ROOT/build}/tests/gw-upstream
UP_THREADS=${BENCH_UPSTREAM_THREADS:-1}
[[ $UP_THREADS =~ ^[1-9][0-9]?$ ]] || { echo "ab.sh: BENCH_UPSTREAM_THREADS must be 1..99" >&2; exit 2; }
command -v wrk >/dev/null || { echo "ab.sh: wrk is not installed (scripts/deps.sh)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "ab.sh: /usr/bin/time is not installed (Debian package time)" >&2; exit 2; }
WORK=$(mktemp -d /tmp/dtx-gw-ab.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf -- "$WORK"; }
trap cleanup EXIT
wait_file() { for _ in $(seq 1 100); do [ -s "$1" ] && return 0; sleep 0.05; done; echo "ab.sh: $1 never came" >&2; exit 1; }

"$UPBIN" --name ab --threads "$UP_THREADS" --body "hello, world\n" --ready-file "$WORK/up.port" >"$WORK/up.log" 2>&1 &
pids+=($!)
wait_file "$WORK/up.port"
cat >"$WORK/gw.json" <<GW
{ "listen": "127.0.0.1:0", "admin": { "listen": "127.0.0.1:0" },
  "pools": [ { "name": "bench", "targets": [ "http://127.0.0.1:$(cat "$WORK/up.port")" ] } ],
  "rules": [
    { "name": "wide-open", "type": "rate_limit", "rate": 10000000, "burst": 10000000,
      "nodelay": true, "key": "global" },
    { "name": "breaker", "type": "breaker", "error_ratio": 0.5, "min_requests": 100 } ],
  "routes": [ { "name": "bench", "match": { "prefix": "/" }, "pool": "bench",
                "rules": [ "wide-open", "breaker" ] } ] }
GW
TCK=$(getconf CLK_TCK)
UPPID=${pids[0]}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
busy() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
one() {  # one() LABEL BIN: prints a line, appends the CPU figures to $WORK/LABEL{,.user,.bench}
    local label=$1 bin=$2 pid port u0 s0 u1 s1 out req args envs
    if [ "$label" = old ]; then args=${AB_OLD_ARGS:-}; envs=${AB_OLD_ENV:-}; else args=${AB_NEW_ARGS:-}; envs=${AB_NEW_ENV:-}; fi
    rm -f "$WORK/gw.ready"
    # shellcheck disable=SC2086  # word splitting wanted: lists of arguments
    env $envs "$bin" --config "$WORK/gw.json" --log-level warn --ready-file "$WORK/gw.ready" $args >"$WORK/gw.log" 2>&1 &
    pid=$!
    wait_file "$WORK/gw.ready"
    read -r port _ <"$WORK/gw.ready"
    wrk -t2 -c"$CONNS" -d1s "http://127.0.0.1:$port/" >/dev/null
    local up0 up1 m0 m1
    read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
    up0=$(ticks "$UPPID"); m0=$(busy)
    out=$(/usr/bin/time -f "WRKCPU %U %S" wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "http://127.0.0.1:$port/" 2>&1)
    read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
    up1=$(ticks "$UPPID"); m1=$(busy)
    kill "$pid"; wait "$pid" 2>/dev/null || true
    req=$(awk '/requests in/{print $1}' <<<"$out")
    local cpu user sys
    cpu=$(awk -v a=$((u0 + s0)) -v b=$((u1 + s1)) -v t="$TCK" -v r="$req" 'BEGIN{printf "%.2f", (b-a)*1e6/t/r}')
    user=$(awk -v a="$u0" -v b="$u1" -v t="$TCK" -v r="$req" 'BEGIN{printf "%.2f", (b-a)*1e6/t/r}')
    sys=$(awk -v a="$s0" -v b="$s1" -v t="$TCK" -v r="$req" 'BEGIN{printf "%.2f", (b-a)*1e6/t/r}')
    local upc wrkc bench mach
    upc=$(awk -v d=$((up1 - up0)) -v t="$TCK" -v r="$req" 'BEGIN{printf "%.2f", d*1e6/t/r}')
    wrkc=$(awk -v r="$req" '/^WRKCPU/{printf "%.2f", ($2 + $3)*1e6/r}' <<<"$out")
    bench=$(awk -v a="$cpu" -v b="$upc" -v c="$wrkc" 'BEGIN{printf "%.2f", a + b + c}')
    mach=$(awk -v d=$((m1 - m0)) -v t="$TCK" -v r="$req" 'BEGIN{printf "%.2f", d*1e6/t/r}')
    echo "$cpu" >>"$WORK/$label"
    echo "$user" >>"$WORK/$label.user"
    echo "$bench" >>"$WORK/$label.bench"
    printf '%-4s r/s %-10s p99 %-9s CPU-us/request %s (user %s, system %s) upstream %s wrk %s bench %s machine %s\n' "$label" \
        "$(awk '/Requests\/sec/{print $2}' <<<"$out")" "$(awk '$1=="99%"{print $2}' <<<"$out")" \
        "$cpu" "$user" "$sys" "$upc" "$wrkc" "$bench" "$mach"
}
for r in $(seq 1 "$ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then one old "$OLD"; one new "$NEW"; else one new "$NEW"; one old "$OLD"; fi
done
med() { sort -n "$WORK/$1" | awk '{a[NR]=$1} END{print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
echo "median CPU-us/request: old $(med old), new $(med new); user part: old $(med old.user), new $(med new.user); bench (gateway + upstream + wrk): old $(med old.bench), new $(med new.bench)"
