#!/usr/bin/env bash
# shellcheck disable=SC2059  # printf "$fmt": the table's format, fixed below
# run.sh — model-checks verify/dtx.pml: every property run must find no
# error, every mutant must produce a counterexample (printed as a message
# sequence by msc.py). Exit status 0 only when both hold.
#
#   verify/run.sh            make verify: every safety run that is
#                            exhaustive in minutes (no faults, the initiator
#                            moving between coordinators, timeouts and
#                            refusals, the forging peer, crashes, a lease
#                            lapse with 1 branch; loss and duplication in
#                            bitstate), the LTL runs without faults and with
#                            message loss until faults stop (1 branch), and
#                            every mutant
#                            (TCC and 2PC, and a whole TCC transaction
#                            in one TCC_RUN request: -DTCCRUN)
#   verify/run.sh quick      the subset of make test's verify stage
#   verify/run.sh all        every run but the long ones, each within
#                            minutes: also a lease lapse with 2 branches
#                            (bitstate), termination with a crash, with
#                            loss and duplication, with two COMMITs (1 branch)
#   verify/run.sh long       the runs that take longer than the limit
#                            (VERIFY_RUN_LIMIT_S, default 600 s) on the
#                            2-core machine and are not completed there:
#                            termination with a fault and 2 branches, the
#                            lease lapse with the initiator moving, the
#                            2-branch two-COMMIT run (verify/README.md)
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
# name | kind (prop = must hold, mutant = must fail (also a probe: a state
# that must be reachable); live/livebit = an LTL
# formula that must hold, exhaustive/bitstate; livemut = one that must fail)
# | search (exh, bit, or the LTL formula's name) | defines | pan arguments
# that replace the defaults (optional: a larger -w)
RUNS=(
"tcc_base|prop|exh|$Z -DNOSTEAL"
"2pc_base|prop|exh|$Z -DNOSTEAL -DTWOPC"
"tcc_steal|prop|exh|$Z"
"tcc_refuse_timeout|prop|exh|$Z -DNOSTEAL -UTIMEOUTS -DTIMEOUTS=1 -UREFUSALS -DREFUSALS=1"
"2pc_refuse_timeout|prop|exh|$Z -DNOSTEAL -DTWOPC -UTIMEOUTS -DTIMEOUTS=1 -UREFUSALS -DREFUSALS=1"
"tcc_forge|prop|exh|$Z -DNOSTEAL -UFORGES -DFORGES=1"
"tcc_lossdup|prop|bit|$Z -DNOSTEAL -ULOSSES -DLOSSES=1 -UDUPS -DDUPS=1"
"tcc_crash|prop|exh|$Z -DNOSTEAL -UCRASHES -DCRASHES=1"
"2pc_crash|prop|exh|$Z -DNOSTEAL -DTWOPC -UCRASHES -DCRASHES=1 -UPRESTARTS -DPRESTARTS=1"
"tcc_pause1|prop|exh|$Z -DNOSTEAL -UPAUSES -DPAUSES=1 -UTRIES -DTRIES=1"
"2pc_pause1|prop|exh|$Z -DNOSTEAL -DTWOPC -UPAUSES -DPAUSES=1 -UTRIES -DTRIES=1"
"tcc_pause|prop|bit|$Z -DNOSTEAL -UPAUSES -DPAUSES=1|-w30"
"2pc_pause|prop|bit|$Z -DNOSTEAL -DTWOPC -UPAUSES -DPAUSES=1"
"tcc_steal_pause|prop|bit|$Z -UPAUSES -DPAUSES=1"
"2pc_steal_pause|prop|bit|$Z -DTWOPC -UPAUSES -DPAUSES=1"
"tcc_term|live|term|$Z -DNOSTEAL -DLIVENESS"
"tcc_told_live|live|told_live|$Z -DNOSTEAL -DLIVENESS"
"2pc_term|live|term|$Z -DNOSTEAL -DTWOPC -DLIVENESS"
"2pc_told_live|live|told_live|$Z -DNOSTEAL -DTWOPC -DLIVENESS"
"tcc_term_crash|live|term|$Z -DNOSTEAL -DLIVENESS -UCRASHES -DCRASHES=1"
"2pc_term_crash|live|term|$Z -DNOSTEAL -DTWOPC -DLIVENESS -UCRASHES -DCRASHES=1"
"tcc_term_loss|live|term|$Z -DNOSTEAL -DLIVENESS -ULOSSES -DLOSSES=255"
"tcc_term_loss1|live|term|$Z -DNOSTEAL -DLIVENESS -ULOSSES -DLOSSES=255 -UTRIES -DTRIES=1"
"2pc_term_loss1|live|term|$Z -DNOSTEAL -DTWOPC -DLIVENESS -ULOSSES -DLOSSES=255 -UTRIES -DTRIES=1"
"tcc_term_lossdup1|live|term|$Z -DNOSTEAL -DLIVENESS -ULOSSES -DLOSSES=255 -UDUPS -DDUPS=1 -UTRIES -DTRIES=1"
"tcc_term_losscrash1|live|term|$Z -DNOSTEAL -DLIVENESS -ULOSSES -DLOSSES=255 -UCRASHES -DCRASHES=1 -UTRIES -DTRIES=1"
"tcc_term_twocommits1|live|term|$Z -DNOSTEAL -DTWOCOMMITS -DLIVENESS -UTRIES -DTRIES=1"
"tcc_term_lossbit|livebit|term|$Z -DNOSTEAL -DLIVENESS -ULOSSES -DLOSSES=255"
"tcc_term_crash1|live|term|$Z -DNOSTEAL -DLIVENESS -UCRASHES -DCRASHES=1 -UTRIES -DTRIES=1"
"2pc_term_crash1|live|term|$Z -DNOSTEAL -DTWOPC -DLIVENESS -UCRASHES -DCRASHES=1 -UTRIES -DTRIES=1"
"mutant_aba|mutant|exh|$Z -UPAUSES -DPAUSES=1 -UTRIES -DTRIES=1 -DMUTANT_ABA"
"mutant_nocount|mutant|exh|$Z -DNOSTEAL -DMUTANT_NOCOUNT"
"mutant_earlyconfirm|mutant|exh|$Z -DNOSTEAL -DMUTANT_EARLYCONFIRM"
"mutant_nocancelrow|mutant|exh|$Z -DNOSTEAL -UTIMEOUTS -DTIMEOUTS=1 -DMUTANT_NOCANCELROW"
"mutant_anyconn|mutant|exh|$Z -DNOSTEAL -UFORGES -DFORGES=1 -DMUTANT_ANYCONN"
"mutant_nofence|mutant|exh|$Z -DNOSTEAL -UPAUSES -DPAUSES=1 -UTRIES -DTRIES=1 -DMUTANT_NOFENCE"
"mutant_aba_2pc|mutant|exh|$Z -DTWOPC -UPAUSES -DPAUSES=1 -UTRIES -DTRIES=1 -DMUTANT_ABA"
"mutant_earlyconfirm_2pc|mutant|exh|$Z -DNOSTEAL -DTWOPC -DMUTANT_EARLYCONFIRM"
"mutant_earlyfinish|mutant|exh|$Z -DNOSTEAL -DMUTANT_EARLYFINISH"
"mutant_earlyfinish_2pc|mutant|exh|$Z -DNOSTEAL -DTWOPC -DMUTANT_EARLYFINISH"
"mutant_finishwrong|mutant|exh|$Z -DNOSTEAL -DMUTANT_FINISHWRONG"
"mutant_nodeadline|livemut|term|$Z -DNOSTEAL -DLIVENESS -DMUTANT_NODEADLINE"
"tccrun_base|prop|exh|$Z -DNOSTEAL -DTCCRUN"
"tccrun_steal|prop|exh|$Z -DTCCRUN"
"tccrun_refuse_timeout|prop|exh|$Z -DNOSTEAL -DTCCRUN -UTIMEOUTS -DTIMEOUTS=1 -UREFUSALS -DREFUSALS=1"
"tccrun_forge|prop|exh|$Z -DNOSTEAL -DTCCRUN -UFORGES -DFORGES=1"
"tccrun_lossdup|prop|bit|$Z -DNOSTEAL -DTCCRUN -ULOSSES -DLOSSES=1 -UDUPS -DDUPS=1"
"tccrun_crash|prop|exh|$Z -DNOSTEAL -DTCCRUN -UCRASHES -DCRASHES=1"
"tccrun_steal_crash|prop|exh|$Z -DTCCRUN -UCRASHES -DCRASHES=1"
"tccrun_pause1|prop|exh|$Z -DNOSTEAL -DTCCRUN -UPAUSES -DPAUSES=1 -UTRIES -DTRIES=1"
"tccrun_pause|prop|bit|$Z -DNOSTEAL -DTCCRUN -UPAUSES -DPAUSES=1|-w30"
"tccrun_term|live|term|$Z -DNOSTEAL -DTCCRUN -DLIVENESS"
"tccrun_told_live|live|told_live|$Z -DNOSTEAL -DTCCRUN -DLIVENESS"
"tccrun_term_crash1|live|term|$Z -DNOSTEAL -DTCCRUN -DLIVENESS -UCRASHES -DCRASHES=1 -UTRIES -DTRIES=1"
"mutant_run_earlyanswer|mutant|exh|$Z -DNOSTEAL -DTCCRUN -DMUTANT_RUNEARLYANSWER"
"mutant_run_novotes|mutant|exh|$Z -DNOSTEAL -DTCCRUN -DMUTANT_RUNNOVOTES"
"mutant_run_recovercommit|mutant|exh|$Z -DNOSTEAL -DTCCRUN -UPAUSES -DPAUSES=1 -UTRIES -DTRIES=1 -DMUTANT_RUNRECOVERCOMMIT"
"mutant_run_recovercommit_steal|mutant|exh|$Z -DTCCRUN -DMUTANT_RUNRECOVERCOMMIT"
"mutant_run_partial|mutant|exh|$Z -DNOSTEAL -DTCCRUN -DSUBFAILS=1 -DMUTANT_RUNPARTIAL"
"tccrun_subfail|prop|exh|$Z -DNOSTEAL -DTCCRUN -DSUBFAILS=1"
"tccrun_subfail_crash|prop|exh|$Z -DNOSTEAL -DTCCRUN -DSUBFAILS=1 -UCRASHES -DCRASHES=1"
"tccrun_lapse_idle|prop|exh|$Z -DNOSTEAL -DTCCRUN -UPAUSES -DPAUSES=1 -UTRIES -DTRIES=1 -DFINREQS=0 -DLAPSEIDLE"
"mutant_run_lapseidle|mutant|exh|$Z -DNOSTEAL -DTCCRUN -UPAUSES -DPAUSES=1 -UTRIES -DTRIES=1 -DFINREQS=0 -DLAPSEIDLE -DMUTANT_RUNLAPSEIDLE"
"2pc_lapse_idle|prop|exh|$Z -DNOSTEAL -DTWOPC -UPAUSES -DPAUSES=1 -UTRIES -DTRIES=1 -DLAPSEIDLE"
"mutant_2pc_lapseidle|mutant|exh|$Z -DNOSTEAL -DTWOPC -UPAUSES -DPAUSES=1 -UTRIES -DTRIES=1 -DLAPSEIDLE -DMUTANT_RUNLAPSEIDLE"
"tcc_twocommits|prop|exh|$Z -DTWOCOMMITS -DMAXGEN=12"
"tcc_twocommits1|prop|exh|$Z -DTWOCOMMITS -DMAXGEN=6 -UTRIES -DTRIES=1"
"mutant_pingpong|mutant|exh|$Z -DTWOCOMMITS -DMAXGEN=12 -DMUTANT_PINGPONG"
)
QUICK="tcc_base 2pc_base tcc_forge 2pc_pause1 mutant_aba mutant_nocount mutant_earlyconfirm mutant_nocancelrow mutant_anyconn mutant_nofence mutant_earlyconfirm_2pc mutant_earlyfinish mutant_finishwrong tccrun_base mutant_run_earlyanswer mutant_run_novotes mutant_run_recovercommit"
DEFAULT="$QUICK tcc_steal tcc_refuse_timeout 2pc_refuse_timeout tcc_lossdup tcc_crash 2pc_crash tcc_pause1 tcc_term tcc_told_live 2pc_term 2pc_told_live tcc_term_loss1 2pc_term_loss1 mutant_aba_2pc mutant_earlyfinish_2pc mutant_nodeadline tcc_twocommits1 mutant_pingpong tccrun_steal tccrun_refuse_timeout tccrun_forge tccrun_lossdup tccrun_crash tccrun_pause1 tccrun_term tccrun_told_live mutant_run_recovercommit_steal tccrun_lapse_idle mutant_run_lapseidle 2pc_lapse_idle mutant_2pc_lapseidle mutant_run_partial tccrun_subfail"
LONG="tcc_steal_pause 2pc_steal_pause tcc_term_crash 2pc_term_crash tcc_term_loss tcc_term_lossbit tcc_term_losscrash1 tcc_twocommits tccrun_steal_crash tccrun_pause"
LIMIT_S=${VERIFY_RUN_LIMIT_S:-600}
# pan.c is large: clang compiles it at -O0 in less than half gcc's time
# (scripts/deps.sh installs clang); VERIFY_CC overrides.
cc=${VERIFY_CC:-$(command -v clang >/dev/null && echo "clang -w" || echo gcc)}

