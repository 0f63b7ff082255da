#!/usr/bin/env bash
# tests/drill/check.sh — the recovery drill's checker (run by drill.sh once
# every transaction should have ended; can be run again by hand on a kept
# scratch directory while its PostgreSQL runs).
#
#   check.sh --base CONNINFO --log-db NAME
#            --bank RESOURCE=DBNAME=acc=cents,acc=cents,... (once per bank)
#            --journal FILE [--load-log FILE] [--window SECONDS]
#            [--scratch DIR]
#
# Copies the coordinator's log (dtx_global, and dtx_branch as dtx_branch_now shows it), every bank's
# accounts, barrier rows and prepared transactions, the seeds and
# drill-load's journal into a scratch database (drill_check) and checks,
# printing the offending gids. Each transaction is checked by the mode the
# log gives it (TCC or 2PC; a run may hold both):
#
#   money        balance + frozen summed over the banks equals the seeded
#                total to the cent; frozen and incoming are 0 everywhere;
#                every account equals its seed plus its committed transfers
#   outcomes     every gid the load journaled is in the log; every
#                transaction is committed or aborted (none active,
#                committing, aborting or stuck); a committed one has every
#                branch confirmed, an aborted one every branch cancelled;
#                a committed transfer has exactly one debit and one credit
#   barriers     TCC: no (gid, branch) has both a confirm and a cancel row;
#                a committed branch was tried and confirmed, never
#                cancelled; an aborted transaction has no confirm row, and a
#                branch whose try ran was cancelled.
#                2PC (dtx/pgres.h: the prepare's (try, try) row commits with
#                the prepared work, an abort writes (try, cancel) and
#                (cancel, cancel)): a committed branch's prepare committed
#                at its bank and was never aborted; an aborted branch's
#                prepare never committed, and an abort marker is whole.
#                Both: no barrier row without a logged branch
#   prepared     no prepared transaction is left in any bank database
#                (pg_prepared_xacts): their number is printed (and written
#                to SCRATCH/check.txt as leftover_prepared=N), and each one
#                is listed with what the log says of its transaction
#   sagas        (mode 3) a committed Saga kept every step (each action
#                applied once at its bank, no compensation) and credited
#                what it debited, its pivot a credit; a compensated one kept
#                nothing (every compensable step whose action ran was
#                compensated); no compensation for a step whose dependencies'
#                actions had not all run (its action was never possible),
#                and no action before its dependencies'; the pivot never
#                compensated, and a Saga whose pivot ran committed
#   messages     (mode 4; drill_msg.h) a committed message's outbox row
#                committed at its producer (the check-back bank) and every
#                destination applied it, once (the barrier's (try, try)
#                row; the money check counts the credit once); a rolled-back
#                one has no committed outbox row and nothing delivered
#                anywhere; a message whose producer died before its local
#                commit was rolled back by the check-back (its rollback
#                marker, the (try, cancel) outbox row, is there); every
#                producer's local debit (the journal's M lines) counts in
#                the money checks exactly when its message committed
#   initiators   what the load was told holds: committed → committed,
#                aborted (refused, rolled back, abandoned) → aborted (or,
#                for one that never had a branch recorded, no row at all
#                and nothing at any participant: a BEGIN writes nothing); a
#                transaction nobody sent COMMIT for (abandoned, failed, or
#                whose BEGIN reply was lost; a Saga's lost submit reply
#                is its initiator's commit, and so is a TCC_RUN's, whose
#                row carries the mark preparing) ended aborted; every
#                transaction runs in the mode its BEGIN asked for
#
# Prints the figures (transactions, branches, money) and exits 1 when any
# check fails, 0 otherwise.
set -euo pipefail

PSQL=/usr/lib/postgresql/15/bin/psql
[ -x "$PSQL" ] || PSQL=psql

base=
log_db=
journal=
load_log=
window=30
scratch=
banks=()
while [ $# -gt 0 ]; do
    case $1 in
    --base) base=$2; shift 2 ;;
    --log-db) log_db=$2; shift 2 ;;
    --bank) banks+=("$2"); shift 2 ;;
    --journal) journal=$2; shift 2 ;;
    --load-log) load_log=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --scratch) scratch=$2; shift 2 ;;
    *) echo "check.sh: unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
    esac
