#!/usr/bin/env bash
# bench/schema_cost.sh — what the log schema's constraints and triggers cost
# PostgreSQL per statement, in instructions (callgrind), which a busy
# machine does not blur: the figures of docs/operations.md ("Benchmark",
# the schema's share) re-measured.
#
#   bench/schema_cost.sh
#
# Environment:
#   SC_LOW, SC_HIGH   loop lengths of the two runs per variant (default 200
#                     and 1200; the difference of the two is what is counted,
#                     so start-up and set-up cancel out)
#   SC_VARIANTS       the variants to measure (default all, in the order below)
#   PGBIN             PostgreSQL's bin directory (tests/harness/pg.sh's default)
#
# What it does: a private PostgreSQL cluster (tests/harness/pg.sh, then
# stopped), and per variant two single-user backends (postgres --single)
# under valgrind --tool=callgrind, each making a table shaped like
# dtx_branch (state smallint, attempts, last_error, vote, updated_at;
# fillfactor 70; 1,000 rows) and running a procedure that executes, N
# times, the two statements of one round: a vote-like UPDATE (state, vote,
# attempts, last_error, updated_at, as coordinator/log/sql.c's
# dtx_branch_vote) and an UPDATE of the state alone, each its own executor
# run from a cached generic plan, COMMIT every 500. Prints instructions per
# statement (the average of the two) for:
#   none      no constraint, no trigger
#   check     state as a table CHECK (BETWEEN 1 AND 5), as before 013
#   domain    state as a domain with that CHECK (013)
#   trig003   domain + the failed-attempt trigger as 003 made it
#   trig013   domain + the trigger as 013 made it
#   fk        domain + a table whose foreign key references this one's key
#             (ON DELETE CASCADE, as dtx_attempt's references dtx_global):
#             PostgreSQL's own triggers on every UPDATE of the referenced rows
# Repeated runs of one variant differ by up to 4 % (hash tables, OIDs,
# buffer placement), so compare variants that differ by more than that.
# The trigger texts are copies of sql/coordinator/003_admin.sql's and
# 013_domains.sql's, on this table.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
LOW=${SC_LOW:-200}
HIGH=${SC_HIGH:-1200}
command -v valgrind >/dev/null || { echo "schema_cost.sh: valgrind is needed" >&2; exit 2; }

SCRATCH=$(mktemp -d /tmp/dtx-schema-cost.XXXXXX)
chmod 755 "$SCRATCH"
cleanup() {
    "$ROOT/tests/harness/pg.sh" stop "$SCRATCH/pg" >/dev/null 2>&1 || true
    rm -rf "$SCRATCH"
}
trap cleanup EXIT
"$ROOT/tests/harness/pg.sh" start "$SCRATCH/pg" >/dev/null
"$ROOT/tests/harness/pg.sh" createdb "$SCRATCH/pg" sc >/dev/null
"$ROOT/tests/harness/pg.sh" stop "$SCRATCH/pg" >/dev/null

