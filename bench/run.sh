#!/usr/bin/env bash
# bench/run.sh — the benchmark behind `make bench`.
#
#   BUILD=build bench/run.sh
#
# Environment:
#   BUILD                 build directory holding bin/ (default build)
#   BENCH_LEVELS          concurrency levels (default "1 16 64 256")
#   BENCH_SECONDS         measured seconds per run (default 10)
#   BENCH_WARMUP          warmup seconds before each run (default 2)
#   BENCH_RUNS            runs per measurement; the table shows the median
#                         (default 3)
#   BENCH_DB_CONNECTIONS  dtxd --db-connections (default 1: on these 2 CPUs,
#                         shared with PostgreSQL, one connection with two
#                         batches in flight makes fewer, bigger commits;
#                         docs/operations.md, "Tuning")
#   BENCH_REF_CLIENTS     the client count of references (b) and (b run)
#                         (default 2: PostgreSQL's best for them on 2 CPUs;
#                         apart from dtxd's connections, so that a dtxd
#                         setting is measured against the same reference)
#   BENCH_CURVE           1 (default): dtxd and its peers speak CurveZMQ, as
#                         in production; 0: the plain wire
#   BENCH_SAGA_LEVELS     Sagas in flight for the Saga rows (default "1 N",
#                         N the highest of BENCH_LEVELS capped at 64: one
#                         thread each); "" skips them
#   BENCH_SAGA_POLL_MS    how often dtx-saga-bench asks STATUS (default 2)
#   BENCH_MANY_LEVELS     levels of the TRY_MANY rows (dtx-bench --try-many:
#                         both Tries in one request, docs/protocol.md §18;
#                         default "1 N", N the highest of BENCH_LEVELS; ""
#                         skips them)
#   BENCH_RUN_LEVELS      levels of the TCC_RUN rows (dtx-bench --tcc-run:
#                         the whole transaction in one request that commits
#                         when both vote yes, docs/protocol.md §19; default
#                         "1 N" as BENCH_MANY_LEVELS; "" skips them). It
#                         writes the TRY rows less the votes and the count's
#                         update (3 inserted, 2 updated: the global row is
#                         inserted with both branches and branches = 2 in
#                         one statement, the votes go with the decision,
#                         which like the final write updates the global row
#                         only): compared with reference (b run),
#                         bench/pgbench_b_run.sql, which writes those rows
#
# What it does:
#   1. starts a private PostgreSQL (tests/harness/pg.sh: fsync on, default
#      synchronous_commit) in a scratch directory under /tmp, with the
#      databases dtx (dtxd's log) and ref (the coordinator's schema, applied
#      with dtxd --migrate-only, for the pgbench references); turns on
#      track_wal_io_timing for the fsync timings of the cost table;
#   2. starts dtxd (admin HTTP on a free port, for its /metrics) and two
#      bench-participants (resources noop-a, noop-b, handlers that do
#      nothing);
#   3. for each concurrency level, BENCH_RUNS times: empties the log,
#      CHECKPOINTs, resets dtxd's peak-RSS mark, runs dtx-bench (closed
#      loop: BEGIN, TRY noop-a, TRY noop-b, COMMIT) and records tx/s, p50,
#      p99, the worst second, errors, dtxd's VmHWM, the CPU every part used
#      over the measured window (and what the rest of the machine took),
#      and the log's cost per transaction (commits, WAL fsyncs and bytes,
#      rows written, dtxd's statements and batch sizes); then waits until
#      the log holds every transaction final and checks that it holds as
#      many committed transactions as dtx-bench saw commit;
#   4. after each run of the highest level (step 3), one run of each
#      reference against ref, so that a reference and the dtx runs it is
#      compared with see the machine at the same time: (a) bench/pgbench_a.sql, the 6
#      statements of one dtx transaction each in its own PostgreSQL
#      transaction, with the highest level's client count capped at 64; (b)
#      bench/pgbench_b.sql, the rows of 50 dtx transactions in one
#      transaction and one round trip (its tps x 50 reported); with
#      BENCH_RUN_LEVELS, (b run) bench/pgbench_b_run.sql, the same for the
#      rows of 50 TCC_RUN transactions; each after a discarded warmup run,
#      with the same CPU and cost figures;
#   4b. the same as step 3 for Sagas (dtx-saga-bench: threads each
#      submitting a Saga of two steps, noop-a then noop-b, and polling
#      STATUS until it is committed), at BENCH_SAGA_LEVELS;
#   5. prints the tables, the machine and the exact commands, and writes
#      them to $BUILD/bench/results.txt and results.json (logs in
#      $BUILD/bench/logs/).
#
# The references copy the text of coordinator/log/sql.c's TCC statements; a
# fingerprint of that text in bench/pgbench_a.sql makes this script warn
# when sql.c has changed since (the rows ins/upd columns then show whether
# the writes still match).
#
# Every process it starts, and PostgreSQL, is stopped on exit, also on
# failure or Ctrl-C; the scratch directory is removed. Exits non-zero when
# a run failed (more than 1% of the transactions errored, nothing
# committed, pgbench failed) or the log disagrees with what dtx-bench saw.
set -Eeuo pipefail
# Whatever fails unexpectedly says so before the cleanup runs.
trap 'echo "bench: line $LINENO: command failed (status $?): $BASH_COMMAND" >&2' ERR

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
BUILD=${BUILD:-build}
case $BUILD in
/*) BUILD_DIR=$BUILD ;;
*) BUILD_DIR=$ROOT/$BUILD ;;
esac
BIN=$BUILD_DIR/bin
OUT=$BUILD_DIR/bench
LEVELS=${BENCH_LEVELS:-1 16 64 256}
DURATION=${BENCH_SECONDS:-10}
WARMUP=${BENCH_WARMUP:-2}
RUNS=${BENCH_RUNS:-3}
DB_CONNS=${BENCH_DB_CONNECTIONS:-1}
REF_CLIENTS=${BENCH_REF_CLIENTS:-2}
CURVE=${BENCH_CURVE:-1}
SAGA_POLL_MS=${BENCH_SAGA_POLL_MS:-2}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PG=tests/harness/pg.sh
SETTLE_TIMEOUT_S=120 # wait for the log to show every transaction final

die() {
    echo "bench: $*" >&2
    exit 1
}

for b in dtxd dtxctl dtx-bench dtx-saga-bench bench-participant; do
    [ -x "$BIN/$b" ] || die "$BIN/$b is missing: run 'make BUILD=$BUILD' (or make bench) first"
done
[ -x "$PGBIN/pgbench" ] || die "$PGBIN/pgbench is missing (install postgresql-contrib: scripts/deps.sh)"
[[ $DURATION =~ ^[0-9]+$ && $DURATION -ge 1 ]] || die "BENCH_SECONDS must be a whole number of seconds >= 1"
[[ $WARMUP =~ ^[0-9]+$ ]] || die "BENCH_WARMUP must be a whole number of seconds"
[[ $RUNS =~ ^[0-9]+$ && $RUNS -ge 1 ]] || die "BENCH_RUNS must be >= 1"
[[ $DB_CONNS =~ ^[0-9]+$ && $DB_CONNS -ge 1 ]] || die "BENCH_DB_CONNECTIONS must be >= 1"
[[ $REF_CLIENTS =~ ^[0-9]+$ && $REF_CLIENTS -ge 1 ]] || die "BENCH_REF_CLIENTS must be >= 1"
max_level=0
for c in $LEVELS; do
    [[ $c =~ ^[0-9]+$ && $c -ge 1 ]] || die "BENCH_LEVELS: '$c' is not a concurrency level"
    [ "$c" -gt "$max_level" ] && max_level=$c
done
[ "$max_level" -gt 0 ] || die "BENCH_LEVELS is empty"
SAGA_LEVELS=${BENCH_SAGA_LEVELS-1 $((max_level < 64 ? max_level : 64))}
# shellcheck disable=SC2086 # a list of numbers: split on purpose
SAGA_LEVELS=$(printf '%s\n' $SAGA_LEVELS | awk '!seen[$0]++' | paste -s -d ' ' -)
for c in $SAGA_LEVELS; do
    [[ $c =~ ^[0-9]+$ && $c -ge 1 && $c -le 512 ]] || die "BENCH_SAGA_LEVELS: '$c' is not 1..512"
done
[[ $SAGA_POLL_MS =~ ^[0-9]+$ && $SAGA_POLL_MS -ge 1 ]] || die "BENCH_SAGA_POLL_MS must be >= 1"
MANY_LEVELS=${BENCH_MANY_LEVELS-1 $max_level}
for c in $MANY_LEVELS; do
    [[ $c =~ ^[0-9]+$ && $c -ge 1 ]] || die "BENCH_MANY_LEVELS: '$c' is not a concurrency level"
done
RUN_LEVELS=${BENCH_RUN_LEVELS-1 $max_level}
for c in $RUN_LEVELS; do
    [[ $c =~ ^[0-9]+$ && $c -ge 1 ]] || die "BENCH_RUN_LEVELS: '$c' is not a concurrency level"
done

SCRATCH=$(mktemp -d /tmp/dtx-bench.XXXXXX)
chmod 0755 "$SCRATCH"
PGDIR=$SCRATCH/pg
LOGS=$SCRATCH/logs
mkdir -p "$LOGS"

pids=()    # background services: dtxd, participants
names=()
fg_pids=() # the load generator or pgbench, and sleeps, while waited for

cleanup() {
    local rc=$? i p
    trap - EXIT INT TERM ERR
    set +e
    for p in "${fg_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for i in "${!pids[@]}"; do
        kill -TERM "${pids[$i]}" 2>/dev/null
    done
    for i in "${!pids[@]}"; do
        local n=0
        while kill -0 "${pids[$i]}" 2>/dev/null && [ $n -lt 50 ]; do
            sleep 0.1
            n=$((n + 1))
        done
        if kill -0 "${pids[$i]}" 2>/dev/null; then
            echo "bench: ${names[$i]} did not stop on SIGTERM; killing it" >&2
            kill -KILL "${pids[$i]}" 2>/dev/null
        fi
        wait "${pids[$i]}" 2>/dev/null
    done
    for p in "${fg_pids[@]}"; do
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    "$PG" stop "$PGDIR" >/dev/null 2>&1 || echo "bench: PostgreSQL in $PGDIR did not stop" >&2
    if [ -d "$LOGS" ]; then
        rm -rf -- "$OUT/logs"
        mkdir -p "$OUT/logs"
        cp -f "$LOGS"/* "$OUT/logs/" 2>/dev/null
        [ -f "$PGDIR/pg.log" ] && cp -f "$PGDIR/pg.log" "$OUT/logs/postgresql.log"
    fi
    rm -rf -- "$SCRATCH"
    if [ "$rc" -ne 0 ]; then
        echo "bench: FAILED (exit $rc); logs in $OUT/logs" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start NAME CMD...: runs CMD in the background, output to $LOGS/NAME.log.
start() {
    local name=$1
    shift
    "$@" >"$LOGS/$name.log" 2>&1 &
    pids+=("$!")
    names+=("$name")
}

# bg CMD...: starts CMD in the background as a waited-for process (its pid
# in BG_PID); reap it with reap.
bg() {
    "$@" &
    BG_PID=$!
    fg_pids+=("$BG_PID")
}

# reap PID: waits for PID (a signal to this script interrupts the wait and
# runs the cleanup at once); returns its status.
reap() {
    local rc=0 p keep=()
    wait "$1" || rc=$?
    for p in "${fg_pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    fg_pids=("${keep[@]}")
    return "$rc"
}

sleep_for() {
    bg sleep "$1"
    reap "$BG_PID"
}

# sleep_until T: sleeps until the epoch time T (seconds, fractional).
sleep_until() {
    local left
    left=$(calc 't > n ? t - n : 0' t="$1" n="$(date +%s.%N)")
    sleep_for "$left"
}

# wait_file FILE NAME: waits up to 15 s for FILE, while process NAME lives.
wait_file() {
    local file=$1 name=$2 pid=${pids[-1]} n=0
    until [ -s "$file" ]; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 25 "$LOGS/$name.log" >&2 || true
            die "$name exited before it was ready"
        fi
        n=$((n + 1))
        [ $n -le 150 ] || { tail -n 25 "$LOGS/$name.log" >&2; die "$name not ready after 15 s"; }
        sleep 0.1
    done
}

q() { # q DB SQL: one value (or rows, | separated)
    PGOPTIONS='-c client_min_messages=warning' \
        "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$BASE dbname=$1" -c "$2"
}

# json_num KEY FILE: a number field of dtx-bench's one-line JSON.
json_num() {
    sed -n "s/.*\"$1\":\(-\{0,1\}[0-9.][0-9.e+-]*\).*/\1/p" "$2" | head -n 1
}

