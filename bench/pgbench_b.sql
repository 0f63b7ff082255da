-- bench/pgbench_b.sql — reference (b) of `make bench` (bench/run.sh).
--
-- The rows of 50 dtx transactions (two TCC branches each) written in one
-- round trip and one PostgreSQL transaction: the statements of
-- coordinator/log/sql.c (fencing included) in multi-row, set-based form over
-- 50 gids: 50 globals inserted with their first branches, the 50 second
-- branches, then the votes, the decisions and the finishes (the last two
-- update the global rows only: the branches' states are read through the
-- view dtx_branch_now), one statement each,
-- between BEGIN and COMMIT, sent as one pipeline (\startpipeline ...
-- \endpipeline). This is group commit done ideally: its tps x 50 is how
-- many dtx transactions' worth of log writes per second PostgreSQL takes
-- on this machine when nothing but the writes costs. Keep it in step with
-- coordinator/log/sql.c.
--
--   pgbench -n -M prepared -c 2 -j 2 -T S -f bench/pgbench_b.sql DB
--
-- gids: 26 characters like dtxd's (5 of client id, 19 of a random number,
-- 2 of the index 1..50). The gid set is an uncorrelated ARRAY(...)
-- subquery, evaluated once per statement, so every statement finds its
-- rows through the primary key with = ANY.
-- coordinator/log/sql.c fingerprint: 030f90b783d1cb14 (bench/run.sh warns when it changes)
\set g random(1, 9000000000000000000)
\set deadline_ms 4102444800000
\set epoch 1
\set gen 0
\set nbranches 2
\startpipeline
BEGIN;
-- DTX_SQL_BRANCH_FIRST x 50 (noop-a; BEGIN wrote nothing: this creates the globals,
-- each with its one branch; the branches as arrays, the payloads one blob cut at their ends)
WITH g AS (INSERT INTO dtx_global (gid, mode, state, deadline, owner, owner_epoch,
                                  next_attempt_at, initiator, traceparent, branches,
                                  preparing)
           SELECT lpad(:client_id::text, 5, '0') || lpad(:g::text, 19, '0') || lpad(i::text, 2, '0'),
                  1::smallint, 1, to_timestamp(:deadline_ms::bigint / 1000.0), 'pgbench', :epoch::bigint,
                  to_timestamp(:deadline_ms::bigint / 1000.0), 'id-bench', nullif('', ''),
                  cardinality('{noop-a}'::text[]), false
             FROM generate_series(1, 50) AS i
           ON CONFLICT (gid) DO NOTHING RETURNING gid)
 INSERT INTO dtx_branch (gid, branch_no, resource, action, payload, state)
 SELECT g.gid, b.n, b.r, b.a,
        substring('\xa5a4a7a6a1a0a3a2adacafaea9a8abaab5b4b7b6b1b0b3b2bdbcbfbeb9b8bbba85848786818083828d8c8f8e89888b8a95949796919093929d9c9f9e99989b9a'::bytea
                  FROM coalesce(('{64}'::int[])[b.n - 1], 0) + 1
                  FOR b.e - coalesce(('{64}'::int[])[b.n - 1], 0)), 1
   FROM g, unnest('{noop-a}'::text[], '{reserve}'::text[], '{64}'::int[]) WITH ORDINALITY AS b(r, a, e, n)
 RETURNING gid, branch_no;
-- DTX_SQL_BRANCH_ADD x 50 (noop-b)
WITH g AS (UPDATE dtx_global SET branches = branches + 1, updated_at = now()
           WHERE gid = ANY (ARRAY(SELECT lpad(:client_id::text, 5, '0') || lpad(:g::text, 19, '0') || lpad(i::text, 2, '0')
                            FROM generate_series(1, 50) AS i))
             AND state = 1 AND owner = 'pgbench' AND owner_epoch = :epoch::bigint AND owner_gen = :gen::bigint
           RETURNING gid, branches)
 INSERT INTO dtx_branch (gid, branch_no, resource, action, payload, state)
 SELECT g.gid, g.branches, 'noop-b', 'reserve',
        '\xa5a4a7a6a1a0a3a2adacafaea9a8abaab5b4b7b6b1b0b3b2bdbcbfbeb9b8bbba85848786818083828d8c8f8e89888b8a95949796919093929d9c9f9e99989b9a'::bytea, 1
   FROM g RETURNING branch_no;
-- DTX_SQL_BRANCH_VOTE x 100 (state 2: tried)
WITH g AS (SELECT gid FROM dtx_global
           WHERE gid = ANY (ARRAY(SELECT lpad(:client_id::text, 5, '0') || lpad(:g::text, 19, '0') || lpad(i::text, 2, '0')
                            FROM generate_series(1, 50) AS i))
             AND owner = 'pgbench' AND owner_epoch = :epoch::bigint AND owner_gen = :gen::bigint)
UPDATE dtx_branch SET state = 2::smallint, vote = 2::smallint, attempts = 1,
       last_error = NULL, updated_at = now(), voted_at = now()
 WHERE gid IN (SELECT gid FROM g) AND branch_no IN (1, 2) AND state = 1;
-- DTX_SQL_DECIDE x 50 (active -> committing; the global rows only)
WITH d AS (UPDATE dtx_global SET state = 2::smallint, decision = 2::smallint,
           updated_at = now(), next_attempt_at = now(), decided_at = now()
           WHERE gid = ANY (ARRAY(SELECT lpad(:client_id::text, 5, '0') || lpad(:g::text, 19, '0') || lpad(i::text, 2, '0')
                            FROM generate_series(1, 50) AS i))
             AND state = 1::smallint AND owner = 'pgbench' AND owner_epoch = :epoch::bigint AND owner_gen = :gen::bigint
             AND branches = :nbranches::int AND ARRAY[false]::bool[] IS NOT NULL
           RETURNING gid, state)
 SELECT gid, state FROM d;
-- DTX_SQL_FINISH x 50 (committing -> committed; the global rows only)
WITH d AS (UPDATE dtx_global SET state = 3::smallint, updated_at = now(),
           next_attempt_at = NULL, finished_at = now()
           WHERE gid = ANY (ARRAY(SELECT lpad(:client_id::text, 5, '0') || lpad(:g::text, 19, '0') || lpad(i::text, 2, '0')
                            FROM generate_series(1, 50) AS i))
             AND state = 2::smallint AND owner = 'pgbench' AND owner_epoch = :epoch::bigint
             AND owner_gen = :gen::bigint
             AND (mode <> 3 OR NOT EXISTS (SELECT 1 FROM dtx_branch x WHERE x.gid = dtx_global.gid
                  AND x.state <> CASE WHEN 3::smallint = 3 THEN 4 ELSE 5 END))
           RETURNING gid)
 SELECT gid, 1 FROM d;
COMMIT;
\endpipeline