# Single-user input (-j): each statement ends with ";" and an empty line,
# and has no empty line inside.
setup() {
    cat <<'EOF'
DROP TABLE IF EXISTS mb CASCADE;

DROP TABLE IF EXISTS mb_att;

DROP TABLE IF EXISTS mb_ref;

DROP DOMAIN IF EXISTS mb_state;

CREATE TABLE mb_att (gid text, branch_no int, attempt int, at timestamptz DEFAULT now(), error text);

CREATE TABLE mb (gid text, branch_no int, state smallint NOT NULL, attempts int NOT NULL DEFAULT 0,
  last_error text, vote smallint, updated_at timestamptz,
  PRIMARY KEY (gid, branch_no)) WITH (fillfactor = 70);

INSERT INTO mb SELECT 'g' || i, 1, 1 FROM generate_series(1, 1000) i;

CREATE OR REPLACE FUNCTION mb_att_003() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO mb_att (gid, branch_no, attempt, error)
    VALUES (NEW.gid, NEW.branch_no, NEW.attempts, NEW.last_error);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION mb_att_013() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state = OLD.state AND NEW.attempts > 0 AND NEW.last_error IS NOT NULL
       AND (NEW.attempts, NEW.last_error) IS DISTINCT FROM (OLD.attempts, OLD.last_error) THEN
        INSERT INTO mb_att (gid, branch_no, attempt, error)
        VALUES (NEW.gid, NEW.branch_no, NEW.attempts, NEW.last_error);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE PROCEDURE mb_loop(n int) LANGUAGE plpgsql AS $$
DECLARE i int;
BEGIN
  FOR i IN 1..n LOOP
    UPDATE mb SET state = 2::smallint, vote = 2::smallint, attempts = 1, last_error = NULL,
                  updated_at = now()
      WHERE gid = 'g' || (1 + i % 1000) AND branch_no = 1 AND state = 1;
    UPDATE mb SET state = 1::smallint WHERE gid = 'g' || (1 + i % 1000) AND branch_no = 1;
    IF i % 500 = 0 THEN COMMIT; END IF;
  END LOOP;
END $$;

EOF
}

variant() {
    local domain="CREATE DOMAIN mb_state AS smallint CHECK (VALUE BETWEEN 1 AND 5);

ALTER TABLE mb ALTER COLUMN state TYPE mb_state;
"
    case $1 in
    none) ;;
    check) printf 'ALTER TABLE mb ADD CHECK (state BETWEEN 1 AND 5);\n\n' ;;
    domain) printf '%s\n' "$domain" ;;
    trig003)
        printf '%s\n' "$domain"
        printf '%s\n\n' "CREATE TRIGGER mbt AFTER UPDATE OF attempts, last_error ON mb FOR EACH ROW WHEN (NEW.state = OLD.state AND NEW.attempts > 0 AND NEW.last_error IS NOT NULL AND (NEW.attempts, NEW.last_error) IS DISTINCT FROM (OLD.attempts, OLD.last_error)) EXECUTE FUNCTION mb_att_003();" ;;
    trig013)
        printf '%s\n' "$domain"
        printf '%s\n\n' "CREATE TRIGGER mbt AFTER UPDATE OF attempts, last_error ON mb FOR EACH ROW WHEN (NEW.last_error IS NOT NULL) EXECUTE FUNCTION mb_att_013();" ;;
    fk)
        printf '%s\n' "$domain"
        printf '%s\n\n' "CREATE TABLE mb_ref (gid text, branch_no int, FOREIGN KEY (gid, branch_no) REFERENCES mb (gid, branch_no) ON DELETE CASCADE);" ;;
    *) echo "schema_cost.sh: unknown variant $1" >&2; exit 2 ;;
    esac
}

# instructions VARIANT N: callgrind's instruction count of one backend.
instructions() {
    local in="$SCRATCH/$1.$2.in" out="$SCRATCH/$1.$2.log"
    { setup; variant "$1"; printf 'CALL mb_loop(%d);\n\n' "$2"; } > "$in"
    chmod 644 "$in"
    local run=()
    [ "$(id -u)" -eq 0 ] && run=(runuser -u "$(stat -c %U "$SCRATCH/pg/data")" --)
    "${run[@]}" valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        "$PGBIN/postgres" --single -j -D "$SCRATCH/pg/data" sc < "$in" > "$out" 2>&1
    if grep -q ' ERROR: ' "$out"; then
        echo "schema_cost.sh: $1: $(grep -m1 ' ERROR: ' "$out")" >&2
        exit 1
    fi
    grep -oP 'Collected : \K[0-9]+' "$out"
}

echo "instructions per statement (callgrind; runs of $LOW and $HIGH rounds of 2 statements)"
for v in ${SC_VARIANTS:-none check domain trig003 trig013 fk}; do
    lo=$(instructions "$v" "$LOW")
    hi=$(instructions "$v" "$HIGH")
    printf '%-8s %8d\n' "$v" $(( (hi - lo) / (2 * (HIGH - LOW)) ))
done