# calc EXPR [NAME=VALUE...]: prints an awk expression's value (15
# significant digits: enough for epoch seconds with their fraction).
calc() {
    local expr=$1 args=() a
    shift
    for a in "$@"; do args+=(-v "$a"); done
    awk -v OFMT=%.15g "${args[@]}" "BEGIN { print ($expr) }"
}

# median V...: the median of numbers (the lower middle one for an even count).
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}

# spread V...: (max - min) / median, in percent.
spread() {
    local m
    m=$(median "$@")
    printf '%s\n' "$@" | sort -g | awk -v m="$m" 'NR == 1 { lo = $1 } { hi = $1 }
        END { if (m > 0) printf "%.0f", (hi - lo) * 100 / m; else print 0 }'
}

# col KIND N: the median of column N over the runs of KIND in $ROWS.
col() {
    local v
    mapfile -t v < <(awk -F '\t' -v k="$1" -v n="$2" '$1 == k { print $n }' "$ROWS")
    median "${v[@]}"
}

dtxd_alive() {
    kill -0 "$DTXD_PID" 2>/dev/null || {
        tail -n 40 "$LOGS/dtxd.log" >&2
        die "dtxd exited (log above)"
    }
}

# What a run cost over its window, and the wait for the log to settle.
# shellcheck source=bench/run_cost.sh
. bench/run_cost.sh

