# bench/run_cost.sh — sourced by bench/run.sh: what a run cost, measured
# over its window (CPU of each of the benchmark's processes and of the
# host, PostgreSQL's commits, fsyncs, WAL and rows, dtxd's statements), and
# the wait for the log to settle after a run. Uses run.sh's variables
# (DTXD_PID, PART_PIDS, PGDIR, ...) and helpers (q, calc); defines
# functions only, runs nothing.

# --- CPU and log accounting over a window ---------------------------------
CLK_TCK=$(getconf CLK_TCK)

# cpu_snap FILE [LOAD_PID]: the host's CPU counters and those of every
# process of the benchmark (dtxd, participants, the load generator,
# PostgreSQL's postmaster and its children), to FILE: "host WALL BUSY
# TOTAL", then "ROLE PID TICKS" per process (utime + stime, every thread).
# A few processes in all, so that sampling disturbs little.
cpu_snap() {
    local p pm roles="$DTXD_PID:dtxd" files=("/proc/$DTXD_PID/stat")
    for p in "${PART_PIDS[@]}"; do roles+=" $p:parts" files+=("/proc/$p/stat"); done
    if [ -n "${2:-}" ]; then roles+=" $2:load" files+=("/proc/$2/stat"); fi
    pm=$(head -n 1 "$PGDIR/data/postmaster.pid" 2>/dev/null) || pm=""
    if [ -n "$pm" ]; then
        for p in $pm $(pgrep -P "$pm"); do roles+=" $p:pg" files+=("/proc/$p/stat"); done
    fi
    # A process may end between pgrep and cat (an autovacuum worker): not
    # an error.
    { head -n 1 /proc/stat; cat "${files[@]}" 2>/dev/null || true; } |
        awk -v w="$(date +%s.%N)" -v roles="$roles" '
            BEGIN { n = split(roles, r, " "); for (i = 1; i <= n; i++) { split(r[i], kv, ":"); role[kv[1]] = kv[2] } }
            NR == 1 { idle = $5 + $6; total = 0; for (i = 2; i <= 9; i++) total += $i
                      print "host", w, total - idle, total; next }
            { s = $0; sub(/^.*\) /, "", s); split(s, f, " ")
              # f[1] is field 3 (state): utime and stime are fields 14 and 15.
              if ($1 in role) print role[$1], $1, f[12] + f[13] }' >"$1"
}

# cpu_window FILE0 FILE1: CPU used between two snapshots, tab-separated:
# dtxd, load generator, participants, PostgreSQL and everything else on
# the machine in % of one CPU, then the host's busy % of all CPUs. A
# process that started in between counts from zero; one that ended in
# between is lost (it no longer has counters to read).
cpu_window() {
    awk -v hz="$CLK_TCK" '
        FNR == NR { if ($1 == "host") { w0 = $2; b0 = $3; t0 = $4 } else s[$1 " " $2] = $3; next }
        $1 == "host" { w1 = $2; b1 = $3; t1 = $4; next }
        { k = $1 " " $2; d = $3 - ((k in s) ? s[k] : 0); if (d > 0) r[$1] += d }
        END {
            wall = w1 - w0; if (wall <= 0) wall = 1
            ours = r["dtxd"] + r["load"] + r["parts"] + r["pg"]
            other = (b1 - b0) - ours; if (other < 0) other = 0
            f = 100 / hz / wall
            printf "%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f", r["dtxd"] * f, r["load"] * f,
                r["parts"] * f, r["pg"] * f, other * f, (t1 > t0 ? (b1 - b0) * 100 / (t1 - t0) : 0)
        }' "$1" "$2"
}

# pg_snap DB: "xact_commit wal_sync wal_bytes wal_sync_time_ms tup_inserted
# tup_updated" (DB's commits and row writes, the cluster's WAL counters).
pg_snap() {
    q "$1" "SELECT d.xact_commit, w.wal_sync, w.wal_bytes, w.wal_sync_time, d.tup_inserted,
                   d.tup_updated
              FROM pg_stat_database d, pg_stat_wal w WHERE d.datname = '$1'" | tr '|' ' '
}

