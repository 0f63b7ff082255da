#!/usr/bin/env bash
# tests/run.sh — the test driver behind `make test`.
#
#   BUILD=build SAN=0 tests/run.sh        (make test / make test SAN=1)
#   BUILD=build-tsan TSAN=1 tests/run.sh  (make test TSAN=1: every stage
#                                          under ThreadSanitizer)
#   DTX_TEST_STAGE_TIMEOUT_S=1800         a stage running longer fails
#
# Starts a private PostgreSQL in a scratch directory, then runs, in order:
#   layers       tests/layers/run.sh (no circle between modules, no arrow
#                between folders that the parts' READMEs do not allow)
#   unit         $BUILD/tests/unit_tests
#   integration  tests/integration/run.sh ($BUILD/tests/integration_tests,
#                its suites dealt to DTX_TEST_SHARDS parallel processes)
#   browser      tests/browser/run.sh (the console in headless Chromium)
#   install      tests/install/check.sh (make install, then build against it)
#   fuzz         tests/fuzz/run.sh (every libFuzzer target, its seeds
#                replayed and a few seconds of fuzzing each)
#   tsan         tests/tsan/run.sh (builds libdtx and dtx-gateway with
#                -fsanitize=thread into build-tsan, then runs threaded SDK
#                code and the gateway under real traffic; a report fails it)
#   NAME         tests/stages/NAME.sh, each executable one in name order
#                (one file a stage, so parts add stages without editing
#                this driver; a stage script sees what every stage sees)
#   drill        tests/drill/short.sh (when present and executable)
# and prints one summary line per stage, in that order. Every stage runs
# even when an earlier one failed; the exit status is non-zero when any
# failed.
#
# Lanes (DTX_TEST_LANES, default 2): most of the integration stage's and
# the drill's time is spent waiting (a process to start, a lease to lapse,
# a deadline), and the whole suite kept this 2-core machine about a third
# busy when its stages ran one after another. With 2 lanes, integration
# then drill run in the foreground (their output as it comes) while every
# other stage runs, in the order above, in a second lane whose output is
# printed whole once it has ended. Each stage has its own scratch folder
# ($DTX_TEST_DIR is $SCRATCH/work/NAME) and its own database names, so the
# lanes share the PostgreSQL server and the CPUs: the second lane runs at
# nice 10, so the timing-bound tests of the first (leases, deadlines, the
# drill's counts) get the CPU when they need it and the second lane takes
# what they leave. DTX_TEST_LANES=1 runs every stage one after another,
# each printed as it runs. tests/run.sh does not build: run `make all`
# first (make test does), or install and packages, which run make, would
# rebuild a stale $BUILD under the integration stage running from it.
#
# Stages see:
#   DTX_TEST_PGHOST   unix socket directory of the private PostgreSQL
#   DTX_TEST_PGPORT   its port (5432; no TCP port is opened)
#   DTX_TEST_BIN      $BUILD/bin (dtxd, samples), absolute
#   DTX_TEST_TESTBIN  $BUILD/tests (test-participant), absolute
#   DTX_TEST_DIR      a scratch directory for logs and endpoint files (the
#                     stage's own)
#   DTX_TEST_RUN      a marker every process of this run inherits
#
# Whatever happens (failure, Ctrl-C, SIGTERM), the exit trap kills every
# process group a stage started, stops PostgreSQL, sweeps any process
# still carrying DTX_TEST_RUN and removes the scratch directory — unless
# a stage failed: then the directory is kept and its path printed.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
BUILD=${BUILD:-build}
SAN=${SAN:-0}
TSAN=${TSAN:-0}
# A stage that runs longer than this is killed and counts as failed.
STAGE_TIMEOUT_S=${DTX_TEST_STAGE_TIMEOUT_S:-1800}
LANES=${DTX_TEST_LANES:-2}
case $LANES in
1 | 2) ;;
*) echo "run.sh: DTX_TEST_LANES='$LANES' is neither 1 nor 2" >&2; exit 2 ;;
esac
case $BUILD in
/*) BUILD_DIR=$BUILD ;;
*) BUILD_DIR=$ROOT/$BUILD ;;
esac

if [ "$SAN" = 1 ]; then
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
if [ "$TSAN" = 1 ]; then
    # The first report ends the process with 66; tests/tsan/tsan.supp says
    # what is suppressed and why.
    export TSAN_OPTIONS="halt_on_error=1 exitcode=66 suppressions=$ROOT/tests/tsan/tsan.supp"
fi

SCRATCH=$(mktemp -d /tmp/dtx-test.XXXXXX)
# The postgres user must reach the cluster directory inside it.
chmod 0755 "$SCRATCH"
PGDIR=$SCRATCH/pg
LOGDIR=$SCRATCH/work
mkdir -p "$LOGDIR"

# One file a stage: its summary line (SUMDIR/NAME), and one a running
# stage's process group (GROUPDIR/ID, removed when the stage ends), so the
# exit trap finds both lanes' stages.
SUMDIR=$SCRATCH/summary
GROUPDIR=$SCRATCH/groups
mkdir -p "$SUMDIR" "$GROUPDIR"

failed=0
pg_started=0
lane_pid=

# Kills the second lane's shell and every process group a stage of either
# lane started and is still running (TERM, then KILL).
kill_stage_groups() {
    local pgid
    [ -z "$lane_pid" ] || kill -KILL "$lane_pid" 2>/dev/null || true
    local -a pgids=()
    local f
    for f in "$GROUPDIR"/*; do
        [ -e "$f" ] && pgids+=("${f##*/}")
    done
    [ ${#pgids[@]} -gt 0 ] || return 0
    for pgid in "${pgids[@]}"; do
        kill -TERM -- "-$pgid" 2>/dev/null || true
    done
    sleep 0.2
    for pgid in "${pgids[@]}"; do
        kill -KILL -- "-$pgid" 2>/dev/null || true
    done
}

# Kills any process that still carries this run's marker: children that a
# stage put in process groups of their own (the C harness does) and whose
# parent died before it could reap them.
sweep_marked() {
    local p me=$$
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        [ "$p" = "$me" ] && continue
        [ "$p" = "$BASHPID" ] && continue
        if grep -qzxF "DTX_TEST_RUN=$SCRATCH" "/proc/$p/environ" 2>/dev/null; then
            kill -KILL "$p" 2>/dev/null || true
        fi
    done
}

cleanup() {
    local rc=$?
    trap - EXIT
    trap "" INT TERM  # a second Ctrl-C must not cut the cleanup short
    set +e
    kill_stage_groups
    if [ "$pg_started" = 1 ]; then
        tests/harness/pg.sh stop "$PGDIR" >/dev/null 2>&1 ||
            echo "run.sh: PostgreSQL in $PGDIR did not stop cleanly" >&2
    fi
    sweep_marked
    [ "$rc" -ne 0 ] && failed=1
    grep -qs FAILED "$SUMDIR"/* && failed=1
    if [ "$failed" -ne 0 ]; then
        echo "run.sh: FAILED — logs kept in $SCRATCH (process logs in $LOGDIR, a stage's in $LOGDIR/NAME, the second lane's output in $LOGDIR/lane.out, PostgreSQL log in $PGDIR/pg.log)"
        [ "$rc" -ne 0 ] || rc=1
    else
        rm -rf -- "$SCRATCH"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'echo "run.sh: interrupted" >&2; exit 130' INT
trap 'echo "run.sh: terminated" >&2; exit 143' TERM

now_ms() {
    local t
    t=$(date +%s%N)
    echo $((t / 1000000))
}

# stage NAME CMD...: runs CMD in a process group of its own, with its own
# DTX_TEST_DIR, records its duration and prints and files one summary line.
stage() {
    local name=$1 t0 t1 rc pid line
    shift
    echo "=== $name: $*"
    t0=$(now_ms)
    if [ ! -x "$1" ]; then
        echo "run.sh: $1 is missing or not executable (make BUILD=$BUILD all?)" >&2
        rc=127
    else
        mkdir -p "$LOGDIR/$name"
        # setsid makes the stage the leader of a new process group (and
        # session), so the trap can kill it and everything it left behind.
        DTX_TEST_DIR=$LOGDIR/$name setsid -w timeout --kill-after=10 "$STAGE_TIMEOUT_S" "$@" \
            </dev/null &
        pid=$!
        : >"$GROUPDIR/$pid"
        rc=0
        wait "$pid" || rc=$?
        # Anything the stage left in its own group goes now; forget the
        # group so a later cleanup never signals a recycled id.
        kill -KILL -- "-$pid" 2>/dev/null || true
        rm -f -- "$GROUPDIR/$pid"
    fi
    t1=$(now_ms)
    local secs
    secs=$(printf '%d.%01d' $(((t1 - t0) / 1000)) $((((t1 - t0) % 1000) / 100)))
    if [ "$rc" -eq 0 ]; then
        line=$(printf '%-12s ok      %6ss' "$name" "$secs")
    else
        local why="exit $rc"
        [ "$rc" -eq 124 ] && why="timed out after ${STAGE_TIMEOUT_S}s"
        line=$(printf '%-12s FAILED  %6ss  (%s)' "$name" "$secs" "$why")
    fi
    echo "$line" >"$SUMDIR/$name"
    echo "--- $line"
}

echo "run.sh: build $BUILD_DIR, SAN=$SAN, TSAN=$TSAN, scratch $SCRATCH"
t0=$(now_ms)
pg_started=1
if ! conn=$(tests/harness/pg.sh start "$PGDIR"); then
    echo "run.sh: cannot start PostgreSQL" >&2
    exit 1
fi
t1=$(now_ms)
echo "run.sh: PostgreSQL ready ($conn) in $((t1 - t0)) ms"

export DTX_TEST_PGHOST=$PGDIR
export DTX_TEST_PGPORT=5432
export DTX_TEST_BIN=$BUILD_DIR/bin
export DTX_TEST_TESTBIN=$BUILD_DIR/tests
export DTX_TEST_DIR=$LOGDIR
export DTX_TEST_RUN=$SCRATCH

export BUILD SAN TSAN
export DTX_SHOTS=$LOGDIR/screenshots   # make test never rewrites docs/img

# The stages in summary order; each is "NAME CMD".
others=("layers tests/layers/run.sh" "unit $BUILD_DIR/tests/unit_tests")
[ -x tests/browser/run.sh ] && others+=("browser tests/browser/run.sh")
others+=("install tests/install/check.sh" "fuzz tests/fuzz/run.sh" "tsan tests/tsan/run.sh")
for script in tests/stages/*.sh; do
    [ -x "$script" ] || continue
    name=${script##*/}
    others+=("${name%.sh} $script")
done
waiting=("integration tests/integration/run.sh")
[ -x tests/drill/short.sh ] && waiting+=("drill tests/drill/short.sh")
# The summary's order, and one lane's: layers, unit, integration, the rest,
# the drill.
order=("${others[@]:0:2}" "${waiting[0]}" "${others[@]:2}" "${waiting[@]:1}")

# run_stages SPEC...: each "NAME CMD" in turn (CMD one path, run alone).
run_stages() {
    local spec
    for spec in "$@"; do
        stage "${spec%% *}" "${spec#* }"
    done
}

if [ "$LANES" = 1 ]; then
    run_stages "${order[@]}"
else
    lane_out=$LOGDIR/lane.out
    (
        renice -n 10 -p "$BASHPID" >/dev/null
        run_stages "${others[@]}"
    ) >"$lane_out" 2>&1 &
    lane_pid=$!
    echo "run.sh: lane 2 (its output follows when it ends):$(printf ' %s' "${others[@]%% *}")"
    run_stages "${waiting[@]}"
    lane_rc=0
    wait "$lane_pid" || lane_rc=$?
    lane_pid=
    echo "=== lane 2 (exit $lane_rc)"
    cat "$lane_out"
fi

echo "=== summary"
for spec in "${order[@]}"; do
    name=${spec%% *}
    if [ -f "$SUMDIR/$name" ]; then
        cat "$SUMDIR/$name"
    else
        printf '%-12s FAILED  (no result: interrupted)\n' "$name"
        failed=1
    fi
done
[ -x tests/drill/short.sh ] ||
    printf '%-12s skipped (tests/drill/short.sh not present)\n' drill
grep -qs FAILED "$SUMDIR"/* && failed=1
[ "$failed" -eq 0 ]
