# bench/run_report.sh — sourced by bench/run.sh once every run and
# reference has been measured: writes $OUT/results.txt (the tables) and
# $OUT/results.json from the rows of $ROWS. Uses run.sh's variables and
# helpers.

# ---------------------------------------------------------------- report
PG_VERSION=$(q postgres "SHOW server_version")
PG_SETTINGS=$(q postgres "SELECT string_agg(name || '=' || setting || coalesce(unit, ''), ' ' ORDER BY name)
    FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'wal_sync_method',
    'full_page_writes', 'shared_buffers', 'max_wal_size', 'checkpoint_timeout', 'track_wal_io_timing')")
CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
NPROC=$(nproc)
KERNEL=$(uname -r)
STAMP=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# values KIND N: column N of every run of KIND, one a line.
values() {
    awk -F '\t' -v k="$1" -v n="$2" '$1 == k { print $n }' "$ROWS"
}
# maxof KIND N / sumof KIND N: over the runs of KIND.
maxof() {
    awk -F '\t' -v k="$1" -v n="$2" '$1 == k && (!seen++ || $n > m) { m = $n } END { print m + 0 }' "$ROWS"
}
sumof() {
    awk -F '\t' -v k="$1" -v n="$2" '$1 == k { t += $n } END { print t + 0 }' "$ROWS"
}
minof() {
    awk -F '\t' -v k="$1" -v n="$2" '$1 == k && (!seen++ || $n < m) { m = $n } END { print m + 0 }' "$ROWS"
}
# list KIND N: column N of every run of KIND, comma-separated.
list() {
    values "$1" "$2" | paste -s -d, -
}
# range KIND: (max - min) / median of the runs' dtx tx/s, in percent.
range() {
    local v
    mapfile -t v < <(values "$1" 3)
    spread "${v[@]}"
}
quote_cmd() {
    printf '%q ' "$@" | sed 's/ $//'
}
# side_rows KIND LEVELS BESIDE BESIDE_LEVELS WIDTH [BRUN]: a side table's
# rows: per level c of LEVELS, run KINDc's rate (WIDTH characters), p50,
# p99, errors and range, then run BESIDEc's rate and p50 when
# BESIDE_LEVELS has c ("-" otherwise); with BRUN, KINDc's rate / (b run).
side_rows() {
    local kind=$1 kind_levels=$2 beside=$3 beside_levels=$4 width=$5 brun=${6:-} c tcc tccp
    for c in $kind_levels; do
        tcc=- tccp=-
        if grep -qw -- "$c" <<<"$beside_levels"; then
            tcc=$(printf '%.1f' "$(col "$beside$c" 3)") tccp=$(printf '%.2f' "$(col "$beside$c" 4)")
        fi
        printf "%-6s %${width}.1f %7.2f %7.2f %7s %9s%% %10s %9s" "$c" "$(col "$kind$c" 3)" \
            "$(col "$kind$c" 4)" "$(col "$kind$c" 5)" "$(sumof "$kind$c" 7)" "$(range "$kind$c")" \
            "$tcc" "$tccp"
        [ -z "$brun" ] || printf ' %11.2f' "$(calc 'b > 0 ? d / b : 0' d="$(col "$kind$c" 3)" b="$BR_X50")"
        echo
    done
}

