#!/usr/bin/env bash
# tests/drill/drill.sh — the recovery drill behind `make drill` (and, with
# small numbers, tests/drill/short.sh inside `make test`).
#
#   BUILD=build SAN=0 [DRILL_MODE=tcc|2pc|saga|msg|mixed|tcc,2pc,saga,msg] tests/drill/drill.sh
#
# Runs the bank sample under a concurrent transfer workload (drill-load)
# against two coordinators (c1, c2) and two banks served by two instances
# each (pa1 pa2: bank-a, pb1 pb2: bank-b), while it
#   - restarts a coordinator with --fault POINT:N armed, for every point of
#     coordinator/core/fault.h (a kill counts only when dtxd exited with 86),
#   - kill -9s a coordinator at random moments and restarts it,
#   - kill -9s participant instances (sometimes both of a bank) and
#     restarts them,
#   - restarts PostgreSQL (a fast stop, then a crash: immediate stop), and
#     hangs it (SIGSTOP of every server process) past the leases,
#   - pauses a coordinator past its lease (SIGSTOP ... SIGCONT), also
#     while the other one is killed and restarted (it then takes over the
#     paused one's work, which wakes up fenced off),
#   - pauses a participant instance past three heartbeats.
# Then it stops the load, makes sure everything runs, waits (bounded:
# deadline + recovery window) for every transaction to end, and runs
# tests/drill/check.sh, which checks money, outcomes, branches, barriers,
# what the initiators were told and that no prepared transaction is left
# in any bank database, and prints the figures. A violated invariant, a
# process that died by itself, or a drill that did not reach its targets
# fails it (exit 1) with the offending gids.
#
# Modes (DRILL_MODE): which protocol the load's transfers use.
#   tcc      Try-Confirm-Cancel, as the drill always did; half of the
#            commit and overdraw plans as one TCC_RUN (docs/protocol.md
#            §19), whose point after-all-voted (every vote yes in memory,
#            the decision not yet written) is armed too.
#   2pc      two-phase commit: the TRYs enlist, COMMIT prepares both banks
#            (PREPARE TRANSACTION through dtx/pgres.h), a no vote comes back
#            from COMMIT. The fault points are those a 2PC transaction meets:
#            after-prepare-sent (between prepare and decision) instead of
#            the TCC-only after-try-sent, after-vote-write (a prepare that
#            voted no), after-decision-write / after-decision-reply /
#            between-phases (between the decision and the commits). A
#            participant kill waits until its bank holds prepared
#            transactions, so that the restarted participant has to resolve
#            them (dtx_pgres_recover) or the coordinator's retries do.
#   saga     Saga transfers (drill_saga.h): a debit then a credit as the
#            pivot; two concurrent debits then the pivot credit; a debit,
#            the pivot credit, then a credit after the pivot (forward only).
#            The bank serves them as Saga steps under the barrier (debit /
#            refund, credit / uncredit). Overdraws are refused first debits
#            (compensated); hurried ones race a 1..300 ms deadline. Fault
#            points: after-saga-write (the plan durable, the initiator not
#            told), after-step-done, after-step-compensated and the
#            decision and finish points. check.sh adds the Saga invariants:
#            every compensable step kept (committed) or compensated
#            (aborted), no compensation without its action having been
#            possible, the pivot never compensated and, once applied, the
#            Saga committed.
#   msg      transactional messages (drill_msg.h): the producer, a bank,
#            debits an account and writes the outbox row in one local
#            transaction on its own database (dtx_tmsg_pg_run), and the
#            message credits one or two accounts (the banks' "credit"
#            DELIVER handler, under the barrier). Some producers commit and
#            never submit, some die inside their local transaction (the
#            connection drops), some race a 1..300 ms deadline with a
#            local transaction that lingers past it: the
#            check-back (the producing bank's QUERY_PREPARED handler,
#            dtx_tmsg_pg_query_prepared) delivers the first and rolls back
#            the others. Fault points: after-tmsg-write (the message in the
#            log, the producer not told) and the decision and finish
#            points. check.sh adds the message invariants: a committed
#            message's outbox row committed at the producer and every
#            destination applied it once; a rolled-back one has no outbox
#            row and nothing delivered; a producer that died before its
#            local commit left a message the check-back rolled back (its
#            rollback marker is there); the money the producers debited is
#            the money the messages credited.
#   mixed    each transfer picks TCC, 2PC, a Saga or a message: all four at once on
#            the same coordinators, participant processes and banks, every
#            fault point of both, on the same accounts
#            (DRILL_MIXED_ACCOUNTS=shared). This found a hang, since fixed in
#            the bank sample: a TCC handler that met an account row held by
#            a prepared 2PC branch waited without a timeout, and when every
#            instance of the bank waited so, nothing could deliver the COMMIT
#            that would release the row. DRILL_MIXED_ACCOUNTS=split gives
#            2PC its own half of the accounts (TCC and Sagas the other half;
#            messages use any account, their producers and deliveries wait
#            at most a lock timeout for a row a prepared branch holds).
#   tcc,2pc,saga,msg  (default) one full drill per mode, one after the other, each
#            with its own PostgreSQL and figures, then a summary. Separate
#            runs rather than one mixed run, so that each mode is
#            shown to survive every fault on its own (a mixed run cannot
#            say which protocol's transaction a fault point caught) and a
#            failure names its mode. The short drill (short.sh) is mixed:
#            four runs do not fit its time budget.
# Whatever the mode, every coordinator kill records which unfinished
# transactions the dead coordinator held, by mode and phase (2PC: caught
# between prepare and decision, or between decision and the end), and the
# figures say how many prepared transactions participants found and
# resolved at restart.
#
# Parameters (environment):
#   DRILL_TRANSFERS=2000         transfers (BEGINs) the load does at least
#   DRILL_FAULT_ROUNDS=2         passes over every fault point
#   DRILL_RANDOM_KILLS=8         kill -9 of a coordinator at a random moment
#   DRILL_PARTICIPANT_KILLS=6    kill -9 of participant instances
#   DRILL_PG_RESTARTS=2          PostgreSQL restarts (alternately fast, crash)
#   DRILL_PG_PAUSES=1            PostgreSQL hung (SIGSTOP) past the leases
#   DRILL_COORD_PAUSES=2         SIGSTOP of a coordinator past its lease
#   DRILL_PAUSE_KILLS=1          the same while the other one is killed
#   DRILL_PARTICIPANT_PAUSES=2   SIGSTOP of a participant past 3 heartbeats
#   DRILL_KILL_BOTH=1            kill -9 of both coordinators at once
#   DRILL_MODE=tcc,2pc,saga,msg  see "Modes" above
#   DRILL_PREPARED_WAIT_MS=3000  2pc/mixed: how long a participant kill
#                                waits for its bank to hold a prepared
#                                transaction (then it kills anyway)
#   DRILL_MIN_PREPARED_KILLS=1   2pc/mixed target: participant kills while
#                                their bank held prepared transactions
#   DRILL_MIXED_ACCOUNTS=shared  mixed: shared accounts, or split (each
#                                protocol its own accounts)
#   DRILL_WORKERS=8              load threads
#   DRILL_MIN_COORD_KILLS=20     targets: fewer fails the drill
#   DRILL_MIN_PARTICIPANT_KILLS=5
#   DRILL_MIN_PG_RESTARTS=1
#   DRILL_RECOVERY_WINDOW_S=30   how long past its deadline a transaction
#                                may stay unfinished
#   DRILL_SEED=N                 the same fault schedule and load choices
#                                (printed at start; timings still differ)
#   DRILL_NAME=drill             how the output names this run
#   DRILL_KEEP=1                 keep the scratch directory even on success
#   DRILL_PG=SCRIPT              the PostgreSQL to run on (default
#                                tests/harness/pg.sh; make drill-ha gives
#                                tests/ha/cluster.sh: restarts are failovers)
#
# Everything it starts is stopped on exit, also on failure or Ctrl-C. The
# scratch directory (/tmp/dtx-drill.*: logs, journal, PostgreSQL) is
# removed after a success and kept, with its path printed, after a failure.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$ROOT"

