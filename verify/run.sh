#!/usr/bin/env bash
# run.sh — model-checks verify/dtx.pml: every property run must find no
# error, every mutant must produce a counterexample (printed as a message
# sequence by msc.py). Exit status 0 only when both hold.
#
#   verify/run.sh            the runs that complete today (make verify):
#                            the protocol without faults in TCC and 2PC,
#                            the initiator moving between coordinators,
#                            phase timeouts and refusals, loss and
#                            duplication (bitstate), the forging peer,
#                            and every mutant
#   verify/run.sh quick      the subset of make test's verify stage
#   verify/run.sh all        also the crash and lease-lapse runs:
#                            open work — they do not complete yet (a run
#                            outgrows its budget, or trips a bound of the
#                            model itself, e.g. tcc_crash: q_len < WQ);
#                            verify/README.md, "Results"
#   verify/run.sh NAME...    the runs named
#
# Each run: spin -a with its defines, gcc pan.c, pan; the table line gives
# states stored, depth reached, seconds and memory (MB). WORK (default a
# temporary directory) keeps the pan sources and trails.
set -uo pipefail
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
model=$here/dtx.pml
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"
command -v spin >/dev/null || { echo "verify: spin is not installed (scripts/deps.sh)" >&2; exit 2; }

# No faults: the protocol alone, exhaustive.
Z="-DCRASHES=0 -DPAUSES=0 -DLOSSES=0 -DDUPS=0 -DFORGES=0 -DTIMEOUTS=0 -DREFUSALS=0 -DRESUMES=0"
# name | kind (prop = must hold, mutant = must fail) | search | defines
RUNS=(
"tcc_base|prop|exh|$Z -DNOSTEAL"
"2pc_base|prop|exh|$Z -DNOSTEAL -DTWOPC"
"tcc_steal|prop|exh|$Z"
"tcc_refuse_timeout|prop|exh|$Z -DNOSTEAL -UTIMEOUTS -DTIMEOUTS=1 -UREFUSALS -DREFUSALS=1"
"2pc_refuse_timeout|prop|exh|$Z -DNOSTEAL -DTWOPC -UTIMEOUTS -DTIMEOUTS=1 -UREFUSALS -DREFUSALS=1"
"tcc_forge|prop|exh|$Z -DNOSTEAL -UFORGES -DFORGES=1"
"tcc_lossdup|prop|bit|$Z -DNOSTEAL -ULOSSES -DLOSSES=1 -UDUPS -DDUPS=1"
"tcc_crash|prop|bit|$Z -DNOSTEAL -UCRASHES -DCRASHES=1"
"tcc_pause|prop|bit|$Z -UPAUSES -DPAUSES=1"
"2pc_crash|prop|bit|$Z -DNOSTEAL -DTWOPC -UCRASHES -DCRASHES=1 -UPRESTARTS -DPRESTARTS=1"
"2pc_pause|prop|bit|$Z -DTWOPC -UPAUSES -DPAUSES=1"
"mutant_aba|mutant|exh|$Z -UPAUSES -DPAUSES=1 -DMUTANT_ABA"
"mutant_nocount|mutant|exh|$Z -DNOSTEAL -DMUTANT_NOCOUNT"
"mutant_earlyconfirm|mutant|exh|$Z -DNOSTEAL -DMUTANT_EARLYCONFIRM"
"mutant_nocancelrow|mutant|exh|$Z -DNOSTEAL -UTIMEOUTS -DTIMEOUTS=1 -DMUTANT_NOCANCELROW"
"mutant_anyconn|mutant|exh|$Z -DNOSTEAL -UFORGES -DFORGES=1 -DMUTANT_ANYCONN"
)
QUICK="tcc_base 2pc_base tcc_forge mutant_aba mutant_nocount mutant_earlyconfirm mutant_nocancelrow mutant_anyconn"
DEFAULT="$QUICK tcc_steal tcc_refuse_timeout 2pc_refuse_timeout tcc_lossdup"
LIMIT_S=${VERIFY_RUN_LIMIT_S:-600}

