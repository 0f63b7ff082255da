#!/usr/bin/env bash
# tests/tsan/run.sh — the tsan stage of make test: the threaded parts of
# dtx under ThreadSanitizer. Any report fails the stage.
#
#   tests/tsan/run.sh        (from tests/run.sh, which gives DTX_TEST_*)
#
# 1. Builds, with TSAN=1 into its own directory (build-tsan; with
#    make test TSAN=1 that is $BUILD itself), what runs under TSan:
#    libdtx and tests/tsan/tsan_sdk.c, dtx-gateway and the traffic driver
#    tests/tsan/tsan_gateway.c (make target tsan-bins).
# 2. Runs tsan-sdk: clients, participants and ids on several threads at
#    once, dtx_participant_stop from another thread, transactions against
#    a real dtxd.
# 3. Runs tsan-gateway: the TSan dtx-gateway (workers, offload pool,
#    health checker, dtxd watch, admin API) under concurrent traffic
#    through rate-limit, concurrency, breaker, adaptive and transactional
#    routes, with live configuration swaps and a SIGHUP reload.
# 4. Runs two tests of the gateway_cluster integration suite (the build
#    under test's integration_tests) against the TSan gateway: cluster-wide
#    limits, the Redis sync thread beside the workers, Redis killed and
#    back.
#
# dtxd and gw-upstream come from $DTX_TEST_BIN / $DTX_TEST_TESTBIN (the
# build under test): they are the world the checked code talks to, not
# what this stage checks (make test TSAN=1 checks them too).
#
# TSAN_OPTIONS: halt_on_error=1 exitcode=66 — the first report ends the
# process with status 66, which fails the driver (directly, or through the
# gateway's exit status). Suppressions: tests/tsan/tsan.supp, each entry
# explained there.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$ROOT"
: "${DTX_TEST_PGHOST:?run it through tests/run.sh (DTX_TEST_* are not set)}"
: "${DTX_TEST_BIN:?}" "${DTX_TEST_TESTBIN:?}" "${DTX_TEST_DIR:?}"
if [ "${TSAN:-0}" = 1 ]; then
    TSAN_BUILD=${BUILD:-build-tsan}
else
    TSAN_BUILD=build-tsan
fi
case $TSAN_BUILD in
/*) TSAN_DIR=$TSAN_BUILD ;;
*) TSAN_DIR=$ROOT/$TSAN_BUILD ;;
esac

now_ms() {
    local t
    t=$(date +%s%N)
    echo $((t / 1000000))
}

# The outer make's jobserver is not ours to use (the stage runs in a
# session of its own): a plain, separate make.
unset MAKEFLAGS MFLAGS MAKELEVEL
t0=$(now_ms)
make -s -j"${DTX_TSAN_JOBS:-2}" BUILD="$TSAN_BUILD" SAN=0 TSAN=1 tsan-bins
t1=$(now_ms)
echo "tsan: build ($TSAN_BUILD) $((t1 - t0)) ms"

export TSAN_OPTIONS="halt_on_error=1 exitcode=66 suppressions=$ROOT/tests/tsan/tsan.supp"
# The gateway under test from the TSan build, dtxd from the build under test.
bin=$DTX_TEST_DIR/tsan-bin
mkdir -p "$bin"
ln -sf "$DTX_TEST_BIN/dtxd" "$bin/dtxd"
ln -sf "$TSAN_DIR/bin/dtx-gateway" "$bin/dtx-gateway"
export DTX_TEST_BIN=$bin

rc=0
"$TSAN_DIR/tests/tsan-sdk" || rc=$?
t2=$(now_ms)
echo "tsan: tsan-sdk exit $rc, $((t2 - t1)) ms"
grc=0
"$TSAN_DIR/tests/tsan-gateway" || grc=$?
t3=$(now_ms)
echo "tsan: tsan-gateway exit $grc, $((t3 - t2)) ms"
# Cluster-wide limits (issue 19): gateway_cluster tests against the TSan
# gateway; a report ends the gateway (a test fails) or is in its log.
crc=0
rm -f "$DTX_TEST_DIR"/gw-cl-*.log
# (the lease test, 10 s of slow calls, adds no thread the other two lack)
for t in "two gateways admit the limit in total" \
         "Redis killed: fail-open/closed in /metrics, then enforced again"; do
    "$DTX_TEST_TESTBIN/integration_tests" "gateway_cluster:$t" || crc=$?
done
if grep -l "ThreadSanitizer" "$DTX_TEST_DIR"/gw-cl-*.log 2>/dev/null; then
    crc=66
fi
t4=$(now_ms)
echo "tsan: gateway_cluster exit $crc, $((t4 - t3)) ms"
t3=$t4
if [ "$rc" -ne 0 ] || [ "$grc" -ne 0 ] || [ "$crc" -ne 0 ]; then
    echo "tsan: FAILED (66: a ThreadSanitizer report, in the output above or in" \
         "$DTX_TEST_DIR/tsan-gateway.log)" >&2
    exit 1
fi
echo "tsan: ok, $((t3 - t0)) ms in all"