# ----------------------------------------------------------------- setup
echo "== starting PostgreSQL in $PGDIR"
BASE=$("$PG" start "$PGDIR")
"$PG" createdb "$PGDIR" dtx
"$PG" createdb "$PGDIR" ref
DTX_DB="$BASE dbname=dtx"
REF_DB="$BASE dbname=ref"
# WAL fsync timings for the cost table (pg_stat_wal.wal_sync_time).
q postgres "ALTER SYSTEM SET track_wal_io_timing = on" >/dev/null
q postgres "SELECT pg_reload_conf()" >/dev/null
"$BIN/dtxd" --db "$REF_DB" --migrate-only --log-level warn >"$LOGS/migrate-ref.log" 2>&1 ||
    { cat "$LOGS/migrate-ref.log" >&2; die "cannot apply the coordinator schema to ref"; }

# The admin HTTP API on a free port: its /metrics gives the store's round
# trips and statements (batch sizes).
DTXD_CMD=("$BIN/dtxd" --db "$DTX_DB" --listen 'tcp://127.0.0.1:*'
    --endpoint-file "$SCRATCH/dtxd.endpoint" --log-level warn --db-connections "$DB_CONNS"
    --http-listen 127.0.0.1:0 --http-url-file "$SCRATCH/dtxd.url")