mkdir -p "$OUT"
{
    echo "dtx benchmark, $STAMP"
    echo "machine: nproc $NPROC, kernel $KERNEL, cpu ${CPU_MODEL:-unknown}"
    echo "PostgreSQL $PG_VERSION, private cluster on a unix socket, fsync on and synchronous_commit"
    echo "  on (the default): every commit waits for its WAL flush."
    echo "  $PG_SETTINGS"
    echo "PostgreSQL, dtxd, 2 participants and the load generator share these $NPROC CPUs (with whatever"
    echo "  else runs on the machine: see 'other' below)"
    echo "$RUNS run(s) per measurement, each ${DURATION} s measured after ${WARMUP} s warmup; medians shown"
    echo
    printf '%-6s %9s %7s %7s %13s %8s %8s %7s %10s %9s\n' \
        level "dtx tx/s" "p50 ms" "p99 ms" "dtxd RSS MiB" "dtx/(a)" "dtx/(b)" errors "tx/s range" "worst 1 s"
    for c in $LEVELS; do
        tps=$(col "$c" 3)
        printf '%-6s %9.1f %7.2f %7.2f %13.1f %8.2f %8.2f %7s %9s%% %9s\n' "$c" "$tps" \
            "$(col "$c" 4)" "$(col "$c" 5)" "$(calc 'k / 1024' k="$(maxof "$c" 6)")" \
            "$(calc 'a > 0 ? d / a : 0' d="$tps" a="$A_TPS")" \
            "$(calc 'b > 0 ? d / b : 0' d="$tps" b="$B_X50")" "$(sumof "$c" 7)" "$(range "$c")" \
            "$(minof "$c" 24)"
    done
    if [ -n "$MANY_LEVELS" ]; then
        echo
        echo "TRY_MANY (dtx-bench --try-many: BEGIN, one TRY_MANY of noop-a and noop-b, COMMIT: 3 round"
        echo "  trips instead of 4, the global row and both branch rows in one statement, both Tries in"
        echo "  parallel) beside the TRYs one by one, same run:"
        printf '%-6s %9s %7s %7s %7s %10s %10s %9s\n' level "dtx tx/s" "p50 ms" "p99 ms" errors \
            "tx/s range" "TRY tx/s" "TRY p50"
        side_rows many "$MANY_LEVELS" "" "$LEVELS" 9
    fi
    if [ -n "$RUN_LEVELS" ]; then
        echo
        echo "TCC_RUN (dtx-bench --tcc-run: the whole transaction in one request, committed by dtxd when"
        echo "  both vote yes: 1 round trip, the branch rows in one log write, the votes in the decision's;"
        echo "  latency: TCC_RUN sent -> answered once the decision is durable) beside TRY_MANY, same run;"
        echo "  dtx/(b run): against reference (b run), the same rows as these (no vote statements):"
        printf '%-6s %9s %7s %7s %7s %10s %10s %9s %11s\n' level "dtx tx/s" "p50 ms" "p99 ms" errors \
            "tx/s range" "MANY tx/s" "MANY p50" "dtx/(b run)"
        side_rows run "$RUN_LEVELS" many "$MANY_LEVELS" 9 brun
    fi
    if [ -n "$SAGA_LEVELS" ]; then
        echo
        echo "Sagas (dtx-saga-bench: SAGA of two steps, noop-a then noop-b; done when STATUS says committed,"
        echo "  polled every $SAGA_POLL_MS ms) beside TCC (dtx-bench) at the same number in flight:"
        printf '%-6s %10s %7s %7s %7s %10s %10s %9s\n' level "Sagas/s" "p50 ms" "p99 ms" errors \
            "tx/s range" "TCC tx/s" "TCC p50"
        side_rows saga "$SAGA_LEVELS" "" "$LEVELS" 10
        echo "  A Saga's latency runs to its end (every action done and logged), a TCC transaction's to"
        echo "  its COMMIT reply (its confirms run after): the two are not the same span."
    fi
    echo
    printf 'reference (a): %8.1f dtx transactions/s: pgbench tps, the 6 statements of one dtx transaction\n' "$A_TPS"
    printf '               each in its own transaction, %d clients (range %s%%)\n' "$A_CLIENTS" "$(range a)"
    printf 'reference (b): %8.1f dtx transactions/s: pgbench tps %.1f x 50, the rows of 50 dtx\n' "$B_X50" "$B_TPS"
    printf '               transactions per commit and round trip, %d clients (range %s%%)\n' "$B_CLIENTS" "$(range b)"
    if [ -n "$RUN_LEVELS" ]; then
        printf 'reference (b run): %4.1f dtx transactions/s: pgbench tps %.1f x 50, the rows of 50 TCC_RUN\n' "$BR_X50" "$BR_TPS"
        printf '               transactions (no votes) per commit and round trip, %d clients (range %s%%)\n' "$B_CLIENTS" "$(range brun)"
    fi
    echo
    echo "CPU over the measured windows (medians; % of one CPU, host busy in % of all $NPROC), and"
    echo "CPU-us per dtx transaction: the benchmark's processes (dtxd, load, parts, PG) and the whole"
    echo "host; limit = $NPROC CPUs x 1,000,000 us/s / CPU-us per transaction (the rate at which"
    echo "the benchmark's own processes would use every CPU):"
    printf '%-6s %6s %6s %6s %6s %6s %6s %9s %9s %10s\n' run dtxd load parts PG other host \
        "us/tx" "host us" "limit tx/s"
    # shellcheck disable=SC2046,SC2086 # lists of numbers: split on purpose
    for k in $LEVELS ${MANY_LEVELS:+$(printf 'many%s ' $MANY_LEVELS)} ${RUN_LEVELS:+$(printf 'run%s ' $RUN_LEVELS)} ${SAGA_LEVELS:+$(printf 'saga%s ' $SAGA_LEVELS)} $REFS; do
        label=$k
        [ "$k" = a ] || [ "$k" = b ] && label="($k)"
        [ "$k" = brun ] && label="(brun)"
        tps=$(col "$k" 3)
        us=$(calc 't > 0 ? (d + l + p + g) * 10000 / t : 0' t="$tps" d="$(col "$k" 8)" \
            l="$(col "$k" 9)" p="$(col "$k" 10)" g="$(col "$k" 11)")
        printf '%-6s %6s %6s %6s %6s %6s %5s%% %9.0f %9.0f %10.0f\n' "$label" "$(col "$k" 8)" \
            "$(col "$k" 9)" "$(col "$k" 10)" "$(col "$k" 11)" "$(col "$k" 12)" "$(col "$k" 13)" "$us" \
            "$(calc 't > 0 ? h * n * 10000 / t : 0' t="$tps" h="$(col "$k" 13)" n="$NPROC")" \
            "$(calc 'u > 0 ? n * 1000000 / u : 0' u="$us" n="$NPROC")"
    done
    echo
    echo "the log's cost per dtx transaction (medians over whole runs):"
    printf '%-6s %8s %7s %9s %8s %5s %5s %9s %12s\n' run commits fsyncs "fsync ms" "WAL KiB" ins upd \
        "stmts/tx" "stmts/batch"
    # shellcheck disable=SC2046,SC2086 # lists of numbers: split on purpose
    for k in $LEVELS ${MANY_LEVELS:+$(printf 'many%s ' $MANY_LEVELS)} ${RUN_LEVELS:+$(printf 'run%s ' $RUN_LEVELS)} ${SAGA_LEVELS:+$(printf 'saga%s ' $SAGA_LEVELS)} $REFS; do
        label=$k batch=- stmts=-
        if [ "$k" = a ] || [ "$k" = b ] || [ "$k" = brun ]; then
            label="($k)"
        elif [ -n "$METRICS_URL" ]; then
            batch=$(col "$k" 22) stmts=$(col "$k" 23)
        fi
        printf '%-6s %8s %7s %9s %8s %5s %5s %9s %12s\n' "$label" "$(col "$k" 14)" "$(col "$k" 15)" \
            "$(col "$k" 17)" "$(col "$k" 16)" "$(col "$k" 18)" "$(col "$k" 19)" "$stmts" "$batch"
    done
    echo
    echo "notes: dtx tx/s counts COMMITs answered 'committing' (closed loop: C transactions in flight,"
    echo "  each BEGIN, TRY noop-a, TRY noop-b, COMMIT); p50/p99: BEGIN sent -> COMMIT answered. The"
    echo "  confirms, their log writes and the final state write run after that reply; after every"
    echo "  run the log was checked to hold every transaction final and as many commits as dtx-bench"
    printf '  saw (longest wait for the last ones, s:'
    for c in $LEVELS; do printf ' %s: %s' "$c" "$(maxof "$c" 20)"; done
    for c in $MANY_LEVELS; do printf ' many%s: %s' "$c" "$(maxof "many$c" 20)"; done
    for c in $RUN_LEVELS; do printf ' run%s: %s' "$c" "$(maxof "run$c" 20)"; done
    echo ")."
    echo "  dtxd RSS: VmHWM with the mark reset before each run, highest run. errors: every run,"
    echo "  warmup and drain included. tx/s range: (max - min) / median over the runs. worst 1 s:"
    echo "  the fewest commits in one whole second of a measured window, over every run (a stall"
    echo "  shows here)."
    echo "  CPU: load = dtx-bench or pgbench; PG = the postmaster and its children; other = every"
    echo "  other process on the machine (not part of the benchmark: a high figure means the"
    echo "  numbers above are disturbed). PG commits: pg_stat_database.xact_commit of the log's"
    echo "  database (read-only transactions included); WAL fsyncs and KiB: pg_stat_wal, cluster-wide"
    echo "  (autovacuum included); fsync ms: mean wal_sync_time per fsync (track_wal_io_timing on);"
    echo "  ins/upd: rows inserted/updated (pg_stat_database tup_inserted/tup_updated): equal figures"
    echo "  for dtx and (a), (b) — for the TCC_RUN rows and (brun) — mean that the references write"
    echo "  the same rows as dtxd ((brun) is reference (b run), bench/pgbench_b_run.sql). stmts/tx and"
    echo "  stmts/batch: dtxd's statements per transaction and per round trip, a set statement"
    echo "  (one per kind per batch, coordinator/log/batch.h) counting once (its /metrics:"
    echo "  dtx_store_statements_total, dtx_store_round_trips_total; recovery scans and lease"
    echo "  renewals included)."
    [ -z "$SQL_NOTE" ] || echo "WARNING: $SQL_NOTE" | fold -s -w 96 | sed '2,$s/^/  /'

    echo
    echo "commands:"
    echo "  $(quote_cmd "$PG" start "$PGDIR"); $(quote_cmd "$PG" createdb "$PGDIR" dtx); $(quote_cmd "$PG" createdb "$PGDIR" ref)"
    echo "  psql: ALTER SYSTEM SET track_wal_io_timing = on; SELECT pg_reload_conf()"
    echo "  $(quote_cmd "$BIN/dtxd" --db "$REF_DB" --migrate-only)"
    echo "  $(quote_cmd "${DTXD_CMD[@]}")"
    for r in noop-a noop-b; do
        echo "  $(quote_cmd "$BIN/bench-participant" --instance "bench-$r" --resource "$r" --coordinator "$EP" --ready-file "$SCRATCH/$r.ready")"
    done
    echo "  before each run: TRUNCATE dtx_branch, dtx_global CASCADE; CHECKPOINT; echo 5 > /proc/<dtxd pid>/clear_refs"
    echo "  $(quote_cmd "$BIN/dtx-bench" --coordinator "$EP" --concurrency C --seconds "$DURATION" --warmup "$WARMUP" --json)   (C: $LEVELS)"
    [ -z "$MANY_LEVELS" ] || echo "  the same with --try-many   (C: $MANY_LEVELS)"
    [ -z "$RUN_LEVELS" ] || echo "  the same with --tcc-run   (C: $RUN_LEVELS)"
    [ -z "$SAGA_LEVELS" ] || echo "  $(quote_cmd "$BIN/dtx-saga-bench" --coordinator "$EP" --concurrency C --seconds "$DURATION" --warmup "$WARMUP" --poll-ms "$SAGA_POLL_MS" --json)   (C: $SAGA_LEVELS)"
    echo "  (a) $(quote_cmd "${PGBENCH_A[@]}")   (after the same with -T $WARMUP, discarded)"
    echo "  (b) $(quote_cmd "${PGBENCH_B[@]}")   (after the same with -T $WARMUP, discarded)"
    [ -z "$RUN_LEVELS" ] || echo "  (b run) $(quote_cmd "${PGBENCH_BR[@]}")   (after the same with -T $WARMUP, discarded)"
} >"$OUT/results.txt"

