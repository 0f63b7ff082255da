#!/usr/bin/env bash
# bench/admin_list.sh — latency of the admin list endpoint with a million
# finished transactions in the log.
#
#   BUILD=build bench/admin_list.sh [ROWS]        (default 1000000)
#
# Starts its own PostgreSQL and dtxd, fills the log with ROWS finished
# transactions (two branches each, gids spread over 30 days, 2% aborted)
# plus a few hundred unfinished ones (active, committing, stuck) with
# INSERT ... SELECT generate_series, then times GET /api/v1/transactions
# with curl over a mix of filters and pages (200 requests), and prints
# p50/p99 per filter and overall. Stops everything it started.
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
BUILD=${BUILD:-build}
ROWS=${1:-1000000}
case $BUILD in /*) B=$BUILD ;; *) B=$ROOT/$BUILD ;; esac
WORK=$(mktemp -d /tmp/dtx-listbench.XXXXXX)
chmod 0755 "$WORK"
dpid=
cleanup() {
    [ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
    tests/harness/pg.sh stop "$WORK/pg" >/dev/null 2>&1 || true
    rm -rf -- "$WORK"
}
trap cleanup EXIT
base=$(tests/harness/pg.sh start "$WORK/pg")
tests/harness/pg.sh createdb "$WORK/pg" listbench
db="$base dbname=listbench"
"$B/bin/dtxd" --db "$db" --migrate-only >/dev/null 2>&1
PSQL=(/usr/lib/postgresql/15/bin/psql -X -q -v ON_ERROR_STOP=1 -d "$db")

t0=$(date +%s.%N)
"${PSQL[@]}" <<SQL
-- A ULID for epoch ms and a seed: 10 time characters + 16 random ones
-- (hex digits are Crockford digits too).
CREATE FUNCTION pg_temp.ulid(ms bigint, seed bigint) RETURNS text LANGUAGE sql IMMUTABLE AS \$\$
  SELECT string_agg(substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', ((ms >> (5 * (9 - i))) & 31)::int + 1, 1), '' ORDER BY i)
         || upper(substr(md5(seed::text), 1, 16))
  FROM generate_series(0, 9) AS i
\$\$;
SET synchronous_commit = off;
ALTER TABLE dtx_global DISABLE TRIGGER USER;
ALTER TABLE dtx_branch DISABLE TRIGGER USER;
CREATE TEMP TABLE t AS
  SELECT g, pg_temp.ulid((extract(epoch FROM now()) * 1000)::bigint - 30 * 86400000::bigint
                         + (g * (30 * 86400000::bigint / $ROWS)), g) AS gid
  FROM generate_series(1, $ROWS) AS g;
INSERT INTO dtx_global (gid, mode, state, decision, branches, deadline, created_at, updated_at,
                        decided_at, finished_at, owner, owner_epoch)
  SELECT gid, 1, CASE WHEN g % 50 = 0 THEN 5 ELSE 3 END, CASE WHEN g % 50 = 0 THEN 4 ELSE 2 END, 2,
         now(), now(), now(), now(), now(), 'bench-node', 1 FROM t;
INSERT INTO dtx_branch (gid, branch_no, resource, action, payload, state, attempts)
  SELECT gid, b, CASE WHEN b = 2 AND g % 1000 = 0 THEN 'rare' ELSE 'res-' || ((g + b) % 20) END,
         'act', '\x00'::bytea, CASE WHEN g % 50 = 0 THEN 5 ELSE 4 END, 1
  FROM t, generate_series(1, 2) AS b;
-- Unfinished ones, recent: 100 active, 100 committing, 100 stuck.
INSERT INTO dtx_global (gid, mode, state, decision, branches, deadline, owner, owner_epoch)
  SELECT pg_temp.ulid((extract(epoch FROM now()) * 1000)::bigint - g * 1000, -g), 1,
         (ARRAY[1, 2, 6])[1 + g % 3], CASE WHEN g % 3 = 0 THEN NULL ELSE 2 END, 0,
         now() + interval '1 hour', 'bench-node', 1
  FROM generate_series(1, 300) AS g;
ALTER TABLE dtx_global ENABLE TRIGGER USER;
ALTER TABLE dtx_branch ENABLE TRIGGER USER;
VACUUM ANALYZE dtx_global;
VACUUM ANALYZE dtx_branch;
SQL
t1=$(date +%s.%N)
echo "filled: $("${PSQL[@]}" -At -c 'SELECT count(*) FROM dtx_global') transactions, $("${PSQL[@]}" -At -c 'SELECT count(*) FROM dtx_branch') branches in $(echo "$t1 - $t0" | bc) s"

"$B/bin/dtxd" --db "$db" --listen 'tcp://127.0.0.1:*' --endpoint-file "$WORK/ep" \
    --http-listen 127.0.0.1:0 --http-url-file "$WORK/url" --log-level warn >"$WORK/dtxd.log" 2>&1 &
dpid=$!
for _ in $(seq 100); do [ -s "$WORK/ep" ] && break; sleep 0.1; done
url=$(cat "$WORK/url")
old_gid=$("${PSQL[@]}" -At -c "SELECT gid FROM dtx_global ORDER BY gid OFFSET $((ROWS / 2)) LIMIT 1")
prefix=${old_gid:0:8}

# filter name | query string
filters=(
    "newest|"
    "state=committed|state=committed"
    "state=aborted|state=aborted"
    "state=stuck|state=stuck"
    "state=unfinished|state=unfinished"
    "resource=res-7|resource=res-7"
    "resource=rare|resource=rare"
    "q=prefix|q=$prefix"
    "min_age=7d|min_age=7d"
    "max_age=1h|max_age=1h"
    "oldest|order=oldest"
    "aborted+res-3|state=aborted&resource=res-3"
)
: >"$WORK/all"
printf '%-20s %8s %8s %8s\n' filter p50_ms p99_ms max_ms
for f in "${filters[@]}"; do
    name=${f%%|*} qs=${f#*|}
    : >"$WORK/one"
    cursor=
    for i in $(seq 1 16); do
        # Every other request follows the cursor one page deeper.
        q="$qs&limit=50"
        [ $((i % 2)) -eq 0 ] && [ -n "$cursor" ] && q="$q&cursor=$cursor"
        out=$(curl -s -o "$WORK/body" -w '%{time_total}' "$url/api/v1/transactions?$q")
        echo "$out" >>"$WORK/one"
        cursor=$(grep -o '"next_cursor":"[^"]*"' "$WORK/body" | cut -d'"' -f4 || true)
    done
    cat "$WORK/one" >>"$WORK/all"
    sort -n "$WORK/one" | awk -v n="$name" '{ v[NR] = $1 * 1000 } END {
        printf "%-20s %8.2f %8.2f %8.2f\n", n, v[int((NR + 1) / 2)], v[int(NR * 0.99 + 0.999)], v[NR] }'
done
# Deep paging: 20 pages in a row from the newest.
cursor=
for i in $(seq 1 20); do
    q="limit=50"
    [ -n "$cursor" ] && q="$q&cursor=$cursor"
    out=$(curl -s -o "$WORK/body" -w '%{time_total}' "$url/api/v1/transactions?$q")
    echo "$out" >>"$WORK/all"
    cursor=$(grep -o '"next_cursor":"[^"]*"' "$WORK/body" | cut -d'"' -f4)
done
sort -n "$WORK/all" | awk '{ v[NR] = $1 * 1000 } END {
    printf "%-20s %8.2f %8.2f %8.2f   (%d requests)\n", "ALL", v[int((NR + 1) / 2)], v[int(NR * 0.99 + 0.999)], v[NR], NR }'
