#!/usr/bin/env bash
# tests/stages/timeline.sh — bench/timeline.py (the 1-in-flight timeline of
# bench/profile.sh PROFILE_TIMELINE=1) on a hand-made perf trace whose
# segments are known (tests/tools/timeline.trace: one hop into dtxd, one
# synchronous log write, split syscalls included, one hop out to a
# participant and its answer); then its refusals of bad input (empty,
# missing, none). Then dtx-hop (the hop on this machine apart from dtx):
# a short run prints both transports' lines; bad usage exits 2.
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
TL=$ROOT/bench/timeline.py
FIX=$ROOT/tests/tools/timeline.trace
OUT=$(python3 "$TL" "$FIX")
fail=0
# expect LABEL-PREFIX P50 [COLUMN]: the segment's median (or the column
# counted from the last: 0 the mean, 1 p90, 2 p75, 4 p25) as printed
expect() {
    local got col=${3:-3}
    got=$(awk -v k="$1" -v c="$col" 'index($0, k) == 4 { print $(NF - c) }' <<<"$OUT")
    if [ "$got" != "$2" ]; then
        echo "timeline: segment '$1': column $col from the last '$got', expected $2" >&2
        fail=1
    fi
}
expect "A app thread" 0.075 # 0.100 (dtx-bench) and 0.050 (dtxd)
expect "A app thread" 0.075 0 # the mean
expect "A app thread" 0.095 1 # p90, between the two
expect "A app thread" 0.063 4 # p25 (0.0625)
expect "B I/O sendto" 0.040
expect "C peer I/O" 0.030
expect "D1 dtxd" 0.050
expect "D2 dtxd" 0.040
expect "E dtxd sent" 0.030
expect "F backend: batch read -> results sent (sync)" 0.310
expect "F1 backend" 0.090
expect "G backend fdatasync" 0.150 # a syscall split over two lines
expect "H backend" 0.050
expect "I backend" 0.040
expect "P participant" 0.040
if grep -q "(lazy)" <<<"$OUT"; then
    echo "timeline: a synchronous commit was counted lazy" >&2
    fail=1
fi
# Bad input: a clear error and a non-zero status.
empty=$(mktemp)
trap 'rm -f "$empty"' EXIT
if msg=$(python3 "$TL" "$empty" 2>&1); then
    echo "timeline: an empty trace was accepted" >&2
    fail=1
elif ! grep -q "no segment found" <<<"$msg"; then
    echo "timeline: an empty trace: unclear error '$msg'" >&2
    fail=1
fi
if msg=$(python3 "$TL" "$empty.missing" 2>&1); then
    echo "timeline: a missing trace was accepted" >&2
    fail=1
elif ! grep -q "cannot read" <<<"$msg"; then
    echo "timeline: a missing trace: unclear error '$msg'" >&2
    fail=1
fi
if msg=$(python3 "$TL" 2>&1); then
    echo "timeline: no argument was accepted" >&2
    fail=1
elif ! grep -q "usage:" <<<"$msg"; then
    echo "timeline: no argument: unclear error '$msg'" >&2
    fail=1
fi
HOP=${DTX_TEST_BIN:-$ROOT/build/bin}/dtx-hop
if ! hop=$("$HOP" --count 50 --gap-us 100); then
    echo "timeline: dtx-hop failed: $hop" >&2
    fail=1
elif [ "$(grep -cE '^(tcp|zmq) one-way us p10 [0-9.]+ p50 [0-9.]+ p90 [0-9.]+$' <<<"$hop")" != 2 ]; then
    echo "timeline: dtx-hop printed '$hop'" >&2
    fail=1
fi
for bad in "--count 5" "--gap-us -1" "extra"; do
    rc=0
    # shellcheck disable=SC2086 # each case is several words
    "$HOP" $bad >/dev/null 2>&1 || rc=$?
    if [ "$rc" != 2 ]; then
        echo "timeline: dtx-hop $bad: status $rc, expected 2" >&2
        fail=1
    fi
done
[ "$fail" = 0 ] && echo "timeline: 12 segments, 3 refusals and dtx-hop as expected"
exit "$fail"
