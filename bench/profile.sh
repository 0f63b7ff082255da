#!/usr/bin/env bash
# bench/profile.sh — what one TCC transaction costs dtxd, the participants
# and the load generator outside PostgreSQL, in numbers a shared machine
# blurs less than tx/s: CPU-us per transaction by thread (user and
# system), system calls per transaction, and (PROFILE_CALLGRIND=1)
# instructions per transaction of dtxd's loop thread and its ZeroMQ I/O
# thread.
#
#   BUILD=build bench/profile.sh
#
# Environment:
#   BUILD              build directory holding bin/ (default build)
#   DTXD, PARTICIPANT, LOAD
#                      the dtxd, bench-participant and dtx-bench to measure
#                      (default: $BUILD/bin's; another build's, to compare)
#   PROFILE_LEVELS     transactions in flight (default "1 256"; " " for
#                      none: only the callgrind run)
#   PROFILE_SECONDS    measured seconds per run (default 8; 1 s of warm-up
#                      before)
#   PROFILE_CURVE      1 (default): CurveZMQ, as bench/run.sh; 0: plain
#   PROFILE_DB_CONNECTIONS  dtxd --db-connections (default 2, as bench/run.sh)
#   PROFILE_SHAPE      the transaction's request shape: "" (default: BEGIN,
#                      TRYs, COMMIT), try-many or tcc-run (dtx-bench's
#                      --try-many, --tcc-run)
#   PROFILE_STRACE     1 (default when strace is installed): a second run
#                      per level under strace -c (dtxd and participant
#                      noop-a): system calls per transaction
#   PROFILE_TIMELINE   1: at 1 in flight, one more run under `perf trace`
#                      (dtxd, the participants, dtx-bench and PostgreSQL
#                      at once; bench/timeline.py reads it): the median of
#                      each segment of a transaction's chain (thread
#                      hand-offs, TCP, dtxd's turns, the log's round trip
#                      and its fdatasync); needs perf and python3
#   PROFILE_SYSCALLS   1: per level, one more run under `perf stat
#                      --per-thread` (tracepoints: barely slows the run):
#                      system calls by kind and context switches (wake-ups)
#                      per transaction of each thread of dtxd, participant
#                      noop-a and dtx-bench; needs perf
#   PROFILE_AREAS      1: per level, one more run under `perf record -g`
#                      (dwarf call chains, dtxd only): dtxd's CPU-us per
#                      transaction by area (ZeroMQ I/O thread: crypto,
#                      kernel, libzmq; loop thread: ZeroMQ calls, log,
#                      engine, common, loop, metrics, admin), read by
#                      bench/cpu_areas.py; needs perf and python3
#   PROFILE_CALLGRIND  1: a last run (64 in flight) with dtxd under
#                      valgrind --tool=callgrind; its output file is kept
#                      and named (callgrind_annotate --inclusive=yes FILE)
#                      next to the run's folder, /tmp/dtx-profile.*.callgrind
#
# What it does: a private PostgreSQL (tests/harness/pg.sh), one dtxd, two
# bench-participants (noop-a, noop-b), and per level a dtx-bench run (the
# transaction of bench/run.sh: BEGIN, a TRY per resource, COMMIT). CPU
# comes from /proc/PID/task/TID/stat over the measured window, divided by
# the transactions committed in it (tps x window). Per level it also reads
# dtxd's /metrics: what its BUNDLEs carried (PHASEs a BUNDLE, the share of
# PHASEs bundled, the participants' replies a BUNDLE). Run it twice or more,
# alternating the builds compared: on a busy machine one run proves
# little. PostgreSQL's own cost is bench/run.sh's table.
set -Eeuo pipefail
trap 'echo "profile: line $LINENO: command failed (status $?): $BASH_COMMAND" >&2' ERR

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
BUILD=${BUILD:-build}
case $BUILD in
/*) BIN=$BUILD/bin ;;
*) BIN=$ROOT/$BUILD/bin ;;
esac
DTXD=${DTXD:-$BIN/dtxd}
PARTICIPANT=${PARTICIPANT:-$BIN/bench-participant}
LOAD=${LOAD:-$BIN/dtx-bench}
LEVELS=${PROFILE_LEVELS:-1 256}
SECS=${PROFILE_SECONDS:-8}
SHAPE=${PROFILE_SHAPE:-}
case $SHAPE in
'' | try-many | tcc-run) ;;
*) echo "profile: PROFILE_SHAPE is '', try-many or tcc-run, not '$SHAPE'" >&2; exit 2 ;;
esac
CURVE=${PROFILE_CURVE:-1}
STRACE=${PROFILE_STRACE:-$(command -v strace >/dev/null && echo 1 || echo 0)}
CALLGRIND=${PROFILE_CALLGRIND:-0}
TIMELINE=${PROFILE_TIMELINE:-0}
AREAS=${PROFILE_AREAS:-0}
SYSCALLS=${PROFILE_SYSCALLS:-0}
PG=tests/harness/pg.sh
HZ=$(getconf CLK_TCK)

die() {
    echo "profile: $*" >&2
    exit 1
}
for b in "$DTXD" "$PARTICIPANT" "$LOAD" "$BIN/dtxctl"; do
    [ -x "$b" ] || die "$b is missing: make BUILD=$BUILD all bench-build"
done
case $SECS in '' | *[!0-9]* | 0 | 1 | 2 | 3) die "PROFILE_SECONDS wants a whole number >= 4" ;; esac
[ "$STRACE" = 0 ] || command -v strace >/dev/null || die "PROFILE_STRACE=1 but strace is not installed"
[ "$TIMELINE" = 0 ] || { command -v perf >/dev/null && command -v python3 >/dev/null; } ||
    die "PROFILE_TIMELINE=1 needs perf and python3"
[ "$SYSCALLS" = 0 ] || command -v perf >/dev/null || die "PROFILE_SYSCALLS=1 needs perf"
[ "$AREAS" = 0 ] || { command -v perf >/dev/null && command -v python3 >/dev/null; } ||
    die "PROFILE_AREAS=1 needs perf and python3"
[ "$CALLGRIND" = 0 ] || command -v valgrind >/dev/null || die "PROFILE_CALLGRIND=1 but valgrind is not installed"

SCRATCH=$(mktemp -d /tmp/dtx-profile.XXXXXX)
chmod 0755 "$SCRATCH"
PIDS=()
cleanup() {
    local rc=$? p
    trap - EXIT INT TERM ERR
    set +e
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    "$PG" stop "$SCRATCH/pg" >/dev/null 2>&1
    [ "$rc" -eq 0 ] || echo "profile: failed; logs in $SCRATCH" >&2
    [ "$rc" -ne 0 ] || rm -rf -- "$SCRATCH"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

BASE=$("$PG" start "$SCRATCH/pg")
"$PG" createdb "$SCRATCH/pg" dtx
DB="$BASE dbname=dtx"
declare -A KEY_OF=()
CURVE_DTXD_ARGS=()
if [ "$CURVE" = 1 ]; then
    # shellcheck source=tests/harness/curve.sh
    . tests/harness/curve.sh
    curve_init "$SCRATCH/keys"
    for k in bench noop-a noop-b; do
        role=initiator
        [ "$k" = bench ] || role=participant:$k
        KEY_OF[$k]=$(curve_peer "$SCRATCH/keys" "$k" "$k" "$role")
    done
fi

# up [WRAPPER...]: dtxd (under WRAPPER when given) and the participants.
up() {
    rm -f "$SCRATCH/ep" "$SCRATCH"/*.ready
    rm -f "$SCRATCH/url"
    "$@" "$DTXD" --db "$DB" --listen 'tcp://127.0.0.1:*' --endpoint-file "$SCRATCH/ep" \
        --log-level warn --db-connections "${PROFILE_DB_CONNECTIONS:-2}" --http-listen 127.0.0.1:0 \
        --http-url-file "$SCRATCH/url" "${CURVE_DTXD_ARGS[@]}" >>"$SCRATCH/dtxd.log" 2>&1 &
    DTXD_PID=$!
    PIDS=("$DTXD_PID")
    local n=0
    until [ -s "$SCRATCH/ep" ]; do
        kill -0 "$DTXD_PID" 2>/dev/null || die "dtxd exited: $(tail -n 5 "$SCRATCH/dtxd.log")"
        n=$((n + 1))
        [ $n -le 600 ] || die "dtxd not ready after 60 s"
        sleep 0.1
    done
    EP=$(head -n 1 "$SCRATCH/ep")
    PART_PIDS=()
    for r in noop-a noop-b; do
        DTX_CURVE_KEY_FILE="${KEY_OF[$r]:-}" "$PARTICIPANT" --instance "bench-$r" --resource "$r" \
            --coordinator "$EP" --ready-file "$SCRATCH/$r.ready" >>"$SCRATCH/$r.log" 2>&1 &
        PART_PIDS+=("$!")
        PIDS+=("$!")
    done
    n=0
    until [ -e "$SCRATCH/noop-a.ready" ] && [ -e "$SCRATCH/noop-b.ready" ]; do
        n=$((n + 1))
        [ $n -le 600 ] || die "participants not registered after 60 s"
        sleep 0.1
    done
}

down() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    PIDS=()
}

# threads PID ROLE: "ROLE/THREAD utime stime" (ticks) of each thread.
threads() {
    local t
    for t in /proc/"$1"/task/*; do
        [ -r "$t/comm" ] || continue # it ended: bench/run.sh's rule, no CPU left to read
        awk -v r="$2/$(tr ' ' _ <"$t/comm")" '{ s = $0; sub(/^.*\) /, "", s); split(s, f, " ")
            print r, f[12], f[13] }' "$t/stat" 2>/dev/null || true
    done
}

snap() {
    threads "$DTXD_PID" dtxd
    threads "${PART_PIDS[0]}" participant-a
    threads "${PART_PIDS[1]}" participant-b
    threads "$1" load
}

# bundles: what BUNDLEs carried since dtxd started (warm-up and the run),
# from one read of its /metrics (a counter absent counts 0): PHASEs a
# BUNDLE and the share of all PHASEs sent that went in one; the
# participants' PHASE_REPLYs a BUNDLE (docs/protocol.md §20).
bundles() {
    local url
    url=$(head -n 1 "$SCRATCH/url" 2>/dev/null) || url=""
    { [ -z "$url" ] || curl -s --max-time 5 "$url/metrics" 2>/dev/null; } | awk '
        { v[$1] = $2 }
        END {
            bs = v["dtx_bundles_sent_total"] + 0; fs = v["dtx_bundle_frames_sent_total"] + 0
            br = v["dtx_bundles_received_total"] + 0; fr = v["dtx_bundle_frames_received_total"] + 0
            ph = v["dtx_phase_calls_total"] + 0
            printf "   BUNDLEs (whole run): dtxd sent %d with %d PHASEs (%.1f a BUNDLE, %.0f %% of %d PHASEs);",
                bs, fs, bs ? fs / bs : 0, ph ? 100 * fs / ph : 0, ph
            printf " received %d with %d replies (%.1f a BUNDLE)\n", br, fr, br ? fr / br : 0 }'
}

json_num() {
    sed -n "s/.*\"$1\":\(-\{0,1\}[0-9.][0-9.e+-]*\).*/\1/p" "$2" | head -n 1
}

