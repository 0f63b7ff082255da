#!/usr/bin/env bash
# samples/order/demo.sh — the 2PC order demo: one order writes to two
# PostgreSQL databases atomically.
#
#   BUILD=build samples/order/demo.sh
#
# Starts, under .run/order-demo/ in the repository, a private PostgreSQL
# with the databases dtx (the coordinator's log), orders and inventory;
# then dtxd and two order-participants (resource "orders" over database
# orders, resource "inventory" over database inventory, stock seeded);
# places a batch of orders as 2PC transactions — some commit, some are
# voted down at PREPARE (out of stock, unknown item), one is rolled back by
# its client — waits until every transaction is final, prints the outcome
# of each and both databases, and checks that:
#   - every committed order is in orders AND has its stock move in
#     inventory, and no aborted order is in either;
#   - each item's stock is its seed minus the committed orders' quantities;
#   - no prepared transaction is left (pg_prepared_xacts is empty).
# Exits non-zero when anything is off. Everything it started is stopped on
# exit, also on failure or Ctrl-C.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$ROOT"
BUILD=${BUILD:-build}
case $BUILD in
/*) BIN=$BUILD/bin ;;
*) BIN=$ROOT/$BUILD/bin ;;
esac
RUN=$ROOT/.run/order-demo
DEMO="order demo"

# shellcheck source=samples/demo-lib.sh
. samples/demo-lib.sh

for b in dtxd dtxctl order-participant order-client; do
    [ -x "$BIN/$b" ] || die "$BIN/$b is missing: run 'make' first"
done

demo_start_pg dtx orders inventory
DTX_DB="$BASE dbname=dtx"

echo "== keys (dtxctl keygen; allow-list $RUN/keys/allow)"
demo_keys
demo_key orders orders participant:orders
KEY_O=$KEY
demo_key inventory inventory participant:inventory
KEY_I=$KEY
demo_key shop shop initiator
KEY_S=$KEY

echo "== starting dtxd"
start dtxd "$BIN/dtxd" --db "$DTX_DB" --listen 'tcp://127.0.0.1:*' "${DTXD_CURVE[@]}" \
    --endpoint-file "$RUN/dtxd.endpoint" --node-id order-demo --log-level info
wait_file "$RUN/dtxd.endpoint" dtxd
EP=$(head -n 1 "$RUN/dtxd.endpoint")
echo "   dtxd listens on $EP"

SEED="widget=5,gadget=2,gizmo=0"
echo "== starting the participants (stock: $SEED)"
start orders env DTX_CURVE_KEY_FILE="$KEY_O" "$BIN/order-participant" --resource orders --db "$BASE dbname=orders" \
    --coordinator "$EP" --ready-file "$RUN/orders.ready"
wait_file "$RUN/orders.ready" orders
start inventory env DTX_CURVE_KEY_FILE="$KEY_I" "$BIN/order-participant" --resource inventory --db "$BASE dbname=inventory" \
    --coordinator "$EP" --seed "$SEED" --ready-file "$RUN/inventory.ready"
wait_file "$RUN/inventory.ready" inventory

cat >"$RUN/orders.txt" <<'EOF'
# order  customer  item      qty
o-1      alice     widget    2
o-2      bob       gadget    1
o-3      carol     gadget    2              # out of stock: 1 left
o-4      dave      widget    3
o-5      erin      widget    1              # out of stock: 0 left
o-6      frank     gizmo     1              # out of stock: never had any
o-7      grace     gadget    1   rollback   # the client changes its mind
o-8      heidi     gadget    1
o-9      ivan      sprocket  1              # unknown item
EOF

echo "== orders (order-client --file $RUN/orders.txt --wait-final)"
set +e
DTX_CURVE_KEY_FILE="$KEY_S" "$BIN/order-client" --coordinator "$EP" --file "$RUN/orders.txt" --wait-final \
    --wait-timeout-ms 60000 >"$RUN/order-client.out" 2>"$RUN/order-client.log"
client_rc=$?
set -e
cat "$RUN/order-client.out"
if [ "$client_rc" -ne 0 ]; then
    show_log "$RUN/order-client.log"
    show_log "$RUN/dtxd.log"
    die "order-client exited with status $client_rc"
fi

echo
echo "== the coordinator's log"
"$PSQL" -X -q -At -v ON_ERROR_STOP=1 -d "$DTX_DB" -c "
    SELECT dtx_state_name(state) || ': ' || count(*) FROM dtx_global GROUP BY state ORDER BY state"
echo
echo "== database orders: orders"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -P footer=off -d "$BASE dbname=orders" \
    -c "SELECT id AS order, customer, item, qty FROM orders ORDER BY id"
echo "== database inventory: stock and stock_moves"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -P footer=off -d "$BASE dbname=inventory" \
    -c "SELECT item, qty AS in_stock FROM stock ORDER BY item"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -P footer=off -d "$BASE dbname=inventory" \
    -c "SELECT order_id AS order, item, qty FROM stock_moves ORDER BY order_id"

ok=1
committed=$(awk 'NR > 1 && $NF == "committed" { print $2 }' "$RUN/order-client.out" | sort | paste -sd, -)
in_orders=$(q orders "SELECT coalesce(string_agg(id, ',' ORDER BY id), '') FROM orders")
in_moves=$(q inventory "SELECT coalesce(string_agg(order_id, ',' ORDER BY order_id), '') FROM stock_moves")
expected="o-1,o-2,o-4,o-8"
echo
echo "committed orders: client [$committed], orders [$in_orders], stock moves [$in_moves]"
if [ "$committed" != "$expected" ]; then
    echo "order demo: the client committed [$committed], expected [$expected]" >&2
    ok=0
fi
if [ "$in_orders" != "$committed" ] || [ "$in_moves" != "$committed" ]; then
    echo "order demo: the two databases disagree with the committed orders" >&2
    ok=0
fi
# Each item: stock = seed - committed quantities.
IFS=, read -ra seeds <<<"$SEED"
for s in "${seeds[@]}"; do
    item=${s%%=*}
    seed=${s#*=}
    have=$(q inventory "SELECT qty FROM stock WHERE item = '$item'")
    sold=$(q orders "SELECT coalesce(sum(qty), 0) FROM orders WHERE item = '$item'")
    if [ $((seed - sold)) -ne "$have" ]; then
        echo "order demo: $item: seeded $seed, sold $sold, but $have in stock" >&2
        ok=0
    fi
done
echo "stock = seed - committed orders for every item: $([ $ok -eq 1 ] && echo yes || echo NO)"
prepared=$(q postgres "SELECT count(*) FROM pg_prepared_xacts")
echo "prepared transactions left: $prepared"
[ "$prepared" -eq 0 ] || ok=0
unfinished=$(q dtx "SELECT count(*) FROM dtx_global WHERE state NOT IN (3, 5)")
if [ "$unfinished" -ne 0 ]; then
    echo "order demo: $unfinished transactions are not committed or aborted" >&2
    ok=0
fi
[ "$ok" -eq 1 ] || die "the demo's checks failed"
echo "order demo: ok"
