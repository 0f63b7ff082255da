#!/usr/bin/env bash
# tests/browser/run.sh — the console's browser test, self-contained:
# installs Debian's chromium and the npm package playwright-core when
# missing, starts its own PostgreSQL, dtxd (admin HTTP on a free port, a
# token) and a test participant that fails its first two confirms, makes
# one transaction stuck with dtxctl and a few others (one of two branches),
# makes two Sagas (one stuck compensating, one committed past its pivot),
# runs console.test.js (which checks the plots of the last hour, resumes the
# stuck one in the browser and sees it commit, checks the waterfalls, draws
# both Sagas' plans and resumes the stuck one until compensated, saving
# screenshots to docs/img/),
# and stops everything it started.
#
#   BUILD=build tests/browser/run.sh        (after make BUILD=build all)
#   DTX_SHOTS=dir                           where screenshots go (default docs/img)
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$ROOT"
BUILD=${BUILD:-build}
case $BUILD in /*) B=$BUILD ;; *) B=$ROOT/$BUILD ;; esac
for f in "$B/bin/dtxd" "$B/bin/dtxctl" "$B/tests/test-participant"; do
    [ -x "$f" ] || { echo "browser: $f is missing (make BUILD=$BUILD all)" >&2; exit 2; }
done

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v npm >/dev/null || need+=(nodejs npm)
if [ ${#need[@]} -gt 0 ]; then
    echo "browser: installing ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ ! -d tests/browser/node_modules/playwright-core ]; then
    (cd tests/browser && npm ci --no-audit --no-fund --silent)
fi

WORK=$(mktemp -d /tmp/dtx-browser.XXXXXX)
chmod 0755 "$WORK"
pids=()
cleanup() {
    local rc=$?
    set +e
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
    done
    tests/harness/pg.sh stop "$WORK/pg" >/dev/null 2>&1
    if [ "$rc" -ne 0 ]; then
        echo "browser: FAILED; logs in $WORK" >&2
        tail -n 30 "$WORK"/dtxd.log >&2 || true
    else
        rm -rf -- "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

base=$(tests/harness/pg.sh start "$WORK/pg")
tests/harness/pg.sh createdb "$WORK/pg" browser_log
tests/harness/pg.sh createdb "$WORK/pg" browser_part
token="browser-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf 'browser-test:%s\n' "$token" > "$WORK/tokens"
chmod 600 "$WORK/tokens"

"$B/bin/dtxd" --db "$base dbname=browser_log" --listen 'tcp://127.0.0.1:*' \
    --endpoint-file "$WORK/endpoint" --http-listen 127.0.0.1:0 --http-url-file "$WORK/url" \
    --admin-token-file "$WORK/tokens" --max-attempts 2 --retry-base-ms 50 --retry-max-ms 200 \
    --phase-timeout-ms 500 --heartbeat-ms 200 >"$WORK/dtxd.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$WORK/endpoint" ] && break; sleep 0.1; done
[ -s "$WORK/endpoint" ] || { echo "browser: dtxd did not start" >&2; exit 1; }
url=$(cat "$WORK/url")
"$B/tests/test-participant" --instance inventory-1 --db "$base dbname=browser_part" \
    --coordinator "$(cat "$WORK/endpoint")" --resource inventory --resource payments \
    --fail-confirm-times 2 --refuse-action decline --fail-op-times compensate:2 \
    --heartbeat-ms 200 --ready-file "$WORK/ready" >"$WORK/participant.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -e "$WORK/ready" ] && break; sleep 0.1; done

export DTX_URL=$url DTX_TOKEN=$token
ctl() { "$B/bin/dtxctl" "$@"; }
# A few that commit, one that stays stuck (its confirms fail twice: the
# retry budget of 2 is spent), one rolled back.
gid=$(ctl begin --timeout-ms 600000)
ctl try "$gid" inventory reserve sku-42 >/dev/null
ctl end "$gid" commit >/dev/null
for _ in $(seq 100); do
    [ "$(ctl status "$gid" | cut -d' ' -f2)" = stuck ] && break
    sleep 0.1
done
[ "$(ctl status "$gid" | cut -d' ' -f2)" = stuck ] || { echo "browser: $gid did not get stuck" >&2; exit 1; }
for i in 1 2 3; do
    g=$(ctl begin)
    ctl try "$g" inventory reserve "sku-$i" >/dev/null
    ctl end "$g" commit >/dev/null
done
g=$(ctl begin)
ctl try "$g" payments debit 5 >/dev/null
ctl end "$g" rollback >/dev/null
# About ten seconds of traffic (one in four rolled back), so the plots of
# the last hour have a shape.
end=$((SECONDS + 10))
i=0
while [ $SECONDS -lt $end ]; do
    i=$((i + 1))
    g=$(ctl begin)
    ctl try "$g" inventory reserve "sku-load-$i" >/dev/null
    if [ $((i % 4)) -eq 0 ]; then ctl end "$g" rollback >/dev/null; else ctl end "$g" commit >/dev/null; fi
done
# Two branches, committed: the waterfall's rows.
gid2=$(ctl begin)
ctl try "$gid2" inventory reserve sku-7 >/dev/null
ctl try "$gid2" payments debit 12 >/dev/null
ctl end "$gid2" commit >/dev/null
for _ in $(seq 100); do
    [ "$(ctl status "$gid2" | cut -d' ' -f2)" = committed ] && break
    sleep 0.1
done

# Two Sagas (POST /api/v1/saga): a concurrent plan whose third step is
# refused and whose first compensation fails twice (the budget of 2: stuck
# while compensating); a sequential one with a pivot, committed.
saga() {
    curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
        -d "$1" "$url/api/v1/saga" | sed -n 's/.*"gid": *"\([^"]*\)".*/\1/p'
}
saga1=$(saga '{"timeout_ms":600000,"steps":[
  {"resource":"inventory","action":"reserve","compensation":"release","payload":"sku-9"},
  {"resource":"payments","action":"hold","compensation":"unhold","payload":"30"},
  {"resource":"inventory","action":"decline","compensation":"restock","after":[1,2]}]}')
saga2=$(saga '{"timeout_ms":600000,"steps":[
  {"resource":"inventory","action":"reserve","compensation":"release"},
  {"resource":"payments","action":"charge","pivot":true},
  {"resource":"inventory","action":"ship","compensation":"unship"}]}')
if [ -z "$saga1" ] || [ -z "$saga2" ]; then
    echo "browser: a Saga was not submitted" >&2
    exit 1
fi
for _ in $(seq 100); do
    [ "$(ctl status "$saga1" | cut -d' ' -f2)" = stuck ] && [ "$(ctl status "$saga2" | cut -d' ' -f2)" = committed ] && break
    sleep 0.1
done
[ "$(ctl status "$saga1" | cut -d' ' -f2)" = stuck ] || { echo "browser: Saga $saga1 did not get stuck" >&2; exit 1; }

DTX_GID=$gid DTX_GID2=$gid2 DTX_SAGA1=$saga1 DTX_SAGA2=$saga2 DTX_SHOTS=${DTX_SHOTS:-$ROOT/docs/img} node tests/browser/console.test.js