# json_fields KIND: the measurements every entry of results.json carries.
json_fields() {
    printf '"tps":%s,"cpu_pct":{"dtxd":%s,"load":%s,"participants":%s,"postgresql":%s,"other":%s,"host_busy":%s},' \
        "$(col "$1" 3)" "$(col "$1" 8)" "$(col "$1" 9)" "$(col "$1" 10)" "$(col "$1" 11)" \
        "$(col "$1" 12)" "$(col "$1" 13)"
    printf '"per_tx":{"pg_commits":%s,"wal_fsyncs":%s,"wal_kib":%s,"rows_inserted":%s,"rows_updated":%s},' \
        "$(col "$1" 14)" "$(col "$1" 15)" "$(col "$1" 16)" "$(col "$1" 18)" "$(col "$1" 19)"
    printf '"fsync_ms":%s,"tps_range_pct":%s,"tps_runs":[%s]' "$(col "$1" 17)" "$(range "$1")" "$(list "$1" 3)"
    if [ "$1" != a ] && [ "$1" != b ] && [ "$1" != brun ]; then
        printf ',"dtxd_statements_per_tx":%s,"dtxd_statements_per_round_trip":%s,"worst_1s_tps":%s' \
            "$(col "$1" 23)" "$(col "$1" 22)" "$(minof "$1" 24)"
    fi
}

