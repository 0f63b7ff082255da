#!/usr/bin/env bash
# samples/order/demo-msg.sh — the order service's transactional message
# (docs/sagas.md, "Transactional messages"): an order service inserts an
# order and tells two consumers, mailer and stock, through its outbox;
# each has its own PostgreSQL database.
#
#   BUILD=build samples/order/demo-msg.sh     (make demo-msg)
#
# Starts, under .run/order-msg-demo/, a private PostgreSQL with the databases
# dtx (the coordinator's log), orders, mailer and stock; dtxd; the order
# service's check-back ("order-outbox service") and the consumers
# ("order-outbox consumer"). Then:
#   o-1  created and submitted: delivered to mailer and stock;
#   o-2  refused by the business rule (amount 0): the local transaction
#        rolls back, nothing is delivered;
#   o-3  committed locally, then the service "crashes" before its submit:
#        at the deadline (2 s) dtxd asks the check-back, which finds the
#        outbox row: delivered;
#   o-4  created while stock is down: mailer gets it at once, stock when it
#        is back;
# and checks that every committed order reached both inboxes exactly once,
# o-2 reached none, and every transaction in the log is final.
# Exits non-zero when anything is off; stops everything it started.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$ROOT"
BUILD=${BUILD:-build}
case $BUILD in
/*) BIN=$BUILD/bin ;;
*) BIN=$ROOT/$BUILD/bin ;;
esac
RUN=$ROOT/.run/order-msg-demo
DEMO="order msg demo"

# shellcheck source=samples/demo-lib.sh
. samples/demo-lib.sh

for b in dtxd dtxctl order-outbox; do
    [ -x "$BIN/$b" ] || die "$BIN/$b is missing: run 'make' first"
done

demo_start_pg dtx orders mailer stock
DTX_DB="$BASE dbname=dtx"

echo "== keys (dtxctl keygen; allow-list $RUN/keys/allow)"
demo_keys
demo_key orders order-service initiator participant:orders
KEY_orders=$KEY
for r in mailer stock; do
    demo_key "$r" "$r" "participant:$r"
    eval "KEY_$r=\$KEY"
done

echo "== starting dtxd"
start dtxd "$BIN/dtxd" --db "$DTX_DB" --listen 'tcp://127.0.0.1:*' "${DTXD_CURVE[@]}" \
    --endpoint-file "$RUN/dtxd.endpoint" --node-id order-msg-demo --log-level info \
    --retry-base-ms 100 --retry-max-ms 500 \
    --http-listen 127.0.0.1:0 --http-url-file "$RUN/dtxd.url"
wait_file "$RUN/dtxd.endpoint" dtxd
wait_file "$RUN/dtxd.url" dtxd
EP=$(head -n 1 "$RUN/dtxd.endpoint")
echo "   dtxd listens on $EP"

# consumer NAME [LOGNAME]: starts "order-outbox consumer" for NAME.
consumer() {
    local key_var=KEY_$1
    rm -f "$RUN/$1.ready"
    start "${2:-$1}" env DTX_CURVE_KEY_FILE="${!key_var}" "$BIN/order-outbox" consumer --resource "$1" \
        --db "$BASE dbname=$1" --coordinator "$EP" --ready-file "$RUN/$1.ready"
    wait_file "$RUN/$1.ready" "${2:-$1}"
}

# stop_proc NAME: SIGTERM to a process start started; it must exit 0.
# shellcheck disable=SC2154 # pids and names are demo-lib.sh's
stop_proc() {
    local i
    for i in "${!names[@]}"; do
        [ "${names[$i]}" = "$1" ] || continue
        kill -TERM "${pids[$i]}"
        wait "${pids[$i]}" || die "$1 exited with status $? (log: $RUN/$1.log)"
        unset 'pids[i]' 'names[i]'
        return 0
    done
    die "no process $1"
}

echo "== starting the order service's check-back and the consumers mailer and stock"
start orders env DTX_CURVE_KEY_FILE="$KEY_orders" "$BIN/order-outbox" service --db "$BASE dbname=orders" \
    --coordinator "$EP" --ready-file "$RUN/orders.ready"
wait_file "$RUN/orders.ready" orders
consumer mailer
consumer stock

create() { # create ORDER AMOUNT [ARGS...]: runs "order-outbox create", appends to created.out
    local id=$1 amount=$2 rc=0
    shift 2
    DTX_CURVE_KEY_FILE="$KEY_orders" "$BIN/order-outbox" create --db "$BASE dbname=orders" \
        --coordinator "$EP" --order "$id" --amount "$amount" "$@" \
        >>"$RUN/created.out" 2>>"$RUN/create.log" || rc=$?
    tail -n 1 "$RUN/created.out"
    return $rc
}
gid_of() { awk -v o="$1" '$1 == o { print $2 }' "$RUN/created.out"; }
# wait_state GID STATE: up to 15 s.
wait_state() {
    local n=0
    until [ "$(q dtx "SELECT state FROM dtx_global WHERE gid = '$1'")" = "$2" ]; do
        n=$((n + 1))
        [ $n -le 150 ] || die "transaction $1 not in state $2 after 15 s"
        sleep 0.1
    done
}

echo "== o-1: created and submitted"
create o-1 30 || die "o-1: order-outbox create failed (log: $RUN/create.log)"
wait_state "$(gid_of o-1)" 3

echo "== o-2: amount 0, refused by the business rule (the local transaction rolls back)"
rc=0
create o-2 0 || rc=$?
[ "$rc" -eq 3 ] || die "o-2: order-outbox create exited $rc, expected 3 (refused)"
wait_state "$(gid_of o-2)" 5

echo "== o-3: committed locally, then the service crashes before its submit"
create o-3 45 --no-submit --timeout-ms 2000 || die "o-3: order-outbox create failed"
echo "   waiting for the deadline (2 s) and the check-back"
wait_state "$(gid_of o-3)" 3

echo "== o-4: created while stock is down"
stop_proc stock
create o-4 12 || die "o-4: order-outbox create failed"
sleep 1.5
echo "   after 1.5 s: mailer has it: $(q mailer "SELECT count(*) FROM inbox WHERE gid = '$(gid_of o-4)'")," \
     "stock has it: $(q stock "SELECT count(*) FROM inbox WHERE gid = '$(gid_of o-4)'")"
echo "   stock is back"
consumer stock stock-2
wait_state "$(gid_of o-4)" 3

G1=$(gid_of o-1) G2=$(gid_of o-2) G3=$(gid_of o-3) G4=$(gid_of o-4)
name_of="CASE gid WHEN '$G1' THEN 'o-1' WHEN '$G2' THEN 'o-2' WHEN '$G3' THEN 'o-3' WHEN '$G4' THEN 'o-4' END"
echo "== database orders: orders and outbox rows"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -P footer=off -d "$BASE dbname=orders" \
    -c "SELECT id, amount FROM orders ORDER BY id" \
    -c "SELECT $name_of AS message, origin AS outbox_row FROM dtx_barrier WHERE branch = 0 ORDER BY 1"
for r in mailer stock; do
    echo "== database $r: inbox"
    "$PSQL" -X -q -v ON_ERROR_STOP=1 -P footer=off -d "$BASE dbname=$r" \
        -c "SELECT $name_of AS message, what, body FROM inbox ORDER BY 1"
done

ok=1
check() { # check DB SQL EXPECTED WHAT
    local got
    got=$(q "$1" "$2")
    if [ "$got" != "$3" ]; then
        echo "$DEMO: $4: got [$got], expected [$3]" >&2
        ok=0
    fi
}
for r in mailer stock; do
    check "$r" "SELECT count(*) FROM inbox WHERE gid IN ('$G1', '$G3', '$G4')" 3 "orders received by $r"
    check "$r" "SELECT count(*) FROM inbox WHERE gid = '$G2'" 0 "o-2 received by $r"
done
check orders "SELECT string_agg(id, ',' ORDER BY id) FROM orders" "o-1,o-3,o-4" "orders"
check dtx "SELECT count(*) FROM dtx_global WHERE state NOT IN (3, 5)" 0 "unfinished transactions"
echo
echo "== dtxctl show (o-3: delivered by the check-back)"
"$BIN/dtxctl" --url "$(head -n 1 "$RUN/dtxd.url")" show "$G3" || true
[ $ok -eq 1 ] || die "checks failed"
echo
echo "$DEMO: ok (o-1 delivered; o-2 refused, nothing sent; o-3 delivered by the check-back; o-4 delivered to stock once it was back)"
