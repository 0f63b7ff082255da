#!/usr/bin/env bash
# tests/stages/monitoring.sh — docs/monitoring/ holds: the alert rules pass
# `promtool check rules`; `promtool test rules` fires every alert on
# synthetic series (dtx-alerts.test.yml; check.py fails an alert with no
# case where it fires); the Grafana dashboard is valid JSON of the expected
# shape and its queries parse as PromQL; and every metric name the rules and
# the dashboard use is in the /metrics output of a real dtxd and a real
# dtx-gateway started here (against the test PostgreSQL), so a renamed
# metric fails this stage; and both /metrics pass `promtool check metrics`
# (each family once, with # HELP and # TYPE).
#
# Needs promtool (Debian prometheus, scripts/deps.d/base-monitoring.list),
# python3-yaml, curl, and the DTX_TEST_* variables of tests/run.sh.
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$ROOT"
M=docs/monitoring
for v in DTX_TEST_PGHOST DTX_TEST_PGPORT DTX_TEST_BIN DTX_TEST_DIR; do
    [ -n "${!v:-}" ] || { echo "monitoring: $v is not set (run from tests/run.sh)" >&2; exit 2; }
done
command -v promtool >/dev/null ||
    { echo "monitoring: promtool is missing: scripts/deps.sh (Debian prometheus)" >&2; exit 1; }
for b in dtxd dtx-gateway; do
    [ -x "$DTX_TEST_BIN/$b" ] || { echo "monitoring: $DTX_TEST_BIN/$b is missing" >&2; exit 2; }
done
W=$(mktemp -d "$DTX_TEST_DIR/monitoring.XXXXXX")

echo "monitoring: promtool check rules"
promtool check rules "$M/dtx-alerts.yml"
echo "monitoring: promtool test rules"
(cd "$M" && promtool test rules dtx-alerts.test.yml)
python3 tests/monitoring/check.py structure "$M" "$W/dashboard-queries.yml"
echo "monitoring: the dashboard's queries parse"
promtool check rules "$W/dashboard-queries.yml"

pids=()
cleanup() {
    local rc=$?
    set +e
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
    done
    [ "$rc" -eq 0 ] || { echo "monitoring: FAILED; files in $W" >&2; tail -n 20 "$W"/*.log >&2; }
    exit "$rc"
}
trap cleanup EXIT
wait_file() {  # wait_file FILE WHAT
    for _ in $(seq 150); do [ -s "$1" ] && return 0; sleep 0.1; done
    echo "monitoring: $2 did not start" >&2
    return 1
}

db=monitoring_$$
tests/harness/pg.sh createdb "$DTX_TEST_PGHOST" "$db"
base="host=$DTX_TEST_PGHOST port=$DTX_TEST_PGPORT user=postgres"
"$DTX_TEST_BIN/dtxd" --db "$base dbname=$db" --listen 'tcp://127.0.0.1:*' \
    --endpoint-file "$W/endpoint" --http-listen 127.0.0.1:0 --http-url-file "$W/url" \
    >"$W/dtxd.log" 2>&1 &
pids+=($!)
wait_file "$W/url" dtxd
cat >"$W/gateway.json" <<JSON
{
  "pools": [ { "name": "p", "targets": [ "http://127.0.0.1:9" ] } ],
  "rules": [
    { "name": "per-client", "type": "rate_limit", "rate": 50, "burst": 20, "nodelay": true,
      "key": "client_ip" },
    { "name": "brk", "type": "breaker", "consecutive_failures": 3, "open_ms": 5000 },
    { "name": "cc", "type": "concurrency", "max": 100 }
  ],
  "routes": [ { "name": "all", "match": { "prefix": "/" }, "pool": "p",
                "rules": [ "per-client", "brk", "cc" ] },
              { "name": "cached", "match": { "prefix": "/cached" }, "pool": "p",
                "cache": { "ttl_s": 10 } } ]
}
JSON
"$DTX_TEST_BIN/dtx-gateway" --config "$W/gateway.json" --listen 127.0.0.1:0 \
    --admin-listen 127.0.0.1:0 --ready-file "$W/gateway.ready" >"$W/gateway.log" 2>&1 &
pids+=($!)
wait_file "$W/gateway.ready" dtx-gateway
read -r _ admin <"$W/gateway.ready"
# The lease is taken a moment after the HTTP listener is up.
for _ in $(seq 100); do
    curl -sf "$(cat "$W/url")/metrics" >"$W/dtxd.metrics" && grep -q '^dtx_lease_held 1' "$W/dtxd.metrics" && break
    sleep 0.1
done
# A request on each route, so the per-route, per-rule and per-key series exist.
read -r proxy _ <"$W/gateway.ready"
curl -s "http://127.0.0.1:$proxy/x" "http://127.0.0.1:$proxy/cached/x" >/dev/null || true
curl -sf "http://127.0.0.1:$admin/metrics" >"$W/gateway.metrics"
echo "monitoring: metric names against dtxd ($(wc -l <"$W/dtxd.metrics") lines) and the gateway ($(wc -l <"$W/gateway.metrics") lines)"
python3 tests/monitoring/check.py names "$M" "$W/dtxd.metrics" "$W/gateway.metrics"
# Every family once, with # HELP and # TYPE (promtool exits non-zero on a
# family without them or on a malformed line).
echo "monitoring: promtool check metrics on dtxd's and the gateway's /metrics"
promtool check metrics <"$W/dtxd.metrics"
promtool check metrics <"$W/gateway.metrics"
echo "monitoring: ok"
