#!/usr/bin/env bash
# samples/bank/demo.sh — the bank transfer demo behind `make demo`.
#
#   BUILD=build samples/bank/demo.sh
#
# Starts, under .run/demo/ in the repository, a private PostgreSQL with the
# databases dtx (the coordinator's log), bank_a and bank_b; then dtxd and
# one bank-participant per bank (seeded); runs a batch of transfers in
# which some commit, some are refused in Try for insufficient funds (and so
# are cancelled), and one is rolled back by its initiator after both tries
# succeeded; waits until every transaction is final; and prints each
# transaction's outcome from the coordinator's log, the balances of both
# banks and whether money was conserved. Exits non-zero when anything is
# off. Everything it started is stopped on exit, also on failure or Ctrl-C.
#
# DTX_DEMO_MODE=2pc runs the same batch as 2PC transactions (bank-transfer
# --mode 2pc): the transfers enlist, the banks prepare at COMMIT and vote
# there, and the demo also checks that no prepared transaction is left.
# The default (tcc) run is the TCC demo.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$ROOT"
BUILD=${BUILD:-build}
case $BUILD in
/*) BIN=$BUILD/bin ;;
*) BIN=$ROOT/$BUILD/bin ;;
esac
RUN=$ROOT/.run/demo
DEMO=demo
MODE=${DTX_DEMO_MODE:-tcc}
case $MODE in
tcc) MODE_ARGS=() ;;
2pc) MODE_ARGS=(--mode 2pc) ;;
*)
    echo "demo: DTX_DEMO_MODE is tcc or 2pc, not '$MODE'" >&2
    exit 2
    ;;
esac

# shellcheck source=samples/demo-lib.sh
. samples/demo-lib.sh

for b in dtxd dtxctl bank-participant bank-transfer; do
    [ -x "$BIN/$b" ] || die "$BIN/$b is missing: run 'make' (or make demo) first"
done

demo_start_pg dtx bank_a bank_b
DTX_DB="$BASE dbname=dtx"
BANK_A_DB="$BASE dbname=bank_a"
BANK_B_DB="$BASE dbname=bank_b"

echo "== keys (dtxctl keygen; allow-list $RUN/keys/allow)"
demo_keys
demo_key bank-a bank-a participant:bank-a
KEY_A=$KEY
demo_key bank-b bank-b participant:bank-b
KEY_B=$KEY
demo_key transfer teller initiator
KEY_T=$KEY

echo "== starting dtxd"
start dtxd "$BIN/dtxd" --db "$DTX_DB" --listen 'tcp://127.0.0.1:*' "${DTXD_CURVE[@]}" \
    --endpoint-file "$RUN/dtxd.endpoint" --node-id demo --log-level info
wait_file "$RUN/dtxd.endpoint" dtxd
EP=$(head -n 1 "$RUN/dtxd.endpoint")
echo "   dtxd listens on $EP"

echo "== starting the banks"
start bank-a env DTX_CURVE_KEY_FILE="$KEY_A" "$BIN/bank-participant" --resource bank-a --db "$BANK_A_DB" \
    --coordinator "$EP" --seed "alice=10000,bob=5000" --ready-file "$RUN/bank-a.ready"
wait_file "$RUN/bank-a.ready" bank-a
start bank-b env DTX_CURVE_KEY_FILE="$KEY_B" "$BIN/bank-participant" --resource bank-b --db "$BANK_B_DB" \
    --coordinator "$EP" --seed "carol=8000,dave=2000" --ready-file "$RUN/bank-b.ready"
wait_file "$RUN/bank-b.ready" bank-b

# balance + frozen, summed over both banks: the money there is.
total() {
    local a b
    a=$(q bank_a "SELECT coalesce(sum(balance + frozen), 0) FROM accounts")
    b=$(q bank_b "SELECT coalesce(sum(balance + frozen), 0) FROM accounts")
    echo $((a + b))
}
BEFORE=$(total)
cents() { # 25000 -> 250.00
    printf '%d.%02d' $(($1 / 100)) $(($1 % 100))
}

# Amounts in cents. Transfers run one after the other, but confirms and
# cancels run in the background, so each outcome below holds whether or not
# earlier credits and refunds have landed yet.
cat >"$RUN/transfers.txt" <<'EOF'
# from            to              cents
bank-a:alice  ->  bank-b:carol    2500
bank-b:dave   ->  bank-a:bob      1500
bank-a:bob    ->  bank-b:dave     9000             # insufficient funds
bank-b:carol  ->  bank-a:alice    4000
bank-a:alice  ->  bank-b:dave     3000  rollback   # the initiator changes its mind
bank-b:dave   ->  bank-a:alice    5000             # insufficient funds
bank-a:bob    ->  bank-b:carol    1200
bank-b:carol  ->  bank-a:bob    100000             # insufficient funds
bank-a:alice  ->  bank-b:carol     700
bank-b:dave   ->  bank-a:alice     400
EOF

echo "== transfers (bank-transfer --file $RUN/transfers.txt --wait-final${MODE_ARGS[*]:+ ${MODE_ARGS[*]}})"
set +e
DTX_CURVE_KEY_FILE="$KEY_T" "$BIN/bank-transfer" --coordinator "$EP" --file "$RUN/transfers.txt" --wait-final \
    --wait-timeout-ms 60000 ${MODE_ARGS[@]+"${MODE_ARGS[@]}"} 2>"$RUN/bank-transfer.log"
transfer_rc=$?
set -e
if [ "$transfer_rc" -ne 0 ]; then
    show_log "$RUN/bank-transfer.log"
    show_log "$RUN/dtxd.log"
    die "bank-transfer exited with status $transfer_rc"
fi

echo
echo "== the coordinator's log (dtx_global, dtx_branch_now)"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -P footer=off -d "$DTX_DB" -c "
    SELECT g.gid,
           dtx_state_name(g.state) AS state,
           string_agg(b.resource || ' ' || b.action || ': ' || dtx_branch_state_name(b.state),
                      ', ' ORDER BY b.branch_no) AS branches
      FROM dtx_global g LEFT JOIN dtx_branch_now b USING (gid)
     GROUP BY g.gid, g.state, g.created_at
     ORDER BY g.created_at, g.gid"
"$PSQL" -X -q -At -v ON_ERROR_STOP=1 -d "$DTX_DB" -c "
    SELECT dtx_state_name(state) || ': ' || count(*) FROM dtx_global GROUP BY state ORDER BY state"

echo
echo "== balances"
for db in bank_a bank_b; do
    echo "-- $db"
    "$PSQL" -X -q -v ON_ERROR_STOP=1 -P footer=off -d "$BASE dbname=$db" \
        -c "SELECT id AS account, (balance / 100.0)::numeric(16, 2) AS balance,
                   (frozen / 100.0)::numeric(16, 2) AS frozen,
                   (incoming / 100.0)::numeric(16, 2) AS incoming
              FROM accounts ORDER BY id"
done

AFTER=$(total)
unfinished=$(q dtx "SELECT count(*) FROM dtx_global WHERE state NOT IN (3, 5)")
reserved=$(( $(q bank_a "SELECT coalesce(sum(abs(frozen) + abs(incoming)), 0) FROM accounts") +
    $(q bank_b "SELECT coalesce(sum(abs(frozen) + abs(incoming)), 0) FROM accounts") ))
ntx=$(q dtx "SELECT count(*) FROM dtx_global")

ok=1
if [ "$ntx" -ne 10 ]; then
    echo "demo: the coordinator logged $ntx transactions, expected 10" >&2
    ok=0
fi
if [ "$unfinished" -ne 0 ]; then
    echo "demo: $unfinished transactions are not committed or aborted" >&2
    ok=0
fi
if [ "$reserved" -ne 0 ]; then
    echo "demo: $reserved cents are still frozen or incoming after every transaction ended" >&2
    ok=0
fi
if [ "$MODE" = 2pc ]; then
    prepared=$(q postgres "SELECT count(*) FROM pg_prepared_xacts")
    echo "prepared transactions left: $prepared"
    if [ "$prepared" -ne 0 ]; then
        echo "demo: $prepared prepared transactions left after every transaction ended" >&2
        ok=0
    fi
fi
if [ "$BEFORE" -eq "$AFTER" ]; then
    echo "money conserved: yes (total $(cents "$BEFORE") before, $(cents "$AFTER") after)"
else
    echo "money conserved: NO (total $(cents "$BEFORE") before, $(cents "$AFTER") after)"
    ok=0
fi
[ "$ok" -eq 1 ] || die "the demo's checks failed"
echo "demo: ok"