# CurveZMQ, as in production (BENCH_CURVE=0 measures the plain wire): a key
# for dtx-bench and one per participant, handed over in DTX_CURVE_KEY_FILE.
declare -A KEY_OF=()
if [ "$CURVE" = 1 ]; then
    # shellcheck source=tests/harness/curve.sh
    . tests/harness/curve.sh
    curve_init "$SCRATCH/keys"
    for k in bench noop-a noop-b; do
        role=initiator
        [ "$k" = bench ] || role=participant:$k
        KEY_OF[$k]=$(curve_peer "$SCRATCH/keys" "$k" "$k" "$role")
    done
    DTXD_CMD+=("${CURVE_DTXD_ARGS[@]}")
fi
echo "== starting dtxd"
start dtxd "${DTXD_CMD[@]}"
DTXD_PID=${pids[-1]}
wait_file "$SCRATCH/dtxd.endpoint" dtxd
EP=$(head -n 1 "$SCRATCH/dtxd.endpoint")
METRICS_URL=""
for _ in $(seq 1 50); do
    [ -s "$SCRATCH/dtxd.url" ] && { METRICS_URL="$(head -n 1 "$SCRATCH/dtxd.url")/metrics"; break; }
    sleep 0.1
done
echo "   dtxd (pid $DTXD_PID) listens on $EP${METRICS_URL:+, metrics at $METRICS_URL}"
[ -n "$METRICS_URL" ] || echo "bench: warning: dtxd wrote no admin URL: no batch sizes in the cost table" >&2
PART_PIDS=()
for r in noop-a noop-b; do
    start "participant-$r" env DTX_CURVE_KEY_FILE="${KEY_OF[$r]:-}" "$BIN/bench-participant" --instance "bench-$r" --resource "$r" \
        --coordinator "$EP" --ready-file "$SCRATCH/$r.ready"
    PART_PIDS+=("${pids[-1]}")
    wait_file "$SCRATCH/$r.ready" "participant-$r"
done
echo "   participants noop-a and noop-b registered"
read -r LOAD1 _ </proc/loadavg
if calc "l > n / 2 ? 1 : 0" l="$LOAD1" n="$(nproc)" | grep -q 1; then
    echo "bench: warning: the machine is busy (load average $LOAD1 on $(nproc) CPUs): expect noisy" \
        "figures; the 'other' CPU column shows how much the rest of the machine took" >&2
fi

