#!/usr/bin/env bash
# tests/ha/demo.sh — the failover demo behind `make ha-demo` (docs/ha.md).
#
#   BUILD=build tests/ha/demo.sh
#
# Under .run/ha-demo/ in the repository: a PostgreSQL primary and a
# synchronous standby under pg_auto_failover (tests/ha/cluster.sh: a
# monitor and two nodes, free ports), the databases dtx, bank_a and bank_b
# on it; two dtxd (c1, c2) and the two banks of samples/bank (one
# bank-participant each), every one of them given the multi-host conninfo
# (host=127.0.0.1,127.0.0.1 port=P1,P2 target_session_attrs=read-write);
# then a stream of transfers (drill-load, which journals what each
# initiator was told). It kills the primary (kill -9 of its pg_autoctl and
# postmaster: the machine is gone) and shows, second by second, /readyz of
# both dtxd and the commits: the monitor promoting the standby, dtxd
# reconnecting, transfers continuing. Then it rejoins the old primary as
# the new standby, stops the load, waits for every transaction to end and
# runs the drill's checker (tests/drill/check.sh): money conserved, every
# transaction an initiator was told committed is committed on every
# branch, nothing both confirmed and cancelled. Exits non-zero when
# anything is off; stops everything it started, also on failure or Ctrl-C.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$ROOT"
BUILD=${BUILD:-build}
case $BUILD in
/*) BIN=$BUILD/bin ;;
*) BIN=$ROOT/$BUILD/bin ;;
esac
RUN=$ROOT/.run/ha-demo
DEMO="ha demo"
WORKERS=${HA_DEMO_WORKERS:-4}

# shellcheck source=samples/demo-lib.sh
. samples/demo-lib.sh
PG=$ROOT/tests/ha/cluster.sh # demo-lib's cleanup stops the cluster through it

for b in dtxd bank-participant drill-load; do
    [ -x "$BIN/$b" ] || die "$BIN/$b is missing: run 'make' first"
done

[ ! -d "$PGDIR" ] || "$PG" stop "$PGDIR" >/dev/null 2>&1 || true
echo "== PostgreSQL under pg_auto_failover: a monitor, node1 and node2 (tests/ha/cluster.sh)"
t0=$(date +%s)
demo_start_pg dtx bank_a bank_b
echo "   ready in $(( $(date +%s) - t0 )) s; conninfo: $BASE"
"$PG" state "$PGDIR" | sed 's/^/   /'
echo "   synchronous_standby_names on the primary: $(q postgres "SHOW synchronous_standby_names")"

free_port() {
    local p
    while :; do
        p=$((20000 + ((RANDOM << 15 | RANDOM) % 12000)))
        [ -n "$(ss -Hltn "sport = :$p" 2>/dev/null)" ] || { echo "$p"; return; }
    done
}

echo "== starting dtxd c1 and c2 (log: $BASE dbname=dtx)"
for c in c1 c2; do
    start "$c" "$BIN/dtxd" --db "$BASE dbname=dtx" --listen "tcp://127.0.0.1:$(free_port)" \
        --endpoint-file "$RUN/$c.endpoint" --node-id "$c" --log-level info \
        --http-listen 127.0.0.1:0 --http-url-file "$RUN/$c.url" --lease-ms 10000 \
        --recovery-interval-ms 500 --phase-timeout-ms 2000 --retry-base-ms 100 --retry-max-ms 1000
    wait_file "$RUN/$c.endpoint" "$c"
    wait_file "$RUN/$c.url" "$c"
done
EP1=$(head -n 1 "$RUN/c1.endpoint")
EP2=$(head -n 1 "$RUN/c2.endpoint")
URL1=$(head -n 1 "$RUN/c1.url")
URL2=$(head -n 1 "$RUN/c2.url")
grep -h "synchronous" "$RUN/c1.log" | sed 's/^/   c1: /'

SEED_A="a0=100000,a1=80000,a2=120000,a3=50000"
SEED_B="b0=60000,b1=130000,b2=100000,b3=40000"
echo "== starting the banks (samples/bank: bank-participant, their databases on the cluster too)"
start bank-a "$BIN/bank-participant" --resource bank-a --db "$BASE dbname=bank_a" --instance bank-a-1 \
    --coordinator "$EP1" --coordinator "$EP2" --seed "$SEED_A" --ready-file "$RUN/bank-a.ready"
wait_file "$RUN/bank-a.ready" bank-a
start bank-b "$BIN/bank-participant" --resource bank-b --db "$BASE dbname=bank_b" --instance bank-b-1 \
    --coordinator "$EP1" --coordinator "$EP2" --seed "$SEED_B" --ready-file "$RUN/bank-b.ready"
wait_file "$RUN/bank-b.ready" bank-b

JOURNAL=$RUN/journal.txt
echo "== transfers: drill-load, $WORKERS workers over c1 and c2 (journal $JOURNAL)"
start load "$BIN/drill-load" --coordinator "$EP1" --coordinator "$EP2" --journal "$JOURNAL" \
    --accounts "bank-a:a0,a1,a2,a3" --accounts "bank-b:b0,b1,b2,b3" --workers "$WORKERS" \
    --transfers 0 --timeout-ms 10000 --call-timeout-ms 3000 --mode tcc
LOAD_PID=${pids[-1]}

committed() { grep -c '^E [^ ]* committed ' "$JOURNAL" 2>/dev/null || true; }
ready() { # ready URL: 200 or 503 (or - when it does not answer)
    curl -s -o /dev/null -m 2 -w '%{http_code}' "$1/readyz" 2>/dev/null || echo -
}
# tick: one line of what is going on.
tick() {
    printf '   t=%3ds  commits %5d  readyz c1 %s c2 %s  primary %s\n' $(( $(date +%s) - T0 )) \
        "$(committed)" "$(ready "$URL1")" "$(ready "$URL2")" "${1:-}"
}
primary_name() {
    "$PG" state "$PGDIR" 2>/dev/null | awk -F'|' '$6 ~ /primary/ && $7 ~ /primary/ { gsub(/ /, "", $1); print $1 }'
}

T0=$(date +%s)
for _ in 1 2 3 4 5; do sleep 1; tick "$(primary_name)"; done
before=$(committed)
[ "$before" -gt 0 ] || die "no transfer committed before the failover (see $RUN/load.log)"

echo "== kill -9 of the primary's machine (its pg_autoctl and postmaster)"
"$PG" kill "$PGDIR"
killed=$(cat "$PGDIR/killed")
echo "   killed $killed"
saw_unready=0
n=0
while :; do
    sleep 1
    p=$(primary_name)
    tick "${p:-(none)}"
    [ "$(ready "$URL1")" = 503 ] && saw_unready=1
    if [ -n "$p" ] && [ "$p" != "$killed" ] && [ "$(ready "$URL1")" = 200 ] && [ "$(ready "$URL2")" = 200 ]; then
        break
    fi
    n=$((n + 1))
    [ $n -lt 120 ] || die "no new primary with both dtxd ready after 120 s"
done
promoted=$(primary_name)
# (windows.sh reads the promotion from here; cluster.sh start would only
# see it at the rejoin.)
echo "primary $(date +%s%3N) $promoted" >>"$PGDIR/failovers.txt"
rm -f "$PGDIR/killed"
echo "   $promoted promoted; both dtxd ready again"
[ "$saw_unready" = 1 ] || echo "   (c1 never answered 503 at a tick: the outage fell between two looks)"
at_promotion=$(committed)
for _ in 1 2 3 4 5; do sleep 1; tick "$promoted"; done
after=$(( $(committed) - at_promotion ))
[ "$after" -gt 0 ] || die "no transfer committed after the failover (see $RUN/load.log, $RUN/c1.log)"
echo "   transfers continue: $after committed in the 5 s after both dtxd were ready"

echo "== the old primary rejoins as the standby"
"$PG" start "$PGDIR" >/dev/null
"$PG" state "$PGDIR" | sed 's/^/   /'

echo "== stopping the load; waiting for every transaction to end"
kill -TERM "$LOAD_PID"
n=0
while kill -0 "$LOAD_PID" 2>/dev/null && [ $n -lt 200 ]; do sleep 0.1; n=$((n + 1)); done
grep '^drill-load:' "$RUN/load.log" | tail -n 2 | sed 's/^/   /' || true
n=0
until [ "$(q dtx "SELECT count(*) FROM dtx_global WHERE state IN (1, 2, 4)")" = 0 ]; do
    n=$((n + 1))
    [ $n -lt 120 ] || die "transactions still unfinished after 60 s"
    sleep 0.5
done

echo "== failover"
"$ROOT/tests/ha/windows.sh" "$PGDIR/failovers.txt" "$JOURNAL" | sed 's/^/   /'
echo "== checks (tests/drill/check.sh: money, outcomes, barriers, what the initiators were told)"
"$ROOT/tests/drill/check.sh" --base "$BASE" --log-db dtx --bank "bank-a=bank_a=$SEED_A" \
    --bank "bank-b=bank_b=$SEED_B" --journal "$JOURNAL" --load-log "$RUN/load.log" \
    --window 30 --scratch "$RUN" || die "the checker found a broken invariant (above)"
echo "$DEMO: ok — $killed killed, $promoted promoted, dtxd reconnected, transfers continued, money conserved"
