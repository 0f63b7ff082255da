#!/usr/bin/env bash
# bench/capacity.sh — what one transaction costs the log's PostgreSQL, and
# how big the log gets: the capacity table of docs/scaling.md, re-measured.
#
#   make BUILD=build build/bin/dtx-bench build/bin/bench-participant
#   BUILD=build bench/capacity.sh
#
# Environment:
#   BUILD              build directory holding bin/ (default build)
#   CAP_SECONDS        length of the counted run (default 20)
#   CAP_CONCURRENCY    transactions in flight (default 64)
#   CAP_DB_CONNECTIONS dtxd --db-connections (default 2)
#   CAP_RATES          rates (tx/s) the growth table is computed for
#                      (default "100 1000"; the measured rate is added)
#   CAP_RETENTION_DAYS retention the bounded size is computed for (default 7)
#   CAP_NO_RETENTION_INDEX  1: drop sql/coordinator/010's index first (to
#                      measure what it costs a transaction)
#
# What it does, in one run:
#   1. a private PostgreSQL (tests/harness/pg.sh, fsync on, default
#      synchronous_commit) in a scratch directory, database dtx; dtxd
#      (--retention 0 during the count: nothing is removed) and two
#      bench-participants (no-op handlers), plain wire;
#   2. a counted run: empties the log, CHECKPOINTs, then reads
#      pg_current_wal_lsn() and the CPU ticks of the postmaster and every
#      child (/proc/PID/stat: utime + stime), runs dtx-bench (BEGIN, TRY,
#      TRY, COMMIT in a closed loop) for CAP_SECONDS, waits until every
#      transaction is final in the log, and reads both again: PostgreSQL CPU
#      seconds and WAL bytes per finished transaction;
#   3. the log's bytes per finished transaction: pg_total_relation_size of
#      dtx_global, dtx_branch and dtx_attempt (heap, indexes, TOAST) divided
#      by the transactions, as written and after VACUUM;
#   4. retention: moves every row's finished_at 8 days back, starts a
#      second dtxd with --retention 7d and measures how long it takes to
#      remove them all, and its WAL and PostgreSQL CPU per removed
#      transaction;
#   5. dtxd's and each participant's CPU over the counted run, per
#      transaction (a participant serves one branch of each);
#   6. prints the table and the commands.
#
# CPU of processes that exit inside the window (an autovacuum worker) is
# not counted; the checkpointer, WAL writer and every backend are. The
# machine's load is printed: figures from a loaded machine are high on CPU
# (cache and scheduling) and low on tx/s; WAL and bytes do not depend on it.
set -Eeuo pipefail
trap 'echo "capacity: line $LINENO: command failed (status $?): $BASH_COMMAND" >&2' ERR

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
BUILD=${BUILD:-build}
case $BUILD in
/*) BIN=$BUILD/bin ;;
*) BIN=$ROOT/$BUILD/bin ;;
esac
SECONDS_RUN=${CAP_SECONDS:-20}
CONC=${CAP_CONCURRENCY:-64}
DB_CONNS=${CAP_DB_CONNECTIONS:-2}
RATES=${CAP_RATES:-100 1000}
RET_DAYS=${CAP_RETENTION_DAYS:-7}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PG=tests/harness/pg.sh
CLK_TCK=$(getconf CLK_TCK)

die() {
    echo "capacity: $*" >&2
    exit 1
}
for b in dtxd dtx-bench bench-participant; do
    [ -x "$BIN/$b" ] || die "$BIN/$b is missing: run 'make BUILD=$BUILD $BUILD/bin/dtx-bench $BUILD/bin/bench-participant' first"
done
[[ $SECONDS_RUN =~ ^[0-9]+$ && $SECONDS_RUN -ge 1 ]] || die "CAP_SECONDS must be a whole number >= 1"
[[ $CONC =~ ^[0-9]+$ && $CONC -ge 1 ]] || die "CAP_CONCURRENCY must be >= 1"

SCRATCH=$(mktemp -d /tmp/dtx-capacity.XXXXXX)
chmod 0755 "$SCRATCH"
PGDIR=$SCRATCH/pg
LOGS=$SCRATCH/logs
mkdir -p "$LOGS"
pids=()

cleanup() {
    local rc=$? p
    trap - EXIT INT TERM ERR
    set +e
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do
        local n=0
        while kill -0 "$p" 2>/dev/null && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    "$PG" stop "$PGDIR" >/dev/null 2>&1
    if [ "$rc" -ne 0 ]; then
        echo "capacity: FAILED (exit $rc); the last lines of each log:" >&2
        for p in "$LOGS"/*.log; do [ -f "$p" ] && { echo "--- $p" >&2; tail -n 15 "$p" >&2; }; done
    fi
    rm -rf -- "$SCRATCH"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

q() {
    PGOPTIONS='-c client_min_messages=warning' \
        "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$BASE dbname=dtx" -c "$1"
}
calc() {
    local expr=$1 args=() a
    shift
    for a in "$@"; do args+=(-v "$a"); done
    awk -v OFMT=%.15g "${args[@]}" "BEGIN { print ($expr) }"
}
start() {
    local name=$1
    shift
    "$@" >"$LOGS/$name.log" 2>&1 &
    pids+=("$!")
}
wait_file() {
    local n=0
    until [ -s "$1" ]; do
        kill -0 "${pids[-1]}" 2>/dev/null || die "$2 exited before it was ready"
        n=$((n + 1))
        [ $n -le 300 ] || die "$2 not ready after 30 s"
        sleep 0.1
    done
}
# pg_ticks: CPU ticks (utime + stime) of the postmaster and its children.
pg_ticks() {
    local pm p files=()
    pm=$(head -n 1 "$PGDIR/data/postmaster.pid")
    for p in $pm $(pgrep -P "$pm"); do files+=("/proc/$p/stat"); done
    cat "${files[@]}" 2>/dev/null | awk '{ s = $0; sub(/^.*\) /, "", s); split(s, f, " "); t += f[12] + f[13] } END { print t + 0 }'
}
# proc_ticks PID...: CPU ticks of these processes (every thread).
proc_ticks() {
    local p files=()
    for p in "$@"; do files+=("/proc/$p/stat"); done
    cat "${files[@]}" 2>/dev/null | awk '{ s = $0; sub(/^.*\) /, "", s); split(s, f, " "); t += f[12] + f[13] } END { print t + 0 }'
}
lsn() { q "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"; }
finished() { q "SELECT count(*) FROM dtx_global WHERE state IN (3, 5)"; }
unfinished() { q "SELECT count(*) FROM dtx_global WHERE state NOT IN (3, 5)"; }
log_bytes() {
    q "SELECT pg_total_relation_size('dtx_global') + pg_total_relation_size('dtx_branch')
              + pg_total_relation_size('dtx_attempt')"
}
settle() {
    local n=0
    while [ "$(unfinished)" -ne 0 ]; do
        n=$((n + 1))
        [ $n -le 1200 ] || die "transactions still unfinished 120 s after the run"
        sleep 0.1
    done
}

echo "== PostgreSQL in $PGDIR"
BASE=$("$PG" start "$PGDIR")
"$PG" createdb "$PGDIR" dtx
DB="$BASE dbname=dtx"
"$BIN/dtxd" --db "$DB" --migrate-only --log-level warn >"$LOGS/migrate.log" 2>&1 || die "migrations failed"
if [ "${CAP_NO_RETENTION_INDEX:-0}" = 1 ]; then
    q "DROP INDEX dtx_global_finished"
    echo "   (dtx_global_finished dropped: measuring without the retention index)"
fi
DTXD_CMD=("$BIN/dtxd" --db "$DB" --listen 'tcp://127.0.0.1:*' --endpoint-file "$SCRATCH/dtxd.ep"
    --log-level warn --db-connections "$DB_CONNS" --http-listen off --retention 0 --node-id cap-1)
start dtxd "${DTXD_CMD[@]}"
DTXD_PID=${pids[-1]}
wait_file "$SCRATCH/dtxd.ep" dtxd
EP=$(head -n 1 "$SCRATCH/dtxd.ep")
PART_PIDS=()
for r in noop-a noop-b; do
    start "part-$r" "$BIN/bench-participant" --instance "cap-$r" --resource "$r" --coordinator "$EP" \
        --ready-file "$SCRATCH/$r.ready"
    PART_PIDS+=("${pids[-1]}")
    wait_file "$SCRATCH/$r.ready" "participant $r"
done
read -r LOAD1 _ </proc/loadavg

echo "== counted run: $CONC in flight, $SECONDS_RUN s"
q "TRUNCATE dtx_branch, dtx_global CASCADE"
q "CHECKPOINT"
w0=$(lsn)
c0=$(pg_ticks)
d0=$(proc_ticks "$DTXD_PID")
p0=$(proc_ticks "${PART_PIDS[@]}")
t0=$(date +%s.%N)
BENCH_CMD=("$BIN/dtx-bench" --coordinator "$EP" --concurrency "$CONC" --seconds "$SECONDS_RUN" --warmup 0 --json)
"${BENCH_CMD[@]}" >"$LOGS/dtx-bench.json" 2>"$LOGS/dtx-bench.log" || die "dtx-bench failed"
settle
t1=$(date +%s.%N)
c1=$(pg_ticks)
d1=$(proc_ticks "$DTXD_PID")
p1=$(proc_ticks "${PART_PIDS[@]}")
w1=$(lsn)
N=$(finished)
[ "$N" -gt 0 ] || die "no transaction finished"
read -r LOAD2 _ </proc/loadavg
WALL=$(calc 'b - a' a="$t0" b="$t1")
TPS=$(calc 'n / w' n="$N" w="$WALL")
CPU_S=$(calc '(b - a) / hz' a="$c0" b="$c1" hz="$CLK_TCK")
CPU_PER_TX_US=$(calc '1e6 * c / n' c="$CPU_S" n="$N")
TPS_PER_CORE=$(calc 'c > 0 ? n / c : 0' n="$N" c="$CPU_S")
DTXD_US=$(calc '1e6 * (b - a) / hz / n' a="$d0" b="$d1" hz="$CLK_TCK" n="$N")
PART_US=$(calc '1e6 * (b - a) / hz / n / 2' a="$p0" b="$p1" hz="$CLK_TCK" n="$N")
WAL_PER_TX=$(calc '(b - a) / n' a="$w0" b="$w1" n="$N")
B_RAW=$(log_bytes)
q "VACUUM (ANALYZE) dtx_global, dtx_branch, dtx_attempt"
B_VAC=$(log_bytes)
PER_TX_RAW=$(calc 'b / n' b="$B_RAW" n="$N")
PER_TX_VAC=$(calc 'b / n' b="$B_VAC" n="$N")
SIZES=$(q "SELECT string_agg(format('%s %s heap + %s indexes', c, pg_size_pretty(pg_relation_size(c)),
                pg_size_pretty(pg_indexes_size(c))), '; ' ORDER BY c)
             FROM unnest(ARRAY['dtx_global', 'dtx_branch']::regclass[]) c")

echo "== retention: every row 8 days old, a dtxd with --retention 7d removes them"
q "UPDATE dtx_global SET finished_at = now() - interval '8 days'"
q "CHECKPOINT"
rw0=$(lsn)
rc0=$(pg_ticks)
rt0=$(date +%s.%N)
RET_CMD=("$BIN/dtxd" --db "$DB" --listen 'tcp://127.0.0.1:*' --endpoint-file "$SCRATCH/ret.ep"
    --log-level info --http-listen off --retention 7d --retention-interval-ms 1000 --node-id cap-ret)
start dtxd-retention "${RET_CMD[@]}"
n=0
while [ "$(q "SELECT count(*) FROM dtx_global")" -ne 0 ]; do
    n=$((n + 1))
    [ $n -le 6000 ] || die "retention did not empty the log in 600 s"
    sleep 0.1
done
rt1=$(date +%s.%N)
rc1=$(pg_ticks)
rw1=$(lsn)
RET_RATE=$(calc 'n / (b - a)' n="$N" a="$rt0" b="$rt1")
RET_WAL=$(calc '(b - a) / n' a="$rw0" b="$rw1" n="$N")
RET_CPU_US=$(calc '1e6 * (b - a) / hz / n' a="$rc0" b="$rc1" hz="$CLK_TCK" n="$N")

PGV=$(q "SHOW server_version")
CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
human() { numfmt --to=iec-i --suffix=B --format='%.1f' "${1%.*}"; }
{
    echo "dtx capacity, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "machine: nproc $(nproc), ${CPU_MODEL:-unknown cpu}; PostgreSQL $PGV (fsync on, synchronous_commit on)"
    echo "load average before/after the counted run: $LOAD1 / $LOAD2 on $(nproc) CPUs$(calc 'l > n ? 1 : 0' l="$LOAD1" n="$(nproc)" | sed 's/1/ (LOADED: CPU figures are high, tx\/s low)/;s/0//')"
    echo "counted run: $CONC in flight, ${SECONDS_RUN} s + settle; $N transactions finished in $(printf %.1f "$WALL") s"
    echo
    printf '%-48s %s\n' "measure" "value"
    printf '%-48s %.0f\n' "throughput of this run (tx/s)" "$TPS"
    printf '%-48s %.0f\n' "PostgreSQL CPU per transaction (us)" "$CPU_PER_TX_US"
    printf '%-48s %.0f\n' "tx/s per core of PostgreSQL" "$TPS_PER_CORE"
    printf '%-48s %.0f\n' "dtxd CPU per transaction (us)" "$DTXD_US"
    printf '%-48s %.0f\n' "participant CPU per branch, no-op handler (us)" "$PART_US"
    printf '%-48s %.0f\n' "WAL bytes per transaction" "$WAL_PER_TX"
    printf '%-48s %.0f\n' "log bytes per finished transaction, as written" "$PER_TX_RAW"
    printf '%-48s %.0f\n' "log bytes per finished transaction, vacuumed" "$PER_TX_VAC"
    printf '%-48s %.0f\n' "retention: transactions removed per second" "$RET_RATE"
    printf '%-48s %.0f\n' "retention: WAL bytes per removed transaction" "$RET_WAL"
    printf '%-48s %.0f\n' "retention: PG CPU per removed transaction (us)" "$RET_CPU_US"
    echo "  ($SIZES, after VACUUM, $N transactions)"
    echo
    echo "log growth (vacuumed bytes per transaction) and WAL, per day, and the log's size with"
    echo "--retention ${RET_DAYS}d (rows of $RET_DAYS days; freed space is reused after vacuum):"
    printf '%10s %14s %14s %18s %12s\n' "tx/s" "log/day" "WAL/day" "log at ${RET_DAYS}d" "PG cores"
    for r in $RATES $(printf %.0f "$TPS"); do
        printf '%10s %14s %14s %18s %12.2f\n' "$r" \
            "$(human "$(calc 'r * 86400 * b' r="$r" b="$PER_TX_VAC")")" \
            "$(human "$(calc 'r * 86400 * w' r="$r" w="$WAL_PER_TX")")" \
            "$(human "$(calc 'r * 86400 * b * d' r="$r" b="$PER_TX_VAC" d="$RET_DAYS")")" \
            "$(calc 'r * c / 1e6' r="$r" c="$CPU_PER_TX_US")"
    done
    echo
    echo "commands:"
    echo "  $PG start $PGDIR; $PG createdb $PGDIR dtx"
    echo "  ${DTXD_CMD[*]}"
    echo "  $BIN/bench-participant --instance cap-noop-a --resource noop-a --coordinator $EP (and noop-b)"
    echo "  ${BENCH_CMD[*]}"
    echo "  ${RET_CMD[*]}"
} | tee "$SCRATCH/capacity.txt"
mkdir -p "$BUILD/bench" 2>/dev/null && cp "$SCRATCH/capacity.txt" "$BUILD/bench/capacity.txt" 2>/dev/null || true
