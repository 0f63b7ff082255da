#!/usr/bin/env bash
# bench/gateway/run.sh — dtx-gateway against nginx proxy_pass, same upstream,
# same load generator, one run.
#
#   BUILD=build bench/gateway/run.sh
#   BENCH_SECONDS=10 BENCH_CONNECTIONS=64 BENCH_RATE=1000 BENCH_ROUNDS=3   (defaults)
#   BENCH_RATE_SECONDS=10                                                 (default)
#   BENCH_UPSTREAM_THREADS=1 (default)  the upstream's epoll threads; with one,
#                                      gw-upstream (libmicrohttpd) collapses to a
#                                      few thousand r/s at 128-256 connections
#                                      (measured 2026-12-07): use 2 for -c256
#   BENCH_SET=all (default) | cache   (cache: direct, nginx, gateway and the
#                                      two cache-hit rows only; no identity
#                                      rows, no admitted-rate run)
#
# Needs: nginx (Debian's nginx-light is enough), wrk, openssl, and the built
# $BUILD/bin/dtx-gateway and $BUILD/tests/gw-upstream.
#
# 1. Throughput and latency: wrk drives, for BENCH_SECONDS each,
#      direct   the upstream alone (gw-upstream, fixed 13-byte answer)
#      nginx    nginx proxy_pass, keep-alive upstream, one worker per core,
#               limit_req on (a global rate never reached, as the gateway's rule)
#      gateway  dtx-gateway with a rate-limit rule (set high enough never to
#               refuse) and a circuit breaker on the route
#      apikey   the same route with an API key check (X-Api-Key; SHA-256
#               and a lookup among the consumers' digests)
#      jwt      the same route with an RS256 JWT verification (2048-bit
#               key; Authorization: Bearer, a token made with openssl)
#      nginx-cache   nginx proxy_cache serving the upstream's answer from
#               its cache (proxy_cache_valid 200 10m): every request a hit
#      gateway-cache the gateway's route cache (ttl_s 600) serving the same
#               object: every request a hit
#    in BENCH_ROUNDS rounds, interleaved (each round runs all five, the
#    order of nginx and gateway alternating, apikey and jwt after them), at saturation (wrk -c BENCH_CONNECTIONS)
#    and at light load (wrk -t1 -c4). Prints every run with the CPU that
#    other processes of the machine used meanwhile ("other CPU", in cores:
#    a busy machine skews a round), then medians and min–max over the
#    rounds: requests/s, p50, p99, the gateway/nginx throughput ratio
#    (per round, then its median) and the p99 each proxy adds over the
#    direct upstream.
# 2. Admitted-rate accuracy: offered load well above a leaky-bucket limit
#    of BENCH_RATE r/s (burst 50, nodelay), wrk -t BENCH_WRK_THREADS
#    -c BENCH_CONNECTIONS for BENCH_RATE_SECONDS — its own length, 10 s
#    unless set, whatever BENCH_SECONDS the throughput rounds use (the
#    burst's 50 extra answers add 1 % to 1000 r/s over 5 s, 0.5 % over
#    10 s). Prints the duration, the offered rate (every answer wrk got,
#    429s included, per second) and the admitted rate (answers that are
#    not 429) against the limit.
# Everything it starts is stopped on exit. Nothing here is a pass/fail
# test: the figures go in the note and in docs/gateway.md.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
BUILD=${BUILD:-build}
case $BUILD in /*) B=$BUILD ;; *) B=$ROOT/$BUILD ;; esac
SECS=${BENCH_SECONDS:-10}
RATE_SECS=${BENCH_RATE_SECONDS:-10}
case $RATE_SECS in
''|*[!0-9]*|0) echo "bench/gateway: BENCH_RATE_SECONDS must be a whole number of seconds > 0" >&2; exit 2 ;;
esac
CONNS=${BENCH_CONNECTIONS:-64}
RATE=${BENCH_RATE:-1000}
THREADS=${BENCH_WRK_THREADS:-2}
ROUNDS=${BENCH_ROUNDS:-3}
SET=${BENCH_SET:-all}
case $SET in all|cache) ;; *) echo "bench/gateway: BENCH_SET must be all or cache" >&2; exit 2 ;; esac
GW_ARGS=${BENCH_GATEWAY_ARGS:-}
CORES=$(nproc)

for tool in nginx wrk openssl sha256sum; do
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

# The upstream: epoll thread(s), a fixed answer.
UP_THREADS=${BENCH_UPSTREAM_THREADS:-1}
[[ $UP_THREADS =~ ^[1-9][0-9]?$ ]] || { echo "bench: BENCH_UPSTREAM_THREADS must be 1..99" >&2; exit 2; }
"$B/tests/gw-upstream" --name bench --threads "$UP_THREADS" --body "hello, world\n" \
    --ready-file "$WORK/up.port" >"$WORK/up.log" 2>&1 &
pids+=($!)
UP_PID=$!
wait_file "$WORK/up.port"
UP=$(cat "$WORK/up.port")

NGX_PORT=$(free_port)
mkdir -p "$WORK/nginx/cache"
# proxy_cache writes as nginx's workers (www-data when started as root)
chmod 711 "$WORK" "$WORK/nginx"
chmod 777 "$WORK/nginx/cache"
cat >"$WORK/nginx.conf" <<NGX
worker_processes $CORES;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    upstream bench { server 127.0.0.1:$UP; keepalive 256; }
    # A rule as the gateway's "wide-open" one (issue 15 compares with
    # limit_req on): one global key, a rate and burst never reached.
    limit_req_zone \$server_name zone=wide:1m rate=10000000r/s;
    proxy_cache_path $WORK/nginx/cache levels=1:2 keys_zone=bench:10m max_size=64m
                     inactive=10m use_temp_path=off;
    server {
        listen 127.0.0.1:$NGX_PORT;
        location / {
            limit_req zone=wide burst=10000000 nodelay;
            proxy_pass http://bench;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
        location /cached {
            limit_req zone=wide burst=10000000 nodelay;
            proxy_pass http://bench;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache bench;
            proxy_cache_valid 200 10m;
            proxy_cache_lock on;
            add_header X-Cache \$upstream_cache_status;
        }
    }
}
NGX
nginx -c "$WORK/nginx.conf" -p "$WORK/nginx" >"$WORK/nginx.log" 2>&1 &
pids+=($!)

# Identity rows: one API key check (SHA-256 + lookup) and one RS256 JWT
# verification per request, on routes otherwise like "bench".
API_KEY=bench-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
KEY_SHA=$(printf %s "$API_KEY" | sha256sum | cut -d' ' -f1)
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/jwt.key" 2>/dev/null
openssl pkey -in "$WORK/jwt.key" -pubout -out "$WORK/jwt.pub"
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
JWT_H=$(printf '{"alg":"RS256","typ":"JWT"}' | b64url)
JWT_P=$(printf '{"sub":"bench","exp":%d}' $(( $(date +%s) + 86400 )) | b64url)
JWT_S=$(printf '%s.%s' "$JWT_H" "$JWT_P" | openssl dgst -sha256 -sign "$WORK/jwt.key" -binary | b64url)
JWT="$JWT_H.$JWT_P.$JWT_S"

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
      "rules": [ "limit" ] },
    { "name": "apikey", "match": { "prefix": "/apikey" }, "pool": "bench",
      "rules": [ "wide-open", "breaker" ], "auth": { "api_key": {} } },
    { "name": "jwt", "match": { "prefix": "/jwt" }, "pool": "bench",
      "rules": [ "wide-open", "breaker" ], "auth": { "jwt": "bench-rs256" } },
    { "name": "cached", "match": { "prefix": "/cached" }, "pool": "bench",
      "rules": [ "wide-open", "breaker" ], "cache": { "ttl_s": 600 } }
  ],
  "consumers": [ { "name": "bench", "api_keys": [ { "key_sha256": "$KEY_SHA" } ] } ],
  "jwt": [ { "name": "bench-rs256", "algorithm": "RS256", "public_key_file": "$WORK/jwt.pub" } ]
}
GW
"$B/bin/dtx-gateway" --config "$WORK/gw.json" --log-level warn $GW_ARGS \
    --ready-file "$WORK/gw.ready" >"$WORK/gw.log" 2>&1 &
pids+=($!)
GW_PID=$!
wait_file "$WORK/gw.ready"
read -r GW _ <"$WORK/gw.ready"
for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$NGX_PORT") 2>/dev/null && break
    sleep 0.05
done

# CPU (jiffies) of every process but ours: /proc/stat busy minus the
# processes this script started (and wrk, measured by `times` below).
ours() {
    local p t=0
    for p in "${pids[@]}" $(cat "$WORK/nginx.pid" 2>/dev/null) \
             $(pgrep -P "$(cat "$WORK/nginx.pid" 2>/dev/null || echo 0)" 2>/dev/null); do
        [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
    done
    echo "$t"
}
busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
HZ=$(getconf CLK_TCK)

cpu_of() {  # cpu_of PID...: their CPU jiffies (with their threads)
    local p t=0
    for p in "$@"; do
        [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
    done
    echo "$t"
}
proxy_pids() {  # proxy_pids NAME: the processes serving that path
    case $1 in
    nginx*) echo "$(cat "$WORK/nginx.pid") $(pgrep -P "$(cat "$WORK/nginx.pid")")" ;;
    gateway*|limited) echo "$GW_PID" ;;
    *) echo "$UP_PID" ;;
    esac
}

# run NAME URL [SECONDS]: wrk with latency for SECONDS (default
# BENCH_SECONDS); sets RPS, P50, P99 (ms), NON2XX, TOTAL, ELAPSED (s),
# OTHER (cores) and CPU_US (CPU of the serving process per request, µs:
# what a request costs, whatever else the machine is doing)
run() {
    local out b0 o0 b1 o1 w0 w1 c0 c1 pp secs=${3:-$SECS}
    local -a extra=()
    [ -n "${4:-}" ] && extra=(-H "$4")   # run NAME URL SECONDS HEADER: one request header
    pp=$(proxy_pids "$1")
    # shellcheck disable=SC2086
    c0=$(cpu_of $pp)
    b0=$(busy); o0=$(ours)
    w0=$(awk '{print $16 + $17}' /proc/$$/stat)   # cutime + cstime of this shell (wrk)
    out=$(wrk -t"$THREADS" -c"$CONNS" -d"${secs}s" "${extra[@]}" --latency "$2")
    w1=$(awk '{print $16 + $17}' /proc/$$/stat)
    b1=$(busy); o1=$(ours)
    # shellcheck disable=SC2086
    c1=$(cpu_of $pp)
    echo "$out" >"$WORK/wrk-$1.txt"
    RPS=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    P50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
    P99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
    NON2XX=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")
    TOTAL=$(awk '/requests in/ {print $1}' <<<"$out")
    ELAPSED=$(awk '/requests in/ {gsub(/s,/, "", $4); print $4}' <<<"$out")
    OTHER=$(awk -v b=$((b1 - b0)) -v o=$((o1 - o0)) -v w=$((w1 - w0)) -v hz="$HZ" -v s="$secs" \
        'BEGIN { x = (b - o - w) / hz / s; if (x < 0) x = 0; printf "%.2f", x }')
    CPU_US=$(awk -v c=$((c1 - c0)) -v hz="$HZ" -v n="$TOTAL" 'BEGIN { printf "%.1f", c / hz * 1e6 / n }')
    printf '  %-14s %9.0f r/s  p50 %7.3f ms  p99 %7.3f ms  %6.1f us CPU/request  other CPU %s cores\n' \
        "$1" "$RPS" "$P50" "$P99" "$CPU_US" "$OTHER"
}

to_ms() {  # wrk prints 512.00us / 1.23ms / 1.01s
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 } }'
}

# stats FILE: "median min max" of the numbers in FILE
stats() { sort -g "$1" | awk '{ v[NR] = $1 } END {
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.3f %.3f %.3f", m, v[1], v[NR] }'; }
record() { echo "$2" >>"$WORK/s-$1"; }  # record KEY VALUE

# warm-up (connections, caches)
wrk -t"$THREADS" -c"$CONNS" -d2s "http://127.0.0.1:$GW/" >/dev/null
wrk -t"$THREADS" -c"$CONNS" -d2s "http://127.0.0.1:$NGX_PORT/" >/dev/null
# Both caches hold the object before the cache rows (the second answer
# of each must be a hit, the same 13 bytes).
curl -s -o "$WORK/direct.body" "http://127.0.0.1:$UP/cached"
for u in "http://127.0.0.1:$GW/cached" "http://127.0.0.1:$NGX_PORT/cached"; do
    curl -s -o /dev/null "$u"; sleep 0.2
    hdr=$(curl -s -D - -o "$WORK/cached.body" "$u" | tr -d '\r')
    grep -qi '^X-Cache: HIT' <<<"$hdr" || { echo "bench/gateway: $u is not a cache hit:" >&2; echo "$hdr" >&2; exit 1; }
    cmp -s "$WORK/cached.body" "$WORK/direct.body" || { echo "bench/gateway: $u answers another object" >&2; exit 1; }
done
wrk -t"$THREADS" -c"$CONNS" -d2s "http://127.0.0.1:$GW/cached" >/dev/null
wrk -t"$THREADS" -c"$CONNS" -d2s "http://127.0.0.1:$NGX_PORT/cached" >/dev/null

echo "uptime before: $(uptime)"
CONNS_SAT=$CONNS THREADS_SAT=$THREADS
G_ERR=0
for round in $(seq 1 "$ROUNDS"); do
    for load in sat light; do
        if [ $load = sat ]; then CONNS=$CONNS_SAT THREADS=$THREADS_SAT; else CONNS=4 THREADS=1; fi
        echo "round $round, $load (wrk -t$THREADS -c$CONNS -d${SECS}s)"
        run direct "http://127.0.0.1:$UP/"
        record "$load-direct-cpu" "$CPU_US"
        record "$load-direct-rps" "$RPS"; record "$load-direct-p50" "$P50"; record "$load-direct-p99" "$P99"
        D99=$P99
        order="nginx gateway"; [ $((round % 2)) = 0 ] && order="gateway nginx"
        for who in $order; do
            if [ $who = nginx ]; then run nginx "http://127.0.0.1:$NGX_PORT/"
            else run gateway "http://127.0.0.1:$GW/"; G_ERR=$((G_ERR + ${NON2XX:-0})); fi
            record "$load-$who-rps" "$RPS"; record "$load-$who-p50" "$P50"; record "$load-$who-p99" "$P99"
            record "$load-$who-add99" "$(awk -v a="$P99" -v b="$D99" 'BEGIN {print a - b}')"
            record "$load-$who-other" "$OTHER"
            record "$load-$who-cpu" "$CPU_US"
            eval "R_$who=$RPS"
        done
        record "$load-ratio" "$(awk -v g="$R_gateway" -v n="$R_nginx" 'BEGIN {print g / n}')"
        corder="nginx-cache gateway-cache"; [ $((round % 2)) = 0 ] && corder="gateway-cache nginx-cache"
        for who in $corder; do
            if [ $who = nginx-cache ]; then run nginx-cache "http://127.0.0.1:$NGX_PORT/cached"
            else run gateway-cache "http://127.0.0.1:$GW/cached"; G_ERR=$((G_ERR + ${NON2XX:-0})); fi
            record "$load-$who-rps" "$RPS"; record "$load-$who-p50" "$P50"; record "$load-$who-p99" "$P99"
            record "$load-$who-add99" "$(awk -v a="$P99" -v b="$D99" 'BEGIN {print a - b}')"
            record "$load-$who-other" "$OTHER"
            record "$load-$who-cpu" "$CPU_US"
            eval "R_${who%-cache}_cache=$RPS"
        done
        record "$load-cache-ratio" "$(awk -v g="$R_gateway_cache" -v n="$R_nginx_cache" 'BEGIN {print g / n}')"
        [ "$SET" = cache ] && continue
        for who in apikey jwt; do
            if [ $who = apikey ]; then run gateway-apikey "http://127.0.0.1:$GW/apikey" "" "X-Api-Key: $API_KEY"
            else run gateway-jwt "http://127.0.0.1:$GW/jwt" "" "Authorization: Bearer $JWT"; fi
            G_ERR=$((G_ERR + ${NON2XX:-0}))
            record "$load-$who-rps" "$RPS"; record "$load-$who-p50" "$P50"; record "$load-$who-p99" "$P99"
            record "$load-$who-add99" "$(awk -v a="$P99" -v b="$D99" 'BEGIN {print a - b}')"
            record "$load-$who-other" "$OTHER"
            record "$load-$who-cpu" "$CPU_US"
        done
    done
done
echo "uptime after: $(uptime)"
CONNS=$CONNS_SAT THREADS=$THREADS_SAT

if [ "$SET" = all ]; then
    echo "admitted-rate accuracy run (wrk -t$THREADS -c$CONNS -d${RATE_SECS}s)"
    run limited "http://127.0.0.1:$GW/limited" "$RATE_SECS"
    L_ADMITTED=$((TOTAL - ${NON2XX:-0}))
    L_OFFERED=$RPS
fi

cell() {  # cell KEY: "median (min–max)"
    read -r m lo hi <<<"$(stats "$WORK/s-$1")"
    printf '%s (%s–%s)' "$(fmt "$m")" "$(fmt "$lo")" "$(fmt "$hi")"
}
fmt() { awk -v v="$1" 'BEGIN { if (v >= 100) printf "%.0f", v; else printf "%.3f", v }'; }

table() {  # table LOAD
    echo "| path | requests/s | p50 ms | p99 ms | p99 added over direct, ms | CPU µs / request | other CPU, cores |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    printf '| direct upstream | %s | %s | %s | — | %s | |\n' "$(cell "$1-direct-rps")" \
        "$(cell "$1-direct-p50")" "$(cell "$1-direct-p99")" "$(cell "$1-direct-cpu")"
    printf '| nginx proxy_pass (%d workers, keep-alive) | %s | %s | %s | %s | %s | %s |\n' "$CORES" \
        "$(cell "$1-nginx-rps")" "$(cell "$1-nginx-p50")" "$(cell "$1-nginx-p99")" \
        "$(cell "$1-nginx-add99")" "$(cell "$1-nginx-cpu")" "$(cell "$1-nginx-other")"
    printf '| dtx-gateway (rate limit + breaker on) | %s | %s | %s | %s | %s | %s |\n' \
        "$(cell "$1-gateway-rps")" "$(cell "$1-gateway-p50")" "$(cell "$1-gateway-p99")" \
        "$(cell "$1-gateway-add99")" "$(cell "$1-gateway-cpu")" "$(cell "$1-gateway-other")"
    printf '| nginx proxy_cache hit | %s | %s | %s | %s | %s | %s |\n' \
        "$(cell "$1-nginx-cache-rps")" "$(cell "$1-nginx-cache-p50")" "$(cell "$1-nginx-cache-p99")" \
        "$(cell "$1-nginx-cache-add99")" "$(cell "$1-nginx-cache-cpu")" "$(cell "$1-nginx-cache-other")"
    printf '| dtx-gateway cache hit | %s | %s | %s | %s | %s | %s |\n' \
        "$(cell "$1-gateway-cache-rps")" "$(cell "$1-gateway-cache-p50")" "$(cell "$1-gateway-cache-p99")" \
        "$(cell "$1-gateway-cache-add99")" "$(cell "$1-gateway-cache-cpu")" "$(cell "$1-gateway-cache-other")"
    if [ "$SET" = all ]; then
    printf '| dtx-gateway + one API key check | %s | %s | %s | %s | %s | %s |\n' \
        "$(cell "$1-apikey-rps")" "$(cell "$1-apikey-p50")" "$(cell "$1-apikey-p99")" \
        "$(cell "$1-apikey-add99")" "$(cell "$1-apikey-cpu")" "$(cell "$1-apikey-other")"
    printf '| dtx-gateway + one RS256 JWT verification | %s | %s | %s | %s | %s | %s |\n' \
        "$(cell "$1-jwt-rps")" "$(cell "$1-jwt-p50")" "$(cell "$1-jwt-p99")" \
        "$(cell "$1-jwt-add99")" "$(cell "$1-jwt-cpu")" "$(cell "$1-jwt-other")"
    fi
    echo
    printf 'throughput ratio gateway / nginx, per round: median %s (issue 15: >= 1.10)\n' "$(cell "$1-ratio")"
    printf 'cache hits, throughput ratio gateway / nginx proxy_cache, per round: median %s\n' "$(cell "$1-cache-ratio")"
}

echo
echo "dtx-gateway benchmark — $(date -u +%Y-%m-%dT%H:%MZ), $CORES cores, $ROUNDS rounds of ${SECS}s, median (min–max)"
echo
echo "saturation (wrk -t$THREADS -c$CONNS):"
echo
table sat
echo
echo "light load (wrk -t1 -c4): where added latency is the proxy's own cost, not queueing"
echo
table light
echo
echo "gateway non-2xx answers during the runs: $G_ERR"
if [ "$SET" = all ]; then awk -v adm="$L_ADMITTED" -v t="$ELAPSED" -v d="$RATE_SECS" -v r="$RATE" -v off="$L_OFFERED" \
    -v w="wrk -t$THREADS -c$CONNS" 'BEGIN {
    rate = adm / t
    printf "admitted-rate accuracy: limit %d r/s (leaky bucket, burst 50), offered %.0f r/s (%s) for %s s (measured %.2f s), admitted %.1f r/s = %+.2f%% of the limit (target within 2%%)\n", r, off, w, d, t, rate, (rate - r) * 100 / r }'
fi
