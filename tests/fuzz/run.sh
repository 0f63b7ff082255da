#!/usr/bin/env bash
# tests/fuzz/run.sh — the fuzz stage of `make test`.
#
# Builds every libFuzzer target (tests/fuzz/targets/*.mk) with clang and
# runs each for DTX_FUZZ_SECONDS (default 5) from its seeds in
# tests/fuzz/corpus-NAME, into a scratch corpus (the seeds are never
# written). Every seed is replayed first, so a seed that once crashed a
# parser fails this stage at once; a crash, a sanitizer report or a leak
# found in the short run fails it too. The long runs are `make fuzz`.
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$ROOT"
SECONDS_EACH=${DTX_FUZZ_SECONDS:-5}
make -s fuzz-build >/dev/null
WORK=$(mktemp -d /tmp/dtx-fuzz.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
failed=0
for mk in tests/fuzz/targets/*.mk; do
    t=$(basename "$mk" .mk)
    bin=build-fuzz/fuzz_$t
    seeds=tests/fuzz/corpus-$t
    if [ ! -d "$seeds" ] || [ -z "$(ls -A "$seeds")" ]; then
        echo "fuzz: $t has no seeds in $seeds" >&2
        failed=1
        continue
    fi
    mkdir -p "$WORK/$t"
    if "$bin" -max_total_time="$SECONDS_EACH" -max_len=4096 \
            -artifact_prefix="$WORK/$t-" "$WORK/$t" "$seeds" \
            >"$WORK/$t.log" 2>&1; then
        runs=$(grep -o 'Done [0-9]* runs' "$WORK/$t.log" | tail -1 || true)
        echo "fuzz: $t ok (${runs:-?})"
    else
        echo "fuzz: $t FAILED" >&2
        tail -40 "$WORK/$t.log" >&2
        failed=1
    fi
done
exit $failed
