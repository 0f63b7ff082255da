#!/usr/bin/env bash
# tests/install/readme.sh — README.md's "Run it yourself" is true: runs
# exactly its shell blocks (the ```sh fences between the
# <!-- run-it-yourself:begin --> and :end markers), in order, in one bash
# with `set -e`, from the source tree, with TRY a scratch directory and
# dtxd's ports free ones; then checks that the transfer committed (bob's
# balance is 1250). Called by tests/install/check.sh.
#   BUILD=build tests/install/readme.sh
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$ROOT"

script=$(awk '
    /<!-- run-it-yourself:begin -->/ { on = 1; next }
    /<!-- run-it-yourself:end -->/   { on = 0; next }
    on && /^```sh$/ { code = 1; next }
    on && code && /^```$/ { code = 0; print "# ---"; next }
    on && code { print }' README.md)
[ "$(printf '%s\n' "$script" | grep -c '^# ---$')" -ge 5 ] || {
    echo "readme: found fewer than 5 blocks between the run-it-yourself markers" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
TRY=$(mktemp -d /tmp/dtx-readme.XXXXXX)
chmod 0755 "$TRY"
out="$TRY.out"
cleanup() {
    local rc=$?
    # What the blocks started, should they have stopped half way.
    [ -f "$TRY/pids" ] && xargs -r kill 2>/dev/null < "$TRY/pids" || true
    "$ROOT/tests/harness/pg.sh" stop "$TRY/pg" >/dev/null 2>&1 || true
    if [ $rc -ne 0 ]; then
        echo "readme: failed; output:" >&2; sed 's/^/    /' "$out" >&2 || true
        for f in "$TRY"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done
    fi
    rm -rf "$TRY" "$out"
    exit $rc
}
trap cleanup EXIT

export TRY DTX_LISTEN="tcp://127.0.0.1:$(free_port)" DTX_HTTP_LISTEN="127.0.0.1:$(free_port)"
# The blocks' make uses this run's build folder (the README's reader has
# the default one).
export MAKEFLAGS="BUILD=${BUILD:-build}"
unset DTX_CURVE_KEY_FILE PKG_CONFIG_PATH DTX_URL DTX_TOKEN DTX_TOKEN_FILE
# Record the background jobs as they start, so that cleanup can stop them.
bash -c "set -eEuo pipefail; trap 'jobs -p > \"\$TRY/pids\"' DEBUG
$script" > "$out" 2>&1
grep -qE '^[0-9A-Z]{26} committed$' "$out" || { echo "readme: dtxctl status did not print committed" >&2; exit 1; }
grep -qx '1250' "$out" || { echo "readme: bob's balance is not 1250" >&2; exit 1; }
echo "readme: the Run it yourself commands ran as written; the transfer committed"
