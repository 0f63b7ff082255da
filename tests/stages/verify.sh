#!/usr/bin/env bash
# verify stage of make test: the bounded subset of make verify (verify/run.sh
# quick): the protocol without faults in TCC, 2PC and TCC_RUN, the forging
# peer, a 2PC coordinator paused past its lease, and the safety mutants
# (TCC_RUN's among them), which must
# each produce a counterexample. Fails when a property fails or a mutant is
# not caught.
set -uo pipefail
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
work=${DTX_TEST_DIR:-/tmp}/verify
rm -rf "$work"
WORK=$work VERIFY_RUN_LIMIT_S=${VERIFY_RUN_LIMIT_S:-100} "$root/verify/run.sh" quick
