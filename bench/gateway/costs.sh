#!/usr/bin/env bash
# bench/gateway/costs.sh — what one request costs every process on the
# machine, through nginx and through dtx-gateway: the figures behind
# "requests/s = cores / CPU per request of ALL processes" on a machine
# where wrk, the upstream and the proxy share the cores.
#
#   bench/gateway/costs.sh [MODE] [CONNECTIONS=64] [SECONDS=5]
#     MODE stat (default)  per round (BENCH_ROUNDS, 3; nginx and gateway
#                          alternating): r/s, p50, p99, CPU µs per request of
#                          the proxy, the upstream and wrk (utime+stime),
#                          context switches per request (voluntary +
#                          involuntary, every thread), TCP segments per
#                          request (nstat TcpOutSegs delta, the whole machine)
#          strace          system calls per request of each process in turn
#                          (strace -f -c; the traced process runs slower, the
#                          counts per request hold)
#          callgrind       user-space instructions per request of each proxy
#                          (valgrind, one worker / one nginx process, wrk -t1
#                          -c8): load-independent, for A/B on a busy machine
#   BUILD=build, BENCH_GATEWAY=$BUILD/bin/dtx-gateway (another binary to
#   measure), BENCH_UPSTREAM_THREADS=1.
#
# nginx: worker_processes auto, keep-alive upstream pool, limit_req on (one
# global key, never reached); the gateway: default workers, the benchmark
# route (a never-reached rate limit and a breaker). Stops all it starts.
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
BUILD=${BUILD:-build}
case $BUILD in /*) B=$BUILD ;; *) B=$ROOT/$BUILD ;; esac
MODE=${1:-stat}; CONNS=${2:-64}; SECS=${3:-5}
ROUNDS=${BENCH_ROUNDS:-3}; UPT=${BENCH_UPSTREAM_THREADS:-1}
GWBIN=${BENCH_GATEWAY:-$B/bin/dtx-gateway}
case $MODE in stat|strace|callgrind) ;; *) echo "costs.sh: MODE is stat, strace or callgrind" >&2; exit 2 ;; esac
need="nginx wrk"
case $MODE in stat) need="$need nstat" ;; strace) need="$need strace" ;; callgrind) need="$need valgrind callgrind_control callgrind_annotate" ;; esac
for t in $need; do command -v "$t" >/dev/null || { echo "costs.sh: $t is not installed" >&2; exit 2; }; done
W=$(mktemp -d /tmp/dtx-gw-costs.XXXXXX); pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    [ -f "$W/nginx.pid" ] && kill -QUIT "$(cat "$W/nginx.pid")" 2>/dev/null || true
    sleep 0.3
    rm -rf -- "$W"
}
trap cleanup EXIT
wf() { for _ in $(seq 1 200); do [ -s "$1" ] && return 0; sleep 0.05; done; echo "costs.sh: $1 never came" >&2; exit 1; }
free_port() { local p; for _ in $(seq 1 50); do p=$((20000 + RANDOM % 20000)); (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }; done; return 1; }

"$B/tests/gw-upstream" --name costs --threads "$UPT" --body "hello, world\n" --ready-file "$W/up.port" >"$W/up.log" 2>&1 &
pids+=($!); UPPID=$!
wf "$W/up.port"; UP=$(cat "$W/up.port")
NP=$(free_port)
if [ "$MODE" = callgrind ]; then NGXW="worker_processes 1; master_process off;"; else NGXW="worker_processes auto;"; fi
cat >"$W/nginx.conf" <<NGX
$NGXW daemon off; pid $W/nginx.pid; error_log $W/nginx.err warn;
events { worker_connections 4096; }
http { access_log off; upstream bench { server 127.0.0.1:$UP; keepalive 256; }
  limit_req_zone \$server_name zone=wide:1m rate=10000000r/s;
  server { listen 127.0.0.1:$NP; location / { limit_req zone=wide burst=10000000 nodelay;
    proxy_pass http://bench; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
NGX
cat >"$W/gw.json" <<GW
{ "listen": "127.0.0.1:0", "admin": { "listen": "127.0.0.1:0" },
  "pools": [ { "name": "bench", "targets": [ "http://127.0.0.1:$UP" ] } ],
  "rules": [ { "name": "wide-open", "type": "rate_limit", "rate": 10000000, "burst": 10000000,
               "nodelay": true, "key": "global" },
             { "name": "breaker", "type": "breaker", "error_ratio": 0.5, "min_requests": 100 } ],
  "routes": [ { "name": "bench", "match": { "prefix": "/" }, "pool": "bench",
                "rules": [ "wide-open", "breaker" ] } ] }
GW

if [ "$MODE" = callgrind ]; then
    # one() LABEL PORT PID: instructions per request while wrk runs
    one() {
        local label=$1 port=$2 vg=$3 n ir
        for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
        wrk -t1 -c8 -d2s "http://127.0.0.1:$port/" >/dev/null
        callgrind_control -i on "$vg" >/dev/null
        n=$(wrk -t1 -c8 -d"${SECS}s" "http://127.0.0.1:$port/" | awk '/requests in/{print $1}')
        callgrind_control -i off "$vg" >/dev/null; callgrind_control -d "$vg" >/dev/null; sleep 0.5
        ir=$(callgrind_annotate "$(ls -t "$W/cg-$label".out* | head -1)" 2>/dev/null |
             awk '/PROGRAM TOTALS/ && !done {gsub(",","",$1); print $1; done = 1}')
        printf '%-8s %8d requests, %d user-space instructions per request\n' "$label" "$n" $((ir / n))
    }
    valgrind --tool=callgrind --callgrind-out-file="$W/cg-nginx.out" --instr-atstart=no \
        nginx -c "$W/nginx.conf" -p "$W" >/dev/null 2>"$W/vg-nginx.log" &
    pids+=($!); one nginx "$NP" $!
    valgrind --tool=callgrind --callgrind-out-file="$W/cg-gateway.out" --instr-atstart=no \
        "$GWBIN" --config "$W/gw.json" --workers 1 --log-level warn --ready-file "$W/gw.ready" \
        >/dev/null 2>"$W/vg-gw.log" &
    pids+=($!); vg=$!
    wf "$W/gw.ready"; read -r GP _ <"$W/gw.ready"
    one gateway "$GP" "$vg"
    exit 0
fi

nginx -c "$W/nginx.conf" -p "$W" >/dev/null 2>&1 &
pids+=($!); NGXM=$!
"$GWBIN" --config "$W/gw.json" --log-level warn --ready-file "$W/gw.ready" >"$W/gw.log" 2>&1 &
pids+=($!); GWPID=$!
wf "$W/gw.ready"; read -r GP _ <"$W/gw.ready"
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$NP") 2>/dev/null && break; sleep 0.05; done
NGXW=$(pgrep -d' ' -P "$NGXM")
TCK=$(getconf CLK_TCK)
cpu() { local s=0 p; for p in "$@"; do s=$((s + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo "$s"; }
csw() {
    local v=0 n=0 p t
    for p in "$@"; do for t in /proc/"$p"/task/*; do
        v=$((v + $(awk '/^voluntary_ctxt/{print $2}' "$t/status")))
        n=$((n + $(awk '/^nonvoluntary_ctxt/{print $2}' "$t/status")))
    done; done
    echo "$v $n"
}
segs() { nstat -az TcpOutSegs | awk '/TcpOutSegs/{print $2}'; }

if [ "$MODE" = stat ]; then
    one() {  # one() LABEL PORT PROXY_PIDS...
        local label=$1 port=$2; shift 2
        wrk -t2 -c"$CONNS" -d1s "http://127.0.0.1:$port/" >/dev/null
        local pc0 uc0 px0 ux0 s0 pc1 uc1 px1 ux1 s1
        pc0=$(cpu "$@"); uc0=$(cpu "$UPPID"); px0=($(csw "$@")); ux0=($(csw "$UPPID")); s0=$(segs)
        /usr/bin/time -f "%U %S %w %c" -o "$W/wrk.time" \
            wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "http://127.0.0.1:$port/" >"$W/wrk.out"
        pc1=$(cpu "$@"); uc1=$(cpu "$UPPID"); px1=($(csw "$@")); ux1=($(csw "$UPPID")); s1=$(segs)
        local req rps p50 p99 wu ws wv wn
        req=$(awk '/requests in/{print $1}' "$W/wrk.out")
        rps=$(awk '/Requests\/sec/{print $2}' "$W/wrk.out")
        p50=$(awk '$1=="50%"{print $2}' "$W/wrk.out"); p99=$(awk '$1=="99%"{print $2}' "$W/wrk.out")
        read -r wu ws wv wn <"$W/wrk.time"
        awk -v L="$label" -v r="$req" -v rps="$rps" -v p50="$p50" -v p99="$p99" -v t="$TCK" \
            -v pc=$((pc1 - pc0)) -v uc=$((uc1 - uc0)) -v wu="$wu" -v ws="$ws" \
            -v pv=$((px1[0] - px0[0])) -v pn=$((px1[1] - px0[1])) \
            -v uv=$((ux1[0] - ux0[0])) -v un=$((ux1[1] - ux0[1])) -v wv="$wv" -v wn="$wn" \
            -v sg=$((s1 - s0)) 'BEGIN {
            printf "%-8s r/s %7.0f p50 %-8s p99 %-8s | CPU us/request proxy %5.1f upstream %5.1f wrk %5.1f all %5.1f", \
                L, rps, p50, p99, pc*1e6/t/r, uc*1e6/t/r, (wu+ws)*1e6/r, (pc*1e6/t + uc*1e6/t + (wu+ws)*1e6)/r
            printf " | switches/request proxy %.2f+%.2f upstream %.2f+%.2f wrk %.2f+%.2f | segments/request %.2f\n", \
                pv/r, pn/r, uv/r, un/r, wv/r, wn/r, sg/r }'
    }
    for r in $(seq 1 "$ROUNDS"); do
        if [ $((r % 2)) = 1 ]; then one nginx "$NP" $NGXW; one gateway "$GP" "$GWPID"
        else one gateway "$GP" "$GWPID"; one nginx "$NP" $NGXW; fi
    done
    exit 0
fi

# strace: each process of each set-up in turn
for which in nginx gateway; do
    if [ "$which" = nginx ]; then port=$NP; tp=$NGXW; else port=$GP; tp=$GWPID; fi
    for role in proxy upstream wrk; do
        args=()
        case $role in
        proxy) for p in $tp; do args+=(-p "$p"); done ;;
        upstream) args=(-p "$UPPID") ;;
        esac
        if [ "$role" = wrk ]; then
            strace -f -c -o "$W/strace.out" wrk -t2 -c"$CONNS" -d"${SECS}s" "http://127.0.0.1:$port/" >"$W/wrk.out"
        else
            strace -f -c -o "$W/strace.out" "${args[@]}" 2>/dev/null &
            sp=$!; sleep 0.5
            wrk -t2 -c"$CONNS" -d"${SECS}s" "http://127.0.0.1:$port/" >"$W/wrk.out"
            kill -INT "$sp"; wait "$sp" 2>/dev/null || true
        fi
        req=$(awk '/requests in/{print $1}' "$W/wrk.out")
        printf '%-8s %-8s system calls per request (%d requests):' "$which" "$role" "$req"
        awk -v r="$req" '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { if ($4 / r >= 0.01) printf " %s %.2f", $NF, $4 / r }
                         $NF == "total" { printf " | total %.2f\n", $4 / r }' "$W/strace.out"
    done
done