want=("$@")
case ${1:-} in
'') read -r -a want <<<"$DEFAULT" ;;
quick) read -r -a want <<<"$QUICK" ;;
all) want=() ;;
esac

printf '%-22s %-7s %-4s %12s %7s %8s %8s  %s\n' run kind srch states depth seconds "mem(MB)" result
fail=0
for r in "${RUNS[@]}"; do
    IFS='|' read -r name kind srch defs <<<"$r"
    if [ ${#want[@]} -gt 0 ]; then
        case " ${want[*]} " in *" $name "*) ;; *) continue ;; esac
    fi
    d=$work/$name
    mkdir -p "$d"
    cp "$model" "$d/dtx.pml"
    # shellcheck disable=SC2086
    (cd "$d" && spin -a $defs dtx.pml >spin.log 2>&1) || { echo "$name: spin -a failed"; cat "$d/spin.log"; fail=1; continue; }
    cflags="${VERIFY_OPT:--O0} -DSAFETY -DNOCLAIM -DVECTORSZ=4096"
    pargs="-m200000"
    if [ "$srch" = bit ]; then cflags="$cflags -DBITSTATE"; pargs="$pargs -w28"; else cflags="$cflags -DCOLLAPSE"; pargs="$pargs -w24"; fi
    [ "$kind" = mutant ] && pargs="$pargs -E"   # stop at the first error; no end-state noise
    (cd "$d" && gcc $cflags -o pan pan.c 2>gcc.log) || { echo "$name: gcc failed"; cat "$d/gcc.log"; fail=1; continue; }
    (cd "$d" && timeout "$LIMIT_S" ./pan $pargs >pan.out 2>&1)
    rc=$?
    states=$(awk '/states, stored/ {print $1; exit}' "$d/pan.out")
    depth=$(sed -n 's/.*depth reached \([0-9]*\).*/\1/p' "$d/pan.out" | head -1)
    errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$d/pan.out" | head -1)
    secs=$(awk '/elapsed time/ {print $4; exit}' "$d/pan.out")
    mem=$(awk '/total actual memory usage/ {print $1; exit}' "$d/pan.out")
    if [ $rc -eq 124 ]; then result="TIMEOUT (over ${LIMIT_S}s)"; fail=1
    elif [ "$kind" = prop ] && [ "${errors:-1}" = 0 ]; then result=ok
    elif [ "$kind" = mutant ] && [ "${errors:-0}" != 0 ] && [ -e "$d/dtx.pml.trail" ]; then
        steps=$(cd "$d" && spin -t $defs dtx.pml 2>/dev/null | grep -c '^  *[0-9]*:')
        result="caught ($(grep -m1 -o 'pan:1: .*' "$d/pan.out" | cut -c8-80); trail depth $(sed -n 's/.*(at depth \([0-9]*\)).*/\1/p' "$d/pan.out" | head -1))"
    else result=FAILED; fail=1; fi
    printf '%-22s %-7s %-4s %12s %7s %8s %8s  %s\n' "$name" "$kind" "$srch" "${states:-?}" "${depth:-?}" "${secs:-?}" "${mem:-?}" "$result"
    if [ "$kind" = prop ] && [ "$result" != ok ]; then
        grep -E '^pan:|errors' "$d/pan.out" | head -5
        [ -e "$d/dtx.pml.trail" ] && (cd "$d" && echo "--- counterexample ($name) ---" && "$here/msc.py" dtx.pml $defs)
    fi
    if [ "$kind" = mutant ] && [ "${VERIFY_SHOW_MUTANTS:-0}" = 1 ] && [ -e "$d/dtx.pml.trail" ]; then
        (cd "$d" && echo "--- counterexample ($name) ---" && "$here/msc.py" dtx.pml $defs)
    fi
done
[ $fail -eq 0 ] && echo "verify: every property holds and every mutant is caught" || echo "verify: FAILED"
exit $fail