SQL_FP=$(sql_fingerprint)
SQL_FP_REF=$(sed -n 's/^-- coordinator\/log\/sql.c fingerprint: \([0-9a-f]*\).*/\1/p' bench/pgbench_a.sql)
SQL_NOTE=""
if [ "$SQL_FP" != "$SQL_FP_REF" ]; then
    SQL_NOTE="coordinator/log/sql.c's TCC statements (fingerprint $SQL_FP) are not the ones bench/pgbench_a.sql and _b.sql were written against ($SQL_FP_REF): the references may not be the same writes as dtxd's; compare the rows ins/upd columns"
    echo "bench: warning: $SQL_NOTE" >&2
fi

failed=0
# One row per run (tab-separated), dtx levels and references alike:
#  1 level, or a / b   2 run          3 dtx transactions/s   4 p50 ms (pgbench:
#  latency average)     5 p99 ms       6 dtxd VmHWM kB        7 errors
#  8-13 CPU: dtxd, load generator, participants, PostgreSQL, other (% of one
#  CPU), host busy (% of all)          14 PG commits/tx       15 WAL fsyncs/tx
#  16 WAL KiB/tx        17 fsync ms    18 rows inserted/tx    19 rows updated/tx
#  20 settle s          21 raw tps         22 dtxd statements per round trip
#  23 dtxd statements/tx 24 worst whole second of the window, tx/s
ROWS=$LOGS/runs.tsv
: >"$ROWS"

# ------------------------------------------------------------ references
A_CLIENTS=$((max_level < 64 ? max_level : 64))
B_CLIENTS=$REF_CLIENTS

# pgbench_cmd CLIENTS SCRIPT SECONDS: sets PGBENCH_CMD.
pgbench_cmd() {
    PGBENCH_CMD=("$PGBIN/pgbench" -n -M prepared -c "$1" -j 2 -T "$3" -f "$2" "$REF_DB")
}

# pgbench_ref KIND RUN CLIENTS SCRIPT ROWS_PER_TXN: empties ref, CHECKPOINTs,
# warms up for WARMUP s (discarded), runs for DURATION s and appends its
# row to $ROWS. Dies on pgbench failures, failed transactions included.
pgbench_ref() {
    local kind=$1 run=$2 clients=$3 script=$4 per=$5 rc=0 nfail n tps lat
    local log=$LOGS/pgbench-$kind-r$run.log
    q ref "TRUNCATE dtx_branch, dtx_global CASCADE" >/dev/null
    q ref "CHECKPOINT" >/dev/null
    if [ "$WARMUP" -gt 0 ]; then
        pgbench_cmd "$clients" "$script" "$WARMUP"
        bg "${PGBENCH_CMD[@]}" >"$log.warmup" 2>&1
        reap "$BG_PID" || rc=$?
        [ "$rc" -eq 0 ] || { tail -n 20 "$log.warmup" >&2; die "pgbench ($kind warmup) failed (exit $rc)"; }
    fi
    local pg0 pg1
    pg0=$(pg_settled ref)
    pgbench_cmd "$clients" "$script" "$DURATION"
    bg "${PGBENCH_CMD[@]}" >"$log" 2>&1
    local pgbench_pid=$BG_PID
    # The CPU window ends a little before pgbench does (an exited process
    # has no CPU times to read).
    local t0
    t0=$(date +%s.%N)
    cpu_snap "$SCRATCH/cpu0" "$pgbench_pid"
    sleep_until "$(calc 't + d - 0.5' t="$t0" d="$DURATION")"
    cpu_snap "$SCRATCH/cpu1" "$pgbench_pid"
    cat "$SCRATCH/cpu0" - "$SCRATCH/cpu1" <<<"--" >"$LOGS/cpu-$kind-r$run.txt"
    reap "$pgbench_pid" || rc=$?
    [ "$rc" -eq 0 ] || { tail -n 20 "$log" >&2; die "pgbench ($kind) failed (exit $rc)"; }
    pg1=$(pg_settled ref)
    echo "$pg0 / $pg1" >"$LOGS/pg-counters-$kind-r$run.txt"
    nfail=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$log")
    [ "${nfail:-0}" -eq 0 ] || die "pgbench ($kind): $nfail failed transactions (see $log)"
    n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$log")
    tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$log")
    lat=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$log")
    { [ -n "$tps" ] && [ -n "$n" ]; } || die "pgbench ($kind): no tps in its output (see $log)"
    printf '%s\t%s\t%s\t%s\t0\t0\t%s\t%s\t%s\t0\t%s\t0\t0\t0\n' "$kind" "$run" "$(calc 't * p' t="$tps" p="$per")" \
        "${lat:-0}" "${nfail:-0}" "$(cpu_window "$SCRATCH/cpu0" "$SCRATCH/cpu1")" \
        "$(pg_cost "$pg0" "$pg1" "$((n * per))")" "$tps" >>"$ROWS"
    REF_TPS=$tps
}

