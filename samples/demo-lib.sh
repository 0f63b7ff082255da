# samples/demo-lib.sh — what every sample demo needs around its own story:
# a private PostgreSQL, background processes with their logs, and a cleanup
# that ALWAYS stops everything (also on failure or Ctrl-C) and fails the
# demo when a process did not exit 0 on SIGTERM (a crash, a sanitizer
# report).
#
# Source it after setting:
#   DEMO   prefix of every message ("demo", "order demo")
#   ROOT   the repository; RUN the demo's run folder (under $ROOT/.run)
# It sets PGDIR, PG, PSQL, BASE (after demo_start_pg) and installs the traps.
# shellcheck shell=bash

PGDIR=$RUN/pg
PG=tests/harness/pg.sh
PSQL=/usr/lib/postgresql/15/bin/psql
[ -x "$PSQL" ] || PSQL=psql
pids=()
names=()

die() {
    echo "$DEMO: $*" >&2
    exit 1
}

# Shows the end of a log when something went wrong.
show_log() {
    [ -f "$1" ] || return 0
    echo "----- last lines of $1 -----" >&2
    tail -n 25 "$1" >&2 || true
}

demo_cleanup() {
    local rc=$? i st
    trap - EXIT
    trap "" INT TERM  # a second Ctrl-C must not cut the cleanup short
    set +e
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
            echo "$DEMO: ${names[$i]} did not stop; killing it" >&2
            kill -KILL "${pids[$i]}" 2>/dev/null
        fi
        wait "${pids[$i]}" 2>/dev/null
        st=$?
        if [ "$st" -ne 0 ]; then
            # A clean stop exits 0; anything else (a crash, a sanitizer report) fails the demo.
            echo "$DEMO: ${names[$i]} exited with status $st (log: $RUN/${names[$i]}.log)" >&2
            [ "$rc" -ne 0 ] || rc=1
        fi
    done
    "$PG" stop "$PGDIR" >/dev/null 2>&1 || echo "$DEMO: PostgreSQL in $PGDIR did not stop" >&2
    if [ "$rc" -ne 0 ]; then
        echo "$DEMO: FAILED (exit $rc); logs in $RUN" >&2
    fi
    exit "$rc"
}
trap demo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start NAME CMD...: runs CMD in the background, output to $RUN/NAME.log.
start() {
    local name=$1
    shift
    "$@" >"$RUN/$name.log" 2>&1 &
    pids+=("$!")
    names+=("$name")
}

# wait_file FILE NAME: waits up to 15 s for FILE, while process NAME lives.
wait_file() {
    local file=$1 name=$2 pid=${pids[-1]} n=0
    until [ -s "$file" ]; do
        if ! kill -0 "$pid" 2>/dev/null; then
            show_log "$RUN/$name.log"
            die "$name exited before it was ready"
        fi
        n=$((n + 1))
        if [ $n -gt 150 ]; then
            show_log "$RUN/$name.log"
            die "$name not ready after 15 s"
        fi
        sleep 0.1
    done
}

# demo_start_pg DB...: a fresh run folder (stopping a server a previous run
# left), a private PostgreSQL in it, and the databases; sets BASE.
demo_start_pg() {
    if [ -d "$PGDIR/data" ]; then
        "$PG" stop "$PGDIR" >/dev/null 2>&1 || true
    fi
    rm -rf -- "$RUN"
    mkdir -p "$RUN"
    chmod 0755 "$ROOT/.run" "$RUN"
    echo "== starting PostgreSQL in $PGDIR"
    BASE=$("$PG" start "$PGDIR")
    local db
    for db in "$@"; do
        "$PG" createdb "$PGDIR" "$db"
    done
}

# q DB SQL: one value.
q() {
    "$PSQL" -X -q -At -v ON_ERROR_STOP=1 -d "$BASE dbname=$1" -c "$2"
}

# CurveZMQ for the demo, as in production (docs/operations.md, "Keys"):
# demo_keys makes dtxd's key pair in $RUN/keys and sets DTXD_CURVE (its
# flags); then, before dtxd starts, demo_key FILE NAME ROLES... makes a
# peer's credentials file $RUN/keys/FILE.keys, adds its public key to the
# allow-list under NAME with ROLES, and sets KEY to the file's path. Peers
# that share a NAME share their transactions. A peer reads its file through
# DTX_CURVE_KEY_FILE: `start NAME env DTX_CURVE_KEY_FILE="$KEY" CMD...`.
# shellcheck source=tests/harness/curve.sh
. tests/harness/curve.sh
demo_keys() {
    curve_init "$RUN/keys" || die "dtxctl keygen failed"
    DTXD_CURVE=("${CURVE_DTXD_ARGS[@]}")
}

demo_key() {
    KEY=$(curve_peer "$RUN/keys" "$@") || die "dtxctl keygen $1 failed"
}
