#!/usr/bin/env bash
# tests/stages/python.sh — the Python SDK (participant-sdk/python): codec
# unit tests on docs/protocol.md's hex vectors, the participant against a
# fake coordinator, and live tests against a real dtxd and PostgreSQL
# (including the Python bank and the C bank in the same transfers, and
# CURVE); then mypy --strict when Debian's python3-mypy is installed.
# Uses Debian's interpreter: the python3 on PATH may lack python3-zmq and
# python3-psycopg (scripts/deps.d/base-python.list).
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
PY=/usr/bin/python3
PKG=$ROOT/participant-sdk/python

if ! "$PY" -c 'import zmq, psycopg' 2>/dev/null; then
    echo "python: $PY lacks zmq or psycopg: run scripts/deps.sh (python3-zmq python3-psycopg)" >&2
    exit 1
fi
: "${DTX_TEST_BIN:?python: DTX_TEST_BIN is not set (run through tests/run.sh)}"
: "${DTX_TEST_PGHOST:?python: DTX_TEST_PGHOST is not set (run through tests/run.sh)}"
export DTX_TEST_DIR=${DTX_TEST_DIR:-$(mktemp -d)}
cd "$PKG/tests"
# unittest prints "Ran N tests" and OK / FAILED (failures=N); its exit
# status is what counts.
"$PY" -m unittest -v test_codec test_plans test_participant test_live test_live_plans 2>&1
if "$PY" -c 'import mypy' 2>/dev/null; then
    echo "python: mypy --strict"
    (cd "$PKG" && "$PY" -m mypy --strict --cache-dir "$DTX_TEST_DIR/mypy-cache" dtx samples tests)
else
    echo "python: mypy not installed (python3-mypy), type check skipped"
fi
