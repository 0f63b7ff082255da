#!/usr/bin/env bash
# samples/travel/demo.sh — the travel booking Saga (docs/sagas.md): a trip
# is a flight, a hotel and a payment, each a service with its own
# PostgreSQL database that can book and cancel but not reserve.
#
#   BUILD=build samples/travel/demo.sh        (make demo-saga)
#
# Starts, under .run/travel-demo/, a private PostgreSQL with the databases
# dtx (the coordinator's log), flights, hotels and payments; dtxd; the
# three services ("travel participant", payments declines amounts over
# 1000). Books trip t-1 (300: every step done, committed) and trip t-2
# (5000: the payment is declined, so the hotel and then the flight are
# cancelled — compensated in reverse order), and checks that:
#   - t-1 is booked in flights, hotels and payments;
#   - t-2 is cancelled in hotels and flights and was never charged;
#   - the hotel's cancellation came before the flight's;
#   - every transaction in the log is final.
# Exits non-zero when anything is off; stops everything it started.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$ROOT"
BUILD=${BUILD:-build}
case $BUILD in
/*) BIN=$BUILD/bin ;;
*) BIN=$ROOT/$BUILD/bin ;;
esac
RUN=$ROOT/.run/travel-demo
DEMO="travel demo"

# shellcheck source=samples/demo-lib.sh
. samples/demo-lib.sh

for b in dtxd dtxctl travel; do
    [ -x "$BIN/$b" ] || die "$BIN/$b is missing: run 'make' first"
done

demo_start_pg dtx flights hotels payments
DTX_DB="$BASE dbname=dtx"

echo "== keys (dtxctl keygen; allow-list $RUN/keys/allow)"
demo_keys
for r in flights hotels payments; do
    demo_key "$r" "$r" "participant:$r"
    eval "KEY_$r=\$KEY"
done
demo_key agency agency initiator
KEY_A=$KEY

echo "== starting dtxd"
start dtxd "$BIN/dtxd" --db "$DTX_DB" --listen 'tcp://127.0.0.1:*' "${DTXD_CURVE[@]}" \
    --endpoint-file "$RUN/dtxd.endpoint" --node-id travel-demo --log-level info \
    --http-listen 127.0.0.1:0 --http-url-file "$RUN/dtxd.url"
wait_file "$RUN/dtxd.endpoint" dtxd
wait_file "$RUN/dtxd.url" dtxd
EP=$(head -n 1 "$RUN/dtxd.endpoint")
echo "   dtxd listens on $EP"

echo "== starting the services (payments declines amounts over 1000)"
for r in flights hotels payments; do
    key_var=KEY_$r
    extra=()
    [ "$r" = payments ] && extra=(--limit 1000)
    start "$r" env DTX_CURVE_KEY_FILE="${!key_var}" "$BIN/travel" participant --resource "$r" \
        --db "$BASE dbname=$r" --coordinator "$EP" --ready-file "$RUN/$r.ready" "${extra[@]}"
    wait_file "$RUN/$r.ready" "$r"
done

echo "== booking t-1 (300) and t-2 (5000)"
set +e
DTX_CURVE_KEY_FILE="$KEY_A" "$BIN/travel" book --coordinator "$EP" --trip t-1 --amount 300 \
    >"$RUN/t-1.out" 2>"$RUN/t-1.log"
rc1=$?
DTX_CURVE_KEY_FILE="$KEY_A" "$BIN/travel" book --coordinator "$EP" --trip t-2 --amount 5000 \
    >"$RUN/t-2.out" 2>"$RUN/t-2.log"
rc2=$?
set -e
cat "$RUN/t-1.out" "$RUN/t-2.out"
[ "$rc1" -eq 0 ] || { show_log "$RUN/t-1.log"; die "t-1: travel book exited $rc1, expected 0 (committed)"; }
[ "$rc2" -eq 3 ] || { show_log "$RUN/t-2.log"; die "t-2: travel book exited $rc2, expected 3 (compensated)"; }
G1=$(awk '{ print $2 }' "$RUN/t-1.out")
G2=$(awk '{ print $2 }' "$RUN/t-2.out")

for r in flights hotels payments; do
    echo "== database $r: bookings"
    "$PSQL" -X -q -v ON_ERROR_STOP=1 -P footer=off -d "$BASE dbname=$r" \
        -c "SELECT CASE gid WHEN '$G1' THEN 't-1' WHEN '$G2' THEN 't-2' END AS trip, amount, status
            FROM bookings ORDER BY 1"
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
for r in flights hotels payments; do
    check "$r" "SELECT coalesce(max(status), 'none') FROM bookings WHERE gid = '$G1'" booked "t-1 in $r"
done
check flights "SELECT coalesce(max(status), 'none') FROM bookings WHERE gid = '$G2'" cancelled "t-2 in flights"
check hotels "SELECT coalesce(max(status), 'none') FROM bookings WHERE gid = '$G2'" cancelled "t-2 in hotels"
check payments "SELECT count(*) FROM bookings WHERE gid = '$G2'" 0 "t-2 charged"
# reverse order: the hotel's cancel row committed before the flight's
h_at=$(q hotels "SELECT extract(epoch FROM created_at) FROM dtx_barrier WHERE gid = '$G2' AND op = 'cancel'")
f_at=$(q flights "SELECT extract(epoch FROM created_at) FROM dtx_barrier WHERE gid = '$G2' AND op = 'cancel'")
if ! awk -v h="$h_at" -v f="$f_at" 'BEGIN { exit !(h < f) }'; then
    echo "$DEMO: the flight was cancelled before the hotel ($f_at < $h_at)" >&2
    ok=0
fi
check dtx "SELECT count(*) FROM dtx_global WHERE state NOT IN (3, 5)" 0 "unfinished transactions"
echo
echo "== dtxctl show (t-2)"
"$BIN/dtxctl" --url "$(head -n 1 "$RUN/dtxd.url")" show "$G2" || true
[ $ok -eq 1 ] || die "checks failed"
echo
echo "$DEMO: ok (t-1 committed; t-2 declined at payment, hotel then flight cancelled)"
