#!/usr/bin/env bash
# samples/gateway/demo.sh — the bank transfer behind dtx-gateway.
#
#   BUILD=build samples/gateway/demo.sh
#
# Starts a private PostgreSQL, dtxd, the two bank participants of
# samples/bank, the transfer service (gw-transfer-service) and dtx-gateway
# with samples/gateway/gateway.json (ports replaced by free ones). Then
# sends transfers through the gateway with curl: the gateway BEGINs each
# transaction, the service runs debit and credit in it, and the gateway
# COMMITs on 2xx, ROLLs BACK otherwise. Checks that money was conserved and
# that no transaction is left unfinished; stops everything it started.
# The admin API's token is made fresh at each start (random, in a 0600
# file given with --admin-token-file): the sample ships none.
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$ROOT"
BUILD=${BUILD:-build}
case $BUILD in /*) BIN=$BUILD/bin ;; *) BIN=$ROOT/$BUILD/bin ;; esac
RUN=$ROOT/.run/gateway-demo
PGDIR=$RUN/pg
PG=tests/harness/pg.sh
PSQL=/usr/lib/postgresql/15/bin/psql
[ -x "$PSQL" ] || PSQL=psql
pids=()

cleanup() {
    local rc=$? p
    trap - EXIT
    set +e
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    "$PG" stop "$PGDIR" >/dev/null 2>&1
    [ "$rc" -eq 0 ] || echo "gateway demo: FAILED; logs in $RUN" >&2
    exit "$rc"
}
trap cleanup EXIT
start() { local name=$1; shift; "$@" >"$RUN/$name.log" 2>&1 & pids+=("$!"); }
wait_file() {
    local n=0
    until [ -s "$1" ]; do
        n=$((n + 1)); [ $n -lt 150 ] || { tail -20 "$RUN/$2.log" >&2; exit 1; }
        sleep 0.1
    done
}
q() { "$PSQL" -X -q -At -v ON_ERROR_STOP=1 -d "$BASE dbname=$1" -c "$2"; }

for b in dtxd dtxctl bank-participant dtx-gateway gw-transfer-service; do
    [ -x "$BIN/$b" ] || { echo "gateway demo: $BIN/$b missing (make)" >&2; exit 1; }
done
[ -d "$PGDIR/data" ] && "$PG" stop "$PGDIR" >/dev/null 2>&1 || true
rm -rf -- "$RUN"; mkdir -p "$RUN"; chmod 0755 "$ROOT/.run" "$RUN"

BASE=$("$PG" start "$PGDIR")
for db in dtx bank_a bank_b; do "$PG" createdb "$PGDIR" "$db"; done
# CurveZMQ keys: dtxd's pair, one per peer, and the allow-list. The gateway
# and the transfer service share the name "transfers": the service joins the
# transactions the gateway begins (docs/operations.md, "Keys").
# shellcheck source=tests/harness/curve.sh
. tests/harness/curve.sh
curve_init "$RUN/keys"
key() { curve_peer "$RUN/keys" "$@" >/dev/null; }  # key FILE NAME ROLES...
key bank-a bank-a participant:bank-a
key bank-b bank-b participant:bank-b
key service transfers initiator
key gateway transfers initiator
start dtxd "$BIN/dtxd" --db "$BASE dbname=dtx" --listen 'tcp://127.0.0.1:*' \
    "${CURVE_DTXD_ARGS[@]}" \
    --endpoint-file "$RUN/dtxd.endpoint"
wait_file "$RUN/dtxd.endpoint" dtxd
EP=$(head -n 1 "$RUN/dtxd.endpoint")
start bank-a env DTX_CURVE_KEY_FILE="$RUN/keys/bank-a.keys" "$BIN/bank-participant" --resource bank-a --db "$BASE dbname=bank_a" \
    --coordinator "$EP" --seed "alice=10000,bob=5000" --ready-file "$RUN/bank-a.ready"
wait_file "$RUN/bank-a.ready" bank-a
start bank-b env DTX_CURVE_KEY_FILE="$RUN/keys/bank-b.keys" "$BIN/bank-participant" --resource bank-b --db "$BASE dbname=bank_b" \
    --coordinator "$EP" --seed "carol=8000,dave=2000" --ready-file "$RUN/bank-b.ready"
wait_file "$RUN/bank-b.ready" bank-b
start service env DTX_CURVE_KEY_FILE="$RUN/keys/service.keys" "$BIN/gw-transfer-service" --coordinator "$EP" --ready-file "$RUN/service.port"
wait_file "$RUN/service.port" service
SVC=$(cat "$RUN/service.port")

sed -e "s|tcp://127.0.0.1:7070|$EP|" -e "s|127.0.0.1:9101|127.0.0.1:$SVC|" \
    samples/gateway/gateway.json >"$RUN/gateway.json"
( umask 077; od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$RUN/admin.token" )
start gateway env DTX_CURVE_KEY_FILE="$RUN/keys/gateway.keys" "$BIN/dtx-gateway" --config "$RUN/gateway.json" --listen 127.0.0.1:0 \
    --admin-listen 127.0.0.1:0 --admin-token-file "$RUN/admin.token" --ready-file "$RUN/gateway.ready"
wait_file "$RUN/gateway.ready" gateway
read -r GW ADMIN <"$RUN/gateway.ready"
echo "== gateway on 127.0.0.1:$GW (admin $ADMIN), dtxd $EP, service :$SVC"

total() { echo $(( $(q bank_a "SELECT sum(balance + frozen) FROM accounts") +
                   $(q bank_b "SELECT sum(balance + frozen) FROM accounts") )); }
BEFORE=$(total)
send() {  # send BODY [CONTENT-TYPE]
    curl -s -o "$RUN/answer" -w '%{http_code}' -X POST "http://127.0.0.1:$GW/transfers" \
        -H "Content-Type: ${2:-application/json}" --data "$1"
}
check() {  # check WANT BODY [CT]
    local got; got=$(send "$2" "${3:-}")
    printf '   %-3s (want %s)  %s  ->  %s\n' "$got" "$1" "$2" "$(head -c 120 "$RUN/answer")"
    [ "$got" = "$1" ] || { echo "gateway demo: unexpected status" >&2; exit 1; }
}
echo "== transfers through the gateway"
check 200 '{"from":"bank-a:alice","to":"bank-b:carol","amount":2500}'
check 200 '{"from":"bank-b:dave","to":"bank-a:bob","amount":1500}'
check 409 '{"from":"bank-a:bob","to":"bank-b:dave","amount":90000}'     # insufficient funds
check 400 '{"from":"bank-a:bob","to":"bank-b:dave","amount":"12"}'      # validation
check 415 'from=a&to=b' 'application/x-www-form-urlencoded'
sleep 1
AFTER=$(total)
echo "== transactions"
"$PSQL" -X -q -P footer=off -d "$BASE dbname=dtx" \
    -c "SELECT gid, dtx_state_name(state) AS state FROM dtx_global ORDER BY created_at"
left=$(q dtx "SELECT count(*) FROM dtx_global WHERE state NOT IN (3, 5)")
echo "money before $BEFORE, after $AFTER; unfinished transactions: $left"
[ "$BEFORE" = "$AFTER" ] && [ "$left" = 0 ] || { echo "gateway demo: invariant broken" >&2; exit 1; }
echo "== admin API (token in $RUN/admin.token)"
admin() { curl -s -o /dev/null -w '%{http_code}' "$@" "http://127.0.0.1:$ADMIN/config"; }
a=$(admin); b=$(admin -H "Authorization: Bearer $(cat "$RUN/admin.token")")
echo "   GET /config without the token: $a, with it: $b"
[ "$a" = 401 ] && [ "$b" = 200 ] || { echo "gateway demo: admin token not enforced" >&2; exit 1; }
echo "== gateway metrics (route transfer)"
curl -s "http://127.0.0.1:$ADMIN/metrics" | grep -E 'route="transfer"' | grep -E "txn|invalid|requests_total" || true
echo "gateway demo: ok"