done
[ -n "$base" ] && [ -n "$log_db" ] && [ -n "$journal" ] && [ ${#banks[@]} -gt 0 ] || {
    sed -n '2,12p' "$0" >&2
    exit 2
}
tmp=$(mktemp -d /tmp/dtx-drill-check.XXXXXX)
trap 'rm -rf -- "$tmp"' EXIT

# On a multi-host conninfo (tests/ha) every database is read on the
# primary, named by its own host and port: libpq gives up on the host list
# when the first host answers "database does not exist", which a standby
# still replaying the CREATE DATABASE below does.
case $base in
*,*)
    primary=$(PGOPTIONS='-c client_min_messages=warning' "$PSQL" -X -At -d "$base dbname=postgres" \
        -c "SELECT coalesce(inet_server_addr()::text, ''), inet_server_port()") ||
        { echo "check.sh: no primary reachable through '$base'" >&2; exit 1; }
    read -r paddr pport <<<"${primary//|/ }"
    [ -n "$paddr" ] || paddr=127.0.0.1
    paddr=${paddr%/*}
    base=$(printf '%s\n' "$base" | sed -E -e "s/(^| )host=[^ ]*/\1host=$paddr/" \
        -e "s/(^| )port=[^ ]*/\1port=$pport/" -e "s/(^| )target_session_attrs=[^ ]*//")
    ;;
esac
CHECK="$base dbname=drill_check"
psql_on() { # psql_on DB ARGS...
    local db=$1
    shift
    PGOPTIONS='-c client_min_messages=warning' \
        "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$base dbname=$db" "$@"
}
cq() { # cq SQL: rows from the check database, unaligned
    PGOPTIONS='-c client_min_messages=warning' \
        "$PSQL" -X -q -At -F ' ' -v ON_ERROR_STOP=1 -d "$CHECK" -c "$1"
}
# copy SRC_DB QUERY TABLE: query's rows in SRC_DB into TABLE of the check db.
copy() {
    psql_on "$1" -c "\\copy ($2) TO STDOUT" | psql_on drill_check -c "\\copy $3 FROM STDIN"
}

psql_on postgres -c "DROP DATABASE IF EXISTS drill_check WITH (FORCE)" -c "CREATE DATABASE drill_check"
psql_on drill_check <<'EOF'
CREATE TABLE g (gid text PRIMARY KEY, state int, deadline_ms bigint, decision int, owner text,
                epoch bigint, mode int, preparing bool, checkback text);
CREATE TABLE b (gid text, branch_no int, resource text, action text, state int, attempts int,
                account text, amount bigint, last_error text, undo text, flags int, after int[],
                PRIMARY KEY (gid, branch_no));
CREATE TABLE bar (bank text, gid text, branch int, op text, origin text);
CREATE INDEX ON bar (gid, branch);
CREATE TABLE acct (bank text, id text, balance bigint, frozen bigint, incoming bigint);
CREATE TABLE seed (bank text, id text, balance bigint);
CREATE TABLE jb (gid text, mode text);
CREATE TABLE prep (bank text, db text, name text, age_s numeric);
CREATE TABLE jc (gid text);
CREATE TABLE jm (gid text, bank text, account text, amount bigint);
CREATE TABLE je (gid text, outcome text, why text);
CREATE TABLE meta (now_ms bigint);
CREATE FUNCTION sname(int) RETURNS text LANGUAGE sql IMMUTABLE AS
  $$ SELECT (ARRAY['active','committing','committed','aborting','aborted','stuck'])[$1] $$;
CREATE FUNCTION bname(int) RETURNS text LANGUAGE sql IMMUTABLE AS
  $$ SELECT (ARRAY['trying','tried','refused','confirmed','cancelled'])[$1] $$;
EOF

copy "$log_db" "SELECT gid, state, (extract(epoch FROM deadline) * 1000)::bigint, decision, owner,
                owner_epoch, mode, preparing, checkback FROM dtx_global" g
copy "$log_db" "SELECT gid, branch_no, resource, action, state, attempts,
                convert_from(payload, 'UTF8')::json->>'account',
                (convert_from(payload, 'UTF8')::json->>'amount')::bigint, last_error,
                undo_action, step_flags, after_steps::int[]
                FROM dtx_branch_now" b
copy "$log_db" "SELECT (extract(epoch FROM now()) * 1000)::bigint" meta
for spec in "${banks[@]}"; do
    res=${spec%%=*}
    rest=${spec#*=}
    db=${rest%%=*}
    seeds=${rest#*=}
    copy "$db" "SELECT '$res', gid, branch, op, origin FROM dtx_barrier" bar
    copy "$db" "SELECT '$res', id, balance, frozen, incoming FROM accounts" acct
    copy "$db" "SELECT '$res', '$db', gid, round(extract(epoch FROM now() - prepared)::numeric, 1)
                FROM pg_prepared_xacts WHERE database = current_database()" prep
    tr ',' '\n' <<<"$seeds" | awk -F= -v r="$res" 'NF == 2 { print r "\t" $1 "\t" $2 }' \
        >"$tmp/seed.tsv"
    psql_on drill_check -c "\\copy seed FROM '$tmp/seed.tsv'"
done
awk '$1 == "B" { print $2 "\t" ($6 == "" ? "tcc" : $6) }' "$journal" >"$tmp/jb.tsv"
awk '$1 == "C" { print $2 }' "$journal" >"$tmp/jc.tsv"
awk '$1 == "E" { print $2 "\t" $3 "\t" $6 }' "$journal" >"$tmp/je.tsv"
awk '$1 == "M" { print $2 "\t" $3 "\t" $4 "\t" $5 }' "$journal" >"$tmp/jm.tsv"
psql_on drill_check -c "\\copy jb FROM '$tmp/jb.tsv'" -c "\\copy jc FROM '$tmp/jc.tsv'" \
    -c "\\copy je FROM '$tmp/je.tsv'" -c "\\copy jm FROM '$tmp/jm.tsv'" -c "ANALYZE"

failures=0
# check TITLE SQL: SQL lists offenders, one line each ("gid ..."); none = ok.
check() {
    local title=$1 rows n
    rows=$(cq "$2")
    if [ -z "$rows" ]; then
        printf '  ok    %s\n' "$title"
        return 0
    fi
    n=$(wc -l <<<"$rows")
    printf '  FAIL  %s: %d offending\n' "$title" "$n"
    head -n 25 <<<"$rows" | sed 's/^/          /'
    [ "$n" -le 25 ] || printf '          ... and %d more\n' $((n - 25))
    if [ -n "$scratch" ]; then
        { echo "== $title"; echo "$rows"; } >>"$scratch/violations.txt"
    fi
    failures=$((failures + 1))
    return 0
}

cents() { # 1234567 -> 12,345.67
    local v=$1 sign=
    [ "$v" -lt 0 ] && { sign=-; v=$((-v)); }
    printf '%s%s.%02d' "$sign" "$(printf '%d' $((v / 100)) | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta')" $((v % 100))
}

read -r before after frozen incoming <<<"$(cq "
    SELECT (SELECT sum(balance) FROM seed), sum(balance + frozen), sum(abs(frozen)),
           sum(abs(incoming)) FROM acct")"
read -r ntx ncommitted naborted nunfinished nstuck <<<"$(cq "
    SELECT count(*), count(*) FILTER (WHERE state = 3), count(*) FILTER (WHERE state = 5),
           count(*) FILTER (WHERE state IN (1, 2, 4)), count(*) FILTER (WHERE state = 6) FROM g")"
read -r nbegun nlost nbranches nconfirmed ncancelled <<<"$(cq "
    SELECT (SELECT count(*) FROM jb), (SELECT count(*) FROM g WHERE gid NOT IN (SELECT gid FROM jb)),
           count(*), count(*) FILTER (WHERE state = 4), count(*) FILTER (WHERE state = 5) FROM b")"
read -r told_c told_a told_ab told_u <<<"$(cq "
    SELECT count(*) FILTER (WHERE outcome = 'committed'), count(*) FILTER (WHERE outcome = 'aborted'),
           count(*) FILTER (WHERE outcome = 'abandoned'), count(*) FILTER (WHERE outcome = 'unknown')
      FROM je")"
read -r nbar nnull <<<"$(cq "
    SELECT count(*), count(*) FILTER (WHERE op = 'try' AND origin = 'cancel') FROM bar")"
moved=$(cq "SELECT coalesce(sum(amount), 0) FROM b JOIN g USING (gid)
             WHERE g.state = 3 AND b.action = 'debit'")
read -r ntcc ntcc_c ntcc_a n2pc n2pc_c n2pc_a nsaga nsaga_c nsaga_a <<<"$(cq "
    SELECT count(*) FILTER (WHERE mode = 1), count(*) FILTER (WHERE mode = 1 AND state = 3),
           count(*) FILTER (WHERE mode = 1 AND state = 5), count(*) FILTER (WHERE mode = 2),
           count(*) FILTER (WHERE mode = 2 AND state = 3), count(*) FILTER (WHERE mode = 2 AND state = 5),
           count(*) FILTER (WHERE mode = 3), count(*) FILTER (WHERE mode = 3 AND state = 3),
           count(*) FILTER (WHERE mode = 3 AND state = 5)
      FROM g")"
read -r nsteps nstep_done nstep_undone nstep_null <<<"$(cq "
    SELECT count(*),
           count(*) FILTER (WHERE EXISTS (SELECT 1 FROM bar WHERE bar.bank = b.resource
                            AND bar.gid = b.gid AND bar.branch = b.branch_no AND op = 'try' AND origin = 'try')),
           count(*) FILTER (WHERE EXISTS (SELECT 1 FROM bar WHERE bar.bank = b.resource
                            AND bar.gid = b.gid AND bar.branch = b.branch_no AND op = 'try' AND origin = 'try')
                        AND EXISTS (SELECT 1 FROM bar WHERE bar.bank = b.resource
                            AND bar.gid = b.gid AND bar.branch = b.branch_no AND op = 'cancel')),
           count(*) FILTER (WHERE EXISTS (SELECT 1 FROM bar WHERE bar.bank = b.resource
                            AND bar.gid = b.gid AND bar.branch = b.branch_no AND op = 'try' AND origin = 'cancel'))
      FROM b JOIN g USING (gid) WHERE g.mode = 3")"
read -r nmsg nmsg_c nmsg_a nmsg_died nmsg_marker ndeliver <<<"$(cq "
    SELECT count(*), count(*) FILTER (WHERE state = 3), count(*) FILTER (WHERE state = 5),
           (SELECT count(*) FROM je WHERE why = 'died-before-commit'),
           count(*) FILTER (WHERE EXISTS (SELECT 1 FROM bar WHERE bar.bank = g.checkback
                            AND bar.gid = g.gid AND bar.branch = 0 AND op = 'try' AND origin = 'cancel')),
           (SELECT count(*) FROM bar JOIN g m ON m.gid = bar.gid AND m.mode = 4
             WHERE bar.branch > 0 AND op = 'try' AND origin = 'try')
      FROM g WHERE mode = 4")"
leftover=$(cq "SELECT count(*) FROM prep")
leftover_by_bank=$(cq "SELECT string_agg(s.bank || ' ' || (SELECT count(*) FROM prep p WHERE p.bank = s.bank),
                                         ', ' ORDER BY s.bank)
                         FROM (SELECT DISTINCT bank FROM seed) s")
cluster_prepared=$(psql_on postgres -At -c "SELECT count(*) FROM pg_prepared_xacts")
[ -z "$scratch" ] || echo "leftover_prepared=$leftover" >"$scratch/check.txt"

echo "== transactions"
printf '  in the log             %d  (committed %d, aborted %d, unfinished %d, stuck %d)\n' \
    "$ntx" "$ncommitted" "$naborted" "$nunfinished" "$nstuck"
printf '    by mode              TCC %d (committed %d, aborted %d); 2PC %d (committed %d, aborted %d)\n' \
    "$ntcc" "$ntcc_c" "$ntcc_a" "$n2pc" "$n2pc_c" "$n2pc_a"
printf '                         Saga %d (committed %d, compensated %d): %d steps, %d actions applied, %d of them compensated, %d null compensations\n' \
    "$nsaga" "$nsaga_c" "$nsaga_a" "$nsteps" "$nstep_done" "$nstep_undone" "$nstep_null"
printf '                         messages %d (committed %d, rolled back %d; rolled back by the check-back: %d, of which %d whose producer died before its local commit): %d deliveries applied\n' \
    "$nmsg" "$nmsg_c" "$nmsg_a" "$nmsg_marker" "$nmsg_died" "$ndeliver"
printf '  begun by the load      %d  (BEGINs whose reply was lost: %d)\n' "$nbegun" "$nlost"
printf '  the load was told      committed %d, aborted %d; it abandoned %d, lost track of %d\n' \
    "$told_c" "$told_a" "$told_ab" "$told_u"
printf '  branches               %d  (confirmed %d, cancelled %d)\n' "$nbranches" "$nconfirmed" "$ncancelled"
printf '  barrier rows           %d  (null compensations: %d)\n' "$nbar" "$nnull"
printf '  money moved            %s in committed transfers\n' "$(cents "$moved")"

echo "== money"
if [ "$before" = "$after" ]; then
    printf '  ok    conserved to the cent: %s before, %s after\n' "$(cents "$before")" "$(cents "$after")"
else
    printf '  FAIL  not conserved: %s before, %s after (difference %s)\n' "$(cents "$before")" \
        "$(cents "$after")" "$(cents $((after - before)))"
    failures=$((failures + 1))
fi
check "frozen = 0 and incoming = 0 in every account" "
    SELECT bank || ':' || id || ' frozen ' || frozen || ' incoming ' || incoming
      FROM acct WHERE frozen <> 0 OR incoming <> 0 ORDER BY 1"
check "every account = its seed + its committed credits - its committed debits" "
    WITH d AS (SELECT bank, id, sum(delta) AS delta FROM (
                 SELECT b.resource AS bank, b.account AS id,
                        CASE WHEN b.action = 'credit' THEN b.amount ELSE -b.amount END AS delta
                   FROM b JOIN g USING (gid) WHERE g.state = 3
                 UNION ALL
                 SELECT jm.bank, jm.account, -jm.amount
                   FROM jm JOIN g USING (gid) WHERE g.state = 3) x GROUP BY 1, 2)
    SELECT coalesce(a.bank, s.bank) || ':' || coalesce(a.id, s.id) || ' balance ' ||
           coalesce(a.balance::text, 'missing') || ', expected ' ||
           (coalesce(s.balance, 0) + coalesce(d.delta, 0))
      FROM acct a FULL JOIN seed s ON s.bank = a.bank AND s.id = a.id
      LEFT JOIN d ON d.bank = coalesce(a.bank, s.bank) AND d.id = coalesce(a.id, s.id)
     WHERE a.balance IS DISTINCT FROM coalesce(s.balance, 0) + coalesce(d.delta, 0)
     ORDER BY 1"

echo "== outcomes"
# A BEGIN writes nothing (its row comes with the first branch): a gid the
# load got whose first branch was never recorded has no row, and then no
# participant may ever have seen it.
check "every gid the load got from BEGIN is in the log, or no participant ever saw it" "
    SELECT gid || ' journaled, not in dtx_global, yet a participant has barrier rows for it'
      FROM jb WHERE gid NOT IN (SELECT gid FROM g) AND gid IN (SELECT gid FROM bar)"
check "every transaction ended committed or aborted (none active, committing, aborting, stuck)" "
    SELECT g.gid || ' ' || sname(g.state) ||
           CASE WHEN g.state = 6 THEN ' (decision ' || coalesce(sname(g.decision), '?') || ')' ELSE '' END ||
           ', ' || round((m.now_ms - g.deadline_ms) / 1000.0, 1) || ' s past its deadline' ||
           CASE WHEN m.now_ms > g.deadline_ms + $window * 1000 THEN ' (beyond the recovery window)'
                ELSE '' END || ', owner ' || coalesce(g.owner, '-') || '/' || g.epoch
      FROM g, meta m WHERE g.state NOT IN (3, 5) ORDER BY g.deadline_ms"
check "committed: every branch confirmed; aborted: every branch cancelled" "
    SELECT g.gid || ' ' || sname(g.state) || ' but branch ' || b.branch_no || ' (' || b.resource ||
           ' ' || b.action || ') is ' || bname(b.state) || ' after ' || b.attempts ||
           ' attempt(s), last error: ' || coalesce(b.last_error, '-')
      FROM g JOIN b USING (gid)
     WHERE (g.state = 3 AND b.state <> 4) OR (g.state = 5 AND b.state <> 5) ORDER BY 1"
check "a committed transfer has exactly one debit and one credit of the same amount" "
    SELECT g.gid || ' committed with ' || count(b.gid) || ' branch(es): ' ||
           coalesce(string_agg(b.action || ' ' || b.amount, ', ' ORDER BY b.branch_no), 'none')
      FROM g LEFT JOIN b USING (gid) WHERE g.state = 3 AND g.mode IN (1, 2) GROUP BY g.gid
    HAVING count(b.gid) <> 2 OR count(*) FILTER (WHERE b.action = 'debit') <> 1
        OR min(b.amount) <> max(b.amount) ORDER BY 1"
check "a committed Saga credited what it debited, its one pivot a credit" "
    SELECT g.gid || ' committed (saga): ' ||
           string_agg(b.action || ' ' || b.amount || CASE WHEN b.flags & 1 = 1 THEN ' (pivot)' ELSE '' END,
                      ', ' ORDER BY b.branch_no)
      FROM g JOIN b USING (gid) WHERE g.state = 3 AND g.mode = 3 GROUP BY g.gid
    HAVING sum(CASE WHEN b.action = 'debit' THEN b.amount ELSE -b.amount END) <> 0
        OR count(*) FILTER (WHERE b.flags & 1 = 1 AND b.action = 'credit') <> 1 ORDER BY 1"

echo "== barriers (what the participants did)"
check "no branch both confirmed and cancelled at a participant" "
    SELECT gid || ' branch ' || branch || ' at ' || bank || ': confirm and cancel rows'
      FROM bar GROUP BY bank, gid, branch
    HAVING bool_or(op = 'confirm') AND bool_or(op = 'cancel') ORDER BY 1"
check "TCC committed: every branch was tried and confirmed, never cancelled" "
    SELECT g.gid || ' committed; branch ' || b.branch_no || ' at ' || b.resource || ': ' ||
           coalesce((SELECT string_agg(op || '/' || origin, ' ' ORDER BY op) FROM bar
                      WHERE bar.bank = b.resource AND bar.gid = b.gid AND bar.branch = b.branch_no),
                    'no barrier rows')
      FROM g JOIN b USING (gid)
     WHERE g.state = 3 AND g.mode = 1 AND (
           NOT EXISTS (SELECT 1 FROM bar WHERE bar.bank = b.resource AND bar.gid = b.gid
                        AND bar.branch = b.branch_no AND op = 'try' AND origin = 'try')
        OR NOT EXISTS (SELECT 1 FROM bar WHERE bar.bank = b.resource AND bar.gid = b.gid
                        AND bar.branch = b.branch_no AND op = 'confirm')
        OR EXISTS (SELECT 1 FROM bar WHERE bar.bank = b.resource AND bar.gid = b.gid
                    AND bar.branch = b.branch_no AND op = 'cancel'))
     ORDER BY 1"
check "TCC aborted: no branch confirmed, and every branch whose try ran was cancelled" "
    SELECT g.gid || ' aborted; branch ' || b.branch_no || ' at ' || b.resource || ': ' ||
           (SELECT string_agg(op || '/' || origin, ' ' ORDER BY op) FROM bar
             WHERE bar.bank = b.resource AND bar.gid = b.gid AND bar.branch = b.branch_no)
      FROM g JOIN b USING (gid)
     WHERE g.state = 5 AND g.mode = 1 AND (
           EXISTS (SELECT 1 FROM bar WHERE bar.bank = b.resource AND bar.gid = b.gid
                    AND bar.branch = b.branch_no AND op = 'confirm')
        OR (EXISTS (SELECT 1 FROM bar WHERE bar.bank = b.resource AND bar.gid = b.gid
                     AND bar.branch = b.branch_no AND op = 'try' AND origin = 'try')
            AND NOT EXISTS (SELECT 1 FROM bar WHERE bar.bank = b.resource AND bar.gid = b.gid
                             AND bar.branch = b.branch_no AND op = 'cancel')))
     ORDER BY 1"
check "2PC committed: every branch's prepare committed at its bank, never aborted" "
    SELECT g.gid || ' committed (2pc); branch ' || b.branch_no || ' at ' || b.resource || ': ' ||
           coalesce((SELECT string_agg(op || '/' || origin, ' ' ORDER BY op) FROM bar
                      WHERE bar.bank = b.resource AND bar.gid = b.gid AND bar.branch = b.branch_no),
                    'no barrier rows (its prepared work never committed)')
      FROM g JOIN b USING (gid)
     WHERE g.state = 3 AND g.mode = 2 AND (
           NOT EXISTS (SELECT 1 FROM bar WHERE bar.bank = b.resource AND bar.gid = b.gid
                        AND bar.branch = b.branch_no AND op = 'try' AND origin = 'try')
        OR EXISTS (SELECT 1 FROM bar WHERE bar.bank = b.resource AND bar.gid = b.gid
                    AND bar.branch = b.branch_no AND (op = 'cancel' OR origin = 'cancel')))
     ORDER BY 1"
check "2PC aborted: no branch's prepare committed, every abort marker whole" "
    SELECT g.gid || ' aborted (2pc); branch ' || b.branch_no || ' at ' || b.resource || ': ' ||
           (SELECT string_agg(op || '/' || origin, ' ' ORDER BY op) FROM bar
             WHERE bar.bank = b.resource AND bar.gid = b.gid AND bar.branch = b.branch_no)
      FROM g JOIN b USING (gid)
     WHERE g.state = 5 AND g.mode = 2 AND (
           EXISTS (SELECT 1 FROM bar WHERE bar.bank = b.resource AND bar.gid = b.gid
                    AND bar.branch = b.branch_no AND (origin = 'try' OR op = 'confirm'))
        OR (EXISTS (SELECT 1 FROM bar WHERE bar.bank = b.resource AND bar.gid = b.gid
                     AND bar.branch = b.branch_no AND op = 'try' AND origin = 'cancel')
            <> EXISTS (SELECT 1 FROM bar WHERE bar.bank = b.resource AND bar.gid = b.gid
                        AND bar.branch = b.branch_no AND op = 'cancel')))
     ORDER BY 1"
# Sagas (dtx/barrier.h: an applied action writes (try, try); its
# compensation (cancel, cancel); a compensation before (or instead of) its
# action writes (try, cancel) and (cancel, cancel), and nothing is undone).
bar_has() { # bar_has OP ORIGIN: SQL true when step b has that barrier row (any origin: '')
    # shellcheck disable=SC2016 # SQL text, not shell
    echo "EXISTS (SELECT 1 FROM bar WHERE bar.bank = b.resource AND bar.gid = b.gid
                  AND bar.branch = b.branch_no AND bar.op = '$1'${2:+ AND bar.origin = '$2'})"
}
applied=$(bar_has try try)
undone=$(bar_has cancel)
check "Saga committed: every step's action applied once at its bank, none compensated (kept)" "
    SELECT g.gid || ' committed (saga); step ' || b.branch_no || ' ' || b.resource || ' ' ||
           b.action || ': ' || CASE WHEN NOT $applied THEN 'action never applied' ELSE 'compensated' END
      FROM g JOIN b USING (gid)
     WHERE g.state = 3 AND g.mode = 3 AND (NOT $applied OR $undone) ORDER BY 1"
check "Saga compensated: every compensable step that ran was compensated (nothing kept)" "
    SELECT g.gid || ' compensated (saga); step ' || b.branch_no || ' ' || b.resource || ' ' ||
           b.action || ' applied, never compensated'
      FROM g JOIN b USING (gid)
     WHERE g.state = 5 AND g.mode = 3 AND b.flags & 1 = 0 AND $applied AND NOT $undone ORDER BY 1"
check "no compensation without its action having been possible (every step it waits for applied)" "
    SELECT g.gid || ' (saga) step ' || b.branch_no || ' ' || b.resource || ' ' || b.action ||
           ' got a compensation, but step ' || d.branch_no || ' (' || d.action ||
           '), which it waits for, never applied its action'
      FROM g JOIN b USING (gid) JOIN b d ON d.gid = b.gid AND d.branch_no = ANY (b.after)
     WHERE g.mode = 3 AND $undone
       AND NOT EXISTS (SELECT 1 FROM bar WHERE bar.bank = d.resource AND bar.gid = d.gid
                        AND bar.branch = d.branch_no AND bar.op = 'try' AND bar.origin = 'try')
     ORDER BY 1"
check "no action before the actions it waits for" "
    SELECT g.gid || ' (saga) step ' || b.branch_no || ' ' || b.action || ' applied, but step ' ||
           d.branch_no || ' (' || d.action || '), which it waits for, never was'
      FROM g JOIN b USING (gid) JOIN b d ON d.gid = b.gid AND d.branch_no = ANY (b.after)
     WHERE g.mode = 3 AND $applied
       AND NOT EXISTS (SELECT 1 FROM bar WHERE bar.bank = d.resource AND bar.gid = d.gid
                        AND bar.branch = d.branch_no AND bar.op = 'try' AND bar.origin = 'try')
     ORDER BY 1"
check "pivot respected: never compensated; once applied, the Saga committed" "
    SELECT g.gid || ' ' || sname(g.state) || ' (saga): pivot step ' || b.branch_no || ' ' ||
           CASE WHEN $undone THEN 'has a compensation row' ELSE 'applied, yet the Saga did not commit' END
      FROM g JOIN b USING (gid)
     WHERE g.mode = 3 AND b.flags & 1 = 1 AND ($undone OR ($applied AND g.state <> 3)) ORDER BY 1"
check "every barrier row belongs to a logged branch of that resource" "
    SELECT bar.gid || ' branch ' || bar.branch || ' at ' || bar.bank || ': ' || bar.op || '/' ||
           bar.origin || ' row without a logged branch'
      FROM bar WHERE NOT EXISTS (SELECT 1 FROM b WHERE b.gid = bar.gid
                                   AND b.branch_no = bar.branch AND b.resource = bar.bank)
       AND NOT (bar.branch = 0 AND EXISTS (SELECT 1 FROM g WHERE g.gid = bar.gid AND g.mode = 4
                                            AND g.checkback = bar.bank))
     ORDER BY 1"

# Messages (dtx/barrier.h: the producer's outbox row is (gid, 0, try, try)
# at its check-back resource; the check-back's rollback marker (gid, 0,
# try, cancel); a delivery is the destination's (try, try) row).
outbox="EXISTS (SELECT 1 FROM bar WHERE bar.bank = g.checkback AND bar.gid = g.gid
                AND bar.branch = 0 AND bar.op = 'try' AND bar.origin = 'try')"
check "message committed: its outbox row committed at the producer, every destination applied it once" "
    SELECT g.gid || ' committed (msg) but ' ||
           CASE WHEN NOT $outbox THEN 'no committed outbox row at ' || coalesce(g.checkback, '?')
                ELSE 'destination ' || b.branch_no || ' (' || b.resource || ' ' || b.account ||
                     ') never applied it' END
      FROM g LEFT JOIN b USING (gid)
     WHERE g.state = 3 AND g.mode = 4 AND (NOT $outbox OR (b.gid IS NOT NULL AND NOT $applied))
     ORDER BY 1"
check "message rolled back: no committed outbox row, nothing delivered anywhere" "
    SELECT g.gid || ' rolled back (msg) but ' ||
           CASE WHEN $outbox THEN 'its outbox row committed at ' || g.checkback
                ELSE 'destination ' || b.branch_no || ' (' || b.resource || ') applied it' END
      FROM g LEFT JOIN b USING (gid)
     WHERE g.state = 5 AND g.mode = 4 AND ($outbox OR (b.gid IS NOT NULL AND $applied))
     ORDER BY 1"
check "a producer that died before its local commit: rolled back by the check-back (marker there)" "
    SELECT je.gid || ' producer died before its local commit; log says ' ||
           coalesce(sname(g.state), 'nothing') ||
           CASE WHEN g.gid IS NOT NULL AND NOT EXISTS (SELECT 1 FROM bar WHERE bar.bank = g.checkback
                     AND bar.gid = g.gid AND bar.branch = 0 AND bar.op = 'try' AND bar.origin = 'cancel')
                THEN ', no rollback marker at ' || g.checkback ELSE '' END
      FROM je LEFT JOIN g USING (gid)
     WHERE je.why = 'died-before-commit' AND (g.state IS DISTINCT FROM 5 OR NOT EXISTS (
           SELECT 1 FROM bar WHERE bar.bank = g.checkback AND bar.gid = g.gid AND bar.branch = 0
              AND bar.op = 'try' AND bar.origin = 'cancel'))
     ORDER BY 1"
check "every message's local debit was journaled by its producer" "
    SELECT gid || ' (msg) has no M line' FROM jb WHERE mode = 'msg'
       AND gid NOT IN (SELECT gid FROM jm) ORDER BY 1"

echo "== prepared transactions (pg_prepared_xacts)"
printf '  left behind            %d  (%s; in the whole server: %s)\n' "$leftover" "$leftover_by_bank" \
    "$cluster_prepared"
check "no prepared transaction left in any bank database" "
    SELECT p.name || ' in ' || p.db || ', prepared ' || p.age_s || ' s ago; transaction ' ||
           coalesce(sname(g.state) || ' (' || CASE g.mode WHEN 2 THEN '2pc' ELSE 'tcc' END || ')',
                    'not in the log') ||
           coalesce(', branch ' || b.branch_no || ' ' || b.resource || ' ' || b.action || ' is ' ||
                    bname(b.state), '')
      FROM prep p
      LEFT JOIN g ON g.gid = regexp_replace(p.name, '^dtx:(.*):[0-9]+$', '\\1')
      LEFT JOIN b ON b.gid = g.gid
                 AND b.branch_no::text = regexp_replace(p.name, '^.*:([0-9]+)$', '\\1')
     ORDER BY 1"

echo "== initiators (what the load was told)"
check "told committed → committed" "
    SELECT je.gid || ' told committed (' || je.why || '), log says ' || coalesce(sname(g.state), 'nothing')
      FROM je LEFT JOIN g USING (gid)
     WHERE je.outcome = 'committed' AND g.state IS DISTINCT FROM 3 ORDER BY 1"
check "told aborted (refused, rolled back, answered aborted) or abandoned → aborted" "
    SELECT je.gid || ' ' || je.outcome || ' (' || je.why || '), log says ' ||
           coalesce(sname(g.state), 'nothing')
      FROM je LEFT JOIN g USING (gid)
     WHERE je.outcome IN ('aborted', 'abandoned') AND g.state IS DISTINCT FROM 5
       AND NOT (g.gid IS NULL AND je.gid NOT IN (SELECT gid FROM bar)) ORDER BY 1"
check "committed only when its initiator sent COMMIT (never for a lost BEGIN reply)" "
    SELECT g.gid || ' committed, but ' ||
           CASE WHEN g.gid IN (SELECT gid FROM jb) THEN 'no COMMIT was sent'
                ELSE 'its BEGIN never reached the load' END
      FROM g WHERE g.state = 3 AND g.gid NOT IN (SELECT gid FROM jc)
       AND NOT (g.mode = 3 AND g.gid NOT IN (SELECT gid FROM jb))
       AND NOT (g.mode = 1 AND g.preparing AND g.gid NOT IN (SELECT gid FROM jb)) ORDER BY 1"
check "every transaction runs in the mode its BEGIN asked for" "
    SELECT jb.gid || ' begun as ' || jb.mode || ', logged as ' ||
           CASE g.mode WHEN 1 THEN 'tcc' WHEN 2 THEN '2pc' WHEN 3 THEN 'saga' WHEN 4 THEN 'msg'
                       ELSE 'mode ' || g.mode END
      FROM jb JOIN g USING (gid)
     WHERE jb.mode <> CASE g.mode WHEN 1 THEN 'tcc' WHEN 2 THEN '2pc' WHEN 3 THEN 'saga'
                                  WHEN 4 THEN 'msg' ELSE '?' END
     ORDER BY 1"
if [ -n "$load_log" ] && [ -f "$load_log" ]; then
    contradictions=$(sed -n 's/.*contradictions \([0-9]*\).*/\1/p' "$load_log" | tail -n 1)
    if [ "${contradictions:-0}" != 0 ]; then
        printf '  FAIL  the coordinator told the load something impossible %s time(s); see %s\n' \
            "$contradictions" "$load_log"
        grep 'but no COMMIT was ever sent\|was accepted\|both succeeded\|was answered refused\|was committed' \
            "$load_log" | sed -n '1,10s/^/          /p'
        failures=$((failures + 1))
    else
        printf '  ok    the coordinator never told the load anything impossible\n'
    fi
fi

if [ "$failures" -gt 0 ]; then
    echo "check: $failures check(s) FAILED"
    exit 1
fi
echo "check: every invariant holds"
