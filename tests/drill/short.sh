#!/usr/bin/env bash
# tests/drill/short.sh — the short recovery drill that `make test` runs
# (tests/run.sh): tests/drill/drill.sh with small numbers, every fault
# point once, well under 90 s on a 2-core machine. Mixed mode: the load's
# transfers are TCC, 2PC, Sagas or transactional messages at random, so
# that one run covers every protocol (a run per mode would not fit the
# time budget), checks that no prepared transaction is left behind and
# checks the Saga and message invariants. Any DRILL_* variable set by the
# caller wins (DRILL_MODE=tcc, 2pc, saga or msg for one protocol only).
set -euo pipefail
export DRILL_NAME=${DRILL_NAME:-short drill}
export DRILL_MODE=${DRILL_MODE:-mixed}
export DRILL_TRANSFERS=${DRILL_TRANSFERS:-300}
export DRILL_FAULT_ROUNDS=${DRILL_FAULT_ROUNDS:-1}
export DRILL_RANDOM_KILLS=${DRILL_RANDOM_KILLS:-2}
export DRILL_PARTICIPANT_KILLS=${DRILL_PARTICIPANT_KILLS:-2}
export DRILL_PG_RESTARTS=${DRILL_PG_RESTARTS:-1}
export DRILL_COORD_PAUSES=${DRILL_COORD_PAUSES:-1}
export DRILL_PARTICIPANT_PAUSES=${DRILL_PARTICIPANT_PAUSES:-1}
export DRILL_PAUSE_KILLS=${DRILL_PAUSE_KILLS:-1}
export DRILL_PG_PAUSES=${DRILL_PG_PAUSES:-0}
export DRILL_KILL_BOTH=${DRILL_KILL_BOTH:-0}
export DRILL_WORKERS=${DRILL_WORKERS:-6}
export DRILL_MIN_COORD_KILLS=${DRILL_MIN_COORD_KILLS:-10}
export DRILL_MIN_PARTICIPANT_KILLS=${DRILL_MIN_PARTICIPANT_KILLS:-2}
export DRILL_MIN_PG_RESTARTS=${DRILL_MIN_PG_RESTARTS:-1}
exec "$(dirname -- "${BASH_SOURCE[0]}")/drill.sh"
