#!/usr/bin/env bash
# tests/fuzz/run.sh — the fuzz stage of `make test`.
#
# Builds every libFuzzer target (tests/fuzz/targets/*.mk) with clang and
# runs each for DTX_FUZZ_SECONDS (default 5), DTX_FUZZ_JOBS of them at a
# time (default: the core count), from its seeds in
# tests/fuzz/corpus-NAME, into a scratch corpus (the seeds are never
# written). Every seed is replayed first, so a seed that once crashed a
# parser fails this stage at once; a crash, a sanitizer report or a leak
# found in the short run fails it too. The long runs are `make fuzz`.
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$ROOT"
SECONDS_EACH=${DTX_FUZZ_SECONDS:-5}
# Targets run JOBS at a time (libFuzzer uses one core each).
JOBS=${DTX_FUZZ_JOBS:-$(nproc)}
make -s -j"$JOBS" fuzz-build >/dev/null
WORK=$(mktemp -d /tmp/dtx-fuzz.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# fuzz_one NAME: replays NAME's seeds, fuzzes it; writes WORK/NAME.result
# ("ok RUNS" or "FAILED" / "NOSEEDS") for the report below.
fuzz_one() {
    local t=$1 bin=build-fuzz/fuzz_$1 seeds=tests/fuzz/corpus-$1
    if [ ! -d "$seeds" ] || [ -z "$(ls -A "$seeds")" ]; then
        echo NOSEEDS >"$WORK/$t.result"
        return
    fi
    mkdir -p "$WORK/$t"
    if "$bin" -max_total_time="$SECONDS_EACH" -max_len=4096 \
            -artifact_prefix="$WORK/$t-" "$WORK/$t" "$seeds" \
            >"$WORK/$t.log" 2>&1; then
        echo "ok $(grep -o 'Done [0-9]* runs' "$WORK/$t.log" | tail -1 || true)" >"$WORK/$t.result"
    else
        echo FAILED >"$WORK/$t.result"
    fi
}

targets=()
for mk in tests/fuzz/targets/*.mk; do
    targets+=("$(basename "$mk" .mk)")
done
running=0
for t in "${targets[@]}"; do
    if [ "$running" -ge "$JOBS" ]; then
        wait -n || true
        running=$((running - 1))
    fi
    fuzz_one "$t" &
    running=$((running + 1))
done
wait

failed=0
for t in "${targets[@]}"; do
    result=$(cat "$WORK/$t.result" 2>/dev/null || echo FAILED)
    case $result in
    ok*)
        runs=${result#ok }
        echo "fuzz: $t ok (${runs:-?})"
        ;;
    NOSEEDS)
        echo "fuzz: $t has no seeds in tests/fuzz/corpus-$t" >&2
        failed=1
        ;;
    *)
        echo "fuzz: $t FAILED" >&2
        tail -40 "$WORK/$t.log" >&2 || true
        failed=1
        ;;
    esac
done
exit $failed