# pg_settled DB: waits (up to 12 s) until the counters stop moving, so that
# every backend has reported its statistics; prints pg_snap.
pg_settled() {
    local prev cur n=0
    prev=$(pg_snap "$1")
    while [ $n -lt 24 ]; do
        sleep_for 0.5
        cur=$(pg_snap "$1")
        [ "${cur#* }" = "${prev#* }" ] && [ $n -ge 2 ] && break
        prev=$cur
        n=$((n + 1))
    done
    echo "$cur"
}

# pg_cost SNAP0 SNAP1 TXNS: per dtx transaction, tab-separated: commits,
# WAL fsyncs, WAL KiB, the mean fsync time in ms, rows inserted, rows
# updated.
pg_cost() {
    awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN {
        split(a, x, " "); split(b, y, " ")
        if (n <= 0) n = 1
        syncs = y[2] - x[2]
        printf "%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f", (y[1] - x[1]) / n, syncs / n,
            (y[3] - x[3]) / 1024 / n, (syncs > 0 ? (y[4] - x[4]) / syncs : 0),
            (y[5] - x[5]) / n, (y[6] - x[6]) / n }'
}

# sql_fingerprint: a hash of the statements of coordinator/log/sql.c that one
# TCC transaction runs (and of the macros they use: fencing, the set forms a
# batch runs them as), blanks squeezed. bench/pgbench_a.sql and _b.sql name the one they were written
# against: when it differs, the references may no longer be the same
# writes as dtxd's.
sql_fingerprint() {
    awk '
        /^#define S_(FENCE_BRANCH|POS|AT|AT_BRANCH|BRANCH_KEY|FENCE_SET|FIN_BRANCH|SET_[A-Z_]+)[( ]/ { infence = 1 }
        infence { print; if ($0 !~ /\\$/) infence = 0; next }
        /\[DTX_SQL_(BRANCH_FIRST|BRANCH_ADD|BRANCH_VOTE|DECIDE|FINISH)\] = \{/ { inst = 1 }
        inst { print; if ($0 ~ /\},[ \t]*$/) inst = 0 }
    ' coordinator/log/sql.c | tr -s ' \t' ' ' | sha256sum | cut -c1-16
}

# store_snap: "round_trips statements" of dtxd's log store (its /metrics),
# or "0 0" when unavailable.
store_snap() {
    local out=""
    [ -n "$METRICS_URL" ] && out=$(curl -s --max-time 2 "$METRICS_URL" 2>/dev/null | awk '
        /^dtx_store_round_trips_total\{store="log"\}/ { rt = $2 }
        /^dtx_store_ops_total\{store="log"\}/ { ops = $2 }
        /^dtx_store_statements_total / { st = $2 }
        END { if (rt != "") print rt, (st != "" ? st : ops) }') || out=""
    echo "${out:-0 0}"
}

# store_cost SNAP0 SNAP1 TXNS: tab-separated: mean statements per round trip,
# statements per dtx transaction.
store_cost() {
    awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN {
        split(a, x, " "); split(b, y, " "); rt = y[1] - x[1]; ops = y[2] - x[2]
        if (n <= 0) n = 1
        printf "%.1f\t%.2f", (rt > 0 ? ops / rt : 0), ops / n }'
}

# settle: waits until the log shows no unfinished transaction; prints the
# seconds it took, or -1 after SETTLE_TIMEOUT_S.
settle() {
    local t0 n=0 left
    t0=$(date +%s.%N)
    while :; do
        left=$(q dtx "SELECT count(*) FROM dtx_global WHERE state NOT IN (3, 5)")
        [ "$left" -eq 0 ] && break
        n=$((n + 1))
        if [ $n -gt $((SETTLE_TIMEOUT_S * 10)) ]; then
            echo "bench: $left transaction(s) still unfinished in the log ${SETTLE_TIMEOUT_S} s after the run:" >&2
            q dtx "SELECT dtx_state_name(state) || ': ' || count(*) FROM dtx_global
                   WHERE state NOT IN (3, 5) GROUP BY state" >&2
            echo -1
            return 0
        fi
        sleep 0.1
    done
    calc 'sprintf("%.1f", b - a)' a="$t0" b="$(date +%s.%N)"
}