# ref_round RUN: run RUN of the references (a), (b) and, with TCC_RUN rows,
# (b run). Called right after run RUN of the last dtx level, so that each
# reference run and the dtx runs it is compared with see the same machine
# (measured at the end, after every dtx run, the references drifted with
# the machine's load: (b run) 20,862 -> 17,581 -> 16,260 tx/s over three
# runs on 2026-12-08).
ref_round() {
    local run=$1
    printf '== pgbench (a) run %d/%d ... ' "$run" "$RUNS"
    pgbench_ref a "$run" "$A_CLIENTS" bench/pgbench_a.sql 1
    echo "$REF_TPS tps"
    printf '== pgbench (b) run %d/%d ... ' "$run" "$RUNS"
    pgbench_ref b "$run" "$B_CLIENTS" bench/pgbench_b.sql 50
    echo "$REF_TPS tps (x 50 = $(calc 'sprintf("%.1f", t * 50)' t="$REF_TPS") dtx transactions/s)"
    [ -n "$RUN_LEVELS" ] || return 0
    printf '== pgbench (b run) run %d/%d ... ' "$run" "$RUNS"
    pgbench_ref brun "$run" "$B_CLIENTS" bench/pgbench_b_run.sql 50
    echo "$REF_TPS tps (x 50 = $(calc 'sprintf("%.1f", t * 50)' t="$REF_TPS") dtx transactions/s)"
}

