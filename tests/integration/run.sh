#!/usr/bin/env bash
# tests/integration/run.sh — the integration stage of make test.
#
#   tests/integration/run.sh                 every suite, in DTX_TEST_SHARDS
#                                            processes (default 2)
#   DTX_TEST_SHARDS=1 tests/integration/run.sh   one process, suites in order
#
# Needs what every stage sees (tests/run.sh): BUILD and the DTX_TEST_*
# variables.
#
# Most of an integration test's time is spent waiting — for a process to
# start, a lease to expire, a retry or a deadline to fire — so on this
# 2-core machine two processes nearly halve the stage. Suites are dealt
# to the shards longest first, onto the shard with the least work so far
# (tests/integration/durations holds each suite's seconds from one run;
# a suite missing there counts DEFAULT_S). Each shard has its own scratch
# folder and its own database-name prefix (DTX_TEST_DB_PREFIX, see
# tests/harness/harness.h), so shards share the PostgreSQL server and
# nothing else. A shard's output is printed whole once it has ended, so
# the lines of two shards never interleave.
#
# Exit status: 0 when every shard passed; otherwise the first failure's.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$ROOT"
BUILD=${BUILD:-build}
case $BUILD in
/*) BIN=$BUILD/tests/integration_tests ;;
*) BIN=$ROOT/$BUILD/tests/integration_tests ;;
esac
SHARDS=${DTX_TEST_SHARDS:-2}
DEFAULT_S=15
: "${DTX_TEST_DIR:?run me from tests/run.sh (DTX_TEST_DIR is unset)}"

case $SHARDS in
'' | *[!0-9]* | 0) echo "integration: DTX_TEST_SHARDS='$SHARDS' is not a positive count" >&2; exit 2 ;;
esac
if [ "$SHARDS" -eq 1 ]; then
    exec "$BIN"
fi

# The suites, in the binary's order.
mapfile -t suites < <("$BIN" --list | cut -d: -f1 | uniq)
[ ${#suites[@]} -gt 0 ] || { echo "integration: $BIN lists no suite" >&2; exit 2; }

# Deal them: longest first, each to the lightest shard.
plan=$(for s in "${suites[@]}"; do
    secs=$(awk -v s="$s" '$1 == s { print $2; exit }' tests/integration/durations 2>/dev/null)
    echo "${secs:-$DEFAULT_S} $s"
done | sort -k1,1nr -k2,2 | awk -v n="$SHARDS" '
    { best = 0
      for (i = 1; i < n; i++) if (load[i] < load[best]) best = i
      load[best] += $1; names[best] = names[best] " " $2 }
    END { for (i = 0; i < n; i++) printf "%d %.0f%s\n", i, load[i], names[i] }')

pids=()
for ((i = 0; i < SHARDS; i++)); do
    line=$(echo "$plan" | awk -v i="$i" '$1 == i')
    read -r _ load names <<<"$line"
    [ -n "${names:-}" ] || continue
    dir=$DTX_TEST_DIR/shard$i
    mkdir -p "$dir"
    echo "integration: shard $i (~${load}s):$names"
    # shellcheck disable=SC2086  # names is a list of suite names
    DTX_TEST_DIR=$dir DTX_TEST_DB_PREFIX=s${i}_ "$BIN" $names >"$dir/output" 2>&1 &
    pids+=("$i:$!")
done

rc=0
for entry in "${pids[@]}"; do
    i=${entry%%:*}
    pid=${entry#*:}
    src=0
    wait "$pid" || src=$?
    echo "=== integration shard $i (exit $src)"
    cat "$DTX_TEST_DIR/shard$i/output"
    [ "$src" -eq 0 ] || [ "$rc" -ne 0 ] || rc=$src
done
exit "$rc"