# Several modes: one drill per mode, one after the other, then a summary.
MODE=${DRILL_MODE:-tcc,2pc,saga,msg}
case $MODE in
*,*)
    modes=()
    IFS=', ' read -r -a modes <<<"$MODE"
    base_name=${DRILL_NAME:-drill}
    summary=()
    overall=0
    t_all=$(date +%s)
    for m in "${modes[@]}"; do
        [ -n "$m" ] || continue
        t_m=$(date +%s)
        rc=0
        DRILL_MODE=$m DRILL_NAME="$base_name" "${BASH_SOURCE[0]}" || rc=$?
        if [ $rc = 0 ]; then
            summary+=("$(printf '%-8s ok      in %ds' "$m" $(( $(date +%s) - t_m )))")
        else
            summary+=("$(printf '%-8s FAILED  in %ds (exit %d)' "$m" $(( $(date +%s) - t_m )) $rc)")
            overall=1
        fi
        [ $rc != 130 ] && [ $rc != 143 ] || break # interrupted: stop here
    done
    echo "== $base_name: every mode"
    printf '  %s\n' "${summary[@]}"
    if [ $overall = 0 ]; then
        echo "$base_name: ok in $(( $(date +%s) - t_all ))s (modes $MODE)"
    else
        echo "$base_name: FAILED in $(( $(date +%s) - t_all ))s (modes $MODE)"
    fi
    exit $overall
    ;;
tcc | 2pc | saga | msg | mixed) ;;
*)
    echo "drill: DRILL_MODE is tcc, 2pc, saga, msg, mixed or a list such as tcc,2pc (not '$MODE')" >&2
    exit 2
    ;;
