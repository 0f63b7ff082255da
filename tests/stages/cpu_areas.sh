#!/usr/bin/env bash
# tests/stages/cpu_areas.sh — bench/cpu_areas.py (dtxd's CPU per
# transaction by area, bench/profile.sh PROFILE_AREAS=1) on hand-made perf
# samples whose areas are known (tests/tools/cpu_areas.perf: one sample of
# each area, two in the I/O thread's kernel: 12 samples; at 1000 Hz and 2
# transactions each is 500 CPU-us per transaction); then its refusals of
# bad input (no argument, bad numbers, a missing file, no samples).
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
CA=$ROOT/bench/cpu_areas.py
FIX=$ROOT/tests/tools/cpu_areas.perf
OUT=$(python3 "$CA" "$FIX" 2 1000 "$ROOT")
fail=0
# expect LABEL-PREFIX US: the area's CPU-us per transaction as printed
expect() {
    local got
    got=$(awk -v k="$1" 'index($0, k) == 4 { print $(NF - 1) }' <<<"$OUT")
    if [ "$got" != "$2" ]; then
        echo "cpu_areas: area '$1': '$got' us/tx, expected $2" >&2
        fail=1
    fi
}
expect "ZeroMQ I/O thread: CurveZMQ" 500.0
expect "ZeroMQ I/O thread: kernel" 1000.0
expect "ZeroMQ I/O thread: libzmq" 500.0
expect "loop thread: ZeroMQ calls" 500.0 # getpid under zmq_send: the caller of the system call
expect "loop thread: log" 500.0          # malloc under PQsetvalue under dtx_batch_rows_at
expect "loop thread: engine" 500.0       # s_on_vote (engine/driver.c) under the store's read
expect "loop thread: common" 500.0       # dtx_msg_decode (common/src/proto.c)
expect "loop thread: loop" 500.0         # poll(2) under dtx_zpoll
expect "loop thread: metrics" 500.0
expect "loop thread: admin" 500.0
expect "loop thread: unplaced" 500.0
if ! grep -q "total  *6000.0   (12 samples)" <<<"$OUT"; then
    echo "cpu_areas: total line wrong: $(grep total <<<"$OUT")" >&2
    fail=1
fi
# refuse ARGS... STATUS TEXT: exits STATUS and says TEXT
refuse() {
    local want=$1 text=$2 msg rc=0
    shift 2
    msg=$(python3 "$CA" "$@" 2>&1) || rc=$?
    if [ "$rc" != "$want" ] || ! grep -q -- "$text" <<<"$msg"; then
        echo "cpu_areas: $*: status $rc '$msg', expected $want and '$text'" >&2
        fail=1
    fi
}
refuse 2 "usage:"
refuse 2 "must be numbers" "$FIX" x 1000
refuse 2 "above 0" "$FIX" 0 1000
refuse 2 "cannot read" /nonexistent/samples 1 1000
refuse 1 "no samples" /dev/null 1 1000
[ "$fail" = 0 ] && echo "cpu_areas: 11 areas, the total and 5 refusals as expected"
exit "$fail"
