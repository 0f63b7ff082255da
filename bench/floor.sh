#!/usr/bin/env bash
# bench/floor.sh — the floor of one transaction's latency at 1 in flight on
# this machine, from parts that are not dtx: a ZeroMQ hop (dtx-hop, the
# one-way p50 with 1 ms of idle before each message, as in the chain) and a
# synchronous single-row commit on a private PostgreSQL (pgbench -c1,
# prepared, one INSERT; the p50 of its per-transaction log), with
# pg_test_fsync's 8 kB fdatasync for the disk alone. Prints each and the
# floor they give a TCC_RUN (4 hops + 2 synchronous writes); dtx's own
# turns and its statements' extra cost over one INSERT come on top
# (docs/operations.md, "Where one transaction's time goes at 1 in flight").
#
#   BUILD=build bench/floor.sh
#
# Environment:
#   BUILD          build directory holding bin/dtx-hop (default build)
#   FLOOR_SECONDS  pgbench seconds (default 5)
#   FLOOR_ROUNDS   rounds (default 3; each prints one line: on a shared
#                  machine the floor moves from minute to minute)
#
# Exit 0, or 1 when a tool failed (its output on stderr). Its PostgreSQL
# lives in a temporary folder, stopped and deleted at exit.
set -Eeuo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
BUILD=${BUILD:-build}
case $BUILD in
/*) BIN=$BUILD/bin ;;
*) BIN=$ROOT/$BUILD/bin ;;
esac
SECS=${FLOOR_SECONDS:-5}
ROUNDS=${FLOOR_ROUNDS:-3}
PG=tests/harness/pg.sh

die() {
    echo "floor: $*" >&2
    exit 1
}
[[ $SECS =~ ^[1-9][0-9]*$ ]] || die "FLOOR_SECONDS wants a whole number of seconds >= 1"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "FLOOR_ROUNDS wants a whole number >= 1"
[ -x "$BIN/dtx-hop" ] || die "no $BIN/dtx-hop (make first)"
PGBIN=$(pg_config --bindir 2>/dev/null || true)
for t in pgbench pg_test_fsync; do
    [ -x "$PGBIN/$t" ] || die "no $t in PostgreSQL's bindir (${PGBIN:-pg_config not found})"
done

SCRATCH=$(mktemp -d /tmp/dtx-floor.XXXXXX)
chmod 0755 "$SCRATCH"
cleanup() {
    local rc=$?
    trap - EXIT
    "$PG" stop "$SCRATCH/pg" >/dev/null 2>&1 || true
    rm -rf -- "$SCRATCH"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

BASE=$("$PG" start "$SCRATCH/pg")
"$PG" createdb "$SCRATCH/pg" floor >/dev/null
HOST=$SCRATCH/pg
psql -qX "$BASE dbname=floor" -c "CREATE TABLE floor_t (k bigserial PRIMARY KEY, v int)" >/dev/null
echo "INSERT INTO floor_t (v) VALUES (1);" >"$SCRATCH/insert.sql"
# The data directory's own file system, as PostgreSQL's WAL sees it.
DATA=$(psql -qXAt "$BASE dbname=floor" -c "SHOW data_directory")

# p50 of column 3 (µs) of pgbench's per-transaction logs, in ms.
p50_ms() {
    cat "$@" | awk '{ print $3 }' | sort -n |
        awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; printf "%.3f", v[int((NR + 1) / 2)] / 1000 }'
}

echo "floor: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); pgbench ${SECS} s a round"
printf '%-6s %9s %9s %9s %13s\n' round "hop ms" "commit ms" "fsync ms" "TCC_RUN ms"
for r in $(seq "$ROUNDS"); do
    hop=$("$BIN/dtx-hop" --gap-us 1000 --count 1000 | awk '$1 == "zmq" { printf "%.3f", $7 / 1000 }')
    [ -n "$hop" ] || die "dtx-hop printed no zmq line"
    rm -f "$SCRATCH"/pgbench_log.*
    (cd "$SCRATCH" && "$PGBIN/pgbench" -h "$HOST" -U postgres -n -c1 -T "$SECS" -M prepared \
        -f insert.sql -l floor >"$SCRATCH/pgbench.out" 2>&1) ||
        die "pgbench failed: $(tail -n 3 "$SCRATCH/pgbench.out")"
    commit=$(p50_ms "$SCRATCH"/pgbench_log.*) || die "pgbench wrote no log"
    fsync=$("$PGBIN/pg_test_fsync" -s 1 -f "$DATA/floor_fsync.tmp" 2>/dev/null |
        awk '/one 8kB write/ { on = 1 } on && $1 == "fdatasync" { printf "%.3f", $(NF - 1) / 1000; exit }')
    rm -f "$DATA/floor_fsync.tmp"
    printf '%-6s %9s %9s %9s %13s\n' "$r" "$hop" "$commit" "${fsync:-?}" \
        "$(awk -v h="$hop" -v c="$commit" 'BEGIN { printf "%.3f", 4 * h + 2 * c }')"
done
echo "hop: dtx-hop's ZeroMQ one way, p50; commit: one synchronous single-row INSERT, p50;"
echo "fsync: pg_test_fsync's fdatasync of one 8 kB write; TCC_RUN = 4 hops + 2 commits"
echo "(dtx's turns and its statements' cost beyond one INSERT come on top)."