esac
BUILD=${BUILD:-build}
SAN=${SAN:-0}
case $BUILD in
/*) BIN=$BUILD/bin ;;
*) BIN=$ROOT/$BUILD/bin ;;
esac
# DRILL_PG: another server script with pg.sh's commands (make drill-ha:
# tests/ha/cluster.sh, where restart and kill are failovers).
PG=${DRILL_PG:-$ROOT/tests/harness/pg.sh}
PSQL=/usr/lib/postgresql/15/bin/psql
[ -x "$PSQL" ] || PSQL=psql

NAME="${DRILL_NAME:-drill} ($MODE)"
TRANSFERS=${DRILL_TRANSFERS:-2000}
FAULT_ROUNDS=${DRILL_FAULT_ROUNDS:-2}
RANDOM_KILLS=${DRILL_RANDOM_KILLS:-8}
PARTICIPANT_KILLS=${DRILL_PARTICIPANT_KILLS:-6}
PG_RESTARTS=${DRILL_PG_RESTARTS:-2}
COORD_PAUSES=${DRILL_COORD_PAUSES:-2}
PARTICIPANT_PAUSES=${DRILL_PARTICIPANT_PAUSES:-2}
PAUSE_KILLS=${DRILL_PAUSE_KILLS:-1}
PG_PAUSES=${DRILL_PG_PAUSES:-1}
KILL_BOTH=${DRILL_KILL_BOTH:-1}
WORKERS=${DRILL_WORKERS:-8}
MIN_COORD_KILLS=${DRILL_MIN_COORD_KILLS:-20}
MIN_PARTICIPANT_KILLS=${DRILL_MIN_PARTICIPANT_KILLS:-5}
MIN_PG_RESTARTS=${DRILL_MIN_PG_RESTARTS:-1}
WINDOW_S=${DRILL_RECOVERY_WINDOW_S:-30}
PREPARED_WAIT_MS=${DRILL_PREPARED_WAIT_MS:-3000}
MIXED_ACCOUNTS=${DRILL_MIXED_ACCOUNTS:-shared}
case $MIXED_ACCOUNTS in
split | shared) ;;
*) echo "drill: DRILL_MIXED_ACCOUNTS is split or shared (not '$MIXED_ACCOUNTS')" >&2; exit 2 ;;
esac
if [ "$MODE" = tcc ] || [ "$MODE" = saga ] || [ "$MODE" = msg ]; then
    MIN_PREPARED_KILLS=${DRILL_MIN_PREPARED_KILLS:-0}
else
    MIN_PREPARED_KILLS=${DRILL_MIN_PREPARED_KILLS:-1}
fi
SEED=${DRILL_SEED:-$(( $(date +%s%N) % 1000000 ))}
KEEP=${DRILL_KEEP:-0}

# Coordinator timings: short, so that the drill converges quickly.
LEASE_MS=1500
RECOVERY_MS=300
PHASE_TIMEOUT_MS=1000
TRY_TIMEOUT_MS=2000
RETRY_BASE_MS=50
RETRY_MAX_MS=1000
HEARTBEAT_MS=300
TXN_TIMEOUT_MS=4000
# (DRILL_MAX_ATTEMPTS: make drill-ha's failovers outlast 50 retries.)
MAX_ATTEMPTS=${DRILL_MAX_ATTEMPTS:-50}
CALL_TIMEOUT_MS=3000
# A 2PC prepare waiting for an account row held by another prepared branch
# votes no after this (the participant serves one phase at a time, so the
# wait also holds up the COMMITs queued behind it); well below the
# try timeout and the 3 heartbeats after which dtxd drops an instance.
LOCK_TIMEOUT_MS=300
FAULT_WAIT_S=15       # an armed coordinator must reach its point within this
FAULT_RETRIES=3       # extra tries of a point that was not reached

# The fault points (coordinator/core/fault.h) a transaction of this mode meets,
# in that order. A 2PC TRY only enlists (no after-try-sent); after-vote-write
# is a prepare's no vote being recorded.
case $MODE in
tcc)
    POINTS=(after-begin-write after-branch-write after-try-sent after-all-voted after-vote-write
        after-decision-write after-decision-reply between-phases before-finish-write
        after-finish-write after-claim) ;;
2pc)
    POINTS=(after-begin-write after-branch-write after-prepare-sent after-all-voted after-vote-write
        after-decision-write after-decision-reply between-phases before-finish-write
        after-finish-write after-claim) ;;
saga)
    POINTS=(after-saga-write after-step-done after-decision-write after-step-compensated
        before-finish-write after-finish-write after-claim) ;;
msg)
    POINTS=(after-tmsg-write after-decision-write after-decision-reply before-finish-write
        after-finish-write after-claim) ;;
mixed)
    POINTS=(after-begin-write after-branch-write after-try-sent after-prepare-sent
        after-all-voted after-vote-write after-decision-write after-decision-reply between-phases
        before-finish-write after-finish-write after-claim after-saga-write after-step-done
        after-tmsg-write) ;;
esac

# The banks and their seeded accounts (cents). 2PC holds an account's row
# locked from prepare to commit, so 2pc and mixed runs get twice the
# accounts (mixed: a0..a7 for TCC, a8..a15 for 2PC, unless shared).
SEED_A="a0=100000,a1=80000,a2=120000,a3=50000,a4=150000,a5=70000,a6=90000,a7=110000"
SEED_B="b0=60000,b1=130000,b2=100000,b3=40000,b4=200000,b5=75000,b6=95000,b7=85000"
if [ "$MODE" = 2pc ] || [ "$MODE" = mixed ]; then
    SEED_A="$SEED_A,a8=90000,a9=60000,a10=140000,a11=70000,a12=100000,a13=55000,a14=125000,a15=80000"
    SEED_B="$SEED_B,b8=110000,b9=45000,b10=90000,b11=160000,b12=70000,b13=100000,b14=65000,b15=120000"
fi

# Options of our own dtxd must not come from the environment (DTX_FAULT!).
for v in $(compgen -e); do
    case $v in
    DTX_TEST_*) ;;
    DTX_*) unset "$v" ;;
    esac
done
if [ "$SAN" = 1 ]; then
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=23}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi

for b in dtxd bank-participant drill-load; do
    [ -x "$BIN/$b" ] || { echo "$NAME: $BIN/$b is missing: make BUILD=$BUILD all" >&2; exit 1; }
done

RUN=$(mktemp -d /tmp/dtx-drill.XXXXXX)
chmod 0755 "$RUN" # the postgres user must reach the cluster inside
PGDIR=$RUN/pg
LOGS=$RUN/logs
JOURNAL=$RUN/journal.txt
EVENTS=$RUN/drill.log
mkdir -p "$LOGS"
: >"$JOURNAL"
: >"$RUN/unexpected.txt"

RANDOM=$SEED
T0=$(date +%s%N)

declare -A PID=()      # name -> pid of what runs now
declare -A ARGS=()     # name -> how to start it (set once)
PARTS=(pa1 pa2 pb1 pb2) # participant instances
pg_up=0
PG_STOPPED=            # PostgreSQL processes while SIGSTOPped
failed=0

# Figures.
declare -A FAULT_HITS=()
for p in "${POINTS[@]}"; do FAULT_HITS[$p]=0; done
declare -A FAULT_TRIES=()
coord_random_kills=0   # kill -9 at a random moment (random_kill, kill_both)
coord_rearm_kills=0    # kill -9 at a random moment to restart it with a fault armed
fault_misses=0
participant_kills=0
pg_restarts=0
pg_pauses=0
coord_pauses=0
participant_pauses=0
# What the coordinator kills caught: unfinished transactions the dead one
# held, by mode and phase (summed over every kill).
caught_tcc_active=0       # TCC, still active (Tries, votes)
caught_tcc_decided=0      # TCC, decided, Confirms/Cancels not all done
caught_2pc_enlisting=0    # 2PC, active, COMMIT not yet asked
caught_2pc_preparing=0    # 2PC, between prepare and decision
caught_2pc_decided=0      # 2PC, between decision and the end (commits/aborts)
caught_saga_active=0      # Saga, running forward (actions before the pivot)
caught_saga_aborting=0    # Saga, compensating
caught_saga_committing=0  # Saga, forward only (past its pivot, or every step done)
caught_msg_prepared=0     # message, prepared (no submit, no check-back answer yet)
caught_msg_decided=0      # message, decided, deliveries (or the drop) not all done
# Participant kills while their bank held prepared transactions.
participant_kill_rounds=0 # participant_kill actions (one or both instances of a bank)
prepared_kills=0
prepared_at_kills=0       # prepared transactions the bank held at those kills
prepared_left=0           # of them still there once the victims were down

elapsed() {
    local t
    t=$(date +%s%N)
    printf '%6.1fs' "$(( (t - T0) / 1000000 ))e-3"
}

say() {
    local line
    line="[$(elapsed)] $*"
    echo "$line"
    echo "$line" >>"$EVENTS"
}

die() {
    say "$NAME: FAILED: $*"
    exit 1
}

# alive PID: the process exists and is not a zombie.
alive() {
    local st
    [ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
    st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}

# reap NAME: waits for NAME's process (already dead or being killed) and
# leaves its exit status in RC (not in a subshell: only this shell can wait).
RC=0
reap() {
    local pid=${PID[$1]:-}
    RC=0
    [ -n "$pid" ] || return 0
    wait "$pid" 2>/dev/null || RC=$?
    PID[$1]=
}

ms_sleep() {
    sleep "$(( $1 / 1000 )).$(printf '%03d' $(( $1 % 1000 )))"
}

# rand_ms LO HI
rand_ms() {
    echo $(( $1 + RANDOM % ($2 - $1 + 1) ))
}

# ---------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------

# launch NAME EXTRA...: starts NAME (ARGS[NAME] plus EXTRA) in the
# background, its output appended to logs/NAME.log.
launch() {
    local name=$1
    shift
    local -a cmd
    eval "cmd=(${ARGS[$name]})"
    echo "===== $(date '+%F %T.%N') start: ${cmd[*]} $*" >>"$LOGS/$name.log"
    "${cmd[@]}" "$@" >>"$LOGS/$name.log" 2>&1 &
    PID[$name]=$!
}

# start_coord NAME [--fault SPEC]: starts a coordinator and waits until it
# listens (its endpoint file). Returns 0 once ready, 2 when it died before
# (its status is then in LAST_STATUS), 1 when it did not come up in time.
LAST_STATUS=0
start_coord() {
    local name=$1 n=0 tries=0
    shift
    while :; do
        rm -f "$RUN/$name.endpoint"
        launch "$name" "$@"
        n=0
        until [ -s "$RUN/$name.endpoint" ]; do
            if ! alive "${PID[$name]}"; then
                reap "$name"
                LAST_STATUS=$RC
                [ "$LAST_STATUS" = 86 ] && return 2
                tries=$((tries + 1))
                echo "start of $name failed (status $LAST_STATUS), attempt $tries" >>"$EVENTS"
                # The fixed port may be held for a moment; anything else is an error.
                [ $tries -lt 5 ] || return 2
                sleep 0.3
                continue 2
            fi
            n=$((n + 1))
            [ $n -lt 400 ] || return 1
            sleep 0.05
        done
        return 0
    done
}

# ensure_coord NAME: (re)starts it normally; a failure to start is fatal.
ensure_coord() {
    local rc=0
    start_coord "$1" || rc=$?
    case $rc in
    0) ;;
    2) die "coordinator $1 does not start (exit status $LAST_STATUS); see $LOGS/$1.log" ;;
    *) die "coordinator $1 not listening after 20 s; see $LOGS/$1.log" ;;
    esac
}

start_participant() {
    local name=$1 n=0
    rm -f "$RUN/$name.ready"
    launch "$name" "${@:2}"
    # Ready once registered with every coordinator; a coordinator may be
    # down just now, so this waits a little but never fails.
    while [ ! -s "$RUN/$name.ready" ] && [ $n -lt 100 ] && alive "${PID[$name]}"; do
        n=$((n + 1))
        sleep 0.05
    done
}

# kill9 NAME: kill -9 and reap; prints nothing, fails if it was not running.
kill9() {
    local pid=${PID[$1]:-}
    alive "$pid" || return 1
    kill -KILL "$pid" 2>/dev/null || true
    reap "$1"
    return 0
}

# check_alive: any process that died by itself is a finding; it is noted
# and restarted so that the drill goes on.
check_alive() {
    local name st
    for name in c1 c2 "${PARTS[@]}"; do
        if ! alive "${PID[$name]:-}"; then
            reap "$name"
            st=$RC
            say "UNEXPECTED: $name exited by itself with status $st (see $LOGS/$name.log)"
            echo "$name exited by itself with status $st at $(elapsed)" >>"$RUN/unexpected.txt"
            case $name in
            c*) ensure_coord "$name" ;;
            *) start_participant "$name" ;;
            esac
        fi
    done
    if [ -n "${PID[load]:-}" ] && ! alive "${PID[load]}"; then
        reap load
        st=$RC
        say "UNEXPECTED: the load exited with status $st (see $LOGS/load.log)"
        echo "load exited by itself with status $st" >>"$RUN/unexpected.txt"
    fi
}

other() {
    [ "$1" = c1 ] && echo c2 || echo c1
}

# ---------------------------------------------------------------------
# Cleanup
# ---------------------------------------------------------------------

cleanup() {
    local rc=$? name pid n
    trap - EXIT
    trap "" INT TERM # a second Ctrl-C must not cut the cleanup short
    set +e
    # shellcheck disable=SC2086
    [ -z "$PG_STOPPED" ] || kill -CONT $PG_STOPPED 2>/dev/null
    for name in "${!PID[@]}"; do
        pid=${PID[$name]}
        [ -n "$pid" ] || continue
        kill -CONT "$pid" 2>/dev/null
        kill -TERM "$pid" 2>/dev/null
    done
    for name in "${!PID[@]}"; do
        pid=${PID[$name]}
        [ -n "$pid" ] || continue
        n=0
        while alive "$pid" && [ $n -lt 50 ]; do
            sleep 0.1
            n=$((n + 1))
        done
        alive "$pid" && kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    if [ "$pg_up" = 1 ]; then
        "$PG" stop "$PGDIR" >/dev/null 2>&1 || echo "$NAME: PostgreSQL in $PGDIR did not stop" >&2
    fi
    [ "$rc" -ne 0 ] || [ "$failed" -eq 0 ] || rc=1
    if [ "$rc" -ne 0 ]; then
        echo "$NAME: FAILED (exit $rc) — scratch kept: $RUN (process logs in $LOGS, journal $JOURNAL, drill events $EVENTS, PostgreSQL log $PGDIR/pg.log)"
    elif [ "$KEEP" = 1 ]; then
        echo "$NAME: scratch kept (DRILL_KEEP=1): $RUN"
    else
        rm -rf -- "$RUN"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'echo "$NAME: interrupted" >&2; exit 130' INT
trap 'echo "$NAME: terminated" >&2; exit 143' TERM

# ---------------------------------------------------------------------
# Set-up
# ---------------------------------------------------------------------

# free_port: a TCP port nobody listens on, outside the ephemeral range
# (a restarted coordinator binds it again; no outgoing connection takes it).
free_port() {
    local p i
    for i in $(seq 1 200); do
        p=$(( 20000 + ( (RANDOM << 15 | RANDOM) % 12000 ) ))
        if [ -z "$(ss -Hltn "sport = :$p" 2>/dev/null)" ]; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

say "$NAME: mode $MODE, seed $SEED, scratch $RUN, build $BIN"
say "targets: >= $TRANSFERS transfers, $FAULT_ROUNDS pass(es) over ${#POINTS[@]} fault points, $RANDOM_KILLS random coordinator kills, $PARTICIPANT_KILLS participant kills, $PG_RESTARTS PostgreSQL restarts, $COORD_PAUSES coordinator pauses (+$PAUSE_KILLS with the other killed), $PARTICIPANT_PAUSES participant pauses"

BASE=$("$PG" start "$PGDIR")
pg_up=1
for db in dtx bank_a bank_b; do
    "$PG" createdb "$PGDIR" "$db"
done
LOG_DB="$BASE dbname=dtx"

PORT1=$(free_port) || die "no free port"
PORT2=$(free_port) || die "no free port"
while [ "$PORT2" = "$PORT1" ]; do PORT2=$(free_port); done
EP1=tcp://127.0.0.1:$PORT1
EP2=tcp://127.0.0.1:$PORT2

q() { # q SQL: one value from the log database
    "$PSQL" -X -q -At -v ON_ERROR_STOP=1 -d "$LOG_DB" -c "$1"
}

# caught NAME: adds to the figures the unfinished transactions that the
# coordinator NAME, just dead, holds in the log, by mode and phase. Nothing
# is counted when PostgreSQL does not answer.
caught() {
    local row a b c d e
    local f g h i j
    row=$(q "SELECT count(*) FILTER (WHERE mode = 1 AND state = 1) || ' ' ||
                    count(*) FILTER (WHERE mode = 1 AND state IN (2, 4)) || ' ' ||
                    count(*) FILTER (WHERE mode = 2 AND state = 1 AND NOT preparing) || ' ' ||
                    count(*) FILTER (WHERE mode = 2 AND state = 1 AND preparing) || ' ' ||
                    count(*) FILTER (WHERE mode = 2 AND state IN (2, 4)) || ' ' ||
                    count(*) FILTER (WHERE mode = 3 AND state = 1) || ' ' ||
                    count(*) FILTER (WHERE mode = 3 AND state = 4) || ' ' ||
                    count(*) FILTER (WHERE mode = 3 AND state = 2) || ' ' ||
                    count(*) FILTER (WHERE mode = 4 AND state = 1) || ' ' ||
                    count(*) FILTER (WHERE mode = 4 AND state IN (2, 4))
               FROM dtx_global WHERE owner = '$1' AND state IN (1, 2, 4)" 2>/dev/null) || return 0
    read -r a b c d e f g h i j <<<"$row"
    caught_msg_prepared=$((caught_msg_prepared + ${i:-0}))
    caught_msg_decided=$((caught_msg_decided + ${j:-0}))
    caught_saga_active=$((caught_saga_active + ${f:-0}))
    caught_saga_aborting=$((caught_saga_aborting + ${g:-0}))
    caught_saga_committing=$((caught_saga_committing + ${h:-0}))
    caught_tcc_active=$((caught_tcc_active + ${a:-0}))
    caught_tcc_decided=$((caught_tcc_decided + ${b:-0}))
    caught_2pc_enlisting=$((caught_2pc_enlisting + ${c:-0}))
    caught_2pc_preparing=$((caught_2pc_preparing + ${d:-0}))
    caught_2pc_decided=$((caught_2pc_decided + ${e:-0}))
    echo "$1 died holding: tcc active $a decided $b; 2pc enlisting $c preparing $d decided $e;" \
        "saga forward $f compensating $g forward-only $h; msg prepared $i decided $j" >>"$EVENTS"
}

# prepared_in DB: how many dtx prepared transactions DB holds now (0 when
# PostgreSQL does not answer).
prepared_in() {
    "$PSQL" -X -q -At -d "$BASE dbname=$1" -c "SELECT count(*) FROM pg_prepared_xacts
        WHERE database = current_database() AND gid LIKE 'dtx:%'" 2>/dev/null || echo 0
}

# The admin HTTP API (when this dtxd has one) would take a fixed port: off.
COORD_EXTRA=()
# What this build has (read once: grep -q would end the pipe early, and
# under pipefail the writer's SIGPIPE would read as "not found").
DTXD_HELP=$("$BIN/dtxd" --help 2>&1 || true)
PART_HELP=$("$BIN/bank-participant" --help 2>&1 || true)
if grep -q -- '--http-listen' <<<"$DTXD_HELP"; then
    COORD_EXTRA+=(--http-listen off)
fi
# CurveZMQ as in production, when this dtxd has it: c1 and c2 share one key
# pair (a peer's key file names one coordinator key), every peer has its own
# key in their allow-list, and reads it through DTX_CURVE_KEY_FILE.
KEYS=$RUN/keys
CURVE=0
if grep -q -- '--curve-secret-file' <<<"$DTXD_HELP" && [ -x "$BIN/dtxctl" ]; then
    CURVE=1
    # shellcheck source=tests/harness/curve.sh
    . "$ROOT/tests/harness/curve.sh"
    curve_init "$KEYS" || die "dtxctl keygen failed"
    COORD_EXTRA+=("${CURVE_DTXD_ARGS[@]}")
fi
# peer_env NAME PRINCIPAL ROLES...: a key for NAME in the allow-list; prints
# the command prefix that hands it to the peer (nothing without CURVE).
peer_env() {
    [ "$CURVE" = 1 ] || return 0
    local file
    file=$(curve_peer "$KEYS" "$@") || die "dtxctl keygen $1 failed"
    printf '%q ' env "DTX_CURVE_KEY_FILE=$file"
}
PEER_ENV_pa1=$(peer_env pa1 bank-a-1 participant:bank-a)
PEER_ENV_pa2=$(peer_env pa2 bank-a-2 participant:bank-a)
PEER_ENV_pb1=$(peer_env pb1 bank-b-1 participant:bank-b)
PEER_ENV_pb2=$(peer_env pb2 bank-b-2 participant:bank-b)
PEER_ENV_load=$(peer_env load drill-load initiator)
coord_args() { # coord_args NAME PORT
    printf '%q ' "$BIN/dtxd" "${COORD_EXTRA[@]}" --db "$LOG_DB" --listen "tcp://127.0.0.1:$2" \
        --endpoint-file "$RUN/$1.endpoint" --node-id "$1" --log-level info \
        --lease-ms $LEASE_MS --recovery-interval-ms $RECOVERY_MS \
        --phase-timeout-ms $PHASE_TIMEOUT_MS --try-timeout-ms $TRY_TIMEOUT_MS \
        --retry-base-ms $RETRY_BASE_MS --retry-max-ms $RETRY_MAX_MS \
        --heartbeat-ms $HEARTBEAT_MS --default-timeout-ms $TXN_TIMEOUT_MS \
        --max-attempts $MAX_ATTEMPTS
}
ARGS[c1]=$(coord_args c1 "$PORT1")
ARGS[c2]=$(coord_args c2 "$PORT2")
ensure_coord c1
ensure_coord c2
say "coordinators: c1 $EP1, c2 $EP2, CurveZMQ $([ "$CURVE" = 1 ] && echo on || echo off)"

part_args() { # part_args NAME RESOURCE INSTANCE DB
    local envp=PEER_ENV_$1
    printf '%s' "${!envp}"
    printf '%q ' "$BIN/bank-participant" --resource "$2" --db "$BASE dbname=$4" \
        --instance "$3" --coordinator "$EP1" --coordinator "$EP2" \
        --heartbeat-ms $HEARTBEAT_MS --ready-file "$RUN/$1.ready" "${PART_EXTRA[@]}"
}
PART_EXTRA=()
if grep -q -- '--lock-timeout-ms' <<<"$PART_HELP"; then
    PART_EXTRA+=(--lock-timeout-ms $LOCK_TIMEOUT_MS)
fi
ARGS[pa1]=$(part_args pa1 bank-a bank-a-1 bank_a)
ARGS[pa2]=$(part_args pa2 bank-a bank-a-2 bank_a)
ARGS[pb1]=$(part_args pb1 bank-b bank-b-1 bank_b)
ARGS[pb2]=$(part_args pb2 bank-b bank-b-2 bank_b)
# Seeded once, by the first instance: a restart must not reset the balances.
start_participant pa1 --seed "$SEED_A"
start_participant pb1 --seed "$SEED_B"
start_participant pa2
start_participant pb2
for p in "${PARTS[@]}"; do
    n=0
    while [ ! -s "$RUN/$p.ready" ] && [ $n -lt 300 ] && alive "${PID[$p]}"; do
        n=$((n + 1))
        sleep 0.05
    done
    [ -s "$RUN/$p.ready" ] ||
        die "participant $p did not register with both coordinators; see $LOGS/$p.log"
done
say "participants: bank-a (pa1, pa2), bank-b (pb1, pb2), registered with c1 and c2"

accounts() { # "a0=1,a1=2" -> "a0,a1"
    echo "$1" | sed -E 's/=[0-9]+//g'
}
LOAD_EXTRA=()
[ "$MODE" != mixed ] || [ "$MIXED_ACCOUNTS" != split ] || LOAD_EXTRA+=(--split-accounts)
ARGS[load]=$PEER_ENV_load$(printf '%q ' "$BIN/drill-load" "${LOAD_EXTRA[@]}" --coordinator "$EP1" --coordinator "$EP2" \
    --journal "$JOURNAL" --accounts "bank-a:$(accounts "$SEED_A")" \
    --accounts "bank-b:$(accounts "$SEED_B")" --workers "$WORKERS" --transfers 0 \
    --timeout-ms $TXN_TIMEOUT_MS --call-timeout-ms $CALL_TIMEOUT_MS --seed "$SEED" \
    --bank-db "bank-a=$BASE dbname=bank_a" --bank-db "bank-b=$BASE dbname=bank_b" \
    --mode "$MODE")
launch load
say "load: $WORKERS workers, mode $MODE${LOAD_EXTRA[*]:+ (accounts split by protocol)} (journal $JOURNAL)"

begun() {
    grep -c '^B ' "$JOURNAL" 2>/dev/null || true
}

# Transactions unfinished past deadline + window while the drill runs
# (PostgreSQL may be down: then nothing is learnt).
sample_overdue() {
    local rows
    rows=$(q "SELECT gid || ' ' || dtx_state_name(state) || ' ' ||
                     round(extract(epoch FROM now() - deadline)::numeric, 1) || 's past deadline'
                FROM dtx_global
               WHERE state IN (1, 2, 4, 6)
                 AND deadline < now() - interval '$WINDOW_S seconds'" 2>/dev/null) || return 0
    if [ -n "$rows" ]; then
        say "OVERDUE during the run (unfinished past deadline + ${WINDOW_S}s):"
        # (sed, not head: head would close the pipe early, and pipefail
        # would make the SIGPIPE fatal)
        echo "$rows" | sed -n '1,20s/^/    /p' | tee -a "$EVENTS"
        echo "$rows" | sed 's/^/overdue during run: /' >>"$RUN/overdue.txt"
    fi
}

# ---------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------

# fault POINT: restarts a coordinator with POINT armed and waits for it to
# exit 86 there; returns 1 when the point was not reached.
next_fault_coord=c1
fault() {
    local point=$1 x y n spec st rc=0 waited=0
    x=$next_fault_coord
    y=$(other "$x")
    next_fault_coord=$y
    FAULT_TRIES[$point]=$(( ${FAULT_TRIES[$point]:-0} + 1 ))
    if [ "$point" = after-claim ]; then
        # Take-over needs a dead coordinator: kill both, so that x finds
        # unfinished work of y (after its lease) or of its own old epoch.
        n=1
        kill9 "$y" && coord_rearm_kills=$((coord_rearm_kills + 1)) && caught "$y"
    else
        n=$(( 1 + RANDOM % 8 ))
    fi
    spec="$point:$n"
    kill9 "$x" && coord_rearm_kills=$((coord_rearm_kills + 1)) && caught "$x"
    start_coord "$x" --fault "$spec" || rc=$?
    if [ $rc = 0 ]; then
        while alive "${PID[$x]}" && [ $waited -lt $((FAULT_WAIT_S * 10)) ]; do
            sleep 0.1
            waited=$((waited + 1))
        done
        if alive "${PID[$x]}"; then
            kill9 "$x"
            coord_rearm_kills=$((coord_rearm_kills + 1))
            caught "$x"
            st=timeout
        else
            reap "$x"
            st=$RC
        fi
    elif [ $rc = 2 ]; then
        st=$LAST_STATUS
    else
        st=not-listening
        kill9 "$x" || true
    fi
    if [ "$st" = 86 ]; then
        caught "$x"
        FAULT_HITS[$point]=$(( ${FAULT_HITS[$point]} + 1 ))
        say "fault $spec on $x: dtxd exited 86 after $(( waited / 10 )).$(( waited % 10 ))s; restarting it"
    else
        fault_misses=$((fault_misses + 1))
        say "fault $spec on $x: not reached ($st); restarting it"
    fi
    ensure_coord "$x"
    [ -n "${PID[$y]:-}" ] || ensure_coord "$y"
    [ "$st" = 86 ]
}

random_kill() {
    local x down
    x=c$(( 1 + RANDOM % 2 ))
    # Sometimes shorter than the lease (it takes its own work back), sometimes
    # longer (the other one takes it over).
    down=$(rand_ms 0 2500)
    kill9 "$x" && caught "$x"
    coord_random_kills=$((coord_random_kills + 1))
    say "kill -9 $x; down for ${down} ms"
    ms_sleep "$down"
    ensure_coord "$x"
}

kill_both() {
    kill9 c1 || true
    kill9 c2 || true
    caught c1
    caught c2
    coord_random_kills=$((coord_random_kills + 2))
    say "kill -9 c1 and c2 at once; down for 1 s"
    sleep 1
    ensure_coord c1
    ensure_coord c2
}

participant_kill() {
    local p down victims bank db held=0 left=0 n=0 whole=3 note=
    down=$(rand_ms 200 3000)
    # 2PC: a whole bank down more often, so that its prepared transactions
    # wait for its restart (dtx_pgres_recover) rather than for the other
    # instance.
    [ "$MODE" = tcc ] || [ "$MODE" = saga ] || whole=2
    if [ $(( RANDOM % whole )) = 0 ]; then
        # A whole bank goes down: both its instances.
        bank=$([ $(( RANDOM % 2 )) = 0 ] && echo pa || echo pb)
        victims=("${bank}1" "${bank}2")
    else
        victims=("${PARTS[$(( RANDOM % ${#PARTS[@]} ))]}")
    fi
    case ${victims[0]} in pa*) db=bank_a ;; *) db=bank_b ;; esac
    if [ "$MODE" = 2pc ] || [ "$MODE" = mixed ]; then
        # Killed while the bank holds prepared transactions (bounded wait).
        while :; do
            held=$(prepared_in "$db")
            [ "${held:-0}" -gt 0 ] && break
            n=$((n + 1))
            [ $((n * 25)) -lt "$PREPARED_WAIT_MS" ] || break
            sleep 0.01
        done
    fi
    for p in "${victims[@]}"; do
        kill9 "$p" || true
        participant_kills=$((participant_kills + 1))
    done
    participant_kill_rounds=$((participant_kill_rounds + 1))
    if [ "$MODE" = 2pc ] || [ "$MODE" = mixed ]; then
        left=$(prepared_in "$db")
        note="; $db held ${held:-0} prepared transaction(s) at the kill, ${left:-0} just after"
        if [ "${held:-0}" -gt 0 ]; then
            prepared_kills=$((prepared_kills + 1))
            prepared_at_kills=$((prepared_at_kills + held))
            prepared_left=$((prepared_left + ${left:-0}))
        fi
    fi
    say "kill -9 participant ${victims[*]}; down for ${down} ms$note"
    ms_sleep "$down"
    for p in "${victims[@]}"; do start_participant "$p"; done
}

pg_restart() {
    if [ $(( pg_restarts % 2 )) = 0 ]; then
        say "PostgreSQL: restart (fast shutdown)"
        "$PG" restart "$PGDIR" >/dev/null || die "PostgreSQL did not restart; see $PGDIR/pg.log"
    else
        say "PostgreSQL: crash (immediate shutdown), down for 1 s, start"
        "$PG" kill "$PGDIR" >/dev/null || die "PostgreSQL did not stop; see $PGDIR/pg.log"
        sleep 1
        "$PG" start "$PGDIR" >/dev/null || die "PostgreSQL did not start; see $PGDIR/pg.log"
    fi
    pg_restarts=$((pg_restarts + 1))
}

# PostgreSQL hangs (every server process SIGSTOPped) past the leases:
# writes and lease renewals stall, then complete late, all at once.
pg_pause() {
    local ms pm
    ms=$(rand_ms $(( LEASE_MS + 300 )) $(( 2 * LEASE_MS + 1000 )))
    pm=$(head -n 1 "$PGDIR/data/postmaster.pid" 2>/dev/null) || return 0
    PG_STOPPED="$pm $(pgrep -P "$pm" | tr '\n' ' ')"
    say "SIGSTOP PostgreSQL (every server process) for ${ms} ms"
    # shellcheck disable=SC2086
    kill -STOP $PG_STOPPED 2>/dev/null || true
    ms_sleep "$ms"
    # shellcheck disable=SC2086
    kill -CONT $PG_STOPPED 2>/dev/null || true
    PG_STOPPED=
    pg_pauses=$((pg_pauses + 1))
}

coord_pause() {
    local x ms
    x=c$(( 1 + RANDOM % 2 ))
    ms=$(rand_ms $(( LEASE_MS + 300 )) $(( 2 * LEASE_MS + 1500 )))
    say "SIGSTOP $x for ${ms} ms (lease ${LEASE_MS} ms)"
    kill -STOP "${PID[$x]}"
    ms_sleep "$ms"
    kill -CONT "${PID[$x]}"
    coord_pauses=$((coord_pauses + 1))
}

# A coordinator is paused past its lease while the other is killed and
# restarted: the restarted one takes over the paused one's work, and the
# paused one wakes up with stale copies that fencing must neutralise.
pause_kill() {
    local x y
    x=c$(( 1 + RANDOM % 2 ))
    y=$(other "$x")
    say "SIGSTOP $x; kill -9 $y and restart it; SIGCONT $x after $(( 2 * LEASE_MS + 500 )) ms"
    kill -STOP "${PID[$x]}"
    kill9 "$y" && caught "$y"
    coord_random_kills=$((coord_random_kills + 1))
    ms_sleep 300
    ensure_coord "$y"
    ms_sleep $(( 2 * LEASE_MS + 200 ))
    kill -CONT "${PID[$x]}"
    coord_pauses=$((coord_pauses + 1))
}

participant_pause() {
    local p ms
    p=${PARTS[$(( RANDOM % ${#PARTS[@]} ))]}
    ms=$(rand_ms $(( 3 * HEARTBEAT_MS + 300 )) $(( 3 * HEARTBEAT_MS + 2000 )))
    say "SIGSTOP participant $p for ${ms} ms (3 heartbeats: $(( 3 * HEARTBEAT_MS )) ms)"
    kill -STOP "${PID[$p]}"
    ms_sleep "$ms"
    kill -CONT "${PID[$p]}"
    participant_pauses=$((participant_pauses + 1))
}

# ---------------------------------------------------------------------
# The schedule
# ---------------------------------------------------------------------

actions=()
for ((r = 0; r < FAULT_ROUNDS; r++)); do
    for p in "${POINTS[@]}"; do actions+=("fault $p"); done
done
for ((i = 0; i < RANDOM_KILLS; i++)); do actions+=(random_kill); done
for ((i = 0; i < PARTICIPANT_KILLS; i++)); do actions+=(participant_kill); done
for ((i = 0; i < PG_RESTARTS; i++)); do actions+=(pg_restart); done
for ((i = 0; i < COORD_PAUSES; i++)); do actions+=(coord_pause); done
for ((i = 0; i < PAUSE_KILLS; i++)); do actions+=(pause_kill); done
for ((i = 0; i < PG_PAUSES; i++)); do actions+=(pg_pause); done
for ((i = 0; i < PARTICIPANT_PAUSES; i++)); do actions+=(participant_pause); done
[ "$KILL_BOTH" = 1 ] && actions+=(kill_both)
# Shuffle (Fisher-Yates, seeded).
for ((i = ${#actions[@]} - 1; i > 0; i--)); do
    j=$(( RANDOM % (i + 1) ))
    tmp=${actions[$i]}
    actions[$i]=${actions[$j]}
    actions[$j]=$tmp
done

sleep 1 # let the load get going
i=0
while [ $i -lt ${#actions[@]} ]; do
    a=${actions[$i]}
    i=$((i + 1))
    ms_sleep "$(rand_ms 200 900)" # the load runs between faults
    case $a in
    fault\ *)
        p=${a#fault }
        if ! fault "$p" && [ "${FAULT_HITS[$p]}" = 0 ] &&
            [ "${FAULT_TRIES[$p]}" -le "$FAULT_RETRIES" ]; then
            actions+=("fault $p") # not reached yet: again later
        fi
        ;;
    *) $a ;;
    esac
    check_alive
    sample_overdue
done

# The load goes on until it has done its share of transfers.
n=$(begun)
waited=0
while [ "$n" -lt "$TRANSFERS" ] && alive "${PID[load]}"; do
    [ $waited -lt 3000 ] || break
    [ $(( waited % 50 )) = 0 ] && say "faults done; load at $n of $TRANSFERS transfers"
    sleep 0.1
    waited=$((waited + 1))
    n=$(begun)
done
say "stopping the load ($(begun) transfers begun)"
if alive "${PID[load]}"; then
    kill -TERM "${PID[load]}"
    waited=0
    while alive "${PID[load]}" && [ $waited -lt $(( (3 * CALL_TIMEOUT_MS + 10000) / 100 )) ]; do
        sleep 0.1
        waited=$((waited + 1))
    done
    if alive "${PID[load]}"; then
        say "UNEXPECTED: the load did not stop after SIGTERM; killing it"
        echo "load did not stop after SIGTERM" >>"$RUN/unexpected.txt"
        kill -KILL "${PID[load]}"
    fi
fi
reap load
st=$RC
[ "$st" = 0 ] || echo "load exited with status $st" >>"$RUN/unexpected.txt"
grep '^drill-load:' "$LOGS/load.log" | tail -n 5 | sed 's/^/    /'

# ---------------------------------------------------------------------
# The end: everything up, every transaction final, then the checks
# ---------------------------------------------------------------------

"$PG" status "$PGDIR" || { "$PG" start "$PGDIR" >/dev/null || die "PostgreSQL does not start"; }
for name in c1 c2 "${PARTS[@]}"; do
    [ -n "${PID[$name]:-}" ] && kill -CONT "${PID[$name]}" 2>/dev/null || true
done
check_alive

# Bounded: the last deadline plus the recovery window.
limit=$(q "SELECT coalesce(ceil(extract(epoch FROM max(deadline))), 0)::bigint + $WINDOW_S FROM dtx_global")
say "waiting for every transaction to end (at most until the last deadline + ${WINDOW_S}s)"
while :; do
    pending=$(q "SELECT count(*) FILTER (WHERE state IN (1, 2, 4)) || ' ' ||
                        count(*) FILTER (WHERE state = 6) || ' ' ||
                        extract(epoch FROM now())::bigint FROM dtx_global")
    read -r unfinished stuck now <<<"$pending"
    [ "$unfinished" = 0 ] && break
    [ "$now" -lt "$limit" ] || break
    sleep 0.5
done
check_alive
say "converged: $unfinished unfinished, $stuck stuck"

# A clean stop (SIGTERM) must end every process with status 0 (under
# SAN=1 a leak or a sanitizer report makes it non-zero).
for name in "${PARTS[@]}" c1 c2; do
    [ -n "${PID[$name]:-}" ] && kill -TERM "${PID[$name]}" 2>/dev/null || true
done
for name in "${PARTS[@]}" c1 c2; do
    pid=${PID[$name]:-}
    [ -n "$pid" ] || continue
    waited=0
    while alive "$pid" && [ $waited -lt 100 ]; do
        sleep 0.1
        waited=$((waited + 1))
    done
    if alive "$pid"; then
        echo "$name did not stop within 10 s of SIGTERM" >>"$RUN/unexpected.txt"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    reap "$name"
    [ "$RC" = 0 ] || echo "$name exited with status $RC on SIGTERM (see $LOGS/$name.log)" >>"$RUN/unexpected.txt"
done

# Process health: anything that died by itself, or did not stop cleanly,
# is a finding.
problems=0
if [ -s "$RUN/unexpected.txt" ]; then
    problems=1
fi

fault_kills=0
for p in "${POINTS[@]}"; do fault_kills=$((fault_kills + FAULT_HITS[$p])); done
coord_kills=$((fault_kills + coord_random_kills + coord_rearm_kills))

{
    echo "kills_fault=$fault_kills"
    echo "kills_random=$coord_random_kills"
    echo "kills_rearm=$coord_rearm_kills"
    echo "fault_misses=$fault_misses"
    for p in "${POINTS[@]}"; do echo "fault_$p=${FAULT_HITS[$p]}"; done
    echo "participant_kills=$participant_kills"
    echo "pg_restarts=$pg_restarts"
    echo "pg_pauses=$pg_pauses"
    echo "coord_pauses=$coord_pauses"
    echo "participant_pauses=$participant_pauses"
    echo "caught_tcc_active=$caught_tcc_active"
    echo "caught_tcc_decided=$caught_tcc_decided"
    echo "caught_2pc_enlisting=$caught_2pc_enlisting"
    echo "caught_2pc_preparing=$caught_2pc_preparing"
    echo "caught_2pc_decided=$caught_2pc_decided"
    echo "caught_saga_active=$caught_saga_active"
    echo "caught_saga_aborting=$caught_saga_aborting"
    echo "caught_saga_committing=$caught_saga_committing"
    echo "caught_msg_prepared=$caught_msg_prepared"
    echo "caught_msg_decided=$caught_msg_decided"
    echo "prepared_kills=$prepared_kills"
    echo "prepared_at_kills=$prepared_at_kills"
    echo "prepared_left=$prepared_left"
} >"$RUN/figures.txt"

# What the participants' 2PC recovery (dtx_pgres_recover, at each start)
# found and did, from their logs.
count_lines() { # count_lines PATTERN: lines of the participants' logs with it
    local f n=0 c
    for f in "${PARTS[@]}"; do
        c=$(grep -c -- "$1" "$LOGS/$f.log" 2>/dev/null) || true
        n=$((n + ${c:-0}))
    done
    echo "$n"
}
recovered_commit=$(count_lines 'recovery: prepared transaction resolved.*action=commit')
recovered_rollback=$(count_lines 'recovery: prepared transaction resolved.*action=rollback')
recovery_left=$(count_lines 'recovery: prepared transaction left to its coordinator')
recovery_incomplete=$(count_lines '2PC recovery incomplete')

check_rc=0
"$ROOT/tests/drill/check.sh" --base "$BASE" --log-db dtx \
    --bank "bank-a=bank_a=$SEED_A" --bank "bank-b=bank_b=$SEED_B" \
    --journal "$JOURNAL" --load-log "$LOGS/load.log" --window "$WINDOW_S" \
    --scratch "$RUN" || check_rc=$?

echo "== faults survived"
printf '  coordinator kills      %d  (exit 86 at a fault point %d; kill -9 at a random moment %d,\n' \
    "$coord_kills" "$fault_kills" "$((coord_random_kills + coord_rearm_kills))"
printf '                             of which %d to restart it with a fault armed)\n' "$coord_rearm_kills"
for p in "${POINTS[@]}"; do
    printf '    %-22s %d\n' "$p" "${FAULT_HITS[$p]}"
done
[ "$fault_misses" = 0 ] || printf '    (armed but not reached, not counted: %d)\n' "$fault_misses"
printf '  participant kills      %d\n' "$participant_kills"
printf '  PostgreSQL restarts    %d  (and hung past the leases: %d)\n' "$pg_restarts" "$pg_pauses"
printf '  coordinator SIGSTOPs   %d  (%d..%d ms each, lease %d ms)\n' "$coord_pauses" \
    $((LEASE_MS + 300)) $((2 * LEASE_MS + 1500)) $LEASE_MS
printf '  participant SIGSTOPs   %d  (%d..%d ms each, heartbeat %d ms)\n' "$participant_pauses" \
    $((3 * HEARTBEAT_MS + 300)) $((3 * HEARTBEAT_MS + 2000)) $HEARTBEAT_MS
echo "== what the coordinator kills caught (unfinished transactions the dead one held, summed)"
if [ "$MODE" = tcc ] || [ "$MODE" = mixed ]; then
    printf '  TCC  active (Tries, votes) %d; decided, Confirms/Cancels not all done %d\n' \
        "$caught_tcc_active" "$caught_tcc_decided"
fi
if [ "$MODE" = saga ] || [ "$MODE" = mixed ]; then
    printf '  Saga running forward (actions) %d; compensating %d; forward only past the pivot %d\n' \
        "$caught_saga_active" "$caught_saga_aborting" "$caught_saga_committing"
fi
if [ "$MODE" = msg ] || [ "$MODE" = mixed ]; then
    printf '  messages prepared (not submitted, check-back not answered) %d; decided, deliveries not all done %d\n' \
        "$caught_msg_prepared" "$caught_msg_decided"
fi
if [ "$MODE" = 2pc ] || [ "$MODE" = mixed ]; then
    printf '  2PC  enlisting %d; between prepare and decision %d; between decision and the end %d\n' \
        "$caught_2pc_enlisting" "$caught_2pc_preparing" "$caught_2pc_decided"
    echo "== 2PC participants"
    printf '  killed while their bank held prepared transactions  %d of %d kill rounds  (%d prepared at those kills, %d still prepared right after)\n' \
        "$prepared_kills" "$participant_kill_rounds" "$prepared_at_kills" "$prepared_left"
    printf '  resolved by the participant at restart (dtx_pgres_recover)  %d  (commit %d, rollback %d; left to the coordinator %d; recovery incomplete %d time(s))\n' \
        $((recovered_commit + recovered_rollback)) "$recovered_commit" "$recovered_rollback" \
        "$recovery_left" "$recovery_incomplete"
fi

# Targets.
short=()
[ "$(begun)" -ge "$TRANSFERS" ] || short+=("transfers $(begun) < $TRANSFERS")
[ "$coord_kills" -ge "$MIN_COORD_KILLS" ] || short+=("coordinator kills $coord_kills < $MIN_COORD_KILLS")
if [ "$FAULT_ROUNDS" -gt 0 ]; then
    for p in "${POINTS[@]}"; do
        [ "${FAULT_HITS[$p]}" -ge 1 ] || short+=("fault point $p never reached")
    done
fi
[ "$participant_kills" -ge "$MIN_PARTICIPANT_KILLS" ] ||
    short+=("participant kills $participant_kills < $MIN_PARTICIPANT_KILLS")
[ "$pg_restarts" -ge "$MIN_PG_RESTARTS" ] || short+=("PostgreSQL restarts $pg_restarts < $MIN_PG_RESTARTS")
[ "$prepared_kills" -ge "$MIN_PREPARED_KILLS" ] ||
    short+=("participant kills while prepared transactions were held $prepared_kills < $MIN_PREPARED_KILLS")

if [ -s "$RUN/unexpected.txt" ]; then
    echo "== processes that died or misbehaved by themselves"
    sed 's/^/  /' "$RUN/unexpected.txt"
fi
if [ -s "$RUN/overdue.txt" ]; then
    echo "== transactions overdue while the drill ran (deadline + ${WINDOW_S}s)"
    sort -u "$RUN/overdue.txt" | sed -n '1,20s/^/  /p'
    problems=1
fi
if [ ${#short[@]} -gt 0 ]; then
    echo "== targets not reached"
    printf '  %s\n' "${short[@]}"
    problems=1
fi

t1=$(date +%s%N)
secs=$(( (t1 - T0) / 1000000000 ))
echo "== logs: $LOGS (dtxd: c1.log c2.log; participants: pa1.log pa2.log pb1.log pb2.log; load.log), journal $JOURNAL, events $EVENTS"
leftover=$(sed -n 's/^leftover_prepared=//p' "$RUN/check.txt" 2>/dev/null)
if [ "$check_rc" -ne 0 ] || [ "$problems" -ne 0 ]; then
    failed=1
    echo "$NAME: FAILED in ${secs}s (seed $SEED; leftover prepared transactions ${leftover:-unknown})"
    exit 1
fi
echo "$NAME: ok in ${secs}s (seed $SEED; leftover prepared transactions ${leftover:-unknown})"