# load C OUT: dtx-bench in the background (pid in LOAD_PID).
load() {
    DTX_CURVE_KEY_FILE="${KEY_OF[bench]:-}" "$LOAD" --coordinator "$EP" --concurrency "$1" \
        --seconds "$SECS" --warmup 1 --json ${SHAPE:+--$SHAPE} >"$2" 2>>"$SCRATCH/load.log" &
    LOAD_PID=$!
}

echo "dtxd $DTXD; curve $CURVE; shape ${SHAPE:-BEGIN+TRYs+COMMIT}; $SECS s per run; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for c in $LEVELS; do
    up
    load "$c" "$SCRATCH/cpu-$c.json"
    sleep 1.1
    snap "$LOAD_PID" >"$SCRATCH/t0"
    t0=$(date +%s.%N)
    sleep "$((SECS - 2)).9" # the window closes before dtx-bench does
    snap "$LOAD_PID" >"$SCRATCH/t1"
    t1=$(date +%s.%N)
    wait "$LOAD_PID" || die "dtx-bench failed at $c in flight: $(tail -n 3 "$SCRATCH/load.log")"
    tps=$(json_num tps "$SCRATCH/cpu-$c.json")
    p50=$(json_num p50_ms "$SCRATCH/cpu-$c.json")
    echo
    echo "== $c in flight: $tps tx/s, p50 $p50 ms; CPU-us per transaction (user + system)"
    join <(sort "$SCRATCH/t0") <(sort "$SCRATCH/t1") |
        awk -v hz="$HZ" -v n="$(awk -v t="$tps" -v a="$t0" -v b="$t1" 'BEGIN { print t * (b - a) }')" '
            { u = ($4 - $2) * 1e6 / hz / n; s = ($5 - $3) * 1e6 / hz / n
              if (u + s >= 0.05) printf "   %-34s %8.1f %8.1f\n", $1, u, s
              split($1, r, "/"); tu[r[1]] += u; ts[r[1]] += s }
            END { for (k in tu) printf "   %-34s %8.1f %8.1f   total %.1f\n", k " (all threads)", tu[k], ts[k], tu[k] + ts[k] }' |
        sort
    bundles
    if [ "$STRACE" = 1 ]; then
        load "$c" "$SCRATCH/sc-$c.json"
        sleep 2
        w=$((SECS - 3))
        timeout "$w" strace -c -f -p "$DTXD_PID" -o "$SCRATCH/sc-dtxd" 2>/dev/null &
        s1=$!
        timeout "$w" strace -c -f -p "${PART_PIDS[0]}" -o "$SCRATCH/sc-part" 2>/dev/null &
        s2=$!
        wait "$s1" "$s2" || true
        wait "$LOAD_PID" || die "dtx-bench failed under strace at $c in flight"
        # The transactions of the traced seconds: per_second[1 .. w].
        n=$(sed -n 's/.*"per_second":\[\([^]]*\)\].*/\1/p' "$SCRATCH/sc-$c.json" |
            awk -F, -v w="$w" '{ for (i = 2; i <= w + 1 && i <= NF; i++) s += $i; print s + 0 }')
        echo "   system calls per transaction under strace ($n tx traced; strace slows the run):"
        for f in dtxd part; do
            awk -v n="$n" -v who="$f" '$NF != "total" && $4 ~ /^[0-9]+$/ { c[$NF] = $4; t += $4 }
                END { if (n <= 0) exit; printf "   %-10s %6.2f:", who, t / n
                      for (k in c) if (c[k] / n >= 0.05) printf " %s %.2f", k, c[k] / n; print "" }' \
                "$SCRATCH/sc-$f"
        done
    fi
    if [ "$SYSCALLS" = 1 ]; then
        load "$c" "$SCRATCH/ps-$c.json"
        sleep 2
        w=$((SECS - 3))
        ev=context-switches,raw_syscalls:sys_enter
        for k in getpid poll epoll_wait epoll_ctl sendto recvfrom read write futex; do
            ev=$ev,syscalls:sys_enter_$k
        done
        stats=()
        for who in dtxd:"$DTXD_PID" noop-a:"${PART_PIDS[0]}" load:"$LOAD_PID"; do
            perf stat --per-thread -x, -e "$ev" -p "${who#*:}" -o "$SCRATCH/ps-$c-${who%%:*}" \
                -- sleep "$w" >/dev/null 2>&1 &
            stats+=("$!")
        done
        wait "${stats[@]}" || true
        wait "$LOAD_PID" || die "dtx-bench failed under perf stat at $c in flight"
        n=$(sed -n 's/.*"per_second":\[\([^]]*\)\].*/\1/p' "$SCRATCH/ps-$c.json" |
            awk -F, -v w="$w" '{ for (i = 2; i <= w + 1 && i <= NF; i++) s += $i; print s + 0 }')
        echo "   per transaction under perf stat ($n tx): system calls (all, then by kind) and context switches"
        for who in dtxd noop-a load; do
            awk -F, -v n="$n" -v who="$who" '
                NF >= 4 && $2 ~ /^[0-9]+$/ { t = $1; sub(/-[0-9]+$/, "", t); e = $4
                    sub(/^.*sys_enter_?/, "", e); if (e == "") e = "all"
                    c[t, e] += $2; th[t] = 1; if (e != "all" && e != "context-switches") k[e] = 1 }
                END { if (n <= 0) exit
                      for (t in th) { if (c[t, "all"] / n < 0.05) continue
                          printf "   %-30s %7.2f:", who "/" t, c[t, "all"] / n
                          for (e in k) if (c[t, e] / n >= 0.05) printf " %s %.2f", e, c[t, e] / n
                          printf "; switches %.2f\n", c[t, "context-switches"] / n } }' \
                "$SCRATCH/ps-$c-$who"
        done
    fi
    if [ "$AREAS" = 1 ]; then
        load "$c" "$SCRATCH/ar-$c.json"
        sleep 2
        w=$((SECS - 3))
        perf record -F 2000 --call-graph dwarf,8192 -p "$DTXD_PID" -o "$SCRATCH/ar-$c.data" \
            -- sleep "$w" >/dev/null 2>&1 || die "perf record failed at $c in flight"
        wait "$LOAD_PID" || die "dtx-bench failed under perf record at $c in flight"
        # The transactions of the recorded seconds, as under strace above.
        n=$(sed -n 's/.*"per_second":\[\([^]]*\)\].*/\1/p' "$SCRATCH/ar-$c.json" |
            awk -F, -v w="$w" '{ for (i = 2; i <= w + 1 && i <= NF; i++) s += $i; print s + 0 }')
        perf script -F comm,tid,ip,sym,dso -i "$SCRATCH/ar-$c.data" >"$SCRATCH/ar-$c.txt" 2>/dev/null
        echo "   dtxd's CPU by area under perf record ($n tx; bench/cpu_areas.py):"
        python3 bench/cpu_areas.py "$SCRATCH/ar-$c.txt" "$n" 2000 "$ROOT"
    fi
    if [ "$TIMELINE" = 1 ] && [ "$c" = 1 ]; then
        load 1 "$SCRATCH/tl.json"
        sleep 2
        pm=$(head -n 1 "$SCRATCH/pg/data/postmaster.pid")
        pids=$(printf '%s,' "$DTXD_PID" "${PART_PIDS[@]}" "$LOAD_PID" "$pm" $(pgrep -P "$pm"))
        timeout -s INT "$((SECS - 3))" perf trace -p "${pids%,}" -o "$SCRATCH/tl.trace" \
            -e sendto,recvfrom,poll,epoll_wait,read,write,pwrite64,fdatasync >/dev/null 2>&1 || true
        wait "$LOAD_PID" || die "dtx-bench failed under perf trace"
        echo "   one transaction's chain under perf trace ($(json_num p50_ms "$SCRATCH/tl.json") ms p50 traced):"
        python3 bench/timeline.py "$SCRATCH/tl.trace"
    fi
    down
done

if [ "$CALLGRIND" = 1 ]; then
    out=$SCRATCH.callgrind
    up valgrind --tool=callgrind --callgrind-out-file="$out" --separate-threads=no
    load 64 "$SCRATCH/cg.json"
    wait "$LOAD_PID" || die "dtx-bench failed with dtxd under callgrind"
    down
    n=$(json_num committed_total "$SCRATCH/cg.json")
    echo
    echo "== dtxd under callgrind, 64 in flight: instructions per committed transaction ($n)"
    callgrind_annotate --inclusive=yes "$out" 2>/dev/null | awk -v n="$n" '
        function num(s) { gsub(",", "", s); return s + 0 }
        /PROGRAM TOTALS/ { printf "   all threads (start-up included) %d\n", num($1) / n }
        /:dtx_loop_run / && !l { printf "   loop thread (dtx_loop_run)      %d\n", num($1) / n; l = 1 }
        /:start_thread / && !t { printf "   other threads (ZeroMQ I/O)      %d\n", num($1) / n; t = 1 }'
    echo "   profile: $out"
fi