# ------------------------------------------------------------------- dtx
# A level of several of BENCH_LEVELS, BENCH_MANY_LEVELS and BENCH_RUN_LEVELS
# alternates its TRY, TRY_MANY and TCC_RUN runs (TRY run 1, TRY_MANY run 1,
# TCC_RUN run 1, TRY run 2, ...), so that they see the same load on a busy
# machine.
# The references run after each run of the last level (ref_round).
# shellcheck disable=SC2086 # lists of numbers: split on purpose
DTX_LEVELS=$(printf '%s\n' $LEVELS $MANY_LEVELS $RUN_LEVELS | awk '!seen[$0]++')
last_c=$(tail -n 1 <<<"$DTX_LEVELS")
for c in $DTX_LEVELS; do
    kinds=""
    grep -qw -- "$c" <<<"$LEVELS" && kinds="$c"
    grep -qw -- "$c" <<<"$MANY_LEVELS" && kinds="$kinds many$c"
    grep -qw -- "$c" <<<"$RUN_LEVELS" && kinds="$kinds run$c"
    for run in $(seq 1 "$RUNS"); do
      for k in $kinds; do
        many=()
        [ "$k" = "many$c" ] && many=(--try-many)
        [ "$k" = "run$c" ] && many=(--tcc-run)
        dtxd_alive
        tag="c$k-r$run"
        f=$LOGS/dtx-bench-$tag.json
        # The same starting point for every run: an empty log, a fresh
        # checkpoint (no full-page writes owed to an earlier run), dtxd's
        # peak-RSS mark reset (clear_refs 5: VmHWM := current RSS).
        q dtx "TRUNCATE dtx_branch, dtx_global CASCADE" >/dev/null
        q dtx "CHECKPOINT" >/dev/null
        rss_note=""
        echo 5 >"/proc/$DTXD_PID/clear_refs" 2>/dev/null || rss_note=" (cumulative: clear_refs failed)"
        log_from=$(($(wc -l <"$LOGS/dtxd.log") + 1))
        pg0=$(pg_settled dtx)
        st0=$(store_snap)
        printf '== dtx-bench concurrency %-4s%s run %d/%d ... ' "$c" "${many[*]:+ ${many[*]}}" "$run" "$RUNS"
        t0=$(date +%s.%N)
        bg env DTX_CURVE_KEY_FILE="${KEY_OF[bench]:-}" "$BIN/dtx-bench" --coordinator "$EP" --concurrency "$c" --seconds "$DURATION" \
            --warmup "$WARMUP" --json "${many[@]}" >"$f" 2>"$LOGS/dtx-bench-$tag.err"
        bench_pid=$BG_PID
        # CPU over (nearly) the measured window, by the clock: it ends half
        # a second before dtx-bench's, since an exited process has no CPU
        # times left to read.
        sleep_until "$(calc 't + w + 0.05' t="$t0" w="$WARMUP")"
        cpu_snap "$SCRATCH/cpu0" "$bench_pid"
        sleep_until "$(calc 't + w + d - 0.5' t="$t0" w="$WARMUP" d="$DURATION")"
        cpu_snap "$SCRATCH/cpu1" "$bench_pid"
        cat "$SCRATCH/cpu0" - "$SCRATCH/cpu1" <<<"--" >"$LOGS/cpu-$tag.txt"
        rc=0
        reap "$bench_pid" || rc=$?
        bench_end=$(date +%s.%N)
        dtxd_alive
        rss_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$DTXD_PID/status")
        if [ ! -s "$f" ]; then
            cat "$LOGS/dtx-bench-$tag.err" >&2
            die "dtx-bench concurrency $c produced no result (exit $rc)"
        fi
        tps=$(json_num tps "$f")
        errs=$(json_num errors_total "$f")
        committed_total=$(json_num committed_total "$f")
        printf '%s tx/s, p50 %s ms, p99 %s ms, %s error(s), dtxd VmHWM %s kB%s\n' \
            "$tps" "$(json_num p50_ms "$f")" "$(json_num p99_ms "$f")" "$errs" "$rss_kb" "$rss_note"
        if [ "$rc" -ne 0 ] || [ "$errs" -ne 0 ]; then
            sed 's/^/   /' "$LOGS/dtx-bench-$tag.err"
        fi
        if [ "$rc" -ne 0 ]; then
            echo "   dtx-bench FAILED (exit $rc)"
            failed=1
        fi
        # What the coordinator logged (warn and above) during the run:
        # shown, never hidden.
        nlog=$(tail -n +"$log_from" "$LOGS/dtxd.log" | wc -l)
        if [ "$nlog" -gt 0 ]; then
            echo "   dtxd logged $nlog line(s) at warn or above during this run; the first ones:"
            tail -n +"$log_from" "$LOGS/dtxd.log" | head -n 10 | sed 's/^/   | /'
        fi
        # The log must end with every transaction final and, when nothing
        # failed, exactly the commits dtx-bench was told about.
        st=$(settle)
        [ "$st" = "-1" ] && failed=1
        logged=$(q dtx "SELECT count(*) FROM dtx_global WHERE state = 3")
        if [ "$logged" -ne "$committed_total" ]; then
            echo "   the log holds $logged committed transactions; dtx-bench saw $committed_total commits"
            [ "$errs" -eq 0 ] && { echo "   MISMATCH with no error to explain it"; failed=1; }
        fi
        # A backend that went idle less than a second after it last
        # reported its statistics reports the rest only 10 s later
        # (PGSTAT_IDLE_INTERVAL); dtxd's connections may sit idle now.
        sleep_for "$(calc 's > 0 ? s : 0' s="$(calc '11 - (n - e)' n="$(date +%s.%N)" e="$bench_end")")"
        pg1=$(pg_settled dtx)
        st1=$(store_snap)
        echo "$pg0 / $pg1 / $logged transactions" >"$LOGS/pg-counters-$tag.txt"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$k" "$run" "$tps" \
            "$(json_num p50_ms "$f")" "$(json_num p99_ms "$f")" "$rss_kb" "$errs" \
            "$(cpu_window "$SCRATCH/cpu0" "$SCRATCH/cpu1")" "$(pg_cost "$pg0" "$pg1" "$logged")" \
            "$st" "$tps" "$(store_cost "$st0" "$st1" "$logged")" "$(json_num tps_min_1s "$f")" >>"$ROWS"
      done
      [ "$c" != "$last_c" ] || ref_round "$run"
    done
done

