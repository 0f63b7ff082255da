#!/usr/bin/env bash
# bench/gateway/run.sh — dtx-gateway against nginx proxy_pass, same upstream,
# same load generator, one run.
#
#   BUILD=build bench/gateway/run.sh
#   BENCH_SECONDS=10 BENCH_CONNECTIONS=64 BENCH_RATE=1000   (defaults)
#
# Needs: nginx (Debian's nginx-light is enough), wrk, and the built
# $BUILD/bin/dtx-gateway and $BUILD/tests/gw-upstream.
#
# 1. Throughput and latency: wrk drives, for BENCH_SECONDS each,
#      direct   the upstream alone (gw-upstream, fixed 13-byte answer)
#      nginx    nginx proxy_pass, keep-alive upstream, one worker per core
#      gateway  dtx-gateway with a rate-limit rule (set high enough never to
#               refuse) and a circuit breaker on the route
#    and prints requests/s, p50, p99, the gateway/nginx throughput ratio
#    and the p99 each proxy adds over the direct upstream.
# 2. Admitted-rate accuracy: offered load well above a leaky-bucket limit
#    of BENCH_RATE r/s (burst 50, nodelay) for BENCH_SECONDS; the admitted
#    rate (answers that are not 429) against the limit.
# Everything it starts is stopped on exit. Nothing here is a pass/fail
# test: the figures go in the note and in docs/gateway.md.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
BUILD=${BUILD:-build}
case $BUILD in /*) B=$BUILD ;; *) B=$ROOT/$BUILD ;; esac
SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-64}
RATE=${BENCH_RATE:-1000}
THREADS=${BENCH_WRK_THREADS:-2}
CORES=$(nproc)

for tool in nginx wrk; do
    command -v "$tool" >/dev/null || { echo "bench/gateway: $tool is not installed (scripts/deps.sh)" >&2; exit 2; }
done
for bin in "$B/bin/dtx-gateway" "$B/tests/gw-upstream"; do
    [ -x "$bin" ] || { echo "bench/gateway: $bin missing (make BUILD=$BUILD all)" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/dtx-gw-bench.XXXXXX)
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    [ -f "$WORK/nginx.pid" ] && kill -QUIT "$(cat "$WORK/nginx.pid" 2>/dev/null)" 2>/dev/null || true
    sleep 0.3
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf -- "$WORK"
}
trap cleanup EXIT

wait_file() {  # wait_file PATH: up to 10 s
    local i
    for i in $(seq 1 200); do [ -s "$1" ] && return 0; sleep 0.05; done
    echo "bench/gateway: $1 never appeared" >&2; return 1
}

free_port() {  # a port nothing listens on (bind test through bash's /dev/tcp)
    local p
    for _ in $(seq 1 50); do
        p=$((20000 + RANDOM % 20000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
    done
    return 1
}

# The upstream: an epoll thread, a fixed answer.
"$B/tests/gw-upstream" --name bench --threads 1 --body "hello, world\n" \
    --ready-file "$WORK/up.port" >"$WORK/up.log" 2>&1 &
pids+=($!)
wait_file "$WORK/up.port"
UP=$(cat "$WORK/up.port")

NGX_PORT=$(free_port)
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx.conf" <<NGX
worker_processes $CORES;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    upstream bench { server 127.0.0.1:$UP; keepalive 256; }
    server {
        listen 127.0.0.1:$NGX_PORT;
        location / {
            proxy_pass http://bench;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
NGX
nginx -c "$WORK/nginx.conf" -p "$WORK/nginx" >"$WORK/nginx.log" 2>&1 &
pids+=($!)

cat >"$WORK/gw.json" <<GW
{
  "listen": "127.0.0.1:0",
  "admin": { "listen": "127.0.0.1:0" },
  "pools": [ { "name": "bench", "targets": [ "http://127.0.0.1:$UP" ] } ],
  "rules": [
    { "name": "wide-open", "type": "rate_limit", "rate": 10000000, "burst": 10000000,
      "nodelay": true, "key": "global" },
    { "name": "breaker", "type": "breaker", "error_ratio": 0.5, "min_requests": 100 },
    { "name": "limit", "type": "rate_limit", "rate": $RATE, "burst": 50, "nodelay": true,
      "key": "global" }
  ],
  "routes": [
    { "name": "bench", "match": { "prefix": "/" }, "pool": "bench",
      "rules": [ "wide-open", "breaker" ] },
    { "name": "limited", "match": { "prefix": "/limited" }, "pool": "bench",
      "rules": [ "limit" ] }
  ]
}
GW
"$B/bin/dtx-gateway" --config "$WORK/gw.json" --log-level warn \
    --ready-file "$WORK/gw.ready" >"$WORK/gw.log" 2>&1 &
pids+=($!)
wait_file "$WORK/gw.ready"
read -r GW _ <"$WORK/gw.ready"
for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$NGX_PORT") 2>/dev/null && break
    sleep 0.05
done

# run NAME URL: wrk with latency; sets RPS, P50, P99 (ms), NON2XX
run() {
    local out
    out=$(wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency "$2")
    echo "$out" >"$WORK/wrk-$1.txt"
    RPS=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    P50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    P99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    NON2XX=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")
    TOTAL=$(awk '/requests in/ {print $1}' <<<"$out")
    ELAPSED=$(awk '/requests in/ {gsub(/s,/, "", $4); print $4}' <<<"$out")
}

to_ms() {  # wrk prints 512.00us / 1.23ms / 1.01s
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 } }'
}

# warm-up (connections, caches)
wrk -t"$THREADS" -c"$CONNS" -d2s "http://127.0.0.1:$GW/" >/dev/null
wrk -t"$THREADS" -c"$CONNS" -d2s "http://127.0.0.1:$NGX_PORT/" >/dev/null

run direct "http://127.0.0.1:$UP/";   D_RPS=$RPS D_P50=$(to_ms "$P50") D_P99=$(to_ms "$P99")
run nginx "http://127.0.0.1:$NGX_PORT/"; N_RPS=$RPS N_P50=$(to_ms "$P50") N_P99=$(to_ms "$P99")
run gateway "http://127.0.0.1:$GW/";  G_RPS=$RPS G_P50=$(to_ms "$P50") G_P99=$(to_ms "$P99")
G_ERR=${NON2XX:-0}

# Added latency away from saturation: 4 connections, one wrk thread.
CONNS_SAT=$CONNS THREADS_SAT=$THREADS
CONNS=4 THREADS=1
run direct-light "http://127.0.0.1:$UP/";    DL_P50=$(to_ms "$P50") DL_P99=$(to_ms "$P99") DL_RPS=$RPS
run nginx-light "http://127.0.0.1:$NGX_PORT/"; NL_P50=$(to_ms "$P50") NL_P99=$(to_ms "$P99") NL_RPS=$RPS
run gateway-light "http://127.0.0.1:$GW/";   GL_P50=$(to_ms "$P50") GL_P99=$(to_ms "$P99") GL_RPS=$RPS
CONNS=$CONNS_SAT THREADS=$THREADS_SAT

run limited "http://127.0.0.1:$GW/limited"
L_ADMITTED=$((TOTAL - ${NON2XX:-0}))
L_OFFERED=$RPS

echo
echo "dtx-gateway benchmark — $(date -u +%Y-%m-%dT%H:%MZ), $CORES cores, wrk -t$THREADS -c$CONNS -d${SECS}s"
echo
echo "| path | requests/s | p50 ms | p99 ms | p99 added over direct, ms |"
echo "| --- | ---: | ---: | ---: | ---: |"
printf '| direct upstream | %.0f | %s | %s | — |\n' "$D_RPS" "$D_P50" "$D_P99"
printf '| nginx proxy_pass (%d workers, keep-alive) | %.0f | %s | %s | %.3f |\n' "$CORES" "$N_RPS" "$N_P50" "$N_P99" "$(awk -v a="$N_P99" -v b="$D_P99" 'BEGIN{print a-b}')"
printf '| dtx-gateway (rate limit + breaker on) | %.0f | %s | %s | %.3f |\n' "$G_RPS" "$G_P50" "$G_P99" "$(awk -v a="$G_P99" -v b="$D_P99" 'BEGIN{print a-b}')"
echo
awk -v g="$G_RPS" -v n="$N_RPS" 'BEGIN { printf "throughput ratio gateway / nginx: %.2f (target >= 0.80)\n", g / n }'
echo
echo "light load (wrk -t1 -c4 -d${SECS}s): where added latency is the proxy's own cost, not queueing"
echo
echo "| path | requests/s | p50 ms | p99 ms | p99 added over direct, ms |"
echo "| --- | ---: | ---: | ---: | ---: |"
printf '| direct upstream | %.0f | %s | %s | — |\n' "$DL_RPS" "$DL_P50" "$DL_P99"
printf '| nginx proxy_pass | %.0f | %s | %s | %.3f |\n' "$NL_RPS" "$NL_P50" "$NL_P99" "$(awk -v a="$NL_P99" -v b="$DL_P99" 'BEGIN{print a-b}')"
printf '| dtx-gateway | %.0f | %s | %s | %.3f |\n' "$GL_RPS" "$GL_P50" "$GL_P99" "$(awk -v a="$GL_P99" -v b="$DL_P99" 'BEGIN{print a-b}')"
echo
echo "gateway non-2xx answers during the run: $G_ERR"
awk -v adm="$L_ADMITTED" -v t="$ELAPSED" -v r="$RATE" -v off="$L_OFFERED" 'BEGIN {
    rate = adm / t
    printf "admitted-rate accuracy: limit %d r/s (leaky bucket, burst 50), offered %.0f r/s for %.2f s, admitted %.1f r/s = %+.2f%% of the limit (target within 2%%)\n", r, off, t, rate, (rate - r) * 100 / r }'