# json_kind PREFIX LEVELS: the entries of one kind of dtx-bench row (many:
# --try-many, run: --tcc-run), comma-separated.
json_kind() {
    local sep="" c
    for c in $2; do
        printf '%s{"concurrency":%s,"p50_ms":%s,"p99_ms":%s,"errors":%s,' "$sep" "$c" \
            "$(col "$1$c" 4)" "$(col "$1$c" 5)" "$(sumof "$1$c" 7)"
        json_fields "$1$c"
        printf '}'
        sep=","
    done
}

{
    printf '{"time":"%s","machine":{"nproc":%s,"kernel":"%s","cpu":"%s","postgresql":"%s","settings":"%s"},' \
        "$STAMP" "$NPROC" "$KERNEL" "${CPU_MODEL//\"/}" "$PG_VERSION" "$PG_SETTINGS"
    printf '"seconds":%s,"warmup":%s,"runs":%s,"db_connections":%s,"levels":[' "$DURATION" "$WARMUP" "$RUNS" "$DB_CONNS"
    sep=""
    for c in $LEVELS; do
        printf '%s{"concurrency":%s,"p50_ms":%s,"p99_ms":%s,"dtxd_vmhwm_kb":%s,"errors":%s,"settle_s":%s,' \
            "$sep" "$c" "$(col "$c" 4)" "$(col "$c" 5)" "$(maxof "$c" 6)" "$(sumof "$c" 7)" "$(maxof "$c" 20)"
        json_fields "$c"
        printf ',"dtx_bench":['
        rsep=""
        for run in $(seq 1 "$RUNS"); do
            printf '%s%s' "$rsep" "$(cat "$LOGS/dtx-bench-c$c-r$run.json")"
            rsep=","
        done
        printf ']}'
        sep=","
    done
    printf '],"try_many":['
    json_kind many "$MANY_LEVELS"
    printf '],"tcc_run":['
    json_kind run "$RUN_LEVELS"
    printf '],"sagas":['
    sep=""
    for c in $SAGA_LEVELS; do
        printf '%s{"concurrency":%s,"poll_ms":%s,"p50_ms":%s,"p99_ms":%s,"errors":%s,' "$sep" "$c" \
            "$SAGA_POLL_MS" "$(col "saga$c" 4)" "$(col "saga$c" 5)" "$(sumof "saga$c" 7)"
        json_fields "saga$c"
        printf '}'
        sep=","
    done
    printf '],"ref_a":{"clients":%s,"pgbench_tps":%s,"latency_avg_ms":%s,' "$A_CLIENTS" "$(col a 21)" "$(col a 4)"
    json_fields a
    printf '},"ref_b":{"clients":%s,"pgbench_tps":%s,"latency_avg_ms":%s,' "$B_CLIENTS" "$(col b 21)" "$(col b 4)"
    json_fields b
    if [ -n "$RUN_LEVELS" ]; then
        printf '},"ref_b_run":{"clients":%s,"pgbench_tps":%s,"latency_avg_ms":%s,' "$B_CLIENTS" "$(col brun 21)" "$(col brun 4)"
        json_fields brun
    fi
    printf '}}\n'
} >"$OUT/results.json"