want=("$@")
case ${1:-} in
'') read -r -a want <<<"$DEFAULT" ;;
quick) read -r -a want <<<"$QUICK" ;;
all) want=()
    for r in "${RUNS[@]}"; do
        case " $LONG " in *" ${r%%|*} "*) ;; *) want+=("${r%%|*}") ;; esac
    done ;;
long) read -r -a want <<<"$LONG" ;;
esac

fmt='%-24s %-7s %-9s %12s %7s %8s %8s  %s\n'
# One run: its table line goes to $d/line, what to show on failure to $d/show;
# $d/failed exists when it failed.
one() {
    local name=$1 kind=$2 srch=$3 defs=$4 extra=$5 d=$work/$1 cflags pargs rc states depth errors secs mem result
    rm -rf "$d"; mkdir -p "$d"
    cp "$model" "$d/dtx.pml"
    # shellcheck disable=SC2086
    if ! (cd "$d" && spin -a $defs dtx.pml >spin.log 2>&1); then
        printf "$fmt" "$name" "$kind" "$srch" ? ? ? ? "FAILED (spin -a)" >"$d/line"; cat "$d/spin.log" >"$d/show"; touch "$d/failed"; return
    fi
    cflags="${VERIFY_OPT:--O0} -DVECTORSZ=4096"
    pargs="-m200000"
    if [ "$kind" = livebit ]; then
        # an LTL formula, weak fairness, bitstate (supertrace: not a proof)
        cflags="$cflags -DNFAIR=3 -DBITSTATE"; pargs="$pargs -w28 -a -f -N $srch"
    elif [ "$kind" = live ] || [ "$kind" = livemut ]; then
        # an LTL formula (named in the search column), weak fairness
        cflags="$cflags -DNFAIR=3 -DCOLLAPSE"; pargs="$pargs -w24 -a -f -N $srch"
    else
        cflags="$cflags -DSAFETY -DNOCLAIM"
        if [ "$srch" = bit ]; then cflags="$cflags -DBITSTATE"; pargs="$pargs -w28"; else cflags="$cflags -DCOLLAPSE"; pargs="$pargs -w24"; fi
    fi
    [ -n "$extra" ] && pargs="$pargs $extra"   # later options win (-w)
    [ "$kind" = mutant ] && pargs="$pargs -E"   # stop at the first error; no end-state noise
    [ "$kind" = livemut ] && kind=mutant        # an LTL run that must fail
    # shellcheck disable=SC2086
    if ! (cd "$d" && $cc $cflags -o pan pan.c 2>cc.log); then
        printf "$fmt" "$name" "$kind" "$srch" ? ? ? ? "FAILED ($cc)" >"$d/line"; cat "$d/cc.log" >"$d/show"; touch "$d/failed"; return
    fi
    # shellcheck disable=SC2086
    (cd "$d" && timeout "$LIMIT_S" ./pan $pargs >pan.out 2>&1)
    rc=$?
    states=$(awk '/states, stored/ {print $1; exit}' "$d/pan.out")
    depth=$(sed -n 's/.*depth reached \([0-9]*\).*/\1/p' "$d/pan.out" | head -1)
    errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$d/pan.out" | head -1)
    secs=$(awk '/elapsed time/ {print $4; exit}' "$d/pan.out")
    mem=$(awk '/total actual memory usage/ {print $1; exit}' "$d/pan.out")
    if [ $rc -eq 124 ]; then result="TIMEOUT (over ${LIMIT_S}s)"
    elif [ "$kind" != mutant ] && [ "${errors:-1}" = 0 ]; then
        result=ok
        { [ "$srch" = bit ] || [ "$kind" = livebit ]; } && result="ok (bitstate, hash factor $(awk '/hash factor/ {print $3; exit}' "$d/pan.out"))"
    elif [ "$kind" = mutant ] && [ "${errors:-0}" != 0 ] && [ -e "$d/dtx.pml.trail" ]; then
        result="caught ($(grep -m1 -o 'pan:1: .*' "$d/pan.out" | cut -c8-80); trail depth $(sed -n 's/.*(at depth \([0-9]*\)).*/\1/p' "$d/pan.out" | head -1))"
    else result=FAILED; fi
    printf "$fmt" "$name" "$kind" "$srch" "${states:-?}" "${depth:-?}" "${secs:-?}" "${mem:-?}" "$result" >"$d/line"
    case $result in ok*|caught*) ;; *) touch "$d/failed" ;; esac
    if [ "$kind" != mutant ] && [ -e "$d/failed" ]; then
        { grep -E '^pan:|errors' "$d/pan.out" | head -5
          # shellcheck disable=SC2086
          [ -e "$d/dtx.pml.trail" ] && (cd "$d" && echo "--- counterexample ($name) ---" && "$here/msc.py" dtx.pml $defs)
        } >"$d/show" 2>&1
    fi
    if [ "$kind" = mutant ] && [ "${VERIFY_SHOW_MUTANTS:-0}" = 1 ] && [ -e "$d/dtx.pml.trail" ]; then
        # shellcheck disable=SC2086
        (cd "$d" && echo "--- counterexample ($name) ---" && "$here/msc.py" dtx.pml $defs) >"$d/show" 2>&1
    fi
}

# VERIFY_JOBS runs at once (default 2: the machine's cores); lines print in
# the table's order.
jobs_max=${VERIFY_JOBS:-2}
names=()
for r in "${RUNS[@]}"; do
    IFS='|' read -r name kind srch defs extra <<<"$r"
    if [ ${#want[@]} -gt 0 ]; then
        case " ${want[*]} " in *" $name "*) ;; *) continue ;; esac
    fi
    names+=("$name")
    while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
    one "$name" "$kind" "$srch" "$defs" "${extra:-}" &
done
wait
printf "$fmt" run kind srch states depth seconds "mem(MB)" result
fail=0
for name in "${names[@]}"; do
    cat "$work/$name/line"
    [ -e "$work/$name/show" ] && cat "$work/$name/show"
    [ -e "$work/$name/failed" ] && fail=1
done
for w in "${want[@]}"; do
    case " ${names[*]} " in *" $w "*) ;; *) echo "verify: no run named $w"; fail=1 ;; esac
done
[ $fail -eq 0 ] && echo "verify: every property holds and every mutant is caught" || echo "verify: FAILED"
exit $fail