# ----------------------------------------------------------------- Sagas
# The same measurement for Sagas (rows of kind sagaC): tx/s are Sagas seen
# committed per second, p50/p99 SAGA sent -> committed seen (STATUS polled
# every SAGA_POLL_MS ms, so up to that much of it is polling).
for c in $SAGA_LEVELS; do
    for run in $(seq 1 "$RUNS"); do
        dtxd_alive
        tag="saga$c-r$run"
        f=$LOGS/dtx-saga-bench-$tag.json
        q dtx "TRUNCATE dtx_branch, dtx_global CASCADE" >/dev/null
        q dtx "CHECKPOINT" >/dev/null
        echo 5 >"/proc/$DTXD_PID/clear_refs" 2>/dev/null || true
        pg0=$(pg_settled dtx)
        st0=$(store_snap)
        printf '== dtx-saga-bench concurrency %-4s run %d/%d ... ' "$c" "$run" "$RUNS"
        t0=$(date +%s.%N)
        bg env DTX_CURVE_KEY_FILE="${KEY_OF[bench]:-}" "$BIN/dtx-saga-bench" --coordinator "$EP" \
            --concurrency "$c" --seconds "$DURATION" --warmup "$WARMUP" --poll-ms "$SAGA_POLL_MS" \
            --json >"$f" 2>"$LOGS/dtx-saga-bench-$tag.err"
        bench_pid=$BG_PID
        sleep_until "$(calc 't + w + 0.05' t="$t0" w="$WARMUP")"
        cpu_snap "$SCRATCH/cpu0" "$bench_pid"
        sleep_until "$(calc 't + w + d - 0.5' t="$t0" w="$WARMUP" d="$DURATION")"
        cpu_snap "$SCRATCH/cpu1" "$bench_pid"
        rc=0
        reap "$bench_pid" || rc=$?
        bench_end=$(date +%s.%N)
        dtxd_alive
        rss_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$DTXD_PID/status")
        if [ ! -s "$f" ]; then
            cat "$LOGS/dtx-saga-bench-$tag.err" >&2
            die "dtx-saga-bench concurrency $c produced no result (exit $rc)"
        fi
        tps=$(json_num tps "$f")
        errs=$(json_num errors_total "$f")
        committed_total=$(json_num committed_total "$f")
        printf '%s Sagas/s, p50 %s ms, p99 %s ms, %s error(s)\n' "$tps" "$(json_num p50_ms "$f")" \
            "$(json_num p99_ms "$f")" "$errs"
        if [ "$rc" -ne 0 ] || [ "$errs" -ne 0 ]; then
            sed 's/^/   /' "$LOGS/dtx-saga-bench-$tag.err"
        fi
        [ "$rc" -eq 0 ] || { echo "   dtx-saga-bench FAILED (exit $rc)"; failed=1; }
        st=$(settle)
        [ "$st" = "-1" ] && failed=1
        logged=$(q dtx "SELECT count(*) FROM dtx_global WHERE state = 3 AND mode = 3")
        if [ "$logged" -ne "$committed_total" ]; then
            echo "   the log holds $logged committed Sagas; dtx-saga-bench saw $committed_total"
            [ "$errs" -eq 0 ] && { echo "   MISMATCH with no error to explain it"; failed=1; }
        fi
        sleep_for "$(calc 's > 0 ? s : 0' s="$(calc '11 - (n - e)' n="$(date +%s.%N)" e="$bench_end")")"
        pg1=$(pg_settled dtx)
        st1=$(store_snap)
        printf 'saga%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t0\n' "$c" "$run" "$tps" \
            "$(json_num p50_ms "$f")" "$(json_num p99_ms "$f")" "$rss_kb" "$errs" \
            "$(cpu_window "$SCRATCH/cpu0" "$SCRATCH/cpu1")" "$(pg_cost "$pg0" "$pg1" "$logged")" \
            "$st" "$tps" "$(store_cost "$st0" "$st1" "$logged")" >>"$ROWS"
    done
done

# The references of the table rows: (b run) only with TCC_RUN rows.
REFS="a b${RUN_LEVELS:+ brun}"
BR_TPS=0 BR_X50=0
if [ -n "$RUN_LEVELS" ]; then
    BR_TPS=$(col brun 21)
    BR_X50=$(col brun 3)
fi
A_TPS=$(col a 3)
B_TPS=$(col b 21)
B_X50=$(col b 3)
pgbench_cmd "$A_CLIENTS" bench/pgbench_a.sql "$DURATION"
PGBENCH_A=("${PGBENCH_CMD[@]}")
pgbench_cmd "$B_CLIENTS" bench/pgbench_b.sql "$DURATION"
PGBENCH_B=("${PGBENCH_CMD[@]}")
pgbench_cmd "$B_CLIENTS" bench/pgbench_b_run.sql "$DURATION"
PGBENCH_BR=("${PGBENCH_CMD[@]}")

# The report: results.txt and results.json.
# shellcheck source=bench/run_report.sh
. bench/run_report.sh

echo
cat "$OUT/results.txt"
echo
echo "written: $OUT/results.txt, $OUT/results.json (logs: $OUT/logs/)"
[ "$failed" -eq 0 ] || die "some runs failed (see above)"
