#!/usr/bin/env bash
# tests/layers/run.sh — the `layers` stage of make test: the house keeps
# its shape (tests/layers/check.py on each part, against the table in the
# part's README), and the check itself still catches a circle and a
# forbidden arrow (a tiny part built here, which must fail).
#   BUILD=build tests/layers/run.sh
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$ROOT"
BUILD=${BUILD:-build}
check=tests/layers/check.py

rc=0
python3 "$check" coordinator coordinator/README.md "$BUILD" || rc=1
python3 "$check" gateway-filter/src gateway-filter/README.md "$BUILD" || rc=1
python3 "$check" participant-sdk/src participant-sdk/README.md "$BUILD" || rc=1

# States change in one place: the coordinator's state machine
# (coordinator/core/txn.c) is the only code that assigns a transaction's or
# a branch's state, decision or preparing flag.
state_writes() {
    grep -rnE --include='*.c' --include='*.h' -e '->(state|decision|preparing)[[:space:]]*=[^=]' \
        "$@" | grep -v '^[^:]*core/txn\.c:' || true
}
found=$(state_writes coordinator)
if [ -n "$found" ]; then
    echo "layers: a state is assigned outside coordinator/core/txn.c (raise an event instead):" >&2
    echo "$found" >&2
    rc=1
fi

# Self-test: a part whose lower folder calls a higher one, in a circle.
tmp=$(mktemp -d /tmp/dtx-layers.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/part/low" "$tmp/part/high"
cat > "$tmp/part/README.md" <<'MD'
| folder | job | may use |
| --- | --- | --- |
| `low/` | below | — |
| `high/` | above | `low/` |
MD
printf 'int low_f(void);\n' > "$tmp/part/low/low.h"
printf 'int high_f(void);\n' > "$tmp/part/high/high.h"
printf '#include "low.h"\nint high_f(void);\nint low_f(void) { return high_f(); }\n' \
    > "$tmp/part/low/low.c"
printf '#include "high.h"\n#include "low/low.h"\nint high_f(void) { return 1; }\nint g(void) { return low_f(); }\n' \
    > "$tmp/part/high/high.c"
for m in low/low high/high; do
    mkdir -p "$tmp/b/obj/part/$(dirname $m)"
    cc -c -I"$tmp/part" "$tmp/part/$m.c" -o "$tmp/b/obj/part/$m.o"
done
if out=$(cd "$tmp" && python3 "$ROOT/$check" part part/README.md b 2>&1); then
    echo "layers: the check passed a part with a circle and a forbidden arrow" >&2
    rc=1
else
    for want in "circle of 2 modules: high/high low/low" \
                "low/low -> high/high: folder low/ may not use high/ (high_f())"; do
        grep -qF "$want" <<<"$out" || {
            echo "layers: the check did not report: $want" >&2
            echo "$out" >&2
            rc=1
        }
    done
fi
# ...and that check still sees an assignment.
mkdir -p "$tmp/sm/engine"
printf 'void f(struct t *txn) { txn->state = 2; }\n' > "$tmp/sm/engine/x.c"
if [ -z "$(state_writes "$tmp/sm")" ]; then
    echo "layers: the state-assignment check missed a planted assignment" >&2
    rc=1
fi
[ "$rc" -eq 0 ] && echo "layers: ok (and the checks catch a planted circle, arrow and state assignment)"
exit "$rc"
